"""Records, terms and shape parameters of the fast SHACL check: N-Triples forms, checked values.

Why: every module of the fast check names terms the same way (results are compared as
N-Triples strings with pyshacl's and with the W3C suite's) and reads shape parameters with the
same strictness: a parameter the check cannot read exactly makes it decline (InputError).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH, XSD
from rdflib.term import Node, _toPythonMapping  # rdflib's lexical parsers, as pyshacl uses them

from kg.errors import InputError

VIOLATION = "http://www.w3.org/ns/shacl#Violation"
# Datatypes whose literals Oxigraph stores in canonical form (the integer types as xsd:integer):
# "1.50"^^xsd:decimal is "1.5", "05"^^xsd:short "5"^^xsd:integer, "1"^^xsd:boolean "true".
_INTEGERS = "integer long int short byte nonNegativeInteger positiveInteger unsignedLong"
_INTEGERS += " unsignedInt unsignedShort unsignedByte nonPositiveInteger negativeInteger"
_OTHERS = "boolean decimal float double dateTime dateTimeStamp time duration"
_OTHERS += " yearMonthDuration dayTimeDuration"
REWRITTEN = frozenset(XSD[name] for name in (_INTEGERS + " " + _OTHERS).split())
# what they are stored as: a value of these may have had another lexical form in the source
STORED_REWRITTEN = REWRITTEN - {XSD[n] for n in _INTEGERS.split()[1:]} - {XSD.dateTimeStamp}


@dataclass(frozen=True)
class Result:
    """One validation result, every term in N-Triples form."""

    focus: str
    path: str | None
    value: str | None
    component: str
    shape: str
    message: str
    severity: str


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a SELECT binding ?this (and ?v when ``value == "v"``)."""

    sparql: str
    component: str
    shape: str
    path: str | None
    message: str
    severity: str
    value: str = "v"  # what sh:value reports: "v", "this" (the focus node) or "" (nothing)
    parsed: tuple[str, ...] = ()  # drop rows whose ?v has one of these datatypes and parses
    variables: tuple[str, ...] = ()  # sh:sparql: the projected variables, for the message
    # an ASK, true when a value it reads may be a literal the store rewrote (see
    # kg.shacl_originals); *reads* is its pattern, binding ?v, without that filter
    guard: str = ""
    reads: str = ""
    # for a guarded check that can judge literals as written: *loose* is the query giving
    # every row that may be a violation, and *judge* says, of a literal as the sources wrote
    # it, whether it violates; without them the check declines when a value was rewritten
    loose: str = ""
    judge: Callable[[ox.Literal], bool] | None = None
    refuse: tuple[tuple[str, str], ...] = ()  # (ASK, reason): when true, decline
    # which rewritten values matter: "form" (any: it reads lexical forms or compares terms),
    # "count" (a term standing for several written literals: see kg.shacl_counts.Constraint)
    # or "value" (a literal ill-typed as written: it compares values; see kg.shacl_sparql)
    sensitive: str = "form"
    written: tuple[ox.Literal, ...] = ()  # focus nodes the store holds otherwise (targetNode)
    # (class, focus subquery, cheaper pattern): see kg.shacl_targets.narrowing
    narrow: tuple[str, ...] = ()


def nt(term: object) -> str:
    """N-Triples form of an rdflib or pyoxigraph term (language tags lower case, no xsd:string);
    a literal as written, as SHACL reports it (rdflib may normalise: ``"none"^^xsd:boolean``
    would read ``"false"``)."""
    if isinstance(term, URIRef | BNode | ox.NamedNode | ox.BlankNode):
        text = getattr(term, "value", term)
        return f"<{text}>" if isinstance(term, URIRef | ox.NamedNode) else f"_:{text}"
    if isinstance(term, ox.Literal):
        lexical, language, datatype = term.value, term.language, term.datatype.value
    elif isinstance(term, Literal):
        lexical, language, datatype = str(term), term.language, str(term.datatype or XSD.string)
    else:
        raise TypeError(f"not an RDF term: {term!r}")
    quoted = lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    quoted = '"' + quoted.replace("\r", "\\r") + '"'
    if language:
        return f"{quoted}@{language.lower()}"
    return quoted if datatype == str(XSD.string) else f"{quoted}^^<{datatype}>"


def lexical_form(term: ox.Literal) -> str:
    """The lexical form rdflib would give *term* (it normalises what it can parse)."""
    datatype = URIRef(term.datatype.value)
    parse = None if term.language else _toPythonMapping.get(datatype)
    if parse is None:
        return term.value
    try:
        parse(term.value)
    except Exception:
        return term.value  # ill-typed: rdflib keeps the text as written
    return str(Literal(term.value, datatype=datatype))


def show(node: object) -> str:
    """A shape or parameter as messages name it."""
    if isinstance(node, BNode):
        return f"_:{node}"
    return f"<{node}>" if isinstance(node, str) and not isinstance(node, Literal) else repr(node)


def one(g: Graph, node: Node, pred: URIRef, who: str, kind: type, required: bool = False):
    """The value of *pred*: at most one (or exactly one, if *required*), of type *kind*."""
    values = list(g.objects(node, pred))
    if len(values) > 1 or (required and not values) or not all(isinstance(v, kind) for v in values):
        many = "exactly one" if required else "at most one"
        raise InputError(f"{who}: the fast check needs {many} {show(pred)}, a {kind.__name__}")
    return values[0] if values else None


def count(g: Graph, node: Node, pred: URIRef, who: str) -> int | None:
    """A non-negative integer parameter (sh:minCount...), or None when absent."""
    value = one(g, node, pred, who, Literal)
    if value is not None and (type(value.value) is not int or value.value < 0):
        raise InputError(f"{who}: {show(pred)} must be a non-negative integer")
    return None if value is None else value.value


def keys(g: Graph, node: Node, allowed: set, who: str) -> None:
    """Decline a SHACL parameter of *node* outside *allowed* (other predicates are not SHACL's
    business: a shapes graph may hold labels, classes and data too)."""
    extra = sorted(
        str(p) for p in g.predicates(node, None) if p.startswith(SH) and p not in allowed
    )
    if extra:
        raise InputError(f"{who}: {', '.join(map(show, extra))} not supported by the fast check")
