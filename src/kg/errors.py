"""Typed errors, each carrying the process exit code the CLI turns it into.

Exit codes are a documented contract (as in pySHACL): 0 success or conforms,
1 the data does not conform to its shapes, 2 unusable input or a usage mistake.
"""

from __future__ import annotations


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


class ValidationFailed(KgError):
    """The asserted data violates its SHACL shapes."""

    exit_code = 1
