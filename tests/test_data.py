"""The graph says what the sources say: each fact of the seed article (and of the
reference sources) is checked, on the asserted triples, in the named graph of the
source document that states it.

These are the only tests that read the project as it is, a user's own sources included
(``REPO``; every other test runs on a copy holding the shipped sources only, see
tests/conftest.py). Each pins what one source says, which stays true when sources are
added: add yours below (README, "Adding a new source's facts", step 5).
"""

from __future__ import annotations

import pytest

from kg.graph import KnowledgeGraph
from kg.project import Project
from tests.conftest import PREFIXES, REPO, SHIPPED


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    """The project as it is, with the user's sources (not the shipped-only copy)."""
    return KnowledgeGraph(Project.load(REPO))


ARTICLE = "ex:caliber-az-2025-azerbaijan-nato"
POST = "ex:x-jafarhuseynzade-2025-01-31"

# (what the source says, the source's graph, a SPARQL group pattern that must match in it)
FACTS = [
    (
        "Jafar Huseynzada is head of Azerbaijan's mission to NATO",
        ARTICLE,
        """?t a kg:Tenure ; kg:holder ex:jafar-huseynzada ;
              kg:post ex:post-head-of-azerbaijan-mission-to-nato .
           ex:post-head-of-azerbaijan-mission-to-nato kg:postIn ex:azerbaijan-mission-to-nato .
           ex:azerbaijan-mission-to-nato a kg:DiplomaticMission ;
              kg:sendingState ex:azerbaijan ; kg:accreditedTo ex:nato .""",
    ),
    (
        "Boris Ruge is NATO ASG for Political Affairs and Security Policy, an Ambassador",
        POST,
        """?t a kg:Tenure ; kg:holder ex:boris-ruge ;
              kg:post ex:post-nato-asg-political-affairs-security-policy .
           ex:post-nato-asg-political-affairs-security-policy kg:postIn ex:nato ;
              rdfs:label "NATO Assistant Secretary General for Political Affairs and Security Policy"@en .
           ex:boris-ruge kg:honorific "Ambassador" ; kg:handle "@RugeBoris" .""",
    ),
    (
        "Huseynzada met Ruge, each in his post and representing his side",
        POST,
        """ex:meeting-huseynzada-ruge-2025 a kg:Meeting ;
              kg:hasParticipation ?a, ?b ; kg:reportedIn ex:x-jafarhuseynzade-2025-01-31 .
           ?a kg:participant ex:jafar-huseynzada ;
              kg:inCapacityOf ex:post-head-of-azerbaijan-mission-to-nato ;
              kg:represents ex:azerbaijan .
           ?b kg:participant ex:boris-ruge ;
              kg:inCapacityOf ex:post-nato-asg-political-affairs-security-policy ;
              kg:represents ex:nato .""",
    ),
    (
        "the meeting was reported on X on 2025-01-31 (its own day is not stated)",
        POST,
        """ex:meeting-huseynzada-ruge-2025 kg:notLaterThan "2025-01-31"^^xsd:date .
           FILTER NOT EXISTS { ex:meeting-huseynzada-ruge-2025 kg:date ?any }""",
    ),
    (
        "topic: the Azerbaijan-NATO partnership within the framework of PfP",
        POST,
        """ex:meeting-huseynzada-ruge-2025 kg:topic ex:partnership-azerbaijan-nato .
           ex:partnership-azerbaijan-nato kg:framework ex:pfp .""",
    ),
    (
        "topic: cooperation in 2024, the 30th anniversary, held in high regard",
        POST,
        """ex:meeting-huseynzada-ruge-2025 kg:topic ex:topic-cooperation-2024 .
           ex:topic-cooperation-2024 kg:year "2024"^^xsd:gYear ;
              kg:concerns ex:partnership-azerbaijan-nato ; kg:description ?d .
           FILTER(CONTAINS(?d, "30th anniversary"))""",
    ),
    (
        "topic: perspectives of cooperation for 2025",
        POST,
        """ex:meeting-huseynzada-ruge-2025 kg:topic ex:topic-cooperation-prospects-2025 .
           ex:topic-cooperation-prospects-2025 kg:year "2025"^^xsd:gYear .""",
    ),
    (
        "Azerbaijan became a member of the NACC in 1992",
        ARTICLE,
        """?m a kg:Membership ; kg:member ex:azerbaijan ; kg:organisation ex:nacc ;
              kg:startDate "1992"^^xsd:gYear .""",
    ),
    (
        "Azerbaijan's relationship with NATO began in 1992",
        ARTICLE,
        """?r a kg:Relationship ; kg:party ex:azerbaijan, ex:nato ;
              kg:startDate "1992"^^xsd:gYear .""",
    ),
    (
        "the NACC was succeeded in 1997 by the EAPC",
        ARTICLE,
        """?s a kg:Succession ; kg:predecessor ex:nacc ; kg:successor ex:eapc ;
              kg:date "1997"^^xsd:gYear .
           ex:nacc a kg:Forum . ex:eapc a kg:Forum .""",
    ),
    (
        "Azerbaijan joined the Partnership for Peace in 1994",
        ARTICLE,
        """?p a kg:ProgrammeParticipation ; kg:member ex:azerbaijan ; kg:programme ex:pfp ;
              kg:startDate "1994"^^xsd:gYear .
           ex:pfp a kg:Programme ; kg:programmeOf ex:nato .""",
    ),
    (
        "bilateral cooperation started in 1994 within PfP",
        ARTICLE,
        """ex:partnership-azerbaijan-nato a kg:Partnership ; kg:party ex:azerbaijan, ex:nato ;
              kg:startDate "1994"^^xsd:gYear ; kg:framework ex:pfp .""",
    ),
    (
        "Azerbaijan's IPAP is agreed by both parties and outlines three areas",
        ARTICLE,
        """ex:azerbaijan-ipap a kg:PartnershipPlan ; kg:instrument ex:ipap ;
              kg:agreedBy ex:azerbaijan, ex:nato ;
              kg:outlines ex:topic-cooperative-activities, ex:topic-reform-initiatives,
                          ex:topic-political-dialogue .""",
    ),
    (
        "Azerbaijan supports NATO-led peacekeeping operations, through PfP",
        ARTICLE,
        """?s a kg:Support ; kg:supporter ex:azerbaijan ;
              kg:supported ex:operation-nato-led-peacekeeping ;
              kg:through ex:participation-azerbaijan-pfp .
           ex:operation-nato-led-peacekeeping a kg:PeacekeepingOperation ; kg:ledBy ex:nato .""",
    ),
    (
        "NATO supports Azerbaijan-Armenia normalisation",
        ARTICLE,
        """?s a kg:Support ; kg:supporter ex:nato ;
              kg:supported ex:azerbaijan-armenia-normalisation .
           ex:azerbaijan-armenia-normalisation a kg:PeaceProcess ;
              kg:party ex:azerbaijan, ex:armenia .""",
    ),
    (
        "the article: title, author, publisher, address, date, and the post it embeds",
        ARTICLE,
        """ex:caliber-az-2025-azerbaijan-nato a kg:NewsArticle ;
              kg:title "Azerbaijan, NATO set sights on 2025 partnership in key discussions"@en ;
              kg:author ex:vafa-guliyeva ; kg:publisher ex:caliber-az ;
              kg:url "https://caliber.az/en/post/azerbaijan-nato-set-sights-on-2025-partnership-in-key-discussions"^^xsd:anyURI ;
              kg:notEarlierThan "2025-01-31"^^xsd:date ;
              kg:embeds ex:x-jafarhuseynzade-2025-01-31 .
           ex:vafa-guliyeva rdfs:label "Vafa Guliyeva"@en .
           ex:caliber-az rdfs:label "Caliber.Az"@en .""",
    ),
    (
        "the X post: author, platform, date, text, mentions",
        POST,
        """ex:x-jafarhuseynzade-2025-01-31 a kg:SocialMediaPost ;
              kg:author ex:jafar-huseynzada ; kg:platform ex:x ;
              kg:datePublished "2025-01-31"^^xsd:date ;
              kg:mentions ex:nato, ex:boris-ruge ; kg:text ?text .
           ex:jafar-huseynzada kg:handle "@JafarHuseynzade" .
           FILTER(STRSTARTS(?text, "I was extremely delighted to meet"))""",
    ),
    (
        "Ruge became ASG in September 2023 (NATO biography)",
        "ex:ref-nato-ruge-biography",
        """ex:tenure-ruge-asg kg:startDate "2023-09"^^xsd:gYearMonth .""",
    ),
    (
        "Huseynzada was in post by 2024-06-26 (Trend)",
        "ex:ref-trend-2024-06-26",
        """ex:tenure-huseynzada-head-of-mission kg:attestedOn "2024-06-26"^^xsd:date .""",
    ),
    (
        "Azerbaijan signed the PfP Framework Document on 1994-05-04 (MFA)",
        "ex:ref-azerbaijan-mfa-nato",
        """ex:pfp-framework-document-azerbaijan kg:agreedBy ex:azerbaijan ;
              kg:date "1994-05-04"^^xsd:date .""",
    ),
    (
        "Azerbaijan joined the NACC in March 1992 (MFA; the article says 1992: they agree)",
        "ex:ref-azerbaijan-mfa-nato",
        """ex:membership-azerbaijan-nacc a kg:Membership ; kg:member ex:azerbaijan ;
              kg:organisation ex:nacc ; kg:startDate "1992-03"^^xsd:gYearMonth .""",
    ),
    (
        "Azerbaijan joined the IPAP in 2004 (MFA)",
        "ex:ref-azerbaijan-mfa-nato",
        """ex:azerbaijan-ipap kg:instrument ex:ipap ; kg:startDate "2004"^^xsd:gYear .""",
    ),
    (
        "Azerbaijan's first IPAP dates from 2005 (NATO press release, 2008)",
        "ex:ref-nato-press-release-2008-ipap",
        """ex:azerbaijan-ipap kg:instrument ex:ipap ; kg:startDate "2005"^^xsd:gYear .""",
    ),
    (
        "Established in 1997, the EAPC succeeded the NACC (NATO topics_49276)",
        "ex:ref-nato-topics-49276",
        """ex:succession-nacc-eapc kg:predecessor ex:nacc ; kg:successor ex:eapc ;
              kg:date "1997"^^xsd:gYear .
           ex:eapc kg:foundingDate "1997"^^xsd:gYear ; skos:altLabel "EAPC"@en .
           ex:nacc skos:altLabel "NACC"@en .""",
    ),
    (
        "Azerbaijan has served in ISAF since 2002-11-20 (news.az, citing the MoD)",
        "ex:ref-news-az-azerbaijan-isaf",
        """?s a kg:Support ; kg:supporter ex:azerbaijan ; kg:supported ex:operation-isaf ;
              kg:startDate "2002-11-20"^^xsd:date .""",
    ),
    (
        "Azerbaijan took part in KFOR from 1999 to 2008 (NATO topics_49111)",
        "ex:ref-nato-topics-49111",
        """?s a kg:Support ; kg:supporter ex:azerbaijan ; kg:supported ex:operation-kfor ;
              kg:startDate "1999"^^xsd:gYear ; kg:endDate "2008"^^xsd:gYear .""",
    ),
    (
        "Wikidata links come from the mapping set (data/wikidata-links.sssom.tsv)",
        "ex:wikidata-links",
        """ex:azerbaijan kg:wikidata wd:Q227 . ex:armenia kg:wikidata wd:Q399 .
           ex:nato kg:wikidata wd:Q7184 . ex:pfp kg:wikidata wd:Q653277 .
           ex:eapc kg:wikidata wd:Q1374456 . ex:ipap kg:wikidata wd:Q6025242 .
           ex:x kg:wikidata wd:Q918 .
           ex:wikidata-links a kg:Dataset ; kg:author ex:datenoio ; kg:publisher ex:datenoio .""",
    ),
    (
        "each link was curated by hand from a named source (datenoio/internacia-db)",
        "ex:wikidata-links",
        """?m a kg:Mapping ; kg:mappingSubject ex:azerbaijan ; kg:mappingObject wd:Q227 ;
              kg:justification <https://w3id.org/semapv/vocab/ManualMappingCuration> ;
              kg:confidence ?c ; kg:negated false ;
              rdfs:seeAlso <https://github.com/datenoio/internacia-db/blob/HEAD/data/countries/AZ.yaml> .
           FILTER(?c >= 0.9)""",
    ),
    (
        "ISAF is Q155654 (datenoio/internacia-db ISAF.yaml, medium: one source)",
        "ex:wikidata-links",
        """ex:operation-isaf kg:wikidata wd:Q155654 .
           ?m kg:mappingSubject ex:operation-isaf ; kg:mappingObject wd:Q155654 ;
              rdfs:seeAlso <https://github.com/datenoio/internacia-db/blob/HEAD/data/intblocks/military/ISAF.yaml> .""",
    ),
    (
        "NATO is not Q421517, a different item: a negative mapping, no link",
        "ex:wikidata-links",
        """?m a kg:Mapping ; kg:mappingSubject ex:nato ; kg:mappingObject wd:Q421517 ;
              kg:negated true ; kg:mappingPredicate skos:exactMatch .
           FILTER NOT EXISTS { ex:nato kg:wikidata wd:Q421517 }""",
    ),
]


@pytest.mark.parametrize(("fact", "source", "pattern"), FACTS, ids=[f[0] for f in FACTS])
def test_fact_is_in_its_source_graph(kg, fact, source, pattern):
    ask = f"{PREFIXES} ASK {{ GRAPH {source} {{ {pattern} }} }}"
    assert kg.sparql(ask, inferred=False).boolean, f"{source} should state: {fact}"


def test_every_source_graph_describes_its_source(kg):
    rows = kg.sparql(
        PREFIXES
        + """SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o }
               FILTER(STRSTARTS(STR(?g), STR(ex:)))
               FILTER NOT EXISTS { GRAPH ?g { ?g a ?type ; kg:title ?title } } }""",
        inferred=False,
    ).rows
    assert rows == []


@pytest.mark.parametrize(
    "absent",
    [
        # The article gives no day for the meeting, no QID for the unverified entities,
        # and no end for any membership; no shipped source says who leads KFOR or ISAF,
        # or gives the EAPC's founding day.
        "ex:meeting-huseynzada-ruge-2025 kg:date ?d",
        "ex:nacc kg:wikidata ?q",
        "ex:boris-ruge kg:wikidata ?q",
        "ex:jafar-huseynzada kg:wikidata ?q",
        "ex:membership-azerbaijan-nacc kg:endDate ?e",
        "ex:azerbaijan-ipap kg:wikidata ?q",
        "ex:operation-kfor kg:ledBy ?o",
        "ex:operation-isaf kg:ledBy ?o",
        "ex:eapc kg:foundingDate ?d FILTER(STRLEN(STR(?d)) > 4)",
    ],
)
def test_nothing_the_sources_do_not_state(kg, absent):
    """Checked in the shipped sources only: a user's source may well state more."""
    shipped = " ".join(f"ex:{stem}" for stem in SHIPPED)
    ask = f"{PREFIXES} ASK {{ VALUES ?g {{ {shipped} }} GRAPH ?g {{ {absent} }} }}"
    assert not kg.sparql(ask, inferred=False).boolean
