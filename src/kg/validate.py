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
from pathlib import Path
from typing import Any

from kg.namespaces import RDFS_LABEL, compact
from kg.terms import Term

FORMATS = ("text", "turtle", "json")
_IRI = re.compile(r"https?://[^\s<>\"'(),]+[^\s<>\"'(),.]")
_SH = "http://www.w3.org/ns/shacl#"


@dataclass
class Violation:
    """One SHACL result, with what a person needs to find and fix it."""

    severity: str
    focus: str
    focus_label: str | None
    path: str | None
    value: str | None
    message: str
    component: str
    shape: str
    files: list[str] = field(default_factory=list)


@dataclass
class Report:
    conforms: bool
    violations: list[Violation]

    @classmethod
    def from_dicts(cls, results: list[dict[str, Any]]) -> Report:
        return cls(conforms=not results, violations=[Violation(**r) for r in results])

    def render(self, fmt: str = "text") -> str:
        if fmt == "turtle":
            return self._turtle()
        if fmt == "json":
            doc = {"conforms": self.conforms, "results": [asdict(v) for v in self.violations]}
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return self._text()

    def _text(self) -> str:
        if self.conforms:
            return "Conforms: the data satisfies every shape.\n"
        lines = [f"Does not conform: {len(self.violations)} problem(s).", ""]
        for i, v in enumerate(self.violations, 1):
            label = f' ("{v.focus_label}")' if v.focus_label else ""
            lines.append(f"{i}. {v.severity}: {v.focus}{label}")
            if v.files:
                lines.append(f"   in:      {', '.join(v.files)}")
            if v.path:
                lines.append(f"   path:    {v.path}")
            if v.value:
                lines.append(f"   value:   {v.value}")
            lines.append(f"   problem: {v.message}")
            lines.append(f"   rule:    {v.shape} ({v.component})")
            lines.append("")
        return "\n".join(lines)

    def _turtle(self) -> str:
        """A standard ``sh:ValidationReport`` (IRIs expanded back from their CURIEs)."""
        from rdflib import BNode, Graph, Literal, URIRef
        from rdflib.namespace import RDF, SH

        from kg.namespaces import PREFIXES, expand

        def node(text: str | None):
            if text is None:
                return None
            if text.startswith("<") and text.endswith(">"):
                return URIRef(text[1:-1])
            iri = expand(text) if ":" in text and not text.startswith("_:") else None
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
            graph.add((result, SH.focusNode, node(v.focus)))
            graph.add((result, SH.resultMessage, Literal(v.message)))
            graph.add((result, SH.sourceConstraintComponent, URIRef(_SH + v.component)))
            if v.path and not v.path.startswith("^"):
                graph.add((result, SH.resultPath, node(v.path)))
            if v.value:
                graph.add((result, SH.value, node(v.value)))
        return graph.serialize(format="turtle")


def violation_dicts(results, store, graphs, project, shown: dict[str, str]) -> list[dict]:
    """Engine results (N-Triples strings) as :class:`Violation` dicts, with labels and
    ``file:line`` locations; sorted by file, focus, path and message."""
    focus_nodes = sorted({r.focus for r in results if r.focus.startswith("<")})
    labels: dict[str, str] = {}
    where: dict[str, list[str]] = {}
    # One query per batch of focus nodes, bound with VALUES (terms from the store, written
    # by Term.n3, which refuses an IRI that could leave its brackets).
    for start in range(0, len(focus_nodes), 500):
        batch = " ".join(Term.iri(f[1:-1]).n3() for f in focus_nodes[start : start + 500])
        labelled = f"SELECT ?f ?l WHERE {{ VALUES ?f {{ {batch} }} ?f <{RDFS_LABEL}> ?l }}"
        for row in store.query(labelled, default_graph=graphs):
            labels.setdefault(f"<{row[0].value}>", row[1].value)
        stated = (
            f"SELECT DISTINCT ?f ?g WHERE {{ VALUES ?f {{ {batch} }} GRAPH ?g {{ ?f ?p ?o }} }}"
        )
        for row in store.query(stated, named_graphs=graphs):
            if row[1].value in shown:
                where.setdefault(f"<{row[0].value}>", []).append(row[1].value)
    lines = _locate(project, shown, where)
    out = []
    for r in results:
        files = sorted(
            f"{shown[g]}:{lines[(g, r.focus)]}" if (g, r.focus) in lines else shown[g]
            for g in where.get(r.focus, [])
        )
        out.append(
            asdict(
                Violation(
                    severity=_local(r.severity),
                    focus=_show(r.focus),
                    focus_label=labels.get(r.focus),
                    path=_show(r.path) if r.path else None,
                    value=_show(r.value) if r.value else None,
                    message=_IRI.sub(lambda m: compact(m.group(0)), r.message),
                    component=_local(r.component),
                    shape=" on ".join(_show(p) for p in r.shape.split(" ")),
                    files=files,
                )
            )
        )
    out.sort(key=lambda v: (v["files"], v["focus"], v["path"] or "", v["message"]))
    return out


def _locate(project, shown: dict[str, str], where: dict[str, list[str]]) -> dict:
    """Line of each focus node's first statement in each file: one pass per file."""
    wanted: dict[str, dict[str, str]] = {}
    for focus, graphs in where.items():
        iri = focus[1:-1]
        for g in graphs:
            needles = wanted.setdefault(g, {})
            needles[focus] = focus
            needles[compact(iri)] = focus
            if iri == g:
                needles["<>"] = focus
    found: dict[tuple[str, str], int] = {}
    for g, needles in wanted.items():
        path = project.root / shown[g].split(", ")[0]
        with Path(path).open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                first = text.lstrip().split(None, 1)
                if first and first[0] in needles and (g, needles[first[0]]) not in found:
                    found[(g, needles[first[0]])] = number
    return found


def _show(term: str) -> str:
    if term.startswith("^"):
        return "^" + _show(term[1:])
    if term.startswith("<") and term.endswith(">"):
        return compact(term[1:-1])
    return term


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri.strip("<>"))[-1]
