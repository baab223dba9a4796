"""``kg query --endpoint`` pointed at a ``kg serve``: kg's own server keeps the views
itself (the inferences in a graph no request can name), so the client chooses them by
``view=``, and every stored query answers there as on the local store."""

from __future__ import annotations

import pytest

from kg.remote import RemoteStore
from tests.conftest import ROOT
from tests.serving import serving
from tests.test_remote import QUERIES, assert_answers_as_locally


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
    assert_answers_as_locally(endpoint, "query", name, view, "--format", "json")


@pytest.mark.parametrize(
    "text",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "SELECT (COUNT(*) AS ?n) FROM ex:wikidata-links WHERE { ?s ?p ?o }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    ],
)
def test_sparql_answers_as_locally(endpoint, text):
    for view in ("--inferred", "--asserted"):
        assert_answers_as_locally(endpoint, "sparql", text, view, "--format", "csv")
