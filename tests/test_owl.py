"""The ontology is OWL 2 DL that a Protégé-class tool accepts: HermiT (the reasoner
Protégé ships) loads it, finds it consistent and every class satisfiable.

Needs Java; skipped where there is none (CI machines have it)."""

from __future__ import annotations

import shutil

import pytest
from rdflib import Graph

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")


def test_hermit_finds_the_ontology_consistent_and_satisfiable(tmp_path):
    owlready2 = pytest.importorskip("owlready2")
    path = tmp_path / "kg.nt"
    Graph().parse(ROOT / "ontology" / "kg.ttl").serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    onto = world.get_ontology(path.as_uri()).load()
    with onto:  # raises OwlReadyInconsistentOntologyError when inconsistent
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    assert list(world.inconsistent_classes()) == []
    assert len(list(onto.classes())) >= 30
