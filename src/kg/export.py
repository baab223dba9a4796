"""Exports: Turtle, N-Triples, N-Quads, TriG and JSON-LD compacted with kg's own context.

Triple formats (Turtle, N-Triples, JSON-LD) hold the union of the graphs; quad formats
(N-Quads, TriG) keep one named graph per source. JSON-LD is compacted by kg itself with
the shipped ``@context`` and nested where natural (a meeting holds its participations, a
state its memberships), because rdflib writes a flat ``@graph``. Nothing is fetched:
a remote context is refused.

Whatever kg accepted, it exports, in time linear in its size: N-Triples, N-Quads and
TriG are written by Oxigraph; Turtle and JSON-LD by kg's own writers, which keep their
place on explicit stacks instead of recursing (rdflib's Turtle writer dies of
RecursionError at about 330 levels of nested blank nodes). Nesting stops at a fixed depth
and goes on in a labelled top-level piece, because readers do recurse.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from kg.errors import InputError, UsageError, shown
from kg.namespaces import KG, PREFIXES
from kg.turtle import TURTLE_MAX_DEPTH, to_turtle  # noqa: F401 - part of this API

Triple = tuple[Node, Node, Node]

FORMATS = {
    "turtle": "turtle",
    "json-ld": "json-ld",
    "nt": "nt",
    "nquads": "nquads",
    "trig": "trig",
}
QUAD_FORMATS = {"nquads", "trig"}
#: Deepest nesting written. Readers recurse once per level (rdflib's Turtle parser fails
#: from about 120 levels, Python's JSON encoder and rdflib's JSON-LD parser somewhat
#: later), so deeper structures are cut into labelled pieces that refer to each other.
JSONLD_MAX_DEPTH = 100
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
    """The export format asked for, or guessed from the output file's extension.

    A guess that could be wrong is refused rather than made: ``-o kg.rdf`` used to write
    Turtle into a file whose name promises RDF/XML. With *fmt* given, any name goes.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
        return fmt
    if output is None or str(output) == "-" or not output.suffix:
        return "turtle"
    suffix = output.suffix.lower()
    gz = ""
    if suffix == ".gz" and output.with_suffix("").suffix.lower() in EXTENSIONS:
        suffix = output.with_suffix("").suffix.lower()  # kg.nq.gz: N-Quads, compressed
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix == ".gz":
        gz = " (then .gz to compress: kg.nq.gz)"
    writable = ", ".join(EXTENSIONS)
    if suffix == ".json":
        raise UsageError(
            f"kg cannot tell which format to write to a {output.suffix!r} file: name it "
            f".jsonld or give --format json-ld (writable extensions: {writable})."
        )
    raise UsageError(
        f"kg cannot write a {output.suffix!r} file: give the output one of the extensions "
        f"{writable}{gz}, or choose the format with --format."
    )


def gzipped(text: str | Iterable[str], *, level: int = 6) -> Iterator[bytes]:
    """*text* (a string or string chunks) as gzip-compressed UTF-8, piece by piece, for
    bulk loaders (``tdb2.tdbloader``, Virtuoso's ``ld_dir``, ``oxigraph load`` read
    ``.nq.gz``). The header carries no time or name, so the same graph compresses to the
    same bytes."""
    import zlib

    squeeze = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: the gzip container
    pieces = (
        (text[i : i + (1 << 20)] for i in range(0, len(text), 1 << 20))
        if isinstance(text, str)
        else text
    )
    for piece in pieces:
        out = squeeze.compress(piece.encode("utf-8"))
        if out:
            yield out
    yield squeeze.flush()


def serialize_union(nquads: str, fmt: str, *, context: dict | None = None) -> str:
    """*nquads* in *fmt*: the union of its graphs for the triple formats (JSON-LD compacted
    with *context*), its graphs kept apart for N-Quads and TriG.

    Every path here is iterative and linear in the size of the data: N-Triples, N-Quads
    and TriG are Oxigraph's, Turtle and JSON-LD kg's own (:func:`to_turtle`,
    :func:`to_jsonld`), because rdflib's writers recurse once per level of blank-node
    nesting and die of RecursionError from about 330 levels.
    """
    fmt = format_for(fmt, None)
    if fmt in QUAD_FORMATS or fmt == "nt":
        return _serialize_oxigraph(nquads, fmt)
    triples = _union_triples(nquads)
    if fmt == "json-ld":
        return json.dumps(to_jsonld(triples, context or {}), indent=2, ensure_ascii=False) + "\n"
    return to_turtle(triples)


def _union_triples(nquads: str) -> list[Triple]:
    """The triples of every graph in *nquads*, each once, as rdflib terms.

    Oxigraph parses and deduplicates; the writers need one pass over the triples, not
    an rdflib store, whose parser and indexes took two thirds of the time of an export.
    Literals come out as rdflib's parser makes them (a plain string has no datatype).
    """
    import pyoxigraph as ox

    quads = ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
    unique = dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in quads)
    terms: dict[Any, Node] = {}

    def term(t: Any) -> Node:
        if t not in terms:
            if isinstance(t, ox.NamedNode):
                terms[t] = URIRef(t.value)
            elif isinstance(t, ox.BlankNode):
                terms[t] = BNode(t.value)
            elif t.language:
                terms[t] = Literal(t.value, lang=t.language)
            elif t.datatype.value == PREFIXES["xsd"] + "string":
                terms[t] = Literal(t.value)
            else:
                terms[t] = Literal(t.value, datatype=URIRef(t.datatype.value))
        return terms[t]

    return [(term(t.subject), term(t.predicate), term(t.object)) for t in unique]


def _serialize_oxigraph(nquads: str, fmt: str) -> str:
    """N-Triples (the union, each triple once), N-Quads or TriG, written by Oxigraph."""
    import pyoxigraph as ox

    quads = ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
    if fmt == "nt":
        triples = dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in quads)
        return (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
    if fmt == "trig":
        out = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=PREFIXES)
    else:
        out = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    return (out or b"").decode("utf-8")


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


#: A context file kg reads: its own is a few kilobytes; this leaves room for any ontology.
MAX_CONTEXT_BYTES = 16 << 20
#: Terms a context may define: compaction tries every prefix on every IRI it writes.
MAX_CONTEXT_TERMS = 10_000
#: Keywords whose value compaction reads, and so must be a string (or null).
_STRING_KEYWORDS = ("@vocab", "@language", "@base", "@direction")
#: Keys of a term definition that compaction reads (``@language`` may also be null).
_TERM_STRINGS = ("@id", "@type", "@reverse", "@language")


def load_context(path: Path, *, shown_as: str | None = None) -> dict:
    """Read a shipped context file as ``{"@context": {...}}``, one validated object.

    Remote contexts (URLs, ``@import``) are refused, never fetched. A list of inline
    contexts is merged in order, as JSON-LD processing applies local contexts (a later
    definition wins, ``null`` starts afresh), because the compaction works on one object.
    Every term definition is checked before compaction relies on it: a term that is not
    a string or an object, or an ``@id`` that is a number, crashed the export (exit 3).
    The file must be a regular file (a FIFO would block the export for ever). Messages
    name it as *shown_as* (e.g. relative to the project), else as *path*.
    """
    from kg.project import read_regular

    where = shown_as or str(path)

    def refuse(why: str, line: int | None = None) -> InputError:
        return InputError(why, path=where, line=line)

    try:
        data = read_regular(path, MAX_CONTEXT_BYTES, shown_as=where)
    except FileNotFoundError:
        raise refuse("JSON-LD context file not found.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(
            f"is not UTF-8 text (an invalid byte at offset {exc.start:,}); JSON-LD is UTF-8."
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(f"not valid JSON: {exc.msg}.", exc.lineno) from None
    except RecursionError:
        raise refuse("arrays or objects are nested too deeply for a JSON-LD context.") from None
    except ValueError as exc:  # e.g. a number of more than 4,300 digits
        raise refuse(f"not valid JSON: {shown(str(exc), 120)}.") from None
    ctx = doc.get("@context") if isinstance(doc, dict) else None
    items = ctx if isinstance(ctx, list) else [ctx]
    if ctx is None or any(not isinstance(item, dict | None) for item in items):
        raise refuse(
            "the context must be an inline JSON object under '@context'; remote contexts "
            "(URLs) are refused because kg never goes on the network."
        )
    merged: dict[str, Any] = {}
    for item in items:  # in place: copying per item is quadratic in a long list
        if item is None:
            merged = {}
        else:
            merged.update(item)
    _check_context(merged, refuse)
    return {"@context": merged}


def _check_context(ctx: dict[str, Any], refuse: Callable[[str], InputError]) -> None:
    """Refuse what the compaction (:class:`_Terms`, :func:`to_jsonld`) cannot use."""
    if len(ctx) > MAX_CONTEXT_TERMS:
        raise refuse(f"defines {len(ctx):,} terms; kg reads at most {MAX_CONTEXT_TERMS:,}.")
    for key, value in ctx.items():
        if key == "@import":
            raise refuse(
                "'@import' names a remote context, which kg refuses because it never goes "
                "on the network; copy its terms into this file."
            )
        if key in _STRING_KEYWORDS:
            if value is not None and not isinstance(value, str):
                raise refuse(f"{key} must be a string, not {_json_kind(value)}.")
            continue
        if key.startswith("@") or value is None or isinstance(value, str):
            continue  # other keywords (@version...) are not read; null unmaps a term
        if not isinstance(value, dict):
            raise refuse(
                f"the term {shown(key)} is defined as {_json_kind(value)}; a term definition "
                "is a string (an IRI) or an object with '@id' or '@reverse'."
            )
        for name in _TERM_STRINGS:
            item = value.get(name)
            if name in value and not isinstance(item, str):
                if name == "@language" and item is None:
                    continue
                raise refuse(
                    f"the term {shown(key)}: its {name} is {_json_kind(item)}, but must be "
                    "a string."
                )


def _json_kind(value: Any) -> str:
    """What a JSON value is, for a message (its text could be huge or hostile)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "a string"


# -- compaction --------------------------------------------------------------------------


def to_jsonld(graph: Iterable[Triple], context: dict, *, max_depth: int = JSONLD_MAX_DEPTH) -> dict:
    """Compact *graph* with *context*, nesting nodes that only one other node points at.

    Built without recursion (a work stack of node objects to fill) and in time linear in
    the size of the graph, so that data nested thousands of levels deep exports like any
    other. A node that would sit deeper than *max_depth* levels goes to the top level of
    ``@graph`` instead, referenced by ``@id`` (a blank node by its ``_:`` label): readers
    of JSON, like rdflib's JSON-LD parser, recurse once per level too.
    """
    ctx = context.get("@context", {})
    terms = _Terms(ctx)
    reverse_iris = set(terms.reverse.values())
    props: dict[Node, dict[Node, list[Node]]] = {}
    refs: Counter[Node] = Counter()
    for s, p, o in graph:
        props.setdefault(s, {}).setdefault(p, []).append(o)
        if not isinstance(o, Literal) and p != RDF.type:
            refs[o] += 1
    # forward nesting: a dependent node (blank, or an n-ary kind such as a participation)
    # referenced exactly once goes inline; entities and sources stay at the top level
    kinds = {URIRef(kind) for kind in NESTED_KINDS}
    nestable = {
        s
        for s, po in props.items()
        if isinstance(s, BNode) or not kinds.isdisjoint(po.get(RDF.type, ()))
    }
    owner: dict[Node, Node] = {}
    for s, po in props.items():
        for p, objects in po.items():
            if p == RDF.type:
                continue
            for o in objects:
                if o in nestable and refs[o] == 1 and o != s:
                    owner[o] = s
    # reverse nesting: an unreferenced n-ary node goes under the one node its reverse term names
    reverse: dict[Node, list[tuple[str, Node]]] = defaultdict(list)
    for term, iri in terms.reverse.items():
        for s, po in props.items():
            for o in po.get(URIRef(iri), ()):
                if refs[s] == 0 and s not in owner and o in props:
                    reverse[o].append((term, s))
    homes = Counter(s for pairs in reverse.values() for _, s in pairs)
    for o, pairs in list(reverse.items()):  # a node with two homes stays at the top level
        reverse[o] = [(t, s) for t, s in pairs if homes[s] == 1]
    nested_rev = {s for pairs in reverse.values() for _, s in pairs}
    # a node never nests inside something nested inside it: find the cycles of the
    # "nested under" relation (forward and reverse alike) and lift one node of each to
    # the top level; one pass, each node walked once
    home = dict(owner)
    home.update((s, o) for o, pairs in reverse.items() for _, s in pairs)
    for node in _cycle_breakers(home):
        if node in owner:
            del owner[node]
        else:
            reverse[home[node]] = [(t, s) for t, s in reverse[home[node]] if s != node]
            nested_rev.discard(node)

    out: list[dict] = []
    # (subject, the node it is nested under, its depth, the object to fill in)
    work: list[tuple[Node, Node | None, int, dict]] = []

    def place(subject: Node) -> None:
        obj: dict[str, Any] = {}
        out.append(obj)
        work.append((subject, None, 0, obj))

    def fill(subject: Node, parent: Node | None, depth: int, obj: dict[str, Any]) -> None:
        po = props.get(subject, {})
        obj[terms.id_key] = terms.iri(subject)
        types = sorted(terms.vocab(t) for t in po.get(RDF.type, ()))
        if types:
            obj[terms.type_key] = types[0] if len(types) == 1 else types
        for p in sorted(set(po) - {RDF.type}):
            name, coerced = terms.property(p)
            values: list[Any] = []
            for o in sorted(po[p]):
                if o == parent and str(p) in reverse_iris and subject in nested_rev:
                    continue  # the link back to the node this one is nested under
                if owner.get(o) == subject and depth < max_depth:
                    child: dict[str, Any] = {}
                    values.append(child)
                    work.append((o, subject, depth + 1, child))
                    continue
                if owner.get(o) == subject:
                    place(o)  # too deep to nest: a top-level node, referenced here
                if not isinstance(o, Literal):
                    values.append(terms.iri(o) if coerced else {terms.id_key: terms.iri(o)})
                else:
                    values.append(_literal(o, ctx.get("@language")))
            if values:
                obj[name] = values[0] if len(values) == 1 else values
        for term, child_node in sorted(reverse.get(subject, [])):
            if depth < max_depth:
                child = {}
                obj.setdefault(term, []).append(child)
                work.append((child_node, subject, depth + 1, child))
            else:  # at the top level, the child states its own link to this node
                place(child_node)

    for s in sorted(props, key=_order):
        if s in owner or s in nested_rev:
            continue
        place(s)
        while work:
            fill(*work.pop())
    return {"@context": ctx, "@graph": out}


def _order(node: Node) -> tuple[bool, str]:
    """Top-level order: IRIs first, then blank nodes, each by their text."""
    return isinstance(node, BNode), str(node)


def _cycle_breakers(home: dict[Node, Node]) -> list[Node]:
    """One node of each cycle of *home* (each node's one container), the least in
    :func:`_order`: lifting it to the top level makes the nesting a forest.

    Each node has at most one home, so following homes from any node either ends or runs
    into a cycle; colouring nodes (on the current walk, or done) visits each once.
    """
    breakers: list[Node] = []
    state: dict[Node, bool] = {}  # False: on the current walk; True: done
    for start in sorted(home, key=_order):
        walk: list[Node] = []
        node: Node | None = start
        while node is not None and node not in state:
            state[node] = False
            walk.append(node)
            node = home.get(node)
        if node is not None and state[node] is False:  # the walk closed a cycle at node
            cycle = walk[walk.index(node) :]
            breakers.append(min(cycle, key=_order))
        for visited in walk:
            state[visited] = True
    return breakers


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
