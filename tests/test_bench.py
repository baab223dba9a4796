"""bench/run.py's pure helpers: sizes, goal verdicts, the summary table, the date edit.

The benchmark itself takes minutes and measures time, so no test runs it; these pin what it
prints and how it reads its arguments.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _load(name: str):
    """A module of bench/ (not a package), imported from the project under test."""
    bench = str(ROOT / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


goals = _load("goals")


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("10k", 10_000),
        ("100K", 100_000),
        ("1M", 1_000_000),
        (" 10m ", 10_000_000),
        ("2.5k", 2_500),
        ("1_000", 1_000),
        ("42", 42),
    ],
)
def test_sizes_read_as_people_write_them(text, n):
    assert goals.size_of(text) == n


@pytest.mark.parametrize("text", ["", "k", "ten", "-1k", "0"])
def test_a_size_that_is_not_one_is_refused_with_a_message(text):
    with pytest.raises(ValueError, match="is not a size"):
        goals.size_of(text)


def test_size_lists_keep_their_order_and_labels():
    assert goals.parse_sizes("1M, 10k,,100k") == [
        ("1M", 1_000_000),
        ("10k", 10_000),
        ("100k", 100_000),
    ]
    assert [goals.label_of(n) for n in (10_000_000, 100_000, 1_500)] == ["10M", "100k", "1500"]
    with pytest.raises(ValueError, match="no size given"):
        goals.parse_sizes(" , ")


def test_every_goal_of_the_issue_is_listed_before_any_is_measured():
    found = goals.goals()
    assert list(found) == [
        "shacl-core",
        "shacl-sparql",
        "build-1000000",
        "peak-1000000",
        "build-10000000",
        "peak-10000000",
        "incremental",
        "reference",
        "queries",
        "seed-query",
    ]
    assert {g.verdict for g in found.values()} == {"not run"}
    assert found["build-1000000"].name == "1M kg build <= 2.0x Oxigraph CLI load"
    assert found["peak-10000000"].name == "10M kg build peak < 8192 MiB"


def test_a_verdict_is_printed_when_judged_and_an_error_is_not_hidden_by_a_skip(capsys):
    found = goals.goals()
    found["build-1000000"].judge(False, "44.24 s kg build", "12.74 s oxigraph load", "3.47")
    found["seed-query"].judge(True, "0.143 s")
    found["queries"].error(RuntimeError("kg query exited with 3:\nInternal error: boom\n"))
    found["queries"].skip("size not in --sizes")
    found["reference"].skip("size not in --sizes")
    out = capsys.readouterr().out
    assert "GOAL 1M kg build <= 2.0x Oxigraph CLI load: 44.24 s kg build; baseline " in out
    assert out.splitlines()[0].endswith("ratio 3.47: MISS")
    assert out.splitlines()[1].endswith(": PASS")
    assert found["queries"].verdict == "ERROR (Internal error: boom)"
    assert found["reference"].verdict == "not run (size not in --sizes)"


def test_the_summary_table_has_one_aligned_row_per_goal():
    found = goals.goals()
    found["shacl-core"].judge(True, "98 pass, 0 fail, 0 declined", "98 tests", "98/98")
    lines = goals.table(found.values()).splitlines()
    assert [c.strip() for c in lines[0].split("|")] == [
        "goal",
        "figure",
        "baseline",
        "ratio",
        "verdict",
    ]
    assert len(lines) == 2 + len(found)
    bars = {tuple(i for i, ch in enumerate(line) if ch == "|") for line in lines[2:]}
    assert len(bars) == 1  # the columns line up
    core = next(line for line in lines if line.startswith("W3C SHACL core"))
    assert [c.strip() for c in core.split("|")][1:] == [
        "98 pass, 0 fail, 0 declined",
        "98 tests",
        "98/98",
        "PASS",
    ]


def test_the_date_edit_is_a_real_change_and_keeps_the_rest(tmp_path):
    source = tmp_path / "edit-me.ttl"
    text = (
        'ex:a kg:startDate "1997"^^xsd:gYear .\n'
        'ex:m kg:startDate "2014-06-26"^^xsd:date .\n'
        'ex:n kg:startDate "2015-01-02"^^xsd:date .\n'
    )
    source.write_text(text)
    days = goals.edit_days(source, 3)
    assert days == [1, 2, 3]
    assert goals.edit_date(source, days[0]) == "2014-06-26 -> 2014-06-01"
    assert goals.edit_date(source, days[1]) == "2014-06-01 -> 2014-06-02"
    assert source.read_text() == text.replace("2014-06-26", "2014-06-02")
    with pytest.raises(ValueError, match="already has day 2"):
        goals.edit_date(source, 2)
    (tmp_path / "none.ttl").write_text('ex:a kg:startDate "1997"^^xsd:gYear .\n')
    with pytest.raises(ValueError, match="no xsd:date"):
        goals.edit_date(tmp_path / "none.ttl", 1)


def test_run_reads_its_arguments_and_refuses_a_bad_size(capsys):
    run = _load("run")
    args = run.arguments(["--sizes", "10k,10M", "--shacl-suite", "/nowhere"])
    assert args.sizes == [("10k", 10_000), ("10M", 10_000_000)]
    assert args.shacl_suite == Path("/nowhere") and args.incremental_at == "1M"
    with pytest.raises(SystemExit) as exc:
        run.arguments(["--sizes", "ten"])
    assert exc.value.code == 2
    assert "'ten' is not a size" in capsys.readouterr().err


def test_the_disk_floor_writes_the_source_in_its_graph_and_the_closure_beside_it(tmp_path):
    """bench/floor.py writes what a kg store holds: the source's triples in its named graph
    (``<>`` resolved against it), the closure's in the default graph."""
    import pyoxigraph as ox

    floor = _load("floor")
    source, closure = tmp_path / "s.ttl", tmp_path / "c.nt"
    source.write_text("<> <urn:p> <urn:o> .\n<urn:s> <urn:p> 1 .\n", encoding="utf-8")
    closure.write_text("<urn:s> <urn:q> <urn:o> .\n", encoding="utf-8")
    graph = "https://example.org/g"
    assert floor.write_store(str(source), graph, str(closure), str(tmp_path / "store")) == 3
    store = ox.Store.read_only(str(tmp_path / "store"))
    named = {str(q) for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
    assert f"<{graph}> <urn:p> <urn:o> <{graph}>" in named and len(named) == 2
    assert [
        str(q.object) for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    ] == ["<urn:o>"]
