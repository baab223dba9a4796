"""The stages of a build over an Oxigraph store: load, validate, reason.

Each stage uses the fast engine when it can (Oxigraph's parser; SHACL compiled to SPARQL;
OWL RL rules compiled from the ontology) and the reference engine (pyshacl, owlrl) when
the fast one declines a construct, so answers are always the reference's answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

import pyoxigraph as ox

from kg.errors import InputError, ShapesError, printable
from kg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, UNION_GRAPH
from kg.project import Project
from kg.sssom import is_mapping_set, source_ntriples

Progress = Callable[[str, int, int], None]
_BULK_FROM = 4 << 20  # bytes
_CHUNK = 1 << 20  # bytes read at a time when checking a file's encoding
#: Oxigraph's parser holds one term (literal, IRI, name, comment) in a buffer of this size.
TOKEN_LIMIT = 16 << 20
_BOM = b"\xef\xbb\xbf"
_FOREIGN_BOMS = (  # longest first: UTF-32's little-endian mark starts like UTF-16's
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_PARSER_AT = re.compile(r"^Parser error [^:]*: ")  # "... at line 2 column 9: ", dropped
_REASON_LIMIT = 200  # characters of a parser's explanation shown in a message


def load_into(
    store: ox.Store,
    project: Project,
    progress: Progress,
    paths: Iterable[Path] | None = None,
    *,
    ontology: bool = True,
) -> dict[str, str]:
    """Parse ontology and sources (*paths*: all of them) into their named graphs; return
    graph -> shown path. ``paths=[]`` parses the ontology alone, ``ontology=False`` skips it."""
    files = {ONTOLOGY_GRAPH: list(project.ontology)} if ontology else {}
    for name, path in project.sources(list(paths) if paths is not None else None).items():
        files[name] = [path]
    total = sum(p.stat().st_size for ps in files.values() for p in ps if p.exists())
    done = 0
    graphs: dict[str, str] = {}
    for name, paths_ in files.items():
        for path in paths_:
            _parse(store, path, name, project)
            done += path.stat().st_size
            progress("parse", done, total)
        graphs[name] = ", ".join(project.relative(p) for p in paths_)
        if name != ONTOLOGY_GRAPH:
            _check_self_description(store, name, graphs[name])
    return graphs


def make_union(store: ox.Store, graphs: Iterable[str]) -> list[ox.NamedNode]:
    """The graphs whose bag union is the set union of *graphs* (an RDF merge).

    Oxigraph's union of several default graphs keeps duplicates, so when two sources
    state the same triple, kg copies the graphs into one union graph (a store is a set of
    quads: the copy is the merge). When no triple is stated twice, which is the case of
    large single-source inputs, the graphs themselves are the union and nothing is copied.

    A triple stated twice is in two graphs, so it is found by looking up the triples of
    every graph but the largest in the others: index lookups, not a DISTINCT over the whole
    data (which held every triple in a hash set: seconds and gigabytes at 10M triples).
    """
    graphs = list(graphs)
    names = [ox.NamedNode(g) for g in graphs]
    among = ", ".join(map(str, names))
    # ?s ?p ?o are bound when ?g is read: a lookup per triple (a VALUES ?g here made
    # Oxigraph scan every graph instead: a second at 1M triples, for nothing)
    twice = "ASK { GRAPH %s { ?s ?p ?o } GRAPH ?g { ?s ?p ?o } FILTER (?g != %s && ?g IN (%s)) }"
    sizes = sorted((_count(store, g, limit=_COUNT_UP_TO), g) for g in graphs)
    if not any(
        store.query(twice % (ox.NamedNode(g), ox.NamedNode(g), among)) for _, g in sizes[:-1]
    ):
        return names
    for g in graphs:  # runs inside Oxigraph, not in Python
        store.update(f"ADD <{g}> TO <{UNION_GRAPH}>")
    return [ox.NamedNode(UNION_GRAPH)]


#: make_union skips the largest graph; graphs this large are all checked but one, so
#: counting further would only cost a scan of them
_COUNT_UP_TO = 100_000


def _count(store: ox.Store, graph: str, limit: int | None = None) -> int:
    """The triples of *graph*, or *limit* if it has more."""
    return count_matches(store, f"GRAPH <{graph}> {{ ?s ?p ?o }}", limit)


def count_matches(store: ox.Store, where: str, limit: int | None = None) -> int:
    """The solutions of the group pattern *where* (kg's own text, not user input), or
    *limit* if there are more: counting stops there instead of scanning on."""
    if limit is not None:
        where = f"{{ SELECT * WHERE {{ {where} }} LIMIT {int(limit)} }}"
    rows = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    return int(next(iter(rows))[0].value)


def _parse(store: ox.Store, path: Path, graph: str, project: Project) -> None:
    """Load one Turtle file (or SSSOM mapping set, :mod:`kg.sssom`) into *graph*; every
    way it can fail becomes an InputError.

    The file is first read once in chunks (:func:`check_text`), because Oxigraph accepts
    NUL bytes and invalid UTF-8 in comments, which rdflib (the reference engine) refuses,
    and rejects a byte-order mark, which rdflib and most editors accept: checking here
    keeps both engines reading the same files, with a line number for each refusal.
    """
    shown = project.relative(path)
    if not path.is_file():
        raise InputError("file not found; check the path in kg.toml.", path=shown)
    if graph != ONTOLOGY_GRAPH and is_mapping_set(path):
        # An SSSOM mapping set: read and checked by kg.sssom, loaded as its RDF.
        text = source_ntriples(path, graph, project.base, shown)
        data = text.encode("utf-8")
        store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
        return
    try:
        size = path.stat().st_size
        has_bom = check_text(path, shown)
    except OSError as exc:
        raise InputError(
            f"cannot read it ({safe_reason(exc.strerror or str(exc))}).", path=shown
        ) from None
    # The bulk loader pays a fixed cost per call (threads, batches): worth it on big files.
    load = store.bulk_load if size > _BULK_FROM else store.load
    options = {
        "format": ox.RdfFormat.TURTLE,
        "base_iri": graph if graph != ONTOLOGY_GRAPH else path.resolve().as_uri(),
        "to_graph": ox.NamedNode(graph),
    }
    try:
        if has_bom:  # Oxigraph reads U+FEFF as a character: hand it what follows
            with path.open("rb") as handle:
                handle.seek(len(_BOM))
                load(handle, **options)
        else:  # from the path, Oxigraph reads the file itself, without the GIL: faster
            load(path=str(path), **options)
    except SyntaxError as exc:
        raise _syntax_error(exc, shown) from None
    except MemoryError as exc:
        if "buffer maximal size" not in str(exc):
            raise InputError(
                "not enough memory to load it; load it on a machine with more memory.",
                path=shown,
            ) from None
        raise InputError(
            f"a single term (a literal, IRI, prefixed name or comment) is longer than "
            f"{TOKEN_LIMIT >> 20} MiB, the most the parser reads at once. Keep such text in "
            "a file of its own and link to it, or split it.",
            path=shown,
            line=long_token_line(path),
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read it: {safe_reason(str(exc))}", path=shown) from None


def has_bom(path: Path) -> bool:
    """Whether *path* starts with UTF-8's byte-order mark (which the parse skips)."""
    with path.open("rb") as handle:
        return handle.read(len(_BOM)) == _BOM


def _syntax_error(exc: SyntaxError, shown: str) -> InputError:
    """Oxigraph's SyntaxError as a message: its line, its column, its reason (escaped and
    cut: the reason may quote the offending text, which may hold terminal escapes or
    megabytes of a runaway token)."""
    text = exc.msg if isinstance(exc.msg, str) else str(exc)
    why = _PARSER_AT.sub("", text)
    column = f" at column {exc.offset}" if isinstance(exc.offset, int) else ""
    return InputError(
        f"Turtle syntax error{column}: {safe_reason(why)}. Fix the statement on this line "
        "(often a missing '.', ';' or a prefix that is not declared).",
        path=shown,
        line=exc.lineno if isinstance(exc.lineno, int) else None,
    )


def safe_reason(text: str) -> str:
    """A parser's or the system's explanation, safe to print in a one-paragraph message:
    cut (it may quote a runaway token of megabytes) and with control characters (terminal
    escapes from a hostile file, line breaks) written as escapes."""
    safe = printable(text[:_REASON_LIMIT]).replace("\n", "\\n").replace("\t", "\\t")
    return safe + (f"… ({len(text):,} characters)" if len(text) > _REASON_LIMIT else "")


def check_text(source: Path | bytes, shown: str) -> bool:
    """Refuse what cannot be Turtle text, with its line; True when a UTF-8 BOM starts it.

    Refused: UTF-16 and UTF-32 (by their byte-order mark), NUL bytes (a binary or damaged
    file: a truncated download padded with zeros, or UTF-16 without its mark) and bytes
    that are not UTF-8. A file is read in chunks, so a big one costs a few percent of its
    parse and no memory; lines are counted only when something is found.
    """
    if isinstance(source, bytes):
        head, problem = source[:4], _first_problem([source])
    else:
        with source.open("rb") as handle:
            head = handle.read(4)
            handle.seek(0)
            problem = _first_problem(iter(lambda: handle.read(_CHUNK), b""))
    for mark, encoding in _FOREIGN_BOMS:
        if head.startswith(mark):
            raise InputError(
                f"is {encoding} text (it starts with a {encoding} byte-order mark); Turtle "
                "files are UTF-8: save it as UTF-8.",
                path=shown,
                line=1,
            )
    if problem is not None:
        offset, message = problem
        if isinstance(source, bytes):
            before = source[:offset]
        else:
            with source.open("rb") as handle:
                before = handle.read(offset)
        raise InputError(message, path=shown, line=line_at(before, offset))
    return head.startswith(_BOM)


def _first_problem(chunks: Iterable[bytes]) -> tuple[int, str] | None:
    """The offset of the first NUL byte or non-UTF-8 sequence, and what to say of it."""
    offset = 0  # in the file, of the first byte of `data`
    pending = b""  # the start of a character that the previous chunk cut
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        cut = _boundary(data)
        problem = _problem(data[:cut] if cut < len(data) else data, offset)
        if problem is not None:
            return problem
        offset += cut
        pending = data[cut:]
    return _problem(pending, offset)  # what is left must be whole characters


def _boundary(data: bytes) -> int:
    """How much of *data* ends on a whole UTF-8 character (all of it, mostly)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: whatever precedes it is decided
            return len(data) - back + 1
        if byte >= 0xC0:  # the first byte of a character that may go on in the next chunk
            return len(data) - back
    return len(data)  # only continuation bytes: invalid anyway, let the decoder say so


def _problem(part: bytes, offset: int) -> tuple[int, str] | None:
    nul = part.find(b"\x00")
    found: list[tuple[int, str]] = []
    if nul >= 0:
        found.append(
            (
                offset + nul,
                "holds a NUL byte (\\x00): the file is binary or damaged (a truncated "
                "download, a disk error) or UTF-16 text without its mark. Restore it from its "
                "source, or save it as UTF-8 text.",
            )
        )
    if not part.isascii():
        try:
            part.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = part[exc.start : max(exc.end, exc.start + 1)][:4]
            found.append(
                (
                    offset + exc.start,
                    f"is not UTF-8 text here (byte{'s' if len(bad) > 1 else ''} "
                    f"{' '.join(f'0x{b:02X}' for b in bad)} at byte {offset + exc.start:,}: "
                    f"{exc.reason}); it was probably saved as Latin-1 or Windows-1252. Save "
                    "it as UTF-8.",
                )
            )
    return min(found) if found else None


def _breaks(data: bytes | str) -> int:
    """Line breaks in *data*: LF, CRLF or a lone CR each end a line (as Oxigraph counts)."""
    if isinstance(data, str):
        return data.count("\n") + data.count("\r") - data.count("\r\n")
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def line_at(data: bytes | str, offset: int) -> int:
    """The line (from 1) of the character at *offset* in *data*."""
    return 1 + _breaks(data[:offset])


def long_token_line(path: Path, limit: int = TOKEN_LIMIT) -> int | None:
    """The line where a term longer than *limit* bytes begins, as far as a scan without a
    parser can tell: the first line that long, else the first long string (triple quotes)
    that runs that long; None when neither is found.

    Oxigraph's error for such a term does not say where it is; this runs only then.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    for number, text in enumerate(data.splitlines(), 1):
        if len(text) > limit:
            return number
    found: list[int] = []
    for quote in (b'"""', b"'''"):
        at = data.find(quote)
        while at >= 0:
            end = data.find(quote, at + 3)
            if end < 0 or end - at > limit:
                found.append(at)
                break
            at = data.find(quote, end + 3)
    return line_at(data, min(found)) if found else None


def _check_self_description(store: ox.Store, name: str, shown: str) -> None:
    """A source file must say what its source is (its type), so every fact in the graph
    can be traced to a described document; an empty file is told apart, for a clearer
    message."""
    node = ox.NamedNode(name)
    stem = name.rsplit("/", 1)[-1]
    example = (
        f"add e.g. '<> a kg:NewsArticle ; kg:title \"...\" ; kg:url <...> .' "
        f"(in this file <> is ex:{stem})"
    )
    if not any(store.quads_for_pattern(None, None, None, node)):
        raise InputError(
            f"holds no triples (it is empty, or only comments and prefixes); a source file "
            f"describes its source <{name}> and states its facts: {example}",
            path=shown,
        )
    if not any(store.quads_for_pattern(node, ox.NamedNode(_RDF_TYPE), None, node)):
        raise InputError(
            f"this file holds the facts of the source <{name}> but does not describe it; "
            + example,
            path=shown,
        )


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SH = "http://www.w3.org/ns/shacl#"


# -- validation --------------------------------------------------------------------------


def validate_store(
    store: ox.Store,
    project: Project,
    graphs: dict[str, str],
    union: list[ox.NamedNode],
    *,
    shapes=None,
    fallback: bool = True,
) -> tuple[list, str]:
    """SHACL results, with kg's own checks of the sources (see :func:`source_results`), as
    :class:`kg.validate.Violation` dicts, and the engine that found them; *union* are the
    graphs whose union is the asserted data (see make_union). kg's own checks run on a
    thread of their own meanwhile (their queries, like SHACL's, run without the GIL).

    *shapes*: the project's by default (an incremental build passes those that can meet
    the changed data); without *fallback*, the fast path's refusal is raised, not answered
    by pyshacl."""
    from concurrent.futures import ThreadPoolExecutor

    from kg.shacl_originals import project_originals  # read only if a check needs it
    from kg.validate import sparql_paths, violation_dicts

    shapes = _shapes(project) if shapes is None else shapes
    names = [ox.NamedNode(g) for g in graphs]
    with ThreadPoolExecutor(1, thread_name_prefix="kg-sources") as side:
        own = side.submit(source_results, store, project, graphs)
        try:
            from kg import shacl_fast

            checks = shacl_fast.compile_shapes(shapes)
            sources = lambda: project_originals(project)  # noqa: E731
            results = shacl_fast.validate_store(store, checks, graphs=union, sources=sources)
            engine = "shacl-sparql (oxigraph)"
        except ShapesError:  # SHACL says: report it (pyshacl would too, or crash): no fall back
            raise
        except (ImportError, InputError) as declined:
            if not fallback:
                raise
            results = _pyshacl_results(store, shapes, names, project, declined)
            engine = "pyshacl (reference)"
        results = [*results, *own.result()]
    related = sparql_paths(shapes)
    return violation_dicts(results, store, names, project, graphs, related), engine


def source_results(store: ox.Store, project: Project, graphs: dict[str, str]) -> list:
    """What SHACL on the merged graph cannot see, read graph by graph: terms outside the
    ontology (:mod:`kg.vocab`), two values of a date in one file (:mod:`kg.onevalue`),
    and sources that disagree (:mod:`kg.claims`, warnings)."""
    from kg.claims import claim_results
    from kg.onevalue import one_value_results
    from kg.vocab import vocabulary_results

    return [
        *vocabulary_results(store, project, graphs),
        *one_value_results(store, project, graphs),
        *claim_results(store, graphs),
    ]


def _shapes(project: Project):
    from rdflib import Graph

    from kg.load import parse_turtle

    shapes = Graph()
    for path in project.shapes:
        graph = parse_turtle(path, shown_as=project.relative(path))
        refuse_services(graph, project.relative(path))
        shapes += graph
    return shapes


_SPARQL_TEXT = ("select", "ask", "construct", "update")


def refuse_services(shapes, shown: str) -> None:
    """Refuse SHACL-SPARQL text that holds SERVICE: validation never goes on the network,
    whoever wrote the shapes (the query allow-list is for queries people run)."""
    from rdflib import URIRef

    from kg.errors import KgError
    from kg.service import check_services

    for name in _SPARQL_TEXT:
        for text in shapes.objects(None, URIRef(_SH + name)):
            try:
                check_services(str(text), prefixes=None, allowed=())
            except KgError:
                raise InputError(
                    f"a SHACL-SPARQL constraint (sh:{name}) calls a remote endpoint with "
                    "SERVICE; kg never lets validation go on the network. Remove the "
                    "SERVICE clause from the shapes.",
                    path=shown,
                ) from None


def _pyshacl_results(store: ox.Store, shapes, names, project: Project, declined: Exception) -> list:
    """pyshacl's results, for shapes the fast path declined (*declined* says why). What
    pyshacl cannot do with the shapes (it raises, or answers a failure instead of a report)
    is the shapes' problem: an InputError naming the shapes files, never a traceback."""
    from pyshacl import validate
    from rdflib import Graph

    from kg.shacl_fast import results_from_pyshacl

    data = to_rdflib(store, [n for n in names if n.value != ONTOLOGY_GRAPH])
    ontology = to_rdflib(store, [ox.NamedNode(ONTOLOGY_GRAPH)])
    try:
        _, report, text = validate(
            data,
            shacl_graph=shapes,
            ont_graph=ontology,
            inference="none",
            advanced=True,
            allow_warnings=True,
        )
        problem = None if isinstance(report, Graph) else str(text or report)
    except Exception as exc:  # pyshacl's errors have no common base class
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        raise InputError(
            f"kg cannot validate with these shapes. Its fast engine declined them "
            f"({safe_reason(str(declined))}), and the reference engine, pyshacl, stopped "
            f"with: {safe_reason(problem).rstrip('.')}. Change or remove the construct "
            "these reasons name.",
            path=", ".join(project.relative(p) for p in project.shapes),
        ) from None
    return results_from_pyshacl(report, shapes)


def to_rdflib(store: ox.Store, graphs: list[ox.NamedNode]):
    """The union of *graphs* as an rdflib Graph (for the reference engines)."""
    from rdflib import Graph

    data = b"".join(
        ox.serialize(
            (
                ox.Triple(q.subject, q.predicate, q.object)
                for q in store.quads_for_pattern(None, None, None, g)
            ),
            format=ox.RdfFormat.N_TRIPLES,
        )
        or b""
        for g in graphs
    )
    from kg.load import quiet_logger

    graph = Graph()
    with quiet_logger("rdflib.term"):  # an ill-typed literal would log a traceback to stderr
        graph.parse(data=data.decode("utf-8"), format="nt")
    return graph


# -- reasoning ---------------------------------------------------------------------------


def reason_into(
    store: ox.Store,
    union: list[ox.NamedNode],
    progress: Progress,
    *,
    out: ox.Store | TextIO | None = None,
    target: ox.NamedNode | ox.DefaultGraph | None = None,
    rules=None,
) -> tuple[int, str]:
    """Write the OWL RL inferences of *store*'s *union* into *target* of *out* (default:
    the inferred graph of *store*; a text file gets N-Triples lines); return (count, engine).
    *rules* are :func:`kg.reason_fast.compile_rules` of the store's ontology graph, when
    the caller compiled them already (a build does, while the sources parse)."""
    target = target if target is not None else ox.NamedNode(INFERRED_GRAPH)
    sink = out if out is not None else store
    asserted = union
    try:
        from kg import reason_fast

        if rules is None:
            rules = reason_fast.compile_rules(to_rdflib(store, [ox.NamedNode(ONTOLOGY_GRAPH)]))
        count = reason_fast.materialise(
            store,
            rules,
            asserted=asserted,
            target=target,
            progress=lambda stage, n: progress("reason", n, 0),
            out=sink,
        )
        return count, "compiled OWL RL rules"
    except ImportError:
        from kg.reason import owl_rl_inferences

        inferred = owl_rl_inferences(to_rdflib(store, asserted))
        from kg.reason_fast import to_ox

        triples = ((to_ox(s), to_ox(p), to_ox(o)) for s, p, o in inferred)
        if isinstance(sink, ox.Store):
            sink.bulk_extend(ox.Quad(s, p, o, target) for s, p, o in triples)
        else:
            from kg.reason_fast import write_ntriples

            write_ntriples(triples, sink)
        return len(inferred), "owlrl (reference)"
