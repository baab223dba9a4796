"""The query workers of ``kg serve``: long-lived processes, each with the store open.

pyoxigraph cannot cancel a query, and a query runs while holding the GIL, so no query
ever runs in the server's event loop. Each worker is a ``python -m kg.serve_pool``
process (started with ``subprocess``, never forked from the running event loop) that
opens the served build read-only once, under ``RLIMIT_AS`` (:func:`kg.worker.limit_memory`),
and answers requests from one end of a socket pair. A request is one length-prefixed
pickle; the answer is a ``head`` frame (the format, whether rows were left out), then
the response BYTES already rendered in that format, in ``data`` frames of at most
:data:`CHUNK` bytes, then ``end``: the server only relays them. Errors travel as the
:class:`kg.errors.KgError` that was raised.

The parent side (:class:`Pool`) hands each request to an idle worker; past the time-out
it SIGKILLs that worker and starts a replacement, so a runaway query holds one worker
for at most the time-out while the others go on answering. When all workers are busy,
up to ``queue`` requests wait; beyond them :class:`Saturated` is raised (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import KgError, QueryTimeout, UsageError

_HEADER = struct.Struct("!I")
#: Bytes of rendered answer per ``data`` frame: big answers stream in pieces this size.
CHUNK = 1 << 16
#: Seconds a new worker may take to open the store and say it is ready.
START_TIMEOUT = 60.0


class NotAcceptable(UsageError):
    """No format the client accepts can express this kind of answer (HTTP 406)."""


class Saturated(KgError):
    """Every worker is busy and the wait queue is full (HTTP 503 with Retry-After)."""


class WorkerDied(KgError):
    """The worker ended while answering (out of memory in Rust, a crash): HTTP 500."""


@dataclass
class Request:
    """What a worker is asked. ``op`` is ``sparql`` or ``run`` (a stored query); with
    ``fmt`` None the worker sends the :class:`~kg.results.Result` itself (for
    :mod:`kg.web`), else the answer rendered in ``fmt[kind]`` (kind: ``rows`` for
    SELECT and ASK, ``graph`` for CONSTRUCT and DESCRIBE). Rows before ``offset`` are
    skipped and at most ``limit`` are sent; ``head.more`` says whether others follow."""

    op: str
    text: str = ""
    name: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    bindings: Mapping[str, Any] | None = None
    inferred: bool = True
    prefixes: bool = True
    fmt: Mapping[str, str | None] | None = None
    offset: int = 0
    limit: int | None = None


# -- the worker process ------------------------------------------------------------------


def _send(sock: socket.socket, *messages: object) -> None:
    data = bytearray()
    for message in messages:
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        data += _HEADER.pack(len(body)) + body
    sock.sendall(data)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class Session:
    """A worker's graph: the project's :class:`~kg.graph.KnowledgeGraph` pinned to the
    served store (no freshness check, no rebuild: the server chooses the build)."""

    def __init__(self, root: Path, store: Path):
        from kg.graph import KnowledgeGraph
        from kg.project import Project
        from kg.state import hold, read_manifest

        self.graph = graph = KnowledgeGraph(Project.load(root))
        graph._held = hold(store)
        if graph._held is None:
            raise UsageError(f"the store {store.name} was removed before it could be opened.")
        graph._path = store
        graph.manifest = read_manifest(store)
        graph.store  # noqa: B018 - open it now, before the memory cap
        _remember(graph)
        self._context: dict | None = None

    def answer(self, req: Request, sock: socket.socket) -> None:
        graph = self.graph
        if req.op == "run":
            result = graph.run(req.name, req.params, inferred=req.inferred)
        else:
            result = graph.sparql(
                req.text, bindings=req.bindings, inferred=req.inferred, prefixes=req.prefixes
            )
        if req.fmt is None:  # the Result itself, for the HTML pages
            result.rows if not result.is_graph else result.triples  # noqa: B018
            _send(sock, ("result", result))
            return
        from kg.results import Result, render_chunks

        kind = "graph" if result.is_graph else "rows"
        fmt = req.fmt.get(kind)
        if fmt is None:
            what = "triples (CONSTRUCT/DESCRIBE)" if kind == "graph" else "rows (SELECT/ASK)"
            raise NotAcceptable(f"the query answers with {what}, in no format the request accepts.")
        more = False
        if result.boolean is None:
            items = result.stream_triples() if kind == "graph" else result.stream()
            stop = None if req.limit is None else req.offset + req.limit + 1
            taken = list(itertools.islice(items, req.offset, stop))
            if req.limit is not None and len(taken) > req.limit:
                more = True
                del taken[req.limit :]
            if kind == "graph":
                result = Result(triples=taken)
            else:
                result = Result(vars=result.vars, rows=taken)
        chunks = iter([self._jsonld(result)]) if fmt == "json-ld" else render_chunks(result, fmt)
        head = ("head", {"format": fmt, "more": more})
        buffer: list[bytes] = []
        size = 0
        for chunk in chunks:
            data = chunk.encode("utf-8")
            buffer.append(data)
            size += len(data)
            if size >= CHUNK:
                messages = [("data", b"".join(buffer))]
                if head:
                    messages.insert(0, head)
                    head = None
                _send(sock, *messages)
                buffer, size = [], 0
        messages = [("data", b"".join(buffer)), ("end", None)]
        if head:
            messages.insert(0, head)
        _send(sock, *messages)

    def _jsonld(self, result) -> str:
        """Triples as JSON-LD compacted with the project's context (as ``kg export``)."""
        import json

        from rdflib import BNode, Literal, URIRef

        from kg.export import load_context, to_jsonld

        if self._context is None:
            project = self.graph.project
            path = project.context
            self._context = (
                load_context(path, shown_as=project.relative(path))
                if path and path.exists()
                else self.graph.context()
            )

        def node(term):
            if term.kind == "uri":
                return URIRef(term.value)
            if term.kind == "bnode":
                return BNode(term.value)
            datatype = None if term.lang else term.datatype
            return Literal(term.value, lang=term.lang or None, datatype=datatype)

        triples = [(node(s), node(p), node(o)) for s, p, o in result.stream_triples()]
        doc = to_jsonld(triples, self._context)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _remember(graph) -> None:
    """Remember what does not change while a worker serves one build: the classes of an
    entity (``#+ classes:`` checks), the values a ``#+ follow:`` parameter follows, and
    the query text with a VALUES block bound (re-tokenised on every call otherwise).
    Each cache is bounded, so a client asking about many entities cannot grow it."""
    from functools import lru_cache

    import kg.store_oxigraph as engine

    graph.kinds = lru_cache(maxsize=4096)(graph.kinds)
    graph._follow = lru_cache(maxsize=4096)(graph._follow)
    unbound = engine.bind_values

    @lru_cache(maxsize=512)
    def bound(text: str, values: tuple[tuple[str, str], ...]) -> str:
        return unbound(text, dict(values))

    engine.bind_values = lambda text, values: bound(text, tuple(sorted(values.items())))


def worker_main(argv: list[str]) -> None:
    """``python -m kg.serve_pool FD ROOT STORE MEMORY_MIB``: answer requests on FD."""
    from kg.worker import _die_with, limit_memory

    fd, root, store, mib = int(argv[0]), Path(argv[1]), Path(argv[2]), int(argv[3])
    _die_with(os.getppid())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    sock = socket.socket(fileno=fd)
    try:
        session = Session(root, store)
        limit_memory(mib)
    except KgError as exc:
        _send(sock, ("error", exc))
        return
    _send(sock, ("ready", store.name))
    while True:
        header = _recv_exactly(sock, _HEADER.size)
        if header is None:
            return  # the server closed its end: stop
        body = _recv_exactly(sock, _HEADER.unpack(header)[0])
        if body is None:
            return
        req = pickle.loads(body)
        try:
            session.answer(req, sock)
        except KgError as exc:
            _send(sock, ("error", exc))
        except MemoryError:
            _send(sock, ("error", UsageError(_memory_message(mib))))
        except Exception as exc:  # a bug in kg: one line to the server, traceback to stderr
            import traceback

            traceback.print_exc()
            _send(sock, ("bug", f"{type(exc).__name__}: {exc}"))


def _memory_message(mib: int) -> str:
    return (
        f"the query needed more than {mib:,} MiB of memory and was stopped. Narrow it, or "
        "raise 'memory_mib' under [query] in kg.toml."
    )


# -- the server side -----------------------------------------------------------------------


class Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self, root: Path, store: Path, memory_mib: int):
        ours, theirs = socket.socketpair()
        self.store = store
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kg.serve_pool",
                str(theirs.fileno()),
                str(root),
                str(store),
                str(memory_mib),
            ],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)
        kind, payload = await asyncio.wait_for(self.read(), START_TIMEOUT)
        if kind == "error":
            raise payload
        if kind != "ready":
            raise WorkerDied(f"a query worker could not start ({payload}).")

    async def read(self) -> tuple[str, Any]:
        assert self.reader is not None
        try:
            header = await self.reader.readexactly(_HEADER.size)
            body = await self.reader.readexactly(_HEADER.unpack(header)[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return ("died", self._death())
        return pickle.loads(body)

    def send(self, req: Request) -> None:
        assert self.writer is not None
        body = pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_HEADER.pack(len(body)) + body)

    def _death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(1.0)
        code = self.proc.returncode
        if code is not None and code < 0:
            if -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
                return "the query worker ran out of memory or crashed; narrow the query"
            return f"the query worker was stopped by signal {-code}"
        return f"the query worker ended (exit status {code})"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            if self.writer is not None:
                self.writer.close()
            else:
                self.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5.0)


class Pool:
    """*size* workers on the build at *store*, a wait queue of *queue* requests."""

    def __init__(
        self, root: Path, store: Path, *, size: int, queue: int, timeout: float, memory_mib: int
    ):
        self.root, self.store = root, store
        self.size, self.queue = size, queue
        self.timeout, self.memory_mib = timeout, memory_mib
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        self.waiters: deque[asyncio.Future[Worker]] = deque()
        self.starting = 0
        self.closed = False

    @property
    def build_id(self) -> str:
        return self.store.name

    async def start(self) -> None:
        """Start every worker; raise the first failure (the store cannot be opened...)."""
        workers = [Worker(self.root, self.store, self.memory_mib) for _ in range(self.size)]
        try:
            await asyncio.gather(*(w.start() for w in workers))
        except BaseException:
            for w in workers:
                w.kill()
            raise
        self.idle.extend(workers)

    def status(self) -> dict[str, int]:
        return {
            "workers": self.size,
            "busy": len(self.busy),
            "idle": len(self.idle),
            "waiting": len(self.waiters),
        }

    async def _acquire(self) -> Worker:
        if self.idle:
            worker = self.idle.pop()
        else:
            if len(self.waiters) >= self.queue:
                raise Saturated(
                    f"all {self.size} query workers are busy and {self.queue} requests are "
                    "waiting; try again shortly."
                )
            future: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
            self.waiters.append(future)
            try:
                worker = await future
            except asyncio.CancelledError:
                if future in self.waiters:
                    self.waiters.remove(future)
                elif future.done() and not future.cancelled():
                    self._release(future.result())
                raise
        self.busy.add(worker)
        return worker

    def _release(self, worker: Worker) -> None:
        """*worker* is free: to the first waiter, else idle (or killed, once retired)."""
        self.busy.discard(worker)
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(worker)
                return
        if self.closed:
            worker.kill()
        else:
            self.idle.append(worker)

    def _replace(self, worker: Worker) -> None:
        """Kill *worker* (timed out, or its answer abandoned) and start another."""
        self.busy.discard(worker)
        worker.kill()
        if not self.closed:
            asyncio.get_running_loop().create_task(self._start_one())
        elif not self.busy:  # retired, and no worker left to serve who waits
            self._fail_waiters()

    def _fail_waiters(self) -> None:
        for future in self.waiters:
            if not future.done():
                future.set_exception(Saturated("the server is switching builds; try again."))
        self.waiters.clear()

    async def _start_one(self) -> None:
        worker = Worker(self.root, self.store, self.memory_mib)
        self.starting += 1
        try:
            await worker.start()
        except Exception as exc:  # logged; the pool goes on smaller
            print(f"kg serve: a query worker could not start: {exc}", file=sys.stderr)
            worker.kill()
            return
        finally:
            self.starting -= 1
        self.busy.add(worker)
        self._release(worker)

    async def ask(self, req: Request) -> AsyncIterator[tuple[str, Any]]:
        """The worker's frames for *req*: ``head``, ``data``..., (``end``), or ``result``.

        Raises the query's :class:`KgError`, :class:`QueryTimeout` past the time-out
        (the worker is killed and replaced), :class:`Saturated`. Stopping the iteration
        early (the client went away) kills and replaces the worker, which may still be
        writing."""
        worker = await self._acquire()
        deadline = time.monotonic() + self.timeout
        done = False
        try:
            worker.send(req)
            while True:
                left = deadline - time.monotonic()
                try:
                    kind, payload = await asyncio.wait_for(worker.read(), max(left, 0.001))
                except TimeoutError:
                    raise QueryTimeout(
                        f"the query ran longer than {self.timeout:g} s and was stopped. "
                        "Narrow it (a LIMIT, a more selective pattern), or ask the server's "
                        "operator for a longer --timeout."
                    ) from None
                if kind == "error":
                    done = True
                    raise payload
                if kind == "bug":
                    done = True
                    raise WorkerDied(f"internal error in a query worker: {payload}")
                if kind == "died":
                    raise WorkerDied(f"{payload}.")
                if kind in ("end", "result"):
                    done = True
                yield kind, payload
                if done:
                    return
        finally:
            if done:
                self._release(worker)
            else:
                self._replace(worker)

    def retire(self) -> None:
        """Let these workers go (a newer build is served): idle ones now, busy ones once
        their answer is sent and no request waits for them."""
        self.closed = True
        for worker in self.idle:
            worker.kill()
        self.idle.clear()

    def close(self) -> None:
        """Kill every worker now (the server is stopping)."""
        self.retire()
        self._fail_waiters()
        for worker in list(self.busy):
            worker.kill()
        self.busy.clear()


if __name__ == "__main__":
    # Through the module's real name, so the errors it pickles are kg.serve_pool's
    # classes for the server, not __main__'s.
    from kg.serve_pool import worker_main as main

    main(sys.argv[1:])
