"""Checks that meet literals the store holds otherwise than the sources write them.

Why: kept apart from :mod:`kg.shacl_fast`, which runs the checks, because this is its own
concern (see that module's docstring and :mod:`kg.shacl_originals`): Oxigraph keeps typed
literals in canonical form, SHACL judges, counts and reports the literals as written. A
check's guard says whether a value it reads may have been rewritten; only then are the
sources read again (:class:`Lazy`), and the check answers on the literals as written, or
declines with InputError naming the shape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from kg.errors import InputError
from kg.shacl_lexical import well_typed
from kg.shacl_originals import Originals, canonical
from kg.shacl_terms import STORED_REWRITTEN, Check

_STORED = frozenset(str(dt) for dt in STORED_REWRITTEN)


Sources = Originals | Callable[[], Originals] | Iterable[Path] | None


class Lazy:
    """The originals table, made on first use (most builds never need it), and the guards'
    answers in one validation (checks of one path share a guard: asked once)."""

    def __init__(self, sources: Sources) -> None:
        self.sources, self.table = sources, None
        self.lock = threading.Lock()  # checks run on several threads: make it once
        self.asked: dict[str, bool] = {}

    def ask(self, store: ox.Store, guard: str, graphs) -> bool:
        """The answer to *guard* (two threads may both ask: no lock held over a query)."""
        if (known := self.asked.get(guard)) is None:
            known = self.asked[guard] = bool(store.query(guard, default_graph=graphs))
        return known

    def __call__(self) -> Originals:
        with self.lock:
            return self._make()

    def _make(self) -> Originals:
        if self.table is None:
            if isinstance(self.sources, Originals) or self.sources is None:
                self.table = self.sources
            elif callable(self.sources):
                self.table = self.sources()
            else:
                self.table = Originals.from_files(self.sources)
        if self.table is None:
            raise LookupError("no sources")
        return self.table


def plan(store: ox.Store, check: Check, graphs, originals: Lazy):
    """The query to run for *check* and the judge of its rows (None: take them as they are);
    InputError when the check cannot answer exactly."""
    for ask, why in check.refuse:
        if store.query(ask, default_graph=graphs):
            raise InputError(why)
    if not check.guard or not originals.ask(store, check.guard, graphs):
        return check.sparql, None, None
    what = f"shape {check.shape}: a {check.component.rsplit('#', 1)[-1]} check"
    try:
        table = originals()
        table = table.with_written(check.written) if check.written else table
    except LookupError:
        raise InputError(
            f"{what} meets a typed literal whose lexical form the store may have rewritten "
            "(and the sources were not given to read it as written)"
        ) from None
    terms = table.rewritten()
    if check.sensitive == "count":  # only a term standing for several written literals
        terms = [t for t in terms if len(table.of(t)) > 1]
    elif check.sensitive == "value":  # only a literal ill-typed as written ("300"^^xsd:byte)
        terms = [t for t in terms if not all(map(_well_typed, table.of(t)))]
    listed = " ".join(map(str, terms))
    if not terms or not store.query(
        f"ASK {{ VALUES ?v {{ {listed} }} {{ {check.reads} }} }}", default_graph=graphs
    ):
        return check.sparql, None, table  # every value it reads is as the sources wrote it
    if check.sensitive == "count":
        shown = "; ".join(_written(table, t) for t in terms[:3])
        raise InputError(
            f"{what} counts the store's terms, and the sources write literals it holds as "
            f"one term, which SHACL counts apart; one of: {shown}"
        )
    if check.judge is None:
        shown = ", ".join(f"{t} (written {_written(table, t)})" for t in terms[:3])
        raise InputError(f"{what} meets a literal the store holds otherwise than the sources "
                         f"write it; one of: {shown}")  # fmt: skip
    return check.loose, check.judge, table


def _well_typed(literal: ox.Literal) -> bool:
    return well_typed(literal.value, URIRef(literal.datatype.value))


def _written(table: Originals, term: ox.Literal) -> str:
    return " and ".join(sorted(map(str, table.of(term))))


def rewritable(value: object) -> bool:
    return isinstance(value, ox.Literal) and value.datatype.value in _STORED


def judged(judge, originals: frozenset[ox.Literal], check: Check) -> bool:
    """Whether the literals a stored term stands for violate *check*: one verdict, or
    InputError when they disagree (which focus node had which is lost)."""
    verdicts = {judge(o) for o in originals}
    if len(verdicts) > 1:
        written = " and ".join(sorted(map(str, originals)))
        raise InputError(
            f"shape {check.shape}: the sources write {written}, which the store holds as one "
            f"term, and a {check.component.rsplit('#', 1)[-1]} check judges them apart"
        )
    return verdicts.pop()


@cache
def _stored(written: tuple[ox.Literal, ...]) -> list[tuple[ox.Literal, ox.Literal]]:
    """Each literal of *written* with the term the store holds it as (asked once)."""
    return list(zip(written, canonical(list(written)), strict=True))


def as_reported(term, check: Check, originals: Lazy):
    """*term* of a result (focus node or value) as the sources, or the shapes graph's
    sh:targetNode, wrote it: a report names the data's literal, not the store's form."""
    if not rewritable(term):
        return term
    for written, stored in _stored(check.written):  # a sh:targetNode literal names itself
        if stored == term:
            return written
    try:
        table = originals()
    except LookupError:
        raise InputError(
            f"shape {check.shape}: a result names {term}, which the store may hold otherwise "
            "than the sources write it (and the sources were not given to read it as written)"
        ) from None
    first, *more = table.of(term)
    if more:
        raise InputError(
            f"shape {check.shape}: a result names {term}, which the sources write as "
            f"{_written(table, term)}; which focus node had which is lost"
        )
    return first
