"""HTML for kg's web pages, escaped by construction.

The graph's data may hold hostile strings (a label ``<script>...``), so pages are never
built by pasting text into markup: :func:`h` escapes every string it is given and only
passes through :class:`Html` values, which only :func:`h` and :func:`raw` make. Forgetting
to escape then takes an explicit ``raw(...)``, easy to find in a review.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kg.errors import KgError
from kg.namespaces import PREFIXES, compact

#: Elements with no content and no end tag.
_VOID = {"br", "hr", "img", "input", "link", "meta", "col", "source", "wbr"}


class Html(str):
    """Markup that is already safe: what :func:`h` returns."""


def raw(markup: str) -> Html:
    """*markup* taken as safe HTML: only for constant text written in kg's own source."""
    return Html(markup)


def text(value: object) -> Html:
    """*value* as HTML: Html as it is, None as nothing, lists joined, anything else escaped."""
    if value is None or value is False:
        return Html("")
    if isinstance(value, Html):
        return value
    if isinstance(value, str | int | float):
        return Html(html.escape(str(value)))
    return Html("".join(text(v) for v in value))  # type: ignore[union-attr]


def h(tag: str, attrs: dict[str, object] | None = None, *children: object) -> Html:
    """``<tag attrs>children</tag>`` with every attribute value and child escaped.

    An attribute whose value is None or False is left out; True writes it bare."""
    parts = [tag]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{html.escape(str(value))}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Html(opening)
    return Html(opening + text(children) + f"</{tag}>")


def page(
    request: Request,
    title: str,
    *body: object,
    status: int = 200,
    project: str = "kg",
    scripts: tuple[str, ...] = (),
) -> HTMLResponse:
    """A whole page: the same head, navigation and footer around *body*."""
    root = request.scope.get("root_path", "")
    head = h(
        "head",
        None,
        h("meta", {"charset": "utf-8"}),
        h("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        h("title", None, f"{title} · {project}"),
        h("link", {"rel": "stylesheet", "href": f"{root}/static/kg.css"}),
        h("link", {"rel": "icon", "href": "data:,"}),  # no favicon request
        [h("script", {"src": f"{root}/static/{s}", "defer": True}) for s in scripts],
    )
    nav = h(
        "header",
        {"class": "top"},
        h("a", {"class": "skip", "href": "#main"}, "Skip to content"),
        h(
            "nav",
            {"aria-label": "Main"},
            h("a", {"class": "brand", "href": f"{root}/"}, project),
            h("a", {"href": f"{root}/"}, "Query"),
            h("a", {"href": f"{root}/api"}, "Stored queries"),
        ),
        h(
            "form",
            {"role": "search", "action": f"{root}/search", "method": "get", "class": "find"},
            h("label", {"for": "find-q"}, "Find an entity"),
            h("input", {"id": "find-q", "name": "q", "type": "search", "required": True}),
            h("button", {"type": "submit"}, "Find"),
        ),
    )
    body_html = h("body", None, nav, h("main", {"id": "main"}, *body))
    document = "<!doctype html>\n" + h("html", {"lang": "en"}, head, body_html)
    return HTMLResponse(document, status_code=status)


def error_page(request: Request, error: Exception, *, project: str = "kg") -> HTMLResponse:
    """The message of a :class:`KgError` on a page, with the status that fits it."""
    status = status_of(error)
    title = {503: "Try again later", 504: "Too slow"}.get(status, "Cannot show this")
    return page(
        request,
        title,
        h("h1", None, title),
        h("p", {"role": "alert", "class": "error"}, str(error)),
        status=status,
        project=project,
    )


def status_of(error: Exception) -> int:
    """The HTTP status of an error, as the JSON routes give it (:func:`kg.server.error_status`:
    400 for what a person got wrong, 504 for a time-out, 503 when saturated...)."""
    from kg.server import error_status

    return error_status(error) if isinstance(error, KgError) else 500


def entity_path(iri: str, base: str) -> str | None:
    """The path after ``/id/`` of *iri*, when it lies under the project's *base*."""
    if iri.startswith(base) and len(iri) > len(base):
        return quote(iri[len(base) :], safe="/:@!$&'()*+,;=-._~")
    return None


def term_html(
    kind: str, value: str, base: str, *, label: str | None = None, root: str = ""
) -> Html:
    """A result term for people: an IRI under *base* links to its entity page (shown by
    its label when known), another IRI is shown as a CURIE linking to itself, a literal
    as its text."""
    if kind != "uri":
        return text(value)
    shown = label or compact(value)
    path = entity_path(value, base)
    if path is not None:
        return h("a", {"href": f"{root}/id/{path}", "title": compact(value)}, shown)
    if value.startswith(("http://", "https://")):
        return h("a", {"href": value, "class": "ext"}, shown)
    return text(shown)


def prefixes_json() -> str:
    """kg's prefixes as JSON, for the scripts that show IRIs as CURIEs."""
    return json.dumps(PREFIXES)
