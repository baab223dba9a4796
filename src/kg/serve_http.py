"""HTTP plumbing of ``kg serve``: content negotiation, media types, ETags, paging of the
stored-query routes, and errors as JSON. Pure functions over the request's parts (no
store, no pool), so every route (:mod:`kg.server`, :mod:`kg.serve_sparql`,
:mod:`kg.serve_queries`) negotiates and fails the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from kg.errors import KgError, QueryFailed, QueryTimeout, StorageError
from kg.serve_pool import NotAcceptable, Saturated, WorkerDied

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
FORMAT_OF = {
    **{t: f for f, t in {**ROW_TYPES, **GRAPH_TYPES}.items()},
    **{f: f for f in (*ROW_TYPES, *GRAPH_TYPES)},
    **_ALIASES,
}
#: Query-string names of /queries/NAME that are not the stored query's parameters.
RESERVED = ("limit", "offset", "format", "view")
DEFAULT_PAGE = 100


class HttpError(Exception):
    """An answer other than 200, with a message for people."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, dict(headers or {})


def negotiate(accept: str, format_param: str | None) -> dict[str, str | None]:
    """The format of a rows answer and of a graph answer, from ``format=`` (which wins)
    or the Accept header; None where nothing acceptable exists for that kind."""
    if format_param:
        fmt = FORMAT_OF.get(format_param.strip().lower())
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
            fmt = FORMAT_OF.get(media)
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


#: Characters of an error message sent at most: a message quoting a huge input stays small.
MESSAGE_MAX = 2000


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None):
    from starlette.responses import JSONResponse

    if len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "\u2026"
    return JSONResponse({"error": message, "status": status}, status, headers=dict(headers or {}))


async def http_error(request, exc: HttpError):
    return json_error(exc.status, str(exc), exc.headers)


async def starlette_error(request, exc):
    """Starlette's HTTPException (an unknown path, a method a route does not take)."""
    messages = {
        404: f"nothing at {request.url.path[:200]!r}; see /api for the routes.",
        405: f"{request.method} is not accepted here.",
    }
    status = exc.status_code
    return json_error(status, messages.get(status, str(exc.detail)), exc.headers)


async def kg_error(request, exc: KgError):
    status = error_status(exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return json_error(status, str(exc), headers)


async def read_body(request, cap: int, seconds: float) -> bytes:
    """The request body, refused with 413 past *cap* bytes (announced or sent), and with
    408 when it is not all there within *seconds* (a client that never finishes its
    body must not hold a connection for ever)."""
    import asyncio

    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise HttpError(413, too_big(cap))
    data = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                data += chunk
                if len(data) > cap:
                    raise HttpError(413, too_big(cap))
    except TimeoutError:
        raise HttpError(
            408, f"the request body was not sent within {seconds:g} s.", {"Connection": "close"}
        ) from None
    return bytes(data)


def too_big(cap: int) -> str:
    return f"the request is larger than {cap:,} bytes, the most this server accepts."


def view(items: list[tuple[str, str]]) -> bool:
    """True for the inferred view (the default), False for ``view=asserted``."""
    views = [v for k, v in items if k == "view"]
    if len(views) > 1 or (views and views[0] not in ("inferred", "asserted")):
        raise HttpError(400, "view must be given once, as 'inferred' (the default) or 'asserted'.")
    return not views or views[0] == "inferred"


def one(items: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in items if k == name]
    if len(values) > 1:
        raise HttpError(400, f"{name} is given {len(values)} times; give it once.")
    return values[0] if values else None


def not_acceptable() -> str:
    types = ", ".join((*ROW_TYPES.values(), *GRAPH_TYPES.values()))
    return f"none of the formats the request accepts can be served; this server writes: {types}."


def not_modified(tag: str):
    from starlette.responses import Response

    return Response(status_code=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
