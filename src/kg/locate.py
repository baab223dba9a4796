"""Where a triple is written in a Turtle file: the line of a subject, of a value.

Validation results name terms (a focus node, a path, a value); people need the file and
line to fix them. Oxigraph's parser gives no positions, so this reads a source file again,
once, with a small Turtle scanner: prefixes and base, ``;`` and ``,`` lists, nested blank
nodes and collections, long strings over several lines, comments. It keeps only the
triples asked about, so memory stays small however big the file. It is a best effort (a
term it cannot read is skipped, never an error): callers fall back to the subject's line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>\#[^\n\r]*)
    |(?P<lit>(?:\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
        |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
        (?:\s*@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\s*\^\^\s*(?:<[^<>\s]*>|[^\s;,\[\]()<>"']*))?)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    |(?P<punct>[;,\[\]()])
    |(?P<name>[^\s;,\[\]()<>"'\#]+)
    |(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_SIMPLE = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_DIRECTIVE = re.compile(
    r"^[ \t]*(@prefix|PREFIX|@base|BASE)[ \t]+(?:([A-Za-z][\w.-]*:|:)[ \t]*)?(<[^<>\s]*>)",
    re.MULTILINE | re.IGNORECASE,
)
_BOUNDARY = re.compile(r"\.[ \t]*(?:#[^\n]*)?\n(?=[^\s#])")
_WHOLE = 1 << 20  # characters: a smaller file is simply read whole
_NT_LITERAL = re.compile(r'^"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^<>]*)>)?$', re.DOTALL)
_XSD = "http://www.w3.org/2001/XMLSchema#"
_SUFFIX = re.compile(  # after a literal's quotes: its language tag or its datatype
    r"\s*(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^\s*(<[^<>\s]*>|[^\s;,\[\]()<>\"']*))$"
)
_NUMBER = (
    (re.compile(r"[+-]?\d+"), "integer"),
    (re.compile(r"[+-]?\d*\.\d+"), "decimal"),
    (re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+"), "double"),
    (re.compile(r"true|false"), "boolean"),
)


@dataclass
class Located:
    """What one pass over a file found: the first line where each wanted node is a
    subject, and the line of each value of the wanted triples."""

    subjects: dict[str, int] = field(default_factory=dict)
    #: (subject key, predicate key) -> [(value key, line)], in file order
    values: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)
    #: with ``blanks``: each blank node of the file (key ``_:#n`` for ``[``, ``_:label`` for
    #: a labelled one) -> the (subject key, predicate key) it hangs from, or None
    blanks: dict[str, tuple[str, str] | None] = field(default_factory=dict)

    def blank(self, parent: tuple[str, str] | None, triples: set[tuple[str, str]]) -> str | None:
        """The key of the blank node of this file hanging from *parent* (None: from
        nothing) whose own (predicate, value) keys share most with *triples*: how a blank
        node of the store is found in its file (their labels differ)."""
        candidates = [b for b, p in self.blanks.items() if p == parent]
        if len(candidates) < 2:
            return candidates[0] if candidates else None
        own: dict[str, set[tuple[str, str]]] = {b: set() for b in candidates}
        for (subject, predicate), values in self.values.items():
            if subject in own:
                own[subject].update((predicate, _canonical(v)) for v, _ in values)
        wanted = {(p, _canonical(v)) for p, v in triples}
        return max(candidates, key=lambda b: len(own[b] & wanted))

    def lines(self, subject: str, predicate: str, value: str | None = None) -> list[int]:
        """Lines of the triples (*subject*, *predicate*, *value*), or of any value."""
        found = self.values.get((subject, predicate), [])
        return [line for v, line in found if value is None or v == value]


def key(term: str | None) -> str | None:
    """The key this module gives an N-Triples term: an IRI as ``<iri>``, a literal as
    its lexical form in quotes (unescaped) and its language tag (lower case) or datatype
    (none for xsd:string), so ``"2002"^^xsd:string`` is not ``"2002"^^xsd:gYear``; a blank
    node None (its label in a file is not the store's: see :meth:`Located.blank`)."""
    if not term:
        return None
    if term.startswith("<"):
        return term
    match = _NT_LITERAL.match(term)
    if not match:
        return None
    return _literal_key(_unescape(match.group(1)), match.group(2), match.group(3))


def _literal_key(lexical: str, language: str | None, datatype: str | None) -> str:
    if language:
        return f'"{lexical}"@{language.lower()}'
    if datatype and datatype != _XSD + "string":
        return f'"{lexical}"^^<{datatype}>'
    return f'"{lexical}"'


def lexical(k: str) -> str:
    """The lexical form of a literal's key."""
    return k[1 : k.rindex('"')]


def datatype(k: str) -> str | None:
    """The datatype IRI of a literal's key (None for a language-tagged or plain one)."""
    match = re.search(r'"\^\^<([^<>]*)>$', k)
    return match.group(1) if match else None


def same_value(a: str | None, b: str | None) -> bool:
    """Whether two keys name the same term, allowing for the canonical forms a store or
    rdflib gives a typed value (``"01"^^xsd:integer`` is ``"1"``, a dateTime's ``Z`` is
    ``+00:00``)."""
    return a is not None and b is not None and (a == b or _canonical(a) == _canonical(b))


def _canonical(k: str) -> str:
    """*k* with the lexical form rdflib gives a well-typed value (what the engines show)."""
    dt = datatype(k) if k.startswith('"') else None
    if dt is None or not dt.startswith(_XSD):
        return k
    from rdflib import Literal, URIRef

    try:
        return _literal_key(str(Literal(lexical(k), datatype=URIRef(dt))), None, dt)
    except Exception:  # ill-typed: as written
        return k


def scan(
    path: Path,
    base: str,
    subjects: set[str],
    objects: frozenset[str] = frozenset(),
    *,
    blanks: bool = False,
) -> Located:
    """One pass over *path*: the triples whose subject key is in *subjects* or whose
    object key is in *objects* (for inverse paths), and with *blanks* those of every blank
    node (see :attr:`Located.blanks`); *base* resolves ``<>`` and relative IRIs (a
    source's base is its graph IRI)."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    if blanks or '"""' in text or "'''" in text or len(text) < _WHOLE:
        return _Scanner(text, base, subjects, objects, blanks).run()
    # A big file without long strings: a statement starts on a line after one ending in
    # '.', so only the statements that mention a wanted term need tokenizing.
    declared = _Scanner("", base, subjects, objects)
    for match in _DIRECTIVE.finditer(text):
        declared._directive([match.group(1).upper().lstrip("@"), *filter(None, match.group(2, 3))])
    forms = {f for term in subjects | objects for f in _forms(term, declared)}
    if not forms:
        return Located()
    needles = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
    starts = [0] + [m.end() for m in _BOUNDARY.finditer(text)]
    found, done, line, at = Located(), -1, 1, 0
    for hit in needles.finditer(text):
        index = bisect_right(starts, hit.start()) - 1
        if index <= done:
            continue
        done, start = index, starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        line += text.count("\n", at, start)
        at = start
        scanner = _Scanner(text[start:end], declared.base, subjects, objects)
        scanner.prefixes = declared.prefixes
        part = scanner.run(first_line=line)
        for term, number in part.subjects.items():
            found.subjects.setdefault(term, number)
        for pair, values in part.values.items():
            found.values.setdefault(pair, []).extend(values)
    return found


def _forms(term: str, declared: _Scanner) -> list[str]:
    """How *term* (a key) may be written: in full, relative to the base, as prefixed names."""
    if not term.startswith("<"):
        text = lexical(term) if term.startswith('"') else ""
        return [text] if len(text) > 2 else []
    iri = term[1:-1]
    forms = [term]
    if iri.startswith(declared.base):
        forms.append(f"<{iri[len(declared.base) :]}>")
    for prefix, namespace in declared.prefixes.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            forms.append(f"{prefix}:{iri[len(namespace) :]}")
    return forms


class _Scanner:
    def __init__(
        self,
        text: str,
        base: str,
        subjects: set[str],
        objects: frozenset[str],
        blanks: bool = False,
    ):
        self.text, self.base = text, base
        self.wanted, self.objects, self.blanks = subjects, objects, blanks
        self.prefixes: dict[str, str] = {}
        self.found = Located()
        self.anonymous = 0  # blank nodes written [ ... ] so far

    def run(self, first_line: int = 1) -> Located:
        line = first_line
        # frames: [subject, predicate, state]; state is "s" (subject), "p", "o" or "after"
        stack: list[list] = [[None, None, "s"]]
        directive: list[str] | None = None  # the tokens of a @prefix/PREFIX/@base/BASE
        for match in _TOKEN.finditer(self.text):
            kind, token = match.lastgroup, match.group()
            at = line
            if kind in ("ws", "lit"):
                line += token.count("\n") + token.count("\r") - token.count("\r\n")
            if kind in ("ws", "comment"):
                continue
            if kind == "name" and token.endswith(".") and len(token) > 1 and directive is None:
                # "ex:a." ends a statement; a number such as "1." is rare enough to misread
                self._term(stack, token[:-1], "name", at)
                self._dot(stack)
                continue
            if directive is not None:
                if token == "." or (len(directive) == 3 and directive[0].isupper()):
                    self._directive(directive)
                    directive = None
                    if token == ".":
                        continue
                else:
                    directive.append(token)
                    if directive[0].upper() == "BASE" and len(directive) == 2:
                        self._directive(directive)
                        directive = None
                    continue
            frame = stack[-1]
            if frame[2] == "s" and len(stack) == 1 and token.lower() in ("@prefix", "@base"):
                directive = [token.lower()]
            elif frame[2] == "s" and len(stack) == 1 and token.upper() in ("PREFIX", "BASE"):
                directive = [token.upper()]
            elif token == ".":
                self._dot(stack)
            elif token == ";":
                if frame[2] in ("after", "p"):
                    frame[2] = "p"
            elif token == ",":
                if frame[2] == "after":
                    frame[2] = "o"
            elif token in ("[", "("):
                self._open(stack, token, at)
            elif token in ("]", ")"):
                self._close(stack)
            else:
                self._term(stack, token, kind, at)
        return self.found

    def _dot(self, stack: list[list]) -> None:
        del stack[1:]  # a stray '.' inside brackets: start again at the top
        stack[0][:] = [None, None, "s"]

    def _open(self, stack: list[list], token: str, at: int) -> None:
        frame = stack[-1]
        node = "_:"  # a collection
        if token == "[":
            self.anonymous += 1
            node = f"_:#{self.anonymous}"
        if frame[2] == "o":
            self._triple(frame, node, at)
            self._blank(node, (frame[0], frame[1]), at)
            frame[2] = "after"
        elif frame[2] == "s":
            frame[0], frame[2] = node, "p"
            self._blank(node, None, at)
        # a blank node's property list starts with a predicate; a collection with objects
        stack.append([node, _RDF_TYPE if token == "(" else None, "p" if token == "[" else "o"])
        stack[-1].append(token)

    def _blank(self, node: str | None, parent: tuple | None, at: int) -> None:
        """Note the blank node *node* (with *blanks*): where it hangs, its first line."""
        if not self.blanks or node is None or node == "_:" or not node.startswith("_:"):
            return
        if parent is not None and (parent[0] is None or parent[1] is None):
            parent = None
        if self.found.blanks.get(node) is None:
            self.found.blanks[node] = parent
        self.found.subjects.setdefault(node, at)

    def _close(self, stack: list[list]) -> None:
        if len(stack) > 1:
            stack.pop()

    def _term(self, stack: list[list], token: str, kind: str | None, at: int) -> None:
        frame = stack[-1]
        term = self._key(token, kind)
        if len(frame) > 3 and frame[3] == "(":  # a member of a collection: not a triple kept
            return
        if frame[2] == "s":
            frame[0], frame[2] = term, "p"
            if term in self.wanted:
                self.found.subjects.setdefault(term, at)
            self._blank(term, None, at)
        elif frame[2] == "p":
            frame[1], frame[2] = (_RDF_TYPE if token == "a" else term), "o"
        elif frame[2] == "o":
            self._triple(frame, term, at)
            self._blank(term, (frame[0], frame[1]), at)
            frame[2] = "after"

    def _triple(self, frame: list, value: str | None, at: int) -> None:
        subject, predicate = frame[0], frame[1]
        if subject is None or predicate is None or value is None:
            return
        blank = self.blanks and subject.startswith("_:") and subject != "_:"
        if blank or subject in self.wanted or value in self.objects:
            self.found.values.setdefault((subject, predicate), []).append((value, at))

    def _directive(self, tokens: list[str]) -> None:
        if tokens[0] in ("@prefix", "PREFIX") and len(tokens) >= 3:
            iri = self._iri(tokens[2][1:-1]) if tokens[2].startswith("<") else None
            if iri and tokens[1].endswith(":"):
                self.prefixes[tokens[1][:-1]] = iri
        elif tokens[0] in ("@base", "BASE") and len(tokens) >= 2 and tokens[1].startswith("<"):
            self.base = self._iri(tokens[1][1:-1])

    def _iri(self, text: str) -> str:
        text = _unescape(text)
        return text if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text) else urljoin(self.base, text)

    def _key(self, token: str, kind: str | None) -> str | None:
        if kind == "iri":
            return f"<{self._iri(token[1:-1])}>"
        if kind == "lit":
            quote = 3 if token[:3] in ('"""', "'''") else 1
            end = token.rfind(token[:quote])
            text = _unescape(token[quote:end])
            suffix = _SUFFIX.match(token, end + quote)
            if suffix is None or not suffix.group(0):
                return _literal_key(text, None, None)
            if suffix.group(1):
                return _literal_key(text, suffix.group(1), None)
            dt = suffix.group(2)
            dt_key = self._key(dt, "iri" if dt.startswith("<") else "name")
            return _literal_key(text, None, dt_key[1:-1]) if dt_key else None
        if kind == "name":
            if token.startswith("_:"):  # a labelled blank node: its label in this file
                return token
            prefix, colon, local = token.partition(":")
            if colon and prefix in self.prefixes:
                return "<" + self.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local) + ">"
            if not colon:  # a number or a boolean: its text is its lexical form
                for pattern, name in _NUMBER:
                    if pattern.fullmatch(token):
                        return _literal_key(token, None, _XSD + name)
        return None


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, text)
