"""The engine seam: what the rest of kg needs from wherever the triples live.

Stored queries, the CLI, export and stats talk to a :class:`Store` only. Two engines
stand behind it: :class:`kg.store_oxigraph.OxigraphStore`, the compiled store on disk
that ``kg build`` writes and every query answers from, and
:class:`kg.store_rdflib.RdflibStore`, the in-memory reference built on rdflib, against
which the fast engine is tested.

A store holds named graphs: one per source document, one for the ontology and one for
what OWL RL inferred. The *asserted* view's default graph is the union of the sources
and the ontology; the *inferred* view adds the inferred graph. This module imports no
engine, so that ``kg query`` starts fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from kg.errors import UsageError
from kg.results import Result
from kg.terms import Term

_UPDATE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"#[^\n]*")

READ_ONLY = (
    "this is a SPARQL update (INSERT, DELETE, LOAD, CLEAR, DROP...); kg runs read-only "
    "queries only. Change the data by editing the Turtle files in data/."
)


class Store(Protocol):
    """What the rest of kg needs from an engine."""

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Term] | None = None,
        inferred: bool = True,
        prefixes: Mapping[str, str] | None = None,
    ) -> Result:
        """Run a read-only query; *bindings* pre-bind variables to terms (never spliced);
        *prefixes* are predeclared for the query text."""
        ...

    def graph_names(self) -> list[str]:
        """Names of the graphs held."""
        ...

    def count(self, graph: str | None = None) -> int:
        """Number of triples in *graph*, or in all graphs."""
        ...

    def dump(self, fmt: str, graphs: list[str]) -> str:
        """The named *graphs* serialised in an RDF format (``nquads``, ``trig``, ``nt``...)."""
        ...


def refuse_updates(sparql: str) -> None:
    """Raise the read-only message when *sparql* is an update rather than a query."""
    if _UPDATE.match(_COMMENT.sub("", sparql)):
        raise UsageError(READ_ONLY)
