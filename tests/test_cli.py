"""The kg command line: exit codes, formats and messages, as a user meets them."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ROOT, invoke


def _no_traceback(result):
    assert "Traceback" not in result.output and "Traceback" not in result.stderr


def test_help_teaches(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for command in ("validate", "queries", "query", "sparql", "export", "stats", "context"):
        assert command in result.output
    assert "Exit codes" in result.output
    assert "Example:" in invoke(runner, "query", "--help").output


def test_validate_shipped_data(runner):
    result = invoke(runner, "validate")
    assert result.exit_code == 0
    assert "Conforms" in result.output


def test_validate_violation_exits_1_with_readable_report(runner, project_copy):
    (project_copy / "data" / "bad.ttl").write_text(
        """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "Bad"@en ; kg:title "Bad"@en ; kg:author ex:nato ;
   kg:publisher ex:nato ; kg:datePublished "2025-02-02"^^xsd:date .
ex:m a kg:Membership ; rdfs:label "Odd membership"@en ; kg:member ex:nato ;
   kg:organisation ex:nato ; kg:startDate "2001"^^xsd:gYear .
""",
        encoding="utf-8",
    )
    result = invoke(runner, "validate", project=project_copy)
    assert result.exit_code == 1
    assert 'ex:m ("Odd membership")' in result.output
    assert "in:      data/bad.ttl:7" in result.output
    assert "makes ex:nato a member of itself" in result.output
    _no_traceback(result)
    as_json = invoke(runner, "validate", "--format", "json", project=project_copy)
    assert as_json.exit_code == 1
    # the member (line 7) and the organisation (line 8) that are the same
    assert json.loads(as_json.output)["results"][0]["files"] == ["data/bad.ttl:7", "data/bad.ttl:8"]


def test_validate_given_paths_checks_them_in_the_project(runner, project_copy, tmp_path):
    post = project_copy / "data" / "x-jafarhuseynzade-2025-01-31.ttl"
    # The post relies on what the article states (the head of mission's post is typed
    # there; who runs PfP is stated there): in the project, it conforms.
    result = invoke(runner, "validate", str(post), project=project_copy)
    assert result.exit_code == 0, result.output
    # Given as a file outside data/ (a draft), it replaces the source of the same name
    # and a problem it brings is reported at its own line.
    draft = tmp_path / post.name
    draft.write_text(
        post.read_text(encoding="utf-8").replace(
            "kg:participant ex:boris-ruge", "kg:participant ex:nato"
        ),
        encoding="utf-8",
    )
    result = invoke(runner, "validate", "--format", "json", str(draft), project=project_copy)
    assert result.exit_code == 1
    problems = [p for p in json.loads(result.output)["results"] if p["severity"] == "Violation"]
    assert {(p["focus"], p["component"]) for p in problems} >= {
        ("ex:meeting-huseynzada-ruge-2025-ruge", "ClassConstraintComponent")
    }
    assert all(any(str(draft) in f or draft.name in f for f in p["files"]) for p in problems)


def test_malformed_turtle_exits_2_naming_file_and_line(runner, project_copy):
    path = project_copy / "data" / "caliber-az-2025-azerbaijan-nato.ttl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[20] = lines[20] + " ;;; oops"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command in (["validate"], ["query", "posts"], ["export"], ["stats"]):
        result = invoke(runner, *command, project=project_copy)
        assert result.exit_code == 2, command
        assert "data/caliber-az-2025-azerbaijan-nato.ttl:21: Turtle syntax error" in result.stderr
        _no_traceback(result)


def test_queries_lists_summaries_and_parameters(runner):
    result = invoke(runner, "queries")
    assert result.exit_code == 0
    assert "memberships     Memberships and partnerships of a state" in result.output
    assert (
        "-p state=…  IRI, CURIE or label of a kg:State, required, default ex:azerbaijan"
        in result.output
    )
    assert (
        "-p from=…  xsd:date, or a year or month (its first day), optional, default 1900-01-01"
        in result.output
    )


def test_query_table_by_default(runner):
    result = invoke(runner, "query", "posts")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].split() == [
        "person",
        "post",
        "body",
        "for",
        "start",
        "end",
        "attested",
    ]
    assert "(2 rows)" in result.output


def test_query_formats(runner):
    args = ("query", "counterpart", "-p", "person=Jafar Huseynzada")
    as_json = json.loads(invoke(runner, *args, "--format", "json").output)
    binding = as_json["results"]["bindings"][0]
    assert binding["counterpart"] == {"type": "literal", "value": "Boris Ruge", "xml:lang": "en"}
    rows = list(csv.reader(io.StringIO(invoke(runner, *args, "--format", "csv").output)))
    assert rows[0] == ["meeting", "when", "counterpart", "post", "represents"]
    assert rows[1][0] == "https://w3id.org/kg-diplo/id/meeting-huseynzada-ruge-2025"
    tsv = invoke(runner, *args, "--format", "tsv").output.splitlines()
    assert tsv[0] == "?meeting\t?when\t?counterpart\t?post\t?represents"
    assert tsv[1].startswith("<https://w3id.org/kg-diplo/id/meeting-huseynzada-ruge-2025>\t")
    assert '"Boris Ruge"@en' in tsv[1]
    root = ET.fromstring(invoke(runner, *args, "--format", "xml").output)
    ns = {"s": "http://www.w3.org/2005/sparql-results#"}
    assert len(root.findall("s:results/s:result", ns)) == 1


def test_query_asserted_view(runner):
    """The asserted view has no inferred kg:memberOf: a query on it finds nothing."""
    q = "SELECT ?o WHERE { ex:azerbaijan kg:memberOf ?o }"
    assert "(0 rows)" in invoke(runner, "sparql", q, "--asserted").output
    assert "ex:nacc" in invoke(runner, "sparql", q).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("query", "nope"), "no stored query named 'nope'. Stored queries: as-of, counterpart"),
        (("query", "posts", "-p", "x=1"), "has no parameter 'x'; its parameters are: none"),
        (("query", "memberships", "-p", "state"), "is not NAME=VALUE"),
        (("query", "memberships", "-p", "state=Atlantis"), "no entity is labelled 'Atlantis'"),
        (("query", "as-of", "-p", "date=31.01.2025"), "must be an xsd:date"),
        (("query", "posts", "--format", "pdf"), "'pdf' is not one of"),
        (("export", "--format", "rdfxml"), "'rdfxml' is not one of"),
        (("sparql", "DELETE WHERE { ?s ?p ?o }"), "kg runs read-only queries only"),
        (("sparql", "INSERT DATA { ex:a ex:b ex:c }"), "kg runs read-only queries only"),
        (("sparql", "SELECT ?s WHERE { ?s ?p }"), "SPARQL syntax error at line 1"),
        (("sparql",), "give the query as an argument or with -f FILE"),
    ],
)
def test_bad_input_exits_2_with_a_message(runner, args, message):
    result = invoke(runner, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr or message in result.output
    _no_traceback(result)


def test_injection_attempt_is_not_spliced(runner):
    result = invoke(
        runner, "query", "memberships", "-p", "state=ex:azerbaijan> } UNION { ?relation ?p ?o } #"
    )
    assert result.exit_code == 2
    assert "names nothing in the graph" in result.stderr or "no entity" in result.stderr


def test_sparql_from_file_and_stdin(runner, tmp_path):
    path = tmp_path / "q.rq"
    path.write_text("SELECT ?s WHERE { ?s a kg:State } ORDER BY ?s")
    result = invoke(runner, "sparql", "-f", str(path), "--format", "csv")
    states = result.output.splitlines()[1:]
    assert states == sorted(states)  # ORDER BY held
    assert {
        "https://w3id.org/kg-diplo/id/armenia",
        "https://w3id.org/kg-diplo/id/azerbaijan",
    } <= set(states)
    from kg.cli import cli

    piped = runner.invoke(
        cli, ["--project", str(ROOT), "sparql", "-f", "-"], input="ASK { ex:nato a kg:Agent }"
    )
    assert piped.output == "yes\n"


def test_sparql_construct(runner):
    result = invoke(runner, "sparql", "CONSTRUCT { ?s a kg:State } WHERE { ?s a kg:State }")
    assert result.exit_code == 0
    assert "<https://w3id.org/kg-diplo/id/armenia> " in result.output


def test_export_to_file_is_atomic(runner, project_copy, tmp_path):
    out = tmp_path / "kg.jsonld"
    result = invoke(runner, "export", "-o", str(out), project=project_copy)
    assert result.exit_code == 0
    assert json.loads(out.read_text())["@graph"], "format guessed from the extension"
    before = out.read_text()
    (project_copy / "data" / "broken.ttl").write_text("this is not turtle", encoding="utf-8")
    failed = invoke(runner, "export", "-o", str(out), project=project_copy)
    assert failed.exit_code == 2
    assert out.read_text() == before, "a failed export leaves the old file intact"
    assert [p.name for p in tmp_path.iterdir()] == ["kg.jsonld", "project"], "no temp files"


def test_stats(runner):
    result = invoke(runner, "stats")
    assert result.exit_code == 0
    assert "triples asserted:" in result.output and "triples inferred:" in result.output
    assert "kg:State" in result.output
    assert "ex:caliber-az-2025-azerbaijan-nato  data/caliber-az-2025-azerbaijan-nato.ttl" in (
        result.output
    )


def test_no_project_found(runner, tmp_path, monkeypatch):
    from kg.cli import cli

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["queries"])
    assert result.exit_code == 2
    assert "no kg.toml in" in result.stderr


def test_project_found_from_a_subfolder(runner, monkeypatch):
    from kg.cli import cli

    monkeypatch.chdir(ROOT / "queries")
    assert runner.invoke(cli, ["queries"]).exit_code == 0


def test_internal_error_is_one_paragraph(runner, monkeypatch):
    from kg.cli import cli
    from kg.graph import KnowledgeGraph

    def boom(self, *a, **k):
        raise RuntimeError("simulated")

    monkeypatch.setattr(KnowledgeGraph, "stats", boom)
    monkeypatch.delenv("KG_DEBUG", raising=False)
    result = runner.invoke(cli, ["--project", str(ROOT), "stats"])
    assert result.exit_code == 3
    assert "Internal error: RuntimeError: simulated" in result.stderr
    _no_traceback(result)
