"""kg build: a compiled store that answers, knows when it is stale, and is never left
broken by a failed, invalid, killed or concurrent build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg.build import current_store, read_manifest
from kg.errors import ValidationFailed
from kg.graph import KnowledgeGraph
from kg.project import Project
from tests.conftest import invoke

BAD = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "Bad"@en ; kg:title "Bad"@en ; kg:author ex:nato ;
   kg:publisher ex:nato ; kg:datePublished "2025-02-02"^^xsd:date .
ex:m a kg:Membership ; rdfs:label "Odd"@en ; kg:member ex:nato ;
   kg:organisation ex:nato ; kg:startDate "2001"^^xsd:gYear .
"""
STATES = "SELECT ?s WHERE { ?s a kg:State } ORDER BY ?s"


def _states(project: Path) -> list[str]:
    return [
        r["s"] for r in KnowledgeGraph(Project.load(project)).sparql(STATES, prefixes=True).dicts()
    ]


def _add_state(project: Path, name: str) -> None:
    (project / "data" / f"src-{name}.ttl").write_text(
        BAD.split("ex:m a")[0] + f'ex:{name} a kg:State ; rdfs:label "{name}"@en .\n',
        encoding="utf-8",
    )


def test_build_then_query(runner, project_copy):
    result = invoke(runner, "build", project=project_copy)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("built .kg/store-")
    assert "triples asserted" in result.output and "0 violations" in result.output
    store = current_store(Project.load(project_copy))
    manifest = read_manifest(store)
    assert "data/caliber-az-2025-azerbaijan-nato.ttl" in manifest["inputs"]
    assert manifest["report"]["inferred"] > 500
    assert json.loads((store / "report.json").read_text())["conforms"] is True
    again = invoke(runner, "build", project=project_copy)
    assert again.output.startswith("up to date: ")
    assert {"ex:armenia", "ex:azerbaijan"} <= set(_states(project_copy))


def test_an_edit_with_its_mtime_set_back_is_seen(project_copy):
    """Bytes changed, size kept, mtime restored (``touch -r``, ``cp -p``, a restored
    backup): ctime still moved, so the change is found and the store rebuilt."""
    project = Project.load(project_copy)
    KnowledgeGraph(project).build()
    path = project_copy / "data" / "ref-nato-topics-49276.ttl"
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert '"1997"^^xsd:gYear' in text
    path.write_text(text.replace('"1997"^^xsd:gYear', '"1998"^^xsd:gYear'), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert not KnowledgeGraph(project).build().skipped


def test_staleness(project_copy):
    project = Project.load(project_copy)
    KnowledgeGraph(project).build()
    first = current_store(project)
    # touched but unchanged: the hash says fresh, nothing is rebuilt
    path = project_copy / "data" / "ref-trend-2024-06-26.ttl"
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert KnowledgeGraph(project).build().skipped
    assert current_store(project) == first
    # a new source: the next query rebuilds by itself
    _add_state(project_copy, "ruritania")
    assert "ex:ruritania" in _states(project_copy)
    assert current_store(project) != first
    # an edited source
    text = path.read_text(encoding="utf-8").replace('"Trend News Agency"@en', '"Trend"@en')
    path.write_text(text, encoding="utf-8")
    with KnowledgeGraph(project) as graph:  # a graph holds its store until closed
        assert graph.resolve("Trend") == "https://w3id.org/kg-diplo/id/trend"
    # a removed source
    (project_copy / "data" / "src-ruritania.ttl").unlink()
    assert "ex:ruritania" not in _states(project_copy)
    assert len(list((project_copy / ".kg").glob("store-*"))) == 1, "old stores are removed"


def test_invalid_data_keeps_the_last_good_store(runner, project_copy):
    project = Project.load(project_copy)
    KnowledgeGraph(project).build()
    good = current_store(project)
    (project_copy / "data" / "bad.ttl").write_text(BAD, encoding="utf-8")
    result = invoke(runner, "build", project=project_copy)
    assert result.exit_code == 1
    assert "the store was not replaced" in result.stderr
    assert current_store(project) == good
    assert not list((project_copy / ".kg").glob("tmp-*"))
    # queries still answer, from the last good build, and say so
    query = invoke(runner, "query", "posts", project=project_copy)
    assert query.exit_code == 0 and "(2 rows)" in query.stdout
    assert "Answering from the last good build" in query.stderr
    # unless the user accepts invalid data
    kept = invoke(runner, "build", "--allow-invalid", project=project_copy)
    assert kept.exit_code == 0 and "kept despite 1 violation" in kept.stderr
    assert current_store(project) != good


def test_invalid_data_without_any_store_fails(project_copy):
    (project_copy / "data" / "bad.ttl").write_text(BAD, encoding="utf-8")
    with pytest.raises(ValidationFailed):
        KnowledgeGraph(Project.load(project_copy)).run("posts")


def test_parse_error_keeps_the_last_good_store(runner, project_copy):
    project = Project.load(project_copy)
    KnowledgeGraph(project).build()
    good = current_store(project)
    (project_copy / "data" / "broken.ttl").write_text("ex:a ex:b", encoding="utf-8")
    result = invoke(runner, "build", project=project_copy)
    assert result.exit_code == 2
    assert "data/broken.ttl:1: Turtle syntax error" in result.stderr
    assert current_store(project) == good


def _kg(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "--project", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def big_project(project_copy) -> Path:
    """The project plus a generated source large enough for a build to take a while."""
    from kg.generate import generate

    with (project_copy / "data" / "synthetic.ttl").open("w", encoding="utf-8") as out:
        generate(out, triples=100_000, seed=3)
    return project_copy


def test_killed_build_leaves_the_last_good_store(big_project):
    project = Project.load(big_project)
    KnowledgeGraph(project).build()
    good = current_store(project)
    before = _states(big_project)
    proc = _kg(big_project, "build", "--force")
    deadline = time.time() + 60
    # the new store is being written (parse, validate and reason are done in memory)
    while not list((big_project / ".kg").glob("tmp-*/store")) and time.time() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the build should still be writing its store"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert current_store(project) == good
    assert _states(big_project) == before
    KnowledgeGraph(project).build(force=True)  # cleans the killed build's folder
    assert not list((big_project / ".kg").glob("tmp-*"))


def test_concurrent_builds(big_project):
    procs = [_kg(big_project, "build", "--force") for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    project = Project.load(big_project)
    assert len(list((big_project / ".kg").glob("store-*"))) == 1
    assert "ex:azerbaijan" in _states(big_project)
    assert read_manifest(current_store(project))["report"]["violations"] == 0


def test_query_does_not_import_the_reference_stack(project_copy):
    """kg query on a built store loads neither rdflib, owlrl nor pyshacl (start-up time)."""
    KnowledgeGraph(Project.load(project_copy)).build()
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from kg.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['--project', {str(project_copy)!r}, 'query', 'meetings',"
        " '-p', 'state=Azerbaijan'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'rdflib', 'owlrl', 'pyshacl'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_query_says_when_it_rebuilt(runner, project_copy):
    first = invoke(runner, "query", "posts", project=project_copy)
    assert first.exit_code == 0
    assert first.stderr.startswith("kg: built .kg/store-")
    again = invoke(runner, "query", "posts", project=project_copy)
    assert again.stderr == ""
