"""SHACL validation of the asserted data, and reports for people who do not read SHACL.

Validation reads the asserted triples with the ontology merged in (so ``sh:targetClass``
and ``sh:class`` see the class hierarchy) but without OWL RL: inference hides errors
(a State wrongly given as a meeting participant would be inferred to be a Person).
One report is built once and rendered as text, Turtle or JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDFS, SH

from kg.load import Sources
from kg.namespaces import compact

FORMATS = ("text", "turtle", "json")
_IRI = re.compile(r"https?://[^\s<>\"'(),]+[^\s<>\"'(),.]")


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
    graph: Graph

    def render(self, fmt: str = "text") -> str:
        if fmt == "turtle":
            return self.graph.serialize(format="turtle")
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


def validate(sources: Sources) -> Report:
    """Validate the asserted data of *sources* against its shapes."""
    from pyshacl import validate as shacl_validate

    data = sources.merged(with_ontology=False)
    conforms, report_graph, _ = shacl_validate(
        data,
        shacl_graph=sources.shapes,
        ont_graph=sources.ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    labels = sources.merged()
    violations = [
        _violation(report_graph, result, labels, sources)
        for result in report_graph.subjects(SH.resultSeverity, None)
    ]
    violations.sort(key=lambda v: (v.files, v.focus, v.path or "", v.message))
    return Report(conforms=bool(conforms), violations=violations, graph=report_graph)


def _violation(report: Graph, result, labels: Graph, sources: Sources) -> Violation:
    def one(pred):
        return report.value(result, pred)

    focus = one(SH.focusNode)
    path = one(SH.resultPath)
    value = one(SH.value)
    message = one(SH.resultMessage)
    shape = one(SH.sourceShape)
    shape_shown = _show(shape)
    if isinstance(shape, BNode):  # a property shape: name it by its node shape and path
        parent = sources.shapes.value(None, SH.property, shape)
        shape_path = sources.shapes.value(shape, SH.path)
        shape_shown = f"{_show(parent)} on {_show(shape_path)}" if parent else "a property shape"
    label = labels.value(focus, RDFS.label) if focus is not None else None
    return Violation(
        severity=_local(one(SH.resultSeverity)),
        focus=_show(focus),
        focus_label=str(label) if label is not None else None,
        path=_show(path) if path is not None else None,
        value=_show(value) if value is not None else None,
        message=_IRI.sub(lambda m: compact(m.group(0)), str(message))
        if message is not None
        else "(the shape gives no message)",
        component=_local(one(SH.sourceConstraintComponent)),
        shape=shape_shown,
        files=_where(focus, sources),
    )


def _show(node) -> str:
    if isinstance(node, URIRef):
        return compact(str(node))
    return node.n3() if node is not None else ""


def _local(node) -> str:
    text = str(node or "")
    return re.split(r"[#/]", text)[-1]


def _where(node, sources: Sources) -> list[str]:
    """``file:line`` of every source file that describes *node*."""
    found = []
    for name, graph in sources.graphs.items():
        if (node, None, None) in graph:
            path = sources.files[name]
            line = _line_of(path, node)
            shown = sources.shown.get(name, str(path))
            found.append(f"{shown}:{line}" if line else shown)
    return found


def _line_of(path: Path, node) -> int | None:
    """The first line where *node* starts a statement, for a clickable location."""
    if not isinstance(node, URIRef):
        return None
    needles = [f"<{node}>", compact(str(node))]
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = text.lstrip()
        if any(
            stripped.startswith(n) and stripped[len(n) : len(n) + 1] in (" ", "\t", "")
            for n in needles
        ):
            return number
    return None
