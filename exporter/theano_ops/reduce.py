"""Reductions: sum, prod, mean, max, min, argmax, argmin, any, all, cumsum.

``attrs["axis"]`` is the sorted list of reduced axes (None: all), ``attrs["keepdims"]`` keeps them
as size-1 axes.  Theano sums integers in int64 and averages them in float64: the input is cast to
the node's dtype first.  The Reduce* forms of each opset come from ``OnnxGraph.reduce``.
"""
from ..registry import lowering
from .lower import cast


def _reduce(onnx_op, *theano_ops):
    @lowering(*theano_ops, emits=(onnx_op, "Cast"))
    def lower(node, g, args):
        x = cast(g, args[0], node.dtype, node.scope)
        axes = node.attrs.get("axis")
        if axes is not None and not axes:
            return g.node("Identity", [x], node.scope)
        return g.reduce(onnx_op, x, axes, node.scope, keepdims=node.attrs.get("keepdims", False))

    return lower


_reduce("ReduceSum", "theano.tensor.sum")
_reduce("ReduceProd", "theano.tensor.prod")
_reduce("ReduceMax", "theano.tensor.max")
_reduce("ReduceMin", "theano.tensor.min")


@lowering("theano.tensor.mean", emits=("ReduceMean", "Cast"))
def mean(node, g, args):
    x = cast(g, args[0], node.dtype, node.scope)
    axes = node.attrs.get("axis")
    if axes is not None and not axes:
        return g.node("Identity", [x], node.scope)
    return g.reduce("ReduceMean", x, axes, node.scope, keepdims=node.attrs.get("keepdims", False))


def _arg(onnx_op, theano_op):
    @lowering(theano_op, emits=(onnx_op, "Cast"))
    def lower(node, g, args):
        x = args[0]
        if x.dtype == "bool" or x.dtype in ("int8", "uint8", "int16", "uint16"):
            x = cast(g, x, "int32", node.scope)
        (axis,) = node.attrs["axis"]
        return g.node(onnx_op, [x], node.scope, axis=axis, keepdims=int(bool(node.attrs.get("keepdims", False))))

    return lower


_arg("ArgMax", "theano.tensor.argmax")
_arg("ArgMin", "theano.tensor.argmin")


def _any_all(onnx_op, theano_op):
    @lowering(theano_op, emits=(onnx_op, "Cast"))
    def lower(node, g, args):
        x = cast(g, cast(g, args[0], "bool", node.scope), "int32", node.scope)
        r = g.reduce(onnx_op, x, node.attrs.get("axis"), node.scope, keepdims=node.attrs.get("keepdims", False))
        return g.node("Cast", [r], node.scope, to=9)

    return lower


_any_all("ReduceMax", "theano.tensor.any")
_any_all("ReduceMin", "theano.tensor.all")


@lowering("theano.tensor.extra_ops.cumsum", emits=("CumSum",))
def cumsum(node, g, args):
    x = cast(g, args[0], node.dtype, node.scope)
    return g.node("CumSum", [x, g.ints(f"{node.scope}.axis", [node.attrs["axis"]])], node.scope)
