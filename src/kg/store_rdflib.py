"""The reference engine: an in-memory rdflib Dataset queried with rdflib's SPARQL.

Slow at scale but simple and standard; the compiled Oxigraph store is tested against
it (same answers) and it serves programs that want plain rdflib graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.term import Node

from kg.errors import QueryTextError, UsageError
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from kg.results import Result
from kg.sparql_text import check_dataset, undeclared_message, undeclared_prefixes
from kg.store import READ_ONLY
from kg.terms import Term


class RdflibStore:
    """The reference engine: an in-memory rdflib Dataset, queried with rdflib's SPARQL."""

    def __init__(
        self, graphs: Mapping[str, Graph], inferred: Graph | Callable[[], Graph] | None = None
    ):
        """*graphs*: asserted graphs by name; *inferred*: the OWL RL graph, or a callable
        computing it on first use (so that asserted-only queries never reason)."""
        self._graphs = dict(graphs)
        self._inferred = inferred
        self._views: dict[bool, Dataset] = {}

    def _all(self, inferred: bool) -> dict[str, Graph]:
        graphs = dict(self._graphs)
        if inferred and self._inferred is not None:
            if callable(self._inferred):
                self._inferred = self._inferred()
            graphs[INFERRED_GRAPH] = self._inferred
        return graphs

    def dataset(self, *, inferred: bool = False) -> Dataset:
        if inferred not in self._views:
            ds = Dataset(default_union=True)
            for name, graph in self._all(inferred).items():
                # as in the compiled store, the closure is in the default graph: part of
                # the inferred view, not one of the graphs GRAPH ?g ranges over
                target = ds.default_graph if name == INFERRED_GRAPH else ds.graph(URIRef(name))
                for triple in graph:
                    target.add(triple)
            self._views[inferred] = ds
        return self._views[inferred]

    def graph_names(self) -> list[str]:
        return list(self._all(True))

    def dump(self, fmt: str, graphs: list[str]) -> str:
        ds = Dataset()
        for name in graphs:
            target = ds.graph(URIRef(name))
            for triple in self._all(True)[name]:
                target.add(triple)
        return ds.serialize(format=fmt)

    def count(self, graph: str | None = None) -> int:
        graphs = self._all(graph is None or graph == INFERRED_GRAPH)
        if graph is not None:
            return len(graphs[graph])
        return sum(len(g) for g in graphs.values())

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Term] | None = None,
        inferred: bool = True,
        prefixes: Mapping[str, str] | None = None,
    ) -> Result:
        import rdflib.plugins.sparql

        # FROM / FROM NAMED name graphs of the dataset; rdflib would otherwise fetch them
        # over HTTP (kg goes on the network only for an allowed SERVICE).
        rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
        parsed = prepare(sparql, prefixes)
        check_dataset(sparql, prefixes, list(self._graphs), ONTOLOGY_GRAPH)
        init = {Variable(k): to_rdflib(v) for k, v in (bindings or {}).items()}
        res = self.dataset(inferred=inferred).query(parsed, initBindings=init)
        if res.type == "ASK":
            return Result(boolean=bool(res.askAnswer))
        if res.type in ("CONSTRUCT", "DESCRIBE"):
            return Result(triples=[tuple(from_rdflib(t) for t in triple) for triple in res.graph])
        names = [str(v) for v in res.vars]
        rows = [tuple(from_rdflib(row[i]) for i in range(len(names))) for row in res]
        return Result(vars=names, rows=rows)


def prepare(sparql: str, prefixes: Mapping[str, str] | None = None):  # -> rdflib Query
    """Parse *sparql* as a query; updates are refused, syntax errors point at the line."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        return prepareQuery(sparql, initNs=dict(prefixes or {}))
    except ParseException as exc:
        try:
            parseUpdate(sparql)
        except Exception:
            _refuse_undeclared(sparql, prefixes)
            raise QueryTextError(
                f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}. "
                "Check the query text near that place."
            ) from None
        raise UsageError(READ_ONLY) from None
    except Exception as exc:  # e.g. an undefined prefix
        _refuse_undeclared(sparql, prefixes)
        raise QueryTextError(f"SPARQL error: {exc}. Fix the query text.") from None


def _refuse_undeclared(sparql: str, prefixes: Mapping[str, str] | None) -> None:
    """The message for prefixes the query uses without declaring them, as the compiled
    engine words it."""
    missing = undeclared_prefixes(sparql, prefixes)
    if missing:
        raise QueryTextError(undeclared_message(missing, prefixes)) from None


def to_rdflib(term: Term) -> Node:
    if term.kind == "uri":
        return URIRef(term.value)
    if term.kind == "bnode":
        return BNode(term.value)
    datatype = URIRef(term.datatype) if term.datatype else None
    return Literal(term.value, lang=term.lang, datatype=datatype)


def from_rdflib(node: Node | None) -> Term | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        return Term.iri(str(node))
    if isinstance(node, BNode):
        return Term("bnode", str(node))
    if isinstance(node, Literal):
        return Term.literal(str(node), str(node.datatype) if node.datatype else None, node.language)
    return Term.literal(str(node))
