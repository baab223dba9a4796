"""OWL RL closure, kept apart from what was asserted.

owlrl expands a graph in place; kg runs it on a copy of the asserted data plus the
ontology and keeps only the difference, so that the asserted view stays exactly what
the sources say and every inferred triple can be shown as inferred.
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF


def owl_rl_inferences(asserted: Graph) -> Graph:
    """The triples OWL RL adds to *asserted* (which must already include the ontology).

    Left out as noise: triples about literals, reflexive ``owl:sameAs`` and the blank-node
    and datatype axioms owlrl adds for every RDF/OWL built-in, which say nothing about
    the domain.
    """
    import owlrl

    closure = Graph()
    closure += asserted
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
    ).expand(closure)
    inferred = Graph()
    for s, p, o in closure:
        if (s, p, o) in asserted or isinstance(s, Literal):
            continue
        if p == OWL.sameAs and s == o:
            continue
        if p == RDF.type and o in _BUILTIN_CLASSES:
            continue
        inferred.add((s, p, o))
    return inferred


_BUILTIN_CLASSES = {OWL.Thing, OWL.NamedIndividual}
