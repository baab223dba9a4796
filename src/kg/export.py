"""Exports: Turtle, N-Triples, N-Quads, TriG and JSON-LD compacted with kg's own context.

Triple formats (Turtle, N-Triples, JSON-LD) hold the union of the graphs; quad formats
(N-Quads, TriG) keep one named graph per source. JSON-LD is compacted by kg itself with
the shipped ``@context`` and nested where natural (a meeting holds its participations, a
state its memberships), because rdflib writes a flat ``@graph``. Nothing is fetched:
a remote context is refused.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from kg.errors import InputError, UsageError
from kg.namespaces import KG, PREFIXES

FORMATS = {
    "turtle": "turtle",
    "json-ld": "json-ld",
    "nt": "nt",
    "nquads": "nquads",
    "trig": "trig",
}
QUAD_FORMATS = {"nquads", "trig"}
EXTENSIONS = {".ttl": "turtle", ".jsonld": "json-ld", ".nt": "nt", ".nq": "nquads", ".trig": "trig"}

#: Reverse terms: a node that only its subject points at is nested under that subject.
REVERSE_TERMS = {
    "affiliations": KG + "member",
    "tenures": KG + "holder",
    "supportGiven": KG + "supporter",
    "successionsAsPredecessor": KG + "predecessor",
}
#: Kinds of node that exist to say something about another: nested where referenced once.
NESTED_KINDS = [
    KG + k
    for k in (
        "MeetingParticipation",
        "Topic",
        "Membership",
        "ProgrammeParticipation",
        "Tenure",
        "Support",
        "Succession",
    )
]
_FIXED_TERMS: dict[str, Any] = {
    "id": "@id",
    "type": "@type",
    "label": {"@id": "rdfs:label"},
    "altLabel": {"@id": "skos:altLabel"},
    "definition": {"@id": "skos:definition"},
    "comment": {"@id": "rdfs:comment"},
    "subClassOf": {"@id": "rdfs:subClassOf", "@type": "@id"},
    "subPropertyOf": {"@id": "rdfs:subPropertyOf", "@type": "@id"},
    "domain": {"@id": "rdfs:domain", "@type": "@id"},
    "range": {"@id": "rdfs:range", "@type": "@id"},
    "inverseOf": {"@id": "owl:inverseOf", "@type": "@id"},
}


def format_for(fmt: str | None, output: Path | None) -> str:
    """The export format asked for, or guessed from the output file's extension."""
    if fmt is None:
        if output is not None and output.suffix in EXTENSIONS:
            return EXTENSIONS[output.suffix]
        return "turtle"
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    return fmt


def serialize_union(nquads: str, fmt: str, *, context: dict | None = None) -> str:
    """The union of the graphs in *nquads* as Turtle or JSON-LD (compacted with *context*)."""
    fmt = format_for(fmt, None)
    ds = Dataset()
    ds.parse(data=nquads, format="nquads")
    union = Graph()
    _bind(union)
    for s, p, o, _ in ds.quads((None, None, None, None)):
        union.add((s, p, o))
    if fmt == "json-ld":
        return json.dumps(to_jsonld(union, context or {}), indent=2, ensure_ascii=False) + "\n"
    return union.serialize(format=fmt)


def _bind(graph: Graph) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, replace=True)


# -- the JSON-LD context ----------------------------------------------------------------


def build_context(ontology: Graph) -> dict:
    """The ``@context`` for kg's vocabulary, derived from the ontology so it cannot drift."""
    ctx: dict[str, Any] = {"@vocab": KG, "@language": "en"}
    ctx.update({p: ns for p, ns in PREFIXES.items() if p not in ("kgg",)})
    ctx.update(_FIXED_TERMS)
    for prop in sorted(set(ontology.subjects(RDF.type, OWL.ObjectProperty))):
        if str(prop).startswith(KG):
            ctx[str(prop)[len(KG) :]] = {"@id": "kg:" + str(prop)[len(KG) :], "@type": "@id"}
    for prop in sorted(set(ontology.subjects(RDF.type, OWL.DatatypeProperty))):
        if str(prop).startswith(KG):
            ctx[str(prop)[len(KG) :]] = {"@id": "kg:" + str(prop)[len(KG) :]}
    for term, iri in REVERSE_TERMS.items():
        ctx[term] = {"@reverse": "kg:" + iri[len(KG) :], "@type": "@id"}
    return {"@context": ctx}


def load_context(path: Path) -> dict:
    """Read a shipped context file; remote contexts (URLs) are refused, never fetched."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("JSON-LD context file not found.", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}.", path=str(path), line=exc.lineno) from None
    ctx = doc.get("@context") if isinstance(doc, dict) else None
    items = ctx if isinstance(ctx, list) else [ctx]
    if ctx is None or any(not isinstance(item, dict) for item in items):
        raise InputError(
            "the context must be an inline JSON object under '@context'; remote contexts "
            "(URLs) are refused because kg never goes on the network.",
            path=str(path),
        )
    return doc


# -- compaction --------------------------------------------------------------------------


def to_jsonld(graph: Graph, context: dict) -> dict:
    """Compact *graph* with *context*, nesting nodes that only one other node points at."""
    ctx = context.get("@context", {})
    terms = _Terms(ctx)
    refs = Counter(o for _, p, o in graph if not isinstance(o, Literal) and p != RDF.type)
    subjects = set(graph.subjects())
    # forward nesting: a dependent node (blank, or an n-ary kind such as a participation)
    # referenced exactly once goes inline; entities and sources stay at the top level
    nestable = {s for s in subjects if isinstance(s, BNode)}
    for kind in NESTED_KINDS:
        nestable.update(graph.subjects(RDF.type, URIRef(kind)))
    owner: dict[Node, Node] = {}
    for s, p, o in graph:
        if o in nestable and refs[o] == 1 and o != s and p != RDF.type:
            owner[o] = s
    # reverse nesting: an unreferenced n-ary node goes under the one node its reverse term names
    reverse: dict[Node, list[tuple[str, Node]]] = defaultdict(list)
    for term, iri in terms.reverse.items():
        for s, o in graph.subject_objects(URIRef(iri)):
            if refs[s] == 0 and s not in owner and o in subjects:
                reverse[o].append((term, s))
    homes = Counter(s for pairs in reverse.values() for _, s in pairs)
    for o, pairs in list(reverse.items()):  # a node with two homes stays at the top level
        reverse[o] = [(t, s) for t, s in pairs if homes[s] == 1]
    nested_rev = {s for pairs in reverse.values() for _, s in pairs}
    # guard against cycles: a node never nests inside something nested inside it
    for node in list(owner):
        seen, cur = {node}, owner[node]
        while cur in owner:
            if cur in seen:
                del owner[node]
                break
            seen.add(cur)
            cur = owner[cur]

    def node(subject: Node, parent: Node | None = None) -> dict:
        obj: dict[str, Any] = {terms.id_key: terms.iri(subject)}
        types = sorted(terms.vocab(t) for t in graph.objects(subject, RDF.type))
        if types:
            obj[terms.type_key] = types[0] if len(types) == 1 else types
        for p in sorted(set(graph.predicates(subject)) - {RDF.type}):
            name, coerced = terms.property(p)
            values = []
            for o in sorted(graph.objects(subject, p)):
                if o == parent and str(p) in terms.reverse.values() and subject in nested_rev:
                    continue  # the link back to the node this one is nested under
                if owner.get(o) == subject:
                    values.append(node(o, subject))
                elif not isinstance(o, Literal):
                    values.append(terms.iri(o) if coerced else {terms.id_key: terms.iri(o)})
                else:
                    values.append(_literal(o, ctx.get("@language")))
            if values:
                obj[name] = values[0] if len(values) == 1 else values
        for term, child in sorted(reverse.get(subject, [])):
            obj.setdefault(term, []).append(node(child, subject))
        return obj

    top = [
        node(s)
        for s in sorted(subjects, key=lambda n: (isinstance(n, BNode), str(n)))
        if s not in owner and s not in nested_rev
    ]
    return {"@context": ctx, "@graph": top}


def _literal(lit: Literal, language: str | None) -> Any:
    if lit.language:
        if lit.language == language:
            return str(lit)
        return {"@value": str(lit), "@language": lit.language}
    if lit.datatype is None or str(lit.datatype) == PREFIXES["xsd"] + "string":
        return {"@value": str(lit)} if language else str(lit)
    return {"@value": str(lit), "@type": _Terms.curie(str(lit.datatype))}


class _Terms:
    """IRI -> term name lookups for one context."""

    def __init__(self, ctx: dict):
        self.prefixes = {
            k: v
            for k, v in ctx.items()
            if isinstance(v, str) and not k.startswith("@") and not v.startswith("@")
        }
        self.props: dict[str, tuple[str, bool]] = {}
        self.reverse: dict[str, str] = {}
        for name, spec in ctx.items():
            if not isinstance(spec, dict):
                continue
            if "@reverse" in spec:
                self.reverse[name] = self._expand(spec["@reverse"])
            elif "@id" in spec and not spec["@id"].startswith("@"):
                self.props[self._expand(spec["@id"])] = (name, spec.get("@type") == "@id")
        self.vocab_ns = ctx.get("@vocab", "")
        aliases = {v: k for k, v in ctx.items() if v in ("@id", "@type")}
        self.id_key = aliases.get("@id", "@id")
        self.type_key = aliases.get("@type", "@type")

    def _expand(self, curie: str) -> str:
        prefix, _, local = curie.partition(":")
        return self.prefixes[prefix] + local if prefix in self.prefixes else curie

    @staticmethod
    def curie(iri: str) -> str:
        for prefix, ns in PREFIXES.items():
            if iri.startswith(ns) and prefix != "kgg":
                return f"{prefix}:{iri[len(ns) :]}"
        return iri

    def iri(self, iri: Node) -> str:
        if isinstance(iri, BNode):
            return f"_:{iri}"
        text = str(iri)
        for prefix, ns in self.prefixes.items():
            local = text[len(ns) :]
            if text.startswith(ns) and local and "/" not in local and "#" not in local:
                return f"{prefix}:{local}"
        return text

    def vocab(self, iri: URIRef) -> str:
        text = str(iri)
        if self.vocab_ns and text.startswith(self.vocab_ns):
            return text[len(self.vocab_ns) :]
        return self.iri(iri)

    def property(self, iri: URIRef) -> tuple[str, bool]:
        if str(iri) in self.props:
            return self.props[str(iri)]
        return self.iri(iri), False
