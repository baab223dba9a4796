"""``kg export`` of N-Quads and N-Triples streams from the compiled store in pieces, so a
bulk loader's file of any size is written in bounded memory; the pieces join into what
a whole export gives."""

from __future__ import annotations

import gzip

import pytest
from click.testing import CliRunner

from kg.graph import KnowledgeGraph
from kg.project import Project
from tests.conftest import ROOT, invoke


@pytest.mark.parametrize("fmt", ["nquads", "nt"])
def test_small_batches_join_into_the_whole_export(fmt):
    with KnowledgeGraph(Project.load(ROOT)) as graph:
        graph.export(fmt)  # builds when needed
        graphs = graph.export_graphs(inferred=True, ontology=True)
        pieces = list(graph.store.dump_lines(fmt, graphs, batch=100))
        assert len(pieces) > 10
        assert all(p.endswith("\n") for p in pieces)  # cut between lines only
        assert "".join(pieces) == graph.store.dump(fmt, graphs)


def test_the_cli_writes_the_stream_compressed(tmp_path):
    runner = CliRunner()
    whole = invoke(runner, "export", "--format", "nquads", "--inferred", "--ontology")
    out = tmp_path / "kg.nq.gz"
    done = invoke(
        runner, "export", "--format", "nquads", "--inferred", "--ontology", "-o", str(out)
    )
    assert whole.exit_code == done.exit_code == 0, done.stderr
    assert gzip.decompress(out.read_bytes()).decode("utf-8") == whole.stdout
