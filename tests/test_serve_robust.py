"""``kg serve`` against hostile or unlucky clients: a request head or body never finished
(slowloris), an oversize chunked body, a worker killed by someone else, an answer cut
off mid-stream by the time-out, a request that waits in the queue, CORS headers for
unlisted origins, Starlette's own errors, a forged access log. Each was a finding of a
review; the test failed before its fix."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kg.errors import KgError
from kg.serve_http import MESSAGE_MAX, error_status, json_error
from kg.serve_pool import Pool, Request, Saturated
from tests.serving import children, eventually, serving
from tests.test_serve_limits import copy_project

ALLOWED = "https://allowed.example"
#: Rows of twelve columns: 20,000 of them in XML are 20 MB, more than socket buffers hold.
WIDE = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    table = f'\n[serve]\ncors = ["{ALLOWED}"]\n'
    return copy_project(tmp_path_factory.mktemp("robust") / "project", table)


@pytest.fixture(scope="module")
def url(project):
    limits = ("--timeout", "3", "--max-request-bytes", "4096", "--max-rows", "20000")
    with serving(project, "--workers", "1", *limits) as u:
        yield u


@pytest.fixture(scope="module")
def client(url):
    with httpx.Client(base_url=url, timeout=60) as c:
        yield c


def connect(url: str, buffer: int = 0) -> socket.socket:
    """A raw connection to *url*; with *buffer*, that receive buffer (no autotuning)."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    sock.connect((parts.hostname, parts.port))
    sock.settimeout(30)  # a guard against hangs, not a timing assertion
    return sock


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_request_head_never_finished_is_closed(url):
    with connect(url) as slow, connect(url) as silent:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        answer = read_all(slow)
        assert answer.startswith(b"HTTP/1.1 408")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] == 408
        assert read_all(silent) == b""  # a connection that sends nothing is closed too


def test_a_body_never_finished_is_408(url):
    with connect(url) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100\r\n\r\nASK"
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    assert "not sent within 3 s" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]


def test_a_url_too_long_for_the_http_parser_is_a_json_error(url):
    with connect(url) as sock:  # the parser takes URLs of at most 65,535 bytes
        sock.sendall(b"GET /sparql?query=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert "POST the query" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]


def test_an_oversize_chunked_body_is_413(client):
    def body():  # no Content-Length: sent chunked
        yield b"query="
        for _ in range(100):
            yield b"a" * 1000

    answer = client.post(
        "/sparql", content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413 and answer.json()["status"] == 413
    assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_a_worker_killed_while_idle_is_replaced_unnoticed(url, client):
    # idle once an earlier test's request has let go of it (on a loaded machine, not at once)
    eventually(lambda: client.get("/healthz").json()["workers"]["idle"] == 1, "never idle")
    (worker,) = children(url.process.pid)
    os.kill(worker, signal.SIGKILL)
    stat = Path(f"/proc/{worker}/stat")

    def dead() -> bool:  # a zombie whose threads have all ended: its parent may reap it
        try:
            zombie = stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
            return zombie and len(os.listdir(f"/proc/{worker}/task")) <= 1
        except OSError:
            return True

    eventually(dead, "the worker did not die")
    answer = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["boolean"] is True
    assert not stat.exists()  # reaped: no zombie left
    assert worker not in children(url.process.pid)


def test_an_answer_cut_by_the_time_out_is_visibly_incomplete(url, client):
    with connect(url, buffer=1 << 16) as sock:
        query = httpx.QueryParams({"query": WIDE, "format": "xml"})
        sock.sendall(f"GET /sparql?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(12) == b"HTTP/1.1 200"
        # Read nothing more: the worker stays blocked until the time-out stops it.
        eventually(lambda: "was cut off" in url.stderr.read_text(), "the answer was not cut")
        rest = read_all(sock)
    assert b"</sparql>" not in rest and not rest.endswith(b"0\r\n\r\n")  # no last chunk
    log = url.stderr.read_text()
    assert "Traceback" not in log and "without completing response" not in log
    assert client.get("/healthz").json()["workers"]["busy"] == 0
    assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_a_client_that_leaves_frees_its_worker_before_the_time_out(project):
    with (
        serving(project, "--workers", "1", "--timeout", "600") as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        with connect(url) as sock:
            query = httpx.QueryParams({"query": SLOW})
            sock.sendall(f"GET /sparql?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            eventually(lambda: client.get("/healthz").json()["workers"]["busy"] == 1, "not run")
        # Gone: its query is stopped now, not in 600 s (the 30 s of eventually are a guard).
        eventually(lambda: client.get("/healthz").json()["workers"]["idle"] == 1, "still busy")
        assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200
        assert '"status": 499' in url.stderr.read_text()


def test_the_time_out_counts_the_wait_for_a_worker(url, project):
    from kg.project import Project
    from kg.state import current_store

    store = current_store(Project.load(project))
    assert store is not None

    async def main() -> None:
        pool = Pool(project, store, size=1, queue=4, timeout=1, memory_mib=1024)
        await pool.start()
        try:
            await pool._acquire()  # the only worker, never released
            frames = pool.ask(Request("sparql", text="ASK {}", fmt={"rows": "json"}))
            with pytest.raises(Saturated, match="no query worker became free within 1 s"):
                await asyncio.wait_for(frames.__anext__(), 30)
            assert pool.status()["waiting"] == 0
        finally:
            pool.close()

    asyncio.run(main())


def test_a_query_past_the_memory_cap_is_a_5xx_and_its_worker_replaced(url, project):
    from kg.project import Project
    from kg.state import current_store

    store = current_store(Project.load(project))
    assert store is not None
    hog = "SELECT (GROUP_CONCAT(STR(?c)) AS ?x) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

    async def answer(pool: Pool, text: str) -> list[str]:
        frames = pool.ask(Request("sparql", text=text, fmt={"rows": "json"}))
        return [kind async for kind, _ in frames]

    async def main() -> None:
        pool = Pool(project, store, size=1, queue=4, timeout=30, memory_mib=64)
        await pool.start()
        try:
            (first,) = pool.idle
            with pytest.raises(KgError, match="memory") as failed:
                await answer(pool, hog)
            assert error_status(failed.value) >= 500
            assert first.proc.returncode is not None  # reaped
            assert await asyncio.wait_for(answer(pool, "ASK {}"), 30) == ["head", "data", "end"]
        finally:
            pool.close()

    asyncio.run(main())


def test_cors_headers_for_listed_origins_only(client):
    for origin in ("https://evil.example", "null"):
        answer = client.get("/queries", headers={"Origin": origin})
        assert answer.status_code == 200
        assert not [h for h in answer.headers if h.startswith("access-control-")]
        refused = client.options(
            "/sparql", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert refused.status_code == 403 and refused.json()["status"] == 403
        assert not [h for h in refused.headers if h.startswith("access-control-")]
    big = client.get("/sparql", params={"query": "#" * 5000}, headers={"Origin": ALLOWED})
    assert big.status_code == 413 and big.headers["access-control-allow-origin"] == ALLOWED


def test_starlettes_own_errors_are_json(client):
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    wrong = client.delete("/sparql")
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


def test_the_access_log_cannot_be_forged(url, client):
    client.get('/queries/x%0A{"status": 200}%22', params={"q": '"\n{"forged": true}'})

    def lines() -> list[str]:
        return [x for x in url.stderr.read_text().splitlines() if x.startswith('{"time"')]

    eventually(lambda: any("forged" not in x and "/queries/x\\n" in x for x in lines()), "no line")
    for line in lines():
        assert "forged" not in json.loads(line)  # every line is one whole JSON object


def test_an_error_message_is_capped():
    answer = json_error(400, "x" * 100_000)
    assert len(json.loads(answer.body)["error"]) == MESSAGE_MAX
