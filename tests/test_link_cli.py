"""``kg link``: propose, review, accept, reject, export, the cache and --offline, and the
messages, on copies of the project aimed at the fake Wikidata (tests/wikidata_fake.py)
and holding the fictional test source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.sssom import read_mapping_set
from tests import wikidata_fake
from tests.conftest import ROOT, invoke

fake_server = wikidata_fake.fake_server
fake_wikidata = wikidata_fake.fake_wikidata

FICTIONAL = (
    "ex:fenwick-league",
    "ex:sylvania",
    "ex:graustark",
    "ex:osterlich-council",
    "ex:marsovian-union",
    "ex:rudolf-rassendyll",
)
LINKS = Path("data/wikidata-links.sssom.tsv")
QUEUE = Path("links/queue.sssom.tsv")


@pytest.fixture
def project(project_copy, fake_wikidata) -> Path:
    wikidata_fake.point_project_at(project_copy, fake_wikidata)
    return project_copy


def _copy(tmp_path_factory, fake) -> Path:
    root = tmp_path_factory.mktemp("link") / "project"
    root.mkdir()
    shutil.copy(ROOT / "kg.toml", root / "kg.toml")
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    wikidata_fake.point_project_at(root, fake)
    return root


@pytest.fixture(scope="module")
def untouched(tmp_path_factory, fake_server) -> Path:
    """A project shared by the tests that must change nothing in it."""
    return _copy(tmp_path_factory, fake_server)


@pytest.fixture(scope="module")
def queued(tmp_path_factory, fake_server) -> Path:
    """A project whose queue holds the two councils of Osterlich (a near tie)."""
    root = _copy(tmp_path_factory, fake_server)
    result = invoke(CliRunner(), "link", "wikidata", "ex:osterlich-council", project=root)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """Back-off waits are not waited in these tests (test_wikidata_client shows them)."""
    from kg.wikidata import WikidataClient

    original = WikidataClient.for_project.__func__

    def for_project(cls, project, *, offline=False, **kwargs):
        kwargs.setdefault("sleep", lambda seconds: None)
        return original(cls, project, offline=offline, **kwargs)

    monkeypatch.setattr(WikidataClient, "for_project", classmethod(for_project))


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p): (root / p).read_bytes() if (root / p).exists() else None for p in (LINKS, QUEUE)
    }


def _rows(path: Path) -> dict[tuple[str, str], object]:
    ms = read_mapping_set(path)
    return {(m.subject_id, m.object_id): m for m in ms.mappings}


def test_a_run_accepts_the_clear_matches_and_queues_the_rest(runner, project, fake_wikidata):
    result = invoke(runner, "link", "wikidata", *FICTIONAL, project=project)
    assert result.exit_code == 0, result.output
    assert "accepted 3, to review 3, not cached 0" in result.stdout
    assert "accepted: ex:sylvania -> wd:Q900000002 'Sylvania' (1.00;" in result.stdout
    assert "[4/6] Council of Osterlich (ex:osterlich-council): to review, 2 candidate(s)" in (
        result.stderr
    )
    links = _rows(project / LINKS)
    league = links["ex:fenwick-league", "wd:Q900000001"]
    assert league.mapping_justification == "semapv:CompositeMatching"
    assert league.confidence == 1.0 and league.match_string == "League of Fenwick"
    assert (league.mapping_tool, league.mapping_tool_version) == ("kg", "0.1.0")
    assert "wikidata_revision=2000000001" in league.other
    assert "identifier: official website (P856)" in league.comment
    graustark = links["ex:graustark", "wd:Q900000008"]
    assert "redirected_from=wd:Q900000007" in graustark.other
    queue = _rows(project / QUEUE)
    assert set(queue) == {
        ("ex:osterlich-council", "wd:Q900000004"),
        ("ex:osterlich-council", "wd:Q900000005"),
        ("ex:marsovian-union", "wd:Q900000006"),
        ("ex:rudolf-rassendyll", "wd:Q900000009"),
    }
    assert all(m.mapping_justification == "semapv:LexicalMatching" for m in queue.values())
    # polite: one at a time, every request with the User-Agent
    assert fake_wikidata.max_in_flight == 1
    assert {r["user_agent"] for r in fake_wikidata.requests} == {"kg/0.1.0 (kg-tests@example.org)"}
    # the links are loaded: the graph now knows them
    asked = invoke(
        runner,
        "sparql",
        "SELECT ?q WHERE { ex:sylvania kg:wikidata ?q }",
        "--format",
        "csv",
        project=project,
    )
    assert "http://www.wikidata.org/entity/Q900000002" in asked.stdout


def test_review_accept_and_reject(runner, project):
    invoke(runner, "link", "wikidata", *FICTIONAL, project=project)
    review = invoke(runner, "link", "review", project=project)
    assert review.exit_code == 0
    assert "ex:marsovian-union Marsovian Union" in review.stdout
    assert "date foundingDate: P571 1962 differs from kg's 1948" in review.stdout
    assert "(not accepted: best score 1.00 is not 0.1 ahead of the runner-up (1.00))" in (
        review.stdout
    )

    accepted = invoke(
        runner,
        "link",
        "accept",
        "Council of Osterlich",
        "Q900000005",
        "--reviewer",
        "orcid:0000-0002-1825-0097",
        project=project,
    )
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout == (
        "linked ex:osterlich-council to wd:Q900000005 (Council of Osterlich).\n"
    )
    rejected = invoke(
        runner, "link", "reject", "ex:marsovian-union", "wd:Q900000006", project=project
    )
    assert rejected.exit_code == 0, rejected.output
    assert "will not be proposed again" in rejected.stdout

    links = _rows(project / LINKS)
    council = links["ex:osterlich-council", "wd:Q900000005"]
    assert council.mapping_justification == "semapv:ManualMappingCuration"
    assert council.reviewer_id == "orcid:0000-0002-1825-0097"
    assert not council.negated
    union = links["ex:marsovian-union", "wd:Q900000006"]
    assert union.negated and union.mapping_justification == "semapv:ManualMappingCuration"
    assert set(_rows(project / QUEUE)) == {("ex:rudolf-rassendyll", "wd:Q900000009")}

    # a rejected candidate is never proposed again
    again = invoke(runner, "link", "wikidata", "ex:marsovian-union", project=project)
    assert again.exit_code == 0
    assert "accepted 0, to review 0, not cached 0" in again.stdout
    assert "no candidate found" in again.stderr
    # and an entity linked already is said so
    linked = invoke(runner, "link", "wikidata", "ex:osterlich-council", project=project)
    assert "ex:osterlich-council is linked already (wd:Q900000005)." in linked.stderr


def test_a_rejected_match_leaves_the_namesake(runner, project):
    invoke(runner, "link", "wikidata", "ex:sylvania", project=project)  # no league link: review
    invoke(runner, "link", "reject", "Sylvania", "Q900000002", project=project)
    invoke(runner, "link", "wikidata", "ex:sylvania", project=project)
    assert set(_rows(project / QUEUE)) == {("ex:sylvania", "wd:Q900000003")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("accept", "ex:sylvania", "Q1"),
            "Error: 'ex:sylvania' has no candidate in the review queue (links/queue.sssom.tsv)",
        ),
        (
            ("accept", "ex:osterlich-council", "Q1"),
            "Error: wd:Q1 is not a queued candidate for 'ex:osterlich-council'; its candidates "
            "are wd:Q900000004 (Council of Osterlich), wd:Q900000005 (Council of Osterlich).",
        ),
        (("reject", "ex:osterlich-council", "Sylvania"), "is not a Wikidata item identifier"),
        (
            ("accept", "ex:osterlich-council", "Q900000004", "--reviewer", "Jane"),
            "--reviewer 'Jane' must be a CURIE",
        ),
    ],
)
def test_settling_mistakes_are_one_paragraph(runner, queued, args, message):
    project = queued
    before = _snapshot(project)
    result = invoke(runner, "link", *args, project=project)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) or message in result.stderr
    assert "Traceback" not in result.output
    assert _snapshot(project) == before


def test_a_second_run_offline_gives_the_same_answer_without_a_request(
    runner, project, fake_wikidata
):
    before = _snapshot(project)
    online = invoke(runner, "link", "wikidata", *FICTIONAL, project=project)
    after = _snapshot(project)
    assert fake_wikidata.requests
    for name, content in before.items():  # as before the first run
        path = project / name
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content)
    fake_wikidata.reset()
    offline = invoke(runner, "link", "wikidata", *FICTIONAL, "--offline", project=project)
    assert offline.exit_code == 0, offline.output
    assert offline.stdout == online.stdout
    assert fake_wikidata.requests == []
    assert _snapshot(project) == after


def test_an_uncached_offline_run_says_what_is_missing_and_changes_nothing(
    runner, untouched, fake_wikidata
):
    project = untouched
    before = _snapshot(project)
    result = invoke(
        runner, "link", "wikidata", "ex:sylvania", "Graustark", "--offline", project=project
    )
    assert result.exit_code == 2
    assert "accepted 0, to review 0, not cached 2" in result.stdout
    error = result.stderr.splitlines()[-1]
    assert error.startswith("Error: not cached: ")
    assert "wbsearchentities 'Sylvania' (en)" in error
    assert "list=search 'Sylvania'" in error  # every search of an entity is tried
    assert "wbsearchentities 'Graustark' (en)" in error  # every miss of the run at once
    assert "Run again without --offline" in error
    assert fake_wikidata.requests == []
    assert _snapshot(project) == before


def test_online_without_a_contact_is_refused(runner, project_copy, fake_wikidata):
    wikidata_fake.point_project_at(project_copy, fake_wikidata, contact="")
    result = invoke(runner, "link", "wikidata", "ex:sylvania", project=project_copy)
    assert result.exit_code == 2
    assert "set contact under [wikidata] in kg.toml" in result.stderr
    assert fake_wikidata.requests == []


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("500", "did not answer wbsearchentities 'Sylvania' (en) after 4 attempts: HTTP 500"),
        ("malformed", "to wbsearchentities 'Sylvania' (en) is not JSON"),
    ],
)
def test_a_failing_wikidata_is_exit_2_and_one_paragraph(
    runner, untouched, fake_wikidata, failure, message
):
    project = untouched
    fake_wikidata.fail(failure, times=4)
    result = invoke(runner, "link", "wikidata", "ex:sylvania", project=project)
    assert result.exit_code == 2
    assert message in result.stderr and fake_wikidata.api in result.stderr
    assert "Traceback" not in result.output
    assert not (project / QUEUE).exists()


def test_export_formats(runner, project, tmp_path):
    invoke(runner, "link", "wikidata", *FICTIONAL, project=project)
    sssom = invoke(runner, "link", "export", project=project)
    assert sssom.exit_code == 0
    assert sssom.stdout.startswith("#curie_map:")
    assert "ex:sylvania\tSylvania\tskos:exactMatch" in sssom.stdout
    table = invoke(runner, "link", "export", "--format", "tsv", project=project)
    assert table.stdout.startswith("subject_id\t")
    out = tmp_path / "links.json"
    written = invoke(runner, "link", "export", "--format", "json", "-o", str(out), project=project)
    assert written.exit_code == 0 and f"wrote {out}" in written.stderr
    document = json.loads(out.read_text())
    assert {"ex", "wd"} <= set(document["curie_map"])
    assert any(m["object_id"] == "wd:Q900000002" for m in document["mappings"])
    refused = invoke(runner, "link", "export", "-o", str(project / "kg.toml"), project=project)
    assert refused.exit_code == 2 and "project's configuration" in refused.stderr


def test_link_help_shows_the_workflow(runner):
    from kg.cli import cli

    result = runner.invoke(cli, ["link", "--help"])
    assert result.exit_code == 0
    for command in ("wikidata", "review", "accept", "reject", "export"):
        assert f"kg link {command}" in result.stdout
