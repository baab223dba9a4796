"""Claims per source: each source file may state its own value for a dated fact.

An analyst records what each source says, not what is true: the NATO press release dates
Azerbaijan's IPAP to 2005, Azerbaijan's foreign ministry to 2004, and both claims belong
in the graph, each in its source's named graph. Values are compared by precision: two
claims *agree* when one is a more precise form of the other (``1992`` and ``1992-03``,
``1997`` and ``1997-05-29``) and *disagree* otherwise (``2004`` and ``2005``,
``1992-03`` and ``1992-04``). Because dates are written ``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``, "a more precise form of" is "has as a prefix" on the lexical forms, which
SPARQL's ``STRSTARTS`` tests the same way on every engine; the stored queries use the
same test, so what this module warns about is what they flag as "sources disagree".

Disagreements are warnings, never violations: sources that differ are the analyst's daily
work, and the build keeps both claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from kg.namespaces import KG, KGSH, ONTOLOGY_GRAPH, XSD, compact

#: The properties whose value is a dated fact one source may claim differently from
#: another. (``kg:attestedOn`` repeats by design, and the bounds ``kg:notLaterThan`` /
#: ``kg:notEarlierThan`` combine rather than disagree.)
CLAIMED = tuple(
    KG + name for name in ("startDate", "endDate", "date", "foundingDate", "datePublished")
)

#: A claim as the shapes accept it: a day, a month or a year (a value in another form is
#: the shapes' violation, not a claim to compare).
_FORMS = {
    XSD + "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    XSD + "gYearMonth": re.compile(r"[0-9]{4}-[0-9]{2}"),
    XSD + "gYear": re.compile(r"[0-9]{4}"),
}
_WARNING = "http://www.w3.org/ns/shacl#Warning"
_COMPONENT = KGSH + "SourcesDisagree"
_SHAPE = f"<{KGSH}ClaimsPerSource>"


@dataclass(frozen=True)
class Disagreement:
    """Sources that give incompatible values for one property of one node."""

    node: str
    prop: str
    claims: tuple[tuple[str, str], ...]  # (value's lexical form, source graph IRI), sorted

    def message(self, graphs: dict[str, str]) -> str:
        said = "; ".join(f"{value} in {graphs.get(g, compact(g))}" for value, g in self.claims)
        return (
            f"Sources disagree on {compact(self.prop)} of {compact(self.node)}: {said}. "
            "Every claim is kept and the queries show the range ('kg query "
            "disagreements' lists every case); if a source is wrong, remove its claim."
        )


def agree(a: str, b: str) -> bool:
    """True when one lexical date is a more precise form of the other (or they are equal)."""
    return a.startswith(b) or b.startswith(a)


def disagreements(store: ox.Store, sources: list[str]) -> list[Disagreement]:
    """Every node and claimed property on which two of the *sources* (named graphs)
    disagree, sorted by node and property.

    A disagreement needs two sources, so the claims are read only for the few (node,
    property) pairs that Oxigraph finds stated differently in two of them (see
    :func:`_candidates`): at 1M triples in one file, nothing is read into Python."""
    names = [ox.NamedNode(g) for g in dict.fromkeys(sources)]
    among = set(names)
    claims: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for node, prop in _candidates(store, names):
        for quad in store.quads_for_pattern(node, prop, None, None):
            value, graph = quad.object, quad.graph_name
            if graph not in among:  # the default graph, the union copy, the ontology
                continue
            form = _FORMS.get(value.datatype.value) if isinstance(value, ox.Literal) else None
            if form is not None and form.fullmatch(value.value):
                claims.setdefault((node.value, prop.value), set()).add((value.value, graph.value))
    found = []
    for (node, prop), said in sorted(claims.items()):
        # Between sources only: one file giving two values is that file's own violation
        # (kg.onevalue), not a disagreement.
        if any(not agree(a, b) for a, ga in said for b, gb in said if ga != gb):
            found.append(Disagreement(node, prop, tuple(sorted(said))))
    return found


#: (node, property) stated in graph ?g and in another source ?h with values of which
#: neither starts with the other: every pair that can disagree, and usually no other
#: (the claim forms are checked in Python, on these pairs only).
_CANDIDATES = (
    "SELECT DISTINCT ?s ?p WHERE {{ VALUES ?p {{ {values} }} GRAPH {g} {{ ?s ?p ?a }} "
    "GRAPH ?h {{ ?s ?p ?b }} FILTER (!sameTerm(?h, {g}) && !STRSTARTS(STR(?a), STR(?b)) "
    "&& !STRSTARTS(STR(?b), STR(?a))) }}"
)


def _candidates(store: ox.Store, names: list[ox.NamedNode]) -> set[tuple]:
    """The (node, property) terms that two of the graphs *names* may disagree on.

    Each pair of graphs is joined from its smaller side: every graph but the one with the
    most claims is read and its claims looked up in the others (index lookups in
    Oxigraph, without the GIL); the largest is only looked up in. One source alone, the
    case of a large generated file, costs nothing."""
    if len(names) < 2:
        return set()
    values = " ".join(f"<{p}>" for p in CLAIMED)
    sizes = sorted((_claim_count(store, g, values), i) for i, g in enumerate(names))
    found: set[tuple] = set()
    for size, i in sizes[:-1]:
        if size:
            query = _CANDIDATES.format(values=values, g=names[i])
            found.update(tuple(row) for row in store.query(query, named_graphs=names))
    return found


#: claims counted past this only cost a scan: graphs this large are all read but one
_COUNT_UP_TO = 10_000


def _claim_count(store: ox.Store, graph: ox.NamedNode, values: str) -> int:
    """The claims stated in *graph*, or :data:`_COUNT_UP_TO` if it has more."""
    from kg.compile import count_matches

    where = f"VALUES ?p {{ {values} }} GRAPH {graph} {{ ?s ?p ?o }}"
    return count_matches(store, where, _COUNT_UP_TO)


def claim_results(store: ox.Store, graphs: dict[str, str]) -> list:
    """Disagreements between sources as :class:`kg.shacl_fast.Result` warnings
    (severity ``sh:Warning``); *graphs* maps each loaded named graph (sources and the
    ontology) to the file it was read from."""
    from kg.shacl_fast import Result

    sources = [g for g in graphs if g != ONTOLOGY_GRAPH]
    return [
        Result(
            focus=f"<{d.node}>",
            path=f"<{d.prop}>",
            value=None,
            component=_COMPONENT,
            shape=_SHAPE,
            message=d.message(graphs),
            severity=_WARNING,
        )
        for d in disagreements(store, sources)
    ]
