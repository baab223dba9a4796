"""Cross-check linked entities against Wikidata's statements (``kg link check``).

A link says that kg's entity and a Wikidata item are the same thing; then what kg's
sources say about it and what Wikidata says should agree. For every fact kg holds between
linked entities, this module finds the matching Wikidata statement and compares:

===========================  =========================================================
kg                           Wikidata
===========================  =========================================================
Membership / programme       ``P463`` member of, qualifiers ``P580`` start, ``P582`` end
participation (member, body)
``kg:foundingDate``          ``P571`` inception
Succession (predecessor,     ``P1366`` replaced by on the predecessor, ``P1365``
successor, ``kg:date``)      replaces on the successor, qualifier ``P585``/``P580``
Tenure (holder, post)        ``P39`` position held, qualifiers ``P580``, ``P582``
===========================  =========================================================

Dates are compared by precision, as claims of different sources are (:mod:`kg.claims`):
Wikidata's ``+1992-03-00T00:00:00Z`` at month precision is ``1992-03``, which agrees with
a source's ``1992``. Each finding names both sides' sources: kg's source graphs, and the
Wikidata item and statement. Links whose target was redirected (merged) or deleted are
findings too. The report's exit code is 1 when anything disagrees or a link is broken, so
the check can run in CI.

The client is anything with ``get_entities(qids) -> {qid: entity JSON}`` (the
``wbgetentities`` shape); :class:`kg.wikidata.WikidataClient` is the real one, with its
cache and ``--offline``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from kg.claims import agree
from kg.namespaces import compact

WD = "http://www.wikidata.org/entity/"

#: Verdicts, in the order a report lists them.
VERDICTS = ("disagree", "broken link", "only kg", "only Wikidata", "agree")


class EntitySource(Protocol):
    def get_entities(self, qids: list[str]) -> dict[str, dict]: ...


@dataclass(frozen=True)
class Finding:
    """One fact compared: what kg's sources say, what Wikidata says, and the verdict."""

    verdict: str
    entity: str  # kg's entity (CURIE)
    fact: str  # e.g. "member of ex:nato (P463)", "start of member of ex:nato"
    kg: str = ""  # kg's value(s) with their sources
    wikidata: str = ""  # Wikidata's value(s) with the item and statement
    note: str = ""


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0  # linked entities looked at

    @property
    def exit_code(self) -> int:
        return 1 if any(f.verdict in ("disagree", "broken link") for f in self.findings) else 0

    def counts(self) -> dict[str, int]:
        return {v: sum(f.verdict == v for f in self.findings) for v in VERDICTS}

    def render(self, fmt: str = "text") -> str:
        if fmt == "json":
            doc = {
                "checked": self.checked,
                "counts": self.counts(),
                "findings": [asdict(f) for f in self.sorted()],
            }
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        lines = []
        for f in self.sorted():
            lines.append(f"{f.verdict}: {f.entity} {f.fact}")
            if f.kg:
                lines.append(f"   kg:       {f.kg}")
            if f.wikidata:
                lines.append(f"   Wikidata: {f.wikidata}")
            if f.note:
                lines.append(f"   note:     {f.note}")
        counts = ", ".join(f"{n} {v}" for v, n in self.counts().items() if n)
        lines.append(
            f"{self.checked} linked entit{'y' if self.checked == 1 else 'ies'} checked: "
            f"{counts or 'nothing to compare'}."
        )
        return "\n".join(lines) + "\n"

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (VERDICTS.index(f.verdict), f.entity, f.fact))


# -- Wikidata's side ----------------------------------------------------------------------


def wikidata_date(snak: Mapping[str, Any]) -> str | None:
    """A time snak as kg writes dates: ``1992``, ``1992-03`` or ``1992-03-05`` by its
    precision (9 year, 10 month, 11 day); coarser or unknown values give None."""
    if snak.get("snaktype") != "value":
        return None
    value = snak.get("datavalue", {}).get("value", {})
    time, precision = value.get("time"), value.get("precision")
    if not isinstance(time, str) or precision not in (9, 10, 11) or time[:1] not in "+-":
        return None
    year, month, day = time[1:].split("T", 1)[0].split("-")
    if time[0] == "-" or len(year.lstrip("0")) > 4:
        return None  # before the common era or past 9999: not a date kg's sources write
    parts = [year.lstrip("0").rjust(4, "0"), month, day][: precision - 8]
    return "-".join(parts)


def _item(snak: Mapping[str, Any]) -> str | None:
    if snak.get("snaktype") != "value":
        return None
    value = snak.get("datavalue", {}).get("value", {})
    return value.get("id") if isinstance(value, dict) else None


def _statements(entity: Mapping[str, Any], prop: str) -> list[dict]:
    return [s for s in entity.get("claims", {}).get(prop, []) if s.get("rank") != "deprecated"]


def _qualifier_dates(statement: Mapping[str, Any], prop: str) -> list[str]:
    snaks = statement.get("qualifiers", {}).get(prop, [])
    return [d for d in (wikidata_date(s) for s in snaks) if d]


def _said(qid: str, statement: Mapping[str, Any] | None = None) -> str:
    where = f"wd:{qid}"
    return f"{where} statement {statement['id']}" if statement and statement.get("id") else where


# -- kg's side ----------------------------------------------------------------------------

_LINKS = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?entity ?item WHERE { ?entity kg:wikidata ?item } ORDER BY ?entity ?item"""

# Facts between linked entities, one row per source's claim of a date (or none).
_MEMBERSHIPS = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?member ?body ?relation ?source ?start ?end WHERE {
  ?relation kg:member ?member .
  { ?relation kg:organisation ?body } UNION { ?relation kg:programme ?body }
  ?member kg:wikidata ?m . ?body kg:wikidata ?b .
  GRAPH ?source { ?relation ?p ?o }
  OPTIONAL { GRAPH ?source { ?relation kg:startDate ?start } }
  OPTIONAL { GRAPH ?source { ?relation kg:endDate ?end } }
}"""
_FOUNDED = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?entity ?source ?date WHERE {
  ?entity kg:wikidata ?q . GRAPH ?source { ?entity kg:foundingDate ?date }
}"""
_SUCCESSIONS = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?before ?after ?source ?date WHERE {
  ?s kg:predecessor ?before ; kg:successor ?after .
  ?before kg:wikidata ?b . ?after kg:wikidata ?a .
  GRAPH ?source { ?s ?p ?o }
  OPTIONAL { GRAPH ?source { ?s kg:date ?date } }
}"""
_TENURES = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?holder ?post ?source ?start ?end WHERE {
  ?t kg:holder ?holder ; kg:post ?post .
  ?holder kg:wikidata ?h . ?post kg:wikidata ?p .
  GRAPH ?source { ?t ?x ?y }
  OPTIONAL { GRAPH ?source { ?t kg:startDate ?start } }
  OPTIONAL { GRAPH ?source { ?t kg:endDate ?end } }
}"""


def _rows(graph, query: str) -> list[dict[str, str]]:
    """Rows as {var: value} (IRIs in full, literals as their text); unbound left out."""
    result = graph.sparql(query, inferred=False)
    return [
        {v: t.value for v, t in zip(result.vars, row, strict=True) if t is not None}
        for row in result.rows
    ]


def _claims(rows: Iterable[dict[str, str]], key: str) -> dict[str, set[str]]:
    """value -> the sources (CURIEs) that claim it."""
    found: dict[str, set[str]] = {}
    for row in rows:
        if key in row:
            found.setdefault(row[key], set()).add(compact(row["source"]))
    return found


def _show_claims(claims: Mapping[str, set[str]]) -> str:
    return "; ".join(f"{value} ({', '.join(sorted(src))})" for value, src in sorted(claims.items()))


# -- the check ----------------------------------------------------------------------------


def check(graph, client: EntitySource) -> CheckReport:
    """Compare kg's facts about linked entities with Wikidata's statements."""
    links: dict[str, str] = {}
    for row in _rows(graph, _LINKS):
        if row["item"].startswith(WD):
            links[row["entity"]] = row["item"][len(WD) :]
    report = CheckReport(checked=len(links))
    if not links:
        return report
    entities = client.get_entities(sorted(set(links.values())))
    items: dict[str, dict] = {}
    for iri, qid in links.items():
        entity = entities.get(qid) or {}
        if not entity or "missing" in entity:
            report.findings.append(
                Finding(
                    "broken link",
                    compact(iri),
                    f"links to wd:{qid}",
                    note="deleted or missing on Wikidata",
                )
            )
            continue
        if entity.get("id") and entity["id"] != qid:
            report.findings.append(
                Finding(
                    "broken link",
                    compact(iri),
                    f"links to wd:{qid}",
                    wikidata=f"wd:{qid} now redirects to wd:{entity['id']}",
                    note=f"merged: link to wd:{entity['id']} instead",
                )
            )
        items[iri] = entity
    of_item = {qid: iri for iri, qid in links.items()}
    _memberships(graph, items, links, of_item, report)
    _foundings(graph, items, report)
    _successions(graph, items, links, report)
    _tenures(graph, items, links, report)
    return report


def _dated(report, entity, fact, kg_claims, wd_dates, wd_said) -> None:
    """Compare one date: every kg claim against Wikidata's values, by precision."""
    if kg_claims and wd_dates:
        fits = all(any(agree(k, w) for w in wd_dates) for k in kg_claims)
        verdict = "agree" if fits else "disagree"
        report.findings.append(
            Finding(
                verdict,
                entity,
                fact,
                _show_claims(kg_claims),
                f"{', '.join(sorted(wd_dates))} ({wd_said})",
            )
        )
    elif kg_claims:
        report.findings.append(
            Finding(
                "only kg",
                entity,
                fact,
                _show_claims(kg_claims),
                note=f"no such qualifier on {wd_said}",
            )
        )
    elif wd_dates:
        report.findings.append(
            Finding(
                "only Wikidata", entity, fact, wikidata=f"{', '.join(sorted(wd_dates))} ({wd_said})"
            )
        )


def _pairs(rows: Iterable[dict[str, str]], a: str, b: str) -> dict[tuple[str, str], list]:
    """Rows grouped by the pair of entities (*a*, *b*) they are about."""
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault((row[a], row[b]), []).append(row)
    return grouped


def _held(report, items, links, subject, target, rows, prop, fact, dated, note="") -> None:
    """A fact with a start and an end (a membership, a post held) between two linked
    entities, against the *prop* statements of *subject*'s item with *target*'s item as
    value and their P580/P582 qualifiers."""
    sources = f"stated by {', '.join(sorted({compact(r['source']) for r in rows}))}"
    statements = [
        s for s in _statements(items[subject], prop) if _item(s["mainsnak"]) == links[target]
    ]
    who = compact(subject)
    if not statements:
        report.findings.append(Finding("only kg", who, fact, sources, note=note))
        return
    said = _said(links[subject], statements[0])
    report.findings.append(Finding("agree", who, fact, sources, said))
    for label, key, qualifier in (("start", "start", "P580"), ("end", "end", "P582")):
        wd_dates = {d for s in statements for d in _qualifier_dates(s, qualifier)}
        _dated(
            report,
            who,
            f"{label} of {dated}",
            _claims(rows, key),
            wd_dates,
            f"{qualifier} on {said}",
        )


def _memberships(graph, items, links, of_item, report) -> None:
    by_pair = _pairs(_rows(graph, _MEMBERSHIPS), "member", "body")
    for (member, body), rows in sorted(by_pair.items()):
        if member in items and body in items:
            fact = f"member of {compact(body)} (P463 wd:{links[body]})"
            note = f"wd:{links[member]} has no P463 wd:{links[body]}"
            _held(
                report,
                items,
                links,
                member,
                body,
                rows,
                "P463",
                fact,
                fact[: fact.index(" (")],
                note,
            )
    # Wikidata memberships of linked bodies that kg does not state
    for member, entity in sorted(items.items()):
        for statement in _statements(entity, "P463"):
            body = of_item.get(_item(statement["mainsnak"]) or "")
            if body and (member, body) not in by_pair:
                report.findings.append(
                    Finding(
                        "only Wikidata",
                        compact(member),
                        f"member of {compact(body)} (P463 wd:{links[body]})",
                        wikidata=_said(links[member], statement),
                    )
                )


def _foundings(graph, items, report) -> None:
    by_entity: dict[str, list[dict[str, str]]] = {}
    for row in _rows(graph, _FOUNDED):  # one entity, not a pair
        by_entity.setdefault(row["entity"], []).append(row)
    for iri, entity in sorted(items.items()):
        wd = {d for s in _statements(entity, "P571") if (d := wikidata_date(s["mainsnak"]))}
        kg_claims = _claims(by_entity.get(iri, []), "date")
        _dated(
            report,
            compact(iri),
            "founded (P571 inception)",
            kg_claims,
            wd,
            _said(entity.get("id", "")),
        )


def _successions(graph, items, links, report) -> None:
    by_pair = _pairs(_rows(graph, _SUCCESSIONS), "before", "after")
    for (before, after), rows in sorted(by_pair.items()):
        if before not in items or after not in items:
            continue
        fact = f"succeeded by {compact(after)} (P1366/P1365)"
        sources = {compact(r["source"]) for r in rows}
        statements = [
            *[
                (links[before], s)
                for s in _statements(items[before], "P1366")
                if _item(s["mainsnak"]) == links[after]
            ],
            *[
                (links[after], s)
                for s in _statements(items[after], "P1365")
                if _item(s["mainsnak"]) == links[before]
            ],
        ]
        who = compact(before)
        if not statements:
            report.findings.append(
                Finding("only kg", who, fact, f"stated by {', '.join(sorted(sources))}")
            )
            continue
        said = _said(*statements[0])
        report.findings.append(
            Finding("agree", who, fact, f"stated by {', '.join(sorted(sources))}", said)
        )
        wd_dates = {
            d for _, s in statements for p in ("P585", "P580") for d in _qualifier_dates(s, p)
        }
        _dated(
            report,
            who,
            f"date of succession by {compact(after)}",
            _claims(rows, "date"),
            wd_dates,
            said,
        )


def _tenures(graph, items, links, report) -> None:
    for (holder, post), rows in sorted(_pairs(_rows(graph, _TENURES), "holder", "post").items()):
        if holder in items and post in items:
            fact = f"holds {compact(post)} (P39 wd:{links[post]})"
            _held(report, items, links, holder, post, rows, "P39", fact, compact(post))
