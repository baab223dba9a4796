"""``kg serve``'s answer cache: a repeated request is answered from memory with the same
bytes and headers (``X-KG-Cache: hit``); nothing that may change is kept; the cache stays
within its bytes (``GET /status`` shows its figures). A new build missing the cache:
tests/test_serve_limits.py."""

from __future__ import annotations

import httpx
import pytest

from kg.serve_cache import AnswerCache, cacheable
from tests.conftest import ROOT
from tests.serving import serving

SELECT = "SELECT ?s ?label WHERE { ?s a kg:State ; rdfs:label ?label } ORDER BY ?s ?label"


@pytest.fixture(scope="module")
def client():
    with (
        serving(ROOT, "--workers", "1") as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        yield c


def entries(client: httpx.Client) -> int:
    return client.get("/status").json()["cache"]["entries"]


@pytest.mark.parametrize(
    ("path", "params", "accept"),
    [
        ("/queries/memberships", {"state": "Azerbaijan"}, "application/json"),
        ("/sparql", {"query": SELECT}, "text/csv"),
        ("/sparql", {"query": "CONSTRUCT WHERE { ex:nato ?p ?o }"}, "text/turtle"),
    ],
)
def test_a_hit_is_the_same_answer(client, path, params, accept):
    first = client.get(path, params=params, headers={"Accept": accept})
    second = client.get(path, params=params, headers={"Accept": accept})
    assert first.status_code == second.status_code == 200
    assert first.headers["x-kg-cache"] == "miss" and second.headers["x-kg-cache"] == "hit"
    assert second.content == first.content
    headers = [
        {k: v for k, v in a.headers.items() if k not in ("x-kg-cache", "date")}
        for a in (first, second)
    ]
    assert headers[0] == headers[1]
    # Another format is another answer: its own ETag, its own entry.
    other = client.get(path, params=params, headers={"Accept": "application/sparql-results+xml"})
    assert other.headers.get("etag") != first.headers["etag"]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (RAND() AS ?r) WHERE {}",
        "SELECT (STRUUID() AS ?u) WHERE {}",
        "SELECT (NOW() AS ?t) WHERE {}",
        "CONSTRUCT { ex:nato ex:x [] } WHERE {}",
    ],
)
def test_what_may_change_is_never_kept(client, query):
    before = entries(client)
    answers = [client.get("/sparql", params={"query": query}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.headers["x-kg-cache"] for a in answers] == ["miss", "miss"]
    assert entries(client) == before


def test_errors_are_never_kept(client):
    for _ in range(2):
        answer = client.get("/queries/memberships", params={"state": "no such state"})
        assert answer.status_code == 400 and "x-kg-cache" not in answer.headers


def test_the_cache_stays_within_its_bytes():
    # About 26 kB: an answer over 3.3 kB is never kept, the others are evicted in turn.
    with (
        serving(ROOT, "--workers", "1", "--cache-mib", "0.025") as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        sizes = []
        for n in range(1, 40):
            query = f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} ORDER BY ?s ?p ?o LIMIT {n}"
            answer = client.get("/sparql", params={"query": query})
            assert answer.status_code == 200
            sizes.append(len(answer.content))
            cache = client.get("/status").json()["cache"]
            assert cache["bytes"] <= cache["max_bytes"]
        assert cache["entries"] < sum(1 for s in sizes if s < cache["max_bytes"] // 8)
        assert sizes[-1] > cache["max_bytes"] // 8
        again = client.get("/sparql", params={"query": query})  # the biggest: never kept
        assert again.headers["x-kg-cache"] == "miss"


def test_no_cache_no_header():
    with serving(ROOT, "--workers", "1", "--cache-mib", "0") as url:
        answer = httpx.get(f"{url}/queries/memberships", timeout=60)
        assert answer.status_code == 200 and "x-kg-cache" not in answer.headers
        assert "cache" not in httpx.get(f"{url}/status", timeout=60).json()


def test_least_recently_used_goes_first():
    cache = AnswerCache(8 * 1024)
    headers = {"ETag": '"x"'}
    for tag in "abc":
        cache.put(tag, headers, b"x" * 700)
    assert cache.get("a") is not None  # now the most recent
    while "b" in cache._entries:
        cache.put(f"more{cache.size}", headers, b"x" * 700)
    assert cache.get("a") is not None and cache.size <= cache.max_bytes
    cache.put("huge", headers, b"x" * 2000)  # over an eighth: not kept
    assert cache.get("huge") is None


def test_cacheable_is_conservative():
    assert cacheable("SELECT * WHERE { ?s ?p ?o }")
    assert cacheable("CONSTRUCT WHERE { ?s ?p ?o }")
    for text in (
        "SELECT * WHERE { SERVICE <https://x.example/sparql> { ?s ?p ?o } }",
        "select (rand() as ?r) {}",
        "SELECT (BNODE() AS ?b) {}",
        "SELECT (UUID() AS ?b) {}",
        "CONSTRUCT { ?s ?p _:b } WHERE { ?s ?p ?o }",
    ):
        assert not cacheable(text), text


def test_cache_mib_in_kg_toml_is_checked():
    from kg.config import serve_config
    from kg.errors import InputError

    assert serve_config({"cache_mib": 0.5}).cache_mib == 0.5
    assert serve_config({}).cache_mib == 64
    with pytest.raises(InputError, match="cache_mib under \\[serve\\]"):
        serve_config({"cache_mib": -1})
