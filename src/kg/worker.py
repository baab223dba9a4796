"""Running a query where it can be stopped: a forked child process with limits.

pyoxigraph cannot cancel a query from inside the process: a query is one call into Rust
that returns when it is done, deaf to Ctrl-C, and a query that allocates without bound
ends in a Rust abort that takes the process with it. So kg runs each query (with the
label lookups of its parameters) in a child forked for it, which opens the store
read-only, runs the query and streams what it finds back through a pipe in batches. The
parent only waits and relays, so it can always act:

- past the time limit it kills the child and raises :class:`QueryTimeout` (exit 124);
- on Ctrl-C it kills the child and raises :class:`Interrupted` (exit 130) at once;
- the child runs under ``RLIMIT_AS``; when it dies of it, the parent says the query
  needed more memory than allowed (its stderr, where Rust prints panics, is a temporary
  file the parent reads, so no panic text reaches the user);
- rows travel in batches and the parent yields them as they come, so a large SELECT
  runs in bounded memory on both sides (the pipe applies back-pressure).

The cost, measured on the shipped graph: about 15 ms a query (fork, open the store
read-only, close), see the README's "What kg promises".
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kg.errors import Interrupted, KgError, QueryTimeout, UsageError

Emit = Callable[[object], None]
_HEADER = struct.Struct("!I")
_BATCH = 256


@dataclass(frozen=True)
class Limits:
    """What one query may spend: wall-clock seconds and address space in MiB."""

    timeout: float
    memory_mib: int


class WorkerBug(Exception):
    """The child failed with an exception that is not a :class:`KgError`: a bug in kg.
    The message is one line; :attr:`details` holds the child's traceback (the CLI shows
    it with KG_DEBUG=1)."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


def run_isolated(job: Callable[[Emit], None], limits: Limits) -> Iterator[object]:
    """Run ``job(emit)`` in a forked child; yield every object it emits, in order.

    Raises the child's :class:`KgError` as it was raised there, :class:`QueryTimeout`,
    :class:`Interrupted`, or :class:`UsageError` when the child ran out of memory.
    Stopping the iteration early kills the child.
    """
    import tempfile

    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(job, write_fd, errors.fileno(), limits, parent)
    os.close(write_fd)
    deadline = time.monotonic() + limits.timeout
    reader = _Reader(read_fd)
    done = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QueryTimeout(
                    f"the query ran longer than {limits.timeout:g} s and was stopped. Narrow "
                    "it (a LIMIT, a more selective pattern), or allow more time with "
                    "--timeout SECONDS or 'timeout' under [query] in kg.toml."
                )
            ready, _, _ = select.select([read_fd], [], [], min(left, 1.0))
            if not ready:
                continue
            for message in reader.read():
                if message is _EOF:
                    done = True
                    _raise_death(pid, errors, limits)
                    return
                kind, payload = message
                if kind == "item":
                    yield from payload
                elif kind == "end":
                    done = True
                    return
                elif kind == "error":
                    done = True
                    raise payload
                elif kind == "bug":
                    done = True
                    summary, _, details = payload.partition("\n")
                    raise WorkerBug(summary, details)
    except KeyboardInterrupt:
        raise Interrupted("the query was stopped.") from None
    finally:
        os.close(read_fd)
        if not done:
            _kill(pid)
        else:
            _reap(pid)
        errors.close()


_EOF = object()


class _Reader:
    """Length-prefixed pickles from a pipe, as many as have fully arrived."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = bytearray()

    def read(self) -> Iterator[object]:
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            yield _EOF
            return
        self.buffer += chunk
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + size:
                break
            body = bytes(self.buffer[_HEADER.size : _HEADER.size + size])
            del self.buffer[: _HEADER.size + size]
            yield pickle.loads(body)


def _child(
    job: Callable[[Emit], None], fd: int, errors_fd: int, limits: Limits, parent: int
) -> None:
    """Run *job* with the limits set, send what it emits, and exit without returning."""
    code = 0
    # Garbage the parent left in reference cycles is the parent's: freed here, an object
    # owning native resources (an Oxigraph store, whose threads did not survive the fork)
    # aborts the child. The child lives for one query; reference counting frees the rest.
    gc.disable()
    try:
        _die_with(parent)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches both; die at once
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.dup2(errors_fd, 2)
        out = os.fdopen(fd, "wb", buffering=1 << 16)
        batch: list[object] = []

        def send(message: tuple[str, object]) -> None:
            body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_HEADER.pack(len(body)) + body)

        def emit(item: object) -> None:
            batch.append(item)
            if len(batch) >= _BATCH:
                send(("item", _Batch(batch)))
                batch.clear()
                out.flush()

        try:
            job(emit)
            if batch:
                send(("item", _Batch(batch)))
            send(("end", None))
        except KgError as exc:
            send(("error", exc))
        except MemoryError:
            send(("error", _memory_error(limits)))
        except Exception as exc:  # a bug: carry the traceback to the parent
            import traceback

            text = "".join(traceback.format_exception(exc))
            send(("bug", f"{type(exc).__name__}: {exc}\n{text}"))
        out.flush()
    except BrokenPipeError:
        pass
    except BaseException:
        code = 70
    finally:
        os._exit(code)


class _Batch(list):
    """Items the child grouped to save pipe round trips; the parent unpacks them."""


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (SIGKILL of ``kg`` must not
    leave a query running on its own). Linux only; elsewhere the time-out still holds."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def limit_memory(mib: int) -> None:
    """Let this process map at most *mib* MiB more than it has mapped now.

    Called by the job once the store is open: RocksDB reserves its block cache's address
    space when it opens (an absolute cap of a few hundred MiB makes it abort), and that
    reservation is not what the query spends."""
    import resource

    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        mapped = 0
    limit = mapped + (mib << 20)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _memory_error(limits: Limits) -> UsageError:
    return UsageError(
        f"the query needed more than {limits.memory_mib:,} MiB of memory and was stopped. "
        "Narrow it (a LIMIT, fewer rows to sort or group), or raise 'memory_mib' under "
        "[query] in kg.toml."
    )


def _raise_death(pid: int, errors, limits: Limits) -> None:
    """The child closed the pipe without saying it finished: find out why and say so."""
    _, status = os.waitpid(pid, 0)
    errors.seek(0, os.SEEK_END)
    size = errors.tell()
    errors.seek(max(0, size - 4096))
    tail = errors.read().decode("utf-8", "replace").strip()
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if "memory allocation" in tail or "Cannot allocate" in tail or "mmap" in tail:
        raise _memory_error(limits)
    if signum == signal.SIGINT:
        raise Interrupted("the query was stopped.")
    if signum == signal.SIGABRT and not tail:
        raise _memory_error(limits)
    if signum in (signal.SIGSEGV, signal.SIGBUS):  # the engine's stack: a deeply nested query
        raise UsageError(
            "the SPARQL engine crashed on this query (it ran out of stack, which very deeply "
            "nested groups or expressions cause); write it with less nesting."
        )
    why = f"signal {signum}" if signum else f"exit status {os.WEXITSTATUS(status)}"
    raise WorkerBug(f"the query process ended unexpectedly ({why}).", tail[-2000:])


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
