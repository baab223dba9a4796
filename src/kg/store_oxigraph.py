"""The compiled engine: an Oxigraph store on disk, opened read-only for queries.

``kg build`` writes it (see :mod:`kg.build`); this module only reads it. Parameters are
bound with VALUES blocks built from typed terms (see :mod:`kg.sparql_text`), views are
chosen with ``default_graph``/``named_graphs``, so the asserted and inferred views share
one store.
Importing this module costs pyoxigraph alone: no rdflib.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from kg.errors import QueryFailed, QueryTextError
from kg.namespaces import ONTOLOGY_GRAPH
from kg.results import Result
from kg.sparql_text import bind_values, check_dataset, undeclared_message, undeclared_prefixes
from kg.store import refuse_updates
from kg.terms import Term

T = TypeVar("T")
RDF_FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "turtle": ox.RdfFormat.TURTLE,
}


class OxigraphStore:
    """A built store. *graphs* names them: ``named`` (one per source, and the ontology),
    ``union`` (the graphs whose union is the asserted data as a set, so that a triple stated
    by two sources is one triple, as in an RDF merge: see :func:`kg.compile.make_union`)
    and ``inferred``."""

    def __init__(self, store: ox.Store, graphs: dict, *, services: tuple[str, ...] = ()):
        self._store = store
        self._named = [ox.NamedNode(g) for g in graphs["named"]]
        self._union = [ox.NamedNode(g) for g in graphs["union"]]
        # The closure lives in the store's default graph (three indexes, not six); kg shows
        # it under the name graphs["inferred"] (e.g. in N-Quads exports).
        self._inferred_name = graphs["inferred"]
        self._inferred = [ox.DefaultGraph()]
        self._services = services

    @classmethod
    def open(cls, path: Path, graphs: dict, *, services: tuple[str, ...] = ()) -> OxigraphStore:
        """The store at *path*, read-only; *services* are the endpoints SERVICE may call."""
        return cls(ox.Store.read_only(str(path)), graphs, services=services)

    @property
    def raw(self) -> ox.Store:
        return self._store

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Term] | None = None,
        inferred: bool = True,
        prefixes: Mapping[str, str] | None = None,
        dataset: tuple[list[str], list[str]] | None = None,
    ) -> Result:
        """*dataset*, (default graphs, named graphs) of this project, replaces both the
        view and the query's FROM / FROM NAMED (the SPARQL 1.1 Protocol's
        ``default-graph-uri`` / ``named-graph-uri``: the caller checks the names)."""
        refuse_updates(sparql)
        graphs = [g.value for g in self._named]
        if dataset is not None:
            check_dataset(sparql, prefixes, graphs, ONTOLOGY_GRAPH)
            default = [ox.NamedNode(g) for g in dataset[0]]
            named = [ox.NamedNode(g) for g in dataset[1]]
        elif check_dataset(sparql, prefixes, graphs, ONTOLOGY_GRAPH):
            # FROM / FROM NAMED choose the graphs: Oxigraph would let the view's graphs
            # given below override them, as if the clauses were not there.
            default, named = None, None
        else:
            default, named = self.views(inferred)
        if bindings:  # typed, validated terms, serialised: see kg.sparql_text
            bound = bind_values(sparql, {k: v.n3() for k, v in bindings.items()})
            if bound != sparql:
                # The text Oxigraph will read, checked again: a query whose lexing is
                # ambiguous (``<'a>``: an IRI, or less-than and a string?) could have had
                # a VALUES block placed where a bound value reads as query text.
                from kg.service import check_services

                check_services(bound, prefixes=prefixes, allowed=self._services)
            sparql = bound
        try:
            res = self._store.query(
                sparql,
                default_graph=default,
                named_graphs=named,
                prefixes=dict(prefixes) if prefixes else None,
            )
        except SyntaxError as exc:
            missing = undeclared_prefixes(sparql, prefixes)
            if missing:  # Oxigraph lists every character a name may hold instead
                raise QueryTextError(undeclared_message(missing, prefixes)) from None
            raise QueryTextError(_syntax_message(str(exc))) from None
        except (OSError, RuntimeError) as exc:
            raise _failed(exc) from None
        if isinstance(res, ox.QueryBoolean):
            return Result(boolean=bool(res))
        # Rows and triples are produced as they are read, so a large result can be
        # streamed to the output in bounded memory (see kg.results.render_chunks).
        if isinstance(res, ox.QueryTriples):
            return Result(
                triples=_reading(
                    (from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)) for t in res
                )
            )
        names = [v.value for v in res.variables]
        width = range(len(names))
        return Result(
            vars=names, rows=_reading(tuple(from_ox(sol[i]) for i in width) for sol in res)
        )

    def _graph(self, name: str):
        return ox.DefaultGraph() if name == self._inferred_name else ox.NamedNode(name)

    def views(self, inferred: bool) -> tuple[list[ox.NamedNode], list[ox.NamedNode]]:
        """(default graphs, named graphs) of the asserted or the inferred view."""
        return self._union + (self._inferred if inferred else []), list(self._named)

    def graph_names(self) -> list[str]:
        return [g.value for g in self._named] + [self._inferred_name]

    def count(self, graph: str | None = None) -> int:
        """Triples in *graph*, or in the whole graph (asserted union plus inferred)."""
        graphs = [self._graph(graph)] if graph else self._union + self._inferred
        res = self._store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=graphs)
        return int(next(iter(res))[0].value)

    def dump_lines(self, fmt: str, graphs: list[str], *, batch: int = 50_000) -> Iterator[str]:
        """:meth:`dump` in N-Quads (*fmt* ``nquads``) or N-Triples (``nt``), *batch* quads
        at a time: a line format may be cut anywhere between lines, so an export of any
        size streams in bounded memory (blank nodes keep the store's labels throughout)."""
        if fmt not in ("nquads", "nt"):
            raise ValueError(f"not a line format: {fmt}")
        piece: list = []
        for g in graphs:
            for q in self._store.quads_for_pattern(None, None, None, self._graph(g)):
                piece.append(
                    ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(g))
                    if fmt == "nquads"
                    else ox.Triple(q.subject, q.predicate, q.object)
                )
                if len(piece) >= batch:
                    yield (ox.serialize(piece, format=RDF_FORMATS[fmt]) or b"").decode("utf-8")
                    piece = []
        if piece:
            yield (ox.serialize(piece, format=RDF_FORMATS[fmt]) or b"").decode("utf-8")

    def dump(self, fmt: str, graphs: list[str]) -> str:
        """Quads of *graphs* (named graphs kept) in N-Quads/TriG, or their union as triples."""
        out = bytearray()
        quads = (
            ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(g))
            for g in graphs
            for q in self._store.quads_for_pattern(None, None, None, self._graph(g))
        )
        if fmt in ("nquads", "trig"):
            out += ox.serialize(quads, format=RDF_FORMATS[fmt]) or b""
        else:
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
            out += ox.serialize(triples, format=RDF_FORMATS[fmt]) or b""
        return out.decode("utf-8")


def _reading(items: Iterator[T]) -> Iterator[T]:
    """*items*, with an engine failure met while evaluating (a SERVICE that cannot be
    reached, a store read error) turned into a message for people."""
    try:
        yield from items
    except (OSError, RuntimeError) as exc:  # RuntimeError: e.g. a SERVICE's junk answer
        raise _failed(exc) from None


def _failed(exc: Exception) -> QueryFailed:
    return QueryFailed(
        f"the query could not be answered: {exc}. If it calls a SERVICE, check that the "
        "endpoint is up and reachable."
    )


def _syntax_message(text: str) -> str:
    """Oxigraph's 'error at 3:14: expected ...' as a sentence naming line and column."""
    match = re.match(r"error at (\d+):(\d+): (.*)", text, re.S)
    if match:
        line, col, why = match.groups()
        return f"SPARQL syntax error at line {line}, column {col}: {why}. Check the query text."
    return f"SPARQL syntax error: {text}. Check the query text."


def to_ox(term: Term):
    if term.kind == "uri":
        return ox.NamedNode(term.value)
    if term.kind == "bnode":
        return ox.BlankNode(term.value)
    if term.lang:
        return ox.Literal(term.value, language=term.lang)
    if term.datatype:
        return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
    return ox.Literal(term.value)


def from_ox(node) -> Term | None:
    if node is None:
        return None
    if isinstance(node, ox.NamedNode):
        return Term.iri(node.value)
    if isinstance(node, ox.BlankNode):
        return Term("bnode", node.value)
    return Term.literal(node.value, node.datatype.value, node.language)
