"""The HTTP face of ``kg serve``: the served build, its workers, and the application.

Every query runs in a worker process of :mod:`kg.serve_pool`, never in the event loop,
which only negotiates, checks limits and relays the bytes the worker rendered. The
server is read-only, answers from one build at a time (a newer build is picked up
without a restart: :meth:`Server.fresh`) and keeps itself up with limits:

- a per-query time-out (504 and the worker replaced), caps on concurrent queries (503
  with ``Retry-After`` beyond the workers and the wait queue), on rows (``/sparql``
  answers are cut at ``max_rows`` and say so in ``X-KG-Truncated: true``; stored queries
  are paged with ``limit``/``offset`` and a ``Link: rel="next"`` header) and on request
  size (413);
- ETags computed from the build and the request, so ``If-None-Match`` gets a 304
  without running anything; ``Cache-Control: no-cache`` makes clients revalidate;
- an answer cache keyed by those ETags (:mod:`kg.serve_cache`);
- CORS only for the origins of ``[serve] cors``; a JSON-lines access log.

The routes live in :mod:`kg.serve_sparql` (the SPARQL 1.1 Protocol),
:mod:`kg.serve_queries` (the stored queries) and :mod:`kg.web` (the pages); the HTTP
helpers they share in :mod:`kg.serve_http`; the outer layers in :mod:`kg.serve_guard`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kg.errors import InputError, KgError, UsageError
from kg.project import Project
from kg.queries import StoredQuery
from kg.results import Result
from kg.serve_cache import AnswerCache
from kg.serve_http import (  # noqa: F401 - error_status and HttpError: kg.server's API
    RESERVED,
    HttpError,
    error_status,
    http_error,
    kg_error,
)
from kg.serve_pool import Pool, Request, WorkerDied
from kg.terms import Term


class Runner(Protocol):
    """What the web pages (:mod:`kg.web`) ask of the server: queries run in the worker
    pool, never in the event loop. Errors are raised as :class:`kg.errors.KgError`."""

    project: Project
    build_id: str  # changes with every build picked up

    def stored_queries(self) -> dict[str, StoredQuery]: ...

    async def sparql(
        self,
        text: str,
        *,
        inferred: bool = True,
        prefixes: bool = True,
        bindings: Mapping[str, Term] | None = None,
    ) -> Result: ...

    async def run(
        self, name: str, params: Mapping[str, str], *, inferred: bool = True
    ) -> Result: ...


#: How often (seconds) a request may look whether a newer build is there.
CHECK_EVERY = 1.0


@dataclass(frozen=True)
class Options:
    """How the server runs: kg.toml's ``[serve]`` merged with the command line."""

    workers: int = 2
    queue: int = 16
    timeout: float = 60.0
    memory_mib: int = 4096
    max_rows: int = 10_000
    max_request_bytes: int = 65_536
    cors: tuple[str, ...] = ()
    #: MiB of rendered answers kept by ETag (0: no answer cache).
    cache_mib: float = 64.0

    @property
    def request_seconds(self) -> float:
        """Seconds a client may take to send a request (its head, then its body)."""
        from kg.serve_guard import REQUEST_SECONDS

        return min(self.timeout, REQUEST_SECONDS)


class Server:
    """The served build, its worker pool and the stored queries: the :class:`Runner`."""

    def __init__(self, project: Project, store: Path, options: Options):
        self.project, self.options = project, options
        self.pool = Pool(
            project.root,
            store,
            size=options.workers,
            queue=options.queue,
            timeout=options.timeout,
            memory_mib=options.memory_mib,
        )
        self._queries: dict[str, StoredQuery] = {}
        self._queries_at = 0.0
        self._checked = time.monotonic()
        self._switching: asyncio.Task | None = None
        self._held = _hold(store)
        self._counts = _counts(store)
        self.warnings: list[str] = []
        cache_bytes = int(options.cache_mib * (1 << 20))
        self.cache = AnswerCache(cache_bytes) if cache_bytes > 0 else None

    @property
    def build_id(self) -> str:
        return self.pool.build_id

    async def start(self) -> None:
        self.stored_queries()  # a query folder kg cannot read fails now, not later
        await self.pool.start()

    def close(self) -> None:
        self.pool.close()
        if self._held is not None:
            self._held.close()

    # -- the Runner --------------------------------------------------------------------

    def stored_queries(self) -> dict[str, StoredQuery]:
        """The stored queries, read again at most every second (a file may change)."""
        if time.monotonic() - self._queries_at > CHECK_EVERY or not self._queries:
            from kg.queries import load_queries

            queries = load_queries(self.project.queries_dir)
            for query in queries.values():
                clash = [p.name for p in query.params if p.name in RESERVED]
                if clash:
                    raise InputError(
                        f"query {query.name!r} has a parameter named {clash[0]!r}, which "
                        f"/queries/{query.name} uses for paging or formats ({', '.join(RESERVED)}"
                        "); rename the parameter.",
                        path=self.project.relative(query.path),
                    )
            self._queries, self._queries_at = queries, time.monotonic()
        return self._queries

    async def sparql(
        self,
        text: str,
        *,
        inferred: bool = True,
        prefixes: bool = True,
        bindings: Mapping[str, Term] | None = None,
    ) -> Result:
        req = Request("sparql", text=text, inferred=inferred, prefixes=prefixes, bindings=bindings)
        return await self._result(req)

    async def run(self, name: str, params: Mapping[str, str], *, inferred: bool = True) -> Result:
        return await self._result(Request("run", name=name, params=dict(params), inferred=inferred))

    async def _result(self, req: Request) -> Result:
        await self.fresh()
        async for kind, payload in self.pool.ask(req):
            if kind == "result":
                return payload
        raise WorkerDied("the query worker sent no result.")

    # -- builds ------------------------------------------------------------------------

    async def fresh(self) -> None:
        """Serve the newest build: look (at most every second) whether ``.kg/current``
        changed; if so, start workers on the new store, then retire the old ones after
        their answers. A new build that cannot be opened leaves the old one served."""
        if self._switching is not None:
            await asyncio.shield(self._switching)
            return
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return
        self._checked = now
        try:
            target = os.readlink(self.project.root / ".kg" / "current")
        except OSError:
            return
        if target == self.pool.build_id:
            return
        self._switching = asyncio.get_running_loop().create_task(self._switch())
        try:
            await asyncio.shield(self._switching)
        finally:
            self._switching = None

    async def _switch(self) -> None:
        from kg.state import current_store

        store = current_store(self.project)
        if store is None or store.name == self.pool.build_id:
            return
        held = _hold(store)
        if held is None:
            return
        pool = Pool(
            self.project.root,
            store,
            size=self.options.workers,
            queue=self.options.queue,
            timeout=self.options.timeout,
            memory_mib=self.options.memory_mib,
        )
        try:
            await pool.start()
        except KgError as exc:
            held.close()
            print(f"kg serve: cannot serve the new build {store.name}: {exc}", file=sys.stderr)
            self._checked = time.monotonic() + 10  # try again later, not on every request
            return
        old, self.pool = self.pool, pool
        old.retire()
        if self._held is not None:
            # The old store stays held by the workers still answering from it.
            self._held.close()
        self._held, self._counts = held, _counts(store)
        if self.cache is not None:
            self.cache.clear()  # every ETag held names the old build
        print(f"kg serve: now serving {store.name}", file=sys.stderr)

    def status(self, *, cache: bool = False) -> dict[str, Any]:
        """What ``/healthz`` says; with *cache*, also the answer cache's figures (``/status``:
        they change with every request, so a health check does not show them)."""
        return {
            "status": "ok",
            "build": self.build_id,
            "triples": self._counts,
            "workers": self.pool.status(),
            **({"cache": self.cache.status()} if cache and self.cache is not None else {}),
        }


def _hold(store: Path):
    from kg.state import hold

    return hold(store)


def _counts(store: Path) -> dict[str, int]:
    """The triple counts the build recorded (cheap: the manifest, read once per build)."""
    from kg.state import read_manifest

    try:
        report = read_manifest(store).get("report", {})
    except KgError:
        return {}
    return {k: report[k] for k in ("asserted", "inferred") if isinstance(report.get(k), int)}


# -- the application -----------------------------------------------------------------------


def create_app(server: Server, *, log) -> Any:
    """The Starlette application over *server*; *log* takes one JSON line a request."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    from kg.serve_guard import middleware
    from kg.serve_http import starlette_error
    from kg.serve_queries import list_queries, stored
    from kg.serve_sparql import sparql

    try:
        from kg.web import routes as web_routes
    except ImportError:  # the HTML pages are optional to the protocol
        web_routes = None

    routes = [
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/queries", list_queries, methods=["GET"]),
        Route("/queries/{name:str}", stored, methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
        Route("/status", _health, methods=["GET"]),
        *(web_routes(server) if web_routes else []),
    ]
    options = server.options
    app = Starlette(
        routes=routes,
        middleware=middleware(
            max_bytes=options.max_request_bytes,
            log=log,
            cors=options.cors,
            seconds=options.request_seconds,
        ),
        # Starlette's own errors (404 of an unknown path, 405) as JSON too.
        exception_handlers={
            HttpError: http_error,
            KgError: kg_error,
            HTTPException: starlette_error,
        },
    )
    app.state.server = server
    return app


async def _health(request):
    from starlette.responses import JSONResponse

    server: Server = request.app.state.server
    await server.fresh()
    full = request.url.path == "/status"
    return JSONResponse(server.status(cache=full), headers={"Cache-Control": "no-store"})


# -- running -------------------------------------------------------------------------------


def serve(
    project: Project,
    store: Path,
    options: Options,
    *,
    host: str,
    port: int,
    access_log: Path | None,
    say,
) -> None:
    """Serve *store* on *host*:*port* until SIGINT or SIGTERM; then stop the workers.

    The socket is bound here (so ``--port 0`` can say which port it got) and the
    workers are started before the first request is accepted. *say* takes lines for
    the person who started the server."""
    import signal
    import socket

    import uvicorn

    from kg.serve_guard import protocol, quiet_uvicorn

    log = open(access_log, "a", encoding="utf-8", buffering=1) if access_log else sys.stderr  # noqa: SIM115
    server = Server(project, store, options)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port."
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    config = uvicorn.Config(
        create_app(server, log=log),
        loop="none",
        http=protocol(options.request_seconds),
        access_log=False,  # kg's own, JSON lines: kg.serve_guard.Guard
        proxy_headers=False,  # no proxy in front by default: no X-Forwarded-* to trust
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
    )

    async def main() -> None:
        quiet_uvicorn()
        await server.start()
        bound = sock.getsockname()
        shown_host = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
        say(
            f"kg serve: serving {store.name} on http://{shown_host}:{bound[1]}/ "
            f"({options.workers} workers; Ctrl-C stops)"
        )
        # uvicorn captures SIGINT/SIGTERM while it serves, then re-raises them once it
        # has stopped: let that re-raise do nothing, so a stop is exit 0.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        try:
            await uvicorn.Server(config).serve(sockets=[sock])
        finally:
            server.close()

    try:
        _runner().run(main())
    finally:
        server.close()
        sock.close()
        if log is not sys.stderr:
            log.close()


def _runner():
    """An asyncio runner on uvloop when it is installed."""
    if _importable("uvloop"):
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
