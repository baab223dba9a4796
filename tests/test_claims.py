"""Claims per source: each source may give its own date, agreement is precision-aware,
disagreements are warnings that the queries show as ranges; and ``kg validate FILE``
checks a new file in the context of the project.

These run on fixture projects of their own (a copy of the shipped project plus sources
written here), so they hold whatever a user adds to data/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.claims import agree
from kg.graph import KnowledgeGraph
from kg.project import Project
from tests.conftest import invoke

HEADER = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def source(stem: str, body: str) -> str:
    """A source file: its self-description, then *body*."""
    return (
        HEADER
        + f"""
ex:{stem} a kg:WebPage ;
    rdfs:label "Fixture page {stem}"@en ;
    kg:title "Fixture page {stem}"@en ;
    kg:author ex:nato ;
    kg:publisher ex:nato ;
    kg:datePublished "2020-01-01"^^xsd:date .

ex:nato a kg:InternationalOrganisation ;
    rdfs:label "NATO"@en .

ex:testland a kg:State ;
    rdfs:label "Testland"@en .
"""
        + body
    )


def plan(date: str, datatype: str) -> str:
    return f"""
ex:testland-plan a kg:PartnershipPlan ;
    rdfs:label "Testland's partnership plan"@en ;
    kg:agreedBy ex:testland , ex:nato ;
    kg:startDate "{date}"^^xsd:{datatype} .
"""


def write(project: Path, stem: str, body: str) -> Path:
    path = project / "data" / f"{stem}.ttl"
    path.write_text(source(stem, body), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1992", "1992-03", True),
        ("1992-03", "1992-03-05", True),
        ("1997", "1997-05-29", True),
        ("2005", "2005", True),
        ("2004", "2005", False),
        ("1992-03", "1992-04", False),
        ("1992-03-05", "1992-03-06", False),
        ("1999", "1992-03", False),
    ],
)
def test_agreement_is_precision_aware(a, b, same):
    assert agree(a, b) is same
    assert agree(b, a) is same


def test_sources_that_disagree_are_a_warning_not_a_violation(runner, project_copy):
    """The done-when case: a second source disagrees on a date."""
    write(project_copy, "fixture-page-a", plan("2004", "gYear"))
    write(project_copy, "fixture-page-b", plan("2005", "gYear"))
    result = invoke(runner, "validate", "--format", "json", project=project_copy)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["conforms"] is True
    warnings = [r for r in report["results"] if r["focus"] == "ex:testland-plan"]
    assert [w["severity"] for w in warnings] == ["Warning"]
    message = warnings[0]["message"]
    assert "2004 in data/fixture-page-a.ttl" in message
    assert "2005 in data/fixture-page-b.ttl" in message

    # The build keeps both claims; the queries show the range and each source's value.
    build = invoke(runner, "build", project=project_copy)
    assert build.exit_code == 0, build.output
    rows = invoke(runner, "query", "disagreements", "--format", "json", project=project_copy)
    claims = {
        (b["value"]["value"], b["source"]["value"])
        for b in json.loads(rows.output)["results"]["bindings"]
        if b["node"]["value"].endswith("testland-plan")
    }
    assert claims == {("2004", "fixture-page-a"), ("2005", "fixture-page-b")}
    kg = KnowledgeGraph(Project.load(project_copy))
    timeline = {r["node"]: r for r in kg.run("timeline", {"state": "ex:testland"}).dicts()}
    row = timeline["ex:testland-plan"]
    assert row["date"] == "2004\u20132005 (sources disagree)"
    assert row["sources"] in (
        "fixture-page-a 2004; fixture-page-b 2005",
        "fixture-page-b 2005; fixture-page-a 2004",
    )
    as_of = kg.run("as-of", {"date": "2004-06-01"}).dicts()
    assert [r["since"] for r in as_of if r["who"] == "Testland"] == [
        "2004\u20132005 (sources disagree)"
    ]


def test_sources_that_agree_at_different_precision_are_quiet(runner, project_copy):
    write(project_copy, "fixture-page-a", plan("2004", "gYear"))
    write(project_copy, "fixture-page-b", plan("2004-05", "gYearMonth"))
    result = invoke(runner, "validate", "--format", "json", project=project_copy)
    assert result.exit_code == 0, result.output
    assert not [r for r in json.loads(result.output)["results"] if "testland" in r["focus"]]
    kg = KnowledgeGraph(Project.load(project_copy))
    row = {r["node"]: r for r in kg.run("timeline", {"state": "ex:testland"}).dicts()}[
        "ex:testland-plan"
    ]
    assert row["date"] == "2004-05", "the most precise of agreeing claims"


def test_disagreements_are_the_same_on_both_engines(project_copy):
    write(project_copy, "fixture-page-a", plan("2004", "gYear"))
    write(project_copy, "fixture-page-b", plan("2005-02", "gYearMonth"))
    fast = KnowledgeGraph(Project.load(project_copy))
    reference = KnowledgeGraph(Project.load(project_copy), engine="reference")
    assert sorted(map(str, fast.run("disagreements").dicts())) == sorted(
        map(str, reference.run("disagreements").dicts())
    )
    for name in ("timeline", "memberships"):
        rows = [
            sorted(
                str({k: v for k, v in r.items() if k != "sources"})
                for r in engine.run(name, {"state": "ex:testland"}).dicts()
            )
            for engine in (fast, reference)
        ]
        assert rows[0] and rows[0] == rows[1], name
    warnings = [v for v in fast.validate().violations if v.severity == "Warning"]
    assert [v.focus for v in warnings] == [
        v.focus for v in reference.validate().violations if v.severity == "Warning"
    ]


def test_validate_a_file_in_the_context_of_the_project(runner, project_copy, tmp_path):
    """The done-when case: a source that clashes with an existing one. Alone it looks
    fine; in the project it ends a membership before the article says it began."""
    clash = tmp_path / "fixture-clash.ttl"
    clash.write_text(
        source(
            "fixture-clash",
            """
ex:membership-azerbaijan-nacc a kg:Membership ;
    rdfs:label "Azerbaijan's membership of the North Atlantic Cooperation Council"@en ;
    kg:endDate "1991"^^xsd:gYear .
""",
        ),
        encoding="utf-8",
    )
    result = invoke(runner, "validate", str(clash), project=project_copy)
    assert result.exit_code == 1, result.output
    assert "ends (1991) before it starts (1992" in result.output
    assert "data/caliber-az-2025-azerbaijan-nato.ttl" in result.output
    assert str(clash) in result.output or "fixture-clash.ttl" in result.output


def test_validate_a_file_reports_only_its_own_problems(runner, project_copy, tmp_path):
    # A problem in another file (an existing source) is not this file's.
    other = write(project_copy, "fixture-other", "\nex:lonely a kg:State .\n")  # no label
    good = tmp_path / "fixture-good.ttl"
    good.write_text(source("fixture-good", plan("2010", "gYear")), encoding="utf-8")
    assert invoke(runner, "validate", project=project_copy).exit_code == 1
    result = invoke(runner, "validate", str(good), project=project_copy)
    assert result.exit_code == 0, result.output
    assert "Conforms" in result.output
    # Given itself, the other file is checked and its problem shown.
    assert invoke(runner, "validate", str(other), project=project_copy).exit_code == 1


def test_validate_a_file_replaces_the_source_of_the_same_name(runner, project_copy, tmp_path):
    """An edited copy of a source is checked instead of the source, not beside it: the
    copy restates the article's facts with another date, which is not a disagreement
    with the article it replaces."""
    article = project_copy / "data" / "caliber-az-2025-azerbaijan-nato.ttl"
    edited = tmp_path / article.name
    edited.write_text(
        article.read_text(encoding="utf-8").replace('"1992"^^xsd:gYear', '"1993"^^xsd:gYear'),
        encoding="utf-8",
    )
    result = invoke(runner, "validate", "--format", "json", str(edited), project=project_copy)
    assert result.exit_code == 0, result.output
    focus = {r["focus"] for r in json.loads(result.output)["results"]}
    assert "ex:relationship-azerbaijan-nato" not in focus


def test_validate_an_empty_folder_is_a_usage_error(runner, project_copy, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(runner, "validate", str(empty), project=project_copy)
    assert result.exit_code == 2
    assert "nothing to validate" in result.stderr


def test_an_end_before_two_agreeing_starts_is_one_problem(runner, project_copy, tmp_path):
    """The article says 1992, the foreign ministry 1992-03: an end in 1990 is one
    violation (against the earliest start), not one per start."""
    clash = tmp_path / "fixture-end.ttl"
    clash.write_text(
        source(
            "fixture-end",
            """
ex:membership-azerbaijan-nacc a kg:Membership ;
    rdfs:label "Azerbaijan's membership of the North Atlantic Cooperation Council"@en ;
    kg:endDate "1990"^^xsd:gYear .
""",
        ),
        encoding="utf-8",
    )
    for engine in ("oxigraph", "reference"):
        result = invoke(
            runner,
            "--engine",
            engine,
            "validate",
            "--format",
            "json",
            str(clash),
            project=project_copy,
        )
        assert result.exit_code == 1, result.output
        problems = [r for r in json.loads(result.output)["results"] if r["severity"] == "Violation"]
        assert [p["message"][:40] for p in problems] == ["This ends (1990) before it starts (1992)"]


@pytest.mark.parametrize(
    ("tenure", "claim", "message"),
    [
        (
            "ex:tenure-ruge-asg",
            'kg:endDate "2024-12-31"^^xsd:date',
            "A source shows this in force on 2025-01-31, after it ends (2024-12-31).",
        ),
        (
            "ex:tenure-huseynzada-head-of-mission",
            'kg:startDate "2024-07"^^xsd:gYearMonth',
            "A source shows this in force on 2024-06-26, before it starts (2024-07).",
        ),
    ],
)
def test_a_claim_that_clashes_with_a_source_showing_it_in_force(
    runner, project_copy, tmp_path, tenure, claim, message
):
    """The X post shows Ruge in post on 2025-01-31, Trend shows Huseynzada on
    2024-06-26: a new source ending or starting the tenure on the wrong side clashes."""
    path = tmp_path / "fixture-tenure.ttl"
    path.write_text(
        source("fixture-tenure", f'\n{tenure} a kg:Tenure ; rdfs:label "T"@en ; {claim} .\n'),
        encoding="utf-8",
    )
    for engine in ("oxigraph", "reference"):
        result = invoke(runner, "--engine", engine, "validate", str(path), project=project_copy)
        assert result.exit_code == 1, result.output
        assert message in result.output
