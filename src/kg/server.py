"""The HTTP face of ``kg serve``: the SPARQL 1.1 Protocol and the stored queries.

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
- CORS only for the origins of ``[serve] cors``; a JSON-lines access log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from kg.errors import InputError, KgError, QueryFailed, QueryTimeout, StorageError, UsageError
from kg.project import Project
from kg.queries import StoredQuery
from kg.results import Result
from kg.serve_pool import NotAcceptable, Pool, Request, Saturated, WorkerDied
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


#: Media types of SELECT/ASK answers and of CONSTRUCT/DESCRIBE answers, by kg format.
ROW_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_TYPES = {
    "turtle": "text/turtle",
    "nt": "application/n-triples",
    "json-ld": "application/ld+json",
}
#: Other names clients use for them (SPARQLWrapper sends format=n3, Accept: application/json).
_ALIASES = {
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "turtle",
    "n3": "turtle",
    "text/plain": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "jsonld": "json-ld",
    "application/x-json+ld": "json-ld",
}
_FORMAT_OF = {
    **{t: f for f, t in {**ROW_TYPES, **GRAPH_TYPES}.items()},
    **{f: f for f in (*ROW_TYPES, *GRAPH_TYPES)},
    **_ALIASES,
}
#: Query-string names of /queries/NAME that are not the stored query's parameters.
RESERVED = ("limit", "offset", "format", "view")
DEFAULT_PAGE = 100
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


class HttpError(Exception):
    """An answer other than 200, with a message for people."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, dict(headers or {})


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
        print(f"kg serve: now serving {store.name}", file=sys.stderr)

    def status(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "build": self.build_id,
            "triples": self._counts,
            "workers": self.pool.status(),
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


# -- negotiation ---------------------------------------------------------------------------


def negotiate(accept: str, format_param: str | None) -> dict[str, str | None]:
    """The format of a rows answer and of a graph answer, from ``format=`` (which wins)
    or the Accept header; None where nothing acceptable exists for that kind."""
    if format_param:
        fmt = _FORMAT_OF.get(format_param.strip().lower())
        if fmt is None:
            known = ", ".join((*ROW_TYPES, *GRAPH_TYPES))
            raise HttpError(400, f"unknown format {format_param[:60]!r}; use one of: {known}.")
        return {
            "rows": fmt if fmt in ROW_TYPES else None,
            "graph": fmt if fmt in GRAPH_TYPES else None,
        }
    return {
        "rows": _best(accept, ROW_TYPES, "json"),
        "graph": _best(accept, GRAPH_TYPES, "turtle"),
    }


def _best(accept: str, types: Mapping[str, str], default: str) -> str | None:
    """The format of *types* the Accept header prefers: highest q, then a named type
    over a wildcard, then the first written."""
    if not accept.strip():
        return default
    best: tuple[tuple[float, int, int], str] | None = None
    for order, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not q > 0:
            continue
        if media == "*/*":
            fmt: str | None = default
        elif media.endswith("/*"):
            fmt = next((f for f, t in types.items() if t.startswith(media[:-1])), None)
        else:
            fmt = _FORMAT_OF.get(media)
            fmt = fmt if fmt in types else None
        if fmt is None:
            continue
        rank = (q, 0 if media.endswith("*") else 1, -order)
        if best is None or rank > best[0]:
            best = (rank, fmt)
    return best[1] if best else None


def media_type(fmt: str) -> str:
    """The Content-Type of an answer in *fmt*."""
    kind = {**ROW_TYPES, **GRAPH_TYPES}[fmt]
    return kind if fmt == "json-ld" or kind.endswith("json") else f"{kind}; charset=utf-8"


def etag(build: str, *parts: object) -> str:
    """A strong ETag for an answer: the build and everything the answer depends on."""
    digest = hashlib.sha256(json.dumps([build, *parts], default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return tag in (t.strip().removeprefix("W/") for t in if_none_match.split(","))


def error_status(exc: KgError) -> int:
    """The HTTP status of a kg error."""
    if isinstance(exc, NotAcceptable):
        return 406
    if isinstance(exc, Saturated):
        return 503
    if isinstance(exc, QueryTimeout):
        return 504
    if isinstance(exc, QueryFailed):
        return 502
    if isinstance(exc, (WorkerDied, StorageError)):
        return 500
    return 400


def page_params(items: list[tuple[str, str]], max_rows: int) -> tuple[dict[str, str], int, int]:
    """The stored query's parameters, and the page (limit, offset), from a query string:
    a parameter given twice is refused, as on the command line."""
    given: dict[str, str] = {}
    for key, value in items:
        if key in given:
            raise HttpError(
                400,
                f"parameter {key[:60]!r} is given twice ({given[key][:60]!r} and "
                f"{value[:60]!r}); give it once.",
            )
        given[key] = value
    limit = _number(given.pop("limit", None), "limit", 1, max_rows, min(DEFAULT_PAGE, max_rows))
    offset = _number(given.pop("offset", None), "offset", 0, 10**9, 0)
    return given, limit, offset


def _number(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise HttpError(
            400, f"{name} must be a whole number from {low} to {high:,}, not {text[:40]!r}."
        )
    return value


def next_link(path: str, items: list[tuple[str, str]], limit: int, offset: int) -> str:
    """The ``Link`` header value pointing at the next page."""
    kept = [(k, v) for k, v in items if k not in ("limit", "offset")]
    query = urlencode([*kept, ("limit", str(limit)), ("offset", str(offset + limit))])
    return f'<{path}?{query}>; rel="next"'


def form_items(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HttpError(400, "the form body is not UTF-8 text.") from None


# -- the application -----------------------------------------------------------------------


def create_app(server: Server, *, log) -> Any:
    """The Starlette application over *server*; *log* takes one JSON line a request."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Route

    try:
        from kg.web import routes as web_routes
    except ImportError:  # the HTML pages are optional to the protocol
        web_routes = None

    routes = [
        Route("/sparql", _sparql, methods=["GET", "POST"]),
        Route("/queries", _list_queries, methods=["GET"]),
        Route("/queries/{name:str}", _stored, methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
        Route("/status", _health, methods=["GET"]),
        *(web_routes(server) if web_routes else []),
    ]
    middleware = [Middleware(Guard, max_bytes=server.options.max_request_bytes, log=log)]
    if server.options.cors:  # no origin listed: no CORS layer at all, no header ever
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(server.options.cors),
                allow_methods=["GET", "POST"],
                allow_headers=["Accept", "Content-Type", "If-None-Match"],
                expose_headers=["ETag", "Link", "Retry-After", "X-KG-Truncated"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HttpError: _http_error, KgError: _kg_error},
    )
    app.state.server = server
    return app


def _json_error(status: int, message: str, headers: Mapping[str, str] | None = None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message, "status": status}, status, headers=dict(headers or {}))


async def _http_error(request, exc: HttpError):
    return _json_error(exc.status, str(exc), exc.headers)


async def _kg_error(request, exc: KgError):
    status = error_status(exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return _json_error(status, str(exc), headers)


async def _body(request, cap: int) -> bytes:
    """The request body, refused with 413 past *cap* bytes (announced or sent)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise HttpError(413, _too_big(cap))
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > cap:
            raise HttpError(413, _too_big(cap))
    return bytes(data)


def _too_big(cap: int) -> str:
    return f"the request is larger than {cap:,} bytes, the most this server accepts."


def _view(items: list[tuple[str, str]]) -> bool:
    """True for the inferred view (the default), False for ``view=asserted``."""
    views = [v for k, v in items if k == "view"]
    if len(views) > 1 or (views and views[0] not in ("inferred", "asserted")):
        raise HttpError(400, "view must be given once, as 'inferred' (the default) or 'asserted'.")
    return not views or views[0] == "inferred"


async def _sparql(request):
    """The SPARQL 1.1 Protocol: GET ?query=, POST form-encoded or direct."""
    from kg.store import READ_ONLY

    server: Server = request.app.state.server
    cap = server.options.max_request_bytes
    items = list(request.query_params.multi_items())
    text: str | None = None
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await _body(request, cap)
        if kind == "application/x-www-form-urlencoded":
            items += form_items(body)
        elif kind == "application/sparql-query":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise HttpError(400, "the query is not UTF-8 text.") from None
        elif kind == "application/sparql-update":
            raise HttpError(400, READ_ONLY)
        else:
            raise HttpError(
                415,
                "POST the query as application/x-www-form-urlencoded (query=...) or as "
                "application/sparql-query.",
            )
    names = {k for k, _ in items}
    if "update" in names:
        raise HttpError(400, READ_ONLY)
    if names & {"default-graph-uri", "named-graph-uri"}:
        raise HttpError(
            400,
            "default-graph-uri and named-graph-uri are not supported; name the graphs with "
            "FROM and FROM NAMED in the query (see GET /sparql for the graphs).",
        )
    queries = [v for k, v in items if k == "query"]
    if len(queries) + (text is not None) > 1:
        raise HttpError(400, "give one query (the query parameter once, or the body).")
    inferred = _view(items)
    if text is None and not queries:
        if request.method == "GET":
            return await _description(request, server)
        raise HttpError(400, "no query: send query=... or a body of type application/sparql-query.")
    text = text if text is not None else queries[0]
    if len(text.encode("utf-8", "surrogatepass")) > cap:
        raise HttpError(413, _too_big(cap))
    request.state.kg_query = (
        "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    )
    # SPARQLWrapper sends format= twice (format=tsv&format=text/tab-separated-values):
    # the first one kg knows counts.
    given = [v for k, v in items if k == "format"]
    known = [v for v in given if v.strip().lower() in _FORMAT_OF]
    formats = negotiate(request.headers.get("accept", ""), (known or given or [None])[0])
    if formats["rows"] is None and formats["graph"] is None:
        raise HttpError(406, _not_acceptable())
    await server.fresh()
    tag = etag(server.build_id, "sparql", text, inferred, formats, server.options.max_rows)
    if matches(request.headers.get("if-none-match"), tag):
        return _not_modified(tag)
    req = Request(
        "sparql",
        text=text,
        inferred=inferred,
        prefixes=True,
        fmt=formats,
        limit=server.options.max_rows,
    )
    return await _relay(server, req, tag, lambda more: {"X-KG-Truncated": "true"} if more else {})


def _one(items: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in items if k == name]
    if len(values) > 1:
        raise HttpError(400, f"{name} is given {len(values)} times; give it once.")
    return values[0] if values else None


def _not_acceptable() -> str:
    types = ", ".join((*ROW_TYPES.values(), *GRAPH_TYPES.values()))
    return f"none of the formats the request accepts can be served; this server writes: {types}."


def _not_modified(tag: str):
    from starlette.responses import Response

    return Response(status_code=304, headers={"ETag": tag, "Cache-Control": "no-cache"})


async def _relay(server: Server, req: Request, tag: str, extra) -> Any:
    """The worker's answer as the response: whole when small, streamed when large."""
    from starlette.responses import Response, StreamingResponse

    from kg.serve_pool import CHUNK

    frames = server.pool.ask(req)
    _, head = await frames.__anext__()
    headers = {
        "ETag": tag,
        "Cache-Control": "no-cache",
        "Content-Type": media_type(head["format"]),
        "Vary": "Accept",
        **extra(head["more"]),
    }
    body: list[bytes] = []
    size = 0
    async for kind, payload in frames:
        if kind == "end":
            return Response(b"".join(body), headers=headers)
        body.append(payload)
        size += len(payload)
        if size >= CHUNK:
            break

    async def rest():
        for piece in body:
            yield piece
        async for kind, payload in frames:
            if kind == "data":
                yield payload

    return StreamingResponse(rest(), headers=headers)


async def _stored(request):
    """A stored query: parameters bound as ``kg query NAME -p ...`` binds them, paged."""
    server: Server = request.app.state.server
    name = request.path_params["name"]
    request.state.kg_query = name
    await server.fresh()
    query = server.stored_queries().get(name)
    if query is None:
        from kg.query_params import closest

        near = closest(name, list(server.stored_queries()))
        hint = f" Did you mean {near!r}?" if near else ""
        raise HttpError(404, f"no stored query {name[:60]!r} (see GET /queries).{hint}")
    items = list(request.query_params.multi_items())
    inferred = _view(items)
    fmt = _one(items, "format")
    items = [(k, v) for k, v in items if k not in ("view", "format")]
    params, limit, offset = page_params(items, server.options.max_rows)
    formats = negotiate(request.headers.get("accept", ""), fmt)
    if formats["rows"] is None and formats["graph"] is None:
        raise HttpError(406, _not_acceptable())
    tag = etag(
        server.build_id,
        "queries",
        name,
        query.text,
        sorted(params.items()),
        inferred,
        formats,
        limit,
        offset,
    )
    if matches(request.headers.get("if-none-match"), tag):
        return _not_modified(tag)
    req = Request(
        "run", name=name, params=params, inferred=inferred, fmt=formats, limit=limit, offset=offset
    )
    path = request.url.path
    listed = list(request.query_params.multi_items())

    def links(more: bool) -> dict[str, str]:
        return {"Link": next_link(path, listed, limit, offset)} if more else {}

    return await _relay(server, req, tag, links)


async def _list_queries(request):
    from starlette.responses import JSONResponse

    server: Server = request.app.state.server
    listed = [
        {
            "name": q.name,
            "path": f"/queries/{q.name}",
            "summary": q.summary,
            "description": q.description,
            "tags": q.tags,
            "parameters": [
                {"name": p.name, "type": p.type_label, "required": p.required, "default": p.default}
                for p in q.params
            ],
        }
        for q in sorted(server.stored_queries().values(), key=lambda q: q.name)
    ]
    return JSONResponse(listed, headers={"Cache-Control": "no-cache"})


async def _health(request):
    from starlette.responses import JSONResponse

    server: Server = request.app.state.server
    await server.fresh()
    return JSONResponse(server.status(), headers={"Cache-Control": "no-store"})


async def _description(request, server: Server):
    """The SPARQL 1.1 Service Description of this endpoint, in Turtle (or N-Triples)."""
    from starlette.responses import Response

    from kg.results import render

    sd = "http://www.w3.org/ns/sparql-service-description#"
    formats = "http://www.w3.org/ns/formats/"
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    endpoint = Term.iri(str(request.url.replace(query="")))
    dataset, default = Term("bnode", "dataset"), Term("bnode", "default")
    triples = [
        (endpoint, Term.iri(rdf_type), Term.iri(sd + "Service")),
        (endpoint, Term.iri(sd + "endpoint"), endpoint),
        (endpoint, Term.iri(sd + "supportedLanguage"), Term.iri(sd + "SPARQL11Query")),
        *(
            (endpoint, Term.iri(sd + "resultFormat"), Term.iri(formats + f))
            for f in (
                "SPARQL_Results_JSON",
                "SPARQL_Results_XML",
                "SPARQL_Results_CSV",
                "SPARQL_Results_TSV",
                "Turtle",
                "N-Triples",
                "JSON-LD",
            )
        ),
        (endpoint, Term.iri(sd + "defaultDataset"), dataset),
        (dataset, Term.iri(rdf_type), Term.iri(sd + "Dataset")),
        (dataset, Term.iri(sd + "defaultGraph"), default),
        (default, Term.iri(rdf_type), Term.iri(sd + "Graph")),
    ]
    fmt = negotiate(request.headers.get("accept", ""), None)["graph"]
    fmt = "nt" if fmt == "nt" else "turtle"
    text = render(Result(triples=triples), fmt)
    return Response(text, headers={"Content-Type": media_type(fmt), "Cache-Control": "no-cache"})


class Guard:
    """Outermost ASGI layer: refuses an oversize query string (413) and writes the
    access log, one JSON object a line (time, method, path, status, bytes, ms, query
    name or hash, client)."""

    def __init__(self, app, *, max_bytes: int, log):
        self.app, self.max_bytes, self.log = app, max_bytes, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status, sent = 0, 0

        async def sending(message):
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            if len(scope.get("query_string", b"")) > self.max_bytes:
                response = _json_error(413, _too_big(self.max_bytes))
                await response(scope, receive, sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            line = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "bytes": sent,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "query": scope.get("state", {}).get("kg_query"),
                "client": f"{client[0]}:{client[1]}" if client else None,
            }
            with contextlib.suppress(OSError, ValueError):  # a full disk must not stop answers
                self.log.write(json.dumps(line) + "\n")  # line-buffered: one write a line


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
        http="httptools" if _importable("httptools") else "h11",
        access_log=False,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
    )

    async def main() -> None:
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
