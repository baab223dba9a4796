"""Reports people can act on: one message per constraint, at the line of the offending
value; a date stated twice by one source; sources that disagree are not violations;
warnings conform; the Turtle report keeps its values' RDF terms."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from kg.validate import Report
from tests.conftest import PREFIXES, invoke

HEADER = (
    PREFIXES
    + """
<> a kg:WebPage ; rdfs:label "Test source"@en ; kg:title "Test source"@en ;
   kg:author ex:nato ; kg:publisher ex:nato ; kg:datePublished "2025-02-01"^^xsd:date .
"""
)
AT = HEADER.count("\n")  # lines before a test body
PLACE = 'ex:testland a kg:State ; rdfs:label "Testland"@en .\n'


def _source(project: Path, body: str, name: str = "new-source") -> str:
    (project / "data" / f"{name}.ttl").write_text(HEADER + body, encoding="utf-8")
    return f"data/{name}.ttl"


def _report(runner, project: Path) -> tuple[int, list[dict]]:
    result = invoke(runner, "validate", "--format", "json", project=project)
    return result.exit_code, json.loads(result.stdout)["results"]


def _violations(results: list[dict]) -> list[dict]:
    return [r for r in results if r["severity"] == "Violation"]


def test_mistyped_member_gets_the_class_message_not_the_count(project_copy, runner):
    shown = _source(
        project_copy,
        'ex:testland a kg:Stat ; rdfs:label "Testland"@en .\n'
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ;\n'
        "    kg:member ex:testland ;\n"
        "    kg:organisation ex:nato .\n",
    )
    code, results = _report(runner, project_copy)
    assert code == 1
    member = [r for r in _violations(results) if r["path"] == "kg:member"]
    assert [r["component"] for r in member] == ["ClassConstraintComponent"]
    assert member[0]["message"].startswith(
        "kg:member must be a state, organisation or person (a kg:Agent); this value is not "
        "typed as one. Type it, or fix a misspelt class."
    )
    assert "exactly one" not in member[0]["message"]
    assert member[0]["files"] == [f"{shown}:{AT + 3}"]
    # and the misspelt class itself, at its line, with the class it meant
    [typo] = [r for r in _violations(results) if r["value"] == "kg:Stat"]
    assert "did you mean kg:State?" in typo["message"]
    assert typo["files"] == [f"{shown}:{AT + 1}"]


def test_missing_member_is_reported_at_the_node(project_copy, runner):
    shown = _source(
        project_copy,
        PLACE + 'ex:ms a kg:Membership ;\n    rdfs:label "ms"@en ; kg:organisation ex:nato .\n',
    )
    code, results = _report(runner, project_copy)
    assert code == 1
    [missing] = _violations(results)
    assert missing["component"] == "MinCountConstraintComponent"
    assert missing["message"].startswith("A membership or programme participation needs a")
    assert missing["files"] == [f"{shown}:{AT + 2}"]


def test_a_date_in_the_wrong_form_is_reported_at_its_line(project_copy, runner):
    shown = _source(
        project_copy,
        PLACE + "ex:ms a kg:Membership ;\n"
        '    rdfs:label "ms"@en ;\n'
        "    kg:member ex:testland ; kg:organisation ex:nato ;\n"
        '    kg:startDate "May 2002" .\n',
    )
    code, results = _report(runner, project_copy)
    assert code == 1
    [bad] = _violations(results)
    assert bad["message"].startswith("kg:startDate must be written as a date")
    assert bad["files"] == [f"{shown}:{AT + 5}"]
    assert bad["value"] == '"May 2002"'


def test_one_source_with_two_start_dates_is_a_violation(project_copy, runner):
    shown = _source(
        project_copy,
        PLACE + 'ex:ms a kg:Membership ; rdfs:label "ms"@en ;\n'
        "    kg:member ex:testland ; kg:organisation ex:nato ;\n"
        '    kg:startDate "2004"^^xsd:gYear ;\n'
        '    kg:startDate "2005"^^xsd:gYear .\n',
    )
    code, results = _report(runner, project_copy)
    assert code == 1
    [twice] = _violations(results)
    assert twice["message"] == (
        f"{shown} gives two kg:startDate values for ex:ms (2004 at line {AT + 4}, 2005 at line "
        f"{AT + 5}); a source states one value: keep the one it says."
    )
    assert twice["files"] == [f"{shown}:{AT + 4}", f"{shown}:{AT + 5}"]


def test_two_sources_with_different_start_dates_are_not_a_violation(project_copy, runner):
    membership = (
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ;\n'
        "    kg:member ex:testland ; kg:organisation ex:nato ;\n"
        '    kg:startDate "{year}"^^xsd:gYear .\n'
    )
    _source(project_copy, PLACE + membership.format(year=2004), name="source-a")
    _source(project_copy, PLACE + membership.format(year=2005), name="source-b")
    code, results = _report(runner, project_copy)
    assert code == 0
    assert _violations(results) == []
    assert invoke(runner, "build", project=project_copy).exit_code == 0


def test_an_end_before_a_start_in_another_file_shows_both(project_copy, runner):
    old = _source(
        project_copy,
        PLACE + 'ex:ms a kg:Membership ; rdfs:label "ms"@en ;\n'
        "    kg:member ex:testland ; kg:organisation ex:nato ;\n"
        '    kg:startDate "2004"^^xsd:gYear .\n',
        name="old-source",
    )
    new = _source(project_copy, '\n\nex:ms kg:endDate "2003-06"^^xsd:gYearMonth .\n')
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 1
    _, results = _report(runner, project_copy)
    [clash] = _violations(results)
    assert "ends (2003-06) before it starts (2004)" in clash["message"]
    assert clash["files"] == [f"{new}:{AT + 3}", f"{old}:{AT + 4}"]
    assert [(p["file"], p["line"], p["path"], p["value"]) for p in clash["lines"]] == [
        (new, AT + 3, "kg:endDate", "2003-06"),
        (old, AT + 4, "kg:startDate", "2004"),
    ]
    assert f"{new}:{AT + 3}  kg:endDate 2003-06" in result.stdout
    assert f"{old}:{AT + 4}  kg:startDate 2004" in result.stdout


def test_warnings_leave_the_data_conforming():
    warning = {
        "severity": "Warning",
        "focus": "ex:ms",
        "focus_label": "ms",
        "path": "kg:startDate",
        "value": None,
        "message": "Sources disagree.",
        "component": "SourcesDisagree",
        "shape": "kgsh:ClaimsPerSource",
        "files": ["data/a.ttl:3"],
    }
    report = Report.from_dicts([warning])
    assert report.conforms
    text = report.render("text")
    assert text.startswith("Conforms: the data satisfies every shape (1 warning(s)).\n")
    assert "Sources disagree." in text
    assert json.loads(report.render("json"))["conforms"] is True
    failing = Report.from_dicts([warning, {**warning, "severity": "Violation"}])
    assert not failing.conforms
    assert failing.render("text").startswith("Does not conform: 1 problem(s). And 1 warning(s).")


def test_the_turtle_report_keeps_the_rdf_terms_of_values(project_copy, runner):
    _source(
        project_copy,
        'ex:testland a kg:Stat ; rdfs:label "Testland"@en .\n'
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:nato ;\n'
        '    kg:organisation ex:nato ; kg:startDate "May 2002"@en ;\n'
        '    kg:endDate "2002-13"^^xsd:gYearMonth .\n'
        '<> kg:url "https://example.org/" .\n',
    )
    result = invoke(runner, "validate", "--format", "turtle", project=project_copy)
    assert result.exit_code == 1
    graph = Graph().parse(data=result.stdout, format="turtle")
    values = set(graph.objects(None, SH.value))
    kg = "https://w3id.org/kg-diplo/ontology#"
    assert URIRef(kg + "Stat") in values
    assert Literal("May 2002", lang="en") in values
    assert Literal("2002-13", datatype=XSD.gYearMonth) in values
    assert Literal("https://example.org/") in values  # a plain string stays one
    components = set(graph.objects(None, SH.sourceConstraintComponent))
    assert URIRef("https://w3id.org/kg-diplo/shapes#UnknownClass") in components
