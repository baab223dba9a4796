"""Linking kg's entities to Wikidata: propose, review, accept, reject, export.

Links live in an SSSOM mapping set, ``data/wikidata-links.sssom.tsv`` (:func:`links_path`),
loaded as a source like the Turtle files: each positive ``skos:exactMatch`` row becomes a
``kg:wikidata`` link, each row with ``predicate_modifier`` ``Not`` records a candidate
rejected for good. Candidates that need a person's eye wait in the review queue
(``[wikidata] queue`` in kg.toml, by default ``links/queue.sssom.tsv``), an SSSOM file
outside the data folders so that nothing in it is loaded.

- :func:`propose` reconciles unlinked entities (:mod:`kg.reconcile`); a candidate it
  accepts goes to the mapping set (``semapv:CompositeMatching``: a lexical match backed
  by an identifier, a date or a relation; confidence = score; the Wikidata revision seen
  in ``other``), the other candidates to the queue (``semapv:LexicalMatching``).
- :func:`review` lists the queue; :func:`accept` and :func:`reject` move a candidate
  from it to the mapping set, as a link or as a negative mapping, both
  ``semapv:ManualMappingCuration`` with the reviewer.
- :func:`export` gives the mapping set as SSSOM TSV, the bare table or SSSOM JSON.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kg import __version__
from kg.errors import UsageError, shown
from kg.namespaces import PREFIXES, compact
from kg.project import Project
from kg.reconcile import Decision, KgEntity, describe_entities, reconcile
from kg.sssom import Mapping, MappingSet, export_text, read_mapping_set, write_mapping_set
from kg.wikidata import WikidataClient

LINKS_FILE = "wikidata-links.sssom.tsv"
EXACT = "skos:exactMatch"
#: Candidates kept in the queue per entity (the best ones).
QUEUE_PER_ENTITY = 5
_LICENSE = "https://creativecommons.org/publicdomain/zero/1.0/"
_CURIES = {"ex": PREFIXES["ex"], "wd": PREFIXES["wd"], "orcid": "https://orcid.org/"}


@dataclass
class LinkRun:
    """What :func:`propose` did."""

    decisions: list[Decision] = field(default_factory=list)
    #: Entities asked for that are linked already (IRI, their QIDs).
    linked: list[tuple[str, list[str]]] = field(default_factory=list)
    #: Requests the cache could not answer (offline), for every entity of the run.
    not_cached: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def accepted(self) -> list[Decision]:
        return [d for d in self.decisions if d.accepted and not d.not_cached]

    @property
    def to_review(self) -> list[Decision]:
        return [d for d in self.decisions if not d.accepted and d.candidates and not d.not_cached]

    @property
    def undecided(self) -> list[Decision]:
        return [d for d in self.decisions if d.not_cached]


def links_path(project: Project) -> Path:
    """The mapping set: ``wikidata-links.sssom.tsv`` in the first data folder."""
    return project.data_dirs[0] / LINKS_FILE


def queue_path(project: Project) -> Path:
    return project.root / project.wikidata.queue


def _today() -> str:
    return dt.date.today().isoformat()


def _new_set(project: Project, *, queue: bool) -> MappingSet:
    what = "Candidate links to Wikidata awaiting review" if queue else "Links to Wikidata"
    return MappingSet(
        metadata={
            "curie_map": dict(_CURIES),
            "mapping_set_id": project.base + ("wikidata-link-queue" if queue else "wikidata-links"),
            "mapping_set_title": f"{what} ({project.name})",
            "mapping_set_description": (
                "Candidates found by 'kg link wikidata', to settle with 'kg link accept' or "
                "'kg link reject'. Not loaded into the graph."
                if queue
                else "Links from kg entities to Wikidata items (skos:exactMatch, loaded as "
                "kg:wikidata) and rejected candidates (predicate_modifier Not), with their "
                "justification. Written by 'kg link'."
            ),
            "license": _LICENSE,
        },
        mappings=[],
    )


def _read(path: Path, project: Project, *, queue: bool) -> MappingSet:
    if not path.exists():
        return _new_set(project, queue=queue)
    ms = read_mapping_set(path, shown_as=project.relative(path))
    for prefix, iri in _CURIES.items():  # prefixes kg writes must be declared
        ms.metadata.setdefault("curie_map", {}).setdefault(prefix, iri)
    return ms


def read_links(project: Project) -> MappingSet:
    """The project's mapping set (an empty one when the file does not exist yet)."""
    return _read(links_path(project), project, queue=False)


def read_queue(project: Project) -> MappingSet:
    return _read(queue_path(project), project, queue=True)


def _qid(text: str) -> str:
    """``Q42`` from ``Q42``, ``wd:Q42`` or the entity's IRI; UsageError otherwise."""
    match = re.fullmatch(
        r"(?:wd:|https?://www\.wikidata\.org/(?:entity|wiki)/)?(Q[1-9]\d*)", text.strip()
    )
    if not match:
        raise UsageError(
            f"{shown(text)} is not a Wikidata item identifier; write it as Q42 or wd:Q42."
        )
    return match.group(1)


def _subjects(ms: MappingSet, curie: str, *, negated: bool) -> list[Mapping]:
    return [m for m in ms.mappings if m.subject_id == curie and m.negated == negated]


# -- propose -------------------------------------------------------------------------------


def propose(
    graph,
    client: WikidataClient,
    entities: Iterable[str] | None = None,
    min_score: float | None = None,
    *,
    margin: float | None = None,
    progress: Callable[[int, int, Decision], None] | None = None,
) -> LinkRun:
    """Reconcile the unlinked entities of *graph* (or *entities*: IRIs, CURIEs or labels)
    and record the outcome: accepted links in the mapping set, the other candidates in
    the review queue (replacing the entity's earlier candidates there). Entities whose
    requests the cache could not answer (offline) are left as they were and listed in
    :attr:`LinkRun.not_cached`; with nothing answered, nothing is written."""
    project = graph.project
    config = project.wikidata
    min_score = config.min_score if min_score is None else min_score
    margin = config.margin if margin is None else margin
    links, queue = read_links(project), read_queue(project)
    described = {e.iri: e for e in describe_entities(graph)}
    linked_here = {m.subject_id for m in links.positive()}
    run = LinkRun()
    if entities is None:
        todo = [e for e in described.values() if not e.wikidata and e.curie not in linked_here]
    else:
        todo = []
        for text in entities:
            iri = graph.resolve(text)
            entity = described.get(iri) or KgEntity(iri)
            if entity.iri not in described:
                raise UsageError(
                    f"{shown(text)} ({compact(iri)}) is not an entity kg links (a state, "
                    "organisation, person, programme, operation, post or platform)."
                )
            done = sorted(
                set(entity.wikidata)
                | {
                    m.object_id.split(":", 1)[-1]
                    for m in _subjects(links, entity.curie, negated=False)
                }
            )
            if done:
                run.linked.append((iri, done))
            elif entity not in todo:
                todo.append(entity)
    known = {iri: list(e.wikidata) for iri, e in described.items()}
    for m in links.positive():
        iri = links.expand(m.subject_id) if ":" in (m.subject_id or "") else m.subject_id
        known.setdefault(iri, []).append((m.object_id or "").split(":", 1)[-1])
    today = _today()
    for number, entity in enumerate(todo, 1):
        rejected = {
            (m.object_id or "").split(":", 1)[-1]
            for m in _subjects(links, entity.curie, negated=True)
        }
        decision = reconcile(
            entity, client, min_score=min_score, margin=margin, rejected=rejected, known=known
        )
        run.decisions.append(decision)
        if progress:
            progress(number, len(todo), decision)
        if decision.not_cached:
            continue
        queue.mappings = [m for m in queue.mappings if m.subject_id != entity.curie]
        if decision.accepted:
            best = decision.accepted
            known.setdefault(entity.iri, []).append(best.qid)
            links.mappings = [
                m
                for m in links.mappings
                if not (m.subject_id == entity.curie and m.object_id == f"wd:{best.qid}")
            ]
            links.mappings.append(
                _mapping(entity, best, "semapv:CompositeMatching", today, decision.why)
            )
        else:
            for candidate in decision.candidates[:QUEUE_PER_ENTITY]:
                queue.mappings.append(
                    _mapping(entity, candidate, "semapv:LexicalMatching", today, decision.why)
                )
    run.not_cached = list(dict.fromkeys(client.misses))
    decided = [d for d in run.decisions if not d.not_cached]
    if any(d.accepted for d in decided):
        write_mapping_set(links_path(project), links)
        run.written.append(links_path(project))
    if decided:
        write_mapping_set(queue_path(project), queue)
        run.written.append(queue_path(project))
    return run


def _mapping(entity: KgEntity, candidate, justification: str, today: str, why: str) -> Mapping:
    other = [f"wikidata_revision={candidate.lastrevid}"] if candidate.lastrevid else []
    if candidate.redirected_from:
        other.append(f"redirected_from=wd:{candidate.redirected_from}")
    other.append("found_by=" + ",".join(candidate.found_by))
    comment = candidate.summary()
    if why and justification == "semapv:LexicalMatching":
        comment += f" | not accepted: {why}"
    return Mapping(
        subject_id=entity.curie,
        subject_label=entity.label,
        predicate_id=EXACT,
        object_id=f"wd:{candidate.qid}",
        object_label=candidate.label or None,
        mapping_justification=justification,
        mapping_tool="kg",
        mapping_tool_version=__version__,
        mapping_date=today,
        confidence=candidate.score,
        match_string=(candidate.match_string or "").replace("|", "/") or None,
        other="; ".join(other).replace("\t", " ") or None,
        comment=" ".join(comment.split()) or None,
    )


# -- review, accept, reject ----------------------------------------------------------------


def review(project: Project) -> list[Mapping]:
    """The queued candidates, by entity and then best first."""
    queue = read_queue(project)
    return sorted(queue.mappings, key=lambda m: (m.subject_id or "", -(m.confidence or 0)))


def _find_queued(project: Project, entity: str, qid: str) -> tuple[MappingSet, Mapping]:
    queue = read_queue(project)
    wanted = entity.strip()
    subjects = {
        m.subject_id
        for m in queue.mappings
        if wanted in (m.subject_id, m.subject_label)
        or (m.subject_label or "").casefold() == wanted.casefold()
        or _expand(queue, m.subject_id) == wanted.strip("<>")
    }
    rows = [m for m in queue.mappings if m.subject_id in subjects]
    for m in rows:
        if m.object_id == f"wd:{qid}":
            return queue, m
    if rows:
        listed = ", ".join(f"{m.object_id} ({m.object_label or '?'})" for m in rows)
        raise UsageError(
            f"wd:{qid} is not a queued candidate for {shown(entity)}; its candidates are "
            f"{listed}. See 'kg link review'."
        )
    raise UsageError(
        f"{shown(entity)} has no candidate in the review queue "
        f"({project.wikidata.queue}); run 'kg link wikidata {entity}' first, or see "
        "'kg link review'."
    )


def _expand(ms: MappingSet, curie: str | None) -> str:
    try:
        return ms.expand(curie or "")
    except KeyError:
        return curie or ""


def _reviewer(links: MappingSet, reviewer: str | None) -> str | None:
    if not reviewer:
        return None
    reviewer = reviewer.strip()
    match = re.fullmatch(r"https://orcid\.org/(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", reviewer)
    if match:
        return f"orcid:{match.group(1)}"
    prefix = reviewer.partition(":")[0]
    if ":" not in reviewer or prefix not in links.prefixes() or " " in reviewer:
        raise UsageError(
            f"--reviewer {shown(reviewer)} must be a CURIE with a prefix the mapping set "
            "declares, such as orcid:0000-0002-1825-0097 (or an ORCID address)."
        )
    return reviewer


def accept(project: Project, entity: str, qid: str, reviewer: str | None = None) -> Mapping:
    """Move a queued candidate to the mapping set as a link (manual curation). The
    entity's other candidates leave the queue; a negative mapping of the same pair is
    replaced. An entity linked already to another item is refused."""
    qid = _qid(qid)
    queue, row = _find_queued(project, entity, qid)
    links = read_links(project)
    others = [
        m for m in _subjects(links, row.subject_id, negated=False) if m.object_id != row.object_id
    ]
    if others:
        raise UsageError(
            f"{row.subject_id} is linked already to {others[0].object_id} in "
            f"{project.relative(links_path(project))}; an entity has one Wikidata item. "
            f"Remove that row first if it is wrong."
        )
    # a link settles the entity: its other candidates leave the queue too
    rest = [m for m in queue.mappings if m.subject_id != row.subject_id]
    return _settle(project, links, queue, row, rest, reviewer, "accepted")


def reject(project: Project, entity: str, qid: str, reviewer: str | None = None) -> Mapping:
    """Move a queued candidate to the mapping set as a negative mapping
    (``predicate_modifier`` Not), so that it is never proposed again."""
    qid = _qid(qid)
    queue, row = _find_queued(project, entity, qid)
    links = read_links(project)
    rest = [m for m in queue.mappings if m is not row]
    return _settle(
        project, links, queue, replace(row, predicate_modifier="Not"), rest, reviewer, "rejected"
    )


def _settle(project, links, queue, row, rest, reviewer, verdict: str) -> Mapping:
    """Record *row* in the mapping set as a person's decision (replacing any row for the
    same pair), and leave *rest* in the queue."""
    mapping = replace(
        row,
        mapping_justification="semapv:ManualMappingCuration",
        reviewer_id=_reviewer(links, reviewer),
        mapping_date=_today(),
        mapping_tool="kg",
        mapping_tool_version=__version__,
        comment=_reviewed(row.comment, verdict),
    )
    links.mappings = [
        m
        for m in links.mappings
        if not (m.subject_id == row.subject_id and m.object_id == row.object_id)
    ]
    links.mappings.append(mapping)
    write_mapping_set(links_path(project), links)
    queue.mappings = rest
    write_mapping_set(queue_path(project), queue)
    return mapping


def _reviewed(comment: str | None, verdict: str) -> str:
    features = (comment or "").split(" | not accepted:")[0]
    return f"{verdict} on review" + (f"; {features}" if features else "")


def export(project: Project, fmt: str) -> str:
    """The mapping set as ``sssom`` (TSV with its metadata), ``tsv`` or ``json``."""
    path = links_path(project)
    if not path.exists():
        raise UsageError(
            f"there is no mapping set yet ({project.relative(path)}); 'kg link wikidata' "
            "and 'kg link accept' write it."
        )
    return export_text(read_links(project), fmt)
