"""A remote SPARQL 1.1 endpoint as a :class:`kg.store.Store`, so that stored queries run
there with the same parameter checks as on the compiled store.

:class:`RemoteStore` speaks the SPARQL 1.1 Protocol (a form-encoded POST; answers read
as SPARQL JSON or XML for SELECT/ASK and N-Triples or Turtle for CONSTRUCT/DESCRIBE) and
gives :class:`kg.results.Result` values, so :class:`kg.graph.KnowledgeGraph` resolves
labels, checks classes and binds parameters over it unchanged. Parameters are bound as
on Oxigraph: VALUES blocks built from typed terms (:func:`kg.sparql_text.bind_values`).

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
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from urllib.parse import urlencode, urlsplit

from kg.errors import KgError, QueryTextError, QueryTimeout, UsageError, printable, shown
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.netauth import CREDENTIALS_HELP, authorization, check_url
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
_MESSAGE_MAX = 300  # characters of a server's error page shown
#: Bytes of an answer kg reads at most (SPARQL JSON of millions of rows).
MAX_ANSWER = 512 << 20


class RemoteError(KgError):
    """The endpoint could not be reached or gave no usable answer (exit 2). *retriable*
    says whether trying again later may help (a refused connection, a 5xx, a 429)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retriable: bool = False,
        retry_after: float | None = None,
        said: str = "",
    ):
        super().__init__(message)
        self.said = said  # the server's own message, trimmed
        self.status = status
        self.retriable = retriable
        self.retry_after = retry_after  # seconds, from the server's Retry-After


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: Message = field(default_factory=Message)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: a POST would turn into a GET without its query, and
    the credentials could go to another host. The 3xx is reported instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _Watchdog:
    """Shuts the request's connection down when *timeout* seconds have passed.

    A socket time-out bounds each read only: a server trickling a byte of its headers
    or body now and then would hold kg for ever. At the deadline the socket is shut
    down, which ends the read in progress; :func:`send` then reports the time-out."""

    def __init__(self, timeout: float):
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def connection(self, cls: type[http.client.HTTPConnection]):
        """*cls* made to report its socket here once connected (and shut it at once
        when the deadline passed while connecting)."""
        watch = self

        class Watched(cls):  # type: ignore[valid-type, misc]
            def connect(self) -> None:
                super().connect()
                with watch._lock:
                    watch._sockets.append(self.sock)
                    if watch.fired:
                        _shut(self.sock)

        return Watched

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread


def _opener(watch: _Watchdog) -> urllib.request.OpenerDirector:
    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(watch.connection(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(
                watch.connection(http.client.HTTPSConnection),
                req,
                context=self._context,
            )

    return urllib.request.build_opener(_NoRedirect, Http, Https)


def send(
    method: str,
    url: str,
    *,
    timeout: float,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "the endpoint",
) -> Response:
    """One HTTP request with the endpoint's credentials (see :mod:`kg.netauth`); the whole
    answer read within *timeout* seconds, at most :data:`MAX_ANSWER` bytes. Raises
    :class:`RemoteError` for a connection that fails, an HTTP error (with the server's
    message, trimmed) or an answer that is not HTTP, and :class:`QueryTimeout` when
    *timeout* passes."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    request.add_header("User-Agent", "kg (SPARQL 1.1 Protocol client)")
    auth = authorization(url)
    if auth:
        request.add_header("Authorization", auth)
    with _Watchdog(timeout) as watch:
        try:
            with _opener(watch).open(request, timeout=timeout) as answer:
                try:
                    body = _read(answer, url)
                finally:
                    if watch.fired:  # the body was cut short by the watchdog
                        raise _timeout(url, timeout)  # the true cause
                return Response(answer.status, _media_type(answer.headers), body, answer.headers)
        except urllib.error.HTTPError as exc:
            error = _http_error(exc, method, url, what)
            raise (_timeout(url, timeout) if watch.fired else error) from None
        except TimeoutError:
            raise _timeout(url, timeout) from None
        except urllib.error.URLError as exc:
            if watch.fired or isinstance(exc.reason, TimeoutError):
                raise _timeout(url, timeout) from None
            raise _unreachable(url, exc.reason, what) from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            # reset while reading, an SSL failure, an answer that is not HTTP...
            if watch.fired:
                raise _timeout(url, timeout) from None
            raise _unreachable(url, exc, what) from None


def _read(answer, url: str) -> bytes:
    """The body, refused past :data:`MAX_ANSWER` bytes (a hostile or mistaken server
    could send more than the machine's memory)."""
    length = answer.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_ANSWER:
        raise _too_big(url)
    parts, size = [], 0
    while piece := answer.read1(1 << 16):
        size += len(piece)
        if size > MAX_ANSWER:
            raise _too_big(url)
        parts.append(piece)
    if length.isdigit() and size != int(length):  # read1 does not check, read() would
        raise RemoteError(
            f"{_host(url)} sent {size:,} bytes of the {int(length):,} it announced: the "
            "answer was cut short. Try again.",
            retriable=True,
        )
    return b"".join(parts)


def _too_big(url: str) -> RemoteError:
    return RemoteError(
        f"{_host(url)} answered more than {MAX_ANSWER >> 20} MiB; kg reads no more. Ask for "
        "fewer rows (a LIMIT in the query)."
    )


def _media_type(headers: Message) -> str:
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _timeout(url: str, timeout: float) -> QueryTimeout:
    return QueryTimeout(
        f"{_host(url)} did not answer within {timeout:g} s; raise --timeout (or 'timeout' "
        "under [query] in kg.toml), or simplify the query."
    )


def _unreachable(url: str, reason: object, what: str) -> RemoteError:
    why = getattr(reason, "strerror", None) or str(reason)
    if isinstance(reason, socket.gaierror):
        hint = "check the host name"
    elif isinstance(reason, ConnectionRefusedError):
        hint = "is the server running, and is this its address and port"
    else:
        hint = "check that the server is up and reachable from here"
    return RemoteError(f"cannot reach {what} at {shown(url, 120)}: {why}; {hint}?", retriable=True)


def _http_error(exc: urllib.error.HTTPError, method: str, url: str, what: str) -> RemoteError:
    status = exc.code
    try:
        text = exc.read(4 * _MESSAGE_MAX).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        text = ""
    message = " ".join(text.split())
    if len(message) > _MESSAGE_MAX:
        message = message[: _MESSAGE_MAX - 1] + "…"
    said = f": {printable(message)}" if message else ""
    head = f"{what} at {shown(url, 120)} answered {method} with HTTP {status} {exc.reason}{said}"
    if status in (301, 302, 303, 307, 308):
        where = exc.headers.get("Location", "?")
        return RemoteError(f"{head}. It redirects to {shown(where, 120)}: give that URL instead.")
    if status in (401, 403):
        return RemoteError(f"{head}. It wants credentials, or others: {CREDENTIALS_HELP}.")
    retriable = status >= 500 or status == 429
    after = (exc.headers.get("Retry-After") or "").strip()
    return RemoteError(
        head + ".",
        status=status,
        retriable=retriable,
        retry_after=float(after) if after.isdigit() else None,
        said=printable(message),
    )


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"the endpoint {parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Layout:
    """The graphs of kg's views on an endpoint (see the module's docstring)."""

    named: list[str]  # GRAPH ?g sees these: the sources and the ontology
    union: list[str]  # the asserted view's default graph
    inferred: list[str]  # added to it in the inferred view (empty when not pushed)

    @classmethod
    def of(cls, graphs: list[str]) -> Layout:
        named = sorted(g for g in graphs if g not in (UNION_GRAPH, INFERRED_GRAPH))
        union = [UNION_GRAPH] if UNION_GRAPH in graphs else named
        return cls(named, union, [INFERRED_GRAPH] if INFERRED_GRAPH in graphs else [])

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
        rows = self._ask(_GRAPHS, None).rows or self._ask(_GRAPHS_SCANNING, None).rows
        # a graph name is an IRI; anything else a server gives (a blank node, a literal)
        # cannot be asked for by name, so it is not one of kg's graphs
        return Layout.of([g.value for g, *_ in rows if g is not None and g.kind == "uri"])

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
        dataset: tuple[list[str], list[str]] | None = None
        if layout.named and not check_dataset(sparql, prefixes, layout.named, ONTOLOGY_GRAPH):
            dataset = layout.views(inferred)  # FROM / FROM NAMED, when given, choose instead
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
            text, dataset = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", self.layout.views(True)
        else:
            text = bind_values(_COUNT, {"g": Term.iri(graph).n3()})
            dataset = None
        rows = self._ask(text, dataset).rows
        return int(rows[0][0].value) if rows and rows[0][0] is not None else 0

    def dump(self, fmt: str, graphs: list[str]) -> str:
        raise UsageError(
            "kg does not export from a remote endpoint; export the local build instead."
        )

    def _ask(self, text: str, dataset: tuple[list[str], list[str]] | None) -> Result:
        """POST *text* with the graphs of *dataset* (None: the endpoint's own dataset)."""
        form: list[tuple[str, str]] = [("query", text)]
        if dataset is not None:
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
        return parse_answer(answer, self.endpoint)


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
            f"{_host(url)} answered {answer.content_type} that cannot be read: "
            f"{printable(str(exc))[:_MESSAGE_MAX]}."
        ) from None
    shown_type = answer.content_type or "no content type"
    raise RemoteError(
        f"{_host(url)} answered with {shown(shown_type)}, not SPARQL results or RDF: is "
        f"{shown(url, 120)} its SPARQL query URL (e.g. http://localhost:7878/query for "
        "Oxigraph, http://localhost:3030/DATASET/sparql for Fuseki)?"
    )
