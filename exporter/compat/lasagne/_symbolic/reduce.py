"""Reductions: sum, prod, mean, max, min, argmax, argmin, any, all, and the composites Theano
builds from them (var, std, norm).

``axis`` is None (every axis), an int or a list of ints (negative counts from the end); the node
records the sorted non-negative axes, or None for all.  ``keepdims`` keeps reduced axes as
broadcastable size-1 axes.
"""
import builtins

import numpy as np

from . import dtypes as D
from . import elemwise as E
from .graph import as_variable, builder, make_node


def normalize_axis(x, axis):
    """Sorted non-negative axes of ``x`` (None: every axis)."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) or (hasattr(axis, "ndim") and getattr(axis, "ndim") == 0):
        axis = [axis]
    out = []
    for a in axis:
        a = _static_int(a, "axis")
        if not -x.ndim <= a < builtins.max(x.ndim, 1):
            raise ValueError(f"axis {a} is out of range for a {x.ndim}-d tensor")
        out.append(a % x.ndim if x.ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {list(axis)} repeats an axis")
    return sorted(out)


def _static_int(v, what):
    if isinstance(v, (int, np.integer)):
        return int(v)
    value = getattr(v, "static_value", None)
    if value is not None and np.ndim(value) == 0:
        return int(value)
    raise TypeError(f"{what} must be a constant integer here, got {v!r}")


def _reduced_types(x, axes, keepdims):
    axes = range(x.ndim) if axes is None else axes
    bc, shape = [], []
    for i in range(x.ndim):
        if i in axes:
            if keepdims:
                bc.append(True)
                shape.append(1)
        else:
            bc.append(x.broadcastable[i])
            shape.append(x.static_shape[i])
    return tuple(bc), tuple(shape)


def reduction(op, x, axis, keepdims, dtype, attrs=None):
    x = as_variable(x)
    axes = normalize_axis(x, axis)
    bc, shape = _reduced_types(x, axes, keepdims)
    return make_node(op, [x], {"axis": axes, "keepdims": bool(keepdims), **(attrs or {})}, dtype=dtype,
                     broadcastable=bc, shape=shape)


_SUM_DTYPES = {"bool": "int64", "int8": "int64", "int16": "int64", "int32": "int64", "uint8": "uint64",
               "uint16": "uint64", "uint32": "uint64"}


@builder("theano.tensor.sum")
def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    x = as_variable(x)
    return reduction("theano.tensor.sum", x, axis, keepdims, dtype or _SUM_DTYPES.get(x.dtype, x.dtype))


@builder("theano.tensor.prod")
def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    x = as_variable(x)
    out = reduction("theano.tensor.prod", x, axis, keepdims, dtype or _SUM_DTYPES.get(x.dtype, x.dtype))
    if x.static_value is not None and axis is None:
        out.static_value = np.asarray(np.prod(x.static_value), dtype=out.dtype)
    return out


@builder("theano.tensor.mean")
def mean(x, axis=None, dtype=None, op=False, keepdims=False, acc_dtype=None):
    """Theano divides a sum by the sizes: float32/float16 sums stay float32, others become float64."""
    x = as_variable(x)
    sum_dtype = dtype or _SUM_DTYPES.get(x.dtype, x.dtype)
    out_dtype = sum_dtype if sum_dtype in ("float16", "float32") else "float64"
    if dtype is None and x.dtype == "float16":
        out_dtype = "float16"
    return reduction("theano.tensor.mean", x, axis, keepdims, out_dtype)


@builder("theano.tensor.max")
def max(x, axis=None, keepdims=False):
    return reduction("theano.tensor.max", x, axis, keepdims, as_variable(x).dtype)


@builder("theano.tensor.min")
def min(x, axis=None, keepdims=False):
    return reduction("theano.tensor.min", x, axis, keepdims, as_variable(x).dtype)


@builder("theano.tensor.argmax")
def argmax(x, axis=None, keepdims=False):
    return _arg("theano.tensor.argmax", x, axis, keepdims)


@builder("theano.tensor.argmin")
def argmin(x, axis=None, keepdims=False):
    return _arg("theano.tensor.argmin", x, axis, keepdims)


def _arg(op, x, axis, keepdims):
    """Over one axis; over every axis (None) it is the index into the flattened tensor, as in Theano."""
    from . import shape as S

    x = as_variable(x)
    axes = normalize_axis(x, axis)
    if axes is None or len(axes) == x.ndim > 1:
        if keepdims:
            raise NotImplementedError("argmax/argmin over every axis with keepdims=True is not traced")
        return reduction(op, S.flatten(x, 1), [0], False, "int64")
    if len(axes) > 1:
        raise NotImplementedError("argmax/argmin over several (not all) axes is not traced")
    return reduction(op, x, axes, keepdims, "int64")


@builder("theano.tensor.max_and_argmax")
def max_and_argmax(x, axis=None, keepdims=False):
    return [max(x, axis, keepdims), argmax(x, axis, keepdims)]


@builder("theano.tensor.any")
def any(x, axis=None, keepdims=False):
    return reduction("theano.tensor.any", x, axis, keepdims, "bool")


@builder("theano.tensor.all")
def all(x, axis=None, keepdims=False):
    return reduction("theano.tensor.all", x, axis, keepdims, "bool")


# -- Theano's composites ----------------------------------------------------------------------------------
@builder("theano.tensor.var")
def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Theano 1.0: ``mean((x - mean(x, keepdims)) ** 2)`` (``ddof``: the sum divided by n - ddof)."""
    from . import shape as S

    x = as_variable(x)
    if isinstance(ddof, bool):
        raise ValueError("var: ddof must be an int")
    if corrected:
        raise NotImplementedError("var(corrected=True) is not traced")
    axes = list(range(x.ndim)) if axis is None else normalize_axis(x, axis)
    centered = E.sub(x, mean(x, axes, keepdims=True))
    squared = E.pow(centered, _const(2, centered.dtype))
    if ddof == 0:
        return mean(squared, axes, keepdims=keepdims)
    v = sum(squared, axis=axes, keepdims=keepdims)
    shp = E.sub(S.shape(x), ddof)
    for i in axes:
        v = E.true_div(v, S.getitem(shp, i))
    return v


@builder("theano.tensor.std")
def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    return E.sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


@builder("theano.tensor.norm")
def norm(x, L, axis=None, keepdims=False):
    """``x.norm(L, axis)``: Theano's ``sum(abs(x) ** L) ** (1.0 / L)``."""
    x = as_variable(x)
    if L == 0 or np.isinf(L):
        raise NotImplementedError(f"the {L}-norm is not traced (Theano does not implement it either)")
    return E.pow(sum(E.pow(E.abs_(x), L), axis=axis, keepdims=keepdims), 1.0 / L)


def _const(value, dtype):
    from .graph import constant

    return constant(value, dtype=dtype)


@builder("theano.tensor.extra_ops.cumsum", "theano.tensor.cumsum")
def cumsum(x, axis=None):
    x = as_variable(x)
    if axis is None:
        from . import shape as S

        x = S.flatten(x, 1)
        axis = 0
    axis = normalize_axis(x, axis)[0]
    return make_node("theano.tensor.extra_ops.cumsum", [x], {"axis": axis}, dtype=x.dtype,
                     broadcastable=x.broadcastable, shape=x.static_shape)


@builder("theano.tensor.nnet.logsumexp", "theano.tensor.logsumexp")
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))``, as Theano's ``logsumexp`` writes it."""
    return E.log(sum(E.exp(x), axis=axis, keepdims=keepdims))
