"""The README's examples are run: each ``$ kg ...`` line in a ``console`` block must
print exactly what the README shows, and every command must be documented."""

from __future__ import annotations

import re
import shlex

import pytest

from kg.cli import cli
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _examples() -> list[tuple[str, str]]:
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command:
            examples.append((command, "\n".join(output)))
    return examples


EXAMPLES = _examples()


def test_readme_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(runner, command, expected):
    args = shlex.split(command)
    assert args[0] == "kg"
    # Tables fit $COLUMNS when it is set; the README shows them as a pipe gets them.
    result = runner.invoke(cli, ["--project", str(ROOT), *args[1:]], env={"COLUMNS": None})
    got = "\n".join(line.rstrip() for line in result.output.rstrip("\n").splitlines())
    want = "\n".join(line.rstrip() for line in expected.rstrip("\n").splitlines())
    assert got == want


def test_every_command_is_documented():
    for name in cli.commands:
        assert f"`kg {name}" in README, f"kg {name} is missing from the README's command table"


def test_readme_setup_commands():
    """The two set-up commands install the package and run the main job / the tests."""
    assert "pip install -e . && kg query memberships" in README
    assert "pip install -e '.[test]' && pytest" in README


def test_promises_name_the_corpus_size():
    """The "What kg promises" table states the damaged-Turtle corpus size it was run with."""
    from tests.faults.corpus import cases

    assert f"| {len(cases())} files:" in README
