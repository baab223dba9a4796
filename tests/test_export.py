"""Every export format re-parses into a graph isomorphic to what was exported."""

from __future__ import annotations

import json

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from kg.errors import InputError
from kg.export import load_context, to_jsonld

TRIPLE_FORMATS = {"turtle": "turtle", "nt": "nt", "json-ld": "json-ld"}


def _expected_union(sources, inferred: bool, ontology: bool = False) -> Graph:
    """What the export must hold, computed by the reference engines from the files."""
    from kg.reason import owl_rl_inferences

    union = Graph()
    for g in sources.graphs.values():
        union += g
    if ontology:
        union += sources.ontology
    if inferred:
        union += owl_rl_inferences(sources.merged())
    return union


@pytest.mark.parametrize("inferred", [False, True], ids=["asserted", "inferred"])
@pytest.mark.parametrize("fmt", sorted(TRIPLE_FORMATS))
def test_triple_formats_round_trip(kg, sources, fmt, inferred):
    text = kg.export(fmt, inferred=inferred)
    parsed = Graph().parse(data=text, format=TRIPLE_FORMATS[fmt])
    assert isomorphic(parsed, _expected_union(sources, inferred))


@pytest.mark.parametrize("fmt", ["nquads", "trig"])
def test_quad_formats_keep_one_graph_per_source(kg, sources, fmt):
    text = kg.export(fmt)
    ds = Dataset()
    ds.parse(data=text, format=fmt)
    expected = {str(name): g for name, g in sources.graphs.items()}
    got = {str(g.identifier): g for g in ds.graphs() if len(g)}
    assert set(got) == set(expected)
    for name, graph in expected.items():
        assert isomorphic(got[name], graph), name


def test_ontology_export_with_blank_nodes_round_trips(kg, sources):
    text = kg.export("json-ld", ontology=True)
    parsed = Graph().parse(data=text, format="json-ld")
    assert isomorphic(parsed, _expected_union(sources, False, ontology=True))


def test_jsonld_is_compact_and_nested(kg):
    doc = json.loads(kg.export("json-ld"))
    assert isinstance(doc["@context"], dict), "the context is inline, never a URL"
    nodes = {n["id"]: n for n in doc["@graph"]}
    azerbaijan = nodes["ex:azerbaijan"]
    assert azerbaijan["type"] == "State"
    assert azerbaijan["label"] == "Azerbaijan"
    assert azerbaijan["wikidata"] == "wd:Q227"
    nested = {a["id"]: a for a in azerbaijan["affiliations"]}
    assert nested["ex:membership-azerbaijan-nacc"]["organisation"] == "ex:nacc"
    # two sources, two claims: the article's year and the foreign ministry's month
    assert sorted(
        nested["ex:membership-azerbaijan-nacc"]["startDate"], key=lambda d: d["@value"]
    ) == [
        {"@value": "1992", "@type": "xsd:gYear"},
        {"@value": "1992-03", "@type": "xsd:gYearMonth"},
    ]
    meeting = nodes["ex:meeting-huseynzada-ruge-2025"]
    assert {p["participant"] for p in meeting["hasParticipation"]} == {
        "ex:jafar-huseynzada",
        "ex:boris-ruge",
    }
    assert "ex:meeting-huseynzada-ruge-2025-ruge" not in nodes, "nested, not repeated"
    assert "ex:caliber-az-2025-azerbaijan-nato" in nodes, "sources stay at the top level"
    assert not any(k.startswith("http") for n in doc["@graph"] for k in n), "readable keys"


def test_shipped_context_matches_the_ontology(kg):
    """kg context regenerates the file; a stale one fails here."""
    shipped = load_context(kg.project.context)
    assert shipped == kg.context(), "run: kg context -o ontology/context.jsonld"


def test_remote_context_is_refused(tmp_path):
    path = tmp_path / "ctx.jsonld"
    path.write_text(json.dumps({"@context": "https://schema.org/"}))
    with pytest.raises(InputError, match="remote contexts"):
        load_context(path)
    path.write_text(json.dumps({"@context": [{"a": "http://a/"}, "https://x.org/c"]}))
    with pytest.raises(InputError, match="remote contexts"):
        load_context(path)


def test_jsonld_parse_of_export_needs_no_network(kg, monkeypatch):
    """Re-parsing kg's JSON-LD never fetches: sockets are cut and it still parses."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    Graph().parse(data=kg.export("json-ld"), format="json-ld")


def test_compaction_of_a_cycle_terminates():
    g = Graph()
    a, b = URIRef("https://w3id.org/kg-diplo/id/a"), URIRef("https://w3id.org/kg-diplo/id/b")
    p = URIRef("https://w3id.org/kg-diplo/ontology#topic")
    g.add((a, p, b))
    g.add((b, p, a))
    doc = to_jsonld(g, {"@context": {"ex": "https://w3id.org/kg-diplo/id/"}})
    assert isomorphic(Graph().parse(data=json.dumps(doc), format="json-ld"), g)
