"""Points of the command line a user met (issue 8): an undeclared prefix, a result format
that cannot hold the answer, the table's width, what "asserted" counts, FROM naming a
graph the project does not hold, and a parameter given twice. Each message is one
paragraph with exit 2, on both engines."""

from __future__ import annotations

import unicodedata

import pytest

from tests.conftest import ROOT, invoke

ENGINES = ("oxigraph", "reference")
PREDECLARED = "or use one of the predeclared prefixes kg:, ex:,"


def _error(result) -> str:
    """The error paragraph of *result*'s standard error (a notice that the store was
    rebuilt may come before it), checked to be one line with no traceback."""
    assert "Traceback" not in result.output + result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("kg: ")]
    assert len(errors) == 1, result.stderr
    assert "\\u{" not in errors[0], "no list of Unicode ranges from the parser"
    return errors[0] + "\n"


# --- 1. an undeclared prefix -----------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { foo:x ?p ?o }",
        "SELECT * WHERE { ?s foo:p ?o }",
        "ASK { ?s a foo:Thing }",
    ],
)
def test_an_undeclared_prefix_is_named(runner, engine, query):
    result = invoke(runner, "--engine", engine, "sparql", query)
    assert result.exit_code == 2
    assert _error(result).startswith(
        "Error: prefix foo: is not declared; declare it with PREFIX foo: <...>, " + PREDECLARED
    ), result.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_an_undeclared_prefix_in_a_stored_query_names_the_file(runner, project_copy, engine):
    (project_copy / "queries" / "broken.rq").write_text(
        "#+ summary: uses a prefix it does not declare\nSELECT * WHERE { ?s kg:p ?o }\n",
        encoding="utf-8",
    )
    result = invoke(runner, "--engine", engine, "query", "broken", project=project_copy)
    assert result.exit_code == 2
    # A stored query has no predeclared prefixes: the message gives kg:'s IRI.
    assert _error(result) == (
        "Error: queries/broken.rq: prefix kg: is not declared; declare it with "
        "PREFIX kg: <https://w3id.org/kg-diplo/ontology#>.\n"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_an_undeclared_prefix_in_a_query_file_names_the_file(runner, tmp_path, engine):
    path = tmp_path / "question.rq"
    path.write_text("SELECT * WHERE {\n  ?s bar:p ?o\n}\n", encoding="utf-8")
    result = invoke(runner, "--engine", engine, "sparql", "-f", str(path))
    assert result.exit_code == 2
    assert _error(result).startswith(f"Error: {path}: prefix bar: is not declared;")


def test_a_declared_prefix_and_other_syntax_errors_keep_their_messages(runner):
    ok = invoke(runner, "sparql", "PREFIX foo: <urn:x:> ASK { foo:x ?p ?o }")
    assert ok.exit_code == 0 and ok.output == "no\n"
    result = invoke(runner, "sparql", "SELECT ?s WHERE { ?s ?p }")
    assert result.exit_code == 2 and "SPARQL syntax error at line 1" in _error(result)
    blank = invoke(runner, "sparql", "SELECT * WHERE { _:b ?p 'not:a:prefix' } LIMIT 1")
    assert blank.exit_code == 0, blank.stderr


# --- 2. result formats and graph formats -----------------------------------------------

CONSTRUCT = "CONSTRUCT { ?s a kg:State } WHERE { ?s a kg:State }"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "xml", "table"])
def test_triples_in_a_results_format_are_refused(runner, engine, fmt):
    result = invoke(runner, "--engine", engine, "sparql", CONSTRUCT, "--format", fmt)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert _error(result) == (
        f"Error: a CONSTRUCT or DESCRIBE query answers with triples, which --format {fmt} "
        "cannot express (it is a format for SELECT rows and ASK answers); use --format nt "
        "(N-Triples, the default for triples) or --format turtle.\n"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_triples_come_as_n_triples_or_turtle(runner, engine):
    from rdflib import Graph

    nt = invoke(runner, "--engine", engine, "sparql", CONSTRUCT)
    assert nt.exit_code == 0
    same = invoke(runner, "--engine", engine, "sparql", CONSTRUCT, "--format", "nt")
    assert same.output == nt.output
    turtle = invoke(runner, "--engine", engine, "sparql", CONSTRUCT, "--format", "turtle")
    assert turtle.exit_code == 0
    assert "@prefix kg: <https://w3id.org/kg-diplo/ontology#> ." in turtle.output
    graph_nt = Graph().parse(data=nt.output, format="nt")
    graph_ttl = Graph().parse(data=turtle.output, format="turtle")
    assert len(graph_nt) >= 2 and set(graph_nt) == set(graph_ttl)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("SELECT ?s WHERE { ?s a kg:State }", "a SELECT query answers with rows"),
        ("ASK { ?s a kg:State }", "an ASK query answers yes or no"),
    ],
)
@pytest.mark.parametrize("fmt", ["nt", "turtle"])
def test_rows_in_a_graph_format_are_refused(runner, engine, query, what, fmt):
    result = invoke(runner, "--engine", engine, "sparql", query, "--format", fmt)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert _error(result) == (
        f"Error: {what}, which --format {fmt} cannot express (it is a format for the "
        "triples of CONSTRUCT and DESCRIBE); use --format table (the default), csv, tsv, "
        "json or xml.\n"
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_ask_in_csv_and_tsv_is_a_boolean_column(runner, fmt):
    result = invoke(runner, "sparql", "ASK { ?s a kg:State }", "--format", fmt)
    assert result.exit_code == 0 and result.output == "boolean\ntrue\n"


def test_the_help_says_which_formats_hold_which_answers(runner):
    text = " ".join(invoke(runner, "sparql", "--help").output.split())
    assert "CONSTRUCT and DESCRIBE: nt (N-Triples, the default) or turtle" in text
    assert "A format that cannot hold the answer is refused (exit 2)" in text


# --- 3. the table fits the terminal ----------------------------------------------------

POST = "NATO Assistant Secretary General for Political Affairs and Security Policy"
COUNTERPART = ("query", "counterpart", "-p", "person=Jafar Huseynzada")


def _table(runner, columns: str | None):
    from kg.cli import cli

    result = runner.invoke(cli, ["--project", str(ROOT), *COUNTERPART], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    return result.output.splitlines()


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_the_table_fits_COLUMNS(runner):
    lines = _table(runner, "80")
    assert max(_width(line) for line in lines) <= 80, lines
    assert "…" in lines[2]
    # the widest columns are cut first; the narrow ones keep their width
    assert lines[0].split() == ["meeting", "when", "counterpart", "post", "represents"]
    assert "Boris Ruge" in lines[2] and lines[2].endswith("NATO")


def test_a_wide_COLUMNS_shows_whole_cells(runner):
    lines = _table(runner, "200")
    assert POST in lines[2] and "…" not in lines[2]


def test_without_COLUMNS_a_pipe_gets_cells_cut_at_70(runner):
    lines = _table(runner, None)
    assert POST[:69] + "…" in lines[2]


def test_a_narrow_COLUMNS_keeps_a_readable_minimum(runner):
    lines = _table(runner, "20")
    header = lines[0].split()
    assert header[:2] == ["meeting", "when"], "columns are squeezed, never dropped"
    assert all(len(cell) >= 10 for cell in lines[2].split("  ")[:2])


# --- 4. what "asserted" counts ---------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_stats_counts_the_sources_apart_from_the_ontology(runner, engine, sources):
    result = invoke(runner, "--engine", engine, "stats")
    assert result.exit_code == 0, result.stderr
    lines = result.output.splitlines()
    asserted = len(sources.merged(with_ontology=False))
    n = len(sources.graphs)
    assert lines[0] == (
        f"triples asserted: {asserted} (by {n} sources; a triple stated by several counts once)"
    )
    assert lines[1] == f"triples in the ontology: {len(sources.ontology)}"
    assert lines[2].startswith("triples inferred: ")


def test_stats_agree_on_both_engines(kg, reference):
    fast, slow = kg.stats(), reference.stats()
    for key in ("asserted", "ontology", "inferred"):
        assert fast[key] == slow[key], key


# --- 5. FROM and FROM NAMED --------------------------------------------------------------

MISSING = "http://example.org/missing"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("keyword", ["FROM", "FROM NAMED"])
def test_from_a_graph_the_project_does_not_hold_is_refused(runner, engine, keyword):
    query = f"SELECT * {keyword} <{MISSING}> WHERE {{ ?s ?p ?o }}"
    result = invoke(runner, "--engine", engine, "sparql", query)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert _error(result).startswith(
        f"Error: the query reads {keyword} <{MISSING}>, which is not a graph of this "
        "project; its graphs are the sources ex:"
    ), result.stderr
    assert "(kg stats lists them) and the ontology kgg:ontology." in _error(result)


@pytest.mark.parametrize("engine", ENGINES)
def test_from_a_source_reads_that_source_only(runner, engine, sources):
    source = "https://w3id.org/kg-diplo/id/wikidata-links"
    expected = len(next(g for name, g in sources.graphs.items() if str(name) == source))
    for query in (
        f"SELECT (COUNT(*) AS ?n) FROM <{source}> WHERE {{ ?s ?p ?o }}",
        "SELECT (COUNT(*) AS ?n) FROM ex:wikidata-links WHERE { ?s ?p ?o }",
        f"SELECT (COUNT(*) AS ?n) FROM NAMED <{source}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    ):
        result = invoke(runner, "--engine", engine, "sparql", query, "--format", "csv")
        assert result.exit_code == 0, result.stderr
        assert result.output.splitlines() == ["n", str(expected)], query


def test_from_in_a_comment_or_a_string_is_no_clause(runner):
    query = "SELECT ?s WHERE { ?s kg:title 'FROM <urn:x>' } # FROM <urn:y>"
    result = invoke(runner, "sparql", query)
    assert result.exit_code == 0, result.stderr


# --- 6. a parameter given twice -----------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_parameter_given_twice_is_refused(runner, engine):
    args = ("query", "memberships", "-p", "state=ex:azerbaijan", "-p", "state=ex:armenia")
    result = invoke(runner, "--engine", engine, *args)
    assert result.exit_code == 2
    assert _error(result) == (
        "Error: parameter 'state' is given twice ('ex:azerbaijan' and 'ex:armenia'); "
        "give it once.\n"
    )
    same = invoke(runner, "query", "memberships", "-p", "state=a", "-p", " state=a")
    assert same.exit_code == 2 and "is given twice ('a' and 'a')" in _error(same)
