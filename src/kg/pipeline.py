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

    names = [ox.NamedNode(g) for g in sources]
    if not names:
        return 0
    if all(g in union for g in names):
        query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } VALUES ?g { %s } }"
        return int(next(iter(store.query(query % " ".join(map(str, names)))))[0].value)
    query = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    return int(next(iter(store.query(query, default_graph=names)))[0].value)


def compile_store(project: Project, folder: Path, progress: Progress) -> BuildReport:
    """Parse, validate and reason in memory (Oxigraph and Python are fastest there), while
    a second thread writes the store on disk (:mod:`kg.bulkload`).

    Writing to disk is the slowest stage and its bulk loader the largest user of memory:
    the writer dumps the asserted graphs from memory as N-Quads as soon as they are
    parsed and loads them in bounded chunks, then the closure, as triples (into the
    store's default graph, which Oxigraph indexes three ways against six for a named
    graph). The files are kg's own output, already checked, so they are loaded leniently
    (IRIs not validated again). Validation runs on threads of its own meanwhile: its
    queries run in Oxigraph without the GIL, which the reasoner, in Python, holds.
    So the stages overlap: each one's seconds are its own, and "total" is the build's.
    """
    import pyoxigraph as ox

    from kg.bulkload import Loader
    from kg.compile import load_into, make_union, reason_into, validate_store
    from kg.validate import count_violations

    seconds: dict[str, float] = {}
    prints = fingerprint(project)
    store = ox.Store()
    start = t = time.perf_counter()
    graphs = load_into(store, project, progress)
    union = make_union(store, graphs)
    folder.mkdir(parents=True)
    disk = ox.Store(str(folder / "store"))
    seconds["parse"] = time.perf_counter() - t

    asserted_nq, inferred_nq = folder / "asserted.nq", folder / "inferred.nq"
    with Loader(disk) as loader, ThreadPoolExecutor(1, thread_name_prefix="kg-validate") as side:
        loader.add(asserted_nq, partial(store.dump, str(asserted_nq), format=ox.RdfFormat.N_QUADS))
        validating = side.submit(_timed, validate_store, store, project, graphs, union)

        t = time.perf_counter()
        asserted = _asserted(store, [g for g in graphs if g != ONTOLOGY_GRAPH], union)
        with inferred_nq.open("w", encoding="utf-8") as text:
            inferred, reason_engine = reason_into(store, union, progress, out=text)
        seconds["reason"] = time.perf_counter() - t

        (violations, validate_engine), seconds["validate"] = validating.result()
        loader.add(inferred_nq)
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
    manifest = new_manifest(identity, prints, graphs, [g.value for g in union], report, files)
    write_json(
        folder / REPORT, {"conforms": not count_violations(violations), "results": violations}
    )
    write_json(folder / MANIFEST, manifest)
    from kg.incremental import save_cache  # what the next incremental build starts from

    save_cache(folder, graphs, union)
    return report
