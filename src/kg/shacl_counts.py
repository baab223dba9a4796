"""Counting components of SHACL Core (sh:minCount, sh:maxCount, qualified value shapes,
sh:uniqueLang) as SPARQL patterns, and the Constraint record every component compiles to.

Why: kept apart from :mod:`kg.shacl_components` (which mixes this in) because counting is its
own concern: at the top a count is a GROUP BY over the focus nodes, nested it is a pattern of
n distinct values (small n only), and counts read the store's terms (see
:mod:`kg.shacl_fast` on literals the store rewrites).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rdflib import Graph, Literal
from rdflib.namespace import SH
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_lexical import Judge
from kg.shacl_paths import path_sparql
from kg.shacl_terms import count, one

_MAX_NESTED_COUNT = 3


@dataclass(frozen=True)
class Constraint:
    """One component of a shape: ``pattern(F, V)`` has a solution per violation at focus F.

    *reports* says what a result gives as sh:value: ``"v"`` (V, bound by the pattern), ``""``
    (nothing) or ``"closed"`` (V, and the predicate ``?p`` as sh:resultPath)."""

    component: str
    pattern: Callable[[str, str], str]
    reports: str = "v"
    parsed: tuple[str, ...] = ()  # drop results whose value has one of these datatypes, parsed
    # the values it reads as lexical forms or terms, as patterns binding V: the check declines
    # when one is a literal the store rewrote, unless it can *judge* the literal as written
    # (true: a violation), on the rows of *loose*: its pattern, plus every value of a
    # datatype the store rewrites
    guard: tuple[Callable[[str, str], str], ...] = ()
    judge: Judge | None = None
    loose: Callable[[str, str], str] | None = None
    refuse: tuple[tuple[str, str], ...] = ()  # (ASK, reason): decline when true
    # a count of distinct terms: its *guard* reads the counted values, and only a stored
    # term standing for several written literals ("1.5" for "1.50" and "1.5") counts wrong
    collapse: bool = False
    # "value": it compares values, so only a literal ill-typed as written ("300"^^xsd:byte,
    # stored as the integer 300) can change its answer (see kg.shacl_written.plan)
    sensitive: str = "form"

    @property
    def rewritten(self) -> set[str]:
        """Which rewritten literals can change its answer, as :attr:`kg.shacl_terms.Check.
        sensitive` names them: ``{"count"}``, ``{"form"}``, ``{"value"}``, or none."""
        return {"count"} if self.collapse else {self.sensitive} if self.guard else set()


class Cardinality:
    """The counting components of :class:`kg.shacl_components.Compiler` (a mixin: it uses the
    compiler's graph ``g``, ``var``, ``who`` and ``conforms``)."""

    g: Graph
    var: Callable[[], str]
    who: Callable[[Node], str]
    conforms: Callable[[Node, str], str]

    def _counts(self, shape: Node, top: bool) -> list[Constraint]:
        g, who, out = self.g, self.who(shape), []
        low, high = count(g, shape, SH.minCount, who), count(g, shape, SH.maxCount, who)
        path = path_sparql(g, g.value(shape, SH.path), who)
        counted = {"reports": "", "guard": (lambda f, v: f"{f} {path} {v} .",), "collapse": True}
        if low == 1:  # none stored if and only if none written: exact
            out.append(Constraint("MinCount", self._too_few(path, low, top, who), reports=""))
        elif low:
            out.append(Constraint("MinCount", self._too_few(path, low, top, who), **counted))
        if high is not None:
            if top:

                def pattern(f: str, v: str, n: int = high) -> str:
                    group = f"GROUP BY {f} HAVING (COUNT(DISTINCT {v}) > {n})"
                    return f"{{ SELECT {f} WHERE {{ {f} {path} {v} . }} {group} }}"
            else:
                pattern = self._distinct(path, high + 1, who, exists=True)
            out.append(Constraint("MaxCount", pattern, **counted))
        if (q := g.value(shape, SH.qualifiedValueShape)) is not None:
            out += [replace(c, **counted) for c in self._qualified(shape, q, path, top)]
        return out

    def _too_few(self, path: str, low: int, top: bool, who: str):
        if top and low == 1:
            return lambda f, v: f"MINUS {{ {f} {path} {v} }}"
        if top:  # kg.shacl_fast groups the whole query instead (see _property_shape)
            return lambda f, v: f"OPTIONAL {{ {f} {path} {v} }}"
        return self._distinct(path, low, who, exists=False)

    def _distinct(self, path: str, n: int, who: str, *, exists: bool):
        """A pattern: F has (``exists``) or has not n distinct values; small n only."""
        if n > _MAX_NESTED_COUNT + 1:
            raise InputError(f"{who}: counts above {_MAX_NESTED_COUNT} are not supported nested")

        def pattern(f: str, v: str) -> str:
            names = [self.var() for _ in range(n)]
            triples = " ".join(f"{f} {path} {x} ." for x in names)
            apart = [f"!sameTerm({a}, {b})" for i, a in enumerate(names) for b in names[i + 1 :]]
            inner = triples + (f" FILTER ({' && '.join(apart)})" if apart else "")
            return inner if exists else f"FILTER NOT EXISTS {{ {inner} }}"

        return pattern

    def _qualified(self, shape: Node, q: Node, path: str, top: bool) -> list[Constraint]:
        g, who = self.g, self.who(shape)
        if not top:
            raise InputError(f"{who}: qualified value shapes are not supported nested")
        low = count(g, shape, SH.qualifiedMinCount, who)
        high = count(g, shape, SH.qualifiedMaxCount, who)
        siblings: list[Node] = []
        disjoint = one(g, shape, SH.qualifiedValueShapesDisjoint, who, Literal)
        if disjoint is not None and disjoint.value is True:
            for parent in g.subjects(SH.property, shape):
                for sibling in g.objects(parent, SH.property):
                    sq = g.value(sibling, SH.qualifiedValueShape)
                    if sibling != shape and sq is not None:
                        siblings.append(sq)

        def counted(op: str, n: int):
            def pattern(f: str, v: str) -> str:
                ok = " && ".join(
                    [self.conforms(q, v), *(f"!{self.conforms(s, v)}" for s in siblings)]
                )
                inner = f"{f} {path} {v} FILTER ({ok})"
                inner = f"SELECT {f} (COUNT(DISTINCT {v}) AS ?n) WHERE {{ {inner} }}"
                return f"OPTIONAL {{ {inner} GROUP BY {f} }} FILTER (COALESCE(?n, 0) {op} {n})"

            return pattern

        out = []
        if low is not None:
            out.append(Constraint("QualifiedMinCount", counted("<", low), reports=""))
        if high is not None:
            out.append(Constraint("QualifiedMaxCount", counted(">", high), reports=""))
        return out

    def _unique_lang(self, shape: Node) -> Constraint:
        path = path_sparql(self.g, self.g.value(shape, SH.path), self.who(shape))

        def pattern(f: str, v: str) -> str:
            a, b = self.var(), self.var()
            return (
                f"{{ SELECT DISTINCT {f} ?lang WHERE {{ {f} {path} {a} . {f} {path} {b} . "
                f'FILTER (!sameTerm({a}, {b}) && LANG({a}) != "" && LANG({a}) = LANG({b})) '
                f"BIND (LANG({a}) AS ?lang) }} }}"
            )

        return Constraint("UniqueLang", pattern, reports="")
