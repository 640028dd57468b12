"""Upscale1D/2D/3DLayer: integer upscaling of the spatial axes (2, 3, ...).

'repeat' (nearest neighbour, every element repeated ``factor`` times) is lowered to an exact
Unsqueeze -> Expand -> Reshape: each spatial axis ``d`` gets a unit axis behind it that is broadcast
to the factor, then the pairs are merged.  'dilate' (the input at every ``factor``-th position,
zeros in between and after the last one) uses the same layout with the unit axes zero-padded at the
end instead of broadcast.  No floating-point coordinate arithmetic is involved, so both are exact.
"""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import POSITIVE, lengths_problem, obj, spatial


@capture_rule("Upscale", "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer")
def capture_upscale(layer, ctx):
    factors = [int(f) for f in layer.scale_factor]
    if any(f < 1 for f in factors):
        raise ctx.unsupported(f"scale_factor={tuple(factors)}")
    mode = getattr(layer, "mode", "repeat")
    if mode not in ("repeat", "dilate"):
        raise ctx.unsupported(f"mode={mode!r} (supported: 'repeat', 'dilate')")
    if len(ctx.input_shape) != 2 + len(factors):
        raise ctx.unsupported(f"a {len(ctx.input_shape)}-D input for {len(factors)} spatial axes")
    return {"scale_factor": factors, "mode": mode}


@attrs_schema("Upscale", obj({"scale_factor": spatial(POSITIVE), "mode": {"enum": ["repeat", "dilate"]}}))
def check_upscale(layer):
    return lengths_problem(layer.attrs, "scale_factor", rank=layer.rank)


@converter("Upscale", emits=("Identity", "Unsqueeze", "Expand", "Pad", "Shape", "Mul", "Reshape"))
def convert_upscale(spec, g):
    factors = spec.attrs["scale_factor"]
    x = g.input(spec)
    if all(f == 1 for f in factors):
        return g.node("Identity", [x], spec.name, output=g.out(spec))
    n = len(factors)
    unit_axes = [3 + 2 * i for i in range(n)]  # (N, C, d1, 1, d2, 1, ...)
    y = g.unsqueeze(x, unit_axes, spec.name)
    if spec.attrs["mode"] == "repeat":
        target = [1, 1] + [v for f in factors for v in (1, f)]
        y = g.node("Expand", [y, g.ints(f"{spec.name}.expand", target)], spec.name)
    else:
        rank = 2 + 2 * n
        ends = [0, 0] + [v for f in factors for v in (0, f - 1)]
        y = g.node("Pad", [y, g.ints(f"{spec.name}.pads", [0] * rank + ends)], spec.name, mode="constant")
    spatial = g.input_shape(spec)[2:]
    if all(d is not None for d in spatial):  # a constant target: opset 13's Reshape infers no shape otherwise
        shape = g.ints(f"{spec.name}.shape", [0, 0] + [d * f for d, f in zip(spatial, factors)])
    else:
        shape = g.node("Mul", [g.node("Shape", [x], spec.name), g.ints(f"{spec.name}.factors", [1, 1] + factors)],
                       spec.name)
    return g.node("Reshape", [y, shape], spec.name, output=g.out(spec))
