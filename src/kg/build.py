"""``kg build``: compile a project into an Oxigraph store on disk, once.

The store holds the asserted triples (a named graph per source), the ontology, the OWL
RL closure, and beside it the validation report and a manifest of input hashes. Queries
answer from it and rebuild it only when an input changed (a stat of each input, and a
hash where the stat differs: never a re-parse).

A build never damages the store that is answering: it writes a new store in a temporary
folder and swaps a symlink to it (``os.replace`` is atomic), under a lock so that two
builds never interleave. A build killed half-way leaves only a temporary folder, which
the next build removes; a build of invalid data fails and keeps the last good store.

Reading never waits for writing: :func:`answering_store` takes no lock and writes
nothing when the store is fresh; when an input changed it builds only if it can take the
build lock at once and write ``.kg``, and otherwise answers from the last good store with
a warning (a build is running or stopped; the project is read-only). Any failure of a
build (bad Turtle, an unreadable file, a full disk, invalid data) likewise leaves queries
answering from the last good store, with a warning naming the problem; an export, which
must never pass an older build off as the current one, fails instead. State that is not
as kg left it (``.kg/current`` copied as a folder, a broken link or one leading out of
``.kg``, a junk manifest, an emptied or foreign store folder, missing store files) is
detected and rebuilt, with a one-line notice: see :mod:`kg.state`.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import stat
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.errors import InputError, KgError, StorageError, UsageError, ValidationFailed
from kg.project import CONFIG_NAME, Project
from kg.state import (
    CURRENT,
    FAILED,
    FORMAT_VERSION,
    MANIFEST,
    STATE_DIR,
    current_store,
    discard,
    heal,
    lock,
    read_json,
    read_manifest,
    remove_leftovers,
    remove_old_stores,
    set_aside,
    state_dir,
    store_damage,
    write_json,
)

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
    notices: list[str] = field(default_factory=list)

    def summary(self) -> str:
        # "total" is the wall time when stages overlap (a full build validates while it
        # reasons); older manifests have none, and stages one after another add up
        stages = {k: v for k, v in self.seconds.items() if k != "total"}
        total = self.seconds.get("total", sum(stages.values()))
        stages = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        return (
            f"{self.asserted:,} triples asserted, {self.inferred:,} inferred, "
            f"{self.violations} violation{'s' if self.violations != 1 else ''} "
            f"in {total:.2f} s ({stages})"
        )


# -- staleness ---------------------------------------------------------------------------


def _stat(path: Path) -> tuple[int, int]:
    """Size and the later of mtime and ctime: mtime alone can be set back (``touch -r``,
    ``cp -p``, ``rsync -a``, a restored backup) over changed bytes of the same size, but
    ctime moves on every change and no user can set it. (Recorded as ``mtime_ns``.)"""
    st = path.stat()
    return st.st_size, max(st.st_mtime_ns, st.st_ctime_ns)


def _sha256(path: Path) -> str:
    """The hash of the regular file *path*; ``OSError`` when it cannot be read or is not
    a regular file (opened without blocking: a FIFO put in its place never answers)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
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
        try:
            size, mtime = _stat(path)
            digest = _sha256(path)
        except OSError as exc:
            raise InputError(
                f"cannot read this input ({(exc.strerror or str(exc)).lower()}); fix its "
                "permissions.",
                path=project.relative(path),
            ) from None
        prints[project.relative(path)] = {"size": size, "mtime_ns": mtime, "sha256": digest}
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
        try:
            if size != seen["size"] or _sha256(path) != seen["sha256"]:
                return False
        except OSError:  # unreadable now: a build says so, naming the file
            return False
    return True


# -- building ----------------------------------------------------------------------------


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
    with lock(project):
        return _build_locked(project, allow_invalid=allow_invalid, force=force, progress=progress)


def _build_locked(
    project: Project, *, allow_invalid: bool, force: bool, progress: Progress | None
) -> BuildReport:
    try:
        notices = heal(project)
    except OSError as exc:
        raise _storage_error(project, exc) from None
    current = current_store(project)
    if current is not None and not force:
        manifest = read_manifest(current)
        if is_fresh(project, manifest):
            return BuildReport(**manifest["report"], skipped=True, notices=notices)
    remove_leftovers(project)
    tmp = state_dir(project) / f"tmp-{uuid.uuid4().hex[:12]}"
    final = None
    try:
        try:
            report = _compile(project, tmp, current, force, progress or (lambda *a: None))
        except OSError as exc:
            raise _storage_error(project, exc) from None
        if report.violations and not allow_invalid:
            raise ValidationFailed(
                f"the data violates its shapes ({report.violations} problem(s)); the "
                "store was not replaced. Run 'kg validate' for the report, fix the data, "
                "or build with --allow-invalid."
            )
        final = state_dir(project) / f"store-{time.strftime('%Y%m%d-%H%M%S')}-{tmp.name[4:]}"
        try:
            os.rename(tmp, final)
            report.store = project.relative(final)
            write_json(final / MANIFEST, {**read_manifest(final), "report": _report_dict(report)})
            _check_whole(final)
            link = state_dir(project) / f"{CURRENT}.{tmp.name}"
            os.symlink(final.name, link)
            os.replace(link, state_dir(project) / CURRENT)  # the atomic swap
        except OSError as exc:
            raise _storage_error(project, exc) from None
    except KgError as exc:
        _remember_failure(project, exc)
        if final is not None and current_store(project) != final:
            discard(project, final)
        raise
    finally:
        discard(project, tmp)
    with suppress(OSError):
        set_aside(project, state_dir(project) / FAILED)
    remove_old_stores(project, keep=final.name)
    report.notices = [*notices, *report.notices]
    return report


def _compile(
    project: Project, tmp: Path, current: Path | None, force: bool, progress: Progress
) -> BuildReport:
    """A new store in *tmp*: from the last one when only a few sources changed (see
    :mod:`kg.incremental`), else in full, saying in a notice why not incrementally."""
    from kg.incremental import Unsupported, build_incremental
    from kg.pipeline import compile_store  # it imports this module

    why = None
    if current is not None and not force:
        beside = tmp.with_name(f"{tmp.name}-i")  # the full build must not meet its stores
        try:
            report = build_incremental(project, beside, current, progress)
            os.rename(beside, tmp)
            return report
        except Unsupported as exc:
            why = f"full build: {exc}."
        finally:
            gc.collect()  # its stores closed here, not in a child forked later (a crash)
            discard(project, beside)
    report = compile_store(project, tmp, progress)
    report.notices = [why] if why else []
    return report


def _check_whole(store: Path) -> None:
    """A new store must pass the check every query makes (:func:`kg.state.store_damage`), or
    every query would find it damaged and build again: refuse it here instead."""
    problem = store_damage(store)
    if problem is not None:
        raise StorageError(
            f"the new store failed kg's own check ({problem}); the last good store was "
            "kept. This is likely a bug in kg or a file system that loses writes.",
            path=STATE_DIR,
        )


def _storage_error(project: Project, exc: OSError) -> StorageError:
    where = project.relative(Path(exc.filename)) if getattr(exc, "filename", None) else STATE_DIR
    return StorageError(
        f"the build could not write its store ({exc.strerror or exc}); the last good store "
        "was kept. Free disk space (or lift the file-size limit) and run 'kg build'.",
        path=where,
    )


# -- answering while building ------------------------------------------------------------


@dataclass
class Answering:
    """The store that answers a query, and what the person should be told about it."""

    path: Path
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def answering_store(project: Project, *, wait: float = 0.0, fallback: bool = True) -> Answering:
    """The store to answer from now, rebuilt first when an input changed and kg can.

    Never blocks on a running build when a store exists, and never writes when the store
    is fresh, so a reader without write access to the project can query. When the build
    cannot happen or fails, the last good store answers and a warning says why. With no
    store at all, waits up to *wait* seconds for a running build, then gives up.

    With *fallback* false (an export must not pass old data off as the current one), a
    stale store never answers: a running build is waited for (up to *wait* seconds), and
    a build that fails or cannot be made (a read-only project, a full disk) raises.
    """
    current = current_store(project)
    if current is not None:
        try:
            if is_fresh(project, read_manifest(current)):
                return Answering(current)
        except KgError as exc:  # an input cannot even be listed (an unreadable folder...)
            if not fallback:
                raise
            return Answering(current, warnings=[_fallback_warning(str(exc))])
    failure = _known_failure(project)
    if current is not None and failure is not None and fallback:
        return Answering(current, warnings=[_fallback_warning(failure)])
    deadline = time.monotonic() + wait
    while True:
        failed: KgError | None = None
        try:
            with lock(project, wait=False) as locked:
                if locked:
                    try:
                        report = _build_locked(
                            project, allow_invalid=False, force=False, progress=None
                        )
                    except KgError as exc:  # raised below: not a failure to take the lock
                        failed = exc
                    else:
                        path = current_store(project)
                        assert path is not None
                        notices = list(report.notices)
                        if not report.skipped:
                            notices.append(f"built {report.store}: {report.summary()}")
                        return Answering(path, notices=notices)
        except StorageError as exc:  # the lock cannot be taken: .kg cannot be written
            if current is None:
                raise UsageError(
                    f"{exc} There is no built store to answer from: ask someone who can "
                    "write the project to run 'kg build'."
                ) from None
            if not fallback:
                raise UsageError(
                    f"the inputs changed since the last build and kg cannot rebuild: {exc} "
                    "This command does not answer from an older build."
                ) from None
            return Answering(
                current,
                warnings=[
                    f"the inputs changed but kg cannot rebuild: {exc} Answering from the "
                    "last build."
                ],
            )
        if failed is not None:
            current = current_store(project)
            if current is None or not fallback:
                raise failed
            return Answering(current, warnings=[_fallback_warning(str(failed))])
        if current is not None and fallback:
            return Answering(
                current,
                warnings=[
                    "a build is running (or stopped) and holds the lock; answering from "
                    "the last good build."
                ],
            )
        if time.monotonic() >= deadline:
            if current is not None:
                raise UsageError(
                    f"the inputs changed since the last build and a build holds the lock "
                    f"(running, or stopped with Ctrl-Z); waited {wait:g} s for it. This "
                    "command does not answer from an older build: wait for the build to "
                    "finish, or stop it, then try again."
                )
            raise UsageError(
                "there is no built store yet and another build holds the lock (running, or "
                "stopped with Ctrl-Z); wait for it to finish, or stop it, then try again."
            )
        time.sleep(0.1)


def _fallback_warning(problem: str) -> str:
    return f"{problem.rstrip('.')}. Answering from the last good build."


def _stat_print(project: Project) -> dict[str, list[int]]:
    prints = {}
    for path in input_files(project):
        try:
            prints[project.relative(path)] = list(_stat(path))
        except OSError:
            prints[project.relative(path)] = [-1, -1]
    return prints


def _remember_failure(project: Project, exc: KgError) -> None:
    """Record a build's failure for these exact inputs, so the next query warns at once
    instead of building again (only failures that the same inputs would repeat)."""
    if isinstance(exc, StorageError) or not isinstance(exc, InputError | ValidationFailed):
        return
    path = state_dir(project) / FAILED
    with suppress(OSError, KgError):
        set_aside(project, path)  # whatever is there (a folder?) is not ours to keep
        write_json(path, {"inputs": _stat_print(project), "error": str(exc)})


def _known_failure(project: Project) -> str | None:
    """The error of the last failed build if the inputs are as they were then; anything
    in ``failed.json`` that is not as kg writes it counts as no failure (a build runs)."""
    try:
        failed = read_json(state_dir(project) / FAILED)
        if (
            isinstance(failed, dict)
            and isinstance(failed.get("error"), str)
            and failed.get("inputs") == _stat_print(project)
        ):
            return failed["error"]
    except (OSError, ValueError, KgError):
        pass
    return None


def _report_dict(report: BuildReport) -> dict:
    data = asdict(report)
    data.pop("skipped")
    data.pop("notices")
    return data
