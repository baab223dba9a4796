"""Shared fixtures: the shipped project, copies of it to break, and a CLI runner.

Tests survive a user's own data. A user adds sources to data/ and then runs the suite
(README, "Adding a new source's facts"), so two projects are in play:

- ``REPO``: the project as it is, user's sources included. Only the data tests
  (tests/test_data.py) read it: they pin what a given source says, which stays true when
  other sources are added.
- ``ROOT``: a copy made once per test process holding only the sources this repository
  ships (``SHIPPED``), with the same ontology, shapes and queries. Every other test (the
  engines, the queries, the CLI, the README's tour) runs on it, so its expected answers
  are those of the shipped data whatever a user adds. tests/test_user_data.py proves it
  by adding a source to a copy of the project and running the suite's tests there.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.graph import KnowledgeGraph
from kg.project import Project

#: The project under test, with whatever sources the user has added (``KG_TEST_REPO``
#: points the suite at another checkout; tests/test_user_data.py uses it).
REPO = Path(os.environ.get("KG_TEST_REPO") or Path(__file__).resolve().parents[1]).resolve()

#: The sources this repository ships: the seed article, its embedded post and the
#: reference pages. A user's own sources are not in this list.
SHIPPED = (
    "caliber-az-2025-azerbaijan-nato",
    "ref-azerbaijan-mfa-nato",
    "ref-nacc-statement-1991",
    "ref-nato-press-release-2008-ipap",
    "ref-nato-ruge-biography",
    "ref-nato-statement-2021-12-04",
    "ref-nato-topics-49111",
    "ref-nato-topics-49276",
    "ref-news-az-azerbaijan-isaf",
    "ref-trend-2024-06-26",
    "wikidata-links",
    "x-jafarhuseynzade-2025-01-31",
)

#: What kg reads is copied; the rest (README, sources of kg, tests...) is linked, since
#: tests read it but kg never does.
_COPIED = ("kg.toml", "ontology", "queries")
_LINKED = ("README.md", "pyproject.toml", "src", "tests", "docs", "bench", ".ci")


def _remove(root: Path, owner: int) -> None:
    """Remove the copy, in the process that made it only: a child forked by a test
    (kg.worker, multiprocessing) inherits this exit handler and must not run it."""
    if os.getpid() == owner:
        shutil.rmtree(root, ignore_errors=True)


def _shipped_copy() -> Path:
    """A copy of REPO holding only the SHIPPED sources, removed when the process ends."""
    root = Path(tempfile.mkdtemp(prefix="kg-shipped-")).resolve()
    atexit.register(_remove, root, os.getpid())
    for name in _COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    (root / "data").mkdir()
    for stem in SHIPPED:
        for name in (f"{stem}.ttl", f"{stem}.sssom.tsv"):  # Turtle, or an SSSOM mapping set
            if (REPO / "data" / name).exists():
                shutil.copy(REPO / "data" / name, root / "data" / name)
    for name in _LINKED:
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    return root


def _root() -> Path:
    """The copy of this process: pytest imports this file as ``conftest`` and tests
    import it as ``tests.conftest``, and both must see the same copy."""
    for name in ("conftest", "tests.conftest"):
        module = sys.modules.get(name)
        if getattr(module, "__file__", None) == __file__ and hasattr(module, "ROOT"):
            return module.ROOT
    return _shipped_copy()


#: The project the tests run on: the shipped sources only (see the module's docstring).
ROOT = _root()


@pytest.fixture(scope="session", autouse=True)
def built_store() -> None:
    """Build the shipped project's store once, first: commands then answer without
    rebuilding (a rebuild prints a notice that would mix into their expected output)."""
    KnowledgeGraph(Project.load(ROOT)).build()


@pytest.fixture(scope="session")
def kg() -> KnowledgeGraph:
    """The shipped graph, loaded and reasoned once for the whole session."""
    return KnowledgeGraph(Project.load(ROOT))


@pytest.fixture(scope="session")
def sources():
    """The project's files parsed by rdflib: what the reference engine reads."""
    from kg.load import load_sources

    return load_sources(Project.load(ROOT))


@pytest.fixture(scope="session")
def reference() -> KnowledgeGraph:
    """The same graph on the reference engine (rdflib + owlrl + pyshacl in memory)."""
    return KnowledgeGraph(Project.load(ROOT), engine="reference")


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throw-away copy of the project (config, ontology, data, queries) to modify."""
    dest = tmp_path / "project"
    dest.mkdir()
    for name in ("kg.toml",):
        shutil.copy(ROOT / name, dest / name)
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


#: ``kg`` as a separate process, for tests that need signals, limits or another user.
KG = [sys.executable, "-m", "kg.cli"]


def run_kg(
    project: Path, *args: str, timeout: float = 120, prefix: tuple[str, ...] = (), **kwargs
) -> subprocess.CompletedProcess:
    """Run ``kg --project PROJECT ARGS`` in a subprocess to completion; *timeout* guards
    against hangs (TimeoutExpired fails the test), it is not a timing assertion; *prefix*
    runs kg under another command (e.g. ``setpriv``)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [*prefix, *KG, "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        **kwargs,
    )


def writable_again(root: Path) -> None:
    """Give the owner back every permission under *root* that a test took away, so that
    pytest can remove it afterwards."""
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o700)


def invoke(runner: CliRunner, *args: str, project: Path = ROOT):
    """Run ``kg --project PROJECT ARGS``; the result keeps stdout and stderr apart."""
    from kg.cli import cli

    return runner.invoke(cli, ["--project", str(project), *args], catch_exceptions=False)


PREFIXES = """
PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
PREFIX ex: <https://w3id.org/kg-diplo/id/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX schema: <http://schema.org/>
"""
