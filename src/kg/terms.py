"""An engine-neutral RDF term for query results.

Results leave the store as :class:`Term` values so that renderers work the same for
every engine (rdflib today, Oxigraph behind the same seam) and so that rendering a
result never has to import rdflib.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kg.errors import shown
from kg.namespaces import XSD, compact

XSD_STRING = XSD + "string"
#: What would end an IRI's brackets or is no IRI character: white space, controls (C0, DEL,
#: C1), lone surrogates, and the signs the IRIREF production excludes.
_IRI_UNSAFE = re.compile(r'[\x00-\x20\x7f-\x9f<>"{}|^`\\\ud800-\udfff]')
#: Lone surrogates: what Python makes of bytes that are not UTF-8 (``surrogateescape``).
#: No RDF term can hold them and no engine can be handed them, so they are refused.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: What a literal's quotes cannot hold as it is: the quote, the backslash, line ends and
#: every other control character (written as \uXXXX so that nothing reaches the engine raw).
_LITERAL_ESCAPES: dict[int, str] = {
    **{c: f"\\u{c:04X}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def unicode_problem(value: str) -> str | None:
    """Why *value* cannot be an RDF string, or None: RDF text is Unicode scalar values, so a
    lone surrogate (an undecodable byte on the command line) has no RDF form."""
    match = _SURROGATE.search(value)
    if match is None:
        return None
    return (
        f"it holds bytes that are not valid UTF-8 (shown as \\u{ord(match.group()):04x}); "
        "give the value as UTF-8 text"
    )


def _escape_literal(value: str) -> str:
    return value.translate(_LITERAL_ESCAPES)  # str.translate: a megabyte in milliseconds


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
        them): an IRI or blank node label that could break out of its brackets is refused,
        and a literal's quote, backslash and control characters are escaped (``\\n``,
        ``\\u001B``), so no value ends its quotes or reaches the engine as a raw control."""
        if self.kind == "uri":
            if _IRI_UNSAFE.search(self.value):
                raise ValueError(f"not a valid IRI: {shown(self.value)}")
            return f"<{self.value}>"
        if self.kind == "bnode":
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", self.value):
                raise ValueError(f"not a valid blank node label: {shown(self.value)}")
            return "_:" + self.value
        problem = unicode_problem(self.value)
        if problem:
            raise ValueError(f"not a valid literal: {shown(self.value)}: {problem}")
        escaped = _escape_literal(self.value)
        if self.lang:
            if not re.fullmatch(r"[A-Za-z]+(-[A-Za-z0-9]+)*", self.lang):
                raise ValueError(f"not a valid language tag: {shown(self.lang)}")
            return f'"{escaped}"@{self.lang}'
        if self.datatype:
            return f'"{escaped}"^^{Term.iri(self.datatype).n3()}'
        return f'"{escaped}"'
