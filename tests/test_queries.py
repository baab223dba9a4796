"""Each stored query answers with the expected rows on the shipped data, and its
parameters are typed, validated and bound, never spliced."""

from __future__ import annotations

import pytest

from kg.errors import UsageError
from kg.queries import load_queries
from tests.conftest import ROOT

EXPECTED: dict[str, list[dict[str, str]]] = {
    "memberships": [
        {
            "kind": "relationship with",
            "with": "NATO",
            "start": "1992",
            "end": "",
            "relation": "ex:relationship-azerbaijan-nato",
            "sources": "caliber-az-2025-azerbaijan-nato 1992",
        },
        {
            "kind": "member of",
            "with": "North Atlantic Cooperation Council",
            "start": "1992-03",
            "end": "",
            "relation": "ex:membership-azerbaijan-nacc",
            "sources": "caliber-az-2025-azerbaijan-nato 1992; ref-azerbaijan-mfa-nato 1992-03",
        },
        {
            "kind": "participant in",
            "with": "Partnership for Peace",
            "start": "1994",
            "end": "",
            "relation": "ex:participation-azerbaijan-pfp",
            "sources": "caliber-az-2025-azerbaijan-nato 1994",
        },
        {
            "kind": "partnership with",
            "with": "NATO",
            "start": "1994",
            "end": "",
            "relation": "ex:partnership-azerbaijan-nato",
            "sources": "caliber-az-2025-azerbaijan-nato 1994; x-jafarhuseynzade-2025-01-31",
        },
        {
            "kind": "agreement",
            "with": "Partnership for Peace Framework Document (signed by Azerbaijan)",
            "start": "1994-05-04",
            "end": "",
            "relation": "ex:pfp-framework-document-azerbaijan",
            "sources": "ref-azerbaijan-mfa-nato 1994-05-04",
        },
        {
            "kind": "agreement",
            "with": "NATO",
            "start": "2004\u20132005 (sources disagree)",
            "end": "",
            "relation": "ex:azerbaijan-ipap",
            "sources": "caliber-az-2025-azerbaijan-nato; ref-azerbaijan-mfa-nato 2004; "
            "ref-nato-press-release-2008-ipap 2005",
        },
    ],
    "timeline": [
        {
            "date": "1992-03",
            "event": "joined",
            "what": "Azerbaijan's membership of the North Atlantic Cooperation Council",
            "sources": "caliber-az-2025-azerbaijan-nato 1992; ref-azerbaijan-mfa-nato 1992-03",
            "node": "ex:membership-azerbaijan-nacc",
        },
        {
            "date": "1992",
            "event": "relationship began",
            "what": "Azerbaijan-NATO relationship",
            "sources": "caliber-az-2025-azerbaijan-nato 1992",
            "node": "ex:relationship-azerbaijan-nato",
        },
        {
            "date": "1994",
            "event": "joined programme",
            "what": "Azerbaijan's participation in the Partnership for Peace",
            "sources": "caliber-az-2025-azerbaijan-nato 1994",
            "node": "ex:participation-azerbaijan-pfp",
        },
        {
            "date": "1994",
            "event": "partnership began",
            "what": "Azerbaijan-NATO partnership",
            "sources": "caliber-az-2025-azerbaijan-nato 1994",
            "node": "ex:partnership-azerbaijan-nato",
        },
        {
            "date": "1994-05-04",
            "event": "agreement signed",
            "what": "Partnership for Peace Framework Document (signed by Azerbaijan)",
            "sources": "ref-azerbaijan-mfa-nato 1994-05-04",
            "node": "ex:pfp-framework-document-azerbaijan",
        },
        {
            "date": "1997",
            "event": "body succeeded",
            "what": "Succession of the NACC by the EAPC",
            "sources": "caliber-az-2025-azerbaijan-nato 1997; ref-nato-topics-49276 1997",
            "node": "ex:succession-nacc-eapc",
        },
        {
            "date": "1999",
            "event": "began supporting",
            "what": "Azerbaijan's participation in KFOR",
            "sources": "ref-nato-topics-49111 1999",
            "node": "ex:participation-azerbaijan-kfor",
        },
        {
            "date": "2002-11-20",
            "event": "began supporting",
            "what": "Azerbaijan's participation in ISAF",
            "sources": "ref-news-az-azerbaijan-isaf 2002-11-20",
            "node": "ex:participation-azerbaijan-isaf",
        },
        {
            "date": "2004\u20132005 (sources disagree)",
            "event": "plan in force",
            "what": "Azerbaijan's Individual Partnership Action Plan",
            "sources": "ref-azerbaijan-mfa-nato 2004; ref-nato-press-release-2008-ipap 2005",
            "node": "ex:azerbaijan-ipap",
        },
        {
            "date": "2008",
            "event": "stopped supporting",
            "what": "Azerbaijan's participation in KFOR",
            "sources": "ref-nato-topics-49111 2008",
            "node": "ex:participation-azerbaijan-kfor",
        },
        {
            "date": "2021-12-04",
            "event": "support stated",
            "what": "NATO's support for Azerbaijan-Armenia normalisation",
            "sources": "ref-nato-statement-2021-12-04 2021-12-04",
            "node": "ex:support-nato-normalisation",
        },
        {
            "date": "2025-01-31",
            "event": "meeting (by this date)",
            "what": "Meeting of Jafar Huseynzada and Boris Ruge (2025)",
            "sources": "caliber-az-2025-azerbaijan-nato 2025-01-31; "
            "x-jafarhuseynzade-2025-01-31 2025-01-31",
            "node": "ex:meeting-huseynzada-ruge-2025",
        },
    ],
    "meetings": [
        {
            "meeting": "ex:meeting-huseynzada-ruge-2025",
            "when": "on or before 2025-01-31",
            "official": "Jafar Huseynzada",
            "role": "Head of the Mission of Azerbaijan to NATO",
            "others": "Boris Ruge",
            "topics": "Azerbaijan-NATO partnership | Prospects of Azerbaijan-NATO "
            "cooperation for 2025 | Azerbaijan-NATO cooperation in 2024",
        }
    ],
    "posts": [
        {
            "person": "Boris Ruge",
            "post": "NATO Assistant Secretary General for Political Affairs and Security Policy",
            "body": "NATO",
            "for": "NATO",
            "start": "2023-09",
            "attested": "2025-01-31",
        },
        {
            "person": "Jafar Huseynzada",
            "post": "Head of the Mission of Azerbaijan to NATO",
            "body": "Mission of Azerbaijan to NATO",
            "for": "Azerbaijan",
            "attested": "2024-06-26 2025-01-31",
        },
    ],
    "successions": [
        {
            "predecessor": "North Atlantic Cooperation Council",
            "successor": "Euro-Atlantic Partnership Council",
            "date": "1997",
            "source": "ex:caliber-az-2025-azerbaijan-nato",
        },
        {
            "predecessor": "North Atlantic Cooperation Council",
            "successor": "Euro-Atlantic Partnership Council",
            "date": "1997",
            "source": "ex:ref-nato-topics-49276",
        },
    ],
    "counterpart": [
        {
            "meeting": "ex:meeting-huseynzada-ruge-2025",
            "when": "on or before 2025-01-31",
            "counterpart": "Boris Ruge",
            "post": "NATO Assistant Secretary General for Political Affairs and Security Policy",
            "represents": "NATO",
        }
    ],
    "as-of": [
        {
            "who": "Azerbaijan",
            "what": "participant",
            "in": "Partnership for Peace",
            "since": "1994",
            "sources": "caliber-az-2025-azerbaijan-nato 1994",
        },
        {
            "who": "Azerbaijan",
            "what": "partnership plan",
            "in": "Individual Partnership Action Plan",
            "since": "2004\u20132005 (sources disagree)",
            "sources": "ref-azerbaijan-mfa-nato 2004; ref-nato-press-release-2008-ipap 2005",
        },
        {
            "who": "Azerbaijan",
            "what": "supporting",
            "in": "International Security Assistance Force (ISAF)",
            "since": "2002-11-20",
            "sources": "ref-news-az-azerbaijan-isaf 2002-11-20",
        },
        {
            "who": "Boris Ruge",
            "what": "NATO Assistant Secretary General for Political Affairs and Security Policy",
            "in": "NATO",
            "since": "2023-09",
            "sources": "ref-nato-ruge-biography 2023-09",
        },
        {
            "who": "Jafar Huseynzada",
            "what": "Head of the Mission of Azerbaijan to NATO",
            "in": "Mission of Azerbaijan to NATO",
            "since": "",
            "sources": "caliber-az-2025-azerbaijan-nato shows it in post on 2025-01-31; "
            "ref-trend-2024-06-26 shows it in post on 2024-06-26",
        },
    ],
}


def _sorted(rows):
    return sorted(rows, key=lambda r: sorted(r.items()))


def _normalise_lists(rows, *columns):
    """GROUP_CONCAT order is not defined by SPARQL: compare its parts as sets."""
    out = []
    for row in rows:
        row = dict(row)
        for col in columns:
            if col in row:
                sep = next((s for s in (" | ", "; ") if s in row[col]), " ")
                row[col] = sep.join(sorted(row[col].split(sep)))
        out.append(row)
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stored_query_rows(kg, name):
    rows = kg.run(name).dicts()
    lists = ("sources", "topics", "attested")
    assert _sorted(_normalise_lists(rows, *lists)) == _sorted(
        _normalise_lists(EXPECTED[name], *lists)
    )


def test_sources_of_a_fact(kg):
    rows = kg.run("sources-of", {"entity": "ex:tenure-ruge-asg"}).dicts()
    by_property = {(r["property"], r["source"]) for r in rows}
    assert ("kg:startDate", "ex:ref-nato-ruge-biography") in by_property
    assert ("kg:attestedOn", "ex:x-jafarhuseynzade-2025-01-31") in by_property
    start = next(r for r in rows if r["property"] == "kg:startDate")
    assert start["value"] == "2023-09"
    assert start["author"] == "NATO"


def test_sources_of_default_rows(kg):
    """The NACC membership: the article says 1992, the foreign ministry 1992-03."""
    rows = kg.run("sources-of").dicts()
    said = {(r["source"], r["property"], r["value"]) for r in rows}
    article, mfa = "ex:caliber-az-2025-azerbaijan-nato", "ex:ref-azerbaijan-mfa-nato"
    for source in (article, mfa):
        assert {p for s, p, _ in said if s == source} == {
            "rdf:type",
            "rdfs:label",
            "kg:member",
            "kg:organisation",
            "kg:startDate",
        }
    assert (article, "kg:startDate", "1992") in said
    assert (mfa, "kg:startDate", "1992-03") in said
    authors = {r["source"]: r["author"] for r in rows}
    assert authors[article] == "Vafa Guliyeva"
    assert {r["published"] for r in rows if r["source"] == article} == {"not before 2025-01-31"}


def test_wikidata_links_rows(kg):
    rows = kg.run("wikidata-links").dicts()
    linked = {r["entity"]: r["wikidata"] for r in rows if r["status"] == "linked"}
    # what the shipped sources say; a user's sources may add more of either kind
    assert (
        linked.items()
        >= {
            "ex:armenia": "wd:Q399",
            "ex:azerbaijan": "wd:Q227",
            "ex:eapc": "wd:Q1374456",
            "ex:ipap": "wd:Q6025242",
            "ex:nato": "wd:Q7184",
            "ex:pfp": "wd:Q653277",
            "ex:x": "wd:Q918",
            "ex:operation-isaf": "wd:Q155654",
        }.items()
    )
    # each shipped link with how it was made, how sure, and the source that states it
    shipped = {r["entity"]: r for r in rows if r["entity"] in linked}
    assert {r["justification"] for r in shipped.values()} == {"semapv:ManualMappingCuration"}
    assert {r["source"] for r in shipped.values()} == {"ex:wikidata-links"}
    assert shipped["ex:azerbaijan"]["confidence"] == "0.95"
    assert shipped["ex:pfp"]["confidence"] == "0.8"
    # a negative mapping is no link: NATO is not Q421517
    assert "wd:Q421517" not in {r.get("wikidata") for r in rows}
    unlinked = {r["entity"] for r in rows if r["status"] == "unlinked"}
    assert unlinked >= {
        "ex:boris-ruge",
        "ex:caliber-az",
        "ex:post-head-of-azerbaijan-mission-to-nato",
        "ex:jafar-huseynzada",
        "ex:operation-kfor",
        "ex:azerbaijan-mfa",
        "ex:azerbaijan-mission-to-nato",
        "ex:post-nato-asg-political-affairs-security-policy",
        "ex:operation-nato-led-peacekeeping",
        "ex:nacc",
        "ex:trend",
        "ex:vafa-guliyeva",
        "ex:datenoio",
    }


def test_wikidata_links_lists_both_sides(kg):
    rows = {r["entity"]: r for r in kg.run("wikidata-links").dicts()}
    assert rows["ex:azerbaijan"]["wikidata"] == "wd:Q227"
    assert rows["ex:nato"]["status"] == "linked"
    assert rows["ex:nacc"]["status"] == "unlinked"
    assert rows["ex:boris-ruge"]["status"] == "unlinked"
    assert "wikidata" not in rows["ex:jafar-huseynzada"]
    assert len(rows) == len(kg.run("wikidata-links").rows), "one row per entity"


def test_as_of_before_the_succession(kg):
    rows = kg.run("as-of", {"date": "1995-06-01"}).dicts()
    assert {(r["who"], r["in"]) for r in rows} == {
        ("Azerbaijan", "North Atlantic Cooperation Council"),
        ("Azerbaijan", "Partnership for Peace"),
    }


def test_timeline_window(kg):
    rows = kg.run("timeline", {"from": "2000-01-01", "to": "2021-12-31"}).dicts()
    assert [r["date"] for r in rows] == [
        "2002-11-20",
        "2004\u20132005 (sources disagree)",
        "2008",
        "2021-12-04",
    ]
    # A year stands for its first day in from, its last in to (#+ dates:).
    assert kg.run("timeline", {"from": "2000", "to": "2021"}).dicts() == rows
    assert [r["date"] for r in kg.run("timeline", {"from": "2008", "to": "2008"}).dicts()] == [
        "2008"
    ]


def test_every_query_has_header_and_defaults():
    queries = load_queries(ROOT / "queries")
    assert len(queries) >= 8
    for q in queries.values():
        assert q.summary and q.description, q.name
        for p in q.params:
            # an optional parameter may be left open (timeline's organisation)
            assert p.default is not None or not p.required, f"{q.name}: {p.name} has no default"


def test_basil_names():
    q = load_queries(ROOT / "queries")["timeline"]
    params = {p.name: p for p in q.params}
    assert params["state"].kind == "iri" and params["state"].required
    assert params["from"].kind == "date" and not params["from"].required
    assert params["from"].var == "__from_xsd_date"


@pytest.mark.parametrize(
    "value",
    [
        "Azerbaijan",
        "azerbaijan",
        "ex:azerbaijan",
        "ex:Azerbaijan",
        "https://w3id.org/kg-diplo/id/azerbaijan",
        "<https://w3id.org/kg-diplo/id/azerbaijan>",
    ],
)
def test_iri_parameter_forms(kg, value):
    rows = kg.run("memberships", {"state": value}).dicts()
    assert len(rows) == len(EXPECTED["memberships"])


def test_altlabel_resolves(kg):
    assert kg.resolve("PfP") == "https://w3id.org/kg-diplo/id/pfp"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "Atlantis"}, "no entity is labelled 'Atlantis'"),
        ({"state": "ex:azerbaijn"}, "Did you mean"),
        ({"state": "nope:thing"}, "no entity is labelled"),
        ({"country": "Azerbaijan"}, "has no parameter 'country'; its parameters are: state"),
        ({"state": "http://example.org/a b"}, "not a valid IRI"),
    ],
)
def test_bad_parameters_are_rejected(kg, params, message):
    with pytest.raises(UsageError, match=message):
        kg.run("memberships", params)


@pytest.mark.parametrize("value", ["31/01/2025", "2025-13-01", "yesterday", '2025" } #'])
def test_typed_parameter_rejects_what_does_not_fit(kg, value):
    with pytest.raises(UsageError, match="must be an xsd:date such as '2025-01-31'"):
        kg.run("as-of", {"date": value})


INJECTIONS = [
    'Azerbaijan" } UNION { ?s ?p ?o } #',
    "ex:azerbaijan> } ; DROP ALL ; #",
    "x') || true || ('",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_through_an_iri_parameter_is_rejected(kg, value):
    with pytest.raises(UsageError):
        kg.run("memberships", {"state": value})


def test_injection_through_a_literal_is_bound_as_a_plain_value(kg):
    """A text parameter receives the attack as an inert string: no extra rows, no error."""
    from kg.queries import Param, to_term

    term = to_term(Param("q", "_q", True, "literal"), INJECTIONS[0], lambda s: s)
    query = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
               SELECT ?s WHERE { ?s rdfs:label ?_q }"""
    assert kg.sparql(query, bindings={"_q": term}).rows == []
    assert term.value == INJECTIONS[0]


def test_unknown_query(kg):
    with pytest.raises(UsageError, match=r"no stored query named 'nope'\. Stored queries: "):
        kg.run("nope")


def test_missing_required_parameter_without_default(tmp_path, kg):
    from kg.queries import bind, parse_query_file

    path = tmp_path / "q.rq"
    path.write_text("#+ summary: s\nSELECT * WHERE { ?_thing_iri ?p ?o }\n")
    with pytest.raises(UsageError, match="needs the parameter 'thing'"):
        bind(parse_query_file(path), {}, kg.resolve)
