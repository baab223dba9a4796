"""Where a validation report says a problem is: blank nodes get a file, a line and a name;
paths are found from any working directory; a value's line is the line of that very term
(datatype and language included, canonical forms allowed for); one message per value."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import invoke

H = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "F"@en ; kg:title "F"@en ; kg:author ex:nato ;
   kg:publisher ex:nato ; kg:datePublished "2020-01-01"^^xsd:date .
"""
AT = H.count("\n")


def _write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(H + body, encoding="utf-8")
    return path


def _results(runner, project: Path, *args: str) -> tuple[int, list[dict]]:
    result = invoke(runner, "validate", "--format", "json", *args, project=project)
    return result.exit_code, json.loads(result.stdout)["results"]


def _violations(results: list[dict]) -> list[dict]:
    return [r for r in results if r["severity"] == "Violation"]


BLANKS = (
    "ex:meeting-huseynzada-ruge-2025 a kg:Meeting ;\n"
    '    rdfs:label "Meeting of Jafar Huseynzada and Boris Ruge (2025)"@en ;\n'
    "    kg:hasParticipation [ a kg:MeetingParticipation ; kg:participant ex:azerbaijan ;\n"
    '        kg:inCapacityOf "Ambassador" ] .\n'
    'ex:nato kg:supported [ a kg:Operaton ; rdfs:lable "x"@en ] .\n'
    "[] a kg:Stat .\n"
    "_:b1 kg:wikidat ex:nato .\n"
)


def test_problems_on_blank_nodes_name_file_line_and_where_they_hang(project_copy, runner):
    _write(project_copy / "data", "src-f.ttl", BLANKS)
    shown = "data/src-f.ttl"
    code, whole = _results(runner, project_copy)
    code_file, given = _results(runner, project_copy, str(project_copy / "data" / "src-f.ttl"))
    assert code == code_file == 1

    def stable(results: list[dict]) -> list[dict]:  # a blank node's label changes per load
        return [{**r, "focus_term": None} for r in _violations(results)]

    assert stable(given) == stable(whole)  # every one involves the file
    got = {(r["focus"], r["path"], r["component"]): r["files"] for r in _violations(given)}
    meeting = "the kg:hasParticipation of ex:meeting-huseynzada-ruge-2025"
    assert got == {
        (meeting, "kg:participant", "ClassConstraintComponent"): [f"{shown}:{AT + 3}"],
        (meeting, "kg:inCapacityOf", "ObjectPropertyWithLiteral"): [f"{shown}:{AT + 4}"],
        (meeting, "rdfs:label", "MinCountConstraintComponent"): [f"{shown}:{AT + 3}"],
        ("the kg:supported of ex:nato", "rdf:type", "UnknownClass"): [f"{shown}:{AT + 5}"],
        ("the kg:supported of ex:nato", "rdfs:lable", "UnknownProperty"): [f"{shown}:{AT + 5}"],
        ("a blank node of type kg:Stat", "rdf:type", "UnknownClass"): [f"{shown}:{AT + 6}"],
        ("a blank node", "kg:wikidat", "UnknownProperty"): [f"{shown}:{AT + 7}"],
    }
    assert all(r["focus_term"].startswith("_:") for r in _violations(given))


def test_two_blank_nodes_under_one_node_are_told_apart(project_copy, runner):
    _write(
        project_copy / "data",
        "src-g.ttl",
        'ex:m a kg:Meeting ; rdfs:label "M"@en ;\n'
        '  kg:hasParticipation [ a kg:MeetingParticipation ; rdfs:label "p1"@en ;\n'
        "      kg:participant ex:boris-ruge ] ,\n"
        '    [ a kg:MeetingParticipation ; rdfs:label "p2"@en ; kg:participant ex:nato ] .\n',
    )
    _, results = _results(runner, project_copy, str(project_copy / "data" / "src-g.ttl"))
    [wrong] = [r for r in _violations(results) if r["path"] == "kg:participant"]
    assert wrong["files"] == [f"data/src-g.ttl:{AT + 4}"]
    assert wrong["focus_label"] == "p2"


def test_a_relative_path_outside_the_project_keeps_its_lines(
    project_copy, runner, tmp_path, monkeypatch
):
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    _write(drafts, "vocab1.ttl", 'ex:azerbaijan a kg:Stat ; rdfs:label "Azerbaijan"@en .\n')
    monkeypatch.chdir(drafts)
    code, results = _results(runner, project_copy, "vocab1.ttl")
    assert code == 1
    [typo] = _violations(results)
    assert typo["files"] == [f"{drafts / 'vocab1.ttl'}:{AT + 1}"]
    assert typo["lines"][0]["line"] == AT + 1
    # the same file twice is one file, not two files with one stem
    for twice in (["vocab1.ttl", "vocab1.ttl"], ["vocab1.ttl", "./vocab1.ttl"]):
        assert _results(runner, project_copy, *twice) == (code, results)


def test_a_value_is_found_with_its_datatype(project_copy, runner):
    """The shipped ref-news-az-azerbaijan-isaf.ttl has "2002-11-20"^^xsd:date for the
    same node and property: a valid value, not the one reported."""
    shown = "data/src-c.ttl"
    _write(
        project_copy / "data",
        "src-c.ttl",
        "ex:participation-azerbaijan-isaf a kg:Support ;\n"
        '    rdfs:label "Azerbaijan\'s participation in ISAF"@en ;\n'
        '    kg:startDate "2002-11-20"^^xsd:string .\n',
    )
    _, results = _results(runner, project_copy, str(project_copy / shown))
    [bad] = [r for r in _violations(results) if r["path"] == "kg:startDate"]
    assert bad["files"] == [f"{shown}:{AT + 3}"]


def test_a_value_the_engine_rewrites_is_found_on_its_own_line(project_copy, runner):
    shown = "data/src-e.ttl"
    _write(
        project_copy / "data",
        "src-e.ttl",
        "ex:ms-x a kg:Membership ;\n"
        '    rdfs:label "ms"@en ;\n'
        "    kg:member ex:azerbaijan ;\n"
        "    kg:organisation ex:nato ;\n"
        '    kg:startDate "2003-01-01T00:00:00Z"^^xsd:dateTime .\n',
    )
    _, results = _results(runner, project_copy, str(project_copy / shown))
    [bad] = [r for r in _violations(results) if r["path"] == "kg:startDate"]
    assert bad["files"] == [f"{shown}:{AT + 5}"]
    assert bad["value"].endswith('"^^xsd:dateTime')


def test_one_message_for_a_literal_where_an_entity_is_expected(project_copy):
    from kg.graph import KnowledgeGraph
    from kg.project import Project

    _write(
        project_copy / "data",
        "src-h.ttl",
        'ex:ms-y a kg:Membership ; rdfs:label "y"@en ;\n'
        '    kg:member "Armenia" ; kg:organisation ex:nato .\n'
        'ex:p a kg:MeetingParticipation ; rdfs:label "p"@en ; kg:participant ex:boris-ruge ;\n'
        '    kg:inCapacityOf "Ambassador" .\n',
    )
    project = Project.load(project_copy)
    for engine in ("oxigraph", "reference"):
        report = KnowledgeGraph(project, engine=engine).validate()
        said = [(v.focus, v.path, v.component) for v in report.violations if v.value]
        assert ("ex:ms-y", "kg:member", "ObjectPropertyWithLiteral") in said, engine
        assert ("ex:p", "kg:inCapacityOf", "ObjectPropertyWithLiteral") in said, engine
        assert not [s for s in said if s[2] == "ClassConstraintComponent"], engine
