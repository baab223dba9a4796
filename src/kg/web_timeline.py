"""The timeline page (``/timeline/PATH``): a state's dated story as a picture and a table.

The rows are those of the stored query ``timeline`` (the same as ``kg query timeline -p
state=...``); the picture is an SVG drawn here on the server, so it needs no script, and
the same rows follow as a table for screen readers and for copying. A date is drawn as
the span it stands for: a year is a year wide, a month a month wide, and a date the
sources disagree on ("2004\u20132005 (sources disagree)") spans from the first to the last.
Events of one fact (a membership joined, then left) are joined by a line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kg.namespaces import compact
from kg.terms import Term
from kg.web_entity import iri_of, not_found
from kg.web_html import Html, entity_path, h, page, term_html

if TYPE_CHECKING:
    from kg.server import Runner

_DATE = re.compile(r"(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_ENDS = ("ended", "left", "stopped")
_STARTS = ("began", "joined", "in force", "signed")
_KNOWN = "ASK { { ?_s ?p ?o } UNION { ?x ?p ?_s } }"

# Geometry of the picture, in SVG user units (it scales to the page's width).
WIDTH, PAD, AXIS, ROW = 960, 24, 40, 30
CHAR = 6.9  # the width of a label's character, about (13px system-ui)


@dataclass
class Event:
    date: str
    event: str
    what: str
    sources: str
    node: str | None
    start: float  # fractional years
    end: float


def span(date: str) -> tuple[float, float] | None:
    """The time *date* covers, in fractional years: "1992" -> (1992, 1993); a range
    "2004\u20132005 (...)" from the start of the first to the end of the last; None when the
    text holds no date kg can place."""
    found = [_one(m) for m in _DATE.finditer(date.split(" (")[0])]
    if not found:
        return None
    return found[0][0], found[-1][1]


def _one(match: re.Match[str]) -> tuple[float, float]:
    year, month, day = match.group(1), match.group(2), match.group(3)
    y = float(year)
    if month is None:
        return y, y + 1
    m = min(max(int(month), 1), 12)
    if day is None:
        return y + (m - 1) / 12, y + m / 12
    d = min(max(int(day), 1), 31)
    start = y + (m - 1) / 12 + (d - 1) / 365
    return start, start + 1 / 365


def events(rows) -> list[Event]:
    """The timeline query's rows (date, event, what, sources, node) that have a date."""
    found = []
    for date, event, what, srcs, node in rows:
        if date is None:
            continue
        covered = span(date.value)
        if covered is None:
            continue
        found.append(
            Event(
                date=date.value,
                event=event.value if event else "",
                what=what.value if what else (compact(node.value) if node else ""),
                sources=srcs.value if srcs else "",
                node=node.value if node else None,
                start=covered[0],
                end=covered[1],
            )
        )
    return found


def _step(years: float) -> int:
    """Years between two ticks of the axis: about ten ticks at most."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if years / step <= 12:
            return step
    return 100 * math.ceil(years / 1200)


def svg(items: list[Event], name: str) -> Html:
    """The picture of *items*: an axis of years, one row per event."""
    first = min(e.start for e in items)
    last = max(e.end for e in items)
    step = _step(max(last - first, 1))
    lo = math.floor(first / step) * step
    hi = max(math.ceil(last / step) * step, lo + step)
    height = AXIS + ROW * len(items) + PAD

    def x(year: float) -> float:
        return round(PAD + (year - lo) / (hi - lo) * (WIDTH - 2 * PAD), 1)

    ticks = []
    for year in range(lo, hi + 1, step):
        ticks.append(
            h(
                "line",
                {
                    "class": "grid",
                    "x1": x(year),
                    "x2": x(year),
                    "y1": AXIS - 8,
                    "y2": height - PAD / 2,
                },
            )
        )
        ticks.append(
            h(
                "text",
                {"class": "year", "x": x(year), "y": AXIS - 16, "text-anchor": "middle"},
                year,
            )
        )
    spans: dict[str, tuple[float, float]] = {}
    for e in items:
        if e.node:
            a, b = spans.get(e.node, (e.start, e.end))
            spans[e.node] = (min(a, e.start), max(b, e.end))
    rows = []
    for i, e in enumerate(items):
        top = AXIS + i * ROW
        mid = top + ROW / 2
        kind = _kind(e.event)
        parts: list[Html] = []
        if i % 2 == 0:
            parts.append(
                h("rect", {"class": "band", "x": 0, "y": top, "width": WIDTH, "height": ROW})
            )
        a, b = spans.get(e.node or "", (e.start, e.end))
        if e.node and e.end == b and a < e.start and x(b) - x(a) > 12:
            # the last event of a fact with earlier ones: a line back to its first
            parts.append(h("line", {"class": "life", "x1": x(a), "x2": x(b), "y1": mid, "y2": mid}))
        x0, x1 = x(e.start), x(e.end)
        if x1 - x0 >= 8:
            parts.append(
                h(
                    "rect",
                    {
                        "class": f"mark {kind}",
                        "x": x0,
                        "y": mid - 6,
                        "width": round(x1 - x0, 1),
                        "height": 12,
                        "rx": 3,
                    },
                )
            )
        else:
            parts.append(
                h(
                    "circle",
                    {"class": f"mark {kind}", "cx": round((x0 + x1) / 2, 1), "cy": mid, "r": 6},
                )
            )
        label = f"{e.date} · {e.event} · {e.what}"
        right = WIDTH - x1 > x0  # the label goes on the side with more room
        room = int(((WIDTH - PAD - x1) if right else x0) / CHAR) - 2
        cut = label if len(label) <= room else label[: room - 1] + "…"
        parts.append(
            h(
                "text",
                {
                    "class": "label",
                    "x": x1 + 10 if right else x0 - 10,
                    "y": mid + 4,
                    "text-anchor": "start" if right else "end",
                },
                cut,
            )
        )
        rows.append(h("g", {"class": "row"}, h("title", None, label), parts))
    return h(
        "svg",
        {
            "viewBox": f"0 0 {WIDTH} {height}",
            "class": "timeline",
            "role": "img",
            "aria-labelledby": "tl-title tl-desc",
        },
        h("title", {"id": "tl-title"}, f"Timeline of {name}"),
        h(
            "desc",
            {"id": "tl-desc"},
            f"{len(items)} dated events from {items[0].date} to {items[-1].date}; "
            "the table below lists them.",
        ),
        ticks,
        rows,
    )


_LEGEND = h(
    "figcaption",
    {"class": "legend"},
    [
        h("span", {"class": f"key {kind}"}, what)
        for kind, what in (
            ("start", "a beginning"),
            ("end", "an end"),
            ("point", "another event"),
            ("life", "from a fact's first event to its last"),
        )
    ],
)


def _kind(event: str) -> str:
    if any(word in event for word in _ENDS):
        return "end"
    if any(word in event for word in _STARTS):
        return "start"
    return "point"


async def timeline_page(request: Request, runner: Runner) -> HTMLResponse:
    base = runner.project.base
    root = request.scope.get("root_path", "")
    iri = iri_of(request.path_params["path"], base, "timeline")
    known = await runner.sparql(_KNOWN, bindings={"_s": Term.iri(iri)}, inferred=False)
    if not known.boolean:
        return not_found(request, runner, iri)
    params = {k: v for k, v in request.query_params.items() if k != "state" and v}
    result = await runner.run("timeline", {**params, "state": iri})
    items = events(result.rows)
    labels = await runner.sparql(
        "SELECT ?l WHERE { ?_s rdfs:label ?l } ORDER BY ?l LIMIT 1",
        bindings={"_s": Term.iri(iri)},
        inferred=False,
    )
    name = labels.rows[0][0].value if labels.rows and labels.rows[0][0] else compact(iri)
    path = entity_path(iri, base)
    intro = h(
        "p",
        None,
        "The dated story of ",
        h("a", {"href": f"{root}/id/{path}"}, name),
        ", from the stored query ",
        h("a", {"href": f"{root}/api#query_timeline"}, "timeline"),
        ". A year is drawn a year wide; a date the sources disagree on spans their range.",
    )
    if not items:
        return page(
            request,
            f"Timeline of {name}",
            h("h1", None, f"Timeline of {name}"),
            intro,
            h("p", None, "No dated events."),
            project=runner.project.name,
        )
    table = h(
        "table",
        {"class": "facts"},
        h("caption", None, f"The {len(items)} events of the picture"),
        h(
            "thead",
            None,
            h(
                "tr",
                None,
                [h("th", {"scope": "col"}, c) for c in ("Date", "Event", "What", "Sources")],
            ),
        ),
        h(
            "tbody",
            None,
            [
                h(
                    "tr",
                    None,
                    h("td", {"class": "date"}, e.date),
                    h("td", None, e.event),
                    h(
                        "td",
                        None,
                        term_html("uri", e.node, base, label=e.what, root=root)
                        if e.node
                        else e.what,
                    ),
                    h("td", None, _sources(e.sources, base, root)),
                )
                for e in items
            ],
        ),
    )
    return page(
        request,
        f"Timeline of {name}",
        h("h1", None, f"Timeline of {name}"),
        intro,
        h("figure", {"class": "chart"}, svg(items, name), _LEGEND),
        table,
        project=runner.project.name,
    )


def _sources(text: str, base: str, root: str) -> Html:
    """The query's "source value; source value" list, each source linked to its page."""
    items = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        src, _, value = part.partition(" ")
        items.append(
            h("li", None, term_html("uri", base + src, base, label=src, root=root), " ", value)
        )
    return h("ul", {"class": "sources"}, items)
