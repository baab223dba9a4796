"""Lexical forms for the fast SHACL check: datatypes and patterns, read as pyshacl reads them.

Why: SPARQL sees a literal's datatype and its (canonical) text, pyshacl runs rdflib's Python
parsers and Python's ``re``. This module says which datatypes SPARQL can judge at once, which
values need rdflib's parser afterwards (:func:`parses`), and which ``sh:pattern`` expressions
Python's ``re`` and Oxigraph's ``REGEX`` read alike (:func:`regex`); anything else is declined.
For a literal the store rewrote, :class:`Judge` gives pyshacl's verdict on the literal as the
sources wrote it (:func:`well_typed`: rdflib's ``Literal.ill_typed`` and pyshacl's value types).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import pairwise

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node, _toPythonMapping  # rdflib's lexical parsers, as pyshacl uses them

from kg.errors import InputError
from kg.shacl_terms import REWRITTEN, show

_PLAIN_DATE = (  # YYYY-MM-DD dates rdflib surely parses; any other xsd:date is checked in Python
    "^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"
    "|^[1-9][0-9]{3}-(0[13-9]|1[0-2])-(29|30)$|^[1-9][0-9]{3}-(0[13578]|1[02])-31$"
)
# Lexical forms SPARQL accepts at once for these datatypes; any other value of theirs is
# re-checked in Python with the parser rdflib (hence pyshacl) uses, so rare forms cost
# nothing on common data and are judged exactly as the reference judges them. None: every
# value is re-checked (the store keeps a well-formed xsd:byte as xsd:integer, so one it holds
# as xsd:byte is odd; rdf:HTML needs an HTML parser).
_INTEGER, _DECIMAL = "^-?[0-9]+$", "^-?[0-9]+([.][0-9]+)?$"
STRICT: dict[Node, str | None] = {
    XSD.date: _PLAIN_DATE,
    XSD.gYear: "^[1-9][0-9]{3}$",
    XSD.gYearMonth: "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$",
    XSD.integer: _INTEGER,  # the store's canonical forms (of every integer type)
    XSD.decimal: _DECIMAL,
    RDF.HTML: None,
}
STRICT |= {dt: None for dt in sorted(REWRITTEN - {XSD.boolean} - set(STRICT))}
DATATYPES = {  # sh:datatype: when ?V matches, in pyshacl's (rdflib's) reading
    XSD.string: "DATATYPE({v}) = <" + str(XSD.string) + ">",
    RDF.langString: 'LANG({v}) != ""',
    XSD.anyURI: "DATATYPE({v}) = <" + str(XSD.anyURI) + ">",  # rdflib checks no lexical form
    # stored in canonical form, so a well-formed value reads "true" or "false"
    XSD.boolean: f'DATATYPE({{v}}) = <{XSD.boolean}> && STR({{v}}) IN ("true", "false")',
    **{
        dt: f"DATATYPE({{v}}) = <{dt}> && " + (f'REGEX(STR({{v}}), "{rx}")' if rx else "false")
        for dt, rx in STRICT.items()
    },
}
# Python types pyshacl requires of a value (its DatatypeConstraintComponent), beyond rdflib's
# own well-formedness; any other datatype passes once rdflib finds it well formed.
_VALUE_TYPES = {XSD.integer: int, XSD.float: float, XSD.decimal: Decimal, XSD.boolean: bool}
_VALUE_TYPES |= {XSD.date: date, XSD.time: time, XSD.dateTime: datetime}
_VALUE_TYPES |= {XSD.string: str, RDF.langString: str}


def strict_lexical_forms() -> None:
    """Have rdflib check xsd:gYear and xsd:gYearMonth values with owlrl's parsers.

    rdflib has none for them, and owlrl registers its own while it reasons and leaves
    these two behind; so without this, whether pyshacl (the reference) accepts
    "abc"^^xsd:gYear would depend on whether owlrl ran earlier in the process."""
    from owlrl.DatatypeHandling import AltXSDToPYTHON

    for datatype in (XSD.gYear, XSD.gYearMonth):
        _toPythonMapping[datatype] = AltXSDToPYTHON[datatype]


strict_lexical_forms()


def datatype_test(dt: Node | None, who: str, v: str) -> str:
    """The SPARQL condition: V is a literal of datatype *dt*, well formed (for datatypes in
    STRICT, the common forms only: the rest are re-checked with :func:`parses`)."""
    if dt not in DATATYPES:
        known = ", ".join(map(show, DATATYPES))
        raise InputError(f"{who}: sh:datatype {show(dt)} is not supported (only {known})")
    return f"isLiteral({v}) && " + DATATYPES[dt].replace("{v}", v)  # && is false for non-literals


def strict_test(dt: Node) -> str:
    """An ASK, true when the data holds a value of *dt* that SPARQL alone cannot judge (one
    outside the common forms of STRICT), which a nested check cannot re-check in Python."""
    rx = STRICT[dt]
    odd = f'!REGEX(STR(?v), "{rx}")' if rx else "true"
    return f"ASK {{ ?s ?p ?v FILTER (isLiteral(?v) && DATATYPE(?v) = <{dt}> && {odd}) }}"


def parsed(datatypes) -> tuple[str, ...]:
    """Those of *datatypes* whose values SPARQL checks only for a common form (see STRICT)."""
    return tuple(str(dt) for dt in datatypes if dt in STRICT)


def parses(term: object, datatypes: tuple[str, ...]) -> bool:
    """Whether rdflib (hence pyshacl) reads *term* as a well-typed value of its datatype,
    which is one of *datatypes*."""
    if not isinstance(term, ox.Literal) or term.datatype.value not in datatypes:
        return False
    datatype = URIRef(term.datatype.value)
    if datatype in _GUARDED:
        return well_typed(term.value, datatype)
    try:
        value = _toPythonMapping[datatype](term.value)
    except Exception:
        return False
    return isinstance(value, date) if datatype == XSD.date else True


def well_typed(lexical: str, datatype: Node) -> bool:
    """pyshacl's sh:datatype verdict on a literal of *datatype*: rdflib finds it well formed
    (``Literal.ill_typed``, which checks the ranges of derived integer types too) and its
    value has the Python type pyshacl expects."""
    log = logging.getLogger("rdflib.term")  # rdflib logs every value it cannot parse
    was, log.disabled = log.disabled, True
    try:
        literal = Literal(lexical, datatype=datatype)
    finally:
        log.disabled = was
    if literal.ill_typed:
        return False
    kind = _VALUE_TYPES.get(URIRef(datatype))
    return kind is None or isinstance(literal.value, kind)


@dataclass(frozen=True)
class Judge:
    """Whether a literal as the sources wrote it violates a component (true: a violation),
    for the values the store rewrote (see kg.shacl_originals). A value, not a closure, so that
    checks pickle and compare."""

    kind: str  # "datatype" (one of *terms*), "in" (*terms*), "pattern", "longer", "shorter"
    terms: tuple[str, ...] = ()  # datatype IRIs, or members in N-Triples form
    pattern: str = ""
    flags: int = 0
    n: int = 0

    def __call__(self, term: ox.Literal) -> bool:
        if self.kind == "datatype":
            if term.language:
                return str(RDF.langString) not in self.terms
            dt = term.datatype.value
            return dt not in self.terms or not well_typed(term.value, URIRef(dt))
        if self.kind == "in":
            return str(term) not in self.terms
        if self.kind == "pattern":
            return re.search(self.pattern, term.value, self.flags) is None
        return len(term.value) > self.n if self.kind == "longer" else len(term.value) < self.n


def guarded(datatypes) -> bool:
    """Whether a sh:datatype check on *datatypes* must see literals as written: the store
    rewrites values of these types (all integer types to xsd:integer; "05" to "5"), and
    rdflib may find well formed what the store rewrote (or the reverse)."""
    return any(dt in _GUARDED for dt in datatypes)


_GUARDED = frozenset(REWRITTEN - {XSD.boolean})


def regex(text: str, who: str) -> str:
    """Python *text* as the Oxigraph REGEX argument matching the same, or InputError."""
    body = text[1:] if text.startswith("^") else text
    end = body.endswith("$") and not body.endswith("\\$")
    body = body[:-1] if end else body
    tokens = _REGEX_TOKEN.findall(body)
    odd = any(t.startswith("[") and ("&&" in t or "--" in t or "~~" in t) for t in tokens)
    if "".join(tokens) != body or odd or ("(", "?") in pairwise(tokens):
        raise InputError(f"{who}: sh:pattern {text!r} uses regex features outside the safe subset")
    translated = text[: len(text) - len(body) - end] + body + ("\\n?$" if end else "")
    return '"' + translated.replace("\\", "\\\\").replace('"', '\\"') + '"'


_REGEX_TOKEN = re.compile(  # what Python's re and Oxigraph's REGEX read alike
    r"\\[.^$*+?()\[\]{}|\\/d-]|\[\^?(?:\\[.^$*+?()\[\]{}|\\/d-]|[^\\\[\]])+\]"
    r"|(?:[*+?]|\{\d+(?:,\d*)?\})(?![?+])|[()|.]|[^\\\[\]()|.*+?{}^$]"
)
