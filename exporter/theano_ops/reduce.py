"""Reductions: sum, prod, mean, max, min, argmax, argmin, any, all, cumsum.

``attrs["axis"]`` is the sorted list of reduced axes (None: all), ``attrs["keepdims"]`` keeps them
as size-1 axes (``argmax``/``argmin``: one axis; ``cumsum``: ``axis`` an int).  Theano sums integers
in int64 and averages them in float64: the input is cast to
the node's dtype first.  The Reduce* forms of each opset come from ``OnnxGraph.reduce``.
"""
from ..registry import lowering
from ..schema import BOOL, NON_NEGATIVE, array
from .checks import axis_problem, count, fits, has_dtype, rank, unary
from .lower import cast

AXES = {"anyOf": [{"type": "null"}, array(NON_NEGATIVE, unique=True)]}  # sorted: see check_reduction
REDUCTION = {"axis": AXES, "keepdims": BOOL}


def check_reduction(node, inputs, dtype=None):
    """Distinct axes of the input, in increasing order; the result keeps the other axes (and the
    reduced ones as size-1 axes with ``keepdims``)."""
    problem = count(inputs, 1)
    if problem:
        return problem
    (x,) = inputs
    axes = node["attrs"]["axis"]
    if axes is not None:
        if axes != sorted(axes):
            return f"axis {axes} must list the axes in increasing order"
        problem = next((axis_problem("axis", a, rank(x)) for a in axes if axis_problem("axis", a, rank(x))), None)
        if problem:
            return problem
    reduced = range(rank(x)) if axes is None else axes
    keep = node["attrs"]["keepdims"]
    shape = [1 if i in reduced else n for i, n in enumerate(x["shape"]) if keep or i not in reduced]
    return fits(node, shape) or (has_dtype(node, dtype) if dtype else None)


def check_arg(node, inputs):
    return check_reduction(node, inputs, "int64")


def check_any_all(node, inputs):
    return check_reduction(node, inputs, "bool")


def check_cumsum(node, inputs):
    return unary(node, inputs) or axis_problem("axis", node["attrs"]["axis"], rank(inputs[0]))


def _reduce(onnx_op, *theano_ops):
    @lowering(*theano_ops, emits=(onnx_op, "Cast"), attrs=REDUCTION, check=check_reduction)
    def lower(node, g, args):
        x = cast(g, args[0], node.dtype, node.scope)
        axes = node.attrs["axis"]
        if axes is not None and not axes:
            return g.node("Identity", [x], node.scope)
        return g.reduce(onnx_op, x, axes, node.scope, keepdims=node.attrs["keepdims"])

    return lower


_reduce("ReduceSum", "theano.tensor.sum")
_reduce("ReduceProd", "theano.tensor.prod")
_reduce("ReduceMax", "theano.tensor.max")
_reduce("ReduceMin", "theano.tensor.min")


@lowering("theano.tensor.mean", emits=("ReduceMean", "Cast"), attrs=REDUCTION, check=check_reduction)
def mean(node, g, args):
    x = cast(g, args[0], node.dtype, node.scope)
    axes = node.attrs["axis"]
    if axes is not None and not axes:
        return g.node("Identity", [x], node.scope)
    return g.reduce("ReduceMean", x, axes, node.scope, keepdims=node.attrs["keepdims"])


def _arg(onnx_op, theano_op):
    @lowering(theano_op, emits=(onnx_op, "Cast"), attrs={"axis": array(NON_NEGATIVE, 1, 1), "keepdims": BOOL},
              check=check_arg)
    def lower(node, g, args):
        x = args[0]
        if x.dtype == "bool" or x.dtype in ("int8", "uint8", "int16", "uint16"):
            x = cast(g, x, "int32", node.scope)
        (axis,) = node.attrs["axis"]
        return g.node(onnx_op, [x], node.scope, axis=axis, keepdims=int(node.attrs["keepdims"]))

    return lower


_arg("ArgMax", "theano.tensor.argmax")
_arg("ArgMin", "theano.tensor.argmin")


def _any_all(onnx_op, theano_op):
    @lowering(theano_op, emits=(onnx_op, "Cast"), attrs=REDUCTION, check=check_any_all)
    def lower(node, g, args):
        x = cast(g, cast(g, args[0], "bool", node.scope), "int32", node.scope)
        r = g.reduce(onnx_op, x, node.attrs["axis"], node.scope, keepdims=node.attrs["keepdims"])
        return g.node("Cast", [r], node.scope, to=9)

    return lower


_any_all("ReduceMax", "theano.tensor.any")
_any_all("ReduceMin", "theano.tensor.all")


@lowering("theano.tensor.extra_ops.cumsum", emits=("CumSum",), attrs={"axis": NON_NEGATIVE}, check=check_cumsum)
def cumsum(node, g, args):
    x = cast(g, args[0], node.dtype, node.scope)
    return g.node("CumSum", [x, g.ints(f"{node.scope}.axis", [node.attrs["axis"]])], node.scope)
