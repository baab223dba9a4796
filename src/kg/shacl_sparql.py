"""SHACL-SPARQL constraints (``sh:sparql``) on the fast path, joined with the focus nodes.

Why: a SELECT constraint is already SPARQL; pyshacl pre-binds ``$this`` to each focus node and
runs it once per node, where the fast check joins the query with the focus-node subquery and
runs it once. That join equals pre-binding only for simple queries (one basic graph pattern
using ``$this``, with FILTER and BIND), so anything else is declined; ``{?var}`` in messages is
filled as pyshacl fills it.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, SH
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_terms import Check, keys, lexical_form
from kg.shacl_terms import one as _one
from kg.shacl_terms import show as _show

_SH = str(SH)
_SELECT = re.compile(
    r"\s*(?P<prologue>(?:PREFIX\s+[\w.-]*:\s*<[^<>\s]*>\s*)*)SELECT\s+(?:DISTINCT\s+)?"
    r"(?P<vars>(?:[?$]\w+\s*|\((?:[^()]|\([^()]*\))*?\s+AS\s+[?$]\w+\s*\)\s*)+)(?:WHERE\s*)?\{",
    re.IGNORECASE,
)
_ALGEBRA = {"BGP", "Join", "Filter", "Extend", "UnaryNot", "UnaryMinus", "UnaryPlus"}
_ALGEBRA |= {f"{kind}Expression" for kind in ("Relational", "Additive", "Multiplicative")}
_ALGEBRA |= {"ConditionalAndExpression", "ConditionalOrExpression"}
_VOLATILE = {"Builtin_RAND", "Builtin_NOW", "Builtin_UUID", "Builtin_STRUUID", "Builtin_BNODE"}
_SPARQL_TOKEN = re.compile(  # strings, IRIs and comments, in which braces do not count
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*|.'
)


def sparql_check(g: Graph, ns: URIRef, node: Node, focus: str, common: dict, read_message) -> Check:
    """The check of the sh:sparql constraint *node* of *ns*; *read_message* reads its message."""
    who = f"shape {_show(ns)}: its sh:sparql"
    if node != ns:  # else the shape is its own constraint: its keys are checked as a shape's
        keys(g, node, {SH.select, SH.prefixes, SH.message, SH.deactivated}, who)
    if (node, SH.deactivated, Literal(True)) in g:
        raise InputError(f"{who}: a deactivated SPARQL constraint is not supported")
    select = str(_one(g, node, SH.select, who, Literal, True))
    prefixes: dict[str, str] = {}
    todo, seen = list(g.objects(node, SH.prefixes)), set()
    while todo:  # the declarations of each sh:prefixes value and of what it owl:imports
        ont = todo.pop()
        if ont in seen:
            continue
        seen.add(ont)
        todo += g.objects(ont, OWL.imports)
        for dec in g.objects(ont, SH.declare):
            prefix, namespace = str(g.value(dec, SH.prefix)), str(g.value(dec, SH.namespace))
            if prefixes.setdefault(prefix, namespace) != namespace:
                raise InputError(f"{who}: prefix {prefix!r} is declared twice")
    match = _SELECT.match(select)
    names = _projected(match["vars"]) if match else []
    if not match or "this" not in names or "failure" in names:
        raise InputError(
            f"{who}: the fast check needs 'SELECT $this ... WHERE {{ ... }}' projecting $this "
            "(and no ?failure or *)"
        )
    if re.search(r"[?$](currentShape|shapesGraph)\b", select):
        raise InputError(f"{who}: $currentShape and $shapesGraph are not supported")
    if _check_query(select, prefixes, who):
        select = _as_minus(select)
    prologue = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(prefixes.items()))
    head = f"{match['prologue']}SELECT DISTINCT {match['vars']} WHERE {{ "
    sparql = prologue + head + focus + " " + select[match.end() :]
    component, message = _SH + "SPARQLConstraintComponent", read_message(g, node, who)
    return Check(sparql, component, message=message, variables=tuple(names), **common)


def _projected(text: str) -> list[str]:
    """The variables a SELECT clause projects: plain ones and ``(... AS ?var)``."""
    named = re.findall(r"AS\s+[?$](\w+)\s*\)", text, re.IGNORECASE)
    plain = re.sub(r"\((?:[^()]|\([^()]*\))*\)", " ", text)
    return re.findall(r"[?$](\w+)", plain) + named


def _check_query(select: str, prefixes: dict[str, str], who: str) -> bool:
    """Refuse a query whose join with the focus nodes is not pyshacl's pre-binding of $this;
    say whether it is one FILTER NOT EXISTS that MINUS may replace (see :func:`_as_minus`)."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(select, initNs=prefixes).algebra
    except Exception as exc:  # pyparsing and rdflib errors alike
        raise InputError(f"{who}: the query does not parse ({exc})") from None
    node, top = algebra["p"], None
    while node.name in ("Distinct", "Project", "Filter", "Extend"):
        if node.name == "Extend" and node["var"] == Variable("this"):
            raise InputError(f"{who}: $this must not be bound with BIND")
        top = node if top is None and node.name in ("Filter", "Extend") else top
        _check_expression(node.get("expr"), who)
        node = node["p"]
    uses_this = node.name == "BGP" and Variable("this") in _variables(node["triples"])
    if algebra.get("datasetClause") or not uses_this:
        raise InputError(
            f"{who}: the fast check supports one basic graph pattern using $this, with BIND and "
            "FILTER (no OPTIONAL, UNION, MINUS, VALUES, GRAPH, subqueries, aggregates or LIMIT)"
        )
    exists = top is not None and top.name == "Filter" and getattr(top["expr"], "name", "")
    if exists != "Builtin_NOTEXISTS":
        return False
    triples, filters, stack = [], [], [top["expr"].graph]  # the translated pattern: an attribute
    while stack:
        node = stack.pop()
        if node.name not in ("BGP", "Filter", "Join"):
            return False
        triples += node.get("triples") or []
        filters.append(node.get("expr"))
        stack += [node[k] for k in ("p", "p1", "p2") if k in node]
    bound, read = _variables(triples), _variables(filters)
    return Variable("this") in bound and read <= bound and "EXISTS" not in repr(filters)


def _check_expression(expr: object, who: str) -> None:
    if isinstance(expr, list):
        for item in expr:
            _check_expression(item, who)
    elif isinstance(expr, CompValue):
        name = expr.name
        if name in _VOLATILE or not (name.startswith("Builtin_") or name in _ALGEBRA):
            raise InputError(f"{who}: {name} is not supported by the fast check")
        if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            _check_expression(expr.graph, who)  # rdflib keeps the translated pattern there
        else:
            _check_expression([v for k, v in expr.items() if not k.startswith("_")], who)


def _variables(node: object) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        node = [v for k, v in node.items() if not k.startswith("_")]
    if isinstance(node, list | tuple):
        return set().union(*map(_variables, node))
    return set()


def _as_minus(select: str) -> str:
    """``{ ... FILTER NOT EXISTS { P } }`` as ``{ ... MINUS { P } }`` when P binds $this and all
    that its filters read: the same solutions (both share $this), but Oxigraph runs MINUS once
    where it plans the EXISTS pattern per row without $this (0.1 s instead of 35 s at 100k)."""
    found = list(re.finditer(r"FILTER\s+NOT\s+EXISTS\s*\{", select, re.IGNORECASE))
    if len(found) != 1 or len(re.findall("EXISTS", select, re.IGNORECASE)) != 1:
        return select
    depth = 0
    for token in _SPARQL_TOKEN.finditer(select, found[0].end() - 1):
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        if depth == 0:  # the end of P: it must be the last element of the WHERE group
            if re.fullmatch(r"\s*\}\s*", select[token.end() :]):
                return select[: found[0].start()] + "MINUS {" + select[found[0].end() :]
            break
    return select


def fill(check: Check, row: ox.QuerySolution) -> str:
    """The message with ``{?var}`` and ``{$this}`` replaced as pyshacl does, in its order."""
    bound = {v: row[v] for v in check.variables if v != "this" and row[v] is not None}
    message = check.message
    for var, value in {**bound, "this": row["this"]}.items():
        text = lexical_form(value) if isinstance(value, ox.Literal) else value.value
        try:
            message = re.sub(f"{{[?$]{var}}}", text, message)  # a replacement template, as there
        except re.error:  # where pyshacl would fail on a bad escape: the text as it is
            message = re.sub(f"{{[?$]{var}}}", lambda _, t=text: t, message)
    return message
