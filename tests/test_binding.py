"""Parameters are bound with VALUES blocks in every group that uses them (kg.sparql_text):
the results are those of the value written in place of the variable, and no value can
change the query."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.errors import UsageError
from kg.queries import Param, to_term
from kg.sparql_text import bind_values
from kg.terms import Term

DATA = """
@prefix ex: <http://example.org/> .
ex:a ex:p ex:b ; ex:year 2001 .
ex:c ex:p ex:d ; ex:year 2020 .
ex:b ex:q "B" .
"""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    s = ox.Store()
    s.load(DATA.encode(), format=ox.RdfFormat.TURTLE)
    return s


def run(store: ox.Store, text: str, **terms: Term) -> list[list[str]]:
    bound = bind_values(text, {k: v.n3() for k, v in terms.items()})
    return sorted([str(t) for t in row] for row in store.query(bound))


def test_union_branches_and_nested_filters_see_the_value(store):
    text = """PREFIX ex: <http://example.org/>
      SELECT ?s WHERE { { ?s ex:p ?_x_iri } UNION { ?s ex:year ?y FILTER(?y < ?__max_integer) } }"""
    rows = run(
        store,
        text,
        _x_iri=Term.iri("http://example.org/b"),
        __max_integer=Term.literal("2010", "http://www.w3.org/2001/XMLSchema#integer"),
    )
    assert rows == [["<http://example.org/a>"], ["<http://example.org/a>"]]


def test_select_expression_and_optional(store):
    text = """PREFIX ex: <http://example.org/>
      SELECT ?s (?_x AS ?given) WHERE { ?s ex:p ?o OPTIONAL { ?o ex:q ?_x } } ORDER BY ?s"""
    rows = run(store, text, _x=Term.literal("B"))
    # as if "B" were written in place of ?_x: OPTIONAL keeps ex:c, the expression sees "B"
    assert rows == [["<http://example.org/a>", '"B"'], ["<http://example.org/c>", '"B"']]


def test_construct_template_and_values_data_are_left_alone(store):
    text = """PREFIX ex: <http://example.org/>
      CONSTRUCT { ?s ex:r ?_x_iri }
      WHERE { VALUES ?o { ex:b ex:d } ?s ex:p ?o FILTER(?o = ?_x_iri) }"""
    bound = bind_values(text, {"_x_iri": "<http://example.org/d>"})
    assert bound.count("VALUES ?_x_iri") == 1
    triples = list(store.query(bound))
    assert [str(t.subject) for t in triples] == ["<http://example.org/c>"]


def test_braces_in_strings_and_comments_are_not_groups(store):
    text = 'SELECT ?s WHERE { # a { in a comment\n ?s ?p "{" . ?s ?p ?_o }'
    bound = bind_values(text, {"_o": '"x"'})
    assert bound.count("VALUES") == 1


INJECTIONS = [
    '" } ; DROP ALL ; SELECT * WHERE { ?s ?p ?o } #',
    'x\\" } UNION { ?s ?p ?o',
    "line\nbreak } }",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_literal_cannot_escape_its_quotes(store, value):
    text = "SELECT ?s WHERE { ?s ?p ?_q }"
    assert run(store, text, _q=Term.literal(value)) == []


@pytest.mark.parametrize(
    "iri", ["http://example.org/a> } UNION { ?s ?p ?o", "http://x/ y", 'http://x/"', "http://x/{"]
)
def test_an_iri_cannot_escape_its_brackets(iri):
    with pytest.raises(ValueError):
        Term.iri(iri).n3()


def test_language_and_datatype_are_checked():
    with pytest.raises(ValueError):
        Term.literal("x", lang="en } UNION {").n3()
    with pytest.raises(ValueError):
        Term.literal("x", "http://x/> } UNION { <a").n3()


def test_cli_path_rejects_unsafe_iris(kg):
    with pytest.raises(UsageError, match="not a valid IRI"):
        kg.run("memberships", {"state": "<http://example.org/a> } UNION { ?s ?p ?o>"})


@pytest.mark.parametrize(
    ("dates", "given", "day"),
    [
        ("first", "2024-02", "2024-02-01"),
        ("last", "2024-02", "2024-02-29"),
        ("last", "2005", "2005-12-31"),
    ],
)
def test_a_coarse_date_binds_as_one_xsd_date_term(store, dates, given, day):
    """A year or a month that ``#+ dates:`` lets stand for a day is bound as that day, a
    typed term like any other: the query sees a date, never the text that was typed."""
    term = to_term(Param("d", "_d", True, "date", dates=dates), given, lambda text: text)
    assert term == Term.literal(day, "http://www.w3.org/2001/XMLSchema#date")
    rows = run(store, "SELECT ?d WHERE { BIND(?_d AS ?d) }", _d=term)
    assert rows == [[f'"{day}"^^<http://www.w3.org/2001/XMLSchema#date>']]


@pytest.mark.parametrize("value", ['2005" } UNION { ?s ?p ?o } #', "2005> }", "2005\n}"])
def test_a_coarse_date_with_a_break_out_is_refused(value):
    with pytest.raises(UsageError):
        to_term(Param("d", "_d", True, "date", dates="first"), value, lambda text: text)
