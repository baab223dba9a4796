"""The RDF kg loads for an SSSOM mapping set (docs/modelling.md, "Links to Wikidata").

:func:`to_ntriples` turns a mapping set into N-Triples, :func:`source_ntriples` does so
for a ``data/*.sssom.tsv`` source, and :func:`node_local` names a mapping's node (a name
the schema's one-row-per-pair rule also uses).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from kg.errors import InputError
from kg.sssom_schema import _CURIE, BUILT_IN_PREFIXES, EXACT_MATCH, _number

if TYPE_CHECKING:
    from pathlib import Path

    from kg.sssom import Mapping, MappingSet

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

KG = "https://w3id.org/kg-diplo/ontology#"
_RDF_TYPE = BUILT_IN_PREFIXES["rdf"] + "type"
_LABEL = BUILT_IN_PREFIXES["rdfs"] + "label"
_COMMENT = BUILT_IN_PREFIXES["rdfs"] + "comment"
_SEE_ALSO = BUILT_IN_PREFIXES["rdfs"] + "seeAlso"
_XSD = BUILT_IN_PREFIXES["xsd"]


def node_local(mapping: Mapping) -> str:
    """The local name of a mapping's node: ``mapping-<subject>-<object>``, IRI-safe."""

    def local(curie: str) -> str:
        match = _CURIE.match(curie)
        name = match.group(2) if match else curie
        return _SAFE.sub("-", name).strip("-") or "x"

    return f"mapping-{local(mapping.subject_id or '')}-{local(mapping.object_id or '')}"


def _iri(value: str) -> str:
    return f"<{value}>"


def _literal(text: str, datatype: str | None = None) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"' + (f"^^<{datatype}>" if datatype else "")


def to_ntriples(ms: MappingSet, graph_iri: str, base: str) -> str:
    """The RDF kg loads for *ms* into *graph_iri*, as N-Triples (see docs/modelling.md,
    "Links to Wikidata"): the source's self-description from the metadata; per positive
    ``skos:exactMatch`` mapping ``subject kg:wikidata object``; per mapping (negative
    ones too) a ``kg:Mapping`` node with its justification, confidence, tool, date,
    reviewer and sources. Agents (creator, author, reviewer) are typed ``kg:Agent`` and
    labelled (with their ``*_label`` or, failing that, their CURIE)."""
    out: list[str] = []

    def add(s: str, p: str, o: str) -> None:
        out.append(f"{s} {p} {o} .\n")

    meta = ms.metadata
    graph = _iri(graph_iri)
    agents: dict[str, str] = {}

    def agent(curie: str, label: str | None) -> str:
        iri = ms.expand(curie)
        if iri not in agents or (label and agents[iri] == curie):
            agents[iri] = label or agents.get(iri) or curie
        return _iri(iri)

    add(graph, _iri(_RDF_TYPE), _iri(KG + "Dataset"))
    title = meta.get("mapping_set_title")
    if title:
        add(graph, _iri(_LABEL), _literal(title))
        add(graph, _iri(KG + "title"), _literal(title))
    if meta.get("mapping_set_description"):
        add(graph, _iri(KG + "description"), _literal(meta["mapping_set_description"]))
    creators = list(meta.get("creator_id") or [])
    labels = list(meta.get("creator_label") or [])
    for i, curie in enumerate(creators):
        node = agent(curie, labels[i] if i < len(labels) else None)
        add(graph, _iri(KG + "author"), node)
        if i == 0:
            add(graph, _iri(KG + "publisher"), node)
    if meta.get("mapping_date"):
        add(graph, _iri(KG + "datePublished"), _literal(meta["mapping_date"], _XSD + "date"))
    for url in meta.get("see_also") or []:
        add(graph, _iri(_SEE_ALSO), _iri(url))
    for mapping in ms.mappings:
        subject = _iri(ms.expand(mapping.subject_id))
        obj = _iri(ms.expand(mapping.object_id))
        predicate = ms.expand(mapping.predicate_id)
        if predicate == EXACT_MATCH and not mapping.negated:
            add(subject, _iri(KG + "wikidata"), obj)
        node = _iri(base + node_local(mapping))
        add(node, _iri(_RDF_TYPE), _iri(KG + "Mapping"))
        add(node, _iri(_LABEL), _literal(_label(mapping)))
        add(node, _iri(KG + "mappingSubject"), subject)
        add(node, _iri(KG + "mappingPredicate"), _iri(predicate))
        add(node, _iri(KG + "mappingObject"), obj)
        add(node, _iri(KG + "justification"), _iri(ms.expand(mapping.mapping_justification)))
        add(
            node,
            _iri(KG + "negated"),
            _literal("true" if mapping.negated else "false", _XSD + "boolean"),
        )
        if mapping.confidence is not None:
            text = format(Decimal(_number(mapping.confidence)).normalize(), "f")
            add(node, _iri(KG + "confidence"), _literal(text, _XSD + "decimal"))
        for text in mapping.values("match_string"):
            add(node, _iri(KG + "matchString"), _literal(text))
        if mapping.mapping_tool:
            add(node, _iri(KG + "mappingTool"), _literal(mapping.mapping_tool))
        if mapping.mapping_tool_version:
            add(node, _iri(KG + "mappingToolVersion"), _literal(mapping.mapping_tool_version))
        if mapping.mapping_date:
            add(node, _iri(KG + "mappingDate"), _literal(mapping.mapping_date, _XSD + "date"))
        authors = mapping.values("author_label")
        for i, curie in enumerate(mapping.values("author_id")):
            add(node, _iri(KG + "mappingAuthor"), agent(curie, _at(authors, i)))
        reviewers = mapping.values("reviewer_label")
        for i, curie in enumerate(mapping.values("reviewer_id")):
            add(node, _iri(KG + "reviewer"), agent(curie, _at(reviewers, i)))
        for url in mapping.values("see_also"):
            add(node, _iri(_SEE_ALSO), _iri(url))
        if mapping.comment:
            add(node, _iri(_COMMENT), _literal(mapping.comment))
    for iri, label in agents.items():
        add(_iri(iri), _iri(_RDF_TYPE), _iri(KG + "Agent"))
        add(_iri(iri), _iri(_LABEL), _literal(label))
    return "".join(dict.fromkeys(out))


def _at(items: list[str], index: int) -> str | None:
    return items[index] if index < len(items) else None


def _label(mapping: Mapping) -> str:
    def named(curie: str | None, label: str | None) -> str:
        return f"{label} ({curie})" if label else str(curie)

    verb = ("not " if mapping.negated else "") + str(mapping.predicate_id)
    return (
        f"{named(mapping.subject_id, mapping.subject_label)} {verb} "
        f"{named(mapping.object_id, mapping.object_label)}"
    )


def source_ntriples(path: Path, graph_iri: str, base: str, shown_as: str) -> str:
    """The N-Triples of the mapping set file *path* as a source of kg: read and checked
    (errors name the file and line), then turned into RDF. kg requires a title
    (``mapping_set_title``): it is the source's title."""
    from kg.sssom import read_mapping_set  # here: kg.sssom imports this module

    ms = read_mapping_set(path, shown_as=shown_as)
    if not ms.metadata.get("mapping_set_title"):
        raise InputError(
            "the metadata have no mapping_set_title; a source says what it is: add "
            "'#mapping_set_title: ...' to the metadata lines.",
            path=shown_as,
            line=1,
        )
    return to_ntriples(ms, graph_iri, base)
