"""What it costs to run a query where it can be stopped (kg's query worker).

kg runs every CLI query in a forked child with a time-out and a memory cap (see
``kg.worker``). This measures, on the project's own built store and in one run, the
median latency of each stored query with its defaults run in-process
(``KnowledgeGraph(limits=None)``, the library default) and isolated (what ``kg query``
does), and prints the difference. Usage, from the project root:

    python bench/isolation.py            # 30 runs of each stored query
    python bench/isolation.py --runs 100
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from kg.graph import KnowledgeGraph
from kg.project import Project
from kg.worker import Limits

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(graph: KnowledgeGraph, name: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        graph.run(name).rows  # noqa: B018 - read every row, as rendering would
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    project = Project.load(ROOT)
    KnowledgeGraph(project).build()
    here = KnowledgeGraph(project)
    isolated = KnowledgeGraph(project, limits=Limits(timeout=60, memory_mib=4096))
    print(f"{'query':16} {'in-process ms':>14} {'isolated ms':>12} {'cost ms':>8}")
    costs = []
    for name in here.stored_queries():
        a = _median_ms(here, name, args.runs)
        b = _median_ms(isolated, name, args.runs)
        costs.append(b - a)
        print(f"{name:16} {a:14.2f} {b:12.2f} {b - a:8.2f}")
    print(f"median cost of isolation: {statistics.median(costs):.1f} ms a query")


if __name__ == "__main__":
    main()
