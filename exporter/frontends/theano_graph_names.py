"""The tables of :mod:`.theano_graph`'s walk, and how it names what it refuses.

:data:`THEANO_OP_NAMES` maps Theano's op classes (for ``Elemwise``, its scalar op's class) onto the op
names the Theano-free tracer records (``docs/theano_ops.md``); :data:`FORMULAS` lists the ops read as a
small formula of mapped ops; :data:`FORWARD_IDENTITIES` the ops skipped (they pass their input on).
Anything else is refused (:class:`Refused`), naming the op (:func:`unknown_op`) and the user's line
from Theano's ``tag.trace`` (:func:`where`).  Imports anywhere: Theano only inside the functions.
"""
from __future__ import annotations

import os
import sys

from .theano_shapes import class_path

CONSTANT_OP = "theano.tensor.constant"
_EXPORTER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_T = "theano.tensor."
_SCALAR = "theano.scalar.basic."
# Theano's op class (for Elemwise: its scalar op's class) -> the op name the Theano-free tracer records
THEANO_OP_NAMES = {
    **{_SCALAR + cls: _T + name for cls, name in (
        ("Add", "add"), ("Sub", "sub"), ("Mul", "mul"), ("TrueDiv", "true_div"), ("IntDiv", "int_div"),
        ("Mod", "mod"), ("Pow", "pow"), ("Maximum", "maximum"), ("Minimum", "minimum"), ("Neg", "neg"),
        ("Abs", "abs_"), ("Sgn", "sgn"), ("Sqr", "sqr"), ("Inv", "inv"), ("Exp", "exp"), ("Exp2", "exp2"),
        ("Expm1", "expm1"), ("Log", "log"), ("Log2", "log2"), ("Log10", "log10"), ("Log1p", "log1p"),
        ("Sqrt", "sqrt"), ("Sin", "sin"), ("Cos", "cos"), ("Tan", "tan"), ("ArcSin", "arcsin"),
        ("ArcCos", "arccos"), ("ArcTan", "arctan"), ("Sinh", "sinh"), ("Cosh", "cosh"), ("Tanh", "tanh"),
        ("ArcSinh", "arcsinh"), ("ArcCosh", "arccosh"), ("ArcTanh", "arctanh"), ("Floor", "floor"),
        ("Ceil", "ceil"), ("Trunc", "trunc"), ("RoundHalfToEven", "round_half_to_even"),
        ("RoundHalfAwayFromZero", "round_half_away_from_zero"), ("EQ", "eq"), ("NEQ", "neq"), ("LT", "lt"),
        ("LE", "le"), ("GT", "gt"), ("GE", "ge"), ("AND", "and_"), ("OR", "or_"), ("XOR", "xor"),
        ("Invert", "invert"), ("IsNan", "isnan"), ("IsInf", "isinf"), ("Switch", "switch"), ("Clip", "clip"),
        ("Second", "second"), ("Identity", "tensor_copy"), ("Cast", "cast"))},
    "theano.scalar.basic_scipy.Erf": _T + "erf",
    "theano.scalar.basic_scipy.Erfc": _T + "erfc",
    "theano.scalar.basic_scipy.Erfinv": _T + "erfinv",
    "theano.tensor.nnet.sigm.ScalarSigmoid": _T + "nnet.sigmoid",
    "theano.tensor.nnet.sigm.UltraFastScalarSigmoid": _T + "nnet.ultra_fast_sigmoid",
    "theano.tensor.nnet.sigm.ScalarSoftplus": _T + "nnet.softplus",
    # reductions (CAReduce by its scalar op; MaxAndArgmax and Argmax by output)
    "theano.tensor.elemwise.Sum": _T + "sum",
    "theano.tensor.elemwise.Prod": _T + "prod",
    "theano.tensor.elemwise.Any": _T + "any",
    "theano.tensor.elemwise.All": _T + "all",
    "theano.tensor.basic.Argmax": _T + "argmax",
    "theano.tensor.extra_ops.CumOp": _T + "extra_ops.cumsum",
    # shapes and indexing
    "theano.tensor.elemwise.DimShuffle": _T + "dimshuffle",
    "theano.compile.ops.Shape": _T + "shape",
    "theano.tensor.basic.Reshape": _T + "reshape",
    "theano.tensor.basic.Flatten": _T + "flatten",
    "theano.tensor.subtensor.Subtensor": _T + "subtensor.Subtensor",
    "theano.tensor.subtensor.AdvancedSubtensor1": _T + "take",
    "theano.tensor.opt.MakeVector": _T + "stack",
    "theano.tensor.basic.Join": _T + "concatenate",
    "theano.tensor.basic.Alloc": _T + "alloc",
    "theano.tensor.basic.ARange": _T + "arange",
    "theano.tensor.basic.Eye": _T + "eye",
    "theano.compile.ops.Rebroadcast": _T + "patternbroadcast",
    # products and neural-network ops
    "theano.tensor.basic.Dot": _T + "dot",
    "theano.tensor.blas.Dot22": _T + "dot",
    "theano.tensor.blas.BatchedDot": _T + "batched_dot",
    "theano.tensor.nnet.nnet.Softmax": _T + "nnet.softmax",
    "theano.tensor.nnet.nnet.LogSoftmax": _T + "nnet.logsoftmax",
    "theano.tensor.nnet.abstract_conv.AbstractConv2d": _T + "nnet.conv2d",
    "theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs": _T + "nnet.abstract_conv.AbstractConv2d_gradInputs",
    "theano.tensor.nnet.conv.ConvOp": _T + "nnet.conv2d",
    "theano.tensor.signal.pool.Pool": _T + "signal.pool.pool_2d",
}
# ops read as a small formula of mapped ops (see _Reader): the names they write
FORMULAS = {
    "theano.compile.ops.Shape_i": (_T + "shape", _T + "subtensor.Subtensor"),
    "theano.tensor.basic.MaxAndArgmax": (_T + "max", _T + "argmax", _T + "flatten"),
    "theano.tensor.elemwise.CAReduce": (_T + "sum", _T + "prod", _T + "max", _T + "min", _T + "any", _T + "all"),
    "theano.tensor.elemwise.CAReduceDtype": (_T + "sum", _T + "prod"),
    "theano.tensor.subtensor.IncSubtensor": (_T + "set_subtensor", _T + "inc_subtensor"),
    "theano.tensor.nnet.bn.AbstractBatchNormInference": (_T + "sub", _T + "mul", _T + "true_div", _T + "sqrt",
                                                         _T + "add"),
    "theano.scalar.basic.Composite": (),  # its inner scalar graph, op by op
    # a loop, its step read as an expression of its own; a fed-back output's buffer: its initial row, then the steps
    "theano.scan_module.scan_op.Scan": ("theano.scan", "theano.scan.output", _T + "concatenate"),
    "theano.tensor.nnet.nnet.ScalarSoftsign": (_T + "abs_", _T + "add", _T + "true_div"),  # x / (1 + abs(x))
    "theano.tensor.basic.Split": (_T + "subtensor.Subtensor",),  # each output a slice
}
# ops that compute their input unchanged in the forward pass
FORWARD_IDENTITIES = frozenset((
    "theano.tensor.basic.ScalarFromTensor", "theano.tensor.basic.TensorFromScalar", "theano.compile.ops.ViewOp",
    "theano.compile.ops.OutputGuard", "theano.compile.ops.DeepCopyOp", "theano.compile.ops.SpecifyShape",
    "theano.printing.Print", "theano.gradient.ZeroGrad", "theano.gradient.DisconnectedGrad",
    "theano.gradient.GradClip", "theano.gradient.GradScale", "theano.gradient.ConsiderConstant",
))
# why well-known ops without a mapping cannot be exported
RANDOM_MODULES = ("theano.tensor.raw_random", "theano.sandbox.rng_mrg", "theano.sandbox.multinomial",
                   "theano.tensor.shared_randomstreams")
NOT_EXPORTABLE = {
    "theano.ifelse.IfElse": "theano.ifelse inside a traced layer is not exported (use theano.tensor.switch)",
    "theano.tensor.subtensor.AdvancedSubtensor": "advanced indexing other than one integer array (with full slices "
                                                 "on the other axes) is not exported",
    "theano.tensor.subtensor.AdvancedIncSubtensor1": "set_subtensor/inc_subtensor of an integer-array index is not "
                                                     "exported",
    "theano.tensor.subtensor.AdvancedIncSubtensor": "set_subtensor/inc_subtensor of an advanced index is not exported",
    "theano.tensor.extra_ops.RepeatOp": "repeat with a vector of repetitions is not exported",
    "theano.tensor.basic.Nonzero": "nonzero() has a data-dependent shape and is not exported",
}
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
           "float64")


class Refused(Exception):
    """Why the Theano graph cannot be exported (becomes the layer's UnsupportedLayerError)."""


def unknown_op(op, where):
    kind = class_path(op)
    at = f" at {where}" if where else ""
    if kind.startswith(RANDOM_MODULES) or "random" in kind.lower():
        return (f"its deterministic output depends on random sampling ({op}{at}), which cannot be exported "
                f"exactly")
    reason = NOT_EXPORTABLE.get(kind)
    if reason:
        return f"{reason} ({op}{at})"
    return f"the Theano op {op} ({kind}{at}) has no counterpart in lasagne2onnx's op table"


def _inside(path, folder):
    return folder is not None and os.path.abspath(path).startswith(folder + os.sep)


def _package_dir(name):
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def user_line(frames):
    """``file.py:line`` of the innermost of ``frames`` ((filename, lineno, ...) innermost last) that is
    the user's: outside lasagne2onnx, Theano and Lasagne if there is one, else outside lasagne2onnx."""
    theano_dir, lasagne_dir = _package_dir("theano"), _package_dir("lasagne")
    outside = [f for f in frames if not f[0].startswith("<") and not _inside(f[0], _EXPORTER_DIR)
               and not _inside(f[0], theano_dir)]
    user = [f for f in outside if not _inside(f[0], lasagne_dir)]
    pick = (user or outside)[-1] if (user or outside) else None
    return f"{os.path.basename(pick[0])}:{pick[1]}" if pick else ""


def where(var):
    """The user's line that made ``var`` (from Theano's ``tag.trace``), or ''."""
    trace = getattr(getattr(var, "tag", None), "trace", None) or []
    frames = [f for stack in trace for f in stack] if trace and isinstance(trace[0], list) else list(trace)
    try:
        return user_line(frames)
    except (TypeError, IndexError):
        return ""
