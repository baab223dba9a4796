"""SHACL-SPARQL on the fast path: custom constraint components and the pre-binding rules.

Custom components (kg.shacl_custom) are checked against pyshacl, the reference, on small
shapes and data of their own. A query breaking SHACL's pre-binding rules is a failure SHACL
says a processor MUST report: ShapesError at compile time, and a build that stops with exit 2
and a message naming the shape and the rule (no fall back to pyshacl).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from pyshacl import validate
from rdflib import Graph

from kg.errors import InputError, ShapesError
from kg.shacl_fast import compile_shapes, results_from_pyshacl, validate_store
from kg.shacl_originals import Originals, literals_of
from tests.conftest import invoke

DATA = ox.NamedNode("urn:kg:test:data")
HEAD = """@prefix ex: <http://example.org/ns#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex: sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/ns#"^^xsd:anyURI ] .
"""
EX = "http://example.org/ns#"


def fast(shapes: str, data: str) -> list[tuple]:
    """The fast path's results: (focus, path, value, component, shape, message)."""
    checks = compile_shapes(Graph().parse(data=HEAD + shapes, format="turtle"))
    store = ox.Store()
    store.load(HEAD + data, format=ox.RdfFormat.TURTLE, to_graph=DATA)
    written = Originals.from_literals(literals_of(Path("d.ttl"), data=(HEAD + data).encode()))
    results = validate_store(store, checks, graphs=[DATA], sources=written)
    return [(r.focus, r.path, r.value, r.component, r.shape, r.message) for r in results]


def reference(shapes: str, data: str) -> list[tuple]:
    """pyshacl's results for the same shapes and data, in the same form."""
    shapes_graph = Graph().parse(data=HEAD + shapes, format="turtle")
    _, report, _ = validate(
        Graph().parse(data=HEAD + data, format="turtle"), shacl_graph=shapes_graph,
        inference="none", advanced=True,
    )  # fmt: skip
    results = results_from_pyshacl(report, shapes_graph)
    return [(r.focus, r.path, r.value, r.component, r.shape, r.message) for r in results]


LANGUAGE = """
ex:LanguageComponent a sh:ConstraintComponent ;
    sh:parameter [ sh:path ex:lang ; sh:datatype xsd:string ] ;
    sh:propertyValidator [ a sh:SPARQLSelectValidator ;
        sh:message "Values are literals with language {$lang}" ;
        sh:select \"\"\"SELECT DISTINCT $this ?value WHERE {
            $this $PATH ?value .
            FILTER (!isLiteral(?value) || !langMatches(lang(?value), $lang)) }\"\"\" ] ;
    sh:validator [ a sh:SPARQLAskValidator ;
        sh:message "Value is not in language {$lang}" ;
        sh:ask "ASK { FILTER (isLiteral($value) && langMatches(lang($value), $lang)) }" ] .
"""
LANG_DATA = """ex:a a ex:City ; rdfs:label "Munich" , "München"@de ; ex:name "Berlin"@de .
ex:b a ex:City ; rdfs:label "Paris"@en ; ex:name "Paris"@fr ."""

CASES = {
    "SELECT property validator, $PATH and a parameter": (
        LANGUAGE
        + """ex:CityShape a sh:NodeShape ; sh:targetClass ex:City ;
            sh:property [ sh:path rdfs:label ; ex:lang "en" ] .""",
        LANG_DATA,
        ['"Munich"', '"München"@de'],
    ),
    "ASK validator on a node shape (its value node is the focus node)": (
        LANGUAGE
        + """ex:EnglishShape a sh:NodeShape ;
            sh:targetNode "Munich"@en , "München"@de , "Paris" ; ex:lang "en" .""",
        LANG_DATA,
        ['"München"@de', '"Paris"'],
    ),
    "SELECT node validator, a parameter": (
        """ex:Needs a sh:ConstraintComponent ;
            sh:parameter [ sh:path ex:needs ] ;
            sh:nodeValidator [ a sh:SPARQLSelectValidator ; sh:prefixes ex: ;
                sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this ?p $needs } }" ] .
        ex:S a sh:NodeShape ; sh:targetClass ex:City ; ex:needs "Berlin"@de .""",
        LANG_DATA,
        ["<http://example.org/ns#b>"],
    ),
    "ASK validator, an optional parameter left unset": (
        """ex:Between a sh:ConstraintComponent ;
            sh:parameter [ sh:path ex:low ] , [ sh:path ex:high ; sh:optional true ] ;
            sh:validator [ a sh:SPARQLAskValidator ;
                sh:ask "ASK { FILTER ($value >= $low && $value <= COALESCE($high, 10)) }" ] .
        ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:size ;
            sh:property [ sh:path ex:size ; ex:low 2 ] ,
                        [ sh:path ex:size ; ex:low 1 ; ex:high 4 ] .""",
        "ex:a ex:size 1 , 5 , 12 . ex:b ex:size 3 .",
        [f'"{n}"^^<http://www.w3.org/2001/XMLSchema#integer>' for n in (1, 12, 5, 12)],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_custom_components_agree_with_pyshacl(case):
    shapes, data, values = CASES[case]
    got = fast(shapes, data)
    assert sorted(r[2] for r in got) == sorted(values)  # SHACL §6: the value node (ASK too)
    same = sorted(r[:2] + r[3:5] for r in got)  # pyshacl gives no sh:value for an ASK's result
    assert same == sorted(r[:2] + r[3:5] for r in reference(shapes, data))
    assert all(r[3].startswith(EX) for r in got)  # the component, not sh:SPARQLConstraint...


def test_messages_come_from_the_validator_with_parameters_filled():
    shapes, data, _ = CASES["SELECT property validator, $PATH and a parameter"]
    assert {r[5] for r in fast(shapes, data)} == {"Values are literals with language en"}
    shapes, data, _ = CASES["ASK validator on a node shape (its value node is the focus node)"]
    assert {r[5] for r in fast(shapes, data)} == {"Value is not in language en"}


def test_custom_component_inside_sh_node_is_declined_not_answered():
    shapes = (
        LANGUAGE
        + """ex:Inner a sh:NodeShape ; sh:property [ sh:path rdfs:label ;
        ex:lang "en" ] . ex:Outer a sh:NodeShape ; sh:targetClass ex:City ; sh:node ex:Inner ."""
    )
    with pytest.raises(InputError) as info:
        compile_shapes(Graph().parse(data=HEAD + shapes, format="turtle"))
    assert not isinstance(info.value, ShapesError) and "sh:node" in str(info.value)


def _sparql(select: str) -> str:
    return f'ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:prefixes ex: ; sh:select """{select}""" ] .'  # noqa: E501


BROKEN = {
    "MINUS": "SELECT $this WHERE { $this ?p ?o MINUS { $this ?p 1 } }",
    "VALUES": "SELECT $this WHERE { $this ?p ?o VALUES ?o { 1 } }",
    "SERVICE": "SELECT $this WHERE { $this ?p ?o SERVICE <http://example.org/> { ?a ?b ?c } }",
    "project": "SELECT $this WHERE { $this ?p ?o { SELECT ?o WHERE { ?s ?q ?o } } }",
    "AS": "SELECT $this WHERE { BIND (ex:a AS $this) }",
    "SELECT *": "SELECT $this WHERE { { SELECT * WHERE { FILTER ($this = ex:a) } } }",
    "MINUS inside": "SELECT $this WHERE { FILTER NOT EXISTS { ?x ?p ?o MINUS { ?x ?p 1 } } }",
}


@pytest.mark.parametrize("rule", BROKEN)
def test_a_query_against_the_pre_binding_rules_is_a_shapes_error(rule):
    with pytest.raises(ShapesError) as info:
        compile_shapes(Graph().parse(data=HEAD + _sparql(BROKEN[rule]), format="turtle"))
    assert "ns#S>" in str(info.value) and "https://www.w3.org/TR/shacl/#pre-binding" in str(
        info.value
    )


def test_an_ask_validator_rebinding_value_or_a_subquery_without_a_parameter_is_an_error():
    ask = """ex:C a sh:ConstraintComponent ; sh:parameter [ sh:path ex:lang ] ;
        sh:validator [ sh:ask "ASK {{ {body} }}" ] .
        ex:S a sh:NodeShape ; sh:targetNode ex:a ; ex:lang "en" ."""
    for body in ("BIND (true AS ?value)", "{ SELECT $this $value WHERE { ?s ?p $lang } }"):
        with pytest.raises(ShapesError, match="pre-binding"):
            compile_shapes(Graph().parse(data=HEAD + ask.format(body=body), format="turtle"))


@pytest.mark.parametrize(
    "select",
    [
        'SELECT $this WHERE { $this ex:MINUS ?o FILTER (?o != "VALUES") }',
        "SELECT $this WHERE { { SELECT * WHERE { $this ?p ?o } } }",  # $this is in scope
    ],
)
def test_what_only_looks_like_a_broken_query_is_no_error(select):
    try:
        compile_shapes(Graph().parse(data=HEAD + _sparql(select), format="turtle"))
    except ShapesError as exc:
        pytest.fail(f"not a broken shapes graph: {exc}")
    except InputError:
        pass  # declined: pyshacl answers


def _add_shapes(project: Path, turtle: str) -> None:
    """Append *turtle* to the project's shapes file."""
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + turtle)


def test_a_build_meeting_a_broken_shape_stops_with_exit_2(project_copy):
    _add_shapes(
        project_copy,
        """
<https://w3id.org/kg-diplo/shapes#Broken> a sh:NodeShape ;
    sh:targetNode <https://w3id.org/kg-diplo/id/x> ;
    sh:sparql [ sh:message "never" ; sh:select \"\"\"SELECT $this WHERE {
        $this ?p ?o . MINUS { $this a ?c } }\"\"\" ] .
""",
    )
    result = invoke(CliRunner(), "build", project=project_copy)
    assert result.exit_code == 2
    assert "shapes#Broken" in result.stderr and "MINUS" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_shapes_neither_engine_can_use_stop_with_exit_2(project_copy):
    """$shapesGraph: the fast path declines it and pyshacl raises NotImplementedError; the
    build says so about the shapes file, with exit 2, not an internal error."""
    _add_shapes(
        project_copy,
        """
<https://w3id.org/kg-diplo/shapes#UsesShapesGraph> a sh:NodeShape ;
    sh:targetNode <https://w3id.org/kg-diplo/id/x> ;
    sh:sparql [ sh:message "never" ; sh:select \"\"\"SELECT $this WHERE {
        GRAPH $shapesGraph { ?s ?p ?o } }\"\"\" ] .
""",
    )
    result = invoke(CliRunner(), "build", project=project_copy)
    assert result.exit_code == 2, result.output
    assert "ontology/shapes.ttl" in result.stderr and "pyshacl" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


LEXICAL = """ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:price ; sh:sparql [ sh:prefixes ex: ;
    sh:message "More than one decimal place" ;
    sh:select "SELECT $this ?value WHERE { $this ex:price ?value . FILTER (STRLEN(STR(?value)) > 3) }"
] ."""  # noqa: E501


def test_a_query_reading_a_literal_the_store_rewrote_declines():
    """Oxigraph holds "1.50"^^xsd:decimal as "1.5": STR would read "1.5" where SHACL reads
    "1.50", so the check declines (pyshacl answers); written as stored, it answers."""
    with pytest.raises(
        InputError, match=r"ns#S.*SPARQLConstraintComponent check meets a literal .*1\.50"
    ):
        fast(LEXICAL, 'ex:a ex:price "1.50"^^xsd:decimal .')
    data = 'ex:a ex:price "1.5"^^xsd:decimal . ex:b ex:price "12.25"^^xsd:decimal .'
    got = fast(LEXICAL, data)
    assert [r[0] for r in got] == [f"<{EX}b>"]
    assert [r[:5] for r in got] == [r[:5] for r in reference(LEXICAL, data)]


def test_a_query_writing_a_literal_the_store_would_rewrite_is_declined():
    decimal = "'1.50'^^<http://www.w3.org/2001/XMLSchema#decimal>"
    shapes = LEXICAL.replace("> 3", f"> 3 || ?value = {decimal}")
    with pytest.raises(InputError, match=r"ns#S.*the query writes .*1\.50.* another literal"):
        compile_shapes(Graph().parse(data=HEAD + shapes, format="turtle"))


COMPARED = """ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:price ; sh:sparql [ sh:prefixes ex: ;
    sh:message "Too dear" ;
    sh:select "SELECT $this ?value WHERE { $this ex:price ?value . FILTER (?value > 1) }" ] ."""


def test_a_query_comparing_values_declines_only_on_literals_ill_typed_as_written():
    """1.50 and 1.5 are one value: a query that only compares values answers, naming the
    literal as written; "300"^^xsd:byte (stored as the integer 300) is ill-typed to SHACL."""
    data = "ex:a ex:price 1.50 . ex:b ex:price 0.50 ."
    got = fast(COMPARED, data)
    assert [r[2] for r in got] == ['"1.50"^^<http://www.w3.org/2001/XMLSchema#decimal>']
    assert [r[:5] for r in got] == [r[:5] for r in reference(COMPARED, data)]
    with pytest.raises(InputError, match=r"ns#S.*meets a literal .*300"):
        fast(COMPARED, 'ex:a ex:price "300"^^xsd:byte .')


def test_an_ask_validator_is_guarded_as_a_query_is():
    """The ASK reads $value by value: 0012 (stored as 12) answers, named as written;
    "300"^^xsd:byte (stored as the integer 300, ill-typed to SHACL) declines."""
    shapes = CASES["ASK validator, an optional parameter left unset"][0]
    got = fast(shapes, 'ex:a ex:size "0012"^^xsd:integer , 3 .')
    assert {r[2] for r in got} == {'"0012"^^<http://www.w3.org/2001/XMLSchema#integer>'}
    with pytest.raises(InputError, match=r"meets a literal .*300"):
        fast(shapes, 'ex:a ex:size "300"^^xsd:byte .')
