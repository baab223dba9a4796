"""SHACL property paths as SPARQL property paths, and as results name them.

Why: SHACL paths (sequence, alternative, inverse, zero-or-more, one-or-more, zero-or-one) are
SPARQL 1.1 property paths by definition (SHACL 1.0, section 2.3.1), so the fast check hands them
to Oxigraph as they are; every query over them is DISTINCT, which gives SHACL's set of value
nodes. A malformed path (an empty list, a node with two path kinds) is refused, not guessed.
"""

from __future__ import annotations

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.errors import InputError

_REPEATS = ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?"))
_KINDS = {SH.inversePath, SH.alternativePath, *(pred for pred, _ in _REPEATS)}


def path_sparql(g: Graph, path: Node, who: str) -> str:
    """*path* as a SPARQL property path, IRIs in N-Triples form; InputError if malformed."""
    if isinstance(path, URIRef):
        return f"<{path}>"
    if not isinstance(path, BNode):
        raise InputError(f"{who}: sh:path must be an IRI or a blank node, not {path!r}")
    if (path, RDF.first, None) in g:
        steps = _list(g, path, who)
        if len(steps) < 2:
            raise InputError(f"{who}: a sequence path needs at least two members")
        return "(" + " / ".join(path_sparql(g, p, who) for p in steps) + ")"
    kinds = [(p, o) for p, o in g.predicate_objects(path) if p in _KINDS]
    if len(kinds) != 1 or len(set(g.predicate_objects(path))) != 1:
        raise InputError(f"{who}: a path node must hold exactly one path kind")
    kind, inner = kinds[0]
    if kind == SH.inversePath:
        return "^" + path_sparql(g, inner, who)
    if kind == SH.alternativePath:
        members = _list(g, inner, who)
        if len(members) < 2:
            raise InputError(f"{who}: an alternative path needs at least two members")
        return "(" + " | ".join(path_sparql(g, p, who) for p in members) + ")"
    return "(" + path_sparql(g, inner, who) + ")" + dict(_REPEATS)[kind]


def path_text(g: Graph, path: Node) -> str:
    """How results name *path*: its SPARQL form (``<p>``, ``^<p>``, ``(<p> / <q>)``...)."""
    return path_sparql(g, path, f"path {path!r}")


def _list(g: Graph, head: Node, who: str) -> list[Node]:
    try:
        return list(Collection(g, head))
    except Exception:  # a broken rdf:List
        raise InputError(f"{who}: a path list is not a well-formed RDF list") from None
