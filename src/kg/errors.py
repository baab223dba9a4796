"""Typed errors, each carrying the process exit code the CLI turns it into.

Exit codes are a documented contract (as in pySHACL), kept in :data:`EXIT_CODES`:
0 success or conforms, 1 the data does not conform to its shapes, 2 unusable input or a
usage mistake, 3 a bug in kg, 124 a query ran out of time (as GNU ``timeout``), 130
interrupted (Ctrl-C, as shells report SIGINT).
"""

from __future__ import annotations

import re

EXIT_CODES = {
    0: "success (kg validate: the data conforms)",
    1: "the data violates its SHACL shapes",
    2: "unusable input or a usage mistake",
    3: "an internal error: a bug in kg",
    124: "a query ran out of time (--timeout)",
    130: "interrupted (Ctrl-C)",
}

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class KgError(Exception):
    """Base of every error meant for a person: the message is the whole story."""

    exit_code = 2


class UsageError(KgError):
    """The command line asked for something that does not exist or does not fit."""


class InputError(KgError):
    """An input file (Turtle, query, config) cannot be used as it is."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line

    def __reduce__(self):  # survive pickling across the query worker's pipe
        return (_rebuild, (type(self), str(self), self.path, self.line))


def _rebuild(cls, text: str, path: str | None, line: int | None) -> InputError:
    error = cls.__new__(cls)
    Exception.__init__(error, text)
    error.path, error.line = path, line
    return error


class QueryTextError(InputError):
    """The text of a SPARQL query cannot be read (a syntax error, an undeclared prefix).
    Raised without a path by the engines; whoever knows the file (a stored query) adds it."""


class ShapesError(InputError):
    """The shapes graph breaks a rule SHACL says a processor MUST report as a failure (a
    SHACL-SPARQL query against the pre-binding rules, https://www.w3.org/TR/shacl/#pre-binding):
    no engine may validate with it, so kg stops instead of falling back to another engine."""


class StorageError(InputError):
    """Writing kg's own state or an output failed for a reason outside kg (a full disk,
    a file-size limit, a read-only file system)."""


class ValidationFailed(KgError):
    """The asserted data violates its SHACL shapes."""

    exit_code = 1


class QueryTimeout(KgError):
    """A query ran longer than its time limit and was stopped."""

    exit_code = 124


class QueryFailed(KgError):
    """The engine could not answer (a SERVICE endpoint down, a read error)."""


class Interrupted(KgError):
    """The user pressed Ctrl-C (SIGINT) and the work was stopped."""

    exit_code = 130


def shown(value: str, limit: int = 60) -> str:
    """*value* quoted for a message: at most *limit* characters, control characters and
    terminal escapes written as ``\\x1b``-style escapes, never the raw bytes."""
    text = str(value)
    cut = len(text) > limit
    text = _UNSAFE.sub(_escape, text[:limit])
    return "'" + text.replace("'", "\\'") + "'" + (f" (… {len(value):,} characters)" if cut else "")


def printable(text: str) -> str:
    """*text* with control characters and terminal escapes escaped, nothing cut; line
    breaks and tabs are kept (a message may have several lines)."""
    return _UNSAFE.sub(_escape_kept, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape_kept(match: re.Match[str]) -> str:
    return match.group() if match.group() in "\n\t" else _escape(match)
