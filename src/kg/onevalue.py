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
    found: dict[tuple[str, str, str], list] = {}
    for graph, prop in _suspects(store, sources):
        # a self-join on (subject, property): faster in Oxigraph than GROUP BY ... HAVING
        query = (
            f"SELECT DISTINCT ?s ?o WHERE {{ GRAPH {graph} {{ ?s {prop} ?o . "
            f"?s {prop} ?other FILTER (?o != ?other) }} }}"
        )
        for row in store.query(query, named_graphs=sources):
            found.setdefault((graph.value, _nt(row["s"]), _nt(prop)), []).append(row["o"])
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


def _suspects(store: ox.Store, sources: list[ox.NamedNode]) -> list[tuple]:
    """The (graph, property) pairs in which a node may have two values: those where some
    subject has two, or where a value is not equal to itself (``"NaN"^^xsd:double``, which
    SPARQL's ``!=`` sets apart from itself, or a value it cannot compare; kept as the
    self-join finds them).

    One count per property in Oxigraph, a scan of its triples without the GIL; the
    self-join, which looks every triple up again, then runs only where it can find
    something: on clean data, nowhere."""
    suspects = []
    for prop in map(ox.NamedNode, ONE_PER_SOURCE):
        query = (
            "SELECT ?g (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?d) "
            "(SUM(IF(COALESCE(?o != ?o, true), 1, 0)) AS ?odd) "
            f"WHERE {{ GRAPH ?g {{ ?s {prop} ?o }} }} GROUP BY ?g"
        )
        for row in store.query(query, named_graphs=sources):
            odd = row["odd"]
            if row["n"].value != row["d"].value or odd is None or odd.value != "0":
                suspects.append((row["g"], prop))
    return suspects


def _pairs(located, subject: str, predicate: str) -> list[tuple[str, int]]:
    from kg.locate import key

    if located is None:
        return []
    return located.values.get((key(subject), predicate), [])
