"""Spatial pyramid pooling: SpatialPyramidPoolingLayer ('fast' and 'kaiming') and
SpatialPyramidPoolingDNNLayer (cuDNN's, computed as 'fast').  For every ``d`` of ``pool_dims`` each
channel is pooled into d x d bins (max, or a plain mean for both 'average_*' modes: no padding is
involved), flattened row-major and concatenated: output (batch, channels, sum(d*d)).

* 'fast' (and cuDNN): windows of ``ceil(size / d)`` every ``size // d`` pixels, as Theano's pool_2d /
  dnn_pool with ignore_border.  That yields d bins only for some sizes: a known size where it does
  not is refused (Theano's output would not have the shape Lasagne declares); with an unknown size
  the d bins Lasagne declares are computed from the run-time size.
* 'kaiming': bin r of n spans ``floor(r / n * size)`` to ``ceil((r + 1) / n * size)``, computed as
  Theano does (from the run-time size when it is unknown): with floatX=float32 the Python float
  ``r / n`` becomes a float32 constant, multiplied by the int64 size in float64 (so 1/3 of 9 is
  3.0000001 and that bin ends at 4, not 3).

Known sizes lower 'fast' to MaxPool / AveragePool + Reshape; everything else to Slice + ReduceMax /
ReduceMean per bin.
"""
import math

from ..registry import attrs_schema, capture_rule, converter
from ..schema import POSITIVE, array, obj

_MODES = ("max", "average_inc_pad", "average_exc_pad")


def _capture(layer, ctx, implementation):
    mode = layer.mode
    if mode not in _MODES:
        raise ctx.unsupported(f"mode {mode!r} (Lasagne knows {', '.join(_MODES)})")
    dims = [int(d) for d in layer.pool_dims]
    if implementation == "fast":
        for axis, size in zip(("height", "width"), ctx.input_shape[2:]):
            for d in dims:
                if size is not None and _fast_bins(size, d) != d:
                    raise ctx.unsupported(
                        f"pool_dims {d} on an input {axis} of {size}: Theano's pooling with window "
                        f"{-(-size // d)} and stride {size // d} does not give {d} bins, so Lasagne's output is not "
                        f"the shape it declares (implementation='kaiming' works for any size)")
    return {"pool_dims": dims, "mode": mode, "implementation": implementation}


def _fast_bins(size, d):
    win, stride = -(-size // d), size // d
    return 0 if stride == 0 else (size - win) // stride + 1


@capture_rule("SpatialPyramidPooling", "SpatialPyramidPoolingLayer")
def capture_spp(layer, ctx):
    implementation = getattr(layer, "implementation", "fast")
    if implementation not in ("fast", "kaiming"):
        raise ctx.unsupported(f"implementation={implementation!r} (Lasagne knows 'fast' and 'kaiming')")
    return _capture(layer, ctx, implementation)


@capture_rule("SpatialPyramidPooling", "SpatialPyramidPoolingDNNLayer")
def capture_spp_dnn(layer, ctx):
    return _capture(layer, ctx, "fast")  # dnn_pool with the 'fast' windows and strides, no padding


@attrs_schema("SpatialPyramidPooling", obj({"pool_dims": array(POSITIVE, 1), "mode": {"enum": list(_MODES)},
                                             "implementation": {"enum": ["fast", "kaiming"]}}))
def check_spp(layer):
    a = layer.attrs
    if layer.rank != 4:
        return f"a {layer.rank}-d input (SpatialPyramidPoolingLayer needs (batch, channels, height, width))"
    if a["implementation"] == "fast":
        for size in layer.input_shape[2:]:
            bad = [d for d in a["pool_dims"] if size is not None and _fast_bins(size, d) != d]
            if bad:
                return (f"pool_dims {bad[0]} on an input size of {size}: 'fast' pooling (window {-(-size // bad[0])}, "
                        f"stride {size // bad[0]}) does not give {bad[0]} bins")
    bins = sum(d * d for d in a["pool_dims"])
    if len(layer.output_shape) != 3 or layer.output_shape[2] != bins:
        return f"output_shape {list(layer.output_shape)} is not (batch, channels, {bins}), the bins of pool_dims"
    return None


@converter("SpatialPyramidPooling", emits=("MaxPool", "AveragePool", "Reshape", "Concat", "Slice", "ReduceMax",
                                           "ReduceMean", "Shape", "Gather", "Cast", "Mul", "Floor", "Ceil", "Div",
                                           "Add", "Constant", "Identity"))
def convert_spp(spec, g):
    a = spec.attrs
    x = g.input(spec)
    sizes = g.input_shape(spec)[2:]
    levels = []
    for d in a["pool_dims"]:
        if a["implementation"] == "fast" and None not in sizes:
            win = [-(-s // d) for s in sizes]
            op = "MaxPool" if a["mode"] == "max" else "AveragePool"
            pooled = g.node(op, [x], spec.name, kernel_shape=win, strides=[s // d for s in sizes])
            levels.append(g.node("Reshape", [pooled, g.ints(f"{spec.name}.level_shape", [0, 0, d * d])], spec.name))
            continue
        edges = [_edges(spec, g, x, axis, size, d, a["implementation"]) for axis, size in ((2, sizes[0]), (3, sizes[1]))]
        reduce = "ReduceMax" if a["mode"] == "max" else "ReduceMean"
        bins = []
        for start_h, end_h in edges[0]:
            for start_w, end_w in edges[1]:
                region = g.node("Slice", [x, _pair(g, spec, start_h, start_w, "starts"), _pair(g, spec, end_h, end_w, "ends"),
                                          g.ints(f"{spec.name}.axes", [2, 3])], spec.name)
                bins.append(g.reduce(reduce, region, [2, 3], spec.name))  # (N, C, 1, 1)
        level = bins[0] if len(bins) == 1 else g.node("Concat", bins, spec.name, axis=2)
        levels.append(g.node("Reshape", [level, g.ints(f"{spec.name}.level_shape", [0, 0, d * d])], spec.name))
    if len(levels) == 1:
        return g.node("Identity", levels, spec.name, output=g.out(spec))
    return g.node("Concat", levels, spec.name, output=g.out(spec), axis=2)


def _pair(g, spec, h, w, what):
    if isinstance(h, int) and isinstance(w, int):
        return g.ints(f"{spec.name}.{what}", [h, w])
    return g.node("Concat", [v if isinstance(v, str) else g.ints(f"{spec.name}.{what}", [v]) for v in (h, w)],
                  spec.name, axis=0)


def _edges(spec, g, x, axis, size, d, implementation):
    """[(start, end)] of the d bins along ``axis``: ints for a known size, else 1-D int64 ONNX values."""
    if size is not None:
        if implementation == "kaiming":
            return [(math.floor(_theano_fraction(r, d) * size), math.ceil(_theano_fraction(r + 1, d) * size))
                    for r in range(d)]
        win, stride = -(-size // d), size // d
        return [(r * stride, r * stride + win) for r in range(d)]
    from onnx import TensorProto  # here: capture rules import in the legacy environment, which has no onnx

    n = g.node("Gather", [g.shape(x, spec.name), g.ints(f"{spec.name}.axis", [axis])], spec.name, axis=0)
    if implementation == "kaiming":
        real = g.node("Cast", [n], spec.name, to=TensorProto.DOUBLE)

        def at(fraction, rounding):
            v = g.node("Mul", [real, _double(g, spec, fraction)], spec.name)
            return g.node("Cast", [g.node(rounding, [v], spec.name)], spec.name, to=TensorProto.INT64)

        return [(at(_theano_fraction(r, d), "Floor"), at(_theano_fraction(r + 1, d), "Ceil")) for r in range(d)]
    stride = g.node("Div", [n, g.ints(f"{spec.name}.d", [d])], spec.name)
    win = g.node("Div", [g.node("Add", [n, g.ints(f"{spec.name}.d_1", [d - 1])], spec.name),
                         g.ints(f"{spec.name}.d", [d])], spec.name)
    starts = [g.node("Mul", [stride, g.ints(f"{spec.name}.r", [r])], spec.name) for r in range(d)]
    return [(s, g.node("Add", [s, win], spec.name)) for s in starts]


def _theano_fraction(r, d) -> float:
    """``r / float(d)`` as a Theano constant under floatX=float32: rounded to float32."""
    import numpy as np

    return float(np.float32(r / float(d)))


def _double(g, spec, v):
    """A float64 scalar constant (a Constant node: initializers made by ``g.constant`` are float32)."""
    import numpy as np
    from onnx import numpy_helper

    return g.node("Constant", [], spec.name, value=numpy_helper.from_array(np.array([v], dtype=np.float64)))
