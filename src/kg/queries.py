"""Stored queries: grlc-decorated SPARQL files whose parameters are bound, never spliced.

A query file ``queries/NAME.rq`` starts with grlc decorators (``#+ summary:``,
``#+ description:``, ``#+ tags:``, ``#+ defaults:``) and names its parameters with grlc's
BASIL convention, read as grlc reads it: ``?_state_iri`` is a required IRI called ``state``;
``?__from_xsd_date`` an optional ``xsd:date`` called ``from``; and the defaults of IRI
parameters are full IRIs, which grlc sends as they are. So the folder can be published with
grlc as it is (tests/test_grlc.py runs grlc's own parser over it). kg also reads its older
names (``?__from_date``, which grlc takes for a language tag) and CURIE defaults.

Two decorators of kg's own, which grlc ignores, say more about parameters::

    #+ classes:
    #+   - state: kg:State          # the entity must be a kg:State (or of a subclass)
    #+ dates:
    #+   - from: first              # 2005 -> 2005-01-01, 2005-06 -> 2005-06-01
    #+   - to: last                 # 2005 -> 2005-12-31, 2005-06 -> 2005-06-30

Unlike grlc, which splices values into the query text, kg turns each value into a typed
RDF term, checks it against the declared type, and hands it to the engine as a binding.
Parameters, their decorators and the checking of values live in :mod:`kg.query_params`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import InputError, UsageError, shown
from kg.namespaces import compact
from kg.query_params import YEARS as YEARS
from kg.query_params import Param, Resolver, _basil, _declared, closest, to_term
from kg.query_params import resolve_iri as resolve_iri
from kg.query_params import type_problem as type_problem
from kg.resolve import Kinds, check_iri
from kg.terms import Term

_VAR = re.compile(r"[?$](__?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)\b")
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|^`\\]')


@dataclass
class StoredQuery:
    name: str
    path: Path
    text: str
    summary: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        near = closest(name, [p.name for p in self.params])
        hint = f" Did you mean {near!r}?" if near else ""
        raise UsageError(
            f"query {self.name!r} has no parameter {shown(name)}; its parameters are: "
            f"{known}.{hint}"
        )


_PARSED: dict[Path, tuple[int, int, StoredQuery]] = {}


def parse_query_file(path: Path) -> StoredQuery:
    """Read the decorators and the BASIL parameters of one ``.rq`` file (cached while the
    file is unchanged: a long-lived program runs a query many times)."""
    st = path.stat()
    cached = _PARSED.get(path)
    if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
        return cached[2]
    query = _parse_query_file(path)
    _PARSED[path] = (st.st_mtime_ns, st.st_size, query)
    return query


def _parse_query_file(path: Path) -> StoredQuery:
    import yaml

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read this query ({exc.strerror}).", path=str(path)) from None
    text = decode_query(data, str(path))
    numbers = []  # the file's line number of each header line
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#+"):
            lines.append(line[3:] if line.startswith("#+ ") else line[2:])
            numbers.append(number)
    header = "\n".join(lines)
    try:
        meta = yaml.safe_load(header) or {} if header.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = numbers[min(mark.line, len(numbers) - 1)] if mark and numbers else None
        raise InputError(
            f"the '#+' decorators are not valid YAML: {exc}", path=str(path), line=line
        ) from None
    if not isinstance(meta, dict):
        raise InputError("the '#+' decorators must be 'key: value' lines.", path=str(path))
    defaults: dict[str, str] = {}
    for item in meta.get("defaults") or []:
        if isinstance(item, dict):
            defaults.update({str(k): str(v) for k, v in item.items()})
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    params: dict[str, Param] = {}
    for var in _VAR.findall(body):
        param = _basil(var, defaults)
        params.setdefault(param.name, param)
    if "classes" in meta or "dates" in meta or "follow" in meta:
        _declared(yaml.compose(header), numbers, path, params)
    tags = meta.get("tags") or []
    return StoredQuery(
        name=path.stem,
        path=path,
        text=text,
        summary=str(meta.get("summary", "")).strip(),
        description=str(meta.get("description", "")).strip(),
        tags=[str(t) for t in (tags if isinstance(tags, list) else [tags])],
        params=list(params.values()),
    )


#: No query kg runs is longer: a bigger file is a mistake, and reading it costs memory.
MAX_QUERY_BYTES = 16 << 20


def decode_query(data: bytes, shown: str) -> str:
    """Query text from *data*, strictly UTF-8 (a byte-order mark is dropped), or an
    :class:`InputError` naming *shown* and the line of the first bad byte."""
    if len(data) > MAX_QUERY_BYTES:
        raise InputError("a query of more than 16 MiB is not a query kg runs.", path=shown)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the query as UTF-8.",
            path=shown,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None


def load_queries(folder: Path) -> dict[str, StoredQuery]:
    """Every stored query in *folder*, by name.

    A missing folder holds no queries (a project may have none yet); a folder kg cannot
    list, or a file where the folder should be, is an :class:`InputError` naming it,
    because an empty list would read as "this project has no stored queries"."""
    return {p.stem: parse_query_file(_regular_query(p)) for p in _query_files(folder)}


def load_queries_apart(folder: Path) -> tuple[dict[str, StoredQuery], list[InputError]]:
    """Every stored query that can be read, by name, and the errors of those that cannot:
    one broken file must not hide the others (``kg queries`` lists them all)."""
    found: dict[str, StoredQuery] = {}
    broken: list[InputError] = []
    for path in _query_files(folder):
        try:
            found[path.stem] = parse_query_file(_regular_query(path))
        except InputError as exc:
            broken.append(exc)
    return found, broken


def get_query(folder: Path, name: str) -> StoredQuery:
    """The stored query *name*; a name with no file is a :class:`UsageError` listing the
    names there are (only the names: another query's mistakes are not this one's)."""
    path = folder / f"{name}.rq"
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise _unreadable(folder, exc, "read") from None
        else:
            return parse_query_file(_regular_query(path))
    names = [p.stem for p in _query_files(folder)]
    near = closest(name, names)
    hint = f" Did you mean {near}?" if near else ""
    raise UsageError(
        f"no stored query named {shown(name)}.{hint} Stored queries: "
        f"{', '.join(names) or '(none)'}. Run 'kg queries' to see what each answers."
    )


def _query_files(folder: Path) -> list[Path]:
    """The ``*.rq`` files of *folder*, sorted; [] when there is no such folder."""
    try:
        st = os.stat(folder)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise _unreadable(folder, exc) from None
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(
            "is not a folder; 'queries' in kg.toml names the folder of stored queries "
            "(*.rq files).",
            path=str(folder),
        )
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".rq"))
    except OSError as exc:
        raise _unreadable(folder, exc) from None
    return [folder / n for n in names]


def _unreadable(folder: Path, exc: OSError, doing: str = "list") -> InputError:
    why = "a symlink that loops" if exc.errno == errno.ELOOP else (exc.strerror or "").lower()
    return InputError(
        f"cannot {doing} the stored queries in this folder ({why}); fix its permissions, "
        "or point 'queries' in kg.toml elsewhere.",
        path=str(folder),
    )


def _regular_query(path: Path) -> Path:
    """*path*, once it is known to be a regular file: reading a FIFO would wait for ever."""
    try:
        st = os.stat(path)
    except OSError as exc:
        why = "a symlink that loops" if exc.errno == errno.ELOOP else exc.strerror
        raise InputError(f"cannot read this query ({why}).", path=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            "is not a regular file (a FIFO, device or folder); a stored query is a .rq "
            "file. Remove it from the queries folder.",
            path=str(path),
        )
    return path


#: What the entity an IRI names is (see :func:`kg.resolve.kinds_of`).
KindsOf = Callable[[str], Kinds]


#: The values of a property for an entity (IRIs), for ``#+ follow:``.
Follow = Callable[[str, str], list[str]]


def bind(
    query: StoredQuery,
    given: Mapping[str, str],
    resolve: Resolver,
    kinds: KindsOf | None = None,
    follow: Follow | None = None,
) -> dict[str, Term]:
    """Typed terms for the query's variables, from *given* values or the query's defaults.

    *resolve* turns a label or CURIE into an IRI (it knows the graph); it raises
    :class:`UsageError` when the text matches nothing or more than one entity. *kinds*
    tells the classes of an entity, to check the parameters that ``#+ classes:`` types
    (without it they are not checked).
    """
    for name in given:
        query.param(name)  # unknown names fail with the list of known ones
    bindings: dict[str, Term] = {}
    raws: dict[str, str] = {}
    for param in query.params:
        raw = given.get(param.name, param.default)
        if raw is None:
            if param.required:
                raise UsageError(
                    f"query {query.name!r} needs the parameter {param.name!r} "
                    f"({param.type_label}); give it as -p {param.name}=VALUE."
                )
            continue
        bindings[param.var] = to_term(param, raw, resolve)
        raws[param.name] = raw
    if kinds is not None:
        _check_classes(query, bindings, raws, kinds)
    for param in query.params:
        if param.follows and param.var in bindings:
            bindings[param.var] = _followed(param, bindings[param.var].value, follow)
    return bindings


def _followed(param: Param, iri: str, follow: Follow | None) -> Term:
    """The one value of ``param.follows`` for the entity *iri*, or a UsageError."""
    found = sorted(follow(iri, param.follows or "")) if follow else []
    prop = compact(param.follows or "")
    if len(found) != 1:
        how = (
            f"has no {prop}: link it first ('kg link wikidata {compact(iri)}')"
            if not found
            else f"has {len(found)} values of {prop} ({', '.join(map(compact, found[:5]))})"
        )
        raise UsageError(
            f"parameter {param.name!r} names {compact(iri)}, which {how}; this query needs "
            f"exactly one."
        )
    return Term.iri(check_iri(found[0], found[0]))


def _check_classes(
    query: StoredQuery, bindings: Mapping[str, Term], raws: Mapping[str, str], kinds: KindsOf
) -> None:
    """Refuse an entity that is not of the class its parameter expects, saying what it is,
    and whether two parameters' values look swapped."""
    typed = [p for p in query.params if p.expects and p.var in bindings]
    memo: dict[str, Kinds] = {}

    def kinds_of(param: Param) -> Kinds:
        iri = bindings[param.var].value
        if iri not in memo:
            memo[iri] = kinds(iri)
        return memo[iri]

    for param in typed:
        found = kinds_of(param)
        if param.expects in found.classes:
            continue
        swapped = [
            o.name
            for o in typed
            if o is not param
            and o.expects in found.classes
            and param.expects in kinds_of(o).classes
        ]
        fits = [o.name for o in typed if o is not param and o.expects in found.classes]
        if swapped:
            hint = f" Did you swap {param.name!r} and {swapped[0]!r}?"
        elif fits:
            hint = f" It would fit parameter {fits[0]!r}."
        else:
            hint = ""
        raw = raws[param.name]
        curie = compact(bindings[param.var].value)
        named = shown(raw) if raw.strip() == curie else f"{shown(raw)} ({shown(curie)[1:-1]})"
        raise UsageError(
            f"{named} is {found.describe()}; parameter {param.name!r} expects a "
            f"{compact(param.expects or '')}.{hint}"
        )
