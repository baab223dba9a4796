"""Smaller points of the analyst's loop (issue 7) that are fixed: a near-miss query name
gets a suggestion, a folder with nothing to validate is not "Conforms", and one broken
stored query does not hide the others."""

from __future__ import annotations

from tests.conftest import invoke


def test_a_near_miss_query_name_gets_a_suggestion(runner):
    result = invoke(runner, "query", "membership")
    assert result.exit_code == 2
    assert "Did you mean memberships?" in result.stderr


def test_validating_an_empty_folder_is_not_conforms(runner, tmp_path):
    result = invoke(runner, "validate", str(tmp_path))
    assert result.exit_code == 2
    assert "no Turtle files" in result.stderr and "Conforms" not in result.output


def test_one_broken_stored_query_does_not_hide_the_others(runner, project_copy):
    (project_copy / "queries" / "broken.rq").write_text(
        "#+ summary: [unclosed\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8"
    )
    result = invoke(runner, "queries", project=project_copy)
    assert result.exit_code == 2
    assert "memberships" in result.stdout and "timeline" in result.stdout
    assert "broken.rq" in result.stderr and "not valid YAML" in result.stderr
    ok = invoke(runner, "query", "posts", "--format", "csv", project=project_copy)
    assert ok.exit_code == 0, ok.output
