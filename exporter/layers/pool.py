"""Pooling: Pool1D/2D/3DLayer, MaxPool*Layer (modes max, average_inc_pad, average_exc_pad),
their cuDNN variants, and GlobalPoolLayer.

Lasagne's ``ignore_border=False`` keeps a trailing partial window (Theano's own output-length
rule); the ``explicit_pads`` pass turns ``pad``/``ignore_border`` into ONNX ``pads``/``ceil_mode``.
"""
from ..frontends.lasagne_live import describe_callable, identify
from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NON_NEGATIVE, lengths_problem, obj, spatial

_POOL_CLASSES = ("MaxPool1DLayer", "Pool1DLayer", "MaxPool2DLayer", "Pool2DLayer", "MaxPool3DLayer",
                 "Pool3DLayer", "MaxPool2DDNNLayer", "Pool2DDNNLayer", "MaxPool3DDNNLayer", "Pool3DDNNLayer")
_MODES = ("max", "average_inc_pad", "average_exc_pad")


@capture_rule("Pool", *_POOL_CLASSES)
def capture_pool(layer, ctx):
    mode = getattr(layer, "mode", "max")
    if mode not in _MODES:
        raise ctx.unsupported(f"pooling mode {mode!r} (supported: {', '.join(_MODES)})")
    n = len(layer.pool_size)
    return {
        "pool_size": [int(v) for v in layer.pool_size],
        "stride": [int(v) for v in layer.stride],
        "pad": [int(v) for v in (layer.pad if isinstance(layer.pad, (tuple, list)) else (layer.pad,) * n)],
        "ignore_border": bool(getattr(layer, "ignore_border", True)),
        "mode": mode,
    }


@attrs_schema("Pool", obj({"pool_size": spatial(), "stride": spatial(), "pad": spatial(NON_NEGATIVE),
                           "ignore_border": BOOL, "mode": {"enum": list(_MODES)}}))
def check_pool(layer):
    a = layer.attrs
    problem = lengths_problem(a, "pool_size", "stride", "pad", rank=layer.rank)
    if problem:
        return problem
    if any(p >= k for p, k in zip(a["pad"], a["pool_size"])):
        return f"pad {a['pad']} must be smaller than pool_size {a['pool_size']}"
    return None


@converter("Pool", emits=("MaxPool", "AveragePool"))
def convert_pool(spec, g):
    a = spec.attrs
    assert "pads" in a, "run the explicit_pads pass first"
    attrs = dict(kernel_shape=a["pool_size"], strides=a["stride"], pads=a["pads"], ceil_mode=a["ceil_mode"])
    if a["mode"] == "max":
        op = "MaxPool"
    else:
        op = "AveragePool"
        attrs["count_include_pad"] = int(a["count_include_pad"])
    return g.node(op, [g.input(spec)], spec.name, output=g.out(spec), **attrs)


_GLOBAL = {"mean": "GlobalAveragePool", "max": "GlobalMaxPool"}
_POOL_FUNCTIONS = {fn: (f"theano.tensor.{fn}",) for fn in ("mean", "max", "sum", "min")}


@capture_rule("GlobalPool", "GlobalPoolLayer")
def capture_global_pool(layer, ctx):
    fn = identify(layer.pool_function, _POOL_FUNCTIONS)
    if fn is None:
        raise ctx.unsupported(f"pool_function {describe_callable(layer.pool_function)!r} (supported: "
                              f"theano.tensor mean, max, sum, min)")
    if len(ctx.input_shape) < 3:
        raise ctx.unsupported("GlobalPoolLayer needs an input with at least 3 dimensions here")
    return {"pool_function": fn}


@attrs_schema("GlobalPool", obj({"pool_function": {"enum": sorted(_POOL_FUNCTIONS)}}))
def check_global_pool(layer):
    return None if layer.rank >= 3 else "GlobalPoolLayer needs an input with at least 3 dimensions here"


@converter("GlobalPool", emits=(*_GLOBAL.values(), "Flatten", "ReduceSum", "ReduceMin"))
def convert_global_pool(spec, g):
    fn = spec.attrs["pool_function"]
    x = g.input(spec)
    if fn in _GLOBAL:
        y = g.node(_GLOBAL[fn], [x], spec.name)
        return g.node("Flatten", [y], spec.name, output=g.out(spec), axis=1)
    rank = len(g.input_shape(spec))
    op = {"sum": "ReduceSum", "min": "ReduceMin"}[fn]
    return g.reduce(op, x, list(range(2, rank)), spec.name, keepdims=False, output=g.out(spec))
