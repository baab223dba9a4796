"""kg's own Turtle writer: readable, and linear in the size of the graph at any depth.

rdflib's Turtle serializer recurses once per level of blank-node nesting and dies of a
RecursionError around 330 levels; kg writes Turtle itself, with an explicit stack: only
the prefixes used, one block per subject (``a`` and ``rdfs:label`` first), blank nodes
that one triple points at written in place as ``[ ... ]`` up to :data:`TURTLE_MAX_DEPTH`
levels (deeper ones get a label and a block of their own, since Turtle parsers recurse
too), well-formed lists as ``( ... )``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from kg.namespaces import PREFIXES

TURTLE_MAX_DEPTH = 32
Triple = tuple[Node, Node, Node]


def to_turtle(graph: Iterable[Triple], *, max_depth: int = TURTLE_MAX_DEPTH) -> str:
    """*graph* as Turtle: the prefixes it uses, one block per subject, blank nodes that one
    triple points at written in place (``[ ... ]``, lists as ``( ... )``).

    kg's own writer rather than rdflib's, which recurses once per level of blank-node
    nesting and stops with RecursionError from about 330 levels. This one keeps its place
    on an explicit stack and runs in time linear in the size of the graph; a blank node
    deeper than *max_depth* levels gets a label and a block of its own, so that readers
    that recurse (rdflib's parser among them) can read the result back.
    """
    return _TurtleWriter(graph, max_depth).write()


_INDENT = "    "
_PN_LOCAL = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?")
_STRING_ESCAPES = re.compile(r'[\\"\x00-\x1f\x7f]')
_LONG_STRING_ESCAPES = re.compile(r'[\\"\x00-\x09\x0b-\x1f\x7f]')  # all but line feeds
_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
#: Literals Turtle writes bare, with the lexical forms its grammar accepts for them.
_BARE = {
    PREFIXES["xsd"] + "integer": re.compile(r"[+-]?[0-9]+"),
    PREFIXES["xsd"] + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    PREFIXES["xsd"] + "double": re.compile(
        r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"
    ),
    PREFIXES["xsd"] + "boolean": re.compile(r"true|false"),
}
#: Predicates written first, in this order; the others follow by IRI.
_FIRST_PREDICATES = (RDF.type, URIRef(PREFIXES["rdfs"] + "label"))

#: What the writer's stack holds: text to append, or a generator of more of the same.
_Piece = str | Iterator[Any]


class _TurtleWriter:
    """One Turtle document for one graph; see :func:`to_turtle`.

    The generators below produce text and, where a blank node is written in place, the
    generator for it; :meth:`_block` runs them on an explicit stack instead of the call
    stack, which is what lets nesting go as deep as the data does.
    """

    def __init__(self, graph: Iterable[Triple], max_depth: int):
        self.max_depth = max_depth
        self.props: dict[Node, dict[Node, list[Node]]] = {}
        self.refs: Counter[Node] = Counter()
        for s, p, o in graph:
            self.props.setdefault(s, {}).setdefault(p, []).append(o)
            if isinstance(o, BNode):
                self.refs[o] += 1
        self.namespaces = sorted(
            ((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda item: -len(item[0])
        )
        self.used: set[str] = set()
        self.names: dict[Node, tuple[str, str | None]] = {}
        self.blanks = 0  # labels given so far
        self.written: set[Node] = set()  # blank nodes written, or queued to be, somewhere
        self.queued: list[Node] = []  # blank nodes too deep to nest: blocks of their own
        self.lists: dict[Node, bool] = {}

    def write(self) -> str:
        uris = sorted((s for s in self.props if not isinstance(s, BNode)), key=self._term)
        blanks = sorted((s for s in self.props if isinstance(s, BNode)), key=str)
        # blank nodes nobody points at ([] ...), then those pointed at more than once
        # (labelled); those pointed at once are written in place, except in a cycle of
        # such nodes, where the first one left over is labelled
        roots = [
            *uris,
            *(b for b in blanks if self.refs[b] == 0),
            *(b for b in blanks if self.refs[b] > 1),
            *(b for b in blanks if self.refs[b] == 1),
        ]
        blocks: list[str] = []
        for subject in roots:
            if subject in self.written:
                continue
            self.written.add(subject)
            blocks.append(self._block(subject))
            while self.queued:
                blocks.append(self._block(self.queued.pop(0)))
        head = "".join(f"@prefix {p}: <{PREFIXES[p]}> .\n" for p in sorted(self.used))
        return head + "\n" + "\n".join(blocks) if head else "\n".join(blocks)

    def _block(self, subject: Node) -> str:
        """The statement of one subject, nested blank nodes included, without recursion."""
        if isinstance(subject, BNode) and self.refs[subject] == 0:
            text = ["[]"]
        else:
            text = [self._term(subject)]
        stack: list[Iterator[Any]] = [self._predicates(subject, 0, 1, " ")]
        while stack:
            piece = next(stack[-1], None)
            if piece is None:
                stack.pop()
            elif isinstance(piece, str):
                text.append(piece)
            else:
                stack.append(piece)
        text.append(" .\n")
        return "".join(text)

    def _predicates(self, subject: Node, depth: int, level: int, lead: str) -> Iterator[_Piece]:
        """The predicate-object list of *subject*, nested *depth* levels deep, one
        predicate a line indented *level* times (the first follows *lead*)."""
        po = self.props[subject]
        first = [p for p in _FIRST_PREDICATES if p in po]
        rest = sorted(p for p in po if p not in _FIRST_PREDICATES)
        for i, p in enumerate([*first, *rest]):
            yield lead if i == 0 else " ;\n" + _INDENT * level
            yield "a" if p == RDF.type else self._term(p)
            for j, o in enumerate(sorted(po[p], key=_object_order)):
                if j == 0:
                    yield " "
                    yield self._object(o, depth, level)
                else:
                    yield ",\n" + _INDENT * (level + 1)
                    yield self._object(o, depth, level + 1)

    def _object(self, node: Node, depth: int, level: int) -> _Piece:
        """*node* as the object of a subject nested *depth* levels deep, on a line indented
        *level* times: a term, or the generator of a blank node written in place."""
        if not isinstance(node, BNode):
            return "()" if node == RDF.nil else self._term(node)
        if self.refs[node] != 1 or node in self.written:
            return self._term(node)
        self.written.add(node)
        if node not in self.props:
            return "[]"
        if depth >= self.max_depth:
            self.queued.append(node)
            return self._term(node)
        if self._is_list(node):
            return self._list(node, depth + 1, level)
        return self._nested(node, depth + 1, level)

    def _nested(self, node: Node, depth: int, level: int) -> Iterator[_Piece]:
        if sum(map(len, self.props[node].values())) == 1:  # [ p o ] on one line
            yield "[ "
            yield self._predicates(node, depth, level, "")
            yield " ]"
        else:
            yield "[\n" + _INDENT * (level + 1)
            yield self._predicates(node, depth, level + 1, "")
            yield "\n" + _INDENT * level + "]"

    def _list(self, node: Node, depth: int, level: int) -> Iterator[_Piece]:
        yield "("
        while node != RDF.nil:
            self.written.add(node)
            yield " "
            yield self._object(self.props[node][RDF.first][0], depth, level)
            node = self.props[node][RDF.rest][0]
        yield " )"

    def _is_list(self, node: Node) -> bool:
        """Whether *node* heads a well-formed RDF list that ( ... ) can stand for: every
        cell a blank node pointed at once, with one rdf:first, one rdf:rest and nothing
        else, ending in rdf:nil. Answers are remembered for every cell walked, so all the
        questions together take time linear in the lists' lengths."""
        walked: list[Node] = []
        answer = True
        while node != RDF.nil:
            if node in self.lists:
                answer = self.lists[node]
                break
            po = self.props.get(node, {})
            if (
                not isinstance(node, BNode)
                or self.refs[node] != 1
                or po.keys() != {RDF.first, RDF.rest}
                or len(po[RDF.first]) != 1
                or len(po[RDF.rest]) != 1
            ):
                answer = False
                break
            self.lists[node] = False  # until proven: a cycle back to here is not a list
            walked.append(node)
            node = po[RDF.rest][0]
        for cell in walked:
            self.lists[cell] = answer
        return answer

    def _term(self, node: Node) -> str:
        """How *node* is written (a prefixed name where one is safe, else in full), noting
        the prefix used so that only those are declared."""
        if node not in self.names:
            self.names[node] = self._name(node)
        text, prefix = self.names[node]
        if prefix:
            self.used.add(prefix)
        return text

    def _name(self, node: Node) -> tuple[str, str | None]:
        if isinstance(node, BNode):
            self.blanks += 1
            return f"_:b{self.blanks}", None
        if isinstance(node, Literal):
            return self._literal(node), None
        iri = str(node)
        for ns, prefix in self.namespaces:
            if iri.startswith(ns) and _PN_LOCAL.fullmatch(iri[len(ns) :]):
                return f"{prefix}:{iri[len(ns) :]}", prefix
        return f"<{iri}>", None

    def _literal(self, lit: Literal) -> str:
        lexical = str(lit)
        if lit.language:
            return f"{_quoted(lexical)}@{lit.language}"
        datatype = str(lit.datatype) if lit.datatype else None
        if datatype is None or datatype == PREFIXES["xsd"] + "string":
            return _quoted(lexical)
        bare = _BARE.get(datatype)
        if bare is not None and bare.fullmatch(lexical):
            return lexical
        return f"{_quoted(lexical)}^^{self._term(URIRef(datatype))}"


def _quoted(text: str) -> str:
    """*text* as a Turtle string: quotes, backslashes and control characters escaped,
    everything else (all of Unicode) as it is. Text of several lines goes between triple
    quotes with its line breaks kept, which reads better than ``\\n``."""
    if "\n" in text:
        return '"""' + _LONG_STRING_ESCAPES.sub(_escape, text) + '"""'
    return '"' + _STRING_ESCAPES.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    return _ECHAR.get(char) or f"\\u{ord(char):04X}"


def _object_order(node: Node) -> tuple[int, str, str]:
    """Objects of one predicate: IRIs, then literals, then blank nodes; never raises, as
    comparing literals of different types can."""
    if isinstance(node, Literal):
        return 1, str(node), f"{node.language or ''}^^{node.datatype or ''}"
    return (2 if isinstance(node, BNode) else 0), str(node), ""
