"""Damaged Turtle never makes kg crash or hang: every file of the fault corpus
(:mod:`tests.faults.corpus`) gives exit 0, 1 or 2, and a refusal is one safe paragraph
naming the file and, where it can be told, the line.

Three checks, from cheap to dear:

- every case through ``kg validate PATH`` (Oxigraph's loader, then SHACL);
- every case through both loaders, Oxigraph's and the reference's (rdflib), which must
  accept or refuse the same files but for the differences the corpus names;
- a sample through a whole ``kg build`` in a copied project, after which removing the
  damaged file must leave kg answering exactly as the shipped project does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.compile import load_into
from kg.errors import InputError
from kg.load import load_source
from kg.project import Project
from tests.conftest import ROOT, invoke
from tests.faults.corpus import ANY, Case, cases, shipped, write

CASES = cases()
BASE = Project.load(ROOT).base
#: What must never reach a terminal from a message: C0 and C1 controls (but line breaks
#: and tabs), DEL, and the bidirectional overrides that reorder what a reader sees.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: A message names the file and, when known, the line: "PATH:LINE: ..." or "PATH: ...".
MESSAGE_LIMIT = 1_000  # characters: enough for a paragraph, far less than a flood


@pytest.fixture(scope="module", autouse=True)
def shapes_compiled_once() -> Iterator[None]:
    """Parse and compile the project's SHACL shapes once for the module, not per command.

    ``kg validate`` and ``kg build`` spend about 0.3 s of each run on them, which makes a
    corpus of hundreds of files slow; the shapes are not what this module tests. The
    cache is keyed by the shapes' bytes, so a project with other shapes gets its own.
    """
    import kg.compile
    import kg.shacl_fast

    parse, compile_ = kg.compile._shapes, kg.shacl_fast.compile_shapes
    parsed: dict[tuple[bytes, ...], object] = {}
    compiled: list[tuple[object, list]] = []

    def shapes(project: Project):
        key = tuple(path.read_bytes() for path in project.shapes)
        if key not in parsed:
            parsed[key] = parse(project)
        return parsed[key]

    def compile_shapes(graph):
        for known, checks in compiled:
            if known is graph:
                return checks
        checks = compile_(graph)
        compiled.append((graph, checks))
        return checks

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kg.compile, "_shapes", shapes)
        patch.setattr(kg.shacl_fast, "compile_shapes", compile_shapes)
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the cases are written to, each in a folder of its own when needed."""
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def shipped_codes() -> dict[str, int]:
    """Exit code of ``kg validate`` on each shipped file alone, filled as asked."""
    return {}


def _check_output(result, path: str) -> None:
    """What holds for every run: a documented exit, no crash, safe and short messages."""
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "Internal error" not in result.stderr
    assert not UNSAFE.search(result.stderr), f"raw control characters: {result.stderr!r}"
    assert not UNSAFE.search(result.stdout), f"raw control characters: {result.stdout[:500]!r}"
    if result.exit_code == 2:
        message = result.stderr.strip()
        assert message.startswith(f"Error: {path}:"), message[:300]
        assert "\n" not in message, message[:300]  # one paragraph
        assert len(message) < MESSAGE_LIMIT, message[:300]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_gives_a_documented_exit(case: Case, corpus: Path, runner, shipped_codes):
    path = write(case, corpus)
    result = invoke(runner, "validate", str(path))
    _check_output(result, str(path))
    assert result.exit_code in case.expect, result.stderr or result.stdout[:300]
    if case.same_as is not None:  # e.g. the same file with a BOM or CRLF line ends
        if case.same_as not in shipped_codes:  # the corpus's own copy of the original
            original = corpus / "originals" / f"{case.same_as}.ttl"
            original.parent.mkdir(exist_ok=True)
            original.write_bytes(shipped()[case.same_as])
            shipped_codes[case.same_as] = invoke(runner, "validate", str(original)).exit_code
        assert result.exit_code == shipped_codes[case.same_as], result.stderr


def test_the_corpus_is_large_and_varied():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 200
    assert {"byte flip", "truncation", "encoding", "nul", "huge", "deep nesting"} <= kinds
    assert {"bad IRI", "relative IRI", "base", "prefix", "BOM", "CRLF", "undescribed"} <= kinds
    assert {"empty", "hostile", "other format", "literal"} <= kinds
    assert sum(c.build for c in CASES) >= 10
    # the kinds whose outcome is known are pinned down, not merely "0, 1 or 2"
    pinned = ("BOM", "CRLF", "nul", "huge", "encoding", "bad IRI", "empty", "undescribed")
    assert all(c.expect != ANY or c.same_as for c in CASES if c.kind in pinned)


def _oxigraph_refuses(path: Path) -> InputError | None:
    try:
        load_into(ox.Store(), Project.load(ROOT), lambda *a: None, [path])
    except InputError as exc:
        return exc
    return None


def _reference_refuses(path: Path, stem: str) -> InputError | None:
    try:
        load_source(path, BASE + stem, str(path))
    except InputError as exc:
        return exc
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_loaders_refuse_the_same_files(case: Case, corpus: Path):
    path = write(case, corpus)
    fast = _oxigraph_refuses(path)
    reference = _reference_refuses(path, case.stem)  # anything but InputError fails here
    for error in (fast, reference):
        if error is not None:
            assert str(error).startswith(f"{path}:")
            assert not UNSAFE.search(str(error)) and "\n" not in str(error)
            assert len(str(error)) < MESSAGE_LIMIT
    if case.engines_agree:
        assert (fast is None) == (reference is None), f"oxigraph: {fast}; rdflib: {reference}"


@pytest.mark.parametrize(
    ("case", "line"),
    [
        ("nul-between", 8),
        ("utf8-ff-literal", 8),
        ("utf8-in-comment", 8),
        ("utf8-latin1", 25),
        ("iri-escape-sequence", 8),
        ("huge-literal", 8),
        ("huge-long-string", 8),
        ("bom-middle", 8),
        ("crlf-long-string", None),  # accepted
    ],
)
def test_refusals_give_the_line(case: str, line: int | None, corpus: Path):
    """The line of a refusal is the line of the damage, with the same count on both
    engines (a byte-order mark or CRLF line ends do not shift it)."""
    found = next(c for c in CASES if c.name == case)
    path = write(found, corpus)
    fast = _oxigraph_refuses(path)
    assert (fast.line if fast else None) == line, fast
    if found.engines_agree:
        reference = _reference_refuses(path, found.stem)
        assert (reference.line if reference else None) == line, reference


def test_a_bom_is_accepted_by_both_engines(corpus: Path, runner):
    case = next(c for c in CASES if c.name == "bom-synthetic")
    path = write(case, corpus)
    assert _oxigraph_refuses(path) is None
    assert _reference_refuses(path, case.stem) is None
    result = invoke(runner, "--engine", "reference", "validate", str(path))
    assert result.exit_code == 0, result.stderr


def test_a_huge_literal_is_refused_with_its_line(corpus: Path, runner):
    case = next(c for c in CASES if c.name == "huge-literal")
    path = write(case, corpus)
    result = invoke(runner, "validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:8: a single term")
    assert "16 MiB" in result.stderr


@pytest.fixture(scope="module")
def memberships(runner_module) -> str:
    """What the shipped project answers: the answer a repaired copy must give again."""
    result = invoke(runner_module, "query", "memberships")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def runner_module():
    from click.testing import CliRunner

    return CliRunner()


SAMPLE = [c for c in CASES if c.build]


@pytest.mark.parametrize("case", SAMPLE, ids=[c.name for c in SAMPLE])
def test_build_then_removal_answers_as_before(case: Case, runner, project_copy, memberships):
    target = project_copy / "data" / f"{case.stem}.ttl"
    original = target.read_bytes() if target.exists() else None
    target.write_bytes(case.data)
    built = invoke(runner, "build", project=project_copy)
    _check_output(built, f"data/{case.stem}.ttl")
    if original is None:
        target.unlink()
    else:
        target.write_bytes(original)
    answer = invoke(runner, "query", "memberships", project=project_copy)
    assert answer.exit_code == 0, answer.stderr
    assert answer.stdout == memberships
