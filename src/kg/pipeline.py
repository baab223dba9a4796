"""A full build: sources and ontology to a validated, reasoned Oxigraph store on disk.

:func:`compile_store` is the whole pipeline (parse, validate, index, reason) that
:func:`kg.build.build` runs in a temporary folder before it swaps the new store in.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import TypeVar

from kg.build import BuildReport, Progress, _report_dict, fingerprint
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from kg.project import Project
from kg.state import FORMAT_VERSION, MANIFEST, REPORT, store_files, write_json

T = TypeVar("T")


def new_manifest(
    identity: str,
    prints: dict,
    graphs: dict[str, str],
    union: list[str],
    report: BuildReport,
    files: dict[str, int],
) -> dict:
    """A store's manifest (checked on every read by :func:`kg.state.read_manifest`):
    *graphs* maps each named graph to the files shown for it, *union* the graphs whose
    union is the asserted data, *files* what the store cannot answer without."""
    return {
        "format": FORMAT_VERSION,
        "identity": identity,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "inputs": prints,
        "sources": {name: rel for name, rel in graphs.items() if name != ONTOLOGY_GRAPH},
        "graphs": {
            "named": list(graphs),
            "union": union,
            # the store keeps the closure in its default graph; kg names it INFERRED_GRAPH
            "inferred": INFERRED_GRAPH,
        },
        "report": _report_dict(report),
        # see kg.state.store_damage
        "files": files,
    }


def _timed(fn: Callable[..., T], *args) -> tuple[T, float]:
    """*fn*'s value and the seconds it took (on whichever thread runs it)."""
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _release_memory() -> None:
    """Hand the memory freed by the in-memory store back to the system before the bulk
    loader takes its own (glibc keeps freed pages otherwise, and they count in the peak)."""
    import ctypes

    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _asserted(store, sources: list[str], union: list) -> int:
    """The sources' triples, a triple several sources state counted once (as kg stats
    counts them); the ontology's are not asserted data. When no triple is stated twice
    (*union* is then the graphs themselves, see make_union), that is a sum of counts."""
    import pyoxigraph as ox

    from kg.compile import _count

    names = [ox.NamedNode(g) for g in sources]
    if not names:
        return 0
    if all(g in union for g in names):  # what the store holds but the sources' graphs
        others = [g.value for g in store.named_graphs() if g not in names]
        default = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        rest = sum(_count(store, g) for g in others) + int(next(iter(default))[0].value)
        return len(store) - rest
    query = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    return int(next(iter(store.query(query, default_graph=names)))[0].value)


#: Sources from this size are written to disk from their file, in pieces of PIECE bytes
#: (:func:`_load_directly`); smaller ones are dumped from memory with the ontology.
DIRECT_FROM = 4 << 20
PIECE = 8 << 20
PIECE_LIMIT = 3 * PIECE  # a source that cannot be cut smaller is dumped


def _load_directly(project: Project, loader) -> dict[str, object]:
    """Queue on *loader* the sources it can read from their files: large Turtle files
    that :func:`kg.ttlsplit.pieces` can cut, without the usual syntax of blank nodes
    (:func:`kg.ttlsplit.writes_blank_nodes`). Their graphs, by name."""
    import pyoxigraph as ox

    from kg.compile import has_bom
    from kg.sssom import is_mapping_set
    from kg.ttlsplit import pieces, writes_blank_nodes

    out = {}
    for name, path in project.sources().items():
        try:
            if path.stat().st_size < DIRECT_FROM or is_mapping_set(path) or has_bom(path):
                continue
            if writes_blank_nodes(path):
                continue
            found = pieces(path, PIECE, PIECE_LIMIT)
        except (OSError, ValueError):  # the parse into memory says what is wrong
            continue
        if found is not None:
            out[name] = ox.NamedNode(name)
            loader.add_pieces(found, out[name], base_iri=name)
    return out


def _dump_others(store, path: Path, skip: set[str]) -> None:
    """Write *store*'s graphs but those in *skip* to *path* as N-Quads."""
    import pyoxigraph as ox

    if not skip:
        store.dump(str(path), format=ox.RdfFormat.N_QUADS)
        return
    with path.open("wb") as out:
        for graph in store.named_graphs():
            if graph.value not in skip:
                data = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
                out.write(_in_graph(data, graph))


def _blank_triples(store, graphs: dict[str, object]) -> dict[object, bytes]:
    """The triples with a blank node of each of *graphs*, as N-Quads, for those that
    have any (their pieces named them afresh: see :meth:`kg.bulkload.Loader.replace_blanks`)."""
    import pyoxigraph as ox

    where = "GRAPH %s { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) }"
    out = {}
    for graph in graphs.values():
        if store.query(f"ASK {{ {where % graph} }}"):
            found = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where % graph} }}")
            out[graph] = _in_graph(found.serialize(format=ox.RdfFormat.N_TRIPLES), graph)
    return out


def _in_graph(ntriples: bytes, graph) -> bytes:
    """N-Triples from Oxigraph as N-Quads of *graph* (a line ends with " .\\n" only there:
    N-Triples escapes line breaks in literals)."""
    return ntriples.replace(b" .\n", b" %s .\n" % str(graph).encode())


def compile_store(project: Project, folder: Path, progress: Progress) -> BuildReport:
    """Parse, validate and reason in memory (Oxigraph and Python are fastest there), while
    two threads write the store on disk (:mod:`kg.bulkload`).

    Writing to disk is the slowest stage and its bulk loader the largest user of memory.
    From the start, the writer loads each large Turtle source from its file, in pieces
    (:mod:`kg.ttlsplit`), while the main thread parses it into memory; what it cannot
    read so (the ontology, small or unsplittable sources, a union graph) it dumps from
    memory once parsed. Then the closure, as triples (into the store's default graph,
    which Oxigraph indexes three ways against six for a named graph), loaded as the
    reasoner writes it. The files are checked by the parse into memory, so they are
    loaded leniently (IRIs not validated again). Validation runs on threads of its own:
    its queries run in Oxigraph without the GIL, which the reasoner, in Python, holds.
    So the stages overlap: each one's seconds are its own, and "total" is the build's.
    """
    import pyoxigraph as ox

    from kg.bulkload import Loader
    from kg.compile import load_into, make_union, reason_into, to_rdflib, validate_store
    from kg.reason_fast import compile_rules
    from kg.validate import count_violations

    seconds: dict[str, float] = {}
    store = ox.Store()
    start = t = time.perf_counter()
    folder.mkdir(parents=True)
    disk = ox.Store(str(folder / "store"))
    side = ThreadPoolExecutor(1, thread_name_prefix="kg-validate")
    with side, Loader(disk) as loader:  # one thread while the parse takes a core
        prints = side.submit(fingerprint, project)  # hashing the inputs, without the GIL
        direct = _load_directly(project, loader)
        graphs = load_into(store, project, progress, paths=[])  # the ontology
        # owlrl closes the T-box in Python while Oxigraph parses the sources without the GIL
        rules = side.submit(compile_rules, to_rdflib(store, [ox.NamedNode(ONTOLOGY_GRAPH)]))
        graphs |= load_into(store, project, progress, ontology=False)
        union = make_union(store, graphs)
        seconds["parse"] = time.perf_counter() - t
        loader.widen(2)

        rest = folder / "asserted.nq"
        loader.add(rest, partial(_dump_others, store, rest, set(direct)))
        blanks = side.submit(_blank_triples, store, direct)
        validating = side.submit(_timed, validate_store, store, project, graphs, union)

        t = time.perf_counter()
        asserted = _asserted(store, [g for g in graphs if g != ONTOLOGY_GRAPH], union)
        with loader.parts(folder, "inferred") as text:  # loaded as it is written
            inferred, reason_engine = reason_into(
                store, union, progress, out=text, rules=rules.result()
            )
        seconds["reason"] = time.perf_counter() - t

        (violations, validate_engine), seconds["validate"] = validating.result()
        for graph, nquads in blanks.result().items():
            loader.replace_blanks(graph, nquads)
        del store
        _release_memory()
        t = time.perf_counter()
        loader.finish()
        disk.flush()
    del disk  # closed: its files are final
    gc.collect()  # and no cycle (a thread's traceback, say) keeps it open
    identity = (folder / "store" / "IDENTITY").read_text(encoding="utf-8").strip()
    files = store_files(folder / "store")
    seconds["index"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - start

    report = BuildReport(
        store="",
        asserted=asserted,
        inferred=inferred,
        violations=count_violations(violations),  # warnings do not fail a build
        seconds={k: round(v, 3) for k, v in seconds.items()},
        engines={"validate": validate_engine, "reason": reason_engine},
    )
    manifest = new_manifest(
        identity, prints.result(), graphs, [g.value for g in union], report, files
    )
    write_json(
        folder / REPORT, {"conforms": not count_violations(violations), "results": violations}
    )
    write_json(folder / MANIFEST, manifest)
    from kg.incremental import save_cache  # what the next incremental build starts from

    save_cache(folder, graphs, union, rules.result())
    return report
