"""The files kg.toml names, under hostile values: control characters, deep nesting and
huge lists in kg.toml; FIFOs, folders, unreadable and non-UTF-8 files where kg expects a
regular file; JSON-LD contexts kg's compaction cannot use; an unlistable ``queries/``;
and the outputs ``kg export -o`` must never write over (:meth:`Project.protected`).

Each case is exit 2 with a message naming the file (and the key or term), never exit 3
or a hang. Whatever could block (a FIFO, a huge list) runs in a subprocess under a
time-out, so that a regression fails the test instead of hanging the run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.export import load_context, to_jsonld
from kg.project import Project
from tests.conftest import ROOT, invoke, writable_again
from tests.conftest import run_kg as kg

#: Root without the capabilities that let it ignore file permissions (as in test_faults).
_NOT_ALMIGHTY = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)
CONTEXT = "ontology/context.jsonld"


def refused(result, *words: str) -> None:
    """Exit 2, one ``Error:`` paragraph holding *words*, no internal error or traceback."""
    err = result.stderr
    assert (getattr(result, "returncode", None) or getattr(result, "exit_code", None)) == 2, err
    assert "Error: " in err and "Internal error" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def _reader() -> tuple[str, ...]:
    """The command prefix of a user whom file permissions bind (root is made to respect
    them with setpriv)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to read")
    return _NOT_ALMIGHTY


def _set(project: Path, table: str, line: str) -> None:
    """Add *line* under [*table*] of the project's kg.toml, replacing the key it sets."""
    key = line.split("=", 1)[0].strip()
    lines = (project / "kg.toml").read_text(encoding="utf-8").splitlines()
    lines = [x for x in lines if not x.startswith(f"{key} =")]
    if f"[{table}]" not in lines:
        lines.append(f"[{table}]")
    lines.insert(lines.index(f"[{table}]") + 1, line)
    (project / "kg.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def permissive(project_copy: Path) -> Iterator[Path]:
    """A project copy made readable again afterwards, so that pytest can remove it."""
    yield project_copy
    writable_again(project_copy)


# -- kg.toml: control characters, nesting, sizes ------------------------------------------


@pytest.mark.parametrize(
    "table, line, key",
    [
        ("project", r'base = "https://x/\u001b/"', "base"),
        ("project", r'base = "https://x/\u009b/"', "base"),
        ("project", r'base = "https://x/\u202e/"', "base"),
        ("project", r'base = "https://x/\u007f/"', "base"),
        ("project", r'ontology = ["ontology/kg\u0000.ttl"]', "ontology"),
        ("project", r'data = ["da\u001b[31mta"]', "data"),
        ("project", r'shapes = "ontology/\u2066shapes.ttl"', "shapes"),
        ("project", r'queries = "quer\nies"', "queries"),
        ("project", r'context = "ontology/\u200fcontext.jsonld"', "context"),
        ("query", r'services = ["https://x.org/\u0007sparql"]', "services"),
    ],
)
def test_control_characters_in_iris_and_paths_are_refused(project_copy, runner, table, line, key):
    _set(project_copy, table, line)
    result = invoke(runner, "queries", project=project_copy)
    refused(result, "kg.toml", f"{key} = ", "control or bidi character")
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_a_base_the_engine_refuses_is_refused_when_kg_starts(project_copy, runner):
    _set(project_copy, "project", 'base = "https://x/%zz/"')
    refused(invoke(runner, "queries", project=project_copy), "kg.toml", "base")


@pytest.mark.parametrize(
    "text, words",
    [
        ("[project]\ndata = " + "[" * 10_000 + '"data"' + "]" * 10_000 + "\n", ["not valid TOML"]),
        ("[query]\ntimeout = 1" + "0" * 5_000 + "\n", ["not valid TOML"]),
        ("[project]\nname = " + "[" * 200 + '"x"' + "]" * 200 + "\n", ["name"]),
        ('["\\u001b[31mred"]\n', ["unknown table", "\\x1b"]),
        ("# " + "x" * (2 << 20) + "\n", ["larger than"]),
        ("[project]\ndata = [" + ", ".join(['"data"'] * 1_001) + "]\n", ["data", "1,000"]),
        ("[project]\nontology = " + repr(["o" * 5_000]).replace("'", '"') + "\n", ["ontology"]),
        ("[query]\nservices = [" + ", ".join(['"https://x.org/"'] * 1_001) + "]\n", ["1,000"]),
        ('[project]\nbase = "https://x.org/' + "a" * 5_000 + '/"\n', ["base"]),
    ],
    ids=[
        "10000-deep-array",
        "5000-digit-number",
        "200-deep-name",
        "escape-in-table-name",
        "2-MiB-file",
        "1001-data-folders",
        "5000-character-path",
        "1001-services",
        "5000-character-base",
    ],
)
def test_hostile_kg_toml_is_exit_2(project_copy, runner, text, words):
    (project_copy / "kg.toml").write_text(text, encoding="utf-8")
    result = invoke(runner, "queries", project=project_copy)
    refused(result, "kg.toml", *words)
    assert "\x1b" not in result.stderr


def test_200000_data_folders_are_refused_at_once(project_copy):
    (project_copy / "kg.toml").write_text(
        "[project]\ndata = [" + ", ".join(['"data"'] * 200_000) + "]\n", encoding="utf-8"
    )
    refused(kg(project_copy, "validate", timeout=20), "kg.toml")


@pytest.mark.parametrize("key", ["data", "ontology", "queries"])
def test_a_name_too_long_for_the_file_system_is_exit_2(project_copy, runner, key):
    """A 300-character file name (the limit is 255) failed in os.stat with ENAMETOOLONG."""
    value = f'["{"x" * 300}"]' if key != "queries" else f'"{"x" * 300}"'
    _set(project_copy, "project", f"{key} = {value}")
    result = invoke(runner, "validate" if key != "queries" else "queries", project=project_copy)
    refused(result, "xxxxxxxx", "too long")


# -- every configured file is a regular file ----------------------------------------------


def _fifo(path: Path) -> None:
    if path.exists():
        path.unlink()
    os.mkfifo(path)


def test_kg_toml_a_fifo_is_refused_without_waiting(project_copy):
    _fifo(project_copy / "kg.toml")
    refused(kg(project_copy, "queries", timeout=20), "kg.toml", "not a regular file")


def test_kg_toml_a_folder_is_refused(project_copy, runner):
    (project_copy / "kg.toml").unlink()
    (project_copy / "kg.toml").mkdir()
    result = invoke(runner, "queries", project=project_copy)
    refused(result, "kg.toml", "not a regular file")
    assert str(project_copy) not in result.stderr.split("kg.toml", 1)[1]


@pytest.mark.parametrize(
    "name, command",
    [
        ("kg.ttl", ("context",)),
        ("kg.ttl", ("build",)),
        ("shapes.ttl", ("validate",)),
    ],
)
def test_ontology_or_shapes_a_fifo_is_refused_without_waiting(project_copy, name, command):
    _fifo(project_copy / "ontology" / name)
    refused(kg(project_copy, *command, timeout=20), f"ontology/{name}", "not a regular file")


def test_a_missing_ontology_keeps_its_message(project_copy, runner):
    (project_copy / "ontology" / "kg.ttl").unlink()
    refused(invoke(runner, "build", project=project_copy), "ontology/kg.ttl", "file not found")


def test_context_a_fifo_is_refused_without_waiting(project_copy):
    _fifo(project_copy / CONTEXT)
    refused(kg(project_copy, "export", "--format", "json-ld"), "context.jsonld", "regular file")


# -- the JSON-LD context ------------------------------------------------------------------


def _context(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "context.jsonld"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"@context": {"x": {"@id": 5}}}', ["'x'", "@id"]),
        ('{"@context": {"x": {"@reverse": ["a"]}}}', ["'x'", "@reverse"]),
        ('{"@context": {"x": {"@id": "kg:x", "@type": {}}}}', ["'x'", "@type"]),
        ('{"@context": {"x": {"@id": "kg:x", "@language": 5}}}', ["'x'", "@language"]),
        ('{"@context": {"x": 5}}', ["'x'"]),
        ('{"@context": {"x": ["kg:"]}}', ["'x'"]),
        ('{"@context": {"@vocab": 5}}', ["@vocab"]),
        ('{"@context": {"@language": {"en": 1}}}', ["@language"]),
        ('{"@context": [{"x": "https://x/"}, {"y": {"@id": true}}]}', ["'y'", "@id"]),
        ('{"@context": [{"x": "https://x/"}, "https://remote/ctx"]}', ["remote"]),
        ('{"@context": {"@import": "https://remote/ctx"}}', ["@import"]),
        ('{"@context": "https://remote/ctx"}', ["remote"]),
        ('{"@context": 5}', ["remote"]),
        ("[1]", ["remote"]),
        ('{"@context": ' + "[" * 100_000 + "]" * 100_000 + "}", ["nested"]),
        ('{"@context": {"n": ' + "1" * 5_000 + "}}", ["not valid JSON"]),
        ("{", ["not valid JSON"]),
        (b'{"@context": {"x": "\xff"}}', ["UTF-8"]),
    ],
)
def test_a_context_kg_cannot_use_is_an_input_error(tmp_path, text, words):
    path = _context(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_context(path)
    message = str(caught.value)
    assert str(path) in message, message
    for word in words:
        assert word in message, message


def test_a_context_folder_or_fifo_is_an_input_error(tmp_path):
    (tmp_path / "folder.jsonld").mkdir()
    os.mkfifo(tmp_path / "fifo.jsonld")
    for name in ("folder.jsonld", "fifo.jsonld"):
        with pytest.raises(InputError, match="not a regular file"):
            load_context(tmp_path / name)


def test_a_list_of_contexts_is_merged_in_order(tmp_path):
    first = {"kg": "https://w3id.org/kg-diplo/ontology#", "name": {"@id": "kg:old"}}
    second = {"name": {"@id": "kg:name"}, "@language": "en"}
    doc = load_context(_context(tmp_path, json.dumps({"@context": [first, None, second]})))
    assert doc == {"@context": second}, "null resets the context, as in JSON-LD"
    doc = load_context(_context(tmp_path, json.dumps({"@context": [first, second]})))
    assert doc == {"@context": {**first, **second}}
    assert doc["@context"]["name"] == {"@id": "kg:name"}


def test_the_shipped_context_loads_unchanged():
    path = ROOT / CONTEXT
    assert load_context(path) == json.loads(path.read_text(encoding="utf-8"))


def test_a_list_context_compacts(tmp_path):
    from rdflib import Literal, URIRef

    ctx = {"@context": [{"kg": "https://w3id.org/kg-diplo/ontology#"}, {"t": {"@id": "kg:t"}}]}
    doc = load_context(_context(tmp_path, json.dumps(ctx)))
    out = to_jsonld(
        [(URIRef("https://x/a"), URIRef("https://w3id.org/kg-diplo/ontology#t"), Literal("v"))],
        doc,
    )
    assert out["@graph"] == [{"@id": "https://x/a", "t": "v"}]


def test_export_with_a_list_context_and_bad_contexts(project_copy):
    """Through the CLI: a list of inline contexts exports; a bad term, a folder and an
    unreadable file are exit 2 naming the file (one build serves every case)."""
    shipped = json.loads((project_copy / CONTEXT).read_text(encoding="utf-8"))["@context"]
    items = list(shipped.items())
    halves = [dict(items[: len(items) // 2]), dict(items[len(items) // 2 :])]
    (project_copy / CONTEXT).write_text(json.dumps({"@context": halves}), encoding="utf-8")
    result = kg(project_copy, "export", "--format", "json-ld")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["@context"] == shipped

    (project_copy / CONTEXT).write_text('{"@context": {"x": {"@id": 5}}}', encoding="utf-8")
    refused(kg(project_copy, "export", "--format", "json-ld"), CONTEXT, "'x'", "@id")
    (project_copy / CONTEXT).write_bytes(b'{"@context": {"x": "\xff"}}')
    refused(kg(project_copy, "export", "--format", "json-ld"), CONTEXT, "UTF-8")
    (project_copy / CONTEXT).unlink()
    (project_copy / CONTEXT).mkdir()
    refused(kg(project_copy, "export", "--format", "json-ld"), CONTEXT, "not a regular file")


def test_an_unreadable_context_is_exit_2(permissive):
    prefix = _reader()
    assert kg(permissive, "build").returncode == 0
    (permissive / CONTEXT).chmod(0)
    result = kg(permissive, "export", "--format", "json-ld", prefix=prefix)
    refused(result, CONTEXT, "cannot read")


# -- the stored-queries folder ------------------------------------------------------------


def test_an_unlistable_queries_folder_is_exit_2(permissive):
    prefix = _reader()
    (permissive / "queries").chmod(0)
    for args in (("queries",), ("query", "posts")):
        refused(kg(permissive, *args, prefix=prefix), "queries: ", "permission denied")
    (permissive / "queries").chmod(0o300)  # names can be opened, not listed
    refused(kg(permissive, "queries", prefix=prefix), "queries: ", "cannot list")
    refused(kg(permissive, "query", "nosuch", prefix=prefix), "queries: ", "cannot list")


def test_queries_a_file_is_exit_2(project_copy, runner):
    shutil.rmtree(project_copy / "queries")
    (project_copy / "queries").write_text("not a folder\n", encoding="utf-8")
    for args in (("queries",), ("query", "posts")):
        refused(invoke(runner, *args, project=project_copy), "queries: ", "not a folder")


def test_no_queries_folder_is_no_stored_queries(project_copy, runner):
    shutil.rmtree(project_copy / "queries")
    assert invoke(runner, "queries", project=project_copy).exit_code == 0
    refused(invoke(runner, "query", "posts", project=project_copy), "no stored query")


def test_a_stored_query_that_is_a_fifo_is_refused_without_waiting(project_copy):
    _fifo(project_copy / "queries" / "odd.rq")
    refused(kg(project_copy, "queries", timeout=20), "odd.rq", "not a regular file")


# -- outputs kg must not write over --------------------------------------------------------


def test_protected_outputs(project_copy, tmp_path, monkeypatch):
    project = Project.load(project_copy)
    monkeypatch.chdir(project_copy)
    (project_copy / ".kg").mkdir(exist_ok=True)
    source = next((project_copy / "data").glob("*.ttl"))
    for path in (
        project_copy / "kg.toml",
        Path("kg.toml"),
        Path("ontology/kg.ttl"),
        project_copy / "ontology" / "shapes.ttl",
        project_copy / ".kg" / "manifest.json",
        project_copy / ".kg" / "store-new" / "x",
        source,
        Path("data") / ".." / "data" / source.name,
    ):
        assert project.protected(path), path
    # through symlinks and hard links, from outside the project
    (tmp_path / "link.ttl").symlink_to(project_copy / "ontology" / "kg.ttl")
    (tmp_path / "dir").symlink_to(project_copy / "data")
    os.link(source, tmp_path / "hard.ttl")
    for path in (tmp_path / "link.ttl", tmp_path / "dir" / source.name, tmp_path / "hard.ttl"):
        assert project.protected(path), path
    # a source reached through a symlink under data/ to a file elsewhere in the project
    (project_copy / "elsewhere").mkdir()
    shutil.move(source, project_copy / "elsewhere" / source.name)
    source.symlink_to(project_copy / "elsewhere" / source.name)
    assert project.protected(project_copy / "elsewhere" / source.name)
    # what may be written: the context, new files, exports elsewhere, non-sources in data/
    (project_copy / "data" / "notes.txt").write_text("x", encoding="utf-8")
    for path in (
        Path(CONTEXT),
        project_copy / "export.ttl",
        tmp_path / "out.jsonld",
        project_copy / "data" / "notes.txt",
        project_copy / "data" / "new.ttl",
        Path("-"),
    ):
        assert project.protected(path) is None, path


def test_protected_names_the_reason(project_copy):
    project = Project.load(project_copy)
    assert "kg.toml" in project.protected(project_copy / "kg.toml")
    assert "ontology" in project.protected(project_copy / "ontology" / "kg.ttl")
    assert "shapes" in project.protected(project_copy / "ontology" / "shapes.ttl")
    assert ".kg" in project.protected(project_copy / ".kg" / "x")
    assert "source" in project.protected(next((project_copy / "data").glob("*.ttl")))
