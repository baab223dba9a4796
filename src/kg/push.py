"""Uploading the compiled graph to a remote store: the SPARQL 1.1 Graph Store Protocol.

Each graph goes up on its own: ``PUT <graph-store>?graph=<g>`` with the first chunk of
N-Triples replaces the graph, so pushing twice leaves the remote as pushing once; the
following chunks are ``POST``ed (added). A request that fails for a reason that may pass
(the connection, a 5xx, a 429, a time-out) is tried again after a growing pause; a chunk
is a set of triples, so sending it twice adds nothing.

Blank nodes: Graph Store Protocol servers read each request as a document of its own,
so ``_:b1`` in two requests would be two nodes (Oxigraph renames them per request).
Every triple of a graph that holds a blank node therefore goes in one request (with the
last chunk), which keeps the graph the same and its triple count equal. Blank nodes are
not shared across graphs on such servers: a view reads one union graph, so this only
matters when inferred triples mention blank nodes, which :func:`push` warns about.

Afterwards the triples of each graph are counted on the endpoint and compared with the
local store; a difference is reported with the graphs named.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pyoxigraph as ox

from kg.errors import QueryTimeout
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.netauth import check_url
from kg.remote import RemoteError, RemoteStore, send
from kg.store_oxigraph import OxigraphStore

CHUNK_TRIPLES = 50_000
ATTEMPTS = 4
N_TRIPLES = "application/n-triples"
#: kg's own graph names: on the endpoint, they must be this build's or absent.
_OWN = (UNION_GRAPH, INFERRED_GRAPH)

Progress = Callable[[int, int], None]  # (triples sent, triples in all)


@dataclass(frozen=True)
class GraphCount:
    """One graph's triples here and on the endpoint."""

    graph: str
    local: int
    remote: int

    @property
    def ok(self) -> bool:
        return self.local == self.remote


@dataclass
class PushReport:
    counts: list[GraphCount] = field(default_factory=list)
    triples: int = 0
    requests: int = 0
    retries: int = 0
    #: kg's own graphs (union, inferred) removed from the endpoint: this push has none.
    removed: list[str] = field(default_factory=list)
    #: Other graphs on the endpoint that this build does not have (left alone).
    extra: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mismatched(self) -> list[GraphCount]:
        return [c for c in self.counts if not c.ok]


def graphs_to_push(graphs: dict, *, inferred: bool = True, ontology: bool = True) -> list[str]:
    """The graphs a push uploads, from a build's manifest ``graphs`` (see kg.build): the
    sources, the ontology, the union graph when the build made one (it holds the
    ontology too, so it goes only with it) and the inferred graph."""
    names = [g for g in graphs["named"] if ontology or g != ONTOLOGY_GRAPH]
    if ontology:
        names += [g for g in graphs["union"] if g not in names]
    if inferred:
        names.append(graphs["inferred"])
    return names


def compare(local: dict[str, int], remote: dict[str, int]) -> list[GraphCount]:
    """Each graph's local and remote triple counts (0 for a graph missing remotely)."""
    return [GraphCount(g, n, remote.get(g, 0)) for g, n in local.items()]


class _Uploader:
    """Sends N-Triples chunks to one Graph Store endpoint, retrying what may pass."""

    def __init__(
        self,
        url: str,
        report: PushReport,
        *,
        timeout: float,
        attempts: int,
        backoff: float,
        sleep: Callable[[float], None],
    ):
        self.url, self.report, self.timeout = url, report, timeout
        self.attempts, self.backoff, self.sleep = attempts, backoff, sleep

    def address(self, graph: str) -> str:
        return self.url + ("&" if "?" in self.url else "?") + urlencode({"graph": graph})

    def send(self, method: str, graph: str, triples: list[ox.Triple] | None = None) -> int:
        """*method* to *graph* with *triples* as N-Triples; the HTTP status."""
        body = None if triples is None else ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        headers = {} if body is None else {"Content-Type": N_TRIPLES}
        for attempt in range(1, self.attempts + 1):
            self.report.requests += 1
            try:
                return send(
                    method,
                    self.address(graph),
                    timeout=self.timeout,
                    data=body,
                    headers=headers,
                    what="the graph store",
                ).status
            except (RemoteError, QueryTimeout) as exc:
                if method == "DELETE" and getattr(exc, "status", None) == 404:
                    return 404  # already gone
                may_pass = isinstance(exc, QueryTimeout) or exc.retriable
                if not may_pass:
                    raise
                if attempt == self.attempts and isinstance(exc, QueryTimeout):
                    raise QueryTimeout(  # exit 124, with the advice that fits a push
                        f"gave up on {method} of graph <{graph}> after {attempt} attempts: "
                        f"the graph store did not answer within {self.timeout:g} s; raise "
                        "--timeout, or send fewer triples per request (--chunk)."
                    ) from None
                if attempt == self.attempts:
                    raise RemoteError(
                        f"gave up on {method} of graph <{graph}> after {attempt} attempts: {exc}"
                    ) from None
                self.report.retries += 1
                pause = self.backoff * 2 ** (attempt - 1)
                after = getattr(exc, "retry_after", None)
                self.sleep(min(after, 30.0) if after is not None else pause)
        raise AssertionError("unreachable")

    def upload(
        self, graph: str, triples: Iterable[ox.Triple], size: int, sent: Callable[[int], None]
    ) -> bool:
        """Replace *graph* with *triples*, *size* per request; whether it holds blank nodes."""
        held: list[ox.Triple] = []  # with a blank node: all in one request (see above)
        chunk: list[ox.Triple] = []
        method = "PUT"
        for triple in triples:
            if isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode):
                held.append(triple)
                continue
            chunk.append(triple)
            if len(chunk) >= size:
                self.send(method, graph, chunk)
                sent(len(chunk))
                method, chunk = "POST", []
        last = chunk + held
        if last or method == "PUT":  # an empty graph is PUT empty: it replaces an old one
            self.send(method, graph, last)
            sent(len(last))
        return bool(held)


def push(
    store: OxigraphStore,
    graphs: dict,
    *,
    endpoint: str,
    graph_store: str | None = None,
    inferred: bool = True,
    ontology: bool = True,
    chunk: int = CHUNK_TRIPLES,
    timeout: float = 300.0,
    progress: Progress | None = None,
    attempts: int = ATTEMPTS,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Upload the graphs of a build (*store* and its manifest's *graphs*) through the Graph
    Store Protocol at *graph_store* (default: *endpoint*), then count each on the SPARQL
    query *endpoint* and compare. *timeout* bounds each request."""
    remote = RemoteStore(endpoint, timeout=timeout)
    report = PushReport()
    uploader = _Uploader(
        check_url(graph_store or endpoint, "--graph-store"),
        report,
        timeout=timeout,
        attempts=attempts,
        backoff=backoff,
        sleep=sleep,
    )
    names = graphs_to_push(graphs, inferred=inferred, ontology=ontology)
    local = {g: store.count(g) for g in names}
    total = sum(local.values())
    done = 0

    def sent(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    with_blank_nodes = set()
    for g in names:
        node = ox.DefaultGraph() if g == graphs["inferred"] else ox.NamedNode(g)
        quads = store.raw.quads_for_pattern(None, None, None, node)
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
        try:
            if uploader.upload(g, triples, chunk, sent):
                with_blank_nodes.add(g)
        finally:
            # Drop Oxigraph's iterator here, in this thread: a failed upload's traceback
            # would keep it alive until another thread (the request watchdog) lets go of
            # it, and pyoxigraph refuses to be dropped on another thread.
            triples.close()
            del triples, quads
    report.triples = total
    if INFERRED_GRAPH in with_blank_nodes and with_blank_nodes - {INFERRED_GRAPH}:
        report.warnings.append(
            "inferred triples mention blank nodes; a store that scopes blank node labels to "
            "each request (as the Graph Store Protocol allows) keeps them apart from the "
            "asserted ones, so inferred-view answers about them may differ there."
        )

    layout = remote.layout  # read now: after the upload
    there = {*layout.named, *layout.union, *layout.inferred}
    for g in _OWN:
        if g in there and g not in names:  # an older build's: the views would read it
            uploader.send("DELETE", g)
            report.removed.append(g)
    report.extra = sorted(there - set(names) - set(report.removed))
    remote_counts = {g: remote.count(g) for g in names}
    report.counts = compare(local, remote_counts)
    return report
