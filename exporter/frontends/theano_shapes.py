"""Static sizes of a Theano graph's variables, for :mod:`.theano_graph`: where Theano's own shape
inference (``ShapeFeature``, each op's ``infer_shape``) gives a constant, given the sizes of the graph's
inputs that are known (the layer's Lasagne input shape, shared variables' and constants' values).

A size is known only where Theano's symbolic size folds to a constant exactly (literals, the known
sizes, ``x.shape[i]`` of those, and ops of them computed by the op's own ``perform``); a size that
depends on an unknown one (the batch) stays unknown, even where it would cancel out
(``x.reshape((x.shape[0], -1))``'s second size).  The sizes are hints for the lowering (ONNX needs a
few: ``pool_2d(ignore_border=False)``), never part of the computation.
"""
from __future__ import annotations

import numpy as np

_SWITCH = "theano.scalar.basic.Switch"


def class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__name__}"


def static_shapes(out, inputs, shapes):
    """Theano variable -> its sizes where Theano's shape inference (``ShapeFeature``) gives constants,
    the inputs' known sizes given (shared variables' and constants' from their values); {} if that
    fails (a hint only: then every size is unknown but for broadcastable axes)."""
    import theano
    from theano.gof import FunctionGraph
    from theano.gof.graph import clone_get_equiv, inputs as graph_inputs

    outs = list(out) if isinstance(out, (list, tuple)) else [out]  # (a loop's step has several outputs)
    try:
        leaves = [v for v in graph_inputs(outs) if not isinstance(v, theano.gof.Constant)]
        known = {v: shape for v, shape in zip(inputs, shapes) if shape is not None and len(shape) == v.ndim}
        for v in leaves:
            if isinstance(v, theano.compile.SharedVariable):
                known[v] = v.get_value(borrow=True).shape
        equiv = clone_get_equiv(leaves, outs)
        feature = _KnownShapes({equiv[v]: s for v, s in known.items() if v in equiv})
        graph = FunctionGraph([equiv[v] for v in leaves], [equiv[o] for o in outs], features=[feature], clone=False)
        try:
            fold = _ShapeFolder(feature.shape_of)
            sizes = {}
            for original, clone in equiv.items():
                if isinstance(clone, theano.gof.Variable) and clone in feature.shape_of:
                    sizes[original] = [fold.size(s) for s in feature.shape_of[clone]]
            return sizes
        finally:
            graph.disown()
    except Exception:
        return {}


class _ShapeFolder:
    """Evaluates Theano's symbolic sizes where they are constant: literals, the known sizes of the
    variables ``shape_of`` describes (``Shape``, ``Shape_i``, ``x.shape[i]``), and ops of those
    (computed with the op's own ``perform``)."""

    def __init__(self, shape_of):
        self.shape_of = shape_of
        self.values = {}

    def size(self, s):
        try:
            v = self.value(s)
        except Exception:  # an op that cannot compute here: the size stays unknown
            return None
        return int(v) if v is not None and np.ndim(v) == 0 and int(v) >= 0 else None

    def value(self, var, depth=0):
        import theano

        if var in self.values:
            return self.values[var]
        if isinstance(var, theano.gof.Constant):
            return np.asarray(var.data)
        node = var.owner
        if node is None or depth > 200 or getattr(var, "ndim", 0) > 1:
            return None
        self.values[var] = None  # (while computing it)
        kind = class_path(node.op)
        value = None
        if kind == "theano.compile.ops.Shape_i":
            value = self.axis_size(node.inputs[0], node.op.i, var, depth)
        elif kind == "theano.compile.ops.Shape":
            sizes = [self.axis_size(node.inputs[0], i, None, depth) for i in range(node.inputs[0].ndim)]
            value = None if any(s is None for s in sizes) else np.asarray(sizes, dtype="int64")
        elif (kind == "theano.tensor.subtensor.Subtensor" and var.ndim == 0 and len(node.inputs) == 2
              and self.entries(node.inputs[0], depth) is not None):
            entries = self.entries(node.inputs[0], depth)  # one entry of a vector of sizes: x.shape[i]
            i = self.value(node.inputs[1], depth + 1)
            if i is not None and -len(entries) <= int(i) < len(entries):
                value = entries[int(i)]()
        elif kind == "theano.tensor.elemwise.Elemwise" and class_path(node.op.scalar_op) == _SWITCH \
                and var.ndim == 0:  # only the branch taken (x.reshape(..., -1)'s size of the other entries)
            cond = self.value(node.inputs[0], depth + 1)
            if cond is not None:
                value = self.value(node.inputs[1 if cond else 2], depth + 1)
                value = None if value is None else np.asarray(value, dtype=var.dtype)
        else:
            args = [self.value(i, depth + 1) for i in node.inputs]
            if all(a is not None for a in args):
                storage = [[None] for _ in node.outputs]
                node.op.perform(node, [np.asarray(a, dtype=i.dtype) for a, i in zip(args, node.inputs)], storage)
                value = storage[var.index][0]
        self.values[var] = None if value is None else np.asarray(value)
        return self.values[var]

    def entries(self, vector, depth):
        """Per entry of a 1-d vector of sizes (``x.shape``, ``MakeVector``, a constant slice of those),
        a function giving its value or None; None when the vector is of another kind."""
        node = vector.owner
        kind = class_path(node.op) if node is not None else ""
        if kind == "theano.compile.ops.Shape":
            x = node.inputs[0]
            return [lambda i=i: self.axis_size(x, i, None, depth) for i in range(x.ndim)]
        if kind == "theano.tensor.opt.MakeVector":
            return [lambda v=v: self.value(v, depth + 1) for v in node.inputs]
        if kind == "theano.tensor.basic.Join" and vector.ndim == 1:
            parts = [self.entries(v, depth + 1) for v in node.inputs[1:]]
            return None if any(p is None for p in parts) else [e for p in parts for e in p]
        if kind == "theano.tensor.subtensor.Subtensor" and len(node.op.idx_list) == 1 and isinstance(
                node.op.idx_list[0], slice):
            inner = self.entries(node.inputs[0], depth + 1)
            parts = iter(node.inputs[1:])
            bounds = [None if b is None else self.value(next(parts), depth + 1)
                      for b in (node.op.idx_list[0].start, node.op.idx_list[0].stop, node.op.idx_list[0].step)]
            if inner is None or any(b is None and p is not None for b, p in zip(
                    bounds, (node.op.idx_list[0].start, node.op.idx_list[0].stop, node.op.idx_list[0].step))):
                return None
            return inner[slice(*[None if b is None else int(b) for b in bounds])]
        return None

    def axis_size(self, x, i, itself, depth):
        shape = self.shape_of.get(x)
        if shape is None or i >= len(shape) or shape[i] is itself:
            return None
        return self.value(shape[i], depth + 1)


def _KnownShapes(known):
    """Theano's shape inference (``ShapeFeature``), with the known sizes of the graph's inputs, and
    ``Reshape``'s sizes written so that a ``-1`` cancels the sizes it is given back (below)."""
    import theano
    from theano.tensor.opt import ShapeFeature

    class KnownShapes(ShapeFeature):
        def init_r(self, r):
            if r not in self.shape_of and r in known:
                self.set_shape(r, tuple(self.shape_ir(i, r) if s is None else _int64(s)
                                        for i, s in enumerate(known[r])))
                return
            super().init_r(r)

        def get_node_infer_shape(self, node):
            if class_path(node.op) == "theano.tensor.basic.Reshape":
                sizes = _reshape_sizes(node, self.shape_of)
                if sizes is not None:
                    return [sizes]
            return super().get_node_infer_shape(node)

    return KnownShapes()


def _int64(n):
    import theano

    return theano.tensor.constant(int(n), dtype="int64")


def _reshape_sizes(node, shape_of):
    """``x.reshape(sizes)``'s sizes when each requested size is a constant or one of ``x``'s own sizes
    (``x.shape[i]``, as ``x.flatten(2)`` and ``x.reshape((x.shape[0], -1))`` ask): a ``-1`` is then the
    product of the sizes of ``x`` not asked for, divided by the constants, exactly (Theano's own
    ``infer_shape`` divides the total by the product of the others, which cannot fold with an
    unknown batch size).  None for any other request."""
    import theano

    x, requested = node.inputs
    entries = _vector_entries(requested)
    if entries is None or len(entries) != node.op.ndim:
        return None
    x_sizes = list(shape_of[x])
    remaining, divisor, sizes, minus = list(range(x.ndim)), 1, [], None
    for k, entry in enumerate(entries):
        value = _constant_int(entry)
        if value == -1 and minus is None:
            minus = k
            sizes.append(None)
        elif value is not None and value >= 0:
            divisor *= value
            sizes.append(_int64(value))
        else:
            axis = _axis_of(entry, x)
            if axis is None or axis not in remaining:
                return None
            remaining.remove(axis)
            sizes.append(x_sizes[axis])
    if minus is not None:
        if divisor == 0:
            return None
        rest = [x_sizes[j] for j in remaining]
        total = theano.tensor.mul(*rest) if len(rest) > 1 else (rest[0] if rest else _int64(1))
        sizes[minus] = total if divisor == 1 else theano.tensor.int_div(total, _int64(divisor))
    return tuple(sizes)


def _vector_entries(vector):
    """The scalar entries of a shape vector (``MakeVector``'s inputs, a constant's values), or None."""
    import theano

    if isinstance(vector, theano.gof.Constant) and np.ndim(vector.data) == 1:
        return [int(v) for v in vector.data]
    if vector.owner is not None and class_path(vector.owner.op) == "theano.tensor.opt.MakeVector":
        return list(vector.owner.inputs)
    return None


def _unwrapped(v):
    while (not isinstance(v, (int, np.integer)) and v.owner is not None and class_path(v.owner.op) in (
            "theano.tensor.basic.ScalarFromTensor", "theano.tensor.basic.TensorFromScalar")
           or (not isinstance(v, (int, np.integer)) and v.owner is not None
               and class_path(v.owner.op) == "theano.tensor.elemwise.Elemwise"
               and class_path(v.owner.op.scalar_op) == "theano.scalar.basic.Cast")):
        v = v.owner.inputs[0]
    return v


def _constant_int(v):
    """The value of an integer constant (through casts), else None."""
    import theano

    v = _unwrapped(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, theano.gof.Constant) and np.ndim(v.data) == 0:
        return int(v.data)
    return None


def _axis_of(v, x):
    """``i`` when ``v`` is ``x.shape[i]`` (``Shape_i``, or an index of ``Shape(x)`` or of a constant
    slice of it), else None."""
    v = _unwrapped(v)
    if isinstance(v, (int, np.integer)) or v.owner is None:
        return None
    kind = class_path(v.owner.op)
    if kind == "theano.compile.ops.Shape_i":
        return int(v.owner.op.i) if v.owner.inputs[0] is x else None
    if kind != "theano.tensor.subtensor.Subtensor" or len(v.owner.op.idx_list) != 1 or isinstance(
            v.owner.op.idx_list[0], slice) or len(v.owner.inputs) != 2:
        return None
    k = _constant_int(v.owner.inputs[1])
    axes = _shape_axes(v.owner.inputs[0], x)
    if k is None or axes is None or not -len(axes) <= k < len(axes):
        return None
    return axes[k]


def _shape_axes(vector, x):
    """The axes of ``x`` whose sizes ``vector`` holds (``Shape(x)``, a constant slice of it), or None."""
    node = vector.owner
    if node is None:
        return None
    kind = class_path(node.op)
    if kind == "theano.compile.ops.Shape":
        return list(range(x.ndim)) if node.inputs[0] is x else None
    if kind == "theano.tensor.subtensor.Subtensor" and len(node.op.idx_list) == 1 and isinstance(
            node.op.idx_list[0], slice):
        inner = _shape_axes(node.inputs[0], x)
        parts = iter(node.inputs[1:])
        bounds = []
        for b in (node.op.idx_list[0].start, node.op.idx_list[0].stop, node.op.idx_list[0].step):
            value = None if b is None else _constant_int(next(parts))
            if b is not None and value is None:
                return None
            bounds.append(value)
        return None if inner is None else inner[slice(*bounds)]
    return None
