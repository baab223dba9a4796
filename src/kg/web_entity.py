"""The entity page (``/id/PATH``): what the graph says about one entity, and who says it.

Every statement is shown with the sources that state it: a source is the named graph
a statement is in (one per file of ``data/``), and its title is the ``kg:title`` the
source gives itself in that graph (as in ``kg stats`` and the stored query
``sources-of``). The entity's IRI reaches the queries as a bound term, never as text
pasted into them, whatever the path holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kg.errors import UsageError
from kg.namespaces import KG, ONTOLOGY_GRAPH, RDF_TYPE, RDFS_LABEL, WD, compact
from kg.resolve import check_iri
from kg.terms import Term
from kg.web_html import Html, entity_path, h, page, term_html, text

if TYPE_CHECKING:
    from kg.server import Runner

_OUT = f"""
SELECT ?p ?o ?g (SAMPLE(?t) AS ?title) (SAMPLE(?pl) AS ?plabel) (SAMPLE(?ol) AS ?olabel)
WHERE {{
  GRAPH ?g {{ ?_s ?p ?o }}
  FILTER(?g != <{ONTOLOGY_GRAPH}>)
  OPTIONAL {{ GRAPH ?g {{ ?g kg:title ?t }} }}
  OPTIONAL {{ ?p rdfs:label ?pl }}
  OPTIONAL {{ ?o rdfs:label ?ol }}
}} GROUP BY ?p ?o ?g ORDER BY ?p ?o ?g"""
_IN = f"""
SELECT ?x ?p ?g (SAMPLE(?t) AS ?title) (SAMPLE(?pl) AS ?plabel) (SAMPLE(?xl) AS ?xlabel)
WHERE {{
  GRAPH ?g {{ ?x ?p ?_s }}
  FILTER(?g != <{ONTOLOGY_GRAPH}>)
  OPTIONAL {{ GRAPH ?g {{ ?g kg:title ?t }} }}
  OPTIONAL {{ ?p rdfs:label ?pl }}
  OPTIONAL {{ ?x rdfs:label ?xl }}
}} GROUP BY ?x ?p ?g ORDER BY ?p ?x ?g"""
#: A state's page links to its timeline (the stored query ``timeline`` takes states).
_IS_STATE = "ASK { ?_s a kg:State }"

Source = tuple[str, str]  # (graph IRI, title or "")


def iri_of(path: str, base: str, page: str = "id") -> str:
    """The IRI an ``/id/PATH`` (or ``/PAGE/PATH``) page is about: the base and the path."""
    if not path:
        raise UsageError(f"give an entity's path after /{page}/ (e.g. /{page}/azerbaijan).")
    return check_iri(base + path, path)


async def entity_page(request: Request, runner: Runner) -> HTMLResponse:
    base = runner.project.base
    root = request.scope.get("root_path", "")
    iri = iri_of(request.path_params["path"], base)
    bound = {"_s": Term.iri(iri)}
    out = (await runner.sparql(_OUT, bindings=bound, inferred=False)).rows
    inc = (await runner.sparql(_IN, bindings=bound, inferred=False)).rows
    if not out and not inc:
        return not_found(request, runner, iri, search=True)
    is_state = (await runner.sparql(_IS_STATE, bindings=bound)).boolean

    labels = sorted({o.value for p, o, *_ in out if p and o and p.value == RDFS_LABEL})
    classes = sorted({o.value for p, o, *_ in out if p and o and p.value == RDF_TYPE})
    wikidata = sorted({o.value for p, o, *_ in out if p and o and p.value == KG + "wikidata"})
    title = labels[0] if labels else compact(iri)

    facts: dict[tuple, list[Source]] = {}
    for p, o, g, t, pl, ol in out:
        shown = None if p.value == RDF_TYPE else _v(ol)  # a class by its CURIE
        key = (p.value, o.kind, o.value, o.lang, o.datatype, _v(pl), shown)
        facts.setdefault(key, []).append((g.value, _v(t)))
    backs: dict[tuple, list[Source]] = {}
    for x, p, g, t, pl, xl in inc:
        key = (p.value, x.kind, x.value, _v(pl), _v(xl))
        backs.setdefault(key, []).append((g.value, _v(t)))

    def sources(found: list[Source]) -> Html:
        return h(
            "ul",
            {"class": "sources"},
            [
                h("li", None, term_html("uri", g, base, label=t or None, root=root))
                for g, t in found
            ],
        )

    def prop(iri_: str, label: str | None) -> Html:
        return h("span", {"title": compact(iri_)}, label or compact(iri_))

    out_rows = [
        h(
            "tr",
            None,
            h("th", {"scope": "row"}, prop(p, pl)),
            h("td", None, term_html(kind, value, base, label=ol, root=root), _annot(lang, dt)),
            h("td", None, sources(found)),
        )
        for (p, kind, value, lang, dt, pl, ol), found in facts.items()
    ]
    in_rows = [
        h(
            "tr",
            None,
            h("td", None, term_html(kind, value, base, label=xl, root=root)),
            h("th", {"scope": "row"}, prop(p, pl)),
            h("td", None, sources(found)),
        )
        for (p, kind, value, pl, xl), found in backs.items()
    ]
    path = entity_path(iri, base)
    facts_about = [
        h("dt", None, "IRI"),
        h("dd", None, h("code", None, iri)),
        h("dt", None, "Class" if len(classes) == 1 else "Classes"),
        h("dd", None, ", ".join(compact(c) for c in classes) or "none stated"),
    ]
    if len(labels) > 1:
        facts_about += [h("dt", None, "Labels"), h("dd", None, "; ".join(labels))]
    if wikidata:
        facts_about += [
            h("dt", None, "Wikidata"),
            h("dd", None, [_wikidata_link(w) for w in wikidata]),
        ]
    if is_state:
        facts_about += [
            h("dt", None, "Timeline"),
            h("dd", None, h("a", {"href": f"{root}/timeline/{path}"}, f"Timeline of {title}")),
        ]
    return page(
        request,
        title,
        h("h1", None, title),
        h("dl", {"class": "about"}, facts_about),
        h("h2", {"id": "statements"}, "Statements"),
        _table(
            "What the graph says about it, with the sources that say it",
            ("Property", "Value", "Sources"),
            out_rows,
        ),
        h("h2", {"id": "incoming"}, "Mentioned by") if in_rows else None,
        _table("Statements that point to it", ("Subject", "Property", "Sources"), in_rows)
        if in_rows
        else None,
        project=runner.project.name,
    )


def _v(term: Term | None) -> str | None:
    return term.value if term is not None else None


def _annot(lang: str | None, datatype: str | None) -> Html:
    """A literal's language or datatype, small, after its value."""
    if lang:
        return h("span", {"class": "dt"}, f" @{lang}")
    if datatype:
        return h("span", {"class": "dt"}, f" {compact(datatype)}")
    return text("")


def _wikidata_link(iri: str) -> Html:
    """A link to the Wikidata page of *iri*; another value (a build kept despite its
    shapes may hold ``javascript:...`` here) is linked only when it is an http(s) IRI."""
    if iri.startswith(WD):
        item = iri[len(WD) :]
        href = f"https://www.wikidata.org/wiki/{quote(item)}"
        return h("a", {"href": href, "class": "ext"}, item)
    if iri.startswith(("http://", "https://")):
        return h("a", {"href": iri, "class": "ext"}, iri)
    return text(iri)


def _table(caption: str, heads: tuple[str, ...], rows: list[Html]) -> Html:
    return h(
        "table",
        {"class": "facts"},
        h("caption", None, caption),
        h("thead", None, h("tr", None, [h("th", {"scope": "col"}, c) for c in heads])),
        h("tbody", None, rows),
    )


def not_found(request: Request, runner: Runner, iri: str, *, search: bool = False) -> HTMLResponse:
    """The 404 page of an entity the graph knows nothing about (the entity and timeline
    pages), with a hint where to look instead when *search*."""
    root = request.scope.get("root_path", "")
    hint = h(
        "p",
        None,
        "Try the search box above, or a ",
        h("a", {"href": f"{root}/api"}, "stored query"),
        ".",
    )
    return page(
        request,
        "Not found",
        h("h1", None, "Nothing known about ", h("code", None, compact(iri))),
        h("p", {"role": "alert", "class": "error"}, f"The graph holds no statement about {iri}."),
        *([hint] if search else []),
        status=404,
        project=runner.project.name,
    )
