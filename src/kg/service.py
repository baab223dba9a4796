"""Refusing SPARQL ``SERVICE`` calls to endpoints the project has not allowed.

``SERVICE <http://host/sparql> { ... }`` makes the engine send an HTTP request to any
address the query names: once kg answers queries for others, that is a server-side
request forgery, and it breaks the promise that nothing goes on the network. Neither
engine can be told not to: pyoxigraph 0.5 has no hook to disable or filter ``SERVICE``
and rdflib calls ``urlopen`` itself. So kg reads the query before running it and
refuses every ``SERVICE`` whose endpoint is not listed under ``[query] services`` in
``kg.toml`` (none by default); ``SERVICE ?var`` is always refused, since which address
it calls is only known while the query runs.

The decision is taken on parsed readings of the query, and on every reading an engine
could make of it, because the two engines do not read every text alike:

- rdflib's parse and algebra (:func:`_rdflib_endpoints`), for the reference engine. Its
  ``SERVICE`` evaluation does not call the IRI it parsed but the first
  ``SERVICE <...> {`` found in the text (``service_string``, even inside a string
  literal), so that address is checked too.
- Oxigraph's reading (:func:`_oxigraph_endpoints`): rdflib expands ``\\u0022`` before
  tokenizing while Oxigraph reads it as a character of a string, Oxigraph ends comments
  at ``\\r`` and rdflib does not, and Oxigraph's keywords need no boundary
  (``trueSERVICE <x> {``, ``SERVICESILENT<x>``, ``SERVICE:x`` all call out), so a
  query can hold a ``SERVICE`` for Oxigraph that rdflib parses without one. kg finds
  Oxigraph's clauses with a lexer that mirrors Oxigraph's tokens, reading an ambiguous
  ``<`` (an IRI, or less-than in ``FILTER(?a<'x>')``) both ways, and lets Oxigraph itself
  resolve each endpoint against the query's own ``PREFIX`` and ``BASE`` declarations.

Both readings must pass. A cheap lexical scan runs first: when no reading of the text
can hold the keyword (nothing outside comments, strings, IRIs and variables spells it),
nothing else is done, so ``kg query`` does not pay for importing rdflib (~0.3 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kg.errors import UsageError, shown

#: One token of SPARQL as Oxigraph splits it (see kg.sparql_text, which this mirrors).
#: Where a class differs from the grammar it errs towards showing more text as code:
#: comments end at CR or LF, a backslash always escapes the next character (PN_LOCAL_ESC
#: ``e:x\\#y`` is not a comment), an unterminated string is not a string.
_IRI = r"<(?:[^<>\"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>"
_TOKEN = re.compile(
    rf"""
    (?P<comment>\#[^\r\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
      |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri>{_IRI})
  | (?P<var>[?$](?:[A-Za-z0-9_]|[^\x00-\x7f\s])+)
  | (?P<word>(?:[A-Za-z0-9_.:%\-]|[^\x00-\x7f\s]|\\.)+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
#: An IRI whose text cannot also be read as ``<`` followed by an expression: after a
#: scheme, ``//`` is never valid SPARQL code.
_HIERARCHICAL = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*://")
#: How many readings of ambiguous ``<`` the scan follows before it stops telling code
#: from comments and strings and looks at every occurrence of the keyword.
_MAX_READINGS = 32
#: The keyword, as rdflib matches it (str.upper: a long s, U+017F, upper-cases to S).
_KEYWORD = re.compile(r"service", re.IGNORECASE)
#: The keyword as Oxigraph matches it: ASCII letters in any case.
_KEYWORD_ASCII = re.compile(r"service", re.IGNORECASE | re.ASCII)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-f]{4}(?:[0-9a-f]{4})?)", re.IGNORECASE)

#: After the keyword, the rest of a clause: [SILENT] endpoint GroupGraphPattern. Spaces
#: are optional (Oxigraph reads ``SERVICESILENT<x>{``); a prefixed name needs a colon.
_SKIP = r"(?:\s|\#[^\r\n]*)*+"
_PN = r"(?:[^\s{}#<>\"'()\[\],;\\]|\\.)"
_ENDPOINT = rf"(?:(?P<iri>{_IRI})|(?P<var>[?$][^\s{{}}#]*+)|(?P<pname>{_PN}++))"
_CLAUSE = (
    re.compile(rf"{_SKIP}(?ai:silent){_SKIP}{_ENDPOINT}{_SKIP}\{{"),
    re.compile(rf"{_SKIP}{_ENDPOINT}{_SKIP}\{{"),
)
#: The prologue (BASE and PREFIX declarations), then the query form.
_PROLOGUE = re.compile(
    rf"(?:{_SKIP}(?:(?ai:base){_SKIP}{_IRI}|(?ai:prefix){_SKIP}[^\s:<>{{}}#\"'()]*:{_SKIP}{_IRI}))*"
    rf"{_SKIP}(?=(?ai:select|ask|construct|describe))"
)
#: What rdflib's evaluation takes the endpoint from (rdflib.plugins.sparql.evaluate).
_RDFLIB_SERVICE_STRING = re.compile(r"^service <(.*)>[ \n]*{(.*)}[ \n]*$", re.DOTALL | re.I)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
#: An endpoint as kg.toml accepts it (kg.project), to suggest the exact line to add.
_ALLOWABLE = re.compile(r"https?://[^\s<>\"{}|^`\\]+")


def check_services(
    text: str, *, prefixes: Mapping[str, str] | None, allowed: Sequence[str]
) -> None:
    """Raise :class:`UsageError` unless every ``SERVICE`` in *text* calls an endpoint in
    *allowed* (exact IRIs, after resolving prefixes and ``BASE``).

    *prefixes* are the prefixes predeclared for the query (as the engines get them).
    ``SERVICE ?var`` is always refused, and so is a query holding the keyword that
    cannot be parsed: what it would call cannot be checked.
    """
    oxigraph_keywords = _keyword_positions(text, _KEYWORD_ASCII)
    expanded = _expand_escapes(text) if "\\" in text else text
    if not oxigraph_keywords and not _keyword_positions(expanded, _KEYWORD):
        return  # no reading of the text holds the keyword: no SERVICE clause
    from kg.store import refuse_updates

    refuse_updates(text)  # an update gets its own message, not a parse error
    allowed_set = frozenset(allowed)
    # Oxigraph's reading first: it is cheap (no rdflib), and most queries stop there
    for endpoint in _oxigraph_endpoints(text, oxigraph_keywords, prefixes):
        _require_allowed(endpoint, allowed_set)
    for endpoint in _rdflib_endpoints(text, prefixes):
        _require_allowed(endpoint, allowed_set)


# -- the lexical scan -------------------------------------------------------------------


def _keyword_positions(text: str, keyword: re.Pattern[str]) -> set[int]:
    """Where *keyword* starts in *text* at a place some reading could take as code.

    Skipped: comments, strings, variables, IRIs, and the keyword after a colon in the
    same word (``ex:service`` is a prefixed name to every parser: its local part is read
    greedily). Before the colon it is not skipped: Oxigraph reads ``SERVICE:x`` as the
    keyword then ``:x``. An IRI holding ``'`` or ``#`` that could also be less-than
    followed by code is read both ways; past :data:`_MAX_READINGS` readings, every
    occurrence counts.
    """
    if not keyword.search(text):
        return set()
    found: set[int] = set()
    starts, seen = [0], set()
    while starts:
        start = starts.pop()
        if start in seen:
            continue
        seen.add(start)
        if len(seen) > _MAX_READINGS:
            return {m.start() for m in keyword.finditer(text)}
        for match in _TOKEN.finditer(text, start):
            kind, token = match.lastgroup, match.group()
            if kind == "word":
                colon = token.find(":")
                for hit in keyword.finditer(token):
                    if colon == -1 or hit.start() < colon:
                        found.add(match.start() + hit.start())
            elif kind == "iri" and _ambiguous(token):
                starts.append(match.start() + 1)  # the other reading: "<" is code
    return found


def _ambiguous(iri: str) -> bool:
    """Whether *iri* could also be ``<`` then code in which a string or comment starts
    (``FILTER(?a<'x>')``): the two readings then differ after it."""
    return ("'" in iri or "#" in iri) and not _HIERARCHICAL.match(iri)


def _expand_escapes(text: str) -> str:
    r"""*text* with ``\uXXXX`` and ``\UXXXXXXXX`` replaced, everywhere, as rdflib does
    before parsing (an escape that is no code point is left: rdflib fails on it)."""

    def expand(match: re.Match[str]) -> str:
        try:
            return chr(int(match.group(1), 16))
        except (ValueError, OverflowError):
            return match.group()

    return _UNICODE_ESCAPE.sub(expand, text)


# -- rdflib's reading -------------------------------------------------------------------


@dataclass(frozen=True)
class _Endpoint:
    """What a SERVICE clause would call: an IRI, a variable (known only at run time), or
    text kg could not resolve to an IRI; *how* says where a surprising one came from."""

    value: str
    kind: str = "iri"  # "iri", "variable" or "unresolved"
    how: str = ""


def _rdflib_endpoints(text: str, prefixes: Mapping[str, str] | None) -> list[_Endpoint]:
    """The endpoints rdflib would call: each ``SERVICE`` node's IRI (or variable), found
    anywhere in the parse tree and the algebra, and the address rdflib's evaluation
    actually takes from the node's ``service_string``."""
    from rdflib import Variable
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(text)
        query = translateQuery(tree, initNs=dict(prefixes or {}))
    except Exception as exc:  # pyparsing's ParseException, an undefined prefix...
        why = " ".join(str(exc).split())
        raise UsageError(
            "this query holds the keyword SERVICE, which makes the engine call a remote "
            f"endpoint, and kg could not parse it to check which endpoint ({shown(why, 120)}); "
            "kg refuses it rather than risk sending a request to an address the project "
            "has not allowed. Fix the query, or drop SERVICE."
        ) from None
    nodes: dict[int, Any] = {}
    _collect_services(tree, nodes, set())
    _collect_services(query.algebra, nodes, set())
    endpoints: list[_Endpoint] = []
    for node in nodes.values():
        term = query.prologue.absolutize(dict.get(node, "term"))
        if isinstance(term, Variable):
            endpoints.append(_Endpoint(f"?{term}", "variable"))
        else:
            endpoints.append(_Endpoint(str(term)))
        match = _RDFLIB_SERVICE_STRING.match(str(dict.get(node, "service_string", "")))
        if match and _SCHEME.match(match.group(1)):  # urlopen refuses a relative URL
            endpoints.append(_Endpoint(match.group(1), how=_RDFLIB_HOW))
    return endpoints


_RDFLIB_HOW = (
    " (the reference engine, rdflib, calls the address of the first 'SERVICE <...> {' in "
    "the text, even one inside a string literal, whatever the clause it runs says)"
)


def _collect_services(node: Any, found: dict[int, Any], seen: set[int]) -> None:
    """Every ``ServiceGraphPattern`` under *node*, however deep (OPTIONAL, UNION, MINUS,
    GRAPH, subqueries, FILTER EXISTS...): a generic walk, so no construct is missed."""
    if isinstance(node, (str, bytes)) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):  # rdflib's CompValue and Expr
        if getattr(node, "name", None) == "ServiceGraphPattern":
            found[id(node)] = node
        for value in dict.values(node):
            _collect_services(value, found, seen)
    elif isinstance(node, (list, tuple, set, frozenset)) or type(node).__name__ == "ParseResults":
        for item in node:
            _collect_services(item, found, seen)


# -- Oxigraph's reading -----------------------------------------------------------------


def _oxigraph_endpoints(
    text: str, keywords: set[int], prefixes: Mapping[str, str] | None
) -> Iterator[_Endpoint]:
    """The endpoints of the clauses Oxigraph could read at *keywords* (both readings of
    ``SERVICE silent:x {``), resolved by Oxigraph itself."""
    for position in sorted(keywords):
        for clause in _CLAUSE:
            match = clause.match(text, position + len("service"))
            if match is None:
                continue
            if match.group("var") is not None:
                yield _Endpoint(match.group("var"), "variable")
            elif match.group("iri") is not None or ":" in match.group("pname"):
                written = match.group("iri") or match.group("pname")
                yield _resolve(text, written, prefixes)


def _resolve(text: str, written: str, prefixes: Mapping[str, str] | None) -> _Endpoint:
    """The IRI Oxigraph makes of *written* (an IRI or prefixed name) in *text*: Oxigraph
    evaluates ``BIND(written AS ?e)`` under the query's own prologue, on an empty
    in-memory store, so its own PREFIX, BASE and escape rules apply."""
    import pyoxigraph as ox

    unresolved = _Endpoint(written, "unresolved")
    prologue = _PROLOGUE.match(text)
    if prologue is None:
        return unresolved
    probe = f"{prologue.group()}\nSELECT ?e WHERE {{ BIND({written} AS ?e) }}"
    try:
        rows = list(ox.Store().query(probe, prefixes=dict(prefixes) if prefixes else None))
    except (SyntaxError, ValueError, OSError):
        return unresolved
    term = rows[0]["e"] if rows else None
    return _Endpoint(term.value) if isinstance(term, ox.NamedNode) else unresolved


# -- verdicts ---------------------------------------------------------------------------


def _require_allowed(endpoint: _Endpoint, allowed: frozenset[str]) -> None:
    """Raise the message that fits unless *endpoint* is an allowed IRI."""
    if endpoint.kind == "variable":
        raise UsageError(
            f"SERVICE {shown(endpoint.value)} takes its endpoint from a variable, so which "
            "address it would call is only known while the query runs; kg refuses it, "
            "because it sends nothing over the network to an address the project has not "
            'allowed. Write the endpoint\'s IRI instead, and allow it with services = ["http://…"] '
            "under [query] in kg.toml."
        )
    if endpoint.kind == "unresolved":
        raise UsageError(
            f"kg cannot tell which IRI SERVICE {shown(endpoint.value, 120)} calls in this "
            "query, so it refuses it rather than risk a request to an address the project "
            "has not allowed. Write the endpoint as a full IRI <http://…> listed under "
            "services in [query] in kg.toml."
        )
    if endpoint.value in allowed:
        return
    iri = endpoint.value
    line = f'services = ["{iri}"]' if _ALLOWABLE.fullmatch(iri) else 'services = ["http://…"]'
    raise UsageError(
        f"this query calls the remote endpoint {shown(iri, 120)} with SERVICE"
        f"{endpoint.how}, and kg sends nothing over the network to an address the project "
        f"has not allowed. If you trust that endpoint, allow it with {line} under [query] "
        "in kg.toml."
    )


#: Wikidata's SPARQL endpoint, as stored queries write it in ``SERVICE <...>``.
WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"


def with_endpoint(text: str, endpoint: str) -> str:
    """*text* with every ``SERVICE <https://query.wikidata.org/sparql>`` calling
    *endpoint* instead (kg.toml's ``[wikidata] sparql``: another Wikibase, or a test's
    server on 127.0.0.1). Only the IRI token is replaced, never text in a string or a
    comment; *endpoint* was checked as an http(s) IRI when kg.toml was read, and is
    written as an N-Triples IRI."""
    from kg.sparql_text import _TOKEN
    from kg.terms import Term

    wanted, replacement = f"<{WIKIDATA_SPARQL}>", Term.iri(endpoint).n3()
    return "".join(
        replacement if m.lastgroup == "iri" and m.group() == wanted else m.group()
        for m in _TOKEN.finditer(text)
    )
