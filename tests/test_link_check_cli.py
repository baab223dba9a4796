"""``kg link check`` through the CLI, against the fake Wikidata on 127.0.0.1
(tests/wikidata_fake.py). The statements given to the shipped links' items here are test
data, made up for the check: never Wikidata's word."""

from __future__ import annotations

import json

import pytest

from tests import wikidata_fake
from tests.conftest import invoke
from tests.test_linkcheck import entities, statement, time

fake_server = wikidata_fake.fake_server
fake_wikidata = wikidata_fake.fake_wikidata


@pytest.fixture
def project(project_copy, fake_wikidata):
    wikidata_fake.point_project_at(project_copy, fake_wikidata)
    # the shipped links' items, plain, and a made-up inception for the EAPC's
    items = entities(
        Q1374456={
            "id": "Q1374456",
            "claims": {"P571": [statement("Q1374456$i", time("+1998-00-00T00:00:00Z", 9))]},
        }
    )
    saved = dict(fake_wikidata.items)
    fake_wikidata.items.update(items)
    yield project_copy
    fake_wikidata.items.clear()
    fake_wikidata.items.update(saved)


def test_a_disagreement_is_exit_1_then_offline_gives_the_same_without_a_request(
    runner, project, fake_wikidata
):
    first = invoke(runner, "link", "check", project=project)
    assert first.exit_code == 1, first.output
    assert "disagree: ex:eapc founded (P571 inception)" in first.stdout
    assert "1997 (ex:ref-nato-topics-49276)" in first.stdout
    asked = len(fake_wikidata.requests)
    assert asked == 1, "one batch of wbgetentities for every link"
    again = invoke(runner, "link", "check", "--offline", project=project)
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)
    assert len(fake_wikidata.requests) == asked, "offline: from the cache, nothing sent"


def test_offline_without_the_cache_says_what_is_missing(runner, project, fake_wikidata):
    result = invoke(runner, "link", "check", "--offline", project=project)
    assert result.exit_code == 2
    assert "Error: not cached: wbgetentities " in result.stderr
    assert "Q227" in result.stderr and fake_wikidata.requests == []
    assert not (project / ".kg" / "cache" / "wikidata").exists() or not any(
        (project / ".kg" / "cache" / "wikidata").iterdir()
    )


def test_json_report_counts(runner, project):
    result = invoke(runner, "link", "check", "--format", "json", project=project)
    doc = json.loads(result.stdout)
    assert doc["counts"]["disagree"] == 1
    assert doc["checked"] >= 8
