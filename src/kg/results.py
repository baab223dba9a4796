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
CONSTRUCT/DESCRIBE answers are triples, written in a graph format (:data:`GRAPH_FORMATS`:
N-Triples, streamed, or Turtle), with those same characters written as ``\\uXXXX``
escapes: the same triples, safe to print. A results format cannot express a graph, nor a
graph format rows: :func:`output_format` refuses the pair (the CLI asks it first);
:func:`render_chunks` itself still writes N-Triples for a graph in a results format.
ASK in CSV and TSV, which the W3C formats do not define, is a column named ``boolean``
holding ``true`` or ``false``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Generic, TypeVar

from kg.errors import UsageError
from kg.terms import Term

FORMATS = ("table", "csv", "tsv", "json", "xml")
"""Formats of SELECT rows and ASK answers (the W3C SPARQL results formats, and a table)."""
GRAPH_FORMATS = ("nt", "turtle")
"""Formats of CONSTRUCT/DESCRIBE answers: N-Triples (streamed) and Turtle."""

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
    if fmt not in FORMATS + GRAPH_FORMATS:
        known = ", ".join(FORMATS + GRAPH_FORMATS)
        raise UsageError(f"unknown result format {fmt!r}; use one of: {known}.")
    if result.is_graph:
        return _turtle(result) if fmt == "turtle" else _ntriples(result)
    if fmt in GRAPH_FORMATS:
        output_format(result, fmt)  # raises: rows and booleans are not triples
    if fmt == "table":
        from kg.table import render_table

        return render_table(result, width)
    return _RENDERERS[fmt](result)


def output_format(result: Result, fmt: str | None) -> str:
    """The format to write *result* in: *fmt*, or the default for its kind when None
    (``table`` for SELECT and ASK, ``nt`` for CONSTRUCT and DESCRIBE).

    Raises :class:`UsageError` when *fmt* cannot express that kind of answer: triples in
    a results format (csv, tsv, json, xml, table), rows or a boolean in a graph format.
    """
    if result.is_graph:
        if fmt is None or fmt in GRAPH_FORMATS:
            return fmt or "nt"
        raise UsageError(
            f"a CONSTRUCT or DESCRIBE query answers with triples, which --format {fmt} "
            "cannot express (it is a format for SELECT rows and ASK answers); use --format "
            "nt (N-Triples, the default for triples) or --format turtle."
        )
    if fmt is None or fmt in FORMATS:
        return fmt or "table"
    if result.boolean is not None:
        what = "an ASK query answers yes or no"
    else:
        what = "a SELECT query answers with rows"
    raise UsageError(
        f"{what}, which --format {fmt} cannot express (it is a format for the triples of "
        "CONSTRUCT and DESCRIBE); use --format table (the default), csv, tsv, json or xml."
    )


class Memo(dict):
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


# --- CONSTRUCT / DESCRIBE -----------------------------------------------------------

_NT_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _ntriples(result: Result) -> Iterator[str]:
    for s, p, o in result.stream_triples():
        line = f"{s.n3()} {p.n3()} {o.n3()} .\n"
        # Term.n3 has escaped \t \n \r " \\ already; \uXXXX is N-Triples for the rest.
        yield _NT_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04X}", line[:-1]) + "\n"


_TURTLE_UNSAFE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _turtle(result: Result) -> Iterator[str]:
    """The triples as Turtle, written by kg's own writer (as ``kg export``): the whole
    graph is read first, since a subject's triples are written together. Characters
    that could act on a terminal occur only in strings and IRIs, where Turtle reads
    ``\\uXXXX`` escapes."""
    from rdflib import BNode, Literal, URIRef

    from kg.turtle import to_turtle

    def node(term: Term):
        if term.kind == "uri":
            return URIRef(term.value)
        if term.kind == "bnode":
            return BNode(term.value)
        if term.lang:
            return Literal(term.value, lang=term.lang)
        if term.datatype and term.datatype != _XSD_STRING:
            return Literal(term.value, datatype=URIRef(term.datatype))
        return Literal(term.value)

    made = Memo(node)
    text = to_turtle([(made[s], made[p], made[o]) for s, p, o in result.stream_triples()])
    yield _TURTLE_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04X}", text)


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


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
    n3 = Memo(lambda t: "" if t is None else t.n3())
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
    langs = Memo(lambda lang: f',\n          "xml:lang": {_js(lang)}{close}', 256)
    datatypes = Memo(lambda iri: f',\n          "datatype": {_js(iri)}{close}', 256)
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
    langs = Memo(lambda lang: f"<literal xml:lang={quoteattr(lang)}>", 256)
    datatypes = Memo(lambda iri: f"<literal datatype={quoteattr(iri)}>", 256)
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
