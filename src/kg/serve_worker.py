"""The query worker of ``kg serve``: a long-lived process with the served build open.

pyoxigraph cannot cancel a query, and a query runs while holding the GIL, so no query
ever runs in the server's event loop. Each worker is a ``python -m kg.serve_worker``
process (started by :class:`kg.serve_pool.Worker` with ``subprocess``, never forked from
the running event loop) that opens the served build read-only once, under ``RLIMIT_AS``
(:func:`kg.worker.limit_memory`), and answers requests from one end of a socket pair. A
request is one length-prefixed pickle; the answer is a ``head`` frame (the format,
whether rows were left out), then the response BYTES already rendered in that format,
in ``data`` frames of at most :data:`CHUNK` bytes, then ``end``: the server only relays
them. Errors travel as the :class:`kg.errors.KgError` that was raised.
"""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import socket
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import KgError, UsageError

HEADER = struct.Struct("!I")
#: Bytes of rendered answer per ``data`` frame: big answers stream in pieces this size.
CHUNK = 1 << 16


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
    #: The SPARQL 1.1 Protocol's ``default-graph-uri`` and ``named-graph-uri`` values:
    #: the graphs the query reads instead of a view (no inferences), FROM included.
    dataset: tuple[tuple[str, ...], tuple[str, ...]] | None = None


# -- the worker process ------------------------------------------------------------------


def _send(sock: socket.socket, *messages: object) -> None:
    data = bytearray()
    for message in messages:
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        data += HEADER.pack(len(body)) + body
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
        elif req.dataset is not None:
            result = self._on_dataset(req)
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

    def _on_dataset(self, req: Request):
        """*req*'s query over the graphs its request names, as ``kg sparql`` reads
        ``FROM`` / ``FROM NAMED``: only the project's graphs (its sources and the
        ontology) may be named, and they are read as stored, without inferences."""
        from kg.namespaces import ONTOLOGY_GRAPH, PREFIXES, compact

        graph, store = self.graph, self.graph.store
        assert req.dataset is not None
        known = [g for g in store.graph_names() if g != store._inferred_name]
        for param, iris in zip(("default-graph-uri", "named-graph-uri"), req.dataset, strict=True):
            for iri in iris:
                if iri in known:
                    continue
                sources = [compact(g) for g in known if g != ONTOLOGY_GRAPH]
                shown = ", ".join(sources[:3]) + (
                    f" and {len(sources) - 3} more" if len(sources) > 3 else ""
                )
                raise UsageError(
                    f"{param} <{iri[:80]}> is not a graph of this project; its graphs are "
                    f"the sources {shown or '(none yet)'} (kg stats lists them) and the "
                    f"ontology {compact(ONTOLOGY_GRAPH)}. Name one of those, or leave "
                    f"{param} out to query the whole graph."
                )
        graph._check_services(req.text, prefixes=req.prefixes)
        return store.query(
            req.text,
            bindings=req.bindings,
            prefixes=PREFIXES if req.prefixes else None,
            dataset=(list(req.dataset[0]), list(req.dataset[1])),
        )

    def _jsonld(self, result) -> str:
        """Triples as JSON-LD compacted with the project's context (as ``kg export``)."""
        import json

        from kg.export import load_context, to_jsonld
        from kg.store_rdflib import to_rdflib

        if self._context is None:
            project = self.graph.project
            path = project.context
            self._context = (
                load_context(path, shown_as=project.relative(path))
                if path and path.exists()
                else self.graph.context()
            )

        triples = [
            (to_rdflib(s), to_rdflib(p), to_rdflib(o)) for s, p, o in result.stream_triples()
        ]
        doc = to_jsonld(triples, self._context)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _remember(graph) -> None:
    """Remember what does not change while a worker serves one build: the classes of an
    entity (``#+ classes:`` checks), the values a ``#+ follow:`` parameter follows, the
    query text with a VALUES block bound (re-tokenised on every call otherwise), the
    SERVICE check of a query text, and a stored query's parsed file while the file is
    unchanged (same size, time and inode: one ``stat`` instead of a read and a parse).
    Each cache is bounded, so a client asking about many entities cannot grow it."""
    from functools import lru_cache

    import kg.store_oxigraph as engine

    graph.kinds = lru_cache(maxsize=4096)(graph.kinds)
    graph._follow = lru_cache(maxsize=4096)(graph._follow)
    graph._check_services = lru_cache(maxsize=1024)(graph._check_services)
    unread, folder = graph.stored_query, graph.project.queries_dir

    @lru_cache(maxsize=256)
    def parsed(name: str, stamp: tuple[int, int, int]):
        return unread(name)

    def stored_query(name: str):
        try:
            st = os.stat(folder / f"{name}.rq")
        except (OSError, ValueError):
            return unread(name)  # its own message for a name with no file
        return parsed(name, (st.st_mtime_ns, st.st_size, st.st_ino))

    graph.stored_query = stored_query
    unbound = engine.bind_values

    @lru_cache(maxsize=512)
    def bound(text: str, values: tuple[tuple[str, str], ...]) -> str:
        return unbound(text, dict(values))

    engine.bind_values = lambda text, values: bound(text, tuple(sorted(values.items())))


def worker_main(argv: list[str]) -> None:
    """``python -m kg.serve_worker FD ROOT STORE MEMORY_MIB``: answer requests on FD."""
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
        header = _recv_exactly(sock, HEADER.size)
        if header is None:
            return  # the server closed its end: stop
        body = _recv_exactly(sock, HEADER.unpack(header)[0])
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


if __name__ == "__main__":
    # Through the module's real name, so the errors it pickles are kg.serve_worker's
    # classes for the server, not __main__'s.
    from kg.serve_worker import worker_main as main

    main(sys.argv[1:])
