"""A small SPARQL tokenizer, for the one rewrite kg makes to its own query text.

Oxigraph binds a variable (``substitutions``, SEP-0007) only when the SELECT projects it.
So that stored queries stay plain grlc queries, kg adds the bound parameter variables
to the top-level projection (and GROUP BY) of the query *text it ships*, then hides those
columns from the results. Values never enter the text: they travel as RDF terms.
"""

from __future__ import annotations

import re

from kg.errors import InputError

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
      |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*(?::[A-Za-z0-9_.-]*)?)
  | (?P<open>\{) | (?P<close>\}) | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def project_variables(text: str, names: list[str]) -> str:
    """*text* with ``?name`` for each of *names* added to the top-level SELECT and GROUP BY.

    Raises :class:`InputError` when the query is not a SELECT or uses one of *names*
    inside a subquery, where no engine-level binding can reach it.
    """
    if not names:
        return text
    wanted = set(names)
    depth = 0
    subquery_depths: list[int] = []
    select_at = group_at = None
    previous_word = ""
    recent: list[str] = []  # the last tokens, to spot BOUND(?param)
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind in ("comment",) or token.isspace():
            continue
        recent = [*recent[-1:], token.upper()]
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if subquery_depths and depth < subquery_depths[-1]:
                subquery_depths.pop()
        elif kind == "word":
            upper = token.upper()
            if upper == "SELECT":
                if depth == 0 and select_at is None:
                    select_at = match.end()
                elif depth > 0:
                    subquery_depths.append(depth)
            elif upper in ("DISTINCT", "REDUCED") and depth == 0 and previous_word == "SELECT":
                select_at = match.end()
            elif upper == "BY" and previous_word == "GROUP" and depth == 0 and not subquery_depths:
                group_at = match.end()
            elif upper in ("ASK", "CONSTRUCT", "DESCRIBE") and depth == 0 and select_at is None:
                raise InputError("a query with parameters must be a SELECT query.")
            previous_word = upper
        elif kind == "var" and token[1:] in wanted:
            if subquery_depths:
                raise InputError(
                    f"parameter {token} is used inside a subquery, where it cannot be bound; "
                    "use it in the outer query instead."
                )
            if recent[0] == "(" and previous_word == "BOUND":
                raise InputError(
                    f"BOUND({token}) is false for a bound parameter in Oxigraph; test an "
                    f"optional parameter with COALESCE({token}, default) instead."
                )
    if select_at is None:
        raise InputError("a query with parameters must be a SELECT query.")
    extra = " " + " ".join(f"?{n}" for n in names) + " "
    if group_at is not None:
        text = text[:group_at] + extra + text[group_at:]
    return text[:select_at] + extra + text[select_at:]
