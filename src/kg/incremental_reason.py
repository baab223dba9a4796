"""The OWL RL closure brought up to date after an edit, without reading the whole graph.

:mod:`kg.reason_fast` infers from the whole asserted union at once. After an edit, this
module changes only the inferred triples that the changed triples can reach, by lookups in
the store on disk, and leaves the store's default graph (the closure) exactly as a full
build would write it: a differential test over random edits checks it against
:func:`kg.reason_fast.materialise`.

Why that is enough (the soundness argument). With the rules :func:`kg.reason_fast.compile_rules`
compiles (sub-properties, inverses and symmetric properties, two-step property chains,
domains, ranges, superclasses, owlrl's datatype rules and consistency checks), and when no
chain result feeds another chain (checked by :func:`check_rules`):

* a derived pair ``(x, q, z)`` comes from one asserted triple between x and z (sub-properties
  and inverses keep both ends) or from a chain of two asserted triples x—y—z;
* a derived type of x comes from x's asserted types or from a pair that has x at one end;
* a consistency message names one individual (its types clash) or one literal.

So a derived pair can change only if one of its derivations uses a changed triple: it is
then the image of the changed triple itself, or a chain through an end y of the changed
triple, whose other leg is found by lookups at y (in the old and the new store). Each such
candidate is decided afresh in the new store (is it derivable at all? is it asserted?), and
so are the types and messages of the candidates' ends. Everything else keeps its
derivations, so its status. An edit this cannot follow (a schema triple in the data, a term
of the ontology in a changed triple, an inconsistency about a literal, a hub too big to walk)
raises :class:`Unsupported`, and kg builds in full.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import zip_longest

import pyoxigraph as ox

from kg.reason_fast import _NOISE, ERR, TRIGGER_TYPES, TRIGGERS, Rules

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDF_TYPE = ox.NamedNode(_RDF + "type")
_DISJOINT = "http://www.w3.org/2002/07/owl#disjointWith"
_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"
_XSD = "http://www.w3.org/2001/XMLSchema#"
#: Candidates past which walking is slower than a full build.
LIMIT = 200_000
#: Triples of one node read at once; a node with more is read by lookups.
STAR = 2_000
Triple = tuple  # (subject, predicate, object) of pyoxigraph terms


class Unsupported(Exception):
    """The edit cannot be followed here; the message says why (one line)."""


class View:
    """The asserted union of one store (its source graphs and the ontology graph), read
    node by node: each node's triples are read once, up to :data:`STAR` of them (past
    that, a hub such as an organisation every membership names, by lookups)."""

    def __init__(self, store: ox.Store, graphs: Iterable[str]):
        self.store = store
        self.graphs = [ox.NamedNode(g) for g in graphs]
        self._out: dict = {}
        self._in: dict = {}

    def _star(self, cache: dict, node, outgoing: bool) -> dict | None:
        if node not in cache:
            found: dict = defaultdict(set)
            n = 0
            for g in self.graphs:
                pattern = (node, None, None, g) if outgoing else (None, None, node, g)
                for q in self.store.quads_for_pattern(*pattern):
                    found[q.predicate].add(q.object if outgoing else q.subject)
                    n += 1
                    if n > STAR:
                        found = None
                        break
                if found is None:
                    break
            cache[node] = found
        return cache[node]

    def objects(self, s, p) -> Iterable:
        if isinstance(s, ox.Literal):
            return ()
        star = self._star(self._out, s, True)
        if star is not None:
            return star.get(p, ())
        return _unique(q.object for g in self.graphs
                       for q in self.store.quads_for_pattern(s, p, None, g))  # fmt: skip

    def subjects(self, p, o) -> Iterable:
        star = self._star(self._in, o, False)
        if star is not None:
            return star.get(p, ())
        return _unique(q.subject for g in self.graphs
                       for q in self.store.quads_for_pattern(None, p, o, g))  # fmt: skip

    def has(self, s, p, o) -> bool:
        if isinstance(s, ox.Literal):
            return False
        star = self._star(self._out, s, True)
        if star is not None:
            return o in star.get(p, ())
        return any(any(self.store.quads_for_pattern(s, p, o, g)) for g in self.graphs)

    def mentions(self, term) -> bool:
        return any(any(self.store.quads_for_pattern(None, None, term, g)) for g in self.graphs)


def _unique(items: Iterable) -> Iterator:
    seen = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item


class Delta:
    """Follows one edit: *old* and *new* views of the asserted union, *closure* the store
    whose default graph holds the old closure and is to hold the new one."""

    def __init__(self, rules: Rules, old: View, new: View, closure: ox.Store):
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        check_rules(rules)
        self.rules, self.old, self.new, self.closure = rules, old, new, closure
        node = ox.NamedNode
        self.sup = {node(p): [node(q) for q in qs] for p, qs in rules.superproperties.items()}
        self.inv = defaultdict(list, {node(p): [node(q) for q in qs]
                                      for p, qs in rules.inverses.items()})  # fmt: skip
        self.chains = []
        for result, *comps in rules.chains:
            legs = [(node(c.lstrip("^")), c.startswith("^")) for c in comps]
            if len(legs) == 1:
                (self.inv if legs[0][1] else self.sup).setdefault(legs[0][0], []).append(
                    node(result)
                )
                continue
            (a, ra), (b, rb) = legs
            self.chains.append((node(result), a, ra, b, rb))
        self._out: dict = {}
        self.back: dict = defaultdict(set)  # q -> {(p, flipped)}: p's pairs give q's
        props = {*self.sup, *self.inv, *(c[0] for c in self.chains)}
        props |= {q for t in (self.sup, self.inv) for qs in t.values() for q in qs}
        props |= {c[k] for c in self.chains for k in (1, 3)}
        for p in props:
            for q, f in self.out(p):
                self.back[q].add((p, f))
        self.domains = {node(p): [node(c) for c in cs] for p, cs in rules.domains.items()}
        self.ranges = {node(p): [node(c) for c in cs] for p, cs in rules.ranges.items()}
        self.supers = {node(c): [node(d) for d in ds] for c, ds in rules.superclasses.items()}
        self.groups = [[node(c) for c in g] for g in rules.disjoint]
        self.noise = {node(c) for c in _NOISE}
        self.known = {str(d) for d in OWL_RL_Datatypes}
        subsumed = OWL_Datatype_Subsumptions.items()
        self.dt_supers = {str(k): [str(v) for v in vs] for k, vs in subsumed}
        self.implicit = self.known - {_XSD + "string", _RDF + "langString"}
        self.dt_pairs = [(str(a), str(b)) for a, _, b in OWLRL_Datatypes_Disjointness]
        components = {c[k] for c in self.chains for k in (1, 3)}
        for r, *_ in self.chains:
            if any(q in components for q, _ in self.out(r)):
                raise Unsupported("a property chain feeds another chain")
        self.added: set[Triple] = set()
        self.removed: set[Triple] = set()

    # -- the rules at the level of properties --------------------------------------------

    def out(self, p) -> set:
        """(q, flipped): a pair (s, o) of p gives (s, o) of q, or (o, s) when flipped."""
        if p not in self._out:
            seen, todo = {(p, False)}, [(p, False)]
            while todo:
                q, f = todo.pop()
                for step, flip in ((self.sup.get(q, ()), False), (self.inv.get(q, ()), True)):
                    for r in step:
                        if (r, f != flip) not in seen:
                            seen.add((r, f != flip))
                            todo.append((r, f != flip))
            self._out[p] = seen
        return self._out[p]

    def _from(self, view: View, u, a, flipped: bool = False) -> Iterator:
        """The y with (u, y) a pair of component a (without chains); (y, u) if flipped."""
        for p, f in self.back.get(a, {(a, False)}) | {(a, False)}:
            if f == flipped:
                yield from view.objects(u, p)
            else:
                yield from view.subjects(p, u)

    def leg_from(self, view: View, x, a, ra: bool) -> Iterator:
        """The y with x -> y a step of the chain component a (reversed when ra)."""
        return self._from(view, x, a, ra)

    def leg_to(self, view: View, y, a, ra: bool) -> Iterator:
        """The x with x -> y a step of the chain component a (reversed when ra)."""
        return self._from(view, y, a, not ra)

    def direct(self, view: View, x, q, z) -> bool:
        for p, f in self.back.get(q, set()) | {(q, False)}:
            if view.has(*((z, p, x) if f else (x, p, z))):
                return True
        return False

    def derivable(self, view: View, x, q, z) -> bool:
        if self.direct(view, x, q, z):
            return True
        for r, a, ra, b, rb in self.chains:
            for q2, f in self.out(r):
                if q2 != q:
                    continue
                u, w = (z, x) if f else (x, z)
                left, right = self.leg_from(view, u, a, ra), self.leg_to(view, w, b, rb)
                for y1, y2 in zip_longest(left, right):
                    if y1 is not None and self.direct(view, *_leg(y1, b, rb, w)):
                        return True
                    if y2 is not None and self.direct(view, *_leg(u, a, ra, y2)):
                        return True
                    if y1 is None or y2 is None:  # one side is all seen: no middle left
                        break
        return False

    def exists(self, view: View, x, q, as_subject: bool) -> bool:
        """Has x any pair of q, as its subject (or object)?"""
        for p, f in self.back.get(q, set()) | {(q, False)}:
            if as_subject != f:
                if next(iter(view.objects(x, p)), None) is not None:
                    return True
            elif next(iter(view.subjects(p, x)), None) is not None:
                return True
        for r, a, ra, b, rb in self.chains:
            for q2, f in self.out(r):
                if q2 != q:
                    continue
                if as_subject != f:  # x starts an r pair: x -a- y -b- ?
                    for y in self.leg_from(view, x, a, ra):
                        if next(self.leg_from(view, y, b, rb), None) is not None:
                            return True
                else:  # x ends an r pair: ? -a- y -b- x
                    for y in self.leg_to(view, x, b, rb):
                        if next(self.leg_to(view, y, a, ra), None) is not None:
                            return True
        return False

    # -- following an edit ---------------------------------------------------------------

    def apply(self, changed: Iterable[Triple]) -> tuple[int, int]:
        """Bring the closure up to date for *changed* (triples added to or removed from the
        asserted union); return (triples added to, removed from the closure)."""
        pairs: set[Triple] = set()
        typed: set = set()
        literals: set = set()
        for s, p, o in changed:
            if p.value in TRIGGERS or (p == _RDF_TYPE and o.value in TRIGGER_TYPES):
                raise Unsupported(f"a changed triple states schema ({p.value})")
            if p == _RDF_TYPE:
                if isinstance(o, ox.NamedNode) and o.value in self.known:
                    raise Unsupported("a changed triple types a node with a datatype")
                typed.add(s)
                continue
            if isinstance(o, ox.Literal):
                literals.add(o)
            self._candidates(s, p, o, pairs)
            if len(pairs) > LIMIT:
                raise Unsupported("the edit reaches too many inferences to follow")
        ends = typed | {t for s, _, o in pairs for t in (s, o)}
        ends |= {s for s, _, _ in changed if not isinstance(s, ox.Literal)}
        for x, q, z in pairs:
            if isinstance(x, ox.Literal) or self.new.has(x, q, z):
                self._set((x, q, z), False)
            else:
                self._set((x, q, z), self.derivable(self.new, x, q, z))
        messages_old, messages_new = set(), set()
        for x in ends:
            if isinstance(x, ox.Literal):
                literals.add(x)
                continue
            new_types = self._types(self.new, x)
            asserted = set(self.new.objects(x, _RDF_TYPE))
            for c in new_types - asserted - self.noise:
                self._set((x, _RDF_TYPE, c), True)
            for q in self.closure.quads_for_pattern(x, _RDF_TYPE, None, ox.DefaultGraph()):
                if q.object not in new_types or q.object in asserted:
                    self._set((x, _RDF_TYPE, q.object), False)
            messages_new |= self._clashes(x, new_types | asserted)
            old = self._types(self.old, x) | set(self.old.objects(x, _RDF_TYPE))
            messages_old |= self._clashes(x, old)
        self._literals(literals, messages_old, messages_new)
        self._messages(messages_old, messages_new)
        return self._write()

    def _candidates(self, s, p, o, pairs: set) -> None:
        for q, f in self.out(p):
            pairs.add((o, q, s) if f else (s, q, o))
        for r, a, ra, b, rb in self.chains:
            for comp, flip in self.out(p):
                pair = (o, s) if flip else (s, o)
                if comp == a:
                    x, y = pair[::-1] if ra else pair
                    for view in (self.old, self.new):
                        for z in self.leg_from(view, y, b, rb):
                            self._chain(r, x, z, pairs)
                if comp == b:
                    y, z = pair[::-1] if rb else pair
                    for view in (self.old, self.new):
                        for x in self.leg_to(view, y, a, ra):
                            self._chain(r, x, z, pairs)

    def _chain(self, r, x, z, pairs: set) -> None:
        for q, f in self.out(r):
            pairs.add((z, q, x) if f else (x, q, z))

    def _types(self, view: View, x) -> set:
        """The derived types of x in *view* (superclasses, domains, ranges)."""
        types = set()
        for c in view.objects(x, _RDF_TYPE):
            types.update(self.supers.get(c, ()))
        for table, as_subject in ((self.domains, True), (self.ranges, False)):
            for q, classes in table.items():
                if not types.issuperset(classes) and self.exists(view, x, q, as_subject):
                    types.update(classes)
        return types

    def _clashes(self, x, types: set) -> set[str]:
        """owlrl's consistency messages about x (see reason_fast._Facts._checks); two
        datatypes owlrl holds disjoint are not followed (whether it says so depends on the
        datatypes the whole graph uses)."""
        found = set()
        for group in self.groups:
            for k, c1 in enumerate(group[:-1]):
                for c2 in group[k + 1 :]:
                    if c1 in types and c2 in types:
                        found.add(
                            f"Disjoint classes {c1.value} and {c2.value} have a common "
                            f"individual {x.value}"
                        )
        if ox.NamedNode(_NOTHING) in types:
            found.add(f"{x.value} is defined of type 'Nothing'")
        names = {t.value for t in types}
        if any(a in names and b in names for a, b in self.dt_pairs):
            raise Unsupported("a node has two datatypes owlrl holds disjoint")
        return found

    def _literals(self, literals: set, old: set, new: set) -> None:
        """Lexical-form messages of the changed literals; a change in the datatypes the
        graph uses (owlrl's disjointness axioms between them) is not followed."""
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from rdflib import URIRef

        for lit in literals:
            dt = lit.datatype.value
            implicit = not lit.language and dt in self.implicit
            family = {dt, *self.dt_supers.get(dt, ())} if implicit else set()
            for view in (self.old, self.new):  # a range may type a literal: owlrl checks it
                types = {ox.NamedNode(d) for d in family}
                for c in list(types):
                    types.update(self.supers.get(c, ()))
                for q, classes in self.ranges.items():
                    if self.exists(view, lit, q, False):
                        types.update(classes)
                if self._clashes(lit, types):
                    raise Unsupported("an inconsistency about a literal")
            if not implicit:
                continue
            was, now = self.old.mentions(lit), self.new.mentions(lit)
            if was != now:
                for d in family:  # present in one state: used there; was it in the other?
                    if not (self._used(self.new, d) if was else self._used(self.old, d)):
                        raise Unsupported("the datatypes the graph uses changed")
            try:
                AltXSDToPYTHON.get(URIRef(dt), str)(lit.value)
            except ValueError:
                text = (
                    f"Lexical value of the literal '{lit.value}' does not match its datatype ({dt})"
                )
                if was:
                    old.add(text)
                if now:
                    new.add(text)

    def _used(self, view: View, d: str) -> bool:
        """Does a literal of the union have d among its datatype and supertypes? (An ASK
        that stops at the first one: a full scan only when none is left.)"""
        subs = sorted(t for t in self.implicit if d == t or d in self.dt_supers.get(t, ()))
        if not subs:
            return False
        listed = ", ".join(f"<{t}>" for t in subs)  # datatype IRIs of owlrl's own list
        query = (
            'ASK { GRAPH ?g { ?s ?p ?o } FILTER(isLiteral(?o) && lang(?o) = "" && '
            f"datatype(?o) IN ({listed})) }}"
        )
        return bool(view.store.query(query, named_graphs=view.graphs))

    def _messages(self, old: set[str], new: set[str]) -> None:
        """owlrl's messages, one blank node each: those gone removed, those new added."""
        error = ox.NamedNode(ERR + "error")
        kind = ox.NamedNode(ERR + "ErrorMessage")
        tbox, graph = set(self.rules.tbox_errors), ox.DefaultGraph()
        for text in old - new - tbox:
            for q in self.closure.quads_for_pattern(None, error, ox.Literal(text), graph):
                self._set((q.subject, error, q.object), False)
                self._set((q.subject, _RDF_TYPE, kind), False)
        for text in new - old:
            if not any(self.closure.quads_for_pattern(None, error, ox.Literal(text), graph)):
                node = ox.BlankNode()
                self._set((node, _RDF_TYPE, kind), True)
                self._set((node, error, ox.Literal(text)), True)

    def _set(self, triple: Triple, present: bool) -> None:
        (self.added if present else self.removed).add(triple)
        (self.removed if present else self.added).discard(triple)

    def _write(self) -> tuple[int, int]:
        graph = ox.DefaultGraph()
        add = [ox.Quad(*t, graph) for t in self.added]
        gone = [ox.Quad(*t, graph) for t in self.removed]
        add = [q for q in add if q not in self.closure]
        gone = [q for q in gone if q in self.closure]
        for q in gone:
            self.closure.remove(q)
        self.closure.extend(add)
        return len(add), len(gone)


def _leg(x, a, ra: bool, y) -> tuple:
    """The pair of component a that the oriented leg x -> y stands for."""
    return (y, a, x) if ra else (x, a, y)


def check_rules(rules: Rules) -> None:
    """Refuse rules this module cannot follow: owlrl's fallback, internal properties."""
    if rules.unsupported:
        raise Unsupported("the ontology needs owlrl")
    terms = [*rules.superproperties, *rules.inverses]
    terms += [c for chain in rules.chains for c in chain]
    terms += [q for t in (rules.superproperties, rules.inverses) for v in t.values() for q in v]
    if any(t.lstrip("^").startswith("_:") for t in terms):
        raise Unsupported("the ontology's rules use blank-node properties")
    if any(len(chain) > 3 for chain in rules.chains):
        raise Unsupported("a property chain of more than two steps")
