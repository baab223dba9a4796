"""Writing a build's store on disk: in bounded memory, beside the work that feeds it.

Why: Oxigraph's bulk loader is the fastest way to write a store, but it holds a whole batch
(a million quads) per thread in memory: 1.6 GiB for a 1M-triple build, the peak of the
build. Fed in chunks of a few tens of MiB of N-Quads, one call after another, it writes as
fast and holds a tenth of that. It runs on a thread of its own (it releases the GIL), so the
asserted graphs go to disk while the main thread validates and reasons.

Oxigraph names the blank nodes of each call afresh, so a blank node must be written in one
call with every other line that mentions it: lines with ``_:`` are held back and written
together, last (kg push does the same with its requests).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox

CHUNK = 48 << 20  # bytes of N-Quads per call: about 350k quads, 400 MiB of the loader's memory
_BLANK = b"_:"


class Cancelled(Exception):
    """The build stopped (it failed elsewhere); the loader stopped between two chunks."""


class Loader:
    """Bulk-loads N-Quads files into *store* in order, chunk by chunk, on its own thread.

    ``add(path)`` queues a file (deleted once written; ``add(path, make)`` has the
    thread write it first, e.g. a dump of an in-memory store); ``finish()`` writes the held-back
    blank-node lines, waits, and re-raises what went wrong on the thread; ``cancel()``
    stops at the next chunk. Use it as a context manager: leaving on an exception cancels.
    """

    def __init__(self, store: ox.Store, chunk: int = CHUNK):
        self.store: ox.Store | None = store
        self.chunk = chunk
        self._files: queue.Queue[tuple[Path, Callable | None] | None] = queue.Queue()
        self._held: list[bytes] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kg-bulk-load", daemon=True)
        self._thread.start()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.cancel()

    def add(self, path: Path, make: Callable[[], object] | None = None) -> None:
        """Queue *path*; *make*, if given, writes it first, on the loader's thread."""
        self._files.put((path, make))

    def cancel(self) -> None:
        self._stop.set()
        self._files.put(None)
        self._thread.join()
        self.store = None

    def finish(self) -> None:
        self._files.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._held:
            self._load(b"".join(self._held))
            self._held.clear()
        self.store = None  # the caller closes the store by dropping its last reference

    def _run(self) -> None:
        try:
            for path, make in iter(self._files.get, None):
                if make is not None:
                    make()
                    make = None  # it may hold what the caller frees next (a store)
                for part in self._chunks(path):
                    if self._stop.is_set():
                        raise Cancelled
                    self._load(part)
                path.unlink()
        except BaseException as exc:  # re-raised by finish() on the caller's thread
            self._error = exc

    def _load(self, data: bytes) -> None:
        assert self.store is not None, "the loader has finished"
        self.store.bulk_load(input=data, format=ox.RdfFormat.N_QUADS, lenient=True)

    def _chunks(self, path: Path) -> Iterator[bytes]:
        """Whole lines, about ``chunk`` bytes at a time, without the blank-node lines."""
        with path.open("rb") as handle:
            rest = b""
            while block := handle.read(self.chunk):
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest, block = block[cut:], block[:cut]
                if _BLANK in block:
                    lines = block.splitlines(keepends=True)
                    self._held += [line for line in lines if _BLANK in line]
                    block = b"".join(line for line in lines if _BLANK not in line)
                if block:
                    yield block
            if rest:  # a last line without its newline
                if _BLANK in rest:
                    self._held.append(rest + b"\n")
                else:
                    yield rest + b"\n"
