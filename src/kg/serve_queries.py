"""``/queries``: every stored query as ``GET /queries/NAME?param=value``, and their list.

Parameters are bound as ``kg query NAME -p ...`` binds them (typed, validated terms,
never text spliced into the query); answers are paged with ``limit``/``offset`` and a
``Link: rel="next"`` header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kg.serve_cache import cacheable, relay
from kg.serve_http import (
    HttpError,
    etag,
    matches,
    negotiate,
    next_link,
    not_acceptable,
    not_modified,
    one,
    page_params,
    view,
)
from kg.serve_pool import Request

if TYPE_CHECKING:
    from kg.server import Server


async def stored(request):
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
    inferred = view(items)
    fmt = one(items, "format")
    items = [(k, v) for k, v in items if k not in ("view", "format")]
    params, limit, offset = page_params(items, server.options.max_rows)
    formats = negotiate(request.headers.get("accept", ""), fmt)
    if formats["rows"] is None and formats["graph"] is None:
        raise HttpError(406, not_acceptable())
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
        return not_modified(tag)
    req = Request(
        "run", name=name, params=params, inferred=inferred, fmt=formats, limit=limit, offset=offset
    )
    path = request.url.path
    listed = list(request.query_params.multi_items())

    def links(more: bool) -> dict[str, str]:
        return {"Link": next_link(path, listed, limit, offset)} if more else {}

    return await relay(server, request, req, tag, links, cache=cacheable(query.text))


async def list_queries(request):
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
