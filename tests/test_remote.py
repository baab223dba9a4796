"""``kg query --endpoint`` and ``kg sparql --endpoint``: the shipped graph pushed to a real
Oxigraph server answers every stored query as the local store does, with the same
parameter checks; endpoints that cannot be used give clear errors and exit codes."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from kg.errors import UsageError
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.netauth import authorization, check_url
from kg.queries import load_queries
from kg.remote import Layout, RemoteError, RemoteStore
from tests.conftest import ROOT, invoke, run_kg
from tests.oxigraph_server import Proxy, RawServer, oxigraph_server

# The federated ones call Wikidata with SERVICE (as in tests/test_engines.py).
QUERIES = sorted(n for n, q in load_queries(ROOT / "queries").items() if "SERVICE" not in q.text)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """An Oxigraph server holding the shipped graph, pushed by ``kg push``; yields
    (query URL, the push's CliRunner result)."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as base:
        result = invoke(
            CliRunner(), "push", "--endpoint", f"{base}/query", "--graph-store", f"{base}/store"
        )
        yield f"{base}/query", result


def test_push_prints_the_count_table(pushed):
    _, result = pushed
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["graph", "local", "remote"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert {"kgg:ontology", "kgg:asserted", "kgg:inferred", "ex:wikidata-links"} <= set(rows)
    assert all(local == remote for local, remote in rows.values())
    assert "pushed" in result.stderr


@pytest.mark.parametrize("view", ["--inferred", "--asserted"])
@pytest.mark.parametrize("name", QUERIES)
def test_every_stored_query_answers_as_locally(pushed, name, view):
    endpoint, _ = pushed
    assert_answers_as_locally(endpoint, "query", name, view, "--format", "json")


def assert_answers_as_locally(endpoint: str, *args: str) -> None:
    """``kg ARGS`` gives the same output (and exit 0) locally and with ``--endpoint``."""
    runner = CliRunner()
    here = invoke(runner, *args)
    there = invoke(runner, *args, "--endpoint", endpoint)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert there.stdout == here.stdout


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?s ?label WHERE { ?s a kg:State ; rdfs:label ?label } ORDER BY ?s",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        "SELECT (COUNT(*) AS ?n) FROM ex:wikidata-links WHERE { ?s ?p ?o }",
        "ASK { ex:eapc kg:succeeds ex:nacc }",
        "CONSTRUCT { ?s kg:holdsPost ?p } WHERE { ?s kg:holdsPost ?p }",
        "SELECT ?s WHERE { ?s a kg:State ",  # a syntax error: exit 2 both ways
    ],
)
def test_sparql_answers_as_locally(pushed, text):
    endpoint, _ = pushed
    runner = CliRunner()
    here = invoke(runner, "sparql", text, "--format", "json" if "CONSTRUCT" not in text else "nt")
    there = invoke(
        runner,
        "sparql",
        text,
        "--format",
        "json" if "CONSTRUCT" not in text else "nt",
        "--endpoint",
        endpoint,
    )
    assert there.exit_code == here.exit_code, there.stderr
    if "CONSTRUCT" in text:
        assert sorted(there.stdout.splitlines()) == sorted(here.stdout.splitlines())
    else:
        assert there.stdout == here.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("query", "as-of", "-p", "date=2025-13-45"),  # not a date
        ("query", "memberships", "-p", "state=Nowhere"),  # no such label
        ("query", "memberships", "-p", "state=ex:nato"),  # not of the class asked
        ("query", "memberships", "-p", "colour=red"),  # no such parameter
        ("sparql", "SELECT * FROM ex:nope WHERE { ?s ?p ?o }"),  # not a graph of kg's
        ("sparql", "INSERT DATA { ex:a ex:b ex:c }"),  # an update
        ("sparql", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"),
    ],
)
def test_bad_input_gives_the_local_message_and_exit_code(pushed, args):
    endpoint, _ = pushed
    runner = CliRunner()
    here = invoke(runner, *args)
    there = invoke(runner, *args, "--endpoint", endpoint)
    assert here.exit_code == there.exit_code == 2
    assert there.stderr == here.stderr


def test_an_unreachable_endpoint_is_a_clear_error():
    from tests.oxigraph_server import free_port

    url = f"http://127.0.0.1:{free_port()}/query"  # nothing listens there
    result = invoke(CliRunner(), "query", "memberships", "--endpoint", url)
    assert result.exit_code == 2
    assert "cannot reach the endpoint" in result.stderr and "refused" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://alice:secret@127.0.0.1:7878/query", "never takes them on the command line"),
        ("ftp://127.0.0.1/query", "not an http or https URL"),
        ("http:///query", "names no host"),
        ("http://127.0.0.1:9/q\r\nX-Evil: 1", "control character"),
        ("http://127.0.0.1:9/my query", "holds a space"),
    ],
)
def test_unusable_urls_are_refused(url, says):
    result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", url)
    assert result.exit_code == 2
    assert says in result.stderr
    assert "secret" not in result.stderr


def _canned(status: int, ctype: str, body: bytes, hold: threading.Event | None = None):
    def answer(method: str, path: str):
        if hold is not None:
            hold.wait(20)  # released when the test ends
        return status, ctype, body

    return answer


def test_an_endpoint_answering_no_sparql_is_named():
    page = b"<html><body>Welcome to our site</body></html>"
    with Proxy("http://127.0.0.1:9", _canned(200, "text/html", page)) as server:
        result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", server.url)
    assert result.exit_code == 2
    assert "not SPARQL results" in result.stderr and "text/html" in result.stderr


def test_a_server_error_shows_the_servers_message_trimmed():
    message = b"database is locked " + b"x" * 5000
    with Proxy("http://127.0.0.1:9", _canned(500, "text/plain", message)) as server:
        result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", server.url)
    assert result.exit_code == 2
    assert "HTTP 500" in result.stderr and "database is locked" in result.stderr
    assert len(result.stderr) < 1000


def test_an_endpoint_past_the_timeout_stops_with_124():
    hold = threading.Event()
    slow = _canned(200, "application/sparql-results+json", b'{"boolean": true}', hold)
    try:
        with Proxy("http://127.0.0.1:9", slow) as server:
            result = invoke(
                CliRunner(), "sparql", "ASK {}", "--endpoint", server.url, "--timeout", "0.3"
            )
    finally:
        hold.set()
    assert result.exit_code == 124
    assert "did not answer within 0.3 s" in result.stderr


def test_credentials_from_netrc_are_sent(pushed, tmp_path, monkeypatch):
    endpoint, _ = pushed
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    for name in ("KG_TOKEN", "KG_USER", "KG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    base = endpoint.rsplit("/", 1)[0]
    with Proxy(base) as proxy:
        result = invoke(CliRunner(), "query", "memberships", "--endpoint", f"{proxy.url}/query")
    assert result.exit_code == 0, result.stderr
    assert proxy.seen and {auth for *_, auth in proxy.seen} == {"Basic YWxpY2U6czNjcmV0"}


def test_credentials_from_the_environment(monkeypatch, tmp_path):
    url = "https://sparql.example.org/query"
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("KG_TOKEN", "t0k3n")
    assert authorization(url) == "Bearer t0k3n"
    monkeypatch.delenv("KG_TOKEN")
    monkeypatch.setenv("KG_USER", "alice")
    monkeypatch.setenv("KG_PASSWORD", "s3cret")
    assert authorization(url) == "Basic YWxpY2U6czNjcmV0"
    monkeypatch.delenv("KG_PASSWORD")
    with pytest.raises(UsageError, match="KG_PASSWORD is not set"):
        authorization(url)
    monkeypatch.delenv("KG_USER")
    assert authorization(url) is None


def test_check_url_keeps_good_urls():
    url = "https://example.org:8443/sparql?default-graph-uri=x"
    assert check_url(url) == url


def test_layout_mirrors_the_local_views():
    sources = ["https://w3id.org/kg-diplo/id/a", "https://w3id.org/kg-diplo/id/b"]
    layout = Layout.of([*sources, ONTOLOGY_GRAPH, UNION_GRAPH, INFERRED_GRAPH])
    assert layout.views(inferred=False) == ([UNION_GRAPH], sorted([*sources, ONTOLOGY_GRAPH]))
    assert layout.views(inferred=True)[0] == [UNION_GRAPH, INFERRED_GRAPH]
    bulk = Layout.of([*sources, ONTOLOGY_GRAPH])  # no union graph: every source and ontology
    assert bulk.views(inferred=True)[0] == sorted([*sources, ONTOLOGY_GRAPH])


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"


@pytest.mark.parametrize(
    "head, piece",
    [
        (OK_HEAD + b"Content-Length: 100000\r\n\r\n", b" "),  # the body, a byte at a time
        (b"HTTP/1.1 200 OK\r\n", b"X-Wait: 1\r\n"),  # the headers, a line at a time
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n", b"x"),  # an error page
    ],
    ids=["body", "headers", "error-page"],
)
def test_a_trickling_endpoint_is_held_to_the_timeout_of_the_whole_request(head, piece):
    """A socket time-out bounds each read only: a server sending a byte now and then
    must still be stopped at --timeout (the test's own guard is 60 s)."""
    with RawServer(lambda conn: server.trickle(conn, head, piece)) as server:
        result = run_kg(
            ROOT, "sparql", "ASK {}", "--endpoint", server.url, "--timeout", "0.5", timeout=60
        )
    assert result.returncode == 124, result.stderr
    assert "did not answer within 0.5 s" in result.stderr


@pytest.mark.parametrize(
    "answer, says",
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "cannot reach the endpoint"),  # not HTTP
        (OK_HEAD + b"Content-Length: 500\r\n\r\n{}", "cut short"),
        (OK_HEAD + b'Content-Length: 6\r\n\r\n{"head', "cannot be read"),
    ],
    ids=["not-http", "short", "malformed-json"],
)
def test_an_endpoint_answering_garbage_is_an_input_error_not_a_bug(answer, says):
    def send(conn):
        conn.sendall(answer)

    with RawServer(send) as server:
        result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", server.url)
    assert result.exit_code == 2, result.stderr
    assert says in result.stderr and "bug" not in result.stderr


def test_an_answer_past_the_size_cap_is_refused(monkeypatch):
    monkeypatch.setattr("kg.remote_http.MAX_ANSWER", 1000)
    body = b'{"head": {"vars": []}, "results": {"bindings": [' + b"{}, " * 1000 + b"{}]}}"
    for length in (str(len(body)).encode(), None):  # announced, or not (chunked)
        if length is None:
            head = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
            payload = head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        else:
            payload = OK_HEAD + b"Content-Length: " + length + b"\r\n\r\n" + body
        with RawServer(lambda conn, payload=payload: conn.sendall(payload)) as server:
            result = invoke(CliRunner(), "sparql", "SELECT * {}", "--endpoint", server.url)
        assert result.exit_code == 2, result.stderr
        assert "answered more than" in result.stderr


def test_graph_names_that_are_not_iris_are_not_taken_for_kg_graphs():
    """A server answering GRAPH ?g with a literal or a blank node (it should not) is
    asked as a store without named graphs, not sent those names back."""
    names = (
        b'{"head":{"vars":["g"]},"results":{"bindings":['
        b'{"g":{"type":"literal","value":"not an iri"}},{"g":{"type":"bnode","value":"b0"}}]}}'
    )

    def send(conn):
        conn.sendall(OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(names) + names)

    with RawServer(send) as server:
        assert RemoteStore(server.url, timeout=5).layout == Layout([], [], [])


@pytest.mark.parametrize("token", ["s3cret\nX-Evil: 1", "s3cret ", "s3cr€t"])
def test_a_token_a_header_cannot_carry_is_refused_without_showing_it(monkeypatch, token):
    monkeypatch.setenv("KG_TOKEN", token)
    result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", "http://127.0.0.1:9/q")
    assert result.exit_code == 2
    assert "KG_TOKEN" in result.stderr and "s3cr" not in result.stderr


def test_a_broken_netrc_is_reported_without_its_words(monkeypatch, tmp_path):
    """netrc's own message quotes the word it stumbled on: here the password."""
    for name in ("KG_TOKEN", "KG_USER", "KG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice s3cret\n")  # 'password' left out
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", "http://127.0.0.1:9/q")
    assert result.exit_code == 2
    assert "is not in the form" in result.stderr and "s3cret" not in result.stderr


@pytest.mark.parametrize("value", ["many", "1e3", "-1", "9" * 5000])
def test_a_count_that_is_not_a_number_is_an_endpoint_error(value):
    answer = (
        b'{"head":{"vars":["n"]},"results":{"bindings":[{"n":{"type":"literal","value":"'
        + value.encode()
        + b'"}}]}}'
    )

    def send(conn):
        conn.sendall(OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(answer) + answer)

    with RawServer(send) as server, pytest.raises(RemoteError, match="not a number"):
        RemoteStore(server.url, timeout=5).count("https://example.org/g")


def test_a_redirect_is_reported_not_followed_with_the_credentials(monkeypatch):
    monkeypatch.setenv("KG_TOKEN", "t0k3n")
    reached = []
    with RawServer(lambda conn: reached.append(conn)) as elsewhere:
        moved = b"HTTP/1.1 307 Moved\r\nLocation: " + elsewhere.url.encode() + b"\r\n"
        moved += b"Content-Length: 0\r\n\r\n"
        with RawServer(lambda conn: conn.sendall(moved)) as server:
            result = invoke(CliRunner(), "sparql", "ASK {}", "--endpoint", server.url)
    assert result.exit_code == 2
    assert "redirects to" in result.stderr and elsewhere.url in result.stderr
    assert reached == [] and "t0k3n" not in result.stderr
