"""SSSOM mapping sets: the model, read, written and exported.

kg keeps its links to Wikidata as an SSSOM mapping set (`Simple Standard for Sharing
Ontological Mappings <https://mapping-commons.github.io/sssom/>`_): a TSV table whose
leading lines, each starting with ``#``, hold the set's metadata as YAML (its
``curie_map``, ``mapping_set_id``, title, creator, license...). Every row is one mapping
with its justification (a ``semapv:`` term), confidence, the tool and reviewer; a row
with ``predicate_modifier`` ``Not`` is a negative mapping (a candidate rejected, never to
be proposed again). ``data/*.sssom.tsv`` files are sources like ``data/*.ttl``: each is
loaded, through :func:`kg.sssom_rdf.to_ntriples`, into the named graph ``<base><stem>``.

kg implements the parts of SSSOM it uses, with the schema's rules for them
(:mod:`kg.sssom_schema`). It does not use ``sssom-py``: that package pulls in pandas
and LinkML, which would multiply kg's dependencies and its start-up time (``kg query``
starts in 0.14 s) for a table of a few columns. This module re-exports the public names
of :mod:`kg.sssom_schema` and :mod:`kg.sssom_rdf`, so ``from kg.sssom import ...`` works
for all of them.

The files kg writes are deterministic: metadata in the schema's order, prefixes sorted,
rows sorted by subject, object and predicate, only the columns in use, in the order of
the SSSOM specification; reading a written file and writing it again gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kg.errors import InputError, shown
from kg.sssom_rdf import KG, node_local, source_ntriples, to_ntriples
from kg.sssom_schema import (
    _CURIE,
    BUILT_IN_PREFIXES,
    COLUMNS,
    CURIE_SLOTS,
    DATE_SLOTS,
    ENTITY_TYPES,
    ENUMS,
    EXACT_MATCH,
    FLOAT_SLOTS,
    JUSTIFICATIONS,
    MULTIVALUED,
    REQUIRED,
    REQUIRED_SET,
    SEMAPV,
    SET_SLOTS,
    URI_SLOTS,
    _number,
    _problems,
    validate_mapping_set,
)

__all__ = [
    "BUILT_IN_PREFIXES",
    "COLUMNS",
    "CURIE_SLOTS",
    "DATE_SLOTS",
    "ENTITY_TYPES",
    "ENUMS",
    "EXACT_MATCH",
    "FLOAT_SLOTS",
    "JUSTIFICATIONS",
    "KG",
    "MULTIVALUED",
    "REQUIRED",
    "REQUIRED_SET",
    "SEMAPV",
    "SET_SLOTS",
    "SUFFIX",
    "URI_SLOTS",
    "Mapping",
    "MappingSet",
    "export_text",
    "is_mapping_set",
    "node_local",
    "parse_mapping_set",
    "read_mapping_set",
    "source_ntriples",
    "to_ntriples",
    "to_tsv",
    "validate_mapping_set",
    "write_mapping_set",
]

SUFFIX = ".sssom.tsv"


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


# -- writing -------------------------------------------------------------------------------


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
