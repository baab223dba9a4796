"""SHACL validation of the asserted data at Oxigraph speed, with pyshacl's results.

Why: pyshacl walks the data graph in Python (25 s at 100k triples, ~5 min at 1M). Every
constraint in ``ontology/shapes.ttl`` is a simple graph pattern, so :func:`compile_shapes` turns
each one into a SPARQL SELECT and :func:`validate_store` lets Oxigraph run them over the union
of the data graphs and the ontology graph (pyshacl's ``data ∪ ont_graph``).

pyshacl (``inference="none"``) is the reference; its behaviour is reproduced, not the letter of
the SHACL spec where they differ:

* targets and ``sh:class`` follow ``rdf:type/rdfs:subClassOf*``; a property shape reached from
  several node shapes reports once per parent node shape; ``sh:minCount``/``sh:maxCount`` count
  distinct terms (Oxigraph's union default graph is a bag, so every query is DISTINCT);
* ``sh:datatype`` as in pyshacl: an ``xsd:date`` must be a date rdflib can parse (forms other than
  plain ``YYYY-MM-DD`` are checked in Python with rdflib's own parser); ``xsd:gYear``,
  ``xsd:gYearMonth`` and ``xsd:anyURI`` only compare the datatype IRI (rdflib has no parser);
* ``sh:pattern`` has Python ``re`` semantics (``$`` also matches before a final newline);
* ``sh:sparql``: ``$this`` pre-binding is a join with the focus nodes, rows are deduplicated on
  the projected variables and ``{?var}``/``{$this}`` filled like pyshacl does.

Anything else (other components, paths, targets, datatypes, query forms, missing or multiple
messages) makes :func:`compile_shapes` raise :class:`~kg.errors.InputError` naming the shape, so
kg can fall back to pyshacl. Left: differences in the data itself, as both engines parse it:
Oxigraph lowercases language tags, merges ``"x"`` with ``"x"^^xsd:string`` and stores typed
literals in canonical form (``"1.50"^^xsd:decimal`` is ``"1.5"``), while rdflib keeps them apart
and drops the time zone of an ``xsd:date``. Results then differ only for such literals where a
value is counted (``sh:maxCount``), shown, or read with ``STR`` in an ``sh:sparql`` query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, _toPythonMapping  # rdflib's lexical parsers, as pyshacl sees them

from kg.errors import InputError

_SH = str(SH)
VIOLATION = _SH + "Violation"
_NOT, _OR, _CLASS = URIRef(_SH + "not"), URIRef(_SH + "or"), URIRef(_SH + "class")
_TYPE, _SUB = f"<{RDF.type}>", f"<{RDFS.subClassOf}>"
_NAMES = {RDF.type, RDFS.label, RDFS.comment, SH.name, SH.description}
_NODE_KEYS = _NAMES | {SH.targetClass, SH.targetSubjectsOf, SH.property, _NOT, _OR, SH.sparql}
_NODE_KEYS |= {SH.message, SH.severity}
_PROP_KEYS = _NAMES | {SH.path, SH.minCount, SH.maxCount, _CLASS, SH.datatype, _OR, SH.pattern}
_PROP_KEYS |= {SH.nodeKind, SH.message, SH.severity}
_SPARQL_KEYS = {RDF.type, SH.select, SH.prefixes, SH.message}
_SHAPE_TYPES = {SH.NodeShape, SH.PropertyShape}
_UNSUPPORTED_TARGETS = (SH.targetNode, SH.targetObjectsOf, SH.target)
_PLAIN_DATE = (  # YYYY-MM-DD forms rdflib surely parses; any other xsd:date is checked in Python
    "^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"
    "|^[1-9][0-9]{3}-(0[13-9]|1[0-2])-(29|30)$|^[1-9][0-9]{3}-(0[13578]|1[02])-31$"
)
_LIT = "isLiteral(?v) && "
_DATATYPES = {
    XSD.string: _LIT + f"DATATYPE(?v) = <{XSD.string}>",
    RDF.langString: _LIT + 'LANG(?v) != ""',
    XSD.date: _LIT + f'DATATYPE(?v) = <{XSD.date}> && REGEX(STR(?v), "{_PLAIN_DATE}")',
    **{dt: _LIT + f"DATATYPE(?v) = <{dt}>" for dt in (XSD.gYear, XSD.gYearMonth, XSD.anyURI)},
}
_KINDS = {
    SH.IRI: "isIRI(?v)",
    SH.BlankNode: "isBlank(?v)",
    SH.Literal: "isLiteral(?v)",
    SH.BlankNodeOrIRI: "(isBlank(?v) || isIRI(?v))",
    SH.BlankNodeOrLiteral: "(isBlank(?v) || isLiteral(?v))",
    SH.IRIOrLiteral: "(isIRI(?v) || isLiteral(?v))",
}
_SELECT = re.compile(
    r"\s*(?P<prologue>(?:PREFIX\s+[\w.-]*:\s*<[^<>\s]*>\s*)*)SELECT\s+(?:DISTINCT\s+)?"
    r"(?P<vars>(?:[?$]\w+\s*)+)(?:WHERE\s*)?\{",
    re.IGNORECASE,
)
_EXPRESSIONS = {  # and, inside EXISTS, the algebra of basic patterns with FILTER and BIND
    "RelationalExpression", "ConditionalAndExpression", "ConditionalOrExpression",
    "AdditiveExpression", "MultiplicativeExpression", "UnaryNot", "UnaryMinus", "UnaryPlus",
    "BGP", "Join", "Filter", "Extend",
}  # fmt: skip
_VOLATILE = {"Builtin_RAND", "Builtin_NOW", "Builtin_UUID", "Builtin_STRUUID", "Builtin_BNODE"}
_SPARQL_TOKEN = re.compile(  # strings, IRIs and comments, inside which braces do not count
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|'
    r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n]|\\.)*"|'
    r"'(?:[^'\\\n]|\\.)*'|"
    r'<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*|[^"'
    r"'<#{}]+|.",
    re.DOTALL,
)
_REGEX_TOKEN = re.compile(
    r"\\[.^$*+?()\[\]{}|\\/-]|\[\^?(?:\\[.^$*+?()\[\]{}|\\/-]|[^\\\[\]])+\]"
    r"|(?:[*+?]|\{\d+(?:,\d*)?\})(?![?+])|[()|.]|[^\\\[\]()|.*+?{}^$]"
)


@dataclass(frozen=True)
class Result:
    """One validation result, every term in N-Triples form (see the module docstring)."""

    focus: str
    path: str | None
    value: str | None
    component: str
    shape: str
    message: str
    severity: str


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a SELECT binding ?this (and ?v when ``value == "v"``)."""

    sparql: str
    component: str
    shape: str
    path: str | None
    message: str
    severity: str
    value: str = "v"  # what sh:value reports: "v", "this" (the focus node) or "" (nothing)
    dates: bool = False  # drop rows whose ?v is an xsd:date rdflib parses (not ill-typed)
    variables: tuple[str, ...] = ()  # sh:sparql: projected variables filling the message


def compile_shapes(shapes: Graph) -> list[Check]:
    """Compile every targeted node shape of *shapes*; unsupported features raise InputError."""
    for pred in _UNSUPPORTED_TARGETS:
        for s in shapes.subjects(pred, None):
            raise InputError(f"shape {_show(s)}: {_show(pred)} is not supported by the fast check")
    targeted = set(shapes.subjects(SH.targetClass, None)) | set(
        shapes.subjects(SH.targetSubjectsOf, None)
    )
    for s in targeted | set(shapes.subjects(RDF.type, SH.NodeShape)):
        if set(shapes.objects(s, RDF.type)) & {RDFS.Class, OWL.Class}:
            raise InputError(f"shape {_show(s)}: implicit class targets are not supported")
    checks: list[Check] = []
    for ns in sorted(targeted, key=str):
        checks += _node_shape(shapes, ns)
    named = {ps for ns in targeted for ps in shapes.objects(ns, SH.property)}
    for ps in sorted((ps for ps in named if isinstance(ps, URIRef)), key=str):
        # one query for all parents, with a row (a result) per parent as pyshacl reports
        parents = sorted(set(shapes.subjects(SH.property, ps)) & targeted, key=str)
        checks += _property_shape(shapes, ps, parents)
    return checks


def validate_store(
    store: ox.Store, checks: list[Check], *, graphs: list[ox.NamedNode]
) -> list[Result]:
    """Run *checks* over the union of *graphs*; the results, sorted."""
    results = []
    for check in checks:
        for row in store.query(check.sparql, default_graph=graphs):
            focus = row["this"]
            value = row["v"] if check.value == "v" else focus if check.value == "this" else None
            if check.dates and _parses_as_date(value):
                continue
            message = _fill(check, row) if check.variables else check.message
            shown = _nt(value) if value is not None else None
            results.append(
                Result(_nt(focus), check.path, shown, check.component, check.shape, message,
                       check.severity)
            )  # fmt: skip
    return sorted(results, key=_order)


def results_from_pyshacl(report: Graph, shapes: Graph) -> list[Result]:
    """pyshacl's report graph as :class:`Result` values, sorted like :func:`validate_store`."""
    results = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        shape, path, value = (report.value(r, p) for p in (SH.sourceShape, SH.resultPath, SH.value))
        name = _nt(shape)
        if isinstance(shape, BNode):
            parent = min(shapes.subjects(SH.property, shape), key=str)
            name = f"{_nt(parent)} {_path_nt(shapes, shapes.value(shape, SH.path))}"
        messages = sorted(str(m) for m in report.objects(r, SH.resultMessage))
        results.append(
            Result(
                focus=_nt(report.value(r, SH.focusNode)),
                path=None if path is None else _path_nt(report + shapes, path),
                value=None if value is None else _nt(value),
                component=str(report.value(r, SH.sourceConstraintComponent)),
                shape=name,
                message="\n".join(messages),
                severity=str(report.value(r, SH.resultSeverity)),
            )
        )
    return sorted(results, key=_order)


# ---------------------------------------------------------------- compiling


def _node_shape(g: Graph, ns: Node) -> list[Check]:
    who = f"shape {_show(ns)}"
    if not isinstance(ns, URIRef):
        raise InputError(f"{who}: a node shape must be named by an IRI for the fast check")
    _keys(g, ns, _NODE_KEYS, who)
    focus = _focus(g, [ns])
    checks = []
    for ps in sorted(g.objects(ns, SH.property), key=str):
        if not isinstance(ps, URIRef):
            checks += _property_shape(g, ps, [ns])
    node = {"shape": _nt(ns), "path": None, "severity": _severity(g, ns, who), "value": "this"}
    for inner in g.objects(ns, _NOT):
        _keys(g, inner, {_CLASS}, f"{who}: its sh:not")
        cls = _iri(g, inner, _CLASS, f"{who}: its sh:not")
        sparql = f"SELECT DISTINCT ?this WHERE {{ {focus} ?this {_TYPE} ?t . ?t {_SUB}* {cls} }}"
        checks.append(Check(sparql, _SH + "NotConstraintComponent", message=_message(g, ns, who),
                            **node))  # fmt: skip
    for alternatives in g.objects(ns, _OR):
        absent = []
        for alt in _members(g, alternatives, who):
            _keys(g, alt, {RDF.type, SH.path, SH.minCount}, f"{who}: its sh:or")
            if _count(g, alt, SH.minCount, who) != 1:
                raise InputError(f"{who}: sh:or alternatives need sh:minCount 1 for the fast check")
            absent.append(f"MINUS {{ {_values(g, alt, who)[1]} }}")
        sparql = f"SELECT ?this WHERE {{ {focus} {' '.join(absent)} }}"
        checks.append(Check(sparql, _SH + "OrConstraintComponent", message=_message(g, ns, who),
                            **node))  # fmt: skip
    for constraint in g.objects(ns, SH.sparql):
        if g.value(ns, SH.message) is not None:
            raise InputError(f"{who}: sh:message next to sh:sparql gives two messages per result")
        checks.append(_sparql(g, ns, constraint, focus, node))
    return checks


def _property_shape(g: Graph, ps: Node, parents: list[Node]) -> list[Check]:
    path, values = _values(g, ps, f"shape {_show(ps)} (in {_show(parents[0])})")
    name = _nt(ps) if isinstance(ps, URIRef) else f"{_nt(parents[0])} {path}"
    focus = _focus(g, parents)
    who = f"shape {name}"
    _keys(g, ps, _PROP_KEYS, who)
    if isinstance(ps, BNode) and len(set(g.subjects(SH.property, ps))) > 1:
        raise InputError(f"{who}: a blank property shape may have only one parent node shape")
    if any(g.value(ps, p) is not None for p in (SH.targetClass, SH.targetSubjectsOf)):
        raise InputError(f"{who}: targets on a property shape are not supported")
    # (component, FILTER or MINUS leaving the bad ?v, check dates); MINUS shares ?v or ?this
    # with the rows it removes, so it is NOT EXISTS, but Oxigraph runs it 30 times faster
    tests: list[tuple[str, str, bool]] = []
    for cls in sorted(g.objects(ps, _CLASS), key=str):
        cls_nt = _iri(g, ps, _CLASS, who, cls)
        tests.append(("Class", f"MINUS {{ ?v {_TYPE} ?t . ?t {_SUB}* {cls_nt} }}", False))
    for dt in g.objects(ps, SH.datatype):
        tests.append(("Datatype", f"FILTER (!({_datatype(dt, who)}))", dt == XSD.date))
    for alternatives in g.objects(ps, _OR):
        dts = []
        for alt in _members(g, alternatives, who):
            _keys(g, alt, {SH.datatype}, f"{who}: its sh:or")
            dts.append(g.value(alt, SH.datatype))
        ok = " || ".join(f"({_datatype(dt, who)})" for dt in dts)
        tests.append(("Or", f"FILTER (!({ok}))", XSD.date in dts))
    for pattern in g.objects(ps, SH.pattern):
        bad = f"FILTER (isBlank(?v) || !REGEX(STR(?v), {_regex(pattern, who)}))"
        tests.append(("Pattern", bad, False))
    for kind in g.objects(ps, SH.nodeKind):
        if kind not in _KINDS:
            raise InputError(f"{who}: sh:nodeKind {_show(kind)} is not a SHACL node kind")
        tests.append(("NodeKind", f"FILTER (!{_KINDS[kind]})", False))
    counts = []
    low, high = _count(g, ps, SH.minCount, who), _count(g, ps, SH.maxCount, who)
    if low == 1:
        counts.append(
            ("MinCount", f"SELECT ?this ?parent WHERE {{ {focus} MINUS {{ {values} }} }}")
        )
    elif low:
        group = f"GROUP BY ?this ?parent HAVING (COUNT(DISTINCT ?v) < {low})"
        query = f"SELECT ?this ?parent WHERE {{ {focus} OPTIONAL {{ {values} }} }} {group}"
        counts.append(("MinCount", query))
    if high is not None:
        group = f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {high})"
        over = f"{{ SELECT ?this WHERE {{ {values} }} {group} }}"
        counts.append(("MaxCount", f"SELECT ?this ?parent WHERE {{ {over} {focus} }}"))
    if not tests and not counts:
        return []
    common = {"shape": name, "path": path, "message": _message(g, ps, who)}
    common["severity"] = _severity(g, ps, who)
    checks = [Check(q, f"{_SH}{c}ConstraintComponent", value="", **common) for c, q in counts]
    for component, bad, dates in tests:
        # the bad values of any subject first, then the focus nodes: 2-3 times faster
        bad = f"{{ SELECT DISTINCT ?this ?v WHERE {{ {values} {bad} }} }}"
        sparql = f"SELECT DISTINCT ?this ?v ?parent WHERE {{ {bad} {focus} }}"
        checks.append(Check(sparql, f"{_SH}{component}ConstraintComponent", dates=dates, **common))
    return checks


def _sparql(g: Graph, ns: URIRef, node: Node, focus: str, common: dict) -> Check:
    who = f"shape {_show(ns)}: its sh:sparql"
    _keys(g, node, _SPARQL_KEYS, who)
    if set(g.objects(node, RDF.type)) - {SH.SPARQLConstraint}:
        raise InputError(f"{who}: only sh:SPARQLConstraint is supported")
    selects = list(g.objects(node, SH.select))
    if len(selects) != 1 or not isinstance(selects[0], Literal):
        raise InputError(f"{who}: needs exactly one sh:select text")
    select = str(selects[0])
    prefixes: dict[str, str] = {}
    for ont in g.objects(node, SH.prefixes):
        if (ont, RDF.type, OWL.Ontology) not in g or not any(g.objects(ont, SH.declare)):
            raise InputError(f"{who}: sh:prefixes must name an owl:Ontology with sh:declare")
        for dec in g.objects(ont, SH.declare):
            prefix, namespace = str(g.value(dec, SH.prefix)), str(g.value(dec, SH.namespace))
            if prefixes.setdefault(prefix, namespace) != namespace:
                raise InputError(f"{who}: prefix {prefix!r} is declared twice")
    match = _SELECT.match(select)
    names = [v[1:] for v in match["vars"].split()] if match else []
    if not match or "this" not in names or {"value", "path", "failure"} & set(names):
        raise InputError(
            f"{who}: the fast check needs 'SELECT $this ?var ... WHERE {{ ... }}' projecting "
            "$this and plain variables (no ?value, ?path, ?failure, * or expressions)"
        )
    if _check_algebra(select, prefixes, who):
        select = _as_minus(select)
    prologue = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(prefixes.items()))
    head = f"{match['prologue']}SELECT DISTINCT {' '.join('?' + v for v in names)} WHERE {{ "
    sparql = prologue + head + focus + " " + select[match.end() :]
    message = _message(g, node, who)
    return Check(sparql, _SH + "SPARQLConstraintComponent", message=message,
                 variables=tuple(names), **common)  # fmt: skip


def _check_algebra(select: str, prefixes: dict[str, str], who: str) -> bool:
    """Refuse queries where joining with the focus nodes is not pyshacl's pre-binding; say
    whether it is one FILTER NOT EXISTS that MINUS may replace (see :func:`_as_minus`)."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(select, initNs=prefixes).algebra
    except Exception as exc:  # pyparsing and rdflib errors alike
        raise InputError(f"{who}: the query does not parse ({exc})") from None
    node = algebra["p"]
    while node.name in ("Distinct", "Project", "Filter", "Extend"):
        if node.name == "Extend" and node["var"] == Variable("this"):
            raise InputError(f"{who}: $this must not be bound with BIND")
        _check_expression(node.get("expr"), who)
        node = node["p"]
    if (
        algebra.get("datasetClause")
        or node.name != "BGP"
        or not any(Variable("this") in (s, o) for s, _, o in node["triples"])
    ):
        raise InputError(
            f"{who}: the fast check supports one basic graph pattern using $this, with BIND and "
            "FILTER (no OPTIONAL, UNION, MINUS, VALUES, GRAPH, subqueries, aggregates or LIMIT)"
        )
    top = algebra["p"]
    while top.name in ("Distinct", "Project"):
        top = top["p"]
    if top.name != "Filter" or getattr(top["expr"], "name", "") != "Builtin_NOTEXISTS":
        return False
    triples: list = []
    filters: list = []
    stack = [top["expr"].graph]  # rdflib keeps the translated EXISTS pattern as an attribute
    while stack:
        node = stack.pop()
        if node.name == "BGP":
            triples += node["triples"]
        elif node.name in ("Filter", "Join"):
            filters.append(node.get("expr"))
            stack += [node[k] for k in ("p", "p1", "p2") if k in node]
        else:
            return False
    bound = _variables(triples)
    return (
        Variable("this") in bound and _variables(filters) <= bound and "EXISTS" not in repr(filters)
    )


def _variables(node: object) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        return set().union(*(_variables(v) for k, v in node.items() if not k.startswith("_")))
    if isinstance(node, list | tuple):
        return set().union(*(_variables(v) for v in node))
    return set()


def _as_minus(select: str) -> str:
    """``{ ... FILTER NOT EXISTS { P } }`` as ``{ ... MINUS { P } }`` when P binds $this and all
    its filters read: the same solutions (both share $this), but Oxigraph evaluates MINUS once,
    where it plans the EXISTS pattern per row without $this (35 s instead of 0.1 s at 100k)."""
    found = list(re.finditer(r"FILTER\s+NOT\s+EXISTS\s*\{", select, re.IGNORECASE))
    if len(found) != 1 or len(re.findall("EXISTS", select, re.IGNORECASE)) != 1:
        return select
    depth = 0
    for token in _SPARQL_TOKEN.finditer(select, found[0].end() - 1):
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        if depth == 0:  # P ends here: it must be the last element of the WHERE group
            if re.fullmatch(r"\s*\}\s*", select[token.end() :]):
                return select[: found[0].start()] + "MINUS {" + select[found[0].end() :]
            break
    return select


def _check_expression(expr: object, who: str) -> None:
    if isinstance(expr, list):
        for item in expr:
            _check_expression(item, who)
    elif isinstance(expr, CompValue):
        name = expr.name
        if name in _VOLATILE or not (name.startswith("Builtin_") or name in _EXPRESSIONS):
            raise InputError(f"{who}: {name} is not supported by the fast check")
        if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            _check_expression(expr.graph, who)  # the translated pattern, an attribute
            return
        for key, item in expr.items():
            if not key.startswith("_"):
                _check_expression(item, who)


def _focus(g: Graph, node_shapes: list[Node]) -> str:
    """A subquery binding ?this to each focus node of each of *node_shapes* once, with ?parent
    telling which one (by position) when there are several."""
    branches = []
    for i, ns in enumerate(node_shapes):
        who, parts = f"shape {_show(ns)}", []
        for cls in sorted(g.objects(ns, SH.targetClass), key=str):
            parts.append(f"{{ ?class {_SUB}* {_iri(g, ns, SH.targetClass, who, cls)} . "
                         f"?this {_TYPE} ?class }}")  # fmt: skip
        for prop in sorted(g.objects(ns, SH.targetSubjectsOf), key=str):
            parts.append(f"{{ ?this {_iri(g, ns, SH.targetSubjectsOf, who, prop)} ?object }}")
        branches.append(" UNION ".join(parts))
    if len(branches) == 1:
        return f"{{ SELECT DISTINCT ?this WHERE {{ {branches[0]} }} }}"
    tagged = " UNION ".join(f"{{ {b} BIND ({i} AS ?parent) }}" for i, b in enumerate(branches))
    return f"{{ SELECT DISTINCT ?this ?parent WHERE {{ {tagged} }} }}"


def _values(g: Graph, ps: Node, who: str) -> tuple[str, str]:
    """The path of *ps* in N-Triples form and the pattern binding its values to ?v."""
    path = g.value(ps, SH.path)
    if isinstance(path, URIRef):
        return _nt(path), f"?this {_nt(path)} ?v ."
    inverse = g.value(path, SH.inversePath) if isinstance(path, BNode) else None
    if isinstance(inverse, URIRef) and len(set(g.predicate_objects(path))) == 1:
        return f"^{_nt(inverse)}", f"?v {_nt(inverse)} ?this ."
    raise InputError(f"{who}: only an IRI or [ sh:inversePath IRI ] is supported as sh:path")


def _keys(g: Graph, node: Node, allowed: set, who: str) -> None:
    extra = sorted(str(p) for p in set(g.predicates(node, None)) - allowed)
    if extra:
        raise InputError(f"{who}: {', '.join(map(_show, extra))} not supported by the fast check")
    if set(g.objects(node, RDF.type)) - _SHAPE_TYPES - {SH.SPARQLConstraint}:
        raise InputError(f"{who}: unsupported rdf:type for a shape")


def _iri(g: Graph, node: Node, pred: URIRef, who: str, value: Node | None = None) -> str:
    value = g.value(node, pred) if value is None else value
    if not isinstance(value, URIRef):
        raise InputError(f"{who}: {_show(pred)} must be an IRI")
    return _nt(value)


def _count(g: Graph, node: Node, pred: URIRef, who: str) -> int | None:
    values = list(g.objects(node, pred))
    if not values:
        return None
    value = values[0].value if isinstance(values[0], Literal) else None
    if len(values) > 1 or type(value) is not int or value < 0:
        raise InputError(f"{who}: {_show(pred)} must be one non-negative integer")
    return value


def _members(g: Graph, head: Node, who: str) -> list[Node]:
    try:
        members = list(Collection(g, head))
    except Exception:
        members = []
    if not members or not all(isinstance(m, BNode) for m in members):
        raise InputError(f"{who}: sh:or must be a list of blank-node shapes")
    return members


def _datatype(dt: Node | None, who: str) -> str:
    if dt not in _DATATYPES:
        known = ", ".join(_show(d) for d in _DATATYPES)
        raise InputError(f"{who}: sh:datatype {_show(dt)} is not supported (only {known})")
    return _DATATYPES[dt]


def _regex(pattern: Node, who: str) -> str:
    """*pattern* (Python ``re``) as an equivalent Oxigraph REGEX argument, or InputError."""
    text = str(pattern)
    body = text[1:] if text.startswith("^") else text
    end = body.endswith("$") and not body.endswith("\\$")
    body = body[:-1] if end else body
    tokens = _REGEX_TOKEN.findall(body)
    odd = any(t.startswith("[") and ("&&" in t or "--" in t or "~~" in t) for t in tokens)
    if "".join(tokens) != body or odd or ("(", "?") in zip(tokens, tokens[1:]):
        raise InputError(f"{who}: sh:pattern {text!r} uses regex features outside the safe subset")
    translated = text[: len(text) - len(body) - end] + body + ("\\n?$" if end else "")
    return '"' + translated.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message(g: Graph, node: Node, who: str) -> str:
    messages = list(g.objects(node, SH.message))
    if len(messages) != 1 or not isinstance(messages[0], Literal):
        raise InputError(f"{who}: needs exactly one sh:message (pyshacl would write its own)")
    return str(messages[0])


def _severity(g: Graph, node: Node, who: str) -> str:
    values = list(g.objects(node, SH.severity))
    if len(values) > 1 or (values and not isinstance(values[0], URIRef)):
        raise InputError(f"{who}: sh:severity must be one IRI")
    return str(values[0]) if values else VIOLATION


# ---------------------------------------------------------------- terms and results


def _parses_as_date(term: object) -> bool:
    """Whether rdflib (hence pyshacl) reads *term* as a well-typed xsd:date."""
    if not isinstance(term, ox.Literal) or term.datatype.value != str(XSD.date):
        return False
    try:
        return isinstance(_toPythonMapping[XSD.date](term.value), date)
    except Exception:
        return False


def _lexical(term: ox.Literal) -> str:
    """The lexical form rdflib would give *term* (it normalises what it can parse)."""
    datatype = URIRef(term.datatype.value)
    parse = None if term.language else _toPythonMapping.get(datatype)
    if parse is None:
        return term.value
    try:
        parse(term.value)
    except Exception:
        return term.value  # ill-typed: rdflib keeps the text as written
    return str(Literal(term.value, datatype=datatype))


def _text(term: object) -> str:
    """``str()`` of the rdflib term, as pyshacl puts it into a message."""
    return _lexical(term) if isinstance(term, ox.Literal) else str(getattr(term, "value", term))


def _fill(check: Check, row: ox.QuerySolution) -> str:
    """The message with ``{?var}`` and ``{$this}`` replaced in pyshacl's order and manner."""
    bound = {v: row[v] for v in check.variables if v != "this" and row[v] is not None}
    bound["this"] = row["this"]
    message = check.message
    for var, value in bound.items():
        pattern, text = "{[?$]%s}" % var, _text(value)
        try:
            message = re.sub(pattern, text, message)
        except re.error:  # pyshacl would fail on the escape; keep the text as it is
            message = re.sub(pattern, lambda _, t=text: t, message)
    return message


def _nt(term: object) -> str:
    """N-Triples form of an rdflib or pyoxigraph term (language tags lower case, no xsd:string)."""
    if isinstance(term, URIRef | ox.NamedNode):
        return f"<{getattr(term, 'value', term)}>"
    if isinstance(term, BNode | ox.BlankNode):
        return f"_:{getattr(term, 'value', term)}"
    if isinstance(term, ox.Literal):
        lexical, language = _lexical(term), term.language
        datatype = None if language else term.datatype.value
    elif isinstance(term, Literal):
        lexical, language = str(term), term.language
        datatype = None if language or term.datatype is None else str(term.datatype)
    else:
        raise TypeError(f"not an RDF term: {term!r}")
    escaped = (
        lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    if language:
        return f'"{escaped}"@{language.lower()}'
    if datatype and datatype != str(XSD.string):
        return f'"{escaped}"^^<{datatype}>'
    return f'"{escaped}"'


def _path_nt(g: Graph, path: Node | None) -> str:
    inverse = g.value(path, SH.inversePath) if isinstance(path, BNode) else None
    return f"^{_nt(inverse)}" if inverse is not None else _nt(path)


def _show(node: object) -> str:
    return f"<{node}>" if isinstance(node, str) and not isinstance(node, Literal) else repr(node)


def _order(r: Result) -> tuple[str, ...]:
    return (r.focus, r.path or "", r.value or "", r.component, r.shape, r.message, r.severity)
