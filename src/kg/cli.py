"""The ``kg`` command line: declarations and rendering over :mod:`kg`'s library.

Each command parses options, calls one library function and renders; typed library
errors become one-paragraph messages and documented exit codes, never tracebacks:

    0    success (and, for ``kg validate``, the data conforms)
    1    the data violates its SHACL shapes
    2    unusable input or a usage mistake (bad Turtle, unknown query, parameter or format)
    3    an internal error (a bug: please report it; KG_DEBUG=1 shows the traceback)
    124  a query ran out of time (``--timeout``)
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from kg import __version__
from kg.cli_link import link
from kg.cli_remote import endpoint_option, push, remote_graph
from kg.cli_serve import serve
from kg.errors import Interrupted, KgError, QueryTextError, UsageError, printable, shown
from kg.results import FORMATS as RESULT_FORMATS
from kg.results import GRAPH_FORMATS

EXPORT_FORMATS = ("turtle", "json-ld", "nt", "nquads", "trig")
REPORT_FORMATS = ("text", "turtle", "json")


#: errno values that mean the output could not be written for want of room.
_OUTPUT_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class KgGroup(click.Group):
    """Turns library errors into messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Interrupted) as exc:
            _quiet_stdout()
            click.echo(f"Interrupted{': ' + str(exc) if str(exc) else '.'}", err=True)
            ctx.exit(Interrupted.exit_code)
        except KgError as exc:
            click.echo(f"Error: {printable(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # the reader went away (kg export | head): not an error
            _quiet_stdout()
            ctx.exit(0)
        except OSError as exc:
            if exc.errno not in _OUTPUT_FULL:
                return self._bug(ctx, exc)
            _quiet_stdout()  # flushing what is left at exit would fail again
            click.echo(
                f"Error: cannot write the output ({exc.strerror}): the disk is full or a "
                "file-size limit was reached. Free space and run the command again.",
                err=True,
            )
            ctx.exit(2)
        except Exception as exc:
            return self._bug(ctx, exc)

    def _bug(self, ctx: click.Context, exc: Exception):
        """A bug: say so plainly in one paragraph, keep the traceback for KG_DEBUG."""
        if os.environ.get("KG_DEBUG"):
            details = getattr(exc, "details", "")
            if details:  # the query worker's traceback, from the child process
                click.echo(details, err=True)
            raise exc
        click.echo(
            f"Internal error: {type(exc).__name__}: {printable(str(exc))[:2000]}\n"
            "This is a bug in kg; run again with KG_DEBUG=1 for details and report it.",
            err=True,
        )
        ctx.exit(3)


def _say(text: str) -> None:
    """A line for people, with control characters and escapes from the data shown
    escaped, never raw (a title could otherwise recolour or retitle the terminal)."""
    click.echo(printable(text))


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (CliRunner): nothing to silence
        pass


def _graph(ctx: click.Context, timeout: float | None = None):
    """The project's graph; queries run in a child process under the time and memory
    limits of kg.toml's [query] table (*timeout* overrides the time)."""
    from kg.graph import KnowledgeGraph
    from kg.project import Project
    from kg.worker import Limits

    root = ctx.obj.get("project")
    project = Project.load(root) if root else Project.find()
    limits = Limits(timeout=timeout or project.timeout, memory_mib=project.memory_mib)
    graph = KnowledgeGraph(project, engine=ctx.obj.get("engine", "oxigraph"), limits=limits)

    def report() -> None:
        for note in graph.notices:
            click.echo(f"kg: {printable(note)}", err=True)
        for warning in graph.warnings:
            click.echo(f"Warning: {printable(warning)}", err=True)

    ctx.call_on_close(report)
    return graph


def _emit(text: str | Iterable[str], output: Path | None, *, quiet: bool = False) -> None:
    """*text* to standard output (None or ``-``) or to *output* as a Unix tool writes it:
    a regular file (or a symlink's target) replaced atomically, a FIFO or device written
    to, a read-only file or a missing folder refused (see :func:`kg.fileio.write_output`).
    ``wrote PATH`` goes to standard error only for files, so a pipeline's data stays clean.
    """
    from kg.fileio import write_output

    said = write_output(output, text)
    if said and not quiet:
        click.echo(said, err=True)


def _refuse_protected(project, output: Path | None) -> None:
    """Refuse to write an output over what the project is made of (see
    :meth:`kg.project.Project.protected`)."""
    if output is None or str(output) == "-":
        return
    why = project.protected(output)
    if why:
        raise UsageError(f"will not write {shown(str(output))}: {why}. Choose another -o path.")


def _refuse_protected_here(output: Path | None) -> None:
    """``kg generate`` needs no project, but inside one it must not write over what the
    project is made of (a source may be regenerated)."""
    from kg.project import Project

    if output is None or str(output) == "-":
        return
    try:
        project = Project.find(output.parent if output.parent.is_dir() else None)
    except KgError:
        return
    why = project.protected(output, sources=False)
    if why:
        raise UsageError(f"will not write {shown(str(output))}: {why}. Choose another -o path.")


class _Progress:
    """Progress bars on standard error, one per build stage, for inputs worth waiting on."""

    def __init__(self, min_total: int = 5_000_000):
        self.min_total = min_total
        self.bars: dict[str, tuple[object, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < self.min_total or not sys.stderr.isatty():
            return
        if stage not in self.bars:
            bar = click.progressbar(length=total, label=f"{stage:9}", file=sys.stderr)
            bar.__enter__()
            self.bars[stage] = (bar, 0)
        bar, seen = self.bars[stage]
        bar.update(done - seen)
        self.bars[stage] = (bar, done)
        if done >= total:
            bar.__exit__(None, None, None)

    def close(self) -> None:
        for bar, _ in self.bars.values():
            bar.__exit__(None, None, None)
        self.bars.clear()


def view_option(f):
    """``--inferred/--asserted``: query the OWL RL closure (default) or the asserted triples."""
    return click.option(
        "--inferred/--asserted",
        default=True,
        show_default=True,
        help="Answer from the OWL RL closure, or from the asserted triples only.",
    )(f)


class _Finite(click.FloatRange):
    """A FloatRange that also refuses NaN (every comparison with NaN is false, so a
    plain range lets it through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail("nan is not a number.", param, ctx)
        return number


def timeout_option(f):
    """``--timeout SECONDS``: stop the query after that long (exit 124)."""
    return click.option(
        "--timeout",
        type=_Finite(min=0, min_open=True, max=86_400),
        default=None,
        metavar="SECONDS",
        help="Stop the query after SECONDS (exit 124). Default: 'timeout' under [query] in "
        "kg.toml, else 60.",
    )(f)


def _write_result(result, fmt: str | None) -> None:
    """Stream *result* to standard output as it arrives (bounded memory for any size),
    in *fmt* or the default for its kind; a format that cannot express it is refused
    before anything is written (see :func:`kg.results.output_format`)."""
    from kg.results import output_format, render_chunks

    fmt = output_format(result, fmt)
    # sys.stdout, not click.echo: echo strips escape sequences when not on a terminal
    # (the data formats must carry every character) and flushes on every call.
    out = sys.stdout
    for chunk in render_chunks(result, fmt, width=_table_width()):
        out.write(chunk)
    out.flush()


def _table_width() -> int | None:
    """The width the table fits into: $COLUMNS when it is set to a number, else the
    terminal's when standard output is one, else None (a pipe, a file, a test: cells
    are cut at kg.table.TABLE_CELL_MAX characters)."""
    import shutil

    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((0, 0)).columns or None
    return None


def results_format_option(f):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(RESULT_FORMATS + GRAPH_FORMATS),
        default=None,
        help="SELECT and ASK: table (the default, for people), or the W3C SPARQL results "
        "formats csv, tsv, json, xml (an ASK in csv/tsv is a column 'boolean'). CONSTRUCT "
        "and DESCRIBE: nt (N-Triples, the default) or turtle. A format that cannot hold "
        "the answer is refused (exit 2). The table fits $COLUMNS or the terminal.",
    )(f)


@click.group(cls=KgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (holding kg.toml). Default: the nearest one at or above the "
    "working directory.",
)
@click.option(
    "--engine",
    type=click.Choice(["oxigraph", "reference"]),
    default="oxigraph",
    show_default=True,
    help="oxigraph: the compiled store (kg build). reference: rdflib + owlrl + pyshacl in "
    "memory, slow, for checking answers.",
)
@click.pass_context
def cli(ctx: click.Context, project: Path | None, engine: str):
    """kg: a knowledge graph of states, organisations, programmes and diplomatic meetings.

    Facts live as Turtle in data/ (one file per source document), the ontology and
    SHACL shapes in ontology/, stored SPARQL queries in queries/. Start with:

    \b
        kg build                        compile the graph (automatic when inputs change)
        kg queries                      what the stored queries answer
        kg query memberships            run one with its default parameters
        kg validate                     check the data against the shapes

    Exit codes: 0 ok, 1 data violates the shapes, 2 bad input or usage, 3 internal error
    (a bug), 124 a query ran out of time, 130 interrupted (Ctrl-C).
    """
    ctx.ensure_object(dict)
    ctx.obj["project"] = project
    ctx.obj["engine"] = engine


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True
)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str):
    """Check the asserted data: the SHACL shapes, the closed vocabulary (every class
    and property declared in the ontology), one value per fact in each source.
    Sources that disagree on a date are reported as warnings.

    With PATHs (Turtle files or folders), check them in the context of the project:
    the report is what 'kg validate' would say with those files added (a file named
    like an existing source replaces it), limited to the problems that involve them.
    So a new source is checked against what it joins before you add it.

    Exit 0 conforms (warnings allowed), 1 violations, 2 unusable input.

    \b
    Example:
        kg validate
        kg validate ~/drafts/new-source.ttl
        kg validate --format json data/ref-nato-topics-49276.ttl
    """
    report = _graph(ctx).validate(paths or None)
    text = report.render(fmt)
    click.echo(printable(text) if fmt == "text" else text, nl=False)
    ctx.exit(0 if report.conforms else 1)


@cli.command()
@click.option("--allow-invalid", is_flag=True, help="Keep a build whose data violates the shapes.")
@click.option("--force", is_flag=True, help="Rebuild even when no input changed.")
@click.pass_context
def build(ctx: click.Context, allow_invalid: bool, force: bool):
    """Compile the project into its store: parse, validate, reason, index.

    The store (in .kg/, ignored by git) holds a named graph per source, the OWL RL
    closure, the validation report and a manifest of input hashes. Queries rebuild it
    by themselves when an input changed; run this to see the figures or to build ahead.
    A build is atomic: a failed or interrupted one leaves the last good store answering.
    Data that violates the shapes fails the build (exit 1) unless --allow-invalid.

    \b
    Example:
        kg build
        kg build --force
    """
    progress = _Progress()
    try:
        report = _graph(ctx).build(allow_invalid=allow_invalid, force=force, progress=progress)
    finally:
        progress.close()
    for note in report.notices:
        click.echo(f"kg: {printable(note)}", err=True)
    if report.skipped:
        click.echo(f"up to date: {report.store} ({report.summary()})")
    else:
        click.echo(f"built {report.store}: {report.summary()}")
    if report.violations:
        click.echo(
            f"Warning: kept despite {report.violations} violation(s); see 'kg validate'.",
            err=True,
        )


@cli.command()
@click.option("--triples", "-n", type=click.IntRange(min=1), required=True, help="How many.")
@click.option("--seed", "-s", type=int, default=1, show_default=True)
@click.option(
    "--violations",
    type=_Finite(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of meetings, memberships and tenures given one SHACL defect.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (atomically) instead of standard output.",
)
def generate(triples: int, seed: int, violations: float, output: Path | None):
    """Write a synthetic diplomatic graph in Turtle, deterministic for a seed.

    States, organisations, programmes, memberships over time, posts, meetings with
    participants and their sources, using the project's own ontology; with
    --violations, a known number of SHACL defects. Put the file in data/ (it describes
    itself as a source) to build and query it.

    \b
    Example:
        kg generate --triples 100000 --seed 7 -o data/synthetic.ttl
        kg generate -n 10000 --violations 0.05 > sample.ttl
    """
    import tempfile

    from kg.generate import generate as write_graph

    _refuse_protected_here(output)
    bar = click.progressbar(
        length=triples, label="generate", file=sys.stderr, hidden=not sys.stderr.isatty()
    )
    seen = [0]

    def progress(n: int) -> None:
        bar.update(min(n, triples) - seen[0])
        seen[0] = min(n, triples)

    # Spooled: kept in memory while small, on disk beyond that, so any -n fits.
    with (
        tempfile.SpooledTemporaryFile(max_size=64 << 20, mode="w+", encoding="utf-8") as buffer,
        bar,
    ):
        stats = write_graph(
            buffer, triples=triples, seed=seed, violations=violations, progress=progress
        )
        buffer.seek(0)
        _emit(iter(lambda: buffer.read(1 << 20), ""), output, quiet=True)
    click.echo(
        f"{stats.triples:,} triples, {stats.violations} injected violation(s)"
        + (
            f" ({', '.join(f'{k} {v}' for k, v in sorted(stats.by_kind.items()) if v)})"
            if stats.violations
            else ""
        ),
        err=True,
    )


@cli.command("queries")
@click.pass_context
def list_queries(ctx: click.Context):
    """List the stored queries with their summaries and parameters.

    \b
    Example:
        kg queries
    """
    found, broken = _graph(ctx).stored_queries_apart()
    queries = found.values()
    width = max((len(q.name) for q in queries), default=0)
    for query in queries:
        _say(f"{query.name.ljust(width)}  {query.summary}")
        for p in query.params:
            need = "required" if p.required else "optional"
            default = f", default {p.default}" if p.default is not None else ""
            _say(f"{'':{width}}    -p {p.name}=…  {p.type_label}, {need}{default}")
    for error in broken:  # listed after the others, which still work
        click.echo(f"Error: {printable(str(error))}", err=True)
    if broken:
        ctx.exit(2)


@cli.command()
@click.argument("name")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter value; an IRI parameter also takes a CURIE (ex:azerbaijan) or a "
    "label (Azerbaijan). Repeat for several.",
)
@results_format_option
@view_option
@timeout_option
@endpoint_option
@click.pass_context
def query(
    ctx: click.Context,
    name: str,
    params: tuple[str, ...],
    fmt: str,
    inferred: bool,
    timeout: float | None,
    endpoint: str | None,
):
    """Run the stored query NAME (see 'kg queries').

    Values are bound as typed RDF terms, never pasted into the query text. Each
    parameter has a default, so NAME alone shows what the query is for.

    \b
    Example:
        kg query memberships -p state=Azerbaijan
        kg query as-of -p date=1995-06-01 --format csv
        kg query memberships --endpoint http://localhost:7878/query
    """
    given: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(
                f"parameter {shown(item)} is not NAME=VALUE; write e.g. -p state=Azerbaijan."
            )
        if key in given:
            raise UsageError(
                f"parameter {shown(key)} is given twice ({shown(given[key])} and "
                f"{shown(value)}); give it once."
            )
        given[key] = value
    graph = remote_graph(ctx, endpoint, timeout) if endpoint else _graph(ctx, timeout)
    try:
        result = graph.run(name, given, inferred=inferred)
    except QueryTextError as exc:
        if exc.path is not None:
            raise
        path = graph.project.relative(graph.stored_query(name).path)
        raise QueryTextError(str(exc), path=path) from None
    _write_result(result, fmt)


@cli.command()
@click.argument("text", required=False)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.File("rb"),
    help="Read the query from FILE ('-' for standard input), in UTF-8.",
)
@results_format_option
@view_option
@timeout_option
@endpoint_option
@click.pass_context
def sparql(
    ctx: click.Context,
    text: str | None,
    file,
    fmt: str,
    inferred: bool,
    timeout: float | None,
    endpoint: str | None,
):
    """Run an ad-hoc read-only SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE).

    Updates (INSERT, DELETE, LOAD...) are refused: the Turtle files are the truth.
    The prefixes kg:, ex:, rdfs:, schema:, org:, prov:... are predeclared.
    SELECT and ASK answer as a table, csv, tsv, json or xml; CONSTRUCT and DESCRIBE
    as N-Triples (nt) or turtle. FROM and FROM NAMED may name the sources' graphs
    (ex:<file stem>, see kg stats) and the ontology (kgg:ontology); the query then reads
    those graphs only, without inferences. Any other graph is refused (exit 2).

    \b
    Example:
        kg sparql 'SELECT ?s WHERE { ?s a kg:State }'
        kg sparql -f my-question.rq --format json
        kg sparql 'CONSTRUCT WHERE { ex:nato ?p ?o }' --format turtle
        kg sparql 'SELECT * WHERE { ?s a kg:State }' --endpoint http://localhost:7878/query
    """
    if (text is None) == (file is None):
        raise UsageError("give the query as an argument or with -f FILE, not both or neither.")
    query_text = text if text is not None else _read_query(file)
    graph = remote_graph(ctx, endpoint, timeout) if endpoint else _graph(ctx, timeout)
    try:
        result = graph.sparql(query_text, inferred=inferred, prefixes=True)
    except QueryTextError as exc:
        if file is None or exc.path is not None:
            raise
        raise QueryTextError(str(exc), path=_query_file_name(file)) from None
    _write_result(result, fmt)


def _read_query(file) -> str:
    """The query text of ``-f FILE`` (see :func:`kg.queries.decode_query`)."""
    from kg.queries import MAX_QUERY_BYTES, decode_query

    return decode_query(file.read(MAX_QUERY_BYTES + 1), _query_file_name(file))


def _query_file_name(file) -> str:
    name = getattr(file, "name", "<stdin>")
    return "standard input" if name in ("<stdin>", "-") else name


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default=None,
    help="Default: from the -o file's extension (.ttl .jsonld .nt .nq .trig; another "
    "extension is refused), else turtle.",
)
@click.option("--inferred", is_flag=True, help="Include the OWL RL inferences.")
@click.option("--ontology", is_flag=True, help="Include the ontology's triples.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (atomically: a failed export leaves an old FILE intact).",
)
@click.option(
    "--gzip",
    "compress",
    is_flag=True,
    help="Compress with gzip, for bulk loaders (implied by an -o name ending in .gz).",
)
@click.option(
    "--as-pushed",
    is_flag=True,
    help="N-Quads or TriG of every graph 'kg push' uploads (sources, ontology, their "
    "union, inferences): load it into a SPARQL store and 'kg query --endpoint' answers "
    "there as here.",
)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str | None,
    inferred: bool,
    ontology: bool,
    output: Path | None,
    compress: bool,
    as_pushed: bool,
):
    """Export the graph as Turtle, JSON-LD, N-Triples, N-Quads or TriG.

    By default the asserted facts of every source; add --inferred and --ontology for
    more. N-Quads and TriG keep one named graph per source document; the others hold
    the union. JSON-LD is compacted with the shipped @context; nothing is fetched.

    \b
    Example:
        kg export --format json-ld -o kg.jsonld
        kg export --format trig --inferred
        kg export --format nquads --as-pushed -o kg.nq.gz
    """
    from kg.export import format_for, gzipped

    fmt = format_for(fmt, output)
    compress = compress or (output is not None and output.suffix.lower() == ".gz")
    if compress and (output is None or str(output) == "-") and sys.stdout.isatty():
        raise UsageError("--gzip writes binary data; give -o FILE or pipe the output.")
    graph = _graph(ctx)
    _refuse_protected(graph.project, output)
    text = graph.export_chunks(fmt, inferred=inferred, ontology=ontology, as_pushed=as_pushed)
    _emit(gzipped(text) if compress else text, output)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE, e.g. ontology/context.jsonld (the file kg.toml names).",
)
@click.pass_context
def context(ctx: click.Context, output: Path | None):
    """Print the JSON-LD @context derived from the ontology.

    Run it after changing the ontology and save it where kg.toml's 'context' points;
    a test fails while the shipped context and the ontology disagree.

    \b
    Example:
        kg context -o ontology/context.jsonld
    """
    import json

    graph = _graph(ctx)
    _refuse_protected(graph.project, output)
    _emit(json.dumps(graph.context(), indent=2, ensure_ascii=False) + "\n", output)


@cli.command()
@click.pass_context
def stats(ctx: click.Context):
    """Count triples (asserted by the sources, in the ontology, inferred), entities by
    class, and each source's triples.

    \b
    Example:
        kg stats
    """
    s = _graph(ctx).stats()
    sources = len(s["sources"])
    _say(
        f"triples asserted: {s['asserted']} (by {sources} source{'s' if sources != 1 else ''}; "
        "a triple stated by several counts once)"
    )
    _say(f"triples in the ontology: {s['ontology']}")
    _say(f"triples inferred: {s['inferred']}")
    _say("entities by class (asserted):")
    for cls, n in s["classes"]:
        _say(f"  {n:5d}  {cls}")
    _say("sources:")
    for src in s["sources"]:
        _say(f"  {src['triples']:5d}  {src['source']}  {src['file']}  {src['title']}")


cli.add_command(link)
cli.add_command(push)
cli.add_command(serve)


def main() -> None:
    """Console entry point."""
    sys.exit(cli.main(standalone_mode=True))


if __name__ == "__main__":
    main()
