"""Real servers on 127.0.0.1 for the remote-store tests: Oxigraph's own server (the
``oxigraph`` command from PyPI) in a temporary folder, and a small forwarding proxy that
records what it is sent and can fail on purpose (credentials, retries, a lost graph)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _oxigraph() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        raise RuntimeError("the oxigraph server is not installed: pip install oxigraph")
    return found


@contextmanager
def oxigraph_server(folder: Path) -> Iterator[str]:
    """``oxigraph serve`` on a free loopback port over a store in *folder*; yields its
    base URL (query at /query, Graph Store Protocol at /store) once it answers."""
    for _ in range(3):  # the port chosen may be taken by another test in between
        port = free_port()
        proc = subprocess.Popen(
            [_oxigraph(), "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if _answers(base, proc):
                yield base
                return
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    raise RuntimeError("the oxigraph server did not start")


def _answers(base: str, proc: subprocess.Popen, wait: float = 30.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/query?query=ASK%7B%7D", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    return False


class Proxy:
    """Forwards every request to *target* (a base URL), recording (method, path,
    Authorization header) in :attr:`seen`. *answer* may answer instead: given
    (method, path), it returns None to forward, or (status, content type, body)."""

    def __init__(self, target: str, answer: Callable[[str, str], tuple | None] | None = None):
        self.target = target
        self.answer = answer or (lambda method, path: None)
        self.seen: list[tuple[str, str, str | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append((self.command, self.path, self.headers.get("Authorization")))
                canned = proxy.answer(self.command, self.path)
                if canned is None:
                    canned = proxy._forward(self.command, self.path, self.headers, body)
                status, ctype, data = canned
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _forward(self, method: str, path: str, headers, body: bytes | None) -> tuple:
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
        request = urllib.request.Request(self.target + path, data=body, method=method, headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


class RawServer:
    """A loopback server that answers each request with *answer* (given the connected
    socket, once the request is read), byte by byte if it likes: for servers that do
    not speak HTTP properly (a trickle, a lie about the length, no HTTP at all)."""

    def __init__(self, answer: Callable[[socket.socket], None]):
        self.answer = answer
        self.stop = threading.Event()  # set when the test ends: trickling stops
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/query"
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                self.answer(conn)
            except OSError:
                pass  # the client went away (as it should, at its time-out)

    def trickle(self, conn: socket.socket, head: bytes, piece: bytes) -> None:
        """Send *head*, then *piece* every 50 ms until the test ends."""
        conn.sendall(head)
        while not self.stop.wait(0.05):
            conn.sendall(piece)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        got = conn.recv(65536)
        if not got:
            return
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        got = conn.recv(65536)
        if not got:
            return
        body += got
