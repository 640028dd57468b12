"""The op table: traced Theano ops lowered to ONNX, one module per op family.

Traced computation reaches the exporter as an :class:`~exporter.ir.ExprGraph` (the ``expr``
attribute of an ``Expression`` layer, or of a ``traced`` nonlinearity).  Its format:

* ``inputs``: ``{"name", "source": "input"|"param", "index"|"role", "dtype", "broadcastable", "shape"}``:
  the layer's ``index``-th input, or its parameter ``role`` (bound to ``model.npz`` like any layer's);
* ``nodes``, in topological order: ``{"name", "op", "inputs": [names], "attrs", "ndim", "dtype",
  "broadcastable", "shape", "where"}`` with Theano's type of the result (``shape``: sizes known
  while tracing, None where unknown; ``where``: the user's ``file:line``);
* ``outputs``: ``[name]``, the layer's output.

Op names are Theano's public dotted names, the names of the functions user code calls
(``theano.tensor.sum``, ``theano.tensor.nnet.sigmoid``, ``theano.tensor.signal.pool.pool_2d``,
``theano.tensor.set_subtensor``); syntax without a function of its own takes the name of Theano's
op or method: ``x[...]`` is ``theano.tensor.subtensor.Subtensor`` (``attrs["idx_list"]``, see
``shape``), ``x.dimshuffle(...)`` ``theano.tensor.dimshuffle`` (``new_order`` with "x"), ``x.shape``
``theano.tensor.shape``, a literal ``theano.tensor.constant`` (``attrs["value"]``: see ``values``).
Where Theano defines a function by a formula of other ops (``mean`` aside: ``var``, ``std``,
``norm``, ``relu`` with a leak, ``elu``, ``hard_sigmoid``, ``tensordot``, ``repeat``, ``roll``,
``batch_normalization``), the graph holds that formula.  Attribute conventions: ``axis`` is a
sorted list of non-negative axes or None (all), ``keepdims`` a bool; Elemwise inputs of lower rank
broadcast from the left.  A reader of real Theano graphs maps Theano's Apply nodes onto the same
names (``Elemwise{add}`` -> ``theano.tensor.add``, ``CAReduce{add}``/``Sum`` -> ``theano.tensor.sum``,
``DimShuffle`` -> ``theano.tensor.dimshuffle``, ``Subtensor`` -> ``theano.tensor.subtensor.Subtensor``,
``MakeVector`` -> ``theano.tensor.stack``, ``Elemwise{Cast{float64}}`` -> ``theano.tensor.cast``).

Each module registers its lowerings with ``@lowering(op, since=opset, emits=(ONNX ops...))``
(:mod:`exporter.registry`); a lowering is ``fn(node, g, args) -> ONNX value``, ``args`` being
:class:`~exporter.theano_ops.lower.Value`\\ s.  Schema differences between opsets live in the
``OnnxGraph`` helpers (``g.reduce``, ``g.squeeze``, ``g.unsqueeze``, ``g.slice``).
``docs/theano_ops.md`` lists every op.
"""
from . import cast, elemwise, linalg, nnet, reduce, scan, shape, values  # noqa: F401  (each registers its lowerings)
from .lower import Value, lower_expr  # noqa: F401
