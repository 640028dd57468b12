"""Shape ops: shape, reshape, flatten, dimshuffle (and transpose, squeeze, shape_pad*), indexing
(``Subtensor``, ``take``, ``set_subtensor``/``inc_subtensor``), concatenate/stack, alloc
(zeros, ones, ``*_like``), arange, eye, tile, and the composites Theano builds from these (repeat, roll,
split).

An index list (``idx_list``, also in ``set_subtensor``/``inc_subtensor`` nodes) is one entry per
indexed axis, in order: ``{"index": i}`` (the axis disappears) or ``{"slice": [start, stop, step]}``,
where each value is an int, None, or ``{"input": k}``: the k-th input of the node (a scalar integer
variable, e.g. ``x.shape[1] // 2``).
"""
import builtins

import numpy as np

from . import dtypes as D
from . import elemwise as E
from .graph import NotTraceable, SymbolicVariable, as_variable, constant, make_node, theano_constant, user_location
from .registry import builder


def _static(v):
    """The Python int value of an index/size that is an int or a variable of known value, else None."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError("Theano does not index with Python bools")
    if isinstance(v, (int, np.integer)):
        return int(v)
    value = getattr(v, "static_value", None)
    if value is not None and np.ndim(value) == 0:
        return int(value)
    return None


@builder("theano.tensor.shape")
def shape(x):
    x = as_variable(x)
    out = make_node("theano.tensor.shape", [x], dtype="int64", broadcastable=(False,), shape=(x.ndim,))
    if all(s is not None for s in x.static_shape):
        out.static_value = np.asarray(x.static_shape, dtype="int64")
    return out


# -- dimshuffle and friends ------------------------------------------------------------------------------------
@builder("theano.tensor.dimshuffle")
def dimshuffle(x, pattern):
    x = as_variable(x)
    pattern = ["x" if p == "x" else int(p) for p in pattern]
    used = [p for p in pattern if p != "x"]
    if len(set(used)) != len(used) or any(not 0 <= p < x.ndim for p in used):
        raise ValueError(f"dimshuffle pattern {pattern} does not fit a {x.ndim}-d tensor")
    for i in range(x.ndim):
        if i not in used and not (x.broadcastable[i] or x.static_shape[i] == 1):
            raise ValueError(f"dimshuffle {pattern} drops axis {i} of {x!r}, which is not broadcastable "
                             f"(Theano can only drop broadcastable axes)")
    if pattern == list(range(x.ndim)):
        return x
    bc = tuple(True if p == "x" else x.broadcastable[p] for p in pattern)
    shape_ = tuple(1 if p == "x" else x.static_shape[p] for p in pattern)
    value = None
    if x.static_value is not None:
        kept = x.static_value.reshape([x.static_value.shape[i] for i in sorted(used)])
        value = np.transpose(kept, [sorted(used).index(p) for p in used]).reshape(shape_)
    return make_node("theano.tensor.dimshuffle", [x], {"new_order": pattern}, dtype=x.dtype, broadcastable=bc,
                     shape=shape_, value=value)


@builder("theano.tensor.transpose")
def transpose(x, axes=None):
    x = as_variable(x)
    axes = list(reversed(range(x.ndim))) if axes is None else [int(a) % x.ndim for a in axes]
    return dimshuffle(x, axes)


@builder("theano.tensor.swapaxes")
def swapaxes(x, axis1, axis2):
    x = as_variable(x)
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return dimshuffle(x, order)


@builder("theano.tensor.squeeze")
def squeeze(x):
    """Drops the broadcastable axes (Theano's rule, not the size-1 ones)."""
    x = as_variable(x)
    return dimshuffle(x, [i for i in range(x.ndim) if not x.broadcastable[i]])


@builder("theano.tensor.shape_padleft")
def shape_padleft(x, n_ones=1):
    x = as_variable(x)
    return dimshuffle(x, ["x"] * n_ones + list(range(x.ndim)))


@builder("theano.tensor.shape_padright")
def shape_padright(x, n_ones=1):
    x = as_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n_ones)


@builder("theano.tensor.shape_padaxis")
def shape_padaxis(x, axis):
    x = as_variable(x)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise IndexError(f"axis {axis} is out of bounds for a {x.ndim + 1}-d result")
    if axis < 0:
        axis += x.ndim + 1
    pattern = list(range(x.ndim))
    pattern.insert(axis, "x")
    return dimshuffle(x, pattern)


@builder("theano.tensor.patternbroadcast")
def patternbroadcast(x, broadcastable):
    x = as_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if broadcastable == x.broadcastable:
        return x
    for i, b in enumerate(broadcastable):
        if b and x.static_shape[i] not in (None, 1):
            raise ValueError(f"axis {i} of {x!r} has size {x.static_shape[i]} and cannot be made broadcastable")
    return make_node("theano.tensor.patternbroadcast", [x], {"broadcastable": list(broadcastable)}, dtype=x.dtype,
                     broadcastable=broadcastable, shape=x.static_shape, value=x.static_value)


@builder("theano.tensor.addbroadcast")
def addbroadcast(x, *axes):
    x = as_variable(x)
    return patternbroadcast(x, [b or i in [a % x.ndim for a in axes] for i, b in enumerate(x.broadcastable)])


@builder("theano.tensor.unbroadcast")
def unbroadcast(x, *axes):
    x = as_variable(x)
    return patternbroadcast(x, [b and i not in [a % x.ndim for a in axes] for i, b in enumerate(x.broadcastable)])


# -- reshape and flatten -------------------------------------------------------------------------------------
@builder("theano.tensor.reshape")
def reshape(x, newshape, ndim=None):
    x = as_variable(x)
    if isinstance(newshape, (list, tuple)):
        entries = list(newshape)
        if ndim is not None and ndim != len(entries):
            raise ValueError(f"reshape: ndim={ndim} but the shape has {len(entries)} entries")
        sizes = [_static(e) for e in entries]
        shp = as_variable([e if isinstance(e, SymbolicVariable) else int(e) for e in entries]) if entries else \
            constant(np.zeros(0, dtype="int64"))
        ones = [theano_constant(e) == 1 for e in entries]
    else:
        shp = as_variable(newshape)
        if shp.ndim == 0:
            return reshape(x, [shp], ndim)
        n = ndim if ndim is not None else shp.static_shape[0]
        if n is None or shp.ndim != 1:
            raise ValueError("reshape: the shape must be a vector of known length (give ndim=)")
        sizes = [int(v) for v in shp.static_value] if shp.static_value is not None else [None] * n
        ones = [_theano_entry(shp, i) == 1 for i in range(n)]
    if shp.dtype not in D.INT_DTYPES:
        raise TypeError(f"reshape: the shape must hold integers, got {shp.dtype}")
    if sum(1 for s in sizes if s == -1) > 1:
        raise ValueError("reshape: at most one -1")
    if -1 in sizes:
        known = [s for s in sizes if s != -1]
        total = _prod(x.static_shape)
        if total is not None and None not in known and _prod(known):
            sizes[sizes.index(-1)] = total // _prod(known)
        else:
            sizes[sizes.index(-1)] = None
    total, new_total = _prod(x.static_shape), _prod(sizes)
    if total is not None and new_total is not None and total != new_total:
        raise ValueError(f"cannot reshape {x!r} of shape {x.static_shape} to {tuple(sizes)}")
    value = x.static_value.reshape(sizes) if x.static_value is not None and None not in sizes else None
    return make_node("theano.tensor.reshape", [x, shp], {"ndim": len(sizes)}, dtype=x.dtype,
                     broadcastable=tuple(ones), shape=sizes, value=value)


def _theano_entry(vector, i):
    """What Theano's get_scalar_constant_value finds for ``vector[i]`` (None: not a constant to Theano)."""
    if vector.theano_constant and vector.static_value is not None:
        return int(vector.static_value[i])
    owner = vector.owner
    if owner is not None and owner.op == "theano.tensor.shape":
        return 1 if owner.inputs[0].broadcastable[i] else None
    if owner is not None and owner.op == "theano.tensor.stack" and owner.inputs[0].ndim == 0:
        return theano_constant(owner.inputs[i])
    return None


def _prod(sizes):
    if any(s is None for s in sizes):
        return None
    return int(np.prod(sizes)) if sizes else 1


@builder("theano.tensor.flatten")
def flatten(x, ndim=None, outdim=None):
    x = as_variable(x)
    k = outdim if outdim is not None else (1 if ndim is None else ndim)
    if not 1 <= k <= builtins.max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={k} does not fit a {x.ndim}-d tensor")
    bc = x.broadcastable[:k - 1] + (builtins.all(x.broadcastable[k - 1:]),)
    shape_ = tuple(x.static_shape[:k - 1]) + (_prod(x.static_shape[k - 1:]),)
    value = x.static_value.reshape(shape_) if x.static_value is not None else None
    return make_node("theano.tensor.flatten", [x], {"ndim": k}, dtype=x.dtype, broadcastable=bc, shape=shape_,
                     value=value)


# -- indexing ---------------------------------------------------------------------------------------------------
def _is_advanced(e):
    if isinstance(e, (list, np.ndarray)):
        return True
    return isinstance(e, SymbolicVariable) and e.ndim >= 1


def _is_full(e):
    return isinstance(e, slice) and e.start is None and e.stop is None and e.step is None


@builder("theano.tensor.var._tensor_py_operators.__getitem__")  # what ``x[item]`` runs
def getitem(x, item):
    """``x[item]`` as Theano indexes: ints, slices (steps, negative bounds, symbolic bounds), None,
    Ellipsis, and one integer array with full slices elsewhere (``take``)."""
    x = as_variable(x)
    if isinstance(item, list) and any(isinstance(a, slice) for a in item):
        item = tuple(item)
    entries = list(item) if isinstance(item, tuple) else [item]
    for e in entries:
        if isinstance(e, (bool, np.bool_)) or getattr(e, "dtype", None) == "bool" or (
                isinstance(e, np.ndarray) and e.dtype == bool):
            raise NotTraceable("boolean mask indexing gives a data-dependent shape and is not traced", "indexing",
                               user_location())
    if sum(1 for e in entries if e is Ellipsis) > 1:
        raise IndexError("an index can only have a single Ellipsis (`...`)")
    n_real = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if n_real > x.ndim:
        raise IndexError(f"too many indices for a {x.ndim}-d tensor")
    if Ellipsis in [e for e in entries if not isinstance(e, (SymbolicVariable, np.ndarray))]:
        at = next(i for i, e in enumerate(entries) if e is Ellipsis)
        entries[at:at + 1] = [slice(None)] * (x.ndim - n_real)
    advanced = [i for i, e in enumerate(entries) if _is_advanced(e)]
    if advanced:
        i = advanced[0]
        if len(advanced) == 1 and not builtins.any(e is None for e in entries) and builtins.all(
                _is_full(e) for j, e in enumerate(entries) if j != i):
            return take(x, entries[i], axis=i)
        raise NotTraceable("advanced indexing other than one integer array (with full slices on the other axes) is "
                           "not traced", "indexing", user_location())
    if any(e is None for e in entries):
        pattern, rest, counter = [], [], 0
        for e in entries:
            if e is None:
                pattern.append("x")
                rest.append(slice(None))
            else:
                pattern.append(counter)
                counter += 1
                rest.append(e)
        pattern += list(range(counter, x.ndim))
        view = dimshuffle(x, pattern)
        if builtins.all(_is_full(e) for e in rest):
            return view
        return getitem(view, tuple(rest))
    return subtensor(x, entries)


def _part(v, inputs):
    """An index value as stored in an idx_list (int, None or {"input": k}); ``inputs`` gets the variables."""
    if v is None:
        return None
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    v = as_variable(v)
    if v.ndim != 0 or v.dtype not in D.INT_DTYPES:
        raise TypeError(f"an index must be an integer scalar, got a {v.ndim}-d {v.dtype} {v!r}")
    inputs.append(v)
    return {"input": len(inputs) - 1}


def _part_value(p, inputs):
    if p is None or isinstance(p, int):
        return p
    return _static(inputs[p["input"]])


def subtensor(x, entries):
    inputs = [x]
    idx_list, bc, shape_ = [], [], []
    static_index = []
    for axis, e in enumerate(entries):
        size = x.static_shape[axis]
        if isinstance(e, slice):
            parts = [_part(p, inputs) for p in (e.start, e.stop, e.step)]
            values = [_part_value(p, inputs) for p in parts]
            if values[2] == 0:
                raise ValueError("slice step cannot be zero")
            if parts[2] is not None and values[2] is None:
                raise NotTraceable("a slice step whose value is not known while tracing is not supported",
                                   "indexing", user_location())
            idx_list.append({"slice": parts})
            known = builtins.all(v is not None or p is None for p, v in zip(parts, values))
            n = len(range(*slice(*values).indices(size))) if known and size is not None else None
            start = values[0]
            bc.append(bool(x.broadcastable[axis] and start in (None, 0) and parts[0] in (None, 0)
                           and (parts[1] is None or (isinstance(parts[1], int) and parts[1] > (start or 0)))))
            shape_.append(1 if bc[-1] else n)
            static_index.append(slice(*values) if known else None)
        else:
            p = _part(e, inputs)
            v = _part_value(p, inputs)
            if v is not None and size is not None and not -size <= v < size:
                raise IndexError(f"index {v} is out of bounds for axis {axis} with size {size}")
            idx_list.append({"index": p})
            static_index.append(v)
    bc += list(x.broadcastable[len(entries):])
    shape_ += list(x.static_shape[len(entries):])
    value = None
    if x.static_value is not None and None not in static_index:
        value = x.static_value[tuple(static_index)]
    elif (x.owner is not None and x.owner.op == "theano.tensor.shape" and len(entries) == 1
          and isinstance(static_index[0], int)):
        value = x.owner.inputs[0].static_shape[static_index[0]]
        value = None if value is None else np.asarray(value, dtype="int64")
    out = make_node("theano.tensor.subtensor.Subtensor", inputs, {"idx_list": idx_list}, dtype=x.dtype,
                    broadcastable=tuple(bc), shape=tuple(shape_), value=value)
    if len(entries) == 1 and isinstance(static_index[0], int) and out.ndim == 0:
        known = _theano_entry(x, static_index[0]) if x.ndim == 1 and inputs == [x] else None
        out.theano_constant = known is not None
    return out


@builder("theano.tensor.take")
def take(x, indices, axis=None, mode="raise"):
    x = as_variable(x)
    if mode != "raise":
        raise NotImplementedError(f"take(mode={mode!r}) is not traced")
    if axis is None:
        x, axis = flatten(x, 1), 0
    axis = int(axis) % x.ndim
    if isinstance(indices, (list, tuple)):
        indices = np.asarray(indices, dtype="int64")
    indices = as_variable(indices)
    if indices.dtype not in D.INT_DTYPES:
        raise TypeError(f"take: indices must be integers, got {indices.dtype}")
    bc = x.broadcastable[:axis] + indices.broadcastable + x.broadcastable[axis + 1:]
    shape_ = tuple(x.static_shape[:axis]) + tuple(indices.static_shape) + tuple(x.static_shape[axis + 1:])
    return make_node("theano.tensor.take", [x, indices], {"axis": axis}, dtype=x.dtype, broadcastable=bc,
                     shape=shape_)


def _inc(x_sub, y, set_instead_of_inc):
    what = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
    x_sub = as_variable(x_sub)
    y = as_variable(y)
    owner = x_sub.owner
    if owner is None or owner.op != "theano.tensor.subtensor.Subtensor":
        raise NotTraceable(f"{what} is traced on basic indexing (ints and slices) only", f"theano.tensor.{what}",
                           user_location())
    if y.ndim > x_sub.ndim:
        raise TypeError(f"{what}: the value has more dimensions ({y.ndim}) than the subtensor ({x_sub.ndim})")
    base = owner.inputs[0]
    return make_node(f"theano.tensor.{what}", [base, y] + owner.inputs[1:],
                     {"idx_list": _shift_inputs(owner.attrs["idx_list"], 1)}, dtype=base.dtype,
                     broadcastable=base.broadcastable, shape=base.static_shape)


def _shift_inputs(idx_list, by):
    def shift(p):
        return {"input": p["input"] + by} if isinstance(p, dict) else p

    return [{"index": shift(e["index"])} if "index" in e else {"slice": [shift(p) for p in e["slice"]]}
            for e in idx_list]


@builder("theano.tensor.set_subtensor", "theano.tensor.subtensor.set_subtensor")
def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    return _inc(x, y, True)


@builder("theano.tensor.inc_subtensor", "theano.tensor.subtensor.inc_subtensor")
def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    return _inc(x, y, set_instead_of_inc)


# -- joining -------------------------------------------------------------------------------------------------
@builder("theano.tensor.concatenate")
def concatenate(tensor_list, axis=0):
    xs = [as_variable(t) for t in tensor_list]
    if not xs:
        raise ValueError("concatenate needs at least one tensor")
    nd = xs[0].ndim
    if any(x.ndim != nd for x in xs):
        raise TypeError(f"concatenate: all tensors must have the same number of dimensions, got "
                        f"{[x.ndim for x in xs]}")
    axis = _static(axis)
    if axis is None:
        raise NotTraceable("concatenate along an axis not known while tracing", "theano.tensor.concatenate",
                           user_location())
    axis %= nd
    if len(xs) == 1:
        return xs[0]
    bc, shape_ = [], []
    for i in range(nd):
        if i == axis:
            bc.append(False)
            sizes = [x.static_shape[i] for x in xs]
            shape_.append(None if None in sizes else builtins.sum(sizes))
        else:
            bc.append(builtins.any(x.broadcastable[i] for x in xs))
            known = [x.static_shape[i] for x in xs if x.static_shape[i] is not None]
            shape_.append(known[0] if known else None)
    value = None
    if builtins.all(x.static_value is not None for x in xs):
        value = np.concatenate([x.static_value for x in xs], axis=axis)
    return make_node("theano.tensor.concatenate", xs, {"axis": axis}, dtype=D.upcast(*[x.dtype for x in xs]),
                     broadcastable=tuple(bc), shape=tuple(shape_), value=value)


@builder("theano.tensor.join")
def join(axis, *tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return concatenate(list(tensors), axis)


@builder("theano.tensor.stack")
def stack(*tensors, **kwargs):
    axis = kwargs.pop("axis", 0)
    if kwargs:
        raise TypeError(f"stack: unexpected arguments {sorted(kwargs)}")
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    elif len(tensors) == 2 and isinstance(tensors[0], (list, tuple)) and isinstance(tensors[1], int):
        tensors, axis = tensors
    xs = [as_variable(t) for t in tensors]
    if not xs:
        raise ValueError("stack needs at least one tensor")
    nd = xs[0].ndim
    if any(x.ndim != nd for x in xs):
        raise TypeError("stack: all tensors must have the same number of dimensions")
    axis %= nd + 1
    bc = [builtins.any(x.broadcastable[i] for x in xs) for i in range(nd)]
    shape_ = []
    for i in range(nd):
        known = [x.static_shape[i] for x in xs if x.static_shape[i] is not None]
        shape_.append(known[0] if known else None)
    bc.insert(axis, False)
    shape_.insert(axis, len(xs))
    dtype = D.upcast(*[x.dtype for x in xs])
    value = None
    if builtins.all(x.static_value is not None for x in xs):
        value = np.stack([x.static_value for x in xs], axis=axis).astype(dtype)
    return make_node("theano.tensor.stack", xs, {"axis": axis}, dtype=dtype, broadcastable=tuple(bc),
                     shape=tuple(shape_), value=value)


# -- allocation ------------------------------------------------------------------------------------------------
@builder("theano.tensor.alloc")
def alloc(value, *shape_):
    value = as_variable(value)
    if len(shape_) == 1 and isinstance(shape_[0], (list, tuple)):
        shape_ = tuple(shape_[0])
    if len(shape_) < value.ndim:
        raise ValueError(f"alloc: {len(shape_)} sizes for a {value.ndim}-d value")
    dims = [as_variable(s) for s in shape_]
    for d in dims:
        if d.ndim != 0 or d.dtype not in D.INT_DTYPES:
            raise TypeError(f"alloc: sizes must be integer scalars, got {d!r} ({d.ndim}-d {d.dtype})")
    sizes = [_static(d) for d in dims]
    bc = tuple(theano_constant(d) == 1 for d in dims)
    return make_node("theano.tensor.alloc", [value] + dims, dtype=value.dtype, broadcastable=bc, shape=sizes)


def _filled(value, shape_, dtype):
    if not isinstance(shape_, (list, tuple)):
        shape_ = as_variable(shape_)
        if shape_.ndim == 0:
            shape_ = [shape_]
    return alloc(constant(value, dtype=D.float_x() if dtype is None else str(np.dtype(dtype))), *shape_)


@builder("theano.tensor.zeros")
def zeros(shape_, dtype=None):
    return _filled(0, shape_, dtype)


@builder("theano.tensor.ones")
def ones(shape_, dtype=None):
    return _filled(1, shape_, dtype)


@builder("theano.tensor.zeros_like")
def zeros_like(model, dtype=None, opt=False):
    model = as_variable(model)
    return E.second(model, constant(0, dtype=dtype or model.dtype))


@builder("theano.tensor.ones_like")
def ones_like(model, dtype=None, opt=False):
    model = as_variable(model)
    return E.second(model, constant(1, dtype=dtype or model.dtype))


@builder("theano.tensor.arange")
def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    start, stop, step = as_variable(start), as_variable(stop), as_variable(step)
    if dtype is None:
        dtype = D.upcast(start.dtype, stop.dtype, step.dtype)
        dtype = {"int8": "int64", "int16": "int64", "int32": "int64", "uint8": "uint64", "uint16": "uint64",
                 "uint32": "uint64"}.get(dtype, dtype)
    values = [_static(v) if D.is_discrete(v.dtype) else None for v in (start, stop, step)]
    n = len(range(*values)) if None not in values else None
    value = np.arange(*values, dtype=dtype) if n is not None else None
    return make_node("theano.tensor.arange", [start, stop, step], dtype=str(np.dtype(dtype)),
                     broadcastable=(False,), shape=(n,), value=value)


@builder("theano.tensor.eye", "theano.tensor.basic.eye")
def eye(n, m=None, k=0, dtype=None):
    """Theano's ``Eye``: an ``n`` x ``m`` (default ``n``) matrix of ``dtype`` (default floatX), ones on
    the ``k``-th diagonal; the sizes and ``k`` may be symbolic integer scalars (``x.shape[0]``)."""
    n = as_variable(n)
    m = n if m is None else as_variable(m)
    k = as_variable(k)
    for what, v in (("n", n), ("m", m), ("k", k)):
        if v.ndim != 0 or v.dtype not in D.INT_DTYPES:
            raise TypeError(f"eye: {what} must be an integer scalar, got {v!r} ({v.ndim}-d {v.dtype})")
    dtype = D.float_x() if dtype is None else str(np.dtype(dtype))
    return make_node("theano.tensor.eye", [n, m, k], dtype=dtype, broadcastable=(False, False),
                     shape=(_static(n), _static(m)))


@builder("theano.tensor.tile")
def tile(x, reps, ndim=None):
    x = as_variable(x)
    if not isinstance(reps, (list, tuple)) or not builtins.all(
            isinstance(r, (int, np.integer)) or isinstance(r, SymbolicVariable) and r.ndim == 0 for r in reps):
        raise NotTraceable("tile is traced with a list of integer or scalar repetitions only", "theano.tensor.tile",
                           user_location())
    if not builtins.all(isinstance(r, (int, np.integer)) for r in reps):
        return _tile_symbolic(x, list(reps), ndim)
    n = builtins.max(len(reps), x.ndim) if ndim is None else ndim
    reps = [1] * (n - len(reps)) + [int(r) for r in reps]
    if x.ndim < n:
        x = shape_padleft(x, n - x.ndim)
    shape_ = tuple(None if s is None else s * r for s, r in zip(x.static_shape, reps))
    bc = tuple(b and r == 1 for b, r in zip(x.broadcastable, reps))
    return make_node("theano.tensor.tile", [x], {"reps": reps}, dtype=x.dtype, broadcastable=bc, shape=shape_)


def _tile_symbolic(x, reps, ndim):
    """Theano's own formula for repetitions known only when the network runs (``T.tile(x, (n, 1))`` with
    ``n = input.shape[0]``): alloc ``reps + shape``, interleave the axes, reshape to ``shape * reps``."""
    for r in reps:
        if not isinstance(r, (int, np.integer)) and r.dtype not in D.INT_DTYPES:
            raise TypeError(f"tile: repetitions must be integers, got {r!r} ({r.dtype})")
    n = builtins.max(len(reps), x.ndim) if ndim is None else ndim
    reps = [1] * (n - len(reps)) + reps
    if x.ndim < n:
        x = shape_padleft(x, n - x.ndim)
    sizes = [x.shape[i] for i in range(n)]
    y = alloc(x, *(reps + sizes))
    y = dimshuffle(y, [k for i in range(n) for k in (i, n + i)])
    return reshape(y, [size * r for size, r in zip(sizes, reps)])


@builder("theano.tensor.repeat", "theano.tensor.extra_ops.repeat")
def repeat(x, repeats, axis=None):
    """Theano's formula for a scalar ``repeats``: insert an axis after ``axis``, alloc, reshape."""
    x = as_variable(x)
    repeats = as_variable(repeats)
    if repeats.ndim != 0:
        raise NotTraceable("repeat with a vector of repetitions is not traced", "theano.tensor.repeat",
                           user_location())
    if axis is None:
        x, axis = flatten(x, 1), 0
    axis %= x.ndim
    shp = shape(x)
    sizes = [getitem(shp, i) for i in range(x.ndim)]
    pattern = list(range(axis + 1)) + ["x"] + list(range(axis + 1, x.ndim))
    expanded = alloc(dimshuffle(x, pattern), *(sizes[:axis + 1] + [repeats] + sizes[axis + 1:]))
    return reshape(expanded, sizes[:axis] + [E.mul(sizes[axis], repeats)] + sizes[axis + 1:])


@builder("theano.tensor.roll")
def roll(x, shift, axis=None):
    """Theano's formula: the two slices of ``x`` around ``shift`` (mod the axis size), joined."""
    x = as_variable(x)
    if axis is None:
        if x.ndim > 1:
            return reshape(roll(flatten(x, 1), shift, 0), shape(x), ndim=x.ndim)
        axis = 0
    axis %= x.ndim
    shift = E.mod(shift, getitem(shape(x), axis))
    every = [slice(None)] * x.ndim
    front = every[:axis] + [slice(E.neg(shift), None)] + every[axis + 1:]
    back = every[:axis] + [slice(0, E.neg(shift))] + every[axis + 1:]
    return concatenate([getitem(x, tuple(front)), getitem(x, tuple(back))], axis)


@builder("theano.tensor.split")
def split(x, splits_size, n_splits, axis=0):
    x = as_variable(x)
    sizes = [_static(s) for s in (splits_size if isinstance(splits_size, (list, tuple)) else
                                  getattr(as_variable(splits_size), "static_value", None) or [None])]
    if None in sizes or len(sizes) != n_splits:
        raise NotTraceable("split is traced with constant split sizes only", "theano.tensor.split", user_location())
    out, start = [], 0
    every = [slice(None)] * x.ndim
    for s in sizes:
        out.append(getitem(x, tuple(every[:axis] + [slice(start, start + s)] + every[axis + 1:])))
        start += s
    return out
