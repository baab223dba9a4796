"""Cutting a Turtle file into pieces that each parse alone, to the triples of the whole.

Why: a build writes each source to the disk store with Oxigraph's bulk loader, which
holds a whole call's quads in memory and runs a call on one core. Pieces of a few MiB,
loaded on two threads from the moment the build starts, keep that memory bounded and
overlap the writing with the parse into memory that validation and reasoning read.

A cut is made only where it is sure to fall between two statements, judged from the
bytes alone:

* the file has no long string (``\"\"\"`` or ``'''``): no other token spans lines;
* the line before the cut, its IRIs (``<...>``) left out, has no quote (no string) and no
  ``#`` (no comment), and ends with ``.``. Outside strings, IRIs and comments a final
  ``.`` ends a statement: a prefixed name and a decimal cannot end with one, and none
  may stand inside ``[ ]`` or ``( )``;
* every directive line (``@prefix``, ``@base``, ``PREFIX``, ``BASE``) is whole, so that
  the directives before a cut, repeated ahead of the next piece, mean there what they
  meant in the file.

A file where this cannot be shown is one piece (:func:`pieces` returns ``None`` when that
piece is larger than asked). Blank nodes are the caller's affair: each piece names its
own afresh (:mod:`kg.pipeline` reloads a graph's blank-node triples in one call).
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

_LONG_STRING = (b'"""', b"'''")
_DIRECTIVE = re.compile(rb"^[ \t]*(@prefix|@base|prefix|base)[ \t]", re.M | re.I)
_WHOLE = re.compile(
    rb"[ \t]*(@prefix[ \t]+[^\s:]*:[ \t]*<[^>\s]*>[ \t]*\.|@base[ \t]+<[^>\s]*>[ \t]*\."
    rb"|prefix[ \t]+[^\s:]*:[ \t]*<[^>\s]*>|base[ \t]+<[^>\s]*>)[ \t]*\r?",
    re.I,
)
_IRI = re.compile(rb"<[^>\s]*>")
_SEARCH = 1 << 20  # bytes after a wanted cut in which a sure one is looked for


class Pieces:
    """Byte ranges of a Turtle file and the directives each piece needs before it."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]], heads: list[bytes]):
        self.path, self.ranges, self.heads = path, ranges, heads

    def __len__(self) -> int:
        return len(self.ranges)

    def read(self, k: int) -> bytes:
        """Piece *k* as a Turtle document: the directives before it, then its bytes."""
        start, end = self.ranges[k]
        with self.path.open("rb") as handle:
            handle.seek(start)
            return self.heads[k] + handle.read(end - start)


def pieces(path: Path, size: int, limit: int | None = None) -> Pieces | None:
    """*path* cut into pieces of about *size* bytes (at least one), or ``None`` when a piece
    would be larger than *limit* (default: twice *size*): the file cannot be cut enough."""
    length = path.stat().st_size
    if length == 0:
        return Pieces(path, [(0, 0)], [b""])
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if any(data.find(s) >= 0 for s in _LONG_STRING):
            cuts = []
        else:
            directives = [m.start() for m in _DIRECTIVE.finditer(data)]
            ends = [data.find(b"\n", a) for a in directives]
            lines = [
                data[a : e if e >= 0 else length] for a, e in zip(directives, ends, strict=True)
            ]
            if not all(_WHOLE.fullmatch(line) for line in lines):
                cuts = []
            else:
                cuts = _cuts(data, length, size)
        ranges = list(zip([0, *cuts], [*cuts, length], strict=True))
        if max(end - start for start, end in ranges) > (limit or 2 * size):
            return None
        heads = [b""]
        for cut in cuts:
            heads.append(b"".join(
                line + b"\n" for a, line in zip(directives, lines, strict=True) if a < cut
            ))  # fmt: skip
    return Pieces(path, ranges, heads)


def writes_blank_nodes(path: Path) -> bool:
    """Whether *path* holds ``_:`` or ``[`` anywhere (in a string too): the syntax of most
    blank nodes. A build dumps such a source from memory rather than load its pieces, whose
    blank-node triples it would have to delete and write again. (A collection, ``( )``,
    makes blank nodes too, and is rare enough to pay for that.)"""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(b"_:") >= 0 or data.find(b"[") >= 0


def _cuts(data: mmap.mmap, length: int, size: int) -> list[int]:
    """Offsets just after a statement's last line, about *size* bytes apart."""
    cuts: list[int] = []
    wanted = size
    while wanted < length - size // 4:  # no small last piece
        cut = _sure_cut(data, wanted, min(length, wanted + _SEARCH))
        if cut is None:
            wanted += _SEARCH
            continue
        cuts.append(cut)
        wanted = cut + size
    return cuts


def _sure_cut(data: mmap.mmap, start: int, stop: int) -> int | None:
    """The first offset in [start, stop) after a line that surely ends a statement."""
    end = data.find(b"\n", start, stop)
    while end >= 0:
        begin = data.rfind(b"\n", 0, end) + 1
        line = _IRI.sub(b"", data[begin:end]).rstrip()
        if line.endswith(b".") and not any(c in line for c in (b'"', b"'", b"#")):
            return end + 1
        end = data.find(b"\n", end + 1, stop)
    return None
