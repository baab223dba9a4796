"""Asking that forgives and checks: near labels and parameter names are suggested, an
acronym or an alternative label finds its entity, ``#+ classes:`` refuses an entity of the
wrong class (and spots swapped values), and ``#+ dates:`` lets a year or a month stand for
a day where the query says which.

Everything runs on a small project of its own (written to a temporary folder), so the
shipped data and queries can change without touching these tests.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.errors import InputError, KgError, UsageError
from kg.graph import KnowledgeGraph
from kg.namespaces import EX, KG, XSD
from kg.project import Project
from kg.queries import YEARS, parse_query_file
from kg.resolve import acronym

PREFIXES = """\
@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
"""
ONTOLOGY = (
    PREFIXES
    + """
kg:Agent a owl:Class ; rdfs:label "agent"@en .
kg:State a owl:Class ; rdfs:subClassOf kg:Agent ; rdfs:label "state"@en .
kg:Person a owl:Class ; rdfs:subClassOf kg:Agent ; rdfs:label "person"@en .
kg:Organisation a owl:Class ; rdfs:subClassOf kg:Agent ; rdfs:label "organisation"@en .
kg:InternationalOrganisation a owl:Class ; rdfs:subClassOf kg:Organisation ;
    rdfs:label "international organisation"@en .
kg:Post a owl:Class ; rdfs:label "post"@en .
kg:Meeting a owl:Class ; rdfs:label "meeting"@en .
kg:SourceDocument a owl:Class ; rdfs:label "source document"@en .
kg:NewsArticle a owl:Class ; rdfs:subClassOf kg:SourceDocument ; rdfs:label "news article"@en .
skos:altLabel a owl:AnnotationProperty .
kg:title a owl:DatatypeProperty .
kg:url a owl:ObjectProperty .
kg:partnerOf a owl:ObjectProperty .
"""
)
DATA = (
    PREFIXES
    + """
<> a kg:NewsArticle ; kg:title "Facts for asking" ; kg:url <https://example.org/facts> ;
    rdfs:label "NATO biography: Boris Ruge"@en .
ex:azerbaijan a kg:State ; rdfs:label "Azerbaijan"@en .
ex:armenia a kg:State ; rdfs:label "Armenia"@en .
ex:nato a kg:InternationalOrganisation ; rdfs:label "NATO"@en ;
    skos:altLabel "North Atlantic Treaty Organization"@en .
ex:eapc a kg:InternationalOrganisation ; rdfs:label "Euro-Atlantic Partnership Council"@en .
ex:nacc a kg:InternationalOrganisation ; rdfs:label "North Atlantic Cooperation Council"@en .
ex:pfp a kg:Organisation ; rdfs:label "Partnership for Peace"@en .
ex:political-committee a kg:Organisation ; rdfs:label "Political Committee"@en .
ex:planning-cell a kg:Organisation ; rdfs:label "Planning Cell"@en .
ex:tennis a kg:Organisation ; rdfs:label "National Association of Tennis Officials"@en .
ex:kfor a kg:Organisation ; rdfs:label "Kosovo Force"@en .
ex:boris-ruge a kg:Person ; rdfs:label "Boris Ruge"@en .
ex:ruge-post a kg:Post ; rdfs:label "Boris Ruge as Assistant Secretary General"@en .
ex:ruge-meeting a kg:Meeting ; rdfs:label "Meeting of Jafar Huseynzada and Boris Ruge"@en .
ex:azerbaijan kg:partnerOf ex:nato , ex:eapc , ex:pfp .
ex:armenia kg:partnerOf ex:nato .
"""
)
PARTNERS = """\
#+ summary: A state's partner, checked
#+ classes:
#+   - state: kg:State
#+   - organisation: kg:Organisation
#+ dates:
#+   - from: first     # 2005 -> 2005-01-01
#+   - to: last        # 2005 -> 2005-12-31
#+ defaults:
#+   - state: ex:azerbaijan
#+   - organisation: ex:nato

PREFIX kg: <https://w3id.org/kg-diplo/ontology#>
SELECT ?state ?organisation ?from ?to WHERE {
  ?_state_iri kg:partnerOf ?_organisation_iri .
  BIND(?_state_iri AS ?state) BIND(?_organisation_iri AS ?organisation)
  BIND(?__from_date AS ?from) BIND(?__to_date AS ?to)
}
"""
DAY = """\
#+ summary: One day, as as-of takes it

SELECT ?day WHERE { BIND(?_date_date AS ?day) }
"""
ANYTHING = """\
#+ summary: Any entity, no class declared

SELECT ?entity WHERE { BIND(?_entity_iri AS ?entity) }
"""
QUERIES = {"partners": PARTNERS, "day": DAY, "anything": ANYTHING}
ENGINES = ["oxigraph", "reference"]


def write_project(root: Path) -> Path:
    for folder in ("ontology", "data", "queries"):
        (root / folder).mkdir(parents=True)
    (root / "kg.toml").write_text(
        '[project]\nname = "asking"\nbase = "https://w3id.org/kg-diplo/id/"\n'
        'ontology = ["ontology/kg.ttl"]\nshapes = ["ontology/shapes.ttl"]\n'
        'data = ["data"]\nqueries = "queries"\n',
        encoding="utf-8",
    )
    (root / "ontology" / "kg.ttl").write_text(ONTOLOGY, encoding="utf-8")
    (root / "ontology" / "shapes.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n", encoding="utf-8"
    )
    (root / "data" / "facts.ttl").write_text(DATA, encoding="utf-8")
    for name, text in QUERIES.items():
        (root / "queries" / f"{name}.rq").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module", autouse=True)
def built_store() -> None:
    """Overrides conftest's: this module never reads the shipped project's store."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("asking") / "project")


@pytest.fixture(scope="module", params=ENGINES)
def graph(request: pytest.FixtureRequest, project: Path) -> KnowledgeGraph:
    return KnowledgeGraph(Project.load(project), engine=request.param)


@pytest.fixture
def fresh(tmp_path: Path, project: Path) -> Path:
    """A copy of the project (without its store) whose queries a test may break."""
    dest = tmp_path / "project"
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(".kg"))
    return dest


def kg(project: Path, *args: str):
    from kg.cli import cli

    return CliRunner().invoke(cli, ["--project", str(project), *args], catch_exceptions=False)


def refusal(graph: KnowledgeGraph, query: str, **params: str) -> str:
    with pytest.raises(UsageError) as caught:
        graph.run(query, params)
    return str(caught.value)


def row(graph: KnowledgeGraph, query: str, **params: str) -> dict:
    result = graph.run(query, params)
    assert len(result.rows) == 1, result.rows
    return dict(zip(result.vars, result.rows[0], strict=True))


# -- did you mean: labels and parameter names ---------------------------------------------


def test_a_word_of_a_label_is_suggested_not_taken(graph):
    message = refusal(graph, "anything", entity="Ruge")
    assert message.startswith("no entity is labelled 'Ruge' and it is not a CURIE")
    assert "Did you mean 'Boris Ruge' (ex:boris-ruge), " in message
    # four labels hold the word; three are suggested, the shortest first
    assert len(re.findall(r"'[^']*Ruge[^']*' \(ex:", message)) == 3


def test_suggestions_for_a_typed_parameter_are_of_its_class(graph):
    """A kg:Organisation is asked for: of the labels holding 'Partnership', the
    organisation's, not the state's or the article's."""
    message = refusal(graph, "partners", organisation="Partnership")
    assert message.endswith(
        "Did you mean 'Partnership for Peace' (ex:pfp) or 'Euro-Atlantic Partnership "
        "Council' (ex:eapc)?"
    ), message
    # when nothing of the class is near, the entities of the class are listed (another
    # entity would be refused)
    message = refusal(graph, "partners", organisation="Ruge")
    assert "Boris Ruge" not in message
    assert "The kg:Organisation entities are 'Euro-Atlantic Partnership Council' (ex:eapc)" in (
        message
    )


def test_a_word_of_exactly_one_label_is_still_only_suggested(graph):
    message = refusal(graph, "anything", entity="kosovo")
    assert message.endswith("Did you mean 'Kosovo Force' (ex:kfor)?")


def test_a_misspelt_label_is_suggested(graph):
    message = refusal(graph, "anything", entity="Azerbajan")
    assert "Did you mean 'Azerbaijan' (ex:azerbaijan)" in message


def test_suggestions_quote_at_most_60_characters_of_the_value(graph):
    value = "Ruge " + "x" * 150
    message = refusal(graph, "anything", entity=value)
    assert "x" * 61 not in message and "(… 155 characters)" in message


def test_a_misspelt_parameter_name_is_suggested(graph):
    message = refusal(graph, "partners", organization="NATO")
    assert message == (
        "query 'partners' has no parameter 'organization'; its parameters are: state, "
        "organisation, from, to. Did you mean 'organisation'?"
    )


def test_cli_suggests_labels_and_parameter_names(project):
    result = kg(project, "query", "anything", "-p", "entity=Ruge")
    assert result.exit_code == 2
    assert "Did you mean 'Boris Ruge' (ex:boris-ruge)" in result.stderr
    result = kg(project, "query", "partners", "-p", "organization=NATO")
    assert result.exit_code == 2 and "Did you mean 'organisation'?" in result.stderr


# -- labels, alternative labels and acronyms ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("Azerbaijan", "azerbaijan"),
        ("AZERBAIJAN", "azerbaijan"),  # an exact label in another case resolves
        ("North Atlantic Treaty Organization", "nato"),  # skos:altLabel
        ("north atlantic treaty organization", "nato"),
        ("EAPC", "eapc"),  # hyphenated words count each part
        ("eapc", "eapc"),
        ("NACC", "nacc"),
        ("PP", "pfp"),  # small words are skipped
        ("NATO", "nato"),  # a label wins over an acronym (National Association of ...)
    ],
)
def test_labels_alternative_labels_and_acronyms_resolve(graph, text, local):
    assert graph.resolve(text) == EX + local
    assert row(graph, "anything", entity=text)["entity"].value == EX + local


def test_an_acronym_that_fits_several_lists_them(graph):
    message = refusal(graph, "anything", entity="PC")
    assert message == (
        "no entity is labelled 'PC', and as an acronym it fits several: "
        "'Planning Cell' (ex:planning-cell), 'Political Committee' (ex:political-committee). "
        "Give a CURIE or the whole label."
    )


@pytest.mark.parametrize(
    ("label", "initials"),
    [
        ("Euro-Atlantic Partnership Council", "EAPC"),
        ("North Atlantic Cooperation Council", "NACC"),
        ("Partnership for Peace", "PP"),
        ("The Hague Group of the North", "HGN"),
        ("Kosovo Force (KFOR)", "KF"),
        ("NATO", ""),
        ("mission of Azerbaijan", ""),
    ],
)
def test_acronym_of_a_label(label, initials):
    assert acronym(label) == initials


# -- classes ------------------------------------------------------------------------------


def test_swapped_values_are_refused_with_a_hint(graph):
    message = refusal(graph, "partners", state="NATO", organisation="Azerbaijan")
    assert message == (
        "'NATO' (ex:nato) is an international organisation (kg:InternationalOrganisation); "
        "parameter 'state' expects a kg:State. Did you swap 'state' and 'organisation'?"
    )


def test_a_value_that_fits_another_parameter_says_so(graph):
    message = refusal(graph, "partners", state="ex:nato", organisation="EAPC")
    assert message == (
        "'ex:nato' is an international organisation (kg:InternationalOrganisation); "
        "parameter 'state' expects a kg:State. It would fit parameter 'organisation'."
    )


def test_a_value_of_an_unrelated_class_is_refused(graph):
    message = refusal(graph, "partners", organisation="Boris Ruge")
    assert message == (
        "'Boris Ruge' (ex:boris-ruge) is a person (kg:Person); parameter 'organisation' "
        "expects a kg:Organisation."
    )


def test_a_subclass_instance_fits(graph):
    # ex:nato is a kg:InternationalOrganisation, a subclass of kg:Organisation
    got = row(graph, "partners", state="Armenia", organisation="NATO")
    assert (got["state"].value, got["organisation"].value) == (EX + "armenia", EX + "nato")


def test_a_parameter_without_a_class_takes_any_entity(graph):
    assert row(graph, "anything", entity="Boris Ruge")["entity"].value == EX + "boris-ruge"


def test_cli_refuses_a_swap_with_exit_2(project):
    result = kg(project, "query", "partners", "-p", "state=NATO", "-p", "organisation=Azerbaijan")
    assert result.exit_code == 2
    assert "Did you swap 'state' and 'organisation'?" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_kg_queries_shows_the_class_and_the_date_forms(project):
    result = kg(project, "queries")
    assert result.exit_code == 0, result.stderr
    assert "-p state=…  IRI, CURIE or label of a kg:State, required" in result.output
    assert "-p from=…  xsd:date, or a year or month (its first day), optional" in result.output
    assert "-p to=…  xsd:date, or a year or month (its last day), optional" in result.output
    assert "-p entity=…  IRI, CURIE or label, required" in result.output


def test_the_header_is_read_into_the_parameters(project):
    query = parse_query_file(project / "queries" / "partners.rq")
    params = {p.name: p for p in query.params}
    assert params["state"].expects == KG + "State"
    assert params["organisation"].expects == KG + "Organisation"
    assert (params["from"].dates, params["to"].dates) == ("first", "last")


# -- malformed headers --------------------------------------------------------------------

BAD_HEADERS = [
    (
        "#+ classes:\n#+   - state: foo:State\n",
        2,
        "'classes:' gives 'state' the class 'foo:State', whose prefix 'foo' kg does not know",
    ),
    (
        "#+ summary: x\n#+ classes:\n#+   - country: kg:State\n",
        3,
        "'classes:' names the parameter 'country', which this query does not have "
        "(its parameters: state, organisation, from, to).",
    ),
    (
        "#+ classes:\n#+   - from: kg:State\n",
        2,
        "'classes:' gives a class to 'from', which is not an IRI parameter",
    ),
    ("#+ classes:\n#+   - state: State\n", 2, "which is neither a CURIE (kg:State) nor an IRI"),
    ("#+ classes:\n#+   - state:\n", 2, "each with one value (as '- state: kg:State')"),
    ("#+ classes: kg:State\n", 1, "'classes:' must be a list of '- PARAMETER: VALUE' lines."),
    ("#+ classes:\n#+   - kg:State\n", 2, "this item is not."),
    (
        "#+ classes:\n#+   - state: kg:State\n#+   - state: kg:Agent\n",
        3,
        "'classes:' gives the parameter 'state' twice.",
    ),
    ("#+ dates:\n#+   - from: middle\n", 2, "'first' or 'last'; got 'middle' for 'from'."),
    ("#+ dates:\n#+   - state: first\n", 2, "'dates:' is for xsd:date parameters"),
    ("#+ dates:\n#+   - fron: first\n", 2, "Did you mean 'from'?"),
]


@pytest.mark.parametrize(("header", "line", "message"), BAD_HEADERS)
def test_a_malformed_header_names_file_and_line(fresh, header, line, message):
    body = PARTNERS.split("\n\n", 1)[1]
    path = fresh / "queries" / "broken.rq"
    path.write_text(header + "\n" + body, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_query_file(path)
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert message in str(caught.value)
    result = kg(fresh, "query", "broken")
    assert result.exit_code == 2
    assert f"broken.rq:{line}: " in result.stderr and message in result.stderr


def test_kg_queries_lists_the_others_and_exits_2_for_a_broken_header(fresh):
    (fresh / "queries" / "broken.rq").write_text(
        "#+ classes:\n#+   - nothing: kg:State\n\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8"
    )
    result = kg(fresh, "queries")
    assert result.exit_code == 2
    assert "partners" in result.output and "broken.rq:2: " in result.stderr


def test_a_full_iri_in_brackets_is_a_class_too(fresh):
    path = fresh / "queries" / "bracketed.rq"
    path.write_text(
        "#+ classes:\n#+   - entity: <https://w3id.org/kg-diplo/ontology#Person>\n\n"
        "SELECT ?entity WHERE { BIND(?_entity_iri AS ?entity) }\n",
        encoding="utf-8",
    )
    assert parse_query_file(path).params[0].expects == KG + "Person"


# -- years and months for days ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "day"),
    [
        ({"from": "2005"}, {"from": "2005-01-01"}),
        ({"to": "2005"}, {"to": "2005-12-31"}),
        ({"from": "2005-06"}, {"from": "2005-06-01"}),
        ({"to": "2005-06"}, {"to": "2005-06-30"}),
        ({"to": "2024-02"}, {"to": "2024-02-29"}),  # a leap year
        ({"to": "2023-02"}, {"to": "2023-02-28"}),
        ({"to": "1900-02"}, {"to": "1900-02-28"}),  # no leap year: a century
        ({"to": "2000-02"}, {"to": "2000-02-29"}),  # a leap year: divisible by 400
        ({"from": " 2024-02 ", "to": "2024-02-15"}, {"from": "2024-02-01", "to": "2024-02-15"}),
    ],
)
def test_a_year_or_a_month_stands_for_the_declared_day(graph, given, day):
    got = row(graph, "partners", state="Azerbaijan", organisation="NATO", **given)
    for name, lexical in day.items():
        assert (got[name].value, got[name].datatype) == (lexical, XSD + "date")


def test_a_year_is_refused_where_the_query_does_not_declare_a_day(graph):
    message = refusal(graph, "day", date="2005")
    assert message == (
        "parameter 'date' needs a day (xsd:date) such as '2005-01-01'; got '2005', a year: "
        "this query compares days and does not say which day of a year would stand for it."
    )
    assert "'2005-06-01'; got '2005-06', a month" in refusal(graph, "day", date="2005-06")
    assert row(graph, "day", date="2005-06-15")["day"].value == "2005-06-15"


@pytest.mark.parametrize(
    ("query", "name", "value", "message"),
    [
        ("partners", "to", "2025-02-30", "February 2025 has days 01 to 28"),
        ("partners", "from", "2023-02-29", "February 2023 has days 01 to 28"),
        ("day", "date", "2025-02-30", "February 2025 has days 01 to 28"),
        ("partners", "to", "2025-13", "there is no month 13"),
        ("day", "date", "2025-00", "there is no month 00"),
        ("partners", "from", "10000", YEARS),
        ("partners", "from", "0000", YEARS),
        ("partners", "to", "-0001", YEARS),
        ("partners", "to", "2025-1", "must be an xsd:date such as '2025-01-31'"),
        ("partners", "to", "20250", YEARS),
    ],
)
def test_impossible_dates_stay_refused(graph, query, name, value, message):
    assert message in refusal(graph, query, **{name: value})


def test_cli_expands_a_year_and_refuses_an_impossible_day(project):
    result = kg(
        project, "query", "partners", "-p", "from=2005", "-p", "to=2024-02", "--format", "csv"
    )
    assert result.exit_code == 0, result.stderr
    assert result.output.splitlines()[1:] == [f"{EX}azerbaijan,{EX}nato,2005-01-01,2024-02-29"]
    result = kg(project, "query", "partners", "-p", "to=2025-02-30")
    assert result.exit_code == 2 and "February 2025 has days 01 to 28" in result.stderr
    result = kg(project, "query", "day", "-p", "date=2005")
    assert result.exit_code == 2 and "needs a day (xsd:date)" in result.stderr


# -- hostile values against checked parameters --------------------------------------------

HOSTILE = [
    "NATO> } UNION { ?s ?p ?o",
    'NATO" } UNION { ?s ?p ?o } #',
    "ex:nato> } ; DROP ALL #",
    "<https://w3id.org/kg-diplo/id/nato> } UNION { ?s ?p ?o } #",
    "2005> } UNION { ?s ?p ?o",
    '2005"^^<http://www.w3.org/2001/XMLSchema#date> } UNION { ?s ?p ?o } #',
    "2005\n} UNION { ?s ?p ?o }",
    "\x1b[31mNATO",
    "NATO\u202e",
    "EAPC\x00",
    "\udcff",
    "",
    " ",
    "2005-",
    "2005-06-",
    "99999",
    "9" * 400,
    "PC" * 500,
    "a" * 1_000_000,
    "2005" + " " * 100_000,
]


@pytest.mark.parametrize("name", ["state", "organisation", "from", "to"])
def test_hostile_values_on_checked_parameters_give_a_result_or_a_usage_error(graph, name):
    failures = []
    for value in HOSTILE:
        try:
            result = graph.run("partners", {name: value})
        except KgError as exc:
            if exc.exit_code != 2:
                failures.append(f"{value[:30]!r}: exit {exc.exit_code}")
            if len(str(exc)) > 500 or re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", str(exc)):
                failures.append(f"{value[:30]!r}: message {str(exc)[:100]!r}")
            continue
        except Exception as exc:  # would be an internal error (exit 3)
            failures.append(f"{value[:30]!r}: {type(exc).__name__}: {exc}"[:200])
            continue
        assert len(result.rows) <= 1, value[:30]  # never everything
    assert not failures, "\n".join(failures)
