"""make_union and the asserted count: a triple stated by two sources is one triple."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.compile import make_union
from kg.namespaces import UNION_GRAPH
from kg.pipeline import _asserted

G = [f"http://e/g{i}" for i in range(3)]


def _store(*graphs: list[str]) -> ox.Store:
    store = ox.Store()
    for name, objects in zip(G, graphs, strict=False):
        lines = "".join(f"<http://e/s> <http://e/p> <http://e/{o}> .\n" for o in objects)
        store.load(lines.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(name))
    return store


def test_no_triple_stated_twice_keeps_the_graphs():
    store = _store(["a", "b", "c"], ["d"], ["e", "f"])
    union = make_union(store, G)
    assert union == [ox.NamedNode(g) for g in G]
    assert not store.contains_named_graph(ox.NamedNode(UNION_GRAPH))
    assert _asserted(store, G, union) == 6


@pytest.mark.parametrize(
    "graphs",
    [
        (["a", "b", "c"], ["a"], ["e"]),  # a small graph repeats the largest
        (["a", "b", "c"], ["d"], ["d"]),  # the two smallest share a triple
        (["a"], ["b", "c", "d"], ["d"]),  # the largest is not the first
    ],
)
def test_a_triple_stated_twice_is_merged_into_one_union(graphs):
    store = _store(*graphs)
    union = make_union(store, G)
    assert union == [ox.NamedNode(UNION_GRAPH)]
    distinct = len({o for objects in graphs for o in objects})
    assert len(list(store.quads_for_pattern(None, None, None, union[0]))) == distinct
    assert _asserted(store, G, union) == distinct


def test_graphs_outside_the_list_do_not_count():
    store = _store(["a"], ["b"], ["a"])  # g2 repeats g0 but is not asked about
    assert make_union(store, G[:2]) == [ox.NamedNode(g) for g in G[:2]]


def test_the_asserted_count_leaves_out_other_graphs_and_the_default_graph():
    store = _store(["a", "b"], ["c"], ["d", "e", "f"])
    store.add(
        ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.NamedNode("http://e/z"))
    )
    union = make_union(store, G[:2])
    assert _asserted(store, G[:2], union) == 3


def test_graphs_larger_than_the_count_limit_are_still_checked(monkeypatch):
    monkeypatch.setattr("kg.compile._COUNT_UP_TO", 1)  # every graph counts as "large"
    store = _store(["a", "b", "c"], ["d"], ["d"])
    assert make_union(store, G) == [ox.NamedNode(UNION_GRAPH)]
