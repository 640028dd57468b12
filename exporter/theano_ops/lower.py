"""Lower a traced expression (:class:`~exporter.ir.ExprGraph`) to ONNX nodes, op by op.

:func:`lower_expr` walks the nodes in order.  Each node's inputs are handed to its lowering (the
registry's table, ``find_lowering(op, opset)``) as :class:`Value`\\ s: ONNX value names that also
carry the Theano type of what they hold and, for constants, the value.  A node whose inputs are all
constant (literals, parameters, and what is computed from them only, as a weight normalisation is)
is evaluated here with numpy when :mod:`.fold` knows the op, so the ONNX graph holds its result as
one initializer.  Constants become initializers only if an ONNX node uses them.
"""
from __future__ import annotations

import numpy as np

from .. import registry
from ..errors import UnsupportedLayerError
from ..ir import ExprGraph
from . import fold
from .values import CONSTANT_OP, constant

ONNX_DTYPES = {"bool": 9, "int8": 3, "int16": 5, "int32": 6, "int64": 7, "uint8": 2, "uint16": 4, "uint32": 12,
               "uint64": 13, "float16": 10, "float32": 1, "float64": 11}


class Value(str):
    """An ONNX value name with the Theano type of its content (``dtype``, ``ndim``, ``broadcastable``,
    static ``shape``) and, for a constant, ``const`` (a numpy array of that dtype)."""

    def __new__(cls, name, dtype, broadcastable, shape=None, const=None):
        v = str.__new__(cls, name)
        v.dtype = dtype
        v.broadcastable = list(broadcastable)
        v.ndim = len(v.broadcastable)
        v.shape = list(shape) if shape is not None else [None] * v.ndim
        v.const = const
        v.nonneg = const is not None and const.dtype.kind in "biuf" and bool((const >= 0).all())
        return v


class Lowering:
    """State of one expression's lowering: the graph, the layer name its nodes are named after,
    and the constants it may still need (materialised as initializers at the end, if used)."""

    def __init__(self, g, scope):
        self.g = g
        self.scope = scope
        self.pending = {}  # reserved ONNX name -> array
        self.start = len(g.nodes)
        self.loops = {}  # ONNX value of a theano.scan node -> its outputs (theano.scan.output reads them)
        self.spec = None  # the layer lowered (errors name it)

    def constant(self, array, dtype=None, base="const") -> Value:
        array = np.asarray(array, dtype=dtype) if dtype is not None else np.asarray(array)
        name = self.g.unique(f"{self.scope}/{base}")
        self.pending[name] = np.asarray(array, order="C")
        return Value(name, str(array.dtype), [d == 1 for d in array.shape], array.shape, const=array)

    def finish(self):
        used = _read_by(self.g.nodes[self.start:])
        used |= {o.name for o in self.g.outputs}
        for name, array in self.pending.items():
            if name in used:
                self.g.add_initializer(name, array)


def _read_by(nodes) -> set:
    """The names ``nodes`` read, those their subgraphs (a Scan's body) read from outside included."""
    from onnx import AttributeProto

    names = set()
    for n in nodes:
        names.update(n.input)
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                names |= _read_by(a.g.node)
    return names


def cast(g, v: Value, dtype: str, scope: str) -> Value:
    """``v`` as ``dtype`` (a constant is converted here, anything else by a Cast node)."""
    if v.dtype == dtype:
        return v
    low = getattr(g, "lowering", None)
    if v.const is not None and low is not None:
        return low.constant(v.const.astype(dtype), base="const")
    out = g.node("Cast", [v], scope, to=ONNX_DTYPES[dtype])
    return Value(out, dtype, v.broadcastable, v.shape)


def const(g, array, dtype) -> Value:
    """A constant of the current expression (an initializer if some node uses it)."""
    return g.lowering.constant(array, dtype=dtype)


def lower_expr(expr: dict, g, spec, inputs, params, output=None, what="expression") -> str:
    """Add the ONNX nodes computing ``expr``; returns the value holding its output (as float32, the
    exported layers' type; named ``output`` when given).

    ``inputs``: ONNX values of the layer's inputs (float32); ``params``: role -> numpy array (bound
    weights).  Errors name ``spec`` (the layer) and the op.  The expression is validated first (a
    manifest's already was; a capture's is the tracer's, checked all the same): every lowering can
    rely on what its op's attributes and check declare."""
    from .validate import expression_problem

    problem = expression_problem(expr, structure=True)
    if problem:
        raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                    f"malformed traced {what}: {problem}")
    graph = ExprGraph.from_dict(expr, what)
    low = Lowering(g, spec.name)
    low.spec = spec
    previous, g.lowering = getattr(g, "lowering", None), low
    try:
        values = {}
        for inp in graph.inputs:
            if inp.source == "input":
                v = Value(inputs[inp.index], "float32", inp.broadcastable, inp.shape)
                values[inp.name] = cast(g, v, inp.dtype, spec.name)
            else:
                array = np.asarray(params[inp.role]).astype(inp.dtype)
                values[inp.name] = low.constant(array, base=inp.role)
        for node in graph.nodes:
            values[node.name] = _lower_node(node, g, spec, [values[n] for n in node.inputs])
        result = values[graph.outputs[0]]
        if result.dtype != "float32":
            out = g.node("Cast", [result], spec.name, output=output, to=ONNX_DTYPES["float32"])
        else:
            out = g.node("Identity", [result], spec.name, output=output)
        low.finish()
        return out
    finally:
        g.lowering = previous


def _lower_node(node, g, spec, args):
    node.scope = spec.name
    if node.op == CONSTANT_OP:  # typed as its value is (a size-1 axis broadcastable)
        return constant(node, g, args)
    if args and all(a.const is not None for a in args):
        try:
            folded = fold.evaluate(node, [a.const for a in args])
        except fold.Mismatch as e:
            raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                        f"the traced op {node.op}" + (f" (at {node.where})" if node.where else "")
                                        + f": {e}") from None
        if folded is not None:
            return g.lowering.constant(np.asarray(folded).astype(node.dtype))
    fn = registry.find_lowering(node.op, g.opset)
    if fn is None:
        detail = (f"the traced op {node.op}" + (f" (at {node.where})" if node.where else "") +
                  (" has no ONNX lowering" if node.op not in registry.LOWERINGS else
                   f" needs ONNX opset {registry.LOWERINGS.versions(node.op)[0].since} or newer (asked for {g.opset})"))
        raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position, detail)
    try:
        out = fn(node, g, args)
    except NotImplementedError as e:
        raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                    f"the traced op {node.op}" + (f" (at {node.where})" if node.where else "")
                                    + f": {e}") from None
    kept = out.const if isinstance(out, Value) and out.dtype == node.dtype else None
    result = Value(out, node.dtype, node.broadcastable, node.shape, const=kept)
    result.nonneg = result.nonneg or node.op == "theano.tensor.shape" or (
        node.op in _NONNEGATIVE_IF_INPUTS_ARE and all(a.nonneg for a in args))
    return result


# ops whose result is non-negative when their inputs are (sizes and their arithmetic: x.shape[1] // 2)
_NONNEGATIVE_IF_INPUTS_ARE = {f"theano.tensor.{op}" for op in ("add", "mul", "int_div", "maximum", "minimum", "cast",
                                                                "stack", "subtensor.Subtensor", "concatenate")}
