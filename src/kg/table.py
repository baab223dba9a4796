"""The table: query results for people on a terminal, streamed.

The table reads its first :data:`TABLE_SAMPLE` rows to choose the column widths, then
streams the rest with those widths (longer cells cut with "…"), so a large result needs
bounded memory. With the terminal's width known, columns that fit keep their size and
the wide ones share the rest (at least :data:`TABLE_COLUMN_MIN` characters each);
without it (a pipe, a file, a test) a cell is cut at :data:`TABLE_CELL_MAX` characters.
Control characters, escape sequences and bidirectional overrides from the data are shown
escaped (``\\x1b``, ``\\u202e``), never raw; whitespace runs collapse to one space;
wide (CJK) characters count two columns and combining marks none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

from kg.errors import printable
from kg.results import Memo
from kg.terms import Term

if TYPE_CHECKING:
    from kg.results import Result

TABLE_SAMPLE = 1000
"""Rows the table reads before choosing column widths (later rows are cut to fit)."""
TABLE_CELL_MAX = 70
"""Widest cell when the terminal width is unknown (output to a pipe, a file, a test)."""
TABLE_COLUMN_MIN = 12
"""Narrowest a column is squeezed to when the terminal is too narrow for the table."""
_GAP = "  "


_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_EXTRA_UNSAFE = re.compile("[\u061c\u2028\u2029]")  # beyond kg.errors.printable's set


def render_table(result: Result, width: int | None) -> Iterator[str]:
    """*result* as a table, piece by piece; *width* is the terminal's (None: unknown)."""
    if result.boolean is not None:
        yield ("yes" if result.boolean else "no") + "\n"
        return
    rows = result.stream()
    cell = Memo(_cell)
    sample = [[cell[t] for t in row] for row in islice(rows, TABLE_SAMPLE)]
    header = list(result.vars)
    widths = _widths(header, sample, width)
    limits = widths if width is not None else [min(w, TABLE_CELL_MAX) for w in widths]
    yield _line(header, widths, widths) + "\n"
    yield _GAP.join("-" * w for w in widths) + "\n"
    n = 0
    for cells in sample:
        yield _line(cells, widths, limits) + "\n"
        n += 1
    del sample
    for row in rows:
        yield _line([cell[t] for t in row], widths, limits) + "\n"
        n += 1
    yield f"({n} row{'s' if n != 1 else ''})\n"


def _widths(header: list[str], sample: list[list[str]], width: int | None) -> list[int]:
    """Column widths: each column's widest cell (capped at :data:`TABLE_CELL_MAX` when
    the terminal width is unknown) or header; squeezed into *width* when given."""
    cap = TABLE_CELL_MAX if width is None else None
    natural = [_display_width(h) for h in header]
    for cells in sample:
        for i, cell in enumerate(cells):
            w = _display_width(cell)
            if cap is not None and w > cap:
                w = cap
            if w > natural[i]:
                natural[i] = w
    natural = [max(w, 1) for w in natural]
    return natural if width is None else _share(natural, width)


def _share(natural: list[int], width: int) -> list[int]:
    """Fit columns of *natural* widths into *width* characters (gaps included): columns
    narrower than a fair share keep their width, the wider ones split what is left
    evenly, and none is squeezed below :data:`TABLE_COLUMN_MIN` (a line may then run
    past a very narrow terminal rather than show nothing readable)."""
    room = width - len(_GAP) * (len(natural) - 1)
    if sum(natural) <= room:
        return natural
    shares = list(natural)
    wide = sorted(range(len(natural)), key=natural.__getitem__)
    while wide:
        narrowest = wide[0]
        if natural[narrowest] > max(room // len(wide), TABLE_COLUMN_MIN):
            break
        room -= natural[narrowest]
        wide.pop(0)
    if wide:
        each, extra = divmod(max(room, 0), len(wide))
        for k, i in enumerate(sorted(wide)):  # leftmost columns take the odd characters
            shares[i] = max(TABLE_COLUMN_MIN, each + (1 if k < extra else 0))
    return shares


def _line(cells: list[str], widths: list[int], limits: list[int]) -> str:
    parts = []
    for cell, w, limit in zip(cells, widths, limits, strict=True):
        if cell.isascii() and len(cell) <= limit:  # the usual case, without measuring
            parts.append(cell + " " * (w - len(cell)))
        else:
            shown = _cut(cell, limit)
            parts.append(shown + " " * (w - _display_width(shown)))
    return _GAP.join(parts).rstrip()


def _cell(term: Term | None) -> str:
    """What a person sees of *term*: short form, whitespace runs as one space, control
    characters and terminal escapes escaped."""
    if term is None:
        return ""
    text = printable(" ".join(term.short().split()))
    if not text.isascii():
        text = _EXTRA_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _display_width(text: str) -> int:
    """Terminal columns *text* takes: wide East Asian characters count two, combining
    marks and zero-width characters none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if char in _ZERO_WIDTH or unicodedata.category(char) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cut(text: str, width: int) -> str:
    """*text* if it fits in *width* columns, else as much as fits followed by "…"."""
    if _display_width(text) <= width:
        return text
    if text.isascii():
        return text[: max(width - 1, 0)] + "…"
    used = end = 0
    while used + _char_width(text[end]) <= width - 1:
        used += _char_width(text[end])
        end += 1
    return text[:end] + "…"
