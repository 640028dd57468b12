"""Shape ops: shape, reshape, flatten, dimshuffle, indexing (``Subtensor``, ``take``), set_subtensor /
inc_subtensor, concatenate, stack, alloc, arange, tile.

Sizes may be symbolic (``x.shape[0]``, ``x.shape[1] // 2``): they arrive as int64 scalar values and
are assembled into shape tensors with Unsqueeze/Concat, so a batch size unknown at export stays
dynamic.  Indices follow Python's rules (negative counts from the end, slices clamp), as ONNX's
Slice and Gather do.  ``set_subtensor``/``inc_subtensor`` write into the region an index list
selects with ScatterND over the region's coordinates.
"""
import numpy as np

from ..registry import lowering
from .lower import Value, cast, const

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@lowering("theano.tensor.shape", emits=("Shape",))
def shape(node, g, args):
    return g.node("Shape", [args[0]], node.scope)


def _int64(g, v, scope):
    return cast(g, v, "int64", scope)


def _vector(g, parts, scope):
    """A 1-d int64 value from ints and int scalar values."""
    if all(isinstance(p, (int, np.integer)) for p in parts):
        return g.ints(f"{scope}.ints", [int(p) for p in parts])
    pieces = []
    for p in parts:
        if isinstance(p, (int, np.integer)):
            pieces.append(g.ints(f"{scope}.int", [int(p)]))
        elif p.const is not None:
            pieces.append(g.ints(f"{scope}.int", [int(p.const)]))
        else:
            pieces.append(g.unsqueeze(_int64(g, p, scope), [0], scope))
    return pieces[0] if len(pieces) == 1 else g.node("Concat", pieces, scope, axis=0)


@lowering("theano.tensor.reshape", emits=("Reshape", "Cast"))
def reshape(node, g, args):
    x, shp = args
    return g.reshape(x, _int64(g, shp, node.scope), node.scope)


@lowering("theano.tensor.flatten", emits=("Reshape",))
def flatten(node, g, args):
    k = node.attrs["ndim"]
    return g.node("Reshape", [args[0], g.ints(f"{node.scope}.shape", [0] * (k - 1) + [-1])], node.scope)


@lowering("theano.tensor.dimshuffle", emits=("Squeeze", "Transpose", "Unsqueeze"))
def dimshuffle(node, g, args):
    """Drop the axes left out (Squeeze), permute the others (Transpose), insert the 'x' axes (Unsqueeze)."""
    x = args[0]
    order = node.attrs["new_order"]
    kept = [p for p in order if p != "x"]
    dropped = [i for i in range(x.ndim) if i not in kept]
    y = g.squeeze(x, dropped, node.scope) if dropped else x
    remaining = sorted(kept)
    perm = [remaining.index(p) for p in kept]
    if perm != sorted(perm):
        y = g.node("Transpose", [y], node.scope, perm=perm)
    inserted = [i for i, p in enumerate(order) if p == "x"]
    if inserted:
        y = g.unsqueeze(y, inserted, node.scope)
    if y is x:
        y = g.node("Identity", [x], node.scope)
    return y


# -- indexing -------------------------------------------------------------------------------------------------
def _part(p, args):
    """An idx_list value: None, an int, or the node input it refers to."""
    if isinstance(p, dict):
        v = args[p["input"]]
        return int(v.const) if v.const is not None else v
    return p


def _slices(node, args):
    """[(axis, start, stop, step)] of the non-full slices, and [(axis, index)] of the integer indices."""
    slices, indices = [], []
    for axis, e in enumerate(node.attrs["idx_list"]):
        if "index" in e:
            indices.append((axis, _part(e["index"], args)))
            continue
        start, stop, step = (_part(p, args) for p in e["slice"])
        if start is None and stop is None and step in (None, 1):
            continue
        step = 1 if step is None else step
        if not isinstance(step, int):
            raise NotImplementedError("a slice step must be a constant")
        if start is None:
            start = 0 if step > 0 else INT64_MAX
        if stop is None:
            stop = INT64_MAX if step > 0 else INT64_MIN
        slices.append((axis, start, stop, step))
    return slices, indices


def _index_scalar(g, i, scope):
    if isinstance(i, int):
        return const(g, i, "int64")
    return _int64(g, i, scope)


@lowering("theano.tensor.subtensor.Subtensor", emits=("Slice", "Gather", "Concat", "Unsqueeze", "Cast"))
def subtensor(node, g, args):
    y = args[0]
    slices, indices = _slices(node, args)
    if slices:
        axes = [s[0] for s in slices]
        y = g.slice(y, _vector(g, [s[1] for s in slices], node.scope), _vector(g, [s[2] for s in slices], node.scope),
                    axes, node.scope, steps=[s[3] for s in slices])
    for axis, i in reversed(indices):  # from the last axis, so that the earlier axes keep their numbers
        y = g.node("Gather", [y, _index_scalar(g, i, node.scope)], node.scope, axis=axis)
    if y is args[0]:
        y = g.node("Identity", [y], node.scope)
    return y


@lowering("theano.tensor.take", emits=("Gather", "Cast"))
def take(node, g, args):
    x, indices = args
    return g.node("Gather", [x, _int64(g, indices, node.scope)], node.scope, axis=node.attrs["axis"])


def _region_coordinates(node, g, x, idx_args):
    """(coordinates, full region shape, sub-region shape): the int64 coordinates (n_0, ..., n_k-1, k) of
    the elements the index list selects in the first k axes of ``x``, the region's shape with the
    integer-indexed axes kept as 1, and without them (the shape of ``x[idx]``)."""
    s = node.scope
    idx = node.attrs["idx_list"]
    k = len(idx)
    x_shape = g.node("Shape", [x], s)
    positions, sizes, sub_sizes = [], [], []
    for axis, e in enumerate(idx):
        dim = g.node("Gather", [x_shape, g.ints(f"{s}.axis", [axis])], s, axis=0)  # 1-d, one element
        if "index" in e:
            i = _part(e["index"], idx_args)
            i = g.unsqueeze(_index_scalar(g, i, s), [0], s)
            # a negative index counts from the end
            p = g.node("Where", [g.node("Less", [i, g.ints(f"{s}.zero", [0])], s), g.node("Add", [i, dim], s), i], s)
            size = g.ints(f"{s}.one", [1])
        else:
            start, stop, step = (_part(p, idx_args) for p in e["slice"])
            every = g.node("Range", [const(g, 0, "int64"),
                                     g.squeeze(dim, [0], s), const(g, 1, "int64")], s)
            step = 1 if step is None else step
            if not isinstance(step, int):
                raise NotImplementedError("a slice step must be a constant")
            start = (0 if step > 0 else INT64_MAX) if start is None else start
            stop = (INT64_MAX if step > 0 else INT64_MIN) if stop is None else stop
            p = g.slice(every, _vector(g, [start], s), _vector(g, [stop], s), [0], s, steps=[step])
            size = g.node("Shape", [p], s)
            sub_sizes.append(size)
        positions.append(p)
        sizes.append(size)
    trailing = g.slice(x_shape, [k], [INT64_MAX], [0], s)
    grid_shape = g.node("Concat", sizes, s, axis=0) if k > 1 else sizes[0]
    columns = []
    for axis, p in enumerate(positions):
        shaped = g.node("Reshape", [p, g.ints(f"{s}.shape", [1] * axis + [-1] + [1] * (k - axis - 1))], s)
        columns.append(g.unsqueeze(g.node("Expand", [shaped, grid_shape], s), [k], s))
    coordinates = g.node("Concat", columns, s, axis=k) if k > 1 else columns[0]
    full = g.node("Concat", sizes + [trailing], s, axis=0)
    sub = g.node("Concat", sub_sizes + [trailing], s, axis=0) if sub_sizes else trailing
    return coordinates, full, sub


def _inc(node, g, args, set_instead_of_inc):
    x, y = args[0], cast(g, args[1], node.dtype, node.scope)
    s = node.scope
    coordinates, full, sub = _region_coordinates(node, g, x, args)
    updates = g.node("Expand", [y, sub], s)  # the value, broadcast to x[idx] ...
    indexed = [axis for axis, e in enumerate(node.attrs["idx_list"]) if "index" in e]
    if indexed:  # ... with the integer-indexed axes back as size-1 axes
        updates = g.unsqueeze(updates, indexed, s)
    if not set_instead_of_inc:
        updates = g.node("Add", [g.node("GatherND", [x, coordinates], s), updates], s)
    return g.node("ScatterND", [x, coordinates, updates], s)


@lowering("theano.tensor.set_subtensor", emits=("ScatterND", "Expand", "Reshape", "Range", "Slice", "Concat",
                                                 "Shape", "Gather", "Unsqueeze", "Where", "Less", "Add", "Squeeze"))
def set_subtensor(node, g, args):
    return _inc(node, g, args, True)


@lowering("theano.tensor.inc_subtensor", emits=("ScatterND", "GatherND", "Add", "Expand", "Reshape", "Range", "Slice",
                                                 "Concat", "Shape", "Gather", "Unsqueeze", "Where", "Less", "Squeeze"))
def inc_subtensor(node, g, args):
    return _inc(node, g, args, False)


# -- joining and allocating ----------------------------------------------------------------------------------------
@lowering("theano.tensor.concatenate", emits=("Concat", "Cast"))
def concatenate(node, g, args):
    return g.node("Concat", [cast(g, a, node.dtype, node.scope) for a in args], node.scope, axis=node.attrs["axis"])


@lowering("theano.tensor.stack", emits=("Concat", "Unsqueeze", "Cast"))
def stack(node, g, args):
    axis = node.attrs["axis"]
    parts = [g.unsqueeze(cast(g, a, node.dtype, node.scope), [axis], node.scope) for a in args]
    return g.node("Concat", parts, node.scope, axis=axis) if len(parts) > 1 else parts[0]


@lowering("theano.tensor.alloc", emits=("Expand", "Concat", "Unsqueeze", "Cast"))
def alloc(node, g, args):
    value = cast(g, args[0], node.dtype, node.scope)
    return g.node("Expand", [value, _vector(g, list(args[1:]), node.scope)], node.scope)


@lowering("theano.tensor.arange", emits=("Range", "Cast"))
def arange(node, g, args):
    return g.node("Range", [cast(g, a, node.dtype, node.scope) for a in args], node.scope)


@lowering("theano.tensor.tile", emits=("Tile",))
def tile(node, g, args):
    return g.node("Tile", [args[0], g.ints(f"{node.scope}.reps", node.attrs["reps"])], node.scope)
