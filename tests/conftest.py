"""Shared fixtures: the shipped project, copies of it to break, and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.graph import KnowledgeGraph
from kg.project import Project

ROOT = Path(__file__).resolve().parents[1]


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
