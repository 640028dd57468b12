"""The Theano-free Lasagne API.

``activate()`` puts this directory first on ``sys.path`` so that ``import lasagne`` (and, unless
a real Theano is already imported, ``import theano``) resolve to the project's stand-ins:

* ``lasagne`` -- a re-implementation of Lasagne 0.2's network-building API (layers, shapes,
  numpy-backed parameters, initializers, nonlinearities) that needs only numpy;
* ``theano`` -- a stand-in exposing ``theano.config.floatX``, ``theano.shared``, tensor variable
  constructors and the functions user code passes as layer arguments (``T.tanh``,
  ``T.nnet.sigmoid``, ``T.mean``, ``T.max``, ``T.maximum`` ...); every other public name and
  submodule (``T.grad``, ``theano.sandbox.rng_mrg``...) is a stand-in too, so build files import.
  Nothing computes numbers: inside ``lasagne._shared.tracing()`` (the exporter runs build code in
  it) Theano operations build an expression graph (``lasagne._symbolic``) that the exporter traces
  custom layers with; outside it, calling them raises.

``deactivate()`` undoes it.  This package imports nothing but the standard library; the stand-ins
need only numpy (they work under numpy 1.23 and 2.x alike).
"""
import os
import sys

__all__ = ["COMPAT_DIR", "activate", "deactivate", "is_active", "CompatConflictError"]

COMPAT_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGES = ("lasagne", "theano")


class CompatConflictError(ImportError):
    """A different ``lasagne`` is already imported, so the compat one cannot take its place."""


def _is_ours(module) -> bool:
    path = getattr(module, "__file__", None) or ""
    return os.path.abspath(path).startswith(COMPAT_DIR + os.sep)


def _loaded(package):
    return {name: mod for name, mod in sys.modules.items() if name == package or name.startswith(package + ".")}


def is_active() -> bool:
    return bool(sys.path) and sys.path[0] == COMPAT_DIR


def activate():
    """Make ``import lasagne`` (and ``import theano``) resolve to the Theano-free stand-ins.

    Raises :class:`CompatConflictError` if another ``lasagne`` is already imported.  A real Theano
    that is already imported is left in place (the compat Lasagne does not need Theano, and the
    Theano functions a build file passes to layers work the same).  Returns the compat directory.
    """
    top = sys.modules.get("lasagne")
    if top is not None and not _is_ours(top):
        raise CompatConflictError(
            f"cannot activate lasagne2onnx's Theano-free Lasagne: a different 'lasagne' is already imported "
            f"from {getattr(top, '__file__', '?')}; use it (--lasagne real) or start a fresh Python process")
    # leftovers of an import that failed half-way (e.g. real Lasagne without a working Theano)
    for package in _PACKAGES:
        if package not in sys.modules:
            for name, mod in _loaded(package).items():
                if not _is_ours(mod):
                    del sys.modules[name]
    while COMPAT_DIR in sys.path:
        sys.path.remove(COMPAT_DIR)
    sys.path.insert(0, COMPAT_DIR)
    import lasagne  # noqa: F401  (fail here, clearly, rather than in the user's build file)

    if not _is_ours(lasagne):  # pragma: no cover - only if sys.path handling went wrong
        raise CompatConflictError(f"'import lasagne' resolved to {lasagne.__file__}, not the compat package")
    return COMPAT_DIR


def deactivate():
    """Undo :func:`activate`: drop the compat directory from ``sys.path`` and forget the stand-in
    modules (layers built with them keep working)."""
    while COMPAT_DIR in sys.path:
        sys.path.remove(COMPAT_DIR)
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "lasagne2onnx_theano_standin", False)]
    for package in _PACKAGES:
        for name, mod in _loaded(package).items():
            if _is_ours(mod):
                del sys.modules[name]
