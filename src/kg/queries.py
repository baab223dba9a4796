"""Stored queries: grlc-decorated SPARQL files whose parameters are bound, never spliced.

A query file ``queries/NAME.rq`` starts with grlc decorators (``#+ summary:``,
``#+ description:``, ``#+ tags:``, ``#+ defaults:``) and names its parameters with grlc's
BASIL convention: ``?_state_iri`` is a required IRI called ``state``; ``?__from_date`` an
optional ``xsd:date`` called ``from``. So the folder can be published with grlc as it is.

Two decorators of kg's own, which grlc ignores, say more about parameters::

    #+ classes:
    #+   - state: kg:State          # the entity must be a kg:State (or of a subclass)
    #+ dates:
    #+   - from: first              # 2005 -> 2005-01-01, 2005-06 -> 2005-06-01
    #+   - to: last                 # 2005 -> 2005-12-31, 2005-06 -> 2005-06-30

Unlike grlc, which splices values into the query text, kg turns each value into a typed
RDF term, checks it against the declared type, and hands it to the engine as a binding.
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import errno
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kg.errors import InputError, UsageError, shown
from kg.namespaces import PREFIXES, XSD, compact, expand
from kg.resolve import Kinds, check_iri
from kg.terms import Term, unicode_problem

#: BASIL type suffix -> XSD datatype local name (None: a plain string literal).
_DATATYPES = {
    "literal": None,
    "string": None,
    "number": "decimal",
    "integer": "integer",
    "decimal": "decimal",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "dateTime",
    "gYear": "gYear",
    "gYearMonth": "gYearMonth",
}
_LANG = re.compile(r"^[a-z]{2,3}$")
_VAR = re.compile(r"[?$](__?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)\b")
# [0-9], not \d: \d also matches other scripts' digits ('٢٠٢٥'), which XSD does not allow.
# Used with fullmatch: "$" would let a trailing line break through.
_NUMBERS: dict[str, re.Pattern[str]] = {
    "integer": re.compile(r"[+-]?[0-9]+"),
    "decimal": re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
    "double": re.compile(r"[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF|NaN)"),
    "boolean": re.compile(r"true|false|1|0"),
}
# The year is matched loosely (a sign, any number of digits) so that a year kg cannot handle
# gets that reason rather than "not a date".
_YEAR = r"(?P<year>-?[0-9]+)"
_DATE = _YEAR + r"-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_TIMES: dict[str, re.Pattern[str]] = {
    "gYear": re.compile(_YEAR),
    "gYearMonth": re.compile(_YEAR + r"-(?P<month>[0-9]{2})"),
    "date": re.compile(_DATE),
    "dateTime": re.compile(
        _DATE + r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(\.[0-9]+)?"
        r"(?P<zone>Z|(?P<sign>[+-])(?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))?"
    ),
}
#: Years kg compares correctly: stored dates are compared as text (``STR(?d) <= ...``), which
#: orders years only while they have four digits and no sign; Python's dates agree.
YEARS = "kg handles years 0001 to 9999, written with four digits"
_EXAMPLES = {
    "integer": "42",
    "decimal": "3.5",
    "double": "1.5e3",
    "boolean": "true",
    "date": "2025-01-31",
    "dateTime": "2025-01-31T12:00:00Z",
    "gYear": "1994",
    "gYearMonth": "2023-09",
}
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|^`\\]')


@dataclass(frozen=True)
class Param:
    """One parameter: its public ``name``, SPARQL ``var``, whether required, and its type."""

    name: str
    var: str
    required: bool
    kind: str  # "iri", "literal", an XSD local name, or "@lang"
    default: str | None = None
    #: The class an IRI parameter's entity must belong to (``#+ classes:``), or None.
    expects: str | None = None
    #: For an xsd:date parameter, which day a year or a month stands for (``#+ dates:``):
    #: "first", "last", or None when only a day will do.
    dates: str | None = None
    #: For an IRI parameter, a property to follow from the entity named (``#+ follow:``):
    #: the query is given the entity's value of it (its Wikidata item for kg:wikidata).
    follows: str | None = None

    @property
    def type_label(self) -> str:
        if self.kind == "iri":
            of = f" of a {compact(self.expects)}" if self.expects else ""
            then = f", given to the query as its {compact(self.follows)}" if self.follows else ""
            return "IRI, CURIE or label" + of + then
        if self.kind == "date" and self.dates:
            return f"xsd:date, or a year or month (its {self.dates} day)"
        if self.kind.startswith("@"):
            return f"text{self.kind}"
        return "text" if self.kind == "literal" else f"xsd:{self.kind}"


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


def _declared(root, numbers: list[int], path: Path, params: dict[str, Param]) -> None:
    """Apply the ``classes:`` and ``dates:`` decorators to *params* (in place), or raise
    an :class:`InputError` naming the file and the line of the first mistake."""
    for key, apply in (("classes", _class_of), ("dates", _dates_of), ("follow", _follow_of)):
        seen: set[str] = set()
        for name, value, line in _entries(root, key, numbers, path):

            def refuse(message: str, line: int = line, key: str = key) -> InputError:
                return InputError(f"'{key}:' {message}", path=str(path), line=line)

            param = params.get(name)
            if param is None:
                known = ", ".join(params) or "none"
                near = closest(name, list(params))
                hint = f" Did you mean {near!r}?" if near else ""
                raise refuse(
                    f"names the parameter {shown(name)}, which this query does not have "
                    f"(its parameters: {known}).{hint}"
                )
            if name in seen:
                raise refuse(f"gives the parameter {name!r} twice.")
            seen.add(name)
            params[name] = apply(param, value, refuse)


def _entries(root, key: str, numbers: list[int], path: Path) -> list[tuple[str, str, int]]:
    """The (parameter, value, file line) pairs under *key*: a list of ``- name: value``
    lines, as grlc writes ``defaults:`` (a plain mapping is taken too)."""
    import yaml

    def line_of(node) -> int:
        return numbers[min(node.start_mark.line, len(numbers) - 1)]

    node = next(
        (v for k, v in getattr(root, "value", []) if getattr(k, "value", None) == key), None
    )
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value == ""):
        return []
    shape = f"'{key}:' must be a list of '- PARAMETER: VALUE' lines"
    pairs = []
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                raise InputError(f"{shape}; this item is not.", path=str(path), line=line_of(item))
            pairs.extend(item.value)
    elif isinstance(node, yaml.MappingNode):
        pairs = list(node.value)
    else:
        raise InputError(f"{shape}.", path=str(path), line=line_of(node))
    found = []
    for k, v in pairs:
        if not (isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)) or not v.value:
            raise InputError(
                f"{shape}, each with one value (as '- state: kg:State').",
                path=str(path),
                line=line_of(k),
            )
        found.append((str(k.value), str(v.value), line_of(k)))
    return found


def _class_of(param: Param, value: str, refuse: Callable[[str], InputError]) -> Param:
    """*param* expecting the class *value* (a CURIE with a known prefix, or ``<IRI>``)."""
    return replace(param, expects=_term_iri(param, value, refuse, "the class", "kg:State"))


def _follow_of(param: Param, value: str, refuse: Callable[[str], InputError]) -> Param:
    """*param* given to the query as the entity's value of the property *value*."""
    return replace(param, follows=_term_iri(param, value, refuse, "the property", "kg:wikidata"))


def _term_iri(
    param: Param, value: str, refuse: Callable[[str], InputError], what: str, example: str
) -> str:
    """The IRI a decorator gives an IRI parameter: a CURIE with a known prefix or <IRI>."""
    if param.kind != "iri":
        raise refuse(
            f"gives {what.replace('the ', 'a ', 1)} to {param.name!r}, which is not an IRI "
            f"parameter (it takes "
            f"{param.type_label}); only a ?_NAME_iri parameter names an entity."
        )
    if value.startswith("<") and value.endswith(">"):
        iri = value[1:-1]
    else:
        prefix, sep, _ = value.partition(":")
        if not sep:
            raise refuse(
                f"gives {param.name!r} {what} {shown(value)}, which is neither a CURIE "
                f"({example}) nor an IRI in <...>."
            )
        if prefix not in PREFIXES:
            raise refuse(
                f"gives {param.name!r} {what} {shown(value)}, whose prefix {shown(prefix)} "
                f"kg does not know; known prefixes: {', '.join(PREFIXES)} (or write the IRI "
                "in <...>)."
            )
        iri = expand(value) or ""
    try:
        check_iri(iri, value)
    except UsageError as exc:
        raise refuse(f"gives {param.name!r} {what} that is no IRI: {exc}") from None
    return iri


def _dates_of(param: Param, value: str, refuse: Callable[[str], InputError]) -> Param:
    """*param* taking a year or a month for its *value* ("first" or "last") day."""
    if param.kind != "date":
        raise refuse(
            f"is for xsd:date parameters (?_NAME_date); {param.name!r} takes {param.type_label}."
        )
    if value not in ("first", "last"):
        raise refuse(
            f"says which day a year or a month stands for, 'first' or 'last'; got "
            f"{shown(value)} for {param.name!r}."
        )
    return replace(param, dates=value)


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


def _basil(var: str, defaults: Mapping[str, str]) -> Param:
    required = not var.startswith("__")
    parts = var.lstrip("_").split("_")
    kind = "literal"
    if len(parts) > 1:
        last = parts[-1]
        if last == "iri":
            kind = "iri"
        elif last in _DATATYPES:
            kind = _DATATYPES[last] or "literal"
        elif _LANG.match(last):
            kind = "@" + last
        else:
            last = ""
        if last:
            parts = parts[:-1]
    name = "_".join(parts)
    return Param(name=name, var=var, required=required, kind=kind, default=defaults.get(name))


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


def closest(name: str, names: list[str]) -> str | None:
    """The one of *names* that *name* most likely misspells (any case), or None: the hint
    behind "Did you mean ...?" for query and parameter names."""
    if len(name) >= 200:  # a kilobyte of text is no typo of a name (and difflib is slow)
        return None
    near = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    return near[0] if near else None


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


#: Turns a label, CURIE or IRI into an IRI; called with ``expects=CLASS`` for a parameter
#: that ``#+ classes:`` types, so that its suggestions favour entities of that class.
Resolver = Callable[..., str]
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


def to_term(param: Param, raw: str, resolve: Resolver) -> Term:
    """*raw* as the RDF term *param* declares, or a :class:`UsageError` saying what fits.

    Whatever the text holds, the term returned can be written into a ``VALUES`` block
    (:meth:`Term.n3`) and handed to either engine: what cannot is refused here, where the
    message can name the parameter, rather than failing later as an internal error."""
    problem = unicode_problem(raw)
    if problem:
        raise UsageError(f"parameter {param.name!r} got {shown(raw)}: {problem}.")
    if param.kind == "iri":
        if param.expects:
            return Term.iri(check_iri(resolve(raw, expects=param.expects), raw))
        return Term.iri(resolve_iri(raw, resolve))
    if param.kind == "literal":
        return Term.literal(raw)
    if param.kind.startswith("@"):
        return Term.literal(raw, lang=param.kind[1:])
    text = raw.strip()
    if param.kind == "date":
        text = _day_for(param, raw, text)
    problem = type_problem(param.kind, text)
    if problem is not None:
        example = _EXAMPLES.get(param.kind, "")
        why = f": {problem}" if problem else ""
        raise UsageError(
            f"parameter {param.name!r} must be an xsd:{param.kind} such as "
            f"{example!r}; got {shown(raw)}{why}."
        )
    return Term.literal(text, XSD + param.kind)


def _day_for(param: Param, raw: str, text: str) -> str:
    """*text*, or the day a year or a month stands for when *param* declares it (first or
    last); a coarse date where the query declares nothing is refused saying why."""
    for coarse in ("gYear", "gYearMonth"):
        if not _TIMES[coarse].fullmatch(text):
            continue
        problem = type_problem(coarse, text)
        if problem:  # no such year or month: say so, as for any date
            raise UsageError(
                f"parameter {param.name!r} must be an xsd:date such as "
                f"{_EXAMPLES['date']!r}; got {shown(raw)}: {problem}."
            )
        year, _, month = text.partition("-")
        what = "a month" if month else "a year"
        if param.dates is None:
            first = f"{year}-{month or '01'}-01"
            raise UsageError(
                f"parameter {param.name!r} needs a day (xsd:date) such as {first!r}; got "
                f"{shown(raw)}, {what}: this query compares days and does not say which day "
                f"of {what} would stand for it."
            )
        if param.dates == "first":
            return f"{year}-{month or '01'}-01"
        last_month = int(month or 12)
        days = calendar.monthrange(int(year), last_month)[1]
        return f"{year}-{last_month:02d}-{days:02d}"
    return text


def type_problem(kind: str, text: str) -> str | None:
    """None when *text* is a valid xsd:*kind* that kg handles; otherwise why not ('' when
    the text does not even have the type's shape, which the example then shows)."""
    number = _NUMBERS.get(kind)
    if number is not None:
        return None if number.fullmatch(text) else ""
    shape = _TIMES.get(kind)
    if shape is None:
        return None  # a datatype kg does not check
    match = shape.fullmatch(text)
    if match is None:
        return ""
    year = match["year"]
    if year.startswith("-") or len(year) != 4 or year == "0000":
        return YEARS
    parts = match.groupdict()
    month = int(parts["month"]) if parts.get("month") else 1
    if not 1 <= month <= 12:
        return f"there is no month {parts['month']}"
    if parts.get("day") is not None:
        try:
            datetime.date.fromisoformat(text[:10])
        except ValueError:
            days = calendar.monthrange(int(year), month)[1]
            return f"{calendar.month_name[month]} {year} has days 01 to {days}"
    if parts.get("hour") is not None:
        if not (int(parts["hour"]) < 24 and int(parts["minute"]) < 60):
            return "a time runs from 00:00 to 23:59"
        if int(parts["second"]) >= 60:
            return "seconds run from 00 to 59"
        offset = int(parts["zh"] or 0) * 60 + int(parts["zm"] or 0)
        if int(parts["zm"] or 0) >= 60 or offset > 14 * 60:
            return "a time zone runs from -14:00 to +14:00"
    return None


def resolve_iri(raw: str, resolve: Resolver) -> str:
    """The IRI *resolve* finds for ``<iri>``, an absolute IRI, a CURIE or a label (see
    :func:`kg.resolve.resolve_name`), checked again whatever resolver was given: it is
    about to be bound, and an IRI that could end its brackets must never get that far."""
    return check_iri(resolve(raw), raw)
