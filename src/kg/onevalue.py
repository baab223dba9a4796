"""One value per source: a source file states at most one date per node and property.

Each source file may state its own value for a dated fact (claims per source: two
sources may disagree, and both are kept), so the merged graph may hold several
``kg:startDate`` values for one node and SHACL's ``sh:maxCount`` on the merged graph no
longer applies. Within ONE file, though, two values are a mistake: a source says one
thing. This check runs one query over the source graphs and reports, per file, node and
property, the values and the lines where they are written.
"""

from __future__ import annotations

import pyoxigraph as ox

from kg.namespaces import KG, KGSH, ONTOLOGY_GRAPH, compact
from kg.shacl_fast import VIOLATION, Result, _nt

#: The properties a source states once per node.
ONE_PER_SOURCE = tuple(
    KG + name
    for name in (
        "startDate",
        "endDate",
        "date",
        "foundingDate",
        "datePublished",
        "notLaterThan",
        "notEarlierThan",
    )
)
SHAPE = f"<{KGSH}OneValuePerSource>"
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}


def one_value_results(store: ox.Store, project, graphs: dict[str, str]) -> list[Result]:
    """A violation for each (source file, node, property of :data:`ONE_PER_SOURCE`) with
    more than one value; *graphs* maps graph IRI -> shown path."""
    from kg.locate import key, scan

    sources = [ox.NamedNode(g) for g in graphs if g != ONTOLOGY_GRAPH]
    if not sources:
        return []
    values = " ".join(f"<{p}>" for p in ONE_PER_SOURCE)
    # a self-join on (graph, subject, property): faster in Oxigraph than GROUP BY ... HAVING
    query = (
        f"SELECT DISTINCT ?g ?s ?p ?o WHERE {{ VALUES ?p {{ {values} }} "
        "GRAPH ?g { ?s ?p ?o . ?s ?p ?other FILTER (?o != ?other) } }"
    )
    found: dict[tuple[str, str, str], list] = {}
    for row in store.query(query, named_graphs=sources):
        found.setdefault((row["g"].value, _nt(row["s"]), _nt(row["p"])), []).append(row["o"])
    located = {}
    for g in {g for g, _, _ in found}:
        wanted = {key(s) for gg, s, _ in found if gg == g} - {None}
        try:
            located[g] = scan(project.root / graphs[g].split(", ")[0], g, wanted)
        except OSError:
            located[g] = None
    results = []
    for (g, subject, predicate), objects in sorted(found.items()):
        values_at = []
        for term in sorted(objects, key=_nt):
            lexical = term.value if isinstance(term, ox.Literal) else compact(term.value)
            at = [n for v, n in _pairs(located[g], subject, predicate) if v == key(_nt(term))]
            values_at.append(f"{lexical} at line {at[0]}" if at else lexical)
        count = _NUMBERS.get(len(objects), str(len(objects)))
        node = compact(subject[1:-1]) if subject.startswith("<") else "a blank node"
        message = (
            f"{graphs[g]} gives {count} {compact(predicate[1:-1])} values for {node} "
            f"({', '.join(values_at)}); a source states one value: keep the one it says."
        )
        results.append(Result(subject, predicate, None, SHAPE, SHAPE, message, VIOLATION))
    return results


def _pairs(located, subject: str, predicate: str) -> list[tuple[str, int]]:
    from kg.locate import key

    if located is None:
        return []
    return located.values.get((key(subject), predicate), [])
