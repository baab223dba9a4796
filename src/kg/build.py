"""``kg build``: compile a project into an Oxigraph store on disk, once.

The store holds the asserted triples (a named graph per source), the ontology, the OWL
RL closure, and beside it the validation report and a manifest of input hashes. Queries
answer from it and rebuild it only when an input changed (a stat of each input, and a
hash where the stat differs: never a re-parse).

A build never damages the store that is answering: it writes a new store in a temporary
folder and swaps a symlink to it (``os.replace`` is atomic), under a lock so that two
builds never interleave. A build killed half-way leaves only a temporary folder, which
the next build removes; a build of invalid data fails and keeps the last good store.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.errors import InputError, ValidationFailed
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from kg.project import CONFIG_NAME, Project

STATE_DIR = ".kg"
CURRENT = "current"
MANIFEST = "manifest.json"
REPORT = "report.json"
FORMAT_VERSION = 3

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a build did: counts, seconds per stage, and the validation results."""

    store: str
    asserted: int
    inferred: int
    violations: int
    seconds: dict[str, float] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    skipped: bool = False

    def summary(self) -> str:
        total = sum(self.seconds.values())
        stages = ", ".join(f"{k} {v:.2f}" for k, v in self.seconds.items())
        return (
            f"{self.asserted:,} triples asserted, {self.inferred:,} inferred, "
            f"{self.violations} violation{'s' if self.violations != 1 else ''} "
            f"in {total:.2f} s ({stages})"
        )


def state_dir(project: Project) -> Path:
    return project.root / STATE_DIR


def current_store(project: Project) -> Path | None:
    """The folder of the store that answers now, or None before the first build."""
    link = state_dir(project) / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = state_dir(project) / target
    return path if (path / MANIFEST).is_file() else None


def read_manifest(store: Path) -> dict:
    return json.loads((store / MANIFEST).read_text(encoding="utf-8"))


# -- staleness ---------------------------------------------------------------------------


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_files(project: Project) -> list[Path]:
    return [p for p in project.inputs() if p.exists() or p.name != CONFIG_NAME]


def fingerprint(project: Project) -> dict[str, dict]:
    """Size, mtime and hash of every input, by path relative to the project."""
    prints = {}
    for path in input_files(project):
        if not path.is_file():
            raise InputError(
                "file not found; check the path in kg.toml.", path=project.relative(path)
            )
        size, mtime = _stat(path)
        prints[project.relative(path)] = {"size": size, "mtime_ns": mtime, "sha256": _sha256(path)}
    return prints


def is_fresh(project: Project, manifest: dict) -> bool:
    """True when no input changed since *manifest* was written (stat first, hash if needed)."""
    recorded: dict[str, dict] = manifest.get("inputs", {})
    if manifest.get("format") != FORMAT_VERSION:
        return False
    paths = input_files(project)
    if {project.relative(p) for p in paths} != set(recorded):
        return False
    for path in paths:
        rel = project.relative(path)
        try:
            size, mtime = _stat(path)
        except OSError:
            return False
        seen = recorded[rel]
        if (size, mtime) == (seen["size"], seen["mtime_ns"]):
            continue
        if size != seen["size"] or _sha256(path) != seen["sha256"]:
            return False
    return True


# -- building ----------------------------------------------------------------------------


@contextmanager
def _lock(project: Project) -> Iterator[None]:
    """One build at a time per project; a second one waits, then finds the store fresh."""
    folder = state_dir(project)
    folder.mkdir(exist_ok=True)
    with (folder / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(
    project: Project,
    *,
    allow_invalid: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Compile *project* into a new store and make it current, unless it is already fresh.

    Raises :class:`ValidationFailed` (the new store discarded, the old one kept) when the
    data violates its shapes and *allow_invalid* is false.
    """
    with _lock(project):
        current = current_store(project)
        if current is not None and not force:
            manifest = read_manifest(current)
            if is_fresh(project, manifest):
                return BuildReport(**manifest["report"], skipped=True)
        _remove_leftovers(project)
        tmp = state_dir(project) / f"tmp-{uuid.uuid4().hex[:12]}"
        try:
            report = _compile(project, tmp, progress or (lambda *a: None))
            if report.violations and not allow_invalid:
                raise ValidationFailed(
                    f"the data violates its shapes ({report.violations} problem(s)); the "
                    "store was not replaced. Run 'kg validate' for the report, fix the data, "
                    "or build with --allow-invalid."
                )
            final = state_dir(project) / f"store-{time.strftime('%Y%m%d-%H%M%S')}-{tmp.name[4:]}"
            os.rename(tmp, final)
            report.store = project.relative(final)
            _write_json(final / MANIFEST, {**read_manifest(final), "report": _report_dict(report)})
            link = state_dir(project) / f"{CURRENT}.{tmp.name}"
            os.symlink(final.name, link)
            os.replace(link, state_dir(project) / CURRENT)  # the atomic swap
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        _remove_old_stores(project, keep=final.name)
        return report


def _report_dict(report: BuildReport) -> dict:
    data = asdict(report)
    data.pop("skipped")
    return data


def _compile(project: Project, folder: Path, progress: Progress) -> BuildReport:
    """Parse and validate in memory (Oxigraph is fastest there), write the asserted graphs
    to disk, then reason from memory straight into the store on disk.

    Writing to disk is the slowest stage, so the inferred triples go there once (not into
    memory and then to disk), into the store's default graph: Oxigraph keeps three indexes
    for it against six for a named graph. (Writing in a second thread while validating was
    measured slower on two cores: Oxigraph's bulk loader already uses both.)
    """
    import pyoxigraph as ox

    from kg.compile import load_into, make_union, reason_into, validate_store

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
    asserted = sum(_count(store, g.value) for g in union)
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
    del disk, store
    seconds["reason"] = time.perf_counter() - t

    report = BuildReport(
        store="",
        asserted=asserted,
        inferred=inferred,
        violations=len(violations),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        engines={"validate": validate_engine, "reason": reason_engine},
    )
    sources = {name: rel for name, rel in graphs.items() if name != ONTOLOGY_GRAPH}
    manifest = {
        "format": FORMAT_VERSION,
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
    }
    _write_json(folder / REPORT, {"conforms": not violations, "results": violations})
    _write_json(folder / MANIFEST, manifest)
    return report


def _count(store, graph: str) -> int:
    rows = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(next(iter(rows))[0].value)


def _write_json(path: Path, data: dict) -> None:
    from kg.fileio import write_atomic

    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _remove_leftovers(project: Project) -> None:
    """Temporary folders of builds that were killed (we hold the lock: none is running)."""
    for path in state_dir(project).glob("tmp-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for path in state_dir(project).glob(f"{CURRENT}.tmp-*"):
        path.unlink(missing_ok=True)


def _remove_old_stores(project: Project, keep: str) -> None:
    for path in state_dir(project).glob("store-*"):
        if path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
