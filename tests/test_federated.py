"""The federated stored query (``wikidata-names``) against a SPARQL endpoint on 127.0.0.1
that plays Wikidata: kg follows the entity's link, sends the item inside the SERVICE
group (not every label Wikidata holds), and says so when the endpoint is down.

The endpoint's answers are test data, not Wikidata's word.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import invoke

ANSWER = {
    "head": {"vars": ["name", "language", "website"]},
    "results": {
        "bindings": [
            {
                "name": {"type": "literal", "value": "Fixture name (fr)", "xml:lang": "fr"},
                "language": {"type": "literal", "value": "fr"},
                "website": {"type": "uri", "value": "https://example.org/fixture"},
            }
        ]
    },
}


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[str]]]:
    """A SPARQL endpoint on 127.0.0.1 that records each query and answers ANSWER."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, query: str) -> None:
            seen.append(query)
            body = json.dumps(ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            self._answer(query.get("query", [""])[0])

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                data = urllib.parse.parse_qs(data).get("query", [""])[0]
            self._answer(data)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql", seen
    finally:
        server.shutdown()
        server.server_close()


def _use(project: Path, sparql: str) -> None:
    with (project / "kg.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[wikidata]\nsparql = "{sparql}"\n')


@pytest.mark.parametrize("engine", ["oxigraph", "reference"])
def test_the_federated_query_asks_about_the_linked_item_only(
    runner, project_copy, endpoint, engine
):
    url, seen = endpoint
    _use(project_copy, url)
    result = invoke(
        runner, "--engine", engine, "query", "wikidata-names", "-p", "entity=Azerbaijan",
        "--format", "json", project=project_copy,
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    rows = json.loads(result.stdout)["results"]["bindings"]
    assert [(r["language"]["value"], r["name"]["value"]) for r in rows] == [
        ("fr", "Fixture name (fr)")
    ]
    assert len(seen) == 1
    # the item, not kg's IRI and not every label: bound inside the SERVICE group
    assert "http://www.wikidata.org/entity/Q227" in seen[0]
    assert "w3id.org/kg-diplo/id/azerbaijan" not in seen[0]


def test_an_unlinked_entity_is_refused_before_anything_is_sent(runner, project_copy, endpoint):
    url, seen = endpoint
    _use(project_copy, url)
    result = invoke(runner, "query", "wikidata-names", "-p", "entity=NACC", project=project_copy)
    assert result.exit_code == 2
    assert "ex:nacc, which has no kg:wikidata: link it first" in result.stderr
    assert seen == []


def test_an_endpoint_that_cannot_be_reached_is_exit_2(runner, project_copy):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _use(project_copy, f"http://127.0.0.1:{port}/sparql")
    result = invoke(runner, "query", "wikidata-names", project=project_copy)
    assert result.exit_code == 2
    assert "check that the endpoint is up and reachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_endpoint_is_allowed_by_default_and_only_that_one(runner, project_copy):
    """Wikidata's endpoint is on the SERVICE allow-list by default; another is not."""
    result = invoke(
        runner, "sparql", "SELECT * WHERE { SERVICE <https://example.org/sparql> { ?s ?p ?o } }",
        project=project_copy,
    )  # fmt: skip
    assert result.exit_code == 2 and "services = [" in result.stderr


def test_a_follow_decorator_on_a_date_parameter_names_the_file_and_line(runner, project_copy):
    (project_copy / "queries" / "odd.rq").write_text(
        "#+ summary: odd\n#+ follow:\n#+   - day: kg:wikidata\n\n"
        "SELECT ?d WHERE { BIND(?_day_date AS ?d) }\n",
        encoding="utf-8",
    )
    result = invoke(runner, "query", "odd", "-p", "day=2020-01-01", project=project_copy)
    assert result.exit_code == 2
    assert "queries/odd.rq:3" in result.stderr and "not an IRI parameter" in result.stderr


def test_kg_queries_says_what_a_followed_parameter_becomes(runner):
    out = invoke(runner, "queries").stdout
    assert "-p entity=…  IRI, CURIE or label, given to the query as its kg:wikidata" in out
