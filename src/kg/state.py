"""kg's own state in ``.kg``: which store answers, whether it is whole, and the lock.

``.kg/current`` is a symlink to the store folder that answers (``store-<time>-<id>``,
holding the Oxigraph store, ``manifest.json`` and ``report.json``); builds swap it
atomically under ``.kg/lock``. Everything here treats that state as kg's to keep: what
is not as kg left it (the link copied as a folder or a file, a broken link, a junk
manifest, an emptied or foreign store, the lock as a folder) is detected and healed,
never a crash. Readers take no lock here, only a shared ``flock`` on the manifest of the
store they read, which is all a builder needs to know before deleting an old store.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kg.errors import StorageError
from kg.project import Project

STATE_DIR = ".kg"
CURRENT = "current"
MANIFEST = "manifest.json"
REPORT = "report.json"
FAILED = "failed.json"


def state_dir(project: Project) -> Path:
    return project.root / STATE_DIR


def current_store(project: Project) -> Path | None:
    """The folder of the store that answers now, or None before the first build or when
    the state in ``.kg`` is damaged (see :func:`store_problem`)."""
    path, problem = _current(project)
    return None if problem else path


def store_problem(project: Project) -> str | None:
    """Why the current store cannot answer, when ``.kg`` holds one that is damaged."""
    path, problem = _current(project)
    return problem if path is not None or problem else None


def _current(project: Project) -> tuple[Path | None, str | None]:
    link = state_dir(project) / CURRENT
    if not os.path.lexists(link):
        return None, None
    if not link.is_symlink():
        kind = "a folder" if link.is_dir() else "a file"
        return (
            link,
            f"{STATE_DIR}/{CURRENT} is {kind}, not a link (a copy that dereferenced links?)",
        )
    target = os.readlink(link)
    path = state_dir(project) / target
    if "/" in target or not path.is_dir():
        return path, f"{STATE_DIR}/{CURRENT} points to a store that is not there"
    return path, _damage(path)


def _damage(path: Path) -> str | None:
    """What is wrong with the store folder *path*, or None when it looks whole."""
    try:
        manifest = read_manifest(path)
        graphs = manifest["graphs"]
        assert isinstance(manifest["inputs"], dict) and isinstance(manifest["report"], dict)
        assert isinstance(graphs["named"], list) and isinstance(graphs["union"], list)
        identity = (path / "store" / "IDENTITY").read_text(encoding="utf-8").strip()
    except FileNotFoundError as exc:
        return f"its {Path(exc.filename).name} is missing"
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return "its manifest is unreadable"
    if not (path / "store" / "CURRENT").is_file():
        return "its store folder is empty"
    if manifest.get("identity") != identity:
        return "its store folder holds another store than the one built"
    if not (path / REPORT).is_file():
        return f"its {REPORT} is missing"
    return None


def read_manifest(store: Path) -> dict:
    manifest = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("not a manifest")
    return manifest


@contextmanager
def lock(project: Project, *, wait: bool = True) -> Iterator[bool]:
    """One build at a time per project; a second one waits, then finds the store fresh.

    With *wait* false, yields False at once when another build holds the lock (running,
    or stopped with Ctrl-Z) instead of waiting. Raises :class:`StorageError` when ``.kg``
    cannot be written (a read-only project)."""
    folder = state_dir(project)
    lock = folder / "lock"
    try:
        folder.mkdir(exist_ok=True)
        if lock.is_dir() and not lock.is_symlink():  # not as kg left it: heal
            shutil.rmtree(lock)
        handle = lock.open("a")
    except OSError as exc:
        raise StorageError(
            f"cannot write kg's state folder ({exc.strerror}); kg build needs write access "
            "to the project.",
            path=STATE_DIR,
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def heal(project: Project) -> list[str]:
    """Set right the state in ``.kg`` that kg did not leave so (call with the lock held);
    return one-line notices of what was done."""
    path, problem = _current(project)
    if problem is None:
        return []
    link = state_dir(project) / CURRENT
    notices = []
    if not link.is_symlink() and link.is_dir() and _damage(link) is None:
        adopted = state_dir(project) / f"store-{time.strftime('%Y%m%d-%H%M%S')}-adopted"
        os.rename(link, adopted)
        os.symlink(adopted.name, link)
        return [f"{problem}; made it a store folder and linked it again."]
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link, ignore_errors=True)
    if path is not None and path != link and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    notices.append(f"the store in {STATE_DIR} was damaged ({problem}); set it aside and rebuilt.")
    return notices


def write_json(path: Path, data: dict) -> None:
    from kg.fileio import write_atomic

    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def remove_leftovers(project: Project) -> None:
    """Temporary folders of builds that were killed (we hold the lock: none is running)."""
    for path in state_dir(project).glob("tmp-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for path in state_dir(project).glob(f"{CURRENT}.tmp-*"):
        path.unlink(missing_ok=True)


def remove_old_stores(project: Project, keep: str) -> None:
    """Delete stores no longer current, but not one a query is reading (it holds a shared
    lock on the store's manifest: see :func:`reading`); a later build removes it."""
    for path in state_dir(project).glob("store-*"):
        if path.name == keep:
            continue
        try:
            with (path / MANIFEST).open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(path, ignore_errors=True)
        except BlockingIOError:
            continue
        except OSError:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Hold the store folder *path* against removal while a query reads it (a shared
    lock on its manifest, taken on a read-only descriptor: no write access needed)."""
    with (path / MANIFEST).open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield
