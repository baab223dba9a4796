"""SHACL validation of the asserted data at Oxigraph speed, with the reference's results.

Why: pyshacl walks the data in Python (over a minute at 100k triples). :func:`compile_shapes`
turns each constraint of each shape with a target into a SPARQL SELECT (see
:mod:`kg.shacl_components`; targets in :mod:`kg.shacl_targets`, paths in :mod:`kg.shacl_paths`,
``sh:sparql`` in :mod:`kg.shacl_sparql`) that :func:`validate_store` runs in Oxigraph over the
union of the data and ontology graphs (pyshacl's data graph: data + ``ont_graph``). The W3C
SHACL test suite measures it (:mod:`kg.shacl_conformance`).

pyshacl (``inference="none"``) is the reference for kg's own shapes, and its reading of SHACL is
what is compiled: ``rdfs:subClassOf*`` for targets and ``sh:class``; one result per parent node
shape when a property shape has several; counts of distinct terms (the union graph is a bag:
every query is DISTINCT); an ``xsd:date`` must parse with rdflib's parser, but any
``xsd:gYear``, ``xsd:gYearMonth`` or ``xsd:anyURI`` literal passes; Python ``re`` for
``sh:pattern`` (``$`` also matches before a final newline); ``sh:sparql`` rows deduplicated and
``{?var}`` filled as pyshacl does; a shape without ``sh:message`` gets a message naming the
component (pyshacl writes its own). What cannot be compiled exactly raises
:class:`~kg.errors.InputError` naming the shape, at compile time or (for a check that meets
data it cannot judge) in :func:`validate_store`, so that kg falls back to pyshacl.

Oxigraph holds ``"x"`` and ``"x"^^xsd:string`` as one term, and typed literals of the datatypes
in :data:`kg.shacl_terms.REWRITTEN` in canonical form (``"1.50"^^xsd:decimal`` is ``"1.5"``,
``"05"^^xsd:short`` is ``"5"^^xsd:integer``, ``"300"^^xsd:byte`` is ``"300"^^xsd:integer``);
rdflib keeps them apart and drops the time zone of an ``xsd:date``. When a check that reads
lexical forms or compares terms meets a literal of such a datatype, :func:`validate_store`
re-reads the *sources* (:mod:`kg.shacl_originals`; only then: a guarded check on data without
such literals costs one ASK, as before) and judges the literals as written. Exact so:
``sh:datatype`` for every datatype (well formed as rdflib's ``Literal.ill_typed`` and pyshacl's
value types say: ``"300"^^xsd:byte`` and ``"c"^^xsd:byte`` fail ``xsd:byte``,
``"05"^^xsd:short`` fails ``xsd:integer``; ``rdf:HTML`` too); ``sh:pattern``, ``sh:minLength``,
``sh:maxLength`` and ``sh:in`` on typed literals; ``sh:targetNode`` literals written otherwise
than canonical; ``sh:uniqueLang`` on only for ``"true"^^xsd:boolean``, as the W3C suite says
(pyshacl also takes ``"1"``). Declined: a check whose verdict differs between literals the store
holds as one term (``"1.5"`` and ``"1.50"`` under ``sh:pattern``); ``sh:hasValue``,
``sh:equals``, ``sh:disjoint`` and nested shapes that read lexical forms, when a value they read
was rewritten; a nested ``sh:datatype`` meeting a value only Python can judge
(``"1_000"^^xsd:integer``); counts (``sh:maxCount``, ``sh:minCount`` above 1, qualified) when
the sources write two literals the store holds as one term (``"1.50"`` and ``"1.5"``: SHACL
counts two, the store one), their guard reading the path's values of any subject (where
joining the focus nodes cost a third more validation; kg's shapes' guards, SPARQL ones
included, take 0.6 CPU-s at 1M triples, asked once per validation); all of
these when no sources are given. Results name literal focus nodes and values, and a
message's ``{?var}`` fills them in, as the sources write them (declined when a stored term
stands for several: which focus node had which is lost); see :mod:`kg.shacl_written`. An
``sh:sparql`` query (which may read ``STR`` of a value) declines when a value of a predicate
it names was rewritten, or when it writes such a literal itself (:mod:`kg.shacl_sparql`).
Comparisons (``sh:minInclusive`` and the other ranges, ``sh:lessThan``,
``sh:lessThanOrEquals``, nested ones too) decline on a literal ill-typed as written that the
store reads as a value: ``"300"^^xsd:byte`` is kept as the integer 300, which compares, where
SHACL finds it not comparable (a violation); well-typed literals written otherwise
(``"05"^^xsd:short``) compare as their values, as SHACL's do.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH

from kg.errors import InputError
from kg.shacl_components import CANONICAL, Compiler
from kg.shacl_lexical import parses, strict_lexical_forms
from kg.shacl_originals import as_written, is_canonical
from kg.shacl_paths import path_sparql, path_text
from kg.shacl_sparql import fill, sparql_check
from kg.shacl_targets import deactivated, narrowed, narrowing, targeted
from kg.shacl_targets import focus as _focus_query
from kg.shacl_terms import VIOLATION, Check, Result, nt, one, show
from kg.shacl_written import Lazy, Sources, as_reported, judged, plan, rewritable

__all__ = ["VIOLATION", "Check", "Result", "compile_shapes", "nt", "validate_store"]
__all__ += ["path_text", "results_from_pyshacl", "shape_name", "strict_lexical_forms"]
_nt, _show = nt, show  # the names other modules import
_SH = str(SH)
_REPORT = (SH.focusNode, SH.resultPath, SH.value, SH.sourceConstraintComponent, SH.sourceShape)
_REPORT += (SH.resultSeverity,)


def compile_shapes(shapes: Graph) -> list[Check]:
    """One check per constraint of every targeted shape; unsupported features: InputError."""
    from kg.shacl_custom import custom_checks  # SHACL §6 components (imports this module)

    custom = custom_checks(shapes)
    compiler, top = Compiler(shapes), targeted(shapes)
    node_shapes = {s for s in top if shapes.value(s, SH.path) is None}
    checks: list[Check] = []
    for ns in sorted(node_shapes, key=str):
        checks += _node_shape(compiler, ns, top)
    named = {ps for ns in node_shapes for ps in shapes.objects(ns, SH.property)}
    named = {ps for ps in named if not isinstance(ps, BNode)} | (top - node_shapes)
    for ps in sorted((ps for ps in named if not deactivated(shapes, ps)), key=str):
        # one query for all its parents, with a row (a result) per parent as in pyshacl
        parents = sorted(node_shapes & set(shapes.subjects(SH.property, ps)), key=str)
        checks += _property_shape(compiler, ps, [ps] * (ps in top) + parents)
    return _with_written(shapes, checks + custom)


def _with_written(shapes: Graph, checks: list[Check]) -> list[Check]:
    """*checks*, told the sh:targetNode literals the store holds otherwise than written
    (focus nodes judged as written, as data values are: see Check.written)."""
    nodes = sorted(shapes.objects(None, SH.targetNode), key=str)
    written = tuple(as_written(n) for n in nodes if not is_canonical(n))
    return [replace(c, written=written) for c in checks] if written else checks


def validate_store(
    store: ox.Store,
    checks: list[Check],
    *,
    graphs: list[ox.NamedNode],
    sources: Sources = None,
) -> list[Result]:
    """Run *checks* over the union of *graphs* (data and ontology); the results, sorted.

    *sources*: the files the store was loaded from (or a ready :class:`Originals`, or a
    function making one), read only when a check must see a literal as written (see
    :mod:`kg.shacl_originals`). InputError when a check meets data it cannot judge exactly
    (see the module's docstring).

    The checks run on as many threads as the machine has cores: Oxigraph evaluates a query
    without the GIL, so a build's validation takes about half the time on two cores. A class
    target the data gives no subclass is read from the type index (see
    :func:`kg.shacl_targets.narrowed`): a tenth less CPU at 1M triples."""
    originals, checks = Lazy(sources), narrowed(store, checks, graphs)
    run = partial(_run, store, graphs=graphs, originals=originals)
    if len(checks) < 2 or (os.cpu_count() or 1) < 2:
        found = map(run, checks)
    else:
        with ThreadPoolExecutor(os.cpu_count(), thread_name_prefix="kg-shacl") as pool:
            found = list(pool.map(run, checks))  # the first InputError raised, in order
    return sorted((r for results in found for r in results), key=_order)


def _run(store: ox.Store, check: Check, *, graphs, originals: Lazy) -> list[Result]:
    """The results of one check."""
    results = []
    sparql, judge, table = plan(store, check, graphs, originals)
    written = partial(as_reported, check=check, originals=originals)
    for row in store.query(sparql, default_graph=graphs):
        focus = row["this"]
        value = row["v"] if check.value in ("v", "closed") else None
        value = focus if check.value == "this" else value
        if judge is not None and rewritable(value):
            if not judged(judge, table.of(value), check):
                continue
        elif check.parsed and parses(value, check.parsed):
            continue
        message = fill(check, row, written) if check.variables else check.message
        path = _nt(row["p"]) if check.value == "closed" else check.path
        if check.variables:  # sh:sparql: ?value and ?path, when the query gives them
            value = _bound(row, "value", check) or value
            path = _nt(found) if (found := _bound(row, "path", check)) else path
        shown = None if value is None else _nt(written(value))
        args = (check.component, check.shape, message, check.severity)
        results.append(Result(_nt(written(focus)), path, shown, *args))
    return results


def results_from_pyshacl(report: Graph, shapes: Graph) -> list[Result]:
    """pyshacl's report graph as :class:`Result` values, sorted like :func:`validate_store`."""
    results = []
    for r in report.objects(None, SH.result):  # not the sh:detail results pyshacl nests
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


def shape_name(g: Graph, shape) -> str:
    """How results name *shape*: a blank property shape by its node shape and path."""
    parent = min(g.subjects(SH.property, shape), key=str, default=None)
    if isinstance(shape, BNode) and parent is not None and g.value(shape, SH.path) is not None:
        return f"{_nt(parent)} {path_text(g, g.value(shape, SH.path))}"
    return _nt(shape)


def _node_shape(compiler: Compiler, ns, top: set) -> list[Check]:
    g, who = compiler.g, f"shape {_show(ns)}"
    if not isinstance(ns, URIRef | BNode):
        raise InputError(f"{who}: a shape must be an IRI or a blank node")
    focus = _focus_query(g, [ns], _term)
    checks = []
    for ps in sorted(g.objects(ns, SH.property), key=str):
        if isinstance(ps, BNode) and ps not in top and not deactivated(g, ps):
            checks += _property_shape(compiler, ps, [ns])
    node = {"shape": _nt(ns), "path": None, "severity": _severity(g, ns, who)}
    for c in compiler.constraints(ns, top=True):
        value = {"v": "v", "": "", "closed": "closed"}[c.reports]
        columns = {"v": "?this ?v", "": "?this ?lang", "closed": "?this ?v ?p"}[c.reports]
        sparql = f"SELECT DISTINCT {columns} WHERE {{ {focus} {c.pattern('?this', '?v')} }}"
        where = c.loose and f"{{ {focus} {c.loose('?this', '?v')} }}"
        loose = f"SELECT DISTINCT {columns} WHERE {where}" if where else ""
        message = _message(g, ns, who, c.component)
        checks.append(
            Check(sparql, f"{_SH}{c.component}ConstraintComponent", message=message, value=value,
                  parsed=c.parsed, loose=loose, judge=c.judge,
                  **_guard(focus, c, compiler), **node)
        )  # fmt: skip
    for constraint in sorted(g.objects(ns, SH.sparql), key=str):
        if constraint != ns and g.value(ns, SH.message) is not None:
            raise InputError(f"{who}: sh:message next to sh:sparql gives two messages per result")
        common = {**node, "value": "this"}
        read = partial(_message, component="SPARQL")
        check = sparql_check(g, ns, constraint, focus, common, read)  # its query is DISTINCT
        checks.append(replace(check, narrow=narrowing(g, [ns], _term)))
    return checks


def _property_shape(compiler: Compiler, ps, parents: list, focus: str = "") -> list[Check]:
    """The checks of *ps* on the focus nodes of *parents* (or those *focus* binds to ?this),
    and of the property shapes nested in it, on its values."""
    g = compiler.g
    if g.value(ps, SH.path) is None:
        raise InputError(f"shape {_show(ps)}: a property shape needs sh:path")
    if isinstance(ps, BNode) and len(set(g.subjects(SH.property, ps))) > 1:
        name = f"{_nt(parents[0])} {path_text(g, g.value(ps, SH.path))}"
        raise InputError(f"shape {name}: a blank property shape may have only one parent")
    name = shape_name(g, ps) if isinstance(ps, BNode) else _nt(ps)
    narrow = () if focus else narrowing(g, parents, _term)
    who, focus = f"shape {name}", focus or _focus_query(g, parents, _term)
    path = path_sparql(g, g.value(ps, SH.path), who)
    common = {"shape": name, "path": path, "severity": _severity(g, ps, who)}
    checks = []
    for constraint in sorted(g.objects(ps, SH.sparql), key=str):  # ?value is sh:value
        if constraint != ps and g.value(ps, SH.message) is not None:
            raise InputError(f"{who}: sh:message next to sh:sparql gives two messages per result")
        read = partial(_message, component="SPARQL")
        check = sparql_check(g, ps, constraint, focus, {**common, "value": ""}, read, path)
        checks.append(replace(check, narrow=narrow))
    for c in compiler.constraints(ps, top=True):
        component, message = (
            f"{_SH}{c.component}ConstraintComponent",
            _message(g, ps, who, c.component),
        )
        if c.reports == "":  # ?lang: sh:uniqueLang gives a result per language
            where = f"{focus} {c.pattern('?this', '?v')}"
            sparql = f"SELECT DISTINCT ?this ?parent ?lang WHERE {{ {where} }}"
            if c.component == "MaxCount":  # counted over any subject first, then joined
                sparql = f"SELECT ?this ?parent WHERE {{ {c.pattern('?this', '?v')} {focus} }}"
            minus = c.component == "MinCount" and "MINUS" in c.pattern("?this", "?v")
            if minus:  # DISTINCT, so that its focus may be narrowed (see validate_store)
                sparql = f"SELECT DISTINCT ?this ?parent WHERE {{ {where} }}"
            elif c.component == "MinCount":  # counted per focus node (and parent)
                low = g.value(ps, SH.minCount).value
                group = f"GROUP BY ?this ?parent HAVING (COUNT(DISTINCT ?v) < {low})"
                sparql = (
                    f"SELECT ?this ?parent WHERE {{ {focus} {c.pattern('?this', '?v')} }} {group}"
                )
            guarded = _guard(focus, c, compiler) | {"narrow": narrow if minus else ()}
            checks.append(Check(sparql, component, message=message, value="", **guarded,
                                **common))  # fmt: skip
            continue
        # bad values of any subject first, then joined with the focus nodes: 2-3 times faster
        sparql = _bad_values(c.pattern("?this", "?v"), focus)
        loose = _bad_values(c.loose("?this", "?v"), focus) if c.loose else ""
        guarded = _guard(focus, c, compiler)
        checks.append(Check(sparql, component, message=message, parsed=c.parsed, loose=loose,
                            judge=c.judge, **guarded, **common))  # fmt: skip
    for child in sorted(g.objects(ps, SH.property), key=str):  # its focus nodes: our values
        up, tag = compiler.var(), compiler.var()  # a result per route, as the spec counts
        outer = re.sub(r"\?parent\b(?![^<>]*>)", tag, re.sub(r"\?this\b(?![^<>]*>)", up, focus))
        reached = f"{outer} {up} {path} ?this BIND ({up} AS ?parent)"
        inner = f"{{ SELECT DISTINCT ?this ?parent WHERE {{ {reached} }} }}"
        checks += [] if deactivated(g, child) else _property_shape(compiler, child, [ps], inner)
    return checks


def _guard(focus: str, c, compiler: Compiler) -> dict:
    """For a check reading lexical forms or comparing terms: the Check fields that say when
    it must see literals as written (guard, reads, sensitive), and what it refuses. Call it
    after the check's pattern is built: a nested shape that is guarded (``compiler.inner``)
    makes the values read any literal of the data, as nested values cannot be listed by one
    pattern."""
    inner, compiler.inner = compiler.inner, set()
    refuse, compiler.refused = (*c.refuse, *compiler.refused), []
    # a count's values are read of any subject: a superset of the focus nodes' values, and
    # cheaper than joining the focus nodes when no value was rewritten (the usual case)
    mine = "" if c.collapse else focus
    branches = [f"{{ {mine} {read('?this', '?v')} }}" for read in c.guard]
    branches += ["{ ?s ?p ?v }"] if inner else []
    if not branches:
        return {"refuse": refuse}
    reads = " UNION ".join(branches)
    guard = f"ASK {{ {{ {reads} }} FILTER ({CANONICAL}) }}"
    # one reason keeps its narrow sensitivity; several need the widest, "form"
    reasons = c.rewritten | inner
    sensitive = reasons.pop() if len(reasons) == 1 else "form"
    return {"guard": guard, "reads": reads, "refuse": refuse, "sensitive": sensitive}


def _bad_values(pattern: str, focus: str) -> str:
    extra = " ?other" if "?other" in pattern else ""  # sh:lessThan: a result per pair
    bad = f"{{ SELECT DISTINCT ?this ?v{extra} WHERE {{ {pattern} }} }}"
    return f"SELECT DISTINCT ?this ?v{extra} ?parent WHERE {{ {bad} {focus} }}"


def _bound(row: ox.QuerySolution, name: str, check: Check):
    return row[name] if name in check.variables else None


def _severity(g: Graph, shape, who: str) -> str:
    return str(one(g, shape, SH.severity, who, URIRef) or VIOLATION)


def _message(g: Graph, shape, who: str, component: str) -> str:
    """The shape's sh:message, or one naming the component (pyshacl writes its own: the
    differential tests use kg's shapes, which all have one)."""
    if g.value(shape, SH.message) is None:
        return f"{component} constraint not met ({who})"
    return _required_message(g, shape, who)


def _required_message(g: Graph, node, who: str) -> str:
    return str(one(g, node, SH.message, f"{who} (one message per result)", Literal, True))


def _term(node) -> str:
    if isinstance(node, BNode):
        raise InputError(f"the blank node {node.n3()} cannot be named in a query")
    return _nt(node)  # a literal as Oxigraph reads it (see Check.written)


def _path_nt(g: Graph, path, also: Graph | None = None) -> str:
    try:
        return path_text(g, path)
    except InputError:
        return path_text(also, path) if also is not None else _nt(path)


def _order(r: Result) -> tuple[str, ...]:
    return (r.focus, r.path or "", r.value or "", r.component, r.shape, r.message, r.severity)
