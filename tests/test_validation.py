"""SHACL validation of the asserted data: the shipped data conforms, every kind of
defect is caught with a readable message, and reports name the source file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.graph import KnowledgeGraph
from kg.project import Project

HEADER = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "Test source"@en ; kg:title "Test source"@en ;
   kg:author ex:nato ; kg:publisher ex:nato ; kg:datePublished "2025-02-01"^^xsd:date .
"""

# (name, Turtle added to a new source file, component, words of the message)
DEFECTS = [
    (
        "state-as-participant",
        """ex:m a kg:Meeting ; rdfs:label "M"@en ; kg:notLaterThan "2025-01-01"^^xsd:date ;
             kg:reportedIn <> ; kg:hasParticipation ex:m1, ex:m2 .
           ex:m1 a kg:MeetingParticipation ; rdfs:label "m1"@en ; kg:participant ex:armenia .
           ex:m2 a kg:MeetingParticipation ; rdfs:label "m2"@en ; kg:participant ex:boris-ruge .""",
        "ClassConstraintComponent",
        "must be a kg:Person",
    ),
    (
        "end-before-start",
        """ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:armenia ;
             kg:organisation ex:eapc ; kg:startDate "2000"^^xsd:gYear ;
             kg:endDate "1999-12"^^xsd:gYearMonth .""",
        "SPARQLConstraintComponent",
        "ends (1999-12) before it starts (2000)",
    ),
    (
        "single-participant",
        """ex:m a kg:Meeting ; rdfs:label "M"@en ; kg:notLaterThan "2025-01-01"^^xsd:date ;
             kg:reportedIn <> ; kg:hasParticipation ex:m1 .
           ex:m1 a kg:MeetingParticipation ; rdfs:label "m1"@en ; kg:participant ex:boris-ruge .""",
        "SPARQLConstraintComponent",
        "at least two different participants",
    ),
    (
        "member-of-itself",
        """ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:eapc ;
             kg:organisation ex:eapc ; kg:startDate "2000"^^xsd:gYear .""",
        "SPARQLConstraintComponent",
        "a member of itself",
    ),
    (
        "missing-label",
        """ex:somewhere a kg:State .""",
        "MinCountConstraintComponent",
        "human-readable name",
    ),
    (
        "bad-date",
        """ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:armenia ;
             kg:organisation ex:eapc ; kg:startDate "sometime in 2000" .""",
        "OrConstraintComponent",
        "",
    ),
]


def _problems(report) -> list:
    """The violations of *report*: warnings (sources that disagree) left out."""
    return [v for v in report.violations if v.severity == "Violation"]


def _with_source(project: Path, turtle: str) -> KnowledgeGraph:
    (project / "data" / "test-source.ttl").write_text(HEADER + turtle, encoding="utf-8")
    return KnowledgeGraph(Project.load(project))


def test_shipped_data_conforms(kg):
    report = kg.validate()
    assert report.conforms, report.render("text")
    # sources may disagree (warnings, see kg.claims): never a violation
    assert [v for v in report.violations if v.severity == "Violation"] == []


@pytest.mark.parametrize(
    ("name", "turtle", "component", "words"), DEFECTS, ids=[d[0] for d in DEFECTS]
)
def test_defect_is_reported(project_copy, name, turtle, component, words):
    report = _with_source(project_copy, turtle).validate()
    assert not report.conforms
    assert len(_problems(report)) == 1, report.render("text")
    v = _problems(report)[0]
    assert v.component == component
    assert words in v.message
    assert v.files and v.files[0].startswith("data/test-source.ttl:")
    text = report.render("text")
    assert "Does not conform: 1 problem" in text and v.message in text


def test_validation_reads_asserted_data_not_the_closure(project_copy):
    """With OWL RL first, kg:participant's range would make Armenia a Person and hide this."""
    report = _with_source(project_copy, DEFECTS[0][1]).validate()
    assert [v.value for v in _problems(report)] == ["ex:armenia"]


def test_report_formats(project_copy):
    report = _with_source(project_copy, DEFECTS[3][1]).validate()
    doc = json.loads(report.render("json"))
    assert doc["conforms"] is False
    [result] = [r for r in doc["results"] if r["severity"] == "Violation"]
    assert result["focus"] == "ex:ms"
    assert result["focus_label"] == "ms"
    assert "sh:ValidationReport" in report.render("turtle")


def test_every_shape_constraint_has_a_message(sources):
    """Reports are for people: a constraint without sh:message would print SHACL jargon."""
    from rdflib.namespace import SH

    shapes = sources.shapes
    without = [
        s
        for p in (SH.property, SH.sparql)
        for s in shapes.objects(None, p)
        if shapes.value(s, SH.message) is None
    ]
    assert without == []


def test_malformed_turtle_names_file_and_line(project_copy):
    path = project_copy / "data" / "test-source.ttl"
    path.write_text(HEADER + "ex:a kg:member ex:b\nex:c kg:member ex:d .\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        KnowledgeGraph(Project.load(project_copy)).validate()
    assert str(err.value).startswith("data/test-source.ttl:8: Turtle syntax error")
    assert err.value.exit_code == 2


def test_source_file_must_describe_its_source(project_copy):
    (project_copy / "data" / "anon.ttl").write_text(
        "@prefix ex: <https://w3id.org/kg-diplo/id/> .\nex:a ex:b ex:c .\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"data/anon\.ttl: this file holds the facts"):
        KnowledgeGraph(Project.load(project_copy)).validate()
