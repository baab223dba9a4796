"""The knowledge graph object: one small interface over loading, reasoning, validation
and querying, whatever engine stands behind it.

The CLI, the tests and other programs use :class:`KnowledgeGraph` only; the engine is
reached through :class:`kg.store.Store`, so a faster store changes nothing above.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cached_property

from rdflib import URIRef

from kg.errors import UsageError
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, PREFIXES, RDF_TYPE, expand
from kg.project import Project
from kg.queries import StoredQuery, bind, get_query, load_queries
from kg.results import Result
from kg.store import Store
from kg.terms import Term

_LABELS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT DISTINCT ?s ?label WHERE {
  { ?s rdfs:label ?label } UNION { ?s skos:altLabel ?label } UNION { ?s kg:handle ?label }
  FILTER(isIRI(?s))
}"""
_SUBJECTS = "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }"
_SOURCES = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?g (SAMPLE(?t) AS ?title) (COUNT(*) AS ?n) WHERE {
  GRAPH ?g { ?s ?p ?o  OPTIONAL { ?g kg:title ?t } }
  FILTER(STRSTARTS(STR(?g), "https://w3id.org/kg-diplo/id/"))
} GROUP BY ?g ORDER BY ?g"""
_CLASSES = f"""
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{
  GRAPH ?g {{ ?s <{RDF_TYPE}> ?class }}
  FILTER(?g != <{ONTOLOGY_GRAPH}>)
}} GROUP BY ?class ORDER BY DESC(?n) ?class"""


class KnowledgeGraph:
    """A project's graph: sources, validation report, OWL RL closure and a query store."""

    def __init__(self, project: Project):
        self.project = project

    @classmethod
    def open(cls, start=None) -> KnowledgeGraph:
        """The graph of the project found at or above *start* (default: the working dir)."""
        return cls(Project.find(start))

    # -- the chain: load -> validate -> reason -> store ---------------------------------

    @cached_property
    def sources(self):
        from kg.load import load_sources

        return load_sources(self.project)

    def validate(self):
        """SHACL report on the asserted data (not on the closure: inference hides errors)."""
        from kg.validate import validate

        return validate(self.sources)

    @cached_property
    def inferred(self):
        """What OWL RL adds to the asserted data and the ontology."""
        from kg.reason import owl_rl_inferences

        return owl_rl_inferences(self.sources.merged())

    @cached_property
    def store(self) -> Store:
        from kg.store import RdflibStore

        graphs = {str(name): g for name, g in self.sources.graphs.items()}
        graphs[ONTOLOGY_GRAPH] = self.sources.ontology
        # The inferred graph is passed as a callable: asserted-only queries never reason.
        return RdflibStore(graphs, inferred=lambda: self.inferred)

    # -- asking ------------------------------------------------------------------------

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
        return self.store.query(
            text, bindings=bindings, inferred=inferred, prefixes=PREFIXES if prefixes else None
        )

    def stored_queries(self) -> dict[str, StoredQuery]:
        return load_queries(self.project.queries_dir)

    def stored_query(self, name: str) -> StoredQuery:
        return get_query(self.project.queries_dir, name)

    def run(
        self, name: str, params: Mapping[str, str] | None = None, *, inferred: bool = True
    ) -> Result:
        """Run stored query *name* with *params* (public names -> text) bound as typed terms."""
        query = self.stored_query(name)
        bindings = bind(query, params or {}, self.resolve)
        return self.sparql(query.text, bindings=bindings, inferred=inferred)

    def with_data(self, paths) -> KnowledgeGraph:
        """This project's ontology and shapes over other data files (for ``kg validate PATH``)."""
        from dataclasses import replace

        return KnowledgeGraph(replace(self.project, data_dirs=tuple(paths)))

    # -- export and figures ------------------------------------------------------------

    def export_graphs(self, *, inferred: bool = False, ontology: bool = False):
        """(name, graph) pairs to export: the sources, and on request inferences and ontology."""
        pairs = [(str(n), g) for n, g in self.sources.graphs.items()]
        if ontology:
            pairs.append((ONTOLOGY_GRAPH, self.sources.ontology))
        if inferred:
            pairs.append((INFERRED_GRAPH, self.inferred))
        return pairs

    def export(self, fmt: str, *, inferred: bool = False, ontology: bool = False) -> str:
        """The graph in an RDF format; JSON-LD is compacted with the project's context."""
        from kg.export import load_context, serialize

        context = None
        if fmt == "json-ld":
            path = self.project.context
            context = load_context(path) if path and path.exists() else self.context()
        graphs = self.export_graphs(inferred=inferred, ontology=ontology)
        return serialize(graphs, fmt, context=context)

    def context(self) -> dict:
        """The JSON-LD context derived from the ontology (what ``kg context`` prints)."""
        from kg.export import build_context

        return build_context(self.sources.ontology)

    def stats(self) -> dict:
        """Counts of triples, of entities by class, and per source."""
        sources = []
        for row in self.sparql(_SOURCES, inferred=False).rows:
            g, title, n = row
            sources.append(
                {
                    "source": g.short(),
                    "file": self.sources.shown.get(URIRef(g.value), ""),
                    "title": title.value if title else "",
                    "triples": int(n.value),
                }
            )
        classes = [
            (row[0].short(), int(row[1].value))
            for row in self.sparql(_CLASSES, inferred=False).rows
        ]
        return {
            "asserted": sum(s["triples"] for s in sources),
            "ontology": self.store.count(ONTOLOGY_GRAPH),
            "inferred": self.store.count(INFERRED_GRAPH),
            "classes": classes,
            "sources": sources,
        }

    # -- naming things -----------------------------------------------------------------

    @cached_property
    def _names(self) -> tuple[dict[str, list[str]], set[str]]:
        labels: dict[str, list[str]] = {}
        for row in self.sparql(_LABELS, inferred=False).rows:
            s, label = row
            labels.setdefault(label.value.casefold(), []).append(s.value)
        subjects = {row[0].value for row in self.sparql(_SUBJECTS, inferred=False).rows}
        return labels, subjects

    def resolve(self, text: str) -> str:
        """The IRI a person meant by a CURIE (``ex:azerbaijan``) or a label (``Azerbaijan``)."""
        labels, subjects = self._names
        iri = expand(text) if ":" in text and " " not in text else None
        if iri is not None:
            if iri in subjects:
                return iri
            folded = [s for s in subjects if s.casefold() == iri.casefold()]
            if len(folded) == 1:
                return folded[0]
            near = difflib.get_close_matches(iri, subjects, n=3)
            hint = f" Did you mean {', '.join(near)}?" if near else ""
            raise UsageError(f"{text!r} names nothing in the graph.{hint}")
        found = sorted(set(labels.get(text.strip().casefold(), [])))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UsageError(
                f"the label {text!r} is ambiguous: it names {', '.join(found)}. "
                "Give a CURIE instead."
            )
        near = difflib.get_close_matches(text.casefold(), labels, n=3)
        hint = f" Close labels: {', '.join(repr(n) for n in near)}." if near else ""
        raise UsageError(
            f"no entity is labelled {text!r} and it is not a CURIE with a known prefix "
            f"(ex:, kg:, wd:...).{hint}"
        )
