"""Candidates in Wikidata for a kg entity, each scored with the features that count.

For one kg entity (its labels and ``skos:altLabel``\\ s, kg classes, dates, relations to
linked entities, web address), :func:`reconcile`:

1. looks it up **by identifier** first: its ``kg:url`` as the item's official website
   (P856), through ``haswbstatement:P856=...`` in ``list=search``;
2. then **by text**, each of its first labels through both of Wikidata's search APIs
   (``wbsearchentities``, which matches labels and aliases by prefix, and
   ``list=search``, full text);
3. fetches every candidate (``wbgetentities``), following redirects;
4. resolves **types** through P31/P279*: a candidate whose direct P31 is one of the
   expected classes agrees at once; the others are asked of the query service in one
   SPARQL query per entity (``?item wdt:P31/wdt:P279* ?class`` over the candidates and
   the expected classes), which is cached like every answer. One query walks the
   hierarchy on the server; fetching class items level by level would cost a request
   per level and per branch;
5. **scores** each candidate from 0 to 1 (see :func:`score`), and accepts the best only
   when it is at least *min_score*, ahead of the runner-up by at least *margin*, and
   backed by more than its name and type (an identifier, a date or a relation). All
   other candidates go to review. A candidate the mapping set rejects (a negative
   mapping) is never proposed again.

The map from kg classes to Wikidata classes is :data:`TYPE_MAP`, the one place to change
it. A kg class it does not name gives no type evidence (neither agreement nor penalty).
Item and property identifiers (P31, P279, P571...) and the ``wd:``/``wdt:`` IRIs of the
type query are Wikidata's; another Wikibase needs its own.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from kg.namespaces import compact
from kg.wikidata import NotCached, WikidataClient, label_of, statements, value_of

KG = "https://w3id.org/kg-diplo/ontology#"
WD = "http://www.wikidata.org/entity/"

#: kg class -> (Wikidata classes an item must be an instance of, through P31/P279*;
#: what they are). The most specific kg class comes first: an entity takes the first
#: row whose class it has. Identifiers checked against Wikidata's items of those names.
TYPE_MAP: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (KG + "State", ("Q3624078", "Q6256"), "sovereign state / country"),
    (KG + "InternationalOrganisation", ("Q484652",), "international organization"),
    (KG + "Forum", ("Q484652", "Q43229"), "international organization / organization"),
    (KG + "Person", ("Q5",), "human"),
    (KG + "Operation", ("Q645883",), "military operation"),
    (KG + "Post", ("Q4164871", "Q294414"), "position / public office"),
    (KG + "Organisation", ("Q43229",), "organization"),
)
#: kg date properties -> the Wikidata properties that state the same date.
DATE_MAP: dict[str, tuple[str, ...]] = {
    KG + "foundingDate": ("P571", "P580"),
    KG + "startDate": ("P580", "P571"),
    KG + "endDate": ("P582", "P576"),
}
#: kg relations (to an entity with a Wikidata link) -> the Wikidata property.
RELATION_MAP: dict[str, str] = {
    KG + "memberOf": "P463",
    KG + "sendingState": "P17",
    KG + "holdsPost": "P39",
}
_RELATION_NAMES = {"P463": "member of (P463)", "P17": "country (P17)", "P39": "position held (P39)"}
#: Weights of the evidence beyond the name (summed, at most 1).
WEIGHTS = {"identifier": 1.0, "type": 0.6, "date": 0.4, "relation": 0.4}
#: Penalties (multipliers): a wrong type halves the score, as in OpenRefine.
PENALTIES = {"type": 0.5, "date": 0.6, "identifier": 0.3}
#: Labels of an entity searched for (its label first, then alternative labels).
MAX_LABELS = 3

_TOPS = ("Agent", "Programme", "Operation", "Post", "Platform")
_ENTITIES = f"""
PREFIX kg: <{KG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?e ?class WHERE {{
  VALUES ?top {{ {" ".join("kg:" + t for t in _TOPS)} }}
  ?e a ?class . ?class rdfs:subClassOf* ?top .
  FILTER(STRSTARTS(STR(?class), STR(kg:)))
}}"""
_FACTS = f"""
PREFIX kg: <{KG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?e ?p ?v WHERE {{
  VALUES ?p {{ rdfs:label skos:altLabel kg:foundingDate kg:startDate kg:endDate kg:url
              kg:wikidata kg:memberOf kg:sendingState kg:holdsPost }}
  ?e ?p ?v .
}}"""
_MEMBERSHIPS = f"""
PREFIX kg: <{KG}>
SELECT DISTINCT ?e ?org ?start WHERE {{
  ?m a kg:Membership ; kg:member ?e ; kg:organisation ?org .
  OPTIONAL {{ ?m kg:startDate ?start }}
}}"""


@dataclass
class KgEntity:
    """What kg knows of an entity that helps find it in Wikidata."""

    iri: str
    labels: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    #: kg date property IRI -> lexical values (``1992``, ``1992-03``, ``1992-03-01``).
    dates: dict[str, list[str]] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    #: (Wikidata property, IRI of the related kg entity, kg start date or "").
    related: list[tuple[str, str, str]] = field(default_factory=list)
    #: QIDs the entity is linked to already.
    wikidata: list[str] = field(default_factory=list)

    @property
    def curie(self) -> str:
        return compact(self.iri)

    @property
    def label(self) -> str:
        return self.labels[0] if self.labels else self.curie

    def expected_types(self) -> tuple[tuple[str, ...], str] | None:
        for cls, qids, what in TYPE_MAP:
            if cls in self.classes:
                return qids, what
        return None


@dataclass
class Candidate:
    """A Wikidata item proposed for an entity, its score and the features behind it."""

    qid: str
    label: str = ""
    description: str = ""
    score: float = 0.0
    #: feature -> what was seen, for people ("name": "exact label 'NATO'").
    features: dict[str, str] = field(default_factory=dict)
    #: Kinds of evidence beyond the name that agreed (identifier, type, date, relation).
    evidence: set[str] = field(default_factory=set)
    found_by: list[str] = field(default_factory=list)
    #: The kg label that matched (SSSOM match_string).
    match_string: str = ""
    lastrevid: int | None = None
    redirected_from: str = ""

    def summary(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.features.items())


@dataclass
class Decision:
    """The outcome for one entity: its candidates, best first, and the accepted one."""

    entity: KgEntity
    candidates: list[Candidate] = field(default_factory=list)
    accepted: Candidate | None = None
    #: Why the best was not accepted (or "" when it was, or when nothing was found).
    why: str = ""
    #: Requests the cache could not answer offline (the entity was not decided).
    not_cached: list[str] = field(default_factory=list)


def describe_entities(graph, iris: Iterable[str] | None = None) -> list[KgEntity]:
    """The linkable entities of *graph* (agents, programmes, operations, posts,
    platforms), or those of *iris*, sorted by IRI, with what kg knows of each."""
    found: dict[str, KgEntity] = {}
    for row in graph.sparql(_ENTITIES, inferred=True).rows:
        entity = found.setdefault(row[0].value, KgEntity(row[0].value))
        entity.classes.append(row[1].value)
    labels: dict[str, list[str]] = {}
    alt: dict[str, list[str]] = {}
    links: dict[str, list[str]] = {}
    facts = graph.sparql(_FACTS, inferred=True).rows
    for e, p, v in facts:
        if p.value == KG + "wikidata" and v.value.startswith(WD):
            links.setdefault(e.value, []).append(v.value[len(WD) :])
    for e, p, v in facts:
        entity = found.get(e.value)
        if entity is None:
            continue
        prop = p.value
        if prop.endswith("#label"):
            labels.setdefault(e.value, []).append(v.value)
        elif prop.endswith("#altLabel"):
            alt.setdefault(e.value, []).append(v.value)
        elif prop in DATE_MAP:
            entity.dates.setdefault(prop, []).append(v.value)
        elif prop == KG + "url":
            entity.urls.append(v.value)
        elif prop == KG + "wikidata":
            pass
        elif prop in RELATION_MAP:
            entity.related.append((RELATION_MAP[prop], v.value, ""))
    for e, org, start in graph.sparql(_MEMBERSHIPS, inferred=True).rows:
        entity = found.get(e.value)
        if entity is None or start is None:
            continue
        entity.related = [r for r in entity.related if r[:2] != ("P463", org.value)]
        entity.related.append(("P463", org.value, start.value))
    for iri, entity in found.items():
        entity.labels = sorted(set(labels.get(iri, []))) + sorted(
            set(alt.get(iri, [])) - set(labels.get(iri, []))
        )
        entity.wikidata = sorted(set(links.get(iri, [])))
        entity.dates = {k: sorted(set(v)) for k, v in entity.dates.items()}
        entity.urls = sorted(set(entity.urls))
        entity.related = sorted(set(entity.related))
    if iris is None:
        return [found[i] for i in sorted(found)]
    return [found[i] if i in found else KgEntity(i) for i in iris]


def reconcile(
    entity: KgEntity,
    client: WikidataClient,
    *,
    min_score: float = 0.95,
    margin: float = 0.1,
    rejected: Iterable[str] = (),
    known: dict[str, str] | None = None,
) -> Decision:
    """Find, fetch and score the candidates for *entity* (see the module's docstring).

    *rejected*: QIDs the mapping set says the entity is not (never proposed). *known*:
    kg entity IRI -> its QIDs (the graph's links and those made earlier in the same
    run), through which the entity's relations are compared. A request
    the cache cannot answer offline leaves the entity undecided, its misses listed.
    """
    decision = Decision(entity)
    rejected = set(rejected)
    relations: dict[str, list[tuple[str, str]]] = {}
    for prop, iri, start in entity.related:
        for qid in (known or {}).get(iri, []):
            relations.setdefault(prop, []).append((qid, start))
    try:
        found = _search(entity, client)
        ids = [q for q in found if q not in rejected]
        items = client.get_entities(ids) if ids else {}
        candidates: dict[str, Candidate] = {}
        fetched: dict[str, dict] = {}
        for asked, item in items.items():
            qid = item.get("id", asked)
            if qid in rejected:
                continue
            candidate = candidates.get(qid)
            if candidate is None:
                candidate = candidates[qid] = Candidate(
                    qid=qid,
                    label=label_of(item),
                    description=((item.get("descriptions") or {}).get("en") or {}).get("value", ""),
                    lastrevid=item.get("lastrevid"),
                )
                fetched[qid] = item
            candidate.found_by.extend(b for b in found[asked] if b not in candidate.found_by)
            if asked != qid:
                candidate.redirected_from = asked
        types = _types(entity, client, list(fetched.values()))
    except NotCached as exc:
        decision.not_cached = exc.missing
        return decision
    for candidate in candidates.values():
        score(entity, candidate, fetched[candidate.qid], types, relations)
    decision.candidates = sorted(candidates.values(), key=lambda c: (-c.score, c.qid))
    _decide(decision, min_score, margin)
    return decision


def _search(entity: KgEntity, client: WikidataClient) -> dict[str, list[str]]:
    """QID -> how it was found, identifiers first, then text through both APIs."""
    found: dict[str, list[str]] = {}

    def add(qid: str, how: str) -> None:
        if re.fullmatch(r"Q[1-9]\d*", qid or ""):
            found.setdefault(qid, []).append(how)

    missing: list[str] = []

    def ask(search, text: str, key: str, how: str) -> None:
        try:  # offline, every search is tried, so a run lists all that is missing
            hits = search(text)
        except NotCached as exc:
            missing.extend(exc.missing)
            return
        for hit in hits:
            add(hit.get(key, ""), how)

    for url in entity.urls:
        ask(client.search_text, f'haswbstatement:"P856={url}"', "title", "official website (P856)")
    for text in entity.labels[:MAX_LABELS]:
        ask(client.search_entities, text, "id", "wbsearchentities")
        ask(client.search_text, text, "title", "list=search")
    if missing:
        raise NotCached(missing)
    return found


def _types(entity: KgEntity, client: WikidataClient, items: list[dict]) -> dict[str, set[str]]:
    """QID -> the expected classes it is an instance of (through P31/P279*); only for
    items with a P31, and asked of the query service only when no direct P31 is one."""
    expected = entity.expected_types()
    if expected is None:
        return {}
    classes = set(expected[0])
    reached: dict[str, set[str]] = {}
    ask = []
    for item in items:
        direct = {value_of(s.get("mainsnak")) for s in statements(item, "P31")}
        reached[item["id"]] = direct & classes
        if direct and not direct & classes:
            ask.append(item["id"])
    if ask:
        query = (
            "PREFIX wd: <http://www.wikidata.org/entity/>\n"
            "PREFIX wdt: <http://www.wikidata.org/prop/direct/>\n"
            "SELECT ?item ?class WHERE {\n"
            f"  VALUES ?item {{ {' '.join('wd:' + q for q in sorted(ask))} }}\n"
            f"  VALUES ?class {{ {' '.join('wd:' + q for q in sorted(classes))} }}\n"
            "  ?item wdt:P31/wdt:P279* ?class .\n}"
        )
        answer = client.sparql(query)
        for row in (answer.get("results") or {}).get("bindings") or []:
            item = (row.get("item") or {}).get("value", "").rsplit("/", 1)[-1]
            cls = (row.get("class") or {}).get("value", "").rsplit("/", 1)[-1]
            if item in reached:
                reached[item].add(cls)
    return reached


def score(
    entity: KgEntity,
    candidate: Candidate,
    item: dict,
    types: dict[str, set[str]],
    relations: dict[str, list[tuple[str, str]]],
) -> float:
    """Score *candidate* for *entity*, filling its features; returns the score.
    *types*: QID -> expected classes reached; *relations*: Wikidata property ->
    [(QID of a related entity, kg start date)].

    ``score = 0.5 * name + 0.5 * min(1, evidence)``, where *name* is 1 for an exact
    label, 0.95 for an exact alias or a match that differs in case or accents only, and
    0.8 x similarity for a close one (similarity at least 0.8); *evidence* sums
    :data:`WEIGHTS` of what agrees: the official website (identifier), the type, each
    date within its precision, each relation. What disagrees multiplies the score by
    :data:`PENALTIES`: a wrong type halves it, a wrong date, a different website.
    """
    name, matched, how = _name(entity, item)
    candidate.match_string = matched
    candidate.features["name"] = how
    evidence = 0.0
    factor = 1.0

    website = [str(value_of(s.get("mainsnak")) or "") for s in statements(item, "P856")]
    if entity.urls and website:
        if {_norm_url(u) for u in entity.urls} & {_norm_url(u) for u in website}:
            evidence += WEIGHTS["identifier"]
            candidate.evidence.add("identifier")
            candidate.features["identifier"] = f"official website (P856) {website[0]} agrees"
        else:
            factor *= PENALTIES["identifier"]
            candidate.features["identifier"] = (
                f"official website (P856) {website[0]} differs from kg's {entity.urls[0]}"
            )

    expected = entity.expected_types()
    if expected is not None:
        direct = [value_of(s.get("mainsnak")) for s in statements(item, "P31")]
        agreed = types.get(item.get("id", ""), set())
        if agreed:
            evidence += WEIGHTS["type"]
            candidate.evidence.add("type")
            candidate.features["type"] = f"agrees ({' '.join(sorted(agreed))}: {expected[1]})"
        elif direct:
            factor *= PENALTIES["type"]
            candidate.features["type"] = (
                f"differs (P31 {' '.join(str(d) for d in direct)}, not a {expected[1]})"
            )
        else:
            candidate.features["type"] = "unknown (no P31)"

    for prop, values in entity.dates.items():
        seen = _wikidata_dates(item, DATE_MAP[prop])
        if not seen:
            continue
        local = prop.rsplit("#", 1)[-1]
        agree = [(p, t) for p, t in seen for v in values if _same_date(v, t)]
        if agree:
            evidence += WEIGHTS["date"]
            candidate.evidence.add("date")
            p, t = agree[0]
            candidate.features[f"date {local}"] = f"{p} {_show_time(t)} agrees with {values[0]}"
        else:
            factor *= PENALTIES["date"]
            p, t = seen[0]
            candidate.features[f"date {local}"] = (
                f"{p} {_show_time(t)} differs from kg's {', '.join(values)}"
            )

    for prop, related in relations.items():
        held = {value_of(s.get("mainsnak")): s for s in statements(item, prop)}
        for qid, start in related:
            if qid not in held:
                continue
            evidence += WEIGHTS["relation"]
            candidate.evidence.add("relation")
            note = "agrees"
            since = [
                value_of(q)
                for q in (held[qid].get("qualifiers") or {}).get("P580", [])
                if isinstance(value_of(q), dict)
            ]
            if start and since:
                same = "agrees" if _same_date(start, since[0]) else "differs"
                note += f" (start time P580 {_show_time(since[0])} {same} with kg's {start})"
            candidate.features[f"{_RELATION_NAMES.get(prop, prop)} {qid}"] = note

    total = (0.5 * name + 0.5 * min(1.0, evidence)) * factor
    candidate.score = round(total, 3)
    return candidate.score


def _decide(decision: Decision, min_score: float, margin: float) -> None:
    if not decision.candidates:
        decision.why = "no candidate found"
        return
    best = decision.candidates[0]
    runner = decision.candidates[1].score if len(decision.candidates) > 1 else 0.0
    if best.score < min_score:
        decision.why = f"best score {best.score:.2f} is below {min_score:g}"
    elif best.score - runner < margin:
        decision.why = (
            f"best score {best.score:.2f} is not {margin:g} ahead of the runner-up ({runner:.2f})"
        )
    elif not best.evidence - {"type"}:
        decision.why = "matched on name and type only (never accepted alone)"
    else:
        decision.accepted = best


def _name(entity: KgEntity, item: dict) -> tuple[float, str, str]:
    """(score, the kg label that matched, how) for the best of label and aliases."""
    labels = item.get("labels") or {}
    aliases = item.get("aliases") or {}
    names = [("label", (labels.get(lang) or {}).get("value", "")) for lang in ("en", "mul")]
    for lang in ("en", "mul"):
        names.extend(("alias", a.get("value", "")) for a in aliases.get(lang) or [])
    names.extend(
        (f"label ({lang})", (value or {}).get("value", ""))
        for lang, value in labels.items()
        if lang not in ("en", "mul")
    )
    names = [(k, v) for k, v in names if v]
    best = (0.0, entity.label, "no label or alias matches")
    for text in entity.labels:
        for kind, value in names:
            if value == text:
                found = (1.0 if kind == "label" else 0.95, text, f"exact {kind} {value!r}")
            elif _fold(value) == _fold(text):
                found = (0.95, text, f"{kind} {value!r} (case or accents differ)")
            else:
                ratio = difflib.SequenceMatcher(None, _fold(value), _fold(text)).ratio()
                if ratio < 0.8:
                    continue
                found = (round(0.8 * ratio, 3), text, f"close {kind} {value!r} ({ratio:.2f})")
            if found[0] > best[0]:
                best = found
    return best


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _norm_url(url: str) -> str:
    url = url.strip().lower()
    url = re.sub(r"^https?://(www\.)?", "", url)
    return url.rstrip("/")


def _wikidata_dates(item: dict, props: tuple[str, ...]) -> list[tuple[str, dict]]:
    return [
        (prop, value_of(s.get("mainsnak")))
        for prop in props
        for s in statements(item, prop)
        if isinstance(value_of(s.get("mainsnak")), dict)
    ]


def _parts(time: dict) -> tuple[list[int], int]:
    """A Wikidata time value as [year, month, day] and its precision (9 year, 10 month,
    11 day, 8 decade, 7 century)."""
    match = re.match(r"([+-]?\d+)-(\d\d)-(\d\d)", str(time.get("time", "")))
    if not match:
        return [], 0
    return [int(match.group(1)), int(match.group(2)), int(match.group(3))], int(
        time.get("precision", 11)
    )


def _same_date(kg_value: str, time: dict) -> bool:
    """Whether a kg date (``1992``, ``1992-03``, ``1992-03-01``) and a Wikidata time agree
    within the precision both have: a kg year matches any Wikidata date of that year, a
    Wikidata decade any kg year in it."""
    match = re.match(r"(-?\d{4,})(?:-(\d\d))?(?:-(\d\d))?", kg_value.strip())
    parts, precision = _parts(time)
    if not match or not parts:
        return False
    mine = [int(g) for g in match.groups() if g is not None]
    if precision < 9:  # decade (8), century (7), millennium (6)...
        span = 10 ** (9 - precision)
        return mine[0] // span == parts[0] // span
    depth = min(len(mine), precision - 8)
    return mine[:depth] == parts[:depth]


def _show_time(time: dict) -> str:
    parts, precision = _parts(time)
    if not parts:
        return "?"
    if precision <= 9:
        return f"{parts[0]}" + ("s" if precision < 9 else "")
    if precision == 10:
        return f"{parts[0]}-{parts[1]:02d}"
    return f"{parts[0]}-{parts[1]:02d}-{parts[2]:02d}"
