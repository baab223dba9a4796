"""Query results and their renderings: one renderer for every query-like command.

Formats follow the W3C SPARQL 1.1 results specifications (JSON, XML, CSV, TSV); ``table``
is for people. Rendering never touches an engine: it reads :class:`Result` only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from kg.errors import UsageError
from kg.terms import Term

FORMATS = ("table", "csv", "tsv", "json", "xml")
_TABLE_CELL_MAX = 70


@dataclass
class Result:
    """A SELECT (``vars`` + ``rows``), an ASK (``boolean``) or a CONSTRUCT (``triples``)."""

    vars: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Term, Term, Term]] | None = None

    def dicts(self) -> list[dict[str, str]]:
        """Rows as ``{var: short form}`` (unbound variables left out): handy in tests."""
        return [
            {v: t.short() for v, t in zip(self.vars, row, strict=True) if t is not None}
            for row in self.rows
        ]

    def column(self, var: str) -> list[str | None]:
        i = self.vars.index(var)
        return [row[i].short() if row[i] is not None else None for row in self.rows]


def render(result: Result, fmt: str) -> str:
    """*result* as text in *fmt* (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown result format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if result.triples is not None:
        return "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in result.triples)
    return _RENDERERS[fmt](result)


def _table(result: Result) -> str:
    if result.boolean is not None:
        return ("yes" if result.boolean else "no") + "\n"
    header = list(result.vars)
    body = [[_cell(t) for t in row] for row in result.rows]
    widths = [len(h) for h in header]
    for row in body:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    n = len(body)
    lines.append(f"({n} row{'s' if n != 1 else ''})")
    return "\n".join(lines) + "\n"


def _cell(term: Term | None) -> str:
    if term is None:
        return ""
    text = " ".join(term.short().split())
    return text if len(text) <= _TABLE_CELL_MAX else text[: _TABLE_CELL_MAX - 1] + "…"


def _delimited(result: Result, *, tsv: bool) -> str:
    out = io.StringIO()
    if result.boolean is not None:
        # SPARQL CSV/TSV define no boolean form; one column named after the question is usual.
        out.write(f"boolean\n{'true' if result.boolean else 'false'}\n")
        return out.getvalue()
    if tsv:
        out.write("\t".join("?" + v for v in result.vars) + "\n")
        for row in result.rows:
            out.write("\t".join(t.n3() if t else "" for t in row) + "\n")
    else:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(result.vars)
        for row in result.rows:
            writer.writerow([_csv_value(t) for t in row])
    return out.getvalue()


def _csv_value(term: Term | None) -> str:
    if term is None:
        return ""
    return "_:" + term.value if term.kind == "bnode" else term.value


def _json(result: Result) -> str:
    if result.boolean is not None:
        return json.dumps({"head": {}, "boolean": result.boolean}, indent=2) + "\n"
    bindings = []
    for row in result.rows:
        binding = {}
        for var, term in zip(result.vars, row, strict=True):
            if term is None:
                continue
            cell: dict[str, str] = {"type": term.kind, "value": term.value}
            if term.lang:
                cell["xml:lang"] = term.lang
            elif term.datatype:
                cell["datatype"] = term.datatype
            binding[var] = cell
        bindings.append(binding)
    doc = {"head": {"vars": result.vars}, "results": {"bindings": bindings}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _xml(result: Result) -> str:
    return "".join(_xml_lines(result))


def _xml_lines(result: Result) -> Iterator[str]:
    yield '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
    yield "  <head>\n"
    for var in result.vars:
        yield f"    <variable name={quoteattr(var)}/>\n"
    yield "  </head>\n"
    if result.boolean is not None:
        yield f"  <boolean>{'true' if result.boolean else 'false'}</boolean>\n</sparql>\n"
        return
    yield "  <results>\n"
    for row in result.rows:
        yield "    <result>\n"
        for var, term in zip(result.vars, row, strict=True):
            if term is not None:
                yield f"      <binding name={quoteattr(var)}>{_xml_term(term)}</binding>\n"
        yield "    </result>\n"
    yield "  </results>\n</sparql>\n"


def escape(text: str) -> str:
    """XML character data. (xml.sax.saxutils would pull in urllib: 50 ms of start-up.)"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    return '"' + escape(text).replace('"', "&quot;") + '"'


def _xml_term(term: Term) -> str:
    if term.kind == "uri":
        return f"<uri>{escape(term.value)}</uri>"
    if term.kind == "bnode":
        return f"<bnode>{escape(term.value)}</bnode>"
    attr = ""
    if term.lang:
        attr = f" xml:lang={quoteattr(term.lang)}"
    elif term.datatype:
        attr = f" datatype={quoteattr(term.datatype)}"
    return f"<literal{attr}>{escape(term.value)}</literal>"


_RENDERERS = {
    "table": _table,
    "csv": lambda r: _delimited(r, tsv=False),
    "tsv": lambda r: _delimited(r, tsv=True),
    "json": _json,
    "xml": _xml,
}
