"""SSSOM mapping sets (kg.sssom): read, write, check, export, and loaded as a source.

The Wikidata links live in data/wikidata-links.sssom.tsv; these tests read that file,
break copies of it in a copy of the project, and check what both engines load from it.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.graph import KnowledgeGraph
from kg.project import Project
from kg.sssom import (
    COLUMNS,
    Mapping,
    MappingSet,
    export_text,
    read_mapping_set,
    to_ntriples,
    validate_mapping_set,
    write_mapping_set,
)
from tests.conftest import PREFIXES, ROOT, invoke

LINKS = "data/wikidata-links.sssom.tsv"
BASE = "https://w3id.org/kg-diplo/id/"
GRAPH = BASE + "wikidata-links"


def shipped() -> MappingSet:
    return read_mapping_set(ROOT / LINKS)


def lines_of(project: Path) -> list[str]:
    return (project / LINKS).read_text(encoding="utf-8").splitlines(keepends=True)


def header_line(lines: list[str]) -> int:
    """The line (from 1) of the table's header row."""
    return next(i for i, line in enumerate(lines, 1) if not line.startswith("#"))


def row_line(lines: list[str], subject: str, obj: str) -> int:
    return next(
        i for i, line in enumerate(lines, 1) if line.startswith(subject + "\t") and obj in line
    )


# -- the shipped mapping set ---------------------------------------------------------------


def test_the_shipped_set_is_valid_and_holds_the_verified_links():
    ms = shipped()
    assert validate_mapping_set(ms) == []
    links = {(m.subject_id, m.object_id) for m in ms.positive()}
    assert links == {
        ("ex:azerbaijan", "wd:Q227"),
        ("ex:armenia", "wd:Q399"),
        ("ex:nato", "wd:Q7184"),
        ("ex:pfp", "wd:Q653277"),
        ("ex:eapc", "wd:Q1374456"),
        ("ex:ipap", "wd:Q6025242"),
        ("ex:x", "wd:Q918"),
        ("ex:operation-isaf", "wd:Q155654"),
    }
    assert [(m.subject_id, m.object_id) for m in ms.negative()] == [("ex:nato", "wd:Q421517")]
    for mapping in ms.mappings:
        assert mapping.mapping_justification == "semapv:ManualMappingCuration"
        assert 0 < mapping.confidence <= 1
        assert mapping.see_also or mapping.comment, "every row says where it comes from"
    assert ms.find("ex:nato", "wd:Q421517").negated
    assert ms.find("ex:nato", "wd:Q7184").negated is False
    assert ms.find("ex:nato", "wd:Q1") is None
    assert "not Azerbaijan's own plan" in ms.find("ex:ipap", "wd:Q6025242").comment
    assert ms.metadata["creator_id"] == ["ex:datenoio"]


def test_the_shipped_file_is_as_kg_writes_it(tmp_path):
    """Reading and writing gives the same bytes: the file is kg's own format."""
    path = tmp_path / "links.sssom.tsv"
    write_mapping_set(path, shipped())
    assert path.read_bytes() == (ROOT / LINKS).read_bytes()


def test_round_trip_is_byte_identical_and_deterministic(tmp_path):
    ms = MappingSet(
        metadata={
            "license": "https://creativecommons.org/publicdomain/zero/1.0/",
            "mapping_set_id": "https://example.org/set",
            "curie_map": {"wd": "http://www.wikidata.org/entity/", "ex": BASE},
            "mapping_set_title": "Ünïcode title: with a colon",
            "mapping_date": "2026-11-29",
            "creator_id": ["ex:someone"],
        },
        mappings=[
            Mapping(
                subject_id=f"ex:e{i}",
                predicate_id="skos:exactMatch",
                object_id=f"wd:Q{i}",
                mapping_justification="semapv:LexicalMatching",
                confidence=i / 10,
                match_string="a|b",
                comment='say "x", y: z',
            )
            for i in range(1, 8)
        ],
    )
    first = tmp_path / "a.sssom.tsv"
    write_mapping_set(first, ms)
    again = tmp_path / "b.sssom.tsv"
    read = read_mapping_set(first)
    assert read.mappings == sorted(ms.mappings, key=Mapping.sort_key)
    write_mapping_set(again, read)
    assert again.read_bytes() == first.read_bytes()
    shuffled = replace(ms, mappings=random.Random(1).sample(ms.mappings, len(ms.mappings)))
    write_mapping_set(again, shuffled)
    assert again.read_bytes() == first.read_bytes(), "rows are sorted"
    text = first.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if not line.startswith("#"))
    columns = header.split("\t")
    assert columns == [c for c in COLUMNS if c in columns], "columns in SSSOM order"
    assert "author_id" not in columns, "only the columns used"
    assert text.startswith("#curie_map:\n#  ex: ")


def test_write_leaves_no_temporary_file_and_keeps_the_mode(tmp_path):
    path = tmp_path / "links.sssom.tsv"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_mapping_set(path, shipped())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.sssom.tsv"]
    assert path.stat().st_mode & 0o777 == 0o640


# -- malformed files: exit 2 naming the file and line, like bad Turtle ----------------------


def _edit(lines: list[str], case: str) -> tuple[list[str], int]:
    """The shipped file's lines broken as *case* says, and the line the error must name."""
    head = header_line(lines)
    azerbaijan = row_line(lines, "ex:azerbaijan", "wd:Q227")
    columns = lines[head - 1].rstrip("\n").split("\t")

    def cell(line: int, column: str, value: str) -> None:
        cells = lines[line - 1].rstrip("\n").split("\t")
        cells[columns.index(column)] = value
        lines[line - 1] = "\t".join(cells) + "\n"

    if case == "yaml":
        lines.insert(1, "#  : : [unclosed\n")
        return lines, 2
    if case == "metadata-key":
        lines.insert(head - 1, "#mapping_set_titel: typo\n")
        return lines, head
    if case == "column":
        lines[head - 1] = lines[head - 1].replace("comment", "remark")
        return lines, head
    if case == "cells":
        lines[azerbaijan - 1] = lines[azerbaijan - 1].rstrip("\n") + "\textra\n"
        return lines, azerbaijan
    if case == "required-column":
        lines[head - 1] = lines[head - 1].replace("mapping_justification", "subject_category")
        return lines, head
    if case == "required-value":
        cell(azerbaijan, "predicate_id", "")
    elif case == "justification":
        cell(azerbaijan, "mapping_justification", "semapv:Guesswork")
    elif case == "justification-prefix":
        cell(azerbaijan, "mapping_justification", "skos:exactMatch")
    elif case == "confidence-range":
        cell(azerbaijan, "confidence", "1.5")
    elif case == "confidence-text":
        cell(azerbaijan, "confidence", "high")
    elif case == "prefix":
        cell(azerbaijan, "object_id", "wikidata:Q227")
    elif case == "modifier":
        cell(azerbaijan, "predicate_modifier", "Maybe")
    elif case == "negated-and-positive":  # reported on the second row of the pair
        nato = row_line(lines, "ex:nato", "wd:Q7184")
        cell(azerbaijan, "object_id", "wd:Q7184")
        cell(azerbaijan, "subject_id", "ex:nato")
        cell(azerbaijan, "predicate_modifier", "Not")
        return lines, nato
    elif case == "twice":
        lines.insert(azerbaijan, lines[azerbaijan - 1])
        return lines, azerbaijan + 1
    else:
        raise AssertionError(case)
    return lines, azerbaijan


MALFORMED = [
    ("yaml", "not valid YAML"),
    ("metadata-key", "unknown metadata key 'mapping_set_titel'"),
    ("column", "unknown column 'remark'"),
    ("cells", "cells (tab-separated)"),
    ("required-column", "no mapping_justification column"),
    ("required-value", "this mapping has no predicate_id"),
    ("justification", "is not a semapv: justification"),
    ("justification-prefix", "is not a semapv: justification"),
    ("confidence-range", "must lie between 0 and 1"),
    ("confidence-text", "must be a number from 0 to 1"),
    ("prefix", "the prefix 'wikidata' of 'wikidata:Q227' is not declared"),
    ("modifier", "'Maybe' is not one of Not"),
    ("negated-and-positive", "mapped both as a match and as not a match"),
    ("twice", "are mapped again"),
]


@pytest.mark.parametrize(("case", "says"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_a_malformed_mapping_set_is_exit_2_with_file_and_line(project_copy, runner, case, says):
    lines, line = _edit(lines_of(project_copy), case)
    (project_copy / LINKS).write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_mapping_set(project_copy / LINKS, shown_as=LINKS)
    assert caught.value.line == line, str(caught.value)
    assert says in str(caught.value)
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 2, result.output
    assert f"{LINKS}:{line}: " in result.stderr
    assert says in result.stderr
    reference = invoke(runner, "--engine", "reference", "validate", project=project_copy)
    assert (reference.exit_code, reference.stderr) == (2, result.stderr)


def test_a_set_without_title_or_table_is_refused(project_copy, runner):
    text = (project_copy / LINKS).read_text(encoding="utf-8")
    no_title = "".join(
        line for line in text.splitlines(True) if not line.startswith("#mapping_set_title")
    )
    (project_copy / LINKS).write_text(no_title, encoding="utf-8")
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 2
    assert "no mapping_set_title" in result.stderr
    metadata_only = "".join(line for line in text.splitlines(True) if line.startswith("#"))
    (project_copy / LINKS).write_text(metadata_only, encoding="utf-8")
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 2
    assert "holds no table" in result.stderr


def test_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "x.sssom.tsv"
    path.write_bytes((ROOT / LINKS).read_bytes().replace(b"Armenia\t", b"Armen\xe9a\t", 1))
    with pytest.raises(InputError, match="not UTF-8") as caught:
        read_mapping_set(path)
    assert caught.value.line is not None


def test_validate_mapping_set_lists_every_problem():
    ms = MappingSet(
        metadata={"curie_map": {"ex": BASE, "semapv": "https://example.org/not-semapv/"}},
        mappings=[
            Mapping(subject_id="ex:a", object_id="nope:b", mapping_justification="x"),
            Mapping(
                subject_id="ex:a",
                predicate_id="skos:exactMatch",
                object_id="ex:b",
                mapping_justification="semapv:LexicalMatching",
                confidence=-0.5,
                mapping_date="2026-02-30",
                subject_type="owl thing",
            ),
        ],
    )
    problems = validate_mapping_set(ms)
    text = "\n".join(problems)
    for expected in (
        "metadata: 'curie_map' redefines SSSOM's built-in prefix semapv",
        "metadata: the metadata have no 'mapping_set_id'",
        "metadata: the metadata have no 'license'",
        "row 1: this mapping has no predicate_id",
        "row 1: object_id: the prefix 'nope'",
        "row 1: mapping_justification: 'x' is not a CURIE",
        "row 2: confidence: must lie between 0 and 1",
        "row 2: mapping_date: '2026-02-30' is not a date",
        "row 2: subject_type: 'owl thing' is not one of",
    ):
        assert expected in text, text


# -- the RDF: the same on both engines ------------------------------------------------------


def _graph_rows(kg: KnowledgeGraph) -> set:
    query = PREFIXES + "SELECT ?s ?p ?o WHERE { GRAPH ex:wikidata-links { ?s ?p ?o } }"
    return set(kg.sparql(query, inferred=False).rows)


def test_both_engines_load_the_same_triples(kg, reference):
    fast = _graph_rows(kg)
    assert fast == _graph_rows(reference)
    assert len(fast) == len(to_ntriples(shipped(), GRAPH, BASE).splitlines())


def test_the_rdf_of_a_mapping_set(kg):
    ask = (
        PREFIXES
        + """ASK { GRAPH ex:wikidata-links {
        ex:wikidata-links a kg:Dataset ; rdfs:label ?title ; kg:title ?title ;
            kg:description ?description ; kg:author ex:datenoio ; kg:publisher ex:datenoio ;
            kg:datePublished "2026-11-29"^^xsd:date ;
            rdfs:seeAlso <https://github.com/datenoio/internacia-db> .
        ex:datenoio a kg:Agent ; rdfs:label "datenoio" .
        ex:azerbaijan kg:wikidata wd:Q227 .
        ex:mapping-azerbaijan-Q227 a kg:Mapping ; rdfs:label ?label ;
            kg:mappingSubject ex:azerbaijan ; kg:mappingPredicate skos:exactMatch ;
            kg:mappingObject wd:Q227 ; kg:negated false ;
            kg:justification <https://w3id.org/semapv/vocab/ManualMappingCuration> ;
            kg:confidence 0.95 ; kg:mappingAuthor ex:datenoio ; rdfs:comment ?comment ;
            rdfs:seeAlso ?page .
        FILTER(STR(?page) = CONCAT(?repo, "/blob/HEAD/data/countries/AZ.yaml"))
        FILTER(STRSTARTS(?label, "Azerbaijan (ex:azerbaijan) skos:exactMatch wd:Q227"))
        BIND("https://github.com/datenoio/internacia-db" AS ?repo)
    } }"""
    )
    assert kg.sparql(ask, inferred=False).boolean
    inferred = PREFIXES + "ASK { ex:mapping-azerbaijan-Q227 a prov:Entity }"
    assert kg.sparql(inferred).boolean, "kg:Mapping is a prov:Entity"


def test_a_negative_mapping_gives_no_link(kg, reference):
    for engine in (kg, reference):
        negative = (
            PREFIXES
            + """ASK { ex:mapping-nato-Q421517 kg:negated true ;
            kg:mappingSubject ex:nato ; kg:mappingObject wd:Q421517 }"""
        )
        assert engine.sparql(negative, inferred=False).boolean
        link = PREFIXES + "ASK { ?any kg:wikidata wd:Q421517 }"
        assert not engine.sparql(link).boolean
        match = PREFIXES + "ASK { ?any skos:exactMatch wd:Q421517 }"
        assert not engine.sparql(match).boolean, "not even through the closure"


def test_links_are_never_same_as(kg):
    """kg:wikidata is a sub-property of skos:exactMatch: OWL RL copies no triple across."""
    ask = PREFIXES + "ASK { ex:azerbaijan <http://www.w3.org/2002/07/owl#sameAs> ?x }"
    assert not kg.sparql(ask).boolean
    assert kg.sparql(PREFIXES + "ASK { ex:azerbaijan skos:exactMatch wd:Q227 }").boolean
    assert not kg.sparql(PREFIXES + "ASK { wd:Q227 a kg:State }").boolean


def test_a_mapping_set_is_a_source_of_its_own(project_copy):
    project = Project.load(project_copy)
    assert project.sources()[GRAPH] == project_copy / LINKS
    (project_copy / "data" / "wikidata-links.ttl").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="two files share the stem 'wikidata-links'"):
        Project.load(project_copy).sources()


# -- checks on the links: violations, exit 1 ------------------------------------------------


def _violations(runner, project: Path) -> tuple[int, list[dict]]:
    result = invoke(runner, "validate", "--format", "json", project=project)
    document = json.loads(result.stdout)
    return result.exit_code, [r for r in document["results"] if r["severity"] == "Violation"]


def _add_row(project: Path, subject: str, obj: str, modifier: str = "", name: str = LINKS):
    lines = lines_of(project) if (project / name).exists() else None
    if lines is None:  # a second mapping set: the shipped one's metadata and header
        lines = [
            line.replace("wikidata-links", "more-links")
            for line in lines_of(project)
            if line.startswith(("#", "subject_id"))
        ]
    columns = lines[header_line(lines) - 1].rstrip("\n").split("\t")
    row = dict.fromkeys(columns, "")
    row.update(
        subject_id=subject,
        predicate_id="skos:exactMatch",
        predicate_modifier=modifier,
        object_id=obj,
        mapping_justification="semapv:ManualMappingCuration",
        confidence="0.5",
    )
    lines.append("\t".join(row[c] for c in columns) + "\n")
    (project / name).write_text("".join(lines), encoding="utf-8")


def test_one_item_linked_to_two_entities_is_a_violation(project_copy, runner):
    _add_row(project_copy, "ex:armenia-copy", "wd:Q227")
    code, problems = _violations(runner, project_copy)
    assert code == 1
    shared = [p for p in problems if "same Wikidata item" in p["message"]]
    assert {p["focus"] for p in shared} == {"ex:azerbaijan", "ex:armenia-copy"}, problems


def test_two_items_on_one_entity_is_a_violation(project_copy, runner):
    _add_row(project_copy, "ex:azerbaijan", "wd:Q999999")
    code, problems = _violations(runner, project_copy)
    assert code == 1
    assert [p["focus"] for p in problems if "at most one kg:wikidata" in p["message"]] == [
        "ex:azerbaijan"
    ]


def test_a_pair_mapped_both_ways_in_two_sets_is_a_violation(project_copy, runner):
    _add_row(project_copy, "ex:azerbaijan", "wd:Q227", "Not", name="data/more-links.sssom.tsv")
    code, problems = _violations(runner, project_copy)
    assert code == 1
    both = [p for p in problems if "both as a match and as not a match" in p["message"]]
    assert [p["focus"] for p in both] == ["ex:mapping-azerbaijan-Q227"]


def test_a_negative_mapping_added_by_hand_conforms(project_copy, runner):
    _add_row(project_copy, "ex:armenia", "wd:Q1", "Not")
    code, problems = _violations(runner, project_copy)
    assert (code, problems) == (0, [])
    graph = KnowledgeGraph(Project.load(project_copy))
    assert not graph.sparql(PREFIXES + "ASK { ex:armenia kg:wikidata wd:Q1 }").boolean


# -- export ---------------------------------------------------------------------------------


def test_export_formats():
    ms = shipped()
    assert export_text(ms, "sssom") == (ROOT / LINKS).read_text(encoding="utf-8")
    table = export_text(ms, "tsv")
    assert not any(line.startswith("#") for line in table.splitlines())
    assert table.splitlines()[0].startswith("subject_id\tsubject_label\tpredicate_id")
    assert len(table.splitlines()) == 1 + len(ms.mappings)
    document = json.loads(export_text(ms, "json"))
    assert next(iter(document)) == "curie_map"
    assert document["curie_map"]["wd"] == "http://www.wikidata.org/entity/"
    assert document["mapping_set_id"] == GRAPH
    assert document["creator_id"] == ["ex:datenoio"]
    assert len(document["mappings"]) == len(ms.mappings)
    first = document["mappings"][0]
    assert first["subject_id"] == "ex:armenia"
    assert first["confidence"] == 0.95
    assert first["author_id"] == ["ex:datenoio"]
    assert first["see_also"][0].endswith("countries/AM.yaml")
    negative = [m for m in document["mappings"] if m.get("predicate_modifier") == "Not"]
    assert [m["object_id"] for m in negative] == ["wd:Q421517"]
    with pytest.raises(ValueError):
        export_text(ms, "xml")
