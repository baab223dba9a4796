"""Which shapes have targets, and the SPARQL that binds their focus nodes.

Why: a shape is validated only on its focus nodes (SHACL 2.1.3); each target kind is one
SPARQL pattern over the data, so the focus nodes of a shape are a UNION run by Oxigraph.
Class targets follow ``rdf:type/rdfs:subClassOf*`` (SHACL-instances), as pyshacl does; where
the data gives the class no subclass, some checks read ``?this rdf:type C`` instead
(:func:`narrowed`), as the path then finds nothing more and costs a third of such a check.
"""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from kg.errors import InputError
from kg.shacl_terms import Check

TYPE, SUB = f"<{RDF.type}>", f"<{RDFS.subClassOf}>"
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def targeted(g: Graph) -> set[Node]:
    """The active shapes with a target: explicit ones, and implicit class targets (a shape
    that is also an rdfs:Class or owl:Class targets its instances)."""
    found = {s for p in TARGETS for s in g.subjects(p, None)}
    shapes = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
    found |= {s for s in shapes if set(g.objects(s, RDF.type)) & {RDFS.Class, OWL.Class}}
    for s in g.subjects(SH.target, None):
        raise InputError(f"shape {s.n3()}: sh:target (SHACL-AF) is not supported by the fast check")
    return {s for s in found if not deactivated(g, s)}


def deactivated(g: Graph, shape: Node) -> bool:
    """Whether *shape* is switched off (``sh:deactivated true``): it then has no results."""
    values = list(g.objects(shape, SH.deactivated))
    if any(not (isinstance(v, Literal) and isinstance(v.value, bool)) for v in values):
        raise InputError(f"shape {shape.n3()}: sh:deactivated must be a boolean")
    return any(v.value for v in values)


def narrowing(g: Graph, shapes: list[Node], term) -> tuple[str, ...]:
    """For the focus of one shape whose only target is one class C: (C, the focus subquery
    :func:`focus` writes, the pattern ``?this rdf:type C``), else ``()``.

    Why: :func:`kg.shacl_fast.validate_store` puts the pattern in place of the subquery when
    no class of the data is a subclass of C. Oxigraph then reads the instances of C straight
    from its index, without the path and the DISTINCT over every focus node (a third of a
    MINUS-form sh:minCount check at 1M triples). Without the DISTINCT a node may come twice
    (a type stated in two graphs): only checks whose query is DISTINCT anyway may use it."""
    if len(shapes) != 1 or any(g.value(shapes[0], t) is not None for t in TARGETS[1:]):
        return ()
    classes = set(g.objects(shapes[0], SH.targetClass))
    if set(g.objects(shapes[0], RDF.type)) & {RDFS.Class, OWL.Class}:
        classes.add(shapes[0])
    if len(classes) != 1 or not isinstance(c := classes.pop(), URIRef):
        return ()
    return (term(c), focus(g, shapes, term), f"{{ ?this {TYPE} {term(c)} }}")


def narrowed(store: ox.Store, checks: list[Check], graphs: list) -> list[Check]:
    """*checks*, each with a :attr:`Check.narrow` focus read as ``?this rdf:type C`` when the
    union of *graphs* gives C no subclass (then the instances of C are its focus nodes)."""
    classes = sorted({c.narrow[0] for c in checks if c.narrow})
    if not classes:
        return checks
    wide = f"SELECT DISTINCT ?c WHERE {{ VALUES ?c {{ {' '.join(classes)} }} ?s {SUB}+ ?c "
    wide += "FILTER (!sameTerm(?s, ?c)) }"
    parents = {str(row["c"]) for row in store.query(wide, default_graph=graphs)}
    return [
        replace(c, sparql=c.sparql.replace(c.narrow[1], c.narrow[2]))
        if c.narrow and c.narrow[0] not in parents
        else c
        for c in checks
    ]


def focus(g: Graph, shapes: list[Node], term) -> str:
    """A subquery binding ?this to each focus node of each of *shapes* once, and ?parent to
    which of them (by position) when there are several. *term* gives a node in SPARQL form."""
    branches = []
    for ns in shapes:
        parts = []
        classes = set(g.objects(ns, SH.targetClass))
        if set(g.objects(ns, RDF.type)) & {RDFS.Class, OWL.Class}:
            classes.add(ns)
        for c in sorted(classes, key=str):
            if not isinstance(c, URIRef):
                raise InputError(f"shape {ns.n3()}: its sh:targetClass must be an IRI")
            parts.append(f"{{ ?class {SUB}* {term(c)} . ?this {TYPE} ?class }}")
        nodes = sorted(g.objects(ns, SH.targetNode), key=str)
        if nodes:
            parts.append(f"{{ VALUES ?this {{ {' '.join(map(term, nodes))} }} }}")
        for pred, pattern in (
            (SH.targetSubjectsOf, "?this {} ?o"),
            (SH.targetObjectsOf, "?s {} ?this"),
        ):
            for p in sorted(g.objects(ns, pred), key=str):
                if not isinstance(p, URIRef):
                    raise InputError(f"shape {ns.n3()}: its {pred.n3()} must be an IRI")
                parts.append("{ " + pattern.format(term(p)) + " }")
        branches.append(" UNION ".join(parts))
    if len(branches) == 1:
        return f"{{ SELECT DISTINCT ?this WHERE {{ {branches[0]} }} }}"
    tagged = " UNION ".join(f"{{ {b} BIND ({i} AS ?parent) }}" for i, b in enumerate(branches))
    return f"{{ SELECT DISTINCT ?this ?parent WHERE {{ {tagged} }} }}"
