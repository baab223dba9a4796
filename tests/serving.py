"""``kg serve`` as a real server for tests and benchmarks: a subprocess on a free
loopback port, started, waited for and stopped.

    with serving(ROOT, "--workers", "2") as url:
        httpx.get(f"{url}/queries/memberships")

The URL yielded is a ``str`` that also carries ``.process`` (the ``kg serve`` process)
and ``.stderr`` (the file its standard error, and so the access log, goes to).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

#: Seconds the server may take to build, start its workers and answer /healthz. A guard
#: against hangs, not a timing assertion.
START = 120.0
_LISTENING = re.compile(r"serving \S+ on (http://[^/\s]+)/")


class ServedUrl(str):
    """The base URL (no trailing slash), with the server process and its stderr file."""

    process: subprocess.Popen
    stderr: Path


@contextlib.contextmanager
def serving(
    project: Path | str, *args: str, env: dict[str, str] | None = None
) -> Iterator[ServedUrl]:
    """Run ``kg --project PROJECT serve --port 0 ARGS`` until the block ends."""
    src = Path(__file__).resolve().parents[1] / "src"
    folder = Path(tempfile.mkdtemp(prefix="kg-serve-"))
    err_path = folder / "stderr.log"
    err = open(err_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "--project", str(project), "serve", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
        env={**os.environ, "PYTHONPATH": str(src), **(env or {})},
    )
    try:
        url = ServedUrl(_wait(process, err_path))
        url.process, url.stderr = process, err_path
        yield url
    finally:
        stop(process)
        err.close()
        with contextlib.suppress(OSError):
            err_path.unlink()
            folder.rmdir()


def _wait(process: subprocess.Popen, err_path: Path) -> str:
    """The base URL once the server says where it listens and /healthz answers."""
    deadline = time.monotonic() + START
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kg serve ended ({process.returncode}): {err_path.read_text()}")
        if url is None:
            found = _LISTENING.search(err_path.read_text(errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer,
            ):
                if answer.status == 200:
                    return url
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"kg serve did not start: {err_path.read_text(errors='replace')}")


def stop(process: subprocess.Popen) -> int:
    """SIGTERM, then SIGKILL if it does not end within 15 s; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
    return process.returncode


def children(pid: int) -> list[int]:
    """The processes whose parent is *pid* (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait for *check* (a guard against hangs of 30 s, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
