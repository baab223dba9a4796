"""``kg serve``: the project's compiled graph over HTTP (see :mod:`kg.server`).

Starlette and uvicorn are imported inside the command only, so ``kg`` starts as fast
as it did without a server.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from kg.errors import UsageError, printable


@click.command()
@click.option("--host", default=None, help="Address to listen on.  [default: 127.0.0.1]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (0: any free one).  [default: 7878]",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Query worker processes.  [default: the number of CPUs plus one]",
)
@click.option(
    "--queue",
    type=click.IntRange(0, 100_000),
    default=None,
    help="Requests that may wait for a busy worker; more get 503.  [default: 16]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=86_400),
    default=None,
    metavar="SECONDS",
    help="Stop a query after SECONDS (504). Default: 'timeout' under [query] in kg.toml, else 60.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1),
    default=None,
    help="Rows a /sparql answer may hold; more are cut (X-KG-Truncated).  [default: 10000]",
)
@click.option(
    "--max-request-bytes",
    type=click.IntRange(1024, 1 << 30),
    default=None,
    help="Largest request (query text, form body) accepted; more get 413.  [default: 65536]",
)
@click.option(
    "--cache-mib",
    type=click.FloatRange(0, 1 << 20),
    default=None,
    metavar="MIB",
    help="MiB of answers kept for repeated requests (0: no cache).  [default: 64]",
)
@click.option(
    "--access-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append the JSON-lines access log to FILE.  [default: standard error]",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    queue: int | None,
    timeout: float | None,
    max_rows: int | None,
    max_request_bytes: int | None,
    cache_mib: float | None,
    access_log: Path | None,
):
    """Serve the compiled graph: the SPARQL 1.1 Protocol at /sparql, every stored query
    at /queries/NAME, the API's description at /api, until Ctrl-C.

    The store is built first when an input changed; a newer build (kg build) is picked
    up without a restart. Read-only: updates are refused. Defaults come from [serve]
    in kg.toml.

    \b
    Example:
        kg serve
        curl 'http://127.0.0.1:7878/queries/memberships?state=Azerbaijan'
    """
    from kg.config import CONFIG_NAME, read_config, serve_config
    from kg.graph import KnowledgeGraph
    from kg.project import Project
    from kg.server import Options
    from kg.server import serve as run
    from kg.worker import Limits

    root = ctx.obj.get("project") if ctx.obj else None
    project = Project.load(root) if root else Project.find()
    config = serve_config(read_config(project.root / CONFIG_NAME, project.root).get("serve", {}))
    host = host or config.host
    options = Options(
        # One more than the CPUs: a worker idles while the server relays its answer and
        # hands it the next request; a spare keeps every core busy (bench/serve_load.py:
        # 0.65 of Oxigraph server's throughput with 2 workers on 2 cores, 0.72 with 3).
        workers=workers or config.workers or (os.cpu_count() or 1) + 1,
        queue=config.queue if queue is None else queue,
        timeout=timeout or project.timeout,
        memory_mib=project.memory_mib,
        max_rows=max_rows or config.max_rows,
        max_request_bytes=max_request_bytes or config.max_request_bytes,
        cors=config.cors,
        cache_mib=config.cache_mib if cache_mib is None else cache_mib,
    )
    graph = KnowledgeGraph(project, limits=Limits(options.timeout, options.memory_mib))
    store = graph._answering_path()  # built first when stale; an older build with a warning
    for note in graph.notices:
        click.echo(f"kg: {printable(note)}", err=True)
    for warning in graph.warnings:
        click.echo(f"Warning: {printable(warning)}", err=True)
    if not _loopback(host):
        click.echo(
            f"Warning: listening on {host}, not on loopback: anyone who can reach this "
            "machine can query the graph.",
            err=True,
        )
    log = access_log or (project.root / config.access_log if config.access_log else None)
    run(
        project,
        store,
        options,
        host=host,
        port=config.port if port is None else port,
        access_log=log,
        say=lambda line: click.echo(line, err=True),
    )
    graph.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise UsageError(f"--host {host!r} is not an IP address (or localhost).") from None
