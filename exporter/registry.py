"""The one registry: layer families, and the op table of traced Theano code.

Each module in :mod:`exporter.layers` describes one Lasagne layer family with two small functions:

* a **capture rule**, registered for the Lasagne class names it understands, reads a live layer
  object (real Lasagne or the Theano-free API) and returns its family ``kind``, plain attributes
  and the roles of its parameters;
* a **converter**, registered for the family ``kind``, lowers a :class:`~exporter.ir.LayerSpec`
  into ONNX nodes through an :class:`~exporter.onnx_graph.OnnxGraph`.

Traced Theano computation (custom layers, ``ExpressionLayer``) is lowered op by op through the third
table: a **lowering** registered for a Theano op's public dotted name (``theano.tensor.sum``).

Each lowering also declares the attributes its op takes (``attrs=``: name -> JSON Schema, all
required) and optionally a ``check`` for what a schema cannot say (an axis within the input's rank, a
permutation): traced expressions are validated node by node against them before anything is lowered
(:mod:`exporter.theano_ops.validate`).

Converters and lowerings are versioned as onnx2torch's converters are: each entry says the ONNX
opset it is valid from (``since=``) and a lookup takes the newest entry not above the target opset.
Schema drift between opsets (Squeeze/Unsqueeze/Reduce*/Split forms) lives in the
:class:`~exporter.onnx_graph.OnnxGraph` helpers, so most entries need only one version.

Every layer kind also registers the **schema** of its attributes (:func:`attrs_schema`, beside its
capture rule): a JSON Schema, the parameter roles a manifest may and must give, and optionally a
``check`` for what a schema cannot say.  Manifests are validated against them before lowering
(:mod:`exporter.manifest_schema`), so converters can rely on their attributes.

Capture-rule lookups are by exact class name, and only Lasagne's own classes are captured: a user
subclass of a known layer (even one keeping its name) may override its computation, so it is refused
with a clear error rather than approximated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class CaptureRule:
    kind: str
    fn: Callable
    params: tuple  # parameter roles, i.e. attribute names holding the layer's parameters
    foreign_ok: bool = False  # also for same-named re-implementations outside Lasagne (see foreign_class)


@dataclass(frozen=True)
class AttrsSchema:
    """What a manifest layer of ``kind`` may hold: ``schema`` (JSON Schema of its ``attrs``), the
    parameter roles it must have (``required_params``) and may have (``params``; None: those of the
    kind's capture rules), and ``check(layer_view) -> problem or None`` for the rest (sizes that must
    agree with the parameters or the input's rank: :class:`exporter.schema.LayerView`)."""

    kind: str
    schema: dict
    required_params: tuple = ()
    params: tuple | None = None
    check: Callable | None = None

    def allowed_params(self) -> tuple:
        if self.params is not None:
            return self.params
        roles = []
        for rule in CAPTURE_RULES.values():
            if rule.kind == self.kind:
                roles += [r for r in rule.params if r not in roles]
        return tuple(roles)


@dataclass(frozen=True)
class Versioned:
    """One entry of a versioned table: ``fn`` is valid from opset ``since``; ``emits`` lists the ONNX
    op types it can produce (the importers' coverage test reads it); ``attrs`` the node attributes an
    importer converter understands (names), or a lowering's op takes (name -> JSON Schema);
    ``check(node, inputs) -> problem or None``: a lowering's checks beyond the schema."""

    name: str
    fn: Callable
    since: int
    emits: tuple = ()
    attrs: frozenset | dict = frozenset()
    check: Callable | None = None


class VersionedTable:
    """name -> entries by ``since`` opset.  ``lookup(name, opset)`` gives the entry with the highest
    ``since`` not above ``opset`` (None when the name is unknown or every entry is newer)."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict = {}

    def add(self, name: str, fn: Callable, since: int, emits=(), attrs=(), check=None):
        entries = self._entries.setdefault(name, [])
        if any(e.since == since for e in entries):
            raise ValueError(f"{self.what} for {name} (since opset {since}) registered twice")
        attrs = dict(attrs) if isinstance(attrs, dict) else frozenset(attrs)
        entries.append(Versioned(name, fn, int(since), tuple(emits), attrs, check))
        entries.sort(key=lambda e: e.since)

    def lookup(self, name: str, opset: int):
        best = None
        for e in self._entries.get(name, ()):
            if e.since <= opset:
                best = e
        return best

    def versions(self, name: str) -> list:
        return list(self._entries.get(name, ()))

    def names(self) -> list:
        return sorted(self._entries)

    def entries(self):
        for name in sorted(self._entries):
            yield from self._entries[name]

    def __contains__(self, name) -> bool:
        return name in self._entries

    def get(self, name, default=None):
        """The newest entry's function, whatever the opset (for code that only asks whether one exists)."""
        entries = self._entries.get(name)
        return entries[-1].fn if entries else default


FIRST_OPSET = 1  # ``since`` of entries whose ONNX form has not changed within the supported range

CAPTURE_RULES: dict = {}  # Lasagne class name -> CaptureRule
CONVERTERS = VersionedTable("converter")  # kind -> fn(layer_spec, onnx_graph) -> output value name
LOWERINGS = VersionedTable("lowering")  # Theano op name -> fn(expr_node, onnx_graph, args) -> value(s)
ATTRS_SCHEMAS: dict = {}  # kind -> AttrsSchema


def capture_rule(kind: str, *class_names: str, params: tuple = (), foreign_ok: bool = False):
    """Register ``fn(layer, ctx) -> attrs`` for the given Lasagne classes.  Only Lasagne's own
    classes of those names are captured, or, with ``foreign_ok``, also re-implementations written
    elsewhere (never subclasses of Lasagne's): see ``lasagne_live.foreign_class``."""

    def deco(fn):
        for cls_name in class_names:
            if cls_name in CAPTURE_RULES:
                raise ValueError(f"capture rule for {cls_name} registered twice")
            CAPTURE_RULES[cls_name] = CaptureRule(kind, fn, tuple(params), foreign_ok)
        return fn

    return deco


def attrs_schema(kind: str, schema: dict, *, required_params=(), params=None, check=None):
    """Register what a manifest layer of ``kind`` may hold (see :class:`AttrsSchema`).  Registers at
    once; the returned decorator makes the function it decorates the kind's check:
    ``@attrs_schema("Conv", CONV_ATTRS, required_params=("W",))`` above ``def check_conv(layer)``."""
    if kind in ATTRS_SCHEMAS:
        raise ValueError(f"attribute schema for {kind} registered twice")
    entry = AttrsSchema(kind, schema, tuple(required_params), None if params is None else tuple(params), check)
    ATTRS_SCHEMAS[kind] = entry

    def set_check(fn):
        ATTRS_SCHEMAS[kind] = AttrsSchema(kind, entry.schema, entry.required_params, entry.params, fn)
        return fn

    return set_check


def converter(*kinds: str, since: int = FIRST_OPSET, emits=()):
    """Register ``fn(spec, graph) -> output value name`` for the given layer families, valid from
    ONNX opset ``since``."""

    def deco(fn):
        for kind in kinds:
            CONVERTERS.add(kind, fn, since, emits)
        return fn

    return deco


def lowering(*ops: str, since: int = FIRST_OPSET, emits=(), attrs=None, check=None):
    """Register ``fn(node, graph, args) -> value name(s)`` for traced Theano ops (public dotted names
    such as ``theano.tensor.sum``), valid from ONNX opset ``since``.  ``attrs``: the node attributes
    the op takes, name -> JSON Schema (none when omitted); ``check(node, inputs)``: what else a node
    must satisfy (see :mod:`exporter.theano_ops.validate`)."""

    def deco(fn):
        for op in ops:
            LOWERINGS.add(op, fn, since, emits, attrs or {}, check)
        return fn

    return deco


def find_converter(kind: str, opset: int):
    """The converter for ``kind`` at ``opset``, or None when there is none for that opset."""
    entry = CONVERTERS.lookup(kind, opset)
    return entry.fn if entry else None


def find_lowering(op: str, opset: int):
    """The lowering of Theano op ``op`` at ``opset``, or None."""
    entry = LOWERINGS.lookup(op, opset)
    return entry.fn if entry else None


def load_all():
    """Import every layer-family module so that it registers itself."""
    from . import layers  # noqa: F401  (the package imports its modules)

    return CAPTURE_RULES, CONVERTERS


def supported_classes() -> list:
    """The Lasagne classes that export: a capture rule whose family has a converter."""
    load_all()
    return sorted(cls for cls, rule in CAPTURE_RULES.items() if rule.kind in CONVERTERS)
