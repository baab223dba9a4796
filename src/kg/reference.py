"""The reference engine: rdflib + owlrl + pyshacl, all in memory.

Slow at scale, but these libraries define what the answers must be: the compiled store
is tested against this path (same query answers, same inferences, same SHACL results).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kg.namespaces import ONTOLOGY_GRAPH
from kg.project import Project


def reference_store(project: Project):
    """An :class:`~kg.store_rdflib.RdflibStore` over the sources, reasoned with owlrl."""
    from kg.load import load_sources
    from kg.reason import owl_rl_inferences
    from kg.store_rdflib import RdflibStore

    sources = load_sources(project)
    graphs = {str(name): g for name, g in sources.graphs.items()}
    graphs[ONTOLOGY_GRAPH] = sources.ontology
    return RdflibStore(graphs, inferred=lambda: owl_rl_inferences(sources.merged()))


def validate_reference(project: Project, paths: Iterable[Path] | None = None):
    """The SHACL report computed by pyshacl on the asserted data (+ ontology)."""
    import pyoxigraph as ox
    from pyshacl import validate

    from kg.compile import load_into, source_results
    from kg.load import load_sources
    from kg.shacl_fast import results_from_pyshacl
    from kg.validate import Report, sparql_paths, violation_dicts

    sources = load_sources(project)
    store = ox.Store()  # for labels and file locations only
    graphs = load_into(store, project, lambda *a: None, paths)
    data = sources.merged(with_ontology=False) if paths is None else _merged(project, graphs)
    _, report, _ = validate(
        data,
        shacl_graph=sources.shapes,
        ont_graph=sources.ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    results = results_from_pyshacl(report, sources.shapes)
    results += source_results(store, project, graphs)
    names = [ox.NamedNode(g) for g in graphs]
    related = sparql_paths(sources.shapes)
    return Report.from_dicts(violation_dicts(results, store, names, project, graphs, related))


def _merged(project: Project, graphs: dict[str, str]):
    from rdflib import Graph

    from kg.load import load_source

    data = Graph()
    for name, shown in graphs.items():
        if name != ONTOLOGY_GRAPH:  # Turtle or an SSSOM mapping set, as the loader reads it
            data += load_source(project.root / shown, name, shown)
    return data
