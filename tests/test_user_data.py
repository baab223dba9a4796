"""A user's own source does not break the suite (README, "Adding a new source's facts").

The proof follows the README as a user would: copy the project, add a valid source with
new states, an operation and dates (one of which disagrees with a shipped source), add a
test for it to tests/test_data.py (step 5), and run the suite's tests there: the data
tests (shipped and new), the README's tour, the stored queries on both engines, the CLI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

NEW_SOURCE = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<> a kg:WebPage ;
    rdfs:label "A user's page on Freedonia and Sylvania"@en ;
    kg:title "Freedonia, Sylvania and NATO partnership"@en ;
    kg:author ex:nato ;
    kg:publisher ex:nato ;
    kg:datePublished "2019-05-02"^^xsd:date .

ex:nato a kg:InternationalOrganisation ;
    rdfs:label "NATO"@en .

ex:freedonia a kg:State ;
    rdfs:label "Freedonia"@en .

ex:sylvania a kg:State ;
    rdfs:label "Sylvania"@en .

ex:nacc a kg:Forum ;
    rdfs:label "North Atlantic Cooperation Council"@en .

ex:pfp a kg:Programme ;
    rdfs:label "Partnership for Peace"@en ;
    kg:programmeOf ex:nato .

ex:membership-freedonia-nacc a kg:Membership ;
    rdfs:label "Freedonia's membership of the North Atlantic Cooperation Council"@en ;
    kg:member ex:freedonia ;
    kg:organisation ex:nacc ;
    kg:startDate "1992-06"^^xsd:gYearMonth .

ex:participation-freedonia-pfp a kg:ProgrammeParticipation ;
    rdfs:label "Freedonia's participation in the Partnership for Peace"@en ;
    kg:member ex:freedonia ;
    kg:programme ex:pfp ;
    kg:startDate "1994-03-23"^^xsd:date .

ex:operation-duck-soup a kg:PeacekeepingOperation ;
    rdfs:label "Operation Duck Soup"@en ;
    kg:ledBy ex:nato .

ex:support-freedonia-duck-soup a kg:Support ;
    rdfs:label "Freedonia's support of Operation Duck Soup"@en ;
    kg:supporter ex:freedonia ;
    kg:supported ex:operation-duck-soup ;
    kg:startDate "2003"^^xsd:gYear ;
    kg:endDate "2011-07"^^xsd:gYearMonth .

ex:sylvania-freedonia-talks a kg:PeaceProcess ;
    rdfs:label "Sylvania-Freedonia talks"@en ;
    kg:party ex:sylvania , ex:freedonia .

# This source dates Azerbaijan's IPAP to 2006: a third claim, disagreeing with both.
ex:azerbaijan a kg:State ;
    rdfs:label "Azerbaijan"@en .

ex:ipap a kg:Programme ;
    rdfs:label "Individual Partnership Action Plan"@en ;
    kg:programmeOf ex:nato .

ex:azerbaijan-ipap a kg:PartnershipPlan ;
    rdfs:label "Azerbaijan's Individual Partnership Action Plan"@en ;
    kg:instrument ex:ipap ;
    kg:agreedBy ex:azerbaijan , ex:nato ;
    kg:startDate "2006"^^xsd:gYear .
"""

NEW_TEST = '''

def test_user_source_freedonia(kg):
    """What the user's page says (added as README step 5 asks)."""
    ask = PREFIXES + """ASK { GRAPH ex:user-freedonia-page {
        ex:participation-freedonia-pfp kg:member ex:freedonia ;
            kg:startDate "1994-03-23"^^xsd:date .
        ex:azerbaijan-ipap kg:startDate "2006"^^xsd:gYear } }"""
    assert kg.sparql(ask, inferred=False).boolean
'''

#: What the copy runs: every data test, the README's tour and its other checks, the
#: stored queries (rows, on both engines, the claims) and the CLI.
SUITE = (
    "tests/test_data.py",
    "tests/test_readme.py",
    "tests/test_queries.py",
    "tests/test_engines.py",
    "tests/test_claims.py",
    "tests/test_cli.py",
)


def _copy_project(dest: Path) -> None:
    for name in ("kg.toml", "README.md", "pyproject.toml"):
        shutil.copy(REPO / name, dest / name)
    for name in ("ontology", "data", "queries", "docs"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copytree(
        REPO / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__", ".kg")
    )
    (dest / "src").symlink_to(REPO / "src")


def test_a_users_new_source_leaves_the_suite_passing(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    _copy_project(project)
    (project / "data" / "user-freedonia-page.ttl").write_text(NEW_SOURCE, encoding="utf-8")
    with (project / "tests" / "test_data.py").open("a", encoding="utf-8") as handle:
        handle.write(NEW_TEST)
    env = {**os.environ, "KG_TEST_REPO": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_XDIST_WORKER", None)

    # Step 4: the source validates, and the analyst sees it (and the disagreement).
    kg = [sys.executable, "-m", "kg.cli", "--project", str(project)]
    checked = subprocess.run([*kg, "validate"], capture_output=True, text=True, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2006 in data/user-freedonia-page.ttl" in checked.stdout
    timeline = subprocess.run(
        [*kg, "query", "timeline", "-p", "state=Freedonia", "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert timeline.returncode == 0, timeline.stderr
    assert [line.split(",")[:2] for line in timeline.stdout.splitlines()[1:]] == [
        ["1992-06", "joined"],
        ["1994-03-23", "joined programme"],
        ["1997", "body succeeded"],  # the NACC, by the EAPC (the shipped sources)
        ["2003", "began supporting"],
        ["2011-07", "stopped supporting"],
    ]

    # Step 5: the suite, with the user's data test added.
    run = subprocess.run(
        # one process: this test already holds a worker of the outer run
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *SUITE],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary
    assert "test_user_source_freedonia" not in run.stdout  # passed, so not reported


def test_only_the_data_tests_read_the_users_project():
    """Every other test runs on the shipped-only copy (conftest.ROOT): a test that read
    REPO would see a user's sources and could break on them."""
    allowed = {"conftest.py", "test_data.py", "test_user_data.py"}
    readers = [
        path.name
        for path in (REPO / "tests").glob("*.py")
        if path.name not in allowed and re.search(r"\bREPO\b", path.read_text(encoding="utf-8"))
    ]
    assert readers == []
