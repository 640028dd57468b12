"""The importers' ops beyond what the layer families emit: elementwise math, comparisons and logic (bool
tensors), Where, Cast, ArgMax/ArgMin, the Reduce* family, Tile/Expand/Gather and MatMul of tensors, the ops
only traced code emits (ScatterND, CumSum, bitwise ops, GatherND of coordinates),
each compared with onnxruntime:
PyTorch once, Keras in both data formats (bool and integer outputs must be equal, float ones within
TOL relative to the output scale), and the Keras refusals of what would move the batch axis."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip(f"keras was imported with the {keras.backend.backend()} backend", allow_module_level=True)

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporter.importers import onnx_reader, to_keras  # noqa: E402
from exporter.importers.keras_cli import predict  # noqa: E402
from exporter.importers.onnx_reader import UnsupportedNodeError  # noqa: E402
from tests.test_importer_torch import TOL, ort_outputs, rel_err, torch_outputs  # noqa: E402

F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
X = ("x", [None, 3, 4, 5])  # the main input: rank 4, so channels_last layouts are exercised
Y = ("y", [None, 3, 4, 5])


def model(nodes, inputs, outputs, inits=None, opset=17):
    """``outputs``: [(name, elem type)]; inputs [(name, dims with None for the batch)]."""
    g = helper.make_graph(
        [helper.make_node(op, list(ins), [out], name=f"{out}/{op}", **attrs) for op, ins, out, attrs in nodes], "t",
        [helper.make_tensor_value_info(k, F, ["N" if d is None else d for d in dims]) for k, dims in inputs],
        [helper.make_tensor_value_info(k, t, None) for k, t in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)  # gives the outputs their shapes
    onnx.checker.check_model(m)
    return m


def n(op, ins, out, **attrs):
    return (op, ins, out, attrs)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def unary_math():
    ops = ["Abs", "Ceil", "Floor", "Exp", "Neg", "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Erf", "Sign", "Round",
           "Softsign"]
    nodes = [n("Abs", ["x"], "ax"), n("Add", ["ax", "half"], "pos"), n("Tanh", ["x"], "t"), n("Mul", ["t", "c09"], "t9")]
    nodes += [n(op, ["x"], f"{op.lower()}_out") for op in ops]
    nodes += [n(op, ["pos"], f"{op.lower()}_out") for op in ("Log", "Sqrt", "Reciprocal")]
    nodes += [n(op, ["t9"], f"{op.lower()}_out") for op in ("Asin", "Acos")]
    nodes += [n("Mul", ["x", "three"], "x3"), n("Round", ["x3"], "round3_out"),  # halves: Round is half-to-even
              n("HardSigmoid", ["x"], "hard_out", alpha=0.3, beta=0.4), n("Div", ["x", "x"], "ones"),
              n("Sub", ["ones", "ones"], "zeros"), n("Div", ["zeros", "zeros"], "nans"), n("IsNaN", ["nans"], "isnan_out")]
    outs = [(o, BOOL if o == "isnan_out" else F) for _, _, o, _ in nodes if o.endswith("_out")]
    inits = {"half": np.float32(0.5), "c09": np.float32(0.9), "three": np.float32(0.5)}
    return model(nodes, [X], outs, inits), {"x": (2, 3, 4, 5)}


@case
def compare_logic_where():
    nodes = [n("Less", ["x", "y"], "lt_out"), n("Greater", ["x", "zero"], "gt_out"),
             n("Floor", ["x"], "fx"), n("Floor", ["y"], "fy"), n("Equal", ["fx", "fy"], "eq_out"),
             n("LessOrEqual", ["fx", "fy"], "le_out"), n("GreaterOrEqual", ["fx", "row"], "ge_out"),
             n("And", ["lt_out", "gt_out"], "and_out"), n("Or", ["lt_out", "gt_out"], "or_out"),
             n("Xor", ["lt_out", "eq_out"], "xor_out"), n("Not", ["and_out"], "not_out"),
             n("Where", ["lt_out", "x", "y"], "where_out"), n("Where", ["gt_out", "x", "two"], "where_c_out"),
             n("Where", ["mask", "y", "x"], "where_m_out"), n("Cast", ["and_out"], "cast_f_out", to=F)]
    outs = [(o, F if o.startswith(("where", "cast_f")) else BOOL) for _, _, o, _ in nodes if o.endswith("_out")]
    rng = np.random.default_rng(1)
    inits = {"zero": np.float32(0), "two": np.float32(2), "row": np.array([0.0, -1.0, 1.0, 0.0, -2.0], np.float32),
             "mask": rng.random((3, 4, 1)) < 0.5}
    return model(nodes, [X, Y], outs, inits), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}


@case
def cast_and_arg_extremes():
    nodes = [n("Mul", ["x", "two"], "x2"), n("Cast", ["x2"], "int_out", to=I64), n("Cast", ["int_out"], "back_out", to=F),
             n("ArgMax", ["x"], "amax_out", axis=1), n("ArgMin", ["x"], "amin_out", axis=-1, keepdims=0),
             n("Floor", ["x"], "fl"), n("ArgMax", ["fl"], "amax_last_out", axis=2, select_last_index=1),
             n("ArgMin", ["fl"], "amin_first_out", axis=3, keepdims=0)]
    outs = [(o, I64 if o.startswith(("int", "am")) else F) for _, _, o, _ in nodes if o.endswith("_out")]
    return model(nodes, [X], outs, {"two": np.float32(2)}), {"x": (2, 3, 4, 5)}


@case
def reductions():
    nodes = [n("ReduceProd", ["x"], "prod_out", axes=[1], keepdims=0), n("ReduceL1", ["x"], "l1_out", axes=[2, 3]),
             n("ReduceL2", ["x"], "l2_out", axes=[1]), n("ReduceSumSquare", ["x"], "ss_out", axes=[1, 3]),
             n("ReduceLogSumExp", ["x"], "lse_out", axes=[-1], keepdims=0), n("ReduceSum", ["x", "ax1"], "sum_out"),
             n("ReduceMean", ["x"], "mean_out", axes=[2]), n("ReduceMax", ["x"], "max_out", axes=[3], keepdims=0),
             n("ReduceMin", ["x"], "min_out", axes=[1, 2]), n("ReduceSum", ["x", "sp"], "gsum_out", keepdims=0)]
    outs = [(o, F) for _, _, o, _ in nodes]
    inits = {"ax1": np.array([1], np.int64), "sp": np.array([2, 3], np.int64)}
    return model(nodes, [X], outs, inits), {"x": (2, 3, 4, 5)}


@case
def reductions_opset18():
    """Opset 18: every reduction takes its axes as an input."""
    nodes = [n("ReduceL2", ["x", "ax"], "l2_out"), n("ReduceMax", ["x", "ax"], "max_out", keepdims=0),
             n("ReduceProd", ["x", "ax1"], "prod_out")]
    inits = {"ax": np.array([1, 3], np.int64), "ax1": np.array([2], np.int64)}
    return model(nodes, [X], [(o, F) for _, _, o, _ in nodes], inits, opset=18), {"x": (2, 3, 4, 5)}


@case
def tile_expand_gather_matmul():
    rng = np.random.default_rng(2)
    nodes = [n("Tile", ["x", "reps"], "tile_out"), n("Expand", ["z", "shape"], "expand_out"),
             n("Gather", ["x", "idx2d"], "gather_out", axis=1), n("Gather", ["x", "last"], "gather0d_out", axis=3),
             n("Gather", ["x", "neg"], "gather_neg_out", axis=-2),
             n("MatMul", ["x", "w"], "mm_out"), n("MatMul", ["x", "w3"], "mm3_out"), n("MatMul", ["left", "x"], "lm_out"),
             n("Transpose", ["y"], "yt", perm=[0, 1, 3, 2]), n("MatMul", ["x", "yt"], "mmxy_out"),
             n("MatMul", ["z", "wi"], "mmz_out")]
    inits = {"reps": np.array([1, 2, 1, 3], np.int64), "shape": np.array([1, 4, 5], np.int64),
             "idx2d": np.array([[0, 2], [1, 1]], np.int64), "last": np.array(-1, np.int64),
             "neg": np.array([-1, 0, -3], np.int64), "w": rng.standard_normal((5, 2)).astype(np.float32),
             "w3": rng.standard_normal((3, 5, 2)).astype(np.float32), "left": rng.standard_normal((2, 4)).astype(np.float32),
             "wi": rng.standard_normal((1, 5, 3)).astype(np.float32)}
    outs = [(o, F) for _, _, o, _ in nodes if o.endswith("_out")]
    return model(nodes, [X, Y, ("z", [None, 1, 5])], outs, inits), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5), "z": (2, 1, 5)}


@case
def pow_div_sum_mean_clip_softmax():
    nodes = [n("Abs", ["x"], "ax"), n("Add", ["ax", "half"], "pos"), n("Pow", ["pos", "y"], "pow_out"),
             n("Pow", ["x", "two"], "sq_out"), n("Pow", ["two", "x"], "exp2_out"), n("Div", ["x", "pos"], "div_out"),
             n("Sum", ["x", "y", "pos"], "sum_out"), n("Mean", ["x", "y"], "mean_out"), n("Sum", ["x", "row"], "sumc_out"),
             n("Clip", ["x", "lo", "hi"], "clip_out"), n("Clip", ["x", "", "hi"], "cliphi_out"),
             n("LogSoftmax", ["x"], "lsm1_out", axis=1), n("LogSoftmax", ["x"], "lsm_out"),
             n("Softmax", ["x"], "sm2_out", axis=2)]
    inits = {"half": np.float32(0.5), "two": np.float32(2), "lo": np.float32(-0.5), "hi": np.float32(0.25),
             "row": np.array([1, 2, 3, 4, 5], np.float32)}
    outs = [(o, F) for _, _, o, _ in nodes if o.endswith("_out")]
    return model(nodes, [X, Y], outs, inits), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}


@case
def scatter_cumsum_bitwise():
    """The ops only traced code emits, met on their own: ScatterND (set_subtensor), CumSum (plain,
    exclusive, reverse), the bitwise ops of integers (Theano's and_/or_/xor/invert of ints)."""
    I32 = TensorProto.INT32
    nodes = [n("ScatterND", ["x", "coords", "rows"], "scatter_out"),
             n("CumSum", ["x", "ax2"], "cumsum_out"), n("CumSum", ["x", "ax_last"], "cumsum_ex_out", exclusive=1),
             n("CumSum", ["x", "ax1"], "cumsum_rev_out", reverse=1, exclusive=1),
             n("Mul", ["x", "ten"], "x10"), n("Floor", ["x10"], "fl"), n("Cast", ["fl"], "xi", to=I32),
             n("Cast", ["y"], "yi", to=I32), n("BitwiseAnd", ["xi", "seven"], "and_out"),
             n("BitwiseOr", ["xi", "yi"], "or_out"), n("BitwiseXor", ["xi", "yi"], "xor_out"),
             n("BitwiseNot", ["xi"], "not_out")]
    rng = np.random.default_rng(4)
    inits = {"coords": np.array([[0, 1], [1, 2]], np.int64), "rows": rng.standard_normal((2, 4, 5)).astype(np.float32),
             "ax2": np.array(2, np.int64), "ax_last": np.array(-1, np.int64), "ax1": np.array(1, np.int64),
             "ten": np.float32(10), "seven": np.array(7, np.int32)}
    outs = [(o, I32 if o.split("_")[0] in ("and", "or", "xor", "not") else F) for _, _, o, _ in nodes
            if o.endswith("_out")]
    return model(nodes, [X, Y], outs, inits, opset=18), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}  # bitwise: 18


def feeds(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v) * 2).astype(np.float32) for k, v in shapes.items()}


def check(got, want):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        assert g.shape == w.shape, (i, g.shape, w.shape)
        if w.dtype.kind in "biu":
            assert g.dtype.kind == w.dtype.kind and np.array_equal(g, w), (i, g.dtype, w.dtype)
        else:
            assert g.dtype == w.dtype and rel_err(g, w) <= TOL, (i, rel_err(g, w))


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_matches_onnxruntime(name):
    m, shapes = CASES[name]()
    f = feeds(shapes)
    got, src = torch_outputs(m, f)
    check(got, ort_outputs(m, f))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_matches_onnxruntime(name, data_format):
    m, shapes = CASES[name]()
    f = feeds(shapes)
    view = onnx_reader.load(m)
    km, info = to_keras.build(view, data_format)
    check(predict(km, info, view, f), ort_outputs(m, f))


def test_keras_onnx_op_layers_survive_save_and_load(tmp_path):
    """The OnnxOp layers (and their int/bool constants) come back from a .keras file."""
    m, shapes = CASES["compare_logic_where"]()
    view = onnx_reader.load(m)
    km, info = to_keras.build(view)
    assert {type(l).__name__ for l in km.layers} >= {"OnnxOp"}
    km.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    f = feeds(shapes, seed=3)
    check(predict(loaded, info, view, f), ort_outputs(m, f))


def test_gather_nd_of_coordinates():
    """GatherND without batch dimensions (traced inc_subtensor reads the region it adds to): to-torch by
    advanced indexing; to-keras refuses it, naming the op."""
    m = model([n("GatherND", ["x", "coords"], "o")], [X], [("o", F)],
              {"coords": np.array([[[0, 1, 3], [1, 2, 0]], [[1, 0, 0], [0, 2, 3]]], np.int64)})
    f = feeds({"x": (2, 3, 4, 5)})
    got, src = torch_outputs(m, f)
    assert "[tuple(" in src
    check(got, ort_outputs(m, f))
    with pytest.raises(UnsupportedNodeError, match="op GatherND is not supported"):
        to_keras.build(onnx_reader.load(m))


@pytest.mark.parametrize("nodes,inits,detail", [
    ([n("ArgMax", ["x"], "o", axis=0)], {}, "ArgMax over the batch axis"),
    ([n("ReduceMean", ["x"], "o", axes=[0, 1])], {}, "a reduction over the batch axis"),
    ([n("Tile", ["x", "r"], "o")], {"r": np.array([2, 1, 1, 1], np.int64)}, "tiling the batch axis"),
    ([n("Expand", ["x", "s"], "o")], {"s": np.array([2, 1, 1, 1, 1], np.int64)}, "changes the batch axis"),
    ([n("Gather", ["x", "i"], "o", axis=0)], {"i": np.array([0, 1], np.int64)}, "on a non-batch axis"),
    ([n("ReduceMean", ["x"], "a", axes=[2, 3], keepdims=0), n("ReduceMean", ["x"], "b", axes=[1, 3], keepdims=0),
      n("MatMul", ["a", "b"], "o")], {}, "rank-2 tensor on the left"),
    ([n("ReduceMean", ["x"], "b", axes=[1, 2], keepdims=0), n("MatMul", ["x", "b"], "o")], {},
     "rank-2 tensor on the right"),
    ([n("MatMul", ["x", "c"], "o")], {"c": np.ones((2, 3, 5, 1), np.float32)}, "would broadcast the batch axis"),
])
def test_keras_refuses_what_moves_the_batch_axis(nodes, inits, detail):
    m = model(nodes, [X], [("o", I64 if nodes[0][0] == "ArgMax" else F)], inits)
    with pytest.raises(UnsupportedNodeError) as e:
        to_keras.build(onnx_reader.load(m))
    assert "o/" in str(e.value) and detail in str(e.value)


