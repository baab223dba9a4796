"""A polite, cached client for Wikidata (or any Wikibase): its action API and its
SPARQL query service.

Wikimedia asks clients to say who they are, to send one request at a time and to back
off when told to; the query service answers an impolite client with HTTP 429 and then
bans it. So this client:

- sends a descriptive User-Agent, ``kg/<version> (<contact>)``, the contact coming from
  ``[wikidata] contact`` in kg.toml; online use without one is refused;
- sends one request at a time (a lock shared by every client of the process);
- retries with exponential back-off (1 s, 2 s, 4 s...) on 5xx answers and network
  failures, and on 429 waits what ``Retry-After`` says (seconds or an HTTP date);
- gives every request a time-out;
- batches ``wbgetentities`` by 50 identifiers, the API's limit;
- keeps every successful answer on disk under ``cache_dir`` (by default
  ``.kg/cache/wikidata/``), one JSON file per request, named by a hash of the method,
  the URL and the sorted parameters, holding the request beside the answer. With
  ``offline=True`` it answers from that cache only, and a request it has not seen is
  :class:`NotCached`, which says what is missing; :attr:`WikidataClient.misses` collects
  every miss of a run so a caller can say them all at once.

Everything goes through urllib: no new dependency. Sleeping goes through the injectable
*sleep*, so tests see the waits without waiting.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kg import __version__
from kg.errors import KgError, UsageError, shown

#: wbgetentities answers at most 50 identifiers per request (500 for bots).
BATCH = 50
#: What ``get_entities`` asks for.
ENTITY_PROPS = "labels|aliases|descriptions|claims|sitelinks|info"
#: Longest wait a ``Retry-After`` may impose before kg gives up instead (seconds).
MAX_RETRY_AFTER = 300.0
#: The cache folder, relative to the project root.
CACHE_DIR = Path(".kg") / "cache" / "wikidata"

#: One request at a time, across every client of this process.
_ONE_AT_A_TIME = threading.Lock()


class WikidataError(KgError):
    """Wikidata (or the configured Wikibase) could not answer: down, refusing, too slow,
    or answering something that is not what its documentation says."""


class NotCached(KgError):
    """Offline, and the cache does not hold the answer to a request (or several)."""

    def __init__(self, missing: Iterable[str]):
        self.missing = list(dict.fromkeys(missing))
        shown_missing = "; ".join(self.missing[:20])
        more = f" (and {len(self.missing) - 20} more)" if len(self.missing) > 20 else ""
        super().__init__(
            f"not cached: {shown_missing}{more}. Run again without --offline to fetch "
            f"{'it' if len(self.missing) == 1 else 'them'} (kg.toml needs [wikidata] contact)."
        )


def user_agent(contact: str) -> str:
    """The User-Agent kg sends: who the program is and how to reach whoever runs it."""
    return f"kg/{__version__} ({contact})" if contact else f"kg/{__version__}"


class WikidataClient:
    """The action API (*api_url*) and the SPARQL endpoint (*sparql_url*) of a Wikibase,
    asked politely and remembered on disk (see the module's docstring).

    *user_agent* must name a contact in parentheses, as :func:`user_agent` writes it
    (``kg/0.1.0 (you@example.org)``), unless *offline*: no request is sent then."""

    def __init__(
        self,
        api_url: str,
        sparql_url: str,
        user_agent: str,
        cache_dir: Path,
        offline: bool,
        timeout: float = 20,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not offline and "(" not in user_agent:
            raise UsageError(
                "kg asks Wikidata only with a User-Agent that says how to reach you, as "
                "Wikimedia's policy requires: set contact under [wikidata] in kg.toml "
                '(contact = "you@example.org" or a web page), or run with --offline to '
                "answer from the cache only."
            )
        self.api_url = api_url
        self.sparql_url = sparql_url
        self.user_agent = user_agent
        self.cache_dir = Path(cache_dir)
        self.offline = offline
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        #: Every request the cache could not answer offline, described for people.
        self.misses: list[str] = []
        #: Requests sent over the network (not answered by the cache).
        self.sent = 0
        #: Old identifier -> the one it redirects to, as seen by :meth:`get_entities`.
        self.redirects: dict[str, str] = {}

    @classmethod
    def for_project(cls, project, *, offline: bool = False, **kwargs) -> WikidataClient:
        """The client that kg.toml's ``[wikidata]`` table describes."""
        config = project.wikidata
        return cls(
            config.api,
            config.sparql,
            user_agent(config.contact),
            project.root / CACHE_DIR,
            offline,
            **kwargs,
        )

    # -- the four questions ---------------------------------------------------------------

    def search_entities(self, text: str, language: str = "en", limit: int = 7) -> list[dict]:
        """Items whose label or alias starts with *text* (``wbsearchentities``)."""
        params = {
            "action": "wbsearchentities",
            "search": text,
            "language": language,
            "uselang": language,
            "type": "item",
            "limit": str(limit),
            "format": "json",
        }
        answer = self._get(self.api_url, params, f"wbsearchentities {shown(text)} ({language})")
        hits = answer.get("search", [])
        return hits if isinstance(hits, list) else []

    def search_text(self, text: str, limit: int = 7) -> list[dict]:
        """Items found by full-text search (``action=query&list=search``), which also
        takes CirrusSearch keywords such as ``haswbstatement:P856=...``."""
        params = {
            "action": "query",
            "list": "search",
            "srsearch": text,
            "srnamespace": "0",
            "srlimit": str(limit),
            "format": "json",
        }
        answer = self._get(self.api_url, params, f"list=search {shown(text)}")
        hits = (answer.get("query") or {}).get("search", [])
        return hits if isinstance(hits, list) else []

    def get_entities(self, qids: Iterable[str]) -> dict[str, dict]:
        """The items *qids* (``wbgetentities``, 50 at a time), keyed by the identifier
        asked for. A redirected identifier gives its target's item (whose ``id`` differs
        from the key) and is recorded in :attr:`redirects`; a missing one is left out."""
        wanted = list(dict.fromkeys(qids))
        found: dict[str, dict] = {}
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            params = {
                "action": "wbgetentities",
                "ids": "|".join(batch),
                "props": ENTITY_PROPS,
                "redirects": "yes",
                "format": "json",
            }
            answer = self._get(self.api_url, params, f"wbgetentities {'|'.join(batch)}")
            entities = answer.get("entities") or {}
            if not isinstance(entities, dict):
                raise WikidataError(
                    f"the answer of wbgetentities at {self.api_url} has no 'entities' object."
                )
            for key, entity in entities.items():
                if not isinstance(entity, dict) or "missing" in entity:
                    continue
                redirect = entity.get("redirects") or {}
                asked = redirect.get("from") or key
                if redirect.get("from") and redirect.get("to"):
                    self.redirects[redirect["from"]] = redirect["to"]
                elif entity.get("id") and entity["id"] != asked:
                    self.redirects[asked] = entity["id"]
                found[asked] = entity
        return found

    def sparql(self, query: str) -> dict:
        """SPARQL JSON results of *query* (GET, or POST for a long query)."""
        first = " ".join(query.split())
        return self._get(
            self.sparql_url,
            {"query": query, "format": "json"},
            f"sparql {shown(first, 80)}",
            post=len(query) > 1500,
        )

    # -- the machinery ----------------------------------------------------------------------

    def raise_misses(self) -> None:
        """Raise :class:`NotCached` listing every miss of the run, if there was one."""
        if self.misses:
            raise NotCached(self.misses)

    def cache_path(self, method: str, url: str, params: dict[str, str]) -> Path:
        """Where the answer to this request is kept."""
        key = json.dumps([method, url, sorted(params.items())], ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    def _get(self, url: str, params: dict[str, str], what: str, *, post: bool = False) -> dict:
        method = "POST" if post else "GET"
        path = self.cache_path(method, url, params)
        cached = _read_cached(path)
        if cached is not None:
            return cached
        if self.offline:
            self.misses.append(what)
            raise NotCached([what])
        answer = self._fetch(method, url, params, what)
        from kg.fileio import write_atomic

        record = {
            "request": {"method": method, "url": url, "params": params},
            "fetched": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "response": answer,
        }
        try:
            write_atomic(path, json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        except OSError as exc:
            raise WikidataError(
                f"cannot write the Wikidata cache ({exc.strerror}) under {self.cache_dir}; "
                "free space or fix its permissions."
            ) from None
        return answer

    def _fetch(self, method: str, url: str, params: dict[str, str], what: str) -> dict:
        body = urllib.parse.urlencode(params).encode("ascii")
        full = url if method == "POST" else f"{url}?{body.decode('ascii')}"
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "application/sparql-results+json, application/json",
        }
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        endpoint = urllib.parse.urlsplit(url)._replace(query="", fragment="").geturl()
        failure = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                full, data=body if method == "POST" else None, headers=headers, method=method
            )
            wait = 2.0**attempt
            try:
                with _ONE_AT_A_TIME:
                    self.sent += 1
                    with urllib.request.urlopen(request, timeout=self.timeout) as response:
                        raw = response.read()
                return _decode(raw, endpoint, what)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == 429:
                    wait = _retry_after(exc.headers.get("Retry-After"), wait)
                    failure = f"HTTP 429 Too Many Requests (waited {wait:g} s)"
                    if wait > MAX_RETRY_AFTER:
                        raise WikidataError(
                            f"{endpoint} asks kg to wait {wait:g} s before asking again "
                            f"({what}); try later."
                        ) from None
                elif 500 <= exc.code < 600:
                    failure = f"HTTP {exc.code} {exc.reason}"
                else:
                    raise WikidataError(
                        f"{endpoint} refused {what}: HTTP {exc.code} {exc.reason}."
                    ) from None
            except TimeoutError:
                failure = f"no answer within {self.timeout:g} s"
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    failure = f"no answer within {self.timeout:g} s"
                else:
                    failure = f"cannot reach it ({getattr(reason, 'strerror', None) or reason})"
            except (ConnectionError, OSError) as exc:
                failure = f"the connection failed ({exc.strerror or type(exc).__name__})"
            if attempt < self.retries:
                self.sleep(wait)
        raise WikidataError(
            f"{endpoint} did not answer {what} after {self.retries + 1} attempts: {failure}. "
            "Check the address under [wikidata] in kg.toml and your connection, or run with "
            "--offline to answer from the cache."
        )


def _decode(raw: bytes, endpoint: str, what: str) -> dict:
    """The JSON object of an answer, or a :class:`WikidataError` naming the endpoint."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WikidataError(
            f"the answer of {endpoint} to {what} is not JSON ({len(raw):,} bytes starting "
            f"{shown(raw[:40].decode('utf-8', 'replace'))}); the service may be failing, "
            "try again later."
        ) from None
    if not isinstance(answer, dict):
        raise WikidataError(f"the answer of {endpoint} to {what} is not a JSON object.")
    error = answer.get("error")
    if isinstance(error, dict):
        raise WikidataError(
            f"{endpoint} answered {what} with the error "
            f"{shown(str(error.get('code', '')))}: {shown(str(error.get('info', '')), 200)}."
        )
    return answer


def _retry_after(value: str | None, default: float) -> float:
    """Seconds to wait by a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _read_cached(path: Path) -> dict | None:
    """The cached answer at *path*, or None when there is none (or it is damaged: it is
    then fetched again)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    answer = record.get("response") if isinstance(record, dict) else None
    return answer if isinstance(answer, dict) else None


def value_of(snak: dict) -> Any:
    """The value of a snak (mainsnak or qualifier): an item's id, a time dict, a string."""
    if not isinstance(snak, dict) or snak.get("snaktype") != "value":
        return None
    datavalue = snak.get("datavalue") or {}
    value = datavalue.get("value")
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    if isinstance(value, dict) and "numeric-id" in value:
        return f"Q{value['numeric-id']}"
    return value


def statements(entity: dict, prop: str) -> list[dict]:
    """The statements of *entity* for *prop*, deprecated ones left out."""
    found = (entity.get("claims") or {}).get(prop) or []
    return [s for s in found if isinstance(s, dict) and s.get("rank") != "deprecated"]


def label_of(entity: dict, language: str = "en") -> str:
    """The label of *entity* in *language*, else in ``mul``, else any, else its id."""
    labels = entity.get("labels") or {}
    for lang in (language, "mul", *labels):
        value = (labels.get(lang) or {}).get("value")
        if value:
            return value
    return entity.get("id", "")
