"""Synthetic kg data of any size, with an exact number of known defects on request.

Why: ``data/`` holds a handful of hand-modelled sources, too few to measure loading, reasoning,
querying or validation at scale, or to check that every kind of defect is caught. This module
writes a large Turtle document that uses exactly the modelling patterns of ``data/`` and
``docs/modelling.md`` (n-ary memberships, programme participations, tenures, meetings with
participation nodes, successions, support; every entity typed and labelled @en) and conforms to
``ontology/shapes.ttl`` unless defects are asked for.

Shape of the graph: a backbone sized from the target (a few hundred states with foreign
ministries, international organisations and forums with programmes, some succeeded by others,
missions, posts, people holding them over time, memberships, media outlets and journalists),
then meetings (2-4 participants, each in a post and representing a state or organisation)
reported in news articles, press releases and social-media posts. Meetings are added until the
target is reached, so the last whole meeting group decides the exact count.

Defects: ``violations`` is a rate in [0, 1] applied separately to each kind of fact node, in
generation order and by error diffusion (so exactly ``round(n * rate)`` of n nodes of that kind,
evenly spread); the defect kind cycles round-robin over the kinds that fit that node:

* kg:Membership: ``end-before-start``, ``member-of-itself``, ``bad-date``
* kg:Tenure: ``missing-label``, ``bad-date``
* kg:Meeting: ``state-as-participant``, ``single-participant``, ``missing-label``

Each defect is shaped to give exactly one pyshacl validation result (e.g. a ``bad-date`` node
gets no kg:endDate, so the end-not-before-start check cannot fire as well), so
``GenerateStats.violations`` equals the number of results pyshacl reports.

Output is one triple per line after a fixed prefix block, written with plain f-strings (no
rdflib) so a million triples take a few seconds; the module reads no files and uses no clock or
global randomness, so the same arguments always give the same bytes.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

KG = "https://w3id.org/kg-diplo/ontology#"
EX = "https://w3id.org/kg-diplo/id/"
KINDS = (
    "state-as-participant", "end-before-start", "single-participant",
    "member-of-itself", "missing-label", "bad-date",
)  # fmt: skip
MEMBERSHIP_KINDS = ("end-before-start", "member-of-itself", "bad-date")
TENURE_KINDS = ("missing-label", "bad-date")
MEETING_KINDS = ("state-as-participant", "single-participant", "missing-label")
REPORT_EVERY = 50_000
LAST_YEAR = 2025



def _words(text: str) -> list[str]:
    """Name parts, kept as one string each so the vocabulary stays short to read."""
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
_MEDIA = _words("Daily Global Continental Independent National Evening Morning Regional")
_PAPERS = _words("Courier Herald Observer Dispatch Times Gazette Wire Monitor")
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
    """How many backbone entities a target of *n* triples gets (lo shrinks for tiny targets)."""
    return max(min(lo, max(2, n // 600)), min(hi, n // per))


@dataclass
class GenerateStats:
    """What :func:`generate` wrote; every number is exact, so tests can compare."""

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
        """The defect for the next node of this kind, or None to keep it valid."""
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
    """Holds the output buffer, counters and the entities later phases refer to."""

    def __init__(self, out: TextIO, rng: random.Random, target: int, rate: float,
                 progress: Callable[[int], None] | None) -> None:  # fmt: skip
        self.out, self.rng, self.target, self.progress = out, rng, target, progress
        self.buf: list[str] = []
        self.w = self.buf.append
        self.flushed, self.next_report = 0, REPORT_EVERY
        self.entities: dict[str, int] = {}
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.d_membership = _Defects(rate, MEMBERSHIP_KINDS, self.by_kind)
        self.d_tenure = _Defects(rate, TENURE_KINDS, self.by_kind)
        self.d_meeting = _Defects(rate, MEETING_KINDS, self.by_kind)
        self.used: set[str] = set()  # names taken (membership tests only, never iterated)
        self.n_membership = self.n_person = 0
        self.media: list[tuple[str, list[str]]] = []  # outlet, its journalists
        self.topics: list[tuple[str, str]] = []  # CURIE, theme
        self.states: list[str] = []
        self.span = 30  # years of meetings, set by backbone()

    def flush(self) -> None:
        """Write the buffer out; report progress each time another ~50k triples are done."""
        self.out.write("".join(self.buf))
        self.flushed += len(self.buf)
        self.buf.clear()
        if self.progress is not None and self.flushed >= self.next_report:
            self.progress(self.flushed)
            self.next_report = (self.flushed // REPORT_EVERY + 1) * REPORT_EVERY

    def decl(self, s: str, cls: str, label: str | None) -> None:
        """Type *s* as kg:*cls* and label it (label None = deliberately unlabelled)."""
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

    def membership(self, member: str, mname: str, org: str, oname: str, start: int,
                   end: int | None) -> None:  # fmt: skip
        """One kg:Membership node, possibly carrying one injected defect."""
        self.n_membership += 1
        s, w, rng = f"ex:membership-{self.n_membership}", self.w, self.rng
        kind = self.d_membership.next()
        if kind == "member-of-itself":
            member, mname = org, oname
        self.decl(s, "Membership", f"{mname}'s membership of {oname}")
        w(f"{s} kg:member {member} .\n")
        w(f"{s} kg:organisation {org} .\n")
        if kind == "bad-date":  # text, not a date; no end, so only the datatype check fires
            w(f'{s} kg:startDate "{start}"^^xsd:string .\n')
            return
        w(f"{s} kg:startDate {_when(rng, start)} .\n")
        if kind == "end-before-start":
            w(f'{s} kg:endDate "{start - rng.randint(1, 5)}"^^xsd:gYear .\n')
        elif end is not None:
            w(f"{s} kg:endDate {_when(rng, end)} .\n")

    def backbone(self, n: int) -> list[tuple[str, str, str, str, list[int], list[tuple[str, str]]]]:
        """States, organisations, programmes, missions, posts, tenures, memberships, support.

        Returns the posts meetings draw on: (post, represented agent, its publishing body,
        post label, tenure start years, holders).
        """
        rng, w, decl = self.rng, self.w, self.decl
        n_states, n_io = _scaled(n, 3000, 12, 300), _scaled(n, 6000, 6, 150)
        n_forum, n_media = _scaled(n, 15000, 3, 60), _scaled(n, 20000, 2, 60)
        # Years of meetings: small graphs cover recent years only, so holders stay few.
        self.span = span = max(5, min(30, n // 30000))
        posts: list[tuple[str, str, str, str, str | None]] = []
        states: list[tuple[str, str]] = []
        for i in range(1, n_states + 1):
            name = self.unique(lambda: rng.choice(_SYL1) + rng.choice(_SYL2) + rng.choice(_SYL3))
            s, mfa = f"ex:state-{i}", f"ex:state-{i}-mfa"
            decl(s, "State", name)
            decl(mfa, "Organisation", f"Ministry of Foreign Affairs of {name}")
            states.append((s, name))
            self.states.append(s)
            for j, title in enumerate(("Minister", "Deputy Minister"), 1):
                posts.append((f"ex:post-state-{i}-{j}", f"{title} of Foreign Affairs of {name}",
                              mfa, s, None))  # fmt: skip
        orgs: list[tuple[str, str, str, int, bool]] = []  # CURIE, name, acronym, founded, is IO
        for i in range(1, n_io + n_forum + 1):
            io = i <= n_io
            kinds = _IO_KINDS if io else _FORUM_KINDS
            name = self.unique(lambda k=kinds: f"{rng.choice(_REGIONS)} {rng.choice(_THEMES)} "
                               f"{rng.choice(k)}")  # fmt: skip
            acr = "".join(word[0] for word in name.split())
            orgs.append((f"ex:org-{i}", name, acr, rng.randint(1945, 2010), io))
        order = list(range(len(orgs)))
        rng.shuffle(order)
        succ_of: dict[int, tuple[int, int]] = {}  # predecessor index -> (successor index, year)
        for p in range(max(1, len(orgs) // 10)):
            pred, succ = order[2 * p], order[2 * p + 1]
            year = rng.randint(orgs[pred][3] + 3, max(orgs[pred][3] + 3, 2015))
            orgs[succ] = (*orgs[succ][:3], year, orgs[succ][4])
            succ_of[pred] = (succ, year)
        programmes: list[tuple[str, str, int, int]] = []  # CURIE, label, org index, start year
        for k, (o, name, acr, founded, io) in enumerate(orgs):
            decl(o, "InternationalOrganisation" if io else "Forum", name)
            w(f'{o} skos:altLabel "{acr}"@en .\n')
            w(f'{o} kg:foundingDate "{founded}"^^xsd:gYear .\n')
            if not io:
                w(f'{o} kg:description "A forum for dialogue between its members."@en .\n')
            titles = ("Secretary General", "Deputy Secretary General") if io else ("Chair",)
            for j, title in enumerate(titles, 1):
                posts.append((f"{o}-post-{j}", f"{title} of the {name}", o, o, None))
            for j in range(rng.randint(1, 2) if io else 0):
                p, theme = f"{o}-programme-{j + 1}", rng.choice(_THEMES)
                label = f"{acr} " + rng.choice(_PROGRAMMES).format(theme)
                decl(p, "Programme", label)
                w(f"{p} kg:programmeOf {o} .\n")
                programmes.append((p, label, k, min(founded + rng.randint(0, 10), 2018)))
        for pred, (succ, year) in succ_of.items():
            s, (po, pn), (so, sn) = f"ex:succession-{pred + 1}", orgs[pred][:2], orgs[succ][:2]
            decl(s, "Succession", f"Succession of the {pn} by the {sn}")
            w(f"{s} kg:predecessor {po} .\n")
            w(f"{s} kg:successor {so} .\n")
            w(f'{s} kg:date "{year}"^^xsd:gYear .\n')
        ios = [k for k in range(len(orgs)) if orgs[k][4]]
        for i, (s, sname) in enumerate(states, 1):
            chosen = rng.sample(range(len(orgs)), min(len(orgs), rng.randint(4, 8)))
            for k in chosen:
                o, oname, _, founded, _ = orgs[k]
                if k in succ_of:  # the body ceased: membership ends, the successor's begins
                    succ, year = succ_of[k]
                    self.membership(s, sname, o, oname, rng.randint(founded, year - 1), year)
                    if succ not in chosen:
                        self.membership(s, sname, orgs[succ][0], orgs[succ][1], year, None)
                    continue
                start = rng.randint(founded, max(founded, 2022))
                end = start + rng.randint(1, 12) if rng.random() < 0.12 else None
                self.membership(s, sname, o, oname, start, end if end and end <= 2024 else None)
            for k in rng.sample(ios, min(len(ios), rng.randint(1, 4))):
                m, o, oname = f"ex:state-{i}-mission-{k + 1}", orgs[k][0], orgs[k][1]
                decl(m, "DiplomaticMission", f"Mission of {sname} to the {oname}")
                w(f"{m} kg:sendingState {s} .\n")
                w(f"{m} kg:accreditedTo {o} .\n")
                posts.append((f"{m}-head", f"Head of the Mission of {sname} to the {oname}",
                              m, s, "Ambassador"))  # fmt: skip
        via: dict[tuple[int, int], str] = {}  # (state index, org index) -> participation
        for p, plabel, k, pstart in programmes:
            for i in rng.sample(range(len(states)), min(len(states), rng.randint(2, 8))):
                s, sname = states[i]
                pp = f"{p}-participant-{i + 1}"
                decl(pp, "ProgrammeParticipation", f"{sname}'s participation in the {plabel}")
                w(f"{pp} kg:member {s} .\n")
                w(f"{pp} kg:programme {p} .\n")
                start = rng.randint(pstart, max(pstart, 2023))
                w(f"{pp} kg:startDate {_when(rng, start)} .\n")
                via[(i, k)] = pp
        for i in range(1, _scaled(n, 40000, 2, 25) + 1):
            k = rng.choice(ios)
            op = f"ex:operation-{i}"
            oplabel = f"{orgs[k][2]} peacekeeping operation in {rng.choice(states)[1]}"
            decl(op, "PeacekeepingOperation", oplabel)
            w(f"{op} kg:ledBy {orgs[k][0]} .\n")
            for j in rng.sample(range(len(states)), min(len(states), rng.randint(2, 5))):
                sup = f"{op}-support-{j + 1}"
                decl(sup, "Support", f"{states[j][1]}'s support of the {oplabel}")
                w(f"{sup} kg:supporter {states[j][0]} .\n")
                w(f"{sup} kg:supported {op} .\n")
                if (j, k) in via:
                    w(f"{sup} kg:through {via[(j, k)]} .\n")
                w(f"{sup} kg:startDate {_when(rng, rng.randint(1995, 2024))} .\n")
        result = []
        for p, label, owner, rep, honorific in posts:
            decl(p, "Post", label)
            w(f"{p} kg:postIn {owner} .\n")
            starts, holders = [], []
            year = LAST_YEAR - span - rng.randint(0, 4)
            while True:  # successive holders until the current one, still in office
                holder, hname = self.person(honorific)
                end = year + rng.randint(2, 7)
                t, kind = f"{p}-tenure-{len(starts) + 1}", self.d_tenure.next()
                decl(t, "Tenure", None if kind == "missing-label" else f"{hname} as {label}")
                w(f"{t} kg:holder {holder} .\n")
                w(f"{t} kg:post {p} .\n")
                if kind == "bad-date":
                    w(f'{t} kg:startDate "{year}"^^xsd:string .\n')
                else:
                    w(f"{t} kg:startDate {_when(rng, year)} .\n")
                    if end <= LAST_YEAR:
                        w(f"{t} kg:endDate {_when(rng, end)} .\n")
                    else:
                        w(f"{t} kg:attestedOn {_when(rng, rng.randint(year, LAST_YEAR))} .\n")
                starts.append(year)
                holders.append((holder, hname))
                if end > LAST_YEAR:
                    break
                year = end
            publisher = rep + "-mfa" if rep.startswith("ex:state-") else rep
            result.append((p, rep, publisher, label, starts, holders))
        for i in range(1, n_media + 1):
            media = f"ex:media-{i}"
            name = self.unique(lambda: f"The {rng.choice(_MEDIA)} {rng.choice(_PAPERS)}")
            decl(media, "MediaOrganisation", name)
            self.media.append((media, [self.person()[0] for _ in range(rng.randint(3, 6))]))
        for i in range(1, _scaled(n, 2000, 20, 500) + 1):
            t, theme = f"ex:topic-{i}", rng.choice(_THEMES)
            if rng.random() < 0.5:
                year = rng.randint(1995, LAST_YEAR)
                decl(t, "Topic", f"{theme} cooperation in {year}")
                w(f'{t} kg:year "{year}"^^xsd:gYear .\n')
            else:
                decl(t, "Topic", f"{theme} cooperation")
            self.topics.append((t, theme))
        decl("ex:x", "Platform", "X")
        return result

    def meetings(self, posts: list[tuple[str, str, str, str, list[int], list[tuple[str, str]]]],
                 ) -> None:  # fmt: skip
        """Meeting groups (one source document reporting one or two meetings) up to the target.

        A meeting's participants are whoever held the chosen posts in that year, so meetings,
        tenures and capacities agree; its report is dated on or after the meeting.
        """
        rng, w, buf, target = self.rng, self.w, self.buf, self.target
        media, topics, states, d_meeting = self.media, self.topics, self.states, self.d_meeting
        n_posts, weights = len(posts), (2, 2, 2, 2, 2, 2, 3, 3, 3, 4)
        n_meeting = n_doc = n_part = 0
        while self.flushed + len(buf) < target:
            n_doc += 1
            year = LAST_YEAR - min(self.span, int(rng.expovariate(0.08)))
            month, day = rng.randint(1, 12), rng.randint(2, 25)
            published = f"{year:04d}-{month:02d}-{day + rng.randint(0, 3):02d}"
            r = rng.random()
            doc = f"ex:article-{n_doc}" if r < 0.6 else f"ex:page-{n_doc}" if r < 0.85 else (
                f"ex:social-post-{n_doc}")  # fmt: skip
            first: list[tuple[str, str, str]] = []  # the first meeting's participants
            for j in range(1 if rng.random() < 0.8 else 2):
                n_meeting += 1
                m, kind = f"ex:meeting-{n_meeting}", d_meeting.next()
                k = 1 if kind == "single-participant" else rng.choice(weights)
                chosen = rng.sample(range(n_posts), k)
                people = []
                for c in chosen:
                    post, rep, publisher, _, starts, holders = posts[c]
                    person, name = holders[bisect_right(starts, year) - 1]
                    people.append((person, name, post, rep, publisher))
                names = [p[1] for p in people]
                when = f"{year:04d}-{month:02d}-{day - j:02d}"
                label = (f"Meeting of {', '.join(names[:-1])} and {names[-1]} ({when})"
                         if k > 1 else f"Meeting of {names[0]} ({when})")  # fmt: skip
                w(f"{m} a kg:Meeting .\n")
                if kind != "missing-label":
                    w(f'{m} rdfs:label "{_lit(label)}"@en .\n')
                if rng.random() < 0.85:
                    w(f'{m} kg:date "{when}"^^xsd:date .\n')
                else:  # exact day unknown: bounded by the report
                    w(f'{m} kg:notLaterThan "{published}"^^xsd:date .\n')
                for t, _ in rng.sample(topics, 1 if rng.random() < 0.6 else 2):
                    w(f"{m} kg:topic {t} .\n")
                w(f"{m} kg:reportedIn {doc} .\n")
                for q, (person, name, post, rep, _) in enumerate(people, 1):
                    p = f"{m}-p{q}"
                    if q == 1 and kind == "state-as-participant":
                        person = rep if rep.startswith("ex:state-") else rng.choice(states)
                    w(f"{m} kg:hasParticipation {p} .\n")
                    w(f"{p} a kg:MeetingParticipation .\n")
                    w(f'{p} rdfs:label "{_lit(name)} at meeting {n_meeting}"@en .\n')
                    w(f"{p} kg:participant {person} .\n")
                    w(f"{p} kg:inCapacityOf {post} .\n")
                    w(f"{p} kg:represents {rep} .\n")
                n_part += k
                first = first or people
            if doc.startswith("ex:article"):
                outlet, journalists = rng.choice(media)
                title = f"{first[0][1]} holds talks on {rng.choice(topics)[1].lower()} cooperation"
                self.decl(doc, "NewsArticle", title)
                w(f'{doc} kg:title "{_lit(title)}"@en .\n')
                for author in rng.sample(journalists, 1 if rng.random() < 0.8 else 2):
                    w(f"{doc} kg:author {author} .\n")
                w(f"{doc} kg:publisher {outlet} .\n")
                w(f'{doc} kg:url "https://{outlet[3:]}.example/news/{n_doc}"^^xsd:anyURI .\n')
            elif doc.startswith("ex:page"):
                body = first[0][4]
                title = f"Press release: {first[0][1]} meets {first[-1][1]}"
                self.decl(doc, "WebPage", title)
                w(f'{doc} kg:title "{_lit(title)}"@en .\n')
                w(f"{doc} kg:author {body} .\n")
                w(f"{doc} kg:publisher {body} .\n")
            else:
                author, name = first[-1][0], first[-1][1]
                title = f"Post by {name}, {published}"
                self.decl(doc, "SocialMediaPost", title)
                w(f'{doc} kg:title "{_lit(title)}"@en .\n')
                w(f"{doc} kg:author {author} .\n")
                w(f"{doc} kg:platform ex:x .\n")
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

    The document describes itself as ``<> a kg:Dataset`` (``<>`` is resolved against the named
    graph it is loaded into). *violations* is the defect rate per membership, tenure and meeting
    (see the module docstring); *progress* receives the running triple count about every 50k.
    The same (triples, seed, violations, base) always yields the same bytes.
    """
    if triples < 1:
        raise ValueError("triples must be at least 1")
    if not 0.0 <= violations <= 1.0:
        raise ValueError("violations is a rate between 0 and 1")
    gen = _Gen(out, random.Random(seed), triples, violations, progress)
    w = gen.w
    for prefix, ns in (("kg", KG), ("ex", base), ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
                       ("xsd", "http://www.w3.org/2001/XMLSchema#"),
                       ("skos", "http://www.w3.org/2004/02/skos/core#")):  # fmt: skip
        out.write(f"@prefix {prefix}: <{ns}> .\n")
    gen.decl("<>", "Dataset", f"Synthetic kg data, seed {seed}")
    w(f'<> kg:title "Synthetic diplomatic event graph (seed {seed}, about {triples} triples, '
      f'violation rate {violations})"@en .\n')  # fmt: skip
    w("<> kg:author ex:kg-generator .\n")
    w("<> kg:publisher ex:kg-generator .\n")
    gen.decl("ex:kg-generator", "Organisation", "kg synthetic data generator")
    gen.meetings(gen.backbone(triples))
    gen.flush()
    if progress is not None:
        progress(gen.flushed)
    return GenerateStats(
        triples=gen.flushed,
        violations=sum(gen.by_kind.values()),
        by_kind=dict(gen.by_kind),
        entities=dict(sorted(gen.entities.items())),
    )
