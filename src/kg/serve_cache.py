"""Answers of ``kg serve``: relayed from a query worker, and kept in an answer cache.

A build never changes, so an answer is a function of the build and the request, which
is exactly what the ETag hashes (build, route, parameters, query text, view, dataset,
format, page). :class:`AnswerCache` keeps rendered answers under their ETag, least
recently used first out, bounded in bytes; a hit costs no worker at all. What is kept:
complete 200 answers of deterministic queries (see :func:`cacheable`) no bigger than an
eighth of the cache. Errors, time-outs and cut-off streams never reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kg.errors import KgError
from kg.serve_guard import Cut
from kg.serve_http import media_type
from kg.serve_pool import Request

if TYPE_CHECKING:
    from kg.server import Server

#: Functions and clauses whose answer may change from one run to the next. Looked for
#: anywhere in the text (a string or a comment too): a false alarm only costs a miss.
_VOLATILE = re.compile(r"\b(?:SERVICE|RAND|NOW|UUID|STRUUID|BNODE)\b", re.IGNORECASE)
_CONSTRUCT = re.compile(r"\bCONSTRUCT\b", re.IGNORECASE)
#: Bytes an entry costs beyond its body and headers (the key, the tuple, the dict).
_OVERHEAD = 256

#: Seconds an answer may take to begin before kg watches for its client leaving.
WATCH_AFTER = 0.2


@lru_cache(maxsize=1024)  # the same texts come again and again: scan each once
def cacheable(text: str) -> bool:
    """Whether the answer to query *text* is the same on every run over one build.

    Conservative: refused when a volatile function or SERVICE is named anywhere, and for
    a CONSTRUCT whose text holds a blank node (``_:x`` or ``[``), since its template
    mints fresh blank nodes on every run."""
    if _VOLATILE.search(text):
        return False
    return not (_CONSTRUCT.search(text) and ("_:" in text or "[" in text))


class AnswerCache:
    """Rendered answers by ETag, least recently used evicted first, at most *max_bytes*."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        #: An answer bigger than this is never kept: one answer cannot empty the cache.
        self.entry_max = max_bytes // 8
        self._entries: OrderedDict[str, tuple[dict[str, str], bytes, int]] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, tag: str) -> tuple[dict[str, str], bytes] | None:
        entry = self._entries.get(tag)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(tag)
        self.hits += 1
        return entry[0], entry[1]

    def put(self, tag: str, headers: Mapping[str, str], body: bytes) -> None:
        cost = len(body) + sum(len(k) + len(v) for k, v in headers.items()) + _OVERHEAD
        if cost > self.entry_max:
            return
        old = self._entries.pop(tag, None)
        if old is not None:
            self.size -= old[2]
        self._entries[tag] = (dict(headers), body, cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, _, freed) = self._entries.popitem(last=False)
            self.size -= freed

    def clear(self) -> None:
        """Forget every answer (a new build is served: none of them can match again)."""
        self._entries.clear()
        self.size = 0

    def status(self) -> dict[str, int]:
        return {
            "entries": len(self._entries),
            "bytes": self.size,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }


async def relay(
    server: Server,
    request: Any,
    req: Request,
    tag: str,
    extra: Callable[[bool], dict[str, str]],
    *,
    cache: bool,
) -> Any:
    """The answer to *req* as the response: from the cache when there, else from a
    worker, whole when small, streamed when large, and kept when *cache* allows.
    *extra* gives the headers that depend on whether rows were left out. A client that
    leaves before the answer begins stops its query (its worker is replaced), instead of
    holding the worker until the time-out."""
    from starlette.responses import Response, StreamingResponse

    from kg.serve_pool import CHUNK

    store = server.cache if cache else None
    if store is not None:
        found = store.get(tag)
        if found is not None:
            return Response(found[1], headers={**found[0], "X-KG-Cache": "hit"})
    frames = server.pool.ask(req)
    first = asyncio.ensure_future(frames.__anext__())
    try:
        # Most answers begin within milliseconds: only a query still running after
        # WATCH_AFTER gets a second task watching for the client leaving (a task per
        # request cost the event loop a tenth of a millisecond).
        await asyncio.wait((first,), timeout=WATCH_AFTER)
        if not first.done():
            gone = asyncio.ensure_future(_disconnected(request.receive))
            try:
                await asyncio.wait((first, gone), return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
    except BaseException:
        first.cancel()
        raise
    if not first.done():  # the client went away: nobody reads the answer, stop the query
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        await frames.aclose()
        return Response(status_code=499)  # "client closed request", for the access log
    _, head = first.result()
    kept = {
        "ETag": tag,
        "Cache-Control": "no-cache",
        "Content-Type": media_type(head["format"]),
        "Vary": "Accept",
        # Says "a kg server, which chooses its views by view=": kg.remote reads it.
        "X-KG-Build": server.build_id,
        **extra(head["more"]),
    }
    headers = {**kept, "X-KG-Cache": "miss"} if server.cache is not None else kept
    body: list[bytes] = []
    size = 0
    async for kind, payload in frames:
        if kind == "end":
            data = b"".join(body)
            if store is not None:
                store.put(tag, kept, data)
            return Response(data, headers=headers)
        body.append(payload)
        size += len(payload)
        if size >= CHUNK:
            break

    async def rest():
        keep = store is not None and size <= store.entry_max
        pieces, total = list(body) if keep else [], size
        for piece in body:
            yield piece
        try:
            async for kind, payload in frames:
                if kind == "data":
                    yield payload
                    total += len(payload)
                    if keep and store is not None and total <= store.entry_max:
                        pieces.append(payload)
                    else:
                        keep, pieces = False, []
                elif kind == "end" and keep and store is not None:
                    store.put(tag, kept, b"".join(pieces))
        except KgError as exc:  # the status line is sent: end the connection, not the answer
            raise Cut(str(exc)) from None

    return StreamingResponse(rest(), headers=headers)


async def _disconnected(receive) -> None:
    """Return once the client has closed the connection (its body is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass
