"""kg.ttlsplit: the pieces of a Turtle file, each parsed alone, are the triples of the file."""

from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.ttlsplit import pieces, writes_blank_nodes

BASE = "http://example.org/doc"

TRICKY = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
PREFIX schema: <http://schema.org/>
ex:a a ex:Thing ;
    rdfs:label "ends with a dot ." , "has a # and a ' too ." ;
    ex:see <http://example.org/page#part> .
# a comment that ends like a statement .
ex:b ex:size 1.5 ; ex:count 3 .
ex:c ex:list ex:x , ex:y ,
    ex:z .
<relative> ex:p <other#frag>.
@prefix ex: <http://example.org/v2/> .
ex:d schema:name "renamed prefix"@en .
@base <http://example.org/base/> .
<e> ex:p ex:q .
BASE <http://example.org/second/>
<f> ex:p true.
ex:g ex:p ex:h .
"""


def _triples(data: bytes) -> set[str]:
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.TURTLE, base_iri=BASE)
    return {str(q.triple) for q in store}


def _pieces_triples(path: Path, size: int) -> tuple[set[str], int]:
    found = pieces(path, size, limit=1 << 30)
    assert found is not None
    out: set[str] = set()
    for k in range(len(found)):
        out |= _triples(found.read(k))
    return out, len(found)


@pytest.mark.parametrize("size", [1, 20, 60, 200, 1 << 20])
def test_every_piece_parses_alone_to_the_triples_of_the_file(tmp_path, size):
    path = tmp_path / "a.ttl"
    path.write_text(TRICKY, encoding="utf-8")
    whole = _triples(path.read_bytes())
    got, count = _pieces_triples(path, size)
    assert got == whole
    assert (count > 1) == (size < len(TRICKY))


def test_no_cut_inside_a_long_string(tmp_path):
    path = tmp_path / "long.ttl"
    path.write_text(
        '@prefix ex: <http://e/> .\nex:a ex:p """line one .\nline two .\n""" .\n'
        + "ex:b ex:p ex:c .\n" * 20,
        encoding="utf-8",
    )
    assert len(pieces(path, 1 << 20)) == 1
    assert pieces(path, 40) is None  # one piece, far larger than asked: not cut


def test_no_cut_when_a_directive_spans_lines(tmp_path):
    path = tmp_path / "d.ttl"
    path.write_text("@prefix ex:\n  <http://e/> .\n" + "ex:b ex:p ex:c .\n" * 50, encoding="utf-8")
    assert pieces(path, 40) is None
    assert len(pieces(path, 1 << 20)) == 1


def test_an_empty_file_is_one_empty_piece(tmp_path):
    path = tmp_path / "e.ttl"
    path.write_bytes(b"")
    found = pieces(path, 10)
    assert len(found) == 1 and found.read(0) == b""


def _random_document(rng: random.Random) -> str:
    """Statements in the shapes a hand or a generator writes them, prefixes changing."""
    out = ["@prefix ex: <http://e/> .\n", "@prefix t: <http://t/> .\n"]
    for n in range(rng.randint(30, 120)):
        s = rng.choice([f"ex:s{n}", f"<http://e/s{n}#x>", f"<rel{n}>"])
        objects = [
            rng.choice(
                [
                    f"ex:o{rng.randint(0, 9)}",
                    f'"text {n} . # not a comment"',
                    f'"{n}"^^<http://www.w3.org/2001/XMLSchema#integer>',
                    f"{rng.randint(0, 99)}.{rng.randint(0, 9)}",
                    "true",
                    f"'single {n}'@en",
                ]
            )
            for _ in range(rng.randint(1, 3))
        ]
        sep = rng.choice([" , ", " ,\n    "])
        end = rng.choice([" .\n", ".\n", " .  \n", " . # done\n"])
        if rng.random() < 0.3:
            out.append(f"{s} t:p{n % 4} {sep.join(objects)} ;\n    t:q ex:v{n}{end}")
        else:
            out.append(f"{s} t:p{n % 4} {sep.join(objects)}{end}")
        if rng.random() < 0.05:
            out.append(f"@prefix ex: <http://e/v{n}/> .\n")
        if rng.random() < 0.05:
            out.append("# a comment line .\n")
    return "".join(out)


@pytest.mark.parametrize("seed", range(25))
def test_random_documents_cut_anywhere_give_the_same_triples(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "r.ttl"
    path.write_text(_random_document(rng), encoding="utf-8")
    whole = _triples(path.read_bytes())
    for size in (1, rng.randint(20, 400), 2000):
        got, count = _pieces_triples(path, size)
        assert got == whole
        assert count >= 5 or size > 1  # cut often: not a file left whole


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("<a> <p> [ <q> <b> ] .\n", True),
        ("_:x <p> <b> .\n", True),
        ('<a> <p> "a [bracket] in a string" .\n', True),  # by the bytes alone: dumped
        ("<a> <p> ( <b> <c> ) .\n", False),  # a collection: its blank nodes are replaced
        ("<a> <p> <b> .\n", False),
        ("", False),
    ],
)
def test_the_syntax_of_blank_nodes_is_seen_from_the_bytes(tmp_path, text, blank):
    path = tmp_path / "b.ttl"
    path.write_text(text, encoding="utf-8")
    assert writes_blank_nodes(path) == blank
