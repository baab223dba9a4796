"""Strict parsing of the project's Turtle files into one graph per source.

A source file ``data/<stem>.ttl`` holds what one source document states; it is loaded
into the named graph ``<base><stem>``, which is also the IRI of that source document, and
the file must describe it. Parse errors name the file and line, so a person can fix them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.errors import InputError
from kg.project import Project


@dataclass
class Sources:
    """Everything read from disk: ontology, shapes and one graph per source document."""

    ontology: Graph
    shapes: Graph
    graphs: dict[URIRef, Graph] = field(default_factory=dict)

    def merged(self, *, with_ontology: bool = True) -> Graph:
        """All asserted triples in one plain graph (what SHACL and OWL RL read)."""
        union = Graph()
        for graph in self.graphs.values():
            union += graph
        if with_ontology:
            union += self.ontology
        return union


def parse_turtle(path: Path, *, shown_as: str | None = None, base: str | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes an :class:`InputError` with its line.

    *base* resolves relative IRIs: a source file's ``<>`` is the source itself.
    """
    shown = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found; check the path in kg.toml.", path=shown) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason}); save it as UTF-8.", path=shown) from None
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=base or path.resolve().as_uri())
    except Exception as exc:  # rdflib raises BadSyntax and assorted others
        # BadSyntax knows the character offset; its own line count is off at end of file.
        offset = getattr(exc, "_i", None)
        line = (
            text.count("\n", 0, offset) if isinstance(offset, int) else getattr(exc, "lines", None)
        )
        why = getattr(exc, "_why", None) or str(exc).splitlines()[0]
        raise InputError(
            f"Turtle syntax error: {why}. Fix the statement on this line "
            "(often a missing '.', ';' or a prefix that is not declared).",
            path=shown,
            line=line + 1 if isinstance(line, int) else None,
        ) from None
    return graph


def load_sources(project: Project) -> Sources:
    """Read ontology, shapes and every data file of *project*."""
    ontology = Graph()
    for path in project.ontology:
        ontology += parse_turtle(path, shown_as=project.relative(path))
    shapes = Graph()
    for path in project.shapes:
        shapes += parse_turtle(path, shown_as=project.relative(path))
    sources = Sources(ontology=ontology, shapes=shapes)
    for iri, path in project.sources().items():
        shown = project.relative(path)
        name = URIRef(iri)
        graph = parse_turtle(path, shown_as=shown, base=str(name))
        if (name, RDF.type, None) not in graph:
            raise InputError(
                f"this file holds the facts of the source <{name}> but does not describe it; "
                f"add e.g. 'ex:{path.stem} a kg:NewsArticle ; kg:title \"...\" ; kg:url <...> .'",
                path=shown,
            )
        sources.graphs[name] = graph
    return sources
