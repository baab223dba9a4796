"""``default-graph-uri`` / ``named-graph-uri`` on ``/sparql`` read the graphs they name, as
``FROM`` / ``FROM NAMED`` do in ``kg sparql``: only the project's graphs, no inferences;
the parameters win over the query's own ``FROM`` (SPARQL 1.1 Protocol, 2.1.4)."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.conftest import ROOT, invoke
from tests.serving import serving

EX = "https://w3id.org/kg-diplo/id/"
SOURCE = EX + "ref-nato-topics-49111"
OTHER = EX + "ref-nacc-statement-1991"
ONTOLOGY = "https://w3id.org/kg-diplo/graph/ontology"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
NAMED = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"


@pytest.fixture(scope="module")
def url():
    with serving(ROOT, "--workers", "1") as base:
        yield base


def cli_rows(query: str) -> list[dict]:
    result = invoke(CliRunner(), "sparql", query, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["results"]["bindings"]


def served_rows(url: str, query: str, default=(), named=(), method: str = "GET") -> list[dict]:
    sw = SPARQLWrapper(f"{url}/sparql")
    sw.setQuery(query)
    sw.setReturnFormat(JSON)
    sw.setMethod(method)
    for graph in default:
        sw.addDefaultGraph(graph)
    for graph in named:
        sw.addNamedGraph(graph)
    return sw.query().convert()["results"]["bindings"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_default_graphs_are_from(url, method):
    served = served_rows(url, COUNT, default=[SOURCE, ONTOLOGY], method=method)
    expected = cli_rows(
        f"SELECT (COUNT(*) AS ?n) FROM <{SOURCE}> FROM <{ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    )
    whole = served_rows(url, COUNT)
    assert served == expected
    assert int(served[0]["n"]["value"]) < int(whole[0]["n"]["value"])  # no inferences


def test_named_graphs_are_from_named(url):
    served = served_rows(url, NAMED, named=[SOURCE, OTHER])
    text = NAMED.replace("WHERE", f"FROM NAMED <{SOURCE}> FROM NAMED <{OTHER}> WHERE")
    assert served == cli_rows(text)
    assert [r["g"]["value"] for r in served] == sorted([OTHER, SOURCE])


def test_named_graphs_alone_leave_the_default_graph_empty(url):
    assert served_rows(url, COUNT, named=[SOURCE]) == [
        {
            "n": {
                "type": "literal",
                "value": "0",
                "datatype": "http://www.w3.org/2001/XMLSchema#integer",
            }
        }
    ]


def test_the_parameters_win_over_from(url):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{OTHER}> WHERE {{ ?s ?p ?o }}"
    served = served_rows(url, query, default=[SOURCE])
    assert served == cli_rows(f"SELECT (COUNT(*) AS ?n) FROM <{SOURCE}> WHERE {{ ?s ?p ?o }}")


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_a_graph_of_no_source_is_refused_by_name(url, param):
    answer = httpx.get(f"{url}/sparql", params={"query": COUNT, param: EX + "nope"}, timeout=60)
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert f"{param} <{EX}nope> is not a graph of this project" in message
    assert "kgg:ontology" in message and "ex:caliber-az-2025-azerbaijan-nato" in message
