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
from ..schema import INT, NON_NEGATIVE, POSITIVE, array, obj
from .checks import INT_DTYPES, constant_int, constant_value, count, fits, has_dtype, integer_scalar, rank, same_dtype
from .lower import ONNX_DTYPES, Value, cast, const

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def check_shape(node, inputs):
    return count(inputs, 1) or has_dtype(node, "int64") or fits(node, [rank(inputs[0])])


@lowering("theano.tensor.shape", emits=("Shape",), check=check_shape)
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


def check_reshape(node, inputs):
    """To ``ndim`` axes, given by a vector of as many integers."""
    problem = count(inputs, 2) or same_dtype(node, inputs[0])
    if problem:
        return problem
    shp = inputs[1]
    if rank(shp) != 1 or shp["dtype"] not in INT_DTYPES:
        return f"takes its new shape as an integer vector, not a {rank(shp)}-d {shp['dtype']} value"
    ndim = node["attrs"]["ndim"]
    if shp["shape"][0] not in (None, ndim):
        return f"has a shape vector of {shp['shape'][0]} sizes for ndim {ndim}"
    if node["ndim"] != ndim:
        return f"reshapes to ndim {ndim}, but the node says {node['ndim']}-d"
    sizes = constant_value(shp)
    if sizes is None:
        return None
    sizes = [int(n) for n in sizes]
    total = None if None in inputs[0]["shape"] else int(np.prod(inputs[0]["shape"]))
    if any(n < -1 for n in sizes) or sizes.count(-1) > 1:
        return f"reshapes to {sizes}: sizes are >= 0, and one may be -1"
    rest = int(np.prod([n for n in sizes if n != -1]))
    if total is not None and (total != rest if -1 not in sizes else rest == 0 or total % rest):
        return f"reshapes {total} values to {sizes}"
    if -1 in sizes:
        sizes[sizes.index(-1)] = None if total is None else total // rest
    return fits(node, sizes)


@lowering("theano.tensor.reshape", emits=("Reshape", "Cast"), attrs={"ndim": NON_NEGATIVE}, check=check_reshape)
def reshape(node, g, args):
    x, shp = args
    return g.reshape(x, _int64(g, shp, node.scope), node.scope)


def check_flatten(node, inputs):
    """The first ndim - 1 axes kept, the others multiplied into one."""
    problem = count(inputs, 1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    x, k = inputs[0], node["attrs"]["ndim"]
    if k > max(rank(x), 1):
        return f"flattens a {rank(x)}-d input to ndim {k}"
    rest = x["shape"][k - 1:]
    return fits(node, x["shape"][:k - 1] + [None if None in rest else int(np.prod(rest))])


@lowering("theano.tensor.flatten", emits=("Reshape",), attrs={"ndim": POSITIVE}, check=check_flatten)
def flatten(node, g, args):
    k = node.attrs["ndim"]
    return g.node("Reshape", [args[0], g.ints(f"{node.scope}.shape", [0] * (k - 1) + [-1])], node.scope)


def check_dimshuffle(node, inputs):
    """Each axis of the input at most once, the ones left out broadcastable (as Theano requires), and
    'x' for a new broadcastable axis."""
    problem = count(inputs, 1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    x, order = inputs[0], node["attrs"]["new_order"]
    kept = [p for p in order if p != "x"]
    if len(set(kept)) != len(kept) or any(p >= rank(x) for p in kept):
        return f"new_order {order} must list distinct axes of its {rank(x)}-d input (and 'x')"
    dropped = [i for i in range(rank(x)) if i not in kept and not (x["broadcastable"][i] or x["shape"][i] == 1)]
    if dropped:
        return f"new_order {order} drops axis {dropped[0]} of its input, which is not broadcastable"
    if any(node["broadcastable"][i] is not True for i, p in enumerate(order) if p == "x" and i < node["ndim"]):
        return f"new_order {order} inserts broadcastable axes, but the node says {node['broadcastable']}"
    return fits(node, [1 if p == "x" else x["shape"][p] for p in order])


@lowering("theano.tensor.dimshuffle", emits=("Squeeze", "Transpose", "Unsqueeze"),
          attrs={"new_order": array({"anyOf": [NON_NEGATIVE, {"const": "x"}]})}, check=check_dimshuffle)
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


# an idx_list value: an int, null (slices only) or {"input": k}, the node's k-th input
_BY_INPUT = obj({"input": POSITIVE})
IDX_LIST = array({"anyOf": [obj({"index": {"anyOf": [INT, _BY_INPUT]}}),
                            obj({"slice": array({"anyOf": [INT, {"type": "null"}, _BY_INPUT]}, 3, 3)})]})


def index_problem(idx_list, x, inputs, first):
    """(shape, problem): the sizes ``x[idx_list]`` has, and what is wrong with the index list: at most
    one entry per axis of ``x``; the index inputs (from input ``first`` on) each referred to once, in
    order, and integer scalars; no zero step; a constant index within a known size."""
    if len(idx_list) > rank(x):
        return None, f"indexes {len(idx_list)} axes of a {rank(x)}-d input"
    refs = [p["input"] for e in idx_list for p in (e.get("slice") or [e.get("index")]) if isinstance(p, dict)]
    if refs != list(range(first, first + len(refs))) or first + len(refs) != len(inputs):
        return None, (f"refers to its inputs {refs} in idx_list, but its index inputs are "
                      f"{list(range(first, len(inputs)))} (each once, in order)")
    for k in refs:
        problem = integer_scalar(inputs[k], f"index input {k}")
        if problem:
            return None, problem

    def value(p):  # an int, None, or ... for a value not known here
        return p if not isinstance(p, dict) else ... if constant_int(inputs[p["input"]]) is None else \
            constant_int(inputs[p["input"]])

    shape = []
    for axis, e in enumerate(idx_list):
        size = x["shape"][axis]
        if "index" in e:
            i = value(e["index"])
            if i is not ... and size is not None and not -size <= i < size:
                return None, f"indexes {i} on axis {axis} of size {size}"
            continue
        start, stop, step = (value(p) for p in e["slice"])
        if step == 0:
            return None, f"has a slice of step 0 on axis {axis}"
        known = ... not in (start, stop, step) and size is not None
        shape.append(len(range(*slice(start, stop, step).indices(size))) if known else None)
    return shape + x["shape"][len(idx_list):], None


def check_subtensor(node, inputs):
    problem = count(inputs, 1, -1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    shape, problem = index_problem(node["attrs"]["idx_list"], inputs[0], inputs, 1)
    return problem or fits(node, shape)


def _index_scalar(g, i, scope):
    if isinstance(i, int):
        return const(g, i, "int64")
    return _int64(g, i, scope)


@lowering("theano.tensor.subtensor.Subtensor", emits=("Slice", "Gather", "Concat", "Unsqueeze", "Cast"),
          attrs={"idx_list": IDX_LIST}, check=check_subtensor)
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


def check_take(node, inputs):
    """``x`` indexed on ``axis`` by an integer array: that axis replaced by the indices' axes."""
    problem = count(inputs, 2) or same_dtype(node, inputs[0])
    if problem:
        return problem
    x, indices = inputs
    axis = node["attrs"]["axis"]
    if indices["dtype"] not in INT_DTYPES:
        return f"takes integer indices, not {indices['dtype']}"
    if axis >= rank(x):
        return f"axis {axis} is not an axis of its {rank(x)}-d input"
    size, values = x["shape"][axis], constant_value(indices)
    if size is not None and values is not None and values.size and not (-size <= values.min() and values.max() < size):
        return f"takes indices from {values.min()} to {values.max()} on axis {axis} of size {size}"
    return fits(node, x["shape"][:axis] + indices["shape"] + x["shape"][axis + 1:])


@lowering("theano.tensor.take", emits=("Gather", "Cast"), attrs={"axis": NON_NEGATIVE}, check=check_take)
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


def check_inc_subtensor(node, inputs):
    """``x`` with ``x[idx_list]`` set to (or incremented by) ``y``, broadcast to it; its index inputs follow."""
    problem = count(inputs, 2, -1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    x, y = inputs[:2]
    shape, problem = index_problem(node["attrs"]["idx_list"], x, inputs, 2)
    if problem:
        return problem
    if rank(y) > len(shape):
        return f"writes a {rank(y)}-d value into a {len(shape)}-d region"
    big = [(a, b) for a, b in zip(y["shape"][::-1], shape[::-1]) if a not in (None, 1) and b is not None and a != b]
    if big:
        return f"writes a value of shape {y['shape']} into a region of shape {shape}"
    return fits(node, x["shape"])


@lowering("theano.tensor.set_subtensor", attrs={"idx_list": IDX_LIST}, check=check_inc_subtensor,
          emits=("ScatterND", "Expand", "Reshape", "Range", "Slice", "Concat", "Shape", "Gather", "Unsqueeze", "Where",
                 "Less", "Add", "Squeeze"))
def set_subtensor(node, g, args):
    return _inc(node, g, args, True)


@lowering("theano.tensor.inc_subtensor", attrs={"idx_list": IDX_LIST}, check=check_inc_subtensor,
          emits=("ScatterND", "GatherND", "Add", "Expand", "Reshape", "Range", "Slice", "Concat", "Shape", "Gather",
                 "Unsqueeze", "Where", "Less", "Squeeze"))
def inc_subtensor(node, g, args):
    return _inc(node, g, args, False)


# -- joining and allocating ----------------------------------------------------------------------------------------
def _joined_sizes(inputs, verb, skip=None):
    """The common rank of ``inputs`` and their sizes on each axis (but ``skip``), known where any input
    knows it, or a problem: ranks or known sizes that differ ("joins inputs of sizes [4, 6] on axis 2")."""
    ranks = {rank(v) for v in inputs}
    if len(ranks) > 1:
        return f"{verb} inputs of ranks {sorted(ranks)}", None
    nd = ranks.pop()
    shape = []
    for i in range(nd):
        known = {v["shape"][i] for v in inputs if v["shape"][i] is not None}
        if i != skip and len(known) > 1:
            return f"{verb} inputs of sizes {sorted(known)} on axis {i}", None
        shape.append(known.pop() if known and i != skip else None)
    return None, shape


def check_concatenate(node, inputs):
    """Inputs of one rank, joined on ``axis``: the same sizes elsewhere."""
    problem = count(inputs, 1, -1)
    if problem:
        return problem
    axis = node["attrs"]["axis"]
    problem, shape = _joined_sizes(inputs, "joins", skip=axis)
    if problem:
        return problem
    if axis >= len(shape):
        return f"axis {axis} is not an axis of its {len(shape)}-d inputs"
    sizes = [v["shape"][axis] for v in inputs]
    shape[axis] = None if None in sizes else sum(sizes)
    return fits(node, shape)


@lowering("theano.tensor.concatenate", emits=("Concat", "Cast"), attrs={"axis": NON_NEGATIVE},
          check=check_concatenate)
def concatenate(node, g, args):
    return g.node("Concat", [cast(g, a, node.dtype, node.scope) for a in args], node.scope, axis=node.attrs["axis"])


def check_stack(node, inputs):
    """Inputs of one rank, stacked on a new axis ``axis``."""
    problem = count(inputs, 1, -1)
    if problem:
        return problem
    axis = node["attrs"]["axis"]
    problem, shape = _joined_sizes(inputs, "stacks")
    if problem:
        return problem
    if axis > len(shape):
        return f"axis {axis} is not an axis of its {len(shape) + 1}-d result"
    return fits(node, shape[:axis] + [len(inputs)] + shape[axis:])


@lowering("theano.tensor.stack", emits=("Concat", "Unsqueeze", "Cast"), attrs={"axis": NON_NEGATIVE},
          check=check_stack)
def stack(node, g, args):
    axis = node.attrs["axis"]
    parts = [g.unsqueeze(cast(g, a, node.dtype, node.scope), [axis], node.scope) for a in args]
    return g.node("Concat", parts, node.scope, axis=axis) if len(parts) > 1 else parts[0]


def check_alloc(node, inputs):
    """A value broadcast to the sizes its other inputs give (integer scalars, at least its rank)."""
    problem = count(inputs, 1, -1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    value, sizes = inputs[0], inputs[1:]
    for k, v in enumerate(sizes, 1):
        problem = integer_scalar(v, f"size input {k}")
        if problem:
            return problem
    if len(sizes) < rank(value):
        return f"gives {len(sizes)} sizes to a {rank(value)}-d value"
    known = [constant_int(v) for v in sizes]
    if any(n is not None and n < 0 for n in known):
        return f"allocates sizes {known}"
    tail = known[len(known) - rank(value):]
    if any(n is not None and s is not None and s not in (1, n) for n, s in zip(tail, value["shape"])):
        return f"broadcasts a value of shape {value['shape']} to sizes {known}"
    return fits(node, known)


@lowering("theano.tensor.alloc", emits=("Expand", "Concat", "Unsqueeze", "Cast"), check=check_alloc)
def alloc(node, g, args):
    value = cast(g, args[0], node.dtype, node.scope)
    return g.node("Expand", [value, _vector(g, list(args[1:]), node.scope)], node.scope)


def check_arange(node, inputs):
    problem = count(inputs, 3)
    if problem:
        return problem
    problem = next((f"its {what} must be a scalar" for what, v in zip(("start", "stop", "step"), inputs) if rank(v)),
                   None)
    return problem or fits(node, [None])


@lowering("theano.tensor.arange", emits=("Range", "Cast"), check=check_arange)
def arange(node, g, args):
    return g.node("Range", [cast(g, a, node.dtype, node.scope) for a in args], node.scope)


def check_eye(node, inputs):
    """Integer scalar sizes ``n``, ``m`` and diagonal ``k``; an ``n`` x ``m`` result."""
    problem = count(inputs, 3)
    if problem:
        return problem
    for what, v in zip(("n", "m", "k"), inputs):
        problem = integer_scalar(v, what)
        if problem:
            return problem
    sizes = [constant_int(v) for v in inputs[:2]]
    if any(s is not None and s < 0 for s in sizes):
        return f"has negative sizes {sizes}"
    return fits(node, sizes)


@lowering("theano.tensor.eye", emits=("Range", "Unsqueeze", "Sub", "Equal", "Cast"), check=check_eye)
def eye(node, g, args):
    """``(column - row) == k`` over the ``n`` x ``m`` grid of indices, as ``node``'s dtype (``k`` may be
    symbolic, so not EyeLike)."""
    s = node.scope
    n, m, k = (_int64(g, a, s) for a in args)
    zero, one = const(g, 0, "int64"), const(g, 1, "int64")
    rows = g.unsqueeze(g.node("Range", [zero, n, one], s), [1], s)
    columns = g.node("Range", [zero, m, one], s)
    diagonal = g.node("Equal", [g.node("Sub", [columns, rows], s), k], s)
    return g.node("Cast", [diagonal], s, to=ONNX_DTYPES[node.dtype])


def check_tile(node, inputs):
    """One repetition count per axis of the input (the tracer pads a lower-rank input first)."""
    problem = count(inputs, 1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    x, reps = inputs[0], node["attrs"]["reps"]
    if len(reps) != rank(x):
        return f"repeats {len(reps)} axes of a {rank(x)}-d input"
    return fits(node, [None if n is None else n * r for n, r in zip(x["shape"], reps)])


@lowering("theano.tensor.tile", emits=("Tile",), attrs={"reps": array(POSITIVE)}, check=check_tile)
def tile(node, g, args):
    return g.node("Tile", [args[0], g.ints(f"{node.scope}.reps", node.attrs["reps"])], node.scope)
