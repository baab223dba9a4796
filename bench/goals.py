"""What bench/run.py judges its measurements against (issue 10's goals), and its helpers.

Why a module of its own: bench/run.py measures; this holds each goal's bound in one place, how
a verdict and the summary table are printed, the processes it times, the cache of generated
files, the reference stack (the baseline of the 20x goal), the W3C SHACL conformance count and
the incremental-edit measurement. The pure helpers
(:func:`size_of`, :func:`parse_sizes`, :class:`Goal`, :func:`table`) are tested in
tests/test_bench.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

EX = "https://w3id.org/kg-diplo/id/"
#: Per size, the build goals: (kg build / Oxigraph CLI load at most, kg build peak below MiB).
BUILD_GOALS = {1_000_000: (2.0, 1536), 10_000_000: (2.5, 8192)}
#: Per suite of the W3C SHACL tests: (passes needed, tests in the suite); 0 fail in both.
SUITE_GOALS = {"core": (95, 98), "sparql": (20, 22)}
REFERENCE_AT, REFERENCE_TIMES = 100_000, 20.0  # kg build at least 20x the reference stack
QUERIES_AT, QUERY_RATIO = 1_000_000, 1.5  # every stored query within 1.5x raw pyoxigraph
SEED_QUERY_SECONDS = 0.3  # `kg query` on the seed graph, whole process
INCREMENTAL_SECONDS = 5.0  # `kg query` after an edit of a 1k-triple source, rebuild included
SMALL_SOURCE = "edit-me"  # data/edit-me.ttl: the small source the incremental goal edits
_DATE = re.compile(r'"(\d{4})-(\d{2})-(\d{2})"\^\^xsd:date')


# -- sizes ------------------------------------------------------------------------------------


def size_of(text: str) -> int:
    """Triples in a size label: ``10k`` -> 10,000, ``1M`` or ``1m`` -> 1,000,000, ``2.5k``."""
    clean = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(clean[-1:], 1)
    try:
        n = int(float(clean[:-1] if factor > 1 else clean) * factor)
    except ValueError:
        raise ValueError(f"{text!r} is not a size: write 10k, 100k, 1M or a number") from None
    if n < 1:
        raise ValueError(f"{text!r} is not a size: it must be at least 1 triple")
    return n


def label_of(n: int) -> str:
    """The short label of *n* triples, as the goals name sizes (1M, 10M, 100k)."""
    for factor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{suffix}"
    return str(n)


def parse_sizes(text: str) -> list[tuple[str, int]]:
    """``10k,100k,1M`` -> [(label, triples), ...] in the order given, blanks ignored."""
    sizes = [(part.strip(), size_of(part)) for part in text.split(",") if part.strip()]
    if not sizes:
        raise ValueError("no size given: write e.g. --sizes 10k,100k,1M")
    return sizes


# -- goals and the summary table -------------------------------------------------------------


@dataclass
class Goal:
    """One goal of the issue: what it asks, and (once measured) the figure and the verdict.

    ``verdict`` is PASS or MISS once judged (UNKNOWN when a bound does not settle it), ERROR
    when its measurement failed, and says why when it was not run, so that the summary always
    lists every goal."""

    name: str
    figure: str = "-"
    baseline: str = "-"
    ratio: str = "-"
    verdict: str = "not run"

    def judge(self, ok: bool | None, figure: str, baseline: str = "-", ratio: str = "-") -> None:
        """Record the figures and say PASS or MISS (``ok`` None: UNKNOWN, when the baseline
        only gave a bound that does not settle it)."""
        self.figure, self.baseline, self.ratio = figure, baseline, ratio
        self.verdict = {True: "PASS", False: "MISS", None: "UNKNOWN"}[ok]
        print(f"GOAL {self.name}: {figure}; baseline {baseline}; ratio {ratio}: {self.verdict}")

    def error(self, why: object) -> None:
        self.verdict = f"ERROR ({first_line(why)})"

    def skip(self, why: str) -> None:
        if self.verdict == "not run" or self.verdict.startswith("not run ("):
            self.verdict = f"not run ({why})"


def goals() -> dict[str, Goal]:
    """Every goal of issue 10, in the issue's order, none measured yet."""
    found = {
        f"shacl-{suite}": Goal(f"W3C SHACL {suite}: >= {need} of {total} pass, 0 fail")
        for suite, (need, total) in SUITE_GOALS.items()
    }
    for n, (ratio, peak) in BUILD_GOALS.items():
        found[f"build-{n}"] = Goal(f"{label_of(n)} kg build <= {ratio}x Oxigraph CLI load")
        found[f"peak-{n}"] = Goal(f"{label_of(n)} kg build peak < {peak} MiB")
    found["incremental"] = Goal(
        f"edit 1k source beside 1M: kg query <= {INCREMENTAL_SECONDS:g} s (median of 3)"
    )
    found["reference"] = Goal(
        f"{label_of(REFERENCE_AT)} kg build >= {REFERENCE_TIMES:g}x faster than reference"
    )
    found["queries"] = Goal(
        f"{label_of(QUERIES_AT)} every stored query <= {QUERY_RATIO}x pyoxigraph"
    )
    found["seed-query"] = Goal(f"kg query on the seed graph < {SEED_QUERY_SECONDS} s (process)")
    return found


def table(rows: Iterable[Goal]) -> str:
    """The summary: one line per goal, columns aligned, ``|`` between them."""
    head = ("goal", "figure", "baseline", "ratio", "verdict")
    cells = [head] + [(g.name, g.figure, g.baseline, g.ratio, g.verdict) for g in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + f" | {row[-1]}"
        for row in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths) + "-+-" + "-" * len("verdict"))
    return "\n".join(lines)


def first_line(error: object, limit: int = 160) -> str:
    """The gist of an error for one line: a traceback's last line, else the first line that
    is not a heading (``... exited with 3:``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]
    lines = [line for line in lines if not line.endswith(":")] or lines
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Tee:
    """A text stream writing to several: the screen and the results file."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        self.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


# -- processes --------------------------------------------------------------------------------


@dataclass
class Ran:
    """A finished process: wall seconds, peak RSS in MiB (its own or its largest waited-for
    child's, as wait4 reports), and what it printed."""

    seconds: float
    peak_mib: float
    out: str
    err: str
    cpu: float = float("nan")  #: user + system seconds, of every thread


def run(cmd: list[str], timeout: float | None = None, cwd: Path | None = None) -> Ran | None:
    """Run *cmd* and measure it; None when it outlived *timeout*; RuntimeError when it failed.

    Output goes to temporary files, not pipes, so that a chatty process never blocks on a
    full pipe while this waits for it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
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
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[-4:])} exited with {code}:\n{stderr[-2000:]}")
    return Ran(elapsed, usage.ru_maxrss / 1024, stdout, stderr, usage.ru_utime + usage.ru_stime)


def kg_command() -> list[str]:
    """How a person runs kg: the installed ``kg`` script, else ``python -m kg.cli``."""
    exe = shutil.which("kg") or shutil.which("kg", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "kg.cli"]


# -- generated data ---------------------------------------------------------------------------


def generated(dest: Path, triples: int, seed: int, cache: Path | None) -> str:
    """Write ``kg generate``'s graph of *triples* and *seed* to *dest*; say how.

    With a *cache* folder the file is generated once and linked (or copied) from there on
    later runs: 10M triples take minutes to write. The cache key holds the size, the seed and
    a hash of kg's generator, so a changed generator never serves an old file."""
    from kg import generate as module

    start = time.perf_counter()
    if cache is None:
        _generate(dest, triples, seed)
        return f"generated in {time.perf_counter() - start:.1f} s"
    digest = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:10]
    cached = cache / f"synthetic-{triples}-seed{seed}-{digest}.ttl"
    how = f"reused {cached}"
    if not cached.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{cached.name}.{os.getpid()}.tmp"
        _generate(tmp, triples, seed)
        os.replace(tmp, cached)
        how = f"generated in {time.perf_counter() - start:.1f} s, cached as {cached}"
    try:
        os.link(cached, dest)
    except OSError:
        shutil.copyfile(cached, dest)
    return how


def _generate(dest: Path, triples: int, seed: int, base: str = EX) -> None:
    from kg.generate import generate

    with dest.open("w", encoding="utf-8") as out:
        generate(out, triples=triples, seed=seed, base=base)


# -- the reference stack (rdflib, owlrl, pyshacl) ---------------------------------------------

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


def reference(project: Path, timeout: float) -> tuple[float, bool]:
    """(seconds, finished) of the reference stack: rdflib parse + owlrl, rdflib parse +
    pyshacl; a stage past *timeout* counts as *timeout*, a lower bound."""
    data = project / "data" / "synthetic.ttl"
    total, done = 0.0, True
    for stage in ("reason", "validate"):
        args = [str(data), *(str(project / "ontology" / f) for f in ("kg.ttl", "shapes.ttl"))]
        res = run(
            [sys.executable, "-c", REFERENCE % (EX + "synthetic"), *args, stage], timeout=timeout
        )
        if res is None:
            print(f"reference {stage:8} did not finish in {timeout:.0f} s")
            total, done = total + timeout, False
            continue
        figures = json.loads(res.out)
        total += figures[stage] + (figures["parse"] if stage == "reason" else 0)
        print(
            f"reference {stage:8}{figures[stage]:8.2f} s  peak {res.peak_mib:7.0f} MiB   "
            f"(rdflib parse {figures['parse']:.2f} s)"
        )
    return total, done


# -- W3C SHACL conformance --------------------------------------------------------------------


def conformance(suite: Path, found: dict[str, Goal]) -> None:
    """Run the W3C SHACL suite on kg's fast path; print the counts, what was declined or
    failed and why, and judge the two conformance goals."""
    import logging
    import warnings

    from kg.shacl_conformance import run as run_suite
    from kg.shacl_conformance import summary

    logging.getLogger("rdflib").setLevel(logging.CRITICAL)  # ill-typed literals are tested
    warnings.filterwarnings("ignore", module="rdflib")
    start = time.perf_counter()
    outcomes = run_suite(suite)
    print(f"W3C SHACL suite {suite} ({time.perf_counter() - start:.1f} s)")
    for o in outcomes:
        if o.status != "pass":
            print(f"  {o.status:9} {o.suite}/{o.name}  {first_line(o.reason, 120)}")
    counts = summary(outcomes)
    for name, (need, _total) in SUITE_GOALS.items():
        c = counts.get(name, {})
        ran = sum(c.values())
        figure = ", ".join(f"{c.get(s, 0)} {s}" for s in ("pass", "fail", "declined", "n/a"))
        print(f"{name}: {ran} tests: {figure}")
        found[f"shacl-{name}"].judge(
            c.get("pass", 0) >= need and c.get("fail", 0) == 0,
            f"{c.get('pass', 0)} pass, {c.get('fail', 0)} fail, {c.get('declined', 0)} declined",
            f"{ran} tests",
            f"{c.get('pass', 0)}/{ran}",
        )


# -- incremental rebuild ----------------------------------------------------------------------


def edit_date(path: Path, day: int) -> str:
    """Set the day of the first xsd:date literal of *path* to *day*; say what changed.

    A real change of value (never the same day), and a small one, so the source stays valid
    (a membership's start moves within its month)."""
    text = path.read_text(encoding="utf-8")
    found = _DATE.search(text)
    if found is None:
        raise ValueError(f"{path.name} holds no xsd:date literal to edit")
    year, month, old = found.groups()
    if int(old) == day:
        raise ValueError(f"{path.name}: the date already has day {day}")
    new = f'"{year}-{month}-{day:02d}"^^xsd:date'
    path.write_text(text[: found.start()] + new + text[found.end() :], encoding="utf-8")
    return f"{year}-{month}-{old} -> {year}-{month}-{day:02d}"


def edit_days(path: Path, edits: int) -> list[int]:
    """*edits* days, each unlike the first date's day and the one before it."""
    found = _DATE.search(path.read_text(encoding="utf-8"))
    old = int(found.group(3)) if found else 0
    return [d for d in range(1, 29) if d != old][:edits]


def incremental(project: Path, seed: int, edits: int, goal: Goal, where: str) -> None:
    """Add a ~1k-triple source beside *project*'s generated one, build, then edit a date in
    it *edits* times, each time timing ``kg query memberships`` as a whole process (it
    rebuilds, then answers); judge the median against the goal.

    The build's own account of each rebuild is printed: the notices ``kg query`` wrote and
    the manifest's report (engines, seconds, and whatever says incremental or not)."""
    from kg.build import current_store, read_manifest
    from kg.project import Project

    goal.name = goal.name.replace("beside 1M", f"beside {where}")
    small = project / "data" / f"{SMALL_SOURCE}.ttl"
    _generate(small, 1_000, seed + 1, base=f"{EX}{SMALL_SOURCE}/")
    kg = kg_command()
    full = run([*kg, "--project", str(project), "build", "--force"])
    assert full is not None
    print(f"full build ({where} + 1k source) {full.seconds:8.2f} s  peak {full.peak_mib:7.0f} MiB")
    query = [*kg, "--project", str(project), "query", "memberships", "-p", "state=ex:state-1"]
    walls = []
    for day in edit_days(small, edits):
        before = current_store(Project.load(project))
        change = edit_date(small, day)
        ran = run([*query, "--format", "csv"])
        assert ran is not None
        after = current_store(Project.load(project))
        rows = max(0, len(ran.out.splitlines()) - 1)
        print(
            f"edit {change}: kg query {ran.seconds:6.2f} s  peak {ran.peak_mib:6.0f} MiB  "
            f"{rows} rows"
        )
        for line in ran.err.splitlines():
            print(f"    {line}")
        if after is None or after == before:
            raise RuntimeError(f"kg query did not rebuild after the edit {change}")
        report = read_manifest(after).get("report", {})
        extra = {k: v for k, v in report.items() if k not in ("store", "asserted", "inferred")}
        print(f"    manifest report: {extra}")
        walls.append(ran.seconds)
    median = statistics.median(walls)
    goal.judge(
        median <= INCREMENTAL_SECONDS,
        f"{median:.2f} s ({', '.join(f'{w:.2f}' for w in walls)})",
        f"{full.seconds:.2f} s full build",
        f"{median / full.seconds:.3f}",
    )
