"""``kg serve``: the SPARQL 1.1 Protocol and the stored-query routes give the CLI's answers.

One server for the module, on the shipped project, spoken to by a real SPARQL client
(SPARQLWrapper) and by httpx.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from click.testing import CliRunner
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, JSONLD, N3, TSV, TURTLE, XML, SPARQLWrapper

from kg.queries import load_queries
from tests.conftest import ROOT, invoke
from tests.serving import serving

SELECT = "SELECT ?s ?label WHERE { ?s a kg:State ; rdfs:label ?label } ORDER BY ?s ?label"
ASK = "ASK { ex:azerbaijan a kg:State }"
CONSTRUCT = "CONSTRUCT { ex:nato ?p ?o } WHERE { ex:nato ?p ?o FILTER(!isBlank(?o)) }"


@pytest.fixture(scope="module")
def url():
    with serving(
        ROOT, "--workers", "2", "--max-request-bytes", "16384", "--max-rows", "1000"
    ) as base:
        yield base


@pytest.fixture(scope="module")
def client(url):
    with httpx.Client(base_url=url, timeout=60) as c:
        yield c


def cli(*args: str) -> str:
    result = invoke(CliRunner(), *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def lines(text: str) -> str:
    """CSV's CRLF line ends as the CLI runner shows them (it reads universal newlines)."""
    return text.replace("\r\n", "\n")


def wrapper(url: str, query: str, fmt: str, method: str) -> bytes:
    sw = SPARQLWrapper(f"{url}/sparql")
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    return sw.query().response.read()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("fmt", "ours"), [(JSON, "json"), (XML, "xml"), (CSV, "csv"), (TSV, "tsv")]
)
def test_select_in_each_format_is_the_cli_answer(url, method, fmt, ours):
    body = wrapper(url, SELECT, fmt, method).decode("utf-8")
    assert lines(body) == cli("sparql", SELECT, "--format", ours)


def test_select_parsed_by_the_client(url):
    sw = SPARQLWrapper(f"{url}/sparql")
    sw.setQuery(SELECT)
    sw.setReturnFormat(JSON)
    rows = sw.query().convert()["results"]["bindings"]
    expected = json.loads(cli("sparql", SELECT, "--format", "json"))["results"]["bindings"]
    assert rows == expected and rows


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ask(url, method):
    sw = SPARQLWrapper(f"{url}/sparql")
    sw.setQuery(ASK)
    sw.setReturnFormat(JSON)
    sw.setMethod(method)
    assert sw.query().convert()["boolean"] is True


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("fmt", "parse_as"), [(TURTLE, "turtle"), (N3, "turtle"), (JSONLD, "json-ld")]
)
def test_construct_in_each_format_has_the_cli_triples(url, method, fmt, parse_as):
    body = wrapper(url, CONSTRUCT, fmt, method)
    expected = set(Graph().parse(data=cli("sparql", CONSTRUCT, "--format", "nt"), format="nt"))
    assert expected and set(Graph().parse(data=body, format=parse_as)) == expected


def test_construct_as_n_triples_and_direct_post(client):
    answer = client.post(
        "/sparql",
        content=CONSTRUCT.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/n-triples")
    assert answer.text == cli("sparql", CONSTRUCT, "--format", "nt")


def test_format_parameter_and_asserted_view(client):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for view, flag in (("asserted", "--asserted"), ("inferred", "--inferred")):
        answer = client.get("/sparql", params={"query": query, "format": "csv", "view": view})
        assert lines(answer.text) == cli("sparql", query, "--format", "csv", flag)


def test_service_description(client):
    answer = client.get("/sparql")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/turtle")
    sd = Graph().parse(data=answer.text, format="turtle")
    text = sd.serialize(format="nt")
    assert "sparql-service-description#SPARQL11Query" in text
    assert "sparql-service-description#defaultDataset" in text
    assert f"<{client.base_url}/sparql>" in text


def test_every_stored_query_gives_the_cli_rows(client):
    queries = load_queries(ROOT / "queries")
    listed = client.get("/queries").json()
    assert sorted(q["name"] for q in listed) == sorted(queries)
    for name in queries:
        result = invoke(CliRunner(), "query", name, "--format", "json")
        answer = client.get(f"/queries/{name}", params={"limit": 1000})
        if result.exit_code != 0:  # e.g. a SERVICE to Wikidata, offline: an error both ways
            assert answer.status_code >= 400, name
            assert answer.json()["error"] in result.stderr, name
            continue
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json() == json.loads(result.stdout), name


def test_parameters_are_bound_as_on_the_command_line(client):
    expected = cli("query", "memberships", "-p", "state=ex:azerbaijan", "--format", "csv")
    answer = client.get(
        "/queries/memberships", params={"state": "ex:azerbaijan"}, headers={"Accept": "text/csv"}
    )
    assert lines(answer.text) == expected
    by_label = client.get("/queries/memberships", params={"state": "Azerbaijan", "format": "csv"})
    assert lines(by_label.text) == expected


def test_pagination_covers_every_row_once(client):
    whole = client.get("/queries/memberships", params={"limit": 1000}).json()
    rows, link, pages = [], "/queries/memberships?limit=3", 0
    while link:
        answer = client.get(link)
        assert answer.status_code == 200
        rows += answer.json()["results"]["bindings"]
        link = answer.links.get("next", {}).get("url")
        pages += 1
    assert rows == whole["results"]["bindings"] and pages > 1


@pytest.mark.parametrize(
    ("params", "cli_args"),
    [
        ({"state": "Atlantis"}, ["-p", "state=Atlantis"]),
        ({"stat": "Azerbaijan"}, ["-p", "stat=Azerbaijan"]),
    ],
)
def test_bad_parameter_is_400_with_kgs_message(client, params, cli_args):
    result = invoke(CliRunner(), "query", "memberships", *cli_args)
    assert result.exit_code == 2
    answer = client.get("/queries/memberships", params=params)
    assert answer.status_code == 400
    assert answer.json() == {"error": result.stderr.removeprefix("Error: ").strip(), "status": 400}


def test_parameter_of_the_wrong_type(client):
    query = next(
        q
        for q in load_queries(ROOT / "queries").values()
        if any(p.kind == "date" for p in q.params)
    )
    param = next(p for p in query.params if p.kind == "date")
    result = invoke(CliRunner(), "query", query.name, "-p", f"{param.name}=yesterday")
    answer = client.get(f"/queries/{query.name}", params={param.name: "yesterday"})
    assert answer.status_code == 400
    assert answer.json()["error"] == result.stderr.removeprefix("Error: ").strip()


def test_repeated_parameter_unknown_query_and_bad_page(client):
    twice = client.get("/queries/memberships?state=Azerbaijan&state=Georgia")
    assert twice.status_code == 400 and "given twice" in twice.json()["error"]
    assert client.get("/queries/membership").status_code == 404
    assert "memberships" in client.get("/queries/membership").json()["error"]
    assert client.get("/queries/memberships?limit=0").status_code == 400
    assert client.get("/queries/memberships?offset=-1").status_code == 400


@pytest.mark.parametrize(
    "request_args",
    [
        {"method": "GET", "params": {"query": "INSERT DATA { ex:a ex:b ex:c }"}},
        {"method": "POST", "data": {"update": "INSERT DATA { ex:a ex:b ex:c }"}},
        {
            "method": "POST",
            "content": b"DROP ALL",
            "headers": {"Content-Type": "application/sparql-update"},
        },
    ],
)
def test_updates_are_refused(client, request_args):
    answer = client.request(url="/sparql", **request_args)
    assert answer.status_code == 400 and "read-only" in answer.json()["error"]


def test_service_outside_the_allow_list_fetches_nothing(client):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        answer = client.get("/sparql", params={"query": query})
        assert answer.status_code == 400 and "SERVICE" in answer.json()["error"]
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_malformed_query_gets_the_parsers_message(client):
    answer = client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert answer.status_code == 400
    message = answer.json()["error"]
    result = invoke(CliRunner(), "sparql", "SELECT ?s WHERE { ?s ?p }")
    assert message.startswith("SPARQL syntax error at line 1") and message in result.stderr


def test_oversize_requests_are_413(client):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 20_000
    assert client.post("/sparql", data={"query": big}).status_code == 413
    assert client.get("/sparql", params={"query": big}).status_code == 413
    direct = client.post(
        "/sparql", content=big.encode(), headers={"Content-Type": "application/sparql-query"}
    )
    assert direct.status_code == 413


def test_nothing_acceptable_is_406(client):
    answer = client.get("/sparql", params={"query": ASK}, headers={"Accept": "image/png"})
    assert answer.status_code == 406
    graph = client.get("/sparql", params={"query": CONSTRUCT, "format": "csv"})
    assert graph.status_code == 406


def test_etag_and_304(client):
    first = client.get("/queries/memberships")
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/queries/memberships", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/queries/memberships", headers={"Accept": "text/csv"})
    assert other.headers["etag"] != tag
    assert client.get("/queries/memberships", headers={"If-None-Match": '"x"'}).status_code == 200


def test_health(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["build"].startswith("store-")
    assert health["workers"]["workers"] == 2


def test_row_cap_cuts_and_says_so(client):
    everything = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert everything.headers["x-kg-truncated"] == "true"
    assert len(everything.json()["results"]["bindings"]) == 1000
    graph = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"})
    assert graph.headers["x-kg-truncated"] == "true" and len(graph.text.splitlines()) == 1000
    small = client.get("/sparql", params={"query": ASK})
    assert "x-kg-truncated" not in small.headers
    assert client.get("/queries/memberships", params={"limit": 1001}).status_code == 400
