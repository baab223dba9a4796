"""kg.pipeline: sources written to disk from their files, in pieces, give the store of a dump.

A build writes a large Turtle source to the disk store from the file itself, cut into
pieces (kg.ttlsplit), while it parses it into memory; anything else is dumped from memory.
Here every source goes the first way (in pieces of a few hundred bytes) or none does, and
the two stores must export the same canonical N-Quads and report the same results: blank
nodes included. A source that writes "[" or "_:" is dumped; one whose blank nodes come from
a collection is cut, and the build writes those triples again from memory.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kg import pipeline
from kg.build import build
from kg.bulkload import Loader
from kg.errors import InputError
from kg.project import Project
from tests.test_incremental import _edit, _project, _same, _seed, _write


def _build(path: Path, monkeypatch, direct: bool, limit: int = 1 << 20) -> None:
    monkeypatch.setattr(pipeline, "DIRECT_FROM", 0 if direct else 1 << 40)
    monkeypatch.setattr(pipeline, "PIECE", 300)
    monkeypatch.setattr(pipeline, "PIECE_LIMIT", limit)
    monkeypatch.setattr("kg.ttlsplit._SEARCH", 200)
    build(Project.load(path), allow_invalid=True, force=True)


def _spy_on_direct_loads(monkeypatch) -> list[dict]:
    """The graphs each build loads in pieces, by build, as pipeline._load_directly says."""
    calls: list[dict] = []
    real = pipeline._load_directly
    monkeypatch.setattr(pipeline, "_load_directly", lambda *a: calls.append(real(*a)) or calls[-1])
    return calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sources_loaded_in_pieces_build_the_store_of_a_dump(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    sources = _seed()
    for _ in range(12):  # blank participations, triples stated twice, violations...
        _edit(rng, sources)
    # a collection: blank nodes without "[" or "_:", so this source is still cut in pieces
    sources["src-list"] = ["ex:s1 rdfs:seeAlso ( ex:o1 ex:s2 ex:p1 ) , ( ex:m1 ) ."]
    pieces = _project(tmp_path / "pieces", sources)
    dumped = _project(tmp_path / "dumped", sources)
    calls = _spy_on_direct_loads(monkeypatch)
    replaced = []
    real_replace = Loader.replace_blanks
    monkeypatch.setattr(
        Loader, "replace_blanks", lambda self, g, q: replaced.append(g) or real_replace(self, g, q)
    )
    _build(pieces, monkeypatch, direct=True)
    assert [g.value for g in replaced] == [f"{Project.load(pieces).base}src-list"]
    bracketed = {n for n, lines in sources.items() if any("[" in line for line in lines)}
    assert bracketed and set(calls[-1]) == {
        f"{Project.load(pieces).base}{n}" for n in set(sources) - bracketed
    }
    _build(dumped, monkeypatch, direct=False)
    assert calls[-1] == {}
    _same(pieces, dumped)


def test_a_source_that_cannot_be_cut_small_enough_is_dumped(tmp_path, monkeypatch):
    sources = _seed()
    comment = 'ex:s9 rdfs:comment """two\nlines""" .'  # a long string: no cut in this file
    sources["src-long"] = [comment] + [f'ex:s{n} rdfs:label "S{n}"@en .' for n in range(40)]
    path = _project(tmp_path / "p", sources)
    dumped = _project(tmp_path / "dumped", sources)
    calls = _spy_on_direct_loads(monkeypatch)
    _build(path, monkeypatch, direct=True, limit=1200)
    assert calls[-1] and not any(g.endswith("src-long") for g in calls[-1])
    _build(dumped, monkeypatch, direct=False)
    _same(path, dumped)


def test_a_syntax_error_in_a_source_loading_in_pieces_is_the_parse_s_message(tmp_path, monkeypatch):
    sources = _seed()
    sources["src-big"] = [f'ex:s{n} rdfs:label "S{n}"@en .' for n in range(30)]
    path = _project(tmp_path / "p", sources)
    good = build(Project.load(path), allow_invalid=True).store
    sources["src-big"][20] = "ex:s99 rdfs:label ."  # no object
    _write(path, sources)
    monkeypatch.setattr(pipeline, "DIRECT_FROM", 0)
    monkeypatch.setattr(pipeline, "PIECE", 300)
    calls = _spy_on_direct_loads(monkeypatch)
    with pytest.raises(InputError) as caught:
        build(Project.load(path), allow_invalid=True, force=True)
    assert any(g.endswith("src-big") for g in calls[-1])  # it was loading in pieces
    assert (caught.value.path, caught.value.line) == ("data/src-big.ttl", 28)
    assert (path / ".kg" / "current").resolve().name == Path(good).name  # the last good store
    assert not list((path / ".kg").glob("tmp-*"))  # the failed build left nothing behind
