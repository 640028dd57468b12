"""Shared helper for the training modules (objectives, updates, regularization).

While tracing (the exporter runs build functions inside it) they return lazy results, so that a
build function that also prepares training still runs: losses and penalties are lazy values,
update dictionaries map each parameter to a lazy variable of its type.  Outside tracing, or when a
lazy result is evaluated, they need Theano.
"""
from collections import OrderedDict

from ._shared import TheanoRequiredError, is_tracing
from ._symbolic.graph import SymbolicVariable, lazy, make_node


def _like(v, op):
    if isinstance(v, SymbolicVariable):
        return make_node(op, [], dtype=v.dtype, broadcastable=v.broadcastable, shape=v.static_shape, kind="lazy")
    return lazy(op)


def _params_of(args, kwargs, position, default_from=None):
    params = kwargs.get("params", args[position] if len(args) > position else None)
    if params is None and default_from is not None:
        params = list(default_from.keys())
    return list(params or [])


def lazy_updates(qual, args, kwargs):
    """``OrderedDict(param -> lazy update)``: every update function's ``params`` is its second argument
    (``apply_momentum``/``apply_nesterov_momentum``: default the keys of the updates given first)."""
    updates = args[0] if args and isinstance(args[0], dict) else kwargs.get("updates")
    params = _params_of(args, kwargs, 1, updates if isinstance(updates, dict) else None)
    return OrderedDict((p, _like(p, qual)) for p in params)


def lazy_like_first(qual, args, kwargs):
    first = args[0] if args else next(iter(kwargs.values()), None)
    if isinstance(first, (list, tuple)):
        out = [_like(v, qual) for v in first]
        return (out, lazy(qual)) if kwargs.get("return_norm") else out
    return _like(first, qual)


def lazy_grads(qual, args, kwargs):
    return [_like(p, qual) for p in _params_of(args, kwargs, 1)]


def lazy_value(qual, args, kwargs):
    return lazy(qual, f"{qual} is training-only: lasagne2onnx builds it lazily and cannot export or evaluate it")


def make_stub(module, name, traced=lazy_value):
    qual = f"lasagne.{module}.{name}"

    def stub(*args, **kwargs):
        if is_tracing():
            return traced(qual, args, kwargs)
        raise TheanoRequiredError(
            f"{qual}: training needs Theano. lasagne2onnx's Theano-free Lasagne API builds networks for "
            f"export only; train with real Lasagne on Theano (or train the exported model elsewhere).")

    stub.__name__ = name
    stub.__qualname__ = name
    stub.__module__ = f"lasagne.{module}"
    stub.__doc__ = f"Stand-in for {qual}; training needs Theano (while tracing: a lazy result)."
    return stub


def install(namespace, module, names, traced=None):
    """``traced``: name -> function building the lazy result (default: a lazy value)."""
    for name in names:
        namespace[name] = make_stub(module, name, (traced or {}).get(name, lazy_value))
    namespace["__all__"] = list(names)
