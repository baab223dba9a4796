"""The web pages of ``kg serve`` (kg.web), on an app made of those pages only.

The pages ask a :class:`kg.server.Runner`; here an in-process one answers from the
shipped project's compiled store (the server's worker pool is tested in its own file),
so these tests check what the pages show: the right rows, the sources of each fact,
escaped data, the right statuses, and nothing loaded from elsewhere.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from kg.graph import KnowledgeGraph
from kg.namespaces import EX
from kg.project import Project
from kg.results import Result
from kg.terms import Term
from kg.web import routes
from kg.web_timeline import span
from tests.conftest import ROOT, run_kg


class LocalRunner:
    """A :class:`kg.server.Runner` over a KnowledgeGraph in this process: each query runs
    in a thread, as the server's run in worker processes, never in the event loop."""

    def __init__(self, root: Path) -> None:
        self.project = Project.load(root)
        self.graph = KnowledgeGraph(self.project)
        self.build_id = "test"

    def stored_queries(self):
        return self.graph.stored_queries()

    async def sparql(
        self,
        text: str,
        *,
        inferred: bool = True,
        prefixes: bool = True,
        bindings: Mapping[str, Term] | None = None,
    ) -> Result:
        return await asyncio.to_thread(
            lambda: _whole(
                self.graph.sparql(text, inferred=inferred, prefixes=prefixes, bindings=bindings)
            )
        )

    async def run(self, name: str, params: Mapping[str, str], *, inferred: bool = True) -> Result:
        return await asyncio.to_thread(
            lambda: _whole(self.graph.run(name, dict(params), inferred=inferred))
        )


def _whole(result: Result) -> Result:
    """*result* read to the end in the thread that ran it (an engine cursor is lazy)."""
    if result.boolean is None:
        _ = result.triples if result.is_graph else result.rows
    return result


def client_for(root: Path) -> TestClient:
    return TestClient(Starlette(routes=routes(LocalRunner(root))))


@pytest.fixture(scope="module")
def client() -> TestClient:
    return client_for(ROOT)


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return KnowledgeGraph(Project.load(ROOT))


def test_query_page_has_a_labelled_editor_a_button_and_an_alert_region(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<label for="query">' in html
    assert re.search(r'<textarea id="query" name="query"[^>]*>[^<]*SELECT ', html)
    assert '<button type="submit">Run</button>' in html
    assert 'role="alert"' in html
    assert 'src="/static/kg.js"' in html
    assert 'href="/api"' in html  # the stored queries


def test_query_page_example_runs_and_gives_rows(client, kg):
    from kg.web import EXAMPLE

    assert kg.sparql(EXAMPLE, prefixes=True).rows  # the page opens on a query that answers


def test_static_files_are_served_by_kg(client):
    css = client.get("/static/kg.css")
    js = client.get("/static/kg.js")
    assert css.status_code == js.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "javascript" in js.headers["content-type"]
    assert client.get("/static/nothing.js").status_code == 404


PAGES = ("/", "/api", "/id/azerbaijan", "/timeline/azerbaijan", "/search?q=nato")


def test_nothing_is_loaded_from_elsewhere(client, kg):
    """No CDN, no web font: every script, stylesheet, image or frame a page loads is
    kg's own; links to other sites are only the data's own values (a Wikidata item)."""
    for path in PAGES:
        html = client.get(path).text
        for tag, _attr, url in re.findall(r"<(\w+)\b[^>]*?\b(src|href)=\"([^\"]*)\"", html):
            if tag == "a":
                continue  # a link a person may follow, not something the page loads
            assert not re.match(r"(https?:)?//", url), f"{path} loads {url}"
        assert "@import" not in html and "url(" not in html
    for name in ("kg.css", "kg.js"):
        body = client.get(f"/static/{name}").text
        assert not re.search(r"https?://", body), name
        assert "@import" not in body and "url(" not in body
    # what the pages link to outside kg: data values (the Wikidata item of a state)
    outside = re.findall(r'<a href="(https?://[^"]*)"', client.get("/id/azerbaijan").text)
    values = {
        o.value for (o,) in kg.sparql("SELECT ?o WHERE { ex:azerbaijan ?p ?o }", prefixes=True).rows
    }
    assert outside
    for url in outside:
        assert url in values or url.startswith("https://www.wikidata.org/wiki/Q"), url


def test_openapi_json_is_served_with_this_server_url(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "http://testserver"}]


def test_api_page_has_a_form_per_stored_query_with_a_labelled_field_per_parameter(client, kg):
    html = client.get("/api").text
    for name, query in kg.stored_queries().items():
        form = re.search(
            rf'<form class="run" action="/queries/{name}" method="get".*?</form>', html, re.S
        )
        assert form, name
        for param in [*query.params, "limit", "offset"]:
            pname = getattr(param, "name", param)
            fid = f"query_{name.replace('-', '_')}-{pname}"
            assert f'<label for="{fid}">{pname}</label>' in form.group(), (name, pname)
            assert f'id="{fid}" name="{pname}"' in form.group()
        if query.summary:
            assert _esc(query.summary) in html


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def test_entity_page_shows_facts_with_the_titles_of_their_sources(client, kg):
    page = client.get("/id/azerbaijan")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Azerbaijan</h1>" in html
    assert "kg:State" in html
    # every source stating something about it, by its title, as the stored query says
    titles = {row[3].value for row in kg.run("sources-of", {"entity": "ex:azerbaijan"}).rows}
    assert titles
    for title in titles:
        assert _esc(title) in html, title
    # its Wikidata item, its timeline, and what points to it (linked to its own page)
    (wd,) = kg.sparql("SELECT ?w WHERE { ex:azerbaijan kg:wikidata ?w }", prefixes=True).rows[0]
    assert f"https://www.wikidata.org/wiki/{wd.value.rsplit('/', 1)[1]}" in html
    assert 'href="/timeline/azerbaijan"' in html
    assert 'href="/id/relationship-azerbaijan-nato"' in html


def test_entity_page_of_what_is_not_a_state_has_no_timeline_link(client):
    html = client.get("/id/nato").text
    assert "<h1>" in html and "/timeline/" not in html


def test_unknown_entity_is_404_with_a_message(client):
    page = client.get("/id/no-such-entity")
    assert page.status_code == 404
    assert 'role="alert"' in page.text
    assert EX + "no-such-entity" in page.text
    assert client.get("/timeline/no-such-entity").status_code == 404


def test_entity_path_reaches_the_query_as_a_term_not_as_text(client):
    """A path holding SPARQL syntax names an entity that does not exist: nothing breaks."""
    page = client.get("/id/x> } ; DROP ALL ; { <y")
    assert page.status_code in (400, 404)
    assert "Traceback" not in page.text


def test_hostile_label_is_escaped_everywhere(project_copy):
    evil = "<script>alert('kg')</script> & <b>bold</b>"
    source = project_copy / "data" / "caliber-az-2025-azerbaijan-nato.ttl"
    text = source.read_text()
    assert 'rdfs:label "Armenia"' in text
    source.write_text(text.replace('rdfs:label "Armenia"', f'rdfs:label "{evil}"'))
    client = client_for(project_copy)
    for path in ("/id/armenia", "/search?q=script", "/timeline/armenia"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<b>bold" not in html, path
        assert "&lt;script&gt;alert(&#x27;kg&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in html, path


def test_timeline_svg_has_a_row_per_dated_event_and_the_same_table(client, kg):
    rows = kg.run("timeline", {"state": "ex:azerbaijan"}).rows
    page = client.get("/timeline/azerbaijan")
    assert page.status_code == 200
    html = page.text
    svg = re.search(r"<svg .*?</svg>", html, re.S).group()
    assert 'role="img"' in svg and "<title" in svg
    assert svg.count('<g class="row">') == len(rows)
    table = re.search(r"<table.*?</table>", html[html.index("</svg>") :], re.S).group()
    assert table.count("<tr>") == len(rows) + 1  # and the heading
    for date, event, *_ in rows:
        assert f'<td class="date">{date.value}</td><td>{_esc(event.value)}</td>' in table
    # a year on the axis for the first and the last event
    assert ">1990</text>" in svg and ">2025</text>" in svg


def test_timeline_of_what_is_not_a_state_says_why(client):
    page = client.get("/timeline/nato")
    assert page.status_code == 400
    assert "kg:State" in page.text and 'role="alert"' in page.text


def test_timeline_narrowed_by_the_query_parameters(client, kg):
    rows = kg.run("timeline", {"state": "ex:azerbaijan", "from": "2000"}).rows
    html = client.get("/timeline/azerbaijan?from=2000").text
    assert html.count('<g class="row">') == len(rows) > 0


def test_search_finds_entities_by_part_of_their_label(client):
    html = client.get("/search?q=AZERB").text
    assert 'href="/id/azerbaijan"' in html
    assert "No entity" in client.get("/search?q=zzzzqqq").text


@pytest.mark.parametrize(
    ("date", "covered"),
    [
        ("1992", (1992, 1993)),
        ("1992-03", (1992 + 2 / 12, 1992 + 3 / 12)),
        ("2004\u20132005 (sources disagree)", (2004, 2006)),
        ("undated", None),
    ],
)
def test_a_date_is_drawn_as_the_time_it_covers(date, covered):
    assert span(date) == (pytest.approx(covered) if covered else None)


def test_a_javascript_iri_from_data_is_never_a_link(project_copy):
    """A build kept despite its shapes (--allow-invalid) may hold anything where a
    Wikidata link belongs; only http(s) IRIs become links."""
    source = project_copy / "data" / "caliber-az-2025-azerbaijan-nato.ttl"
    text = source.read_text()
    state = "ex:armenia a kg:State ;"
    assert state in text
    hostile = f"{state} kg:wikidata <javascript:alert(document.domain)> ;"
    source.write_text(text.replace(state, hostile))
    built = run_kg(project_copy, "build", "--allow-invalid")
    assert built.returncode == 0, built.stderr
    html = client_for(project_copy).get("/id/armenia").text
    assert "javascript:alert(document.domain)" in html  # shown, as text
    assert not re.search(r"href=\"\s*javascript:", html, re.I)


@pytest.mark.parametrize(
    "path, status, says",
    [
        ("/id/%00", 400, "control character"),
        ("/id/%2e%2e/%2e%2e/etc", 404, "no statement"),
        ("/id/a%3Cscript%3E", 400, "not a valid IRI"),
        ("/timeline/", 400, "after /timeline/"),
        ("/timeline/%00", 400, "control character"),
        ("/timeline/azerbaijan?from=%3Cscript%3E", 400, "must be an xsd:date"),
        ("/timeline/azerbaijan?to=99999999999999999999", 400, "years 0001 to 9999"),
        ("/timeline/azerbaijan?limit=-1", 400, "has no parameter"),
    ],
)
def test_hostile_paths_and_parameters_get_a_page_saying_why(client, path, status, says):
    page = client.get(path)
    assert page.status_code == status
    assert says in page.text and 'role="alert"' in page.text
    assert "<script>" not in page.text and "Traceback" not in page.text
