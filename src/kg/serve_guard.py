"""The outermost layers of ``kg serve``'s application: :class:`Guard` (413 for an
oversize query string, the JSON-lines access log) and CORS for the listed origins only.
"""

from __future__ import annotations

import contextlib
import json
import time

from kg.serve_http import json_error, too_big


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
                response = json_error(413, too_big(self.max_bytes))
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


def middleware(*, max_bytes: int, log, cors: tuple[str, ...]) -> list:
    """Starlette's middleware list: the guard outermost, then CORS when origins are
    listed (none listed: no CORS layer at all, so no CORS header is ever sent)."""
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    layers = [Middleware(Guard, max_bytes=max_bytes, log=log)]
    if cors:
        layers.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors),
                allow_methods=["GET", "POST"],
                allow_headers=["Accept", "Content-Type", "If-None-Match"],
                expose_headers=["ETag", "Link", "Retry-After", "X-KG-Truncated", "X-KG-Cache"],
                max_age=600,
            )
        )
    return layers
