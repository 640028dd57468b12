"""SliceLayer (an int index drops the axis; a slice keeps it) and PadLayer (constant ``val`` on
every axis from ``batch_ndim`` on; ``width`` an int, or per axis an int or a (before, after) pair)."""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import INT, NON_NEGATIVE, NUMBER, OPTIONAL_INT, array, obj

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63


@capture_rule("Slice", "SliceLayer")
def capture_slice(layer, ctx):
    rank = len(ctx.input_shape)
    axis = int(layer.axis)
    if not -rank <= axis < rank:
        raise ctx.unsupported(f"axis={axis} for a {rank}-D input")
    axis %= rank
    s = layer.slice
    if isinstance(s, slice):
        for part in ("start", "stop", "step"):
            v = getattr(s, part)
            if v is not None and not isinstance(v, int) and not (hasattr(v, "item") and getattr(v, "shape", 0) == ()):
                raise ctx.unsupported(f"slice {part}={v!r}: only constant integer slices are exported")
        if s.step is not None and int(s.step) == 0:
            raise ctx.unsupported("slice step 0")
        return {"axis": axis, "index": None, "start": s.start, "stop": s.stop, "step": s.step}
    if isinstance(s, int) or (hasattr(s, "item") and getattr(s, "shape", 0) == ()):
        return {"axis": axis, "index": int(s)}
    raise ctx.unsupported(f"indices={s!r}: only an int or a slice is exported")


# x[..., index] (drops the axis), or x[..., start:stop:step] with index null
_SLICE_PARTS = ("start", "stop", "step")


@attrs_schema("Slice", {
    **obj({"axis": NON_NEGATIVE, "index": OPTIONAL_INT, "start": OPTIONAL_INT, "stop": OPTIONAL_INT,
           "step": {"anyOf": [{**INT, "not": {"const": 0}}, {"type": "null"}]}}, optional=_SLICE_PARTS),
    "if": {"properties": {"index": {"type": "null"}}, "required": ["index"]},
    "then": {"required": list(_SLICE_PARTS)},
})
def check_slice(layer):
    a = layer.attrs
    if a["index"] is not None and any(k in a for k in _SLICE_PARTS):
        return "'start', 'stop' and 'step' are only for a slice (index null)"
    if a["axis"] >= layer.rank:
        return f"axis {a['axis']} is not an axis of its {layer.rank}-d input"
    size = layer.input_shape[a["axis"]]
    if a["index"] is not None and size is not None and not -size <= a["index"] < size:
        return f"index {a['index']} is out of range for axis {a['axis']} of size {size}"
    return None


@converter("Slice", emits=("Gather", "Squeeze", "Slice"))
def convert_slice(spec, g):
    a = spec.attrs
    x = g.input(spec)
    if a["index"] is not None:  # Theano's x[..., i] drops the axis: Gather [i], then Squeeze it
        y = g.node("Gather", [x, g.ints(f"{spec.name}.index", [a["index"]])], spec.name, axis=a["axis"])
        return g.squeeze(y, [a["axis"]], spec.name, output=g.out(spec))
    step = 1 if a["step"] is None else int(a["step"])
    if step > 0:
        start = 0 if a["start"] is None else int(a["start"])
        stop = INT64_MAX if a["stop"] is None else int(a["stop"])
    else:  # ONNX clamps to [0, n-1] / [-1, n-1] for negative steps: the extremes mean "from the end" / "past 0"
        start = INT64_MAX if a["start"] is None else int(a["start"])
        stop = INT64_MIN if a["stop"] is None else int(a["stop"])
    return g.node("Slice", [x, g.ints(f"{spec.name}.starts", [start]), g.ints(f"{spec.name}.ends", [stop]),
                            g.ints(f"{spec.name}.axes", [a["axis"]]), g.ints(f"{spec.name}.steps", [step])],
                  spec.name, output=g.out(spec))


@capture_rule("Pad", "PadLayer")
def capture_pad(layer, ctx):
    rank = len(ctx.input_shape)
    batch_ndim = int(layer.batch_ndim)
    width = layer.width
    if isinstance(width, int):
        widths = [width] * (rank - batch_ndim)
    else:
        widths = list(width)
    if batch_ndim < 0 or batch_ndim + len(widths) > rank:
        raise ctx.unsupported(f"width={width!r} with batch_ndim={batch_ndim} does not fit a {rank}-D input")
    before, after = [0] * rank, [0] * rank
    for k, w in enumerate(widths):
        if isinstance(w, (tuple, list)):
            if len(w) != 2:
                raise ctx.unsupported(f"width entry {w!r}: expected an int or a (before, after) pair")
            l, r = int(w[0]), int(w[1])
        else:
            l = r = int(w)
        if l < 0 or r < 0:
            raise ctx.unsupported(f"negative padding width {w!r}")
        before[batch_ndim + k], after[batch_ndim + k] = l, r
    val = layer.val
    if not isinstance(val, (int, float)) and not (hasattr(val, "item") and getattr(val, "shape", 0) == ()):
        raise ctx.unsupported(f"val={val!r}: only a constant number is exported")
    return {"pads": before + after, "val": float(val)}


@attrs_schema("Pad", obj({"pads": array(NON_NEGATIVE, 2), "val": NUMBER}))
def check_pad(layer):
    n = len(layer.attrs["pads"])
    return None if n == 2 * layer.rank else f"'pads' has {n} values for its {layer.rank}-d input (2 per axis)"


@converter("Pad", emits=("Identity", "Pad"))
def convert_pad(spec, g):
    a = spec.attrs
    x = g.input(spec)
    if not any(a["pads"]):
        return g.node("Identity", [x], spec.name, output=g.out(spec))
    inputs = [x, g.ints(f"{spec.name}.pads", a["pads"])]
    if a["val"] != 0:  # a 0-d float32 initializer (fp16 converters and quantisation tools rewrite those; a
        # Constant node's value_float they leave as float32, which then no longer fits Pad's input type)
        inputs.append(g.constant(f"{spec.name}.value", np.float32(a["val"])))
    return g.node("Pad", inputs, spec.name, output=g.out(spec), mode="constant")
