"""``kg link``: thin commands over :mod:`kg.link` (find, review, settle and export links
to Wikidata). Errors become one-paragraph messages and the exit codes of :mod:`kg.cli`:
2 for a usage mistake, an unreachable or failing Wikidata, or requests not cached when
``--offline``."""

from __future__ import annotations

from pathlib import Path

import click

from kg.errors import printable

EXPORT_FORMATS = ("sssom", "tsv", "json")


def _project(ctx: click.Context):
    from kg.project import Project

    root = (ctx.find_root().obj or {}).get("project")
    return Project.load(root) if root else Project.find()


def _say(text: str, *, err: bool = False) -> None:
    click.echo(printable(text), err=err)


@click.group("link")
def link():
    """Link kg's entities to Wikidata items, and keep the links as an SSSOM mapping set.

    \b
    The workflow:
        kg link wikidata            find candidates for unlinked entities; accept the clear ones
        kg link review              show the candidates waiting for a person
        kg link accept ENTITY QID   settle one as a link
        kg link reject ENTITY QID   settle one as not a match (never proposed again)
        kg link export              the mapping set as SSSOM TSV or JSON
        kg link check               kg's facts about linked entities against Wikidata's

    Links are kept in data/wikidata-links.sssom.tsv (loaded as kg:wikidata), candidates
    in the review queue ([wikidata] queue in kg.toml). Every answer of Wikidata is cached
    in .kg/cache/wikidata/, so a run with --offline repeats a run without network.
    """


@link.command("wikidata")
@click.argument("entities", nargs=-1)
@click.option(
    "--offline", is_flag=True, help="Answer from the cache only; list what is not cached."
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=None,
    help="Accept a candidate from this score (default: min_score under [wikidata], 0.95).",
)
@click.pass_context
def wikidata(ctx: click.Context, entities: tuple[str, ...], offline: bool, min_score):
    """Find Wikidata items for ENTITY... (IRIs, CURIEs or labels; default: every
    unlinked entity), score them, record the clear matches and queue the rest.

    A candidate is accepted when its score reaches --min-score, it is ahead of the
    runner-up by [wikidata] margin, and more than its name and type agree (its official
    website, a date, a relation). Progress goes to standard error. Exit 2 when Wikidata
    cannot be reached or, with --offline, when answers are not cached (the entities
    answered are recorded; the others are listed).

    \b
    Example:
        kg link wikidata
        kg link wikidata ex:nacc "Boris Ruge" --offline
    """
    from kg.cli import _graph
    from kg.link import propose
    from kg.wikidata import NotCached, WikidataClient

    graph = _graph(ctx)
    client = WikidataClient.for_project(graph.project, offline=offline)

    def progress(number: int, total: int, decision) -> None:
        entity = decision.entity
        head = f"[{number}/{total}] {entity.label} ({entity.curie}): "
        if decision.not_cached:
            _say(head + "not cached", err=True)
        elif decision.accepted:
            best = decision.accepted
            _say(head + f"accepted wd:{best.qid} {best.label!r} ({best.score:.2f})", err=True)
        elif decision.candidates:
            best = decision.candidates[0]
            _say(
                head + f"to review, {len(decision.candidates)} candidate(s), best wd:{best.qid} "
                f"({best.score:.2f}): {decision.why}",
                err=True,
            )
        else:
            _say(head + "no candidate found", err=True)

    run = propose(graph, client, list(entities) or None, min_score, progress=progress)
    for iri, qids in run.linked:
        from kg.namespaces import compact

        _say(f"{compact(iri)} is linked already ({', '.join('wd:' + q for q in qids)}).", err=True)
    for decision in run.accepted:
        best = decision.accepted
        _say(
            f"accepted: {decision.entity.curie} -> wd:{best.qid} {best.label!r} "
            f"({best.score:.2f}; {best.summary()})"
        )
    _say(
        f"accepted {len(run.accepted)}, to review {len(run.to_review)}, "
        f"not cached {len(run.undecided)}"
    )
    if run.to_review:
        _say("See the candidates with 'kg link review'.")
    for path in run.written:
        _say(f"wrote {graph.project.relative(path)}", err=True)
    if run.not_cached:
        raise NotCached(run.not_cached)


@link.command("review")
@click.pass_context
def review_command(ctx: click.Context):
    """Show the candidates waiting in the review queue, with their features.

    \b
    Example:
        kg link review
    """
    from kg.link import review

    rows = review(_project(ctx))
    if not rows:
        _say("The review queue is empty.")
        return
    subject = None
    for row in rows:
        if row.subject_id != subject:
            subject = row.subject_id
            _say(f"{row.subject_id} {row.subject_label or ''}".rstrip())
        score = f"{row.confidence:.2f}" if row.confidence is not None else "?"
        _say(f"  {row.object_id:<14} {score}  {row.object_label or ''}")
        features, _, why = (row.comment or "").partition(" | ")
        for part in features.split("; "):
            if part:
                _say(f"      {part}")
        if why:
            _say(f"      ({why})")
    _say("Settle each with 'kg link accept ENTITY QID' or 'kg link reject ENTITY QID'.")


def _reviewer_option(f):
    return click.option(
        "--reviewer",
        metavar="ID",
        default=None,
        help="Who reviewed it: a CURIE such as orcid:0000-0002-1825-0097.",
    )(f)


@link.command("accept")
@click.argument("entity")
@click.argument("qid")
@_reviewer_option
@click.pass_context
def accept_command(ctx: click.Context, entity: str, qid: str, reviewer: str | None):
    """Accept the queued candidate QID for ENTITY (its CURIE or label): it becomes a
    link in the mapping set, and the entity's other candidates leave the queue.

    \b
    Example:
        kg link accept ex:nacc Q123 --reviewer orcid:0000-0002-1825-0097
    """
    from kg.link import accept

    mapping = accept(_project(ctx), entity, qid, reviewer)
    _say(f"linked {mapping.subject_id} to {mapping.object_id} ({mapping.object_label or '?'}).")


@link.command("reject")
@click.argument("entity")
@click.argument("qid")
@_reviewer_option
@click.pass_context
def reject_command(ctx: click.Context, entity: str, qid: str, reviewer: str | None):
    """Reject the queued candidate QID for ENTITY: it is recorded as a negative mapping
    (predicate_modifier Not) and never proposed again.

    \b
    Example:
        kg link reject ex:nacc Q123
    """
    from kg.link import reject

    mapping = reject(_project(ctx), entity, qid, reviewer)
    _say(
        f"recorded that {mapping.subject_id} is not {mapping.object_id} "
        f"({mapping.object_label or '?'}); it will not be proposed again."
    )


@link.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="sssom",
    show_default=True,
    help="sssom: TSV with its YAML metadata; tsv: the table only; json: SSSOM JSON.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (atomically) instead of standard output.",
)
@click.pass_context
def export_command(ctx: click.Context, fmt: str, output: Path | None):
    """Export the mapping set (links and rejected candidates).

    \b
    Example:
        kg link export --format json -o links.json
    """
    from kg.cli import _emit, _refuse_protected
    from kg.link import export

    project = _project(ctx)
    _refuse_protected(project, output)
    _emit(export(project, fmt), output)


@link.command("check")
@click.option(
    "--offline", is_flag=True, help="Answer from the cache only; list what is not cached."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
)
@click.pass_context
def check_command(ctx: click.Context, offline: bool, fmt: str):
    """Compare kg's facts about linked entities with Wikidata's statements.

    For each fact kg holds between linked entities (memberships and programme
    participations with their dates, founding dates, successions, posts held), the
    matching statement of the Wikidata item (P463 with P580/P582, P571, P1365/P1366,
    P39) is found and compared, dates by their precision (1992 agrees with 1992-03).
    Prints agreements, disagreements and facts only one side has, each with its
    sources, and links whose item was merged (redirected) or deleted.

    Exit 0 when nothing disagrees, 1 when something does or a link is broken (so it can
    run in CI), 2 when Wikidata cannot be reached or, with --offline, answers are not
    cached (listed).

    \b
    Example:
        kg link check
        kg link check --offline --format json
    """
    from kg.cli import _graph
    from kg.linkcheck import check
    from kg.wikidata import WikidataClient

    graph = _graph(ctx)
    client = WikidataClient.for_project(graph.project, offline=offline)
    report = check(graph, client)
    text = report.render(fmt)
    click.echo(printable(text) if fmt == "text" else text, nl=False)
    ctx.exit(report.exit_code)
