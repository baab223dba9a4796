"""Writing files as a Unix tool writes them.

Two entry points:

- :func:`write_atomic` for kg's own state files (manifests, reports): a temporary file
  beside the target, fsync, rename. A failure never leaves a half-written file behind.
- :func:`write_output` for what a person names with ``-o PATH``. The path may be ``-``,
  a regular file, a symlink to one, a FIFO, a device or ``/dev/stdout``; renaming a
  temporary file over *any* of those (as ``write_atomic`` does) replaces links, starves
  FIFO readers and, as root, turns ``/dev/full`` into a regular file. So regular files
  (followed through symlinks) are replaced atomically, everything else is opened and
  written to, and what cannot be written is refused before a byte is written.

New files get ``0o666`` minus the umask (the kernel applies it: the temporary file is
created with ``0o666``, never ``0o600``); a replaced file keeps its mode and, where the
process may, its owner.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from kg.errors import StorageError, UsageError, printable

Text = str | Iterable[str]

# Paths that name one of the process's own streams: written through sys.stdout/stderr,
# so that appending redirections (>>) and click's CliRunner see the text where expected.
_STDOUT = frozenset({"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})
_STDERR = frozenset({"/dev/stderr", "/dev/fd/2", "/proc/self/fd/2"})
# Links under these point at open files of some process ("magic" links): their targets
# are not paths to rename over (a deleted file reads as "/tmp/x (deleted)").
_MAGIC = ("/proc/", "/dev/fd/", "/dev/stdin", "/dev/stdout", "/dev/stderr")
_MAX_HOPS = 40  # as the kernel's MAXSYMLINKS
_CHUNK = 1 << 16


def write_atomic(path: Path, text: Text) -> None:
    """Write *text* to a temporary file beside *path*, then rename it over *path*.

    For kg's own state: the folder is created if missing and *path* is replaced as it
    is (a symlink there would be replaced, not followed). Errors are ``OSError``s, as
    callers of this function expect.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        old = None
    _replace(str(path), _chunks(text), old if old and stat.S_ISREG(old.st_mode) else None)


def write_output(path: Path | str | None, text: Text) -> str:
    """Write *text* (a string or an iterable of string chunks, encoded as UTF-8) where
    *path* says, and return what to tell the user: ``"wrote PATH"`` for a file, ``""``
    for standard output, a FIFO or a device (nothing was created there to mention).

    Raises :class:`UsageError` for a path that cannot be a target (a folder, a missing
    folder, a read-only file, a dangling link into a missing folder) before anything is
    written, and :class:`StorageError` when writing fails (a full disk, a file-size
    limit, a read-only file system): a regular file is then left as it was.
    """
    chunks = _chunks(text)
    name = "-" if path is None else os.fspath(path)
    if name in _STDOUT:
        _write_stream(sys.stdout, chunks, "standard output")
        return ""
    if name in _STDERR:
        _write_stream(sys.stderr, chunks, "standard error")
        return ""
    if not name:
        raise UsageError("the output path is empty; give a file name, or - for standard output.")
    if name.endswith("/") and not os.path.isdir(name):
        raise UsageError(f"{_p(name)} ends with '/', so it names a folder; give a file name.")

    target, magic = _follow(name)
    try:
        st = os.stat(name)  # follows every link, magic ones included
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        folder = os.path.dirname(target) or "."
        raise UsageError(
            f"cannot write {_p(name)}: {_p(folder)} is not a folder; choose another path."
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot write here: {_reason(exc)}.", path=_p(name)) from None

    if st is None:
        _check_new(name, target)
        _write_replacing(name, target, chunks, None)
        return f"wrote {printable(name)}"
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise UsageError(
            f"{_p(name)} is a folder; give the path of a file to write (or - for standard output)."
        )
    if stat.S_ISREG(mode) and not magic:
        _check_writable(name, target, st)
        _write_replacing(name, target, chunks, st)
        return f"wrote {printable(name)}"
    if stat.S_ISBLK(mode):
        raise UsageError(f"{_p(name)} is a block device; kg writes only files, FIFOs and streams.")
    if stat.S_ISSOCK(mode):
        raise UsageError(f"{_p(name)} is a socket, which cannot be opened; write to a file.")
    # A FIFO, a character device (/dev/null, /dev/full, a terminal), or a file reached
    # through a magic link (/dev/fd/3): open it as the shell's '>' would, never rename.
    _write_in_place(name, chunks, truncate=stat.S_ISREG(mode))
    return f"wrote {printable(name)}" if stat.S_ISREG(mode) else ""


def _chunks(text: Text) -> Iterator[bytes]:
    """*text* as UTF-8 byte chunks, a single string coming in slices so that a huge one
    is not copied whole once more by the encoder."""
    if isinstance(text, str):
        for start in range(0, len(text), _CHUNK) or (0,):
            yield text[start : start + _CHUNK].encode("utf-8")
        return
    for chunk in text:
        yield chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")


def _p(path: str) -> str:
    """A path as it appears in a message: control characters escaped, nothing cut."""
    return printable(path)


def _reason(exc: OSError) -> str:
    """The system's words for *exc*, without the path Python appends to them."""
    if exc.errno == errno.EFBIG:
        return "the file would exceed the size limit (ulimit -f)"
    return exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__


def _follow(name: str) -> tuple[str, bool]:
    """The path *name* finally designates, following a chain of symlinks in its last
    component (``os.path.realpath`` then resolves the folders), and whether the chain
    passes through a magic link (``/dev/stdout``, ``/proc/self/fd/N``), whose target is
    an open file and not a path to rename over."""
    current = name
    magic = False
    for _ in range(_MAX_HOPS):
        magic = magic or os.path.abspath(current).startswith(_MAGIC)
        if not os.path.islink(current):
            return os.path.realpath(current), magic
        link = os.readlink(current)
        current = os.path.join(os.path.dirname(current), link)
    raise UsageError(f"{_p(name)} is a loop of symlinks; fix the links or write elsewhere.")


def _check_new(name: str, target: str) -> None:
    """Refuse a new file whose folder is missing (never created: a typo in ``-o`` should
    not leave folders behind) or cannot be written in."""
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        if os.path.islink(name):
            raise UsageError(
                f"{_p(name)} is a symlink to {_p(target)}, whose folder does not exist; "
                "create the folder or fix the link."
            )
        raise UsageError(
            f"cannot write {_p(name)}: the folder {_p(os.path.dirname(name) or '.')} does "
            "not exist; create it first or choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot create {_p(name)}: no permission to write in {_p(folder)}; "
            "choose another folder."
        )


def _check_writable(name: str, target: str, st: os.stat_result) -> None:
    """Refuse a read-only file, as ``>`` in a shell would. ``access()`` answers yes to
    root for everything, so a file with no write bit at all is refused too: its owner
    said it is not to be changed."""
    if not os.access(target, os.W_OK) or not st.st_mode & 0o222:
        raise UsageError(
            f"{_p(name)} is read-only; make it writable (chmod u+w) or choose another path."
        )
    folder = os.path.dirname(target) or "."
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot replace {_p(name)}: no permission to write in its folder {_p(folder)}, "
            "where the new version is prepared; choose another path."
        )


def _write_replacing(
    name: str, target: str, chunks: Iterator[bytes], old: os.stat_result | None
) -> None:
    """:func:`_replace` with failures told as :class:`StorageError` naming *name*."""
    try:
        _replace(target, chunks, old)
    except OSError as exc:
        kept = " (the old file is unchanged)" if old is not None else ""
        raise StorageError(f"writing failed: {_reason(exc)}{kept}.", path=_p(name)) from None


def _replace(target: str, chunks: Iterator[bytes], old: os.stat_result | None) -> None:
    """Write *chunks* to a new file beside *target*, make it durable, rename it over
    *target*. With *old* (the stat of the file replaced), keep its mode and owner."""
    folder = os.path.dirname(target) or "."
    fd, tmp = _create_temporary(folder, os.path.basename(target))
    try:
        with os.fdopen(fd, "wb", buffering=_CHUNK) as handle:
            if old is not None:
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    # root, or a member of the file's group: keep the owner
                    with contextlib.suppress(OSError):
                        os.fchown(handle.fileno(), old.st_uid, old.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))  # after chown
            for chunk in chunks:
                _write_all(handle, chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new, hidden file in *folder*, opened for writing. Created with mode ``0o666``
    so the kernel applies the umask (``tempfile.mkstemp`` would force ``0o600``)."""
    stem = name[:200]  # the random part and suffix must still fit NAME_MAX
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{stem}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", folder)


def _sync_folder(folder: str) -> None:
    """Make the rename durable; some file systems cannot fsync a folder, and the data
    is already safe, so a failure here is not one to report."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_in_place(name: str, chunks: Iterator[bytes], *, truncate: bool) -> None:
    """Open *name* (a FIFO, a device, a file behind a magic link) and write to it.
    No ``O_CREAT``: if it vanished since it was looked at, nothing is created in its
    place (as root in /dev, that would be a regular file where a device was)."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if truncate:
        flags |= os.O_TRUNC
    try:
        fd = os.open(name, flags)  # a FIFO blocks here until it has a reader, as with '>'
        with os.fdopen(fd, "wb", buffering=_CHUNK) as handle:
            for chunk in chunks:
                _write_all(handle, chunk)
            handle.flush()
    except BrokenPipeError:
        raise StorageError(
            "writing failed: its reader closed it before the end.", path=_p(name)
        ) from None
    except OSError as exc:
        raise StorageError(f"writing failed: {_reason(exc)}.", path=_p(name)) from None


def _write_stream(stream: IO[str], chunks: Iterator[bytes], what: str) -> None:
    """Write UTF-8 *chunks* to *stream* (through its binary buffer when it has one, so
    the encoding is UTF-8 whatever the locale). ``BrokenPipeError`` passes through: a
    reader that leaves (``kg export | head``) is not an error, and the CLI says so."""
    binary: IO[bytes] | None = getattr(stream, "buffer", None)
    try:
        stream.flush()  # what was printed before comes first
        for chunk in chunks:
            if binary is not None:
                _write_all(binary, chunk)
            else:
                stream.write(chunk.decode("utf-8"))
        (binary or stream).flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _discard(stream)
        raise StorageError(f"writing failed: {_reason(exc)}.", path=what) from None


def _write_all(binary: IO[bytes], chunk: bytes) -> None:
    """Write all of *chunk*: a buffered writer given more than its buffer passes it to
    the file in one call and returns the short count the kernel gave (at a file-size
    limit, say) without an error; the next call then fails with the reason."""
    view = memoryview(chunk)
    while view:
        written = binary.write(view)
        if written is None or written <= 0:
            raise OSError(errno.EIO, "the output accepted no more data")
        view = view[written:]


def _discard(stream: IO[str]) -> None:
    """After a failed write to a real standard stream (``kg export > /dev/full``), point
    its descriptor at /dev/null so that Python's final flush of the unwritten buffer
    does not fail a second time with a traceback at exit."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real descriptor (click's CliRunner): nothing is flushed at exit
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass
