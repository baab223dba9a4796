"""Every parameter of every stored query, given hostile values: the answer is a result or a
usage error (exit 2), never an internal error (exit 3), never a value spliced into the
query, and never a message that repeats a huge or terminal-rewriting value.

The queries and their parameters are read from ``queries/`` when the tests run, so a new
stored query is covered without touching this file. The bulk goes through the library
(fast); a sample goes through the CLI to check exit codes and what reaches stderr.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.errors import KgError, UsageError
from kg.graph import KnowledgeGraph
from kg.namespaces import expand
from kg.queries import YEARS, Param, StoredQuery, load_queries, to_term
from kg.resolve import check_iri
from kg.results import Result
from kg.store_oxigraph import OxigraphStore
from kg.store_rdflib import RdflibStore
from kg.terms import Term
from tests.conftest import ROOT, invoke

MB = 1_000_000

#: What a message must never hold raw: controls (C0, DEL, C1, but for the line breaks and
#: tabs a message may use between its own lines), lone surrogates, bidirectional controls.
MESSAGE_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
MESSAGE_LIMIT = 500


def arabic_digits(text: str) -> str:
    """*text* with Arabic-Indic digits: Python's \\d matches them, XSD does not."""
    return "".join(chr(0x660 + int(c)) if c.isdigit() else c for c in text)


FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "Azerbaijan")  # looks like the label
ARABIC_DATE = arabic_digits("2025-01-31")

INJECTIONS = [
    "ex:a> } ; DROP ALL #",
    "ex:azerbaijan> } UNION { ?s ?p ?o",
    "ex:azerbaijan>}UNION{?s?p?o}#",
    '" } UNION { ?s ?p ?o } #',
    "' } UNION { ?s ?p ?o } #",
    '""") } UNION { ?s ?p ?o } #',
    "x') || true || ('",
    'x\\" } UNION { ?s ?p ?o',
    # SPARQL \u escapes as text: an engine that decoded them before parsing would see a quote
    "\\u0022 } UNION { ?s ?p ?o } #",
    "\\U00000022 } UNION { ?s ?p ?o } #",
    "ex:a\\u003E } UNION { ?s ?p ?o",
    "<https://w3id.org/kg-diplo/id/azerbaijan> } UNION { ?s ?p ?o } #",
    "<https://w3id.org/kg-diplo/id/azerbaijan>}",
    "https://w3id.org/kg-diplo/id/azerbaijan>",
    "<https://w3id.org/kg-diplo/id/azerbaijan",
    "?s",
    "?_state_iri",
    "$s",
    "*",
    "VALUES ?s { 1 }",
    "SERVICE <http://127.0.0.1/> { ?s ?p ?o }",
    "# comment",
    "}",
    "{",
    ").",
]
CHARACTERS = [
    '"',
    "'",
    "\\",
    "\\\\",
    "\n",
    "a\r\nb",
    "\t",
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x7f",
    "\x85",
    "\x9b31m",
    "\u202eesrever",
    "\u2066x\u2069",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\u00a0",
    "\udcff",  # what Python makes of an invalid UTF-8 byte on the command line
    "Azerbaijan\udcff",
    "\ud800",
    "\ufffe",
    "\ue000",
    "\U0010ffff",
    "\U0001f600",
    FULLWIDTH,
    "AZERBAIJAN",
    "e\u0301",
]
IRI_FORMS = [
    "",
    " ",
    "   ",
    "\t\n",
    "<>",
    "< >",
    "<relative>",
    "relative",
    "urn:x",
    "<urn:x>",
    "file:///etc/passwd",
    "<file:///etc/passwd>",
    "http://127.0.0.1/",
    "http://[::1",
    "http://a/%zz",
    "https://example.org/nothing",
    "<https://example.org/nothing>",
    "https://",
    "mailto:x@example.org",
    "javascript:alert(1)",
    "ex:",
    "ex:%",
    ":",
    "::",
    "ex::",
    "nope:thing",
    'ex:a"b',
    "ex:a}",
    "ex:a{",
    "ex:a|b",
    "ex:a^b",
    "ex:a`b",
    "ex:a\\b",
    "ex:a#b",
    "ex:a\nb",
    "ex:a\x1b[31m",
    "ex:\x00",
    "ex:a\u202e",
    "ex:a\x85",
]
TYPED = [
    "2025-02-31",
    "2023-02-29",
    "2024-02-29",
    "2025-04-31",
    "0000-01-01",
    "10000-01-01",
    "99999-12-31",
    "-0001",
    "-0001-01-01",
    "+2025-01-31",
    "02025-01-31",
    "2025",
    "2025-13",
    "2025-00-10",
    "2025-1-1",
    "20250131",
    "2025-W05-5",
    "2025-01-31Z",
    "2025-01-31T25:00:00Z",
    "2025-01-31\n",
    " 2025-01-31 ",
    ARABIC_DATE,
    "1e999",
    "NaN",
    "INF",
    "-INF",
    "0",
    "1",
    "true",
    "9" * 400,
]
LONG = [
    "a" * MB,
    '"' * MB,
    "ex:" + "a" * MB,
    "<https://x.example/" + "a" * MB + ">",
    "2025-01-31" + " " * MB,
    "} " * (MB // 2),
]
HOSTILE = INJECTIONS + CHARACTERS + IRI_FORMS + TYPED + LONG
SUFFIXES = ["", ">", "> } UNION { ?s ?p ?o", '"', "}#", "\n", "\x00", " ", "\udcff", "\u202e"]

#: Every stored query but the federated ones, which call a remote endpoint (no test goes
#: on the network; tests/test_federated.py runs them against one on 127.0.0.1).
QUERIES: dict[str, StoredQuery] = {
    name: q for name, q in load_queries(ROOT / "queries").items() if "SERVICE" not in q.text
}
CASES = [(q.name, p) for q in QUERIES.values() for p in q.params]


def values_for(param: Param) -> list[str]:
    """The shared hostile values, and attacks built on the parameter's own default (which
    resolves: a break-out appended to it is the attack most likely to work)."""
    derived = [param.default + s for s in SUFFIXES] if param.default is not None else []
    if param.kind == "iri" and param.default and expand(param.default):
        derived.append(f"<{expand(param.default)}> }} UNION {{ ?s ?p ?o }} #")
    return HOSTILE + derived


def legitimate(kg: KnowledgeGraph, name: str, param: Param, value: str) -> Result:
    """The result of the plain value *value* stands for, given in its canonical form: the
    resolved IRI in brackets, or the stripped typed text."""
    if param.kind == "iri":
        canonical = "<" + kg.resolve(value) + ">"
    elif param.kind in ("literal",) or param.kind.startswith("@"):
        canonical = value
    else:
        canonical = value.strip()
    return kg.run(name, {param.name: canonical})


def message_problems(text: str) -> Iterator[str]:
    if len(text) > MESSAGE_LIMIT:
        yield f"message of {len(text):,} characters"
    bad = MESSAGE_UNSAFE.search(text)
    if bad:
        yield f"raw {bad.group()!r} in the message"


def short(value: str) -> str:
    return repr(value[:40]) + (f"…({len(value):,})" if len(value) > 40 else "")


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p.name}" for n, p in CASES])
def test_every_hostile_value_gives_a_result_or_a_usage_error(kg, name, param):
    """The bulk: each value through the library, as ``kg query`` runs it."""
    failures: list[str] = []
    answered = 0
    for value in values_for(param):
        try:
            result = kg.run(name, {param.name: value})
        except KgError as exc:
            if exc.exit_code != 2:
                failures.append(f"{short(value)}: exit {exc.exit_code} ({type(exc).__name__})")
            failures += [f"{short(value)}: {p}" for p in message_problems(str(exc))]
            continue
        except Exception as exc:  # what the CLI would report as an internal error (exit 3)
            failures.append(f"{short(value)}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        answered += 1
        # nothing spliced: the rows are those of the plain value it stands for
        if result.rows != legitimate(kg, name, param, value).rows:
            failures.append(f"{short(value)}: rows differ from its plain value's")
    assert not failures, "\n".join(failures)
    # the default (a suffix of '') answers; an optional parameter without a default
    # (timeline's organisation) may be answered by no hostile value at all
    assert answered >= 1 or param.default is None


def _all_triples(kg: KnowledgeGraph) -> int:
    return len(kg.sparql("SELECT * WHERE { ?s ?p ?o }").rows)


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p.name}" for n, p in CASES])
def test_a_break_out_is_an_error_or_the_plain_values_rows(kg, name, param):
    """The attack that matters: a legitimate value followed by text that would close the
    term and the group if it were pasted into the query."""
    default = param.default or ""
    plain = kg.run(name, {param.name: default} if param.default else {}).rows
    everything = _all_triples(kg)
    attacks = [
        f"{default}> }} UNION {{ ?s ?p ?o",
        f"{default}>}}UNION{{?s?p?o}}#",
        f'{default}" }} UNION {{ ?s ?p ?o }} #',
        f'{default}"^^<http://www.w3.org/2001/XMLSchema#date> }} UNION {{ ?s ?p ?o }} #',
        f"{default}\n}} UNION {{ ?s ?p ?o }}",
    ]
    for value in attacks:
        try:
            rows = kg.run(name, {param.name: value}).rows
        except KgError as exc:
            assert exc.exit_code == 2, value
            continue
        assert rows == plain, value
        assert len(rows) < everything, value


LITERAL_KINDS = ["literal", "@en", "integer", "decimal", "double", "boolean"]
LITERAL_KINDS += ["date", "dateTime", "gYear", "gYearMonth"]
ROUND_TRIP = "SELECT ?v WHERE { BIND(?_v AS ?v) }"


@pytest.fixture(scope="module")
def empty_stores() -> list:
    """Both engines, empty: a bound term comes back exactly as it went in, or the binding
    broke out of its place."""
    oxigraph = OxigraphStore(ox.Store(), {"named": [], "union": [], "inferred": "urn:x-inferred"})
    return [oxigraph, RdflibStore({})]


@pytest.mark.parametrize("kind", LITERAL_KINDS)
def test_literal_kinds_bind_every_value_inertly(kind, empty_stores):
    """Stored queries have no text parameters yet; these kinds are checked on their own: a
    value is refused with a UsageError, or bound and read back as one term of its type by
    both engines (text unchanged to the character)."""
    param = Param("v", "_v", True, kind)
    failures: list[str] = []
    for value in HOSTILE:
        try:
            term = to_term(param, value, lambda text: text)
        except UsageError:
            continue
        for store in empty_stores:
            try:
                rows = store.query(ROUND_TRIP, bindings={"_v": term}, inferred=False).rows
            except KgError as exc:
                failures.append(f"{short(value)}: {type(store).__name__}: {exc}"[:300])
                continue
            got = rows[0][0] if len(rows) == 1 else None
            if got is None:
                failures.append(f"{short(value)}: {type(store).__name__}: {len(rows)} rows")
            elif (got.datatype, got.lang) != (term.datatype, term.lang):
                failures.append(f"{short(value)}: came back as {got.datatype} {got.lang}")
            elif got.value != term.value and kind in ("literal", "@en"):
                # text comes back exactly; numbers and dates may come back canonical (-1)
                failures.append(f"{short(value)}: came back as {short(got.value)}")
    assert not failures, "\n".join(failures)


def test_an_iri_kind_binds_only_well_formed_iris(empty_stores):
    """Whatever a resolver returns is checked again before it is bound."""
    param = Param("v", "_v", True, "iri")
    for value in HOSTILE:
        try:
            term = to_term(param, value, lambda text: text.strip())
        except UsageError:
            continue
        rows = empty_stores[0].query(ROUND_TRIP, bindings={"_v": term}, inferred=False).rows
        assert rows == [(term,)], short(value)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("date", "2025-02-31", "February 2025 has days 01 to 28"),
        ("date", "2023-02-29", "February 2023 has days 01 to 28"),
        ("date", "2025-13-01", "there is no month 13"),
        ("date", "0000-01-01", YEARS),
        ("date", "10000-01-01", YEARS),
        ("date", "-0001-01-01", YEARS),
        ("date", ARABIC_DATE, "must be an xsd:date such as '2025-01-31'"),
        ("gYear", "-0001", YEARS),
        ("gYear", "10000", YEARS),
        ("gYear", "0000", YEARS),
        ("gYearMonth", "10000-01", YEARS),
        ("gYearMonth", "2025-00", "there is no month 00"),
        ("dateTime", "10000-01-01T00:00:00Z", YEARS),
        ("dateTime", "2025-02-30T12:00:00Z", "February 2025 has days 01 to 28"),
        ("dateTime", "2025-01-31T24:00:00Z", "a time runs from 00:00 to 23:59"),
        ("dateTime", "2025-01-31T12:00:60", "seconds run from 00 to 59"),
        ("dateTime", "2025-01-31T12:00:00+15:00", "a time zone runs from -14:00 to +14:00"),
        ("integer", "4 2", "must be an xsd:integer such as '42'"),
        ("integer", arabic_digits("42"), "must be an xsd:integer"),
    ],
)
def test_typed_values_are_refused_saying_why(kind, value, message):
    with pytest.raises(UsageError) as caught:
        to_term(Param("x", "_x", True, kind), value, lambda text: text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "value", "lexical"),
    [
        ("date", " 2024-02-29 ", "2024-02-29"),
        ("date", "0001-01-01", "0001-01-01"),
        ("date", "9999-12-31", "9999-12-31"),
        ("gYear", "1994", "1994"),
        ("gYearMonth", "2023-09", "2023-09"),
        ("dateTime", "2025-01-31T23:59:59.5+14:00", "2025-01-31T23:59:59.5+14:00"),
        ("integer", " -42 ", "-42"),
        ("double", "1e999", "1e999"),
        ("double", "NaN", "NaN"),
        ("boolean", "true", "true"),
    ],
)
def test_typed_values_that_fit_are_kept_as_given(kind, value, lexical):
    term = to_term(Param("x", "_x", True, kind), value, lambda text: text)
    assert term.value == lexical and term.datatype.endswith("#" + kind)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ex:a>", "is not a valid IRI: it holds '>'"),
        ('ex:a"', "is not a valid IRI: it holds '\"'"),
        ("ex:a\x1b[31m", "is not a valid IRI: it holds the control character \\x1b"),
        ("<https://x.example/\u202e>", "invisible formatting character \\u202e"),
        ("<relative>", "it is not absolute"),
        ("<>", "it is empty"),
        ("<http://a/%zz>", "it is not well formed"),
        ("https://example.org/nothing", "names nothing in the graph"),
        ("<https://example.org/nothing>", "names nothing in the graph"),
        ("https://w3id.org/kg-diplo/id/azerbaijn", "Did you mean ex:azerbaijan"),
        ("\udcff", "not valid UTF-8"),
        ("   ", "the value is empty"),
    ],
)
def test_iri_values_are_refused_saying_why(kg, value, message):
    with pytest.raises(UsageError) as caught:
        kg.run("memberships", {"state": value})
    assert message in str(caught.value)


def test_an_existing_absolute_iri_resolves(kg):
    iri = "https://w3id.org/kg-diplo/id/azerbaijan"
    assert kg.resolve(iri) == kg.resolve(f"<{iri}>") == kg.resolve("ex:azerbaijan") == iri


def test_check_iri_accepts_what_the_engine_accepts():
    for iri in ("urn:x", "https://example.org/日本?a=1&b=2#frag", "file:///etc/passwd"):
        assert check_iri(iri) == iri


def test_term_n3_escapes_controls_and_refuses_surrogates():
    assert Term.literal("a\x00b\x1bc\x85d\ne").n3() == '"a\\u0000b\\u001Bc\\u0085d\\ne"'
    with pytest.raises(ValueError):
        Term.literal("\udcff").n3()
    with pytest.raises(ValueError):
        Term.iri("https://x.example/\x85").n3()


def test_messages_quote_a_megabyte_value_briefly(kg):
    with pytest.raises(UsageError) as caught:
        kg.run("as-of", {"date": "x" * MB})
    assert len(str(caught.value)) < MESSAGE_LIMIT
    assert "1,000,000 characters" in str(caught.value)


def test_hostile_parameter_names_are_quoted_briefly(kg):
    for name in ("\x1b[31m", "a" * MB, "\udcff", "state\n"):
        with pytest.raises(UsageError) as caught:
            kg.run("memberships", {name: "ex:azerbaijan"})
        assert not list(message_problems(str(caught.value))), short(name)


# --- through the CLI -------------------------------------------------------------------

CLI_SAMPLE = [
    "ex:a>",
    'ex:a"',
    "ex:a}",
    "ex:a\n",
    "ex:a\x1b[31m",
    "ex:azerbaijan> } UNION { ?relation ?p ?o } #",
    '" } UNION { ?s ?p ?o } #',
    "https://example.org/nothing",
    "<https://example.org/nothing>",
    "<relative>",
    "file:///etc/passwd",
    "\x00",
    "\udcff",
    "\u202eesrever",
    "",
    "2025-02-31",
    "10000-01-01",
    "a" * MB,
    "ex:" + "a" * MB,
]


@pytest.mark.parametrize(
    ("query", "param"), [("memberships", "state"), ("as-of", "date"), ("timeline", "from")]
)
def test_cli_exits_0_or_2_with_a_short_message(runner, query, param):
    failures: list[str] = []
    for value in CLI_SAMPLE:
        result = invoke(runner, "query", query, "-p", f"{param}={value}")
        out = result.output + result.stderr
        if result.exit_code not in (0, 2):
            failures.append(f"{short(value)}: exit {result.exit_code}")
        if "Traceback" in out or "Internal error" in out:
            failures.append(f"{short(value)}: {out[:200]}")
        if result.exit_code == 2:
            failures += [f"{short(value)}: {p}" for p in message_problems(result.stderr)]
    assert not failures, "\n".join(failures)


def test_cli_names_the_documented_errors(runner):
    result = invoke(runner, "query", "memberships", "-p", "state=ex:a>")
    assert result.exit_code == 2 and "not a valid IRI" in result.stderr
    result = invoke(runner, "query", "memberships", "-p", "state=https://example.org/nothing")
    assert result.exit_code == 2 and "names nothing in the graph" in result.stderr
    result = invoke(runner, "query", "as-of", "-p", "date=2025-02-31")
    assert result.exit_code == 2 and "February 2025 has days 01 to 28" in result.stderr
    result = invoke(runner, "query", "as-of", "-p", "date=10000-01-01")
    assert result.exit_code == 2 and YEARS in result.stderr


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 1
    assert all(len(values_for(p)) >= 40 for _, p in CASES)


def test_queries_folder_is_the_shipped_one():
    assert Path(ROOT / "queries").is_dir() and QUERIES
