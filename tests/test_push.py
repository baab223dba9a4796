"""``kg push``: the compiled graph goes to a real Oxigraph server through the Graph Store
Protocol; pushing again changes nothing; failed requests are retried; credentials come
from $NETRC; a count that differs afterwards is an error naming the graph."""

from __future__ import annotations

import urllib.request

import pytest
from click.testing import CliRunner

from kg.errors import QueryTimeout
from kg.graph import KnowledgeGraph
from kg.namespaces import ONTOLOGY_GRAPH, UNION_GRAPH
from kg.project import Project
from kg.push import GraphCount, compare, graphs_to_push
from tests.conftest import ROOT, invoke
from tests.oxigraph_server import Proxy, RawServer, oxigraph_server

# pyoxigraph's iterators must be dropped on the thread that made them: a failed upload
# once let the request watchdog's thread drop one (an "unraisable" error, not a failure).
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")

LINKS = "https://w3id.org/kg-diplo/id/wikidata-links"


@pytest.fixture
def server(tmp_path):
    with oxigraph_server(tmp_path / "oxigraph") as base:
        yield base


def _push(base: str, *extra: str, store: str | None = None, project=None):
    args = ["push", "--endpoint", f"{base}/query", "--graph-store", store or f"{base}/store"]
    kwargs = {"project": project} if project else {}
    return invoke(CliRunner(), *args, *extra, **kwargs)


def _table(stdout: str) -> dict[str, tuple[str, ...]]:
    return {line.split()[0]: tuple(line.split()[1:]) for line in stdout.splitlines()[1:]}


def test_a_second_push_changes_nothing(server):
    first = _push(server)
    assert first.exit_code == 0, first.stderr
    answers = invoke(
        CliRunner(), "query", "memberships", "--format", "json", "--endpoint", f"{server}/query"
    ).stdout
    second = _push(server)
    assert second.exit_code == 0, second.stderr
    assert _table(second.stdout) == _table(first.stdout)
    again = invoke(
        CliRunner(), "query", "memberships", "--format", "json", "--endpoint", f"{server}/query"
    ).stdout
    assert again == answers and '"bindings"' in answers


def test_a_push_builds_a_stale_project_first(server, project_copy):
    result = _push(server, project=project_copy)  # never built
    assert result.exit_code == 0, result.stderr
    assert (project_copy / ".kg" / "current").exists()
    assert "kgg:inferred" in result.stdout


def test_a_count_that_differs_is_an_error_naming_the_graph(server):
    assert _push(server).exit_code == 0
    extra = b"<https://example.org/s> <https://example.org/p> <https://example.org/o> .\n"
    request = urllib.request.Request(
        f"{server}/store?graph={LINKS}",
        data=extra,
        method="POST",
        headers={"Content-Type": "application/n-triples"},
    )
    urllib.request.urlopen(request, timeout=10).close()  # someone else writes there
    # a graph store that accepts everything and keeps nothing: the stray triple stays
    with Proxy(server, lambda method, path: (204, "text/plain", b"")) as lossy:
        result = _push(server, store=lossy.url)
    assert result.exit_code == 1
    assert "ex:wikidata-links" in result.stderr and "differ" in result.stderr
    local, remote = _table(result.stdout)["ex:wikidata-links"][:2]
    assert int(remote.replace(",", "")) == int(local.replace(",", "")) + 1


def test_a_failed_put_is_retried(server):
    failures = [503]

    def flaky(method: str, path: str):
        if method == "PUT" and failures:
            return failures.pop(), "text/plain", b"busy, try later"
        return None  # forwarded to the real store

    with Proxy(server, flaky) as proxy:
        result = _push(server, store=f"{proxy.url}/store")
    assert result.exit_code == 0, result.stderr
    assert "1 retried" in result.stderr
    puts = [path for method, path, _ in proxy.seen if method == "PUT"]
    assert puts[0] == puts[1]  # the same graph, sent again


def test_an_error_that_cannot_pass_is_not_retried(server):
    with Proxy(server, lambda method, path: (400, "text/plain", b"bad graph")) as proxy:
        result = _push(server, store=f"{proxy.url}/store")
    assert result.exit_code == 2
    assert "HTTP 400" in result.stderr and "bad graph" in result.stderr
    assert len(proxy.seen) == 1


def test_credentials_from_netrc_go_with_every_request(server, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\n  login loader\n  password pa55\n")
    netrc.chmod(0o600)
    for name in ("KG_TOKEN", "KG_USER", "KG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    with Proxy(server) as proxy:
        result = invoke(
            CliRunner(),
            "push",
            "--endpoint",
            f"{proxy.url}/query",
            "--graph-store",
            f"{proxy.url}/store",
        )
    assert result.exit_code == 0, result.stderr
    assert {method for method, *_ in proxy.seen} >= {"PUT", "POST"}
    assert {auth for *_, auth in proxy.seen} == {"Basic bG9hZGVyOnBhNTU="}


def test_pushing_without_the_ontology_removes_the_old_union(server):
    assert _push(server).exit_code == 0
    result = _push(server, "--no-ontology")
    assert result.exit_code == 0, result.stderr
    assert "removed kgg:asserted" in result.stderr  # it held the ontology: an old build's
    assert "also holds kgg:ontology" in result.stderr  # left alone, and said
    assert "kgg:ontology" not in _table(result.stdout)


def test_small_chunks_keep_blank_nodes_together(server):
    result = _push(server, "--chunk", "7")  # the ontology's lists are blank nodes
    assert result.exit_code == 0, result.stderr
    table = _table(result.stdout)
    assert table["kgg:ontology"][0] == table["kgg:ontology"][1]
    # each list still reaches its members: its nodes were read in one request
    lists = (
        "SELECT (COUNT(*) AS ?n) FROM kgg:ontology WHERE { ?c ?p ?l . "
        "?l rdf:rest*/rdf:first ?m FILTER(isBlank(?l) && !isBlank(?c)) }"
    )
    runner = CliRunner()
    here = invoke(runner, "sparql", lists, "--format", "csv").stdout
    there = invoke(runner, "sparql", lists, "--format", "csv", "--endpoint", f"{server}/query")
    assert there.stdout == here and here != "n\r\n0\r\n"


def test_compare_and_the_graphs_pushed():
    assert compare({"a": 3, "b": 2}, {"a": 3}) == [GraphCount("a", 3, 3), GraphCount("b", 2, 0)]
    assert [c.ok for c in compare({"a": 3}, {"a": 4})] == [False]
    graphs = {"named": [ONTOLOGY_GRAPH, LINKS], "union": [UNION_GRAPH], "inferred": "i"}
    assert graphs_to_push(graphs) == [ONTOLOGY_GRAPH, LINKS, UNION_GRAPH, "i"]
    assert graphs_to_push(graphs, inferred=False, ontology=False) == [LINKS]
    no_overlap = {"named": [ONTOLOGY_GRAPH, LINKS], "union": [ONTOLOGY_GRAPH, LINKS]}
    assert graphs_to_push({**no_overlap, "inferred": "i"}) == [ONTOLOGY_GRAPH, LINKS, "i"]


def test_a_graph_store_that_keeps_timing_out_is_a_timeout_not_a_bad_endpoint():
    """Tried again, then given up with the time-out's exit code (124) and advice that
    fits a push; a server trickling its answer cannot stretch a request past --timeout."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
    graph = KnowledgeGraph(Project.load(ROOT))
    pauses: list[float] = []
    trickling = RawServer(lambda conn: trickling.trickle(conn, head, b" "))
    with trickling, pytest.raises(QueryTimeout, match=r"after 4 attempts.*--chunk") as caught:
        graph.push(trickling.url, timeout=0.2, sleep=pauses.append)
    assert caught.value.exit_code == 124
    assert len(pauses) == 3  # three retries
