"""kg's benchmark: every goal of issue 10 measured in one run, each with a verdict.

One run measures, in fresh processes, against baselines measured in the same run:

- the W3C SHACL test suite on kg's fast SHACL path (``--shacl-suite``; skipped, with a line
  saying so, when the suite is not there);
- at each size (generated with ``kg generate``; ``--cache-dir`` keeps the files): kg build,
  split into parse / validate / reason / index, with peak memory; the reference path (rdflib
  parse, owlrl OWL RL closure, pyshacl validation, each skipped with "did not finish in N s"
  past a bound; not at 10M, which it cannot finish); the Oxigraph CLI loading the same file,
  with the CPU seconds of both; at 1M and 10M the disk floor (``bench/floor.py``: the bulk
  loader alone writing the source and the built closure from ready files);
  each stored query's median latency on the built store, through kg and directly on
  pyoxigraph (same query text, same bound terms, same graphs; at 10M only with
  ``--queries-at-10m``);
- at 1M (``--incremental-at``): a 1k-triple source added beside the generated one, then one
  date in it edited three times, each time timing ``kg query`` as a whole process (it rebuilds,
  then answers);
- ``kg query`` as a whole process on the seed graph.

Each goal's line starts with ``GOAL``; the run ends with the table "goal | figure | baseline |
ratio | verdict" (PASS, MISS, ERROR, or not run and why). A stage that fails prints its error
and the run goes on. Everything printed also goes to bench/results-YYYY-MM-DD.txt (``--out``).
Exit code 1 when a goal measured is MISS, UNKNOWN or ERROR, else 0. Usage (from the project root):

    pip install -e '.[bench]' && python bench/run.py              # 10k, 100k, 1M
    python bench/run.py --sizes 10k,100k,1M,10M --cache-dir ~/.cache/kg-bench
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from goals import (  # bench/ is not a package
    BUILD_GOALS,
    EX,
    QUERIES_AT,
    QUERY_RATIO,
    REFERENCE_AT,
    REFERENCE_TIMES,
    SEED_QUERY_SECONDS,
    Goal,
    Tee,
    conformance,
    first_line,
    generated,
    goals,
    incremental,
    kg_command,
    parse_sizes,
    reference,
    run,
    table,
)

ROOT = Path(__file__).resolve().parents[1]
BIG = 10_000_000  # from here on: no reference stack, per-query latencies only when asked

# Parameters that exist in every generated graph (kg generate's naming).
GENERATED_PARAMS = {
    "memberships": {"state": "ex:state-1"},
    "timeline": {"state": "ex:state-1", "organisation": "ex:org-1"},
    "meetings": {"state": "ex:state-1"},
    "counterpart": {"person": None},  # filled from the graph
    "sources-of": {"entity": "ex:state-1"},
    "as-of": {"date": "2020-06-30"},
}


def make_project(folder: Path, triples: int, seed: int, cache: Path | None = None) -> Path:
    """A copy of the project's ontology, shapes and queries with one generated source."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "kg.toml", folder)
    for sub in ("ontology", "queries"):
        shutil.copytree(ROOT / sub, folder / sub)
    (folder / "data").mkdir()
    print(f"data: {generated(folder / 'data' / 'synthetic.ttl', triples, seed, cache)}")
    return folder


def median_latencies(first, second, repeat: int) -> tuple[float, float]:
    """Median seconds of two functions, run alternately so that both see the same caches."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((first, times[0]), (second, times[1])):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def query_latencies(project: Path, repeat: int) -> list[tuple[str, float, float]]:
    """(query, kg median s, pyoxigraph median s) on the built store of *project*. A query
    calling a SERVICE is left out (it would time the network); one that fails is named."""

    from kg.graph import KnowledgeGraph
    from kg.project import Project
    from kg.queries import bind
    from kg.sparql_text import bind_values

    graph = KnowledgeGraph(Project.load(project))
    store = graph.store.raw
    default, named = graph.store.views(inferred=True)
    person = (
        graph.sparql("SELECT ?p WHERE { ?x kg:participant ?p } ORDER BY ?p LIMIT 1", prefixes=True)
        .rows[0][0]
        .value
    )
    rows = []
    for name, query in sorted(graph.stored_queries().items()):
        if re.search(r"\bSERVICE\b", query.text, re.IGNORECASE):
            print(f"{name:16} skipped: it calls a SERVICE (the network)")
            continue
        params = {k: v or person for k, v in GENERATED_PARAMS.get(name, {}).items()}

        def direct(query=query, params=params):
            bindings = bind(query, params, graph.resolve)
            text = bind_values(query.text, {k: v.n3() for k, v in bindings.items()})  # as kg
            return lambda: list(store.query(text, default_graph=default, named_graphs=named))

        def through_kg(name=name, params=params):
            graph.run(name, params)

        try:
            on_pyoxigraph = direct()
            on_pyoxigraph()  # warm the caches once for both
            rows.append((name, *median_latencies(through_kg, on_pyoxigraph, repeat)))
        except Exception as exc:  # one query's failure must not hide the others
            print(f"{name:16} failed: {first_line(exc)}")
    return rows


def attempt(what: str, stage: Callable, marks: Iterable[Goal] = ()):
    """Run *stage*; when it fails, print why, mark *marks* as errors and return None, so
    that the other stages still run."""
    try:
        return stage()
    except Exception as exc:  # a benchmark reports every failure and goes on
        print(f"! {what} failed: {str(exc).strip() or type(exc).__name__}")
        for goal in marks:
            goal.error(exc)
        return None


def kg_build(project: Path) -> tuple[float, float, dict, float]:
    """(wall s, peak MiB, report, CPU s) of ``kg build --force`` of *project* in a fresh
    process."""
    from kg.build import current_store, read_manifest
    from kg.project import Project

    ran = run([sys.executable, "-m", "kg.cli", "--project", str(project), "build", "--force"])
    assert ran is not None
    report = read_manifest(current_store(Project.load(project)))["report"]
    print(
        f"kg build          {ran.seconds:8.2f} s  peak {ran.peak_mib:7.0f} MiB   "
        + "  ".join(f"{k} {v:.2f}" for k, v in report["seconds"].items())
        + f"  (cpu {ran.cpu:.1f} s)"
    )
    print(
        f"                  {report['asserted']:,} asserted, {report['inferred']:,} "
        f"inferred, {report['violations']} violations; engines {report['engines']}"
    )
    return ran.seconds, ran.peak_mib, report, ran.cpu


def oxigraph_load(cli: str, project: Path, where: Path) -> tuple[float, float, float]:
    """(wall s, peak MiB, CPU s) of the Oxigraph CLI loading the generated file into a new
    store."""
    graph = EX + "synthetic"
    file = project / "data" / "synthetic.ttl"
    try:
        where_to = ["--location", str(where), "--graph", graph, "--base", graph]
        res = run([cli, "load", "--file", str(file), *where_to])
        assert res is not None
        return res.seconds, res.peak_mib, res.cpu
    finally:
        shutil.rmtree(where, ignore_errors=True)


def disk_floor(project: Path, where: Path) -> tuple[float, float, float]:
    """(wall s, peak MiB, CPU s) of bench/floor.py writing what the built store of *project*
    holds (the source in its graph, the closure in the default graph) from ready files."""
    import pyoxigraph as ox

    from kg.build import current_store
    from kg.project import Project

    closure = where.with_suffix(".nt")
    built = ox.Store.read_only(str(current_store(Project.load(project)) / "store"))
    built.dump(str(closure), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    del built
    graph, file = EX + "synthetic", project / "data" / "synthetic.ttl"
    try:
        script = Path(__file__).resolve().parent / "floor.py"
        res = run([sys.executable, str(script), str(file), graph, str(closure), str(where)])
        assert res is not None
        return res.seconds, res.peak_mib, res.cpu
    finally:
        shutil.rmtree(where, ignore_errors=True)
        closure.unlink(missing_ok=True)


def bench_size(label: str, n: int, tmp: Path, args, found: dict[str, Goal], cli: str | None):
    """Every measurement at one size, then its project is removed (10M fills a disk)."""
    print(f"\n## {label} triples")
    here = [found[f"{k}-{n}"] for k in ("build", "peak") if n in BUILD_GOALS]
    here += [found["reference"]] if n == REFERENCE_AT else []
    here += [found["queries"]] if n == QUERIES_AT else []
    here += [found["incremental"]] if label.lower() == args.incremental_at.lower() else []
    project = attempt(
        "generating the data", lambda: make_project(tmp / label, n, args.seed, args.cache_dir), here
    )
    built = project and attempt("kg build", lambda: kg_build(project), here)
    if built:
        if n >= BIG:
            print(f"reference stack skipped at {label} (it cannot finish)")
        else:
            compare_reference(n, project, built[0], args.reference_timeout, found)
        compare_oxigraph(label, n, project, built, tmp, found, cli)
        if n >= BIG and not args.queries_at_10m:
            print(f"stored-query latencies skipped at {label} (--queries-at-10m to measure them)")
        else:
            compare_queries(n, project, args.repeat, found)
        if found["incremental"] in here:
            print(f"\n### incremental: a 1k-triple source edited beside the {label} one")
            goal = found["incremental"]
            edits = lambda: incremental(project, args.seed, 3, goal, label)  # noqa: E731
            attempt("the incremental measurement", edits, [goal])
    if project:
        shutil.rmtree(project, ignore_errors=True)


def compare_reference(n: int, project: Path, kg: float, timeout: float, found) -> None:
    """The reference stack on the same file, its ratio, and the goal at 100k."""
    goal = found["reference"]
    marks = [goal] if n == REFERENCE_AT else []
    ref = attempt("the reference stack", lambda: reference(project, timeout), marks)
    if ref is None:
        return
    total, done = ref
    bound = "" if done else ">= "
    print(
        f"ratio kg build / reference (parse+reason+validate): {'<= ' if bound else ''}"
        f"{kg / total:.3f}  ({bound}{total / kg:.1f}x faster)"
    )
    if n == REFERENCE_AT:
        times = total / kg  # a lower bound when the reference did not finish
        goal.judge(
            True if times >= REFERENCE_TIMES else False if done else None,
            f"{kg:.2f} s kg build",
            f"{bound}{total:.2f} s reference",
            f"{bound}{total / kg:.1f}x faster",
        )


def compare_oxigraph(label, n, project, built, tmp: Path, found, cli: str | None) -> None:
    """The Oxigraph CLI loading the same file; the build goals at 1M and 10M."""
    seconds, peak, report, cpu = built
    loaded = None
    goals_here = (found[f"build-{n}"], found[f"peak-{n}"]) if n in BUILD_GOALS else ()
    if cli is None:
        print("oxigraph CLI not found: no load to compare with")
        for goal in goals_here[:1]:
            goal.skip("no oxigraph CLI")
    else:
        where = tmp / f"oxigraph-{label}"
        loaded = attempt(
            "oxigraph CLI load", lambda: oxigraph_load(cli, project, where), goals_here[:1]
        )
    if loaded:
        parse = report["seconds"].get("parse", float("nan"))
        print(
            f"oxigraph CLI load {loaded[0]:8.2f} s  peak {loaded[1]:7.0f} MiB   "
            f"ratio kg build / oxigraph load {seconds / loaded[0]:.2f}, "
            f"kg parse / oxigraph load {parse / loaded[0]:.2f}"
        )
        print(
            f"cpu (user+sys, all threads): kg build {cpu:.1f} s, oxigraph load "
            f"{loaded[2]:.1f} s; ratio {cpu / loaded[2]:.2f}"
        )
        if goals_here:
            compare_floor(project, tmp / f"floor-{label}", built, loaded)
            goals_here[0].judge(
                seconds / loaded[0] <= BUILD_GOALS[n][0],
                f"{seconds:.2f} s kg build",
                f"{loaded[0]:.2f} s oxigraph load",
                f"{seconds / loaded[0]:.2f}",
            )
    if goals_here:
        goals_here[1].judge(
            peak < BUILD_GOALS[n][1],
            f"{peak:.0f} MiB kg build",
            f"{loaded[1]:.0f} MiB oxigraph load" if loaded else "-",
            f"{peak / loaded[1]:.2f}" if loaded else "-",
        )


def compare_floor(project: Path, where: Path, built, loaded) -> None:
    """The disk floor (bench/floor.py): what no build of this store can go below, against
    the CLI's load and the build (both (wall s, peak MiB, ..., CPU s) as measured)."""
    seconds, cpu = built[0], built[3]
    floor = attempt("the disk floor", lambda: disk_floor(project, where), [])
    if floor:
        print(
            f"disk floor        {floor[0]:8.2f} s  peak {floor[1]:7.0f} MiB   "
            f"cpu {floor[2]:.1f} s: Oxigraph's bulk loader alone writing the source "
            f"and the {built[2]['inferred']:,}-triple closure from ready files"
        )
        print(
            f"ratio disk floor / oxigraph load {floor[0] / loaded[0]:.2f} (wall), "
            f"{floor[2] / loaded[2]:.2f} (cpu); kg build / disk floor "
            f"{seconds / floor[0]:.2f} (wall), {cpu / floor[2]:.2f} (cpu)"
        )


def compare_queries(n: int, project: Path, repeat: int, found) -> None:
    """Each stored query through kg and on raw pyoxigraph; the goal at 1M names the worst."""
    goal = found["queries"]
    marks = [goal] if n == QUERIES_AT else []
    rows = attempt("stored-query latencies", lambda: query_latencies(project, repeat), marks)
    if not rows:
        return
    print(f"{'query':16} {'kg ms':>9} {'pyoxigraph ms':>14} {'ratio':>6}")
    for name, via_kg, direct in rows:
        print(
            f"{name:16} {via_kg * 1000:9.2f} {direct * 1000:14.2f} "
            f"{via_kg / direct if direct else float('nan'):6.2f}"
        )
    if n == QUERIES_AT:
        name, via_kg, direct = max(rows, key=lambda r: r[1] / r[2] if r[2] else 0)
        goal.judge(
            via_kg / direct <= QUERY_RATIO,
            f"worst {name} {via_kg * 1000:.2f} ms",
            f"{direct * 1000:.2f} ms pyoxigraph",
            f"{via_kg / direct:.2f}",
        )


def seed_query(goal: Goal) -> None:
    """``kg query posts`` on the seed graph (this project), whole process, median of 10."""
    py = [sys.executable, "-m", "kg.cli", "--project", str(ROOT)]
    run([*py, "build"])
    via_python = statistics.median(run([*py, "query", "posts"]).seconds for _ in range(10))
    kg = kg_command()
    if kg[0] == sys.executable:
        median, how = via_python, "python -m kg.cli"
        print(f"\nkg query posts (whole process, seed graph): median {median:.3f} s")
    else:
        median = statistics.median(
            run([*kg, "--project", str(ROOT), "query", "posts"]).seconds for _ in range(10)
        )
        how = "the kg script"
        print(
            f"\nkg query posts (whole process, seed graph): median {median:.3f} s via the kg "
            f"script, {via_python:.3f} s via python -m kg.cli"
        )
    goal.judge(median < SEED_QUERY_SECONDS, f"{median:.3f} s via {how}")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    suite = ROOT.parent / "shared" / "conformance" / "w3c-shacl"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="e.g. 10k,100k,1M,10M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-timeout", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=7, help="runs per stored query")
    parser.add_argument(
        "--shacl-suite",
        type=Path,
        default=suite if suite.is_dir() else None,
        help=f"the W3C SHACL suite's folder (default {suite} when it exists)",
    )
    parser.add_argument("--cache-dir", type=Path, help="keep generated files here across runs")
    parser.add_argument("--queries-at-10m", action="store_true", help="query latencies at 10M")
    parser.add_argument(
        "--incremental-at",
        default="1M",
        metavar="SIZE",
        help="the size beside which a 1k source is edited (default 1M; 'none' skips it)",
    )
    parser.add_argument(
        "--out", type=Path, help="the results file (default bench/results-YYYY-MM-DD.txt)"
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    out = args.out or ROOT / "bench" / f"results-{time.strftime('%Y-%m-%d')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    screen = sys.stdout
    with out.open("w", encoding="utf-8") as file:
        sys.stdout = Tee(screen, file)
        try:
            found = bench(args)
        finally:
            sys.stdout = screen
    print(f"\n(written to {out})")
    return (
        1 if any(g.verdict.startswith(("MISS", "ERROR", "UNKNOWN")) for g in found.values()) else 0
    )


def bench(args: argparse.Namespace) -> dict[str, Goal]:
    """The whole run; returns the goals, judged."""
    import pyoxigraph

    found = goals()
    print(f"# kg benchmark  {time.strftime('%Y-%m-%d %H:%M')}  {platform.platform()}")
    print(
        f"# {os.cpu_count()} cores, Python {platform.python_version()}, pyoxigraph "
        f"{pyoxigraph.__version__}; sizes {', '.join(label for label, _ in args.sizes)}"
    )
    print("\n## W3C SHACL conformance (kg's fast SHACL path)")
    if args.shacl_suite is None or not (args.shacl_suite / "core" / "manifest.ttl").is_file():
        why = f"no W3C SHACL suite at {args.shacl_suite}" if args.shacl_suite else "no suite"
        print(f"skipped: {why} (--shacl-suite PATH)")
        for suite in ("shacl-core", "shacl-sparql"):
            found[suite].skip(why)
    else:
        marks = [found["shacl-core"], found["shacl-sparql"]]
        attempt("the W3C SHACL suite", lambda: conformance(args.shacl_suite, found), marks)

    venv = str(Path(sys.executable).parent)
    cli = shutil.which("oxigraph") or shutil.which("oxigraph", path=venv)
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        for label, n in args.sizes:
            bench_size(label, n, Path(tmp), args, found, cli)
    sizes = {n for _, n in args.sizes}
    for n in BUILD_GOALS:
        if n not in sizes:
            for key in (f"build-{n}", f"peak-{n}"):
                found[key].skip("size not in --sizes")
    for key, n in (("reference", REFERENCE_AT), ("queries", QUERIES_AT)):
        if n not in sizes:
            found[key].skip("size not in --sizes")
    if args.incremental_at.lower() not in {label.lower() for label, _ in args.sizes}:
        found["incremental"].skip(
            "--incremental-at none"
            if args.incremental_at.lower() == "none"
            else f"--incremental-at {args.incremental_at} not in --sizes"
        )
    goal = found["seed-query"]
    attempt("kg query on the seed graph", lambda: seed_query(goal), [goal])

    print("\n## Goals (issue 10)\n")
    print(table(found.values()))
    return found


if __name__ == "__main__":
    sys.exit(main())
