"""A small symbolic Theano for the Theano-free API: the graph the stand-in's functions build while
tracing (see ``graph``), with Theano's types, and one module per op family.

Layers, bottom up: ``context`` (tracing state, refusals, lazy values) and ``dtypes``; ``registry``
(the table of op builders); ``operators`` (the variables' operators and methods, which build
through the table) and ``graph`` (variables, nodes, constants); then the op families
(``elemwise``, ``shape``, ``reduce``, ``linalg``, ``nnet``, ``lazy``, ``scan``), each registering its ops in
``registry.BUILDERS`` under Theano's public dotted names.  Importing this package imports every
family, so the table is complete before anything is traced; the ``theano`` stand-in's functions
look their ops up there.  :mod:`exporter.frontends.theano_trace` turns a traced graph into the
exporter's :class:`~exporter.ir.ExprGraph`.
"""
from . import elemwise, lazy, linalg, nnet, reduce, scan, shape  # noqa: F401  (they register their builders)
from .graph import (BUILDERS, Apply, Constant, LazyValue, NotTraceable, SharedVariable, SymbolicVariable,  # noqa: F401
                    TensorType, TheanoRequiredError, as_variable, call_builder, is_tracing, require_theano, tracing,
                    user_location)
