"""Shape ops against Theano: reshape (symbolic sizes, -1), flatten, dimshuffle/transpose/pad/squeeze,
indexing (ints, negative, slices with steps, symbolic bounds, None, Ellipsis, integer arrays),
set_subtensor/inc_subtensor, concatenate/stack, take, alloc/zeros/ones/*_like, arange, tile, repeat,
roll, split; eye (its own examples, ``EYE_SPECS``)."""
import numpy as np
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test, shapes

TEMPLATES = ["reshape", "reshape_split", "flatten", "dimshuffle", "transpose", "pad", "squeeze", "index", "index",
             "index_none", "index_symbolic", "set", "inc", "set_scalar", "concat", "stack", "take", "take_numpy", "take_var",
             "alloc", "arange", "tile", "repeat", "roll", "split", "shape_iter"]


def _index(draw, shape, allow_none=False, allow_ellipsis=True, allow_int=True):
    """Python source of an index of ``shape`` and the numpy index it means."""
    k = draw(st.integers(1, len(shape)))
    parts, real = [], []
    for s in shape[:k]:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"] if allow_int else ["slice", "slice", "full"]))
        if kind == "int":
            i = draw(st.integers(-s, s - 1))
            parts.append(str(i))
            real.append(i)
        elif kind == "full":
            parts.append(":")
            real.append(slice(None))
        else:
            start = draw(st.one_of(st.none(), st.integers(-s - 1, s + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-s - 1, s + 1)))
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            parts.append(f"{'' if start is None else start}:{'' if stop is None else stop}"
                         + ("" if step is None else f":{step}"))
            real.append(slice(start, stop, step))
    if allow_ellipsis and k < len(shape) and draw(st.booleans()):
        parts.append("...")
        real.append(Ellipsis)
    if allow_none and k == len(shape) and Ellipsis not in real:
        at = draw(st.integers(0, len(parts)))
        parts.insert(at, "None")
        real.insert(at, None)
    return ", ".join(parts), tuple(real)


@st.composite
def examples(draw, template):
    rank_min = {"reshape_split": 2, "transpose": 2, "concat": 1, "stack": 0, "take": 1, "take_numpy": 1, "take_var": 1, "split": 1,
                "index_symbolic": 2, "roll": 1, "repeat": 1, "shape_iter": 2}.get(template, 1)
    shape = draw(shapes(rank_min, 4))
    known = draw(knowns(shape))
    r = len(shape)
    x = operand(shape, draw(st.sampled_from(["float32", "float32", "int32"])), None, known)
    ins = [x]
    if template == "reshape":
        groups, start = [], 0
        while start < r:
            n = draw(st.integers(1, r - start))
            groups.append(list(range(start, start + n)))
            start += n
        entries = [" * ".join(f"x.shape[{i}]" for i in grp) if draw(st.booleans()) else
                   str(int(np.prod([shape[i] for i in grp]))) for grp in groups]
        entries[draw(st.integers(0, len(entries) - 1))] = "-1"
        code = f"x.reshape(({', '.join(entries)},))"
    elif template == "reshape_split":
        shape[1] = 2 * draw(st.integers(1, 2))
        x = operand(shape, "float32", None, known)
        ins = [x]
        code = "x.reshape((x.shape[0], 2, x.shape[1] // 2) + tuple(x.shape[2:]))" if draw(st.booleans()) else \
            "T.reshape(x, (x.shape[0], -1))"
    elif template == "flatten":
        code = f"x.flatten({draw(st.integers(1, r))})" if draw(st.booleans()) else f"T.flatten(x, {draw(st.integers(1, r))})"
    elif template == "dimshuffle":
        kept = [i for i in range(r) if shape[i] != 1 or draw(st.booleans())]
        order = draw(st.permutations(kept))
        pattern = list(order)
        for _ in range(draw(st.integers(0, 2))):
            pattern.insert(draw(st.integers(0, len(pattern))), "x")
        code = f"x.dimshuffle({pattern!r})"
    elif template == "transpose":
        code = draw(st.sampled_from(["x.T", f"T.transpose(x, {list(draw(st.permutations(list(range(r)))))!r})",
                                     f"T.swapaxes(x, 0, {r - 1})"]))
    elif template == "pad":
        code = draw(st.sampled_from(["T.shape_padleft(x)", "T.shape_padright(x, 2)",
                                     f"T.shape_padaxis(x, {draw(st.integers(-r - 1, r))})",
                                     f"T.addbroadcast(x.sum(axis={r - 1}, keepdims=True), {r - 1}) + x"]))
    elif template == "squeeze":
        code = "T.squeeze(x)" if draw(st.booleans()) else "x.sum(axis=0, keepdims=True).squeeze()"
    elif template in ("index", "index_none"):
        idx, _ = _index(draw, shape, allow_none=template == "index_none", allow_ellipsis=template == "index")
        code = f"x[{idx}]"
    elif template == "index_symbolic":
        code = draw(st.sampled_from(["x[:, :x.shape[1] // 2]", "x[x.shape[0] - 1]", "x[::-1, 1:]",
                                     "x[:, x.shape[1] // 2:]", "x[-1, :x.shape[1] - 1]", "x[:, ::2][:, 1:]"]))
    elif template in ("set", "inc", "set_scalar"):
        idx, real = _index(draw, shape, allow_ellipsis=False)
        target = np.empty(shape)[real].shape
        fn = "T.inc_subtensor" if template == "inc" else "T.set_subtensor"
        if template == "set_scalar":
            code = f"{fn}(x[{idx}], 7)"
        else:
            lower = list(target[draw(st.integers(0, len(target))):])
            y_shape = [1 if draw(st.integers(0, 3)) == 0 else s for s in lower]
            ins.append(operand(y_shape, x["dtype"]))
            code = f"{fn}(x[{idx}], y)"
    elif template == "concat":
        axis = draw(st.integers(0, r - 1))
        other = list(shape)
        other[axis] = draw(st.integers(1, 3))
        ins.append(operand(other, x["dtype"], None, draw(knowns(other))))
        code = draw(st.sampled_from([f"T.concatenate([x, y], axis={axis})", f"T.concatenate([y, x, y], axis={axis - r})",
                                     f"T.join({axis}, x, y)"]))
    elif template == "stack":
        ins.append(operand(shape, draw(st.sampled_from(["float32", "int32"]))))
        code = f"T.stack([x, y], axis={draw(st.integers(-r - 1, r))})" if r else "T.stack([x, y, x])"
    elif template in ("take", "take_numpy"):
        axis = draw(st.integers(0, r - 1))
        idx = draw(st.lists(st.integers(-shape[axis], shape[axis] - 1), min_size=1, max_size=4))
        # take_numpy: an integer numpy array (kaggle-ndsb's x[np.array([1, 2, 3, 0])])
        form = "numpy" if template == "take_numpy" else draw(st.sampled_from(["list", "take"]))
        index = f"np.array({idx})" if form == "numpy" else f"{idx}"
        code = f"T.take(x, {idx}, axis={axis})" if form == "take" else \
            (f"x[{index}]" if axis == 0 else f"x[{', '.join([':'] * axis)}, {index}]")
    elif template == "take_var":
        ins.append(operand(draw(shapes(1, 2, 3)), draw(st.sampled_from(["int32", "int64"])), f"range:{shape[0]}"))
        code = "x[y]"
    elif template == "alloc":
        code = draw(st.sampled_from(["T.zeros((x.shape[0], 3)) + x.sum()", "T.ones_like(x) * 2",
                                     "T.zeros_like(x, dtype='int32') + 1", "T.alloc(0.5, x.shape[0], 2)",
                                     "T.fill(x, 3.0)", "T.ones((2, x.shape[-1]), dtype='int64')",
                                     "T.alloc(x, 2, *x.shape)"]))
    elif template == "arange":
        code = draw(st.sampled_from(["T.arange(x.shape[0])", "T.arange(1, x.shape[-1] * 2, 2)", "T.arange(5) * 0.5",
                                     "T.arange(x.shape[0] + 1, 0, -1)", "T.arange(0.5, 3.0, 0.75)"]))
    elif template == "tile":
        reps = draw(st.lists(st.integers(1, 3), min_size=1, max_size=r + 1))
        code = f"T.tile(x, {reps!r})"
    elif template == "repeat":
        code = draw(st.sampled_from([f"T.repeat(x, 2, axis={draw(st.integers(-r, r - 1))})", "x.repeat(3)",
                                     f"T.extra_ops.repeat(x, 2, {r - 1})"]))
    elif template == "roll":
        shift = draw(st.integers(-5, 5))
        code = f"T.roll(x, {shift}, axis={draw(st.integers(0, r - 1))})" if draw(st.booleans()) else f"T.roll(x, {shift})"
    elif template == "split":
        axis = draw(st.integers(0, r - 1))
        first = draw(st.integers(0, shape[axis]))
        code = f"T.split(x, [{first}, {shape[axis] - first}], 2, axis={axis})[{draw(st.integers(0, 1))}]"
    else:  # shape_iter: unpacking the symbolic shape, as research code does
        code = "(lambda s: x.reshape((s[0] * s[1],) + tuple(s[2:])))(list(x.shape))"
    args = "x" if len(ins) == 1 else "x, y"
    return {"code": f"lambda {args}: {code}", "inputs": ins}


SPECS = draw_family("shape", TEMPLATES, examples, per=3)


test_matches_theano = parity_test(SPECS)


# T.eye (improved-gan's MinibatchLayer adds T.eye(x.shape[0])): literal and symbolic sizes and diagonal, dtypes
EYE_CODES = ["x[:, :1] + T.eye(x.shape[0])[:, :1]",
             "T.exp(-(T.sum(abs(x.dimshuffle(0, 1, 'x') - x.dimshuffle('x', 1, 0)), axis=1) + 1e6 * T.eye(x.shape[0])))", "T.eye(x.shape[0], x.shape[1]) * x", "x[:1] * T.eye(x.shape[1], k=1)[:1]",
             "T.eye(x.shape[0], x.shape[1] + 1, k=x.shape[0] - 2)", "T.eye(4, 3, -1, dtype='int32') + x.sum()",
             "T.eye(3, dtype='int64')", "T.eye(x.shape[1] + 1, x.shape[0], -1, dtype='float64').dimshuffle(1, 0)",
             "T.dot(x, T.eye(x.shape[1]))"]


@st.composite
def eye_examples(draw, code):
    shape = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    return {"code": f"lambda x: {code}", "inputs": [operand(shape, "float32", None, draw(knowns(shape)))]}


EYE_SPECS = draw_family("eye", EYE_CODES, eye_examples, per=2)


test_eye_matches_theano = parity_test(EYE_SPECS)
