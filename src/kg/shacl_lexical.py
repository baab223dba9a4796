"""Lexical forms for the fast SHACL check: datatypes and patterns, read as pyshacl reads them.

Why: SPARQL sees a literal's datatype and its (canonical) text, pyshacl runs rdflib's Python
parsers and Python's ``re``. This module says which datatypes SPARQL can judge at once, which
values need rdflib's parser afterwards (:func:`parses`), and which ``sh:pattern`` expressions
Python's ``re`` and Oxigraph's ``REGEX`` read alike (:func:`regex`); anything else is declined.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise

import pyoxigraph as ox
from rdflib import URIRef
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
# nothing on common data and are judged exactly as the reference judges them.
STRICT = {
    XSD.date: _PLAIN_DATE,
    XSD.gYear: "^[1-9][0-9]{3}$",
    XSD.gYearMonth: "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$",
}
DATATYPES = {  # sh:datatype: when ?V matches, in pyshacl's (rdflib's) reading
    XSD.string: "DATATYPE({v}) = <" + str(XSD.string) + ">",
    RDF.langString: 'LANG({v}) != ""',
    XSD.anyURI: "DATATYPE({v}) = <" + str(XSD.anyURI) + ">",  # rdflib checks no lexical form
    # stored in canonical form, so a well-formed value reads "true" or "false"
    XSD.boolean: f'DATATYPE({{v}}) = <{XSD.boolean}> && STR({{v}}) IN ("true", "false")',
    **{dt: f'DATATYPE({{v}}) = <{dt}> && REGEX(STR({{v}}), "{rx}")' for dt, rx in STRICT.items()},
}


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
    """The SPARQL condition: V is a literal of datatype *dt*, well formed."""
    if dt in REWRITTEN and dt not in DATATYPES:
        raise InputError(
            f"{who}: sh:datatype {show(dt)} cannot be checked exactly: the store keeps values of "
            "this datatype in canonical form (integer types all as xsd:integer)"
        )
    if dt not in DATATYPES:
        known = ", ".join(map(show, DATATYPES))
        raise InputError(f"{who}: sh:datatype {show(dt)} is not supported (only {known})")
    return f"isLiteral({v}) && " + DATATYPES[dt].replace("{v}", v)  # && is false for non-literals


def parsed(datatypes) -> tuple[str, ...]:
    """Those of *datatypes* whose values SPARQL checks only for a common form (see STRICT)."""
    return tuple(str(dt) for dt in datatypes if dt in STRICT)


def parses(term: object, datatypes: tuple[str, ...]) -> bool:
    """Whether rdflib (hence pyshacl) reads *term* as a well-typed value of its datatype,
    which is one of *datatypes*."""
    if not isinstance(term, ox.Literal) or term.datatype.value not in datatypes:
        return False
    datatype = URIRef(term.datatype.value)
    try:
        value = _toPythonMapping[datatype](term.value)
    except Exception:
        return False
    return isinstance(value, date) if datatype == XSD.date else True


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
