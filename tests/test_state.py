"""kg's own state in ``.kg`` under damage kg did not cause: every case heals with a
notice or is a clear exit 2, never an internal error (exit 3) or a hang, and kg deletes
only what it created (``.kg/store-*`` and ``.kg/tmp-*``), never what a link points to.

Each test runs the real ``kg`` in a subprocess on a copy of a project built once for the
module (copied with its links, so the copy answers without a rebuild). A few checks of
the manifest's shape run in process, where a subprocess per case would add nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from kg.build import BuildReport, _known_failure
from kg.errors import InputError
from kg.project import Project
from kg.state import REPORT_FIELDS, read_manifest, store_damage, write_json
from tests.conftest import ROOT
from tests.test_faults import (
    _NOT_ALMIGHTY,
    NEW_STATE,
    _as_reader,
    _limit_file_size,
    clean,
    kg,
    states,
)

# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped project, built once for this module."""
    dest = tmp_path_factory.mktemp("state") / "project"
    dest.mkdir()
    shutil.copy(ROOT / "kg.toml", dest / "kg.toml")
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, dest / folder)
    assert kg(dest, "build").returncode == 0
    return dest


@pytest.fixture
def built(template: Path, tmp_path: Path) -> Iterator[Path]:
    """A built project of this test's own (a copy with links and times kept: fresh).
    Made writable again afterwards, for tests that take write access away."""
    dest = tmp_path / "project"
    shutil.copytree(template, dest, symlinks=True)
    yield dest
    for path in [dest, *dest.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o700)


def current(project: Path) -> Path:
    return (project / ".kg" / "current").resolve()


def heals(project: Path, *notices: str) -> subprocess.CompletedProcess:
    """A query answers (rebuilding), says each of *notices*, and the next one answers
    from the healed state without a word."""
    result = states(project)
    assert result.returncode == 0, result.stderr
    assert "azerbaijan" in result.stdout
    for notice in notices:
        assert notice in result.stderr, result.stderr
    clean(result)
    again = states(project)
    assert again.returncode == 0 and "azerbaijan" in again.stdout
    assert again.stderr == "", again.stderr
    return result


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def add_source(project: Path) -> None:
    """Change the inputs (a new source stating a new state): the store is stale."""
    (project / "data" / "new.ttl").write_text(NEW_STATE, encoding="utf-8")


# -- 1. kg deletes only what it created ------------------------------------------------------


@pytest.mark.parametrize("target", ["../data", "..", "absolute", "store-link"])
def test_a_link_out_of_kg_is_removed_not_followed(built, tmp_path, target):
    """``.kg/current`` pointing at the data, the project, a folder elsewhere (even one
    holding a whole store), or at a ``store-*`` link to one: the link goes, the target
    stays."""
    victim = tmp_path / "victim"
    shutil.copytree(current(built), victim)  # a whole store, outside .kg
    (victim / "keep.txt").write_text("precious", encoding="utf-8")
    before = {"project": tree(built / "data"), "victim": tree(victim)}
    link = built / ".kg" / "current"
    link.unlink()
    if target == "absolute":
        link.symlink_to(victim)
    elif target == "store-link":
        (built / ".kg" / "store-elsewhere").symlink_to(victim)
        link.symlink_to("store-elsewhere")
    else:
        link.symlink_to(target)
    heals(built, "damaged", "rebuilt")
    assert tree(built / "data") == before["project"]
    assert (built / "kg.toml").is_file() and (built / "ontology" / "kg.ttl").is_file()
    assert tree(victim) == before["victim"]
    assert not (built / ".kg" / "store-elsewhere").exists()  # the link, not its target


# -- 2. kg export never exports an older build -------------------------------------------------


def test_export_on_a_full_disk_is_exit_2(built):
    """The build fails for want of room (to standard output, a pipe: the export itself
    would have room, and must not use it for the last build's data)."""
    add_source(built)
    result = kg(built, "export", "--format", "nt", preexec_fn=_limit_file_size(64 << 10))
    assert result.returncode == 2, result.stderr
    assert "could not write" in result.stderr and result.stdout == ""
    clean(result)
    result = kg(built, "export", "--format", "nt")
    assert result.returncode == 0 and "fault-test-state" in result.stdout


def test_export_of_a_read_only_stale_project_is_exit_2(built):
    add_source(built)
    result = kg(built, "export", "--format", "nt", prefix=_as_reader(built))
    assert result.returncode == 2, result.stderr
    assert "cannot rebuild" in result.stderr and "older build" in result.stderr
    assert result.stdout == ""
    clean(result)


def _hold_lock(project: Path, seconds: float | None) -> Callable[[], None]:
    """Take the build lock as a running (or stopped) build would; release it after
    *seconds*, or when the returned function is called."""
    handle = (project / ".kg" / "lock").open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    if seconds is not None:
        threading.Timer(seconds, handle.close).start()
    return handle.close


def test_export_waits_for_a_build_that_holds_the_lock(built):
    with (built / "kg.toml").open("a", encoding="utf-8") as config:
        config.write("\n[query]\ntimeout = 1\n")
    add_source(built)
    release = _hold_lock(built, None)
    try:
        start = time.monotonic()
        result = kg(built, "export", "--format", "nt")
        assert time.monotonic() - start >= 1
        assert result.returncode == 2, result.stderr
        assert "a build holds the lock" in result.stderr and result.stdout == ""
        clean(result)
    finally:
        release()
    config = (built / "kg.toml").read_text(encoding="utf-8").replace("timeout = 1", "timeout = 20")
    (built / "kg.toml").write_text(config, encoding="utf-8")
    _hold_lock(built, 1.0)
    result = kg(built, "export", "--format", "nt")
    assert result.returncode == 0, result.stderr
    assert "fault-test-state" in result.stdout and "Warning" not in result.stderr


# -- 3. a manifest that is valid JSON but not kg's ---------------------------------------------


def _drop_inferred(m: dict) -> None:
    del m["graphs"]["inferred"]


def _no_sources(m: dict) -> None:
    m["sources"] = []


def _int_inputs(m: dict) -> None:
    m["inputs"] = dict.fromkeys(m["inputs"], 7)


def _bad_iri(m: dict) -> None:
    m["graphs"]["named"].append("not an IRI")


def _short_report(m: dict) -> None:
    del m["report"]["asserted"]


@pytest.mark.parametrize(
    "junk, command",
    [
        (_drop_inferred, "query"),
        (_no_sources, "stats"),
        (_int_inputs, "query"),
        (_bad_iri, "export"),
        (_short_report, "build"),
    ],
)
def test_junk_manifest_from_the_review_heals(built, junk, command):
    path = current(built) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    junk(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    args = {"query": ["query", "posts"], "export": ["export", "--format", "nt"]}
    result = kg(built, *args.get(command, [command]))
    assert result.returncode == 0, result.stderr
    clean(result)
    if command != "build":  # kg build prints its figures, not the notices
        assert "damaged" in result.stderr and "rebuilt" in result.stderr
    heals(built)


JUNK: dict[str, Callable[[dict], object]] = {
    "a list": lambda m: [],
    "format a string": lambda m: m.update(format="5"),
    "format true": lambda m: m.update(format=True),
    "older format": lambda m: m.update(format=4),
    "identity a number": lambda m: m.update(identity=1),
    "inputs a list": lambda m: m.update(inputs=[]),
    "an input without sha256": lambda m: next(iter(m["inputs"].values())).pop("sha256"),
    "an input size a string": lambda m: next(iter(m["inputs"].values())).update(size="1"),
    "a source file a number": lambda m: m["sources"].update({"https://x.org/a": 1}),
    "named not a list": lambda m: m["graphs"].update(named="https://x.org/"),
    "a named IRI with a space": lambda m: m["graphs"]["named"].append("https://x.org/a b"),
    "a named IRI with <": lambda m: m["graphs"]["named"].append("https://x.org/a<"),
    "a union IRI with a control": lambda m: m["graphs"]["union"].append("https://x.org/\x01"),
    "a union IRI not http": lambda m: m["graphs"]["union"].append("urn:x"),
    "a union IRI with a bad port": lambda m: m["graphs"]["union"].append("http://x.org:p/"),
    "a union IRI with a surrogate": lambda m: m["graphs"]["union"].append("http://x/\udcff"),
    "inferred a list": lambda m: m["graphs"].update(inferred=[]),
    "graphs null": lambda m: m.update(graphs=None),
    "report with an extra key": lambda m: m["report"].update(extra=1),
    "report count a float": lambda m: m["report"].update(asserted=1.5),
    "report seconds text": lambda m: m["report"]["seconds"].update(parse="fast"),
    "report engines a list": lambda m: m["report"].update(engines=[]),
    "no files": lambda m: m.pop("files"),
    "files empty": lambda m: m.update(files={}),
    "a file outside the store": lambda m: m["files"].update({"../../etc/passwd": 1}),
    "a file size a string": lambda m: m["files"].update(CURRENT="16"),
    "a file size wrong": lambda m: m["files"].update(IDENTITY=1),
}


def test_every_junk_manifest_is_damage(template, tmp_path):
    """Every field kg reads is checked (in process: the CLI cases are above)."""
    store = tmp_path / "store-copy"
    shutil.copytree(current(template), store)
    original = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    assert store_damage(store) is None
    for name, junk in JUNK.items():
        manifest = json.loads(json.dumps(original))
        replaced = junk(manifest)  # in place, but for "a list"
        manifest = replaced if name == "a list" else manifest
        (store / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        assert store_damage(store) is not None, name
        if name != "a file size wrong":  # the manifest's shape is right; the file is not
            with pytest.raises(InputError, match="kg's store is damaged"):
                read_manifest(store)


def test_report_fields_match_build_report():
    run_time_only = {"skipped", "notices"}
    assert set(REPORT_FIELDS) == {f.name for f in fields(BuildReport)} - run_time_only


# -- 4. a store missing files ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["sst-deleted", "sst-truncated", "options-deleted"])
def test_store_files_missing_or_truncated_heal(built, damage):
    folder = current(built) / "store"
    sst = max(folder.glob("*.sst"), key=lambda p: p.stat().st_size)
    if damage == "sst-deleted":
        for path in folder.glob("*.sst"):
            path.unlink()
    elif damage == "sst-truncated":
        os.truncate(sst, sst.stat().st_size // 2)
    else:
        for path in folder.glob("OPTIONS-*"):
            path.unlink()
    heals(built, "damaged", "rebuilt")


# -- 5. file names that are not UTF-8 ----------------------------------------------------------


def test_a_data_file_name_that_is_not_utf8(built):
    bad = built / "data" / os.fsdecode(b"x\xff.ttl")
    bad.write_text(NEW_STATE, encoding="utf-8")
    result = kg(built, "build")
    assert result.returncode == 2, result.stderr
    assert "x\\udcff.ttl" in result.stderr  # escaped, not the raw byte
    clean(result)
    answered = states(built)
    assert answered.returncode == 0 and "azerbaijan" in answered.stdout
    assert "Answering from the last good build" in answered.stderr
    # the failure was written and reads back equal: the next query does not build again
    assert _known_failure(Project.load(built)) is not None
    failed = (built / ".kg" / "failed.json").read_bytes()
    assert failed.isascii()


def test_a_data_folder_name_that_is_not_utf8(built):
    folder = built / "data" / os.fsdecode(b"sub\xff")
    folder.mkdir()
    (folder / "new.ttl").write_text(NEW_STATE, encoding="utf-8")
    result = states(built)
    assert result.returncode == 0, result.stderr
    assert "fault-test-state" in result.stdout and "kg: built" in result.stderr
    clean(result)
    assert (current(built) / "manifest.json").read_bytes().isascii()
    again = states(built)  # the inputs read back from the manifest equal: fresh
    assert again.returncode == 0 and again.stderr == ""


def test_state_json_round_trips_any_text(tmp_path):
    data = {"inputs": {"data/x\udcff\u00e9\U0001f600.ttl": [1, 2]}, "error": "\x1b[31m"}
    write_json(tmp_path / "x.json", data)
    assert json.loads((tmp_path / "x.json").read_text(encoding="ascii")) == data


# -- 6. the lock and .kg itself ---------------------------------------------------------------


def test_lock_that_is_a_fifo_heals(built):
    lock = built / ".kg" / "lock"
    lock.unlink()
    os.mkfifo(lock)
    result = kg(built, "build", "--force", timeout=30)
    assert result.returncode == 0, result.stderr
    clean(result)
    assert lock.is_file()
    lock.unlink()
    os.mkfifo(lock)
    add_source(built)
    result = heals(built, "lock was a FIFO")
    assert "fault-test-state" in result.stdout


def test_lock_that_is_a_link_is_not_followed(built, tmp_path):
    outside = tmp_path / "outside.txt"
    lock = built / ".kg" / "lock"
    lock.unlink()
    lock.symlink_to(outside)
    add_source(built)
    heals(built, "lock was a symlink")
    assert not outside.exists() and lock.is_file() and not lock.is_symlink()


def test_state_folder_that_is_a_file_heals(built):
    shutil.rmtree(built / ".kg")
    (built / ".kg").write_text("junk", encoding="utf-8")
    heals(built, ".kg was a file")
    assert (built / ".kg" / "current").is_symlink()


def test_state_folder_that_is_a_dangling_link_is_exit_2(built, tmp_path):
    shutil.rmtree(built / ".kg")
    (built / ".kg").symlink_to(tmp_path / "nowhere")
    result = states(built)
    assert result.returncode == 2 and "symlink to" in result.stderr, result.stderr
    clean(result)
    assert not (tmp_path / "nowhere").exists()


# -- 7. whatever else kg may find in .kg -------------------------------------------------------


def _failed_folder(project: Path) -> None:
    (project / ".kg" / "failed.json").mkdir()
    add_source(project)


def _failed_fifo(project: Path) -> None:
    os.mkfifo(project / ".kg" / "failed.json")
    add_source(project)


def _report_folder(project: Path) -> None:
    (current(project) / "report.json").unlink()
    (current(project) / "report.json").mkdir()


def _manifest_fifo(project: Path) -> None:
    (current(project) / "manifest.json").unlink()
    os.mkfifo(current(project) / "manifest.json")


def _identity_fifo(project: Path) -> None:
    (current(project) / "store" / "IDENTITY").unlink()
    os.mkfifo(current(project) / "store" / "IDENTITY")


def _current_to_tmp(project: Path) -> None:
    """A whole store, but in a folder named as a build's temporary one."""
    link = project / ".kg" / "current"
    os.rename(current(project), project / ".kg" / "tmp-whole")
    link.unlink()
    link.symlink_to("tmp-whole")


def _store_is_a_file(project: Path) -> None:
    (project / ".kg" / "store-file").write_text("junk", encoding="utf-8")
    link = project / ".kg" / "current"
    link.unlink()
    link.symlink_to("store-file")


def _swap_leftover_folder(project: Path) -> None:
    (project / ".kg" / "current.tmp-x").mkdir()
    add_source(project)


def _tmp_link_outside(project: Path) -> None:
    outside = project.parent / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious", encoding="utf-8")
    (project / ".kg" / "tmp-elsewhere").symlink_to(outside)
    add_source(project)


DAMAGES = {
    "failed.json a folder": _failed_folder,
    "failed.json a FIFO": _failed_fifo,
    "report.json a folder": _report_folder,
    "manifest.json a FIFO": _manifest_fifo,
    "IDENTITY a FIFO": _identity_fifo,
    "current to a tmp-* folder": _current_to_tmp,
    "a store-* that is a file": _store_is_a_file,
    "a current.tmp-* folder": _swap_leftover_folder,
    "a tmp-* link out of .kg": _tmp_link_outside,
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_odd_things_in_kg_never_exit_3(built, damage):
    DAMAGES[damage](built)
    result = kg(built, "sparql", "SELECT ?s WHERE { ?s a kg:State }", timeout=60)
    assert result.returncode == 0, result.stderr
    clean(result)
    heals(built)
    assert os.readlink(built / ".kg" / "current").startswith("store-")
    if damage == "a tmp-* link out of .kg":
        assert (built.parent / "outside" / "keep.txt").is_file()
        assert not (built / ".kg" / "tmp-elsewhere").is_symlink()


def test_an_input_that_became_unreadable(built):
    """Touched and unreadable: the staleness check cannot hash it (was exit 3)."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to read")
    prefix = _NOT_ALMIGHTY if os.geteuid() == 0 else ()
    ontology = built / "ontology" / "kg.ttl"
    ontology.chmod(0)
    os.utime(ontology)
    result = kg(built, "build", prefix=prefix)
    assert result.returncode == 2 and "ontology/kg.ttl: cannot read" in result.stderr
    clean(result)
    result = kg(built, "sparql", "SELECT ?s WHERE { ?s a kg:State }", prefix=prefix)
    assert result.returncode == 0 and "azerbaijan" in result.stdout, result.stderr
    assert "Answering from the last good build" in result.stderr


def test_failed_json_of_every_json_type_is_no_failure(template, tmp_path):
    """In process: what ``failed.json`` holds decides whether a query warns at once or
    builds; anything not as kg writes it means build."""
    project = tmp_path / "project"
    shutil.copytree(template, project, symlinks=True)
    loaded = Project.load(project)
    for junk in ["null", "true", "1", "1.5", '"x"', "[]", "{}", '{"inputs": 1, "error": 2}']:
        (project / ".kg" / "failed.json").write_text(junk, encoding="utf-8")
        assert _known_failure(loaded) is None, junk
    (project / ".kg" / "failed.json").write_bytes(b"\xff\xfe")
    assert _known_failure(loaded) is None
