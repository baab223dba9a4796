"""``-o PATH`` writes as a Unix tool does: links followed, FIFOs and devices written to
(never renamed over), read-only files and missing folders refused, the umask obeyed,
and a failed write leaving the old file as it was."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import StorageError, UsageError
from kg.fileio import write_atomic, write_output
from tests.conftest import ROOT, invoke

KG = (sys.executable, "-c", "from kg.cli import main; main()")
TEXT = '@prefix ex: <https://example.org/> .\nex:a ex:b "ünïcødé" .\n'


@pytest.fixture(scope="module")
def exported() -> str:
    """What ``kg export`` prints on standard output: what every -o target must receive."""
    from click.testing import CliRunner

    result = invoke(CliRunner(), "export")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(autouse=True)
def no_renames_onto_devices(monkeypatch):
    """A safety net for the machine: these tests name the real /dev/null, /dev/full and
    /dev/stdout, and run as root; a regression that renamed a file over them would turn
    the shared device nodes into regular files. Any rename onto /dev or /proc fails the
    test instead of happening."""
    for name in ("replace", "rename"):
        real = getattr(os, name)

        def guarded(src, dst, *args, _real=real, **kwargs):
            where = os.path.abspath(os.fspath(dst))
            if where.startswith(("/dev/", "/proc/")):
                raise AssertionError(f"refused to rename a file over {where}")
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, guarded)


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files a write left behind (there must be none)."""
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _read_fifo_in_thread(fifo: Path) -> tuple[threading.Thread, dict[str, bytes]]:
    """A daemon thread that opens *fifo* for reading and reads it to the end: if the
    writer wrongly replaced the FIFO, the thread stays blocked and the test's join()
    times out instead of hanging the suite."""
    got: dict[str, bytes] = {}

    def read() -> None:
        with open(fifo, "rb") as handle:
            got["data"] = handle.read()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


# --- regular files and symlinks --------------------------------------------------------


def test_new_file_is_written_and_reported(runner, tmp_path, exported):
    out = tmp_path / "kg.ttl"
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8") == exported
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr


def test_symlink_target_is_replaced_and_link_kept(runner, tmp_path, exported):
    real = tmp_path / "real.ttl"
    real.write_text("old\n")
    link = tmp_path / "link.ttl"
    link.symlink_to("real.ttl")
    result = invoke(runner, "export", "-o", str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "real.ttl"
    assert real.read_text(encoding="utf-8") == exported
    assert _leftovers(tmp_path) == []


def test_chain_of_symlinks_replaces_the_last_target(runner, tmp_path, exported):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.ttl"
    real.write_text("old\n")
    (tmp_path / "b.ttl").symlink_to(real)  # absolute
    (tmp_path / "a.ttl").symlink_to("b.ttl")  # relative, to a link
    result = invoke(runner, "export", "-o", str(tmp_path / "a.ttl"))
    assert result.exit_code == 0, result.stderr
    assert os.readlink(tmp_path / "a.ttl") == "b.ttl"
    assert os.readlink(tmp_path / "b.ttl") == str(real)
    assert real.read_text(encoding="utf-8") == exported
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "data") == []


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.ttl"
    link.symlink_to("made.ttl")
    assert write_output(link, TEXT) == f"wrote {link}"
    assert link.is_symlink()
    assert (tmp_path / "made.ttl").read_text(encoding="utf-8") == TEXT


def test_dangling_symlink_into_a_missing_folder_is_refused(tmp_path):
    link = tmp_path / "link.ttl"
    link.symlink_to("nowhere/made.ttl")
    with pytest.raises(UsageError, match=r"symlink .* whose folder does not exist"):
        write_output(link, TEXT)
    assert not (tmp_path / "nowhere").exists()


def test_symlink_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(UsageError, match="loop of symlinks"):
        write_output(tmp_path / "a", TEXT)


def test_read_only_file_is_refused_and_untouched(runner, tmp_path):
    out = tmp_path / "kg.ttl"
    out.write_text("keep me\n")
    out.chmod(0o444)
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 2
    assert "read-only" in result.stderr and "chmod" in result.stderr
    assert out.read_text() == "keep me\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o444


def test_missing_folder_is_refused_not_created(runner, tmp_path):
    out = tmp_path / "missing" / "deeper" / "kg.ttl"
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_folder_is_refused(runner, tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        write_output(tmp_path, TEXT)
    with pytest.raises(UsageError, match="names a folder"):
        write_output(f"{tmp_path}/new/", TEXT)
    assert invoke(runner, "export", "-o", str(tmp_path)).exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_path_through_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is not a folder"):
        write_output(tmp_path / "file" / "kg.ttl", TEXT)


# --- standard output, FIFOs and devices ------------------------------------------------


def test_dash_is_standard_output(runner, tmp_path, exported, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "export", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == exported
    assert "wrote" not in result.stderr
    assert not (tmp_path / "-").exists()


def test_dev_stdout_is_written_not_replaced(runner, exported):
    result = invoke(runner, "export", "-o", "/dev/stdout")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == exported
    assert "wrote" not in result.stderr
    assert os.path.islink("/dev/stdout")


def test_fifo_reader_gets_everything(runner, tmp_path, exported):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = _read_fifo_in_thread(fifo)
    result = invoke(runner, "export", "-o", str(fifo))
    thread.join(timeout=10)
    assert not thread.is_alive(), "the reader never saw the end of the FIFO"
    assert result.exit_code == 0, result.stderr
    assert got["data"].decode("utf-8") == exported
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "wrote" not in result.stderr


def test_fifo_gets_a_stream_bigger_than_a_pipe(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = _read_fifo_in_thread(fifo)
    chunks = [f"line {i} ünï\n" for i in range(100_000)]  # ~1.4 MB, far beyond 64 KiB
    assert write_output(fifo, iter(chunks)) == ""
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert got["data"] == "".join(chunks).encode("utf-8")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_dev_null_is_written_not_replaced(runner):
    result = invoke(runner, "export", "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "wrote" not in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_is_a_storage_error_and_stays_a_device(runner):
    with pytest.raises(StorageError, match="No space left"):
        write_output("/dev/full", TEXT)
    result = invoke(runner, "export", "-o", "/dev/full")
    assert result.exit_code == 2
    assert "/dev/full" in result.stderr and "No space left" in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_standard_output_on_dev_full_exits_2_without_traceback():
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*KG, "generate", "-n", "500"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 2, done.stderr
    assert "standard output" in done.stderr and "No space left" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


# --- modes -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_new_file_mode_follows_the_umask(runner, tmp_path, umask, mask, mode):
    umask(mask)
    out = tmp_path / "kg.ttl"
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_existing_file_keeps_its_mode(runner, tmp_path, umask, exported):
    umask(0o077)
    out = tmp_path / "kg.ttl"
    out.write_text("old\n")
    out.chmod(0o640)
    result = invoke(runner, "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_text(encoding="utf-8") == exported


def test_write_atomic_follows_the_umask(tmp_path, umask):
    umask(0o027)
    state = tmp_path / "state" / "manifest.json"
    write_atomic(state, "{}\n")
    assert stat.S_IMODE(state.stat().st_mode) == 0o640
    assert state.read_text() == "{}\n"


# --- streams and failures --------------------------------------------------------------


def test_chunks_are_written_as_utf8(tmp_path):
    out = tmp_path / "kg.ttl"
    assert write_output(out, iter(["a", "ü", "", "€\n"])) == f"wrote {out}"
    assert out.read_bytes() == "aü€\n".encode()


def test_failure_mid_stream_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "kg.ttl"
    out.write_text("old\n")

    def chunks() -> Iterator[str]:
        yield "half of "
        raise RuntimeError("the export broke")

    with pytest.raises(RuntimeError):
        write_output(out, chunks())
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_file_size_limit_is_a_storage_error_and_the_old_file_survives(tmp_path):
    """RLIMIT_FSIZE in a child process: the write fails with EFBIG (Python ignores
    SIGXFSZ), kg exits 2 naming the file, the old file and folder are as they were."""
    out = tmp_path / "kg.ttl"
    out.write_text("old\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        [*KG, "generate", "-n", "500", "-o", str(out)],  # about 30 kB, no project state
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert str(out) in done.stderr and "size limit" in done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []
