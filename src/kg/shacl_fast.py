"""SHACL validation of the asserted data at Oxigraph speed, with pyshacl's results.

Why: pyshacl walks the data in Python (over a minute at 100k triples). The shapes in
``ontology/shapes.ttl`` are simple graph patterns, so :func:`compile_shapes` turns each
constraint into a SPARQL SELECT that :func:`validate_store` runs in Oxigraph over the union of
the data and ontology graphs (pyshacl's data graph: data + ``ont_graph``).

pyshacl (``inference="none"``) is the reference, and its reading of SHACL is what is compiled:
``rdfs:subClassOf*`` for targets and ``sh:class``; one result per parent node shape when a
property shape has several; counts of distinct terms (the union graph is a bag: every query is
DISTINCT); an ``xsd:date`` must parse with rdflib's parser, but any ``xsd:gYear``,
``xsd:gYearMonth`` or ``xsd:anyURI`` literal passes; Python ``re`` for ``sh:pattern`` (``$``
also matches before a final newline); ``sh:sparql`` rows deduplicated and ``{?var}`` filled as
pyshacl does. Other features make :func:`compile_shapes` raise :class:`~kg.errors.InputError`
naming the shape, so that kg can fall back to pyshacl.

Left are differences in the data: Oxigraph holds ``"x"`` and ``"x"^^xsd:string`` as one term and
typed literals in canonical form (``"1.50"^^xsd:decimal`` is ``"1.5"``); rdflib keeps them apart
and drops the time zone of an ``xsd:date``. Results differ only where such literals are counted
(``sh:maxCount``) or read with ``STR`` in an ``sh:sparql`` query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import pairwise

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, _toPythonMapping  # rdflib's lexical parsers, as pyshacl uses them

from kg.errors import InputError

_SH = str(SH)
VIOLATION = _SH + "Violation"
_NOT, _OR, _CLASS = URIRef(_SH + "not"), URIRef(_SH + "or"), URIRef(_SH + "class")
_TYPE, _SUB = f"<{RDF.type}>", f"<{RDFS.subClassOf}>"
_NAMES = {RDF.type, RDFS.label, RDFS.comment, SH.name, SH.description}
_NODE_KEYS = _NAMES | {SH.targetClass, SH.targetSubjectsOf, SH.property, SH.sparql, _NOT, _OR}
_PROP_KEYS = _NAMES | {SH.path, SH.minCount, SH.maxCount, SH.datatype, SH.pattern, SH.nodeKind}
_PROP_KEYS |= {_CLASS, _OR, SH.message, SH.severity}
_NODE_KEYS |= {SH.message, SH.severity}
_PLAIN_DATE = (  # YYYY-MM-DD dates rdflib surely parses; any other xsd:date is checked in Python
    "^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"
    "|^[1-9][0-9]{3}-(0[13-9]|1[0-2])-(29|30)$|^[1-9][0-9]{3}-(0[13578]|1[02])-31$"
)
# Lexical forms SPARQL accepts at once for these datatypes; any other value of theirs is
# re-checked in Python with the parser rdflib (hence pyshacl) uses, so rare forms cost
# nothing on common data and are judged exactly as the reference judges them.
_STRICT = {
    XSD.date: _PLAIN_DATE,
    XSD.gYear: "^[1-9][0-9]{3}$",
    XSD.gYearMonth: "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$",
}
_DATATYPES = {  # sh:datatype: when ?v matches, in pyshacl's (rdflib's) reading
    XSD.string: f"DATATYPE(?v) = <{XSD.string}>",
    RDF.langString: 'LANG(?v) != ""',
    XSD.anyURI: f"DATATYPE(?v) = <{XSD.anyURI}>",  # rdflib checks no lexical form
    **{dt: f'DATATYPE(?v) = <{dt}> && REGEX(STR(?v), "{rx}")' for dt, rx in _STRICT.items()},
}


def strict_lexical_forms() -> None:
    """Have rdflib check xsd:gYear and xsd:gYearMonth values with owlrl's parsers.

    rdflib has none for them, and owlrl registers its own while it reasons and leaves
    these two behind; so without this, whether pyshacl (the reference) accepts
    "abc"^^xsd:gYear would depend on whether owlrl ran earlier in the process."""
    from owlrl.DatatypeHandling import AltXSDToPYTHON

    for datatype in (XSD.gYear, XSD.gYearMonth):
        _toPythonMapping[datatype] = AltXSDToPYTHON[datatype]


strict_lexical_forms()
_KINDS = {SH.IRI: "isIRI(?v)", SH.BlankNode: "isBlank(?v)", SH.Literal: "isLiteral(?v)"}
_KINDS |= {SH.BlankNodeOrIRI: "!isLiteral(?v)", SH.BlankNodeOrLiteral: "!isIRI(?v)"}
_KINDS |= {SH.IRIOrLiteral: "!isBlank(?v)"}
_REPORT = (SH.focusNode, SH.resultPath, SH.value, SH.sourceConstraintComponent, SH.sourceShape)
_REPORT += (SH.resultSeverity,)
_SELECT = re.compile(
    r"\s*(?P<prologue>(?:PREFIX\s+[\w.-]*:\s*<[^<>\s]*>\s*)*)SELECT\s+(?:DISTINCT\s+)?"
    r"(?P<vars>(?:[?$]\w+\s*)+)(?:WHERE\s*)?\{",
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
_REGEX_TOKEN = re.compile(  # what Python's re and Oxigraph's REGEX read alike
    r"\\[.^$*+?()\[\]{}|\\/-]|\[\^?(?:\\[.^$*+?()\[\]{}|\\/-]|[^\\\[\]])+\]"
    r"|(?:[*+?]|\{\d+(?:,\d*)?\})(?![?+])|[()|.]|[^\\\[\]()|.*+?{}^$]"
)


@dataclass(frozen=True)
class Result:
    """One validation result, every term in N-Triples form."""

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
    parsed: tuple[str, ...] = ()  # drop rows whose ?v has one of these datatypes and parses
    variables: tuple[str, ...] = ()  # sh:sparql: the projected variables, for the message


def compile_shapes(shapes: Graph) -> list[Check]:
    """One check per constraint of every targeted shape; unsupported features: InputError."""
    for pred in (SH.targetNode, SH.targetObjectsOf, SH.target):
        for s in shapes.subjects(pred, None):
            raise InputError(f"shape {_show(s)}: {_show(pred)} is not supported by the fast check")
    targeted = {s for p in (SH.targetClass, SH.targetSubjectsOf) for s in shapes.subjects(p, None)}
    for s in targeted | set(shapes.subjects(RDF.type, SH.NodeShape)):
        if set(shapes.objects(s, RDF.type)) & {RDFS.Class, OWL.Class}:
            raise InputError(f"shape {_show(s)}: implicit class targets are not supported")
    checks: list[Check] = []
    for ns in sorted(targeted, key=str):
        checks += _node_shape(shapes, ns)
    named = {ps for ns in targeted for ps in shapes.objects(ns, SH.property)}
    for ps in sorted((ps for ps in named if isinstance(ps, URIRef)), key=str):
        # one query for all its parents, with a row (a result) per parent as in pyshacl
        parents = sorted(targeted & set(shapes.subjects(SH.property, ps)), key=str)
        checks += _property_shape(shapes, ps, parents)
    return checks


def validate_store(
    store: ox.Store, checks: list[Check], *, graphs: list[ox.NamedNode]
) -> list[Result]:
    """Run *checks* over the union of *graphs* (data and ontology); the results, sorted."""
    results = []
    for check in checks:
        for row in store.query(check.sparql, default_graph=graphs):
            focus = row["this"]
            value = row["v"] if check.value == "v" else focus if check.value == "this" else None
            if check.parsed and _parses(value, check.parsed):
                continue
            message = _fill(check, row) if check.variables else check.message
            shown = None if value is None else _nt(value)
            args = (check.component, check.shape, message, check.severity)
            results.append(Result(_nt(focus), check.path, shown, *args))
    return sorted(results, key=_order)


def results_from_pyshacl(report: Graph, shapes: Graph) -> list[Result]:
    """pyshacl's report graph as :class:`Result` values, sorted like :func:`validate_store`."""
    results = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        focus, path, value, component, shape, severity = map(partial(report.value, r), _REPORT)
        name = _nt(shape)
        parent = min(shapes.subjects(SH.property, shape), key=str, default=None)
        if isinstance(shape, BNode) and parent is not None:  # named by node shape and path
            name = f"{_nt(parent)} {_path_nt(shapes, shapes.value(shape, SH.path))}"
        message = "\n".join(sorted(str(m) for m in report.objects(r, SH.resultMessage)))
        path_nt = None if path is None else _path_nt(report, path, shapes)
        args = (str(component), name, message, str(severity))
        results.append(Result(_nt(focus), path_nt, None if value is None else _nt(value), *args))
    return sorted(results, key=_order)


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
    severity = str(_one(g, ns, SH.severity, who, URIRef) or VIOLATION)
    node = {"shape": _nt(ns), "path": None, "severity": severity, "value": "this"}
    inner = _one(g, ns, _NOT, who, BNode)
    if inner is not None:
        _keys(g, inner, {_CLASS}, f"{who}: its sh:not")
        cls = _nt(_one(g, inner, _CLASS, who, URIRef, True))
        sparql = f"SELECT DISTINCT ?this WHERE {{ {focus} ?this {_TYPE} ?t . ?t {_SUB}* {cls} }}"
        component = _SH + "NotConstraintComponent"
        checks.append(Check(sparql, component, message=_message(g, ns), **node))
    if g.value(ns, _OR) is not None:
        absent = []  # MINUS: the NOT EXISTS of each alternative, as Oxigraph runs it fast
        for alt in _members(g, ns, who):
            _keys(g, alt, {RDF.type, SH.path, SH.minCount}, f"{who}: its sh:or")
            if _count(g, alt, SH.minCount, who) != 1:
                raise InputError(f"{who}: sh:or alternatives need sh:minCount 1 for the fast check")
            absent.append(f"MINUS {{ {_values(g, alt, who)[1]} }}")
        sparql = f"SELECT ?this WHERE {{ {focus} {' '.join(absent)} }}"
        component = _SH + "OrConstraintComponent"
        checks.append(Check(sparql, component, message=_message(g, ns), **node))
    for constraint in sorted(g.objects(ns, SH.sparql), key=str):
        if g.value(ns, SH.message) is not None:
            raise InputError(f"{who}: sh:message next to sh:sparql gives two messages per result")
        checks.append(_sparql(g, ns, constraint, focus, node))
    return checks


def _property_shape(g: Graph, ps: Node, parents: list[Node]) -> list[Check]:
    path, values = _values(g, ps, f"shape {_show(ps)} (in {_show(parents[0])})")
    name = _nt(ps) if isinstance(ps, URIRef) else f"{_nt(parents[0])} {path}"
    who, focus = f"shape {name}", _focus(g, parents)
    _keys(g, ps, _PROP_KEYS, who)
    if isinstance(ps, BNode) and len(set(g.subjects(SH.property, ps))) > 1:
        raise InputError(f"{who}: a blank property shape may have only one parent node shape")
    # (component, FILTER or MINUS leaving the bad ?v, datatypes to re-check in Python)
    tests: list[tuple[str, str, tuple[str, ...]]] = []
    if (cls := _one(g, ps, _CLASS, who, URIRef)) is not None:  # MINUS: NOT EXISTS, but faster
        tests.append(("Class", f"MINUS {{ ?v {_TYPE} ?t . ?t {_SUB}* {_nt(cls)} }}", ()))
    if (dt := _one(g, ps, SH.datatype, who, URIRef)) is not None:
        tests.append(("Datatype", f"FILTER (!({_datatype(dt, who)}))", _parsed([dt])))
    if g.value(ps, _OR) is not None:
        alternatives = []
        for alt in _members(g, ps, who):
            _keys(g, alt, {SH.datatype}, f"{who}: its sh:or")
            alternatives.append(g.value(alt, SH.datatype))
        ok = " || ".join(f"({_datatype(dt, who)})" for dt in alternatives)
        tests.append(("Or", f"FILTER (!({ok}))", _parsed(alternatives)))
    if (pattern := _one(g, ps, SH.pattern, who, Literal)) is not None:
        regex = _regex(str(pattern), who)
        tests.append(("Pattern", f"FILTER (isBlank(?v) || !REGEX(STR(?v), {regex}))", ()))
    if (kind := _one(g, ps, SH.nodeKind, who, URIRef)) is not None:
        if kind not in _KINDS:
            raise InputError(f"{who}: sh:nodeKind {_show(kind)} is not a SHACL node kind")
        tests.append(("NodeKind", f"FILTER (!{_KINDS[kind]})", ()))
    counts = []
    low, high = _count(g, ps, SH.minCount, who), _count(g, ps, SH.maxCount, who)
    if low == 1:
        query = f"SELECT ?this ?parent WHERE {{ {focus} MINUS {{ {values} }} }}"
        counts.append(("MinCount", query))
    elif low:
        group = f"GROUP BY ?this ?parent HAVING (COUNT(DISTINCT ?v) < {low})"
        query = f"SELECT ?this ?parent WHERE {{ {focus} OPTIONAL {{ {values} }} }} {group}"
        counts.append(("MinCount", query))
    if high is not None:  # counted over any subject first, then joined with the focus nodes
        group = f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {high})"
        over = f"{{ SELECT ?this WHERE {{ {values} }} {group} }}"
        counts.append(("MaxCount", f"SELECT ?this ?parent WHERE {{ {over} {focus} }}"))
    if not tests and not counts:
        return []
    common = {"shape": name, "path": path, "message": _message(g, ps, who)}
    common["severity"] = str(_one(g, ps, SH.severity, who, URIRef) or VIOLATION)
    checks = [Check(q, f"{_SH}{c}ConstraintComponent", value="", **common) for c, q in counts]
    for component, test, parsed in tests:  # bad values of any subject first: 2-3 times faster
        bad = f"{{ SELECT DISTINCT ?this ?v WHERE {{ {values} {test} }} }}"
        sparql = f"SELECT DISTINCT ?this ?v ?parent WHERE {{ {bad} {focus} }}"
        checks.append(
            Check(sparql, f"{_SH}{component}ConstraintComponent", parsed=parsed, **common)
        )
    return checks


def _sparql(g: Graph, ns: URIRef, node: Node, focus: str, common: dict) -> Check:
    who = f"shape {_show(ns)}: its sh:sparql"
    _keys(g, node, {RDF.type, SH.select, SH.prefixes, SH.message}, who)
    select = str(_one(g, node, SH.select, who, Literal, True))
    prefixes: dict[str, str] = {}
    for ont in g.objects(node, SH.prefixes):
        if (ont, RDF.type, OWL.Ontology) not in g or g.value(ont, SH.declare) is None:
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
    if _check_query(select, prefixes, who):
        select = _as_minus(select)
    prologue = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(prefixes.items()))
    head = f"{match['prologue']}SELECT DISTINCT {' '.join('?' + v for v in names)} WHERE {{ "
    sparql = prologue + head + focus + " " + select[match.end() :]
    component, message = _SH + "SPARQLConstraintComponent", _message(g, node, who)
    return Check(sparql, component, message=message, variables=tuple(names), **common)


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


def _focus(g: Graph, node_shapes: list[Node]) -> str:
    """A subquery binding ?this to each focus node of each of *node_shapes* once, and ?parent
    to which of them (by position) when there are several."""
    branches = []
    for ns in node_shapes:
        classes = sorted(g.objects(ns, SH.targetClass), key=str)
        subjects_of = sorted(g.objects(ns, SH.targetSubjectsOf), key=str)
        if not all(isinstance(t, URIRef) for t in classes + subjects_of):
            raise InputError(f"shape {_show(ns)}: its targets must be IRIs for the fast check")
        parts = [f"{{ ?class {_SUB}* {_nt(c)} . ?this {_TYPE} ?class }}" for c in classes]
        parts += [f"{{ ?this {_nt(p)} ?object }}" for p in subjects_of]
        branches.append(" UNION ".join(parts))
    if len(branches) == 1:
        return f"{{ SELECT DISTINCT ?this WHERE {{ {branches[0]} }} }}"
    tagged = " UNION ".join(f"{{ {b} BIND ({i} AS ?parent) }}" for i, b in enumerate(branches))
    return f"{{ SELECT DISTINCT ?this ?parent WHERE {{ {tagged} }} }}"


def _values(g: Graph, ps: Node, who: str) -> tuple[str, str]:
    """The path of *ps* in N-Triples form and the pattern binding its values to ?v."""
    path = g.value(ps, SH.path)
    inverse = g.value(path, SH.inversePath) if isinstance(path, BNode) else None
    if isinstance(path, URIRef):
        return _nt(path), f"?this {_nt(path)} ?v ."
    if isinstance(inverse, URIRef) and len(set(g.predicate_objects(path))) == 1:
        return f"^{_nt(inverse)}", f"?v {_nt(inverse)} ?this ."
    raise InputError(f"{who}: only an IRI or [ sh:inversePath IRI ] is supported as sh:path")


def _keys(g: Graph, node: Node, allowed: set, who: str) -> None:
    extra = sorted(str(p) for p in set(g.predicates(node, None)) - allowed)
    if extra:
        raise InputError(f"{who}: {', '.join(map(_show, extra))} not supported by the fast check")
    if set(g.objects(node, RDF.type)) - {SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint}:
        raise InputError(f"{who}: unsupported rdf:type for a shape")


def _one(g: Graph, node: Node, pred: URIRef, who: str, kind: type, required: bool = False):
    """The value of *pred*: at most one (or exactly one, if *required*), of type *kind*."""
    values = list(g.objects(node, pred))
    if len(values) > 1 or (required and not values) or not all(isinstance(v, kind) for v in values):
        many = "exactly one" if required else "at most one"
        raise InputError(f"{who}: the fast check needs {many} {_show(pred)}, a {kind.__name__}")
    return values[0] if values else None


def _count(g: Graph, node: Node, pred: URIRef, who: str) -> int | None:
    value = _one(g, node, pred, who, Literal)
    if value is not None and (type(value.value) is not int or value.value < 0):
        raise InputError(f"{who}: {_show(pred)} must be a non-negative integer")
    return None if value is None else value.value


def _message(g: Graph, node: Node, who: str | None = None) -> str:
    who = who or f"shape {_show(node)}"
    return str(_one(g, node, SH.message, f"{who} (else pyshacl writes one)", Literal, True))


def _members(g: Graph, node: Node, who: str) -> list[Node]:
    members = list(Collection(g, _one(g, node, _OR, who, BNode, True)))
    if not members or not all(isinstance(m, BNode) for m in members):
        raise InputError(f"{who}: sh:or must be a list of blank-node shapes")
    return members


def _datatype(dt: Node | None, who: str) -> str:
    if dt not in _DATATYPES:
        known = ", ".join(map(_show, _DATATYPES))
        raise InputError(f"{who}: sh:datatype {_show(dt)} is not supported (only {known})")
    return f"isLiteral(?v) && {_DATATYPES[dt]}"  # && is false, not an error, for non-literals


def _regex(text: str, who: str) -> str:
    """Python *text* as the Oxigraph REGEX argument matching the same, or InputError."""
    body = text[1:] if text.startswith("^") else text
    end = body.endswith("$") and not body.endswith("\\$")
    body = body[:-1] if end else body
    tokens = _REGEX_TOKEN.findall(body)
    odd = any(t.startswith("[") and ("&&" in t or "--" in t or "~~" in t) for t in tokens)
    if "".join(tokens) != body or odd or ("(", "?") in pairwise(tokens):
        raise InputError(f"{who}: sh:pattern {text!r} uses regex features outside the safe subset")
    translated = text[: len(text) - len(body) - end] + body + ("\\n?$" if end else "")
    return '"' + translated.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parsed(datatypes) -> tuple[str, ...]:
    """Those of *datatypes* whose values SPARQL checks only for a common form (see _STRICT)."""
    return tuple(str(dt) for dt in datatypes if dt in _STRICT)


def _parses(term: object, datatypes: tuple[str, ...]) -> bool:
    """Whether rdflib (hence pyshacl) reads *term* as a well-typed value of its datatype,
    which is one of *datatypes*."""
    if not isinstance(term, ox.Literal) or term.datatype.value not in datatypes:
        return False
    datatype = URIRef(term.datatype.value)
    try:
        value = _toPythonMapping[datatype](term.value)
    except Exception:
        return False
    return isinstance(value, date) if datatype == XSD.date else True


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


def _fill(check: Check, row: ox.QuerySolution) -> str:
    """The message with ``{?var}`` and ``{$this}`` replaced as pyshacl does, in its order."""
    bound = {v: row[v] for v in check.variables if v != "this" and row[v] is not None}
    message = check.message
    for var, value in {**bound, "this": row["this"]}.items():
        text = _lexical(value) if isinstance(value, ox.Literal) else value.value
        try:
            message = re.sub(f"{{[?$]{var}}}", text, message)  # a replacement template, as there
        except re.error:  # where pyshacl would fail on a bad escape: the text as it is
            message = re.sub(f"{{[?$]{var}}}", lambda _, t=text: t, message)
    return message


def _nt(term: object) -> str:
    """N-Triples form of an rdflib or pyoxigraph term (language tags lower case, no xsd:string)."""
    if isinstance(term, URIRef | BNode | ox.NamedNode | ox.BlankNode):
        text = getattr(term, "value", term)
        return f"<{text}>" if isinstance(term, URIRef | ox.NamedNode) else f"_:{text}"
    if isinstance(term, ox.Literal):
        lexical, language, datatype = _lexical(term), term.language, term.datatype.value
    elif isinstance(term, Literal):
        lexical, language, datatype = str(term), term.language, str(term.datatype or XSD.string)
    else:
        raise TypeError(f"not an RDF term: {term!r}")
    quoted = lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    quoted = '"' + quoted.replace("\r", "\\r") + '"'
    if language:
        return f"{quoted}@{language.lower()}"
    return quoted if datatype == str(XSD.string) else f"{quoted}^^<{datatype}>"


def _path_nt(g: Graph, path: Node | None, also: Graph | None = None) -> str:
    inverse = g.value(path, SH.inversePath) if isinstance(path, BNode) else None
    if inverse is None and also is not None and isinstance(path, BNode):
        inverse = also.value(path, SH.inversePath)
    return f"^{_nt(inverse)}" if inverse is not None else _nt(path)


def _show(node: object) -> str:
    return f"<{node}>" if isinstance(node, str) and not isinstance(node, Literal) else repr(node)


def _order(r: Result) -> tuple[str, ...]:
    return (r.focus, r.path or "", r.value or "", r.component, r.shape, r.message, r.severity)
