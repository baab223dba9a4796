"""Naming things: the IRI a person meant by ``<iri>``, an absolute IRI, a CURIE or a label.

Every IRI parameter of a stored query goes through :func:`resolve_name`, whatever form it
was given in, so that every form is checked the same way: the IRI must be well formed
(:func:`check_iri`: it is about to be written into a ``VALUES`` block, where a ``>`` or a
space would end it) and must name something in the graph (an IRI that names nothing gives
no rows, which reads as "no memberships" rather than "you mistyped"). Messages quote the
value with :func:`kg.errors.shown`, so a hostile or huge value is never echoed whole.

The module knows the graph only through a callable that runs a query, so that it works on
any engine and can be tested without one.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kg.errors import UsageError, printable, shown
from kg.namespaces import KG, PREFIXES, compact, expand
from kg.terms import Term, unicode_problem

if TYPE_CHECKING:
    from kg.results import Result

# The text is bound already lower-cased (Python's ``str.lower`` and SPARQL's ``LCASE`` both
# apply Unicode's full lower-case mapping): ``LCASE(STR(?_text))`` would be computed once
# per label, which for a megabyte of text is a megabyte per label.
_LABEL_OF = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT DISTINCT ?s WHERE {
  { ?s rdfs:label ?label } UNION { ?s skos:altLabel ?label } UNION { ?s kg:handle ?label }
  FILTER(isIRI(?s) && LCASE(STR(?label)) = ?_lower)
}"""
_ALL_LABELS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?s ?label WHERE {
  { ?s rdfs:label ?label } UNION { ?s skos:altLabel ?label }
  FILTER(isIRI(?s))
}"""
# The entity's types and every class above them; asked of the inferred view, whose types
# are closed already (the path also serves a store that has only the asserted view).
_TYPES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?type ?class WHERE { ?_iri a ?type . ?type rdfs:subClassOf* ?class }"""
_CLASS_LABEL = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?label WHERE { ?_class rdfs:label ?label }"""
_OF_CLASS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?s WHERE { ?s a/rdfs:subClassOf* ?_class FILTER(isIRI(?s)) }"""
_EXISTS = "SELECT ?s WHERE { { ?_iri ?p ?o } UNION { ?s ?p ?_iri } } LIMIT 1"
_SAME_BUT_CASE = """SELECT DISTINCT ?s WHERE { ?s ?p ?o
  FILTER(isIRI(?s) && LCASE(STR(?s)) = ?_lower) }"""
_SUBJECTS = "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }"

#: ``scheme://``: text a person typed as an absolute IRI rather than as a CURIE or a label.
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_FORBIDDEN = '<>"{}|^`\\'
#: ASCII that no IRI holds: white space, controls, and the signs that would end or break it.
_ASCII_BAD = re.compile(r'[\x00-\x20\x7f<>"{}|^`\\]')
#: Near matches are looked for only in text about as long as a name: difflib's cost grows
#: with the length, and a kilobyte of text is not a typo of a name.
_HINT_LIMIT = 200
#: At most this many entities are listed when a label is ambiguous.
_LIST_LIMIT = 5
#: At most this many labels are suggested for a value that names nothing.
_SUGGESTIONS = 3
#: A word, for token matches and acronyms: letters and digits (a hyphen, an apostrophe or a
#: bracket ends it, so "Euro-Atlantic" is two words).
_WORD = re.compile(r"[^\W_]+")
#: Text that may be an acronym: two to twelve letters, nothing else.
_ACRONYM = re.compile(r"[^\W\d_]{2,12}")
#: Words an acronym skips even when capitalised ("Partnership for Peace" is PP, not PFP).
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "at", "by", "de", "des", "du", "for", "from", "in", "of", "on", "or"}
    | {"the", "to", "with"}
)


class RunQuery(Protocol):
    """Runs a read-only SELECT on the asserted view with pre-bound variables."""

    def __call__(self, text: str, *, bindings: Mapping[str, Term] | None = None) -> Result: ...


def resolve_name(
    text: str,
    run: RunQuery,
    memo: MutableMapping[str, str] | None = None,
    *,
    expects: str | None = None,
) -> str:
    """The IRI a person meant by *text*: ``<iri>``, an absolute ``scheme://`` IRI, a CURIE
    with a known prefix (``ex:azerbaijan``), or a label (``rdfs:label``, ``skos:altLabel``
    or ``kg:handle``, any case) naming exactly one entity.

    Raises :class:`UsageError` when the text is no valid IRI, names nothing, or names
    several entities. *memo* remembers what was found (a graph's store does not change
    while it is open); failures are not remembered. *expects* (a class IRI) puts the
    entities of that class first among the suggestions for a name that matches nothing.
    """
    if memo is not None and text in memo:
        return memo[text]
    name = text.strip()
    problem = unicode_problem(name)
    if problem:
        raise UsageError(f"{shown(text)} cannot name anything: {problem}.")
    if not name:
        raise UsageError(
            "the value is empty: give an IRI (<https://...>), a CURIE (ex:azerbaijan) or a label."
        )
    if name.startswith("<") and name.endswith(">"):
        iri = _existing(check_iri(name[1:-1], text), text, run)
    elif _ABSOLUTE.match(name):
        iri = _existing(check_iri(name, text), text, run)
    elif _is_curie(name):
        iri = _existing(check_iri(expand(name) or "", text), text, run)
    else:
        iri = _labelled(name, text, run, expects)
    if memo is not None:
        memo[text] = iri
    return iri


def check_iri(iri: str, given: str | None = None) -> str:
    """*iri* itself when it is an absolute IRI that can be bound as it is; otherwise a
    :class:`UsageError` quoting *given* (what the person typed) and saying what is wrong.

    The engine parses the bound IRI again, so anything it would refuse is refused here
    first, with a message about the value rather than about the query's syntax."""
    given = iri if given is None else given

    def refuse(why: str) -> UsageError:
        return UsageError(f"{shown(given)} is not a valid IRI: {why}.")

    if not iri:
        raise refuse("it is empty")
    problem = unicode_problem(iri)
    if problem:
        raise refuse(problem)
    match = _ASCII_BAD.search(iri)
    # beyond ASCII, each distinct character once (a megabyte of text has few distinct ones)
    odd = sorted(c for c in set(iri) if not c.isascii() and _unfit(c))
    if match is None and odd:
        match = re.search(re.escape(odd[0]), iri)
    if match is not None:
        char = match.group()
        if char.isspace():
            raise refuse("it holds a space or a line break")
        if char in _FORBIDDEN:
            raise refuse(f"it holds {char!r}, which no IRI may hold")
        if unicodedata.category(char) == "Cc":
            raise refuse(f"it holds the control character {printable(char)}")
        raise refuse(f"it holds the invisible formatting character {printable(char)}")
    if not _SCHEME.match(iri):
        raise refuse("it is not absolute (an absolute IRI starts with a scheme, as in https://...)")
    import pyoxigraph as ox  # the engine's own IRI parser is the final word

    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        raise refuse(f"it is not well formed ({printable(str(exc)[:80])})") from None
    return iri


def _unfit(char: str) -> bool:
    """Whether a non-ASCII character cannot stand in an IRI as it is: white space (no-break
    space, line separator), C1 controls, and invisible formatting characters such as the
    bidirectional overrides (RFC 3987 forbids them: an IRI must read as it is)."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def _is_curie(name: str) -> bool:
    """``prefix:local`` with a prefix kg knows and no white space (a label may hold both a
    colon and spaces: 'Note: ...')."""
    prefix, sep, _ = name.partition(":")
    return bool(sep) and prefix in PREFIXES and not any(c.isspace() for c in name)


def _existing(iri: str, text: str, run: RunQuery) -> str:
    """*iri* when the graph mentions it; the one IRI differing only in case; else an error
    with the closest subjects as a hint."""
    if run(_EXISTS, bindings={"_iri": Term.iri(iri)}).rows:
        return iri
    lower = {"_lower": Term.literal(iri.lower())}
    folded = [r[0].value for r in run(_SAME_BUT_CASE, bindings=lower).rows if r[0]]
    if len(folded) == 1:
        return folded[0]
    hint = ""
    if len(iri) <= _HINT_LIMIT:
        subjects = [r[0].value for r in run(_SUBJECTS).rows if r[0]]
        near = difflib.get_close_matches(iri, subjects, n=3)
        hint = f" Did you mean {', '.join(compact(n) for n in near)}?" if near else ""
    raise UsageError(f"{shown(text)} names nothing in the graph.{hint}")


def _labelled(name: str, text: str, run: RunQuery, expects: str | None = None) -> str:
    """The one entity labelled *name* (any case), else the one entity whose label's
    initials *name* is (EAPC); otherwise an error naming the candidates or the closest
    labels. A partial match is only ever suggested: it never stands for the entity."""
    rows = run(_LABEL_OF, bindings={"_lower": Term.literal(name.lower())}).rows
    found = sorted({r[0].value for r in rows if r[0]})
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(compact(iri) for iri in found[:_LIST_LIMIT])
        more = f" and {len(found) - _LIST_LIMIT} more" if len(found) > _LIST_LIMIT else ""
        raise UsageError(
            f"the label {shown(text)} is ambiguous: it names {listed}{more}. Give a CURIE instead."
        )
    labels: list[tuple[str, str]] = []
    if len(name) <= _HINT_LIMIT:
        labels = [(r[0].value, r[1].value) for r in run(_ALL_LABELS).rows if r[0] and r[1]]
        fits = by_acronym(name, labels)
        if len(fits) == 1:
            return next(iter(fits))
        if fits:
            raise UsageError(
                f"no entity is labelled {shown(text)}, and as an acronym it fits several: "
                f"{_listed(sorted(fits.items(), key=lambda f: (f[1].casefold(), f[0])))}. "
                "Give a CURIE or the whole label."
            )
    near = suggest(name, labels)
    hint = f" Did you mean {_listed(near, last=' or ')}?" if near else ""
    if expects and labels:
        # Ruge for a kg:Person: Boris Ruge, not the documents and nodes named after him;
        # and when no entity of the class is near, the entities of the class (AZ for a
        # kg:State: not news.az, but Armenia and Azerbaijan), as the others would be refused.
        typed = {r[0].value for r in run(_OF_CLASS, bindings={"_class": Term.iri(expects)}).rows}
        of_class = [(iri, label) for iri, label in labels if iri in typed]
        fitting = suggest(name, of_class)
        if fitting:
            hint = f" Did you mean {_listed(fitting, last=' or ')}?"
        elif of_class:
            first = {iri: label for iri, label in sorted(of_class, key=lambda p: p[1].casefold())}
            hint = f" The {compact(expects)} entities are {_listed(list(first.items()))}."

    if ":" in name and name.partition(":")[0] in PREFIXES:
        why = "it is not a CURIE either: a CURIE holds no spaces"
    else:
        why = "it is not a CURIE with a known prefix (ex:, kg:, wd:...)"
    raise UsageError(f"no entity is labelled {shown(text)} and {why}.{hint}")


def acronym(label: str) -> str:
    """The initials of *label*'s capitalised words, small words (of, the, for, and...)
    and bracketed asides left out: 'Euro-Atlantic Partnership Council' is EAPC. '' when
    fewer than two words count (a one-word label is its own name, not an acronym)."""
    words = _WORD.findall(re.sub(r"\([^)]*\)", " ", label))
    initials = [w[0] for w in words if w[0].isupper() and w.casefold() not in _SMALL_WORDS]
    return "".join(initials) if len(initials) >= 2 else ""


def by_acronym(name: str, labels: list[tuple[str, str]]) -> dict[str, str]:
    """The entities (IRI -> the label that fits) whose label has *name* as its acronym,
    in any case; {} when *name* is not a run of letters."""
    if not _ACRONYM.fullmatch(name):
        return {}
    key = name.casefold()
    fits: dict[str, str] = {}
    for iri, label in labels:
        if acronym(label).casefold() == key:
            fits.setdefault(iri, label)
    return fits


def suggest(name: str, labels: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most three (IRI, label) pairs that *name* may have meant, any case: first the
    labels that hold *name* as whole words ('Ruge' in 'Boris Ruge'), then those that hold
    it as text, shortest first, then difflib's closest; one label per entity."""
    key = name.casefold()
    words = _WORD.findall(key)
    ranked: list[tuple[int, int, str, str, str]] = []
    for iri, label in labels:
        folded = label.casefold()
        if sum(map(len, words)) >= 2 and _holds_words(_WORD.findall(folded), words):
            ranked.append((0, len(label), folded, iri, label))
        elif len(key) >= 3 and key in folded:
            ranked.append((1, len(label), folded, iri, label))
    ranked.sort()
    chosen: dict[str, str] = {}
    for *_, iri, label in ranked:
        if len(chosen) < _SUGGESTIONS:
            chosen.setdefault(iri, label)
    if len(chosen) < _SUGGESTIONS:
        by_folded: dict[str, tuple[str, str]] = {}
        for iri, label in labels:
            by_folded.setdefault(label.casefold(), (iri, label))
        for folded in difflib.get_close_matches(key, by_folded, n=_SUGGESTIONS):
            iri, label = by_folded[folded]
            if len(chosen) < _SUGGESTIONS:
                chosen.setdefault(iri, label)
    return list(chosen.items())


def _holds_words(words: list[str], run_of: list[str]) -> bool:
    """Whether *run_of* appears in *words* as consecutive whole words."""
    n = len(run_of)
    return any(words[i : i + n] == run_of for i in range(len(words) - n + 1))


def _listed(pairs: list[tuple[str, str]], last: str = ", ") -> str:
    """ "'Label' (ex:x), 'Other' (ex:y)" for (IRI, label) pairs, at most five, each quoted
    briefly (labels and IRIs are data, and data may be long)."""
    shown_pairs = [f"{shown(label)} ({_curie(iri)})" for iri, label in pairs[:_LIST_LIMIT]]
    more = f" and {len(pairs) - _LIST_LIMIT} more" if len(pairs) > _LIST_LIMIT else ""
    if len(shown_pairs) > 1 and not more:
        return ", ".join(shown_pairs[:-1]) + last + shown_pairs[-1]
    return ", ".join(shown_pairs) + more


def _curie(iri: str, limit: int = 60) -> str:
    text = printable(compact(iri))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- what an entity is -------------------------------------------------------------------


@dataclass(frozen=True)
class Kinds:
    """What an entity is: every class it belongs to (its types and the classes above
    them), and its most specific types as (IRI, label or None), for messages."""

    classes: frozenset[str]
    specific: tuple[tuple[str, str | None], ...]

    def describe(self) -> str:
        """'an international organisation (kg:InternationalOrganisation)', or what is
        known when the entity has no type."""
        if not self.specific:
            return "of no class in the graph (it has no rdf:type)"
        parts = []
        for iri, label in self.specific:
            if label:
                article = "an" if label[:1].lower() in "aeiou" else "a"
                parts.append(f"{article} {printable(label[:60])} ({_curie(iri)})")
            else:
                curie = _curie(iri)
                local = curie.rpartition(":")[2] or curie
                parts.append(f"{'an' if local[:1].lower() in 'aeiou' else 'a'} {curie}")
        return " and ".join(parts)


def kinds_of(iri: str, run: RunQuery) -> Kinds:
    """The classes of the entity *iri*: ``rdf:type`` plus ``rdfs:subClassOf*``, asked of
    the view *run* reads (the inferred one, where types are complete)."""
    above: dict[str, set[str]] = {}
    for row in run(_TYPES, bindings={"_iri": Term.iri(iri)}).rows:
        if row[0] and row[1] and row[0].kind == "uri" and row[1].kind == "uri":
            above.setdefault(row[0].value, set()).add(row[1].value)
    classes = frozenset(c for found in above.values() for c in found)
    # most specific: no other type lies strictly below it (a class equivalent to another
    # lies above it and below it, so both stay)
    specific = [
        t for t in above if not any(t in above[u] and u not in above[t] for u in above if u != t)
    ]
    ours = [t for t in specific if t.startswith(KG)] or specific
    chosen = sorted(ours, key=compact)[:2]
    return Kinds(classes, tuple((t, _class_label(t, run)) for t in chosen))


def _class_label(iri: str, run: RunQuery) -> str | None:
    """The class's English (or untagged) label, else any label, else None."""
    labels = [r[0] for r in run(_CLASS_LABEL, bindings={"_class": Term.iri(iri)}).rows if r[0]]
    labels.sort(key=lambda t: (t.lang != "en", bool(t.lang), t.value))
    return labels[0].value if labels else None
