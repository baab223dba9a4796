"""Typed literals as the source files wrote them, for the SHACL checks that must see them.

Why: Oxigraph's store keeps typed literals in canonical form ("05"^^xsd:short is stored as
"5"^^xsd:integer, "1"^^xsd:boolean as "true", "1.50"^^xsd:decimal as "1.5"), but SHACL judges
the literal as written: sh:datatype xsd:integer fails "05"^^xsd:short, sh:in (true) fails
"1"^^xsd:boolean, sh:maxLength 3 fails "1.50". Oxigraph's *parser* keeps literals as written,
so re-reading the sources gives, for each canonical term, the literals it stands for.

The table is built only when a check needs it and the values it reads include a literal of
a datatype the store rewrites (:func:`kg.shacl_fast.validate_store` decides); it keeps only the
canonical terms that some source wrote otherwise: on canonical data it is empty, and checks
answer as the store holds the data. A canonical term that stands for several different
literals (as "1"^^xsd:boolean and "true"^^xsd:boolean) is ambiguous: which focus node had which
is lost, so a check whose verdict differs between them declines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Literal
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_terms import REWRITTEN, nt

_REWRITTEN = frozenset(str(dt) for dt in REWRITTEN)
_SUBJECT = "urn:kg:originals:"
_PREDICATE = ox.NamedNode("urn:kg:originals")
_BOM = b"\xef\xbb\xbf"


class Originals:
    """Canonical term -> the literals the sources wrote for it, for those written otherwise."""

    def __init__(self, table: dict[ox.Literal, frozenset[ox.Literal]] | None = None) -> None:
        self.table = table or {}

    def of(self, term: ox.Literal) -> frozenset[ox.Literal]:
        """The literals *term* (a term of the store) stands for: itself, if none other."""
        return self.table.get(term) or frozenset((term,))

    def rewritten(self) -> list[ox.Literal]:
        """The canonical terms some source wrote otherwise."""
        return sorted(self.table, key=str)

    def with_written(self, literals: Iterable[ox.Literal]) -> Originals:
        """This table, plus *literals* written outside the sources (a shapes graph's
        sh:targetNode): a term they share may also be written so in the data (assumed)."""
        literals = list(literals)
        table = {c: set(o) for c, o in self.table.items()}
        for original, stored in zip(literals, canonical(literals), strict=True):
            if original != stored:
                table.setdefault(stored, {stored}).add(original)
        return Originals({c: frozenset(o) for c, o in table.items()})

    @classmethod
    def from_literals(cls, literals: Iterable[ox.Literal]) -> Originals:
        """The table of *literals*, as written: only datatypes the store rewrites count."""
        written = {t for t in literals if t.datatype.value in _REWRITTEN and not t.language}
        table: dict[ox.Literal, set[ox.Literal]] = {}
        for original, stored in zip(written, canonical(list(written)), strict=True):
            table.setdefault(stored, set()).add(original)
        return cls({c: frozenset(o) for c, o in table.items() if o != {c}})

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> Originals:
        """The table of RDF files (Turtle, N-Triples, TriG...; format by file extension)."""
        return cls.from_literals(lit for path in paths for lit in literals_of(path))


def literals_of(path: Path, *, data: bytes | None = None) -> Iterator[ox.Literal]:
    """The literals of one RDF file (or of *data*, its text), as written."""
    suffix = path.suffix.lstrip(".") or "ttl"
    fmt = ox.RdfFormat.from_extension(suffix) or ox.RdfFormat.TURTLE
    if data is None:
        with path.open("rb") as handle:
            if handle.read(len(_BOM)) == _BOM:  # as the build reads it (kg.compile)
                data = path.read_bytes()[len(_BOM) :]
    source = {"input": data} if data is not None else {"path": path}
    for triple in ox.parse(**source, format=fmt, base_iri=path.resolve().as_uri()):
        if isinstance(triple.object, ox.Literal):
            yield triple.object


def canonical(literals: list[ox.Literal]) -> list[ox.Literal]:
    """Each of *literals* as Oxigraph's store holds it (it offers no other way to ask)."""
    store = ox.Store()
    store.extend(
        ox.Quad(ox.NamedNode(f"{_SUBJECT}{i}"), _PREDICATE, lit) for i, lit in enumerate(literals)
    )
    stored: list[ox.Literal] = list(literals)
    for quad in store:
        stored[int(quad.subject.value[len(_SUBJECT) :])] = quad.object
    return stored


def is_canonical(term: Node) -> bool:
    """Whether the store keeps *term* (rdflib) as written (so a query may name it: Oxigraph
    rewrites query constants as it rewrites stored literals)."""
    if not rewritable(term):
        return True
    written = as_written(term)
    return canonical([written])[0] == written


def rewritable(term: Node) -> bool:
    """Whether *term* (of a shapes graph) is a literal of a datatype the store rewrites."""
    return isinstance(term, Literal) and not term.language and str(term.datatype) in _REWRITTEN


def as_written(term: Literal) -> ox.Literal:
    """The rdflib literal *term* as a pyoxigraph literal, lexical form kept."""
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))


def stored_term(term: Node, who: str) -> str | None:
    """*term* (of a shapes graph) for a query comparing terms, or None when the store never
    holds it as written (Oxigraph would read it as another term: "1"^^xsd:boolean as true);
    a value equal to it is then one the store rewrote, which the check's guard finds."""
    if isinstance(term, BNode):
        raise InputError(f"{who}: a blank node cannot be named in a query")
    return nt(term) if is_canonical(term) else None


def project_originals(project) -> Originals:
    """The table of a kg project's ontology and source files, read as the build reads them."""
    from kg.sssom import is_mapping_set, source_ntriples

    literals: list[ox.Literal] = []
    for path in project.ontology:
        literals += literals_of(path)
    for name, path in project.sources().items():
        if is_mapping_set(path):
            text = source_ntriples(path, name, project.base, project.relative(path))
            literals += literals_of(Path("mapping.nt"), data=text.encode("utf-8"))
        else:
            literals += literals_of(path)
    return Originals.from_literals(literals)
