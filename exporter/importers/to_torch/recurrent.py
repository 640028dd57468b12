"""Recurrent ops: ``LSTM`` / ``GRU`` / ``RNN`` -> ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` where those compute
the ONNX op exactly, and ``Scan`` -> a generated step class (its body converted by the same op registry)
called in a plain Python loop over time.

``nn.LSTM`` is ONNX's LSTM with activations (Sigmoid, Tanh, Tanh) and no peepholes; ``nn.GRU`` is ONNX's
GRU with ``linear_before_reset=1`` (which Lasagne's GRU exports to); ``nn.RNN`` takes Tanh or Relu.  A
reverse direction runs the flipped sequence and flips the outputs back (ONNX stores each step's output at
its input position).  Any other native form (an LSTM with peepholes or a Relu output) is written as the
Scan of its step (:func:`exporter.importers.recurrent.native_as_scan`).
"""
from __future__ import annotations

import numpy as np

from .. import recurrent
from ..onnx_reader import UnsupportedNodeError, identifier
from .generator import REGISTRY, TARGET, Gen, op
from .traced import class_name

_TORCH = {"LSTM": ("nn.LSTM", ("i", "f", "c", "o")), "GRU": ("nn.GRU", ("r", "z", "h")), "RNN": ("nn.RNN", ("i",))}


def _exact(p) -> bool:
    if p.op == "LSTM":
        return p.activations == ["Sigmoid", "Tanh", "Tanh"] and not p.P
    if p.op == "GRU":
        return p.activations == ["Sigmoid", "Tanh"] and p.linear_before_reset == 1
    return p.activations in (["Tanh"], ["Relu"])


@op(*recurrent.RECURRENT_NATIVE, attrs=recurrent.NATIVE_ATTRS)
def native(g, n):
    p = recurrent.native_parts(g.view, n, TARGET)
    if not _exact(p):
        for m in recurrent.native_as_scan(g.view, n, p, TARGET):
            REGISTRY.lookup(m, g.view.opset)(g, m)
        return
    ctor, order = _TORCH[p.op]
    n_in = p.W[order[0]].shape[1]
    args = f"{n_in}, {p.hidden}" + (", nonlinearity='relu'" if p.activations == ["Relu"] else "")
    state = {"weight_ih_l0": np.concatenate([p.W[k] for k in order]),
             "weight_hh_l0": np.concatenate([p.R[k] for k in order]),
             "bias_ih_l0": np.concatenate([p.Wb[k] for k in order]),
             "bias_hh_l0": np.concatenate([p.Rb[k] for k in order])}
    m = g.module(n, f"{ctor}({args})", state)
    seq = g.x(p.x, n)
    if p.reverse:
        seq = f"torch.flip({seq}, (0,))"
    names = [p.initial_h, p.initial_c] if p.op == "LSTM" else [p.initial_h]
    for i in names:
        if i and not recurrent.initial_state_shape_ok(g.view, i, p.hidden):
            raise UnsupportedNodeError(n, f"initial state {i!r} of shape {g.view.shape(i)} is not (1, batch, "
                                          f"{p.hidden})", TARGET)
    inits = [g.x(i, n) if i else None for i in names]
    if any(i is not None for i in inits):
        known = next(i for i in inits if i is not None)
        inits = [i if i is not None else f"torch.zeros_like({known})" for i in inits]
        seq += ", " + (f"({inits[0]}, {inits[1]})" if p.op == "LSTM" else inits[0])
    y = identifier(g.pretty(p.Y or f"{n.name}_y"), g.var_names)
    finals = [identifier(g.pretty(o or f"{n.name}_{k}"), g.var_names)
              for o, k in zip([p.Y_h, p.Y_c] if p.op == "LSTM" else [p.Y_h], ("y_h", "y_c"))]
    g.lines.append(f"{y}, {'(' + ', '.join(finals) + ')' if p.op == 'LSTM' else finals[0]} = {m}({seq})")
    if p.Y:
        g.assign(n, p.Y, (f"torch.flip({y}, (0,))" if p.reverse else y) + ".unsqueeze(1)")
    for o, v in zip([p.Y_h, p.Y_c], finals):
        if o:
            g.vars[o] = v


@op("Scan", attrs=recurrent.SCAN_ATTRS)
def scan(g, n):
    p = recurrent.scan_parts(g.view, n, TARGET)
    REGISTRY.require_all(p.body.nodes, p.body.opset)
    child = Gen(p.body, scope=p.name)
    child.classes, child.class_names = g.classes, g.class_names  # a Scan in the body: its class beside this one
    for name in p.body.inputs:
        child.vars[name] = identifier(child.pretty(name), child.var_names)
    for bn in p.body.nodes:
        if bn.index not in child.skip:
            REGISTRY.lookup(bn, p.body.opset)(child, bn)
    cls = class_name(f"{n.layer or p.name}_step", g.class_names)
    source, state = child.render_class(cls, f"One step of Scan {n.name!r}: its body's ops in ONNX order, "
                                            f"called once per time step by Model.forward.")
    g.classes.append(source)
    m = g.module(n, f"{cls}()", state, suffix="step")

    fresh = lambda what: identifier(g.pretty(what), g.var_names)
    states = [fresh(o or f"{n.name}_state{k}") for k, o in enumerate(p.state_outputs)]
    for s, init in zip(states, p.states):
        g.lines.append(f"{s} = {g.x(init, n)}")
    xs = [g.x(x, n) for x in p.scanned]
    steps, t = fresh(f"{n.name}_steps"), fresh("t")
    g.lines.append(f"{steps} = {xs[0]}.shape[{p.input_axes[0]}]")
    lists = [fresh(f"{o or n.name}_steps_out") for o in p.scan_outputs]
    for lst in lists:
        g.lines.append(f"{lst} = []")
    step_outs = [fresh(f"{o or n.name}_t") for o in p.scan_outputs]
    slices = []
    for x, axis, d in zip(xs, p.input_axes, p.input_directions):
        index = f"{steps} - 1 - {t}" if d else t
        slices.append(f"{x}[{index}]" if axis == 0 else f"{x}.select({axis}, {index})")
    call = f"{m}({', '.join(states + slices + [g.x(i, n) for i in p.implicit])})"
    g.lines.append(f"for {t} in range({steps}):")
    targets = states + step_outs
    g.lines.append(f"    {', '.join(targets) + (',' if len(targets) == 1 else '')} = {call}")
    for lst, y in zip(lists, step_outs):
        g.lines.append(f"    {lst}.append({y})")
    for o, s in zip(p.state_outputs, states):
        if o:
            g.vars[o] = s
    for o, lst, axis, d in zip(p.scan_outputs, lists, p.output_axes, p.output_directions):
        if o:
            g.assign(n, o, f"torch.stack({lst}{'[::-1]' if d else ''}, {axis})")
