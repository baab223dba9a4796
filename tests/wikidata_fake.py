"""A fake Wikidata for the tests: a real HTTP server on 127.0.0.1 (a random port).

It answers the four requests kg sends, in the shapes Wikidata's documentation gives:

- ``GET /w/api.php?action=wbsearchentities`` -> ``{"searchinfo", "search": [...], "success"}``
- ``GET /w/api.php?action=query&list=search`` (with ``haswbstatement:P856=...``) ->
  ``{"batchcomplete", "query": {"searchinfo", "search": [{"ns", "title", "pageid"...}]}}``
- ``GET /w/api.php?action=wbgetentities`` -> ``{"entities": {...}, "success": 1}``, a
  redirected identifier answered with its target and ``"redirects": {"from", "to"}``,
  an unknown one with ``{"id", "missing": ""}``
- ``GET|POST /sparql`` -> SPARQL 1.1 JSON results; the one query shape kg's reconciler
  sends (``VALUES ?item {...} VALUES ?class {...} ?item wdt:P31/wdt:P279* ?class``) is
  answered from the fixture items, any other with :attr:`FakeWikidata.sparql_answer`.

The items are TEST DATA, in tests/fixtures/wikidata/*.json: fictional identifiers
(Q9000000xx) and labels, except the few real class items they point at (Q5 human, Q6256
country, Q3624078 sovereign state, Q484652 international organization), which kg's type
table names. Nothing here is Wikidata's word.

Failures are switched on per test with :meth:`FakeWikidata.fail` (429 with Retry-After,
500, an answer slower than the client's time-out, malformed JSON, an empty search), and
every request is recorded with its User-Agent and timing (:attr:`FakeWikidata.requests`),
so tests can assert politeness: one at a time, a User-Agent, batches of 50.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "wikidata"


def load_items() -> tuple[dict[str, dict], dict[str, str]]:
    items = {}
    for path in sorted(FIXTURES.glob("Q*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        items[item["id"]] = item
    redirects = json.loads((FIXTURES / "redirects.json").read_text(encoding="utf-8"))
    return items, redirects


class FakeWikidata:
    """The server, its items, its switchable failures and what it received."""

    def __init__(self) -> None:
        self.items, self.redirects = load_items()
        self.requests: list[dict] = []
        self.failures: list[tuple[str, dict]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.slow_seconds = 1.0
        self.sparql_answer: dict = {"head": {"vars": []}, "results": {"bindings": []}}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, self.path.partition("?")[2])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.rfile.read(length).decode("utf-8"))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api = f"{base}/w/api.php"
        self.sparql = f"{base}/sparql"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        """Forget what was received, once every answer still under way (a slow one that
        a client gave up on) is finished."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self.requests.clear()
        self.failures.clear()
        self.max_in_flight = 0
        self.sparql_answer = {"head": {"vars": []}, "results": {"bindings": []}}

    def fail(self, kind: str, times: int = 1, **options) -> None:
        """The next *times* requests fail as *kind*: ``429`` (``retry_after=`` header
        value), ``500``, ``slow`` (answers after :attr:`slow_seconds`), ``malformed``,
        ``empty`` (searches find nothing; other requests answer normally)."""
        self.failures.extend([(kind, options)] * times)

    def api_requests(self, action: str) -> list[dict]:
        return [
            r
            for r in self.requests
            if r["params"].get("action") == action or r["params"].get("list") == action
        ]

    # -- answering -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, query: str) -> None:
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            failure = self.failures.pop(0) if self.failures else None
        record = {
            "method": handler.command,
            "path": handler.path.partition("?")[0],
            "params": params,
            "user_agent": handler.headers.get("User-Agent"),
            "started": time.monotonic(),
        }
        with self.lock:
            self.requests.append(record)
        done = False

        def finished() -> None:  # before the body goes out: a polite client waits for it
            nonlocal done
            if not done:
                done = True
                record["ended"] = time.monotonic()
                with self.lock:
                    self.in_flight -= 1

        try:
            status, headers, body = self._answer(record["path"], params, failure)
            if failure and failure[0] == "slow":
                time.sleep(self.slow_seconds)
            try:
                handler.send_response(status)
                for key, value in headers.items():
                    handler.send_header(key, value)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                finished()
                handler.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a time-out): what it should do
        finally:
            finished()

    def _answer(self, path: str, params: dict, failure) -> tuple[int, dict, bytes]:
        kind, options = failure or ("", {})
        if kind == "429":
            return 429, {"Retry-After": str(options.get("retry_after", "3"))}, b"slow down"
        if kind == "500":
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        if kind == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"search": [ oops'
        if path == "/sparql":
            answer = self._sparql(params.get("query", ""))
            kind_type = "application/sparql-results+json"
        elif path == "/w/api.php":
            answer = self._api(params, empty=kind == "empty")
            kind_type = "application/json; charset=utf-8"
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": kind_type}, json.dumps(answer).encode("utf-8")

    def _api(self, params: dict, *, empty: bool) -> dict:
        action = params.get("action")
        if action == "wbsearchentities":
            return self._wbsearchentities(params, empty)
        if action == "query" and params.get("list") == "search":
            return self._list_search(params, empty)
        if action == "wbgetentities":
            return self._wbgetentities(params)
        return {"error": {"code": "badvalue", "info": f"Unrecognized value for action: {action}"}}

    def _indexed(self) -> Iterator[tuple[str, dict]]:
        """What the search index holds: every item under its id, and the target of a
        redirect under the old id too (a search index lags behind merges)."""
        yield from self.items.items()
        for old, new in self.redirects.items():
            yield old, self.items[new]

    def _wbsearchentities(self, params: dict, empty: bool) -> dict:
        text = params.get("search", "")
        hits = []
        for qid, item in [] if empty else self._indexed():
            for kind, value in _names(item):
                if value.casefold().startswith(text.casefold()) and text:
                    hits.append(_search_hit(qid, item, kind, value))
                    break
        limit = int(params.get("limit", "7"))
        return {"searchinfo": {"search": text}, "search": hits[:limit], "success": 1}

    def _list_search(self, params: dict, empty: bool) -> dict:
        text = params.get("srsearch", "")
        found = []
        keyword = re.fullmatch(r'haswbstatement:"?(P\d+)=(.*?)"?', text.strip())
        for qid, item in [] if empty else self.items.items():
            if keyword:
                prop, value = keyword.groups()
                values = [
                    s["mainsnak"].get("datavalue", {}).get("value")
                    for s in item.get("claims", {}).get(prop, [])
                ]
                values = [v["id"] if isinstance(v, dict) else v for v in values]
                if value in values:
                    found.append((qid, item))
            elif any(text.casefold() in v.casefold() for _, v in _names(item)) and text:
                found.append((qid, item))
        limit = int(params.get("srlimit", "10"))
        return {
            "batchcomplete": "",
            "query": {
                "searchinfo": {"totalhits": len(found)},
                "search": [
                    {
                        "ns": 0,
                        "title": qid,
                        "pageid": item["pageid"],
                        "size": 1000,
                        "wordcount": 10,
                        "snippet": _label(item),
                        "timestamp": item["modified"],
                    }
                    for qid, item in found[:limit]
                ],
            },
        }

    def _wbgetentities(self, params: dict) -> dict:
        ids = [i for i in params.get("ids", "").split("|") if i]
        if len(ids) > 50:
            return {"error": {"code": "toomanyvalues", "info": "Too many values for ids"}}
        entities = {}
        for qid in ids:
            target = self.redirects.get(qid, qid)
            item = self.items.get(target)
            if item is None:
                entities[qid] = {"id": qid, "missing": ""}
                continue
            item = dict(item)
            if target != qid:
                item["redirects"] = {"from": qid, "to": target}
            entities[qid] = item
        return {"entities": entities, "success": 1}

    def _sparql(self, query: str) -> dict:
        values = {
            name: re.findall(r"wd:(Q\d+)", body)
            for name, body in re.findall(r"VALUES\s+\?(\w+)\s*\{([^}]*)\}", query)
        }
        if set(values) != {"item", "class"} or "wdt:P31/wdt:P279*" not in query:
            return self.sparql_answer
        rows = []
        for item in values["item"]:
            reached = self._classes(item)
            for cls in values["class"]:
                if cls in reached:
                    rows.append(
                        {
                            "item": {
                                "type": "uri",
                                "value": f"http://www.wikidata.org/entity/{item}",
                            },
                            "class": {
                                "type": "uri",
                                "value": f"http://www.wikidata.org/entity/{cls}",
                            },
                        }
                    )
        return {"head": {"vars": ["item", "class"]}, "results": {"bindings": rows}}

    def _classes(self, qid: str) -> set[str]:
        """Classes *qid* is an instance of, through P31/P279*."""
        item = self.items.get(self.redirects.get(qid, qid)) or {}
        todo = [_target(s) for s in item.get("claims", {}).get("P31", [])]
        seen: set[str] = set()
        while todo:
            cls = todo.pop()
            if cls in seen:
                continue
            seen.add(cls)
            todo.extend(
                _target(s) for s in self.items.get(cls, {}).get("claims", {}).get("P279", [])
            )
        return seen


def _target(statement: dict) -> str:
    return statement["mainsnak"]["datavalue"]["value"]["id"]


def _label(item: dict) -> str:
    return item["labels"]["en"]["value"]


def _names(item: dict) -> Iterator[tuple[str, str]]:
    yield "label", _label(item)
    for alias in item.get("aliases", {}).get("en", []):
        yield "alias", alias["value"]


def _search_hit(qid: str, item: dict, kind: str, text: str) -> dict:
    label = _label(item)
    description = item["descriptions"]["en"]["value"]
    return {
        "id": qid,
        "title": qid,
        "pageid": item["pageid"],
        "concepturi": f"http://www.wikidata.org/entity/{qid}",
        "repository": "wikidata",
        "url": f"//www.wikidata.org/wiki/{qid}",
        "display": {
            "label": {"value": label, "language": "en"},
            "description": {"value": description, "language": "en"},
        },
        "label": label,
        "description": description,
        "match": {"type": kind, "language": "en", "text": text},
        **({"aliases": [text]} if kind == "alias" else {}),
    }


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWikidata]:
    server = FakeWikidata()
    yield server
    server.close()


@pytest.fixture
def fake_wikidata(fake_server: FakeWikidata) -> FakeWikidata:
    """The fake Wikidata, with no request recorded and no failure switched on."""
    fake_server.reset()
    return fake_server


def point_project_at(
    project: Path, fake: FakeWikidata, *, contact: str = "kg-tests@example.org", extra: str = ""
) -> None:
    """Give *project*'s kg.toml a [wikidata] table aimed at *fake*, and add the fictional
    test source to its data/."""
    config = project / "kg.toml"
    lines = [f'api = "{fake.api}"', f'sparql = "{fake.sparql}"']
    if contact:
        lines.insert(0, f'contact = "{contact}"')
    config.write_text(
        config.read_text(encoding="utf-8") + "\n[wikidata]\n" + "\n".join(lines) + "\n" + extra,
        encoding="utf-8",
    )
    shutil.copy(FIXTURES / "fictional.ttl", project / "data" / "fictional.ttl")
