"""Dense layers: ``Gemm`` and ``MatMul`` (+ ``Add``) with constant weights -> ``Dense``."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError
from .builder import TARGET, onnx_op, op


def _dense(b, n, x_name, kernel, bias, out):
    v = b.vals.get(x_name)
    if v is not None and v.perm is not None:
        kernel = kernel[v.perm]
        x = v.t
    else:
        rank = b.rank(x_name, n)
        x = b.get(x_name, n, "cf" if rank >= 3 else None)
    layer = b.keras.layers.Dense(kernel.shape[1], use_bias=bias is not None, name=b.lname(n))
    b.put(out, b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None else [])), "cf")


@op("Gemm", attrs=("alpha", "beta", "transA", "transB"))
def gemm(b, n):
    w = b.const(n.inputs[1])
    c = b.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    if w is None or n.attr("transA", 0) or (len(n.inputs) > 2 and n.inputs[2] and c is None):
        raise UnsupportedNodeError(n, "only Gemm with constant B and C and transA=0 is supported", TARGET)
    w = w.T if n.attr("transB", 0) else w
    alpha, beta = n.attr("alpha", 1.0), n.attr("beta", 1.0)
    if alpha != 1.0:
        w = (w * np.float32(alpha)).astype(np.float32)
    bias = None
    if c is not None:
        if c.size not in (1, w.shape[1]):
            raise UnsupportedNodeError(n, f"bias C of shape {c.shape} is not a per-output bias", TARGET)
        bias = np.broadcast_to(c.reshape(-1) * np.float32(beta), (w.shape[1],)).astype(np.float32)
    _dense(b, n, n.inputs[0], w, bias, n.outputs[0])


@op("MatMul")
def matmul(b, n):
    w = b.const(n.inputs[1])
    if w is None or w.ndim != 2 or w.dtype.kind != "f":
        return _matmul(b, n)
    out, bias = n.outputs[0], None
    users = b.view.consumers.get(out, [])
    if len(users) == 1 and users[0].op_type == "Add" and not b.view.is_output(out):
        add = users[0]
        other = [i for i in add.inputs if i != out]
        c = b.const(other[0]) if len(other) == 1 else None
        if c is not None and c.size == w.shape[1] and c.shape[-1] == w.shape[1] and c.ndim <= (b.rank(out) or 0):
            bias, out = c.reshape(-1), add.outputs[0]
            b.skip.add(add.index)
    _dense(b, n, n.inputs[0], w, bias, out)


def _matmul(b, n):
    """A matrix product other than by a constant 2-D matrix (Dense): keras.ops.matmul in ONNX order.  The
    batch axis must stay the output's first axis: a tensor on the right needs rank >= 3 (its matrix axes
    are not the batch), so does one on the left of another tensor; a constant may not broadcast it away."""
    consts = [b.const(i) for i in n.inputs]
    ranks = [None if c is not None else b.rank(i, n) for i, c in zip(n.inputs, consts)]
    both = consts[0] is None and consts[1] is None
    for i, least in ((0, 3 if both else 2), (1, 3)):
        if ranks[i] is not None and ranks[i] < least:
            raise UnsupportedNodeError(n, f"a MatMul with a rank-{ranks[i]} tensor on the {('left', 'right')[i]} "
                                          "mixes in the batch axis", TARGET)
    for i, c in enumerate(consts):
        r = ranks[1 - i]
        if c is not None and r is not None and (c.ndim > r or (c.ndim == r >= 3 and c.shape[0] != 1)):
            raise UnsupportedNodeError(n, f"a constant of shape {c.shape} would broadcast the batch axis", TARGET)
    onnx_op(b, n, elementwise=False)
