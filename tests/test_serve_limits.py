"""``kg serve`` keeps itself up: time-outs, saturation, CORS, the access log, a new build
picked up without a restart, a clean stop. Servers run on copies of the project."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, invoke, run_kg
from tests.serving import children, eventually, serving, stop

#: A cross join of the store with itself four times: runs far longer than any time-out.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
ASK = "ASK { ?s ?p ?o }"
ALLOWED = "https://allowed.example"


def copy_project(dest: Path, serve_table: str = "") -> Path:
    dest.mkdir()
    shutil.copy(ROOT / "kg.toml", dest / "kg.toml")
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, dest / folder)
    with open(dest / "kg.toml", "a") as toml:
        toml.write(serve_table)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    table = f'\n[serve]\ncors = ["{ALLOWED}"]\naccess_log = "access.jsonl"\n'
    return copy_project(tmp_path_factory.mktemp("serve") / "project", table)


@pytest.fixture(scope="module")
def client(project):
    with (
        serving(project, "--workers", "2", "--timeout", "3") as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        yield c


def busy(client: httpx.Client) -> int:
    return client.get("/healthz").json()["workers"]["busy"]


def test_a_runaway_query_holds_one_worker_only(client):
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(client.get, "/sparql", params={"query": SLOW})
        eventually(lambda: busy(client) == 1, "the slow query never started")
        meanwhile = client.get("/sparql", params={"query": ASK})
        assert meanwhile.status_code == 200 and meanwhile.json()["boolean"] is True
        answer = slow.result()
    assert answer.status_code == 504
    assert "ran longer than 3 s and was stopped" in answer.json()["error"]
    right_after = client.get("/queries/memberships")
    assert right_after.status_code == 200


def test_cors_only_for_listed_origins(client):
    allowed = client.get("/queries", headers={"Origin": ALLOWED})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    other = client.get("/queries", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = client.options("/sparql", headers={"Origin": ALLOWED, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    refused = client.options("/sparql", headers={"Origin": "https://evil.example", **preflight})
    assert refused.status_code == 403 and refused.json()["status"] == 403
    assert not [h for h in refused.headers if h.startswith("access-control-")]


def test_access_log_is_json_lines(client, project):
    client.get("/queries/memberships", params={"state": "Azerbaijan"})
    client.get("/sparql", params={"query": ASK})
    client.get("/queries/nothing-of-that-name")

    def logged() -> list[dict]:
        path = project / "access.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    # The line is written once the answer is sent: wait for the last request's.
    eventually(lambda: any(x["status"] == 404 for x in logged()), "no 404 in the access log")
    lines = logged()
    for line in lines:
        assert set(line) == {"time", "method", "path", "status", "bytes", "ms", "query", "client"}
    named = [x for x in lines if x["path"] == "/queries/memberships"]
    assert named and named[-1]["query"] == "memberships" and named[-1]["status"] == 200
    assert any(x["query"] and x["query"].startswith("sha256:") for x in lines)
    assert any(x["status"] == 404 for x in lines)


def test_a_new_build_is_picked_up_without_restart(client, project):
    probe = {"query": 'ASK { ?s ?p "picked up by kg serve" }'}
    assert client.get("/sparql", params=probe).json()["boolean"] is False
    assert client.get("/sparql", params=probe).headers["x-kg-cache"] == "hit"
    build = client.get("/healthz").json()["build"]
    tag = client.get("/queries/memberships").headers["etag"]
    source = sorted((project / "data").glob("*.ttl"))[0]
    with open(source, "a") as ttl:
        ttl.write(
            "\n<https://w3id.org/kg-diplo/id/azerbaijan> "
            '<http://www.w3.org/2000/01/rdf-schema#comment> "picked up by kg serve" .\n'
        )
    done = run_kg(project, "build")
    assert done.returncode == 0, done.stderr
    eventually(lambda: client.get("/healthz").json()["build"] != build, "the build stayed")
    answer = client.get("/sparql", params=probe)  # the answer cached was the old build's
    assert answer.json()["boolean"] is True and answer.headers["x-kg-cache"] == "miss"
    assert client.get("/queries/memberships").headers["etag"] != tag


def test_saturation_is_503_and_sigterm_leaves_no_process(tmp_path):
    project = copy_project(tmp_path / "project")
    with serving(project, "--workers", "1", "--queue", "0", "--timeout", "3") as url:
        workers = children(url.process.pid)
        assert len(workers) == 1
        with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(1) as pool:
            slow = pool.submit(client.get, "/sparql", params={"query": SLOW})
            eventually(lambda: busy(client) == 1, "the slow query never started")
            full = client.get("/sparql", params={"query": ASK})
            assert full.status_code == 503 and full.headers["retry-after"] == "1"
            assert "busy" in full.json()["error"]
            assert slow.result().status_code == 504
        assert stop(url.process) == 0
    for pid in workers:
        eventually(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"worker {pid} lives on")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[serve]\nbogus = 1\n", "unknown key 'bogus' under [serve]"),
        ('[serve]\nworkers = "two"\n', "workers under [serve] must be"),
        ("[serve]\nport = 70000\n", "port under [serve] must be a number from 0 to 65,535"),
        ('[serve]\ncors = ["https://a.example/path"]\n', "cors under [serve] must list origins"),
    ],
)
def test_serve_table_is_checked(tmp_path, table, message):
    project = copy_project(tmp_path / "project", "\n" + table)
    result = invoke(CliRunner(), "serve", project=project)
    assert result.exit_code == 2
    assert "kg.toml" in result.stderr and message in result.stderr
