"""The worker pool of ``kg serve``: the server's side of the query workers
(:mod:`kg.serve_worker`).

:class:`Pool` hands each request to an idle worker; past the time-out it SIGKILLs that
worker and starts a replacement, so a runaway query holds one worker for at most the
time-out while the others go on answering. When all workers are busy, up to ``queue``
requests wait; beyond them :class:`Saturated` is raised (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kg.errors import QueryTimeout
from kg.serve_worker import (  # noqa: F401 - the server's names for them
    CHUNK,
    HEADER,
    NotAcceptable,
    Request,
    Saturated,
    WorkerDied,
)

#: Seconds a new worker may take to open the store and say it is ready.
START_TIMEOUT = 60.0


class Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self, root: Path, store: Path, memory_mib: int):
        ours, theirs = socket.socketpair()
        self.store, self.memory_mib = store, memory_mib
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kg.serve_worker",
                str(theirs.fileno()),
                str(root),
                str(store),
                str(memory_mib),
            ],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)
        kind, payload = await asyncio.wait_for(self.read(), START_TIMEOUT)
        if kind == "error":
            raise payload
        if kind != "ready":
            raise WorkerDied(f"a query worker could not start ({payload}).")

    async def read(self) -> tuple[str, Any]:
        assert self.reader is not None
        try:
            header = await self.reader.readexactly(HEADER.size)
            body = await self.reader.readexactly(HEADER.unpack(header)[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return ("died", self._death())
        return pickle.loads(body)

    def send(self, req: Request) -> None:
        assert self.writer is not None
        body = pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(HEADER.pack(len(body)) + body)

    def _death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(1.0)
        code = self.proc.returncode
        if code is not None and code < 0:
            if -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
                return (
                    f"the query worker ran out of memory (more than {self.memory_mib:,} MiB, "
                    "'memory_mib' under [query] in kg.toml) or crashed; narrow the query"
                )
            return f"the query worker was stopped by signal {-code}"
        return f"the query worker ended (exit status {code})"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            if self.writer is not None:
                self.writer.close()
            else:
                self.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5.0)


class Pool:
    """*size* workers on the build at *store*, a wait queue of *queue* requests."""

    def __init__(
        self, root: Path, store: Path, *, size: int, queue: int, timeout: float, memory_mib: int
    ):
        self.root, self.store = root, store
        self.size, self.queue = size, queue
        self.timeout, self.memory_mib = timeout, memory_mib
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        self.waiters: deque[asyncio.Future[Worker]] = deque()
        self.starting = 0
        self.closed = False

    @property
    def build_id(self) -> str:
        return self.store.name

    async def start(self) -> None:
        """Start every worker; raise the first failure (the store cannot be opened...)."""
        workers = [Worker(self.root, self.store, self.memory_mib) for _ in range(self.size)]
        try:
            await asyncio.gather(*(w.start() for w in workers))
        except BaseException:
            for w in workers:
                w.kill()
            raise
        self.idle.extend(workers)

    def status(self) -> dict[str, int]:
        return {
            "workers": self.size,
            "busy": len(self.busy),
            "idle": len(self.idle),
            "waiting": len(self.waiters),
        }

    async def _acquire(self) -> Worker:
        while True:
            if self.idle:
                worker = self.idle.pop()
            else:
                worker = await self._wait()
            self.busy.add(worker)
            if worker.proc.poll() is None:
                return worker
            # It ended while idle (killed by someone else, out of memory...): not this
            # request's fault, so replace it and take another (or wait for the new one).
            self._replace(worker)

    async def _wait(self) -> Worker:
        """The next worker released, once every worker is busy: a place in the queue."""
        if len(self.waiters) >= self.queue:
            raise Saturated(
                f"all {self.size} query workers are busy and {self.queue} requests are "
                "waiting; try again shortly."
            )
        future: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            return await future
        except asyncio.CancelledError:
            if future in self.waiters:
                self.waiters.remove(future)
            elif future.done() and not future.cancelled():
                self._release(future.result())
            raise

    def _release(self, worker: Worker) -> None:
        """*worker* is free: to the first waiter, else idle (or killed, once retired)."""
        self.busy.discard(worker)
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(worker)
                return
        if self.closed:
            worker.kill()
        else:
            self.idle.append(worker)

    def _replace(self, worker: Worker) -> None:
        """Kill *worker* (timed out, or its answer abandoned) and start another."""
        self.busy.discard(worker)
        worker.kill()
        if not self.closed:
            asyncio.get_running_loop().create_task(self._start_one())
        elif not self.busy:  # retired, and no worker left to serve who waits
            self._fail_waiters()

    def _fail_waiters(self) -> None:
        for future in self.waiters:
            if not future.done():
                future.set_exception(Saturated("the server is switching builds; try again."))
        self.waiters.clear()

    async def _start_one(self) -> None:
        worker = Worker(self.root, self.store, self.memory_mib)
        self.starting += 1
        try:
            await worker.start()
        except Exception as exc:  # logged; the pool goes on smaller
            print(f"kg serve: a query worker could not start: {exc}", file=sys.stderr)
            worker.kill()
            return
        finally:
            self.starting -= 1
        self.busy.add(worker)
        self._release(worker)

    async def ask(self, req: Request) -> AsyncIterator[tuple[str, Any]]:
        """The worker's frames for *req*: ``head``, ``data``..., (``end``), or ``result``.

        Raises the query's :class:`KgError`, :class:`QueryTimeout` past the time-out
        (the worker is killed and replaced), :class:`Saturated`. Stopping the iteration
        early (the client went away) kills and replaces the worker, which may still be
        writing."""
        # The time-out counts from the request's arrival: time spent waiting for a
        # worker too, so a queued request does not wait for ever.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                worker = await self._acquire()
        except TimeoutError:
            raise Saturated(
                f"no query worker became free within {self.timeout:g} s (all {self.size} "
                "are busy); try again shortly."
            ) from None
        done = False
        # Also stopped when its answer is not being read: a client that stops reading
        # blocks this generator, not the worker's time-out.
        expiry = loop.call_at(deadline, self._expire, worker)
        try:
            worker.send(req)
            while True:
                try:
                    # A timeout scope, not wait_for: no task created for every frame read.
                    async with asyncio.timeout_at(deadline):
                        kind, payload = await worker.read()
                except TimeoutError:
                    raise self._timed_out() from None
                if kind == "error":
                    done = True
                    raise payload
                if kind == "bug":
                    done = True
                    raise WorkerDied(f"internal error in a query worker: {payload}")
                if kind == "died":
                    if loop.time() >= deadline:  # killed by _expire
                        raise self._timed_out()
                    raise WorkerDied(f"{payload}.")
                if kind in ("end", "result"):
                    done = True
                yield kind, payload
                if done:
                    return
        finally:
            expiry.cancel()
            if worker not in self.busy:
                pass  # already replaced by _expire (or killed by close)
            elif done:
                self._release(worker)
            else:
                self._replace(worker)

    def _expire(self, worker: Worker) -> None:
        """The time-out of *worker*'s request is past: kill and replace it now."""
        if worker in self.busy:
            self._replace(worker)

    def _timed_out(self) -> QueryTimeout:
        return QueryTimeout(
            f"the query ran longer than {self.timeout:g} s and was stopped. "
            "Narrow it (a LIMIT, a more selective pattern), or ask the server's "
            "operator for a longer --timeout."
        )

    def retire(self) -> None:
        """Let these workers go (a newer build is served): idle ones now, busy ones once
        their answer is sent and no request waits for them."""
        self.closed = True
        for worker in self.idle:
            worker.kill()
        self.idle.clear()

    def close(self) -> None:
        """Kill every worker now (the server is stopping)."""
        self.retire()
        self._fail_waiters()
        for worker in list(self.busy):
            worker.kill()
        self.busy.clear()
