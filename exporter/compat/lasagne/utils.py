"""``lasagne.utils`` without Theano: floatX, as_tuple, create_param and friends."""
import numbers

import numpy as np

from ._shared import SharedVariable, SymbolicVariable, is_tracing, require_theano
from ._symbolic.dtypes import FLOATX, float_x  # noqa: F401  (floatX is the tracer's: one definition)
from ._symbolic.graph import as_variable

__all__ = ["floatX", "float_x", "shared_empty", "as_theano_expression", "collect_shared_vars", "one_hot",
           "unique", "as_tuple", "inspect_kwargs", "compute_norms", "create_param", "unroll_scan",
           "int_types"]

int_types = (numbers.Integral, np.integer)


def floatX(arr):
    """Convert ``arr`` to a numpy array of the configured float type."""
    return np.asarray(arr, dtype=float_x())


def shared_empty(dim=2, dtype=None):
    return SharedVariable(np.zeros((1,) * dim, dtype=dtype or float_x()))


def as_theano_expression(input):
    """A Theano expression of ``input`` (a variable, or a number/array made a constant); needs tracing."""
    if not is_tracing():
        require_theano("lasagne.utils.as_theano_expression")
    try:
        return as_variable(input)
    except TypeError as e:
        raise TypeError("Input of type %s is not a Theano expression and cannot be wrapped as a Theano constant "
                        "(original exception: %s)" % (type(input), e))


def collect_shared_vars(expressions):
    """The shared variables ``expressions`` are computed from, each once, in the order Theano's
    ``graph.inputs`` finds them (a depth-first walk from the first expression, an op's inputs in order): a
    parameter given as an expression (``W=W_shared * 2``) is its shared variables."""
    if not isinstance(expressions, (list, tuple)):
        expressions = [expressions]
    found, seen, stack = [], set(), list(reversed(expressions))
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if _is_shared(v):
            found.append(v)
        owner = getattr(v, "owner", None)
        if owner is not None:
            stack.extend(reversed(owner.inputs))
    return found


def one_hot(x, m=None):
    require_theano("lasagne.utils.one_hot")


def unique(l):
    """Items of ``l`` in order, each once (by identity/hash, like Lasagne's)."""
    new_list, seen = [], set()
    for el in l:
        if el not in seen:
            new_list.append(el)
            seen.add(el)
    return new_list


def as_tuple(x, N, t=None):
    """``x`` as an N-tuple: an iterable is converted, a single value repeated N times."""
    try:
        X = tuple(x)
    except TypeError:
        X = (x,) * N
    if t is not None and not all(isinstance(v, t) for v in X):
        if t == int_types:
            expected_type = "int"
        elif isinstance(t, tuple):
            expected_type = " or ".join(tt.__name__ for tt in t)
        else:
            expected_type = t.__name__
        raise TypeError("expected a single value or an iterable of {0}, got {1} instead".format(expected_type, x))
    if len(X) != N:
        raise ValueError("expected a single value or an iterable with length {0}, got {1} instead".format(N, x))
    return X


def inspect_kwargs(func):
    from inspect import signature

    params = signature(func).parameters
    return [p.name for p in params.values() if p.default is not p.empty]


def compute_norms(array, norm_axes=None):
    if not isinstance(array, np.ndarray):
        raise RuntimeError("Unsupported type {}. Only numpy arrays are supported without Theano".format(type(array)))
    ndim = array.ndim
    if norm_axes is not None:
        sum_over = tuple(norm_axes)
    elif ndim == 1:
        sum_over = ()
    elif ndim == 2:
        sum_over = (0,)
    elif ndim in (3, 4, 5):
        sum_over = tuple(range(1, ndim))
    else:
        raise ValueError("Unsupported tensor dimensionality {}. Must specify `norm_axes`".format(ndim))
    if not sum_over:
        return abs(array)
    return np.sqrt(np.sum(array ** 2, axis=sum_over))


def _is_shared(v):
    return isinstance(v, SharedVariable) or (
        hasattr(v, "get_value") and hasattr(v, "set_value") and not isinstance(v, type))


def create_param(spec, shape, name=None):
    """Create (or check and reuse) a parameter of the given shape from ``spec``.

    ``spec`` may be a numpy array or number (copied into a new parameter), an existing parameter
    (shared: the very same object is returned), or a callable (an initializer) returning either.
    """
    shape = tuple(shape)
    if any(d is None for d in shape):
        raise ValueError("Cannot create param with an unknown (None) shape dimension. Tried to create param "
                         "with shape=%r, name=%r" % (shape, name))
    if any(d <= 0 for d in shape):
        raise ValueError("Cannot create param with a non-positive shape dimension. Tried to create param "
                         "with shape=%r, name=%r" % (shape, name))
    err_prefix = "cannot initialize parameter %s: " % name
    if callable(spec) and not _is_shared(spec):
        spec = spec(shape)
        err_prefix += "the %s returned by the provided callable"
    else:
        err_prefix += "the provided %s"

    if isinstance(spec, numbers.Number) or (isinstance(spec, np.generic) and spec.dtype.kind in "biufc"):
        spec = np.asarray(spec)

    if isinstance(spec, np.ndarray):
        if spec.shape != shape:
            raise ValueError("%s has shape %s, should be %s" % (err_prefix % "numpy array", spec.shape, shape))
        spec = SharedVariable(spec, broadcastable=tuple(s == 1 for s in shape))

    if _is_shared(spec):
        ndim = getattr(spec, "ndim", None)
        if ndim is None:
            ndim = np.ndim(spec.get_value(borrow=True))
        if ndim != len(shape):
            raise ValueError("%s has %d dimensions, should be %d" % (err_prefix % "shared variable", ndim, len(shape)))
        if not getattr(spec, "name", None):
            spec.name = name
        return spec
    if isinstance(spec, SymbolicVariable):  # Lasagne 0.2: an expression is the parameter; its shared variables
        if spec.ndim != len(shape):  # are what get_params returns (the size is checked when it runs)
            raise ValueError("%s has %d dimensions, should be %d" % (err_prefix % "Theano variable", spec.ndim,
                                                                     len(shape)))
        if not spec.name:
            spec.name = name
        return spec
    if "callable" in err_prefix:
        raise TypeError("%s is not a numpy array or a shared variable" % (err_prefix % "value"))
    raise TypeError("%s is not a numpy array, a shared variable, or a callable" % (err_prefix % "spec"))


def unroll_scan(fn, sequences, outputs_info, non_sequences, n_steps, go_backwards=False):
    """Lasagne's scan unrolled in Python: ``fn`` called ``n_steps`` times (on ``sequences[t]``, the previous
    outputs, then ``non_sequences``), each output's steps stacked on a new first axis in the order computed.
    While tracing, it is traced as the loop it is (one node per op of each step)."""
    if not is_tracing():
        require_theano("lasagne.utils.unroll_scan")
    import theano.tensor as T

    steps = range(n_steps - 1, -1, -1) if go_backwards else range(n_steps)
    previous, history = list(outputs_info), []
    for t in steps:
        out = fn(*([s[t] for s in sequences] + previous + list(non_sequences)))
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        history.append(out)
        previous = out
    return [T.stack([h[k] for h in history]) for k in range(len(history[0]))]
