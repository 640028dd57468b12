"""Dense layers: ``Gemm`` and ``MatMul`` (+ ``Add``) with constant weights -> ``nn.Linear``."""
from __future__ import annotations

import numpy as np

from ..codegen import float_source
from ..onnx_reader import UnsupportedNodeError, float_literal
from .generator import TARGET, op


def _linear(g, n, weight_in_out, bias, out, x):
    """nn.Linear from a (in, out) matrix."""
    k, units = weight_in_out.shape
    state = {"weight": np.ascontiguousarray(weight_in_out.T)}
    if bias is not None:
        state["bias"] = bias
    m = g.module(n, f"nn.Linear({k}, {units}{'' if bias is not None else ', bias=False'})", state, suffix="linear")
    g.assign(n, out, f"{m}({x})")


@op("Gemm", attrs=("alpha", "beta", "transA", "transB"))
def gemm(g, n):
    alpha, beta = n.attr("alpha", 1.0), n.attr("beta", 1.0)
    b = g.const(n.inputs[1])
    c = g.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    has_c = len(n.inputs) > 2 and bool(n.inputs[2])
    a_expr = g.x(n.inputs[0], n)
    if n.attr("transA", 0):
        a_expr = f"{a_expr}.t()"
    if b is not None and (c is not None or not has_c):
        w = b.T if n.attr("transB", 0) else b
        if alpha != 1.0:
            w = (w * np.float32(alpha)).astype(np.float32)
        bias = None
        if c is not None:
            units = w.shape[1]
            if c.size not in (1, units) or (c.ndim == 2 and c.shape[0] != 1):
                raise UnsupportedNodeError(n, f"bias C of shape {c.shape} is not a per-output bias", TARGET)
            bias = np.broadcast_to(c.reshape(-1) * np.float32(beta), (units,)).astype(np.float32)
        _linear(g, n, w, bias, n.outputs[0], a_expr)
        return
    b_expr = g.x(n.inputs[1], n) + (".t()" if n.attr("transB", 0) else "")
    expr = f"torch.matmul({a_expr}, {b_expr})"
    if alpha != 1.0:
        expr = f"{float_source(alpha)} * {expr}"
    if has_c:
        c_expr = g.x(n.inputs[2], n)
        expr += f" + {c_expr}" if beta == 1.0 else f" + {float_source(beta)} * {c_expr}"
    g.assign(n, n.outputs[0], expr)


@op("MatMul")
def matmul(g, n):
    b = g.const(n.inputs[1])
    x = g.x(n.inputs[0], n)
    if b is not None and b.ndim == 2 and b.dtype.kind == "f":
        bias, out = None, n.outputs[0]
        users = g.view.consumers.get(out, [])
        if len(users) == 1 and users[0].op_type == "Add" and not g.view.is_output(out):
            add = users[0]
            other = [i for i in add.inputs if i != out]
            c = g.const(other[0]) if len(other) == 1 else None
            if c is not None and c.ndim >= 1 and c.shape[-1] == b.shape[1] and c.size == b.shape[1] \
                    and c.ndim <= (g.view.rank(out) or 0):
                bias, out = c.reshape(-1), add.outputs[0]
                g.skip.add(add.index)
        _linear(g, n, b, bias, out, x)
        return
    g.assign(n, n.outputs[0], f"torch.matmul({x}, {g.operand(n.inputs[1], n, trainable=True)})")
