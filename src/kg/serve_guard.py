"""The outermost layers of ``kg serve``'s application: :class:`Guard` (the JSON-lines
access log, and answers cut off mid-stream ended without a traceback), CORS for the
listed origins only (:class:`ListedCors`), :class:`Oversize` (413 for an oversize query
string), and :func:`protocol`, uvicorn's HTTP protocol with a deadline for each request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time

from kg.serve_http import json_error, too_big

#: Seconds a client may take at most to send a request's head and body (less when the
#: query time-out is shorter): a client that never finishes holds no connection for ever.
REQUEST_SECONDS = 10.0


class Cut(Exception):
    """An answer failed after its first bytes were sent (the worker timed out while a
    slow client read it, or died): the connection is closed without the answer's end,
    so the client sees an incomplete answer, never a short one that looks whole."""


class Guard:
    """Outermost ASGI layer: writes the access log, one JSON object a line (time, method,
    path, status, bytes, ms, query name or hash, client); cuts an answer its client does
    not read within *seconds* a piece (which would hold its worker, and then its
    connection, for ever); and ends a :class:`Cut` answer with one line on standard
    error instead of a traceback."""

    def __init__(self, app, *, log, seconds: float = REQUEST_SECONDS):
        self.app, self.log, self.seconds = app, log, seconds

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
                try:
                    async with asyncio.timeout(self.seconds):
                        await send(message)
                except TimeoutError:
                    raise Cut(f"the client read nothing for {self.seconds:g} s.") from None
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Cut as exc:
            # Returning without the last body message makes uvicorn close the
            # connection (and say so, a line :class:`_Quiet` drops): the client sees
            # the answer is incomplete.
            print(f"kg serve: an answer to {scope.get('path')} was cut off: {exc}", file=sys.stderr)
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


class Oversize:
    """413 for a query string over *max_bytes* (inside CORS, so a listed origin can read
    the error)."""

    def __init__(self, app, *, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and len(scope.get("query_string", b"")) > self.max_bytes:
            return await json_error(413, too_big(self.max_bytes))(scope, receive, send)
        await self.app(scope, receive, send)


def _listed_cors():
    from starlette.datastructures import Headers
    from starlette.middleware.cors import CORSMiddleware

    class ListedCors(CORSMiddleware):
        """Starlette's CORS, but not a single CORS header for an origin that is not
        listed (Starlette adds ``Access-Control-Expose-Headers`` and, to a refused
        preflight, the allowed methods and headers): such a request is served as one
        without ``Origin``, and its preflight refused with a JSON 403."""

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is None or self.is_allowed_origin(origin=origin):
                return await super().__call__(scope, receive, send)
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                message = f"the origin {origin[:100]!r} is not allowed to call this server."
                return await json_error(403, message, {"Vary": "Origin"})(scope, receive, send)
            await self.app(scope, receive, send)

    return ListedCors


def middleware(*, max_bytes: int, log, cors: tuple[str, ...], seconds: float) -> list:
    """Starlette's middleware list: the guard outermost, then CORS when origins are
    listed (none listed: no CORS layer at all, so no CORS header is ever sent), then the
    size check."""
    from starlette.middleware import Middleware

    layers = [Middleware(Guard, log=log, seconds=seconds)]
    if cors:
        layers.append(
            Middleware(
                _listed_cors(),
                allow_origins=list(cors),
                allow_methods=["GET", "POST"],
                allow_headers=["Accept", "Content-Type", "If-None-Match"],
                expose_headers=["ETag", "Link", "Retry-After", "X-KG-Truncated", "X-KG-Cache"],
                max_age=600,
            )
        )
    layers.append(Middleware(Oversize, max_bytes=max_bytes))
    return layers


class _Quiet(logging.Filter):
    """Drops uvicorn's line for an answer :class:`Guard` cut off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def quiet_uvicorn() -> None:
    logging.getLogger("uvicorn.error").addFilter(_Quiet())


def protocol(seconds: float) -> type:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with a deadline: a
    connection must send a whole request head within *seconds* of opening or of its
    previous answer, else it is closed (with a 408 if it had begun one). uvicorn itself
    has no such limit, so a client sending its headers a byte at a time (slowloris), or
    nothing at all, would hold its connection for ever."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # pragma: no cover - httptools is a dependency of kg's server
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore

    late = _raw(408, "Request Timeout", f"the request was not sent within {seconds:g} s.")

    class Deadline(Base):  # type: ignore[misc, valid-type]
        _kg_timer = None
        _kg_begun = False

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._kg_arm()

        def data_received(self, data: bytes) -> None:
            self._kg_begun = True
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._kg_begun = False
            self._kg_arm()

        def connection_lost(self, exc) -> None:
            if self._kg_timer is not None:
                self._kg_timer.cancel()
            super().connection_lost(exc)

        def _kg_arm(self) -> None:
            if self._kg_timer is not None:
                self._kg_timer.cancel()
            self._kg_timer = self.loop.call_later(seconds, self._kg_expire)

        def _kg_expire(self) -> None:
            self._kg_timer = None
            answering = self.cycle is not None and not self.cycle.response_complete
            if answering or self.transport.is_closing():
                return  # a request is being answered: armed again when it is done
            if self._kg_begun:
                self.transport.write(late)
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            """A request the HTTP parser refuses, as JSON like every other error. The
            usual cause: a URL over 65,535 bytes, which the parser cannot take whatever
            ``max_request_bytes`` says."""
            if len(getattr(self, "url", b"")) > 65_000:
                msg = "the URL is too long for this server; POST the query instead."
            else:
                msg = "the request is not valid HTTP/1.1."
            self.transport.write(_raw(400, "Bad Request", msg))
            self.transport.close()

    return Deadline


def _raw(status: int, reason: str, message: str) -> bytes:
    """A whole JSON error answer as bytes, for the protocol layer (below any app)."""
    body = json.dumps({"error": message, "status": status}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
