"""The Wikidata client is polite and cached: a User-Agent with a contact, one request at
a time, batches of 50, back-off on 5xx and network failures, Retry-After on 429, a
time-out, malformed answers named, every answer cached, offline answers from the cache
only and says what is missing. Everything against the fake Wikidata on 127.0.0.1."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from pathlib import Path

import pytest

from kg.errors import InputError, UsageError
from kg.project import Project
from kg.wikidata import NotCached, WikidataClient, WikidataError, user_agent
from tests import wikidata_fake
from tests.wikidata_fake import FakeWikidata

fake_server = wikidata_fake.fake_server
fake_wikidata = wikidata_fake.fake_wikidata

UA = user_agent("kg-tests@example.org")


def client(fake: FakeWikidata, cache: Path, *, offline: bool = False, **kwargs) -> WikidataClient:
    kwargs.setdefault("sleep", lambda seconds: None)
    return WikidataClient(fake.api, fake.sparql, UA, cache, offline, **kwargs)


def test_searches_send_a_descriptive_user_agent(fake_wikidata, tmp_path):
    c = client(fake_wikidata, tmp_path)
    hits = c.search_entities("Sylvania")
    assert {h["id"] for h in hits} == {"Q900000002", "Q900000003"}
    assert [h["title"] for h in c.search_text("League of Fenwick")] == ["Q900000001"]
    (first, second) = fake_wikidata.requests
    assert first["user_agent"] == second["user_agent"] == "kg/0.1.0 (kg-tests@example.org)"
    assert first["params"]["action"] == "wbsearchentities"
    assert first["params"]["language"] == "en"
    assert second["params"]["list"] == "search"


def test_identifier_search_through_haswbstatement(fake_wikidata, tmp_path):
    c = client(fake_wikidata, tmp_path)
    hits = c.search_text('haswbstatement:"P856=https://league-of-fenwick.example/"')
    assert [h["title"] for h in hits] == ["Q900000001"]


def test_online_use_without_a_contact_is_refused(fake_wikidata, tmp_path):
    with pytest.raises(UsageError, match=r"set contact under \[wikidata\] in kg.toml"):
        WikidataClient(fake_wikidata.api, fake_wikidata.sparql, user_agent(""), tmp_path, False)
    # offline needs no contact: nothing is sent
    WikidataClient(fake_wikidata.api, fake_wikidata.sparql, user_agent(""), tmp_path, True)
    assert fake_wikidata.requests == []


def test_answers_are_cached_with_their_request(fake_wikidata, tmp_path):
    c = client(fake_wikidata, tmp_path)
    first = c.search_entities("Graustark")
    again = c.search_entities("Graustark")
    assert first == again and len(fake_wikidata.requests) == 1
    (path,) = tmp_path.rglob("*.json")
    record = json.loads(path.read_text())
    assert record["request"]["params"]["search"] == "Graustark"
    assert record["request"]["url"] == fake_wikidata.api
    assert record["response"]["search"] == first
    offline = client(fake_wikidata, tmp_path, offline=True)
    assert offline.search_entities("Graustark") == first
    assert len(fake_wikidata.requests) == 1


def test_offline_says_what_is_not_cached_and_collects_every_miss(fake_wikidata, tmp_path):
    c = client(fake_wikidata, tmp_path, offline=True)
    with pytest.raises(NotCached) as caught:
        c.search_entities("Boris Ruge")
    assert "not cached: wbsearchentities 'Boris Ruge' (en)" in str(caught.value)
    assert caught.value.exit_code == 2
    for call in (lambda: c.search_text("NACC"), lambda: c.get_entities(["Q1", "Q2"])):
        with pytest.raises(NotCached):
            call()
    with pytest.raises(NotCached) as everything:
        c.raise_misses()
    message = str(everything.value)
    for missing in (
        "wbsearchentities 'Boris Ruge' (en)",
        "list=search 'NACC'",
        "wbgetentities Q1|Q2",
    ):
        assert missing in message
    assert "without --offline" in message
    assert fake_wikidata.requests == []


def test_429_waits_what_retry_after_says(fake_wikidata, tmp_path):
    sleeps: list[float] = []
    fake_wikidata.fail("429", retry_after="7")
    c = client(fake_wikidata, tmp_path, sleep=sleeps.append)
    assert c.search_entities("Sylvania")
    assert sleeps == [7.0]
    assert len(fake_wikidata.requests) == 2


def test_429_with_an_http_date(fake_wikidata, tmp_path):
    sleeps: list[float] = []
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake_wikidata.fail("429", retry_after=when)
    client(fake_wikidata, tmp_path, sleep=sleeps.append).search_entities("Sylvania")
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 31


def test_500_is_retried_with_exponential_back_off(fake_wikidata, tmp_path):
    sleeps: list[float] = []
    fake_wikidata.fail("500", times=2)
    assert client(fake_wikidata, tmp_path, sleep=sleeps.append).search_entities("Sylvania")
    assert sleeps == [1.0, 2.0]


def test_500_for_ever_is_an_error_naming_the_endpoint(fake_wikidata, tmp_path):
    sleeps: list[float] = []
    fake_wikidata.fail("500", times=4)
    with pytest.raises(WikidataError) as caught:
        client(fake_wikidata, tmp_path, sleep=sleeps.append).search_entities("Sylvania")
    assert sleeps == [1.0, 2.0, 4.0]
    message = str(caught.value)
    assert fake_wikidata.api in message and "after 4 attempts: HTTP 500" in message
    assert caught.value.exit_code == 2
    assert not list(tmp_path.rglob("*.json"))  # a failure is never cached


def test_a_slow_answer_times_out_and_is_retried(fake_wikidata, tmp_path):
    fake_wikidata.slow_seconds = 0.6
    fake_wikidata.fail("slow")
    c = client(fake_wikidata, tmp_path, timeout=0.2)
    assert c.search_entities("Sylvania")
    fake_wikidata.fail("slow", times=2)
    with pytest.raises(WikidataError, match=r"no answer within 0.2 s"):
        client(fake_wikidata, tmp_path, timeout=0.2, retries=1).search_entities("Graustark")


def test_malformed_json_is_an_error_naming_the_endpoint(fake_wikidata, tmp_path):
    fake_wikidata.fail("malformed")
    with pytest.raises(WikidataError) as caught:
        client(fake_wikidata, tmp_path).search_entities("Sylvania")
    assert (
        f"the answer of {fake_wikidata.api} to wbsearchentities 'Sylvania' (en) is not JSON"
        in str(caught.value)
    )


def test_an_empty_search_is_no_candidate(fake_wikidata, tmp_path):
    fake_wikidata.fail("empty")
    assert client(fake_wikidata, tmp_path).search_entities("Sylvania") == []


def test_get_entities_batches_by_50_and_reports_redirects(fake_wikidata, tmp_path):
    ids = ["Q900000001", "Q900000007"] + [f"Q9100000{n:02d}" for n in range(98)]
    c = client(fake_wikidata, tmp_path)
    found = c.get_entities(ids)
    batches = [r["params"]["ids"].split("|") for r in fake_wikidata.api_requests("wbgetentities")]
    assert [len(b) for b in batches] == [50, 50]
    assert all(
        r["params"]["props"] == "labels|aliases|descriptions|claims|sitelinks|info"
        for r in fake_wikidata.requests
    )
    assert set(found) == {"Q900000001", "Q900000007"}  # the missing are left out
    assert found["Q900000007"]["id"] == "Q900000008"
    assert c.redirects == {"Q900000007": "Q900000008"}


def test_one_request_at_a_time(fake_wikidata, tmp_path):
    fake_wikidata.slow_seconds = 0.05
    fake_wikidata.fail("slow", times=6)
    c = client(fake_wikidata, tmp_path)
    threads = [
        threading.Thread(target=c.search_entities, args=(name,))
        for name in ("Sylvania", "Graustark", "Council", "League", "Marsovian", "Rudolf")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_wikidata.requests) == 6
    assert fake_wikidata.max_in_flight == 1


def test_sparql_asks_for_json(fake_wikidata, tmp_path):
    fake_wikidata.sparql_answer = {
        "head": {"vars": ["x"]},
        "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]},
    }
    answer = client(fake_wikidata, tmp_path).sparql("SELECT ?x WHERE { BIND(1 AS ?x) }")
    assert answer["results"]["bindings"][0]["x"]["value"] == "1"
    (request,) = fake_wikidata.requests
    assert request["path"] == "/sparql" and request["params"]["format"] == "json"
    long = client(fake_wikidata, tmp_path).sparql(
        "SELECT ?x WHERE { BIND(1 AS ?x) }" + " " * 2000 + "#"
    )
    assert long == fake_wikidata.sparql_answer
    assert fake_wikidata.requests[-1]["method"] == "POST"


def test_an_api_error_is_an_error(fake_wikidata, tmp_path):
    c = client(fake_wikidata, tmp_path)
    with pytest.raises(WikidataError, match="badvalue"):
        c._get(fake_wikidata.api, {"action": "nonsense", "format": "json"}, "nonsense")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("min_score = 2", "min_score under [wikidata] must be a number from 0 to 1"),
        ('api = "ftp://example.org/api.php"', "api under [wikidata] must be an http(s) IRI"),
        ("margin = true", "margin under [wikidata] must be a number from 0 to 1"),
        ("contact = 3", "contact under [wikidata] must be a string"),
        ('queue = "../outside.tsv"', "lies outside the project"),
        ('colour = "red"', "unknown key 'colour' under [wikidata]"),
    ],
)
def test_the_wikidata_table_is_checked(project_copy, table, message):
    config = project_copy / "kg.toml"
    config.write_text(config.read_text() + f"\n[wikidata]\n{table}\n")
    with pytest.raises(InputError) as caught:
        Project.load(project_copy)
    assert message in str(caught.value)


def test_the_wikidata_table_defaults(project_copy):
    config = Project.load(project_copy).wikidata
    assert (config.api, config.sparql) == (
        "https://www.wikidata.org/w/api.php",
        "https://query.wikidata.org/sparql",
    )
    assert (config.queue, config.min_score, config.margin, config.contact) == (
        "links/queue.sssom.tsv",
        0.95,
        0.1,
        "",
    )
