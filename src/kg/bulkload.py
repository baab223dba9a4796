"""Writing a build's store on disk: in bounded memory, beside the work that feeds it.

Why: Oxigraph's bulk loader is the fastest way to write a store, but it holds a whole batch
(a million quads) per call in memory: 1.6 GiB for a 1M-triple build, the peak of the
build. Fed in chunks of a few MiB, one call after another, it writes as fast and holds a
tenth of that. A call runs on little more than one core and releases the GIL, so the
loader's two threads write while the main thread parses, validates and reasons, and two
calls into one store are safe.

Oxigraph names the blank nodes of each call afresh, so a blank node must be written in one
call with every other line that mentions it: lines with ``_:`` are held back and written
together, last (kg push does the same with its requests). A Turtle source loaded in
pieces (:mod:`kg.ttlsplit`) cannot hold its blank nodes back: when it has any, the
caller hands their triples over (:meth:`Loader.replace_blanks`) and the pieces' are
deleted before the last call.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TextIO

import pyoxigraph as ox

from kg.ttlsplit import Pieces

CHUNK = 24 << 20  # bytes of N-Quads per call: about 175k quads, 200 MiB of the loader's memory
_BLANK = b"_:"


class Cancelled(Exception):
    """The build stopped (it failed elsewhere); the loader stopped between two chunks."""


class Loader:
    """Bulk-loads files into *store*, chunk by chunk, on threads of its own.

    ``add(path)`` queues an N-Quads file, deleted once written; ``add(path, make)`` has
    the thread write it first (a dump of an in-memory store, say); ``add_pieces`` queues
    a Turtle source's pieces; ``parts(folder, name)`` is a text file that queues itself
    every ``chunk`` bytes, so loading starts while it is written; ``finish()`` writes the
    held-back blank-node lines, waits, and re-raises what went wrong on a thread;
    ``cancel()`` stops at the next chunk. Use it as a context manager: leaving on an
    exception cancels.
    """

    def __init__(self, store: ox.Store, chunk: int = CHUNK, threads: int = 1):
        self.store: ox.Store | None = store
        self.chunk = chunk
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._held: list[bytes] = []
        self._blanks: dict[ox.NamedNode, bytes] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.widen(threads)

    def widen(self, threads: int) -> None:
        """Load on *threads* threads from now on (never fewer than now)."""
        while len(self._threads) < threads:
            name = f"kg-bulk-load-{len(self._threads)}"
            self._threads.append(threading.Thread(target=self._run, name=name, daemon=True))
            self._threads[-1].start()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.cancel()

    def add(self, path: Path, make: Callable[[], object] | None = None) -> None:
        """Queue *path*; *make*, if given, writes it first, on a loader's thread."""
        self._jobs.put(partial(self._file, path, make))

    def add_pieces(self, pieces: Pieces, graph: ox.NamedNode, base_iri: str) -> None:
        """Queue the pieces of a Turtle source, to load into *graph* (on either thread)."""
        for k in range(len(pieces)):
            self._jobs.put(partial(self._piece, pieces, k, graph, base_iri))

    def replace_blanks(self, graph: ox.NamedNode, nquads: bytes) -> None:
        """Have the triples with a blank node that the pieces loaded into *graph* deleted
        and *nquads* (the same triples, named as elsewhere in the build) written instead."""
        self._blanks[graph] = nquads

    def parts(self, folder: Path, name: str) -> Parts:
        """A text file in *folder* whose every ``chunk`` bytes are queued as they are
        written, as ``name-1.nq``, ``name-2.nq``...; closing it queues the rest."""
        return Parts(self, folder, name)

    def cancel(self) -> None:
        self._stop.set()
        self._join()
        self.store = None

    def finish(self) -> None:
        self._join()
        if self._error is not None:
            raise self._error
        assert self.store is not None, "the loader has finished"
        for graph, nquads in self._blanks.items():
            self.store.update(_DROP_BLANKS % {"g": graph})
            self._held.append(nquads)
        if self._held:
            self._load(b"".join(self._held))
            self._held.clear()
        self.store = None  # the caller closes the store by dropping its last reference

    def _join(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        try:
            for job in iter(self._jobs.get, None):
                if self._error is not None:
                    break
                if self._stop.is_set():
                    raise Cancelled
                job()
                job = None  # it may hold what the caller frees next (a store to dump)
        except BaseException as exc:  # re-raised by finish() on the caller's thread
            if self._error is None:
                self._error = exc

    def _file(self, path: Path, make: Callable | None) -> None:
        if make is not None:
            make()
        for part in self._chunks(path):
            if self._stop.is_set():
                raise Cancelled
            self._load(part)
        path.unlink()

    def _piece(self, pieces: Pieces, k: int, graph: ox.NamedNode, base_iri: str) -> None:
        assert self.store is not None, "the loader has finished"
        self.store.bulk_load(
            input=pieces.read(k),
            format=ox.RdfFormat.TURTLE,
            base_iri=base_iri,
            to_graph=graph,
            lenient=True,
        )

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
                    self._held.extend([line for line in lines if _BLANK in line])
                    block = b"".join(line for line in lines if _BLANK not in line)
                if block:
                    yield block
            if rest:  # a last line without its newline
                if _BLANK in rest:
                    self._held.append(rest + b"\n")
                else:
                    yield rest + b"\n"


#: SPARQL update deleting a graph's triples with a blank node
_DROP_BLANKS = (
    "DELETE { GRAPH %(g)s { ?s ?p ?o } } WHERE { GRAPH %(g)s { ?s ?p ?o "
    "FILTER (isBlank(?s) || isBlank(?o)) } }"
)


class Parts:
    """A text file written in parts, each queued on a :class:`Loader` once full (whole
    lines only: a part ends with the ``write`` call that filled it)."""

    def __init__(self, loader: Loader, folder: Path, name: str):
        self._loader, self._folder, self._name = loader, folder, name
        self._count = self._size = 0
        self._handle = self._open()

    def _open(self) -> TextIO:
        self._count += 1
        self._path = self._folder / f"{self._name}-{self._count}.nq"
        self._size = 0
        return self._path.open("w", encoding="utf-8")

    def write(self, text: str) -> int:
        self._handle.write(text)
        self._size += len(text)
        if self._size >= self._loader.chunk:
            self._handle.close()
            self._loader.add(self._path)
            self._handle = self._open()
        return len(text)

    def close(self) -> None:
        """Queue the last part (call once, after the last write)."""
        self._handle.close()
        if self._size:
            self._loader.add(self._path)
        else:
            self._path.unlink()

    def __enter__(self) -> Parts:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        else:
            self._handle.close()
