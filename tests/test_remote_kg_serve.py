"""``kg query --endpoint`` pointed at a ``kg serve``: kg's own server keeps the views
itself (the inferences in a graph no request can name), so the client chooses them by
``view=``, and every stored query answers there as on the local store."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kg.remote import RemoteStore
from tests.conftest import ROOT, invoke
from tests.serving import serving
from tests.test_remote import QUERIES


@pytest.fixture(scope="module")
def endpoint():
    with serving(ROOT, "--workers", "1") as url:
        yield f"{url}/sparql"


def test_a_kg_serve_is_recognised(endpoint):
    layout = RemoteStore(endpoint).layout
    assert layout.kg_serve
    assert layout.named  # the sources and the ontology, for FROM and GRAPH ?g


@pytest.mark.parametrize("view", ["--inferred", "--asserted"])
@pytest.mark.parametrize("name", QUERIES)
def test_every_stored_query_answers_as_locally(endpoint, name, view):
    runner = CliRunner()
    here = invoke(runner, "query", name, view, "--format", "json")
    there = invoke(runner, "query", name, view, "--format", "json", "--endpoint", endpoint)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert there.stdout == here.stdout


@pytest.mark.parametrize(
    "text",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "SELECT (COUNT(*) AS ?n) FROM ex:wikidata-links WHERE { ?s ?p ?o }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    ],
)
def test_sparql_answers_as_locally(endpoint, text):
    runner = CliRunner()
    for view in ("--inferred", "--asserted"):
        here = invoke(runner, "sparql", text, view, "--format", "csv")
        there = invoke(runner, "sparql", text, view, "--format", "csv", "--endpoint", endpoint)
        assert here.exit_code == there.exit_code == 0, there.stderr
        assert there.stdout == here.stdout
