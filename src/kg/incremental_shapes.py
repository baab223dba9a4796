"""Which focus nodes an edit can affect, read off the shapes: validation after an edit
re-checks those only, on a small store that holds everything they read.

Why that is enough (the soundness argument). Every construct accepted here reads, for a
focus node F, only triples met on *walks* from F: a walk is a list of steps, each a
predicate followed forwards or backwards (a property path; ``rdf:type`` of a value for
``sh:class``, then ``rdfs:subClassOf`` in the ontology, which an edit does not touch; the
other predicate of ``sh:equals`` and its kin; any predicate of F for ``sh:closed``; the
triple patterns of an ``sh:sparql`` query, each linked to ``$this`` through variables).
A changed triple can change F's results only if it lies on one of F's walks, so walking the
steps backwards from each changed triple, in the old and the new graph, finds every such F
(:func:`affected`). F's results are then computed on a store holding, for each node on its
walks, that node's triples and the triples a backward step reads (:func:`region`): the
same triples the whole graph gives them, so the same results. kg's own per-file checks read
a focus node's own triples, which the region holds. What the report says of a result (its
files and lines, labels, names of blank nodes) depends on where its focus node and values
are written, so every node a changed file states is re-checked too.

Anything else (paths with ``*`` or ``+``, ``sh:qualifiedValueShapesDisjoint``, SPARQL with
GRAPH, SERVICE, sub-queries, property paths or patterns not linked to ``$this``, any SHACL
term not listed here) raises :class:`~kg.incremental_reason.Unsupported`: kg validates in full.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import SH

from kg.incremental_reason import LIMIT, Unsupported, View

Step = tuple[str | None, bool]  # (predicate IRI or None for any, backwards?)
Walk = tuple[Step, ...]
_TYPE: Step = (str(RDF.type), False)
#: Parameters that read nothing but the value node (or the values' count).
_NAMES = """datatype nodeKind minCount maxCount minLength maxLength pattern flags languageIn
uniqueLang in hasValue minInclusive maxInclusive minExclusive maxExclusive message severity
name description order group deactivated defaultValue ignoredProperties targetClass
targetNode targetSubjectsOf targetObjectsOf path qualifiedMinCount qualifiedMaxCount
prefixes declare"""
_LOCAL = {SH[n] for n in _NAMES.split()}
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_DEPTH = 8


def shape_walks(shapes: Graph) -> set[Walk]:
    """Every walk a shape with a target reads from its focus nodes (targets included)."""
    walks: set[Walk] = set()
    classes = set(shapes.subjects(RDF.type, RDFS.Class))
    for shape in set(shapes.subjects()):
        targeted = any((shape, t, None) in shapes for t in _TARGETS) or shape in classes
        if not targeted:
            continue
        if (shape, SH.targetClass, None) in shapes or shape in classes:
            walks.add((_TYPE,))
        walks |= {((str(p), False),) for p in shapes.objects(shape, SH.targetSubjectsOf)}
        walks |= {((str(p), True),) for p in shapes.objects(shape, SH.targetObjectsOf)}
        walks |= _node_walks(shapes, shape, ())
        if (shape, SH.path, None) in shapes:  # a property shape with its own target
            walks |= _property_walks(shapes, shape, ())
    return walks


def _node_walks(g: Graph, shape, stack: tuple) -> set[Walk]:
    """The walks of *shape*'s constraints on one node."""
    if shape in stack or len(stack) > _DEPTH:
        raise Unsupported("shapes that refer to themselves")
    stack = (*stack, shape)
    walks: set[Walk] = set()
    for p, o in g.predicate_objects(shape):
        if p in _LOCAL or p in (SH.path, SH.closed) or not str(p).startswith(str(SH)):
            if p == SH.closed and o == Literal(True):
                walks.add(((None, False),))
            continue
        if p == SH.property:
            walks |= _property_walks(g, o, stack)
        elif p == SH["class"]:
            walks.add((_TYPE,))
        elif p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
            walks.add(((str(o), False),))
        elif p in (SH.node, SH["not"], SH.qualifiedValueShape):
            walks |= _node_walks(g, o, stack)
        elif p in (SH["and"], SH["or"], SH.xone):
            for member in Collection(g, o):
                walks |= _node_walks(g, member, stack)
        elif p == SH.qualifiedValueShapesDisjoint:
            if o == Literal(True):
                raise Unsupported("sh:qualifiedValueShapesDisjoint")
        elif p == SH.sparql:
            walks |= sparql_walks(g, o)
        else:
            raise Unsupported(f"sh:{str(p)[len(str(SH)) :]}")
    return walks


def _property_walks(g: Graph, shape, stack: tuple) -> set[Walk]:
    """The walks of a property shape: its path, then its value constraints from there;
    sh:equals and its kin read the focus node, not the values."""
    out: set[Walk] = set()
    local = _node_walks(g, shape, stack)
    beside = {
        ((str(o), False),)
        for p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals)
        for o in g.objects(shape, p)
    }
    for path in _paths(g, g.value(shape, SH.path)):
        out.add(path)
        out |= {path + w for w in local - beside}
    return out | beside


def _paths(g: Graph, path) -> list[Walk]:
    if isinstance(path, URIRef):
        return [((str(path), False),)]
    if path is None or isinstance(path, Literal):
        raise Unsupported("a property shape without a path")
    inverse = g.value(path, SH.inversePath)
    if isinstance(inverse, URIRef):
        return [((str(inverse), True),)]
    alternative = g.value(path, SH.alternativePath)
    if alternative is not None:
        return [w for member in Collection(g, alternative) for w in _paths(g, member)]
    if (path, RDF.first, None) in g:
        walks: list[Walk] = [()]
        for member in Collection(g, path):
            walks = [w + v for w in walks for v in _paths(g, member)]
        return walks
    raise Unsupported("a property path with *, + or ?")


def sparql_walks(g: Graph, constraint) -> set[Walk]:
    """The walks of an sh:sparql SELECT: every path through its triple patterns from
    ``$this``, a pattern used once per walk, stopping at constants."""
    from rdflib.plugins.sparql import prepareQuery

    from kg.shacl_sparql import declared_prefixes

    if set(g.predicates(constraint)) - {RDF.type, SH.select, SH.message, SH.prefixes,
                                        SH.deactivated, SH.severity}:  # fmt: skip
        raise Unsupported("an sh:sparql constraint with more than a SELECT")
    try:
        prefixes = declared_prefixes(g, constraint, "")
        query = prepareQuery(str(g.value(constraint, SH.select)), initNs=prefixes)
    except Exception:  # the engines report a query that does not parse
        raise Unsupported("an sh:sparql query rdflib cannot read") from None
    patterns: list[tuple] = []
    _patterns(query.algebra, patterns, top=True)
    return _pattern_walks(patterns)


def _pattern_walks(patterns: list[tuple]) -> set[Walk]:
    """Each pattern read from the end nearer ``$this`` (a solution binds that end to a
    node reached from the focus node along the shortest walks there, without the pattern
    itself), so a join back to the focus node (``$this kg:member ?x ; kg:organisation
    ?x``) reads no other node's triples."""
    this = Variable("this")
    depth = {this: 0}
    frontier = [this]
    while frontier:  # breadth first over the patterns; a constant ends a walk
        nxt = []
        for node in frontier:
            for s, _, o in patterns:
                for here, there in ((s, o), (o, s)):
                    if here == node and there not in depth:
                        depth[there] = depth[node] + 1
                        if isinstance(there, Variable | BNode):
                            nxt.append(there)
        frontier = nxt
    reach: dict = {this: {()}}

    def walks_to(node) -> set[Walk]:
        if node not in reach:
            reach[node] = {
                (*w, (str(p) if isinstance(p, URIRef) else None, back))
                for s, p, o in patterns
                for here, there, back in ((s, o, False), (o, s, True))
                if there == node and isinstance(here, Variable | BNode)
                and depth.get(here) == depth[node] - 1
                for w in walks_to(here)
            }  # fmt: skip
        return reach[node]

    walks: set[Walk] = set()
    for s, p, o in patterns:
        ends = [(depth[n], k, n) for k, n in enumerate((s, o))
                if isinstance(n, Variable | BNode) and n in depth]  # fmt: skip
        if not ends:
            raise Unsupported("an sh:sparql pattern not linked to $this")
        _, backwards, near = min(ends)
        step = ((str(p) if isinstance(p, URIRef) else None, bool(backwards)),)
        walks |= {w + step for w in walks_to(near)}
    if not patterns:
        raise Unsupported("an sh:sparql query without triple patterns")
    return walks


_REFUSED = {"ServiceGraphPattern", "Graph", "GraphGraphPattern", "SubSelect"}


def _patterns(node: object, found: list, top: bool = False) -> None:
    name = getattr(node, "name", None)
    if name in _REFUSED or (name == "SelectQuery" and not top):
        raise Unsupported("an sh:sparql query with GRAPH, SERVICE or a sub-query")
    if isinstance(node, dict):
        # not node.get: rdflib's CompValue.get gives the key itself for a missing key
        for entry in (node["triples"] if "triples" in node else None) or []:  # noqa: SIM401
            # the algebra's BGPs hold triples; a NOT EXISTS keeps the parser's flat lists
            flat = list(entry)
            if len(flat) % 3:
                raise Unsupported("an sh:sparql query kg cannot read")
            for k in range(0, len(flat), 3):
                _pattern(*flat[k : k + 3], found)
        for key, value in node.items():
            if key != "triples":
                _patterns(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _patterns(value, found)


def _pattern(s, p, o, found: list) -> None:
    if not isinstance(p, URIRef | Variable) or isinstance(s, Literal):
        raise Unsupported("an sh:sparql query with a property path")
    found.append((s, p, o))


# -- the nodes an edit affects, and what they read ----------------------------------------


def affected(walks: set[Walk], changed: Iterable[tuple], views: list[View]) -> set:
    """The focus nodes whose walks meet a changed triple, in any of *views*."""
    found: set = set()
    prefixes: dict = {}
    for walk in walks:
        for k, (pred, backwards) in enumerate(walk):
            prefixes.setdefault((pred, backwards), set()).add(walk[:k])
    for s, p, o in changed:
        for (pred, backwards), heads in prefixes.items():
            if pred is not None and pred != p.value:
                continue
            start = o if backwards else s
            for head in heads:
                for view in views:
                    found |= _back(view, head, {start})
                if len(found) > LIMIT:
                    raise Unsupported("the edit reaches too many focus nodes")
    return found


def _back(view: View, head: Walk, nodes: set) -> set:
    """The nodes from which *head* leads to one of *nodes*."""
    for pred, backwards in reversed(head):
        if pred is None:
            raise Unsupported("a walk through any predicate")
        p = ox.NamedNode(pred)
        nodes = {
            n
            for node in nodes
            for n in (view.objects(node, p) if backwards else view.subjects(p, node))
        }
    return nodes


def region(view: View, walks: set[Walk], focus: Iterable) -> set[ox.Quad]:
    """The quads the checks of *focus* read: each node on their walks with its own
    triples, the triples a backward step reads, and the parents of blank nodes (where
    they hang, for the report)."""
    store, graphs = view.store, view.graphs
    steps: dict[Walk, set[Step]] = {}  # walk prefix -> the steps that go on from it
    for walk in walks:
        for k in range(len(walk)):
            steps.setdefault(walk[:k], set()).add(walk[k])
    quads: set[ox.Quad] = set()
    stars: dict = {}

    def own(node) -> list[ox.Quad]:
        if node not in stars:
            stars[node] = []
            if not isinstance(node, ox.Literal):
                for g in graphs:
                    stars[node] += store.quads_for_pattern(node, None, None, g)
                quads.update(stars[node])
        return stars[node]

    seen: set = set()
    frontier = [(start, ()) for start in focus]
    while frontier:
        node, path = frontier.pop()
        if (node, path) in seen:
            continue
        seen.add((node, path))
        for pred, backwards in steps.get(path, ()):
            if backwards:
                p = ox.NamedNode(pred) if pred is not None else None
                hits = [q for g in graphs for q in store.quads_for_pattern(None, p, node, g)]
                quads.update(hits)
                ends = [q.subject for q in hits]
            else:
                ends = [q.object for q in own(node) if pred is None or q.predicate.value == pred]
            for end in ends:
                own(end)
                frontier.append((end, (*path, (pred, backwards))))
        own(node)
        if len(quads) > 20 * LIMIT:
            raise Unsupported("the checks of the edit read too much of the graph")
    parents = [t for q in quads for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)]
    done: set = set()
    for _ in range(_DEPTH + 1):  # where blank nodes hang, as the report names them
        nxt = []
        for node in parents:
            if node in done:
                continue
            done.add(node)
            for g in graphs:
                for q in store.quads_for_pattern(None, None, node, g):
                    quads.add(q)
                    if isinstance(q.subject, ox.BlankNode):
                        nxt.append(q.subject)
                        own(q.subject)
        parents = nxt
    return quads


def seeds(quads: Iterable[ox.Quad]) -> set:
    """The nodes a changed file states (subjects and objects): what the report says of
    their results may change with the file's lines even where the results do not."""
    out = set()
    for q in quads:
        out.add(q.subject)
        if not isinstance(q.object, ox.Literal) and q.predicate.value != str(RDF.type):
            out.add(q.object)
    return out


def relevant_shapes(shapes: Graph, store: ox.Store, graphs: list[ox.NamedNode]) -> Graph:
    """*shapes* without the targets (and SPARQL) of the shapes that target nothing in
    *store*: they give no result there, and compiling them is most of the cost of
    validating a small store. A shape another refers to is kept whole; so is one with
    sh:targetNode (its node is a focus node whether or not the data names it)."""
    out = Graph()
    out += shapes
    referred = set(shapes.objects())
    subclass = ox.NamedNode(str(RDFS.subClassOf))

    def any_of(s, p, o) -> bool:
        return any(any(store.quads_for_pattern(s, p, o, g)) for g in graphs)

    def has_instance(c: URIRef) -> bool:
        classes, todo = set(), [ox.NamedNode(str(c))]
        while todo:
            k = todo.pop()
            if k not in classes:
                classes.add(k)
                todo += [q.subject for g in graphs
                         for q in store.quads_for_pattern(None, subclass, k, g)]  # fmt: skip
        return any(any_of(None, ox.NamedNode(str(RDF.type)), k) for k in classes)

    classes = set(shapes.subjects(RDF.type, RDFS.Class))
    for shape in {s for t in _TARGETS for s in shapes.subjects(t)}:
        if shape in classes or (shape, SH.targetNode, None) in shapes:
            continue
        hits = any(has_instance(c) for c in shapes.objects(shape, SH.targetClass))
        for t in (SH.targetSubjectsOf, SH.targetObjectsOf):
            used = (ox.NamedNode(str(p)) for p in shapes.objects(shape, t))
            hits = hits or any(any_of(None, p, None) for p in used)
        if hits:
            continue
        for t in _TARGETS:
            out.remove((shape, t, None))
        if shape not in referred:
            out.remove((shape, SH.sparql, None))
    return out
