"""What build code does for training, built but never computed: gradients, compiled functions, loops,
random sampling, and Theano's debugging identities.

* ``theano.grad`` / ``T.grad`` give variables typed like ``wrt`` whose node is "lazy";
* ``theano.function`` gives a :class:`LazyFunction`: calling it raises, naming where it was made;
* ``theano.ifelse.ifelse`` gives lazy values (``theano.scan`` is traced: see ``scan``);
* random streams (``MRG_RandomStreams`` and ``RandomStreams``: normal, uniform, binomial) give
  variables whose node is "random": a layer whose deterministic output depends on one is refused;
* ``theano.printing.Print``, ``theano.gradient.disconnected_grad`` / ``zero_grad`` and
  ``consider_constant`` are identities in the forward computation, and return their input.
"""

from . import dtypes as D
from .graph import LazyValue, SymbolicVariable, TheanoRequiredError, as_variable, lazy, make_node, user_location
from .registry import builder


def _like(v, op):
    """A lazy variable of ``v``'s type (a gradient of a shared variable is typed like it)."""
    if isinstance(v, SymbolicVariable):
        return make_node(op, [], dtype=v.dtype, broadcastable=v.broadcastable, shape=v.static_shape, kind="lazy")
    return lazy(op)


@builder("theano.grad", "theano.tensor.grad", "theano.gradient.grad")
def grad(cost, wrt, *args, **kwargs):
    if isinstance(wrt, (list, tuple)):
        return [_like(w, "theano.grad") for w in wrt]
    return _like(wrt, "theano.grad")


grad.accepts_lazy = True


class LazyFunction(object):
    """A ``theano.function`` that was built but cannot run without Theano."""

    def __init__(self, where):
        self._where = where

    def __call__(self, *args, **kwargs):
        raise TheanoRequiredError(
            f"calling the Theano function made at {self._where or 'an unknown line'} (called at "
            f"{user_location() or 'an unknown line'}) needs Theano: lasagne2onnx's Theano-free API only builds "
            f"networks for export")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return LazyValue(f"theano.function(...).{name}", self._where)

    def __repr__(self):
        return f"<theano.function made at {self._where} (not callable without Theano)>"


@builder("theano.function", "theano.compile.function", "theano.compile.function.function")
def function(*args, **kwargs):
    return LazyFunction(user_location())


function.accepts_lazy = True


@builder("theano.ifelse.ifelse", "theano.ifelse")
def ifelse(condition, then_branch, else_branch, name=None):
    return lazy("theano.ifelse.ifelse", "theano.ifelse.ifelse (a lazy branch on a symbolic condition) is not traced")


ifelse.accepts_lazy = True


# -- forward identities ---------------------------------------------------------------------------------------
class _Print(object):
    def __init__(self, message="", attrs=("__str__",), global_fn=None):
        self.message = message

    def __call__(self, x):
        return x


@builder("theano.printing.Print")
def print_op(message="", attrs=("__str__",), global_fn=None):
    return _Print(message, attrs, global_fn)


@builder("theano.gradient.disconnected_grad", "theano.gradient.zero_grad", "theano.gradient.consider_constant",
         "theano.tensor.consider_constant", "theano.gradient.grad_clip", "theano.gradient.grad_scale")
def forward_identity(x, *args, **kwargs):
    return x


forward_identity.accepts_lazy = True


# -- random streams -----------------------------------------------------------------------------------------------
def random_sample(op, size, ndim=None, dtype=None):
    """A "random" variable of the requested size (a tuple of ints/scalars, or a vector of known length)."""
    if size is None:
        raise TypeError(f"{op}: size is required here")
    if isinstance(size, (list, tuple)):
        sizes = list(size)
        shape = [s if isinstance(s, int) else getattr(s, "static_value", None) for s in sizes]
        inputs = [as_variable(s) for s in sizes if not isinstance(s, int)]
    else:
        size = as_variable(size)
        n = ndim if ndim is not None else size.static_shape[0]
        if n is None:
            raise TypeError(f"{op}: the length of size must be known (give ndim=)")
        shape, inputs = [None] * n, [size]
    shape = [None if s is None else int(s) for s in shape]
    dtype = D.float_x() if dtype is None or dtype == "floatX" else dtype
    return make_node(op, inputs, dtype=dtype, broadcastable=[False] * len(shape), shape=shape, kind="random")
