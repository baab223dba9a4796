"""``/sparql``: the SPARQL 1.1 Protocol over the served build, and its service description.

GET ``?query=``, POST form-encoded or direct (``application/sparql-query``); updates are
refused (read-only). ``default-graph-uri`` / ``named-graph-uri`` choose the dataset as
``FROM`` / ``FROM NAMED`` do in ``kg sparql``: only the project's graphs (its sources and
the ontology) may be named, read as stored, without inferences. When a request gives
them and the query has its own ``FROM``, the parameters win, as the Protocol (section
2.1.4) says they must.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kg.results import Result
from kg.serve_cache import cacheable, relay
from kg.serve_http import (
    FORMAT_OF,
    HttpError,
    etag,
    form_items,
    matches,
    media_type,
    negotiate,
    not_acceptable,
    not_modified,
    read_body,
    too_big,
    view,
)
from kg.serve_pool import Request
from kg.terms import Term

if TYPE_CHECKING:
    from kg.server import Server

#: The Protocol's parameters naming the graphs a query reads.
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")


async def sparql(request):
    """The SPARQL 1.1 Protocol: GET ?query=, POST form-encoded or direct."""
    from kg.store import READ_ONLY

    server: Server = request.app.state.server
    cap = server.options.max_request_bytes
    items = list(request.query_params.multi_items())
    text: str | None = None
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await read_body(request, cap, server.options.request_seconds)
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
    dataset = None
    if names & set(DATASET_PARAMS):
        dataset = tuple(tuple(v for k, v in items if k == p) for p in DATASET_PARAMS)
    queries = [v for k, v in items if k == "query"]
    if len(queries) + (text is not None) > 1:
        raise HttpError(400, "give one query (the query parameter once, or the body).")
    inferred = view(items)
    if text is None and not queries:
        if request.method == "GET":
            return await _description(request, server)
        raise HttpError(400, "no query: send query=... or a body of type application/sparql-query.")
    text = text if text is not None else queries[0]
    if len(text.encode("utf-8", "surrogatepass")) > cap:
        raise HttpError(413, too_big(cap))
    request.state.kg_query = (
        "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    )
    # SPARQLWrapper sends format= twice (format=tsv&format=text/tab-separated-values):
    # the first one kg knows counts.
    given = [v for k, v in items if k == "format"]
    known = [v for v in given if v.strip().lower() in FORMAT_OF]
    formats = negotiate(request.headers.get("accept", ""), (known or given or [None])[0])
    if formats["rows"] is None and formats["graph"] is None:
        raise HttpError(406, not_acceptable())
    await server.fresh()
    tag = etag(server.build_id, "sparql", text, inferred, dataset, formats, server.options.max_rows)
    if matches(request.headers.get("if-none-match"), tag):
        return not_modified(tag)
    req = Request(
        "sparql",
        text=text,
        inferred=inferred,
        prefixes=True,
        fmt=formats,
        limit=server.options.max_rows,
        dataset=dataset,  # type: ignore[arg-type]
    )
    truncated = lambda more: {"X-KG-Truncated": "true"} if more else {}  # noqa: E731
    return await relay(server, request, req, tag, truncated, cache=cacheable(text))


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
