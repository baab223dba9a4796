"""Exports of deep, long, wide and cyclic graphs: every format, no recursion limit, linear.

Blank nodes nested a few hundred levels deep used to stop the Turtle export with
RecursionError (rdflib's writer recurses once per level), and JSON-LD did the same from
about 1,000 levels while its time grew with the square of the depth. These graphs are
built in memory (rdflib's own Turtle parser cannot read them: it recurses too), or parsed
by Oxigraph, as kg does.

rdflib.compare.isomorphic takes about 20 s on a 1,000-deep chain of blank nodes, so the
round trips of big graphs are checked with :func:`_signature`, a linear fingerprint that
is exact for trees of blank nodes; small graphs with cycles or shared blank nodes use
``isomorphic``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from rdflib.term import Node

import kg.export
import kg.turtle
from kg.errors import UsageError
from kg.export import (
    FORMATS,
    JSONLD_MAX_DEPTH,
    QUAD_FORMATS,
    TURTLE_MAX_DEPTH,
    format_for,
    load_context,
    serialize_union,
    to_jsonld,
    to_turtle,
)
from kg.graph import KnowledgeGraph
from kg.namespaces import EX, KG, XSD
from kg.project import Project
from kg.sssom import source_ntriples
from tests.conftest import ROOT, invoke

P = URIRef(KG + "p")
MEMBER = URIRef(KG + "member")
READ_AS = {"turtle": "turtle", "json-ld": "json-ld", "nt": "nt", "nquads": "nquads", "trig": "trig"}
SOURCE = f"""@prefix kg: <{KG}> .
@prefix ex: <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "Deep"@en ; kg:title "Deep"@en ;
    kg:url "https://example.org/deep"^^xsd:anyURI ; kg:publisher ex:nato ;
    kg:datePublished "2024-01-01"^^xsd:date .
"""


@pytest.fixture(scope="module")
def context() -> dict:
    return load_context(ROOT / "ontology" / "context.jsonld")


# -- helpers ------------------------------------------------------------------------------


def _chain(depth: int) -> Graph:
    """ex:a kg:p [ kg:p [ ... kg:p kg:x ] ]: *depth* blank nodes, each inside the last."""
    g = Graph()
    node: Node = URIRef(EX + "a")
    for _ in range(depth):
        child = BNode()
        g.add((node, P, child))
        node = child
    g.add((node, P, URIRef(KG + "x")))
    return g


def _nested_turtle(depth: int) -> str:
    """The same chain as Turtle brackets, as a person would write it (Oxigraph reads it)."""
    return "ex:a kg:p " + "[ kg:p " * depth + "kg:x" + " ]" * depth + " .\n"


def _nquads(graph: Graph) -> str:
    return graph.serialize(format="nt")  # N-Triples lines are N-Quads in the default graph


def _read(text: str, fmt: str) -> Graph:
    """An export read back by rdflib; the quad formats as the union of their graphs."""
    if fmt in QUAD_FORMATS:
        ds = Dataset()
        ds.parse(data=text, format=READ_AS[fmt])
        union = Graph()
        for s, p, o, _ in ds.quads((None, None, None, None)):
            union.add((s, p, o))
        return union
    return Graph().parse(data=text, format=READ_AS[fmt])


def _signature(graph: Graph) -> Counter[str]:
    """A fingerprint that two graphs share exactly when they are isomorphic, provided no
    blank node is the object of two triples nor on a cycle (trees of blank nodes, however
    deep; asserted). Each blank node is named by a hash of what it says, leaves first,
    without recursion: linear time, where rdflib's isomorphic() is not."""
    says: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
    refs: Counter[Node] = Counter()
    for s, p, o in graph:
        says[s].append((p, o))
        if isinstance(o, BNode):
            refs[o] += 1
    assert all(n == 1 for n in refs.values()), "a shared blank node: use isomorphic()"
    name: dict[Node, str] = {}

    def text(node: Node) -> str:
        return name[node] if isinstance(node, BNode) else node.n3()

    roots = [b for b in says if isinstance(b, BNode) and not refs[b]]
    roots += [o for s in says if not isinstance(s, BNode) for _, o in says[s]]
    for root in roots:
        if not isinstance(root, BNode):
            continue
        order, stack = [], [root]
        while stack:  # parents before children; reversed, children come first
            node = stack.pop()
            order.append(node)
            stack.extend(o for _, o in says.get(node, ()) if isinstance(o, BNode))
        for node in reversed(order):
            body = "\n".join(sorted(f"{p.n3()} {text(o)}" for p, o in says.get(node, ())))
            name[node] = "_:" + sha256(body.encode()).hexdigest()
    blank = {n for n in [*says, *refs] if isinstance(n, BNode)}
    assert len(name) == len(blank), "a cycle of blank nodes: use isomorphic()"
    top = Counter(f"{text(s)} {p.n3()} {text(o)}" for s, p, o in graph if s not in blank)
    return top + Counter(name[b] for b in says if isinstance(b, BNode) and not refs[b])


def _jsonld_depth(value: Any) -> int:
    """How many node objects deep JSON-LD nests, references not counted (no recursion)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):
            stack.extend((x, depth) for x in item)
        elif isinstance(item, dict):
            is_node = len(item) > 1 and ("id" in item or "@id" in item)  # not a reference
            deepest = max(deepest, depth + is_node)
            stack.extend((x, depth + is_node) for x in item.values())
    return deepest


def _lines_run_in_export(work: Callable[[], object]) -> int:
    """Lines of kg/export.py and kg/turtle.py executed by *work*: a measure of the
    algorithm's work that, unlike the clock, does not depend on the machine or on what
    else runs on it."""
    paths = {kg.export.__file__, kg.turtle.__file__}
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename in paths else None

    sys.settrace(calls)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


# -- deep, long and wide ------------------------------------------------------------------


def test_deep_blank_chain_exports_in_every_format(project_copy):
    """End to end: a source nesting blank nodes 2,000 deep validates, builds, and exports
    in every format to a graph isomorphic to the sources."""
    (project_copy / "data" / "deep.ttl").write_text(SOURCE + _nested_turtle(2000), encoding="utf-8")
    with (project_copy / "ontology" / "kg.ttl").open("a", encoding="utf-8") as ontology:
        ontology.write("\nkg:p a owl:ObjectProperty .\n")  # the closed vocabulary asks it
    graph = KnowledgeGraph(Project.load(project_copy))
    expected = Graph()
    for path in sorted((project_copy / "data").glob("*.ttl")):
        triples = ox.parse(path=path, format=ox.RdfFormat.TURTLE, base_iri=EX + path.stem)
        expected.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    for path in sorted((project_copy / "data").glob("*.sssom.tsv")):  # mapping sets
        stem = path.name[: -len(".sssom.tsv")]
        expected.parse(data=source_ntriples(path, EX + stem, EX, path.name), format="nt")
    assert sum(isinstance(o, BNode) for o in expected.objects(None, P)) == 2000
    want = _signature(expected)
    for fmt in FORMATS:
        text = graph.export(fmt)
        assert _signature(_read(text, fmt)) == want, fmt
        if fmt == "json-ld":
            assert _jsonld_depth(json.loads(text)["@graph"]) <= JSONLD_MAX_DEPTH + 1


def test_export_work_grows_linearly_with_depth(context):
    """Chains of 1,000 and 8,000 blank nodes: the lines kg's exporters run per node stay
    the same (the old cycle guard walked the chain for every node: 8 times as many at 8
    times the depth), and the longer chain round-trips in Turtle and JSON-LD."""
    if sys.gettrace() is not None:
        pytest.skip("a tracer (coverage, debugger) is active; this test needs its own")
    per_node = {}
    for depth in (1000, 8000):
        graph = _chain(depth)
        nquads = _nquads(graph)
        out: dict[str, str] = {}

        def export(nquads=nquads, out=out) -> None:
            out["turtle"] = serialize_union(nquads, "turtle")
            out["json-ld"] = serialize_union(nquads, "json-ld", context=context)

        per_node[depth] = _lines_run_in_export(export) / depth
        for fmt, text in out.items():
            assert _signature(_read(text, fmt)) == _signature(graph), (depth, fmt)
    assert per_node[8000] < 1.1 * per_node[1000], per_node


def test_chain_of_nested_kinds_is_cut_into_top_level_pieces(context):
    """IRIs of the kinds JSON-LD nests (memberships, ...) chained 3,000 deep: nested up to
    the cap, then continued at the top level; Turtle never nests IRIs."""
    graph = Graph()
    nodes = [URIRef(f"{EX}membership-{i}") for i in range(3000)]
    for i, node in enumerate(nodes):
        graph.add((node, RDF.type, URIRef(KG + "Membership")))
        graph.add((node, MEMBER, URIRef(EX + "azerbaijan")))
        if i + 1 < len(nodes):
            graph.add((node, P, nodes[i + 1]))
    doc = to_jsonld(graph, context)
    assert _jsonld_depth(doc["@graph"]) <= JSONLD_MAX_DEPTH + 1
    assert len(doc["@graph"]) == 30, "one top-level piece per 100 levels"
    assert set(_read(json.dumps(doc), "json-ld")) == set(graph)
    assert set(_read(to_turtle(graph), "turtle")) == set(graph)


def test_wide_graph_round_trips(context):
    """Many subjects, and one subject with thousands of blank nodes written in place."""
    graph = Graph()
    hub = URIRef(EX + "hub")
    for i in range(1000):
        child = BNode()
        graph.add((hub, P, child))
        graph.add((child, URIRef(KG + "n"), Literal(i)))
        graph.add((child, P, URIRef(f"{EX}e{i}")))
        graph.add((URIRef(f"{EX}e{i}"), URIRef(KG + "label"), Literal(f"e{i}", lang="en")))
    nquads = _nquads(graph)
    for fmt in FORMATS:
        text = serialize_union(nquads, fmt, context=context)
        assert _signature(_read(text, fmt)) == _signature(graph), fmt


def test_long_rdf_list_is_one_collection_in_turtle():
    """A 5,000-item rdf:List is written as ( ... ), however long, and reads back."""
    graph = Graph()
    head = BNode()
    graph.add((URIRef(EX + "a"), P, head))
    cell = head
    for i in range(5000):
        rest = BNode() if i < 4999 else RDF.nil
        graph.add((cell, RDF.first, Literal(i)))
        graph.add((cell, RDF.rest, rest))
        cell = rest
    text = to_turtle(graph)
    assert "ex:a kg:p ( 0 1 2 3 " in text and "rdf:first" not in text
    assert _signature(_read(text, "turtle")) == _signature(graph)


# -- depth caps, cycles and odd shapes ------------------------------------------------------


def test_caps_cut_deep_nesting_into_labelled_pieces(context):
    """Below the cap nothing changes; deeper, blank nodes get a label and a place at the
    top level, and the graph stays the same."""
    graph = _chain(10)
    shallow = to_turtle(graph)
    assert "_:" not in shallow and shallow.count("[") == 10
    text = to_turtle(graph, max_depth=3)
    assert text.count("[") == 8 and text.count("\n_:") == 2
    assert isomorphic(_read(text, "turtle"), graph)
    doc = to_jsonld(graph, context, max_depth=3)
    assert _jsonld_depth(doc["@graph"]) == 4 and len(doc["@graph"]) == 3
    assert all(n["id"].startswith("_:") for n in doc["@graph"][1:])
    assert isomorphic(_read(json.dumps(doc), "json-ld"), graph)


def test_reverse_nested_node_past_the_cap_states_its_own_link(context):
    """A membership nests under its member through the reverse term 'affiliations'; with
    no room to nest it stays at the top level and says kg:member itself. (Reverse nesting
    is one level deep by construction: its home is pointed at by the membership, so it is
    nested itself only on a cycle, which goes to the top level.)"""
    state, membership = URIRef(EX + "azerbaijan"), URIRef(EX + "membership-x")
    graph = _graph(
        (state, _LABEL, Literal("Azerbaijan", lang="en")),
        (membership, RDF.type, _MEMBERSHIP),
        (membership, MEMBER, state),
        (membership, P, BNode()),
    )
    for max_depth, nested in ((0, False), (1, True), (JSONLD_MAX_DEPTH, True)):
        doc = to_jsonld(graph, context, max_depth=max_depth)
        assert isomorphic(_read(json.dumps(doc), "json-ld"), graph), max_depth
        top = {node["id"]: node for node in doc["@graph"]}
        if nested:
            assert [m["id"] for m in top["ex:azerbaijan"]["affiliations"]] == ["ex:membership-x"]
            assert "member" not in top["ex:azerbaijan"]["affiliations"][0]
        else:
            assert top["ex:membership-x"]["member"] == "ex:azerbaijan"
            assert "affiliations" not in top["ex:azerbaijan"]


def _graph(*triples: tuple[Node, Node, Node]) -> Graph:
    g = Graph()
    for t in triples:
        g.add(t)
    return g


_X, _Y, _Z = BNode("x"), BNode("y"), BNode("z")
_M1, _M2, _M3 = (URIRef(f"{EX}m{i}") for i in (1, 2, 3))
_MEMBERSHIP = URIRef(KG + "Membership")
_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
ODD_SHAPES = {
    "blank cycle": _graph((_X, P, _Y), (_Y, P, _X)),
    "blank self-loop": _graph((_Z, P, _Z), (_Z, _LABEL, Literal("z"))),
    "nested-kind cycle with a tail": _graph(
        (_M1, RDF.type, _MEMBERSHIP),
        (_M2, RDF.type, _MEMBERSHIP),
        (_M3, RDF.type, _MEMBERSHIP),
        (_M1, P, _M2),
        (_M2, P, _M1),
        (_M1, P, _M3),
    ),
    # the member is a blank node only the membership names: nested under the membership
    # (forward) while the membership nests under it (reverse); once both were dropped
    "forward and reverse nesting in a cycle": _graph(
        (_M1, RDF.type, _MEMBERSHIP), (_M1, MEMBER, _X), (_X, _LABEL, Literal("x"))
    ),
    "shared blank node": _graph((_M1, P, _X), (_M2, P, _X), (_X, _LABEL, Literal("x"))),
    "blank object with nothing to say": _graph((_M1, P, _X), (_M2, P, _Y), (_M3, P, _Y)),
    "list cell with an extra triple": _graph(
        (_M1, P, _X),
        (_X, RDF.first, Literal(1)),
        (_X, RDF.rest, _Y),
        (_Y, RDF.first, Literal(2)),
        (_Y, RDF.rest, RDF.nil),
        (_Y, _LABEL, Literal("y")),
    ),
    "list sharing its tail": _graph(
        (_M1, P, _X),
        (_X, RDF.first, Literal(1)),
        (_X, RDF.rest, _Y),
        (_M2, P, _Y),
        (_Y, RDF.first, Literal(2)),
        (_Y, RDF.rest, RDF.nil),
    ),
    "cyclic list": _graph(
        (_M1, P, _X),
        (_X, RDF.first, Literal(1)),
        (_X, RDF.rest, _Y),
        (_Y, RDF.first, Literal(2)),
        (_Y, RDF.rest, _X),
    ),
    "unreferenced cyclic list": _graph(
        (_X, RDF.first, Literal(1)),
        (_X, RDF.rest, _Y),
        (_Y, RDF.first, Literal(2)),
        (_Y, RDF.rest, _X),
    ),
    "list cell with two firsts": _graph(
        (_M1, P, _X),
        (_X, RDF.first, Literal(1)),
        (_X, RDF.first, Literal(2)),
        (_X, RDF.rest, RDF.nil),
    ),
    "empty list and lists of lists": _graph(
        (_M1, P, RDF.nil),
        (_M2, P, _X),
        (_X, RDF.first, _Y),
        (_X, RDF.rest, RDF.nil),
        (_Y, RDF.first, Literal(1)),
        (_Y, RDF.rest, RDF.nil),
    ),
}


@pytest.mark.parametrize("name", sorted(ODD_SHAPES))
def test_odd_shapes_round_trip(name, context):
    graph = ODD_SHAPES[name]
    for max_depth in (0, 1, TURTLE_MAX_DEPTH):
        text = to_turtle(graph, max_depth=max_depth)
        assert isomorphic(_read(text, "turtle"), graph), text
    for max_depth in (0, 1, JSONLD_MAX_DEPTH):
        doc = json.dumps(to_jsonld(graph, context, max_depth=max_depth))
        assert isomorphic(_read(doc, "json-ld"), graph), doc


def test_turtle_terms_read_back_exactly():
    """Literals Turtle can write bare, strings that need escapes, IRIs whose local part
    cannot follow a prefix: Oxigraph (strict) and rdflib both read the same graph."""
    s = URIRef(EX + "s")
    objects = [
        Literal('say "hi"\\ now'),
        Literal('two\nlines ending in a quote"'),
        Literal('"""'),
        Literal("tab\tcr\rnul\x00 bell\x07 del\x7f"),
        Literal("Straße 😀", lang="de-CH"),
        Literal("42", datatype=URIRef(XSD + "integer")),
        Literal("+5", datatype=URIRef(XSD + "integer")),
        Literal("-.5", datatype=URIRef(XSD + "decimal")),
        Literal("1e5", datatype=URIRef(XSD + "double")),
        Literal("true", datatype=URIRef(XSD + "boolean")),
        Literal("abc", datatype=URIRef(XSD + "integer")),  # ill-typed: quoted, datatype kept
        Literal("x", datatype=URIRef("https://example.org/dt#x")),
        Literal("2024", datatype=URIRef(XSD + "gYear")),
    ]
    iris = ["-x", "a.", "a.b", "a%20b", "a/b", "é", "", "_x", "9"]
    graph = Graph()
    for i, o in enumerate(objects):
        graph.add((s, URIRef(f"{KG}o{i}"), o))
    for local in iris:
        graph.add((URIRef(EX + local), P, URIRef(KG + local)))
    text = to_turtle(graph)
    assert isomorphic(_read(text, "turtle"), graph), text
    assert len(list(ox.parse(text, format=ox.RdfFormat.TURTLE))) == len(graph)
    assert "ex:s kg:o0 " in text and " 42 ;" in text and "<https://w3id.org/kg-diplo/id/-x>" in text


def test_shipped_turtle_stays_readable(kg):
    text = kg.export("turtle", ontology=True)
    assert text.startswith("@prefix ")
    assert "\nex:azerbaijan a kg:State ;\n    rdfs:label " in text
    assert "owl:propertyChainAxiom ( [ owl:inverseOf kg:supporter ] kg:supported )" in text
    assert "\n[] a owl:AllDisjointClasses ;" in text
    assert "_:" not in text, "every blank node of the ontology is written in place"


def test_serialize_union_quad_formats_keep_graphs_and_nt_is_the_union():
    nquads = (
        f"<{EX}a> <{KG}p> <{EX}b> <{EX}g1> .\n"
        f"<{EX}a> <{KG}p> <{EX}b> <{EX}g2> .\n"
        f"<{EX}a> <{KG}p> _:c <{EX}g2> .\n"
    )
    for fmt in QUAD_FORMATS:
        ds = Dataset()
        ds.parse(data=serialize_union(nquads, fmt), format=fmt)
        assert {str(g.identifier) for g in ds.graphs() if len(g)} == {EX + "g1", EX + "g2"}
    assert len(serialize_union(nquads, "nt").splitlines()) == 2


# -- format from the output's name -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "output", "expected"),
    [
        (None, None, "turtle"),
        (None, "-", "turtle"),
        (None, "kg", "turtle"),
        (None, "out/kg.ttl", "turtle"),
        (None, "KG.TTL", "turtle"),
        (None, "kg.JsonLD", "json-ld"),
        (None, "kg.nt", "nt"),
        (None, "kg.nq", "nquads"),
        (None, "kg.trig", "trig"),
        ("nt", "kg.rdf", "nt"),
        ("json-ld", "kg.json", "json-ld"),
        ("turtle", "kg.txt", "turtle"),
    ],
)
def test_format_for(fmt, output, expected):
    assert format_for(fmt, Path(output) if output else None) == expected


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        ("kg.rdf", "give the output one of the extensions .ttl, .jsonld, .nt, .nq, .trig"),
        ("kg.JSON", "name it .jsonld or give --format json-ld"),
        ("kg.tar.gz", "'.gz'"),
    ],
)
def test_unknown_extension_is_refused(output, hint):
    with pytest.raises(UsageError) as caught:
        format_for(None, Path(output))
    message = str(caught.value)
    assert hint in message and repr(Path(output).suffix) in message
    assert message.endswith(".") and ". " not in message, "one sentence"


def test_cli_refuses_to_guess_and_writes_nothing(runner, tmp_path):
    out = tmp_path / "kg.rdf"
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 2
    assert "'.rdf'" in result.stderr and "--format" in result.stderr
    assert not out.exists()
