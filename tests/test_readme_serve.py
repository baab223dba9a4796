"""The README's ``kg serve`` examples are run against a real ``kg serve``: each indented
``$ curl ...`` line must answer what the README shows (the build's name and figures
aside), so the documentation of the HTTP API cannot drift from the server."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.serving import serving

README = (ROOT / "README.md").read_text(encoding="utf-8")
_PORT = "http://127.0.0.1:7878"


def _examples() -> list[tuple[str, str]]:
    """(command, output) of every indented ``$ curl`` example."""
    examples: list[tuple[str, str]] = []
    lines = README.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("    $ curl "):
            output = []
            for follow in lines[i + 1 :]:
                if not follow.startswith("    ") or follow.startswith("    $ "):
                    break
                output.append(follow[4:])
            examples.append((line[6:], "\n".join(output)))
    return examples


EXAMPLES = _examples()


def _request(command: str, base: str) -> urllib.request.Request:
    """The request a curl command line of the README makes (the options it uses)."""
    args = shlex.split(command)[1:]
    url, headers, form = None, {}, []
    while args:
        arg = args.pop(0)
        if arg == "-H":
            name, _, value = args.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "--data-urlencode":
            name, _, value = args.pop(0).partition("=")
            form.append((name, value))
        elif arg in ("-s", "-i"):
            continue
        else:
            url = arg.replace(_PORT, base)
    assert url, command
    data = urllib.parse.urlencode(form).encode() if form else None
    return urllib.request.Request(url, data=data, headers=headers)


def _normal(text: str) -> object:
    """JSON parsed (the build's name and counts are the reader's own), else lines."""
    try:
        value = json.loads(text)
    except ValueError:
        return [line.rstrip() for line in text.strip().splitlines()]
    if isinstance(value, dict) and "build" in value:
        value = {k: v for k, v in value.items() if k not in ("build", "triples")}
    return value


def test_the_readme_shows_the_api():
    assert len(EXAMPLES) >= 3


@pytest.fixture(scope="module")
def base():
    with serving(ROOT, "--workers", "3") as url:  # as the README shows
        yield url


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_serve_example(base, command, expected):
    try:
        with urllib.request.urlopen(_request(command, base), timeout=30) as answer:
            got = answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:  # the README shows error answers too
        got = exc.read().decode("utf-8")
    assert _normal(got) == _normal(expected)
