"""SHACL validation reports for people who do not read SHACL.

Validation reads the asserted triples with the ontology merged in (so ``sh:targetClass``
and ``sh:class`` see the class hierarchy) but never the OWL RL closure: inference hides
errors (a State wrongly given as a meeting participant would be inferred to be a Person).
The engines (:mod:`kg.shacl_fast`, pyshacl) give results; this module turns them into a
report with labels beside IRIs and the file and line where each focus node is written,
built once and rendered as text, Turtle or JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kg.namespaces import RDF_TYPE, RDFS_LABEL, compact
from kg.terms import Term

FORMATS = ("text", "turtle", "json")
_IRI = re.compile(r"https?://[^\s<>\"'(),]+[^\s<>\"'(),.]")
_SH = "http://www.w3.org/ns/shacl#"
_TYPED = re.compile(r'(?<=")\^\^<([^<>]*)>$')


@dataclass
class Violation:
    """One validation result, with what a person needs to find and fix it.

    ``files`` lists ``file:line`` where the offending value is written for the focus node
    (the focus node's line when a value is missing); ``lines`` details each place with the
    path and value written there. ``value_term`` is the value in N-Triples form and
    ``component_iri`` the constraint component's IRI, so that a report can be written back
    as RDF. ``focus`` names the focus node for people (a CURIE, or for a blank node where
    it hangs: "the kg:hasParticipation of ex:meeting"); ``focus_term`` is its N-Triples
    term (a blank node's label is the store's, different on each load)."""

    severity: str
    focus: str
    focus_label: str | None
    path: str | None
    value: str | None
    message: str
    component: str
    shape: str
    files: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    value_term: str | None = None
    component_iri: str | None = None
    focus_term: str | None = None


#: Severities that leave the data conforming: reported, never a failure.
NOT_FAILING = ("Warning", "Info")


@dataclass
class Report:
    conforms: bool
    violations: list[Violation]

    @classmethod
    def from_dicts(cls, results: list[dict[str, Any]]) -> Report:
        return cls(
            conforms=count_violations(results) == 0,
            violations=[Violation(**r) for r in results],
        )

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.severity in NOT_FAILING]

    def render(self, fmt: str = "text") -> str:
        if fmt == "turtle":
            return self._turtle()
        if fmt == "json":
            doc = {"conforms": self.conforms, "results": [asdict(v) for v in self.violations]}
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return self._text()

    def _text(self) -> str:
        warnings = len(self.warnings)
        if self.conforms:
            if not warnings:
                return "Conforms: the data satisfies every shape.\n"
            head = f"Conforms: the data satisfies every shape ({warnings} warning(s))."
        else:
            head = f"Does not conform: {len(self.violations) - warnings} problem(s)."
            head += f" And {warnings} warning(s)." if warnings else ""
        lines = [head, ""]
        for i, v in enumerate(self.violations, 1):
            label = f' ("{v.focus_label}")' if v.focus_label else ""
            lines.append(f"{i}. {v.severity}: {v.focus}{label}")
            if v.files:
                lines.append(f"   in:      {', '.join(v.files)}")
            if v.path:
                lines.append(f"   path:    {v.path}")
            if v.value and v.value != v.focus:  # a node-level result's value is its focus
                lines.append(f"   value:   {v.value}")
            others = [
                p for p in v.lines if p["path"] and (p["path"], p["value"]) != (v.path, v.value)
            ]
            for n, place in enumerate(others):
                where = f"{place['file']}:{place['line']}" if place["line"] else place["file"]
                lines.append(
                    f"   {'at:' if n == 0 else '':9}{where}  {place['path']} {place['value']}"
                )
            lines.append(f"   problem: {v.message}")
            lines.append(f"   rule:    {v.shape} ({v.component})")
            lines.append("")
        return "\n".join(lines)

    def _turtle(self) -> str:
        """A standard ``sh:ValidationReport`` (IRIs expanded back from their CURIEs; values
        written as the terms they are: IRI, typed or language-tagged literal)."""
        from rdflib import BNode, Graph, Literal, URIRef
        from rdflib.namespace import RDF, SH

        from kg.namespaces import PREFIXES, expand

        def node(text: str | None):
            if text is None:
                return None
            if text.startswith("<") and text.endswith(">"):
                return URIRef(text[1:-1])
            if text.startswith("_:"):
                return BNode(text[2:])
            iri = expand(text) if ":" in text else None
            return URIRef(iri) if iri else Literal(text)

        graph = Graph()
        for prefix, ns in PREFIXES.items():
            graph.bind(prefix, ns)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(self.conforms)))
        for v in self.violations:
            result = BNode()
            graph.add((report, SH.result, result))
            graph.add((result, RDF.type, SH.ValidationResult))
            graph.add((result, SH.resultSeverity, URIRef(_SH + v.severity)))
            focus = node(v.focus_term or v.focus)
            graph.add((result, SH.focusNode, focus))
            graph.add((result, SH.resultMessage, Literal(v.message)))
            component = v.component_iri or _SH + v.component
            graph.add((result, SH.sourceConstraintComponent, URIRef(component)))
            if v.path and not v.path.startswith("^"):
                graph.add((result, SH.resultPath, node(v.path)))
            if v.value_term:
                graph.add((result, SH.value, _term(v.value_term)))
            elif v.value:
                graph.add((result, SH.value, node(v.value)))
        return graph.serialize(format="turtle")


def count_violations(results: list[dict[str, Any]]) -> int:
    """How many of *results* (Violation dicts) fail validation: warnings and infos do not."""
    return sum(1 for r in results if r["severity"] not in NOT_FAILING)


def _term(nt: str):
    """The rdflib term of one N-Triples term."""
    from rdflib import Graph

    graph = Graph().parse(data=f"<urn:s> <urn:p> {nt} .", format="nt")
    return next(iter(graph.objects()))


def sparql_paths(shapes) -> dict[str, tuple[str, ...]]:
    """For each node shape with an ``sh:sparql`` constraint, the predicates its query reads
    from ``$this`` (N-Triples): where a result of it is written in the sources."""
    from rdflib import URIRef
    from rdflib.namespace import SH
    from rdflib.plugins.sparql import prepareQuery

    from kg.shacl_sparql import declared_prefixes

    out: dict[str, tuple[str, ...]] = {}
    for shape, constraint in shapes.subject_objects(SH.sparql):
        try:
            prefixes = declared_prefixes(shapes, constraint, "")
            algebra = prepareQuery(str(shapes.value(constraint, SH.select)), initNs=prefixes)
        except Exception:  # the engines say what is wrong with it
            continue
        found: list[str] = []
        _this_predicates(algebra.algebra, found)
        if isinstance(shape, URIRef) and found:
            out[f"<{shape}>"] = out.get(f"<{shape}>", ()) + tuple(found)
    return out


def _this_predicates(node: object, found: list[str]) -> None:
    """Add to *found* the IRI predicates of triple patterns whose subject is ``$this``."""
    from rdflib import URIRef, Variable

    if isinstance(node, dict):
        for triple in node.get("triples") or []:
            if not (isinstance(triple, tuple) and len(triple) == 3):
                continue
            s, p, _ = triple
            if s == Variable("this") and isinstance(p, URIRef) and f"<{p}>" not in found:
                found.append(f"<{p}>")
        for value in node.values():
            _this_predicates(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _this_predicates(value, found)


def violation_dicts(
    results, store, graphs, project, shown: dict[str, str], related: dict | None = None
) -> list[dict]:
    """Engine results (N-Triples strings) as :class:`Violation` dicts, with labels and the
    ``file:line`` of each offending value; sorted by file, focus, path and message.

    A result about a value points at the line where that value is written for its focus
    (in each file that states it); one about a missing value at the focus node's line; a
    node-level result (``sh:sparql``) at the values its query reads (*related*: shape ->
    predicates, see :func:`sparql_paths`), in every file, each with its value. A blank
    node is found in the file that holds it and named by where it hangs ("the
    kg:hasParticipation of ex:meeting"). A SHACL result on a value that kg's own check
    already reports as a literal where an entity is expected is left out: one message
    per value."""
    import pyoxigraph as ox

    related = related or {}
    results = _one_per_value(results)
    subjects = {r.focus for r in results if r.focus.startswith("<")}
    subjects |= {r.value for r in results if _inverse(r) and r.value.startswith("<")}
    labels: dict[str, str] = {}
    where: dict[str, list[str]] = {}
    # One query per batch of nodes, bound with VALUES (terms from the store, written by
    # Term.n3, which refuses an IRI that could leave its brackets).
    ordered = sorted(subjects)
    for start in range(0, len(ordered), 500):
        batch = " ".join(Term.iri(f[1:-1]).n3() for f in ordered[start : start + 500])
        labelled = f"SELECT ?f ?l WHERE {{ VALUES ?f {{ {batch} }} ?f <{RDFS_LABEL}> ?l }}"
        for row in store.query(labelled, default_graph=graphs):
            labels.setdefault(f"<{row[0].value}>", row[1].value)
        stated = (
            f"SELECT DISTINCT ?f ?g WHERE {{ VALUES ?f {{ {batch} }} GRAPH ?g {{ ?f ?p ?o }} }}"
        )
        for row in store.query(stated, named_graphs=graphs):
            if row[1].value in shown:
                where.setdefault(f"<{row[0].value}>", []).append(row[1].value)
    blanks = {t for r in results for t in (r.focus, r.value) if t and t.startswith("_:")}
    names: dict[str, str] = {}
    for blank in sorted(blanks):
        node = _blank_node(blank)
        if node is None:
            continue
        held = {q.graph_name.value for q in store.quads_for_pattern(node, None, None, None)}
        held = held or {q.graph_name.value for q in store.quads_for_pattern(None, None, node)}
        if held:
            where[blank] = sorted(g for g in held if g in shown)
            names[blank] = _blank_name(store, node)
            label = next(store.quads_for_pattern(node, ox.NamedNode(RDFS_LABEL), None), None)
            if label is not None:
                labels[blank] = label.object.value
    found = _scan(project, shown, where, results)
    local = _Local(store, found)
    out = []
    for r in results:
        places = _places(r, where, found, shown, related, local, store)
        files = sorted({f"{p['file']}:{p['line']}" if p["line"] else p["file"] for p in places})
        out.append(
            asdict(
                Violation(
                    severity=_local(r.severity),
                    focus=names.get(r.focus) or _show(r.focus),
                    focus_label=labels.get(r.focus),
                    path=_show(r.path) if r.path else None,
                    value=(names.get(r.value) or _show(r.value)) if r.value else None,
                    message=_IRI.sub(lambda m: compact(m.group(0)), r.message),
                    component=_local(r.component),
                    shape=" on ".join(_show(p) for p in r.shape.split(" ")),
                    files=files,
                    lines=places,
                    value_term=r.value,
                    component_iri=r.component.strip("<>"),
                    focus_term=r.focus,
                )
            )
        )
    out.sort(key=lambda v: (v["files"], v["focus"], v["path"] or "", v["message"]))
    return out


#: kg's own result for a literal where an entity is expected, and the SHACL results it
#: makes redundant on the same focus, path and value (sh:class, sh:nodeKind).
_LITERAL_FOR_NODE = "ObjectPropertyWithLiteral"
_REDUNDANT = ("ClassConstraintComponent", "NodeKindConstraintComponent")


def _one_per_value(results) -> list:
    """*results* without a SHACL class (or node kind) result on a value that kg's own
    check already reports as a literal where an entity is expected: that message says
    more precisely what is wrong, and one value gets one message (on both engines)."""
    said = {(r.focus, r.path, r.value) for r in results if _local(r.component) == _LITERAL_FOR_NODE}
    if not said:
        return list(results)
    return [
        r
        for r in results
        if not (_local(r.component) in _REDUNDANT and (r.focus, r.path, r.value) in said)
    ]


def _blank_node(term: str):
    import pyoxigraph as ox

    try:
        return ox.BlankNode(term[2:])
    except (ValueError, TypeError):
        return None


def _blank_name(store, node, depth: int = 0) -> str:
    """A blank node for people: by the node and property it hangs from (``the
    kg:hasParticipation of ex:meeting``), else by its class (``a blank node of type
    kg:Stat``)."""
    import pyoxigraph as ox

    parents = sorted(
        store.quads_for_pattern(None, None, node),
        key=lambda q: (isinstance(q.subject, ox.BlankNode), str(q.subject), str(q.predicate)),
    )
    if parents and depth < 8:
        quad = parents[0]
        if isinstance(quad.subject, ox.NamedNode):
            of = compact(quad.subject.value)
        else:
            of = _blank_name(store, quad.subject, depth + 1)
        return f"the {compact(quad.predicate.value)} of {of}"
    types = sorted(
        {
            compact(q.object.value)
            for q in store.quads_for_pattern(node, ox.NamedNode(RDF_TYPE), None)
            if isinstance(q.object, ox.NamedNode)
        }
    )
    return f"a blank node of type {', '.join(types)}" if types else "a blank node"


class _Local:
    """The key of a term in one file's scan: an IRI's or a literal's own key; a blank
    node's, found by where it hangs and what it holds (see :meth:`Located.blank`)."""

    def __init__(self, store, found: dict):
        self.store, self.found = store, found
        self.blanks: dict[tuple[str, str], str | None] = {}

    def __call__(self, g: str, term: str | None, depth: int = 0) -> str | None:
        from kg.locate import key

        if term is None or not term.startswith("_:"):
            return key(term)
        if (g, term) in self.blanks:
            return self.blanks[(g, term)]
        node = _blank_node(term)
        if node is None or g not in self.found or depth > 8:
            return None
        import pyoxigraph as ox

        from kg.shacl_fast import _nt

        graph = ox.NamedNode(g)
        triples = {
            (f"<{q.predicate.value}>", key(_nt(q.object)))
            for q in self.store.quads_for_pattern(node, None, None, graph)
        }
        parent = None
        quads = sorted(self.store.quads_for_pattern(None, None, node, graph), key=str)
        if quads:
            subject = self(g, _nt(quads[0].subject), depth + 1)
            parent = (subject, f"<{quads[0].predicate.value}>") if subject else None
        self.blanks[(g, term)] = self.found[g].blank(
            parent, {(p, v) for p, v in triples if v is not None}
        )
        return self.blanks[(g, term)]


def _inverse(r) -> bool:
    return bool(r.path and r.path.startswith("^") and r.value)


def _scan(project, shown: dict[str, str], where: dict[str, list[str]], results) -> dict:
    """One pass over each file stating a node of interest: graph -> :class:`Located`."""
    from kg.locate import key, scan

    subjects: dict[str, set[str]] = {}
    blank_graphs: set[str] = set()
    for node, graphs in where.items():
        for g in graphs:
            subjects.setdefault(g, set())
            if node.startswith("_:"):
                blank_graphs.add(g)
            else:
                subjects[g].add(node)
    objects = frozenset(key(r.focus) for r in results if _inverse(r)) - {None}
    found = {}
    for g, wanted in subjects.items():
        path = project.root / shown[g].split(", ")[0]
        try:
            found[g] = scan(
                path, g, {key(w) for w in wanted} - {None}, objects, blanks=g in blank_graphs
            )
        except OSError:
            continue
    return found


def _holding(store, subject: str, predicate: str, value: str | None) -> set[str] | None:
    """The graphs that hold the triple (*subject*, *predicate*, *value*) as the engines
    give it (canonical forms allowed for), or None when the store cannot say."""
    import pyoxigraph as ox

    from kg.locate import key, same_value
    from kg.shacl_fast import _nt

    if value is None or not predicate.startswith("<"):
        return None
    node = ox.NamedNode(subject[1:-1]) if subject.startswith("<") else _blank_node(subject)
    if node is None:
        return None
    if value.startswith("_:"):
        return None
    wanted = key(value)
    held = {
        q.graph_name.value
        for q in store.quads_for_pattern(node, ox.NamedNode(predicate[1:-1]), None)
        if _nt(q.object) == value or same_value(key(_nt(q.object)), wanted)
    }
    return held or None


def _places(r, where, found, shown, related, local, store) -> list[dict[str, Any]]:
    """Where result *r* is written: a list of {file, line, path, value}."""
    from kg.locate import datatype, same_value

    def place(g, line, path, value):
        return {"file": shown[g], "line": line, "path": path, "value": value}

    focus = r.focus
    places: list[dict[str, Any]] = []
    if _inverse(r):  # the triple (value, path, focus) is written under the value
        subject, predicate, wanted = r.value, r.path[1:], focus
    else:
        subject, predicate, wanted = focus, r.path, r.value
    graphs = where.get(subject, [])
    component = _local(r.component)
    if predicate and component != "MinCountConstraintComponent":
        if wanted is not None and not wanted.startswith("_:"):
            held = _holding(store, subject, predicate, wanted)
            graphs = [g for g in graphs if held is None or g in held]
        for g in graphs:
            if g not in found:
                continue
            values = found[g].values.get((local(g, subject), predicate), [])
            if wanted is None:  # each value where it is written (maxCount, one per source)
                for v, line in values:
                    places.append(place(g, line, _show(r.path), _shown_key(v)))
                continue
            key = local(g, wanted)
            lines = [line for v, line in values if v == key]
            lines = lines or [line for v, line in values if same_value(v, key)]
            if not lines and key and key.startswith('"'):  # as the engine rewrote it
                typed = datatype(key)
                lines = [line for v, line in values if v.startswith('"') and datatype(v) == typed]
            places += [place(g, line, _show(r.path), _show(r.value)) for line in lines]
        named = [p for p in places if p["file"] in r.message]
        places = named or places
    elif not r.path and r.shape in related:
        for g in where.get(focus, []):
            if g not in found:
                continue
            for predicate in related[r.shape]:
                for v, line in found[g].values.get((local(g, focus), predicate), []):
                    shown_value = _shown_key(v)
                    places.append(place(g, line, _show(predicate), shown_value))
        mentioned = [p for p in places if _mentions(r.message, p["value"])]
        places = mentioned or places
    if not places:  # a missing value, or text the scanner could not match: the focus line
        for g in where.get(focus, []):
            line = found[g].subjects.get(local(g, focus)) if g in found else None
            places.append(place(g, line, None, None))
    return sorted(places, key=lambda p: (p["file"], p["line"] or 0))


def _shown_key(k: str) -> str:
    """A value as :mod:`kg.locate` keys it, for people: a CURIE, a literal's text, []."""
    from kg.locate import lexical

    if k.startswith("_:"):
        return "[]"
    return _show(k) if k.startswith("<") else lexical(k)


def _mentions(message: str, value: str | None) -> bool:
    if not value:
        return False
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", message) is not None


def _show(term: str) -> str:
    if term.startswith("^"):
        return "^" + _show(term[1:])
    if term.startswith("<") and term.endswith(">"):
        return compact(term[1:-1])
    typed = _TYPED.search(term) if term.startswith('"') else None
    if typed:  # "..."^^xsd:dateTime, as people write it
        return term[: typed.start()] + "^^" + compact(typed.group(1))
    return term


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri.strip("<>"))[-1]
