"""kg's own per-source checks (kg.vocab, kg.onevalue, kg.claims) find what the plain
one-pass queries over every triple find, although they now read only what can matter:
claims only where two sources differ, the one-value self-join only where a node has two
values, literal-or-node only for the values of object and datatype properties.

Each test compares a check with the plain query (the reference, written out here) on a
copy of the project holding sources with problems of every kind the checks know.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import claims, onevalue, vocab
from kg.compile import load_into, make_union
from kg.namespaces import ONTOLOGY_GRAPH
from kg.project import Project

HEADER = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
"""

#: Per file: two values in one file (of one datatype or two), NaN (not equal to itself),
#: 1 and 1.0 (equal values, two terms), a blank node, IRIs where dates go, forms that are
#: not claims, and claims that agree, disagree or agree at another precision.
SOURCES = {
    "fa": """
ex:p1 kg:startDate "2004"^^xsd:gYear , "2004-05"^^xsd:gYearMonth ; kg:endDate "2010"^^xsd:gYear .
ex:p2 a kg:Stat ; kg:startdate "2002"^^xsd:gYear ; foaf:name "x" ;
    kg:startDate "NaN"^^xsd:double .
ex:p3 kg:date "1"^^xsd:integer , "1.0"^^xsd:decimal ; kg:foundingDate "1992-03"^^xsd:gYearMonth .
ex:p4 a kg:startDate ; kg:State ex:testland ; kg:participant "a literal" ; kg:title ex:nato ;
    kg:endDate "2001"^^xsd:gYear , "2001"^^xsd:string .
_:b1 kg:startDate "1999"^^xsd:gYear , "2000"^^xsd:gYear .
ex:p5 kg:notLaterThan "2001-01-01"^^xsd:date , "2002-01-01"^^xsd:date ;
    kg:startDate "NaN"^^xsd:float , "INF"^^xsd:double .
ex:p6 kg:date "2003-01-01"^^xsd:date , "abc"^^xsd:date ; kg:startDate "2004"^^xsd:gYear ;
    kg:notEarlierThan ex:nato , ex:testland .
ex:p7 kg:startDate "1992"^^xsd:gYear ; kg:endDate "2004-1"^^xsd:gYearMonth ; kg:date "2004"@en .
ex:p8 kg:startDate "1990"^^xsd:gYear .
""",
    "fb": """
ex:p1 kg:startDate "2005"^^xsd:gYear ; kg:endDate "2010-02"^^xsd:gYearMonth .
ex:p3 kg:foundingDate "1992-04"^^xsd:gYearMonth ; kg:date "1"^^xsd:integer .
ex:p6 kg:startDate "2004-05-05"^^xsd:date ; kg:date "2003"^^xsd:gYear .
ex:p7 kg:startDate "1993"^^xsd:gYear ; kg:endDate "2004-2"^^xsd:gYearMonth ; kg:date "2005"@en .
ex:p8 kg:startDate "1990-01"^^xsd:gYearMonth .
ex:p9 kg:startDate ex:nato .
ex:p2 kg:startDate "NaN"^^xsd:double .
""",
    "fc": """
ex:p1 kg:startDate "2004-05-06"^^xsd:date .
ex:p8 kg:startDate "1991"^^xsd:gYear .
ex:p9 kg:startDate "2000"^^xsd:gYear .
ex:p5 kg:datePublished "1998"^^xsd:gYear , "1997"^^xsd:gYear .
""",
}


def _write(project: Path, stem: str, body: str) -> None:
    describe = f"""
ex:{stem} a kg:WebPage ; rdfs:label "Fixture page {stem}"@en ; kg:title "Page {stem}"@en ;
    kg:author ex:nato ; kg:publisher ex:nato ; kg:datePublished "2020-01-01"^^xsd:date .
"""
    (project / "data" / f"{stem}.ttl").write_text(HEADER + describe + body, encoding="utf-8")


def _loaded(project: Path, union: bool = False):
    proj = Project.load(project)
    store = ox.Store()
    graphs = load_into(store, proj, lambda *a: None)
    if union:  # copies the sources into the union graph: the checks must not read it
        make_union(store, graphs)
    return proj, store, graphs


@pytest.fixture
def problems(project_copy: Path) -> Path:
    for stem, body in SOURCES.items():
        _write(project_copy, stem, body)
    return project_copy


def _reference_claims(store, sources: list[str]) -> list[claims.Disagreement]:
    """Every claim read into Python, compared pair by pair."""
    said: dict[tuple[str, str], set[tuple[str, str]]] = {}
    values = " ".join(f"<{p}>" for p in claims.CLAIMED)
    query = f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?p {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"
    for node, prop, value, graph in store.query(
        query, named_graphs=[ox.NamedNode(g) for g in sources]
    ):
        form = claims._FORMS.get(value.datatype.value) if isinstance(value, ox.Literal) else None
        if form is not None and form.fullmatch(value.value):
            said.setdefault((node.value, prop.value), set()).add((value.value, graph.value))
    return [
        claims.Disagreement(node, prop, tuple(sorted(pairs)))
        for (node, prop), pairs in sorted(said.items())
        if any(not claims.agree(a, b) for a, ga in pairs for b, gb in pairs if ga != gb)
    ]


@pytest.mark.parametrize("union", [False, True])
def test_disagreements_are_those_of_every_claim_compared(problems, union):
    _, store, graphs = _loaded(problems, union)
    sources = [g for g in graphs if g != ONTOLOGY_GRAPH]
    found = claims.disagreements(store, sources)
    assert found == _reference_claims(store, sources)
    by_node = {(d.node.rsplit("/", 1)[-1], d.prop.rsplit("#", 1)[-1]): d for d in found}
    # a disagreement lists every claim, those that agree with another included
    assert [v for v, _ in by_node["p1", "startDate"].claims] == [
        "2004",
        "2004-05",
        "2004-05-06",
        "2005",
    ]
    assert ("p8", "startDate") in by_node  # 1990 and 1991, though 1990-01 agrees with one
    assert ("p9", "startDate") not in by_node  # an IRI is no claim
    assert ("p3", "date") not in by_node and ("p7", "endDate") not in by_node  # no claim forms


def test_one_source_alone_reads_no_claims(problems):
    _, store, graphs = _loaded(problems)
    fa = next(g for g in graphs if g.endswith("/fa"))
    assert claims._candidates(store, [ox.NamedNode(fa)]) == set()
    assert claims.disagreements(store, [fa]) == []  # two values in one file: not between


def _reference_one_value(store, sources) -> set[tuple[str, str, str, str]]:
    """The self-join over every triple of the dated properties."""
    values = " ".join(f"<{p}>" for p in onevalue.ONE_PER_SOURCE)
    query = (
        f"SELECT DISTINCT ?g ?s ?p ?o WHERE {{ VALUES ?p {{ {values} }} "
        "GRAPH ?g { ?s ?p ?o . ?s ?p ?other FILTER (?o != ?other) } }"
    )
    return {tuple(map(str, row)) for row in store.query(query, named_graphs=sources)}


@pytest.mark.parametrize("union", [False, True])
def test_one_value_finds_what_the_self_join_over_everything_finds(problems, union):
    proj, store, graphs = _loaded(problems, union)
    sources = [ox.NamedNode(g) for g in graphs if g != ONTOLOGY_GRAPH]
    reference = _reference_one_value(store, sources)
    suspects = onevalue._suspects(store, sources)
    fast = set()
    for graph, prop in suspects:
        query = f"SELECT ?s ?o WHERE {{ GRAPH {graph} {{ ?s {prop} ?o }} }}"
        fast |= {
            row
            for s, o in store.query(query, named_graphs=sources)
            if (row := (str(graph), str(s), str(prop), str(o))) in reference
        }
    assert fast == reference  # every row of the reference is in a suspect (graph, property)
    messages = [r.message for r in onevalue.one_value_results(store, proj, graphs)]
    assert len(messages) == len({(g, s, p) for g, s, p, _ in reference})
    # values as the file writes them, so each is found on its line
    assert any("(INF at line 18, NaN at line 18)" in m for m in messages), messages
    assert any("1 kg:startDate values for ex:p2 (NaN at line 12)" in m for m in messages)
    assert not any("ex:p3" in m for m in messages), "1 and 1.0 are one value"


def test_one_value_leaves_clean_graphs_alone(project_copy):
    _, store, graphs = _loaded(project_copy)
    sources = [ox.NamedNode(g) for g in graphs if g != ONTOLOGY_GRAPH]
    assert onevalue._suspects(store, sources) == []


@pytest.mark.parametrize("union", [False, True])
def test_properties_used_are_those_of_the_one_pass_query(problems, union):
    _, store, graphs = _loaded(problems, union)
    sources = [ox.NamedNode(g) for g in graphs if g != ONTOLOGY_GRAPH]
    kinds, _ = vocab._ontology(store)
    reference: dict[str, set[bool]] = {}
    query = "SELECT DISTINCT ?t (isLiteral(?o) AS ?l) WHERE { GRAPH ?g { ?s ?t ?o } }"
    for t, literal in store.query(query, named_graphs=sources):
        reference.setdefault(t.value, set()).add(literal.value == "true")
    plain = vocab.BUILT_IN - vocab.objects_or_data(kinds)
    used = vocab._properties_used(store, sources, plain)
    assert set(used) == set(reference)
    for term in vocab.objects_or_data(kinds) & set(used):
        assert used[term] == reference[term], term
    messages = {
        r.message.split(" ")[0]
        for r in vocab.vocabulary_results(store, Project.load(problems), graphs)
    }
    assert {"kg:Stat", "kg:startdate", "foaf:name", "kg:participant", "kg:title"} <= messages


def test_a_built_in_term_declared_a_datatype_property_is_still_checked(project_copy, runner):
    """rdfs:label's values are left out of the literal test only while the ontology says
    nothing of its kind: declared an owl:DatatypeProperty, an IRI label is reported."""
    ontology = project_copy / "ontology" / "kg.ttl"
    ontology.write_text(
        ontology.read_text(encoding="utf-8") + "\n<http://www.w3.org/2000/01/rdf-schema#label> a "
        "<http://www.w3.org/2002/07/owl#DatatypeProperty> .\n",
        encoding="utf-8",
    )
    _write(project_copy, "fd", "ex:p10 rdfs:label ex:nato .\n")
    proj, store, graphs = _loaded(project_copy)
    results = vocab.vocabulary_results(store, proj, graphs)
    [bad] = [r for r in results if r.component == vocab.NODE_OF_DATATYPE_PROPERTY]
    assert bad.focus.endswith("p10>") and bad.value.endswith("nato>")
