"""SHACL Core constraint components as SPARQL patterns, for shapes at the top and nested.

Why: every core component is a condition on the value nodes of a focus node (SHACL 1.0,
section 4), so each becomes a graph pattern whose solutions are the violations: the focus node
?F and, when a result reports one, the value ?V. At the top (a shape with targets, or one of
its property shapes) the pattern runs as a query and each solution is a result. Nested (behind
sh:node, sh:not, sh:and, sh:or, sh:xone, sh:qualifiedValueShape) "X conforms to S" is
``NOT EXISTS`` of the union of S's patterns, with fresh variables at each level.

What cannot be answered exactly is declined with InputError naming the shape: recursive shapes,
sh:sparql or counts above 3 when nested. Components that read lexical forms or compare terms
(sh:datatype of a type the store rewrites, sh:pattern, sh:minLength, sh:maxLength, sh:in,
sh:hasValue, sh:equals, sh:disjoint) carry a guard: when a value they read is a literal the store
rewrote (see :mod:`kg.shacl_originals`), a top-level filter is judged in Python on the literal
as written (its ``judge``, on the rows of its ``loose`` pattern) and any other declines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_counts import Cardinality, Constraint
from kg.shacl_lexical import Judge, datatype_test, guarded, parsed, regex, strict_test
from kg.shacl_originals import as_written, rewritable, stored_term
from kg.shacl_paths import path_sparql, path_text
from kg.shacl_targets import SUB, TYPE, deactivated
from kg.shacl_terms import STORED_REWRITTEN, count, keys, nt, one, show

_NOT, _OR, _AND, _CLASS = SH["not"], SH["or"], SH["and"], SH["class"]
_KINDS = {SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})"}
_KINDS |= {SH.BlankNodeOrIRI: "!isLiteral({v})", SH.BlankNodeOrLiteral: "!isIRI({v})"}
_KINDS |= {SH.IRIOrLiteral: "!isBlank({v})"}
_RANGES = {SH.minInclusive: ">=", SH.minExclusive: ">", SH.maxInclusive: "<=", SH.maxExclusive: "<"}
_PAIRS = {SH.lessThan: "<", SH.lessThanOrEquals: "<="}
# a literal whose lexical form the store may have rewritten (see kg.shacl_terms.REWRITTEN)
_STORED = ", ".join(nt(d) for d in sorted(STORED_REWRITTEN))


def canonical(v: str) -> str:
    """Whether V is a literal of a datatype the store rewrites (see kg.shacl_originals)."""
    return f"(isLiteral({v}) && DATATYPE({v}) IN ({_STORED}))"


CANONICAL = canonical("?v")
COMMON = {_CLASS, SH.datatype, SH.nodeKind, *_RANGES, SH.minLength, SH.maxLength, SH.pattern}
COMMON |= {SH.flags, SH.languageIn, SH["in"], SH.hasValue, _NOT, _AND, _OR, SH.xone, SH.node}
COMMON |= {SH.equals, SH.disjoint, SH.message, SH.severity, SH.deactivated, SH.name}
COMMON |= {SH.description, SH.order, SH.group, SH.defaultValue, SH.property}
COMMON |= {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}
NODE_KEYS = COMMON | {SH.closed, SH.ignoredProperties, SH.sparql}
NODE_KEYS |= {SH.select, SH.prefixes}  # a shape may also be its own SPARQL constraint
NODE_KEYS |= {SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint}
PROPERTY_KEYS = COMMON | {SH.path, SH.minCount, SH.maxCount, SH.uniqueLang, *_PAIRS}
PROPERTY_KEYS |= {SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount}
PROPERTY_KEYS |= {SH.qualifiedValueShapesDisjoint, SH.sparql}


class Compiler(Cardinality):
    """Compiles the shapes of one shapes graph; *top* patterns may use MINUS and Python
    re-checks (they run as queries of their own), nested ones may not."""

    def __init__(self, g: Graph) -> None:
        self.g, self.fresh, self.open, self.top = g, 0, [], None
        self.refused: list[tuple[str, str]] = []  # what nested components refuse
        # why nested components are guarded (Constraint.rewritten; see shacl_fast._guard)
        self.inner: set[str] = set()

    def var(self) -> str:
        self.fresh += 1
        return f"?_{self.fresh}"

    def values(self, shape: Node, f: str, v: str) -> str:
        """A pattern binding V to each value node of F for *shape* (F itself for a node shape)."""
        path = self.g.value(shape, SH.path)
        if path is None:
            return f"BIND ({f} AS {v})"
        return f"{f} {path_sparql(self.g, path, self.who(shape))} {v} ."

    def who(self, shape: Node) -> str:
        """How messages name *shape*: as results do, or by the top shape that holds it."""
        g = self.g
        parent = min(g.subjects(SH.property, shape), key=str, default=None)
        if isinstance(shape, URIRef) or (parent is None and not self.top):
            return f"shape {show(shape)}"
        if isinstance(shape, BNode) and parent is not None and g.value(shape, SH.path) is not None:
            return f"shape {nt(parent)} {path_text(g, g.value(shape, SH.path))}"
        return (
            f"{self.who(self.top)}: a nested shape" if self.top != shape else f"shape {show(shape)}"
        )

    def conforms(self, shape: Node, x: str) -> str:
        """A SPARQL expression: whether the node in X conforms to *shape*."""
        if not isinstance(shape, URIRef | BNode):
            raise InputError(f"a shape must be an IRI or a blank node, not {shape!r}")
        if shape in self.open:
            raise InputError(f"{self.who(shape)}: recursive shapes are not supported")
        if deactivated(self.g, shape):
            return "true"
        self.open.append(shape)
        try:
            nested = self.constraints(shape, top=False)
            self.inner |= {why for c in nested for why in c.rewritten}
            self.refused += [r for c in nested for r in c.refuse]
            tests = [f"NOT EXISTS {{ {c.pattern(x, self.var())} }}" for c in nested]
            for ps in sorted(self.g.objects(shape, SH.property), key=str):
                tests.append(self.conforms(ps, x))
        finally:
            self.open.pop()
        return "(" + " && ".join(tests) + ")" if tests else "true"

    def constraints(self, shape: Node, *, top: bool) -> list[Constraint]:
        """The components of *shape* (not its sh:property shapes nor its sh:sparql)."""
        if top:
            self.top = shape
        g, who = self.g, self.who(shape)
        is_property = g.value(shape, SH.path) is not None
        keys(g, shape, PROPERTY_KEYS if is_property else NODE_KEYS, who)
        if not top and g.value(shape, SH.sparql) is not None:
            raise InputError(f"{who}: sh:sparql in a nested shape is not supported")
        out: list[Constraint] = []
        for cls in sorted(g.objects(shape, _CLASS), key=str):
            out.append(self._class(shape, cls, top))
        for dt in g.objects(shape, SH.datatype):
            test = datatype_test(dt, who, "{v}")
            rechecked = parsed([dt]) if top else ()
            why = f"{who}: nested, sh:datatype {show(dt)} meets a value only Python can judge"
            refuse = () if top or not parsed([dt]) else ((strict_test(dt), why),)
            judge = Judge("datatype", (str(dt),)) if guarded([dt]) else None
            out.append(
                self._filter(shape, "Datatype", f"!({test})", parsed=rechecked, judge=judge,
                             refuse=refuse)
            )  # fmt: skip
        if (kind := one(g, shape, SH.nodeKind, who, URIRef)) is not None:
            if kind not in _KINDS:
                raise InputError(f"{who}: sh:nodeKind {show(kind)} is not a SHACL node kind")
            out.append(self._filter(shape, "NodeKind", "!" + _KINDS[kind]))
        for pred, op in _RANGES.items():
            if (bound := one(g, shape, pred, who, Literal)) is not None:
                name = pred.fragment[0].upper() + pred.fragment[1:]
                test = f"!COALESCE({{v}} {op} {nt(bound)}, false)"
                out.append(self._filter(shape, name, test, **self._compared(shape)))
        for pred, op in ((SH.minLength, ">="), (SH.maxLength, "<=")):
            if (n := count(g, shape, pred, who)) is not None:
                name = pred.fragment[0].upper() + pred.fragment[1:]
                test = f"!COALESCE(STRLEN(STR({{v}})) {op} {n}, false)"
                judge = Judge("longer" if op == "<=" else "shorter", n=n)
                out.append(self._filter(shape, name, test, judge=judge))
        if (pattern := one(g, shape, SH.pattern, who, Literal)) is not None:
            flags = one(g, shape, SH.flags, who, Literal)
            if flags is not None and (str(flags) != "i" or not str(pattern).isascii()):
                raise InputError(f"{who}: sh:flags other than 'i' on ASCII patterns: unsupported")
            rx = regex(str(pattern), who) + (', "i"' if flags is not None else "")
            test = f"isBlank({{v}}) || !REGEX(STR({{v}}), {rx})"
            judge = Judge("pattern", pattern=str(pattern), flags=re.I if flags is not None else 0)
            out.append(self._filter(shape, "Pattern", test, judge=judge))
        if (head := one(g, shape, SH.languageIn, who, BNode)) is not None:
            tags = [str(t) for t in _list(g, head, who)]
            ok = " || ".join(f"langMatches(LANG({{v}}), {nt(Literal(t))})" for t in tags)
            out.append(
                self._filter(shape, "LanguageIn", f"!(isLiteral({{v}}) && ({ok or 'false'}))")
            )
        if (head := one(g, shape, SH["in"], who, BNode | URIRef)) is not None:
            members = _list(g, head, who)
            named = [term for m in members if (term := stored_term(m, who)) is not None]
            ok = " || ".join(f"sameTerm({{v}}, {m})" for m in named) or "false"
            written = tuple(sorted(str(as_written(m)) for m in members if rewritable(m)))
            judge = Judge("in", written) if written else None
            out.append(self._filter(shape, "In", f"!({ok})", judge=judge))
        for value in g.objects(shape, SH.hasValue):
            out.append(self._has_value(shape, stored_term(value, who), rewritable(value)))
        for pred in (SH.equals, SH.disjoint, *_PAIRS):
            for other in sorted(g.objects(shape, pred), key=str):
                if not isinstance(other, URIRef):
                    raise InputError(f"{who}: {show(pred)} must be an IRI")
                out += self._pair(shape, pred, nt(other), top)
        out += self._logical(shape, top)
        if is_property:
            out += self._counts(shape, top)
        if (unique := one(g, shape, SH.uniqueLang, who, Literal)) is not None:
            lexical = str(unique) in ("true", "false", "1", "0")
            if not is_property or unique.datatype != XSD.boolean or not lexical:
                raise InputError(f"{who}: sh:uniqueLang must be a boolean on a property shape")
            if str(unique) == "true":  # only true counts: "1"^^xsd:boolean is another term
                out.append(self._unique_lang(shape))
        if (closed := one(g, shape, SH.closed, who, Literal)) is not None and closed.value:
            out.append(self._closed(shape, top))
        return out

    def _filter(self, shape: Node, name: str, test: str, **kw) -> Constraint:
        """A test on each value; with a *judge*, guarded, and judged as written when needed."""
        values = self.values

        def pattern(f: str, v: str) -> str:
            return f"{values(shape, f, v)} FILTER ({test.replace('{v}', v)})"

        def loose(f: str, v: str) -> str:
            return f"{values(shape, f, v)} FILTER (({test.replace('{v}', v)}) || {canonical(v)})"

        if kw.get("judge") is not None:
            kw |= {"guard": (self._reads(shape),), "loose": loose}
        return Constraint(name, pattern, **kw)

    def _reads(self, shape: Node) -> Callable[[str, str], str]:
        return partial(self.values, shape)

    def _class(self, shape: Node, cls: Node, top: bool) -> Constraint:
        if not isinstance(cls, URIRef):
            raise InputError(f"{self.who(shape)}: sh:class must be an IRI for the fast check")
        values, c = self.values, nt(cls)
        if top:  # MINUS: NOT EXISTS, but faster; its ?t is its own
            return Constraint(
                "Class",
                lambda f, v: f"{values(shape, f, v)} MINUS {{ {v} {TYPE} ?t . ?t {SUB}* {c} }}",
            )
        return Constraint(
            "Class",
            lambda f, v: f"{values(shape, f, v)} FILTER NOT EXISTS {{ {v} {TYPE}/{SUB}* {c} }}",
        )

    def _has_value(self, shape: Node, term: str | None, typed: bool) -> Constraint:
        """*term* None: a literal the store never holds as written (only a rewritten one)."""
        values = self.values

        def pattern(f: str, v: str) -> str:
            same = f"sameTerm({v}, {term})" if term is not None else "false"
            return f"FILTER NOT EXISTS {{ {values(shape, f, v)} FILTER ({same}) }}"

        guard = (self._reads(shape),) if typed else ()
        return Constraint("HasValue", pattern, reports="", guard=guard)

    def _pair(self, shape: Node, pred: URIRef, other: str, top: bool) -> list[Constraint]:
        values, name = self.values, pred.fragment[0].upper() + pred.fragment[1:]
        is_node = self.g.value(shape, SH.path) is None
        if pred in _PAIRS and is_node:
            raise InputError(f"{self.who(shape)}: {show(pred)} belongs on a property shape")

        def mine(f: str, v: str) -> str:  # whether V is a value node of F (V bound already)
            return f"sameTerm({f}, {v})" if is_node else f"EXISTS {{ {values(shape, f, v)} }}"

        both = (self._reads(shape), lambda f, v: f"{f} {other} {v} .")
        if pred == SH.disjoint:
            test = lambda f, v: f"{values(shape, f, v)} {f} {other} {v} ."  # noqa: E731
            return [Constraint(name, test, guard=both)]
        if pred == SH.equals:  # values missing from the other property, and the reverse
            return [
                Constraint(
                    name,
                    lambda f, v: f"{values(shape, f, v)} FILTER NOT EXISTS {{ {f} {other} {v} }}",
                    guard=both,
                ),
                Constraint(
                    name, lambda f, v: f"{f} {other} {v} . FILTER (!{mine(f, v)})", guard=both
                ),
            ]

        def pattern(f: str, v: str) -> str:
            o = "?other" if top else self.var()  # a result per pair: ?other is projected
            test = f"FILTER (!COALESCE({v} {_PAIRS[pred]} {o}, false))"
            return f"{values(shape, f, v)} {f} {other} {o} . {test}"

        return [Constraint(name, pattern, guard=both, sensitive="value")]

    def _compared(self, shape: Node) -> dict:
        """What a check comparing values carries: the store reads "300"^^xsd:byte as the
        integer 300, which compares as valid, where SHACL finds the literal ill-typed and
        so not comparable (a violation); such a value makes the check decline."""
        return {"guard": (self._reads(shape),), "sensitive": "value"}

    def _logical(self, shape: Node, top: bool) -> list[Constraint]:
        g, who, out = self.g, self.who(shape), []
        for inner in sorted(g.objects(shape, _NOT), key=str):
            cls = g.value(inner, _CLASS)
            if (
                top
                and isinstance(cls, URIRef)
                and set(g.predicate_objects(inner)) == {(_CLASS, cls)}
            ):
                c = nt(cls)  # the common case as a join, not NOT EXISTS per focus node
                if g.value(shape, SH.path) is None:  # the focus node itself, as a plain join
                    test = f"?this {TYPE} ?t . ?t {SUB}* {c} BIND (?this AS ?v)"
                else:
                    test = f"{self.values(shape, '?this', '?v')} ?v {TYPE} ?t . ?t {SUB}* {c}"
                out.append(Constraint("Not", lambda f, v, t=test: t))
                continue
            out.append(self._nested(shape, "Not", lambda v, s=inner: self.conforms(s, v)))
        for inner in sorted(g.objects(shape, SH.node), key=str):
            out.append(self._nested(shape, "Node", lambda v, s=inner: f"!{self.conforms(s, v)}"))
        for head in g.objects(shape, _AND):
            members = _list(g, head, who)
            out.append(self._nested(shape, "And", partial(self._count_of, members, "!= {n}")))
        for head in g.objects(shape, _OR):
            members = _list(g, head, who)
            if (
                top
                and members
                and g.value(shape, SH.path) is None
                and all(_only_min_one(g, m) for m in members)
            ):  # MINUS per alternative: the NOT EXISTS of each, as Oxigraph runs it fast
                absent = " ".join(
                    f"MINUS {{ {self.values(m, '?this', self.var())} }}" for m in members
                )
                out.append(Constraint("Or", lambda f, v, a=absent: f"{a} BIND ({f} AS {v})"))
                continue
            if top and members and all(_onlydatatype_test(g, m) for m in members):
                dts = [g.value(m, SH.datatype) for m in members]  # as one FILTER, and re-checked
                ok = " || ".join(f"({datatype_test(dt, who, '{v}')})" for dt in dts)
                judge = Judge("datatype", tuple(map(str, dts))) if guarded(dts) else None
                out.append(self._filter(shape, "Or", f"!({ok})", parsed=parsed(dts), judge=judge))
                continue
            out.append(self._nested(shape, "Or", partial(self._count_of, members, "= 0")))
        for head in g.objects(shape, SH.xone):
            members = _list(g, head, who)
            out.append(self._nested(shape, "Xone", partial(self._count_of, members, "!= 1")))
        return out

    def _count_of(self, members: list[Node], test: str, v: str) -> str:
        """Whether the number of *members* V conforms to passes *test* ("!= {n}": not all)."""
        if not members:
            return {"!= {n}": "false", "= 0": "true", "!= 1": "true"}[test]  # count 0
        conforming = " + ".join(f"IF({self.conforms(m, v)}, 1, 0)" for m in members)
        return f"({conforming}) {test.format(n=len(members))}"

    def _nested(self, shape: Node, name: str, test: Callable[[str], str]) -> Constraint:
        values = self.values

        def pattern(f: str, v: str) -> str:
            return f"{values(shape, f, v)} FILTER ({test(v)})"

        return Constraint(name, pattern)

    def _closed(self, shape: Node, top: bool) -> Constraint:
        g, who = self.g, self.who(shape)
        allowed = set()
        for ps in g.objects(shape, SH.property):
            if isinstance(p := g.value(ps, SH.path), URIRef):
                allowed.add(p)
        if (head := g.value(shape, SH.ignoredProperties)) is not None:
            allowed |= set(_list(g, head, who))
        listed = ", ".join(nt(p) for p in sorted(allowed, key=str))

        def pattern(f: str, v: str) -> str:
            p = "?p" if top else self.var()  # at the top, ?p is the result's path
            return f"{f} {p} {v} ." + (f" FILTER ({p} NOT IN ({listed}))" if listed else "")

        return Constraint("Closed", pattern, reports="closed")


def _only_min_one(g: Graph, shape: Node) -> bool:
    found = set(g.predicate_objects(shape)) - {(RDF.type, SH.PropertyShape)}
    return isinstance(shape, BNode) and found == {
        (SH.path, g.value(shape, SH.path)),
        (SH.minCount, Literal(1)),
    }


def _onlydatatype_test(g: Graph, shape: Node) -> bool:
    return isinstance(shape, BNode) and set(g.predicates(shape, None)) == {SH.datatype}


def _list(g: Graph, head: Node, who: str) -> list[Node]:
    try:
        return list(Collection(g, head))
    except Exception:
        raise InputError(f"{who}: a SHACL list is not a well-formed RDF list") from None
