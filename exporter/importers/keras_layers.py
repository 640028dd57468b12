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
    return ops.broadcast_to(x, [h if s == 1 else s for h, s in zip(have, shape)])


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
