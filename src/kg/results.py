"""Query results and their renderings: one renderer for every query-like command.

Formats follow the W3C SPARQL 1.1 results specifications (JSON, XML, CSV, TSV); ``table``
is for people. Rendering never touches an engine: it reads :class:`Result` only.

**Streaming.** A :class:`Result` may hold its rows (or triples) as a one-shot iterator
straight from the engine, and :func:`render_chunks` writes each format piece by piece as
the rows come, so a SELECT of millions of rows runs in bounded memory. The JSON and XML
documents are written incrementally; CSV and TSV one row at a time; the table buffers
its first :data:`TABLE_SAMPLE` rows to choose the column widths, then streams the rest
with those widths (longer cells are cut with "…").

**Fidelity.** JSON, CSV and TSV carry every character of every literal (CSV, by its
specification, drops datatypes and language tags; TSV writes terms in N-Triples syntax,
escaping tab, newline, carriage return, quote and backslash). XML is the one lossy
rendering: XML 1.0 cannot carry most C0 control characters (nor U+FFFE, U+FFFF or lone
surrogates), not even as character references, so those become U+FFFD; everything else,
carriage returns included (written ``&#13;`` so that parsers do not fold them into line
feeds), survives.

**Terminal safety.** The table is the one format meant for a terminal: control
characters, escape sequences and bidirectional overrides coming from the data are shown
escaped (``\\x1b``, ``\\u202e``), never raw, so a literal cannot recolour, rewrite or
reorder what a person reads. Whitespace runs (newlines, tabs) collapse to one space.
CONSTRUCT/DESCRIBE answers are N-Triples in every format, with those same characters
written as N-Triples ``\\uXXXX`` escapes: the same triples, safe to print.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Generic, TypeVar

from kg.errors import UsageError, printable
from kg.terms import Term

FORMATS = ("table", "csv", "tsv", "json", "xml")
TABLE_SAMPLE = 1000
"""Rows the table reads before choosing column widths (later rows are cut to fit)."""
TABLE_CELL_MAX = 70
"""Widest cell when the terminal width is unknown (output to a pipe, a file, a test)."""
TABLE_COLUMN_MIN = 12
"""Narrowest a column is squeezed to when the terminal is too narrow for the table."""
_GAP = "  "

Row = tuple[Term | None, ...]
Triple = tuple[Term, Term, Term]
T = TypeVar("T")


class _Once(Generic[T]):
    """A list, or a one-shot iterator that becomes a list (once, cached) when a caller
    needs a list: streaming consumers then pay nothing, list-minded callers still work."""

    __slots__ = ("_items", "_source", "_spent")

    def __init__(self, items: Iterable[T]) -> None:
        self._items: list[T] | None = None
        self._source: Iterator[T] | None = None
        self._spent = False
        if isinstance(items, list):
            self._items = items
        elif isinstance(items, tuple):
            self._items = list(items)
        else:
            self._source = iter(items)

    def materialised(self) -> bool:
        return self._items is not None

    def list(self, what: str) -> list[T]:
        if self._items is None:
            # Spent before reading: if the cursor fails half way (a time-out), a second
            # attempt must not pass the rows that were left for the whole answer.
            source = self._take(what)
            self._items = list(source)
        return self._items

    def stream(self, what: str) -> Iterator[T]:
        if self._items is not None:
            return iter(self._items)
        return self._take(what)

    def _take(self, what: str) -> Iterator[T]:
        if self._spent or self._source is None:
            raise RuntimeError(
                f"the {what} of this result were streamed already: an engine's cursor "
                f"can be read once (read result.{what} first to keep them)"
            )
        self._spent = True
        source, self._source = self._source, None
        return source


class Result:
    """A SELECT (``vars`` + ``rows``), an ASK (``boolean``) or a CONSTRUCT (``triples``).

    ``rows`` and ``triples`` may be given as lists or as one-shot iterators (an engine's
    cursor). Reading ``result.rows`` / ``result.triples`` gives a list (an iterator is
    read to the end then, once, and kept); :meth:`stream` / :meth:`stream_triples` give
    the items one by one without keeping them, which is what renderers use. A result can
    be streamed once, unless it was materialised first.
    """

    __slots__ = ("_rows", "_triples", "boolean", "vars")

    def __init__(
        self,
        vars: list[str] | None = None,
        rows: Iterable[Row] = (),
        boolean: bool | None = None,
        triples: Iterable[Triple] | None = None,
    ) -> None:
        self.vars: list[str] = list(vars) if vars is not None else []
        self.boolean = boolean
        self._rows: _Once[Row] = _Once(rows)
        self._triples: _Once[Triple] | None = None if triples is None else _Once(triples)

    @property
    def rows(self) -> list[Row]:
        """Every row, as a list (read from the engine on first access, then cached)."""
        return self._rows.list("rows")

    @rows.setter
    def rows(self, rows: Iterable[Row]) -> None:
        self._rows = _Once(rows)

    @property
    def triples(self) -> list[Triple] | None:
        """Every triple of a CONSTRUCT/DESCRIBE as a list; None for SELECT and ASK."""
        return None if self._triples is None else self._triples.list("triples")

    @triples.setter
    def triples(self, triples: Iterable[Triple] | None) -> None:
        self._triples = None if triples is None else _Once(triples)

    @property
    def is_graph(self) -> bool:
        """True for a CONSTRUCT/DESCRIBE answer; asks without reading the triples."""
        return self._triples is not None

    def stream(self) -> Iterator[Row]:
        """The rows one by one; from the engine's cursor unless already materialised.

        Raises RuntimeError if the rows were streamed before (an iterator can be read
        only once): materialise with ``result.rows`` first to read them twice.
        """
        return self._rows.stream("rows")

    def stream_triples(self) -> Iterator[Triple]:
        """The triples one by one, as :meth:`stream` (nothing for SELECT and ASK)."""
        return iter(()) if self._triples is None else self._triples.stream("triples")

    def dicts(self) -> list[dict[str, str]]:
        """Rows as ``{var: short form}`` (unbound variables left out): handy in tests."""
        return [
            {v: t.short() for v, t in zip(self.vars, row, strict=True) if t is not None}
            for row in self.rows
        ]

    def column(self, var: str) -> list[str | None]:
        """One variable's values as short forms (None where unbound): handy in tests."""
        i = self.vars.index(var)
        return [row[i].short() if row[i] is not None else None for row in self.rows]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return (self.vars, self.rows, self.boolean, self.triples) == (
            other.vars,
            other.rows,
            other.boolean,
            other.triples,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    def __repr__(self) -> str:
        def shown(items: _Once | None) -> str:
            if items is None:
                return "None"
            return repr(items._items) if items.materialised() else "<stream>"

        return (
            f"Result(vars={self.vars!r}, rows={shown(self._rows)}, boolean={self.boolean!r}, "
            f"triples={shown(self._triples)})"
        )

    def __reduce__(self):
        # Crossing a process boundary needs the items themselves: pickling materialises.
        return (Result, (self.vars, self.rows, self.boolean, self.triples))


def render(result: Result, fmt: str, *, width: int | None = None) -> str:
    """*result* as text in *fmt* (one of :data:`FORMATS`), all at once: for small results
    and tests; commands write :func:`render_chunks` as it comes."""
    return "".join(render_chunks(result, fmt, width=width))


def render_chunks(result: Result, fmt: str, *, width: int | None = None) -> Iterator[str]:
    """*result* in *fmt* as successive pieces of text, produced while the rows stream in.

    *width* is the terminal's width (None when the output is not a terminal): the table
    fits its columns into it; other formats ignore it. An unknown format raises
    :class:`UsageError` here, before any output, not on the first ``next()``.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown result format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if result.is_graph:
        return _ntriples(result)
    if fmt == "table":
        return _table(result, width)
    return _RENDERERS[fmt](result)


# --- CONSTRUCT / DESCRIBE -----------------------------------------------------------

_NT_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _ntriples(result: Result) -> Iterator[str]:
    for s, p, o in result.stream_triples():
        line = f"{s.n3()} {p.n3()} {o.n3()} .\n"
        # Term.n3 has escaped \t \n \r " \\ already; \uXXXX is N-Triples for the rest.
        yield _NT_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04X}", line[:-1]) + "\n"


# --- table ---------------------------------------------------------------------------

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_EXTRA_UNSAFE = re.compile("[\u061c\u2028\u2029]")  # beyond kg.errors.printable's set


def _table(result: Result, width: int | None) -> Iterator[str]:
    if result.boolean is not None:
        yield ("yes" if result.boolean else "no") + "\n"
        return
    rows = result.stream()
    cell = _Recent(_cell)
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


class _Recent(dict):
    """``cache[key]`` is ``make(key)``, remembered: terms, language tags and datatypes
    repeat down a column. Forgets everything when *size* is reached, so that memory
    stays bounded however many distinct terms stream past."""

    def __init__(self, make: Callable, size: int = 4096) -> None:
        super().__init__()
        self.make, self.size = make, size

    def __missing__(self, key):
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.make(key)
        return value


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


# --- CSV and TSV -------------------------------------------------------------------


class _Echo:
    """A file whose write hands the text back: csv.writer.writerow then returns one
    row's text, so rows can be yielded as they are formatted."""

    def write(self, text: str) -> str:
        return text


def _csv(result: Result) -> Iterator[str]:
    if result.boolean is not None:
        # SPARQL CSV/TSV define no boolean form; one column named after the question is usual.
        yield f"boolean\n{'true' if result.boolean else 'false'}\n"
        return
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(result.vars)
    for row in result.stream():
        yield writer.writerow(
            ["" if t is None else "_:" + t.value if t.kind == "bnode" else t.value for t in row]
        )


def _tsv(result: Result) -> Iterator[str]:
    if result.boolean is not None:
        yield f"boolean\n{'true' if result.boolean else 'false'}\n"
        return
    yield "\t".join("?" + v for v in result.vars) + "\n"
    n3 = _Recent(lambda t: "" if t is None else t.n3())
    for row in result.stream():
        yield "\t".join([n3[t] for t in row]) + "\n"


# --- JSON ----------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def _js(text: str) -> str:
    """*text* as a JSON string, as ``json.dumps(text, ensure_ascii=False)`` writes it."""
    return encode_basestring(text)


def _json(result: Result) -> Iterator[str]:
    """The SPARQL JSON results document, byte for byte what ``json.dumps(doc, indent=2,
    ensure_ascii=False)`` would write, one binding at a time."""
    if result.boolean is not None:
        yield f'{{\n  "head": {{}},\n  "boolean": {"true" if result.boolean else "false"}\n}}\n'
        return
    if result.vars:
        names = ",\n".join(f"      {_js(v)}" for v in result.vars)
        head = f'{{\n  "head": {{\n    "vars": [\n{names}\n    ]\n  }},\n'
    else:
        head = '{\n  "head": {\n    "vars": []\n  },\n'
    yield head + '  "results": {\n    "bindings": ['
    opens = [f"        {_js(v)}: {{\n" for v in result.vars]
    kinds = {
        k: f'          "type": {_js(k)},\n          "value": ' for k in ("uri", "literal", "bnode")
    }
    close = "\n        }"
    langs = _Recent(lambda lang: f',\n          "xml:lang": {_js(lang)}{close}', 256)
    datatypes = _Recent(lambda iri: f',\n          "datatype": {_js(iri)}{close}', 256)
    sep = "\n      "
    for row in result.stream():
        cells = []
        for open_, term in zip(opens, row, strict=True):
            if term is not None:
                value = term.value
                if not value.isascii() and _SURROGATE.search(value):
                    # UTF-8 cannot carry a lone surrogate; JSON can, as an escape.
                    value = encode_basestring_ascii(value)
                else:
                    value = encode_basestring(value)
                if term.lang:
                    end = langs[term.lang]
                elif term.datatype:
                    end = datatypes[term.datatype]
                else:
                    end = close
                cells.append(f"{open_}{kinds[term.kind]}{value}{end}")
        yield sep + "{\n" + ",\n".join(cells) + "\n      }" if cells else sep + "{}"
        sep = ",\n      "
    yield ("]" if sep == "\n      " else "\n    ]") + "\n  }\n}\n"


# --- XML -----------------------------------------------------------------------------

# Characters outside XML 1.0's Char production: no XML parser accepts them, raw or as
# character references.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(result: Result) -> Iterator[str]:
    yield '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
    yield "  <head>\n"
    for var in result.vars:
        yield f"    <variable name={quoteattr(var)}/>\n"
    yield "  </head>\n"
    if result.boolean is not None:
        yield f"  <boolean>{'true' if result.boolean else 'false'}</boolean>\n</sparql>\n"
        return
    yield "  <results>\n"
    opens = [f"      <binding name={quoteattr(var)}>" for var in result.vars]
    langs = _Recent(lambda lang: f"<literal xml:lang={quoteattr(lang)}>", 256)
    datatypes = _Recent(lambda iri: f"<literal datatype={quoteattr(iri)}>", 256)
    for row in result.stream():
        parts = ["    <result>\n"]
        for open_, term in zip(opens, row, strict=True):
            if term is None:
                continue
            if term.kind == "literal":
                if term.lang:
                    tag = langs[term.lang]
                elif term.datatype:
                    tag = datatypes[term.datatype]
                else:
                    tag = "<literal>"
                parts.append(f"{open_}{tag}{escape(term.value)}</literal></binding>\n")
            else:  # uri, bnode
                kind = term.kind
                parts.append(f"{open_}<{kind}>{escape(term.value)}</{kind}></binding>\n")
        parts.append("    </result>\n")
        yield "".join(parts)
    yield "  </results>\n</sparql>\n"


def escape(text: str) -> str:
    """XML character data that any XML 1.0 parser reads back as *text*, except for the
    characters XML cannot carry at all (see the module docstring), which become U+FFFD.
    (xml.sax.saxutils would pull in urllib: 50 ms of start-up.)"""
    if not _XML_SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:  # a raw CR would be read back as LF (end-of-line handling)
        text = text.replace("\r", "&#13;")
    if _XML_INVALID.search(text):
        text = _XML_INVALID.sub("\ufffd", text)
    return text


def quoteattr(text: str) -> str:
    """A quoted attribute value; tab and newline as references, which attribute-value
    normalisation would otherwise turn into spaces."""
    return (
        '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'
    )


_RENDERERS = {"csv": _csv, "tsv": _tsv, "json": _json, "xml": _xml}
