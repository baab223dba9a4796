"""The OpenAPI 3.1 document of ``kg serve``: valid, and generated from the stored queries."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from kg.openapi import document, operation_id
from kg.queries import load_queries
from tests.conftest import ROOT
from tests.test_web import client_for


@pytest.fixture(scope="module")
def doc() -> dict:
    return client_for(ROOT).get("/openapi.json").json()


def test_the_document_validates_as_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any error


def test_a_route_per_stored_query_with_each_parameter(doc):
    queries = load_queries(ROOT / "queries")
    routes = {p[len("/queries/") :] for p in doc["paths"] if p.startswith("/queries/")}
    assert routes == set(queries)
    for name, query in queries.items():
        op = doc["paths"][f"/queries/{name}"]["get"]
        assert op["operationId"] == operation_id(name)
        assert op["summary"] == (query.summary or name)
        assert op["tags"] == (query.tags or ["queries"])
        params = {p["name"]: p for p in op["parameters"]}
        assert list(params) == [p.name for p in query.params] + [
            "limit",
            "offset",
            "format",
            "view",
        ]
        for param in query.params:
            given = params[param.name]
            assert given["in"] == "query"
            assert given["required"] == (param.required and param.default is None)
            assert given["schema"].get("default") == _json(param.default, given["schema"])
            if param.default is not None:
                assert given["schema"]["examples"] == [given["schema"]["default"]]
        assert set(op["responses"]) >= {"200", "400", "404", "406", "413", "503"}
        assert "application/sparql-results+json" in op["responses"]["200"]["content"]


def _json(default, schema):
    if default is None:
        return None
    return {"integer": int, "number": float}.get(schema.get("type"), str)(default)


def test_parameter_types_become_json_schema():
    from kg.query_params import Param

    def schema(kind, **kw):
        return document_of(Param(name="x", var="_x_" + kind, required=True, kind=kind, **kw))

    iri = schema("iri", expects="https://w3id.org/kg-diplo/ontology#State")
    assert (
        iri["type"] == "string"
        and "CURIE" in iri["description"]
        and "kg:State" in iri["description"]
    )
    assert schema("date") == {
        "type": "string",
        "format": "date",
        "description": "A day (YYYY-MM-DD).",
    }
    coarse = schema("date", dates="first")
    assert {"type": "string", "format": "date"} in coarse["anyOf"]
    assert "year" in coarse["description"] and "first day" in coarse["description"]
    assert schema("integer")["type"] == "integer"
    assert schema("boolean")["type"] == "boolean"
    assert schema("@en")["type"] == "string"


def document_of(param) -> dict:
    from kg.openapi import param_schema

    return param_schema(param)


def test_the_protocol_routes_are_described(doc):
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/sparql"])
    post = paths["/sparql"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/sparql-query"} <= set(post)
    for path in ("/queries", "/healthz", "/id/{path}", "/timeline/{path}"):
        assert "get" in paths[path], path
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "status"]
    assert doc["servers"][0]["url"] == "http://testserver"


def test_the_document_changes_when_a_query_is_added(project_copy):
    (project_copy / "queries" / "neighbours.rq").write_text(
        "#+ summary: States that share a relationship with a state\n"
        "#+ tags:\n#+   - test\n"
        "SELECT ?other WHERE { ?r kg:party ?_state_iri, ?other FILTER(?other != ?_state_iri) "
        "FILTER(!BOUND(?__since_date) || true) }\n"
    )
    doc = client_for(project_copy).get("/openapi.json").json()
    validate(doc)
    op = doc["paths"]["/queries/neighbours"]["get"]
    assert op["summary"] == "States that share a relationship with a state"
    assert op["tags"] == ["test"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["state"]["required"] is True
    assert params["since"]["required"] is False
    assert params["since"]["schema"]["format"] == "date"


def test_document_is_plain_data_for_any_server_url():
    doc = document(load_queries(ROOT / "queries"), server="http://127.0.0.1:1/kg", title="t")
    validate(doc)
    assert doc["servers"] == [{"url": "http://127.0.0.1:1/kg"}]


def test_hostile_headers_and_names_that_clash_keep_the_document_valid(project_copy):
    """Two names with one operationId ("a-b", "a_b"), markup in every header field: the
    document still validates, the ids stay unique, and the API page shows the text."""
    header = (
        "#+ summary: {n} </script><script>alert(1)</script>\n"
        "#+ description: >\n#+   Desc <img src=x onerror=alert(1)> & </p>\n"
        "#+ tags:\n#+   - <b>tag</b>\n"
        "SELECT ?x WHERE {{ ?x ?p ?_state_iri }}\n"
    )
    for name in ("a-b", "a_b", "a_b_2"):
        (project_copy / "queries" / f"{name}.rq").write_text(header.format(n=name))
    client = client_for(project_copy)
    doc = client.get("/openapi.json").json()
    validate(doc)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert doc["paths"]["/queries/a-b"]["get"]["operationId"] == "query_a_b"
    html = client.get("/api").text
    assert "<script>alert" not in html and "<img" not in html and "<b>tag" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html
    anchors = re.findall(r'<section class="op" id="([^"]+)"', html)
    assert len(anchors) == len(set(anchors)) == len(ids)
