"""The compiled store gives the reference engine's answers: every stored query, every
view, and the validation report are the same on Oxigraph and on rdflib + owlrl +
pyshacl. (The reasoner and the SHACL compiler have differential tests of their own.)"""

from __future__ import annotations

import pytest

from kg.queries import load_queries
from tests.conftest import ROOT

# The federated ones call a remote endpoint: tests/test_federated.py runs them on both
# engines against one on 127.0.0.1.
QUERIES = sorted(n for n, q in load_queries(ROOT / "queries").items() if "SERVICE" not in q.text)


def _parts(value: str) -> str:
    """A GROUP_CONCAT cell with its parts sorted ("; " between claims, else spaces)."""
    sep = "; " if "; " in value else " "
    return sep.join(sorted(value.split(sep)))


def _canonical(result):
    """Rows as a sorted list; GROUP_CONCAT parts sorted (SPARQL leaves their order open)."""
    rows = []
    for row in result.dicts():
        rows.append(
            tuple(
                sorted(
                    (k, _parts(v) if k in ("sources", "attested") else v) for k, v in row.items()
                )
            )
        )
    return sorted(rows)


@pytest.mark.parametrize("inferred", [True, False], ids=["inferred", "asserted"])
@pytest.mark.parametrize("name", QUERIES)
def test_stored_query_same_on_both_engines(kg, reference, name, inferred):
    fast = kg.run(name, inferred=inferred)
    ref = reference.run(name, inferred=inferred)
    if name == "meetings":  # topics are joined with " | "
        fast_rows = [{**r, "topics": sorted(r["topics"].split(" | "))} for r in fast.dicts()]
        ref_rows = [{**r, "topics": sorted(r["topics"].split(" | "))} for r in ref.dicts()]
        assert fast_rows == ref_rows
    else:
        assert _canonical(fast) == _canonical(ref)
    assert fast.vars == ref.vars


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?s ?o WHERE { ?s kg:memberOf ?o } ORDER BY ?s ?o",
        "SELECT ?s WHERE { ?s a kg:State } ORDER BY ?s",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s a prov:Agent }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        "ASK { ex:eapc kg:succeeds ex:nacc }",
        "CONSTRUCT { ?s kg:holdsPost ?p } WHERE { ?s kg:holdsPost ?p }",
    ],
)
def test_ad_hoc_queries_same_on_both_engines(kg, reference, query):
    fast = kg.sparql(query, prefixes=True)
    ref = reference.sparql(query, prefixes=True)
    if fast.triples is not None:
        assert sorted(fast.triples) == sorted(ref.triples)
    else:
        assert (fast.boolean, fast.dicts()) == (ref.boolean, ref.dicts())


def test_counts_same_on_both_engines(kg, reference):
    """A triple stated by two sources counts once, as in an RDF merge, on both engines."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for inferred in (False, True):
        assert (
            kg.sparql(query, inferred=inferred).rows
            == reference.sparql(query, inferred=inferred).rows
        )


def test_validation_same_on_both_engines(project_copy):
    from kg.graph import KnowledgeGraph
    from kg.project import Project
    from tests.test_validation import DEFECTS, HEADER

    (project_copy / "data" / "test-source.ttl").write_text(
        HEADER + "\n".join(d[1] for d in DEFECTS[1:]), encoding="utf-8"
    )
    project = Project.load(project_copy)
    fast = KnowledgeGraph(project).validate()
    ref = KnowledgeGraph(project, engine="reference").validate()
    assert len(fast.violations) >= len(DEFECTS) - 1
    assert fast.violations == ref.violations
