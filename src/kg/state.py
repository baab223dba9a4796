"""kg's own state in ``.kg``: which store answers, whether it is whole, and the lock.

``.kg/current`` is a symlink to the store folder that answers (``store-<time>-<id>``,
holding the Oxigraph store, ``manifest.json`` and ``report.json``); builds swap it
atomically under ``.kg/lock``. Everything here treats that state as kg's to keep: what
is not as kg left it (the link copied as a folder or a file, a broken link or one that
leads out of ``.kg``, a manifest that is junk of any shape, a store folder emptied,
foreign, or missing files, the lock or ``.kg`` itself as something else than kg made
them) is detected and healed, never a crash. Readers take no lock here, only a shared
``flock`` on the manifest of the store they read, which is all a builder needs to know
before deleting an old store.

What kg deletes is only ever what it created: the folders directly in ``.kg`` named
``store-*`` and ``tmp-*`` (see :func:`discard`), never following a symlink. A link that
leads elsewhere is removed, not what it points to: ``ln -s ../data .kg/current`` must
not cost anyone their data.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from kg.errors import InputError, StorageError, shown
from kg.project import Project

STATE_DIR = ".kg"
CURRENT = "current"
LOCK = "lock"
MANIFEST = "manifest.json"
REPORT = "report.json"
FAILED = "failed.json"
#: The layout of a store folder and its manifest; a store of another version is rebuilt.
#: 5: the manifest records the store's files and their sizes.
FORMAT_VERSION = 5
#: Names of what kg creates directly in ``.kg``, and so may delete.
OWN_PREFIXES = ("store-", "tmp-")
#: The files an Oxigraph (RocksDB) store cannot open or answer without, recorded with
#: their sizes at build time. Not LOG* (RocksDB's diary), LOCK or the write-ahead *.log,
#: which a store may rewrite or lack.
_STORE_FILE = re.compile(r"(?:[0-9]+\.sst|MANIFEST-[0-9]+|CURRENT|OPTIONS-[0-9]+|IDENTITY)\Z")
#: What kg's own IRIs look like: http(s), none of the characters an IRI may not hold
#: (RFC 3987), no lone surrogates. Oxigraph has the last word (see :func:`_is_iri`).
_IRI = re.compile(r"https?://[^\x00-\x20\x7f-\x9f<>\"{}|^`\\\ud800-\udfff]+\Z")
#: The fields of a build report in the manifest (``kg.build.BuildReport`` without the
#: run-time ``skipped`` and ``notices``; a test keeps the two in step) and their types.
REPORT_FIELDS: dict[str, type] = {
    "store": str,
    "asserted": int,
    "inferred": int,
    "violations": int,
    "seconds": dict,
    "engines": dict,
}
_OTHER_VERSION = "it was built by another version of kg"

#: One-line notices of what :func:`lock` set right (``.kg`` or its lock file), by state
#: folder, handed to the caller by the next :func:`heal` of that project.
_pending: dict[Path, list[str]] = {}


def state_dir(project: Project) -> Path:
    return project.root / STATE_DIR


def current_store(project: Project) -> Path | None:
    """The folder of the store that answers now, or None before the first build or when
    the state in ``.kg`` is damaged (see :func:`store_problem`)."""
    path, problem = _current(project)
    return None if problem else path


def store_problem(project: Project) -> str | None:
    """Why the current store cannot answer, when ``.kg`` holds one that is damaged."""
    return _current(project)[1]


def _current(project: Project) -> tuple[Path | None, str | None]:
    link = state_dir(project) / CURRENT
    try:
        st = os.lstat(link)
    except OSError:  # none yet (or .kg is not a folder: the lock heals that)
        return None, None
    if not stat.S_ISLNK(st.st_mode):
        return (
            link,
            f"{STATE_DIR}/{CURRENT} is {_kind(st)}, not a link (a copy that dereferenced links?)",
        )
    try:
        target = os.readlink(link)
    except OSError:
        return None, f"{STATE_DIR}/{CURRENT} points to a store that is not there"
    if "/" in target or not target.startswith("store-"):
        return None, f"{STATE_DIR}/{CURRENT} points to {shown(target)}, not to a store folder"
    path = state_dir(project) / target
    try:
        is_folder = stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        is_folder = False
    if not is_folder:
        return path, f"{STATE_DIR}/{CURRENT} points to a store that is not there"
    return path, _damage(path)


def _kind(st: os.stat_result) -> str:
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    if stat.S_ISLNK(st.st_mode):
        return "a symlink"
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "a device"
    return "a file"


# -- is a store whole? ---------------------------------------------------------------------


class _Junk(Exception):
    """A manifest that is not as kg writes it; the message says which part."""


def _damage(path: Path) -> str | None:
    """What is wrong with the store folder *path*, or None when it looks whole.

    Checks every field of the manifest that kg reads (so nothing later trips over junk
    that happens to be valid JSON) and that the store's files are there with the sizes
    they had when built (a listing and a stat each: cheap enough for every query, and
    what keeps a deleted or truncated ``.sst`` from reaching RocksDB)."""
    try:
        manifest = _load_manifest(path)
    except FileNotFoundError:
        return f"its {MANIFEST} is missing"
    except _Junk as exc:
        return str(exc)
    except (OSError, ValueError):
        return "its manifest is unreadable"
    store = path / "store"
    try:
        names = set(os.listdir(store))
    except OSError:
        return "its store folder is missing"
    if "CURRENT" not in names:
        return "its store folder is empty"
    try:
        identity = _read_bytes(store / "IDENTITY").decode("utf-8").strip()
    except (OSError, ValueError):
        return "its store has no readable IDENTITY"
    if manifest["identity"] != identity:
        return "its store folder holds another store than the one built"
    for name, size in manifest["files"].items():
        try:
            st = os.lstat(store / name)
        except OSError:
            return f"its store file {name} is missing"
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return f"its store file {name} is not the one built (truncated or replaced)"
    try:
        if not stat.S_ISREG(os.lstat(path / REPORT).st_mode):
            return f"its {REPORT} is not a file"
    except OSError:
        return f"its {REPORT} is missing"
    return None


def store_damage(path: Path) -> str | None:
    """What is wrong with the store folder *path*, or None when it looks whole (the
    check :func:`current_store` makes)."""
    return _damage(path)


def read_manifest(store: Path) -> dict:
    """The manifest of the store folder *store*, checked to be as kg writes it.

    Raises :class:`InputError` when it is missing or junk (a store damaged since it was
    found whole): the command stops with exit 2 and the next one heals the store."""
    try:
        return _load_manifest(store)
    except (OSError, ValueError, _Junk) as exc:
        why = "its manifest is unreadable"
        if isinstance(exc, FileNotFoundError):
            why = f"its {MANIFEST} is missing"
        elif isinstance(exc, _Junk):
            why = str(exc)
        raise InputError(
            f"kg's store is damaged ({why}); run the command again, or 'kg build', to rebuild it.",
            path=STATE_DIR,
        ) from None


def _load_manifest(store: Path) -> dict:
    manifest = json.loads(_read_bytes(store / MANIFEST).decode("utf-8"))
    _check_manifest(manifest)
    return manifest


def _check_manifest(manifest: Any) -> None:
    """Raise :class:`_Junk` unless *manifest* has the shape kg writes: the types of every
    field any part of kg reads."""

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise _Junk(f"its manifest has no valid {what}")

    if not isinstance(manifest, dict):
        raise _Junk("its manifest is not a JSON object")
    fmt = manifest.get("format")
    need(_is_int(fmt), "format")
    if fmt != FORMAT_VERSION:
        raise _Junk(_OTHER_VERSION)
    need(isinstance(manifest.get("identity"), str), "identity")
    inputs = manifest.get("inputs")
    need(isinstance(inputs, dict), "inputs")
    for name, seen in inputs.items():
        need(isinstance(name, str) and isinstance(seen, dict), "inputs")
        need(
            _is_int(seen.get("size"))
            and _is_int(seen.get("mtime_ns"))
            and isinstance(seen.get("sha256"), str),
            "inputs",
        )
    sources = manifest.get("sources")
    need(isinstance(sources, dict), "sources")
    need(all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()), "sources")
    graphs = manifest.get("graphs")
    need(isinstance(graphs, dict), "graphs")
    for key in ("named", "union"):
        names = graphs.get(key)
        need(isinstance(names, list) and all(map(_is_iri, names)), f"graphs.{key}")
    need(_is_iri(graphs.get("inferred")), "graphs.inferred")
    report = manifest.get("report")
    need(isinstance(report, dict) and set(report) == set(REPORT_FIELDS), "report")
    for key, kind in REPORT_FIELDS.items():
        value = report[key]
        need(isinstance(value, kind) and not isinstance(value, bool), f"report.{key}")
    need(
        all(isinstance(k, str) and _is_number(v) for k, v in report["seconds"].items()),
        "report.seconds",
    )
    need(
        all(isinstance(k, str) and isinstance(v, str) for k, v in report["engines"].items()),
        "report.engines",
    )
    files = manifest.get("files")
    need(isinstance(files, dict), "files")
    need(
        all(isinstance(k, str) and _STORE_FILE.match(k) and _is_int(v) for k, v in files.items()),
        "files",
    )
    need(
        {"CURRENT", "IDENTITY"} <= set(files) and any(k.startswith("MANIFEST-") for k in files),
        "files",
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_iri(value: Any) -> bool:
    """Whether *value* is an IRI kg could have written, and Oxigraph takes."""
    if not isinstance(value, str) or not _IRI.match(value):
        return False
    import pyoxigraph as ox

    try:
        ox.NamedNode(value)
    except (ValueError, TypeError):
        return False
    return True


def store_files(folder: Path) -> dict[str, int]:
    """The files of the Oxigraph store in *folder* that it needs, with their sizes: what
    :func:`_damage` later finds again (record it once the store is closed)."""
    return {
        entry.name: entry.stat(follow_symlinks=False).st_size
        for entry in sorted(os.scandir(folder), key=lambda e: e.name)
        if _STORE_FILE.match(entry.name) and entry.is_file(follow_symlinks=False)
    }


# -- reading and writing kg's files ----------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The content of the regular file *path*: never waits on a FIFO put there, never
    follows a symlink (kg writes none), never reads a folder or a device."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return handle.read()


def read_json(path: Path) -> Any:
    """A JSON file kg wrote in ``.kg`` (any JSON value: check its shape). Raises
    ``OSError`` or ``ValueError`` when it is missing, not a file, or not JSON."""
    return json.loads(_read_bytes(path).decode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Write *data* for kg to read back. ASCII only: text that came from the file system
    (a file name with a byte that is not UTF-8, which Python holds as a lone surrogate)
    is written as an escape, so writing cannot fail on it and reads back equal."""
    from kg.fileio import write_atomic

    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=True) + "\n")


# -- deleting only what kg made ------------------------------------------------------------


def discard(project: Project, path: Path) -> None:
    """Delete *path* if it is something kg created in ``.kg`` (a direct child named
    ``store-*`` or ``tmp-*``), never following a symlink: a link there is removed, not
    what it points to. Anything else is left alone; errors are ignored (a later build
    tries again)."""
    folder = state_dir(project)
    if path.parent != folder or not path.name.startswith(OWN_PREFIXES):
        return
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        with suppress(OSError):
            os.unlink(path)
        return
    if Path(os.path.realpath(path)).parent != Path(os.path.realpath(folder)):
        return  # cannot happen for a real folder in .kg: but never rmtree elsewhere
    shutil.rmtree(path, ignore_errors=True)  # does not follow links inside


def set_aside(project: Project, path: Path) -> None:
    """Remove whatever is at *path* in ``.kg`` (one of kg's own names): a folder is
    renamed to a ``tmp-*`` name and discarded, anything else (a file, a FIFO, a link)
    unlinked. Raises ``OSError`` when that fails, except when nothing is there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        aside = state_dir(project) / f"tmp-{uuid.uuid4().hex[:12]}"
        os.rename(path, aside)
        discard(project, aside)
    else:
        with suppress(FileNotFoundError):
            os.unlink(path)


# -- the lock ------------------------------------------------------------------------------


@contextmanager
def lock(project: Project, *, wait: bool = True) -> Iterator[bool]:
    """One build at a time per project; a second one waits, then finds the store fresh.

    With *wait* false, yields False at once when another build holds the lock (running,
    or stopped with Ctrl-Z) instead of waiting. Raises :class:`StorageError` when ``.kg``
    cannot be written (a read-only project), :class:`InputError` when ``.kg`` is a link to
    something that is not a folder (someone's choice, not kg's to undo). A ``.kg`` that
    is a file, or a lock that is not a file (a folder, a FIFO, a link), is replaced
    first, with a notice for :func:`heal` to hand on."""
    try:
        _make_state_dir(project)
        fd = _open_lock(project)
    except OSError as exc:
        raise StorageError(
            f"cannot write kg's state folder ({exc.strerror or exc}); kg build needs write "
            "access to the project.",
            path=STATE_DIR,
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _make_state_dir(project: Project) -> None:
    folder = state_dir(project)
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        with suppress(FileExistsError):
            folder.mkdir()
        return
    if stat.S_ISDIR(st.st_mode):
        return
    if stat.S_ISLNK(st.st_mode):
        if folder.is_dir():
            return  # kg's state kept elsewhere, on purpose
        raise InputError(  # not a StorageError: the project may well be writable
            f"kg's state folder is a symlink to {shown(os.readlink(folder))}, which is not "
            "a folder; point it at a folder, or remove it and kg makes its own.",
            path=STATE_DIR,
        )
    os.unlink(folder)  # a file (or FIFO...) where kg keeps its state: nothing of value
    with suppress(FileExistsError):
        folder.mkdir()
    _pending.setdefault(folder, []).append(
        f"{STATE_DIR} was {_kind(st)}, not kg's state folder; replaced it."
    )


def _open_lock(project: Project) -> int:
    """A descriptor on ``.kg/lock``, a regular file, created if missing. Opened without
    blocking (a FIFO put there would wait for a reader forever) or following links."""
    path = state_dir(project) / LOCK
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    for _ in range(5):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            set_aside(project, path)
            _pending.setdefault(path.parent, []).append(
                f"{STATE_DIR}/{LOCK} was {_kind(st)}, not a file; replaced it."
            )
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                continue  # something odd appeared since: look again
            raise
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        os.close(fd)
    raise OSError(errno.EBUSY, f"{STATE_DIR}/{LOCK} keeps being replaced")


# -- healing and cleaning ------------------------------------------------------------------


def heal(project: Project) -> list[str]:
    """Set right the state in ``.kg`` that kg did not leave so (call with the lock held);
    return one-line notices of what was done.

    Only ``.kg/current`` itself is changed here: a damaged store it pointed to is left
    for :func:`remove_old_stores` (after the next good build, and not while a query reads
    it), and a link pointing anywhere but to a store folder in ``.kg`` is simply removed.
    """
    notices = _pending.pop(state_dir(project), [])
    problem = store_problem(project)
    if problem is None:
        return notices
    link = state_dir(project) / CURRENT
    try:
        is_folder = stat.S_ISDIR(os.lstat(link).st_mode)
    except OSError:
        is_folder = False
    if is_folder and _damage(link) is None:
        adopted = f"store-{time.strftime('%Y%m%d-%H%M%S')}-adopted-{uuid.uuid4().hex[:6]}"
        os.rename(link, state_dir(project) / adopted)
        os.symlink(adopted, link)
        return [*notices, f"{problem}; made it a store folder and linked it again."]
    set_aside(project, link)
    if problem == _OTHER_VERSION:
        notices.append(f"the store in {STATE_DIR} was built by another version of kg; rebuilt.")
    else:
        notices.append(
            f"the store in {STATE_DIR} was damaged ({problem}); set it aside and rebuilt."
        )
    return notices


def remove_leftovers(project: Project) -> None:
    """Temporary folders of builds that were killed (we hold the lock: none is running),
    and links of a swap that did not happen."""
    folder = state_dir(project)
    for path in folder.glob("tmp-*"):
        discard(project, path)
    for path in folder.glob(f"{CURRENT}.tmp-*"):
        with suppress(OSError):
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)


def remove_old_stores(project: Project, keep: str) -> None:
    """Delete stores no longer current, but not one a query is reading (it holds a shared
    lock on the store's manifest: see :func:`hold`); a later build removes it."""
    for path in state_dir(project).glob("store-*"):
        if path.name == keep:
            continue
        try:
            fd = os.open(
                path / MANIFEST, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
            )
        except OSError:  # no manifest, or not a folder: nothing reads it
            discard(project, path)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            discard(project, path)
        except BlockingIOError:
            continue
        except OSError:
            discard(project, path)
        finally:
            os.close(fd)


def hold(path: Path) -> BinaryIO | None:
    """Hold the store folder *path* against removal until the returned handle is closed
    (or the process ends): a shared lock on its manifest, taken on a read-only descriptor,
    so no write access is needed. None when the store is gone by the time the lock is
    held (a build removed it between finding it and locking it): look again.

    A builder deletes an old store only while it holds an exclusive lock on the manifest
    (see :func:`remove_old_stores`), so once this returns a handle the folder stays."""
    try:
        fd = os.open(path / MANIFEST, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    handle = os.fdopen(fd, "rb")
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
        held, there = os.fstat(fd), os.stat(path / MANIFEST, follow_symlinks=False)
        if (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino):
            return handle
    except OSError:
        pass
    handle.close()
    return None


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Hold the store folder *path* against removal while a query reads it (see
    :func:`hold`); raises :class:`StorageError` when it is gone already."""
    handle = hold(path)
    if handle is None:
        raise StorageError(
            "the store was removed before it could be read (a build replaced it); run the "
            "command again.",
            path=STATE_DIR,
        )
    with handle:
        yield
