"""A full build: sources and ontology to a validated, reasoned Oxigraph store on disk.

:func:`compile_store` is the whole pipeline (parse, validate, index, reason) that
:func:`kg.build.build` runs in a temporary folder before it swaps the new store in.
"""

from __future__ import annotations

import time
from pathlib import Path

from kg.build import BuildReport, Progress, _report_dict, fingerprint
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from kg.project import Project
from kg.state import FORMAT_VERSION, MANIFEST, REPORT, store_files, write_json


def _asserted(store, sources: list[str]) -> int:
    """The sources' triples, a triple several sources state counted once (as kg stats
    counts them); the ontology's are not asserted data."""
    import pyoxigraph as ox

    names = [ox.NamedNode(g) for g in sources]
    if not names:
        return 0
    query = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    return int(next(iter(store.query(query, default_graph=names)))[0].value)


def compile_store(project: Project, folder: Path, progress: Progress) -> BuildReport:
    """Parse and validate in memory (Oxigraph is fastest there), write the asserted graphs
    to disk, then reason from memory straight into the store on disk.

    Writing to disk is the slowest stage, so the inferred triples go there once (not into
    memory and then to disk), into the store's default graph: Oxigraph keeps three indexes
    for it against six for a named graph. (Writing in a second thread while validating was
    measured slower on two cores: Oxigraph's bulk loader already uses both.)
    """
    import pyoxigraph as ox

    from kg.compile import load_into, make_union, reason_into, validate_store
    from kg.validate import count_violations

    seconds: dict[str, float] = {}
    prints = fingerprint(project)
    store = ox.Store()

    t = time.perf_counter()
    graphs = load_into(store, project, progress)
    union = make_union(store, graphs)
    seconds["parse"] = time.perf_counter() - t

    t = time.perf_counter()
    violations, validate_engine = validate_store(store, project, graphs, union)
    seconds["validate"] = time.perf_counter() - t

    t = time.perf_counter()
    asserted = _asserted(store, [g for g in graphs if g != ONTOLOGY_GRAPH])
    folder.mkdir(parents=True)
    dump = folder / "load.nq"
    store.dump(str(dump), format=ox.RdfFormat.N_QUADS)
    disk = ox.Store(str(folder / "store"))
    disk.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    dump.unlink()
    seconds["index"] = time.perf_counter() - t

    t = time.perf_counter()
    inferred, reason_engine = reason_into(
        store, union, progress, out=disk, target=ox.DefaultGraph()
    )
    disk.flush()
    del disk, store  # closed: its files are final
    identity = (folder / "store" / "IDENTITY").read_text(encoding="utf-8").strip()
    files = store_files(folder / "store")
    seconds["reason"] = time.perf_counter() - t

    report = BuildReport(
        store="",
        asserted=asserted,
        inferred=inferred,
        violations=count_violations(violations),  # warnings do not fail a build
        seconds={k: round(v, 3) for k, v in seconds.items()},
        engines={"validate": validate_engine, "reason": reason_engine},
    )
    sources = {name: rel for name, rel in graphs.items() if name != ONTOLOGY_GRAPH}
    manifest = {
        "format": FORMAT_VERSION,
        "identity": identity,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "inputs": prints,
        "sources": sources,
        "graphs": {
            "named": list(graphs),
            "union": [g.value for g in union],
            # the store keeps the closure in its default graph; kg names it INFERRED_GRAPH
            "inferred": INFERRED_GRAPH,
        },
        "report": _report_dict(report),
        # what the store cannot answer without, as it is now: see kg.state.store_damage
        "files": files,
    }
    write_json(
        folder / REPORT, {"conforms": not count_violations(violations), "results": violations}
    )
    write_json(folder / MANIFEST, manifest)
    return report
