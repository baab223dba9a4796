"""Incremental builds equal full builds (kg.incremental).

The differential test edits a small project at random (dates, types, memberships, blank
participations, Wikidata links, triples stated twice, sources added and removed, violations
made and fixed) and after each edit compares the incremental build with a full build of
the same files: the exported N-Quads with inferences and ontology, the validation report
and the counts. Two full builds of the same files already differ in their blank-node
labels (Oxigraph's parser and owlrl's messages make fresh ones), so the N-Quads are
compared once canonicalised (RDFC-1.0 labels, lines sorted): equal there means equal but
for the names of blank nodes; everything else is compared as it is.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.build import build
from kg.errors import InputError
from kg.graph import KnowledgeGraph
from kg.project import Project
from tests.conftest import ROOT, invoke

HEAD = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix wd: <http://www.wikidata.org/entity/> .

"""


def _project(path: Path, sources: dict[str, list[str]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "kg.toml").exists():
        shutil.copy(ROOT / "kg.toml", path / "kg.toml")
        shutil.copytree(ROOT / "ontology", path / "ontology")
        shutil.copytree(ROOT / "queries", path / "queries")
    _write(path, sources)
    return path


def _write(path: Path, sources: dict[str, list[str]]) -> None:
    data = path / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir()
    for name, statements in sources.items():
        me = (
            f'ex:{name} a kg:WebPage ; rdfs:label "{name}"@en ; kg:title "{name}"@en ; '
            f'kg:url "https://example.org/{name}"^^xsd:anyURI ; kg:publisher ex:o1 ; '
            'kg:datePublished "2024-01-02"^^xsd:date .\n'
        )
        (data / f"{name}.ttl").write_text(HEAD + me + "\n".join(statements) + "\n")


def _seed() -> dict[str, list[str]]:
    return {
        "src-a": [
            'ex:s1 a kg:State ; rdfs:label "S1"@en .',
            'ex:o1 a kg:InternationalOrganisation ; rdfs:label "O1"@en .',
            'ex:m1 a kg:Membership ; rdfs:label "m1"@en ; kg:member ex:s1 ; '
            'kg:organisation ex:o1 ; kg:startDate "1994"^^xsd:gYear .',
        ],
        "src-b": [
            'ex:p1 a kg:Person ; rdfs:label "P1"@en .',
            'ex:p2 a kg:Person ; rdfs:label "P2"@en .',
            'ex:mt1 a kg:Meeting ; rdfs:label "mt1"@en ; kg:date "2020-01-02"^^xsd:date ; '
            "kg:reportedIn ex:src-b ; kg:hasParticipation "
            '[ a kg:MeetingParticipation ; rdfs:label "p1 at mt1"@en ; kg:participant ex:p1 ] , '
            '[ a kg:MeetingParticipation ; rdfs:label "p2 at mt1"@en ; kg:participant ex:p2 ] .',
        ],
        "src-c": ['ex:s2 a kg:State ; rdfs:label "S2"@en ; kg:wikidata wd:Q1 .'],
    }


def _statement(rng: random.Random) -> str:
    """One random statement over a small set of names, so that edits meet each other."""
    i, j, k = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
    year = rng.choice(["1992", "1994", "2004", "2005"])
    return rng.choice(
        [
            f'ex:s{j} a kg:State ; rdfs:label "S{j}"@en .',
            f'ex:o{k} a kg:InternationalOrganisation ; rdfs:label "O{k}"@en .',
            f'ex:p{j} a kg:Person ; rdfs:label "P{j}"@en .',
            f'ex:m{i} a kg:Membership ; rdfs:label "m{i}"@en ; kg:member ex:s{j} ; '
            f'kg:organisation ex:o{k} ; kg:startDate "{year}"^^xsd:gYear .',
            f'ex:m{i} kg:startDate "{year}"^^xsd:gYear .',
            f'ex:m{i} kg:endDate "{year}"^^xsd:gYear .',  # may end before it starts
            f'ex:m{i} kg:startDate "{year}-05-29"^^xsd:date .',
            f'ex:mt{i} a kg:Meeting ; rdfs:label "mt{i}"@en ; kg:date "2020-0{k}-0{j}"^^xsd:date ;'
            f" kg:hasParticipation [ a kg:MeetingParticipation ; kg:participant ex:p{j} ] .",
            f"ex:s{j} kg:wikidata wd:Q{k} .",  # two nodes, one item: a violation
            f"ex:s{j} a kg:Person .",  # a state and a person: SHACL and owlrl say so
            f'ex:m{i} kg:startDate "soon" .',  # a violation
            f"ex:o{k} kg:memberOf ex:o{3 - k} .",
            f'ex:s{j} rdfs:label "S{j}"@en .',  # stated in several files: the union graph
        ]
    )


def _edit(rng: random.Random, sources: dict[str, list[str]]) -> None:
    names = sorted(sources)
    name = rng.choice(names)
    move = rng.random()
    if move < 0.08 and len(sources) > 1:
        del sources[name]
    elif move < 0.16:
        sources[f"src-{rng.randint(0, 99)}"] = [_statement(rng)]
    elif move < 0.45 and sources[name]:
        del sources[name][rng.randrange(len(sources[name]))]
    elif move < 0.55 and sources[name]:
        statement = sources[name][rng.randrange(len(sources[name]))]
        changed = re.sub(r'"(\d{4})', lambda m: f'"{int(m.group(1)) + 1}', statement)
        sources[name][sources[name].index(statement)] = changed
    else:
        sources[name].append(_statement(rng))


def _canonical(graph: KnowledgeGraph) -> list[str]:
    nquads = graph.export("nquads", inferred=True, ontology=True)
    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(str(q) for q in dataset)


def _report(path: Path) -> tuple:
    """The report as compared: blank-node labels blinded, and results with the same sort
    key (file, focus, path, message) in a fixed order: the engines order those by focus
    term, a blank node's label, so two full builds may differ there too."""
    folder = path / ".kg" / "current"
    report = json.loads((folder / "report.json").read_text())
    blank = re.compile(r"_:[A-Za-z0-9]+")
    results = [
        {k: blank.sub("_:b", v) if isinstance(v, str) else v for k, v in r.items()}
        for r in report["results"]
    ]
    keys = [(r["files"], r["focus"], r["path"] or "", r["message"]) for r in results]
    assert keys == sorted(keys)  # as kg.validate.violation_dicts sorts them
    results.sort(key=lambda r: json.dumps(r, sort_keys=True))
    results.sort(key=lambda r: (r["files"], r["focus"], r["path"] or "", r["message"]))
    counts = json.loads((folder / "manifest.json").read_text())["report"]
    return report["conforms"], results, [counts[k] for k in ("asserted", "inferred", "violations")]


def _same(a: Path, b: Path) -> None:
    assert _report(a) == _report(b)
    graphs = [KnowledgeGraph(Project.load(path)) for path in (a, b)]
    assert _canonical(graphs[0]) == _canonical(graphs[1])


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_build_as_a_full_build(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sources = _seed()
    a = _project(tmp_path / "incremental", sources)
    b = _project(tmp_path / "full", sources)
    build(Project.load(a), allow_invalid=True)
    incremental = 0
    for _ in range(16):
        _edit(rng, sources)
        _write(a, sources)
        _write(b, sources)
        report = build(Project.load(a), allow_invalid=True)
        incremental += any(n.startswith("incremental build") for n in report.notices)
        build(Project.load(b), allow_invalid=True, force=True)
        _same(a, b)
    assert incremental >= 10  # the edits above are what the incremental path follows


def test_changed_shapes_build_in_full_and_say_why(tmp_path: Path) -> None:
    a = _project(tmp_path / "p", _seed())
    build(Project.load(a))
    shapes = a / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + "\n# a comment\n")
    report = build(Project.load(a))
    assert report.notices == ["full build: ontology/shapes.ttl changed."]


def test_a_failed_incremental_build_keeps_the_last_store(tmp_path: Path) -> None:
    sources = _seed()
    a = _project(tmp_path / "p", sources)
    build(Project.load(a))
    before = (a / ".kg" / "current").resolve()
    sources["src-a"].append("ex:broken kg:startDate .")  # a syntax error
    _write(a, sources)
    with pytest.raises(InputError):
        build(Project.load(a))
    assert (a / ".kg" / "current").resolve() == before
    assert sorted(p.name for p in (a / ".kg").iterdir() if p.name.startswith("tmp-")) == []
    sources["src-a"][-1] = 'ex:m1 kg:endDate "2001"^^xsd:gYear .'
    _write(a, sources)
    report = build(Project.load(a))
    assert report.notices[0].startswith("incremental build: data/src-a.ttl changed")


def test_kg_build_says_it_was_incremental(tmp_path: Path) -> None:
    sources = _seed()
    a = _project(tmp_path / "p", sources)
    runner = CliRunner()
    assert invoke(runner, "build", project=a).exit_code == 0
    sources["src-b"][2] = sources["src-b"][2].replace("2020-01-02", "2020-01-03")
    _write(a, sources)
    result = invoke(runner, "build", project=a)
    assert result.exit_code == 0, result.output
    assert "incremental build: data/src-b.ttl changed" in result.stderr + result.output
