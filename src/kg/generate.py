"""Synthetic kg data of any size, with an exact number of known defects on request.

Why: ``data/`` holds a handful of hand-modelled sources, too few to measure loading, reasoning,
querying and validation at scale or to prove that each kind of defect is caught. This writes one
Turtle document with the modelling patterns of ``data/`` and ``docs/modelling.md`` (n-ary
memberships, programme participations, tenures, meetings with participation nodes, successions,
support; every entity typed and labelled @en) that conforms to ``ontology/shapes.ttl``.

The graph: a backbone sized from the target (up to 300 states with ministries, 210 organisations
and forums with programmes, some succeeded by others, missions, posts held by people over time,
memberships, media outlets), then meetings (2-4 participants, each in a post and representing a
state or organisation) reported in news articles, press releases and X posts: most triples.
Meeting groups are added until the target is reached; the first whole group at or past it ends
the file (tiny targets are dominated by the minimal backbone).

Defects: ``violations`` is a rate in [0, 1] applied separately to meetings, memberships and
tenures in generation order by error diffusion (about ``n * rate`` of n such nodes, rounded,
evenly spread); the defect kind cycles round-robin over the kinds that fit the node, shaped so
that each gives exactly one pyshacl result (so ``violations`` in the stats = results reported):

* kg:Meeting: ``state-as-participant``, ``single-participant``, ``missing-label``
* kg:Membership: ``end-before-start``, ``member-of-itself``, ``bad-date`` (no end date then)
* kg:Tenure: ``missing-label``, ``bad-date`` (kg:startDate as xsd:string, no end date)

Output: a prefix block, then one triple per line from plain f-strings (no rdflib: a million
triples take seconds). No files, clock or global randomness: same arguments, same bytes.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

KG = "https://w3id.org/kg-diplo/ontology#"
EX = "https://w3id.org/kg-diplo/id/"
MEETING_KINDS = ("state-as-participant", "single-participant", "missing-label")
MEMBERSHIP_KINDS = ("end-before-start", "member-of-itself", "bad-date")
TENURE_KINDS = ("missing-label", "bad-date")
KINDS = tuple(dict.fromkeys(MEETING_KINDS + MEMBERSHIP_KINDS + TENURE_KINDS))
REPORT_EVERY = 50_000
LAST_YEAR = 2025
_PREFIXES = (
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
)
#: What meetings need of a post: CURIE, represented agent, body issuing press releases,
#: the start years of its tenures and their holders (CURIE, name).
_Post = tuple[str, str, str, list[int], list[tuple[str, str]]]


def _words(text: str) -> list[str]:
    """Name parts, one string each, so the vocabulary stays short to read."""
    return text.split()


_FIRST = _words(
    "Amir Anna Boris Chen Dana Elif Farid Giulia Hana Ivan Jana Karim Lena Marco Nadia Omar Petra "
    "Ravi Sara Tomas Uma Viktor Yara Zoltan Aida Bruno Carmen Dmitri Emre Freya Goran Ines Jonas "
    "Leila Mateo Nora Pablo Rania Sven Tariq"
)
_LAST = _words(
    "Aliyev Berg Costa Dumas Eriksen Fischer Garcia Haddad Ivanova Jensen Kowalski Larsen Mendes "
    "Novak Okafor Petrov Quist Rossi Schmidt Tanaka Usman Varga Weber Yilmaz Zhou Abbasi Bauer "
    "Celik Demir Engel Ferreira Gruber Horvat Ito Kaya Lopez Moreau Nielsen Oliveira Popescu"
)
_SYL1 = _words("Val Kor Mar Ostr Bel Tar Zan Lor Ser Dun Ar Vel Nor Cal Est Ruth Mol Sab Tor Lys")
_SYL2 = ["a", "e", "i", "o", "ova", "ari", "en", "il", ""]
_SYL3 = _words("nia land stan ria via dor mark gia thia ca")
_REGIONS = _words(
    "Northern Southern Atlantic Pacific Baltic Andean Sahel Caspian Alpine Arctic Danubian "
    "Mekong Caribbean Balkan Nordic Gulf Levantine Euro-Atlantic Adriatic Pontic"
)
_THEMES = _words(
    "Security Trade Maritime Energy Development Health Customs Migration Water Cyber Transport "
    "Agricultural"
)
_IO_KINDS = ("Organisation", "Treaty Organisation", "Union", "Agency", "Commission", "Alliance")
_FORUM_KINDS = ("Cooperation Council", "Partnership Council", "Dialogue Forum", "Conference")
_PROGRAMMES = ("Partnership for {}", "{} Action Plan", "{} Capacity Building Programme")
_MEDIA = _words("Daily Global Continental Independent National Evening Morning Regional World")
_PAPERS = _words("Courier Herald Observer Dispatch Times Gazette Wire Monitor Telegraph Post")
_DOCS = (("NewsArticle", "article"), ("WebPage", "page"), ("SocialMediaPost", "x-post"))
_ESC = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _lit(text: str) -> str:
    """A Turtle string body: names are generated, but escaping keeps any text safe."""
    return text.translate(_ESC)


def _when(rng: random.Random, year: int) -> str:
    """A date literal in *year* at the precision a source might give (day, month or year)."""
    r = rng.random()
    if r < 0.5:
        return f'"{year:04d}"^^xsd:gYear'
    if r < 0.8:
        return f'"{year:04d}-{rng.randint(1, 12):02d}"^^xsd:gYearMonth'
    return f'"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"^^xsd:date'


def _scaled(n: int, per: int, lo: int, hi: int) -> int:
    """How many of some backbone entity a target of *n* triples gets (lo shrinks when tiny)."""
    return max(min(lo, max(2, n // 600)), min(hi, n // per))


@dataclass
class GenerateStats:
    """What :func:`generate` wrote; every number is exact, so callers and tests can compare."""

    triples: int
    violations: int
    by_kind: dict[str, int] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)


class _Defects:
    """Decides, node by node, whether and how to break it (error diffusion, round-robin kind)."""

    def __init__(self, rate: float, kinds: tuple[str, ...], tally: dict[str, int]) -> None:
        self.rate, self.kinds, self.tally = rate, kinds, tally
        self.acc, self.turn = 0.5, 0

    def next(self) -> str | None:
        """The defect for the next node, or None to keep it valid."""
        if self.rate <= 0.0:
            return None
        self.acc += self.rate
        if self.acc < 1.0:
            return None
        self.acc -= 1.0
        kind = self.kinds[self.turn % len(self.kinds)]
        self.turn += 1
        self.tally[kind] += 1
        return kind


class _Gen:
    """The output buffer, counters, and the entities that later parts refer to."""

    def __init__(self, out: TextIO, seed: int, target: int, rate: float) -> None:
        self.out, self.rng, self.target = out, random.Random(seed), target
        self.progress: Callable[[int], None] | None = None
        self.buf: list[str] = []
        self.w = self.buf.append
        self.flushed, self.next_report, self.reported = 0, REPORT_EVERY, 0
        self.entities: dict[str, int] = {}
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.d_meeting = _Defects(rate, MEETING_KINDS, self.by_kind)
        self.d_membership = _Defects(rate, MEMBERSHIP_KINDS, self.by_kind)
        self.d_tenure = _Defects(rate, TENURE_KINDS, self.by_kind)
        self.used: set[str] = set()  # names taken (only tested, never iterated)
        self.n_membership = self.n_person = 0
        # Years with meetings: small graphs cover recent years only, so holders stay few.
        self.span = max(5, min(30, target // 30000))
        self.states: list[tuple[str, str]] = []  # CURIE, name
        self.orgs: list[tuple[str, str, str, int, bool]] = []  # CURIE, name, acronym, founded, IO
        self.posts: list[tuple[str, str, str, str, str | None]] = []  # +label, postIn, honorific
        self.media: list[tuple[str, list[str]]] = []  # outlet, its journalists
        self.topics: list[tuple[str, str]] = []  # CURIE, theme
        self.succ_of: dict[int, tuple[int, int]] = {}  # predecessor -> (successor, year)

    def flush(self) -> None:
        """Write the buffer out; report progress each time another ~50k triples are done."""
        self.out.write("".join(self.buf))
        self.flushed += len(self.buf)
        self.buf.clear()
        if self.progress is not None and self.flushed >= self.next_report:
            self.progress(self.flushed)
            self.reported = self.flushed
            self.next_report = (self.flushed // REPORT_EVERY + 1) * REPORT_EVERY

    def decl(self, s: str, cls: str, label: str | None) -> None:
        """Type *s* as kg:*cls* and label it (None: deliberately unlabelled)."""
        self.w(f"{s} a kg:{cls} .\n")
        if label is not None:
            self.w(f'{s} rdfs:label "{_lit(label)}"@en .\n')
        self.entities[cls] = self.entities.get(cls, 0) + 1

    def unique(self, make: Callable[[], str]) -> str:
        """A generated name not used before (labels read better when they differ)."""
        while (name := make()) in self.used:
            pass
        self.used.add(name)
        return name

    def person(self, honorific: str | None = None) -> tuple[str, str]:
        """Declare a new person; return (CURIE, name)."""
        self.n_person += 1
        s, rng = f"ex:person-{self.n_person}", self.rng
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        self.decl(s, "Person", name)
        if honorific:
            self.w(f'{s} kg:honorific "{honorific}" .\n')
        return s, name

    def membership(self, state: int, org: int, start: int, end: int | None) -> None:
        """One kg:Membership of a state in an organisation, perhaps with one defect."""
        self.n_membership += 1
        s, w, rng = f"ex:membership-{self.n_membership}", self.w, self.rng
        (member, mname), (o, oname) = self.states[state], self.orgs[org][:2]
        if (kind := self.d_membership.next()) == "member-of-itself":
            member, mname = o, oname
        self.decl(s, "Membership", f"{mname}'s membership of the {oname}")
        w(f"{s} kg:member {member} .\n")
        w(f"{s} kg:organisation {o} .\n")
        if kind == "bad-date":  # text, not a date; no end, so only the datatype check fires
            w(f'{s} kg:startDate "{start}"^^xsd:string .\n')
            return
        w(f"{s} kg:startDate {_when(rng, start)} .\n")
        if kind == "end-before-start":
            w(f'{s} kg:endDate "{start - rng.randint(1, 5)}"^^xsd:gYear .\n')
        elif end is not None:
            w(f"{s} kg:endDate {_when(rng, end)} .\n")

    def agents(self) -> list[tuple[str, str, int]]:
        """States and their ministries, organisations and forums, successions, programmes.

        Returns the programmes (CURIE, label, index of the organisation, first year).
        """
        rng, w, decl, n, posts = self.rng, self.w, self.decl, self.target, self.posts
        for i in range(1, _scaled(n, 3000, 12, 300) + 1):
            name = self.unique(lambda: rng.choice(_SYL1) + rng.choice(_SYL2) + rng.choice(_SYL3))
            s, mfa = f"ex:state-{i}", f"ex:state-{i}-mfa"
            decl(s, "State", name)
            decl(mfa, "Organisation", f"Ministry of Foreign Affairs of {name}")
            self.states.append((s, name))
            for j, title in enumerate(("Minister", "Deputy Minister"), 1):
                label = f"{title} of Foreign Affairs of {name}"
                posts.append((f"{mfa}-post-{j}", s, label, mfa, None))
        n_io = _scaled(n, 6000, 6, 150)
        for i in range(1, n_io + _scaled(n, 15000, 3, 60) + 1):
            kinds = _IO_KINDS if i <= n_io else _FORUM_KINDS
            name = self.unique(
                lambda k=kinds: f"{rng.choice(_REGIONS)} {rng.choice(_THEMES)} {rng.choice(k)}"
            )
            acr = "".join(word[0] for word in name.split())
            self.orgs.append((f"ex:org-{i}", name, acr, rng.randint(1945, 2010), i <= n_io))
        orgs, order = self.orgs, list(range(len(self.orgs)))
        rng.shuffle(order)
        for p in range(max(1, len(orgs) // 10)):  # a body replaced by a new one, as NACC by EAPC
            pred, succ = order[2 * p], order[2 * p + 1]
            year = rng.randint(orgs[pred][3] + 3, max(orgs[pred][3] + 3, 2015))
            orgs[succ] = (*orgs[succ][:3], year, orgs[succ][4])
            self.succ_of[pred] = (succ, year)
            s = f"ex:succession-{p + 1}"
            decl(s, "Succession", f"Succession of the {orgs[pred][1]} by the {orgs[succ][1]}")
            w(f"{s} kg:predecessor {orgs[pred][0]} .\n")
            w(f"{s} kg:successor {orgs[succ][0]} .\n")
            w(f'{s} kg:date "{year}"^^xsd:gYear .\n')
        programmes = []
        for k, (o, name, acr, founded, io) in enumerate(orgs):
            decl(o, "InternationalOrganisation" if io else "Forum", name)
            w(f'{o} skos:altLabel "{acr}"@en .\n')
            w(f'{o} kg:foundingDate "{founded}"^^xsd:gYear .\n')
            if not io:
                w(f'{o} kg:description "A forum for dialogue between its members."@en .\n')
            titles = ("Secretary General", "Deputy Secretary General") if io else ("Chair",)
            for j, title in enumerate(titles, 1):
                posts.append((f"{o}-post-{j}", o, f"{title} of the {name}", o, None))
            for j in range(1, rng.randint(1, 2) + 1 if io else 0):
                p, theme = f"{o}-programme-{j}", rng.choice(_THEMES)
                label = f"{acr} " + rng.choice(_PROGRAMMES).format(theme)
                decl(p, "Programme", label)
                w(f"{p} kg:programmeOf {o} .\n")
                programmes.append((p, label, k, min(founded + rng.randint(0, 10), 2018)))
        return programmes

    def affiliations(self, programmes: list[tuple[str, str, int, int]]) -> None:
        """Memberships over time, missions, programme participations, support of operations."""
        rng, w, decl, states, orgs = self.rng, self.w, self.decl, self.states, self.orgs
        ios = [k for k in range(len(orgs)) if orgs[k][4]]
        for i, (s, sname) in enumerate(states):
            chosen = rng.sample(range(len(orgs)), min(len(orgs), rng.randint(4, 8)))
            for k in chosen:
                founded = orgs[k][3]
                if k in self.succ_of:  # the body ceased: membership ends, the successor's begins
                    succ, year = self.succ_of[k]
                    self.membership(i, k, rng.randint(founded, year - 1), year)
                    if succ not in chosen:
                        self.membership(i, succ, year, None)
                    continue
                start = rng.randint(founded, max(founded, 2022))
                end = start + rng.randint(1, 12) if rng.random() < 0.12 else LAST_YEAR
                self.membership(i, k, start, end if end < LAST_YEAR else None)
            for k in rng.sample(ios, min(len(ios), rng.randint(1, 4))):
                m, (o, oname) = f"{s}-mission-{k + 1}", orgs[k][:2]
                decl(m, "DiplomaticMission", f"Mission of {sname} to the {oname}")
                w(f"{m} kg:sendingState {s} .\n")
                w(f"{m} kg:accreditedTo {o} .\n")
                head = f"Head of the Mission of {sname} to the {oname}"
                self.posts.append((f"{m}-head", s, head, m, "Ambassador"))
        via: dict[tuple[int, int], str] = {}  # (state, organisation) -> programme participation
        for p, plabel, k, first in programmes:
            for i in rng.sample(range(len(states)), min(len(states), rng.randint(2, 8))):
                pp = via[(i, k)] = f"{p}-participant-{i + 1}"
                decl(pp, "ProgrammeParticipation", f"{states[i][1]}'s part in the {plabel}")
                w(f"{pp} kg:member {states[i][0]} .\n")
                w(f"{pp} kg:programme {p} .\n")
                w(f"{pp} kg:startDate {_when(rng, rng.randint(first, max(first, 2023)))} .\n")
        for i in range(1, _scaled(self.target, 40000, 2, 25) + 1):
            op, k = f"ex:operation-{i}", rng.choice(ios)
            label = f"{orgs[k][2]} peacekeeping operation in {rng.choice(states)[1]}"
            decl(op, "PeacekeepingOperation", label)
            w(f"{op} kg:ledBy {orgs[k][0]} .\n")
            for j in rng.sample(range(len(states)), min(len(states), rng.randint(2, 5))):
                sup = f"{op}-support-{j + 1}"
                decl(sup, "Support", f"{states[j][1]}'s support of the {label}")
                w(f"{sup} kg:supporter {states[j][0]} .\n")
                w(f"{sup} kg:supported {op} .\n")
                if (j, k) in via:  # rendered through its partnership programme, as in data/
                    w(f"{sup} kg:through {via[(j, k)]} .\n")
                w(f"{sup} kg:startDate {_when(rng, rng.randint(1995, 2024))} .\n")

    def holders(self) -> list[_Post]:
        """Every post, held by one person after another until today, each as a kg:Tenure."""
        rng, w, decl, result = self.rng, self.w, self.decl, []
        for p, rep, label, owner, honorific in self.posts:
            decl(p, "Post", label)
            w(f"{p} kg:postIn {owner} .\n")
            starts, holders = [], []
            year, end = LAST_YEAR - self.span - rng.randint(0, 4), 0
            while end <= LAST_YEAR:
                (person, name), end = self.person(honorific), year + rng.randint(2, 7)
                t, kind = f"{p}-tenure-{len(starts) + 1}", self.d_tenure.next()
                decl(t, "Tenure", None if kind == "missing-label" else f"{name} as {label}")
                w(f"{t} kg:holder {person} .\n")
                w(f"{t} kg:post {p} .\n")
                if kind == "bad-date":  # text, not a date; no end, so only one check fires
                    w(f'{t} kg:startDate "{year}"^^xsd:string .\n')
                elif end <= LAST_YEAR:
                    w(f"{t} kg:startDate {_when(rng, year)} .\n")
                    w(f"{t} kg:endDate {_when(rng, end)} .\n")
                else:  # still in office: a source shows it in force
                    w(f"{t} kg:startDate {_when(rng, year)} .\n")
                    seen = rng.randint(year, LAST_YEAR)  # in the start's year: the year only,
                    shown = _when(rng, seen) if seen > year else f'"{seen:04d}"^^xsd:gYear'
                    w(f"{t} kg:attestedOn {shown} .\n")  # never before a day-precise start
                starts.append(year)
                holders.append((person, name))
                year = end
            publisher = rep + "-mfa" if rep.startswith("ex:state-") else rep
            result.append((p, rep, publisher, starts, holders))
        return result

    def reporters(self) -> None:
        """Media outlets with journalists, meeting topics, and the platform X."""
        rng, decl = self.rng, self.decl
        for i in range(1, _scaled(self.target, 20000, 2, 60) + 1):
            media = f"ex:media-{i}"
            name = self.unique(lambda: f"The {rng.choice(_MEDIA)} {rng.choice(_PAPERS)}")
            decl(media, "MediaOrganisation", name)
            self.media.append((media, [self.person()[0] for _ in range(rng.randint(3, 6))]))
        for i in range(1, _scaled(self.target, 2000, 20, 500) + 1):
            t, theme, year = f"ex:topic-{i}", rng.choice(_THEMES), rng.randint(1995, LAST_YEAR)
            if rng.random() < 0.5:
                decl(t, "Topic", f"{theme} cooperation in {year}")
                self.w(f'{t} kg:year "{year}"^^xsd:gYear .\n')
            else:
                decl(t, "Topic", f"{theme} cooperation")
            self.topics.append((t, theme.lower()))
        decl("ex:x", "Platform", "X")

    def meetings(self, posts: list[_Post]) -> None:
        """Meeting groups (a source document reporting one or two meetings) up to the target.

        Participants are whoever held the chosen posts that year, so meetings, tenures and
        capacities agree; the report is dated on or after the meetings it reports.
        """
        rng, w, buf, topics, d_meeting = self.rng, self.w, self.buf, self.topics, self.d_meeting
        sizes, n_meeting, n_doc, n_part = (2, 2, 2, 2, 2, 2, 3, 3, 3, 4), 0, 0, 0
        while self.flushed + len(buf) < self.target:
            n_doc += 1
            year = LAST_YEAR - min(self.span, int(rng.expovariate(0.08)))
            month, day = rng.randint(1, 12), rng.randint(2, 25)
            published = f"{year:04d}-{month:02d}-{day + rng.randint(0, 3):02d}"
            r = rng.random()
            cls, slug = _DOCS[(r >= 0.6) + (r >= 0.85)]
            doc, first = f"ex:{slug}-{n_doc}", []
            for j in range(1 if rng.random() < 0.8 else 2):
                n_meeting += 1
                m, kind = f"ex:meeting-{n_meeting}", d_meeting.next()
                k = 1 if kind == "single-participant" else rng.choice(sizes)
                picked = rng.sample(posts, k)
                while len({p[1] for p in picked}) < k:  # each for another state or organisation
                    picked = rng.sample(posts, k)
                people = [
                    (*holders[bisect_right(starts, year) - 1], post, rep, body)
                    for post, rep, body, starts, holders in picked
                ]
                first = first or people
                w(f"{m} a kg:Meeting .\n")
                if kind != "missing-label":
                    names = ", ".join(p[1] for p in people[:-1])
                    names = f"{names} and {people[-1][1]}" if names else people[-1][1]
                    w(f'{m} rdfs:label "Meeting of {_lit(names)} ({year}-{month:02d})"@en .\n')
                if rng.random() < 0.85:
                    w(f'{m} kg:date "{year:04d}-{month:02d}-{day - j:02d}"^^xsd:date .\n')
                else:  # the day is not known: the report bounds it
                    w(f'{m} kg:notLaterThan "{published}"^^xsd:date .\n')
                for t, _ in rng.sample(topics, 1 if rng.random() < 0.6 else 2):
                    w(f"{m} kg:topic {t} .\n")
                w(f"{m} kg:reportedIn {doc} .\n")
                for q, (person, name, post, rep, _) in enumerate(people, 1):
                    p = f"{m}-p{q}"
                    if q == 1 and kind == "state-as-participant":  # the state, not its envoy
                        person = rep if rep.startswith("ex:state-") else rng.choice(self.states)[0]
                    w(f"{m} kg:hasParticipation {p} .\n")
                    w(f"{p} a kg:MeetingParticipation .\n")
                    w(f'{p} rdfs:label "{_lit(name)} at meeting {n_meeting}"@en .\n')
                    w(f"{p} kg:participant {person} .\n")
                    w(f"{p} kg:inCapacityOf {post} .\n")
                    w(f"{p} kg:represents {rep} .\n")
                n_part += k
            (_, name, _, _, body), last = first[0], first[-1]
            if cls == "NewsArticle":
                outlet, journalists = rng.choice(self.media)
                title = f"{name} holds talks on {rng.choice(topics)[1]} cooperation"
                authors = rng.sample(journalists, 1 if rng.random() < 0.8 else 2)
                extra = f'{doc} kg:url "https://{outlet[3:]}.example/{n_doc}"^^xsd:anyURI .\n'
            elif cls == "WebPage":  # the press release of the first participant's side
                title, authors, outlet = f"Press release: {name} meets {last[1]}", [body], body
                extra = ""
            else:  # posted on X by a participant, as in data/
                title, authors, outlet = f"Post by {last[1]}, {published}", [last[0]], ""
                extra = f"{doc} kg:platform ex:x .\n"
            self.decl(doc, cls, title)
            w(f'{doc} kg:title "{_lit(title)}"@en .\n')
            for author in authors:
                w(f"{doc} kg:author {author} .\n")
            if outlet:
                w(f"{doc} kg:publisher {outlet} .\n")
            if extra:
                w(extra)
            w(f'{doc} kg:datePublished "{published}"^^xsd:date .\n')
            if len(buf) >= 16384:
                self.flush()
        self.entities["Meeting"] = n_meeting
        self.entities["MeetingParticipation"] = n_part


def generate(
    out: TextIO,
    *,
    triples: int,
    seed: int,
    violations: float = 0.0,
    base: str = EX,
    progress: Callable[[int], None] | None = None,
) -> GenerateStats:
    """Write about *triples* triples of synthetic kg data to *out* as Turtle; return the counts.

    The document describes itself as ``<> a kg:Dataset``; ``<>`` is resolved against the
    named graph it is loaded into. *violations* is the defect rate per meeting, membership and
    tenure (see the module docstring); *progress* gets the running triple count every ~50k.
    The same (triples, seed, violations, base) always give the same bytes.
    """
    if triples < 1:
        raise ValueError("triples must be at least 1")
    if not 0.0 <= violations <= 1.0:
        raise ValueError("violations is a rate between 0 and 1")
    gen = _Gen(out, seed, triples, violations)
    gen.progress = progress
    out.write(f"@prefix kg: <{KG}> .\n@prefix ex: <{base}> .\n{_PREFIXES}")
    gen.decl("<>", "Dataset", f"Synthetic kg data, seed {seed}")
    about = f"seed {seed}, about {triples} triples, violation rate {violations}"
    gen.w(f'<> kg:title "Synthetic diplomatic event graph ({about})"@en .\n')
    gen.w("<> kg:author ex:kg-generator .\n")
    gen.w("<> kg:publisher ex:kg-generator .\n")
    gen.decl("ex:kg-generator", "Organisation", "kg synthetic data generator")
    gen.affiliations(gen.agents())
    posts = gen.holders()
    gen.reporters()
    gen.meetings(posts)
    gen.flush()
    if progress is not None and gen.reported != gen.flushed:
        progress(gen.flushed)
    entities = dict(sorted(gen.entities.items()))
    return GenerateStats(gen.flushed, sum(gen.by_kind.values()), dict(gen.by_kind), entities)
