"""``kg push`` and the ``--endpoint`` of ``kg query`` / ``kg sparql``: thin commands over
:mod:`kg.push` and :mod:`kg.remote`. Errors become the messages and exit codes of
:mod:`kg.cli`: 2 for a usage mistake or an endpoint that cannot be reached or refuses,
124 for a time-out, and for ``kg push`` 1 when the counts differ after the upload."""

from __future__ import annotations

import sys

import click

from kg.errors import UsageError, printable
from kg.netauth import ENV_PASSWORD, ENV_TOKEN, ENV_USER


def _project(ctx: click.Context):
    from kg.project import Project

    root = (ctx.find_root().obj or {}).get("project")
    return Project.load(root) if root else Project.find()


def _refuse_engine(ctx: click.Context) -> None:
    if (ctx.find_root().obj or {}).get("engine", "oxigraph") != "oxigraph":
        raise UsageError("--endpoint answers from the remote store; leave --engine out.")


def endpoint_option(f):
    """``--endpoint URL``: answer from a SPARQL 1.1 endpoint instead of the local build."""
    return click.option(
        "--endpoint",
        metavar="URL",
        default=None,
        help="Answer from this SPARQL 1.1 query endpoint (e.g. one 'kg push' filled) "
        "instead of the local build, with the same parameter checks. Credentials come "
        f"from {ENV_USER}/{ENV_PASSWORD}, {ENV_TOKEN} or ~/.netrc, never from the URL.",
    )(f)


def remote_graph(ctx: click.Context, endpoint: str, timeout: float | None):
    """The project's graph answering from *endpoint*; each request gets *timeout* seconds
    (default: kg.toml's [query] timeout)."""
    from kg.graph import KnowledgeGraph
    from kg.remote import RemoteStore

    _refuse_engine(ctx)
    project = _project(ctx)
    # SERVICE may call what it may call locally: kg.toml's list and the Wikidata endpoint
    services = (*project.services, project.wikidata.sparql)
    store = RemoteStore(endpoint, timeout=timeout or project.timeout, services=services)
    return KnowledgeGraph(project, store=store)


@click.command()
@click.option(
    "--endpoint",
    required=True,
    metavar="URL",
    help="The SPARQL query URL, where the triples are counted after the upload (and "
    "where they go, unless --graph-store).",
)
@click.option(
    "--graph-store",
    metavar="URL",
    default=None,
    help="The Graph Store Protocol URL, when it is not --endpoint (Oxigraph: /store).",
)
@click.option(
    "--inferred/--no-inferred", default=True, show_default=True, help="Push the inferences."
)
@click.option(
    "--ontology/--no-ontology",
    default=True,
    show_default=True,
    help="Push the ontology (and the union graph, which holds it).",
)
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Triples per request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=86_400),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Time for each request.",
)
@click.pass_context
def push(
    ctx: click.Context,
    endpoint: str,
    graph_store: str | None,
    inferred: bool,
    ontology: bool,
    chunk: int,
    timeout: float,
):
    """Upload the compiled graph to a SPARQL 1.1 store, one named graph per source
    (plus the ontology, the union and the inferred graph), then compare triple counts.

    Uses the Graph Store Protocol: PUT replaces each graph, so pushing again is safe;
    failed requests are retried. The current build goes up (rebuilt first when an input
    changed), never an older one. Then 'kg query NAME --endpoint URL' answers there.
    Exit 0 when every count matches, 1 when one differs, 2 for an unusable endpoint,
    124 when it keeps timing out.

    \b
    Credentials, never on the command line:
        KG_TOKEN                    sent as a bearer token
        KG_USER and KG_PASSWORD     sent as HTTP Basic
        ~/.netrc (or $NETRC)        the 'machine' entry of the endpoint's host

    \b
    Example:
        kg push --endpoint http://localhost:7878/query --graph-store http://localhost:7878/store
        kg push --endpoint http://localhost:3030/kg/sparql --graph-store http://localhost:3030/kg/data
    """
    from kg.graph import KnowledgeGraph
    from kg.namespaces import compact

    if (ctx.find_root().obj or {}).get("engine", "oxigraph") != "oxigraph":
        raise UsageError("kg push uploads the compiled store; leave --engine out.")
    graph = KnowledgeGraph(_project(ctx))
    bar = click.progressbar(length=1, label="push", file=sys.stderr, hidden=not sys.stderr.isatty())
    seen = [0]

    def progress(done: int, total: int) -> None:
        bar.length = max(total, 1)
        bar.update(done - seen[0])
        seen[0] = done

    try:
        with bar:
            report = graph.push(
                endpoint,
                graph_store=graph_store,
                inferred=inferred,
                ontology=ontology,
                chunk=chunk,
                timeout=timeout,
                progress=progress,
            )
    finally:
        for note in graph.notices:
            click.echo(f"kg: {printable(note)}", err=True)
        for warning in graph.warnings:
            click.echo(f"Warning: {printable(warning)}", err=True)
    names = [compact(c.graph) for c in report.counts]
    width = max([len("graph"), *map(len, names)])
    click.echo(f"{'graph':{width}}  {'local':>9}  {'remote':>9}")
    for name, count in zip(names, report.counts, strict=True):
        mark = "" if count.ok else "  differs"
        click.echo(f"{printable(name):{width}}  {count.local:>9,}  {count.remote:>9,}{mark}")
    retries = f", {report.retries} retried" if report.retries else ""
    click.echo(
        f"pushed {report.triples:,} triples in {len(report.counts)} graphs "
        f"({report.requests} requests{retries})",
        err=True,
    )
    for g in report.removed:
        click.echo(f"kg: removed {compact(g)} from the endpoint: this build has none.", err=True)
    if report.extra:
        shown_extra = ", ".join(compact(g) for g in report.extra[:5])
        more = f" and {len(report.extra) - 5} more" if len(report.extra) > 5 else ""
        click.echo(
            f"Warning: the endpoint also holds {shown_extra}{more}, which this build does "
            "not have; 'kg query --endpoint' reads them too. Remove them (HTTP DELETE "
            "GRAPH-STORE?graph=IRI) or push to a dataset of kg's own.",
            err=True,
        )
    for warning in report.warnings:
        click.echo(f"Warning: {printable(warning)}", err=True)
    if report.mismatched:
        wrong = ", ".join(compact(c.graph) for c in report.mismatched)
        click.echo(
            f"Error: the endpoint's triple counts differ from the build's for {wrong}: "
            "something else writes to these graphs, or the store changed what it was "
            "given. Push again, or look at the graphs on the endpoint.",
            err=True,
        )
        ctx.exit(1)
