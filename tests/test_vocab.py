"""The closed vocabulary (kg.vocab): a typo in a class or property is a violation naming
the term, the file and line, and the nearest declared term; terms the ontology aligns
with, the built-in few and those allowed in kg.toml pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PREFIXES, invoke

HEADER = (
    PREFIXES
    + """
<> a kg:WebPage ; rdfs:label "Test source"@en ; kg:title "Test source"@en ;
   kg:author ex:nato ; kg:publisher ex:nato ; kg:datePublished "2025-02-01"^^xsd:date .
"""
)
HEADER_LINES = HEADER.count("\n")


def _source(project: Path, body: str, name: str = "new-source") -> str:
    (project / "data" / f"{name}.ttl").write_text(HEADER + body, encoding="utf-8")
    return f"data/{name}.ttl"


def _validate(runner, project: Path) -> tuple[int, list[dict]]:
    result = invoke(runner, "validate", "--format", "json", project=project)
    doc = json.loads(result.stdout)
    return result.exit_code, [r for r in doc["results"] if r["severity"] == "Violation"]


# (name, Turtle, line of the typo within it (from 1), term, suggestion)
TYPOS = [
    ("class", 'ex:azerbaijan a kg:Stat ; rdfs:label "Azerbaijan"@en .\n', 1, "kg:Stat", "kg:State"),
    (
        "property-case",
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:azerbaijan ;\n'
        '  kg:organisation ex:nato ;\n  kg:startdate "2002"^^xsd:gYear .\n',
        3,
        "kg:startdate",
        "kg:startDate",
    ),
    (
        "property-short",
        'ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en ;\n    kg:wikidat wd:Q227 .\n',
        2,
        "kg:wikidat",
        "kg:wikidata",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "line", "term", "nearest"), TYPOS, ids=[t[0] for t in TYPOS]
)
def test_typo_is_a_violation_at_its_line_with_a_suggestion(
    project_copy, runner, name, body, line, term, nearest
):
    shown = _source(project_copy, body)
    code, problems = _validate(runner, project_copy)
    assert code == 1
    [problem] = [p for p in problems if term in p["message"]]
    assert f"did you mean {nearest}?" in problem["message"]
    assert problem["files"] == [f"{shown}:{HEADER_LINES + line}"]
    assert problem["shape"] == "kgsh:ClosedVocabulary"


def test_an_invented_property_is_a_violation(project_copy, runner):
    shown = _source(
        project_copy,
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ; kg:member ex:azerbaijan ;\n'
        '  kg:organisation ex:nato ; kg:membershipType "full" .\n',
    )
    code, problems = _validate(runner, project_copy)
    assert code == 1
    [problem] = problems
    assert problem["message"].startswith("kg:membershipType is not a property of the ontology")
    assert problem["component"] == "UnknownProperty"
    assert problem["files"] == [f"{shown}:{HEADER_LINES + 2}"]


def test_a_correct_source_with_aligned_foreign_terms_passes(project_copy, runner):
    _source(
        project_copy,
        'ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en ; skos:altLabel "AZ"@en ;\n'
        '  rdfs:comment "A state."@en ; rdfs:seeAlso <https://example.org/az> .\n',
    )
    code, problems = _validate(runner, project_copy)
    assert (code, problems) == (0, [])


def test_a_foreign_term_not_aligned_is_a_violation_until_allowed(project_copy, runner):
    _source(
        project_copy,
        'ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en ;\n'
        "  <http://purl.org/dc/terms/source> <https://example.org/az> ;\n"
        '  <http://xmlns.com/foaf/0.1/nick> "AZ" .\n',
    )
    code, problems = _validate(runner, project_copy)
    assert code == 1
    assert sorted(p["path"] for p in problems) == ["dcterms:source", "foaf:nick"]
    assert "[vocabulary] allow" in problems[0]["message"]
    config = project_copy / "kg.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[vocabulary]\nallow = ["http://purl.org/dc/terms/source", "http://xmlns.com/foaf/0.1/"]\n',
        encoding="utf-8",
    )
    code, problems = _validate(runner, project_copy)
    assert (code, problems) == (0, [])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('["dc:source"]', "must list http(s) IRIs"),
        ("[1]", "must list http(s) IRIs"),
        ('["http://purl.org/dc/terms/"]', None),
        ('["http://example.org/a b"]', "must list http(s) IRIs"),
    ],
)
def test_vocabulary_allow_is_checked(project_copy, runner, value, words):
    config = project_copy / "kg.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f"\n[vocabulary]\nallow = {value}\n", encoding="utf-8"
    )
    result = invoke(runner, "validate", project=project_copy)
    if words is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2
        assert words in result.stderr


def test_vocabulary_allow_must_be_a_list(project_copy, runner):
    config = project_copy / "kg.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[vocabulary]\nallow = "http://x.org/"\n',
        encoding="utf-8",
    )
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 2
    assert "allow under [vocabulary] must be a list" in result.stderr


def test_class_used_as_property_and_property_as_class(project_copy, runner):
    shown = _source(
        project_copy,
        'ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en ;\n'
        "  kg:Organisation ex:nato .\n"
        'ex:thing a kg:member ; rdfs:label "thing"@en .\n',
    )
    code, problems = _validate(runner, project_copy)
    assert code == 1
    by_component = {p["component"]: p for p in problems}
    wrong_property = by_component["ClassUsedAsProperty"]
    assert wrong_property["message"].startswith("kg:Organisation is a class of the ontology")
    assert wrong_property["files"] == [f"{shown}:{HEADER_LINES + 2}"]
    wrong_class = by_component["PropertyUsedAsClass"]
    assert wrong_class["message"].startswith("kg:member is a property of the ontology")
    assert wrong_class["files"] == [f"{shown}:{HEADER_LINES + 3}"]


def test_object_property_with_a_literal(project_copy, runner):
    shown = _source(
        project_copy,
        'ex:ms a kg:Membership ; rdfs:label "ms"@en ;\n'
        '  kg:member "Azerbaijan" ; kg:organisation ex:nato .\n',
    )
    code, problems = _validate(runner, project_copy)
    assert code == 1
    [problem] = [p for p in problems if p["component"] == "ObjectPropertyWithLiteral"]
    assert problem["message"].startswith("kg:member links to a node")
    assert problem["value"] == '"Azerbaijan"'
    assert problem["files"] == [f"{shown}:{HEADER_LINES + 2}"]


def test_datatype_property_with_an_iri(project_copy, runner):
    shown = _source(
        project_copy,
        'ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en .\n<> kg:url ex:nato .\n',
        name="with-iri",
    )
    code, problems = _validate(runner, project_copy)
    assert code == 1
    [problem] = [p for p in problems if p["component"] == "DatatypePropertyWithNode"]
    assert problem["message"].startswith("kg:url takes a literal value")
    assert problem["files"] == [f"{shown}:{HEADER_LINES + 2}"]


def test_a_new_user_adds_a_source_with_a_typo_and_kg_reports_it(project_copy, runner):
    """The issue's done-when: the typo no longer passes as 'Conforms' with exit 0."""
    shown = _source(
        project_copy,
        'ex:azerbaijan a kg:Stat ; rdfs:label "Azerbaijan"@en ;\n'
        "    kg:wikidat wd:Q227 .\n"
        'ex:ms-2002 a kg:Membership ; rdfs:label "Azerbaijan in NATO\'s PfP"@en ;\n'
        "    kg:member ex:azerbaijan ; kg:organisation ex:nato ;\n"
        '    kg:startdate "2002"^^xsd:gYear .\n',
        name="my-first-source",
    )
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("Does not conform:")
    for typo, nearest, line in [
        ("kg:Stat", "kg:State", 1),
        ("kg:wikidat", "kg:wikidata", 2),
        ("kg:startdate", "kg:startDate", 5),
    ]:
        assert f"did you mean {nearest}?" in text
        assert f"{shown}:{HEADER_LINES + line}" in text, typo
    build = invoke(runner, "build", project=project_copy)
    assert build.exit_code == 1


# A misspelt term of kg: is pointed to a kg: term (or a built-in one of the same local
# name), not to a foreign vocabulary's term that the ontology aligns with.
SUGGESTIONS = [
    ('ex:x a kg:Organization ; rdfs:label "x"@en .\n', "kg:Organization", "kg:Organisation"),
    ('ex:x a kg:Country ; rdfs:label "x"@en .\n', "kg:Country", "kg:State"),
    ('ex:x a kg:State ; rdfs:label "x"@en ; kg:label "x"@en .\n', "kg:label", "rdfs:label"),
    (
        'ex:x a kg:Membership ; rdfs:label "x"@en ; kg:member ex:azerbaijan ;\n'
        "  kg:organization ex:nato .\n",
        "kg:organization",
        "kg:organisation",
    ),
    ('ex:x a kg:Person ; rdfs:label "x"@en ; kg:holds ex:nato .\n', "kg:holds", "kg:holdsPost"),
]


@pytest.mark.parametrize(("body", "term", "nearest"), SUGGESTIONS, ids=[s[1] for s in SUGGESTIONS])
def test_a_misspelt_kg_term_is_pointed_to_a_kg_term(project_copy, runner, body, term, nearest):
    _source(project_copy, body)
    code, problems = _validate(runner, project_copy)
    assert code == 1
    [problem] = [p for p in problems if p["message"].startswith(f"{term} is not")]
    assert f"did you mean {nearest}?" in problem["message"]
