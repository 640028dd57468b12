"""Trace Python code written for numbers -- a user's Theano op's ``impl`` / ``perform`` -- with traced
values standing in for the numbers.

Theano runs a scalar op's ``impl`` on Python numbers (``numpy.frompyfunc``) and an op's ``perform``
on numpy arrays.  :class:`Traced` wraps a graph variable and answers what such code does with it:
Python's operators, ``round``/``abs``/``math.floor``, numpy's ufuncs (``numpy.sign``,
``numpy.maximum`` ...) and a few numpy functions (``numpy.round``, ``numpy.where``, ``numpy.clip``),
each building the op-table node that computes the same.  Numbers mixed in take numpy's rules for a
Python scalar beside an array (they keep the array's dtype when of its kind).  Anything else
(``if x > 0``, ``float(x)``, ``numpy.asarray(x)``, a numpy function without a counterpart) raises
:class:`NotTraceable`: the caller refuses the op, naming it.
"""
import builtins

import numpy as np

from .context import NotTraceable, user_location
from .graph import SymbolicVariable, as_variable
from .registry import build

_T = "theano.tensor."
# numpy ufunc -> the op builder computing the same, elementwise
UFUNCS = {
    "add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "true_div", "divide": "true_div",
    "floor_divide": "int_div", "remainder": "mod", "power": "pow", "negative": "neg", "positive": "tensor_copy",
    "absolute": "abs_", "fabs": "abs_", "sign": "sgn", "maximum": "maximum", "minimum": "minimum",
    "sqrt": "sqrt", "square": "sqr", "reciprocal": "inv", "exp": "exp", "exp2": "exp2", "expm1": "expm1",
    "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "round_half_to_even", "greater": "gt",
    "greater_equal": "ge", "less": "lt", "less_equal": "le", "equal": "eq", "not_equal": "neq",
    "isnan": "isnan", "isinf": "isinf",
}


def _refuse(what):
    raise NotTraceable(f"{what} cannot be traced: the value is known only when the network runs", None,
                       user_location())


def unwrap(x, like=None):
    """The graph variable for an operand: a traced value's, or a constant for a number (numpy's
    rule for a scalar beside an array of dtype ``like``: it keeps the array's dtype when of its kind)."""
    if isinstance(x, Traced):
        return x.v
    if isinstance(x, SymbolicVariable):
        return x
    if isinstance(x, (list, tuple)):
        return as_variable([unwrap(e, like) for e in x])
    if isinstance(x, np.ndarray) and x.ndim:
        return as_variable(x)
    value = np.asarray(x)
    if value.dtype.kind not in "biuf":
        raise NotTraceable(f"a value of type {type(x).__name__} cannot be traced", None, user_location())
    kind = np.dtype(like).kind if like is not None else None
    if kind == "f" or (kind in ("i", "u") and value.dtype.kind in "biu"):
        return as_variable(value.astype(like))
    if value.dtype.kind == "f":
        return as_variable(value.astype("float64"))
    if value.dtype.kind == "b":
        return as_variable(value)
    return as_variable(value.astype("int64"))


def _op(name, *args):
    like = next((a.v.dtype for a in args if isinstance(a, Traced)), None)
    return Traced(build(_T + name, *[unwrap(a, like) for a in args]))


def _binary(name, reflected=False):
    def method(self, other):
        return _op(name, other, self) if reflected else _op(name, self, other)

    return method


class Traced(object):
    """A graph variable in the place of a number or array in Python code (see the module docstring)."""

    __array_priority__ = 10000

    def __init__(self, v):
        self.v = v

    # -- what the code may ask ---------------------------------------------------------------------
    @property
    def dtype(self):
        return np.dtype(self.v.dtype)

    @property
    def ndim(self):
        return self.v.ndim

    @property
    def shape(self):
        _refuse("the shape of a value (numpy arrays' .shape)")

    def astype(self, dtype, *args, **kwargs):
        return Traced(build(_T + "cast", self.v, str(np.dtype(dtype))))

    def copy(self, *args, **kwargs):
        return self

    def round(self, decimals=0, out=None):
        if decimals != 0 or out is not None:
            _refuse("round with decimals or out=")
        return _op("round_half_to_even", self)

    def clip(self, a_min, a_max, out=None):
        return _clip(self, a_min, a_max)

    def __round__(self, ndigits=None):  # Python 3's round: half to even, as numpy's
        if ndigits not in (None, 0):
            _refuse("round with ndigits")
        return _op("round_half_to_even", self)

    def python2_round(self, ndigits=0):  # what a Python 2 file's round() is translated to call
        if ndigits != 0:
            _refuse("round with ndigits")
        return _op("round_half_away_from_zero", self)

    def __floor__(self):
        return _op("floor", self)

    def __ceil__(self):
        return _op("ceil", self)

    def __trunc__(self):
        return _op("trunc", self)

    def __bool__(self):
        _refuse("Python control flow (if/while/and/or/min/max) on the value")

    def __float__(self):
        _refuse("float() of the value")

    def __int__(self):
        _refuse("int() of the value")

    def __index__(self):
        _refuse("using the value as a Python int")

    def __array__(self, *args, **kwargs):
        _refuse("converting the value to a numpy array (numpy.asarray, numpy.array, a numpy function lasagne2onnx "
                "does not map)")

    def __len__(self):
        _refuse("len() of the value")

    def __iter__(self):
        _refuse("iterating over the value")

    def __getitem__(self, item):
        return Traced(build(_T + "var._tensor_py_operators.__getitem__", self.v, item))

    __hash__ = object.__hash__

    # -- numpy's protocols -----------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = UFUNCS.get(ufunc.__name__)
        if method != "__call__" or name is None or kwargs.get("out") is not None or len(inputs) != ufunc.nin:
            _refuse(f"numpy.{ufunc.__name__}" + (f".{method}" if method != "__call__" else ""))
        return _op(name, *inputs)

    def __array_function__(self, func, types, args, kwargs):
        fn = _FUNCTIONS.get(func.__name__)
        if fn is None:
            _refuse(f"numpy.{func.__name__}")
        return fn(*args, **kwargs)


for _name, _fn in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "true_div"), ("div", "true_div"),
                   ("floordiv", "int_div"), ("mod", "mod"), ("pow", "pow")):
    setattr(Traced, f"__{_name}__", _binary(_fn))
    setattr(Traced, f"__r{_name}__", _binary(_fn, reflected=True))
for _name, _fn in (("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge"), ("eq", "eq"), ("ne", "neq")):
    setattr(Traced, f"__{_name}__", _binary(_fn))
Traced.__neg__ = lambda self: _op("neg", self)
Traced.__pos__ = lambda self: self
Traced.__abs__ = lambda self: _op("abs_", self)


def _round(a, decimals=0, out=None):
    if decimals != 0 or out is not None:
        _refuse("numpy.round with decimals or out=")
    return _op("round_half_to_even", a)


def _clip(a, a_min, a_max, out=None, **kwargs):
    """numpy's clip: ``minimum(maximum(a, a_min), a_max)`` (a bound may be None)."""
    if out is not None or kwargs:
        _refuse("numpy.clip with out= or other options")
    x = a if isinstance(a, Traced) else Traced(unwrap(a))
    if a_min is not None:
        x = _op("maximum", x, a_min)
    if a_max is not None:
        x = _op("minimum", x, a_max)
    return x


def _where(condition, x=None, y=None):
    if x is None or y is None:
        _refuse("numpy.where with one argument")
    like = next((a.v.dtype for a in (x, y) if isinstance(a, Traced)), None)
    cond = unwrap(condition)
    return Traced(build(_T + "switch", cond, unwrap(x, like), unwrap(y, like)))


_FUNCTIONS = {"round": _round, "around": _round, "round_": _round, "clip": _clip, "where": _where,
              "copy": lambda a, *args, **kwargs: a}


def trace(fn, inputs, what):
    """``fn(*traced inputs)``: the graph variable(s) it computes (a list for a tuple/list result, numbers
    as constants).  Raises :class:`NotTraceable` saying what of ``what`` could not be traced."""
    try:
        out = fn(*[Traced(v) for v in inputs])
    except NotTraceable as e:
        raise NotTraceable(f"{what}: {e.reason}" + (f" (at {e.where})" if e.where else ""), None, e.where) from None
    except Exception as e:  # code written for numbers failing on traced values
        where = user_location()
        raise NotTraceable(f"{what} raised {type(e).__name__} on traced values: {e}" + (f" (at {where})" if where else ""),
                           None, where) from None
    return result_variables(out, what)


def result_variables(out, what):
    if isinstance(out, (list, tuple)):
        return [result_variable(o, what) for o in out]
    return result_variable(out, what)


def result_variable(out, what):
    if isinstance(out, Traced):
        return out.v
    if isinstance(out, SymbolicVariable):
        return out
    if isinstance(out, (builtins.bool, int, float, np.generic, np.ndarray)):
        return unwrap(out)
    raise NotTraceable(f"{what} gave {type(out).__name__}, not a value the tracer follows", None, user_location())
