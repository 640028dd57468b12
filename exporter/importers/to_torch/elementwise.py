"""Elementwise ops: arithmetic, activations (``nn.ReLU``, ``nn.ELU``, ``nn.PReLU``...), softmax, clip."""
from __future__ import annotations

import re

import numpy as np

from ..codegen import float_source
from ..onnx_reader import UnsupportedNodeError, float_literal
from .generator import TARGET, op, shape_elems


_BINARY = {"Add": "{a} + {b}", "Sub": "{a} - {b}", "Mul": "{a} * {b}", "Div": "{a} / {b}", "Pow": "{a} ** {b}"}


def _shape_arith(g, n):
    a, sa = shape_elems(g, n.inputs[0], n)
    b, sb = shape_elems(g, n.inputs[1], n)
    if len(a) == 1 and len(b) > 1:
        a = a * len(b)
    if len(b) == 1 and len(a) > 1:
        b = b * len(a)
    sym = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "//"}[n.op_type]
    out = []
    for x, y in zip(a, b):
        if x.lstrip("-").isdigit() and y.lstrip("-").isdigit():
            out.append(str(eval(f"{x} {sym} {y}")))
        elif (sym in "*//" and y == "1") or (sym in "+-" and y == "0"):
            out.append(x)
        elif sym == "*" and x == "1":
            out.append(y)
        else:
            out.append(f"{x} {sym} {y}")
    g.shape_vals[n.outputs[0]] = (out, sa and sb)


@op("Add", "Sub", "Mul", "Div", "Pow")
def binary(g, n):
    if any(i in g.shape_vals for i in n.inputs) and n.op_type != "Pow":
        return _shape_arith(g, n)
    trainable = n.op_type in ("Add", "Sub", "Mul")
    a, b = (g.operand(i, n, trainable) for i in n.inputs)
    g.assign(n, n.outputs[0], _BINARY[n.op_type].format(a=a, b=b))


@op("Max", "Min", "Sum", "Mean")
def variadic(g, n):
    ops = [g.operand(i, n, trainable=False) for i in n.inputs]
    is_lit = [re.fullmatch(r"-?[\d.e+-]+|float\('(-?inf|nan)'\)", o) is not None for o in ops]
    if n.op_type in ("Sum", "Mean"):
        expr = " + ".join(ops)
        if n.op_type == "Mean":
            expr = f"({expr}) / {len(ops)}"
        g.assign(n, n.outputs[0], expr)
        return
    fn, clamp = ("torch.maximum", "torch.clamp_min") if n.op_type == "Max" else ("torch.minimum", "torch.clamp_max")
    acc = None
    for o, lit in sorted(zip(ops, is_lit), key=lambda t: t[1]):
        if acc is None:
            acc = o
        elif lit:
            acc = f"{clamp}({acc}, {o})"
        else:
            acc = f"{fn}({acc}, {o})"
    g.assign(n, n.outputs[0], acc)


def _act(ctor):
    def convert(g, n):
        m = g.module(n, ctor(n) if callable(ctor) else ctor)
        g.assign(n, n.outputs[0], f"{m}({g.x(n.inputs[0], n)})")

    return convert


op("Relu")(_act("nn.ReLU()"))
op("Sigmoid")(_act("nn.Sigmoid()"))
op("Tanh")(_act("nn.Tanh()"))
op("Softplus")(_act("nn.Softplus()"))  # torch's threshold=20 linear tail differs by < 2e-9
op("LeakyRelu", attrs=("alpha",))(_act(lambda n: f"nn.LeakyReLU({float_source(n.attr('alpha', 0.01))})"))
op("Elu", attrs=("alpha",))(_act(lambda n: "nn.ELU()" if n.attr("alpha", 1.0) == 1.0
                                  else f"nn.ELU({float_source(n.attr('alpha'))})"))

_SELU_ALPHA, _SELU_GAMMA = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


@op("Selu", attrs=("alpha", "gamma"))
def selu(g, n):
    alpha, gamma = np.float32(n.attr("alpha", _SELU_ALPHA)), np.float32(n.attr("gamma", _SELU_GAMMA))
    x = g.x(n.inputs[0], n)
    if alpha == np.float32(_SELU_ALPHA) and gamma == np.float32(_SELU_GAMMA):
        m = g.module(n, "nn.SELU()")
        g.assign(n, n.outputs[0], f"{m}({x})")
        return
    m = g.module(n, f"nn.ELU({float_source(alpha)})", suffix="elu")  # selu = gamma * elu(x, alpha)
    g.assign(n, n.outputs[0], f"{float_source(gamma)} * {m}({x})")


_UNARY_FN = {"Exp": "torch.exp", "Log": "torch.log", "Abs": "torch.abs", "Neg": "torch.neg", "Sqrt": "torch.sqrt",
             "Reciprocal": "torch.reciprocal", "Floor": "torch.floor", "Ceil": "torch.ceil", "Sin": "torch.sin",
             "Cos": "torch.cos", "Tan": "torch.tan", "Asin": "torch.asin", "Acos": "torch.acos", "Atan": "torch.atan",
             "Sinh": "torch.sinh", "Cosh": "torch.cosh", "Erf": "torch.erf", "Sign": "torch.sign",
             "Round": "torch.round", "Not": "torch.logical_not", "IsNaN": "torch.isnan",
             "Acosh": "torch.acosh", "Asinh": "torch.asinh", "Atanh": "torch.atanh"}  # Round: half to even, as ONNX


@op(*_UNARY_FN)
def unary(g, n):
    g.assign(n, n.outputs[0], f"{_UNARY_FN[n.op_type]}({g.x(n.inputs[0], n)})")


@op("IsInf", attrs=("detect_negative", "detect_positive"))
def is_inf(g, n):
    x = g.x(n.inputs[0], n)
    neg, pos = bool(n.attr("detect_negative", 1)), bool(n.attr("detect_positive", 1))
    fn = "torch.isinf" if neg and pos else "torch.isposinf" if pos else "torch.isneginf" if neg else None
    g.assign(n, n.outputs[0], f"{fn}({x})" if fn else f"torch.zeros_like({x}, dtype=torch.bool)")


op("Softsign")(_act("nn.Softsign()"))


@op("HardSigmoid", attrs=("alpha", "beta"))
def hard_sigmoid(g, n):
    """max(0, min(1, alpha * x + beta)); torch's own hardsigmoid has fixed alpha = 1/6."""
    alpha, beta = float_source(n.attr("alpha", 0.2)), float_source(n.attr("beta", 0.5))
    g.assign(n, n.outputs[0], f"torch.clamp({alpha} * {g.x(n.inputs[0], n)} + {beta}, 0.0, 1.0)")


_COMPARE = {"Equal": "==", "Less": "<", "Greater": ">", "LessOrEqual": "<=", "GreaterOrEqual": ">=",
            "And": "&", "Or": "|", "Xor": "^"}  # on bool tensors &, |, ^ are the logical operators


@op(*_COMPARE)
def compare(g, n):
    """Comparisons (a bool result) and the logical And/Or/Xor of bool tensors."""
    if all(g.const(i) is not None for i in n.inputs):
        a, b = g.x(n.inputs[0], n), g.operand(n.inputs[1], n, trainable=False)
    else:
        a, b = (g.operand(i, n, trainable=False) for i in n.inputs)
    g.assign(n, n.outputs[0], f"({a} {_COMPARE[n.op_type]} {b})")


_BITWISE = {"BitwiseAnd": "torch.bitwise_and", "BitwiseOr": "torch.bitwise_or", "BitwiseXor": "torch.bitwise_xor",
            "BitwiseNot": "torch.bitwise_not"}


@op(*_BITWISE)
def bitwise(g, n):
    """Bitwise and/or/xor/not of integer tensors (Theano's and_, or_, xor, invert of integers)."""
    args = ", ".join(g.operand(i, n, trainable=False) for i in n.inputs)
    g.assign(n, n.outputs[0], f"{_BITWISE[n.op_type]}({args})")


@op("Where")
def where(g, n):
    cond = g.x(n.inputs[0], n)
    a, b = (g.operand(i, n, trainable=False) for i in n.inputs[1:])
    if all(g.const(i) is not None for i in n.inputs[1:]):
        a = g.x(n.inputs[1], n)
    g.assign(n, n.outputs[0], f"torch.where({cond}, {a}, {b})")


def _softmax_class(n):
    return "nn.Softmax" if n.op_type == "Softmax" else "nn.LogSoftmax"


@op("Softmax", "LogSoftmax", attrs=("axis",), since=13)
def softmax(g, n):
    """From opset 13: over the one axis ``axis`` (default -1)."""
    m = g.module(n, f"{_softmax_class(n)}(dim={n.attr('axis', -1)})")
    g.assign(n, n.outputs[0], f"{m}({g.x(n.inputs[0], n)})")


@op("PRelu")
def prelu(g, n):
    slope = g.weight(n, 1, "slope")
    x = g.x(n.inputs[0], n)
    rank = g.view.rank(n.inputs[0])
    c = slope.size
    per_channel = rank is not None and rank >= 2 and slope.ndim == rank - 1 and slope.shape[0] == c
    if slope.size == 1 and slope.ndim <= (rank or 0):
        m = g.module(n, "nn.PReLU(1)", {"weight": slope.reshape(1)})
    elif per_channel or (rank == 2 and slope.ndim == 1):
        m = g.module(n, f"nn.PReLU({c})", {"weight": slope.reshape(c)})
    else:
        p = g.param(n, n.inputs[1], slope, trainable=True)
        g.assign(n, n.outputs[0], f"torch.where({x} < 0, {x} * {p}, {x})")
        return
    g.assign(n, n.outputs[0], f"{m}({x})")


@op("Clip", since=11)
def clip(g, n):
    """From opset 11 the bounds are (optional) inputs."""
    lo = g.const(n.inputs[1]) if len(n.inputs) > 1 and n.inputs[1] else None
    hi = g.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    for i, v in ((1, lo), (2, hi)):
        if len(n.inputs) > i and n.inputs[i] and v is None:
            raise UnsupportedNodeError(n, "Clip bounds must be constants", TARGET)
    _clamp(g, n, lo, hi)


def _clamp(g, n, lo, hi):
    args = []
    if lo is not None:
        args.append(f"min={float_source(lo.item())}")
    if hi is not None:
        args.append(f"max={float_source(hi.item())}")
    g.assign(n, n.outputs[0], f"torch.clamp({g.x(n.inputs[0], n)}{', ' if args else ''}{', '.join(args)})")
