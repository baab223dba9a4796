"""``kg.linkcheck``: kg's facts about linked entities against Wikidata's statements.

The Wikidata side here is a stub holding made-up statements in ``wbgetentities``'s shape:
test data, never Wikidata's word. kg's side is the shipped graph (its links and facts).
"""

from __future__ import annotations

import json

import pytest

from kg.linkcheck import check, wikidata_date


def time(value: str, precision: int) -> dict:
    return {
        "snaktype": "value",
        "datavalue": {
            "type": "time",
            "value": {"time": value, "precision": precision, "timezone": 0, "before": 0,
                      "after": 0, "calendarmodel": "http://www.wikidata.org/entity/Q1985727"},
        },
    }  # fmt: skip


def item(qid: str) -> dict:
    return {
        "snaktype": "value",
        "datavalue": {"type": "wikibase-entityid", "value": {"entity-type": "item", "id": qid}},
    }


def statement(sid: str, value: dict, **qualifiers: dict) -> dict:
    return {
        "id": sid,
        "rank": "normal",
        "mainsnak": value,
        "qualifiers": {p: [q] for p, q in qualifiers.items()},
    }


class Stub:
    """``get_entities`` from a dict; records what was asked."""

    def __init__(self, entities: dict[str, dict]):
        self.entities, self.asked = entities, []

    def get_entities(self, qids):
        self.asked.append(list(qids))
        return {q: self.entities.get(q, {"id": q, "missing": ""}) for q in qids}


def entities(**overrides: dict) -> dict[str, dict]:
    """Every shipped link's target, plain, plus the statements of *overrides*."""
    linked = ("Q227", "Q399", "Q7184", "Q653277", "Q1374456", "Q6025242", "Q918", "Q155654")
    plain = {q: {"id": q, "claims": {}} for q in linked}
    plain.update(overrides)
    return plain


@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        ("+1992-03-00T00:00:00Z", 10, "1992-03"),
        ("+1992-00-00T00:00:00Z", 9, "1992"),
        ("+1997-05-29T00:00:00Z", 11, "1997-05-29"),
        ("+1990-00-00T00:00:00Z", 8, None),  # a decade: coarser than kg's dates
        ("-0044-03-15T00:00:00Z", 11, None),
    ],
)
def test_wikidata_dates_keep_their_precision(value, precision, expected):
    assert wikidata_date(time(value, precision)) == expected


def test_agreement_is_precision_aware_and_sources_are_named(kg):
    """The article says Azerbaijan joined PfP in 1994; a statement at month precision
    (1994-05) agrees with it, as a more precise claim of the same year."""
    stub = Stub(
        entities(
            Q227={
                "id": "Q227",
                "claims": {
                    "P463": [
                        statement(
                            "Q227$pfp", item("Q653277"), P580=time("+1994-05-00T00:00:00Z", 10)
                        )
                    ]
                },
            }
        )
    )
    report = check(kg, stub)
    found = {(f.verdict, f.fact) for f in report.findings if f.entity == "ex:azerbaijan"}
    assert ("agree", "member of ex:pfp (P463 wd:Q653277)") in found
    assert ("agree", "start of member of ex:pfp") in found
    start = next(f for f in report.findings if f.fact == "start of member of ex:pfp")
    assert start.kg == "1994 (ex:caliber-az-2025-azerbaijan-nato)"
    assert start.wikidata == "1994-05 (P580 on wd:Q227 statement Q227$pfp)"
    assert len(stub.asked) == 1, "one batch for every link"
    assert report.exit_code == 0


def test_a_disagreement_is_exit_1(kg):
    """NATO's topic page says the EAPC was established in 1997; a made-up inception of
    1998 disagrees."""
    stub = Stub(entities(Q1374456={"id": "Q1374456", "claims": {
        "P571": [statement("Q1374456$i", time("+1998-00-00T00:00:00Z", 9))]}}))  # fmt: skip
    report = check(kg, stub)
    founded = next(f for f in report.findings if f.fact == "founded (P571 inception)")
    assert founded.verdict == "disagree"
    assert founded.kg == "1997 (ex:ref-nato-topics-49276)"
    assert founded.wikidata.startswith("1998")
    assert report.exit_code == 1
    assert "disagree: ex:eapc founded (P571 inception)" in report.render()


def test_facts_only_one_side_has(kg):
    stub = Stub(entities(Q227={"id": "Q227", "claims": {
        "P463": [statement("Q227$nato", item("Q7184"))]}}))  # fmt: skip
    report = check(kg, stub)
    verdicts = {(f.verdict, f.entity, f.fact) for f in report.findings}
    # kg: Azerbaijan takes part in PfP; the stub has no such statement
    assert ("only kg", "ex:azerbaijan", "member of ex:pfp (P463 wd:Q653277)") in verdicts
    # the stub: a membership of NATO that no kg source states
    assert ("only Wikidata", "ex:azerbaijan", "member of ex:nato (P463 wd:Q7184)") in verdicts
    assert report.exit_code == 0, "one side knowing more is not a disagreement"


def test_redirected_and_deleted_targets_are_broken_links(kg):
    stub = Stub(entities(Q918={"id": "Q900000918", "claims": {}}))
    del stub.entities["Q399"]
    report = check(kg, stub)
    broken = {f.entity: f for f in report.findings if f.verdict == "broken link"}
    assert broken["ex:x"].wikidata == "wd:Q918 now redirects to wd:Q900000918"
    assert broken["ex:armenia"].note == "deleted or missing on Wikidata"
    assert report.exit_code == 1


def test_json_report(kg):
    report = check(kg, Stub(entities()))
    doc = json.loads(report.render("json"))
    assert doc["checked"] == report.checked >= 7
    assert set(doc["counts"]) == {"disagree", "broken link", "only kg", "only Wikidata", "agree"}
    assert all(
        {"verdict", "entity", "fact", "kg", "wikidata", "note"} <= set(f) for f in doc["findings"]
    )
