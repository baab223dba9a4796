"""Custom constraint components (SHACL §6: sh:ConstraintComponent) on the fast SHACL path.

Why: a shapes graph may declare its own components, each a set of parameters and SPARQL
validators; before this module, one such component sent the whole build to pyshacl. A shape
that has a value for every mandatory parameter of a component has a constraint of it, one
(several values of one parameter are declined). Its validator is chosen as SHACL says (§6.2):
``sh:nodeValidator`` in a node shape, ``sh:propertyValidator`` in a property shape, else
``sh:validator``; none, and the component is ignored for that shape. The parameters are
pre-bound as typed terms (a BIND beside the focus nodes; unset optional ones stay unbound),
as are ``$this``, ``$value`` (ASK) and ``$currentShape``; ``$PATH`` is the shape's path.

- A SELECT validator is an ``sh:sparql`` constraint with more pre-bound variables: it runs
  through :func:`kg.shacl_sparql.sparql_check` (joined with the focus nodes, or behind
  Oxigraph's ``LATERAL``: pre-binding).
- An ASK validator gives a result for each value node whose ASK is false: its pattern runs
  behind ``LATERAL`` once per focus node and value, each pre-bound.

Results name the component as sh:sourceConstraintComponent. Messages: the shape's
sh:message, else the validator's, else the component's, ``{$param}`` filled with the
parameter's value. The pre-binding rules (:func:`kg.shacl_prebinding.prebinding`) hold here too,
parameters and (ASK) ``$value`` included: breaking them raises ShapesError. A component used
where the fast path cannot follow it (in a shape reached by sh:node, sh:and... or nested in a
property shape) or that it cannot read exactly declines (InputError).
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from kg.errors import InputError
from kg.reason_fast import to_ox
from kg.shacl_paths import path_sparql
from kg.shacl_prebinding import prebinding
from kg.shacl_sparql import (
    _check_query,
    _mentions,
    _substitute,
    declared_prefixes,
    literal_guard,
    sparql_check,
)
from kg.shacl_targets import deactivated, focus, targeted
from kg.shacl_terms import VIOLATION, Check, keys, lexical_form, nt, one, show

_ASK = re.compile(r"\s*(?P<prologue>(?:PREFIX\s+[\w.-]*:\s*<[^<>\s]*>\s*)*)ASK\s*(?:WHERE\s*)?\{",
                  re.IGNORECASE)  # fmt: skip
# what makes the core compiler check a shape inside another (lists: sh:and, sh:or, sh:xone)
_NESTING = {SH.node, SH["not"], SH.qualifiedValueShape, RDF.first}
_RESERVED = {"this", "shapesGraph", "currentShape", "value", "PATH", "path", "parent", "kgOk"}


def custom_checks(g: Graph) -> list[Check]:
    """The checks of every constraint of a custom component in the targeted shapes of *g*."""
    components = _components(g)
    if not components:
        return []
    top, checks = targeted(g), []
    for component, params in components:
        for shape in _shapes_using(g, params):
            if deactivated(g, shape):
                continue
            checks += _shape_checks(g, shape, component, params, top)
    return checks


def _components(g: Graph) -> list[tuple[URIRef, dict[str, tuple[URIRef, bool]]]]:
    """Every component: its IRI and its parameters (variable name: path, optional)."""
    classes = set(g.transitive_subjects(RDFS.subClassOf, SH.ConstraintComponent))
    declared = {c for cls in classes for c in g.subjects(RDF.type, cls)}
    for pred in (SH.parameter, SH.validator, SH.nodeValidator, SH.propertyValidator):
        declared |= set(g.subjects(pred, None))
    found = []
    for component in sorted(declared, key=str):
        if isinstance(component, URIRef) and component.startswith(SH):
            continue  # SHACL's own (a shapes graph may hold the SHACL vocabulary): core ones
        who = f"constraint component {show(component)}"
        if not isinstance(component, URIRef):
            raise InputError(f"{who}: custom components must be IRIs (results name them)")
        params: dict[str, tuple[URIRef, bool]] = {}
        for param in g.objects(component, SH.parameter):
            path = one(g, param, SH.path, f"{who}: its parameter", URIRef, True)
            optional = one(g, param, SH.optional, f"{who}: its parameter", Literal)
            name = _local_name(path)
            if not name or name in _RESERVED or name in params:
                raise InputError(f"{who}: its parameter {show(path)} cannot be a variable "
                                 f"(name {name!r}) for the fast check")  # fmt: skip
            params[name] = (path, optional is not None and optional.value is True)
        if not any(not opt for _, opt in params.values()):
            raise InputError(f"{who}: a component needs a mandatory parameter")
        found.append((component, params))
    return found


def _local_name(iri: URIRef) -> str:
    """SHACL §6.1: the longest NCName at the end of the IRI (a SPARQL variable name here)."""
    match = re.search(r"[A-Za-z_][\w-]*$", str(iri))
    name = match[0] if match else ""
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else ""


def _shapes_using(g: Graph, params: dict[str, tuple[URIRef, bool]]) -> list[Node]:
    """The shapes with a value for every mandatory parameter of a component."""
    mandatory = [path for path, optional in params.values() if not optional]
    shapes = set(g.subjects(mandatory[0], None))
    for path in mandatory[1:]:
        shapes &= set(g.subjects(path, None))
    return sorted(shapes, key=str)


def _shape_checks(g, shape, component, params, top) -> list[Check]:
    """The checks of *component* in *shape* on its focus nodes (its own targets, or those of
    the node shapes holding it); InputError where the fast path cannot follow the shape."""
    from kg.shacl_fast import shape_name

    is_property = g.value(shape, SH.path) is not None
    name = shape_name(g, shape) if is_property else nt(shape)
    who = f"shape {name}: its constraint of {show(component)}"
    holders = set(g.subjects(SH.property, shape))
    parents = sorted(h for h in holders if h in top and g.value(h, SH.path) is None)
    nested = any(p in _NESTING for s in [shape, *parents] for _, p in g.subject_predicates(s))
    if nested or holders - set(parents):
        raise InputError(f"{who}: a shape with a custom component is checked by the fast path "
                         "only on its targets or those of the targeted node shapes holding it "
                         "(not through sh:node, sh:and, sh:or... or nesting)")  # fmt: skip
    if isinstance(shape, BNode) and len(parents) > 1:
        raise InputError(f"{who}: a blank property shape may have only one parent")
    roots = ([shape] if shape in top else []) + (parents if is_property else [])
    if not roots:
        return []  # no focus nodes: nothing to check
    validator = _validator(g, component, is_property, who)
    if validator is None:
        return []  # SHACL §6.2: no suitable validator, the component is ignored
    path = path_sparql(g, g.value(shape, SH.path), f"shape {name}") if is_property else ""
    severity = str(one(g, shape, SH.severity, f"shape {name}", URIRef) or VIOLATION)
    common = {"shape": name, "path": path or None, "severity": severity}
    where = focus(g, roots, _term)
    bindings = _bindings(g, shape, params, who)
    message = _message(g, shape, validator, component, bindings, who)
    if (validator, SH.ask, None) in g:
        args = (where, common, bindings, who, message)
        return [_ask_check(g, shape, validator, str(component), *args)]
    value = {"value": "" if is_property else "this"}
    return [sparql_check(
        g, shape, validator, where, {**common, **value}, lambda *_: message, path,
        bindings=bindings, component=str(component), who=f"{who}: its validator",
    )]  # fmt: skip


def _validator(g: Graph, component, is_property: bool, who: str):
    """The validator SHACL §6.2 picks for a node or property shape, or None."""
    special = SH.propertyValidator if is_property else SH.nodeValidator
    for pred in (special, SH.validator):
        found = sorted(g.objects(component, pred), key=str)
        if len(found) > 1:
            raise InputError(f"{who}: the fast check needs one {show(pred)} per component")
        if found:
            v = found[0]
            kind = SH.ask if pred == SH.validator else SH.select
            if (v, kind, None) not in g:
                raise InputError(f"{who}: its {show(pred)} needs {show(kind)} (SHACL §6.2)")
            keys(g, v, {SH.ask, SH.select, SH.prefixes, SH.message, SH.deactivated}, who)
            return v
    return None


def _bindings(g: Graph, shape, params, who: str) -> dict[str, Node]:
    """The shape's value of each parameter it has, a term a query can name exactly. Several
    values of one parameter are declined: SHACL reads them as several constraints for a
    one-parameter component, pyshacl as one, and says nothing of combinations."""
    bindings = {}
    for name, (path, _optional) in sorted(params.items()):
        value = one(g, shape, path, f"{who}: parameter {show(path)}", Node)
        if value is not None:
            _exact(value, f"{who}: parameter {show(path)}")
            bindings[name] = value
    return bindings


def _exact(term: Node, who: str) -> None:
    """Decline a value Oxigraph would hold otherwise: a blank node (no name in a query) or a
    typed literal not in canonical form ("1.50"^^xsd:decimal would read as "1.5")."""
    if isinstance(term, BNode):
        raise InputError(f"{who}: a blank node cannot be named in a query")
    if isinstance(term, Literal) and term.datatype is not None and not term.language:
        dt = ox.NamedNode(str(term.datatype))
        store = ox.Store()
        store.add(ox.Quad(dt, dt, ox.Literal(str(term), datatype=dt)))
        held = next(iter(store)).object
        if held.value != str(term) or held.datatype != dt:
            raise InputError(f"{who}: the typed literal {term.n3()} cannot be pre-bound exactly")


def _message(g: Graph, shape, validator, component, bindings: dict, who: str) -> str:
    """The shape's message, else the validator's, else the component's, else one naming the
    component; ``{$param}`` and ``{?param}`` filled with the parameters' values."""
    for node in (shape, validator, component):
        text = one(g, node, SH.message, f"{who} (one message per result)", Literal)
        if text is not None:
            break
    else:
        return f"{_local_name(component) or component} constraint not met ({who})"
    message = str(text)
    for name, value in bindings.items():
        shown = lexical_form(to_ox(value)) if isinstance(value, Literal) else str(value)
        message = message.replace(f"{{${name}}}", shown).replace(f"{{?{name}}}", shown)
    return message


def _ask_check(g, shape, validator, component, where, common, bindings, who, message) -> Check:
    """The check of an ASK validator: a row per focus node and value node whose ASK, with
    both (and the parameters) pre-bound, is false."""
    who = f"{who}: its validator"
    ask = str(one(g, validator, SH.ask, who, Literal, True))
    prefixes = declared_prefixes(g, validator, who)
    prebinding(ask, prefixes, {"this", "value", *bindings}, who)
    match = _ASK.match(ask)
    if match is None or not re.fullmatch(r"\s*", ask[_group_end(ask, match.end() - 1) :]):
        raise InputError(f"{who}: the fast check needs 'ASK {{ ... }}' (no FROM or modifiers)")
    body = ask[match.end() - 1 : _group_end(ask, match.end() - 1)]
    if _mentions(body, "kgOk") or _mentions(body, "parent") or _mentions(body, "shapesGraph"):
        raise InputError(f"{who}: ?kgOk, ?parent and $shapesGraph are not supported here")
    path = common["path"] or ""
    body = _substitute(body, "PATH", path) if path else body
    if _mentions(body, "PATH"):
        raise InputError(f"{who}: $PATH is only for property shapes")
    if _mentions(body, "currentShape"):
        if not isinstance(shape, URIRef):
            raise InputError(f"{who}: $currentShape of a blank node shape cannot be named")
        body = _substitute(body, "currentShape", nt(shape))
    prologue = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(prefixes.items()))
    _check_query(f"{prologue}{match['prologue']}SELECT * WHERE {body}", {}, who)
    values = f"?this {path} ?value ." if path else "BIND (?this AS ?value)"
    binds = "".join(f" BIND ({nt(v)} AS ?{k})" for k, v in sorted(bindings.items()))
    # the value nodes and what the ASK reads, guarded as a SPARQL constraint's query is
    read = f"{prologue}{match['prologue']}SELECT * WHERE {{ {values}{binds} {body} }}"
    guard = literal_guard(read, {}, bindings.values(), who)
    parent = " ?parent" if "?parent" in where else ""
    sparql = (
        f"{prologue}{match['prologue']}SELECT DISTINCT ?this ?value{parent} WHERE {{ "
        f"{{ {where} {values}{binds} }} LATERAL {{ OPTIONAL {{ {body} BIND (true AS ?kgOk) }} }} "
        "FILTER (!BOUND(?kgOk)) }"
    )
    return Check(sparql, component, message=message, value="", variables=("this", "value"),
                 **guard, **common)  # fmt: skip


def _group_end(text: str, start: int) -> int:
    """The position after the group that opens at *start* (braces in strings, IRIs and
    comments do not count)."""
    from kg.shacl_prebinding import SPARQL_TOKEN

    depth = 0
    for token in SPARQL_TOKEN.finditer(text, start):
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        if depth == 0:
            return token.end()
    return len(text)


def _term(node) -> str:
    if isinstance(node, BNode):
        raise InputError(f"the blank node {node.n3()} cannot be named in a query")
    return nt(node)
