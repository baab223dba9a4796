"""SHACL-SPARQL constraints (``sh:sparql``) on the fast path, joined with the focus nodes.

Why: a SELECT constraint is already SPARQL; SHACL pre-binds ``$this`` to each focus node and
runs it once per node (SHACL §5.6: the value is used as a constant wherever the variable
appears, subqueries and inner groups included), where the fast check runs it once for all of
them. A simple query (one basic graph pattern using ``$this``, with FILTER and BIND) is joined
with the focus-node subquery: the planner's best case. Any other query within what SHACL allows
(inner groups, UNION, OPTIONAL, subqueries projecting ``$this``, a FILTER-only pattern) goes
behind Oxigraph's ``LATERAL``, which evaluates it once per focus node with ``$this`` (and
``$currentShape``, and a custom component's parameters, see :mod:`kg.shacl_custom`) already
bound: pre-binding itself. What SHACL forbids with pre-bound variables (MINUS, VALUES,
SERVICE, ``AS`` for a pre-bound variable, a subquery not projecting them all) is a broken
shapes graph that SHACL says a processor MUST report (:mod:`kg.shacl_prebinding`): it
raises :class:`~kg.errors.ShapesError`, never a fall back. What the fast check cannot give exactly
(GRAPH and ``$shapesGraph``, ``SELECT *``, aggregates, custom functions) is declined. In a
property shape, ``$PATH`` is replaced by the shape's path, as SHACL says; ``{?var}`` in
messages is filled as pyshacl fills it. A query may read the lexical form of a literal that
Oxigraph's store holds in canonical form ("1.50"^^xsd:decimal as "1.5"): its check carries a
guard over the values of the predicates it names (:func:`literal_guard`), and declines when one was
rewritten (:mod:`kg.shacl_written`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, SH
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_components import CANONICAL
from kg.shacl_originals import is_canonical
from kg.shacl_prebinding import SPARQL_TOKEN, code, prebinding
from kg.shacl_terms import Check, keys, lexical_form, nt
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
# what reads a literal's lexical form or datatype, or tells equal values apart ("1.50" from
# "1.5"), where the store may hold another literal than the source: see literal_guard
_LEXICAL_NAMES = "CONCAT CONTAINS DATATYPE ENCODE_FOR_URI LCASE MD5 REGEX REPLACE SHA1 SHA256"
_LEXICAL_NAMES += " SHA384 SHA512 STR STRAFTER STRBEFORE STRDT STRENDS STRLANG STRLEN STRSTARTS"
_LEXICAL_NAMES += " SUBSTR UCASE sameTerm TZ"
_LEXICAL = {f"Builtin_{name}" for name in _LEXICAL_NAMES.split()} | {"Slice", "OrderBy"}
_VOLATILE = {"Builtin_RAND", "Builtin_NOW", "Builtin_UUID", "Builtin_STRUUID", "Builtin_BNODE"}


def sparql_check(
    g: Graph,
    ns: Node,
    node: Node,
    focus: str,
    common: dict,
    read_message,
    path: str = "",
    *,
    bindings: dict[str, Node] | None = None,
    component: str = _SH + "SPARQLConstraintComponent",
    who: str = "",
) -> Check:
    """The check of the sh:sparql constraint *node* of *ns*; *read_message* reads its message.
    *path* is the SPARQL path of *ns* when it is a property shape (it replaces ``$PATH``).
    A custom component's SELECT validator (:mod:`kg.shacl_custom`) gives its parameters'
    values as *bindings* (pre-bound: BIND beside the focus nodes) and its *component*."""
    bindings = bindings or {}
    who = who or f"shape {_show(ns) if path == '' else common['shape']}: its sh:sparql"
    if node != ns:  # else the shape is its own constraint: its keys are checked as a shape's
        keys(g, node, {SH.select, SH.prefixes, SH.message, SH.deactivated}, who)
    if (node, SH.deactivated, Literal(True)) in g:
        raise InputError(f"{who}: a deactivated SPARQL constraint is not supported")
    select = str(_one(g, node, SH.select, who, Literal, True))
    prefixes = declared_prefixes(g, node, who)
    prebinding(select, prefixes, {"this", *bindings}, who)
    match = _SELECT.match(select)
    names = _projected(match["vars"]) if match else []
    if not match or "this" not in names or "failure" in names:
        raise InputError(
            f"{who}: the fast check needs 'SELECT $this ... WHERE {{ ... }}' projecting $this "
            "(and no ?failure or *)"
        )
    select = _forbidden(select, path, names, who)
    parent = "?parent" in focus  # a row (a result) per parent shape, as in pyshacl
    if parent and _mentions(select, "parent"):
        raise InputError(f"{who}: ?parent is taken by the fast check's focus nodes")
    if _mentions(select, "currentShape"):  # pre-bound: a constant wherever it appears
        if not isinstance(ns, URIRef):
            raise InputError(f"{who}: $currentShape of a blank node shape cannot be named")
        select = _substitute(select, "currentShape", f"<{ns}>")
    simple, match = _check_query(select, prefixes, who), _SELECT.match(select)  # substituted
    if match is None or _projected(match["vars"]) != names:
        raise InputError(f"{who}: $PATH or $currentShape must not be projected")
    if taken := {"parent", *names} & set(bindings):
        raise InputError(f"{who}: the fast check cannot project the parameters {taken}")
    focus += "".join(f" BIND ({nt(v)} AS ?{k})" for k, v in sorted(bindings.items()))
    prologue = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(prefixes.items()))
    shown = " ".join(f"?{n}" for n in names) + " ?parent" * parent
    if simple:  # joined with the focus nodes: what pre-binding gives for such a query
        select = _as_minus(select) if simple == "minus" else select
        head = f"{match['prologue']}SELECT DISTINCT {match['vars']}{' ?parent' * parent} WHERE {{ "
        sparql = prologue + head + focus + " " + select[match.end() :]
    else:  # evaluated per focus node with $this bound: pre-binding
        params = "".join(f"?{k} " for k in sorted(bindings))  # projected: LATERAL binds them
        inner = select[len(match["prologue"]) : match.end("vars")] + params
        inner += select[match.end("vars") :]
        body = f"{{ {focus} LATERAL {{ {inner} }} }}"
        sparql = prologue + match["prologue"] + f"SELECT DISTINCT {shown} WHERE {body}"
    message = read_message(g, node, who)
    guard = literal_guard(select, prefixes, bindings.values(), who)
    return Check(sparql, component, message=message, variables=tuple(names), **guard, **common)


def literal_guard(select: str, prefixes: dict[str, str], constants, who: str) -> dict[str, str]:
    """The Check fields guarding the query against literals the store rewrote (see
    :mod:`kg.shacl_written`). The values it may read, as a pattern binding ?v: the objects
    of each predicate it names, or of any when a predicate is a variable or a negated set.
    A query that may read STR of a value or tell "1.50" from "1.5" (:data:`_LEXICAL`) is
    sensitive to any rewritten value; one that compares values (SSSOM's confidence 1.0,
    stored as 1) only to a literal ill-typed as written. A literal the query (or a
    parameter) writes otherwise than the store would hold it: InputError."""
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
    from rdflib.plugins.sparql import prepareQuery

    predicates: set[str] = set()
    found: list[object] = list(constants)  # every term it writes, variables included
    names: set[str] = set()
    patterns: list[tuple[object, object]] = []  # (predicate, object) of each triple pattern

    def predicate(p: object) -> None:
        if isinstance(p, URIRef):
            predicates.add(nt(p))
        elif isinstance(p, SequencePath | AlternativePath):
            for step in p.args:
                predicate(step)
        elif isinstance(p, InvPath | MulPath):
            predicate(p.arg if isinstance(p, InvPath) else p.path)
        else:  # a variable or a negated property set: any predicate
            predicates.add("?p")

    def walk(node: object) -> None:
        if isinstance(node, CompValue):
            names.add(node.name)
            # (s, p, o, s, p, o...); CompValue.get takes no default: it would return the name
            triples = node["triples"] if "triples" in node else []  # noqa: SIM401
            patterns.extend((t[k], t[k + 1]) for t in triples for k in range(1, len(t), 3))
            walk([v for k, v in node.items() if not k.startswith("_") and k != "triples"])
            walk([t for triple in triples for t in triple])
            walk(getattr(node, "graph", None) if "EXISTS" in node.name else None)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        else:
            found.append(node)

    walk(prepareQuery(select, initNs=prefixes).algebra["p"])
    uses = Counter(t for t in found if isinstance(t, Variable))
    for p, o in patterns:  # "?s a kg:Meeting", "$this a ?type" (?type used nowhere else)
        if not (isinstance(p, URIRef) and (isinstance(o, URIRef) or uses[o] == 1)):
            predicate(p)
    for term in found:
        if isinstance(term, Literal) and not is_canonical(term):
            raise InputError(f"{who}: the query writes {nt(term)}, which the store reads as "
                             "another literal")  # fmt: skip
    if not predicates:
        return {}
    reads = " UNION ".join(f"{{ ?s {p} ?v }}" for p in sorted(predicates))
    reads = "{ ?s ?p ?v }" if "?p" in predicates else reads
    sensitive = "form" if names & _LEXICAL else "value"  # see kg.shacl_written.plan
    guard = f"ASK {{ {{ {reads} }} FILTER ({CANONICAL}) }}"
    return {"guard": guard, "reads": reads, "sensitive": sensitive}


def declared_prefixes(g: Graph, node: Node, who: str) -> dict[str, str]:
    """The prefixes *node*'s query may use: the declarations of each sh:prefixes value and of
    what it owl:imports (SHACL §5.2.1)."""
    prefixes: dict[str, str] = {}
    todo, seen = list(g.objects(node, SH.prefixes)), set()
    while todo:
        ont = todo.pop()
        if ont in seen:
            continue
        seen.add(ont)
        todo += g.objects(ont, OWL.imports)
        for dec in g.objects(ont, SH.declare):
            prefix, namespace = str(g.value(dec, SH.prefix)), str(g.value(dec, SH.namespace))
            if prefixes.setdefault(prefix, namespace) != namespace:
                raise InputError(f"{who}: prefix {prefix!r} is declared twice")
    return prefixes


def _mentions(select: str, name: str) -> bool:
    """Whether the query uses the variable *name* (outside strings, IRIs and comments)."""
    return bool(re.search(rf"[?$]{name}\b", code(select)))


def _forbidden(select: str, path: str, names: list[str], who: str) -> str:
    """Decline what SHACL forbids with pre-bound variables (§5.6) or the fast check cannot
    give; *select* with ``$PATH`` replaced by *path* (a property shape's constraint)."""
    blanked = code(select)
    for word in ("MINUS", "VALUES", "SERVICE"):  # when rdflib could not parse the query
        if re.search(rf"\b{word}\b", blanked, re.IGNORECASE):
            raise InputError(f"{who}: {word} is not supported with pre-bound variables")
    if re.search(r"\bAS\s+[?$]this\b", blanked, re.IGNORECASE):
        raise InputError(f"{who}: $this must not be bound with BIND")
    if re.search(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", blanked, re.IGNORECASE):
        raise InputError(f"{who}: a subquery must project $this (SELECT * is not supported)")
    if _mentions(select, "shapesGraph") or re.search(r"\bGRAPH\b", blanked, re.IGNORECASE):
        raise InputError(f"{who}: $shapesGraph and GRAPH are not supported")
    if not path:
        if _mentions(select, "PATH"):
            raise InputError(f"{who}: $PATH is only for property shapes")
        return select
    if "value" not in names or "path" in names:
        raise InputError(
            f"{who}: in a property shape, the fast check needs ?value projected (and no ?path)"
        )
    return _substitute(select, "PATH", path)  # SHACL: $PATH is the shape's path, in the text


def _substitute(select: str, name: str, text: str) -> str:
    """*select* with the variable *name* replaced by *text* (a term or a path) wherever it is
    used; where a variable is needed (projected, bound by AS), the query no longer parses."""
    spans = [(t.start(), t.end()) for t in re.finditer(rf"[?$]{name}\b", code(select))]
    for start, end in reversed(spans):
        select = select[:start] + text + select[end:]
    return select


def _projected(text: str) -> list[str]:
    """The variables a SELECT clause projects: plain ones and ``(... AS ?var)``."""
    named = re.findall(r"AS\s+[?$](\w+)\s*\)", text, re.IGNORECASE)
    plain = re.sub(r"\((?:[^()]|\([^()]*\))*\)", " ", text)
    return re.findall(r"[?$](\w+)", plain) + named


def _check_query(select: str, prefixes: dict[str, str], who: str) -> str:
    """How the query may be joined with the focus nodes: ``"join"`` (one basic graph pattern
    using $this, with FILTER and BIND: joining is pre-binding), ``"minus"`` (and its one
    FILTER NOT EXISTS may become MINUS, see :func:`_as_minus`) or ``""`` (it must be evaluated
    per focus node). Refuse what neither can run exactly."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(select, initNs=prefixes).algebra
    except Exception as exc:  # pyparsing and rdflib errors alike
        raise InputError(f"{who}: the query does not parse ({exc})") from None
    if algebra.get("datasetClause"):
        raise InputError(f"{who}: FROM and FROM NAMED are not supported")
    _check_pattern(algebra["p"], who)
    node, top = algebra["p"], None
    while node.name in ("Distinct", "Project", "Filter", "Extend"):
        top = node if top is None and node.name in ("Filter", "Extend") else top
        node = node["p"]
    if not (node.name == "BGP" and Variable("this") in _variables(node["triples"])):
        return ""
    exists = top is not None and top.name == "Filter" and getattr(top["expr"], "name", "")
    if exists != "Builtin_NOTEXISTS":
        return "join"
    triples, filters, stack = [], [], [top["expr"].graph]  # the translated pattern: an attribute
    while stack:
        node = stack.pop()
        if node.name not in ("BGP", "Filter", "Join"):
            return "join"
        triples += node.get("triples") or []
        filters.append(node.get("expr"))
        stack += [node[k] for k in ("p", "p1", "p2") if k in node]
    bound, read = _variables(triples), _variables(filters)
    ok = Variable("this") in bound and read <= bound and "EXISTS" not in repr(filters)
    return "minus" if ok else "join"


_PATTERNS = {"BGP", "Join", "LeftJoin", "Union", "Filter", "Extend", "Project", "Distinct"}
_PATTERNS |= {"Reduced", "ToMultiSet", "Slice", "OrderBy"}


def _check_pattern(node: CompValue, who: str) -> None:
    """Refuse a pattern the fast check cannot evaluate as SHACL's pre-binding: aggregates,
    GRAPH and the like, a subquery not projecting $this, an unknown or volatile function."""
    if node.name not in _PATTERNS:
        raise InputError(
            f"{who}: the fast check supports groups, UNION, OPTIONAL, FILTER, BIND, ORDER BY, "
            f"LIMIT and subqueries projecting $this (not {node.name}: aggregates, GRAPH...)"
        )
    if node.name == "ToMultiSet":  # a subquery
        inner = node["p"]
        while inner.name in ("Distinct", "Reduced", "Slice", "OrderBy"):
            inner = inner["p"]
        if inner.name != "Project" or Variable("this") not in inner["PV"]:
            raise InputError(f"{who}: SHACL requires every subquery to project $this")
    if node.name == "Extend" and node["var"] == Variable("this"):
        raise InputError(f"{who}: $this must not be bound with BIND")
    if node.name == "OrderBy":
        _check_expression([c["expr"] if isinstance(c, CompValue) else c for c in node["expr"]], who)
    elif node.name != "LeftJoin" or getattr(node["expr"], "name", "") != "TrueFilter":
        _check_expression(node.get("expr"), who)
    for key in ("p", "p1", "p2"):
        if isinstance(node.get(key), CompValue):
            _check_pattern(node[key], who)


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
    for token in SPARQL_TOKEN.finditer(select, found[0].end() - 1):
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        if depth == 0:  # the end of P: it must be the last element of the WHERE group
            if re.fullmatch(r"\s*\}\s*", select[token.end() :]):
                return select[: found[0].start()] + "MINUS {" + select[found[0].end() :]
            break
    return select


def fill(check: Check, row: ox.QuerySolution, written: Callable = lambda t: t) -> str:
    """The message with ``{?var}`` and ``{$this}`` replaced as pyshacl does, in its order;
    each term *written* as the sources write it (see :func:`kg.shacl_written.as_reported`)."""
    bound = {v: row[v] for v in check.variables if v != "this" and row[v] is not None}
    message = check.message
    for var, value in {**bound, "this": row["this"]}.items():
        value = written(value)
        text = lexical_form(value) if isinstance(value, ox.Literal) else value.value
        try:
            message = re.sub(f"{{[?$]{var}}}", text, message)  # a replacement template, as there
        except re.error:  # where pyshacl would fail on a bad escape: the text as it is
            message = re.sub(f"{{[?$]{var}}}", lambda _, t=text: t, message)
    return message
