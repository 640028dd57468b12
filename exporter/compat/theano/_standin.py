"""What makes the whole of Theano's namespace importable in the stand-in, without listing it.

Old build files touch much more of Theano at import time than they pass to Lasagne layers
(``grad_fn = T.grad``, ``from theano.ifelse import ifelse``, ``import theano.gpuarray``).  Here:

* :class:`TheanoStandIn` stands for any public Theano name the stand-in does not model (a
  function, op, class or module): calling it raises :class:`TheanoRequiredError` naming it, and its
  public attributes are stand-ins too (``T.extra_ops.cumsum``).
* :func:`module_getattr` is the module ``__getattr__`` that hands such stand-ins out (one object
  per name); private and dunder names still raise ``AttributeError``, as import machinery,
  pickling and ``hasattr`` probes expect.
* :func:`install_finder` lets ``import theano.<any submodule>`` give a stand-in module while this
  stand-in is the imported ``theano``; it never answers for any other ``theano``.
"""
import importlib.machinery
import sys
import weakref

from lasagne._shared import is_tracing, require_theano, theano_op
from lasagne._symbolic import BUILDERS, call_builder


def _public(name):
    return not name.startswith("_")


class TheanoStandIn(object):
    """A Theano name the stand-in does not model: ``__name__`` is the short name, ``__module__``
    the dotted path it was reached through."""

    def __init__(self, path):
        self._path = path
        self.__module__, _, self.__name__ = path.rpartition(".")
        self.__qualname__ = self.__name__
        self.__doc__ = f"Stand-in for {path} (needs Theano when called)."

    def __call__(self, *args, **kwargs):
        if not is_tracing():
            require_theano(self._path)
        return call_builder(self._path, args, kwargs)  # a lazy value unless the tracer models it

    def __mro_entries__(self, bases):
        """A class deriving from a Theano class the stand-in does not model (``theano.gof.COp`` ...)
        derives from the stand-in's ``theano.Op``: the definition works, and applying it is traced as
        a user's op (``lasagne._symbolic.userops``)."""
        from lasagne._symbolic.userops import UnmodelledBase

        return (UnmodelledBase,)

    def __getattr__(self, name):  # names not set yet; reads vars() so that a half-made copy cannot recurse
        path = vars(self).get("_path")
        if not _public(name) or path is None:
            raise AttributeError(f"{path} (a Theano stand-in) has no attribute {name!r}")
        value = TheanoStandIn(f"{path}.{name}")
        setattr(self, name, value)  # the same object next time
        return value

    def __repr__(self):
        return f"<Theano stand-in {self._path}>"


class RandomStreamsStandIn(object):
    """Base of the random-stream stand-ins: constructing one and ``seed()`` work; every other
    public attribute (``normal``, ``binomial``, ``uniform`` ...) is a stand-in that raises when called."""

    def __init__(self, seed=None):
        self.seed(seed)

    def seed(self, seed=None):
        self._seed = seed

    def __getattr__(self, name):
        if not _public(name):
            raise AttributeError(f"{type(self).__name__} (a Theano stand-in) has no attribute {name!r}")
        return TheanoStandIn(f"{type(self).__module__}.{type(self).__name__}.{name}")

    # while tracing, sampling gives a "random" variable: fine for training code, refused on the
    # deterministic path of an exported layer
    def _sample(self, method, size, ndim, dtype):
        path = f"{type(self).__module__}.{type(self).__name__}.{method}"
        if not is_tracing():
            require_theano(path)
        from lasagne._symbolic.lazy import random_sample

        return random_sample(path, size, ndim, dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, **kwargs):
        return self._sample("normal", size, ndim, dtype)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, **kwargs):
        return self._sample("uniform", size, ndim, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", **kwargs):
        return self._sample("binomial", size, ndim, dtype)


def module_getattr(namespace):
    """A module ``__getattr__`` giving every public name a :class:`TheanoStandIn`, kept in
    ``namespace`` (the module's globals) so that each name is one object."""
    module = namespace["__name__"]

    def __getattr__(name):
        if not _public(name):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = namespace[name] = TheanoStandIn(f"{module}.{name}")
        return value

    return __getattr__


class _SubmoduleFinder(object):
    """Meta-path finder (appended, so modules on disk come first) for ``theano.*`` while
    ``sys.modules['theano']`` is the stand-in module it was made for, and only then."""

    lasagne2onnx_theano_standin = True

    def __init__(self, theano_module):
        self._theano = weakref.ref(theano_module)

    def find_spec(self, fullname, path=None, target=None):
        theano = self._theano()
        if theano is None or sys.modules.get("theano") is not theano or not fullname.startswith("theano."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin="lasagne2onnx's Theano stand-in",
                                              is_package=True)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # a file inside the compat directory marks the module as the stand-in's, so that
        # exporter.compat.deactivate() forgets it along with the rest
        module.__file__ = __file__
        module.__doc__ = f"Stand-in for {module.__name__}: every public name needs Theano when called."
        module.__getattr__ = module_getattr(vars(module))


def install_builders(namespace, prefix):
    """Give the module ``namespace`` a function stand-in for each op the tracer models directly in it
    (``prefix`` + a name without dots), unless it has one already."""
    for qualname in sorted(BUILDERS):
        short = qualname[len(prefix):]
        if qualname.startswith(prefix) and "." not in short and short not in namespace:
            namespace[short] = theano_op(qualname)


def install_finder(theano_module):
    """Append the finder for ``theano_module``, dropping those of earlier activations."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "lasagne2onnx_theano_standin", False)]
    sys.meta_path.append(_SubmoduleFinder(theano_module))
