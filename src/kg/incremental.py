"""Incremental builds: after an edit to a few source files, the new store is the last one
with only what the edit changes changed, equal to what a full build would write.

How: the last good store is copied as a RocksDB checkpoint (hard links: no copy of the
data), the graphs of the changed files are replaced by their new parse, and then

* the union graph (a copy of every graph, kept only when two graphs state one triple) and
  the counts follow the changed triples, found by lookups;
* the closure follows them too (:mod:`kg.incremental_reason`);
* validation re-checks only the focus nodes the edit can affect, on a small store holding
  what they read (:mod:`kg.incremental_shapes`), and keeps the other results of the last
  report.

Whenever it cannot be sure (the ontology, shapes or kg.toml changed; a construct those
modules do not follow; most of the data changed; a store built by another version), it
says why in one line and kg builds in full (:class:`~kg.incremental_reason.Unsupported`).
It runs in the same temporary folder as a full build, so a failure keeps the last good
store exactly as a failed full build does.
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict
from pathlib import Path

import pyoxigraph as ox

from kg.build import BuildReport, Progress, fingerprint
from kg.incremental_reason import Delta, Unsupported, View
from kg.namespaces import ONTOLOGY_GRAPH, UNION_GRAPH
from kg.project import Project
from kg.state import FORMAT_VERSION, MANIFEST, REPORT, read_json, read_manifest, store_files
from kg.state import write_json as _write_json

#: What a full build leaves beside its store for the next incremental one.
CACHE = "incremental.json"
_REASON = "compiled OWL RL rules"  # what kg.compile.reason_into calls reason_fast
#: Past this share of the data (in bytes) changed, a full build is the faster.
_SHARE = 0.25

__all__ = ["CACHE", "Unsupported", "build_incremental", "save_cache"]


def save_cache(folder: Path, graphs: dict[str, str], union: list, rules) -> None:
    """What an incremental build needs and cannot read cheaply from the store: the
    compiled OWL RL *rules* (owlrl on the ontology: a second) and how many triples several
    graphs state. Called by :func:`kg.pipeline.compile_store` at the end of a full build,
    with the store in *folder* closed; reads it for counts when there is a union graph."""
    from kg.compile import _count

    repeated = 0
    if [u.value if hasattr(u, "value") else u for u in union] == [UNION_GRAPH]:
        store = ox.Store.read_only(str(folder / "store"))
        repeated = sum(_count(store, g) for g in graphs) - _count(store, UNION_GRAPH)
    _write_json(folder / CACHE, {"rules": asdict(rules), "repeated": repeated})


def build_incremental(
    project: Project, folder: Path, current: Path, progress: Progress
) -> BuildReport:
    """Build into *folder* from the store in *current* and the changed sources; raises
    :class:`Unsupported` (nothing of the last store touched) when a full build is needed."""
    started = time.perf_counter()
    manifest = read_manifest(current)
    prints = fingerprint(project)
    changed, removed = _changes(project, manifest, prints)
    cache = _cache(current, manifest)
    folder.mkdir(parents=True)
    done = _edit(project, folder, current, manifest, cache, changed, removed, progress)
    gc.collect()  # the stores are closed: their files are final
    return _finish(project, folder, manifest, prints, cache, changed, removed, started, done)


def _edit(project, folder, current, manifest, cache, changed, removed, progress) -> dict:
    """The new store made from a checkpoint of the old one; returns what the report and
    manifest need. The stores are local to this call, so closed when it returns."""
    from kg.compile import load_into
    from kg.reason_fast import Rules

    old = ox.Store.read_only(str(current / "store"))
    old.backup(str(folder / "store"))
    work = ox.Store(str(folder / "store"))
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    parsed = ox.Store()
    shown = load_into(parsed, project, progress, paths=[p for _, p in changed])
    sources = {g: project.relative(p) for g, p in project.sources().items()}
    graphs = {ONTOLOGY_GRAPH: shown[ONTOLOGY_GRAPH], **sources}
    before = [*manifest["sources"], ONTOLOGY_GRAPH]
    after = [*sources, ONTOLOGY_GRAPH]
    written: list[ox.Quad] = []
    for g in [*removed, *(g for g, _ in changed)]:
        name = ox.NamedNode(g)
        written += old.quads_for_pattern(None, None, None, name)
        work.remove_graph(name)
    for g, _ in changed:
        new = list(parsed.quads_for_pattern(None, None, None, ox.NamedNode(g)))
        written += new
        work.extend(new)
    touched = {(q.subject, q.predicate, q.object) for q in written}
    olds, news = View(old, before), View(work, after)
    delta, asserted, repeated = [], manifest["report"]["asserted"], cache["repeated"]
    onto = ox.NamedNode(ONTOLOGY_GRAPH)
    for s, p, o in touched:
        was = [g for g in olds.graphs if _holds(old, s, p, o, g)]
        now = [g for g in news.graphs if _holds(work, s, p, o, g)]
        if bool(was) != bool(now):
            delta.append((s, p, o))
        asserted += bool(set(now) - {onto}) - bool(set(was) - {onto})
        repeated += max(len(now) - 1, 0) - max(len(was) - 1, 0)
    union = _union(work, manifest, delta, repeated, after)
    seconds["parse"] = time.perf_counter() - t

    t = time.perf_counter()
    rules = Rules(**cache["rules"])
    _refuse_ontology_terms(rules, delta)
    plus, minus = Delta(rules, olds, news, work).apply(delta)
    seconds["reason"] = time.perf_counter() - t

    t = time.perf_counter()
    walks = _walks(project, cache)
    results = _validate(project, current, work, news, olds, graphs, delta, written, walks)
    seconds["validate"] = time.perf_counter() - t
    work.flush()
    return {
        "graphs": graphs,
        "union": union,
        "asserted": asserted,
        "inferred": manifest["report"]["inferred"] + plus - minus,
        "repeated": repeated,
        "results": results,
        "seconds": seconds,
        "delta": len(delta),
    }


def _holds(store: ox.Store, s, p, o, g) -> bool:
    return any(store.quads_for_pattern(s, p, o, g))


def _changes(project: Project, manifest: dict, prints: dict) -> tuple[list, list]:
    """(graph, path) of the sources that changed or were added, and the graphs of those
    removed; :class:`Unsupported` when anything else changed."""
    if manifest.get("format") != FORMAT_VERSION:
        raise Unsupported("the last store was built by another version of kg")
    engines = manifest["report"].get("engines", {})
    if engines.get("reason") != _REASON or "reference" in engines.get("validate", "reference"):
        raise Unsupported("the last build used a reference engine")
    recorded: dict = manifest["inputs"]
    sources = project.sources()
    data = {project.relative(p) for p in sources.values()}
    for rel in sorted(set(prints) | set(recorded)):
        other = rel not in data and rel not in manifest["sources"].values()
        if other and prints.get(rel, {}).get("sha256") != recorded.get(rel, {}).get("sha256"):
            raise Unsupported(f"{rel} changed")
    changed = [
        (g, p)
        for g, p in sources.items()
        if manifest["sources"].get(g) != project.relative(p)
        or prints[project.relative(p)]["sha256"]
        != recorded.get(project.relative(p), {}).get("sha256")
    ]
    removed = [g for g in manifest["sources"] if g not in sources]
    size = sum(v["size"] for v in prints.values()) or 1
    moved = sum(prints[project.relative(p)]["size"] for _, p in changed)
    moved += sum(recorded.get(manifest["sources"][g], {}).get("size", 0) for g in removed)
    moved += sum(recorded.get(project.relative(p), {}).get("size", 0) for _, p in changed)
    if moved > _SHARE * size:
        raise Unsupported("much of the data changed")
    return changed, removed


def _cache(current: Path, manifest: dict) -> dict:
    try:
        cache = read_json(current / CACHE)
    except (OSError, ValueError):
        cache = None
    if not isinstance(cache, dict) or not {"rules", "repeated"} <= set(cache):
        raise Unsupported("the last build left nothing for an incremental one")
    return cache


def _union(work: ox.Store, manifest: dict, delta: list, repeated: int, after: list) -> list:
    """The union graph after the edit: kept (and edited) while two graphs state a triple,
    made or dropped when that changes, as :func:`kg.compile.make_union` would."""
    had = manifest["graphs"]["union"] == [UNION_GRAPH]
    union = ox.NamedNode(UNION_GRAPH)
    if repeated and had:
        for s, p, o in delta:
            quad = ox.Quad(s, p, o, union)
            if quad in work:
                work.remove(quad)
            else:
                work.add(quad)
    elif repeated:
        for g in after:
            work.update(f"ADD <{g}> TO <{UNION_GRAPH}>")
    elif had:
        work.remove_graph(union)
    ordered = [ONTOLOGY_GRAPH, *after[:-1]]
    return [UNION_GRAPH] if repeated else ordered


def _refuse_ontology_terms(rules, delta: list) -> None:
    """A changed triple about a term of the T-box inferences: refused (their closure is
    owlrl's, on the ontology alone, and a data triple may hide one of them)."""
    terms = {
        t for q in ox.parse(rules.tbox, format=ox.RdfFormat.N_TRIPLES)
        for t in (q.subject, q.object) if not isinstance(t, ox.Literal)
    }  # fmt: skip
    for s, p, o in delta:
        if s in terms or (o in terms and p.value != _RDF_TYPE_IRI):
            raise Unsupported("a changed triple is about a term of the ontology")


_RDF_TYPE_IRI = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _walks(project: Project, cache: dict) -> set:
    """The shapes' walks (:func:`kg.incremental_shapes.shape_walks`), read once per shapes
    and kept in the cache (parsing their SPARQL is most of the cost), or why not."""
    from kg.compile import _shapes
    from kg.incremental_shapes import shape_walks

    if "walks" not in cache:
        try:
            found = shape_walks(_shapes(project))
            cache["walks"] = sorted([list(step) for step in walk] for walk in found)
        except Unsupported as exc:
            cache["walks"] = str(exc)
    if isinstance(cache["walks"], str):
        raise Unsupported(cache["walks"])
    return {tuple((pred, back) for pred, back in walk) for walk in cache["walks"]}


def _validate(project, current, work, news, olds, graphs, delta, written, walks) -> list[dict]:
    """The new report's results: those of the affected focus nodes computed afresh on
    their region, the others kept from the last report."""
    from kg.compile import make_union
    from kg.incremental_shapes import affected, region, seeds
    from kg.shacl_fast import _nt

    focus = affected(walks, delta, [olds, news]) | seeds(written)
    small = ox.Store()
    small.extend(region(news, walks, focus))
    small.extend(work.quads_for_pattern(None, None, None, ox.NamedNode(ONTOLOGY_GRAPH)))
    present = {g.value for g in small.named_graphs()}
    shown = {g: s for g, s in graphs.items() if g in present}
    fresh = _results(project, small, shown, make_union(small, shown))
    names = {_nt(n) for n in focus} | {str(n) for n in focus}
    kept = [r for r in read_json(current / REPORT)["results"] if r["focus_term"] not in names]
    out = kept + [r for r in fresh if r["focus_term"] in names]
    out.sort(key=lambda v: (v["files"], v["focus"], v["path"] or "", v["message"]))
    return out


def _results(project: Project, small: ox.Store, shown: dict, union: list) -> list[dict]:
    """:func:`kg.compile.validate_store` on the small store, with only the shapes that
    target something there (:func:`kg.incremental_shapes.relevant_shapes`): the same
    steps, on the fast engine only (a decline means a full build)."""
    from kg.compile import _shapes, validate_store
    from kg.errors import InputError
    from kg.incremental_shapes import relevant_shapes

    shapes = relevant_shapes(_shapes(project), small, union)
    try:
        return validate_store(small, project, shown, union, shapes=shapes, fallback=False)[0]
    except (ImportError, InputError):  # ShapesError too: the full build reports it
        raise Unsupported("the fast validation declined the changed data") from None


def _finish(project, folder, manifest, prints, cache, changed, removed, started, done):
    """The report, manifest and cache of the new store (closed by now)."""
    from kg.pipeline import new_manifest
    from kg.validate import count_violations

    store = folder / "store"
    identity = (store / "IDENTITY").read_text(encoding="utf-8").strip()
    report = BuildReport(
        store="",
        asserted=done["asserted"],
        inferred=done["inferred"],
        violations=count_violations(done["results"]),
        seconds={k: round(v, 3) for k, v in done["seconds"].items()},
        engines=dict(manifest["report"]["engines"]),  # the fast ones, as the last build
    )
    files = [project.relative(p) for _, p in changed] + [manifest["sources"][g] for g in removed]
    report.notices = [
        f"incremental build: {', '.join(files) or 'no source'} changed "
        f"({done['delta']:,} triples of the union) in {time.perf_counter() - started:.2f} s"
    ]
    written = new_manifest(
        identity, prints, done["graphs"], done["union"], report, store_files(store)
    )
    _write_json(folder / CACHE, {**cache, "repeated": done["repeated"]})
    _write_json(folder / REPORT, {"conforms": not report.violations, "results": done["results"]})
    _write_json(folder / MANIFEST, written)
    return report
