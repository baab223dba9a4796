"""The stages of a build over an Oxigraph store: load, validate, reason.

Each stage uses the fast engine when it can (Oxigraph's parser; SHACL compiled to SPARQL;
OWL RL rules compiled from the ontology) and the reference engine (pyshacl, owlrl) when
the fast one declines a construct, so answers are always the reference's answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.project import Project

Progress = Callable[[str, int, int], None]
_POSITION = re.compile(r"line (\d+)")
_BULK_FROM = 4 << 20  # bytes


def load_into(
    store: ox.Store,
    project: Project,
    progress: Progress,
    paths: Iterable[Path] | None = None,
) -> dict[str, str]:
    """Parse ontology and sources into their named graphs; return graph -> shown path."""
    files = {ONTOLOGY_GRAPH: list(project.ontology)}
    for name, path in project.sources(list(paths) if paths is not None else None).items():
        files[name] = [path]
    total = sum(p.stat().st_size for ps in files.values() for p in ps if p.exists())
    done = 0
    graphs: dict[str, str] = {}
    for name, paths_ in files.items():
        for path in paths_:
            _parse(store, path, name, project)
            done += path.stat().st_size
            progress("parse", done, total)
        graphs[name] = ", ".join(project.relative(p) for p in paths_)
        if name != ONTOLOGY_GRAPH:
            _check_self_description(store, name, graphs[name])
    return graphs


def make_union(store: ox.Store, graphs: Iterable[str]) -> list[ox.NamedNode]:
    """The graphs whose bag union is the set union of *graphs* (an RDF merge).

    Oxigraph's union of several default graphs keeps duplicates, so when two sources
    state the same triple, kg copies the graphs into one union graph (a store is a set of
    quads: the copy is the merge). When no triple is stated twice, which is the case of
    large single-source inputs, the graphs themselves are the union and nothing is copied.
    """
    names = [ox.NamedNode(g) for g in graphs]
    total = sum(_count(store, g) for g in graphs)
    distinct = int(
        next(
            iter(
                store.query(
                    "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
                    default_graph=names,
                )
            )
        )[0].value
    )
    if distinct == total:
        return names
    for g in graphs:  # runs inside Oxigraph, not in Python
        store.update(f"ADD <{g}> TO <{UNION_GRAPH}>")
    return [ox.NamedNode(UNION_GRAPH)]


def _count(store: ox.Store, graph: str) -> int:
    rows = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(next(iter(rows))[0].value)


def _parse(store: ox.Store, path: Path, graph: str, project: Project) -> None:
    shown = project.relative(path)
    if not path.is_file():
        raise InputError("file not found; check the path in kg.toml.", path=shown)
    # The bulk loader pays a fixed cost per call (threads, batches): worth it on big files.
    load = store.bulk_load if path.stat().st_size > _BULK_FROM else store.load
    try:
        load(
            path=str(path),
            format=ox.RdfFormat.TURTLE,
            base_iri=graph if graph != ONTOLOGY_GRAPH else path.resolve().as_uri(),
            to_graph=ox.NamedNode(graph),
        )
    except SyntaxError as exc:
        match = _POSITION.search(str(exc))
        why = str(exc).split(": ", 1)[-1]
        raise InputError(
            f"Turtle syntax error: {why}. Fix the statement on this line "
            "(often a missing '.', ';' or a prefix that is not declared).",
            path=shown,
            line=int(match.group(1)) if match else None,
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read it: {exc}", path=shown) from None


def _check_self_description(store: ox.Store, name: str, shown: str) -> None:
    node = ox.NamedNode(name)
    if not any(store.quads_for_pattern(node, ox.NamedNode(_RDF_TYPE), None, node)):
        stem = name.rsplit("/", 1)[-1]
        raise InputError(
            f"this file holds the facts of the source <{name}> but does not describe it; "
            f"add e.g. '<> a kg:NewsArticle ; kg:title \"...\" ; kg:url <...> .' "
            f"(in this file <> is ex:{stem})",
            path=shown,
        )


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


# -- validation --------------------------------------------------------------------------


def validate_store(
    store: ox.Store, project: Project, graphs: dict[str, str], union: list[ox.NamedNode]
) -> tuple[list, str]:
    """SHACL results (as :class:`kg.validate.Violation` dicts) and the engine that found
    them; *union* are the graphs whose union is the asserted data (see make_union)."""
    from kg.validate import violation_dicts

    shapes = _shapes(project)
    names = [ox.NamedNode(g) for g in graphs]
    try:
        from kg import shacl_fast

        checks = shacl_fast.compile_shapes(shapes)
        results = shacl_fast.validate_store(store, checks, graphs=union)
        engine = "shacl-sparql (oxigraph)"
    except (ImportError, InputError):
        results = _pyshacl_results(store, shapes, names, project)
        engine = "pyshacl (reference)"
    return violation_dicts(results, store, names, project, graphs), engine


def _shapes(project: Project):
    from rdflib import Graph

    from kg.load import parse_turtle

    shapes = Graph()
    for path in project.shapes:
        shapes += parse_turtle(path, shown_as=project.relative(path))
    return shapes


def _pyshacl_results(store: ox.Store, shapes, names, project: Project) -> list:
    from pyshacl import validate

    from kg.shacl_fast import results_from_pyshacl

    data = to_rdflib(store, [n for n in names if n.value != ONTOLOGY_GRAPH])
    ontology = to_rdflib(store, [ox.NamedNode(ONTOLOGY_GRAPH)])
    _, report, _ = validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    return results_from_pyshacl(report, shapes)


def to_rdflib(store: ox.Store, graphs: list[ox.NamedNode]):
    """The union of *graphs* as an rdflib Graph (for the reference engines)."""
    from rdflib import Graph

    data = b"".join(
        ox.serialize(
            (
                ox.Triple(q.subject, q.predicate, q.object)
                for q in store.quads_for_pattern(None, None, None, g)
            ),
            format=ox.RdfFormat.N_TRIPLES,
        )
        or b""
        for g in graphs
    )
    graph = Graph()
    graph.parse(data=data.decode("utf-8"), format="nt")
    return graph


# -- reasoning ---------------------------------------------------------------------------


def reason_into(
    store: ox.Store,
    union: list[ox.NamedNode],
    progress: Progress,
    *,
    out: ox.Store | None = None,
    target: ox.NamedNode | ox.DefaultGraph | None = None,
) -> tuple[int, str]:
    """Write the OWL RL inferences of *store*'s *union* into *target* of *out* (default:
    the inferred graph of *store*); return (count, engine)."""
    target = target if target is not None else ox.NamedNode(INFERRED_GRAPH)
    sink = out if out is not None else store
    asserted = union
    ontology = to_rdflib(store, [ox.NamedNode(ONTOLOGY_GRAPH)])
    try:
        from kg import reason_fast

        rules = reason_fast.compile_rules(ontology)
        count = reason_fast.materialise(
            store,
            rules,
            asserted=asserted,
            target=target,
            progress=lambda stage, n: progress("reason", n, 0),
            out=sink,
        )
        return count, "compiled OWL RL rules"
    except ImportError:
        from kg.reason import owl_rl_inferences

        inferred = owl_rl_inferences(to_rdflib(store, asserted))
        sink.bulk_extend(ox.Quad(_ox(s), _ox(p), _ox(o), target) for s, p, o in inferred)
        return len(inferred), "owlrl (reference)"


def _ox(node):
    from rdflib import BNode, Literal, URIRef

    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    if node.datatype:
        return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
    return ox.Literal(str(node))
