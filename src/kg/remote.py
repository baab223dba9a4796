"""A remote SPARQL 1.1 endpoint as a :class:`kg.store.Store`, so that stored queries run
there with the same parameter checks as on the compiled store.

:class:`RemoteStore` speaks the SPARQL 1.1 Protocol (a form-encoded POST; answers read
as SPARQL JSON or XML for SELECT/ASK and N-Triples or Turtle for CONSTRUCT/DESCRIBE) and
gives :class:`kg.results.Result` values, so :class:`kg.graph.KnowledgeGraph` resolves
labels, checks classes and binds parameters over it unchanged. Parameters are bound as
on Oxigraph: VALUES blocks built from typed terms (:func:`kg.sparql_text.bind_values`).
The HTTP itself (credentials, the time-out of a whole request, the size cap) is
:mod:`kg.remote_http`'s.

Views. ``kg push`` uploads one named graph per source, the ontology's, the union graph
when the build has one (:func:`kg.compile.make_union`) and the inferred graph under its
name (:data:`kg.namespaces.INFERRED_GRAPH`). A query picks its view with the protocol's
``default-graph-uri`` and ``named-graph-uri`` parameters, exactly as
:class:`kg.store_oxigraph.OxigraphStore` does with its dataset: the asserted view reads
the union graph (or, without one, every source and the ontology), the inferred view adds
the inferred graph, and ``GRAPH ?g`` sees the sources and the ontology. The graphs are
found on the endpoint itself (one ``SELECT DISTINCT ?g``, once per store object), not in
a local build: the endpoint may have been loaded by a bulk loader from ``kg export``, and
the machine asking may have no build at all. So the endpoint (or its dataset) should
hold kg's graphs only. An endpoint with no named graph at all is asked as it is.
Without the union graph (a store loaded from a plain ``kg export``), the asserted view
is every source and the ontology: a store that merges them as a bag (Oxigraph does)
then counts a triple stated by two sources twice, hence ``kg export --as-pushed``.

A ``kg serve`` (its answers carry ``X-KG-Build``) keeps kg's views itself, the inferences
in a graph no request can name: there a view is chosen by its ``view`` parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from kg.errors import QueryTextError, UsageError, printable, shown
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.netauth import check_url
from kg.remote_http import MESSAGE_MAX, RemoteError, Response, endpoint_name, send
from kg.results import Result
from kg.sparql_text import bind_values, check_dataset, undeclared_message, undeclared_prefixes
from kg.store import refuse_updates
from kg.terms import Term

#: What a query asks for: SPARQL results for SELECT/ASK, triples for CONSTRUCT/DESCRIBE.
ACCEPT = (
    "application/sparql-results+json, application/sparql-results+xml;q=0.9, "
    "application/n-triples;q=0.9, text/turtle;q=0.8"
)
_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"
#: For stores that give no rows for an empty GRAPH pattern (slower: reads the quads).
_GRAPHS_SCANNING = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


@dataclass(frozen=True)
class Layout:
    """The graphs of kg's views on an endpoint (see the module's docstring)."""

    named: list[str]  # GRAPH ?g sees these: the sources and the ontology
    union: list[str]  # the asserted view's default graph
    inferred: list[str]  # added to it in the inferred view (empty when not pushed)
    #: The endpoint is a ``kg serve``, which keeps kg's views itself and chooses one by
    #: its ``view`` parameter (its inferences live in no graph a request could name).
    kg_serve: bool = False

    @classmethod
    def of(cls, graphs: list[str], *, kg_serve: bool = False) -> Layout:
        named = sorted(g for g in graphs if g not in (UNION_GRAPH, INFERRED_GRAPH))
        union = [UNION_GRAPH] if UNION_GRAPH in graphs else named
        inferred = [INFERRED_GRAPH] if INFERRED_GRAPH in graphs else []
        return cls(named, union, inferred, kg_serve)

    def views(self, inferred: bool) -> tuple[list[str], list[str]]:
        """(default graphs, named graphs) of the asserted or the inferred view."""
        return self.union + (self.inferred if inferred else []), list(self.named)


class RemoteStore:
    """A SPARQL 1.1 endpoint answering as kg's compiled store does."""

    def __init__(self, endpoint: str, *, timeout: float = 60.0, services: tuple[str, ...] = ()):
        """*endpoint*: the query URL; *timeout*: seconds for each request; *services*:
        the endpoints a SERVICE clause may call (checked again on the bound text)."""
        self.endpoint = check_url(endpoint)
        self.timeout = timeout
        self._services = services

    @cached_property
    def layout(self) -> Layout:
        answer = self._post(_GRAPHS, None)
        kg_serve = bool(answer.headers and answer.headers.get("X-KG-Build"))
        rows = parse_answer(answer, self.endpoint).rows
        rows = rows or self._ask(_GRAPHS_SCANNING, None).rows
        # a graph name is an IRI; anything else a server gives (a blank node, a literal)
        # cannot be asked for by name, so it is not one of kg's graphs
        graphs = [g.value for g, *_ in rows if g is not None and g.kind == "uri"]
        return Layout.of(graphs, kg_serve=kg_serve)

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Term] | None = None,
        inferred: bool = True,
        prefixes: Mapping[str, str] | None = None,
    ) -> Result:
        refuse_updates(sparql)
        layout = self.layout
        dataset: tuple[list[str], list[str]] | str | None = None
        if layout.named and not check_dataset(sparql, prefixes, layout.named, ONTOLOGY_GRAPH):
            # FROM / FROM NAMED, when given, choose instead
            dataset = self._view(inferred)
        if bindings:
            bound = bind_values(sparql, {k: v.n3() for k, v in bindings.items()})
            if bound != sparql:  # checked again, as OxigraphStore does: see there why
                from kg.service import check_services

                check_services(bound, prefixes=prefixes, allowed=self._services)
            sparql = bound
        sent = _with_prefixes(sparql, prefixes)
        try:
            return self._ask(sent, dataset)
        except QueryTextError as exc:
            added = len(sent) - len(sparql)
            if not added:
                raise
            raise QueryTextError(
                f"{exc} (Columns on line 1 count the {added} characters of PREFIX "
                "declarations kg put before the query.)"
            ) from None

    def graph_names(self) -> list[str]:
        layout = self.layout
        return layout.named + [g for g in layout.union + layout.inferred if g not in layout.named]

    def count(self, graph: str | None = None) -> int:
        """Triples in *graph* on the endpoint, or in the inferred view."""
        if graph is None:
            text, dataset = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", self._view(True)
        else:
            text = bind_values(_COUNT, {"g": Term.iri(graph).n3()})
            dataset = None
        rows = self._ask(text, dataset).rows
        if not rows or rows[0][0] is None:
            return 0
        value = rows[0][0].value
        if not (value.isascii() and value.isdigit() and len(value) < 19):
            raise RemoteError(
                f"{endpoint_name(self.endpoint)} answered a COUNT with {shown(value)}, not a "
                "number of triples: is it a SPARQL 1.1 endpoint?"
            )
        return int(value)

    def dump(self, fmt: str, graphs: list[str]) -> str:
        raise UsageError(
            "kg does not export from a remote endpoint; export the local build instead."
        )

    def _view(self, inferred: bool) -> tuple[list[str], list[str]] | str:
        """The dataset of a view: its graphs, or a ``kg serve``'s name for it."""
        if self.layout.kg_serve:
            return "inferred" if inferred else "asserted"
        return self.layout.views(inferred)

    def _ask(self, text: str, dataset: tuple[list[str], list[str]] | str | None) -> Result:
        """POST *text* with the graphs of *dataset* (a view's name for a ``kg serve``;
        None: the endpoint's own dataset)."""
        return parse_answer(self._post(text, dataset), self.endpoint)

    def _post(self, text: str, dataset: tuple[list[str], list[str]] | str | None) -> Response:
        form: list[tuple[str, str]] = [("query", text)]
        if isinstance(dataset, str):
            form.append(("view", dataset))
        elif dataset is not None:
            default, named = dataset
            form += [("default-graph-uri", g) for g in default]
            form += [("named-graph-uri", g) for g in named]
        headers = {"Accept": ACCEPT, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            answer = send(
                "POST",
                self.endpoint,
                timeout=self.timeout,
                data=urlencode(form).encode("ascii"),
                headers=headers,
            )
        except RemoteError as exc:
            if exc.status == 400:  # the query text, as the server read it
                missing = undeclared_prefixes(text, None)
                if missing:
                    raise QueryTextError(undeclared_message(missing, None)) from None
                said = f": {exc.said}" if exc.said else ""
                raise QueryTextError(
                    f"the endpoint refused the query (HTTP 400){said}. Check the query text."
                ) from None
            raise
        return answer


def _with_prefixes(text: str, prefixes: Mapping[str, str] | None) -> str:
    """*text* with a PREFIX declaration for each predeclared prefix it uses without
    declaring, put on its first line so that the server's line numbers stay true."""
    if not prefixes:
        return text
    used = [p for p in undeclared_prefixes(text, None) if p in prefixes]
    declared = " ".join(f"PREFIX {p}: {Term.iri(prefixes[p]).n3()}" for p in used)
    return f"{declared} {text}" if declared else text


def parse_answer(answer: Response, url: str) -> Result:
    """*answer* as a :class:`Result`; anything that is not SPARQL results or RDF is an
    error saying what came instead."""
    import pyoxigraph as ox

    from kg.store_oxigraph import from_ox

    results = ox.QueryResultsFormat.from_media_type(answer.content_type or "none/none")
    rdf = ox.RdfFormat.from_media_type(answer.content_type or "none/none")
    try:
        if results is not None and results != ox.QueryResultsFormat.CSV:
            parsed = ox.parse_query_results(answer.body, format=results)
            if isinstance(parsed, ox.QueryBoolean):
                return Result(boolean=bool(parsed))
            names = [v.value for v in parsed.variables]
            rows = [tuple(from_ox(solution[name]) for name in names) for solution in parsed]
            return Result(vars=names, rows=rows)
        if rdf is not None and not rdf.supports_datasets:
            triples = [
                (from_ox(t.subject), from_ox(t.predicate), from_ox(t.object))
                for t in ox.parse(answer.body, format=rdf)
            ]
            return Result(triples=triples)
    except (SyntaxError, ValueError) as exc:
        raise RemoteError(
            f"{endpoint_name(url)} answered {answer.content_type} that cannot be read: "
            f"{printable(str(exc))[:MESSAGE_MAX]}."
        ) from None
    shown_type = answer.content_type or "no content type"
    raise RemoteError(
        f"{endpoint_name(url)} answered with {shown(shown_type)}, not SPARQL results or RDF: is "
        f"{shown(url, 120)} its SPARQL query URL (e.g. http://localhost:7878/query for "
        "Oxigraph, http://localhost:3030/DATASET/sparql for Fuseki)?"
    )
