"""The few Keras layers that Keras itself lacks, registered as ``lasagne2onnx>Name``.

The Keras importer uses built-in layers wherever one computes the op exactly; these cover the rest:
an elementwise op with a constant (trainable) tensor (Lasagne BiasLayer / ScaleLayer, untied biases,
the affine batch-norm form), padding with a value or by reflection, local response normalisation, and
Lasagne's dilating upscale and a spatial sum for inputs of unknown spatial size.

This module is self-contained (Keras 3 and the standard library only; any Keras backend): ``to-keras``
writes a copy of it beside a model that uses one of its layers, as ``lasagne2onnx_keras_layers.py``,
so that plain Keras loads the model, under TensorFlow too, after ``import lasagne2onnx_keras_layers``
(or ``import exporter.importers.keras_layers`` where lasagne2onnx is installed).
"""
from __future__ import annotations

import functools
import itertools
import math
import operator

import keras
from keras import ops

PACKAGE = "lasagne2onnx"


def _add(a, b):
    """``a + b``, computed as ``a - (-b)`` (the same IEEE result): Keras' TensorFlow backend turns
    ``ops.add`` of a vector-like ``b`` into ``tf.nn.bias_add`` with a layout guessed from the shapes,
    which adds along the wrong axis when two axes have the vector's length."""
    return ops.subtract(a, ops.negative(b))


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConstantOp(keras.layers.Layer):
    """``x <op> value`` (or ``value <op> x`` when ``reverse``) with a weight ``value`` of ``shape``."""

    OPS = ("add", "sub", "mul", "div", "max", "min")

    def __init__(self, op, shape, reverse=False, **kwargs):
        super().__init__(**kwargs)
        if op not in self.OPS:
            raise ValueError(f"unknown op {op!r}")
        self.op, self.shape, self.reverse = op, tuple(int(d) for d in shape), bool(reverse)
        self.value = self.add_weight(name="value", shape=self.shape, initializer="zeros",
                                     trainable=op in ("add", "sub", "mul"))

    def call(self, x):
        a, b = (self.value, x) if self.reverse else (x, self.value)
        fn = {"add": _add, "sub": ops.subtract, "mul": ops.multiply, "div": ops.divide, "max": ops.maximum,
              "min": ops.minimum}[self.op]
        return fn(a, b)

    def compute_output_shape(self, input_shape):
        rank = max(len(input_shape), len(self.shape))
        a = (None,) * (rank - len(input_shape)) + tuple(input_shape)
        b = (1,) * (rank - len(self.shape)) + self.shape
        return tuple(x if y == 1 else y if x == 1 else x for x, y in zip(a, b))

    def get_config(self):
        return {**super().get_config(), "op": self.op, "shape": list(self.shape), "reverse": self.reverse}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Pad(keras.layers.Layer):
    """ONNX Pad on every axis but the batch: ``pads`` = [(begin, end), ...] per non-batch axis."""

    def __init__(self, pads, mode="constant", value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.pads = [[int(b), int(e)] for b, e in pads]
        self.mode, self.value = mode, float(value)

    def call(self, x):
        if self.mode == "constant":
            return ops.pad(x, [[0, 0]] + self.pads, mode="constant", constant_values=self.value)
        if self.mode == "reflect":
            return ops.pad(x, [[0, 0]] + self.pads, mode="reflect")
        for axis, (b, e) in enumerate(self.pads, start=1):  # edge: repeat the border slices
            parts = []
            if b:
                parts.append(ops.repeat(ops.take(x, ops.arange(0, 1), axis=axis), b, axis=axis))
            parts.append(x)
            if e:
                n = x.shape[axis]
                parts.append(ops.repeat(ops.take(x, ops.arange(n - 1, n), axis=axis), e, axis=axis))
            x = ops.concatenate(parts, axis=axis) if len(parts) > 1 else x
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(None if d is None else d + b + e
                                         for d, (b, e) in zip(input_shape[1:], self.pads))

    def get_config(self):
        return {**super().get_config(), "pads": self.pads, "mode": self.mode, "value": self.value}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LocalResponseNormalization(keras.layers.Layer):
    """ONNX LRN: ``x / (bias + alpha / size * sum over a window of size channels of x**2) ** beta``."""

    def __init__(self, size, alpha=1e-4, beta=0.75, bias=1.0, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.bias, self.axis = int(size), float(alpha), float(beta), \
            float(bias), int(axis)

    def call(self, x):
        rank = len(x.shape)
        axis = self.axis % rank
        sq = ops.square(x)
        lo, hi = (self.size - 1) // 2, self.size - 1 - (self.size - 1) // 2
        pads = [[0, 0]] * rank
        pads[axis] = [lo, hi]
        sq = ops.pad(sq, pads)
        n = x.shape[axis]
        if n is None:
            raise ValueError("LocalResponseNormalization needs a known number of channels")
        total = None
        for k in range(self.size):
            part = ops.take(sq, ops.arange(k, k + n), axis=axis)
            total = part if total is None else total + part
        return x / ops.power(self.bias + (self.alpha / self.size) * total, self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta,
                "bias": self.bias, "axis": self.axis}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PaddedPooling(keras.layers.Layer):
    """Max / average pooling with explicit per-side padding that Keras' 'valid'/'same' cannot express.

    Max pools over ``-inf`` padding; average pooling divides by the number of real elements in each
    window (``count_include_pad=0``) or by the window size (``include_pad=True``).
    """

    def __init__(self, kind, pool_size, strides, pads, data_format="channels_last", include_pad=False, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.pool_size, self.strides = kind, tuple(pool_size), tuple(strides)
        self.pads = [[int(b), int(e)] for b, e in pads]
        self.data_format, self.include_pad = data_format, bool(include_pad)

    def _pad(self, x, value):
        spatial = list(self.pads)
        full = [[0, 0]] + (spatial + [[0, 0]] if self.data_format == "channels_last" else [[0, 0]] + spatial)
        return ops.pad(x, full, mode="constant", constant_values=value)

    def call(self, x):
        kw = dict(pool_size=self.pool_size, strides=self.strides, padding="valid", data_format=self.data_format)
        if self.kind == "max":
            return ops.max_pool(self._pad(x, float("-inf")), **kw)
        total = ops.average_pool(self._pad(x, 0.0), **kw)
        if self.include_pad:
            return total
        ch = -1 if self.data_format == "channels_last" else 1
        ones = ops.ones_like(ops.take(x, ops.arange(0, 1), axis=ch))
        return total / ops.average_pool(self._pad(ones, 0.0), **kw)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "pool_size": list(self.pool_size),
                "strides": list(self.strides), "pads": self.pads, "data_format": self.data_format,
                "include_pad": self.include_pad}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SliceAxis(keras.layers.Layer):
    """``x[..., start:stop:step, ...]`` on one non-batch ``axis``, where no Cropping layer applies."""

    def __init__(self, axis, start, stop, step=1, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.start, self.stop, self.step = int(axis), int(start), int(stop), int(step)

    def call(self, x):
        return ops.take(x, ops.arange(self.start, self.stop, self.step), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = len(range(self.start, self.stop, self.step))
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "start": self.start, "stop": self.stop,
                "step": self.step}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Reverse(keras.layers.Layer):
    """``x`` reversed along one non-batch ``axis`` (a backwards recurrent layer's outputs back in input order)."""

    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, x):
        return ops.flip(x, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchState(keras.layers.Layer):
    """A recurrent layer's initial state: a vector ``value`` of ``units``, the same for every example of
    the batch of ``x`` (Lasagne's ``hid_init`` / ``cell_init``; trainable only if ``learn``: ONNX does not
    record Lasagne's ``learn_init``, so the importer leaves it fixed, as to-torch's buffer)."""

    def __init__(self, units, learn=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.learn = int(units), bool(learn)
        self.value = self.add_weight(name="value", shape=(self.units,), initializer="zeros", trainable=self.learn)

    def call(self, x):
        return ops.broadcast_to(ops.expand_dims(ops.convert_to_tensor(self.value), 0), (ops.shape(x)[0], self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "learn": self.learn}


def _spatial_axes(rank, data_format):
    return list(range(1, rank - 1)) if data_format == "channels_last" else list(range(2, rank))


@keras.saving.register_keras_serializable(package=PACKAGE)
class Dilate(keras.layers.Layer):
    """Lasagne's Upscale ``mode='dilate'``: each input element at every ``factor``-th position of the
    spatial axes, zeros in between and after the last one (output size = size * factor).  Needs no
    static spatial size."""

    def __init__(self, factors, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.factors, self.data_format = [int(f) for f in factors], data_format

    def call(self, x):
        rank = len(x.shape)
        axes = _spatial_axes(rank, self.data_format)
        shape = ops.shape(x)
        y = x
        for a in reversed(axes):  # a unit axis behind each spatial axis
            y = ops.expand_dims(y, a + 1)
        pads = [[0, 0] for _ in range(rank + len(axes))]
        for i, (a, f) in enumerate(zip(axes, self.factors)):
            pads[a + i + 1] = [0, f - 1]
        y = ops.pad(y, pads, mode="constant", constant_values=0.0)
        target = [-1] + [shape[a] * self.factors[axes.index(a)] if a in axes else shape[a] for a in range(1, rank)]
        return ops.reshape(y, target)

    def compute_output_shape(self, input_shape):
        axes = _spatial_axes(len(input_shape), self.data_format)
        return tuple(d * self.factors[axes.index(a)] if a in axes and d is not None else d
                     for a, d in enumerate(input_shape))

    def get_config(self):
        return {**super().get_config(), "factors": list(self.factors), "data_format": self.data_format}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GlobalSumPooling(keras.layers.Layer):
    """The sum over all spatial axes (ONNX ReduceSum of them), for inputs whose spatial size is unknown,
    where a global average times the element count cannot be written."""

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.keepdims = data_format, bool(keepdims)

    def call(self, x):
        return ops.sum(x, axis=_spatial_axes(len(x.shape), self.data_format), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = _spatial_axes(len(input_shape), self.data_format)
        if self.keepdims:
            return tuple(1 if a in axes else d for a, d in enumerate(input_shape))
        return tuple(d for a, d in enumerate(input_shape) if a not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


def _reduce(kind):
    def fn(x, axes, keepdims):
        axes = tuple(axes)
        if kind == "sum_square":
            return ops.sum(ops.multiply(x, x), axis=axes, keepdims=keepdims)
        if kind == "l1":
            return ops.sum(ops.abs(x), axis=axes, keepdims=keepdims)
        if kind == "l2":
            return ops.sqrt(ops.sum(ops.multiply(x, x), axis=axes, keepdims=keepdims))
        return getattr(ops, {"log_sum_exp": "logsumexp"}.get(kind, kind))(x, axis=axes, keepdims=keepdims)

    return fn


def _arg(fn):
    def arg(x, axis, keepdims, last=False):
        if last:  # the last extreme: the first one of the reversed axis
            n = ops.shape(x)[axis]
            return ops.subtract(n - 1, ops.cast(fn(ops.flip(x, axis=axis), axis=axis, keepdims=keepdims), "int64"))
        return ops.cast(fn(x, axis=axis, keepdims=keepdims), "int64")  # keras gives int32; ONNX int64

    return arg


def _expand(x, shape):
    """ONNX Expand (numpy broadcasting of x against ``shape``), shape computed at run time."""
    have = list(ops.shape(x))
    rank = max(len(have), len(shape))
    have = [1] * (rank - len(have)) + have
    shape = [1] * (rank - len(shape)) + list(shape)
    return ops.broadcast_to(x, [_broadcast_dim(h, s) for h, s in zip(have, shape)])


def _broadcast_dim(have, want):
    """One axis of ONNX Expand: ``want`` a size or (TensorFlow, traced) a symbolic one, which is not
    compared with 1: it is the size unless ``x``'s own is a known one other than 1."""
    if isinstance(want, int):
        return have if want == 1 else want
    return want if have is None or isinstance(have, int) and have == 1 else have


# ONNX op name -> keras.ops computation of its operands (params: the op's fixed arguments)
ONNX_OPS = {
    "Abs": ops.abs, "Ceil": ops.ceil, "Floor": ops.floor, "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt,
    "Neg": ops.negative, "Reciprocal": lambda x: ops.divide(ops.ones_like(x), x), "Sin": ops.sin, "Cos": ops.cos,
    "Tan": ops.tan, "Asin": ops.arcsin, "Acos": ops.arccos, "Atan": ops.arctan, "Sinh": ops.sinh, "Cosh": ops.cosh,
    "Erf": ops.erf, "Sign": ops.sign, "Round": ops.round, "Not": ops.logical_not, "IsNaN": ops.isnan,
    "Acosh": ops.arccosh, "Asinh": ops.arcsinh, "Atanh": ops.arctanh,
    "IsInf": lambda x, detect_negative=1, detect_positive=1: ops.logical_and(
        ops.isinf(x), ops.logical_or(ops.greater(x, 0) if detect_positive else ops.zeros_like(x, "bool"),
                                     ops.less(x, 0) if detect_negative else ops.zeros_like(x, "bool"))),
    "Div": ops.divide, "Pow": ops.power, "Equal": ops.equal, "Less": ops.less, "Greater": ops.greater,
    "LessOrEqual": ops.less_equal, "GreaterOrEqual": ops.greater_equal, "And": ops.logical_and,
    "Or": ops.logical_or, "Xor": ops.logical_xor, "Where": ops.where, "MatMul": ops.matmul,
    "Clip": lambda x, min=None, max=None: ops.clip(x, float("-inf") if min is None else min,
                                                    float("inf") if max is None else max),
    "HardSigmoid": lambda x, alpha, beta: ops.clip(ops.add(ops.multiply(x, alpha), beta), 0.0, 1.0),
    "Cast": lambda x, dtype: ops.cast(x, dtype),
    "LogSoftmax": lambda x, axis: ops.log_softmax(x, axis=axis),
    "ArgMax": _arg(ops.argmax), "ArgMin": _arg(ops.argmin),
    "ReduceSum": _reduce("sum"), "ReduceMean": _reduce("mean"), "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"), "ReduceProd": _reduce("prod"), "ReduceL1": _reduce("l1"), "ReduceL2": _reduce("l2"),
    "ReduceSumSquare": _reduce("sum_square"), "ReduceLogSumExp": _reduce("log_sum_exp"),
    "Gather": lambda x, indices, axis: ops.take(x, ops.convert_to_tensor(indices, "int64"), axis=axis),
    "Tile": lambda x, repeats: ops.tile(x, repeats),
    "Expand": _expand,
    "Sum": lambda *xs: functools.reduce(ops.add, xs),
    "Mean": lambda *xs: ops.divide(functools.reduce(ops.add, xs), len(xs)),
}


@keras.saving.register_keras_serializable(package=PACKAGE)
class OnnxOp(keras.layers.Layer):
    """One ONNX op where Keras has no layer computing it exactly, as the keras.ops call of
    :data:`ONNX_OPS`.  ``operands`` lists the op's inputs in order: ``"x"`` for the layer's inputs (in
    the order given), ``"c"`` for a constant, held as a non-trainable weight (their ``const_shapes`` /
    ``const_dtypes``); ``params`` are the op's fixed arguments (axes, dtype...)."""

    def __init__(self, op, operands=("x",), params=None, const_shapes=(), const_dtypes=(), **kwargs):
        super().__init__(**kwargs)
        if op not in ONNX_OPS:
            raise ValueError(f"unknown op {op!r}")
        self.op, self.operands, self.params = op, list(operands), dict(params or {})
        self.const_shapes = [tuple(int(d) for d in s) for s in const_shapes]
        self.const_dtypes = list(const_dtypes)
        self.consts = [self.add_weight(name=f"const{i}", shape=s, dtype=d, initializer="zeros", trainable=False)
                       for i, (s, d) in enumerate(zip(self.const_shapes, self.const_dtypes))]

    def call(self, inputs):
        xs = iter(inputs if isinstance(inputs, (list, tuple)) else [inputs])
        cs = iter(self.consts)
        args = [next(xs) if kind == "x" else ops.convert_to_tensor(next(cs)) for kind in self.operands]
        return ONNX_OPS[self.op](*args, **self.params)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "operands": self.operands, "params": self.params,
                "const_shapes": [list(s) for s in self.const_shapes], "const_dtypes": self.const_dtypes}


# -- traced layers: a custom layer's ONNX ops, evaluated in order with keras.ops ------------------------------
class _Host:
    """A small int or bool value held as Python numbers: the sizes traced code computes from ``x.shape``
    and its integer constants, so that reshapes, slices and broadcasts get plain sizes (an element may be
    a symbolic scalar where a size is unknown until run time, as under TensorFlow's graph mode).
    ``flat``: the elements in row-major order."""

    def __init__(self, flat, shape, dtype="int64"):
        self.flat, self.shape, self.dtype = list(flat), tuple(int(d) for d in shape), dtype

    def at(self, pos):
        i = 0
        for d, p in zip(self.shape, pos):
            i = i * d + p
        return self.flat[i]


def _positions(shape):
    return itertools.product(*[range(d) for d in shape])


def _python(*xs):
    return all(isinstance(x, (bool, int, float)) for x in xs)


def _elementwise(py, tensor):
    """An element operation: ``py`` on Python numbers, ``tensor`` (keras.ops) on symbolic scalars."""
    return lambda *xs: py(*xs) if _python(*xs) else tensor(*xs)


def _trunc_div(a, b):
    """ONNX's Div of integers: the quotient rounded toward zero."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


_HOST_BINARY = {
    "Add": _elementwise(operator.add, ops.add), "Sub": _elementwise(operator.sub, ops.subtract),
    "Mul": _elementwise(operator.mul, ops.multiply),
    "Div": _elementwise(_trunc_div, lambda a, b: ops.sign(a) * ops.sign(b) * (ops.abs(a) // ops.abs(b))),
    "Max": _elementwise(max, ops.maximum), "Min": _elementwise(min, ops.minimum),
    "Equal": _elementwise(operator.eq, ops.equal), "Less": _elementwise(operator.lt, ops.less),
    "Greater": _elementwise(operator.gt, ops.greater), "LessOrEqual": _elementwise(operator.le, ops.less_equal),
    "GreaterOrEqual": _elementwise(operator.ge, ops.greater_equal),
    "And": _elementwise(lambda a, b: bool(a and b), ops.logical_and),
    "Or": _elementwise(lambda a, b: bool(a or b), ops.logical_or),
    "Xor": _elementwise(lambda a, b: bool(a) != bool(b), ops.logical_xor)}
_BOOL_RESULTS = ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not")


def _host_map(fn, hosts, dtype):
    """``fn`` elementwise over ``hosts``, broadcast as numpy broadcasts."""
    rank = max(len(h.shape) for h in hosts)
    shapes = [(1,) * (rank - len(h.shape)) + h.shape for h in hosts]
    out = tuple(max(s[i] for s in shapes) if all(s[i] for s in shapes) else 0 for i in range(rank))
    flat = []
    for pos in _positions(out):
        flat.append(fn(*[h.flat[_flat_index(s, [p if d > 1 else 0 for p, d in zip(pos, s)])]
                         for h, s in zip(hosts, shapes)]))
    return _Host(flat, out, dtype)


def _flat_index(shape, pos):
    i = 0
    for d, p in zip(shape, pos):
        i = i * d + p
    return i


def _host_take(h, idx, axis):
    axis %= len(h.shape)
    k = len(idx.shape)
    out = h.shape[:axis] + idx.shape + h.shape[axis + 1:]
    flat = []
    for pos in _positions(out):
        i = idx.at(pos[axis:axis + k])
        i = i + h.shape[axis] if i < 0 else i
        flat.append(h.at(pos[:axis] + (i,) + pos[axis + k:]))
    return _Host(flat, out, h.dtype)


def _host_slice(h, starts, ends, axes, steps):
    ranges = [range(d) for d in h.shape]
    for a, s, e, st in zip(axes, starts, ends, steps):
        ranges[a % len(h.shape)] = range(*slice(s, e, st).indices(h.shape[a % len(h.shape)]))
    flat = [h.at(pos) for pos in itertools.product(*ranges)]
    return _Host(flat, [len(r) for r in ranges], h.dtype)


def _host_concat(hosts, axis):
    axis %= len(hosts[0].shape)
    sizes = [h.shape[axis] for h in hosts]
    out = hosts[0].shape[:axis] + (sum(sizes),) + hosts[0].shape[axis + 1:]
    flat = []
    for pos in _positions(out):
        i, part = pos[axis], 0
        while i >= sizes[part]:
            i, part = i - sizes[part], part + 1
        flat.append(hosts[part].at(pos[:axis] + (i,) + pos[axis + 1:]))
    return _Host(flat, out, hosts[0].dtype)


def _host_reduce(fn, h, axes, keepdims):
    axes = sorted(a % len(h.shape) for a in axes)
    kept = tuple(1 if a in axes else d for a, d in enumerate(h.shape))
    flat = []
    for pos in _positions(kept):
        ranges = [range(d) if a in axes else [p] for a, (d, p) in enumerate(zip(h.shape, pos))]
        flat.append(functools.reduce(fn, [h.at(q) for q in itertools.product(*ranges)]))
    shape = kept if keepdims else tuple(d for a, d in enumerate(h.shape) if a not in axes)
    return _Host(flat, shape, h.dtype)


def _cast_element(dtype):
    if dtype == "bool":
        return _elementwise(bool, lambda x: ops.cast(x, "bool"))
    if dtype.startswith(("int", "uint")):
        return _elementwise(int, lambda x: ops.cast(x, dtype))
    return None


def _to_tensor(v):
    """``v`` (a tensor, a :class:`_Host` or None) as a tensor."""
    if not isinstance(v, _Host):
        return v
    if _python(*v.flat):
        return ops.reshape(ops.convert_to_tensor(v.flat, v.dtype), v.shape)
    return ops.reshape(ops.stack([ops.cast(e, v.dtype) for e in v.flat]), v.shape)


def _values(v):
    """The elements of a small int value, as a list (for sizes, axes, bounds)."""
    if isinstance(v, _Host):
        return list(v.flat)
    flat = ops.reshape(v, (-1,))
    if keras.backend.backend() in ("torch", "numpy", "jax"):  # eager: plain ints
        return [int(e) for e in ops.convert_to_numpy(flat).reshape(-1).tolist()]
    return [flat[i] for i in range(int(flat.shape[0]))]


def _host_op(op, args, attrs):
    """The :class:`_Host` result of ``op`` on Host arguments, or None when it is computed as a tensor."""
    hosts = [a for a in args if a is not None]
    if op == "Identity":
        return hosts[0]
    if op in _HOST_BINARY and len(hosts) == 2:
        dtype = "bool" if op in _BOOL_RESULTS else hosts[0].dtype
        return _host_map(_HOST_BINARY[op], hosts, dtype)
    if op == "Neg":
        return _host_map(_elementwise(operator.neg, ops.negative), hosts, hosts[0].dtype)
    if op == "Not":
        return _host_map(_elementwise(lambda a: not a, ops.logical_not), hosts, "bool")
    if op == "Where":
        return _host_map(_elementwise(lambda c, a, b: a if c else b, ops.where), hosts, hosts[1].dtype)
    if op == "Cast":
        cast = _cast_element(attrs["to"])
        return None if cast is None else _host_map(cast, hosts, attrs["to"])
    if op == "Gather":
        return _host_take(hosts[0], hosts[1], attrs.get("axis", 0))
    if op == "Concat":
        return _host_concat(hosts, attrs["axis"])
    if op == "Slice":
        starts, ends = args[1].flat, args[2].flat
        axes = args[3].flat if len(args) > 3 and args[3] is not None else list(range(len(starts)))
        steps = args[4].flat if len(args) > 4 and args[4] is not None else [1] * len(starts)
        if not _python(*starts, *ends):
            return None
        return _host_slice(hosts[0], starts, ends, axes, steps)
    if op in ("Unsqueeze", "Squeeze"):
        shape = list(hosts[0].shape)
        axes = _axes(args, attrs)
        if op == "Squeeze":
            axes = [a % len(shape) for a in (axes or [i for i, d in enumerate(shape) if d == 1])]
            return _Host(hosts[0].flat, [d for i, d in enumerate(shape) if i not in axes], hosts[0].dtype)
        rank = len(shape) + len(axes)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        return _Host(hosts[0].flat, shape, hosts[0].dtype)
    if op in ("ReduceMin", "ReduceMax", "ReduceSum", "ReduceProd"):
        axes = _axes(args, attrs) or list(range(len(hosts[0].shape)))
        fn = {"ReduceMin": _HOST_BINARY["Min"], "ReduceMax": _HOST_BINARY["Max"], "ReduceSum": _HOST_BINARY["Add"],
              "ReduceProd": _HOST_BINARY["Mul"]}[op]
        return _host_reduce(fn, hosts[0], axes, attrs.get("keepdims", 1))
    return None


def _axes(args, attrs):
    """An op's axes: its second input (the builder moves an ``axes`` attribute there), None when absent."""
    return _values(args[1]) if len(args) > 1 and args[1] is not None else None


def _sizes(v):
    """A shape-like value as a list of sizes (ints where they are known)."""
    return _values(v)


def _int_div(a, b):
    """ONNX's Div: truncating for integers (keras.ops.divide would give floats)."""
    if "int" in str(a.dtype):
        q = ops.floor_divide(ops.abs(a), ops.abs(b))
        return ops.where(ops.not_equal(ops.less(a, 0), ops.less(b, 0)), ops.negative(q), q)
    return ops.divide(a, b)


def _channels_last(x):
    return ops.transpose(x, [0] + list(range(2, len(x.shape))) + [1])


def _channels_first(x):
    return ops.transpose(x, [0, len(x.shape) - 1] + list(range(1, len(x.shape) - 1)))


def _pad_spatial(x, begins, ends, value):
    """Pad the spatial axes of a channels-first ``x``."""
    if not any(begins) and not any(ends):
        return x
    return ops.pad(x, [[0, 0], [0, 0]] + [[b, e] for b, e in zip(begins, ends)], mode="constant", constant_values=value)


def _conv(x, w, bias=None, kernel_shape=None, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET"):
    """ONNX Conv: explicit pads, then keras.ops.conv (channels last, as every backend computes it on CPU)."""
    nd = len(w.shape) - 2
    pads = pads or [0] * (2 * nd)
    x = _pad_spatial(x, pads[:nd], pads[nd:], 0.0)
    kernel = ops.transpose(w, list(range(2, nd + 2)) + [1, 0])  # (O, I, k...) -> (k..., I, O)
    y = ops.conv(_channels_last(x), kernel, strides=tuple(strides or [1] * nd), padding="valid",
                 data_format="channels_last", dilation_rate=tuple(dilations or [1] * nd))
    y = _channels_first(y)
    return y if bias is None else _add(y, ops.reshape(bias, [1, -1] + [1] * nd))


def _conv_transpose(x, w, bias=None, kernel_shape=None, strides=None, pads=None, dilations=None, group=1,
                    auto_pad="NOTSET", output_padding=None, output_shape=None):
    """ONNX ConvTranspose (group 1, explicit pads): keras.ops.conv_transpose unpadded ('valid', the
    output padding added at the end), then the pads cropped from each side."""
    nd = len(w.shape) - 2
    pads = pads or [0] * (2 * nd)
    kernel = ops.transpose(w, list(range(2, nd + 2)) + [1, 0])  # (I, O, k...) -> (k..., O, I)
    out_pad = tuple(output_padding) if output_padding and any(output_padding) else None
    y = ops.conv_transpose(_channels_last(x), kernel, strides=tuple(strides or [1] * nd), padding="valid",
                           output_padding=out_pad, data_format="channels_last",
                           dilation_rate=tuple(dilations or [1] * nd))
    y = _channels_first(y)
    if any(pads):
        y = y[(slice(None), slice(None)) + tuple(slice(b, -e if e else None) for b, e in zip(pads[:nd], pads[nd:]))]
    return y if bias is None else _add(y, ops.reshape(bias, [1, -1] + [1] * nd))


def _pooled_size(size, k, s, pb, pe, ceil):
    """onnxruntime's pooled length; in ceil mode a window that would start in the end padding is dropped."""
    span = size + pb + pe - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + pb:
        out -= 1
    return out


def _pool(kind):
    def pool(x, kernel_shape=None, strides=None, pads=None, ceil_mode=0, count_include_pad=0, dilations=None,
             storage_order=0, auto_pad="NOTSET"):
        nd = len(kernel_shape)
        strides, pads = strides or [1] * nd, pads or [0] * (2 * nd)
        sizes = list(x.shape[2:])
        begins, ends = pads[:nd], pads[nd:]
        outs = [_pooled_size(*a, ceil_mode) for a in zip(sizes, kernel_shape, strides, begins, ends)]
        reach = [max(0, (o - 1) * s + k - size - pb) for o, size, k, s, pb in zip(outs, sizes, kernel_shape, strides,
                                                                                  begins)]
        kw = dict(pool_size=tuple(kernel_shape), strides=tuple(strides), padding="valid", data_format="channels_last")
        if kind == "max":  # windows over -inf padding, sized to onnxruntime's count
            return _channels_first(ops.max_pool(_channels_last(_pad_spatial(x, begins, reach, float("-inf"))), **kw))
        if count_include_pad:  # the pads are zeros that count; the ceil overhang does not
            x = _pad_spatial(x, begins, [min(e, r) for e, r in zip(ends, reach)], 0.0)
            begins, reach = [0] * nd, [max(0, r - e) for r, e in zip(reach, ends)]
        total = ops.average_pool(_channels_last(_pad_spatial(x, begins, reach, 0.0)), **kw)
        if not any(begins) and not any(reach):
            return _channels_first(total)
        ones = ops.ones_like(ops.take(x, ops.arange(0, 1), axis=1))
        count = ops.average_pool(_channels_last(_pad_spatial(ones, begins, reach, 0.0)), **kw)
        return _channels_first(total / count)

    return pool


def _reshape(x, shape, allowzero=0):
    sizes = _sizes(shape)
    have = ops.shape(x)
    sizes = [have[i] if _python(s) and s == 0 and not allowzero else s for i, s in enumerate(sizes)]
    return ops.reshape(x, sizes)


def _slice(x, starts, ends, axes=None, steps=None):
    starts, ends = _sizes(starts), _sizes(ends)
    axes = list(range(len(starts))) if axes is None else _sizes(axes)
    steps = [1] * len(starts) if steps is None else _sizes(steps)
    rank = len(x.shape)
    index = [slice(None)] * rank
    for a, s, e, st in zip(axes, starts, ends, steps):
        a %= rank
        d = ops.shape(x)[a]
        if st < 0 and _python(d, s, e):  # torch slices forwards only: take the positions
            x = ops.take(x, ops.convert_to_tensor(list(range(*slice(s, e, st).indices(d))), "int64"), axis=a)
        else:
            index[a] = slice(s, e, st)
    return x[tuple(index)]


def _gather(x, indices, axis=0):
    axis %= len(x.shape)
    if isinstance(indices, _Host) and _python(*indices.flat):
        d = ops.shape(x)[axis]
        indices = _Host([i + d if i < 0 else i for i in indices.flat], indices.shape, indices.dtype)
        return ops.take(x, _to_tensor(indices), axis=axis)
    indices = _to_tensor(indices)
    return ops.take(x, ops.where(ops.less(indices, 0), indices + ops.shape(x)[axis], indices), axis=axis)


def _unsqueeze(x, axes):
    axes = _sizes(axes)
    rank = len(x.shape) + len(axes)
    for a in sorted(a % rank for a in axes):
        x = ops.expand_dims(x, a)
    return x


def _expand_to(x, shape):
    return _expand(x, _sizes(shape))


def _range(start, limit, delta):
    (start,), (limit,), (delta,) = _values(start), _values(limit), _values(delta)
    dtype = start.dtype if isinstance(start, _Host) else "int64"
    return ops.arange(start, limit, delta, dtype=dtype)


def _scatter_nd(data, indices, updates, reduction="none"):
    """ONNX ScatterND: ``data`` with the elements (or slices) at ``indices`` (..., k) replaced by ``updates``."""
    indices = _to_tensor(indices)
    k = int(indices.shape[-1])
    rest = list(data.shape[k:])
    return ops.scatter_update(data, ops.reshape(indices, (-1, k)), ops.reshape(updates, [-1] + rest))


def _cumsum(x, axis, exclusive=0, reverse=0):
    (axis,) = _values(axis)
    if reverse:
        x = ops.flip(x, axis=axis)
    if exclusive:  # [0, x0, x1, ...] without the last element: the same sums, one place later
        first = ops.zeros_like(ops.take(x, ops.arange(0, 1), axis=axis))
        x = ops.concatenate([first, ops.take(x, ops.arange(0, ops.shape(x)[axis] - 1), axis=axis)], axis=axis)
    y = ops.cumsum(x, axis=axis, dtype=x.dtype)
    return ops.flip(y, axis=axis) if reverse else y


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = ops.matmul(ops.transpose(a) if transA else a, ops.transpose(b) if transB else b)
    if alpha != 1.0:
        y = ops.multiply(y, alpha)
    if c is not None:
        y = _add(y, c if beta == 1.0 else ops.multiply(c, beta))
    return y


def _clip(x, lo=None, hi=None):
    """ONNX Clip: ``min(max(x, lo), hi)`` with either bound optional."""
    x = x if lo is None else ops.maximum(x, lo)
    return x if hi is None else ops.minimum(x, hi)


def _flatten(x, axis=1):
    """ONNX Flatten: a matrix of the axes before ``axis`` by those from it on."""
    shape = list(ops.shape(x))
    if axis == 0:
        return ops.reshape(x, [1, -1])
    if _python(*shape[axis:]):
        return ops.reshape(x, [-1, math.prod(shape[axis:])])
    return ops.reshape(x, [functools.reduce(operator.mul, shape[:axis]), -1])


def _squeeze(x, axes=None):
    return ops.squeeze(x) if axes is None else ops.squeeze(x, axis=tuple(_sizes(axes)))


def _shape(x, start=0, end=None):
    sizes = list(ops.shape(x))[start:end]
    return _Host(sizes, [len(sizes)])


def _variadic(fn):
    return lambda *xs: functools.reduce(fn, xs)


def _tensor_reduce(kind):
    reduce = _reduce(kind)

    def fn(x, axes=None, keepdims=1, noop_with_empty_axes=0):
        axes = [] if axes is None else _sizes(axes)
        if not axes:
            if noop_with_empty_axes:
                return x
            axes = list(range(len(x.shape)))
        return reduce(x, axes, bool(keepdims))

    return fn


# ONNX op -> its computation: positional arguments are the node's inputs (tensors, or _Host values where
# sizes are expected), keywords its attributes (as the builder writes them: Cast's ``to`` is a dtype name)
TRACED_OPS = {
    **{op: (lambda f: lambda x: f(x))(ONNX_OPS[op]) for op in (
        "Abs", "Ceil", "Floor", "Exp", "Log", "Sqrt", "Neg", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
        "Sinh", "Cosh", "Erf", "Sign", "Round", "Not", "IsNaN", "Acosh", "Asinh", "Atanh")},
    "IsInf": ONNX_OPS["IsInf"],
    "Relu": ops.relu, "Sigmoid": ops.sigmoid, "Tanh": ops.tanh, "Softplus": ops.softplus, "Softsign": ops.softsign,
    "LeakyRelu": lambda x, alpha=0.01: ops.leaky_relu(x, negative_slope=alpha),
    "Elu": lambda x, alpha=1.0: ops.elu(x, alpha=alpha),
    "HardSigmoid": lambda x, alpha=0.2, beta=0.5: ONNX_OPS["HardSigmoid"](x, alpha, beta),
    "Identity": lambda x: x,
    "Add": _add, "Sub": ops.subtract, "Mul": ops.multiply, "Div": _int_div, "Pow": ops.power,
    "Equal": ops.equal, "Less": ops.less, "Greater": ops.greater, "LessOrEqual": ops.less_equal,
    "GreaterOrEqual": ops.greater_equal, "And": ops.logical_and, "Or": ops.logical_or, "Xor": ops.logical_xor,
    "BitwiseAnd": ops.bitwise_and, "BitwiseOr": ops.bitwise_or, "BitwiseXor": ops.bitwise_xor,
    "BitwiseNot": ops.bitwise_invert,
    "Max": _variadic(ops.maximum), "Min": _variadic(ops.minimum), "Sum": _variadic(_add),
    "Mean": lambda *xs: ops.divide(functools.reduce(_add, xs), len(xs)),
    "Where": ops.where, "Cast": lambda x, to: ops.cast(x, to),
    "Clip": _clip,
    "Softmax": lambda x, axis=-1: ops.softmax(x, axis=axis),
    "LogSoftmax": lambda x, axis=-1: ops.log_softmax(x, axis=axis),
    "MatMul": ops.matmul, "Gemm": _gemm, "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _pool("max"), "AveragePool": _pool("average"),
    "GlobalAveragePool": lambda x: ops.mean(x, axis=list(range(2, len(x.shape))), keepdims=True),
    "GlobalMaxPool": lambda x: ops.max(x, axis=list(range(2, len(x.shape))), keepdims=True),
    **{op: _tensor_reduce(kind) for op, kind in (
        ("ReduceSum", "sum"), ("ReduceMean", "mean"), ("ReduceMax", "max"), ("ReduceMin", "min"), ("ReduceProd", "prod"),
        ("ReduceL1", "l1"), ("ReduceL2", "l2"), ("ReduceSumSquare", "sum_square"), ("ReduceLogSumExp", "log_sum_exp"))},
    "ArgMax": lambda x, axis=0, keepdims=1, select_last_index=0: ONNX_OPS["ArgMax"](x, axis, bool(keepdims),
                                                                                   bool(select_last_index)),
    "ArgMin": lambda x, axis=0, keepdims=1, select_last_index=0: ONNX_OPS["ArgMin"](x, axis, bool(keepdims),
                                                                                   bool(select_last_index)),
    "Reshape": _reshape, "Transpose": lambda x, perm=None: ops.transpose(x, perm),
    "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Slice": _slice, "Gather": _gather,
    "Concat": lambda *xs, axis: ops.concatenate(list(xs), axis=axis),
    "Shape": _shape,
    "Expand": _expand_to, "Tile": lambda x, repeats: ops.tile(x, _sizes(repeats)),
    "Range": _range, "ScatterND": _scatter_nd, "CumSum": _cumsum,
    "Split": lambda x, axis, sizes: ops.split(x, [sum(sizes[:k]) for k in range(1, len(sizes))], axis=axis),
    "Scan": None,  # run by TracedLayer itself: its body is ops of this table, evaluated once per step
}
MULTI_OUTPUT = ("Split", "Scan")  # ops whose every output a TracedLayer node lists (the others: the first)
# how many leading inputs of an op are tensors: the others are sizes, axes, bounds or indices, passed on as
# they are (a _Host value stays one); the ops not named here take tensors only
TENSOR_INPUTS = {"Reshape": 1, "Expand": 1, "Tile": 1, "Slice": 1, "Squeeze": 1, "Unsqueeze": 1, "Gather": 1,
                 "CumSum": 1, "Range": 0, **{op: 1 for op in TRACED_OPS if op.startswith("Reduce")}}


def _ops_of(nodes) -> set:
    """The op types of ``nodes`` and of the Scan bodies among them."""
    found = set()
    for op, _, _, attrs in nodes:
        found.add(op)
        if op == "Scan":
            found |= _ops_of(attrs["body"]["nodes"])
    return found


def _run(nodes, values):
    """Evaluate ``nodes`` (``[op, inputs, outputs, attributes]``) in order into ``values``."""
    for op, ins, outs, attrs in nodes:
        args = [values[i] if i else None for i in ins]
        while args and args[-1] is None:
            args.pop()
        if op == "Scan":
            results = _scan(values, args, **attrs)
        else:
            result = None
            if all(a is None or isinstance(a, _Host) for a in args):
                result = _host_op(op, args, attrs)
            if result is None:
                tensors = TENSOR_INPUTS.get(op, len(args))
                args = [_to_tensor(a) if k < tensors else a for k, a in enumerate(args)]
                result = TRACED_OPS[op](*args, **attrs)
            results = list(result) if op in MULTI_OUTPUT else [result]
        for name, result in zip(outs, results):
            if name:
                values[name] = result


def _scan(values, args, body, num_states, input_directions, output_directions, input_axes, output_axes):
    """ONNX Scan with keras.ops.scan: ``body`` = {nodes, inputs (states, scan inputs, then the outer values
    it reads), outputs (states, then scan outputs)}; the outer ``values`` hold its constants."""
    states = [_to_tensor(a) for a in args[:num_states]]
    seqs = []
    for x, d, a in zip(args[num_states:], input_directions, input_axes):
        x = ops.moveaxis(_to_tensor(x), a, 0) if a else _to_tensor(x)
        seqs.append(ops.flip(x, axis=0) if d else x)
    formal = body["inputs"][:num_states + len(seqs)]

    def run_body(carry, xs):
        local = dict(values)
        local.update(zip(formal, list(carry) + list(xs)))
        _run(body["nodes"], local)
        return [_to_tensor(local[name]) for name in body["outputs"]]

    def step(carry, xs):
        outs = run_body(carry[:num_states], xs)
        return outs, outs

    # TensorFlow's scan stacks outputs shaped as the carry: the carry holds the scan outputs too (their
    # first values, from one step run ahead, only give their shapes)
    probe = run_body(states, [x[0] for x in seqs])[num_states:]
    final, ys = ops.scan(step, states + [ops.zeros_like(y) for y in probe], seqs)
    outs = []
    for y, d, a in zip(ys[num_states:], output_directions, output_axes):
        y = ops.flip(y, axis=0) if d else y
        outs.append(ops.moveaxis(y, 0, a) if a else y)
    return list(final[:num_states]) + outs


@keras.saving.register_keras_serializable(package=PACKAGE)
class TracedLayer(keras.layers.Layer):
    """A traced Lasagne layer (custom computation exported op by op): its ONNX ops, evaluated in order
    with keras.ops by :data:`TRACED_OPS`.

    ``nodes``: ``[op, input names, output names, attributes]`` in the ONNX graph's order (an empty input
    name: an omitted optional input); ``inputs`` / ``outputs``: the names of the layer's input and output
    tensors (ONNX order, channels first); ``literals``: ``{name: [shape, dtype, elements]}``, the layer's
    int and bool constants; ``constants``: ``[name, shape, dtype, trainable]`` of its other constants,
    held as weights; ``output_specs``: per output ``[shape without the batch axis, dtype]``, or None
    where it is not known before the layer runs; ``partial_specs``: the same with None for the sizes not
    known, the output spec when Keras cannot run the layer on its placeholders (their unknown sizes are
    independent: a size one input gives another, ``x.reshape((n * t, k))`` then ``(n, t, k)``, is lost)."""

    def __init__(self, nodes, inputs, outputs, literals=None, constants=(), output_specs=None, partial_specs=None,
                 **kwargs):
        super().__init__(**kwargs)
        unknown = sorted(_ops_of(nodes) - set(TRACED_OPS))
        if unknown:
            raise ValueError(f"unknown op {unknown[0]!r}")
        self.nodes = [[op, list(ins), list(outs), dict(attrs)] for op, ins, outs, attrs in nodes]
        self.input_names, self.output_names = list(inputs), list(outputs)
        self.literals = {k: [list(s), d, list(v)] for k, (s, d, v) in (literals or {}).items()}
        self.constants = [[name, [int(d) for d in shape], dtype, bool(trainable)]
                          for name, shape, dtype, trainable in constants]
        self.output_specs = None if output_specs is None else [None if s is None else [list(s[0]), s[1]]
                                                               for s in output_specs]
        self.partial_specs = None if partial_specs is None else [[list(s[0]), s[1]] for s in partial_specs]
        self.held = [self.add_weight(name=f"const{i}", shape=tuple(shape), dtype=dtype, initializer="zeros",
                                     trainable=trainable)
                     for i, (_, shape, dtype, trainable) in enumerate(self.constants)]

    def call(self, inputs):
        values = dict(zip(self.input_names, inputs if isinstance(inputs, (list, tuple)) else [inputs]))
        values.update({name: _Host(flat, shape, dtype) for name, (shape, dtype, flat) in self.literals.items()})
        values.update({name: ops.convert_to_tensor(w) for (name, *_), w in zip(self.constants, self.held)})
        _run(self.nodes, values)
        outputs = [_to_tensor(values[name]) for name in self.output_names]
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_spec(self, inputs):
        if self.output_specs is None or any(s is None for s in self.output_specs):
            try:
                return super().compute_output_spec(inputs)
            except Exception:
                if self.partial_specs is None:
                    raise
                specs = [keras.KerasTensor((None,) + tuple(shape), dtype=dtype) for shape, dtype in self.partial_specs]
                return specs[0] if len(specs) == 1 else specs
        specs = [keras.KerasTensor((None,) + tuple(shape), dtype=dtype) for shape, dtype in self.output_specs]
        return specs[0] if len(specs) == 1 else specs

    def get_config(self):
        return {**super().get_config(), "nodes": self.nodes, "inputs": self.input_names,
                "outputs": self.output_names, "literals": self.literals, "constants": self.constants,
                "output_specs": self.output_specs, "partial_specs": self.partial_specs}
