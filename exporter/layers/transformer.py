"""Spatial transformers: TransformerLayer (affine) and TPSTransformerLayer (thin plate spline).

Both compute, for every output pixel, a source position from the localisation network's output and
sample the input there with Lasagne's bilinear interpolation (``lasagne.layers.special._interpolate``):

* the output grid is ``linspace(-1, 1, n)`` per axis over ``(height // f_h, width // f_w)`` pixels
  (``downsample_factor``), computed in float32 as Theano computes it;
* the affine transform is ``theta.reshape(-1, 2, 3) @ [x_t; y_t; 1]``; the TPS one is
  ``(source_points + offsets) @ L_inv[:, 3:].T @ right_mat``, with Lasagne's float32 ``L_inv`` and
  ``right_mat`` (with ``precompute_grid=False`` Lasagne's U-term ``switch(isnan(log r²), r² log r², 0)`` is
  zero everywhere, so the transform is affine there: reproduced as it is);
* a position ``x`` in [-1, 1] maps to ``(x + 1) / 2 * (width - 1)``; the four neighbours
  ``floor(x)``, ``floor(x) + 1`` are brought inside the image by the border mode (``nearest``: clipped,
  ``mirror``: reflected with period ``2 (width - 1)``, ``wrap``: modulo ``width``) while the weights
  ``(x1 - x)(y1 - y)``... stay those of the unclipped neighbours, as in Lasagne.

This is lowered op for op (Floor, Clip / Mod, GatherND of the four neighbours, weighted sum) rather
than to ONNX ``GridSample``, which weighs clipped neighbours differently for 'wrap' and has no
Theano-exact float path; the input's height and width must be known.
"""
import math

import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, POSITIVE, POSITIVE_NUMBER, array, obj

BORDER_MODES = ("nearest", "mirror", "wrap")


def _common(layer, ctx):
    shape = ctx.input_shapes[0]
    mode = layer.border_mode
    if mode not in BORDER_MODES:
        raise ctx.unsupported(f"border_mode={mode!r} (Lasagne knows {', '.join(BORDER_MODES)})")
    if shape[2] is None or shape[3] is None:
        raise ctx.unsupported(f"input of shape {tuple(shape)}: the exported sampling grid needs the input's height "
                              f"and width")
    factors = [float(f) if isinstance(f, float) else int(f) for f in layer.downsample_factor]
    out = [int(s // f) for s, f in zip(shape[2:], factors)]
    if min(out) < 2:
        raise ctx.unsupported(f"output size {tuple(out)}: Lasagne's linspace grid over fewer than 2 pixels is NaN")
    if mode == "mirror" and min(shape[2:]) < 2:
        raise ctx.unsupported("border_mode='mirror' on an image of height or width 1 divides by zero in Lasagne")
    return {"downsample_factor": factors, "border_mode": mode}


@capture_rule("Transformer", "TransformerLayer")
def capture_transformer(layer, ctx):
    return _common(layer, ctx)


@capture_rule("TPSTransformer", "TPSTransformerLayer")
def capture_tps_transformer(layer, ctx):
    return {**_common(layer, ctx), "control_points": int(layer.control_points),
            "precompute_grid": bool(layer.precompute_grid)}


_COMMON = {"downsample_factor": array(POSITIVE_NUMBER, 2, 2), "border_mode": {"enum": list(BORDER_MODES)}}


def _check_common(layer, localisation_units, what):
    """The inputs (a 4-d image of known height and width, the localisation network's (batch,
    ``localisation_units``) output) and the output grid, as the capture requires them."""
    a = layer.attrs
    if len(layer.input_shapes) != 2:
        return f"{len(layer.input_shapes)} inputs (the image, then the localisation network's output)"
    image, loc = layer.input_shapes
    if len(image) != 4 or None in image[2:]:
        return f"an input of shape {list(image)}: the sampling grid needs (batch, channels, height, width), known"
    if len(loc) != 2 or loc[1] != localisation_units:
        return f"a localisation output of shape {list(loc)}, not (batch, {localisation_units}) ({what})"
    out = [int(s // f) for s, f in zip(image[2:], a["downsample_factor"])]
    if min(out) < 2:
        return f"downsample_factor {a['downsample_factor']} leaves {out[0]} x {out[1]} pixels: Lasagne's grid needs 2"
    if list(layer.output_shape[2:]) != out:
        return (f"downsample_factor {a['downsample_factor']} gives {out[0]} x {out[1]} pixels, but output_shape is "
                f"{list(layer.output_shape)}")
    if a["border_mode"] == "mirror" and min(image[2:]) < 2:
        return "border_mode 'mirror' on an image of height or width 1 divides by zero in Lasagne"
    return None


@attrs_schema("Transformer", obj(_COMMON))
def check_transformer(layer):
    return _check_common(layer, 6, "the 2 x 3 affine matrix")


@attrs_schema("TPSTransformer", obj({**_COMMON, "control_points": {**POSITIVE, "minimum": 4},
                                     "precompute_grid": BOOL}))
def check_tps_transformer(layer):
    k = layer.attrs["control_points"]
    if math.isqrt(k) ** 2 != k:
        return f"control_points {k} is not a perfect square (Lasagne places them on a square grid)"
    return _check_common(layer, 2 * k, "2 offsets per control point")


# -- constants, computed as Lasagne computes them ---------------------------------------------------------
def theano_linspace(n: int) -> np.ndarray:
    """``lasagne.layers.special._linspace(-1, 1, n)``: float32 ``arange(n) * (2 / (n - 1)) - 1``."""
    step = np.float32(2.0) / np.float32(n - 1)
    return np.arange(n, dtype=np.float32) * step + np.float32(-1.0)


def theano_grid(height: int, width: int) -> np.ndarray:
    """Lasagne's ``_meshgrid``: rows x_t, y_t (row-major over the output pixels) and ones, float32 (3, h*w)."""
    x_t = np.broadcast_to(theano_linspace(width)[None, :], (height, width))
    y_t = np.broadcast_to(theano_linspace(height)[:, None], (height, width))
    return np.stack([x_t.reshape(-1), y_t.reshape(-1), np.ones(height * width, np.float32)])


def tps_source_points(control_points: int) -> np.ndarray:
    n = int(round(np.sqrt(control_points)))
    x, y = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    return np.vstack([x.reshape(-1), y.reshape(-1)]).astype(np.float32)


def tps_inverse(source: np.ndarray) -> np.ndarray:
    """``L_inv`` of the thin plate spline system for the control points ``source``: Lasagne's float32 ``L``
    inverted in float64 and rounded to float32.  Lasagne inverts in float32 with the LAPACK of the machine
    that builds the layer, which differs between machines in the last bits (numpy 1.23's and 2.x's do);
    the correctly rounded inverse is the one answer that does not depend on it."""
    k = source.shape[1]
    L = np.zeros((k + 3, k + 3), np.float32)
    L[0, 3:] = 1.0
    L[1:3, 3:] = source
    L[3:, 0] = 1.0
    L[3:, 1:3] = source.T
    for i in range(k):
        for j in range(i, k):
            if source[0, i] == source[0, j] and source[1, i] == source[1, j]:
                continue
            r2 = (source[0, j] - source[0, i]) ** 2 + (source[1, j] - source[1, i]) ** 2  # float32, as Lasagne
            L[i + 3, j + 3] = L[j + 3, i + 3] = r2 * np.log(r2)
    return np.linalg.inv(L.astype(np.float64)).astype(np.float32)


def tps_right_matrix(source: np.ndarray, height: int, width: int, precomputed: bool) -> np.ndarray:
    """Lasagne's ``right_mat`` (k + 3, h*w): ones, grid x, grid y, then the U terms ``r² log r²`` of every
    output pixel to every control point (zero where Lasagne's graph-built path makes them zero)."""
    k = source.shape[1]
    if not precomputed:  # Theano's linspace grid; switch(isnan(log r2), ..., 0) is 0 for every finite r2
        grid = theano_grid(height, width)[:2]
        return np.concatenate([np.ones((1, height * width), np.float32), grid,
                               np.zeros((k, height * width), np.float32)])
    x, y = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
    grid = np.vstack([x.reshape(-1), y.reshape(-1)]).astype(np.float32)
    r2 = np.sum((grid[None, :, :] - source.T[:, :, None]) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        log_r2 = np.log(r2)
    log_r2[np.isinf(log_r2)] = 0.0
    return np.concatenate([np.ones((1, height * width), np.float32), grid, r2 * log_r2]).astype(np.float32)


# -- converters ---------------------------------------------------------------------------------------------
def _out_size(spec, g):
    _, _, h, w = g.input_shape(spec)
    return h, w, [int(s // f) for s, f in zip((h, w), spec.attrs["downsample_factor"])]


_SAMPLING_OPS = ("Transpose", "Reshape", "Gather", "Squeeze", "Add", "Sub", "Mul", "Div", "Floor", "Clip", "Mod", "Less",
                 "Where", "Min", "Neg", "Cast", "Unsqueeze", "GatherND")


@converter("Transformer", emits=("MatMul",) + _SAMPLING_OPS)
def convert_transformer(spec, g):
    h, w, (ho, wo) = _out_size(spec, g)
    theta = g.node("Reshape", [g.input(spec, 1), g.ints(f"{spec.name}.theta_shape", [-1, 2, 3])], spec.name)
    points = g.node("MatMul", [theta, g.constant(f"{spec.name}.grid", theano_grid(ho, wo))], spec.name)
    return sample(spec, g, points, h, w, ho, wo)


@converter("TPSTransformer", emits=("MatMul",) + _SAMPLING_OPS)
def convert_tps_transformer(spec, g):
    a = spec.attrs
    h, w, (ho, wo) = _out_size(spec, g)
    source = tps_source_points(a["control_points"])
    k = source.shape[1]
    offsets = g.node("Reshape", [g.input(spec, 1), g.ints(f"{spec.name}.offsets_shape", [-1, 2, k])], spec.name)
    dest = g.node("Add", [g.constant(f"{spec.name}.source_points", source), offsets], spec.name)
    solve = np.ascontiguousarray(tps_inverse(source)[:, 3:].T)
    coefficients = g.node("MatMul", [dest, g.constant(f"{spec.name}.L_inv_T", solve)], spec.name)
    right = tps_right_matrix(source, ho, wo, a["precompute_grid"])
    points = g.node("MatMul", [coefficients, g.constant(f"{spec.name}.right_mat", right)], spec.name)
    return sample(spec, g, points, h, w, ho, wo)


def _python_mod(g, spec, x, m):
    """``x mod m`` (m > 0) with the sign of m, as Theano's ``%`` on floats."""
    r = g.node("Mod", [x, m], spec.name, fmod=1)
    return g.node("Where", [g.node("Less", [r, g.constant(f"{spec.name}.zero", np.float32(0))], spec.name),
                            g.node("Add", [r, m], spec.name), r], spec.name)


def _border(g, spec, v, size, mode):
    """Lasagne's index of neighbour ``v`` (a float tensor of whole numbers) along an axis of ``size``."""
    if mode == "nearest":
        return g.node("Clip", [v, g.constant(f"{spec.name}.lo", np.float32(0)),
                               g.constant(f"{spec.name}.hi", np.float32(size - 1))], spec.name)
    if mode == "wrap":
        return _python_mod(g, spec, v, g.constant(f"{spec.name}.period", np.float32(size)))
    period = g.constant(f"{spec.name}.period", np.float32(2 * (size - 1)))
    return g.node("Min", [_python_mod(g, spec, v, period),
                          _python_mod(g, spec, g.node("Neg", [v], spec.name), period)], spec.name)


def sample(spec, g, points, h, w, ho, wo):
    """Bilinear sampling of ``spec``'s input (N, C, h, w) at ``points`` (N, 2, ho*wo), coordinates in [-1, 1]."""
    from onnx import TensorProto  # here: capture rules import in the legacy environment, which has no onnx

    mode = spec.attrs["border_mode"]
    c = g.input_shape(spec)[1]
    image = g.node("Transpose", [g.input(spec)], spec.name, perm=[0, 2, 3, 1])
    image = g.node("Reshape", [image, g.ints(f"{spec.name}.pixels_shape", [0, h * w, -1])], spec.name)
    one, two = g.constant(f"{spec.name}.one", np.float32(1)), g.constant(f"{spec.name}.two", np.float32(2))
    coords = []
    for axis, size in ((0, w), (1, h)):  # x then y
        p = g.node("Gather", [points, g.ints(f"{spec.name}.axis", [axis])], spec.name, axis=1)
        p = g.squeeze(p, [1], spec.name)  # (N, ho*wo)
        p = g.node("Div", [g.node("Add", [p, one], spec.name), two], spec.name)
        p = g.node("Mul", [p, g.constant(f"{spec.name}.extent", np.float32(size - 1))], spec.name)
        lo = g.node("Floor", [p], spec.name)
        hi = g.node("Add", [lo, one], spec.name)
        index = [g.node("Cast", [_border(g, spec, v, size, mode)], spec.name, to=TensorProto.INT64) for v in (lo, hi)]
        coords.append((p, lo, hi, index))
    (x, x0, x1, (ix0, ix1)), (y, y0, y1, (iy0, iy1)) = coords
    width = g.constant(f"{spec.name}.width", np.int64(w))
    rows = [g.node("Mul", [iy, width], spec.name) for iy in (iy0, iy1)]
    dx = (g.node("Sub", [x1, x], spec.name), g.node("Sub", [x, x0], spec.name))  # weights of x0, x1
    dy = (g.node("Sub", [y1, y], spec.name), g.node("Sub", [y, y0], spec.name))
    terms = None
    for xi, yi in ((0, 0), (0, 1), (1, 0), (1, 1)):  # Lasagne's order: a (x0, y0), b (x0, y1), c (x1, y0), d (x1, y1)
        flat = g.node("Add", [rows[yi], (ix0, ix1)[xi]], spec.name)
        pixels = g.node("GatherND", [image, g.unsqueeze(flat, [2], spec.name)], spec.name, batch_dims=1)
        weight = g.unsqueeze(g.node("Mul", [dx[xi], dy[yi]], spec.name), [2], spec.name)
        term = g.node("Cast", [g.node("Mul", [weight, pixels], spec.name)], spec.name, to=TensorProto.DOUBLE)
        terms = term if terms is None else g.node("Add", [terms, term], spec.name)
    terms = g.node("Cast", [terms], spec.name, to=TensorProto.FLOAT)  # Theano sums float32 in float64
    out = g.node("Reshape", [terms, g.ints(f"{spec.name}.out_shape", [0, ho, wo, c])], spec.name)
    return g.node("Transpose", [out], spec.name, output=g.out(spec), perm=[0, 3, 1, 2])
