"""An engine-neutral RDF term for query results.

Results leave the store as :class:`Term` values so that renderers work the same for
every engine (rdflib today, Oxigraph behind the same seam) and so that rendering a
result never has to import rdflib.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kg.namespaces import XSD, compact

XSD_STRING = XSD + "string"
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


class Term(NamedTuple):
    """One RDF term: ``kind`` is ``uri``, ``literal`` or ``bnode`` (the SPARQL JSON names)."""

    kind: str
    value: str
    datatype: str | None = None
    lang: str | None = None

    @classmethod
    def iri(cls, value: str) -> Term:
        return cls("uri", value)

    @classmethod
    def literal(cls, value: str, datatype: str | None = None, lang: str | None = None) -> Term:
        # A plain literal and an explicit xsd:string are the same term (RDF 1.1); keep one form
        # so that engines that spell it differently still compare equal.
        if datatype in (XSD_STRING, RDF_LANGSTRING):
            datatype = None
        return cls("literal", value, datatype, lang)

    def short(self) -> str:
        """How a person reads it in a table: a CURIE, a bare literal, ``_:id``."""
        if self.kind == "uri":
            return compact(self.value)
        if self.kind == "bnode":
            return "_:" + self.value
        return self.value

    def n3(self) -> str:
        """N-Triples form, as the SPARQL TSV format writes terms (and VALUES blocks bind
        them): an IRI or blank node label that could break out of its brackets is refused."""
        if self.kind == "uri":
            if _IRI_UNSAFE.search(self.value):
                raise ValueError(f"not a valid IRI: {self.value!r}")
            return f"<{self.value}>"
        if self.kind == "bnode":
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", self.value):
                raise ValueError(f"not a valid blank node label: {self.value!r}")
            return "_:" + self.value
        escaped = (
            self.value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        if self.lang:
            if not re.fullmatch(r"[A-Za-z]+(-[A-Za-z0-9]+)*", self.lang):
                raise ValueError(f"not a valid language tag: {self.lang!r}")
            return f'"{escaped}"@{self.lang}'
        if self.datatype:
            return f'"{escaped}"^^{Term.iri(self.datatype).n3()}'
        return f'"{escaped}"'
