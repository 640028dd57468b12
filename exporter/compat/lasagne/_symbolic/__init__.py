"""A small symbolic Theano for the Theano-free API: the graph the stand-in's functions build while
tracing (see ``graph``), with Theano's types, and one module per op family.

Each module registers its ops in ``graph.BUILDERS`` under Theano's public dotted names; the
``theano`` stand-in's functions look them up there.  :mod:`exporter.frontends.theano_trace` turns a
traced graph into the exporter's :class:`~exporter.ir.ExprGraph`.
"""
from . import elemwise, lazy, linalg, nnet, reduce, shape  # noqa: F401  (they register their builders)
from .graph import (BUILDERS, Apply, Constant, LazyValue, NotTraceable, SharedVariable, SymbolicVariable,  # noqa: F401
                    TensorType, TheanoRequiredError, as_variable, call_builder, is_tracing, require_theano, tracing,
                    user_location)
