"""Scoring candidates: the wrong-typed namesake loses, near ties and name-only matches go
to review, dates count within their precision, identifiers come first, redirects are
followed, rejected items are never proposed again. On a copy of the project holding the
fictional test source (tests/fixtures/wikidata/fictional.ttl), against the fake
Wikidata of tests/wikidata_fake.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.graph import KnowledgeGraph
from kg.project import Project
from kg.reconcile import _same_date, describe_entities, reconcile
from kg.wikidata import WikidataClient
from tests import wikidata_fake
from tests.conftest import ROOT

fake_server = wikidata_fake.fake_server
fake_wikidata = wikidata_fake.fake_wikidata
EX = "https://w3id.org/kg-diplo/id/"


@pytest.fixture(scope="module")
def project(tmp_path_factory, fake_server) -> Path:
    root = tmp_path_factory.mktemp("reconcile") / "project"
    root.mkdir()
    shutil.copy(ROOT / "kg.toml", root / "kg.toml")
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    wikidata_fake.point_project_at(root, fake_server)
    return root


@pytest.fixture(scope="module")
def entities(project) -> dict[str, object]:
    graph = KnowledgeGraph(Project.load(project))
    return {e.iri[len(EX) :]: e for e in describe_entities(graph) if e.iri.startswith(EX)}


@pytest.fixture
def client(fake_wikidata, tmp_path) -> WikidataClient:
    return WikidataClient(
        fake_wikidata.api,
        fake_wikidata.sparql,
        "kg/test (kg-tests@example.org)",
        tmp_path / "cache",
        False,
        sleep=lambda s: None,
    )


LEAGUE = {EX + "fenwick-league": ["Q900000001"]}


def test_what_kg_knows_of_an_entity(entities):
    league = entities["fenwick-league"]
    assert league.labels == ["League of Fenwick"]
    assert league.urls == ["https://league-of-fenwick.example/"]
    assert league.dates == {"https://w3id.org/kg-diplo/ontology#foundingDate": ["1955"]}
    assert ("P463", EX + "fenwick-league", "1960") in entities["sylvania"].related
    assert entities["marsovian-union"].labels == ["Marsovian Union", "MU"]
    assert entities["azerbaijan"].wikidata == ["Q227"]


def test_the_identifier_is_looked_up_first_and_decides(entities, client, fake_wikidata):
    decision = reconcile(entities["fenwick-league"], client)
    assert decision.accepted and decision.accepted.qid == "Q900000001"
    best = decision.accepted
    assert best.score == 1.0
    assert best.found_by[0] == "official website (P856)"
    assert "agrees" in best.features["identifier"]
    assert best.features["date foundingDate"] == "P571 1955 agrees with 1955"
    first = fake_wikidata.requests[0]["params"]
    assert first["srsearch"] == 'haswbstatement:"P856=https://league-of-fenwick.example/"'
    searched = {
        (r["params"].get("action"), r["params"].get("list")) for r in fake_wikidata.requests
    }
    assert ("wbsearchentities", None) in searched and ("query", "search") in searched


def test_the_wrong_typed_namesake_loses(entities, client):
    decision = reconcile(entities["sylvania"], client, known=LEAGUE)
    state, river = decision.candidates
    assert (state.qid, river.qid) == ("Q900000002", "Q900000003")
    assert decision.accepted is state and state.score == 1.0
    assert river.features["type"].startswith("differs")
    assert river.score == 0.25  # name 0.5, halved by the wrong type
    assert "P580 1960 agrees with kg's 1960" in state.features["member of (P463) Q900000001"]


def test_name_and_type_alone_go_to_review(entities, client):
    decision = reconcile(entities["sylvania"], client)  # the league's link unknown
    assert decision.accepted is None
    assert decision.candidates[0].score == 0.8
    assert "below 0.95" in decision.why
    lenient = reconcile(entities["sylvania"], client, min_score=0.5)
    assert lenient.accepted is None
    assert lenient.why == "matched on name and type only (never accepted alone)"


def test_a_near_tie_goes_to_review(entities, client):
    decision = reconcile(entities["osterlich-council"], client)
    first, second = decision.candidates
    assert first.score == second.score == 1.0
    assert decision.accepted is None
    assert "not 0.1 ahead of the runner-up" in decision.why


def test_a_name_only_match_is_never_accepted(entities, client):
    decision = reconcile(entities["rudolf-rassendyll"], client, min_score=0.0, margin=0.0)
    (only,) = decision.candidates
    assert only.score == 0.5 and only.evidence == set()
    assert only.features["type"] == "unknown (no P31)"
    assert decision.accepted is None


def test_a_name_match_with_the_wrong_date_scores_low(entities, client):
    decision = reconcile(entities["marsovian-union"], client)
    (only,) = decision.candidates
    assert only.features["date foundingDate"] == "P571 1962 differs from kg's 1948"
    assert only.score < 0.5 and decision.accepted is None


def test_a_redirected_item_is_followed(entities, client):
    decision = reconcile(entities["graustark"], client, known=LEAGUE)
    assert decision.accepted.qid == "Q900000008"
    assert decision.accepted.redirected_from == "Q900000007"
    assert [c.qid for c in decision.candidates] == ["Q900000008"]


def test_rejected_items_are_never_proposed(entities, client):
    decision = reconcile(entities["sylvania"], client, known=LEAGUE, rejected={"Q900000002"})
    assert [c.qid for c in decision.candidates] == ["Q900000003"]
    assert decision.accepted is None


def test_an_empty_search_finds_nothing(entities, client, fake_wikidata):
    fake_wikidata.fail("empty", times=10)
    decision = reconcile(entities["sylvania"], client)
    assert decision.candidates == [] and decision.why == "no candidate found"


def test_types_through_the_class_hierarchy_are_asked_once(entities, client, fake_wikidata):
    reconcile(entities["osterlich-council"], client)
    (query,) = [r for r in fake_wikidata.requests if r["path"] == "/sparql"]
    assert "wdt:P31/wdt:P279*" in query["params"]["query"]
    # a direct P31 to an expected class needs no query
    fake_wikidata.reset()
    reconcile(entities["graustark"], client)
    assert not [r for r in fake_wikidata.requests if r["path"] == "/sparql"]


def _time(text: str, precision: int) -> dict:
    return {"time": text, "precision": precision}


@pytest.mark.parametrize(
    ("kg", "time", "precision", "same"),
    [
        ("1955", "+1955-00-00T00:00:00Z", 9, True),
        ("1955", "+1955-06-12T00:00:00Z", 11, True),  # a kg year matches a day of that year
        ("1955-06", "+1955-00-00T00:00:00Z", 9, True),  # within Wikidata's precision
        ("1955-06", "+1955-07-00T00:00:00Z", 10, False),
        ("1957", "+1950-00-00T00:00:00Z", 8, True),  # a decade
        ("1961", "+1950-00-00T00:00:00Z", 8, False),
        ("1992-03-01", "+1992-04-01T00:00:00Z", 11, False),
        ("1948", "+1962-00-00T00:00:00Z", 9, False),
    ],
)
def test_dates_agree_within_their_precision(kg, time, precision, same):
    assert _same_date(kg, _time(time, precision)) is same
