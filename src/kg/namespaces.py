"""The IRIs kg is built on, kept as plain strings so that importing them costs nothing.

Modules that need rdflib wrap them in ``rdflib.Namespace`` themselves; the query path
(which must not import rdflib) uses them as they are.
"""

from __future__ import annotations

KG = "https://w3id.org/kg-diplo/ontology#"
EX = "https://w3id.org/kg-diplo/id/"
KGSH = "https://w3id.org/kg-diplo/shapes#"
GRAPHS = "https://w3id.org/kg-diplo/graph/"
ONTOLOGY_GRAPH = GRAPHS + "ontology"
INFERRED_GRAPH = GRAPHS + "inferred"
#: The set union of the sources and the ontology (the asserted view's default graph).
UNION_GRAPH = GRAPHS + "asserted"
WD = "http://www.wikidata.org/entity/"

#: Prefixes known everywhere: in CURIEs given on the command line, in tables and exports.
PREFIXES: dict[str, str] = {
    "kg": KG,
    "ex": EX,
    "kgsh": KGSH,
    "kgg": GRAPHS,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "http://schema.org/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "time": "http://www.w3.org/2006/time#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "wd": WD,
    "wdt": "http://www.wikidata.org/prop/direct/",
}

RDF_TYPE = PREFIXES["rdf"] + "type"
RDFS_LABEL = PREFIXES["rdfs"] + "label"
XSD = PREFIXES["xsd"]


def compact(iri: str) -> str:
    """``prefix:local`` for *iri* when a known prefix covers it and the rest is a plain name."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    if best:
        local = iri[len(PREFIXES[best]) :]
        if local and all(c.isalnum() or c in "-_." for c in local) and not local.endswith("."):
            return f"{best}:{local}"
    return f"<{iri}>"


def expand(curie: str) -> str | None:
    """The IRI of ``prefix:local``, or None when the prefix is unknown."""
    prefix, sep, local = curie.partition(":")
    if not sep or prefix not in PREFIXES:
        return None
    return PREFIXES[prefix] + local
