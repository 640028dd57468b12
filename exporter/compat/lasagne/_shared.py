"""Theano-free stand-ins for the Theano objects network-building code touches.

* :class:`SharedVariable` holds a parameter's value in a numpy array; it has Theano's
  ``get_value(borrow=...)`` / ``set_value`` / ``name`` interface.
* :class:`SymbolicVariable` is what ``theano.tensor.matrix()`` & co. and ``InputLayer`` hand out.
* :func:`theano_op` makes the stand-in of a Theano function.

All three are symbolic inside :func:`tracing` (the exporter runs build functions and traces layers
inside it: see ``_symbolic``) and refuse every computation outside it with :class:`TheanoRequiredError`.
"""
from ._symbolic import call_builder
from ._symbolic.graph import (NotTraceable, SharedVariable, SymbolicVariable, TheanoRequiredError,  # noqa: F401
                              is_tracing, require_theano, tracing)

__all__ = ["TheanoRequiredError", "NotTraceable", "SharedVariable", "SymbolicVariable", "theano_op", "require_theano",
           "tracing", "is_tracing"]

FLOATX = "float32"


def theano_op(qualname, name=None):
    """A plain function standing for the Theano function ``qualname``: while tracing it builds the
    op's node; otherwise it refuses to run."""
    short = name or qualname.rsplit(".", 1)[-1]

    def op(*args, **kwargs):
        if not is_tracing():
            require_theano(qualname)
        return call_builder(qualname, args, kwargs)

    op.__name__ = short
    op.__qualname__ = short
    op.__module__ = qualname.rsplit(".", 1)[0]  # as the real function's
    op.lasagne2onnx_standin_for = qualname  # the capture rules recognise stand-ins by this
    op.__doc__ = f"Stand-in for {qualname} (a graph node while tracing; needs Theano to compute)."
    return op
