"""Ontology, shapes, data and queries stay in step: a class without a shape, an
undeclared term, a term without a definition or a punned IRI fails here."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import OWL, RDFS, SH, SKOS

from kg.namespaces import KG
from kg.queries import load_queries
from kg.store_rdflib import prepare
from tests.conftest import ROOT

KG_TERM = re.compile(r"(?<![\w:])kg:([A-Za-z][A-Za-z0-9_-]*)")
KG_IRI = re.compile(re.escape("<" + KG) + r"([A-Za-z][A-Za-z0-9_-]*)>")
DECLARATIONS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


@pytest.fixture(scope="module")
def ontology(sources) -> Graph:
    return sources.ontology


@pytest.fixture(scope="module")
def declared(ontology) -> set[str]:
    return {
        str(s)
        for t in DECLARATIONS
        for s in ontology.subjects(RDF.type, t)
        if isinstance(s, URIRef) and str(s).startswith(KG)
    }


def test_every_class_used_in_data_has_a_shape(sources):
    data = sources.merged(with_ontology=False)
    used = {o for o in data.objects(None, RDF.type) if str(o).startswith(KG)}
    targeted = set(sources.shapes.objects(None, SH.targetClass))
    assert used, "the data uses kg: classes"
    assert sorted(used - targeted) == []


def test_every_declared_class_has_a_shape(sources, ontology):
    classes = {c for c in ontology.subjects(RDF.type, OWL.Class) if str(c).startswith(KG)}
    targeted = set(sources.shapes.objects(None, SH.targetClass))
    assert sorted(classes - targeted) == []


def test_every_kg_term_in_data_and_shapes_is_declared(sources, declared):
    used = set()
    for graph in (sources.merged(with_ontology=False), sources.shapes):
        for triple in graph:
            used.update(str(t) for t in triple if isinstance(t, URIRef) and str(t).startswith(KG))
    assert sorted(used - declared) == []


@pytest.mark.parametrize("name", sorted(load_queries(ROOT / "queries")))
def test_query_is_valid_sparql_and_uses_only_declared_terms(name, declared):
    text = (ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    prepare(text)  # raises on a syntax error
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    used = {KG + t for t in KG_TERM.findall(body)} | {KG + t for t in KG_IRI.findall(body)}
    # a federated query may ask Wikidata's terms only (its kg:wikidata is in the header)
    assert used or "SERVICE" in body, f"{name} uses kg: terms"
    assert sorted(used - declared) == [], f"{name} uses undeclared terms"


def test_every_sh_path_is_a_declared_property(sources, ontology):
    properties = {
        s
        for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property)
        for s in ontology.subjects(RDF.type, t)
    } | {RDF.type, RDFS.label}
    paths = {p for p in sources.shapes.objects(None, SH.path) if isinstance(p, URIRef)}
    assert sorted(paths - properties) == []


def test_every_term_has_label_and_definition(ontology, declared):
    missing = [
        t
        for t in sorted(declared)
        if ontology.value(URIRef(t), RDFS.label) is None
        or ontology.value(URIRef(t), SKOS.definition) is None
    ]
    assert missing == []


def test_no_punning(ontology):
    """An IRI is a class, a property or an individual: never two of these (OWL 2 DL)."""
    kinds: dict[URIRef, set[str]] = {}
    for t, kind in (
        (OWL.Class, "class"),
        (OWL.ObjectProperty, "object property"),
        (OWL.DatatypeProperty, "datatype property"),
        (OWL.AnnotationProperty, "annotation property"),
        (OWL.NamedIndividual, "individual"),
    ):
        for s in ontology.subjects(RDF.type, t):
            kinds.setdefault(s, set()).add(kind)
    assert {s: k for s, k in kinds.items() if len(k) > 1} == {}


def test_data_never_uses_a_class_as_an_individual(sources, ontology):
    classes = set(ontology.subjects(RDF.type, OWL.Class))
    data = sources.merged(with_ontology=False)
    misuse = [(s, p, o) for s, p, o in data if (s in classes) or (p != RDF.type and o in classes)]
    assert misuse == []


def test_ontology_header(ontology):
    onto = URIRef("https://w3id.org/kg-diplo/ontology")
    assert (onto, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(onto, OWL.versionInfo) is not None


@pytest.mark.parametrize("name", sorted(load_queries(ROOT / "queries")))
def test_query_with_bound_parameters_is_valid_sparql(name):
    """Binding every parameter (see kg.sparql_text) keeps each stored query valid SPARQL."""
    import pyoxigraph as ox

    from kg.sparql_text import bind_values

    query = load_queries(ROOT / "queries")[name]
    bound = bind_values(query.text, {p.var: '"x"' for p in query.params})
    if "SERVICE" in bound:  # parsed, not run: it would call the endpoint
        from rdflib.plugins.sparql import prepareQuery

        prepareQuery(bound)
    else:
        ox.Store().query(bound)  # raises SyntaxError when the rewrite broke the query
    assert bound.count("VALUES ?_") + bound.count("VALUES ?__") >= len(query.params)
