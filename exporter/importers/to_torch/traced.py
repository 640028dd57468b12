"""Traced layers (custom computation exported op by op) as ``nn.Module`` classes of their own.

The nodes of one traced layer (:mod:`exporter.importers.traced`) are converted by the same op
converters as the rest of the graph, into a class named after the layer whose ``forward`` is the
layer's ops in the order of the ONNX graph; ``Model`` holds one instance and calls it once."""
from __future__ import annotations

import re

from ..codegen import CLASS_RESERVED
from ..onnx_reader import identifier
from .generator import REGISTRY, Gen

RESERVED = CLASS_RESERVED | {"Model"}  # module-level names a traced layer's class must not take


def class_name(layer: str, taken: set) -> str:
    """A class name for the traced layer ``layer``: its words capitalised (``wn_conv1`` -> ``WnConv1``)."""
    words = re.split(r"[^A-Za-z0-9]+", layer)
    return identifier("".join(w[:1].upper() + w[1:] for w in words if w), taken, RESERVED)


def describe(t) -> str:
    return f"Lasagne layer {t.layer!r}, traced from {t.what or 'its get_output_for'}: its ops in ONNX order."


def convert(g, t):
    """Write the traced layer ``t`` as a class (into ``g.classes``) and one call of it in ``g``'s forward."""
    if not t.view.outputs:
        return
    child = Gen(t.view, scope=t.layer)
    child.classes, child.class_names = g.classes, g.class_names  # a Scan in it: its step's class beside it
    for name in t.view.inputs:
        child.vars[name] = identifier(child.pretty(name), child.var_names)
    for n in t.view.nodes:
        if n.index not in child.skip:
            REGISTRY.lookup(n, t.view.opset)(child, n)
    cls = class_name(t.layer, g.class_names)
    source, state = child.render_class(cls, describe(t))
    g.classes.append(source)
    m = g.module(t.node, f"{cls}()", state, suffix="traced")  # the layer's name, unless a converted part has it
    call = f"{m}({', '.join(g.x(i, t.node) for i in t.view.inputs)})"
    if len(t.view.outputs) == 1:
        g.assign(t.node, t.view.outputs[0], call)
        return
    names = [identifier(g.pretty(o), g.var_names) for o in t.view.outputs]
    g.lines.append(f"{', '.join(names)} = {call}")
    g.vars.update(zip(t.view.outputs, names))
