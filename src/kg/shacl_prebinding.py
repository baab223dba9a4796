"""SHACL's rules for pre-bound variables in SHACL-SPARQL queries, and the query's syntax
with strings, IRIs and comments blanked (:func:`code`).

Why: kept apart from :mod:`kg.shacl_sparql`, which compiles the queries, because a broken
shapes graph is its own concern: SHACL says a processor MUST report a query that breaks the
pre-binding rules (https://www.w3.org/TR/shacl/#pre-binding), so :func:`prebinding` raises
:class:`~kg.errors.ShapesError` (exit 2), never a fall back to another engine.
"""

from __future__ import annotations

import re

from rdflib import Variable
from rdflib.plugins.sparql.parserutils import CompValue

from kg.errors import ShapesError

SPARQL_TOKEN = re.compile(  # strings, IRIs and comments, in which braces do not count
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*|.'
)


def prebinding(query: str, prefixes: dict[str, str], prebound: set[str], who: str) -> None:
    """Raise :class:`ShapesError` when *query* breaks SHACL's rules for pre-bound variables
    (https://www.w3.org/TR/shacl/#pre-binding): no MINUS, VALUES or SERVICE, no ``AS`` for a
    potentially pre-bound variable, every subquery projecting them all ($shapesGraph and
    $currentShape aside). SHACL says a processor MUST report such a shapes graph as a
    failure; validating with it anyway (or with another engine) would hide the mistake.
    *prebound*: the names besides $shapesGraph and $currentShape. A query rdflib cannot
    parse is left to the callers' checks (a decline: the parser, not the query, may be wrong).
    """
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(query, initNs=prefixes).algebra
    except Exception:  # pyparsing and rdflib errors alike
        return
    rule = "https://www.w3.org/TR/shacl/#pre-binding"
    every = prebound | {"shapesGraph", "currentShape"}
    projected = sorted(f"${n}" for n in prebound)
    stack: list[object] = [algebra["p"]]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack += node
            continue
        if not isinstance(node, CompValue):
            continue
        name = node.name
        word = {"Minus": "MINUS", "values": "VALUES", "ServiceGraphPattern": "SERVICE"}.get(name)
        if word:
            raise ShapesError(f"{who}: SHACL forbids {word} in a query with pre-bound "
                              f"variables ({rule})")  # fmt: skip
        if name == "Extend" and str(node["var"]) in every:
            raise ShapesError(f"{who}: the pre-bound variable ${node['var']} must not be bound "
                              f"with AS ({rule})")  # fmt: skip
        if name == "ToMultiSet" and getattr(node["p"], "name", "") != "values":
            inner = node["p"]
            while inner.name in ("Distinct", "Reduced", "Slice", "OrderBy"):
                inner = inner["p"]
            got = {str(v) for v in inner.get("PV") or []} if inner.name == "Project" else set()
            if not prebound <= got:
                raise ShapesError(f"{who}: SHACL requires every subquery to project "
                                  f"{', '.join(projected)} ({rule})")  # fmt: skip
        exists = name in ("Builtin_EXISTS", "Builtin_NOTEXISTS")  # translated: an attribute
        stack += [v for k, v in node.items() if not k.startswith("_") and not exists]
        stack += [node.graph] if exists else []
    _select_star(query, prefixes, prebound, f"{who}: SHACL requires every subquery to project "
                 f"{', '.join(projected)}, and SELECT * projects only the variables bound in "
                 f"its pattern ({rule})")  # fmt: skip


def _select_star(query: str, prefixes: dict[str, str], prebound: set[str], error: str) -> None:
    """A subquery ``SELECT *`` projects the variables *in scope* in its pattern (SPARQL
    §18.2.1), not those only read by a FILTER; rdflib's algebra lists both, so each such
    subquery is parsed alone and its scope computed here."""
    from rdflib.plugins.sparql import prepareQuery

    blanked = code(query)  # IRIs blanked: the prologue is its keywords and prefix names
    prologue = re.match(r"\s*(?:(?:PREFIX\s+[\w.-]*:|BASE)\s*)*", blanked, re.IGNORECASE)
    stars = re.finditer(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", blanked, re.IGNORECASE)
    for star in stars:
        if star.start() == prologue.end():  # the query itself, not a subquery
            continue
        start, end, depth = blanked.find("{", star.end()), -1, 0
        if start < 0:
            continue
        for token in SPARQL_TOKEN.finditer(query, start):
            depth += {"{": 1, "}": -1}.get(token.group(), 0)
            if depth == 0:
                end = token.end()
                break
        text = f"{query[: prologue.end()]} SELECT * WHERE {query[start:end]}"
        try:
            algebra = prepareQuery(text, initNs=prefixes).algebra
        except Exception:
            continue
        if not prebound <= {str(v) for v in _in_scope(algebra["p"]["p"])}:
            raise ShapesError(error)


def _in_scope(node: object) -> set[Variable]:
    """The variables in scope in an algebra pattern (SPARQL 1.1 §18.2.1)."""
    if not isinstance(node, CompValue):
        return set()
    name = node.name
    if name == "BGP":
        return {t for triple in node["triples"] for t in triple if isinstance(t, Variable)}
    if name in ("Join", "LeftJoin", "Union"):
        return _in_scope(node["p1"]) | _in_scope(node["p2"])
    if name == "Minus":
        return _in_scope(node["p1"])
    if name == "Extend":
        return _in_scope(node["p"]) | {node["var"]}
    if name == "Graph":
        term = node["term"]
        return _in_scope(node["p"]) | ({term} if isinstance(term, Variable) else set())
    if name == "ToMultiSet":
        inner = node["p"]
        if inner.name == "values":
            return {v for row in inner["res"] for v in row}
        return _in_scope(inner)
    if name == "Project":
        return set(node["PV"])
    return _in_scope(node.get("p"))  # Filter, Distinct, OrderBy, Slice...


def code(select: str) -> str:
    """The query with strings, IRIs and comments blanked: what is left is SPARQL syntax."""
    blank = (t for t in SPARQL_TOKEN.finditer(select) if t.end() - t.start() > 1)
    for t in blank:  # same length: positions in it are positions in the query
        select = select[: t.start()] + " " * (t.end() - t.start()) + select[t.end() :]
    return select
