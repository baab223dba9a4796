"""The W3C SHACL test suite, run on kg's fast SHACL path (:mod:`kg.shacl_fast`).

Why: every shapes graph the fast path declines falls back to pyshacl, two orders of magnitude
slower, and a wrong answer is never acceptable. This runner says, per test of the suite, whether
the fast path *passes* (answers, with the expected report), *fails* (answers otherwise) or
*declines* (refuses the shapes graph, with its reason), so that coverage is measured, not guessed.
Where the suite expects a failure (``mf:result sht:Failure``: a shapes graph SHACL says a
processor MUST report, such as a SHACL-SPARQL query against the pre-binding rules), the fast
path passes by raising :class:`~kg.errors.ShapesError`; a report there is a fail, and so is a
ShapesError where a report was expected.

The suite is not shipped with kg: the caller gives its folder (the one holding ``core/`` and
``sparql/``). Reports are compared as the suite says (its README: graph isomorphism over
sh:conforms and each result's sh:focusNode, sh:resultPath, sh:value, sh:sourceShape,
sh:sourceConstraintComponent and sh:resultSeverity; messages and details left out): here as
multisets of those six terms in N-Triples form, blank nodes compared by their role (every blank
label is replaced by ``_:``), literals as written: the fast path reports the data's literals,
not the store's canonical forms (see :mod:`kg.shacl_written`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyoxigraph as ox
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH

from kg.errors import InputError, ShapesError
from kg.reason_fast import to_ox

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
SUITES = ("core", "sparql")
DATA = ox.NamedNode("urn:kg:conformance:data")
# Tests whose point lies outside what kg's fast path is asked to do, with the reason.
NOT_APPLICABLE: dict[str, str] = {}


@dataclass(frozen=True)
class Outcome:
    """One test's outcome: ``pass``, ``fail``, ``declined`` or ``n/a``, and why."""

    suite: str
    name: str
    status: str
    reason: str = ""


def tests(folder: Path, suite: str) -> list[tuple[str, Path, URIRef]]:
    """Every sht:Validate entry under *folder*/*suite*: (name, its file, its IRI)."""
    folder = folder.resolve()
    found, todo, seen = [], [folder / suite / "manifest.ttl"], set()
    while todo:
        path = todo.pop(0).resolve()
        if path in seen:
            continue
        seen.add(path)
        g = Graph().parse(path, format="turtle", publicID=path.as_uri())
        todo += [_path(i) for i in g.objects(None, MF.include)]
        for head in g.objects(None, MF.entries):
            for entry in Collection(g, head):
                if (entry, RDF.type, SHT.Validate) in g:
                    name = str(
                        path.relative_to(folder / suite).parent / str(entry).rsplit("/", 1)[-1]
                    )
                    found.append((name, path, entry))
    return found


def run_test(suite: str, name: str, path: Path, entry: URIRef) -> Outcome:
    """Run one test: load its graphs, validate on the fast path, compare with the report."""
    from kg.shacl_fast import compile_shapes, validate_store

    if name in NOT_APPLICABLE:
        return Outcome(suite, name, "n/a", NOT_APPLICABLE[name])
    manifest = _load(path)
    action = manifest.value(entry, MF.action)
    data_file = _path(manifest.value(action, SHT.dataGraph))
    shapes_file = _path(manifest.value(action, SHT.shapesGraph))
    data = manifest if data_file == path else _load(data_file)
    shapes = manifest if shapes_file == path else _load(shapes_file)
    failure = manifest.value(entry, MF.result) == SHT.Failure  # the suite expects an error
    try:
        checks = compile_shapes(shapes)
        store = ox.Store()
        store.extend(ox.Quad(*map(to_ox, triple), DATA) for triple in data)
        results = validate_store(store, checks, graphs=[DATA], sources=[data_file])
    except ShapesError as exc:
        return Outcome(suite, name, "pass" if failure else "fail", "" if failure else str(exc))
    except InputError as exc:
        return Outcome(suite, name, "declined", str(exc))
    except Exception as exc:  # a query Oxigraph refuses: a bug, counted as a wrong answer
        return Outcome(suite, name, "fail", f"{type(exc).__name__}: {exc}")
    if failure:
        return Outcome(suite, name, "fail", f"a failure was expected, not {len(results)} results")
    got = Counter(_key(r.focus, r.path, r.value, r.shape, r.component, r.severity) for r in results)
    want = _expected(manifest, manifest.value(entry, MF.result), shapes)
    if got == want:
        return Outcome(suite, name, "pass")
    missing, extra = want - got, got - want
    return Outcome(suite, name, "fail", f"missing {sorted(missing)}; unexpected {sorted(extra)}")


def run(folder: Path, only: str | None = None) -> list[Outcome]:
    """Every test of the suite (or of *only* one of ``core`` and ``sparql``), in order."""
    outcomes = []
    for suite in SUITES if only is None else (only,):
        for name, path, entry in tests(folder, suite):
            outcomes.append(run_test(suite, name, path, entry))
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, Counter]:
    """Per suite, how many tests ended in each status."""
    counts: dict[str, Counter] = {}
    for o in outcomes:
        counts.setdefault(o.suite, Counter())[o.status] += 1
    return counts


def _expected(g: Graph, report, shapes: Graph) -> Counter:
    from kg.shacl_fast import path_text, shape_name

    results = Counter()
    for r in g.objects(report, SH.result):
        path = g.value(r, SH.resultPath)
        value = g.value(r, SH.value)
        shape = g.value(r, SH.sourceShape)
        results[
            _key(
                _nt(g.value(r, SH.focusNode)),
                None if path is None else path_text(g, path),
                None if value is None else _nt(value),
                shape_name(shapes, shape) if (shape, None, None) in shapes else _nt(shape),
                str(g.value(r, SH.sourceConstraintComponent)),
                str(g.value(r, SH.resultSeverity)),
            )
        ] += 1
    return results


def _key(*terms: str | None) -> tuple[str, ...]:
    import re

    return tuple(re.sub(r"_:[^\s>)|/]+", "_:", t or "") for t in terms)


def _nt(term) -> str:
    """N-Triples form; a literal as written (the fast path reports the sources' literals)."""
    from kg.shacl_fast import nt

    return nt(term)


def _load(path: Path) -> Graph:
    """The file as written: rdflib's normalising of lexical forms is switched off, so that a
    shapes graph's "1"^^xsd:boolean is not read as "true" (the suite tests that)."""
    import rdflib

    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        return Graph().parse(path, format="turtle", publicID=path.as_uri())
    finally:
        rdflib.NORMALIZE_LITERALS = normalize


def _path(iri) -> Path:
    return Path(unquote(urlparse(str(iri)).path))
