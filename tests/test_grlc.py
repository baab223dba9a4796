"""grlc reads ``queries/`` as kg does: grlc's own parser, run over every stored query, finds
the parameters kg finds, with the same names, types and defaults, and grlc's rewriting of
a query with those defaults gives kg's rows (issue 9).

grlc splices values into the query text; kg binds typed terms. So the comparison is of
terms: a probe ``BIND(?_var AS ?x)`` rewritten by grlc and run on the store gives the term
grlc would put in the query, which must equal the term kg binds. Nothing here goes beyond
the process: grlc asks an endpoint only for ``#+ enumerate:``, which no query has.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.graph import KnowledgeGraph
from kg.project import Project
from kg.queries import StoredQuery, bind, load_queries, parse_query_file, to_term
from kg.query_params import Param
from kg.terms import Term
from tests.conftest import ROOT

gquery = pytest.importorskip("grlc.gquery", reason="grlc is not installed")
swagger = pytest.importorskip("grlc.swagger")
fileLoaders = pytest.importorskip("grlc.fileLoaders")

XSD = "http://www.w3.org/2001/XMLSchema#"
QUERIES = load_queries(ROOT / "queries")
#: A query calling SERVICE needs the network; its rows are not compared.
_SERVICE = re.compile(r"^[^#]*\bSERVICE\b", re.MULTILINE)


def _grlc(name: str) -> tuple[dict, dict[str, dict]]:
    """(metadata, published parameters by name) as grlc's API builder makes them from the
    file: ``get_metadata`` (kept by grlc to rewrite queries) and the Swagger parameters
    (without the ``endpoint`` one grlc adds to every call)."""
    text = (ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    loader = fileLoaders.LocalLoader(str(ROOT / "queries"))
    item = swagger.process_sparql_query_text(text, loader, name, {})
    published = {p["name"]: p for p in item["params"] if p["name"] != "endpoint"}
    return gquery.get_metadata(text, ""), published


def _kind(p: dict) -> str:
    """grlc's reading of one parameter in kg's words (Param.kind)."""
    if p.get("format") == "iri":
        return "iri"
    if p.get("lang"):
        return "@" + p["lang"]
    datatype = p.get("datatype") or ""
    if datatype.startswith("xsd:"):
        return datatype[4:]
    if datatype:
        return datatype  # a prefix kg does not read: never equal to a kind of kg's
    return {"number": "decimal"}.get(p["type"], "literal")


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    return KnowledgeGraph(Project.load(ROOT))


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_grlc_finds_kgs_parameters(name):
    query = QUERIES[name]
    metadata, published = _grlc(name)
    assert metadata["type"] == "SelectQuery", f"grlc cannot parse {name}"
    found = metadata["parameters"]
    assert sorted(found) == sorted(p.name for p in query.params)
    for param in query.params:
        p, shown = found[param.name], published[param.name]
        assert p["original"] == "?" + param.var
        assert (p["required"], shown["required"]) == (param.required, param.required)
        assert _kind(p) == param.kind, f"{name}: {param.name}"
        assert shown.get("format") == ("iri" if param.kind == "iri" else None)
        assert ("default" in shown) == (param.default is not None)


def _grlc_term(graph: KnowledgeGraph, p: dict, value: str) -> Term:
    """The term grlc puts in a query for *value* of parameter *p*: grlc's rewriting of a
    probe that binds the parameter, run on the store."""
    probe = f"SELECT ?x WHERE {{ BIND({p['original']} AS ?x) }}"
    text = gquery.rewrite_query(probe, {p["name"]: p}, {p["name"]: value})
    (row,) = graph.sparql(text).rows
    return row[0]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_grlc_sends_kgs_defaults(graph, name):
    """Each default grlc publishes becomes, in grlc's hands, the term kg binds for it (for
    an IRI parameter that ``#+ follow:`` leads on, the entity before kg follows it: grlc
    cannot follow a link, so that query asks Wikidata only through kg)."""
    query = QUERIES[name]
    metadata, published = _grlc(name)
    for param in query.params:
        if param.default is None:
            continue
        sent = published[param.name]["default"]
        expected = to_term(param, param.default, graph.resolve)
        assert _grlc_term(graph, metadata["parameters"][param.name], sent) == expected
        if param.kind == "iri":  # in full, the CURIE kg shows being the same IRI
            assert sent == expected.value


@pytest.mark.parametrize(
    "name", sorted(n for n, q in QUERIES.items() if not _SERVICE.search(q.text))
)
def test_grlc_query_with_defaults_gives_kgs_rows(graph, name):
    metadata, published = _grlc(name)
    defaults = {n: p["default"] for n, p in published.items() if "default" in p}
    text = gquery.rewrite_query(metadata["original_query"], metadata["parameters"], defaults)
    assert graph.sparql(text).rows == graph.run(name).rows


def _param(tmp_path: Path, var: str, header: str = "") -> Param:
    """The one parameter kg reads in a query using ``?VAR``, under *header* lines."""
    path = tmp_path / "q.rq"
    path.write_text(
        f"#+ summary: one parameter\n{header}SELECT ?x WHERE {{ BIND(?{var} AS ?x) }}\n"
    )
    (param,) = parse_query_file(path).params
    return param


@pytest.mark.parametrize(
    ("var", "name", "kind", "required"),
    [
        ("_state_iri", "state", "iri", True),
        ("__from_xsd_date", "from", "date", False),
        ("_n_integer", "n", "integer", True),
        ("__n_number", "n", "decimal", False),
        ("_year_xsd_gYear", "year", "gYear", True),
        ("_label_en", "label", "@en", True),
        ("_text", "text", "literal", True),
        ("_text_literal", "text", "literal", True),
    ],
)
def test_names_read_as_grlc_reads_them(tmp_path, var, name, kind, required):
    param = _param(tmp_path, var)
    assert (param.name, param.kind, param.required) == (name, kind, required)
    (p,) = gquery.get_parameters(f"SELECT * WHERE {{ ?{var} ?p ?o }}", "", {}).values()
    assert (p["original"], p["name"], _kind(p), p["required"]) == ("?" + var, name, kind, required)


@pytest.mark.parametrize(
    ("var", "name", "kind"),
    [
        ("__from_date", "from", "date"),  # grlc: language tag "date"
        ("_in_force_date", "in_force", "date"),  # grlc: "in", datatype force:date
        ("_first_name_en", "first_name", "@en"),  # grlc: "first", datatype name:en
        ("_my_name", "my_name", "literal"),  # grlc: "my", language tag "name"
    ],
)
def test_older_names_keep_kgs_meaning(tmp_path, var, name, kind):
    """A user's own query written for kg before may use names grlc misreads: kg reads them
    as it always has."""
    param = _param(tmp_path, var)
    assert (param.name, param.kind) == (name, kind)


def test_a_full_iri_default_shows_as_its_curie_and_a_curie_still_works(tmp_path, graph):
    full = _param(tmp_path, "_state_iri", "#+ defaults:\n#+   - state: " + AZERBAIJAN + "\n")
    curie = _param(tmp_path, "_state_iri", "#+ defaults:\n#+   - state: ex:azerbaijan\n")
    assert full.default == curie.default == "ex:azerbaijan"
    query = StoredQuery("q", tmp_path / "q.rq", "", params=[full])
    for given in ({}, {"state": "Azerbaijan"}, {"state": AZERBAIJAN}):
        assert bind(query, given, graph.resolve) == {"_state_iri": Term.iri(AZERBAIJAN)}


AZERBAIJAN = "https://w3id.org/kg-diplo/id/azerbaijan"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_grlc_lets_no_client_choose_the_endpoint(name):
    """grlc adds an ``endpoint`` parameter to every call unless the query says
    ``#+ endpoint_in_url: False``; with it, a client could send the query, and the server's
    credentials, to an endpoint of its choosing."""
    text = (ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    loader = fileLoaders.LocalLoader(str(ROOT / "queries"))
    item = swagger.process_sparql_query_text(text, loader, name, {})
    assert "endpoint" not in {p["name"] for p in item["params"]}
