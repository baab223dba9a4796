"""The SSSOM schema as kg implements it, and the checks on a mapping set.

The slots of a mapping and of a set (in the specification's order), which are required,
multivalued, CURIEs, numbers, dates or IRIs; the enumerations; SSSOM's built-in prefixes;
and :func:`validate_mapping_set`, the rules :func:`kg.sssom.read_mapping_set` applies to
every file it reads.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kg.errors import shown

if TYPE_CHECKING:
    from kg.sssom import MappingSet

#: Columns of a mapping, in the order of the SSSOM specification (the order kg writes).
COLUMNS = (
    "subject_id",
    "subject_label",
    "subject_category",
    "predicate_id",
    "predicate_label",
    "predicate_modifier",
    "object_id",
    "object_label",
    "object_category",
    "mapping_justification",
    "author_id",
    "author_label",
    "reviewer_id",
    "reviewer_label",
    "creator_id",
    "creator_label",
    "license",
    "subject_type",
    "subject_source",
    "subject_source_version",
    "object_type",
    "object_source",
    "object_source_version",
    "mapping_provider",
    "mapping_source",
    "mapping_cardinality",
    "mapping_tool",
    "mapping_tool_version",
    "mapping_date",
    "publication_date",
    "confidence",
    "curation_rule",
    "curation_rule_text",
    "subject_match_field",
    "object_match_field",
    "match_string",
    "subject_preprocessing",
    "object_preprocessing",
    "semantic_similarity_score",
    "semantic_similarity_measure",
    "see_also",
    "issue_tracker_item",
    "other",
    "comment",
)
#: Metadata of the set (the YAML block), in the order kg writes them.
SET_SLOTS = (
    "curie_map",
    "mapping_set_id",
    "mapping_set_version",
    "mapping_set_source",
    "mapping_set_title",
    "mapping_set_description",
    "creator_id",
    "creator_label",
    "license",
    "subject_type",
    "subject_source",
    "subject_source_version",
    "object_type",
    "object_source",
    "object_source_version",
    "mapping_provider",
    "mapping_tool",
    "mapping_tool_version",
    "mapping_date",
    "publication_date",
    "subject_match_field",
    "object_match_field",
    "subject_preprocessing",
    "object_preprocessing",
    "see_also",
    "issue_tracker",
    "other",
    "comment",
    "sssom_version",
)
REQUIRED = ("subject_id", "predicate_id", "object_id", "mapping_justification")
REQUIRED_SET = ("mapping_set_id", "license")
#: Slots holding several values, written ``a|b`` in a TSV cell and as lists in YAML/JSON.
MULTIVALUED = frozenset(
    {
        "author_id",
        "author_label",
        "reviewer_id",
        "reviewer_label",
        "creator_id",
        "creator_label",
        "curation_rule",
        "curation_rule_text",
        "subject_match_field",
        "object_match_field",
        "match_string",
        "subject_preprocessing",
        "object_preprocessing",
        "see_also",
        "mapping_set_source",
    }
)
#: Slots whose values are entity references: CURIEs with a declared prefix.
CURIE_SLOTS = frozenset(
    {
        "subject_id",
        "predicate_id",
        "object_id",
        "mapping_justification",
        "author_id",
        "reviewer_id",
        "creator_id",
        "subject_source",
        "object_source",
        "mapping_source",
        "curation_rule",
        "subject_match_field",
        "object_match_field",
        "subject_preprocessing",
        "object_preprocessing",
    }
)
FLOAT_SLOTS = frozenset({"confidence", "semantic_similarity_score"})
DATE_SLOTS = frozenset({"mapping_date", "publication_date"})
#: Slots whose values are web addresses (absolute IRIs), not CURIEs.
URI_SLOTS = frozenset(
    {"license", "mapping_set_id", "see_also", "issue_tracker", "mapping_provider"}
)
SEMAPV = "https://w3id.org/semapv/vocab/"
JUSTIFICATIONS = frozenset(
    {
        "LexicalMatching",
        "LogicalReasoning",
        "CompositeMatching",
        "UnspecifiedMatching",
        "SemanticSimilarityThresholdMatching",
        "LexicalSimilarityThresholdMatching",
        "MappingChaining",
        "MappingReview",
        "ManualMappingCuration",
        "MappingInversion",
        "StructuralMatching",
        "InstanceBasedMatching",
        "BackgroundKnowledgeBasedMatching",
    }
)
ENTITY_TYPES = frozenset(
    {
        "owl class",
        "owl object property",
        "owl data property",
        "owl annotation property",
        "owl named individual",
        "skos concept",
        "rdfs resource",
        "rdfs class",
        "rdfs literal",
        "rdfs datatype",
        "rdf property",
        "composed entity expression",
    }
)
ENUMS: dict[str, frozenset[str]] = {
    "predicate_modifier": frozenset({"Not"}),
    "mapping_cardinality": frozenset({"1:1", "1:n", "n:1", "n:n", "1:0", "0:1", "0:0"}),
    "subject_type": ENTITY_TYPES,
    "object_type": ENTITY_TYPES,
    "sssom_version": frozenset({"1.0", "1.1"}),
}
#: Prefixes every SSSOM file may use without declaring them (the specification's).
BUILT_IN_PREFIXES = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "semapv": SEMAPV,
    "sssom": "https://w3id.org/sssom/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "linkml": "https://w3id.org/linkml/",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "dcterms": "http://purl.org/dc/terms/",
    "pav": "http://purl.org/pav/",
}
EXACT_MATCH = BUILT_IN_PREFIXES["skos"] + "exactMatch"

_CURIE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*):(\S*)$")
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\x7f-\x9f]')
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _number(value: float) -> str:
    """A float as its shortest decimal text (0.95, 1.0), never an exponent."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


# -- checking ------------------------------------------------------------------------------


def validate_mapping_set(ms: MappingSet) -> list[str]:
    """The problems of *ms* against the SSSOM rules kg implements, one message each:
    required slots, enumerations, numbers and dates, CURIEs with declared prefixes, and
    kg's own rule of one row per subject and object (a pair both mapped and negated is
    a contradiction). Empty when the set is valid."""
    out = []
    for index, message in _problems(ms):
        if index is None:
            out.append(f"metadata: {message}")
        else:
            where = f"line {ms.lines[index]}" if index < len(ms.lines) else f"row {index + 1}"
            out.append(f"{where}: {message}")
    return out


def _problems(ms: MappingSet) -> list[tuple[int | None, str]]:
    # A pair is named by its RDF node: two rows that would make the same node are one pair
    # twice. Imported here, as kg.sssom_rdf imports this module.
    from kg.sssom_rdf import node_local

    found: list[tuple[int | None, str]] = []
    prefixes = dict(BUILT_IN_PREFIXES)
    for prefix, iri in ms.curie_map.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", prefix):
            found.append((None, f"'curie_map' holds the prefix {shown(prefix)}, which is no name."))
        elif not _ABSOLUTE.match(iri) or _BAD_IRI.search(iri):
            found.append((None, f"'curie_map' maps {prefix} to {shown(iri)}, which is no IRI."))
        elif prefix in BUILT_IN_PREFIXES and BUILT_IN_PREFIXES[prefix] != iri:
            found.append(
                (
                    None,
                    f"'curie_map' redefines SSSOM's built-in prefix {prefix} (it is "
                    f"{BUILT_IN_PREFIXES[prefix]}); remove it or use another prefix.",
                )
            )
        prefixes[prefix] = iri
    for slot in REQUIRED_SET:
        if not ms.metadata.get(slot):
            found.append((None, f"the metadata have no '{slot}', which SSSOM requires."))
    for slot, value in ms.metadata.items():
        if slot == "curie_map":
            continue
        for item in value if isinstance(value, list) else [value]:
            problem = _value_problem(slot, item, prefixes)
            if problem:
                found.append((None, f"'{slot}': {problem}"))
    seen: dict[str, int] = {}
    for index, mapping in enumerate(ms.mappings):
        for slot in REQUIRED:
            if not getattr(mapping, slot):
                found.append(
                    (index, f"this mapping has no {slot}; every row needs {', '.join(REQUIRED)}.")
                )
        for slot in COLUMNS:
            if getattr(mapping, slot) is None:
                continue
            for value in (
                mapping.values(slot) if slot not in FLOAT_SLOTS else [getattr(mapping, slot)]
            ):
                problem = _value_problem(slot, value, prefixes)
                if problem:
                    found.append((index, f"{slot}: {problem}"))
        if found and found[-1][0] == index:
            continue
        if not (mapping.subject_id and mapping.object_id):
            continue
        node = node_local(mapping)
        if node in seen:
            first = ms.mappings[seen[node]]
            other = f"line {ms.lines[seen[node]]}" if ms.lines else f"row {seen[node] + 1}"
            if first.negated != mapping.negated:
                found.append(
                    (
                        index,
                        f"{mapping.subject_id} and {mapping.object_id} are mapped both as a "
                        f"match and as not a match (predicate_modifier Not), here and on "
                        f"{other}: a pair cannot be both. Keep the row a source verifies and "
                        "delete the other.",
                    )
                )
            else:
                found.append(
                    (
                        index,
                        f"{mapping.subject_id} and {mapping.object_id} are mapped again (first "
                        f"on {other}); a mapping set holds one row per subject and object. "
                        "Merge the two rows.",
                    )
                )
        else:
            seen[node] = index
    return found


def _value_problem(slot: str, value: Any, prefixes: dict[str, str]) -> str | None:
    if slot in FLOAT_SLOTS:
        if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
            return f"must be a number, got {shown(str(value))}."
        if slot == "confidence" and not 0 <= value <= 1:
            return f"must lie between 0 and 1 (a probability), got {_number(value)}."
        return None
    if not isinstance(value, str):
        return f"must be a text, got {shown(str(value))}."
    if any(c in value for c in "\t\n\r"):
        return "holds a tab or a line break, which a TSV cell cannot."
    if slot in ENUMS and value not in ENUMS[slot]:
        return f"{shown(value)} is not one of {', '.join(sorted(ENUMS[slot]))}."
    if slot in DATE_SLOTS:
        try:
            if not _DATE.match(value):
                raise ValueError
            _dt.date.fromisoformat(value)
        except ValueError:
            return f"{shown(value)} is not a date written YYYY-MM-DD (e.g. 2026-11-29)."
    if slot in URI_SLOTS and (not _ABSOLUTE.match(value) or _BAD_IRI.search(value)):
        return f"{shown(value)} is not an absolute IRI (e.g. https://...)."
    if slot in CURIE_SLOTS:
        match = _CURIE.match(value)
        if not match:
            return f"{shown(value)} is not a CURIE (prefix:local, e.g. wd:Q227)."
        if match.group(1) not in prefixes:
            return (
                f"the prefix {match.group(1)!r} of {shown(value)} is not declared; add it "
                f"to curie_map in the metadata ('{match.group(1)}: <its IRI>')."
            )
        if _BAD_IRI.search(prefixes[match.group(1)] + match.group(2)):
            return f"{shown(value)} expands to no valid IRI."
        if slot == "mapping_justification" and (
            prefixes[match.group(1)] != SEMAPV or match.group(2) not in JUSTIFICATIONS
        ):
            return (
                f"{shown(value)} is not a semapv: justification; use one of "
                + ", ".join(f"semapv:{j}" for j in sorted(JUSTIFICATIONS))
                + "."
            )
    return None
