"""A closed vocabulary: every class and property a source uses must be one kg knows.

RDF accepts any IRI, so a typo (``kg:Stat``, ``kg:startdate``) is a new term, not an
error, and the fact silently drops out of every query and shape. This check closes the
vocabulary:

* a term in a namespace the project owns (the ontology's ``kg:`` and the project's
  ``base``) must be declared in the ontology, as a class where it is used as a class and as
  a property where it is used as a property;
* a term of another vocabulary must appear in the ontology (which uses or aligns with it),
  be one of :data:`BUILT_IN`, or be allowed under ``[vocabulary] allow`` in kg.toml;
* an ``owl:ObjectProperty`` takes no literal, an ``owl:DatatypeProperty`` only literals.

Each problem is a :class:`~kg.shacl_fast.Result` (severity ``sh:Violation``) whose message
names the term and suggests the nearest declared term of the right kind. One SPARQL query
per check runs over all source graphs; only the few bad terms are then looked up.
"""

from __future__ import annotations

import difflib

import pyoxigraph as ox

from kg.namespaces import KG, KGSH, ONTOLOGY_GRAPH, PREFIXES, RDF_TYPE, compact
from kg.shacl_fast import VIOLATION, Result

_RDF, _RDFS, _OWL = PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["owl"]
#: Terms any source may use without the ontology naming them: RDF's own typing and the
#: RDFS annotations every tool writes (a name, a note, a pointer). They say nothing the
#: ontology must define; anything else from outside is a deliberate choice for kg.toml.
BUILT_IN = frozenset(
    {_RDF + "type", _RDFS + "label", _RDFS + "comment", _RDFS + "seeAlso"},
)
CLASS_KINDS = frozenset({_OWL + "Class", _RDFS + "Class"})
OBJECT_PROPERTY = _OWL + "ObjectProperty"
DATATYPE_PROPERTY = _OWL + "DatatypeProperty"
PROPERTY_KINDS = frozenset(
    {OBJECT_PROPERTY, DATATYPE_PROPERTY, _OWL + "AnnotationProperty", _RDF + "Property"}
)
SHAPE = f"<{KGSH}ClosedVocabulary>"
UNKNOWN_CLASS = f"<{KGSH}UnknownClass>"
UNKNOWN_PROPERTY = f"<{KGSH}UnknownProperty>"
CLASS_AS_PROPERTY = f"<{KGSH}ClassUsedAsProperty>"
PROPERTY_AS_CLASS = f"<{KGSH}PropertyUsedAsClass>"
LITERAL_OF_OBJECT_PROPERTY = f"<{KGSH}ObjectPropertyWithLiteral>"
NODE_OF_DATATYPE_PROPERTY = f"<{KGSH}DatatypePropertyWithNode>"
_TYPE = f"<{RDF_TYPE}>"


def vocabulary_results(store: ox.Store, project, graphs: dict[str, str]) -> list[Result]:
    """The closed-vocabulary violations of the source graphs of *graphs* (graph IRI ->
    shown path; the ontology is the graph :data:`~kg.namespaces.ONTOLOGY_GRAPH`)."""
    sources = [ox.NamedNode(g) for g in graphs if g != ONTOLOGY_GRAPH]
    if not sources:
        return []
    kinds, known = _ontology(store)
    owned = (KG, project.base)
    allowed = tuple(project.vocabulary_allow)
    foreign = {t for t in known | BUILT_IN if not t.startswith(owned)}
    classes = {t for t, k in kinds.items() if k & CLASS_KINDS}
    properties = {t for t, k in kinds.items() if k & PROPERTY_KINDS}

    def foreign_ok(term: str) -> bool:
        return (
            term in known
            or term in BUILT_IN
            or any(term == a or (a[-1] in "#/" and term.startswith(a)) for a in allowed)
        )

    results: list[Result] = []
    used_classes = _column(store, "SELECT DISTINCT ?t WHERE { GRAPH ?g { ?s a ?t } }", sources)
    for cls in sorted(used_classes):
        if cls.startswith(owned) and cls not in classes:
            if cls in properties:
                message = (
                    f"{_name(cls)} is a property of the ontology, not a class; it cannot be an "
                    f"rdf:type. Use it as a property, or type the node with a class"
                    f"{_nearest(cls, classes, ' such as ')}."
                )
                results += _uses(store, sources, cls, None, PROPERTY_AS_CLASS, message)
            else:
                message = (
                    f"{_name(cls)} is not a class of the ontology"
                    f"{_nearest(cls, classes, '; did you mean ', '?') or '.'} Fix the class, or "
                    "declare it in the ontology."
                )
                results += _uses(store, sources, cls, None, UNKNOWN_CLASS, message)
        elif not cls.startswith(owned) and not foreign_ok(cls):
            message = _foreign(cls, "class", foreign)
            results += _uses(store, sources, cls, None, UNKNOWN_CLASS, message)
    kinds_of_values = _properties_used(store, sources, BUILT_IN - objects_or_data(kinds))
    used = set(kinds_of_values)
    for prop in sorted(used):
        if prop.startswith(owned) and prop not in properties:
            if prop in classes:
                message = (
                    f"{_name(prop)} is a class of the ontology, not a property. Type the node "
                    f"with it (a {_name(prop)}), or use a property"
                    f"{_nearest(prop, properties, ' such as ')}."
                )
                results += _uses(store, sources, None, prop, CLASS_AS_PROPERTY, message)
            else:
                message = (
                    f"{_name(prop)} is not a property of the ontology"
                    f"{_nearest(prop, properties | BUILT_IN, '; did you mean ', '?') or '.'} "
                    "Fix the property, or declare it in the ontology."
                )
                results += _uses(store, sources, None, prop, UNKNOWN_PROPERTY, message)
        elif not prop.startswith(owned) and not foreign_ok(prop):
            message = _foreign(prop, "property", foreign)
            results += _uses(store, sources, None, prop, UNKNOWN_PROPERTY, message)
    objects = sorted(
        p for p in used if OBJECT_PROPERTY in kinds.get(p, ()) and True in kinds_of_values[p]
    )
    data = sorted(
        p for p in used if DATATYPE_PROPERTY in kinds.get(p, ()) and False in kinds_of_values[p]
    )
    if objects:
        message = (
            "{p} links to a node (it is an owl:ObjectProperty), but this value is a literal. "
            "Write an IRI such as ex:nato (no quotes), or use a property for text."
        )
        results += _misused(store, sources, objects, "isLiteral(?o)", message)
    if data:
        message = (
            "{p} takes a literal value (it is an owl:DatatypeProperty), but this value is an "
            'IRI or blank node. Write the value in quotes with its datatype, e.g. "..."@en.'
        )
        results += _misused(store, sources, data, "!isLiteral(?o)", message)
    return sorted(results, key=lambda r: (r.focus, r.path or "", r.value or "", r.message))


def objects_or_data(kinds: dict[str, set[str]]) -> set[str]:
    """The terms the ontology declares as object or datatype properties."""
    return {t for t, k in kinds.items() if OBJECT_PROPERTY in k or DATATYPE_PROPERTY in k}


def _properties_used(store, sources, plain: set[str]) -> dict[str, set[bool]]:
    """Each property the sources use -> whether with literals (True), other values
    (False) or both: one pass over every triple, in Oxigraph.

    Telling a literal from a node makes Oxigraph decode the value, which costs as much as
    the pass itself; it matters only for object and datatype properties, so the values of
    the *plain* properties (rdf:type, rdfs:label: a third of a typical graph) are left out
    of it, and only their use is asked for (an empty set of kinds)."""
    plain_terms = [ox.NamedNode(p) for p in sorted(plain)]
    left_out = " ".join(map(str, plain_terms))
    minus = f" MINUS {{ VALUES ?t {{ {left_out} }} }}" if plain_terms else ""
    query = f"SELECT DISTINCT ?t (isLiteral(?o) AS ?l) WHERE {{ GRAPH ?g {{ ?s ?t ?o }}{minus} }}"
    kinds_of_values: dict[str, set[bool]] = {}
    for row in store.query(query, named_graphs=sources):
        kinds_of_values.setdefault(row[0].value, set()).add(row[1].value == "true")
    for term in plain_terms:
        if store.query(f"ASK {{ GRAPH ?g {{ ?s {term} ?o }} }}", named_graphs=sources):
            kinds_of_values[term.value] = set()
    return kinds_of_values


def _ontology(store: ox.Store) -> tuple[dict[str, set[str]], set[str]]:
    """The declared kinds of each term of the ontology, and every IRI it mentions."""
    graph = ox.NamedNode(ONTOLOGY_GRAPH)
    kinds: dict[str, set[str]] = {}
    known: set[str] = set()
    for quad in store.quads_for_pattern(None, None, None, graph):
        for term in (quad.subject, quad.predicate, quad.object):
            if isinstance(term, ox.NamedNode):
                known.add(term.value)
        if quad.predicate.value == RDF_TYPE and isinstance(quad.subject, ox.NamedNode):
            kinds.setdefault(quad.subject.value, set()).add(quad.object.value)
    return kinds, known


def _column(store: ox.Store, query: str, sources: list[ox.NamedNode]) -> set[str]:
    return {
        row[0].value
        for row in store.query(query, named_graphs=sources)
        if isinstance(row[0], ox.NamedNode)
    }


def _uses(store, sources, cls: str | None, prop: str | None, component: str, message: str):
    """One result per node that uses the bad class (as its rdf:type) or property."""
    term = ox.NamedNode(cls or prop)
    if cls is not None:
        query = "SELECT DISTINCT ?s ?o WHERE { GRAPH ?g { ?s a ?o } }"
    else:
        query = "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
    bound = {ox.Variable("o" if cls is not None else "p"): term}
    rows = store.query(query, named_graphs=sources, substitutions=bound)
    path = _TYPE if cls is not None else f"<{prop}>"
    return [
        Result(_nt(row["s"]), path, _nt(row["o"]), component, SHAPE, message, VIOLATION)
        for row in rows
    ]


def _misused(store, sources, props: list[str], test: str, template: str) -> list[Result]:
    """One result per value of *props* that passes *test*: one query per property, which
    Oxigraph reads from its index (a VALUES block of them all was slower)."""
    component = LITERAL_OF_OBJECT_PROPERTY if test.startswith("is") else NODE_OF_DATATYPE_PROPERTY
    results = []
    for prop in map(ox.NamedNode, props):
        query = f"SELECT DISTINCT ?s ?o WHERE {{ GRAPH ?g {{ ?s {prop} ?o FILTER ({test}) }} }}"
        message = template.format(p=_name(prop.value))
        results += [
            Result(_nt(row["s"]), _nt(prop), _nt(row["o"]), component, SHAPE, message, VIOLATION)
            for row in store.query(query, named_graphs=sources)
        ]
    return results


def _foreign(term: str, kind: str, candidates: set[str]) -> str:
    return (
        f"{_name(term)} is not a {kind} the ontology uses or aligns with"
        f"{_nearest(term, candidates, '; did you mean ', '?') or '.'} Use the kg: term for it, or, "
        "if you mean this vocabulary, list it under [vocabulary] allow in kg.toml."
    )


#: Words people use for a term of the project's own vocabulary, by local name (lower
#: case): an unknown term of that namespace named so is pointed to the project's term.
SYNONYMS = {
    "country": "State",
    "nation": "State",
    "organization": "Organisation",
    "organisations": "Organisation",
    "organizations": "Organisation",
}


def _nearest(term: str, candidates: set[str], before: str, after: str = "") -> str:
    """``before + nearest + after`` for the candidate closest to *term*, or "" when none
    is close. Local names are compared without case (and 's' for 'z'); a term is pointed
    to another vocabulary only when its own has nothing near: first the same local name
    in the term's namespace, or a synonym there (:data:`SYNONYMS`); then the same local
    name among :data:`BUILT_IN` (``kg:label`` is ``rdfs:label``); then a longer name of
    the term's namespace that starts with it (``kg:holds``: ``kg:holdsPost``); then a close
    name there; then the same local name elsewhere; then a close name elsewhere."""
    namespace = term[: len(term) - len(_local(term))]
    wanted = _fold(_local(term))
    same = {c for c in candidates if c.startswith(namespace)}
    others = candidates - same
    synonym = SYNONYMS.get(_local(term).lower())
    steps = (
        (same, 1.0),
        ({namespace + synonym} & same if synonym else set(), None),
        (BUILT_IN & candidates - same, 1.0),
        (same, "prefix"),
        (same, 0.6),
        (others, 1.0),
        (others, 0.6),
    )
    for pool, cutoff in steps:
        if cutoff is None:  # a synonym: taken as it is
            if pool:
                return f"{before}{_name(min(pool))}{after}"
            continue
        by_local: dict[str, str] = {}
        for c in sorted(pool):
            by_local.setdefault(_fold(_local(c)), c)
        if cutoff == 1.0:
            match = [wanted] if wanted in by_local else []
        elif cutoff == "prefix":  # kg:holds is kg:holdsPost cut short
            longer = [n for n in by_local if len(wanted) >= 4 and n.startswith(wanted)]
            match = sorted(longer, key=lambda n: (len(n), n))[:1]
        else:
            match = difflib.get_close_matches(wanted, list(by_local), n=1, cutoff=cutoff)
        if match:
            return f"{before}{_name(by_local[match[0]])}{after}"
    return ""


def _fold(name: str) -> str:
    """A local name as compared: case and British/American 's'/'z' set aside."""
    return name.lower().replace("z", "s")


def _local(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[-1] or iri
    return iri


def _name(iri: str) -> str:
    return compact(iri)


def _nt(term) -> str:
    from kg.shacl_fast import _nt as nt

    return nt(term)
