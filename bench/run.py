"""kg's benchmark: kg build and stored queries against the reference stack and Oxigraph.

One run, at each size (generated with ``kg generate``), measures in fresh processes:

- kg build, split into parse / validate / reason / index, with peak memory;
- the reference path: rdflib parse, owlrl OWL RL closure, pyshacl validation, each
  skipped with "did not finish in N s" past a bound;
- the Oxigraph CLI loading the same file (when the ``oxigraph`` package is installed);
- each stored query's median latency on the built store, through kg and directly on
  pyoxigraph (same query text, same bound terms, same graphs);
- ``kg query`` as a whole process on the seed graph.

It prints ratios kg/reference and kg/Oxigraph. Usage (from the project root):

    pip install -e '.[bench]' && python bench/run.py              # 10k, 100k, 1M
    python bench/run.py --sizes 10k,100k,1M,10M --reference-timeout 600
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EX = "https://w3id.org/kg-diplo/id/"

# Parameters that exist in every generated graph (kg generate's naming).
GENERATED_PARAMS = {
    "memberships": {"state": "ex:state-1"},
    "timeline": {"state": "ex:state-1", "organisation": "ex:org-1"},
    "meetings": {"state": "ex:state-1"},
    "counterpart": {"person": None},  # filled from the graph
    "sources-of": {"entity": "ex:state-1"},
    "as-of": {"date": "2020-06-30"},
}

REFERENCE = r"""
import json, resource, sys, time
from rdflib import Graph
path, ontology, shapes, stage = sys.argv[1:5]
out = {}
t = time.perf_counter(); data = Graph().parse(path, format="turtle", publicID="%s")
onto = Graph().parse(ontology); out["parse"] = time.perf_counter() - t
if stage == "reason":
    import owlrl
    g = Graph(); g += data; g += onto
    t = time.perf_counter()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False,
                           datatype_axioms=False).expand(g)
    out["reason"] = time.perf_counter() - t
if stage == "validate":
    from pyshacl import validate
    sh = Graph().parse(shapes)
    t = time.perf_counter()
    validate(data, shacl_graph=sh, ont_graph=onto, inference="none", advanced=True)
    out["validate"] = time.perf_counter() - t
print(json.dumps(out))
"""


def size_of(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def run(cmd: list[str], timeout: float | None = None, cwd: Path | None = None):
    """(seconds, peak RSS in MiB, stdout) of *cmd*, or None when it outlived *timeout*."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return None
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return elapsed, usage.ru_maxrss / 1024, out


def make_project(folder: Path, triples: int, seed: int) -> Path:
    from kg.generate import generate

    folder.mkdir(parents=True)
    shutil.copy(ROOT / "kg.toml", folder)
    for sub in ("ontology", "queries"):
        shutil.copytree(ROOT / sub, folder / sub)
    (folder / "data").mkdir()
    with (folder / "data" / "synthetic.ttl").open("w", encoding="utf-8") as out:
        generate(out, triples=triples, seed=seed)
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
    """(query, kg median s, pyoxigraph median s) on the built store of *project*."""

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
        params = {k: v or person for k, v in GENERATED_PARAMS.get(name, {}).items()}
        bindings = bind(query, params, graph.resolve)
        text = bind_values(query.text, {k: v.n3() for k, v in bindings.items()})  # as kg sends it

        def direct(text=text):
            list(store.query(text, default_graph=default, named_graphs=named))

        def through_kg(name=name, params=params):
            graph.run(name, params)

        direct()  # warm the caches once for both
        rows.append((name, *median_latencies(through_kg, direct, repeat)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-timeout", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    python = sys.executable
    print(f"# kg benchmark  {time.strftime('%Y-%m-%d %H:%M')}  {platform.platform()}")
    print(f"# {os.cpu_count()} cores, Python {platform.python_version()}")
    oxigraph_cli = shutil.which("oxigraph") or shutil.which(
        "oxigraph", path=str(Path(sys.executable).parent)
    )
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        for label in args.sizes.split(","):
            n = size_of(label)
            print(f"\n## {label} triples")
            project = make_project(Path(tmp) / label, n, args.seed)
            data = project / "data" / "synthetic.ttl"
            kg = [python, "-m", "kg.cli", "--project", str(project)]
            seconds, rss, _ = run([*kg, "build", "--force"])
            from kg.build import current_store, read_manifest
            from kg.project import Project

            report = read_manifest(current_store(Project.load(project)))["report"]
            stages = report["seconds"]
            print(
                f"kg build          {seconds:8.2f} s  peak {rss:7.0f} MiB   "
                + "  ".join(f"{k} {v:.2f}" for k, v in stages.items())
            )
            print(
                f"                  {report['asserted']:,} asserted, {report['inferred']:,} "
                f"inferred, {report['violations']} violations; engines {report['engines']}"
            )

            ref_total, ref_done = 0.0, True
            for stage in ("reason", "validate"):
                script = REFERENCE % (EX + "synthetic")
                res = run(
                    [
                        python,
                        "-c",
                        script,
                        str(data),
                        str(project / "ontology/kg.ttl"),
                        str(project / "ontology/shapes.ttl"),
                        stage,
                    ],
                    timeout=args.reference_timeout,
                )
                if res is None:
                    print(f"reference {stage:8} did not finish in {args.reference_timeout:.0f} s")
                    ref_done = False
                    continue
                figures = json.loads(res[2])
                ref_total += figures[stage] + (figures["parse"] if stage == "reason" else 0)
                print(
                    f"reference {stage:8}{figures[stage]:8.2f} s  peak {res[1]:7.0f} MiB   "
                    f"(rdflib parse {figures['parse']:.2f} s)"
                )
            if ref_done:
                print(
                    f"ratio kg build / reference (parse+reason+validate): "
                    f"{seconds / ref_total:.3f}  ({ref_total / seconds:.1f}x faster)"
                )

            if oxigraph_cli:
                location = Path(tmp) / f"oxigraph-{label}"
                res = run(
                    [
                        oxigraph_cli,
                        "load",
                        "--location",
                        str(location),
                        "--file",
                        str(data),
                        "--base",
                        EX + "synthetic",
                        "--graph",
                        EX + "synthetic",
                    ]
                )
                print(
                    f"oxigraph CLI load {res[0]:8.2f} s  peak {res[1]:7.0f} MiB   "
                    f"ratio kg parse / oxigraph load {stages['parse'] / res[0]:.2f}"
                )

            print(f"{'query':16} {'kg ms':>9} {'pyoxigraph ms':>14} {'ratio':>6}")
            for name, via_kg, direct in query_latencies(project, args.repeat):
                print(
                    f"{name:16} {via_kg * 1000:9.2f} {direct * 1000:14.2f} "
                    f"{via_kg / direct if direct else float('nan'):6.2f}"
                )

        subprocess.run(
            [python, "-m", "kg.cli", "--project", str(ROOT), "build"],
            check=True,
            capture_output=True,
        )
        walls = [
            run([python, "-m", "kg.cli", "--project", str(ROOT), "query", "posts"])[0]
            for _ in range(10)
        ]
        exe = shutil.which("kg") or shutil.which("kg", path=str(Path(sys.executable).parent))
        if exe:
            walls_exe = [run([exe, "--project", str(ROOT), "query", "posts"])[0] for _ in range(10)]
            print(
                f"\nkg query posts (whole process, seed graph): median "
                f"{statistics.median(walls_exe):.3f} s via the kg script, "
                f"{statistics.median(walls):.3f} s via python -m kg.cli"
            )
        else:
            print(
                f"\nkg query posts (whole process, seed graph): median "
                f"{statistics.median(walls):.3f} s"
            )


if __name__ == "__main__":
    main()
