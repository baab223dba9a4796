"""Strict parsing of the project's Turtle files into one graph per source.

A source file ``data/<stem>.ttl`` holds what one source document states; it is loaded
into the named graph ``<base><stem>``, which is also the IRI of that source document, and
the file must describe it. Parse errors name the file and line, so a person can fix them.

This is the reference engine's reader (rdflib). It refuses what the default engine
(Oxigraph, :mod:`kg.compile`) refuses, so that a file is either usable by both or by
neither: the same byte-level checks (:func:`kg.compile.check_text`), and IRIs holding
characters that Turtle does not allow in an IRI, which rdflib lets through. What is left
differs at the edges: rdflib reads a term over 16 MiB (Oxigraph does not) but not
blank nodes nested a few hundred deep (Oxigraph does), and it is laxer about IRIs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from kg.compile import check_text, line_at, safe_reason
from kg.errors import InputError, shown
from kg.project import Project
from kg.sssom import is_mapping_set, source_ntriples

#: Characters Turtle's IRIREF forbids (also when written as \u escapes), and C1 controls.
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\x7f-\x9f]')
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_IRIREF = re.compile(r"<([^>\n]*)>")
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
#: Nesting ('[' or '(') past which rdflib's recursive parser may run out of stack.
_DEEP = 50
_LONE_CR = re.compile(r"\r(?!\n)")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BASE_FRAGMENT = re.compile(r"(?im)^\s*@?base\s*<[^>\n]*#")


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
    """Parse one Turtle file; whatever makes it unusable becomes an :class:`InputError`
    naming the file and, where it can be told, the line.

    *base* resolves relative IRIs: a source file's ``<>`` is the source itself. A leading
    byte-order mark is skipped, as Oxigraph's loader in kg does.
    """
    where = shown_as or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; check the path in kg.toml.", path=where) from None
    except OSError as exc:
        raise InputError(
            f"cannot read it ({safe_reason(exc.strerror or str(exc))}).", path=where
        ) from None
    check_text(raw, where)
    text = raw.decode("utf-8-sig")
    if "\r" in text:  # rdflib ends lines at LF only; Turtle (and Oxigraph) at a lone CR too
        text = _LONE_CR.sub("\n", text)
    graph = Graph()
    try:
        with quiet_logger("rdflib.term"):  # its warnings would echo the file's raw IRIs
            graph.parse(data=text, format="turtle", publicID=base or path.resolve().as_uri())
    except RecursionError:
        raise InputError(
            "blank nodes '[...]' or collections '(...)' are nested more deeply than the "
            "reference engine (rdflib) can read; the default engine (Oxigraph) reads them. "
            "Flatten the nesting (give the inner nodes names), or leave out --engine "
            "reference.",
            path=where,
            line=_deep_line(text),
        ) from None
    except Exception as exc:  # rdflib raises BadSyntax and assorted others
        # BadSyntax knows the character offset; its own line count is off at end of file.
        offset = getattr(exc, "_i", None)
        if isinstance(offset, int):
            line: int | None = line_at(text, offset)
        else:
            lines = getattr(exc, "lines", None)
            line = lines + 1 if isinstance(lines, int) else None
        why = getattr(exc, "_why", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        why = str(why).split(" at ^ in ", 1)[0]  # rdflib's context quotes the file's text
        raise InputError(
            f"Turtle syntax error: {safe_reason(why)}. Fix the statement on this line "
            "(often a missing '.', ';' or a prefix that is not declared).",
            path=where,
            line=line,
        ) from None
    _check_terms(graph, text, where)
    return graph


@contextmanager
def quiet_logger(logger: str) -> Iterator[None]:
    """Silence *logger*'s warnings for a moment (rdflib logs every odd IRI it meets, raw)."""
    log = logging.getLogger(logger)
    was = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = was


def _check_terms(graph: Graph, text: str, where: str) -> None:
    """Refuse IRIs with characters Turtle forbids and strings holding lone surrogates
    (from escapes such as ``\\uD800``): rdflib reads both, Oxigraph refuses both, and
    either would break later (serialising, printing, the store). Each distinct term is
    looked at once (about a tenth of rdflib's parse time)."""
    nodes: set = set()
    for triple in graph:
        nodes.update(triple)
    literals = [n for n in nodes if isinstance(n, Literal)]
    iris = {n for n in nodes if isinstance(n, URIRef)}
    iris.update(n.datatype for n in literals if n.datatype is not None)
    iris.update(URIRef(ns) for _, ns in graph.namespaces())  # a prefix never used, too
    for iri in sorted(iris):  # sorted: the same file gives the same message
        if iri.count("#") > 1:  # rdflib keeps a base's fragment: <#x> -> ...#f#x
            raise InputError(
                f"the IRI {shown(str(iri))} holds two '#', which an IRI may not; if @base "
                "or BASE ends in a fragment ('#...'), remove the fragment.",
                path=where,
                line=_first_line(text, _BASE_FRAGMENT),
            )
        bad = _BAD_IRI.search(iri) or _SURROGATE.search(iri)
        if bad:
            raise InputError(
                f"the IRI {shown(str(iri))} holds {_char(bad.group())}, which an IRI may not "
                "hold; write it percent-encoded (a space is %20).",
                path=where,
                line=_bad_iri_line(text),
            )
    for literal in literals:
        if _SURROGATE.search(literal):
            raise InputError(
                f"the string {shown(str(literal))} holds an escape for half of a surrogate "
                "pair (\\uD800 to \\uDFFF), which is no character; write the character "
                "itself, or one \\U escape for it.",
                path=where,
                line=_first_line(text, _SURROGATE_ESCAPE),
            )


def _char(char: str) -> str:
    return "a space" if char == " " else f"the character U+{ord(char):04X}"


def _bad_iri_line(text: str) -> int | None:
    """The line of the first ``<...>`` whose text, escapes decoded, an IRI may not hold."""
    for match in _IRIREF.finditer(text):
        iri = _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), match.group(1))
        if _BAD_IRI.search(iri) or _SURROGATE.search(iri):
            return line_at(text, match.start())
    return None


def _first_line(text: str, pattern: re.Pattern[str]) -> int | None:
    match = pattern.search(text)
    return line_at(text, match.start()) if match else None


def _deep_line(text: str) -> int | None:
    """The line where '[' and '(' first nest deeper than rdflib's parser can follow,
    skipping strings, IRIs and comments (a scan, not a parse: it only points the way)."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "[(":
            depth += 1
            if depth > _DEEP:
                return line_at(text, i)
        elif char in "])":
            depth = max(depth - 1, 0)
        elif char == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif char == "<":
            end = text.find(">", i)
            i = n if end < 0 else end
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            end = i + len(quote)
            while True:
                end = text.find(quote, end)
                if end < 0 or text[end - 1] != "\\":
                    break
                end += 1
            i = n if end < 0 else end + len(quote) - 1
        i += 1
    return None


def load_sources(project: Project) -> Sources:
    """Read ontology, shapes and every data file of *project*."""
    ontology = Graph()
    for path in project.ontology:
        ontology += parse_turtle(path, shown_as=project.relative(path))
    from kg.compile import refuse_services

    shapes = Graph()
    for path in project.shapes:
        graph = parse_turtle(path, shown_as=project.relative(path))
        refuse_services(graph, project.relative(path))
        shapes += graph
    sources = Sources(ontology=ontology, shapes=shapes)
    for iri, path in project.sources().items():
        sources.graphs[URIRef(iri)] = load_source(path, iri, project.relative(path))
    return sources


def _base(iri: str) -> str:
    """The namespace of a source's graph IRI (``<base><stem>``): the project's base."""
    return iri[: max(iri.rfind("/"), iri.rfind("#")) + 1]


def load_source(path: Path, iri: str, shown_as: str) -> Graph:
    """One source file, parsed with *iri* as its base, which it must describe (as
    :func:`kg.compile.load_into` requires of the same file). An SSSOM mapping set
    (``*.sssom.tsv``) is read by :mod:`kg.sssom` and gives the same triples as there."""
    name = URIRef(iri)
    if is_mapping_set(path):  # an SSSOM mapping set: the RDF kg.sssom makes of it
        graph = Graph()
        graph.parse(data=source_ntriples(path, iri, _base(iri), shown_as), format="nt")
        return graph
    graph = parse_turtle(path, shown_as=shown_as, base=iri)
    example = f"add e.g. 'ex:{path.stem} a kg:NewsArticle ; kg:title \"...\" ; kg:url <...> .'"
    if not graph:
        raise InputError(
            f"holds no triples (it is empty, or only comments and prefixes); a source file "
            f"describes its source <{name}> and states its facts: {example}",
            path=shown_as,
        )
    if (name, RDF.type, None) not in graph:
        raise InputError(
            f"this file holds the facts of the source <{name}> but does not describe it; "
            + example,
            path=shown_as,
        )
    return graph
