"""kg.bulkload: chunked bulk loading gives the store one load would, blank nodes included."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.bulkload import Cancelled, Loader

ASSERTED = """\
<http://e/a> <http://e/p> <http://e/b> <http://e/g1> .
_:x <http://e/name> "blank in one file" <http://e/g1> .
<http://e/b> <http://e/p> "a literal with _: inside" <http://e/g2> .
<http://e/c> <http://e/knows> _:x <http://e/g2> .
<http://e/d> <http://e/p> "no final newline" <http://e/g1> ."""

INFERRED = """\
_:x <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/Thing> .
<http://e/a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/Thing> .
"""


def _write(folder: Path) -> tuple[Path, Path]:
    (folder / "a.nq").write_text(ASSERTED, encoding="utf-8")
    (folder / "i.nq").write_text(INFERRED, encoding="utf-8")
    return folder / "a.nq", folder / "i.nq"


def _shape(store: ox.Store) -> set[str]:
    """The quads with every blank node written as _:b (there is one in these files)."""
    out = set()
    for q in store:
        out.add(" ".join("_:b" if isinstance(t, ox.BlankNode) else str(t) for t in q))
    return out


@pytest.mark.parametrize("chunk", [16, 100, 1 << 20])
def test_chunks_give_the_store_of_one_load(tmp_path, chunk):
    a, i = _write(tmp_path)
    whole = ox.Store()
    whole.load((ASSERTED + "\n" + INFERRED).encode(), format=ox.RdfFormat.N_QUADS)
    store = ox.Store(str(tmp_path / "store"))
    loader = Loader(store, chunk=chunk)
    loader.add(a)
    loader.add(i)
    loader.finish()
    assert _shape(store) == _shape(whole)
    assert len(store) == 7
    # one blank node, the same in both files: it has a name, a type and is known
    blanks = {q.subject for q in store if isinstance(q.subject, ox.BlankNode)}
    blanks |= {q.object for q in store if isinstance(q.object, ox.BlankNode)}
    assert len(blanks) == 1
    assert not a.exists() and not i.exists()  # written files are removed


def test_an_error_on_the_thread_is_raised_by_finish(tmp_path):
    bad = tmp_path / "bad.nq"
    bad.write_text("<http://e/a> <http://e/p> .\n", encoding="utf-8")
    loader = Loader(ox.Store(str(tmp_path / "store")))
    loader.add(bad)
    with pytest.raises(SyntaxError):
        loader.finish()


def test_leaving_on_an_exception_cancels_and_waits(tmp_path):
    a, _ = _write(tmp_path)
    store = ox.Store(str(tmp_path / "store"))
    with pytest.raises(RuntimeError, match="elsewhere"), Loader(store, chunk=16) as loader:
        loader._stop.set()  # as if cancelled before the first chunk
        loader.add(a)
        raise RuntimeError("the build failed elsewhere")
    assert loader.store is None
    assert isinstance(loader._error, Cancelled)
    assert len(store) == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_parts_are_loaded_as_they_fill_on_any_thread(tmp_path, threads):
    a, _ = _write(tmp_path)
    whole = ox.Store()
    whole.load((ASSERTED + "\n" + INFERRED).encode(), format=ox.RdfFormat.N_QUADS)
    store = ox.Store(str(tmp_path / "store"))
    with Loader(store, chunk=64, threads=threads) as loader:
        loader.add(a)
        with loader.parts(tmp_path, "inferred") as text:
            for line in INFERRED.splitlines(keepends=True):
                text.write(line)  # the second line fills a part of 64 bytes
        loader.finish()
    assert text._count == 3  # each line filled a part; the third, empty, was dropped
    assert _shape(store) == _shape(whole)
    assert not list(tmp_path.glob("inferred-*.nq"))  # every part was loaded, then removed


def test_an_error_on_either_thread_is_raised_once_both_stop(tmp_path):
    a, _ = _write(tmp_path)
    bad = tmp_path / "bad.nq"
    bad.write_text("<http://e/a> <http://e/p> .\n", encoding="utf-8")
    loader = Loader(ox.Store(str(tmp_path / "store")), threads=2)
    loader.add(bad)
    loader.add(a)
    with pytest.raises(SyntaxError):
        loader.finish()
    assert not any(t.is_alive() for t in loader._threads)
