"""Tests of kg.generate: deterministic, sized as asked, self-describing, valid, defects exact."""

from __future__ import annotations

import io
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.generate import EX, KINDS, GenerateStats, generate

ROOT = Path(__file__).resolve().parents[1]
KG = Namespace("https://w3id.org/kg-diplo/ontology#")
SH = Namespace("http://www.w3.org/ns/shacl#")
GRAPH = EX + "synthetic-test"

#: How each injected kind shows up in pyshacl's report (the start of its sh:message).
MESSAGES = {
    "kg:participant must be a kg:Person": "state-as-participant",
    "A meeting needs at least two different participants": "single-participant",
    "Every entity needs a human-readable name": "missing-label",
    "This ends (": "end-before-start",
    "This membership makes": "member-of-itself",
    "kg:startDate must be written as a date": "bad-date",
}


@cache
def made(triples: int, seed: int, violations: float = 0.0) -> tuple[str, GenerateStats]:
    """The generated text and its stats (cached: several tests look at the same output)."""
    out = io.StringIO()
    stats = generate(out, triples=triples, seed=seed, violations=violations)
    return out.getvalue(), stats


@cache
def parsed(triples: int, seed: int, violations: float = 0.0) -> Graph:
    """The generated document parsed as the loader does: ``<>`` becomes the graph IRI."""
    return Graph().parse(data=made(triples, seed, violations)[0], format="turtle", publicID=GRAPH)


@cache
def ontology() -> Graph:
    return Graph().parse(ROOT / "ontology" / "kg.ttl")


def shacl_report(graph: Graph) -> tuple[bool, Graph]:
    conforms, report, _ = validate(
        data_graph=graph,
        shacl_graph=Graph().parse(ROOT / "ontology" / "shapes.ttl"),
        ont_graph=ontology(),
        inference="none",
        advanced=True,
    )
    return conforms, report


def test_same_seed_gives_same_bytes_and_other_seeds_differ() -> None:
    assert made(5000, 1)[0] == made(5000, 1)[0]
    again = io.StringIO()
    generate(again, triples=5000, seed=1)
    assert again.getvalue() == made(5000, 1)[0]
    assert made(5000, 2)[0] != made(5000, 1)[0]
    assert made(5000, 1, 0.05)[0] != made(5000, 1)[0]


@pytest.mark.parametrize("target", [10_000, 40_000])
def test_triple_count_is_near_target_and_exact_in_stats(target: int) -> None:
    text, stats = made(target, 3)
    graph = parsed(target, 3)
    assert len(graph) == stats.triples
    assert abs(stats.triples - target) <= target // 100
    body = [line for line in text.splitlines() if not line.startswith("@prefix")]
    assert len(body) == stats.triples  # one triple per line


def test_document_describes_itself_as_a_dataset() -> None:
    graph, me = parsed(10_000, 3), URIRef(GRAPH)
    assert (me, RDF.type, KG.Dataset) in graph
    assert graph.value(me, KG.title) is not None
    assert graph.value(me, RDFS.label) is not None
    publisher = graph.value(me, KG.publisher)
    assert publisher is not None and graph.value(publisher, RDFS.label) is not None
    assert made(10_000, 3)[0].split("\n")[5].startswith("<> a kg:Dataset")


def test_generated_data_conforms_to_the_shapes() -> None:
    conforms, report = shacl_report(parsed(3000, 7))
    assert conforms, report.serialize(format="turtle")[:2000]


def test_injected_violations_are_reported_one_each() -> None:
    _, stats = made(10_000, 5, 0.05)
    conforms, report = shacl_report(parsed(10_000, 5, 0.05))
    results = list(report.subjects(RDF.type, SH.ValidationResult))
    assert not conforms
    assert stats.violations > 0
    assert len(results) == stats.violations == sum(stats.by_kind.values())
    assert set(stats.by_kind) == set(KINDS) and all(stats.by_kind.values())
    seen: Counter[str] = Counter()
    for result in results:
        message = str(report.value(result, SH.resultMessage))
        kinds = [kind for start, kind in MESSAGES.items() if message.startswith(start)]
        assert len(kinds) == 1, message
        seen[kinds[0]] += 1
    assert dict(seen) == {kind: n for kind, n in stats.by_kind.items() if n}


def test_every_class_and_property_is_declared_in_the_ontology() -> None:
    declared = set()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        declared |= {term for term in ontology().subjects(RDF.type, kind)}
    allowed = declared | {RDF.type, RDFS.label, SKOS.altLabel}
    graph = parsed(10_000, 3)
    used = set(graph.predicates()) | set(graph.objects(None, RDF.type))
    assert used <= allowed, sorted(used - allowed)
    assert all(
        str(term).startswith(str(KG)) for term in used - {RDF.type, RDFS.label, SKOS.altLabel}
    )


def test_every_referenced_entity_is_typed_and_labelled() -> None:
    graph = parsed(10_000, 3)
    nodes = {o for o in graph.objects() if isinstance(o, URIRef) and str(o).startswith(EX)}
    nodes |= {s for s in graph.subjects() if str(s).startswith(EX)}
    for node in nodes:
        assert graph.value(node, RDF.type) is not None, node
        assert graph.value(node, RDFS.label) is not None, node


def test_proportions_at_scale_and_progress() -> None:
    reports: list[int] = []
    out = io.StringIO()
    stats = generate(out, triples=300_000, seed=11, progress=reports.append)
    lines = out.getvalue().splitlines()
    meeting_lines = sum(1 for line in lines if line.startswith("ex:meeting-"))
    assert meeting_lines > stats.triples // 2  # most triples describe meetings
    assert stats.entities["State"] >= 100 and stats.entities["InternationalOrganisation"] >= 40
    assert stats.entities["Meeting"] > 10 * stats.entities["State"]
    for cls in (
        "Membership",
        "Tenure",
        "Succession",
        "DiplomaticMission",
        "Programme",
        "ProgrammeParticipation",
        "Support",
        "NewsArticle",
        "WebPage",
        "SocialMediaPost",
    ):
        assert stats.entities[cls] > 0, cls
    assert reports == sorted(reports) and reports[-1] == stats.triples
    assert len(reports) >= 300_000 // 50_000
    assert all(b - a <= 70_000 for a, b in zip([0, *reports], reports, strict=False))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(io.StringIO(), triples=1000, seed=1, violations=1.5)
    with pytest.raises(ValueError):
        generate(io.StringIO(), triples=0, seed=1)
