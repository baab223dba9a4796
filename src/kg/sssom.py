"""SSSOM mapping sets: read, check, write and turn into RDF.

kg keeps its links to Wikidata as an SSSOM mapping set (`Simple Standard for Sharing
Ontological Mappings <https://mapping-commons.github.io/sssom/>`_): a TSV table whose
leading lines, each starting with ``#``, hold the set's metadata as YAML (its
``curie_map``, ``mapping_set_id``, title, creator, license...). Every row is one mapping
with its justification (a ``semapv:`` term), confidence, the tool and reviewer; a row
with ``predicate_modifier`` ``Not`` is a negative mapping (a candidate rejected, never to
be proposed again). ``data/*.sssom.tsv`` files are sources like ``data/*.ttl``: each is
loaded, through :func:`to_ntriples`, into the named graph ``<base><stem>``.

This module implements the parts of SSSOM kg uses, with the schema's rules for them
(required slots, enumerations, types, CURIEs whose prefix the ``curie_map`` or SSSOM's
built-in prefixes declare). It does not use ``sssom-py``: that package pulls in pandas
and LinkML, which would multiply kg's dependencies and its start-up time (``kg query``
starts in 0.14 s) for a table of a few columns.

The files kg writes are deterministic: metadata in the schema's order, prefixes sorted,
rows sorted by subject, object and predicate, only the columns in use, in the order of
the SSSOM specification; reading a written file and writing it again gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from kg.errors import InputError, shown

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
SUFFIX = ".sssom.tsv"

_CURIE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*):(\S*)$")
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\x7f-\x9f]')
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

KG = "https://w3id.org/kg-diplo/ontology#"
_RDF_TYPE = BUILT_IN_PREFIXES["rdf"] + "type"
_LABEL = BUILT_IN_PREFIXES["rdfs"] + "label"
_COMMENT = BUILT_IN_PREFIXES["rdfs"] + "comment"
_SEE_ALSO = BUILT_IN_PREFIXES["rdfs"] + "seeAlso"
_XSD = BUILT_IN_PREFIXES["xsd"]


@dataclass
class Mapping:
    """One row of a mapping set. Multivalued slots hold ``a|b`` as in the TSV."""

    subject_id: str | None = None
    subject_label: str | None = None
    subject_category: str | None = None
    predicate_id: str | None = None
    predicate_label: str | None = None
    predicate_modifier: str | None = None
    object_id: str | None = None
    object_label: str | None = None
    object_category: str | None = None
    mapping_justification: str | None = None
    author_id: str | None = None
    author_label: str | None = None
    reviewer_id: str | None = None
    reviewer_label: str | None = None
    creator_id: str | None = None
    creator_label: str | None = None
    license: str | None = None
    subject_type: str | None = None
    subject_source: str | None = None
    subject_source_version: str | None = None
    object_type: str | None = None
    object_source: str | None = None
    object_source_version: str | None = None
    mapping_provider: str | None = None
    mapping_source: str | None = None
    mapping_cardinality: str | None = None
    mapping_tool: str | None = None
    mapping_tool_version: str | None = None
    mapping_date: str | None = None
    publication_date: str | None = None
    confidence: float | None = None
    curation_rule: str | None = None
    curation_rule_text: str | None = None
    subject_match_field: str | None = None
    object_match_field: str | None = None
    match_string: str | None = None
    subject_preprocessing: str | None = None
    object_preprocessing: str | None = None
    semantic_similarity_score: float | None = None
    semantic_similarity_measure: str | None = None
    see_also: str | None = None
    issue_tracker_item: str | None = None
    other: str | None = None
    comment: str | None = None

    @property
    def negated(self) -> bool:
        """A negative mapping: the subject is *not* a match of the object."""
        return self.predicate_modifier == "Not"

    def values(self, slot: str) -> list[str]:
        """The values of *slot*: a multivalued cell split on ``|``; [] when empty."""
        value = getattr(self, slot)
        if value is None or value == "":
            return []
        if slot in MULTIVALUED:
            return [v for v in str(value).split("|") if v]
        return [value if isinstance(value, str) else _number(value)]

    def sort_key(self) -> tuple[str, ...]:
        return (
            self.subject_id or "",
            self.object_id or "",
            self.predicate_id or "",
            self.predicate_modifier or "",
        )


assert tuple(f.name for f in fields(Mapping)) == COLUMNS


@dataclass
class MappingSet:
    """The metadata block (``curie_map`` included) and the rows of one mapping set."""

    metadata: dict[str, Any] = field(default_factory=dict)
    mappings: list[Mapping] = field(default_factory=list)
    #: The file line of each row when read from a file (for messages), else empty.
    lines: list[int] = field(default_factory=list, compare=False, repr=False)

    @property
    def curie_map(self) -> dict[str, str]:
        value = self.metadata.get("curie_map") or {}
        return value if isinstance(value, dict) else {}

    def positive(self) -> list[Mapping]:
        return [m for m in self.mappings if not m.negated]

    def negative(self) -> list[Mapping]:
        return [m for m in self.mappings if m.negated]

    def find(self, subject_id: str, object_id: str) -> Mapping | None:
        """The mapping of *subject_id* to *object_id* (positive or negative), or None. A
        valid set holds at most one row per pair (see :func:`validate_mapping_set`)."""
        for mapping in self.mappings:
            if mapping.subject_id == subject_id and mapping.object_id == object_id:
                return mapping
        return None

    def prefixes(self) -> dict[str, str]:
        """SSSOM's built-in prefixes, then the set's own (which may not redefine them)."""
        return {**BUILT_IN_PREFIXES, **self.curie_map}

    def expand(self, curie: str) -> str:
        """The IRI of *curie*; KeyError when its prefix is not declared."""
        match = _CURIE.match(curie)
        if not match:
            raise KeyError(curie)
        return self.prefixes()[match.group(1)] + match.group(2)


# -- reading -------------------------------------------------------------------------------


def is_mapping_set(path: Path | str) -> bool:
    """Whether *path* names an SSSOM TSV file (``*.sssom.tsv``, in any case)."""
    return str(path).lower().endswith(SUFFIX)


def read_mapping_set(path: Path, *, shown_as: str | None = None) -> MappingSet:
    """Read and check an SSSOM TSV file; whatever is wrong with it (YAML, TSV, unknown
    columns, a missing required slot, a value outside its enumeration or type, a CURIE
    whose prefix is not declared, a pair mapped twice) is an :class:`InputError` naming
    the file and line."""
    from kg.compile import check_text, safe_reason

    where = shown_as or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; check the path.", path=where) from None
    except OSError as exc:
        raise InputError(
            f"cannot read it ({safe_reason(exc.strerror or str(exc))}).", path=where
        ) from None
    check_text(raw, where)
    text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    return parse_mapping_set(text, where)


def parse_mapping_set(text: str, where: str = "<mapping set>") -> MappingSet:
    """A mapping set from the text of an SSSOM TSV file (see :func:`read_mapping_set`)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    metadata = _metadata([line[1:] for line in lines[:head]], where)
    rows = [(n, line) for n, line in enumerate(lines[head:], head + 1) if line.strip()]
    if not rows:
        raise InputError(
            "holds no table: after the metadata lines (each starting with '#') an SSSOM "
            "file has a header row naming its columns (subject_id, predicate_id, object_id, "
            "mapping_justification...), then one row per mapping.",
            path=where,
            line=head + 1,
        )
    (header_line, header), *body = rows
    columns = header.split("\t")
    for column in columns:
        if column not in COLUMNS:
            raise InputError(
                f"unknown column {shown(column)} in the header row; SSSOM's columns are "
                f"{', '.join(COLUMNS[:10])}... (see the SSSOM specification)."
                + _did_you_mean(column, COLUMNS),
                path=where,
                line=header_line,
            )
    doubled = [c for c in columns if columns.count(c) > 1]
    if doubled:
        raise InputError(
            f"the column {doubled[0]} appears twice in the header row; keep one.",
            path=where,
            line=header_line,
        )
    for slot in REQUIRED:
        if slot not in columns:
            raise InputError(
                f"the header row has no {slot} column; every SSSOM mapping needs "
                f"{', '.join(REQUIRED)}.",
                path=where,
                line=header_line,
            )
    ms = MappingSet(metadata=metadata)
    for number, line in body:
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise InputError(
                f"this row has {len(cells)} cells (tab-separated) but the header names "
                f"{len(columns)} columns; give every column a cell (empty if unknown) and "
                "no tab inside a value.",
                path=where,
                line=number,
            )
        values: dict[str, Any] = {}
        for column, cell in zip(columns, cells, strict=True):
            cell = cell.strip()
            if cell == "":
                continue
            if column in FLOAT_SLOTS:
                try:
                    values[column] = float(cell)
                except ValueError:
                    raise InputError(
                        f"{column} must be a number from 0 to 1, e.g. 0.95; got {shown(cell)}.",
                        path=where,
                        line=number,
                    ) from None
            else:
                values[column] = cell
        ms.mappings.append(Mapping(**values))
        ms.lines.append(number)
    problems = _problems(ms)
    if problems:
        index, message = problems[0]
        line = ms.lines[index] if index is not None else _key_line(lines[:head], message) or 1
        raise InputError(message, path=where, line=line)
    return ms


def _metadata(lines: list[str], where: str) -> dict[str, Any]:
    import yaml

    text = textwrap.dedent("\n".join(lines))
    if not text.strip():
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"the metadata block (the lines starting with '#') is not valid YAML: "
            f"{exc.problem or exc.context}. Fix this line.",
            path=where,
            line=mark.line + 1 if mark is not None else 1,
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(
            f"the metadata block is not valid YAML ({type(exc).__name__}).", path=where, line=1
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            "the metadata block must be YAML 'key: value' lines (curie_map, "
            "mapping_set_id, license...), each starting with '#'.",
            path=where,
            line=1,
        )
    metadata: dict[str, Any] = {}
    for key, value in data.items():
        line = _key_line(["#" + x for x in lines], f"'{key}'") or 1
        if key not in SET_SLOTS:
            raise InputError(
                f"unknown metadata key {shown(str(key))}; an SSSOM mapping set's metadata "
                f"are {', '.join(SET_SLOTS[:9])}... (see the SSSOM specification)."
                + _did_you_mean(str(key), SET_SLOTS),
                path=where,
                line=line,
            )
        if key == "curie_map":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise InputError(
                    "curie_map must map each prefix to its IRI, e.g. 'wd: "
                    "http://www.wikidata.org/entity/' on a line of its own, indented.",
                    path=where,
                    line=line,
                )
            metadata[key] = dict(value)
            continue
        items = value if isinstance(value, list) else [value]
        normal: list[str] = []
        for item in items:
            if isinstance(item, _dt.date):
                item = item.isoformat()
            if isinstance(item, bool) or item is None or isinstance(item, dict | list):
                raise InputError(
                    f"{key} must be a text{' or a list of texts' if key in MULTIVALUED else ''}; "
                    f"got {shown(str(item))}.",
                    path=where,
                    line=line,
                )
            normal.append(item if isinstance(item, str) else str(item))
        if key in MULTIVALUED:
            metadata[key] = normal
        elif len(normal) != 1:
            raise InputError(f"{key} takes one value, not a list.", path=where, line=line)
        else:
            metadata[key] = normal[0]
    return metadata


def _key_line(lines: list[str], message: str) -> int | None:
    """The line of the metadata key a message names ('key'), for messages on the set."""
    match = re.search(r"'([a-z_]+)'", message)
    if not match:
        return None
    pattern = re.compile(rf"^#\s*{re.escape(match.group(1))}\s*:")
    for number, line in enumerate(lines, 1):
        if pattern.match(line):
            return number
    return None


def _did_you_mean(name: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f" Did you mean {close[0]}?" if close else ""


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


# -- writing -------------------------------------------------------------------------------


def _number(value: float) -> str:
    """A float as its shortest decimal text (0.95, 1.0), never an exponent."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _ordered_metadata(ms: MappingSet) -> dict[str, Any]:
    ordered: dict[str, Any] = {}
    if ms.curie_map:
        ordered["curie_map"] = dict(sorted(ms.curie_map.items()))
    for slot in SET_SLOTS:
        if slot != "curie_map" and ms.metadata.get(slot) not in (None, "", []):
            value = ms.metadata[slot]
            ordered[slot] = list(value) if isinstance(value, list | tuple) else value
    for slot, value in ms.metadata.items():  # keys kg does not know, kept in their order
        if slot not in ordered and slot not in SET_SLOTS:
            ordered[slot] = value
    return ordered


def _columns(ms: MappingSet) -> list[str]:
    used = {c for m in ms.mappings for c in COLUMNS if getattr(m, c) not in (None, "")}
    return [c for c in COLUMNS if c in used or c in REQUIRED]


def _cell(mapping: Mapping, column: str) -> str:
    value = getattr(mapping, column)
    if value is None:
        return ""
    text = value if isinstance(value, str) else _number(value)
    if any(c in text for c in "\t\n\r"):
        raise ValueError(f"{column} of {mapping.subject_id} holds a tab or line break")
    return text


def _table(ms: MappingSet) -> Iterator[str]:
    columns = _columns(ms)
    yield "\t".join(columns) + "\n"
    for mapping in sorted(ms.mappings, key=Mapping.sort_key):
        yield "\t".join(_cell(mapping, c) for c in columns) + "\n"


def to_tsv(ms: MappingSet) -> str:
    """The SSSOM TSV text of *ms*: the metadata as '#' lines of YAML, then the table."""
    import yaml

    block = yaml.safe_dump(
        _ordered_metadata(ms),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 16,
    )
    head = "".join(f"#{line}\n" for line in block.splitlines()) if _ordered_metadata(ms) else ""
    return head + "".join(_table(ms))


def write_mapping_set(path: Path, ms: MappingSet) -> None:
    """Write *ms* to *path* atomically (a temporary file beside it, then a rename): a
    failed write leaves the old file whole. Deterministic (see the module's docstring)."""
    text = to_tsv(ms)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with _suppress():
            os.unlink(temporary)
        raise


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def export_text(ms: MappingSet, fmt: str) -> str:
    """*ms* as ``sssom`` (the TSV as kg writes it), ``tsv`` (the table only) or ``json``
    (SSSOM JSON: the metadata, ``curie_map`` first, and a list of mappings)."""
    if fmt == "sssom":
        return to_tsv(ms)
    if fmt == "tsv":
        return "".join(_table(ms))
    if fmt == "json":
        document: dict[str, Any] = {"curie_map": dict(sorted(ms.curie_map.items()))}
        document.update({k: v for k, v in _ordered_metadata(ms).items() if k != "curie_map"})
        rows = []
        for mapping in sorted(ms.mappings, key=Mapping.sort_key):
            row: dict[str, Any] = {}
            for column in COLUMNS:
                value = getattr(mapping, column)
                if value in (None, ""):
                    continue
                row[column] = mapping.values(column) if column in MULTIVALUED else value
            rows.append(row)
        document["mappings"] = rows
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}: sssom, tsv or json")


# -- RDF -----------------------------------------------------------------------------------


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
    ms = read_mapping_set(path, shown_as=shown_as)
    if not ms.metadata.get("mapping_set_title"):
        raise InputError(
            "the metadata have no mapping_set_title; a source says what it is: add "
            "'#mapping_set_title: ...' to the metadata lines.",
            path=shown_as,
            line=1,
        )
    return to_ntriples(ms, graph_iri, base)
