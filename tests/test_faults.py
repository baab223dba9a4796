"""kg under faults: signals, time-outs, memory, full disks, read-only readers, damaged
state, hostile configuration and data folders. Each test runs the real ``kg`` in a
subprocess (signals and limits need a process of their own) on a throw-away copy of the
project, and checks the promise: a correct answer or a clear message with a documented
exit code, and the last good store untouched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KG, ROOT, writable_again
from tests.conftest import run_kg as kg

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
STATES = "SELECT ?s WHERE { ?s a kg:State } ORDER BY ?s"
NEW_STATE = """@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a kg:WebPage ; rdfs:label "New"@en ; kg:title "New"@en ; kg:author ex:nato ;
   kg:publisher ex:nato ; kg:datePublished "2025-02-02"^^xsd:date .
ex:fault-test-state a kg:State ; rdfs:label "Fault test state"@en .
"""


def start(project: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [*KG, "--project", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        **kwargs,
    )


def clean(result: subprocess.CompletedProcess | tuple[str, str]) -> None:
    """No traceback, no internal error, no Rust panic text reached the user."""
    err = result.stderr if hasattr(result, "stderr") else result[1]
    for bad in ("Traceback", "Internal error", "panicked", "RUST_BACKTRACE"):
        assert bad not in err, err


def states(project: Path) -> subprocess.CompletedProcess:
    return kg(project, "sparql", STATES, "--format", "csv")


@pytest.fixture
def built(project_copy: Path) -> Path:
    assert kg(project_copy, "build").returncode == 0
    return project_copy


def _store_dirs(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".kg").glob("store-*"))


# -- queries that can be stopped ---------------------------------------------------------


def test_timeout_stops_the_query_with_exit_124(built):
    result = kg(built, "sparql", SLOW, "--timeout", "1", timeout=30)
    assert result.returncode == 124, result.stderr
    assert "ran longer than 1 s" in result.stderr and "--timeout" in result.stderr
    clean(result)


def test_timeout_default_comes_from_kg_toml(built):
    (built / "kg.toml").write_text(
        (built / "kg.toml").read_text() + "\n[query]\ntimeout = 1\n", encoding="utf-8"
    )
    assert kg(built, "build").returncode == 0
    result = kg(built, "sparql", SLOW, timeout=30)
    assert result.returncode == 124 and "ran longer than 1 s" in result.stderr


def _running_children(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def _wait_gone(marker: str, seconds: float = 10) -> list[int]:
    end = time.monotonic() + seconds
    while (left := _running_children(marker)) and time.monotonic() < end:
        time.sleep(0.05)
    return left


def test_ctrl_c_stops_a_query_with_exit_130(built):
    marker = "# marker-sigint"
    proc = start(built, "sparql", SLOW + marker)
    time.sleep(1.5)  # the query is running in its child by now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    clean((out, err))
    assert _wait_gone(marker) == []


def test_sigkill_of_kg_leaves_no_query_running(built):
    marker = "# marker-sigkill"
    proc = start(built, "sparql", SLOW + marker)
    time.sleep(1.5)
    assert len(_running_children(marker)) == 2  # kg and its query worker
    proc.kill()
    proc.communicate(timeout=10)
    assert _wait_gone(marker) == []


def test_memory_cap_stops_the_query_without_panic_text(built):
    (built / "kg.toml").write_text(
        (built / "kg.toml").read_text() + "\n[query]\nmemory_mib = 1024\n", encoding="utf-8"
    )
    assert kg(built, "build").returncode == 0
    hungry = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?e ?i"
    result = kg(built, "sparql", hungry, "--format", "csv", timeout=120)
    assert result.returncode == 2, result.stderr[-500:]
    assert "more than 1,024 MiB" in result.stderr and "memory_mib" in result.stderr
    assert result.stdout == ""
    clean(result)


def test_large_select_streams_in_bounded_memory(built):
    """300,000 rows of a cartesian product stream through: kg's memory stays small."""
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "rows = p.stdout.count(b'\\n')\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(p.returncode, rows, peak)\n"
    )
    query = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 300000"
    args = [*KG, "--project", str(built), "sparql", query, "--format", "tsv", "--timeout", "600"]
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    ).stdout.split()
    code_, rows, peak_mib = map(int, out)
    assert code_ == 0
    assert rows == 300_000 + 1  # every row, plus the header
    assert peak_mib < 400, f"peak {peak_mib} MiB: rows are being collected, not streamed"


# -- reading never waits for writing -----------------------------------------------------


def test_a_stopped_build_does_not_block_queries(built):
    (built / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    build = start(built, "build", "--force")
    try:
        end = time.monotonic() + 30
        while not list((built / ".kg").glob("tmp-*")) and time.monotonic() < end:
            time.sleep(0.01)
        build.send_signal(signal.SIGSTOP)
        result = states(built)
        assert result.returncode == 0, result.stderr
        assert "a build is running (or stopped)" in result.stderr
        assert "fault-test-state" not in result.stdout  # the last good store answered
    finally:
        build.send_signal(signal.SIGCONT)
        build.communicate(timeout=120)
    assert "fault-test-state" in states(built).stdout


def test_sigint_during_a_build_keeps_the_last_good_store(built):
    before = _store_dirs(built)
    (built / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    build = start(built, "build", "--force")
    end = time.monotonic() + 30
    while not list((built / ".kg").glob("tmp-*")) and time.monotonic() < end:
        time.sleep(0.01)
    build.send_signal(signal.SIGINT)
    out, err = build.communicate(timeout=60)
    if build.returncode == 0:
        pytest.skip("the build finished before the signal arrived")
    assert build.returncode == 130, err
    clean((out, err))
    assert _store_dirs(built) == before
    (built / "data" / "new.ttl").unlink()
    result = states(built)
    assert result.returncode == 0 and "kg: built" not in result.stderr


#: Root, without the capabilities that let it ignore file permissions: a user like any
#: other for these tests, who still can run this Python (which may live under /root).
_NOT_ALMIGHTY = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)


def _as_reader(project: Path) -> tuple[str, ...]:
    """Make *project* read-only and return the command prefix of a reader who cannot
    write it (root is made to respect permissions)."""
    for path in [project, *project.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to write")
    return _NOT_ALMIGHTY


@pytest.fixture
def shared_project(built: Path) -> Iterator[Path]:
    """A built project; made writable again afterwards so that pytest can remove it."""
    yield built
    writable_again(built)


def test_a_reader_without_write_access_can_query(shared_project):
    state = sorted(p.name for p in (shared_project / ".kg").iterdir())
    os.utime(shared_project / "kg.toml")
    (shared_project / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    assert kg(shared_project, "build").returncode == 0
    state = sorted(p.name for p in (shared_project / ".kg").iterdir())
    reader = _as_reader(shared_project)
    (shared_project / "data" / "new.ttl").chmod(0o644)
    result = kg(shared_project, "query", "posts", "--format", "csv", prefix=reader)
    assert result.returncode == 0, result.stderr
    assert "Boris Ruge" in result.stdout and result.stderr == ""
    # inputs changed: the reader cannot rebuild, and answers from the last build
    (shared_project / "data" / "new.ttl").write_text(
        NEW_STATE.replace("fault-test-state", "fault-test-other"), encoding="utf-8"
    )
    result = kg(shared_project, "sparql", STATES, prefix=reader)
    assert result.returncode == 0, result.stderr
    assert "cannot rebuild" in result.stderr
    assert "fault-test-state" in result.stdout and "fault-test-other" not in result.stdout
    assert sorted(p.name for p in (shared_project / ".kg").iterdir()) == state


def test_an_unreadable_data_folder_is_an_error_not_a_silent_skip(shared_project):
    hidden = shared_project / "data" / "private"
    hidden.mkdir()
    (hidden / "secret.ttl").write_text(NEW_STATE, encoding="utf-8")
    reader = _as_reader(shared_project)
    hidden.chmod(0o000)
    for command in ("validate",):
        result = kg(shared_project, command, prefix=reader)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "data/private" in result.stderr and "cannot read" in result.stderr
        clean(result)
    result = kg(shared_project, "sparql", STATES, prefix=reader)
    assert result.returncode == 0 and "azerbaijan" in result.stdout
    assert "Warning: data/private" in result.stderr and "last good build" in result.stderr


# -- the last good store answers through every failure ------------------------------------


def test_bad_turtle_fails_build_and_validate_but_queries_answer(built):
    (built / "data" / "broken.ttl").write_text("this is not turtle", encoding="utf-8")
    for command in ("build", "validate"):
        result = kg(built, command)
        assert result.returncode == 2 and "data/broken.ttl:1" in result.stderr, result.stderr
    result = states(built)
    assert result.returncode == 0
    assert "Warning: data/broken.ttl:1" in result.stderr
    assert "Answering from the last good build" in result.stderr
    assert "azerbaijan" in result.stdout
    again = states(built)  # the failure is remembered: no second build attempt
    assert again.stderr == result.stderr


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_rlimit_fsize(built):
    before = _store_dirs(built)
    (built / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    result = kg(built, "build", preexec_fn=_limit_file_size(64 << 10))
    assert result.returncode == 2, result.stderr
    assert "could not write" in result.stderr and "last good store was kept" in result.stderr
    clean(result)
    assert _store_dirs(built) == before and not list((built / ".kg").glob("tmp-*"))
    answered = kg(built, "sparql", STATES, preexec_fn=_limit_file_size(64 << 10))
    assert answered.returncode == 0 and "azerbaijan" in answered.stdout
    assert "Answering from the last good build" in answered.stderr
    assert "fault-test-state" in states(built).stdout  # space again: the next query rebuilds


def test_full_disk_tmpfs(project_copy, tmp_path):
    """A real full file system: a 3 MiB tmpfs holding the project's state (root only)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mount / "kg").mkdir()
        (project_copy / ".kg").symlink_to(mount / "kg")
        assert kg(project_copy, "build").returncode == 0
        (project_copy / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
        ballast = mount / "ballast"
        with ballast.open("wb", buffering=0) as handle:  # fill what is left
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        result = kg(project_copy, "build")
        assert result.returncode == 2, result.stderr
        assert "No space left" in result.stderr or "could not write" in result.stderr
        clean(result)
        answered = states(project_copy)
        assert answered.returncode == 0 and "azerbaijan" in answered.stdout
        assert "Warning:" in answered.stderr
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# -- damaged state heals -----------------------------------------------------------------


def _heals(project: Path) -> None:
    result = states(project)
    assert result.returncode == 0, result.stderr
    assert "azerbaijan" in result.stdout
    clean(result)
    again = states(project)
    assert again.returncode == 0 and again.stderr == ""


def test_project_copied_with_links_dereferenced(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy, symlinks=False)  # as cp -rL or an archive without links
    assert not (copy / ".kg" / "current").is_symlink()
    result = states(copy)
    assert result.returncode == 0 and "azerbaijan" in result.stdout
    assert "is a folder, not a link" in result.stderr
    assert (copy / ".kg" / "current").is_symlink()
    _heals(copy)


@pytest.mark.parametrize(
    "damage",
    [
        "junk-manifest",
        "no-manifest",
        "empty-store",
        "foreign-store",
        "broken-link",
        "no-report",
        "current-is-a-file",
        "lock-is-a-folder",
    ],
)
def test_damaged_state_is_rebuilt_with_a_notice(built, tmp_path, damage):
    current = (built / ".kg" / "current").resolve()
    if damage == "junk-manifest":
        (current / "manifest.json").write_text("{ not json", encoding="utf-8")
    elif damage == "no-manifest":
        (current / "manifest.json").unlink()
    elif damage == "empty-store":
        shutil.rmtree(current / "store")
        (current / "store").mkdir()
    elif damage == "foreign-store":
        import pyoxigraph as ox

        shutil.rmtree(current / "store")
        ox.Store(str(current / "store")).flush()
    elif damage == "broken-link":
        shutil.rmtree(current)
    elif damage == "no-report":
        (current / "report.json").unlink()
    elif damage == "current-is-a-file":
        (built / ".kg" / "current").unlink()
        (built / ".kg" / "current").write_text("junk", encoding="utf-8")
    elif damage == "lock-is-a-folder":
        (built / ".kg" / "lock").unlink()
        (built / ".kg" / "lock").mkdir()
        (built / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    result = states(built)
    assert result.returncode == 0, result.stderr
    assert "azerbaijan" in result.stdout
    if damage == "lock-is-a-folder":
        assert "fault-test-state" in result.stdout and "kg: built" in result.stderr
    else:
        assert "damaged" in result.stderr and "rebuilt" in result.stderr
    clean(result)
    _heals(built)


# -- configuration is checked ------------------------------------------------------------


@pytest.mark.parametrize(
    "config, message",
    [
        ("[project]\ndata = 5\n", "data under [project] must be a folder or a list"),
        ('[project]\ndatta = ["data"]\n', "unknown key 'datta'"),
        ("[projct]\n", "unknown table [projct]"),
        ('[project]\ndata = ["/"]\n', "lies outside the project"),
        ('[project]\nontology = ["/etc/shadow"]\n', "lies outside the project"),
        ('[project]\nontology = ["../../../../etc/passwd"]\n', "lies outside the project"),
        ('[query]\ntimeout = "soon"\n', "timeout under [query] must be a number"),
        ("[query]\ntimeout = -1\n", "between 0 and 86400"),
        ('[query]\nservices = ["file:///etc/passwd"]\n', "http(s) endpoint"),
        ("[project\n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_exit_2_naming_the_key(project_copy, config, message):
    (project_copy / "kg.toml").write_text(config, encoding="utf-8")
    result = kg(project_copy, "query", "posts")
    assert result.returncode == 2, result.stderr
    assert "kg.toml" in result.stderr and message in result.stderr, result.stderr
    assert "root:" not in result.stderr  # nothing of /etc/passwd or /etc/shadow is shown
    clean(result)


def test_outside_paths_only_when_opted_in(project_copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(project_copy / "data", outside)
    shutil.rmtree(project_copy / "data")
    config = (
        (project_copy / "kg.toml").read_text().replace('data = ["data"]', f'data = ["{outside}"]')
    )
    (project_copy / "kg.toml").write_text(config, encoding="utf-8")
    assert kg(project_copy, "validate").returncode == 2
    (project_copy / "kg.toml").write_text(
        config.replace("[project]\n", "[project]\nallow_outside_paths = true\n"), encoding="utf-8"
    )
    result = kg(project_copy, "validate")
    assert result.returncode == 0, result.stderr


# -- nothing under data/ skipped silently --------------------------------------------------


def test_upper_case_extension_counts_and_editor_files_are_ignored(project_copy):
    (project_copy / "data" / "new.TTL").write_text(NEW_STATE, encoding="utf-8")
    for junk in (".#new.ttl", "#new.ttl#", "new.ttl~", ".hidden.ttl"):
        (project_copy / "data" / junk).write_text("not turtle at all", encoding="utf-8")
    result = states(project_copy)
    assert result.returncode == 0, result.stderr
    assert "fault-test-state" in result.stdout


@pytest.mark.parametrize("kind", ["folder", "fifo", "loop", "dangling"])
def test_odd_things_named_ttl_get_their_own_message(project_copy, kind):
    path = project_copy / "data" / "odd.ttl"
    if kind == "folder":
        path.mkdir()
        expected = "is a folder named like a Turtle file"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = "is not a regular file"
    elif kind == "loop":
        path.symlink_to(path)
        expected = "a symlink that loops"
    else:
        path.symlink_to(project_copy / "nowhere.ttl")
        expected = "No such file"
    result = kg(project_copy, "validate", timeout=30)
    assert result.returncode == 2, result.stderr
    assert "data/odd.ttl" in result.stderr and expected in result.stderr, result.stderr
    clean(result)


def test_non_utf8_query_file_and_bom(built, tmp_path):
    bad = tmp_path / "q.rq"
    bad.write_bytes(b'SELECT ?s WHERE { ?s ?p "caf\xe9" }')
    result = kg(built, "sparql", "-f", str(bad))
    assert result.returncode == 2 and "not UTF-8" in result.stderr and "q.rq:1" in result.stderr
    bom = tmp_path / "bom.rq"
    bom.write_bytes("\ufeffASK { ex:nato a kg:Agent }".encode())
    result = kg(built, "sparql", "-f", str(bom))
    assert result.returncode == 0 and result.stdout == "yes\n", result.stderr


# -- an allowed SERVICE is still bounded ---------------------------------------------------


def test_allowed_service_that_never_answers_times_out(built):
    """A server on loopback that accepts and then says nothing: the query's time-out
    stops the call (exit 124), and a closed port is a clear exit 2."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    allowed = f'"http://127.0.0.1:{port}/sparql", "http://127.0.0.1:{closed_port}/sparql"'
    (built / "kg.toml").write_text(
        (built / "kg.toml").read_text() + f"\n[query]\nservices = [{allowed}]\n",
        encoding="utf-8",
    )
    try:
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        result = kg(built, "sparql", query, "--timeout", "2", timeout=60)
        assert result.returncode == 124, result.stderr
        clean(result)
        query = query.replace(str(port), str(closed_port))
        result = kg(built, "sparql", query, "--timeout", "20", timeout=60)
        assert result.returncode == 2, result.stderr
        assert "could not be answered" in result.stderr
        clean(result)
    finally:
        silent.close()


def test_reference_engine_does_not_fetch_from_graphs(project_copy):
    """rdflib loads FROM / FROM NAMED IRIs over HTTP by default; kg must not let it."""
    import http.server
    import threading

    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        where = f"http://127.0.0.1:{server.server_address[1]}/g"
        for clause in (f"FROM <{where}>", f"FROM NAMED <{where}>"):
            result = kg(
                project_copy,
                "--engine",
                "reference",
                "sparql",
                f"SELECT * {clause} WHERE {{ ?s ?p ?o }} LIMIT 1",
            )
            # refused before any engine sees it: not a graph of this project
            assert result.returncode == 2, result.stderr
            assert "not a graph of this project" in result.stderr
        assert seen == []
    finally:
        server.shutdown()


def test_stored_query_that_is_not_utf8(project_copy):
    (project_copy / "queries" / "bad.rq").write_bytes(b'SELECT ?s WHERE {\n ?s ?p "caf\xe9" }')
    result = kg(project_copy, "query", "bad")
    assert result.returncode == 2, result.stderr
    assert "bad.rq:2" in result.stderr and "not UTF-8" in result.stderr
    clean(result)


def test_query_text_that_is_not_utf8_on_the_command_line(runner):
    """Bytes that are not UTF-8 in argv reach Python as lone surrogates."""
    from tests.conftest import invoke

    result = invoke(runner, "sparql", 'SELECT * WHERE { ?s ?p "\udcff" }')
    assert result.exit_code == 2
    assert "not UTF-8 text (byte 0xff on line 1)" in result.stderr


SERVICE_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix kgsh: <https://w3id.org/kg-diplo/shapes#> .
kgsh:Remote a sh:NodeShape ; sh:targetClass kg:State ;
  sh:sparql [ sh:message "remote" ;
    sh:select "SELECT $this WHERE { $this ?p ?o . # note\\rSERVICE <ENDPOINT> { ?a ?b ?c } }" ] .
""".replace("ENDPOINT", "http://127.0.0.1:PORT/shapes")


@pytest.mark.parametrize("engine", ["oxigraph", "reference"])
def test_shapes_cannot_reach_the_network(project_copy, engine):
    """A SHACL-SPARQL constraint holding SERVICE (hidden behind a comment that Oxigraph
    ends at a carriage return) is refused before validation runs."""
    shapes = project_copy / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + SERVICE_SHAPE.replace("PORT", "9"), encoding="utf-8")
    result = kg(project_copy, "--engine", engine, "validate")
    assert result.returncode == 2, result.stderr
    assert "ontology/shapes.ttl" in result.stderr and "SERVICE" in result.stderr
    clean(result)


def test_a_bound_value_cannot_become_query_text(project_copy):
    """``<'a>`` lexes as an IRI to one reader and as less-than and a string to Oxigraph:
    the bound text is checked again, so a default cannot smuggle a SERVICE in."""
    (project_copy / "queries" / "innocent.rq").write_text(
        "#+ summary: innocent\n#+ defaults:\n"
        "#+   - x: \"' ) SERVICE <http://127.0.0.1:9/injected> { ?z ?y ?w } FILTER('\"\n"
        "SELECT * WHERE { ?s ?p ?o FILTER(?o<'a> ) { ?s ?p ?__x_literal } #' ) }\n",
        encoding="utf-8",
    )
    result = kg(project_copy, "query", "innocent")
    assert result.returncode == 2, result.stderr
    assert "http://127.0.0.1:9/injected" in result.stderr
    clean(result)


def test_deeply_nested_query_is_exit_2(built, tmp_path):
    deep = tmp_path / "deep.rq"
    deep.write_text("SELECT * WHERE " + "{" * 100_000 + " ?s ?p ?o " + "}" * 100_000)
    result = kg(built, "sparql", "-f", str(deep))
    assert result.returncode == 2, result.stderr
    assert "less nesting" in result.stderr
    clean(result)


def test_construct_streams(built):
    """CONSTRUCT answers flow like SELECT rows: the first triple arrives at once."""
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o . ?a ?b ?c . ?d ?e ?f }"
    proc = start(built, "sparql", query, "--timeout", "60")
    first = proc.stdout.readline()
    proc.kill()
    proc.communicate(timeout=30)
    assert first.startswith("<") and first.rstrip().endswith(" .")


def test_small_memory_cap_still_answers(built):
    """The cap counts what the query spends, not the store's cache reserved at open."""
    (built / "kg.toml").write_text(
        (built / "kg.toml").read_text() + "\n[query]\nmemory_mib = 64\n", encoding="utf-8"
    )
    assert kg(built, "build").returncode == 0
    result = kg(built, "sparql", "ASK { ?s ?p ?o }")
    assert result.returncode == 0 and result.stdout == "yes\n", result.stderr


def test_terminal_escapes_from_the_data_are_shown_escaped(runner, project_copy):
    """Titles (kg stats) and query summaries (kg queries) come from files other people
    write: an escape sequence in them must not reach the terminal raw."""
    from tests.conftest import invoke

    source = NEW_STATE.replace(
        'kg:title "New"@en', 'kg:title "T\\u001b]0;pwned\\u0007\\u001b[31mRED"@en'
    )
    (project_copy / "data" / "new.ttl").write_text(source, encoding="utf-8")
    (project_copy / "queries" / "x.rq").write_text(
        '#+ summary: "\\e]0;pwned\\a\\e[31mred"\nSELECT * WHERE { ?s ?p ?o } LIMIT 1\n',
        encoding="utf-8",
    )
    for command in ("stats", "queries"):
        result = invoke(runner, command, project=project_copy)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\\x1b]0;pwned\\x07\\x1b[31m" in result.output


@pytest.mark.parametrize("command", [("export",), ("stats",), ("sparql", STATES), ("queries",)])
def test_output_cut_short_by_a_size_limit_is_exit_2(built, tmp_path, command):
    """Standard output redirected to a file under a 300-byte limit: never exit 0 with a
    truncated file, never a traceback (a buffered writer returns short counts silently)."""
    out = tmp_path / "out"
    with out.open("wb") as handle:
        result = subprocess.run(
            [*KG, "--project", str(built), *command],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            preexec_fn=_limit_file_size(300),
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    if out.stat().st_size < 300:
        pytest.skip("this output fits in 300 bytes")
    assert result.returncode == 2, result.stderr
    assert "size limit" in result.stderr or "File too large" in result.stderr
    clean(result)


@pytest.mark.parametrize(
    "target", ["kg.toml", "ontology/kg.ttl", "data/ref-nacc-statement-1991.ttl"]
)
def test_export_never_overwrites_the_project(runner, project_copy, target):
    from tests.conftest import invoke

    before = (project_copy / target).read_bytes()
    out = str(project_copy / target)
    result = invoke(runner, "export", "--format", "nt", "-o", out, project=project_copy)
    assert result.exit_code == 2 and "will not write" in result.stderr, result.output
    assert (project_copy / target).read_bytes() == before
    result = invoke(runner, "context", "-o", str(project_copy / target), project=project_copy)
    assert result.exit_code == 2
    assert (project_copy / target).read_bytes() == before


@pytest.mark.parametrize("target", ["kg.toml", "ontology/shapes.ttl", "queries/posts.rq"])
def test_generate_never_overwrites_the_project(project_copy, target):
    before = (project_copy / target).read_bytes()
    result = kg(project_copy, "generate", "-n", "100", "-o", str(project_copy / target))
    assert result.returncode == 2 and "will not write" in result.stderr, result.stderr
    assert (project_copy / target).read_bytes() == before


def test_generate_may_regenerate_a_source(project_copy):
    out = project_copy / "data" / "synthetic.ttl"
    for _ in range(2):
        result = kg(project_copy, "generate", "-n", "100", "-o", str(out))
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args",
    [("sparql", "ASK {}", "--timeout", "nan"), ("generate", "-n", "9", "--violations", "nan")],
)
def test_nan_is_not_a_number(runner, args):
    from tests.conftest import invoke

    result = invoke(runner, *args)
    assert result.exit_code == 2 and "nan is not a number" in result.output
