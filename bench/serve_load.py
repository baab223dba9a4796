"""Load test of ``kg serve`` against ``oxigraph serve-read-only`` over the same compiled graph.

One run builds a copy of a project (the bundled seed graph, or the seed with a generated
graph added by ``kg generate``), then starts each server in turn (never both at once: they
would share the cores) and puts the same load on it: a bounded number of keep-alive
connections for a bounded time, cycling through every stored query that calls no
``SERVICE``, with the same parameters bound the same way:

- kg: ``GET /queries/NAME?param=value&limit=10000`` (one page holds every row);
- Oxigraph: ``POST /query`` (form-encoded: its server refuses request lines over 8 KiB)
  with the exact text kg runs (the typed terms of :func:`kg.queries.bind`, placed by
  :func:`kg.sparql_text.bind_values`) and kg's dataset as ``default-graph-uri`` and
  ``named-graph-uri``.

Both answer ``application/sparql-results+json``. Before timing, each query is asked of
each server 5 times and must give the rows kg's library gives, or the run stops. Under load
a response is an error when its status is not 200 or its body is not one of that server's
right answers (the byte length of a JSON result does not depend on the order of its rows).
The client is ``wrk`` when installed (``apt-get install wrk``: C, event-driven, so it takes
little of the servers' CPU), else Python processes. It prints queries per second, p50/p99
latency, errors and the CPU time each server spent per request, their ratio, and whether the
goal holds (no errors, kg's throughput at least 2/3 of Oxigraph's); the table also goes to
``bench/serve-results-DATE.txt``. Exit status 1 when any request failed.

kg keeps the OWL RL closure in the store's default graph, which has no IRI, and the SPARQL
protocol names graphs by IRI only; so Oxigraph serves a copy of the store in which the
closure is also in kg's named graph for it (``graphs["inferred"]`` of the manifest). Same
triples, same query texts; only the graph holding the closure differs.

    python bench/serve_load.py                          # seed graph, 8 clients, 20 s each
    python bench/serve_load.py --triples 100000
    python bench/serve_load.py --queries memberships,timeline --seconds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
PAGE = 10_000  # kg serve's largest page (--max-rows): every row comes in one answer
GOAL = 2 / 3


def _tool(name: str) -> str:
    """*name* beside this interpreter (the venv kg is installed in), else on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name) or name


KG, OXIGRAPH = _tool("kg"), _tool("oxigraph")


@dataclass
class Workload:
    """One server's requests, cycled through: (path, None) is a GET, (path, form) a POST;
    ``rows`` are the rows each must give, ``lengths`` the sizes of its right answers."""

    name: str
    requests: list[tuple[str, str | None]]
    rows: list[int]
    port: int = 0
    lengths: set[int] = field(default_factory=set)
    single_ms: list[float] = field(default_factory=list)


@dataclass
class Measure:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: str
    server_cpu: float = 0.0  # seconds, the server and its child processes (kg's workers)
    worker_cpu: float = 0.0  # seconds, the child processes alone
    client_cpu: float = 0.0

    @property
    def qps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- the graph and the requests ------------------------------------------------------------


def make_project(source: Path, folder: Path, triples: int | None) -> Path:
    """A built copy of the project at *source* (never written to), with *triples*
    generated triples added as ``data/gen.ttl``."""
    folder.mkdir(parents=True)
    shutil.copy(source / "kg.toml", folder)
    for sub in ("ontology", "data", "queries"):
        if (source / sub).is_dir():
            shutil.copytree(source / sub, folder / sub)
    if triples:
        kg(folder, "generate", "--triples", str(triples), "-o", "data/gen.ttl")
    kg(folder, "build")
    return folder


def kg(project: Path, *args: str) -> None:
    done = subprocess.run([KG, *args], cwd=project, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"kg {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")


def generated_params(graph) -> dict[str, dict[str, str]]:
    """Parameters that make the queries work on a generated graph (bench/run.py's)."""
    sys.path.insert(0, str(BENCH))
    from run import GENERATED_PARAMS

    found = "SELECT ?p WHERE { ?x kg:participant ?p } ORDER BY ?p LIMIT 1"
    person = graph.sparql(found, prefixes=True).rows[0][0].value
    return {q: {k: v or person for k, v in p.items()} for q, p in GENERATED_PARAMS.items()}


def workloads(project: Path, chosen: list[str] | None, generated: bool):
    """kg's and Oxigraph's workloads, the queries' names, those skipped, and the built
    store with the name of its inferred graph."""
    from kg.errors import KgError
    from kg.graph import KnowledgeGraph
    from kg.queries import bind
    from kg.service import check_services
    from kg.sparql_text import bind_values
    from kg.state import current_store, read_manifest

    graph = KnowledgeGraph.open(project)
    queries = graph.stored_queries()
    if unknown := sorted(set(chosen or ()) - set(queries)):
        sys.exit(f"no stored query {', '.join(unknown)}; there are: {', '.join(sorted(queries))}")
    params = generated_params(graph) if generated else {}
    built = current_store(graph.project)
    assert built is not None, "kg build left no store"
    inferred = read_manifest(built)["graphs"]["inferred"]
    default, named = graph.store.views(inferred=True)  # DefaultGraph has no .value
    dataset = [("default-graph-uri", getattr(g, "value", inferred)) for g in default]
    dataset += [("named-graph-uri", g.value) for g in named]
    kg_work, ox_work = Workload("kg serve", [], []), Workload("oxigraph", [], [])
    names, skipped = [], []
    for name, query in sorted(queries.items()):
        if chosen and name not in chosen:
            continue
        try:
            check_services(query.text, prefixes=None, allowed=())
        except KgError:
            skipped.append(name)  # it calls a SERVICE: the network, not the servers
            continue
        given = params.get(name, {})
        try:  # as graph.run binds them
            terms = bind(query, given, graph.resolve, graph.kinds, graph._follow)
        except KgError as exc:
            sys.exit(f"{name}: {exc}")
        text = bind_values(query.text, {k: t.n3() for k, t in terms.items()})
        rows = len(list(graph.run(name, given).rows))
        if rows > PAGE:
            sys.exit(f"{name} gives {rows} rows, more than one page of kg serve ({PAGE})")
        kg_work.requests.append(
            (f"/queries/{quote(name)}?{urlencode({**given, 'limit': PAGE})}", None)
        )
        ox_work.requests.append(("/query", urlencode([("query", text), *dataset])))
        for work in (kg_work, ox_work):
            work.rows.append(rows)
        names.append(name)
    graph.close()
    return kg_work, ox_work, names, skipped, built / "store", inferred


def oxigraph_store(store: Path, folder: Path, inferred: str) -> Path:
    """A copy of *store* whose closure is also in the named graph *inferred* (see above)."""
    import pyoxigraph as ox

    shutil.copytree(store, folder)
    copy = ox.Store(str(folder))
    copy.update(f"ADD DEFAULT TO <{inferred}>")
    copy.flush()  # not optimize(): kg build does not compact its store either
    del copy
    return folder


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(cmd: list[str], port: int, cwd: Path, log: Path) -> Iterator[int]:
    """The pid of *cmd*, running until the block ends, once it listens on *port*."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"{cmd[0]} stopped ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{' '.join(cmd)} did not listen on {port} within 60 s")
                time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of *pid* with its descendants (kg's query workers, those
    that ended and were waited for included), and of the descendants alone, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    tree: dict[int, tuple[int, float, float]] = {}  # pid: (parent, own, children waited for)
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        ticks = [int(x) / tick for x in fields[11:15]]  # utime stime cutime cstime
        tree[int(entry)] = (int(fields[1]), ticks[0] + ticks[1], ticks[2] + ticks[3])
    wanted = {pid}
    for _ in range(4):  # depth: server, workers, their children
        wanted |= {p for p, (parent, _, _) in tree.items() if parent in wanted}
    total = sum(own + waited for p, (_, own, waited) in tree.items() if p in wanted)
    return total, total - tree.get(pid, (0, 0.0, 0.0))[1]


def fetch(conn: http.client.HTTPConnection, request: tuple[str, str | None]) -> tuple[int, bytes]:
    path, form = request
    if form is None:
        conn.request("GET", path, headers={"Accept": JSON})
    else:
        conn.request(
            "POST", path, body=form.encode(), headers={"Accept": JSON, "Content-Type": FORM}
        )
    response = conn.getresponse()
    return response.status, response.read()


def check(work: Workload, names: list[str]) -> None:
    """Stop the run unless every query gives its rows; note the right answers' lengths,
    and each query's median latency over 5 requests once every query was asked twice
    (so that each of kg's workers has read the query and the store's pages it needs)."""
    conn = http.client.HTTPConnection("127.0.0.1", work.port, timeout=600)
    times: list[list[float]] = [[] for _ in names]
    for lap in range(7):
        for i, (name, request, want) in enumerate(
            zip(names, work.requests, work.rows, strict=True)
        ):
            start = time.perf_counter()
            status, body = fetch(conn, request)
            if lap >= 2:
                times[i].append(time.perf_counter() - start)
            if status != 200:
                sys.exit(f"{work.name}: {name} answered {status}: {body[:500]!r}")
            got = len(json.loads(body)["results"]["bindings"])
            if got != want:
                sys.exit(f"{work.name}: {name} gave {got} rows where kg's library gives {want}")
            work.lengths.add(len(body))
    work.single_ms = [sorted(t)[2] * 1000 for t in times]
    conn.close()


# -- the load ------------------------------------------------------------------------------

WRK_LUA = """
paths = {%(paths)s}
forms = {%(forms)s}
lengths = {%(lengths)s}
wrk.headers["Accept"] = "%(accept)s"
local form = {["Content-Type"] = "%(form)s"}
local threads, count = {}, 0
function setup(thread)
  count = count + 1
  thread:set("first", count * 3)
  table.insert(threads, thread)
end
function init(args) i = first; bad = 0 end
function request()
  i = i %% #paths + 1
  if forms[i] == "" then return wrk.format("GET", paths[i]) end
  return wrk.format("POST", paths[i], form, forms[i])
end
function response(status, headers, body)
  if status == 200 and not lengths[#body] then bad = bad + 1 end
end
function done(summary, latency, requests)
  local wrong, e = 0, summary.errors
  for _, t in ipairs(threads) do wrong = wrong + t:get("bad") end
  io.write(string.format('RESULT [%%d, %%d, %%d, %%d, %%d, %%d, %%d]\\n', summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), wrong, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(work: Workload, clients: int, seconds: float, folder: Path) -> Measure:
    script = folder / "load.lua"
    script.write_text(
        WRK_LUA
        % {
            "paths": ", ".join(json.dumps(p) for p, _ in work.requests),
            "forms": ", ".join(json.dumps(f or "") for _, f in work.requests),
            "lengths": ", ".join(f"[{n}] = true" for n in sorted(work.lengths)),
            "accept": JSON,
            "form": FORM,
        }
    )
    cmd = ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds:g}s"]
    cmd += ["--timeout", "60s", "-s", str(script), f"http://127.0.0.1:{work.port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result = next(x for x in out.splitlines() if x.startswith("RESULT "))
    n, us, p50, p99, wrong, status, socket_errors = json.loads(result[len("RESULT ") :])
    return Measure(
        n, us / 1e6, p50 / 1000, p99 / 1000, wrong + status + socket_errors,
        f"status {status}, wrong body {wrong}, socket {socket_errors}",
    )  # fmt: skip


def _client(port: int, requests, lengths: set[int], first: int, until: float):
    """One keep-alive connection's loop: (latencies, errors)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, i = [], 0, first
    while time.time() < until:
        start = time.perf_counter()
        try:
            status, body = fetch(conn, requests[i % len(requests)])
            errors += status != 200 or len(body) not in lengths
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
        latencies.append(time.perf_counter() - start)
        i += 1
    return latencies, errors


def _client_process(port: int, requests, lengths: set[int], firsts: list[int], until: float):
    with ThreadPoolExecutor(len(firsts)) as pool:
        done = list(pool.map(lambda f: _client(port, requests, lengths, f, until), firsts))
    return [x for lat, _ in done for x in lat], sum(e for _, e in done)


def run_python(work: Workload, clients: int, seconds: float, folder: Path) -> Measure:
    """The fallback client: 2 processes of threads, one keep-alive connection each."""
    until, procs = time.time() + seconds, min(2, clients)
    jobs = [
        (work.port, work.requests, work.lengths, list(range(p, clients, procs)), until)
        for p in range(procs)
    ]
    with ProcessPoolExecutor(procs) as pool:
        parts = list(pool.map(_client_process, *zip(*jobs, strict=True)))
    lat = sorted(x for part, _ in parts for x in part) or [0.0]
    errors = sum(e for _, e in parts)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return Measure(len(lat), seconds, lat[len(lat) // 2] * 1000, p99 * 1000, errors, "")


def load(work: Workload, pid: int, args, folder: Path) -> Measure:
    """The measured load on *work*'s server (pid *pid*), after an unmeasured warm-up."""
    run = run_wrk if args.client == "wrk" else run_python
    run(work, args.clients, args.warmup, folder)
    cpu, client = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    measure = run(work, args.clients, args.seconds, folder)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total, children = cpu_seconds(pid)
    measure.server_cpu, measure.worker_cpu = total - cpu[0], children - cpu[1]
    measure.client_cpu = after.ru_utime + after.ru_stime - client.ru_utime - client.ru_stime
    return measure


# -- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the project to copy")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=20, help="measured load per server")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured load first")
    parser.add_argument("--triples", default="seed", help="'seed', or N generated triples added")
    parser.add_argument("--queries", help="comma-separated stored queries (default: all)")
    parser.add_argument("--client", choices=("wrk", "python"), help="default: wrk if installed")
    parser.add_argument(
        "--kg-cache-mib",
        default="0",
        help="kg serve's answer cache (default 0: off, so that every request is evaluated, "
        "as Oxigraph server does; kg serve's own default is 64)",
    )
    parser.add_argument("--kg-workers", help="kg serve's --workers (default: its own)")
    parser.add_argument("--output", type=Path, help="default: bench/serve-results-DATE.txt")
    args = parser.parse_args()
    args.client = args.client or ("wrk" if shutil.which("wrk") else "python")
    triples = None if args.triples == "seed" else int(args.triples.replace("_", ""))
    chosen = args.queries.split(",") if args.queries else None

    with tempfile.TemporaryDirectory(prefix="kg-serve-load-") as tmp:
        folder = Path(tmp)
        say(f"building a copy of {args.project} ({args.triples})")
        project = make_project(args.project.resolve(), folder / "project", triples)
        kg_work, ox_work, names, skipped, store, inferred = workloads(
            project, chosen, triples is not None
        )
        if not names:
            sys.exit("no query to run: all call a SERVICE, or none was chosen")
        ox_store = oxigraph_store(store, folder / "oxigraph-store", inferred)
        kg_work.port, ox_work.port = free_port(), free_port()
        commands = {
            "kg serve": [KG, "serve", "--port", str(kg_work.port), "--timeout", "600",
                         "--cache-mib", args.kg_cache_mib,
                         *(["--workers", args.kg_workers] if args.kg_workers else [])],
            "oxigraph": [OXIGRAPH, "serve-read-only", "--location", str(ox_store), "--bind",
                         f"127.0.0.1:{ox_work.port}"],
        }  # fmt: skip
        measures = []
        for work in (kg_work, ox_work):
            log = folder / f"{work.name.split()[0]}.log"
            with serving(commands[work.name], work.port, project, log) as pid:
                check(work, names)
                say(f"{work.name}: rows checked; {args.warmup:g} + {args.seconds:g} s of load")
                measures.append(load(work, pid, args, folder))
        text = report(args, triples, names, skipped, (kg_work, ox_work), measures)
    print(text, end="")
    out = args.output or BENCH / f"serve-results-{time.strftime('%Y-%m-%d')}.txt"
    out.write_text(text)
    print(f"(written to {out})")
    return 1 if any(m.errors for m in measures) else 0


def say(text: str) -> None:
    print(f"[serve_load] {text}", file=sys.stderr, flush=True)


def report(args, triples, names, skipped, works, measures) -> str:
    (kg_work, ox_work), (kg_m, ox_m) = works, measures
    ratio = kg_m.qps / ox_m.qps if ox_m.qps else 0.0
    kg_cpu, ox_cpu = (m.server_cpu / m.requests if m.requests else 0.0 for m in measures)
    cpu_ratio = ox_cpu / kg_cpu if kg_cpu else 0.0
    holds = not kg_m.errors and not ox_m.errors and ratio >= GOAL
    version = subprocess.run([OXIGRAPH, "--version"], capture_output=True, text=True).stdout
    graph = "seed graph" if triples is None else f"seed graph + {triples:,} generated triples"
    client = "wrk, 2 threads" if args.client == "wrk" else "Python http.client, 2 processes"
    params = "bench/run.py's parameters" if triples else "default parameters"
    lines = [
        f"# kg serve load benchmark  {time.strftime('%Y-%m-%d %H:%M')}  {platform.platform()}",
        f"# {os.cpu_count()} cores, Python {platform.python_version()}, {version.strip()}",
        f"# {graph}; {len(names)} stored queries cycled with {params}"
        + (f" (skipped, SERVICE: {', '.join(skipped)})" if skipped else ""),
        f"# client: {client}, {args.clients} keep-alive connections; {args.warmup:g} s warm-up, "
        f"then {args.seconds:g} s per server, one server at a time",
        f"# kg serve's answer cache: {args.kg_cache_mib} MiB"
        + (" (off: every request is evaluated)" if float(args.kg_cache_mib) == 0 else ""),
        "",
        f"{'query':<16}{'rows':>6}{'kg ms':>9}{'oxigraph ms':>13}   (one client, median of 5)",
    ]
    for name, rows, a, b in zip(
        names, kg_work.rows, kg_work.single_ms, ox_work.single_ms, strict=True
    ):
        lines.append(f"{name:<16}{rows:>6}{a:>9.2f}{b:>13.2f}")
    lines += [
        "",
        f"{'server':<10}{'requests':>9}{'qps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'cpu ms/req':>12}",
    ]
    for m, work in zip(measures, works, strict=True):
        per = 1000 / m.requests if m.requests else 0.0
        split = (
            f"   (event loop {(m.server_cpu - m.worker_cpu) * per:.2f}, "
            f"workers {m.worker_cpu * per:.2f})"
            if m.worker_cpu
            else ""
        )
        lines.append(
            f"{work.name:<10}{m.requests:>9}{m.qps:>9.1f}{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}"
            f"{m.errors:>7}{m.server_cpu * per:>12.2f}"
            + split
            + (f"   ({m.detail})" if m.errors else "")
        )
    client_share = max(m.client_cpu / m.seconds for m in measures if m.seconds) * 100
    lines += [
        f"(cpu: the server's processes; the client used at most {client_share:.0f}% of one core)",
        f"ratio kg/oxigraph qps: {ratio:.2f}; of CPU per request (oxigraph/kg), what the ratio "
        f"would be were both CPU-bound: {cpu_ratio:.2f}",
        f"goal: no errors, kg >= 2/3 of Oxigraph server's qps: {'holds' if holds else 'FAILS'}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
