"""The one registry of layer families.

Each module in :mod:`exporter.layers` describes one Lasagne layer family with two small functions:

* a **capture rule**, registered for the Lasagne class names it understands, reads a live layer
  object (real Lasagne or the Theano-free API) and returns its family ``kind``, plain attributes
  and the roles of its parameters;
* a **converter**, registered for the family ``kind``, lowers a :class:`~exporter.ir.LayerSpec`
  into ONNX nodes through an :class:`~exporter.onnx_graph.OnnxGraph`.

Lookups are by exact class name, and only Lasagne's own classes are captured: a user subclass of a
known layer (even one keeping its name) may override its computation, so it is refused with a clear
error rather than approximated.
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


CAPTURE_RULES: dict = {}  # Lasagne class name -> CaptureRule
CONVERTERS: dict = {}  # kind -> function(layer_spec, onnx_graph) -> output value name


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


def converter(*kinds: str):
    """Register ``fn(spec, graph) -> output value name`` for the given layer families."""

    def deco(fn):
        for kind in kinds:
            if kind in CONVERTERS:
                raise ValueError(f"converter for {kind} registered twice")
            CONVERTERS[kind] = fn
        return fn

    return deco


def load_all():
    """Import every layer-family module so that it registers itself."""
    from . import layers  # noqa: F401  (the package imports its modules)

    return CAPTURE_RULES, CONVERTERS


def supported_classes() -> list:
    load_all()
    return sorted(CAPTURE_RULES)
