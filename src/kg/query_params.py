"""A stored query's parameters: what each takes, as its BASIL name and kg's own
decorators (``#+ classes:``, ``#+ dates:``, ``#+ follow:``) declare it, and the typed RDF
term a value given for it becomes, or why it cannot become one (see :mod:`kg.queries`).
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from kg.errors import InputError, UsageError, shown
from kg.namespaces import PREFIXES, XSD, compact, expand
from kg.resolve import check_iri
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
#: grlc's BASIL grammar, as grlc.gquery.get_parameters reads it: "_" (required) or "__"
#: (optional), a name of letters and digits, then "_iri", "_literal", "_integer" or
#: "_number", a datatype as "_PREFIX_LOCAL" (``_xsd_date``), or a language tag (``_en``).
_GRLC = re.compile(
    r"__?(?P<name>[a-zA-Z0-9]+)(_(?P<type>(iri)|(number)|(literal)|(integer)))?"
    r"(_(?P<prefix>[a-zA-Z0-9]+)_(?P<local>[a-zA-Z0-9]+))?(_(?P<lang>[a-zA-Z0-9]+))?"
)
#: An absolute IRI, as a default may give one (``https://w3id.org/...``).
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
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


@dataclass(frozen=True)
class Param:
    """One parameter: its public ``name``, SPARQL ``var``, whether required, and its type."""

    name: str
    var: str
    required: bool
    kind: str  # "iri", "literal", an XSD local name, or "@lang"
    #: ``#+ defaults:``, as a person would type it: an IRI given in full is its CURIE.
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


def _basil(var: str, defaults: Mapping[str, str]) -> Param:
    """The parameter a BASIL variable name declares, read as grlc reads it when kg can give
    that reading the same meaning, else by kg's older names (``?__from_date``), which grlc
    misreads (as a language tag) but users' own queries may still have."""
    required = not var.startswith("__")
    name, kind = _grlc_reading(var) or _kg_reading(var)
    default = defaults.get(name)
    if kind == "iri" and default is not None and _ABSOLUTE.match(default):
        # grlc sends a default as it is, so the file gives IRIs in full; kg shows the
        # CURIE people type (kg queries), which binds the same IRI.
        curie = compact(default)
        default = default if curie.startswith("<") else curie
    return Param(name=name, var=var, required=required, kind=kind, default=default)


def _grlc_reading(var: str) -> tuple[str, str] | None:
    """(name, kind) as grlc reads *var*, when its reading spans the whole name and kg can
    bind it the same way: ``_iri``, ``_literal``, ``_integer``, ``_number``, an XSD datatype
    (``_xsd_date``) or a language tag (``_en``); None otherwise."""
    match = _GRLC.match(var)
    if match is None or match.end() != len(var):
        return None
    name, kind, prefix, local, lang = match.group("name", "type", "prefix", "local", "lang")
    if sum(1 for part in (kind, prefix, lang) if part) > 1:
        return None  # grlc applies only one of them; kg does not guess which
    if kind:
        return name, "iri" if kind == "iri" else _DATATYPES[kind] or "literal"
    if prefix:  # kg knows the xsd: prefix; another one the query declares, kg cannot bind
        return (name, "literal" if local == "string" else local) if prefix == "xsd" else None
    if lang:
        return (name, "@" + lang) if _LANG.match(lang) else None
    return name, "literal"


def _kg_reading(var: str) -> tuple[str, str]:
    """(name, kind) by kg's older reading: the name may hold underscores, and its last
    part may be a type without a prefix (``_date``, ``_gYear``) or a language tag."""
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
    return "_".join(parts), kind


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
            f"is for xsd:date parameters (?_NAME_xsd_date); {param.name!r} takes "
            f"{param.type_label}."
        )
    if value not in ("first", "last"):
        raise refuse(
            f"says which day a year or a month stands for, 'first' or 'last'; got "
            f"{shown(value)} for {param.name!r}."
        )
    return replace(param, dates=value)


def closest(name: str, names: list[str]) -> str | None:
    """The one of *names* that *name* most likely misspells (any case), or None: the hint
    behind "Did you mean ...?" for query and parameter names."""
    if len(name) >= 200:  # a kilobyte of text is no typo of a name (and difflib is slow)
        return None
    near = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    return near[0] if near else None


#: Turns a label, CURIE or IRI into an IRI; called with ``expects=CLASS`` for a parameter
#: that ``#+ classes:`` types, so that its suggestions favour entities of that class.
Resolver = Callable[..., str]


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
