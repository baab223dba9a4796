"""SERVICE reaches the network only for endpoints kg.toml allows (see kg.service).

A real HTTP server on 127.0.0.1 records every request it receives. Each spelling of
SERVICE below goes through the CLI, on both engines, and must be refused (exit 2) while
the server receives nothing. A control test runs the same spellings on the bare engines
(pyoxigraph, rdflib) without kg's check and shows that each one marked as calling out
does reach the server: so "nothing recorded" is not vacuous.
"""

from __future__ import annotations

import contextlib
import gc
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kg.errors import UsageError
from kg.namespaces import PREFIXES
from kg.service import check_services
from tests.conftest import ROOT, invoke

EMPTY_RESULTS = json.dumps({"head": {"vars": []}, "results": {"bindings": []}}).encode()


class Endpoint:
    """A SPARQL endpoint on loopback that answers every request with no rows, at once,
    and remembers (method, path) of each."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        lock = threading.Lock()
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with lock:
                    requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(EMPTY_RESULTS)))
                self.end_headers()
                self.wfile.write(EMPTY_RESULTS)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Endpoint]:
    endpoint = Endpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def endpoint(server: Endpoint) -> Endpoint:
    """The loopback endpoint, with no request recorded yet."""
    server.requests.clear()
    return server


# (id, query with {E} for the endpoint's base IRI, engines that call out without kg's
# check: "ox" pyoxigraph, "rdflib"; both engines parse SPARQL differently, and spellings
# only one of them reads as SERVICE are here on purpose).
SPELLINGS: list[tuple[str, str, set[str]]] = [
    ("plain", "SELECT * WHERE { SERVICE <{E}plain> { ?s ?p ?o } }", {"ox", "rdflib"}),
    ("silent", "SELECT * WHERE { SERVICE SILENT <{E}silent> { ?s ?p ?o } }", {"ox"}),
    ("lower-case", "select * where { service <{E}lower> { ?s ?p ?o } }", {"ox", "rdflib"}),
    ("mixed-case", "SELECT * WHERE { SeRvIcE <{E}mixed> { ?s ?p ?o } }", {"ox", "rdflib"}),
    (
        "optional",
        "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <{E}optional> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    (
        "union",
        "SELECT * WHERE { { ?s ?p ?o } UNION { SERVICE <{E}union> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    (
        "minus",
        "SELECT * WHERE { ?s ?p ?o MINUS { SERVICE <{E}minus> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    (
        "nested",
        "SELECT * WHERE { SERVICE <{E}outer> { SERVICE <{E}inner> { ?s ?p ?o } } }",
        {"ox"},
    ),
    (
        "subquery",
        "SELECT * WHERE { { SELECT ?s WHERE { SERVICE <{E}sub> { ?s ?p ?o } } } }",
        {"ox", "rdflib"},
    ),
    (
        "filter-exists",
        "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <{E}exists> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    (
        "filter-not-exists",
        "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { SERVICE <{E}nexists> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    (
        "bind-exists",
        "SELECT * WHERE { ?s ?p ?o BIND(EXISTS { SERVICE <{E}bind> { ?s ?p ?o } } AS ?b) }",
        {"ox", "rdflib"},
    ),
    (
        "graph",
        "SELECT * WHERE { GRAPH ?g { ?s ?p ?o SERVICE <{E}graph> { ?s ?p ?o } } }",
        {"ox", "rdflib"},
    ),
    ("ask", "ASK { SERVICE <{E}ask> { ?s ?p ?o } }", {"ox", "rdflib"}),
    (
        "construct",
        "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <{E}construct> { ?s ?p ?o } }",
        {"ox", "rdflib"},
    ),
    ("describe", "DESCRIBE ?s WHERE { SERVICE <{E}describe> { ?s ?p ?o } }", {"ox", "rdflib"}),
    (
        "variable-values",
        "SELECT * WHERE { VALUES ?x { <{E}var> } SERVICE ?x { ?s ?p ?o } }",
        set(),  # refused because it cannot be checked, whichever engine might call
    ),
    (
        "variable-bind",
        "SELECT * WHERE { BIND(<{E}varbind> AS ?x) SERVICE ?x { ?s ?p ?o } }",
        set(),
    ),
    ("prefixed", "PREFIX e: <{E}> SELECT * WHERE { SERVICE e:pname { ?s ?p ?o } }", {"ox"}),
    (
        "redeclared-prefix",  # ex: is predeclared by kg; the query's own PREFIX wins
        "PREFIX ex: <{E}> SELECT * WHERE { SERVICE ex:redeclared { ?s ?p ?o } }",
        {"ox"},
    ),
    ("base-relative", "BASE <{E}> SELECT * WHERE { SERVICE <relative> { ?s ?p ?o } }", {"ox"}),
    (
        "two-bases",  # the last BASE counts
        "BASE <http://allowed.invalid/> BASE <{E}> SELECT * WHERE { SERVICE <b> { ?s ?p ?o } }",
        {"ox"},
    ),
    ("escaped-iri", r"SELECT * WHERE { SERVICE <{E}\u0065scaped> { ?s ?p ?o } }", {"ox"}),
    ("escaped-keyword", r"SELECT * WHERE { SERVIC\u0045 <{E}kw> { ?s ?p ?o } }", {"rdflib"}),
    ("long-s", "SELECT * WHERE { \u017fERVICE <{E}longs> { ?s ?p ?o } }", {"rdflib"}),
    ("no-spaces", "SELECT*WHERE{SERVICE<{E}nospace>{?s ?p ?o}}", {"ox"}),
    ("comment-inside", "SELECT * WHERE { SERVICE # here\n <{E}comment> { ?s ?p ?o } }", {"ox"}),
    # Oxigraph's keywords need no boundary; rdflib cannot parse these at all
    ("keyword-glued-silent", "SELECT * WHERE { SERVICESILENT<{E}glued> { ?s ?p ?o } }", {"ox"}),
    ("keyword-colon", "PREFIX : <{E}> SELECT * WHERE { SERVICE:colon { ?s ?p ?o } }", {"ox"}),
    (
        "keyword-prefix-s",  # SERVICE then s:q
        "PREFIX s: <{E}> SELECT * WHERE { services:q { ?s ?p ?o } }",
        {"ox"},
    ),
    (
        "silent-as-prefix",  # SERVICE SILENT :x, not SERVICE silent:x
        "PREFIX silent: <http://silent.invalid/> PREFIX : <{E}> "
        "SELECT * WHERE { SERVICE silent:x { ?s ?p ?o } }",
        {"ox"},
    ),
    ("after-true", "SELECT * WHERE { ?s ?p trueSERVICE <{E}true> { ?s ?p ?o } }", {"ox"}),
    ("after-number", "SELECT * WHERE { ?s ?p 1SERVICE <{E}one> { ?s ?p ?o } }", {"ox"}),
    # texts that hide a SERVICE from a naive reading
    (
        "comment-ends-at-cr",
        "SELECT * WHERE { ?s ?p ?o # note\rSERVICE <{E}cr> { ?s ?p ?o } }",
        {"ox"},
    ),
    (
        "escaped-quote",  # rdflib expands \u0022 first, then reads a comment; Oxigraph does not
        'SELECT * WHERE { ?s ?p "\\u0022 } #" . SERVICE <{E}u22> { ?a ?b ?c } ?s ?p "x" }',
        {"ox"},
    ),
    (
        "less-than-quote",  # <'x> is no IRI here: "<" compares, then a string
        "SELECT * WHERE { ?s ?p ?o BIND(1 AS ?a) FILTER(?a<'x>' || true) "
        "SERVICE <{E}lt> { ?s ?p ?o } FILTER(?a != '') }",
        {"ox", "rdflib"},
    ),
    (
        "local-escape-hash",  # e:x\# is a prefixed name, not the start of a comment
        "PREFIX e: <http://e.invalid/> "
        "SELECT * WHERE { ?s ?p e:x\\# . SERVICE <{E}hash> { ?a ?b ?c } }",
        {"ox"},
    ),
]
SPELLING_IDS = [name for name, _, _ in SPELLINGS]


def spelled(template: str, endpoint: Endpoint) -> str:
    return template.replace("{E}", endpoint.base)


@pytest.mark.parametrize("engine", ["oxigraph", "reference"])
@pytest.mark.parametrize(("name", "template", "callers"), SPELLINGS, ids=SPELLING_IDS)
def test_service_is_refused_and_nothing_is_sent(
    runner, endpoint: Endpoint, engine: str, name: str, template: str, callers: set[str]
) -> None:
    result = invoke(runner, "--engine", engine, "sparql", spelled(template, endpoint))
    assert result.exit_code == 2, result.output
    assert "SERVICE" in result.stderr
    assert "Traceback" not in result.stderr
    assert endpoint.requests == []


def _control_data():
    """Triples every spelling's patterns match, so that no engine skips a SERVICE
    because the patterns joined with it are empty."""
    s, p = "http://a.invalid/s", "http://a.invalid/p"
    xsd = "http://www.w3.org/2001/XMLSchema#"
    objects = ['"o"', f'"true"^^<{xsd}boolean>', f'"1"^^<{xsd}integer>']
    objects += ["<http://e.invalid/x#>", '"\\" } #"', '"x"']
    return "".join(f"<{s}> <{p}> {o} <http://a.invalid/g> .\n" for o in objects)


@pytest.mark.parametrize(("name", "template", "callers"), SPELLINGS, ids=SPELLING_IDS)
def test_control_the_bare_engines_do_call_out(
    endpoint: Endpoint, name: str, template: str, callers: set[str]
) -> None:
    """Without kg's check, the engines marked in SPELLINGS send a request: the refusal
    above is what stops them."""
    text = spelled(template, endpoint)
    if "ox" in callers:
        import pyoxigraph as ox

        store = ox.Store()
        store.load(_control_data().encode(), ox.RdfFormat.N_QUADS)
        res = store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
        if not isinstance(res, ox.QueryBoolean):
            list(res)
        del res, store
        gc.collect()  # here: pyoxigraph objects must not be freed on the server's thread
        assert endpoint.requests, f"pyoxigraph did not call out for {name}"
        endpoint.requests.clear()
    if "rdflib" in callers:
        from rdflib import Dataset

        ds = Dataset(default_union=True)
        ds.parse(data=_control_data(), format="nquads")
        with contextlib.suppress(Exception):  # rdflib may fail on the answer, once sent
            list(ds.query(text, initNs=PREFIXES))
        assert endpoint.requests, f"rdflib did not call out for {name}"
    if not callers:
        pytest.skip("refused because it cannot be checked, not because an engine calls")


HARMLESS = [
    ("variable-named-service", "SELECT ?service WHERE { ?service a kg:State } LIMIT 1"),
    ("comment", "SELECT * WHERE { ?s ?p ?o } LIMIT 1 # SERVICE <{E}comment> { ?s ?p ?o }"),
    ("string", "SELECT * WHERE { BIND('SERVICE <{E}string> { ?s ?p ?o }' AS ?x) }"),
    ("long-string", "SELECT * WHERE { BIND('''\nSERVICE <{E}long> { ?s ?p ?o }\n''' AS ?x) }"),
    ("iri", "SELECT * WHERE { BIND(<http://example.org/SERVICE> AS ?x) }"),
    ("prefixed-name", "SELECT * WHERE { BIND(ex:service AS ?x) }"),
    ("service-in-prefix-iri", "PREFIX sv: <http://example.org/service#> ASK { ?s sv:p ?o }"),
]


@pytest.mark.parametrize(("name", "template"), HARMLESS, ids=[n for n, _ in HARMLESS])
def test_the_word_service_elsewhere_is_not_refused(
    runner, endpoint: Endpoint, name: str, template: str
) -> None:
    result = invoke(runner, "sparql", spelled(template, endpoint))
    assert result.exit_code == 0, result.output
    assert endpoint.requests == []


def _add_query(project: Path, name: str, text: str) -> None:
    (project / "queries" / f"{name}.rq").write_text(
        f"#+ summary: {name}\n\n{text}\n", encoding="utf-8"
    )


def test_a_stored_query_with_service_is_refused(
    runner, endpoint: Endpoint, project_copy: Path
) -> None:
    _add_query(
        project_copy,
        "x",
        f"PREFIX kg: <https://w3id.org/kg-diplo/ontology#>\n"
        f"SELECT ?s WHERE {{ ?s a kg:State OPTIONAL {{ SERVICE <{endpoint.base}stored> "
        f"{{ ?s ?p ?o }} }} }}",
    )
    result = invoke(runner, "query", "x", project=project_copy)
    assert result.exit_code == 2, result.output
    assert f"{endpoint.base}stored" in result.stderr
    assert "services = [" in result.stderr and "[query]" in result.stderr
    assert endpoint.requests == []


def test_an_allowed_endpoint_is_called(runner, endpoint: Endpoint, project_copy: Path) -> None:
    """Allowing an endpoint lets the query through the check, and pyoxigraph's client
    then gets the (empty) answer from the loopback server: exit 0."""
    allowed = f"{endpoint.base}sparql"
    with (project_copy / "kg.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[query]\nservices = ["{allowed}"]\n')
    _add_query(project_copy, "remote", f"SELECT * WHERE {{ SERVICE <{allowed}> {{ ?s ?p ?o }} }}")

    result = invoke(
        runner, "sparql", f"ASK {{ SERVICE <{allowed}> {{ ?s ?p ?o }} }}", project=project_copy
    )
    assert result.exit_code == 0, result.output
    assert [path for _, path in endpoint.requests] == ["/sparql"]

    endpoint.requests.clear()
    result = invoke(
        runner,
        "sparql",
        f"PREFIX e: <{endpoint.base}> SELECT * WHERE {{ SERVICE e:sparql {{ ?s ?p ?o }} }}",
        project=project_copy,
    )
    assert result.exit_code == 0, result.output
    assert [path for _, path in endpoint.requests] == ["/sparql"]

    endpoint.requests.clear()
    result = invoke(runner, "query", "remote", project=project_copy)
    assert result.exit_code == 0, result.output
    assert [path for _, path in endpoint.requests] == ["/sparql"]

    endpoint.requests.clear()  # another endpoint on the same server is still refused
    result = invoke(
        runner,
        "sparql",
        f"ASK {{ SERVICE <{endpoint.base}other> {{ ?s ?p ?o }} }}",
        project=project_copy,
    )
    assert result.exit_code == 2, result.output
    assert endpoint.requests == []


# -- check_services itself ----------------------------------------------------------------

ALLOWED = "http://h.invalid/sparql"


def refusal(text: str, allowed: tuple[str, ...] = (ALLOWED,), prefixes=PREFIXES) -> str:
    with pytest.raises(UsageError) as caught:
        check_services(text, prefixes=prefixes, allowed=allowed)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_no_keyword_no_check_and_no_rdflib() -> None:
    """Without the keyword the check is a lexical scan: rdflib (~0.3 s) is not imported."""
    code = (
        "import sys\n"
        "from kg.service import check_services\n"
        "from pathlib import Path\n"
        f"for path in sorted(Path({str(ROOT / 'queries')!r}).glob('*.rq')):\n"
        "    if 'SERVICE' not in path.read_text():  # the federated ones hold the keyword\n"
        "        check_services(path.read_text(), prefixes=None, allowed=())\n"
        "text = 'SELECT ?service { ?service ?p \"SERVICE\" } # SERVICE <http://x/> { }'\n"
        "check_services(text, prefixes=None, allowed=())\n"
        "print('rdflib' in sys.modules, 'pyoxigraph' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_allowed_endpoints_pass_however_written() -> None:
    for text in [
        f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{ALLOWED}> {{ ?s ?p ?o }} }}",
        "PREFIX h: <http://h.invalid/> SELECT * WHERE { SERVICE h:sparql { ?s ?p ?o } }",
        "BASE <http://h.invalid/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }",
        f"ASK {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }} }}",
    ]:
        check_services(text, prefixes=PREFIXES, allowed=(ALLOWED,))


def test_near_misses_are_refused() -> None:
    assert "'http://h.invalid/sparql/'" in refusal(
        "SELECT * WHERE { SERVICE <http://h.invalid/sparql/> { ?s ?p ?o } }"
    )
    assert "'https://h.invalid/sparql'" in refusal(
        "SELECT * WHERE { SERVICE <https://h.invalid/sparql> { ?s ?p ?o } }"
    )
    # one allowed clause does not let another through
    message = refusal(
        f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} "
        "SERVICE <http://other.invalid/> { ?s ?p ?o } }"
    )
    assert "'http://other.invalid/'" in message
    # the last BASE counts, in both engines
    assert "'http://evil.invalid/sparql'" in refusal(
        "BASE <http://h.invalid/> BASE <http://evil.invalid/> "
        "SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }"
    )


def test_the_message_says_how_to_allow_the_endpoint() -> None:
    message = refusal("SELECT * WHERE { SERVICE <http://x.invalid/q> { ?s ?p ?o } }", ())
    assert "'http://x.invalid/q'" in message
    assert 'services = ["http://x.invalid/q"] under [query] in kg.toml' in message
    assert "\n" not in message


def test_a_variable_endpoint_is_refused_even_when_its_value_is_allowed() -> None:
    message = refusal(f"SELECT * WHERE {{ VALUES ?e {{ <{ALLOWED}> }} SERVICE ?e {{ ?s ?p ?o }} }}")
    assert "'?e'" in message and "variable" in message


def test_an_unparsable_query_with_the_keyword_is_refused() -> None:
    message = refusal("SELECT * WHERE { SERVICE <http://h.invalid/sparql> { ?s ?p ?o }")
    assert "could not parse" in message


def test_an_update_gets_the_read_only_message() -> None:
    assert "read-only" in refusal(
        "INSERT { ?s ?p ?o } WHERE { SERVICE <http://x.invalid/> { ?s ?p ?o } }"
    )


def test_the_readings_must_agree_on_the_endpoint() -> None:
    """Oxigraph reads e:a\\.b as .../a.b, rdflib as .../a\\.b: neither may call out unless
    both readings name an allowed IRI, so this one is refused although .../a.b is allowed."""
    assert "'http://h.invalid/a\\.b'" in refusal(
        "PREFIX e: <http://h.invalid/> SELECT * WHERE { SERVICE e:a\\.b { ?s ?p ?o } }",
        ("http://h.invalid/a.b",),
    )


def test_rdflibs_service_string_is_checked() -> None:
    """rdflib calls the first 'SERVICE <...> {' in the text, here in a string, whatever
    IRI the clause it evaluates holds: that address must be allowed too."""
    message = refusal(
        'SELECT * WHERE { ?s ?p "SERVICE <http://evil.invalid/> { }" '
        f"SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}"
    )
    assert "'http://evil.invalid/'" in message and "rdflib" in message


def test_terminal_escapes_in_the_query_are_not_echoed() -> None:
    message = refusal("SELECT * WHERE { SERVICE <http://x.invalid/\\u001b[31m> { ?s ?p ?o } }", ())
    assert "\x1b" not in message


def test_more_ambiguous_less_thans_than_the_scan_follows() -> None:
    """Past the readings the scan follows, every occurrence of the keyword counts."""
    filters = " ".join(["FILTER(?a<'x>' || true)"] * 40)
    text = (
        f"SELECT * WHERE {{ ?s ?p ?o BIND(1 AS ?a) {filters} "
        "SERVICE <http://x.invalid/far> { ?s ?p ?o } FILTER(?a != '') }"
    )
    assert "'http://x.invalid/far'" in refusal(text, ())
