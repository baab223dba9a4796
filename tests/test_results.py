"""Result rendering: streaming in bounded memory, faithful formats, safe terminal text.

Results are built by hand (rows of :class:`kg.terms.Term`), so these tests exercise the
renderers on literals no engine run on the shipped data would produce: every code point
from 0 to 0x9f, bidi overrides, XML's forbidden characters, a million rows.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from kg.errors import UsageError
from kg.results import FORMATS, Result, render, render_chunks
from kg.table import TABLE_CELL_MAX, TABLE_COLUMN_MIN
from kg.terms import Term

XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "https://w3id.org/kg-diplo/id/"
SPARQL_NS = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
EDGE_TEXTS = [
    "",
    " ",
    "\r\n",
    "a\r\nb\rc\n",
    "\t\tindented",
    '"quoted" and \\"escaped\\"',
    "back\\slash\\n (not a newline)",
    "&amp; <tag> ]]> 'single'",
    "comma, semicolon; pipe|",
    "\x1b[31mred\x1b[0m",
    "\u2028line\u2029para\x85next",
    "\ufeffbom \ufffd replacement",
    "\ufffe\uffff non-characters",
    "\ud7ff\ue000 around the surrogates",
    "emoji \U0001f600 and the last \U0010ffff",
    "日本語のラベル",
    "e\u0301 combining",
    "\u202eevil\u202c",
    "x" * 500,
]
# Every code point 0-0x9f alone and inside text, the bidi controls, and the edge cases.
TEXTS = [chr(c) for c in range(0xA0)] + [f"a{chr(c)}b" for c in range(0xA0)]
TEXTS += [f"a{c}b" for c in BIDI] + EDGE_TEXTS


def corpus() -> list[Term]:
    """Literals (plain, language-tagged, typed), IRIs and blank nodes."""
    terms = [Term.literal(t) for t in TEXTS]
    terms += [Term.literal(t, lang=lang) for t in EDGE_TEXTS for lang in ("en", "zh-Hant-TW")]
    terms += [
        Term.literal("42", XSD + "integer"),
        Term.literal("2025-01-31", XSD + "date"),
        Term.literal("a\tb\nc", "https://example.org/type?a=1&b=2#x"),
        Term.literal("x", XSD + "string"),
        Term.iri(EX + "azerbaijan"),
        Term.iri("https://example.org/q?a=1&b=2#frag"),
        Term.iri("https://example.org/日本"),
        Term.iri(XSD + "date"),
        Term("bnode", "b0"),
        Term("bnode", "node-1.x"),
    ]
    return terms


CORPUS = corpus()
VARS = ["a", "b"]


def corpus_result() -> Result:
    """Two columns: every term in column ``a``; ``b`` unbound on every other row."""
    return Result(
        vars=VARS,
        rows=[(t, None if i % 2 else Term.literal(str(i))) for i, t in enumerate(CORPUS)],
    )


def counting(rows: list[tuple]) -> tuple[Iterator[tuple], list[int]]:
    """A one-shot iterator over *rows* and a counter of how many were pulled."""
    pulled = [0]

    def gen():
        for row in rows:
            pulled[0] += 1
            yield row

    return gen(), pulled


# --- Result as a list and as a stream --------------------------------------------------


def test_result_with_lists_behaves_as_before():
    row = (Term.iri(EX + "nato"), None)
    result = Result(["org", "x"], [row])
    assert result.rows == [row] and result.rows is result.rows
    assert result.dicts() == [{"org": "ex:nato"}]
    assert result.column("x") == [None]
    assert result.triples is None and not result.is_graph
    assert result == Result(vars=["org", "x"], rows=[row])
    assert Result(boolean=True).boolean is True and Result().rows == []


def test_rows_from_an_iterator_are_read_once_and_cached():
    rows = [(Term.literal(str(i)),) for i in range(5)]
    source, pulled = counting(rows)
    result = Result(vars=["n"], rows=source)
    assert pulled == [0], "nothing is read before someone asks"
    assert result.rows == rows and result.rows is result.rows
    assert pulled == [5]
    assert list(result.stream()) == rows == list(result.stream()), "a list streams again"


def test_stream_does_not_materialise_and_is_one_shot():
    rows = [(Term.literal(str(i)),) for i in range(5)]
    source, pulled = counting(rows)
    result = Result(vars=["n"], rows=source)
    stream = result.stream()
    assert next(stream) == rows[0] and pulled == [1]
    assert "<stream>" in repr(result)
    with pytest.raises(RuntimeError, match="streamed already"):
        result.stream()
    with pytest.raises(RuntimeError, match="streamed already"):
        _ = result.rows


def test_a_cursor_that_fails_half_way_is_not_taken_for_the_whole_answer():
    def cursor():
        yield (Term.literal("1"),)
        raise TimeoutError("the engine gave up")

    result = Result(vars=["n"], rows=cursor())
    with pytest.raises(TimeoutError):
        _ = result.rows
    with pytest.raises(RuntimeError, match="streamed already"):
        _ = result.rows


def test_triples_stream_and_materialise_like_rows():
    triple = (Term.iri(EX + "a"), Term.iri(EX + "p"), Term.literal("o"))
    lazy = Result(triples=iter([triple]))
    assert lazy.is_graph
    assert list(lazy.stream_triples()) == [triple]
    with pytest.raises(RuntimeError):
        _ = lazy.triples
    cached = Result(triples=(t for t in [triple]))
    assert cached.triples == [triple] and list(cached.stream_triples()) == [triple]
    assert list(Result(vars=["x"]).stream_triples()) == []


def test_pickling_materialises():
    result = Result(vars=["n"], rows=((Term.literal(str(i)),) for i in range(3)))
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result and copy.rows == [(Term.literal(str(i)),) for i in range(3)]


def test_unknown_format_is_refused_before_any_output():
    with pytest.raises(UsageError, match="unknown result format 'pdf'"):
        render_chunks(Result(vars=["x"]), "pdf")  # no next(): refused at the call


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_is_the_chunks_joined(fmt):
    assert render(corpus_result(), fmt) == "".join(render_chunks(corpus_result(), fmt))


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "xml", "table"])
def test_renderers_pull_rows_as_they_write(fmt):
    rows = [(Term.literal(f"row {i:04}"),) for i in range(3000)]
    source, pulled = counting(rows)
    chunks = render_chunks(Result(vars=["x"], rows=source), fmt)
    first = next(chunks)
    if fmt == "table":
        assert pulled == [1000], "the table reads its sample of rows, no more"
        assert first.startswith("x")
    else:
        assert pulled[0] <= 1, f"{fmt} read {pulled[0]} rows before its first piece"
    text = first + "".join(chunks)
    assert pulled == [3000] and "row 2999" in text


# --- memory ----------------------------------------------------------------------------

MILLION = 1_000_000
MEMORY_LIMIT = 50 * 2**20

# Run in a fresh interpreter: its peak resident size (ru_maxrss) before and after is the
# memory the rendering took, all of it (Python objects, C buffers), untouched by what
# earlier tests allocated. tracemalloc would see Python objects only, and tracing every
# allocation made these two renderings take 50 s instead of about 5.
MEMORY_SCRIPT = """
import json, resource, sys
from kg.results import Result, render_chunks
from kg.terms import Term

def peak():
    # VmHWM, where Linux has it: ru_maxrss keeps the peak of the process that forked this
    # one (pytest, large late in a run), because Linux carries it across exec.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes there, KiB on Linux

def million_rows():  # a new term per row, as an engine's cursor gives them
    iri = Term.iri("https://w3id.org/kg-diplo/id/azerbaijan")
    label = Term.literal("Azerbaijan", lang="en")
    integer = "http://www.w3.org/2001/XMLSchema#integer"
    for i in range(1_000_000):
        yield (iri, Term.literal(str(i), integer), label)

mode = sys.argv[1]
before = peak()
chunks = size = 0
last = ""
if mode == "hold":  # the control: what keeping the rows costs
    chunks = len(list(million_rows()))
else:
    for piece in render_chunks(Result(vars=["state", "n", "label"], rows=million_rows()), mode):
        chunks += 1
        size += len(piece)
        last = piece
print(json.dumps({"growth": peak() - before, "chunks": chunks, "size": size, "last": last}))
"""


def memory_run(mode: str) -> dict:
    pytest.importorskip("resource")
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_holding_a_million_rows_would_exceed_the_memory_limit():
    """The control that gives the next test its teeth."""
    run = memory_run("hold")
    assert run["chunks"] == MILLION
    assert run["growth"] > 2 * MEMORY_LIMIT, f"{run['growth'] / 2**20:.0f} MiB"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_million_rows_render_in_bounded_memory(fmt):
    """Streaming, not speed: the rows are rendered as they come and the pieces
    discarded, so memory stays far below what holding the rows takes."""
    run = memory_run(fmt)
    growth = run["growth"]
    assert growth < MEMORY_LIMIT, f"rendering {fmt} grew by {growth / 2**20:.1f} MiB"
    assert run["chunks"] > MILLION and run["size"] > 40 * MILLION
    if fmt == "json":  # the document was finished
        assert run["last"] == "\n    ]\n  }\n}\n"
    else:
        assert run["last"] == f"{EX}azerbaijan,999999,Azerbaijan\r\n"


# --- faithful formats: JSON, CSV, TSV carry every character ---------------------------


def _old_json(result: Result) -> str:
    """The JSON document as kg wrote it before streaming (json.dumps of the whole)."""
    if result.boolean is not None:
        return json.dumps({"head": {}, "boolean": result.boolean}, indent=2) + "\n"
    bindings = []
    for row in result.rows:
        binding = {}
        for var, term in zip(result.vars, row, strict=True):
            if term is not None:
                cell = {"type": term.kind, "value": term.value}
                if term.lang:
                    cell["xml:lang"] = term.lang
                elif term.datatype:
                    cell["datatype"] = term.datatype
                binding[var] = cell
        bindings.append(binding)
    doc = {"head": {"vars": result.vars}, "results": {"bindings": bindings}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    "result",
    [
        corpus_result(),
        Result(vars=["x", "y"]),
        Result(),
        Result(vars=["x"], rows=[(None,), (Term.literal("1"),), (None,)]),
        Result(boolean=True),
        Result(boolean=False),
    ],
    ids=["corpus", "no rows", "no vars", "unbound", "true", "false"],
)
def test_json_is_what_json_dumps_wrote(result):
    assert render(result, "json") == _old_json(result)


def test_json_round_trips_every_term():
    doc = json.loads(render(corpus_result(), "json"))
    assert doc["head"]["vars"] == VARS
    for binding, term in zip(doc["results"]["bindings"], CORPUS, strict=True):
        cell = binding["a"]
        assert (cell["type"], cell["value"]) == (term.kind, term.value)
        assert cell.get("xml:lang") == term.lang and cell.get("datatype") == term.datatype


def test_json_writes_a_lone_surrogate_as_an_escape():
    text = render(Result(vars=["x"], rows=[(Term.literal("a\ud800b"),)]), "json")
    text.encode("utf-8")  # printable as UTF-8
    assert json.loads(text)["results"]["bindings"][0]["x"]["value"] == "a\ud800b"


def test_csv_round_trips_every_value():
    text = render(corpus_result(), "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == VARS
    for row, term in zip(rows[1:], CORPUS, strict=True):
        assert row[0] == ("_:" + term.value if term.kind == "bnode" else term.value)
    assert [r[1] for r in rows[1:3]] == ["0", ""]


def _parse_nt(cell: str) -> Term | None:
    """One N-Triples term as SPARQL TSV writes it (empty: unbound)."""
    if cell == "":
        return None
    if cell.startswith("<") and cell.endswith(">"):
        return Term.iri(_unescape(cell[1:-1]))
    if cell.startswith("_:"):
        return Term("bnode", cell[2:])
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?', cell, re.S)
    assert m, f"not an N-Triples term: {cell!r}"
    return Term.literal(_unescape(m[1]), m[3], m[2])


def _unescape(text: str) -> str:
    simple = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'"}
    simple["\\"] = "\\"
    return re.sub(
        r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)",
        lambda m: chr(int(m[1][1:], 16)) if len(m[1]) > 1 else simple[m[1]],
        text,
        flags=re.S,
    )


def test_tsv_round_trips_every_term():
    text = render(corpus_result(), "tsv")
    lines = text.split("\n")  # the TSV record separator; \x85, \u2028... are data
    assert lines[0] == "?a\t?b" and lines[-1] == ""
    rows = [line.split("\t") for line in lines[1:-1]]
    assert all(len(row) == 2 for row in rows), "tabs and newlines in values are escaped"
    for row, term in zip(rows, CORPUS, strict=True):
        assert _parse_nt(row[0]) == term
    assert _parse_nt(rows[0][1]) == Term.literal("0") and rows[1][1] == ""


def test_tsv_escapes_tab_newline_and_quotes():
    term = Term.literal('say "hi"\tthen\nleave\r\\', lang="en")
    assert render(Result(vars=["x"], rows=[(term,)]), "tsv") == (
        '?x\n"say \\"hi\\"\\tthen\\nleave\\r\\\\"@en\n'
    )


# --- XML: always well-formed; the only lossy format ------------------------------------

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def test_xml_is_well_formed_for_every_literal():
    root = ET.fromstring(render(corpus_result(), "xml"))
    names = [v.get("name") for v in root.iter(SPARQL_NS + "variable")]
    assert names == VARS
    results = root.findall(f"{SPARQL_NS}results/{SPARQL_NS}result")
    assert len(results) == len(CORPUS)
    for result, term in zip(results, CORPUS, strict=True):
        binding = result.find(f"{SPARQL_NS}binding[@name='a']")
        (node,) = list(binding)
        assert node.tag == SPARQL_NS + term.kind
        # Only what XML cannot carry is replaced; \r, tabs, C1 controls, non-BMP survive.
        assert (node.text or "") == XML_FORBIDDEN.sub("\ufffd", term.value)
        assert node.get(XML_LANG) == term.lang
        assert node.get("datatype") == term.datatype
    assert len(results[1].findall(SPARQL_NS + "binding")) == 1, "unbound b is left out"


def test_xml_keeps_carriage_returns_and_replaces_what_it_cannot_carry():
    term = Term.literal("a\r\nb\x00c\x1bd\x7fe\x85f\ufffeg")
    text = render(Result(vars=["x"], rows=[(term,)]), "xml")
    assert "&#13;" in text
    literal = ET.fromstring(text).find(f".//{SPARQL_NS}literal")
    assert literal.text == "a\r\nb\ufffdc\ufffdd\x7fe\x85f\ufffdg"


def test_xml_boolean():
    root = ET.fromstring(render(Result(boolean=False), "xml"))
    assert root.find(SPARQL_NS + "boolean").text == "false"


# --- the table: safe on a terminal, widths that fit -------------------------------------

TERMINAL_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
WHITESPACE = {"\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85"}


def test_table_never_prints_control_characters_or_bidi_overrides():
    text = render(corpus_result(), "table")
    assert not TERMINAL_UNSAFE.search(text), TERMINAL_UNSAFE.search(text)
    lines = text.split("\n")
    assert len(lines) == len(CORPUS) + 4, "one line per row: newlines in data collapse"


@pytest.mark.parametrize("code", [*range(0xA0), *map(ord, BIDI)])
def test_table_cell_for_each_control_character(code):
    char = chr(code)
    text = render(Result(vars=["x"], rows=[(Term.literal(f"a{char}b"),)]), "table")
    cell = text.split("\n")[2]
    if char in WHITESPACE:
        assert cell == "a b", "whitespace runs collapse to one space"
    elif code < 0x20 or 0x7F <= code <= 0x9F:
        assert cell == f"a\\x{code:02x}b"
    elif code >= 0x100:
        assert cell == f"a\\u{code:04x}b"
    else:
        assert cell == f"a{char}b"


def test_table_shows_an_escape_sequence_as_text():
    text = render(Result(vars=["x"], rows=[(Term.literal("\x1b[31mred\x1b[0m\u202eok"),)]), "table")
    assert text.split("\n")[2] == "\\x1b[31mred\\x1b[0m\\u202eok"


def test_table_layout_is_unchanged():
    rows = [
        (Term.iri(EX + "nato"), Term.literal("North Atlantic\nTreaty   Organization", lang="en")),
        (Term.iri(EX + "eapc"), None),
    ]
    assert render(Result(vars=["org", "name"], rows=rows), "table") == (
        "org      name\n"
        "-------  ----------------------------------\n"
        "ex:nato  North Atlantic Treaty Organization\n"
        "ex:eapc\n"
        "(2 rows)\n"
    )
    assert render(Result(vars=["x"]), "table") == "x\n-\n(0 rows)\n"
    assert render(Result(vars=["x"], rows=[(None,)]), "table") == "x\n-\n\n(1 row)\n"
    assert render(Result(boolean=True), "table") == "yes\n"


def test_table_caps_cells_at_70_characters_without_a_terminal():
    result = Result(vars=["x", "y"], rows=[(Term.literal("x" * 100), Term.literal("y"))])
    text = render(result, "table")
    row = text.split("\n")[2]
    assert row == "x" * (TABLE_CELL_MAX - 1) + "…  y"


def render_table(result: Result, width: int | None = None) -> str:
    return render(result, "table", width=width)


def test_table_widths_come_from_the_first_thousand_rows():
    rows = [(Term.literal("short"), Term.literal(str(i))) for i in range(1000)]
    rows.append((Term.literal("a much longer cell that arrives late"), Term.literal("end")))
    lines = render_table(Result(vars=["text", "n"], rows=iter(rows))).split("\n")
    assert lines[1] == "-----  ---"
    assert lines[1002] == "a mu…  end", "a later, longer cell is cut to the column"
    assert lines[1003] == "(1001 rows)"


def test_table_fits_the_terminal_width():
    rows = [(Term.literal("id"), Term.literal("b" * 100), Term.literal("c" * 50))] * 3
    text = render_table(Result(vars=["id", "long", "medium"], rows=rows), width=80)
    lines = text.split("\n")
    assert max(len(line) for line in lines) <= 80
    assert [len(d) for d in lines[1].split("  ")] == [2, 37, 37], "narrow column kept whole"
    assert lines[2] == "id  " + "b" * 36 + "…  " + "c" * 36 + "…"
    # A wide terminal shows long cells whole (no 70-character cap).
    assert "b" * 100 in render_table(Result(vars=["id", "long", "medium"], rows=rows), width=200)


def test_table_columns_keep_a_minimum_on_a_narrow_terminal():
    rows = [tuple(Term.literal(c * 40) for c in "abcd")]
    lines = render_table(Result(vars=list("abcd"), rows=rows), width=30).split("\n")
    assert [len(d) for d in lines[1].split("  ")] == [TABLE_COLUMN_MIN] * 4
    assert lines[2].split("  ")[0] == "a" * (TABLE_COLUMN_MIN - 1) + "…"


def _columns(text: str) -> int:
    """Terminal columns of *text*, computed independently of kg.results."""
    return sum(
        0
        if unicodedata.category(c) in ("Mn", "Me")
        else 2
        if unicodedata.east_asian_width(c) in "WF"
        else 1
        for c in text
    )


def test_table_aligns_wide_characters():
    rows = [(Term.literal("日本語"), Term.literal("x")), (Term.literal("abc"), Term.literal("y"))]
    rows.append((Term.literal("e\u0301te\u0301"), Term.literal("z")))
    lines = render_table(Result(vars=["name", "v"], rows=rows)).split("\n")
    ends = {_columns(line[: line.rindex(" ") + 1]) for line in lines[2:5]}
    assert ends == {_columns(lines[0][: lines[0].rindex(" ") + 1])}, lines[:5]
    cut = render_table(Result(vars=["n"], rows=[(Term.literal("日本語" * 10),)]), width=14)
    assert cut.split("\n")[2] == "日本語日本語…", "13 columns: a seventh wide one would overflow"


# --- CONSTRUCT / DESCRIBE ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_triples_are_n_triples_safe_to_print(fmt):
    subject, predicate = Term.iri(EX + "s"), Term.iri(EX + "p")
    objects = [t for t in CORPUS if t.kind == "literal"]
    result = Result(triples=((subject, predicate, o) for o in objects))
    text = render(result, fmt)
    assert not TERMINAL_UNSAFE.search(text)
    lines = text.split("\n")[:-1]
    assert len(lines) == len(objects)
    for line, term in zip(lines, objects, strict=True):
        s, p, o = line.split(" ", 2)
        assert (s, p) == (subject.n3(), predicate.n3()) and o.endswith(" .")
        assert _parse_nt(o[:-2]) == term
