"""The web pages of ``kg serve``: a query page, the API page, entity and timeline pages.

:func:`routes` is what :mod:`kg.server` mounts. Every page is rendered on the server
from what the :class:`Runner` answers, so the entity and timeline pages work without
JavaScript; the query page and the API page's forms use a small script of kg's own
(``/static/kg.js``) to call the JSON routes and show the rows as a table. Nothing is
loaded from elsewhere: no CDN, no web fonts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kg.errors import KgError
from kg.openapi import document
from kg.terms import Term
from kg.web_html import Html, entity_path, error_page, h, page, prefixes_json, term_html

if TYPE_CHECKING:
    from kg.server import Runner


#: The query the query page opens with: it answers on the shipped graph, and shows
#: links, labels and dates.
EXAMPLE = """\
# kg's prefixes (kg:, ex:, rdfs:, xsd:...) are predeclared.
SELECT ?fact ?label (MIN(?start) AS ?from) (MAX(?end) AS ?until) WHERE {
  ?fact (kg:party|kg:member|kg:supporter|kg:agreedBy) ex:azerbaijan ;
        rdfs:label ?label ;
        kg:startDate ?start .
  OPTIONAL { ?fact kg:endDate ?end }
}
GROUP BY ?fact ?label
ORDER BY ?from"""

_SEARCH = """
SELECT ?entity (SAMPLE(?l) AS ?label) (SAMPLE(?c) AS ?class) WHERE {
  ?entity rdfs:label ?l .
  FILTER(STRSTARTS(STR(?entity), ?_base) && CONTAINS(LCASE(STR(?l)), LCASE(?_q)))
  OPTIONAL { ?entity a ?c }
}
GROUP BY ?entity ORDER BY LCASE(?label) LIMIT 100"""


def routes(runner: Runner) -> list[BaseRoute]:
    """The pages' routes, over *runner*; :mod:`kg.server` adds the JSON and SPARQL ones."""
    from kg.web_entity import entity_page
    from kg.web_timeline import timeline_page

    def guarded(handler: Callable[[Request, Runner], Any]):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, runner)
            except KgError as exc:
                return error_page(request, exc, project=_name(runner))

        return endpoint

    return [
        Route("/", guarded(query_page), methods=["GET", "HEAD"]),
        Route("/api", guarded(api_page), methods=["GET", "HEAD"]),
        Route("/openapi.json", guarded(openapi_json), methods=["GET", "HEAD"]),
        Route("/search", guarded(search_page), methods=["GET", "HEAD"]),
        Route("/id/{path:path}", guarded(entity_page), methods=["GET", "HEAD"]),
        Route("/timeline/{path:path}", guarded(timeline_page), methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(packages=[("kg", "static")]), name="static"),
    ]


def _name(runner: Runner) -> str:
    return runner.project.name or "kg"


def server_url(request: Request) -> str:
    """The base URL clients reached this server at (without a trailing slash)."""
    return str(request.base_url).rstrip("/")


def api_document(request: Request, runner: Runner) -> dict[str, Any]:
    return document(runner.stored_queries(), server=server_url(request), title=_name(runner))


async def openapi_json(request: Request, runner: Runner) -> Response:
    return JSONResponse(api_document(request, runner))


async def query_page(request: Request, runner: Runner) -> HTMLResponse:
    """Write a SPARQL query, run it (button or Ctrl+Enter), see the rows."""
    root = request.scope.get("root_path", "")
    given = request.query_params.get("query")
    form = h(
        "form",
        {
            "id": "sparql-form",
            "action": f"{root}/sparql",
            "method": "get",
            "data-base": runner.project.base,
            "data-prefixes": prefixes_json(),
            "data-root": root,
        },
        h("label", {"for": "query"}, "SPARQL query"),
        h(
            "p",
            {"class": "hint", "id": "query-hint"},
            "Read-only SELECT, ASK, CONSTRUCT or DESCRIBE. Press Ctrl+Enter to run.",
        ),
        h(
            "textarea",
            {
                "id": "query",
                "name": "query",
                "rows": 10,
                "spellcheck": "false",
                "aria-describedby": "query-hint",
                "required": True,
            },
            given if given is not None else EXAMPLE,
        ),
        h(
            "div",
            {"class": "actions"},
            h("button", {"type": "submit"}, "Run"),
            h("output", {"id": "status", "aria-live": "polite"}),
        ),
    )
    return page(
        request,
        "Query",
        h("h1", None, "Query the graph"),
        form,
        h("div", {"id": "error", "role": "alert", "class": "error", "hidden": True}),
        h("section", {"id": "results", "aria-label": "Results", "tabindex": "-1"}),
        h(
            "p",
            {"class": "more"},
            "Or run a ",
            h("a", {"href": f"{root}/api"}, "stored query"),
            " with typed parameters.",
        ),
        project=_name(runner),
        scripts=("kg.js",),
    )


async def api_page(request: Request, runner: Runner) -> HTMLResponse:
    """The OpenAPI document for people: every route, and a form per stored query."""
    doc = api_document(request, runner)
    root = request.scope.get("root_path", "")
    sections = []
    toc = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            anchor = op["operationId"]
            toc.append(h("li", None, h("a", {"href": f"#{anchor}"}, f"{method.upper()} {path}")))
            sections.append(_operation(root, path, method, op, runner.project.base))
    return page(
        request,
        "Stored queries and API",
        h("h1", None, "Stored queries and API"),
        h(
            "p",
            None,
            doc["info"]["description"],
            " The machine-readable form is ",
            h("a", {"href": f"{root}/openapi.json"}, "openapi.json"),
            " (OpenAPI 3.1).",
        ),
        h("nav", {"aria-label": "Routes", "class": "toc"}, h("ul", None, toc)),
        sections,
        project=_name(runner),
        scripts=("kg.js",),
    )


def _operation(root: str, path: str, method: str, op: dict[str, Any], base: str) -> Html:
    anchor = op["operationId"]
    params = op.get("parameters", [])
    rows = [
        h(
            "tr",
            None,
            h("th", {"scope": "row"}, h("code", None, p["name"])),
            h("td", None, p["in"]),
            h("td", None, _type_of(p["schema"])),
            h("td", None, "yes" if p.get("required") else "no"),
            h("td", None, h("code", None, p["schema"].get("default", ""))),
            h("td", None, p["schema"].get("description") or p.get("description", "")),
        )
        for p in params
    ]
    table = h(
        "table",
        {"class": "params"},
        h("caption", None, "Parameters"),
        h(
            "thead",
            None,
            h(
                "tr",
                None,
                [
                    h("th", {"scope": "col"}, c)
                    for c in ("Name", "In", "Type", "Required", "Default", "Takes")
                ],
            ),
        ),
        h("tbody", None, rows),
    )
    form = None
    if op["operationId"].startswith("query_"):
        form = _query_form(root, path, op, base)
    return h(
        "section",
        {"class": "op", "id": anchor, "aria-labelledby": f"{anchor}-h"},
        h("h2", {"id": f"{anchor}-h"}, h("span", {"class": "method"}, method.upper()), " ", path),
        h("p", {"class": "summary"}, op.get("summary", "")),
        h("p", None, op["description"]) if op.get("description") else None,
        h("p", {"class": "tags"}, "Tags: ", ", ".join(op.get("tags", [])))
        if op.get("tags")
        else None,
        table if params else None,
        form,
    )


def _query_form(root: str, path: str, op: dict[str, Any], base: str) -> Html:
    anchor = op["operationId"]
    fields = []
    for p in op["parameters"]:
        if p["name"] == "format":
            continue  # the page shows rows as a table; the format is for programs
        fid = f"{anchor}-{p['name']}"
        default = p["schema"].get("default")
        label = h("label", {"for": fid}, p["name"])
        if "enum" in p["schema"]:
            choices = [
                h("option", {"value": v, "selected": v == default}, v) for v in p["schema"]["enum"]
            ]
            field = h("select", {"id": fid, "name": p["name"]}, choices)
        else:
            field = h(
                "input",
                {
                    "id": fid,
                    "name": p["name"],
                    "type": "text",
                    "placeholder": "" if default is None else str(default),
                    "required": p.get("required", False),
                    "inputmode": "numeric" if p["name"] in ("limit", "offset") else None,
                },
            )
        fields.append(h("div", {"class": "field"}, label, field))
    return h(
        "form",
        {
            "class": "run",
            "action": f"{root}{path}",
            "method": "get",
            "data-base": base,
            "data-prefixes": prefixes_json(),
            "data-root": root,
            "aria-label": f"Run {path}",
        },
        h("div", {"class": "fields"}, fields),
        h(
            "div",
            {"class": "actions"},
            h("button", {"type": "submit"}, "Run ", path.rsplit("/", 1)[-1]),
            h("output", {"aria-live": "polite"}),
        ),
        h("div", {"role": "alert", "class": "error", "hidden": True}),
        h("div", {"class": "results"}),
    )


_PATTERNS = {
    "^[0-9]{4}(-[0-9]{2})?$": "year or month",
    "^[0-9]{4}$": "year",
    "^[0-9]{4}-[0-9]{2}$": "month",
}


def _type_of(schema: dict[str, Any]) -> str:
    """A schema in a few words: "date or year or month", "integer", "one of: a, b"."""
    if "anyOf" in schema:
        return " or ".join(_type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return "one of: " + ", ".join(map(str, schema["enum"]))
    if "pattern" in schema:
        return _PATTERNS.get(schema["pattern"], f"text matching {schema['pattern']}")
    return str(schema.get("format") or schema.get("type", ""))


async def search_page(request: Request, runner: Runner) -> HTMLResponse:
    """Entities whose label holds the text asked for (any case), linked to their pages."""
    q = request.query_params.get("q", "").strip()
    root = request.scope.get("root_path", "")
    base = runner.project.base
    items: list[Html] = []
    if q:
        result = await runner.sparql(
            _SEARCH,
            bindings={"_q": Term.literal(q[:200]), "_base": Term.literal(base)},
            inferred=False,
        )
        for entity, label, cls in result.rows:
            if entity is None:
                continue
            items.append(
                h(
                    "li",
                    None,
                    term_html(
                        "uri", entity.value, base, label=label.value if label else None, root=root
                    ),
                    h("span", {"class": "class"}, " (", cls.short(), ")") if cls else None,
                )
            )
    found = (
        h("ul", {"class": "found"}, items)
        if items
        else h("p", None, f"No entity's label holds {q!r}." if q else "Type part of a label.")
    )
    return page(
        request,
        f"Find {q}" if q else "Find",
        h("h1", None, "Entities whose label holds ", h("q", None, q) if q else "…"),
        found,
        project=_name(runner),
    )


__all__ = ["EXAMPLE", "entity_path", "routes"]
