"""The OpenAPI 3.1 document of ``kg serve``, generated from the stored queries' headers.

One source, no drift: every ``/queries/NAME`` route is described from the same
:class:`~kg.queries.StoredQuery` and :class:`~kg.query_params.Param` objects that bind
its parameters, so the document cannot promise a parameter the server does not take,
nor a type it would refuse. Values are described as what a person may *send* (an IRI
parameter takes an IRI, a CURIE or a label; a date parameter with ``#+ dates:`` takes a
year or a month too), which is wider than the RDF term the value becomes.

The document is plain data (dicts and lists); :mod:`kg.web` serves it as JSON and
renders it as the ``/api`` page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kg.namespaces import compact
from kg.queries import StoredQuery
from kg.query_params import Param

#: SELECT and ASK answers, as ``/sparql`` and ``/queries/NAME`` negotiate them.
RESULT_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
#: CONSTRUCT and DESCRIBE answers.
GRAPH_TYPES = ("text/turtle", "application/n-triples", "application/ld+json")
#: Error statuses every query route may answer, and why.
ERRORS = {
    "400": "The query or a parameter is not valid; the message says why.",
    "404": "No such stored query.",
    "406": "None of the media types in Accept can carry this answer.",
    "408": "The request's head or body did not all arrive within the time allowed.",
    "413": "The request is larger than the server accepts.",
    "500": "The query's worker failed (e.g. it ran out of its memory cap); the message says so.",
    "503": "The server is saturated, or no worker became free in time; retry after "
    "Retry-After seconds.",
    "504": "The query ran out of time and was stopped.",
}
_PLAIN = {
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "double": {"type": "number"},
    "boolean": {"type": "boolean"},
    "dateTime": {"type": "string", "format": "date-time"},
    "gYear": {"type": "string", "pattern": "^[0-9]{4}$"},
    "gYearMonth": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
}


def document(
    queries: Mapping[str, StoredQuery], *, server: str, title: str, version: str = "1"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server at *server* (its base URL) holding *queries*."""
    ids = _operation_ids(sorted(queries))
    paths: dict[str, Any] = {
        f"/queries/{name}": {"get": _query_operation(queries[name], ids[name])}
        for name in sorted(queries)
    }
    paths["/queries"] = {
        "get": {
            "operationId": "listQueries",
            "summary": "The stored queries, with their parameters",
            "tags": ["queries"],
            "responses": {
                "200": {
                    "description": "One object per stored query.",
                    "content": {"application/json": {"schema": _LIST_SCHEMA}},
                }
            },
        }
    }
    paths["/sparql"] = _sparql_path()
    paths["/id/{path}"] = _page_path(
        "entityPage",
        "What the graph knows about an entity, with the sources of each statement",
        "The entity whose IRI is the project's base followed by this path.",
    )
    paths["/timeline/{path}"] = _page_path(
        "timelinePage",
        "The timeline of a state, as a picture and a table",
        "The state whose IRI is the project's base followed by this path.",
    )
    paths["/healthz"] = {
        "get": {
            "operationId": "health",
            "summary": "Whether the server is up, and the build it answers from",
            "tags": ["server"],
            "responses": {
                "200": {
                    "description": "The server answers.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "503": _error_response(ERRORS["503"], "503"),
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "The stored queries of this knowledge graph as JSON routes, and a "
                "read-only SPARQL 1.1 Protocol endpoint. Parameters are bound as typed "
                "RDF terms, never spliced into the query text."
            ),
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": {"SparqlResults": _RESULTS_SCHEMA, "Error": _ERROR_SCHEMA}},
    }


def operation_id(name: str) -> str:
    """A stored query's operationId: ``query_`` and its name with only word characters."""
    return "query_" + re.sub(r"\W", "_", name)


def _operation_ids(names: list[str]) -> dict[str, str]:
    """Each query's operationId, unique as OpenAPI wants (and as the API page's anchors
    must be): ``a-b`` and ``a_b`` would both be ``query_a_b``, so the later one in
    *names* gets ``query_a_b_2``."""
    wanted = {operation_id(name) for name in names}
    taken: set[str] = set()
    ids = {}
    for name in names:
        base = found = operation_id(name)
        n = 2
        while found in taken or (found != base and found in wanted):
            found, n = f"{base}_{n}", n + 1
        taken.add(found)
        ids[name] = found
    return ids


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of what a client may send for *param* (a query-string value)."""
    schema: dict[str, Any]
    if param.kind == "iri":
        of = f" of class {compact(param.expects)}" if param.expects else ""
        schema = {
            "type": "string",
            "description": f"An entity{of}: its IRI, a CURIE (ex:azerbaijan) or its label.",
        }
    elif param.kind == "date":
        day = {"type": "string", "format": "date"}
        if param.dates:
            coarse = {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2})?$"}
            schema = {
                "anyOf": [day, coarse],
                "description": (
                    f"A day (YYYY-MM-DD), or a year (YYYY) or month (YYYY-MM) standing "
                    f"for its {param.dates} day."
                ),
            }
        else:
            schema = {**day, "description": "A day (YYYY-MM-DD)."}
    elif param.kind in _PLAIN:
        schema = {**_PLAIN[param.kind], "description": f"An xsd:{param.kind} value."}
    elif param.kind.startswith("@"):
        schema = {"type": "string", "description": f"Text in language '{param.kind[1:]}'."}
    else:
        schema = {"type": "string", "description": "Text."}
    enum = getattr(param, "enum", None)
    if enum:
        schema["enum"] = list(enum)
    if param.default is not None:
        schema["default"] = _typed(param, param.default)
        schema["examples"] = [_typed(param, param.default)]
    return schema


def _typed(param: Param, value: str) -> Any:
    """A default as the JSON value its schema types (an integer default as a number)."""
    kind = _PLAIN.get(param.kind, {}).get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return value in ("true", "1")
    return value


def _query_operation(query: StoredQuery, op_id: str) -> dict[str, Any]:
    parameters = []
    for param in query.params:
        parameters.append(
            {
                "name": param.name,
                "in": "query",
                "required": param.required and param.default is None,
                "description": param.type_label,
                "schema": param_schema(param),
            }
        )
    parameters += [*_PAGING, _FORMAT, _VIEW]
    return {
        "operationId": op_id,
        "summary": query.summary or query.name,
        "description": query.description or query.summary or query.name,
        "tags": query.tags or ["queries"],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The rows of the query (SPARQL JSON unless Accept asks otherwise).",
                "content": _content(RESULT_TYPES),
            },
            **{code: _error_response(why, code) for code, why in ERRORS.items()},
        },
    }


_PAGING = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "At most this many rows (the server caps it); a Link header "
        'with rel="next" points at the next page.',
        "schema": {"type": "integer", "minimum": 1, "default": 100},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "description": "Skip this many rows first.",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
]


_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "The answer's format, instead of the Accept header.",
    "schema": {"enum": ["json", "xml", "csv", "tsv", "turtle", "nt", "json-ld"]},
}
_VIEW = {
    "name": "view",
    "in": "query",
    "required": False,
    "description": "inferred: the data and what OWL RL derives from it; asserted: the "
    "sources' statements only.",
    "schema": {"enum": ["inferred", "asserted"], "default": "inferred"},
}


def _sparql_path() -> dict[str, Any]:
    query = {
        "name": "query",
        "in": "query",
        "required": False,
        "description": "A read-only SPARQL 1.1 query; kg's prefixes (kg:, ex:, rdfs:...) "
        "are predeclared.",
        "schema": {"type": "string"},
        "examples": {"ask": {"value": "ASK { ex:azerbaijan a kg:State }"}},
    }
    responses = {
        "200": {
            "description": "SELECT and ASK answers as results, CONSTRUCT and DESCRIBE as RDF.",
            "content": _content(RESULT_TYPES + GRAPH_TYPES),
        },
        **{code: _error_response(why, code) for code, why in ERRORS.items() if code != "404"},
    }
    form = {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "format": _FORMAT["schema"],
            "view": _VIEW["schema"],
        },
        "required": ["query"],
    }
    return {
        "get": {
            "operationId": "sparqlGet",
            "summary": "SPARQL 1.1 Protocol query (GET)",
            "tags": ["sparql"],
            "description": "Without a query, the SPARQL 1.1 Service Description (Turtle).",
            "parameters": [query, _FORMAT, _VIEW],
            "responses": responses,
        },
        "post": {
            "operationId": "sparqlPost",
            "summary": "SPARQL 1.1 Protocol query (POST, form-encoded or direct)",
            "tags": ["sparql"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": form},
                    "application/sparql-query": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                **responses,
                "415": _error_response("The body is neither a form nor a SPARQL query."),
            },
        },
    }


def _page_path(op: str, summary: str, about: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op,
            "summary": summary,
            "tags": ["pages"],
            "parameters": [
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "description": about,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "An HTML page.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                "400": {"description": "The entity cannot be shown this way (the page says why)."},
                "404": {"description": "The graph knows nothing about this entity."},
            },
        }
    }


def _content(types: tuple[str, ...]) -> dict[str, Any]:
    return {
        t: {
            "schema": {"$ref": "#/components/schemas/SparqlResults"}
            if t == "application/sparql-results+json"
            else {"type": "string"}
        }
        for t in types
    }


def _error_response(why: str, code: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": why,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == "503":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer"},
            }
        }
    return response


_TERM = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {
        "type": {"enum": ["uri", "literal", "bnode", "triple"]},
        "value": {"type": "string"},
        "datatype": {"type": "string"},
        "xml:lang": {"type": "string"},
    },
}
#: SPARQL 1.1 Query Results JSON Format (a SELECT's rows, or an ASK's boolean).
_RESULTS_SCHEMA = {
    "type": "object",
    "required": ["head"],
    "properties": {
        "head": {
            "type": "object",
            "properties": {
                "vars": {"type": "array", "items": {"type": "string"}},
                "link": {"type": "array", "items": {"type": "string"}},
            },
        },
        "results": {
            "type": "object",
            "required": ["bindings"],
            "properties": {
                "bindings": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": _TERM},
                }
            },
        },
        "boolean": {"type": "boolean"},
    },
}
_LIST_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "path", "parameters"],
        "properties": {
            "name": {"type": "string"},
            "path": {"type": "string"},
            "summary": {"type": "string"},
            "description": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "parameters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "required": {"type": "boolean"},
                        "default": {"type": ["string", "null"]},
                    },
                },
            },
        },
    },
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for a person."},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
    },
}
