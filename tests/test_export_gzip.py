"""``kg export --gzip`` for bulk loaders: the same quads, compressed; ``--as-pushed``
holds the graphs ``kg push`` uploads, so a bulk-loaded store answers as a pushed one."""

from __future__ import annotations

import gzip

import pytest
from click.testing import CliRunner

from kg.export import gzipped
from tests.conftest import invoke


def _plain(*args: str) -> str:
    result = invoke(CliRunner(), "export", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_gzip_to_a_file_holds_the_same_quads(tmp_path):
    out = tmp_path / "kg.nq.gz"
    result = invoke(
        CliRunner(), "export", "--format", "nquads", "--inferred", "--gzip", "-o", str(out)
    )
    assert result.exit_code == 0, result.stderr
    assert gzip.decompress(out.read_bytes()).decode() == _plain("--format", "nquads", "--inferred")
    assert not [p for p in tmp_path.iterdir() if p != out]  # no temporary left behind


def test_a_gz_name_implies_gzip_and_the_format_comes_from_the_name_before(tmp_path):
    out = tmp_path / "kg.nq.gz"
    assert invoke(CliRunner(), "export", "-o", str(out)).exit_code == 0
    assert gzip.decompress(out.read_bytes()).decode() == _plain("--format", "nquads")


def test_gzip_to_standard_output():
    runner = CliRunner()
    result = invoke(runner, "export", "--format", "turtle", "--gzip")
    assert result.exit_code == 0, result.stderr
    assert gzip.decompress(result.stdout_bytes).decode() == _plain("--format", "turtle")


def test_as_pushed_holds_the_union_and_inferred_graphs():
    quads = _plain("--format", "nquads", "--as-pushed")
    graphs = {line.rsplit(" ", 2)[-2] for line in quads.splitlines()}
    assert {
        "<https://w3id.org/kg-diplo/graph/asserted>",
        "<https://w3id.org/kg-diplo/graph/inferred>",
        "<https://w3id.org/kg-diplo/graph/ontology>",
        "<https://w3id.org/kg-diplo/id/wikidata-links>",
    } <= graphs


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "nt"])
def test_as_pushed_needs_a_quad_format(fmt):
    result = invoke(CliRunner(), "export", "--format", fmt, "--as-pushed")
    assert result.exit_code == 2
    assert "use --format nquads or trig" in result.stderr


def test_gzipped_is_deterministic_and_streams_chunks():
    text = "x" * (3 << 20)
    once, twice = b"".join(gzipped(text)), b"".join(gzipped(iter([text[:10], text[10:]])))
    assert once == twice and gzip.decompress(once).decode() == text
