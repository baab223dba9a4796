"""The knowledge graph object: one small interface over building, validation and
querying, whatever engine stands behind it.

The CLI, the tests and other programs use :class:`KnowledgeGraph` only. By default it
answers from the compiled Oxigraph store (``kg build``), rebuilding it first when an input
changed; ``engine="reference"`` answers from rdflib + owlrl in memory instead, which the
tests use to show that both give the same answers. Nothing here imports rdflib, owlrl or
pyshacl unless the work at hand needs them, so ``kg query`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from kg.errors import KgError, UsageError
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, PREFIXES, RDF_TYPE
from kg.project import Project
from kg.queries import StoredQuery, bind, get_query, load_queries
from kg.resolve import Kinds
from kg.results import Result
from kg.service import WIKIDATA_SPARQL, with_endpoint
from kg.store import Store
from kg.terms import Term
from kg.worker import Limits

ENGINES = ("oxigraph", "reference")
_CLASSES = f"""
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{
  GRAPH ?g {{ ?s <{RDF_TYPE}> ?class }}
  FILTER(?g != <{ONTOLOGY_GRAPH}>)
}} GROUP BY ?class ORDER BY DESC(?n) ?class"""
_ASSERTED = f"""
SELECT (COUNT(*) AS ?n) WHERE {{
  SELECT DISTINCT ?s ?p ?o WHERE {{
    GRAPH ?g {{ ?s ?p ?o }}
    FILTER(?g != <{ONTOLOGY_GRAPH}>)
  }}
}}"""
_SOURCES = f"""
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?g (SAMPLE(?t) AS ?title) (COUNT(*) AS ?n) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }}
  OPTIONAL {{ GRAPH ?g {{ ?g kg:title ?t }} }}
  FILTER(?g != <{ONTOLOGY_GRAPH}>)
}} GROUP BY ?g ORDER BY ?g"""


class KnowledgeGraph:
    """A project's graph: validation, the compiled store, stored queries, exports."""

    def __init__(
        self,
        project: Project,
        *,
        engine: str = "oxigraph",
        limits: Limits | None = None,
        store: Store | None = None,
    ):
        """*limits*: run each query in a child process that can be stopped (time-out,
        memory cap, Ctrl-C; see :mod:`kg.worker`). None runs queries in this process, with
        no limit, which is what a program that trusts its own queries wants.

        *store*: answer from it instead of the project's build, e.g. a
        :class:`kg.remote.RemoteStore`; nothing is built then, and queries run in this
        process (a remote store keeps its own time-out), with the same checks."""
        if engine not in ENGINES:
            raise UsageError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}.")
        self.project = project
        self.engine = engine
        self.limits = limits
        self._given = store
        if store is not None:
            self.__dict__["store"] = store
        self._in_child = False
        #: Things a person should know about the answer (e.g. it comes from an older build).
        self.warnings: list[str] = []
        #: What was done on the way (e.g. the store was rebuilt because an input changed).
        self.notices: list[str] = []

    def close(self) -> None:
        """Let go of the store this graph answers from, so a later build may remove it
        (also done when the object is collected, or at the end of a ``with`` block)."""
        held = self.__dict__.pop("_held", None)
        if held is not None:
            held.close()
        for name in ("store", "_path"):
            self.__dict__.pop(name, None)
        if self._given is not None:
            self.__dict__["store"] = self._given

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @classmethod
    def open(cls, start: Path | str | None = None, **kwargs) -> KnowledgeGraph:
        """The graph of the project found at or above *start* (default: the working dir)."""
        return cls(Project.find(start), **kwargs)

    # -- build, validate -----------------------------------------------------------------

    def build(self, *, allow_invalid: bool = False, force: bool = False, progress=None):
        """Compile the project into its store (see :mod:`kg.build`); a no-op when fresh."""
        from kg.build import build

        return build(self.project, allow_invalid=allow_invalid, force=force, progress=progress)

    def validate(self, paths: Iterable[Path] | None = None):
        """SHACL report on the asserted data; with *paths*, on the project's data with
        those files added (a file with the stem of a source replaces it), limited to the
        problems that involve them. So a new source is checked against what it joins: a
        start it gives after the project's end of the same membership is found here, not
        only by the next build. Reads the files as they are now (not the store), so it
        shows what a build would refuse."""
        files = focus = None
        if paths is not None:
            given = self.project.sources(_expand_paths(paths))
            if not given:
                shown_paths = ", ".join(str(p) for p in paths)
                raise UsageError(
                    f"no Turtle files (*.ttl) in {shown_paths}: nothing to validate. Give "
                    "the files or folders that hold the sources to check."
                )
            files = list({**self.project.sources(), **given}.values())
            focus = {self.project.relative(p) for p in given.values()}
        report = self._validate(files)
        return report if focus is None else _involving(report, focus)

    def _validate(self, files: list[Path] | None):
        if self.engine == "reference":
            from kg.reference import validate_reference

            return validate_reference(self.project, files)
        import pyoxigraph as ox

        from kg.compile import load_into, make_union, validate_store
        from kg.validate import Report

        store = ox.Store()
        graphs = load_into(store, self.project, lambda *a: None, files)
        union = make_union(store, graphs)
        results, _ = validate_store(store, self.project, graphs, union)
        return Report.from_dicts(results)

    # -- the store -----------------------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        if self.engine == "reference":
            from kg.reference import reference_store

            return reference_store(self.project)
        from kg.store_oxigraph import OxigraphStore

        path = self._answering_path()
        return OxigraphStore.open(path / "store", self.manifest["graphs"], services=self._services)

    def _answering_path(self, *, fallback: bool = True) -> Path:
        """The store folder to answer from, built first when needed; what was done or
        should be known about it goes to :attr:`notices` and :attr:`warnings`. With
        *fallback* false, a failed build is an error rather than a warning."""
        if "_path" not in self.__dict__:
            from kg.build import answering_store
            from kg.state import hold, read_manifest

            wait = self.limits.timeout if self.limits else 3600.0
            for _ in range(5):  # a build may swap and remove the store between two steps
                answering = answering_store(self.project, wait=wait, fallback=fallback)
                self._held = hold(answering.path)
                if self._held is not None:
                    break
            else:
                raise UsageError(
                    "the store kept changing under this command (builds running back to "
                    "back?); try again."
                )
            self.notices.extend(answering.notices)
            self.warnings.extend(answering.warnings)
            self._path = answering.path
            self.manifest = read_manifest(answering.path)
        return self._path

    # -- asking --------------------------------------------------------------------------

    def sparql(
        self,
        text: str,
        *,
        bindings: Mapping[str, Term] | None = None,
        inferred: bool = True,
        prefixes: bool = False,
    ) -> Result:
        """Run a read-only SPARQL query on the asserted or the inferred view.

        *prefixes* predeclares kg's prefixes (kg:, ex:, rdfs:...) for ad-hoc queries.
        """
        if not self._in_child:  # checked once, before the query runs anywhere
            _check_utf8(text)
            self._check_services(text, prefixes=prefixes)
        if self._isolating():
            return self._isolated(
                lambda: self.sparql(text, bindings=bindings, inferred=inferred, prefixes=prefixes)
            )
        return self.store.query(
            text, bindings=bindings, inferred=inferred, prefixes=PREFIXES if prefixes else None
        )

    def stored_queries(self) -> dict[str, StoredQuery]:
        return load_queries(self.project.queries_dir)

    def stored_queries_apart(self) -> tuple[dict[str, StoredQuery], list[KgError]]:
        """The stored queries that can be read, and the errors of those that cannot."""
        from kg.queries import load_queries_apart

        return load_queries_apart(self.project.queries_dir)

    def stored_query(self, name: str) -> StoredQuery:
        return get_query(self.project.queries_dir, name)

    def run(
        self, name: str, params: Mapping[str, str] | None = None, *, inferred: bool = True
    ) -> Result:
        """Run stored query *name* with *params* (public names -> text) bound as typed terms."""
        query = self.stored_query(name)
        if self.project.wikidata.sparql != WIKIDATA_SPARQL:  # another Wikibase, or a test's
            query = replace(query, text=with_endpoint(query.text, self.project.wikidata.sparql))
        self._check_services(query.text, prefixes=False)
        if self._isolating():  # label lookups and the query itself in one child
            return self._isolated(lambda: self.run(name, params, inferred=inferred))
        bindings = bind(query, params or {}, self.resolve, self.kinds, self._follow)
        return self.sparql(query.text, bindings=bindings, inferred=inferred)

    def _check_services(self, text: str, *, prefixes: bool) -> None:
        """Refuse a SERVICE call to an endpoint kg.toml does not allow (see kg.service)."""
        from kg.service import check_services

        check_services(text, prefixes=PREFIXES if prefixes else None, allowed=self._services)

    @property
    def _services(self) -> tuple[str, ...]:
        """The endpoints SERVICE may call: kg.toml's ``[query] services`` and the
        Wikidata SPARQL endpoint of ``[wikidata]`` (a stored query may join Wikidata's
        facts; the query's time-out and memory cap bound the call)."""
        return (*self.project.services, self.project.wikidata.sparql)

    def _isolating(self) -> bool:
        return self.limits is not None and not self._in_child and self._given is None

    def _isolated(self, make: Callable[[], Result]) -> Result:
        """The result of ``make()`` computed in a child process under :attr:`limits`,
        streamed back: see :mod:`kg.worker`."""
        from kg.worker import run_isolated

        assert self.limits is not None
        # Build (or fall back) and hold the store against removal here, not in the child;
        # the reference engine's graph is built in memory once and inherited by every child.
        self._answering_path() if self.engine != "reference" else self.store

        def job(emit) -> None:
            from kg.worker import limit_memory

            self._in_child = True
            if self.engine != "reference":
                self.__dict__.pop("store", None)  # never share an open store across fork
                self.store  # noqa: B018 - open it before the cap: its cache is not the query's
            limit_memory(self.limits.memory_mib)
            _emit_result(make(), emit)

        stream = run_isolated(job, self.limits)
        kind, head = next(stream)
        if kind == "ask":
            list(stream)
            return Result(boolean=head)
        if kind == "triples":
            return Result(triples=stream)
        return Result(vars=head, rows=stream)

    # -- export and figures --------------------------------------------------------------

    def source_graphs(self) -> list[str]:
        return [g for g in self.store.graph_names() if g not in (ONTOLOGY_GRAPH, INFERRED_GRAPH)]

    def export_graphs(self, *, inferred: bool = False, ontology: bool = False) -> list[str]:
        """Names of the graphs to export: the sources, and on request inferences, ontology."""
        names = self.source_graphs()
        if ontology:
            names.append(ONTOLOGY_GRAPH)
        if inferred:
            names.append(INFERRED_GRAPH)
        return names

    def export(
        self, fmt: str, *, inferred: bool = False, ontology: bool = False, as_pushed: bool = False
    ) -> str:
        """The graph in an RDF format; JSON-LD is compacted with the project's context.

        *as_pushed*: the named graphs ``kg push`` uploads (:func:`kg.push.graphs_to_push`:
        every source, the ontology, the union graph and the inferences), in N-Quads or
        TriG, so that a store bulk-loaded from the file answers as a pushed one does."""
        return "".join(
            self.export_chunks(fmt, inferred=inferred, ontology=ontology, as_pushed=as_pushed)
        )

    def export_chunks(
        self, fmt: str, *, inferred: bool = False, ontology: bool = False, as_pushed: bool = False
    ) -> Iterator[str]:
        """:meth:`export` in pieces: N-Quads and N-Triples from the compiled store stream
        in bounded memory (what a bulk loader's file of millions of triples needs); the
        other formats come whole, as one piece. Every check (the build, the options) is
        made before this returns, so a refusal never meets a half-written output."""
        from kg.export import QUAD_FORMATS, load_context, serialize_union

        if as_pushed and (fmt not in QUAD_FORMATS or self.engine == "reference"):
            raise UsageError(
                "--as-pushed writes the named graphs of the compiled store; use --format "
                "nquads or trig, and leave --engine out."
            )
        if self.engine != "reference":
            self._answering_path(fallback=False)  # never export an older build silently
        graphs = self.export_graphs(inferred=inferred, ontology=ontology)
        if as_pushed:
            from kg.push import graphs_to_push

            graphs = graphs_to_push(self.manifest["graphs"])
        if fmt in ("nquads", "nt") and hasattr(self.store, "dump_lines"):
            return self.store.dump_lines(fmt, graphs)
        if fmt in QUAD_FORMATS or fmt == "nt":
            return iter([self.store.dump(fmt, graphs)])
        context = None
        if fmt == "json-ld":
            path = self.project.context
            context = (
                load_context(path, shown_as=self.project.relative(path))
                if path and path.exists()
                else self.context()
            )
        return iter([serialize_union(self.store.dump("nquads", graphs), fmt, context=context)])

    def push(self, endpoint: str, **options):
        """Upload the compiled graph to a SPARQL 1.1 store and compare the triple counts
        (see :func:`kg.push.push` for *options*). As for :meth:`export`, the current build
        goes up, rebuilt first when an input changed, never an older one."""
        from kg.push import push

        if self.engine != "oxigraph" or self._given is not None:
            raise UsageError("kg push uploads the compiled store; leave --engine out.")
        self._answering_path(fallback=False)
        violations = self.manifest.get("report", {}).get("violations", 0)
        if violations:
            self.warnings.append(
                f"this build was kept despite {violations} violation(s) (--allow-invalid); "
                "it is pushed as it is. See 'kg validate'."
            )
        return push(self.store, self.manifest["graphs"], endpoint=endpoint, **options)

    def context(self) -> dict:
        """The JSON-LD context derived from the ontology (what ``kg context`` prints)."""
        from rdflib import Graph

        from kg.export import build_context
        from kg.load import parse_turtle

        ontology = Graph()
        for path in self.project.ontology:
            ontology += parse_turtle(path, shown_as=self.project.relative(path))
        return build_context(ontology)

    def stats(self) -> dict:
        """Counts of triples, of entities by class, and per source.

        ``asserted`` counts the sources' triples (a triple stated by several sources
        once, as in their merge), ``ontology`` the ontology's, ``inferred`` what OWL RL
        added; each source's own count is under ``sources``."""
        store = self.store  # builds first when needed, and reads the manifest
        files = getattr(self, "manifest", {}).get("sources", {})
        sources = []
        for g, title, n in self.sparql(_SOURCES, inferred=False).rows:
            sources.append(
                {
                    "source": g.short(),
                    "file": files.get(g.value, ""),
                    "title": title.value if title else "",
                    "triples": int(n.value),
                }
            )
        classes = [
            (row[0].short(), int(row[1].value))
            for row in self.sparql(_CLASSES, inferred=False).rows
        ]
        (asserted,) = self.sparql(_ASSERTED, inferred=False).rows[0]
        return {
            "asserted": int(asserted.value),
            "ontology": store.count(ONTOLOGY_GRAPH),
            "inferred": store.count(INFERRED_GRAPH),
            "classes": classes,
            "sources": sources,
        }

    # -- naming things -------------------------------------------------------------------

    def resolve(self, text: str, *, expects: str | None = None) -> str:
        """The IRI a person meant by ``<iri>``, a CURIE (``ex:azerbaijan``) or a label
        (``Azerbaijan``), checked to be well formed and to name something in the asserted
        view (see :mod:`kg.resolve`). Remembered for the life of this object: the store it
        reads does not change."""
        from functools import partial

        from kg.resolve import resolve_name

        memo = self.__dict__.setdefault("_resolved", {})
        return resolve_name(text, partial(self.sparql, inferred=False), memo, expects=expects)

    def _follow(self, iri: str, prop: str) -> list[str]:
        """The IRIs *iri* has as values of *prop* (asserted view), for ``#+ follow:``."""
        text = "SELECT DISTINCT ?o WHERE { ?_s ?_p ?o FILTER(isIRI(?o)) }"
        result = self.sparql(
            text, bindings={"_s": Term.iri(iri), "_p": Term.iri(prop)}, inferred=False
        )
        return [row[0].value for row in result.rows if row[0] is not None]

    def kinds(self, iri: str) -> Kinds:
        """The classes of the entity *iri* (its types and every class above them, from the
        inferred view), which a stored query's ``#+ classes:`` checks its values against."""
        from functools import partial

        from kg.resolve import kinds_of

        return kinds_of(iri, partial(self.sparql, inferred=True))


def _check_utf8(text: str) -> None:
    """Refuse query text holding what Python made of bytes that are not UTF-8 (lone
    surrogates, from a command line in another encoding): no engine can read it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        what = f"byte 0x{byte:02x}" if 0x80 <= byte <= 0xFF else "a lone surrogate"
        raise UsageError(
            f"the query is not UTF-8 text ({what} on line {text.count(chr(10), 0, exc.start) + 1}"
            "); write it in UTF-8."
        ) from None


def _emit_result(result: Result, emit) -> None:
    """Send *result* through a worker's *emit*: a head saying its kind, then its items."""
    if result.boolean is not None:
        emit(("ask", result.boolean))
    elif result.is_graph:  # not .triples, which would read them all first
        emit(("triples", None))
        for triple in result.stream_triples():
            emit(triple)
    else:
        emit(("select", list(result.vars)))
        for row in result.stream():
            emit(row)


def _involving(report, files: set[str]):
    """The part of *report* that involves one of *files* (shown paths): a problem is
    theirs when it is written, even in part, in one of them (each place of a result names
    its file; a path may hold ':', so ``files``' "path:line" is the fallback)."""

    def written_in(v) -> set[str]:
        return {p["file"] for p in v.lines} or {f.rsplit(":", 1)[0] for f in v.files}

    kept = [v for v in report.violations if written_in(v) & files]
    return type(report)(conforms=all(v.severity != "Violation" for v in kept), violations=kept)


def _expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The source files of *paths* (a folder: the Turtle files and SSSOM mapping sets
    under it), each once, as absolute paths: a relative path is read from the working
    directory whatever the project, and shown project-relative inside the project,
    absolute outside it."""
    import os

    files: dict[str, Path] = {}
    for path in paths:
        path = Path(os.path.abspath(path))
        found = (
            sorted([*path.rglob("*.ttl"), *path.rglob("*.sssom.tsv")]) if path.is_dir() else [path]
        )
        for file in found:
            files.setdefault(os.path.realpath(file), file)
    return list(files.values())
