"""Elementwise ops against Theano: arithmetic (broadcast shapes, mixed dtypes, literals), comparisons,
logic, switch/clip, float functions and nonlinearities."""
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test, shapes

# (code, dtypes x may have, values of x, values of y)
BINARY = [
    ("x + y", "fi", None, None), ("x - y", "fi", None, None), ("x * y", "fi", None, None),
    ("x / (abs(y) + 0.5)", "f", None, None), ("x / (abs(y) + 1)", "i", None, None),
    ("x // (abs(y) + 1)", "i", None, None), ("x // (abs(y) + 0.5)", "f", None, None),
    ("x % (abs(y) + 1)", "fi", None, None), ("x % -(abs(y) + 1)", "fi", None, None),
    ("(abs(x) + 0.5) ** y", "f", None, "unit"), ("T.maximum(x, y)", "fi", None, None),
    ("T.minimum(x, y)", "fi", None, None), ("x > y", "fi", None, None), ("T.le(x, y)", "fi", None, None),
    ("T.eq(x, y)", "i", None, None), ("T.neq(x, y)", "i", None, None), ("T.switch(x > 0, x, y)", "fi", None, None),
    ("T.switch(T.ge(x, y), 1.5, y)", "f", None, None), ("T.clip(x, y, y + 1)", "f", None, None),
    ("T.and_(x > 0, y > 0)", "fi", None, None), ("T.or_(x > 0, y < 0)", "f", None, None),
    ("T.xor(x > 0, y > 0)", "f", None, None), ("x * (y > 0)", "f", None, None),
]
WITH_LITERAL = [
    "x * 0.1", "x + 2", "x * np.float64(0.5)", "2 - x", "x / 3", "T.maximum(x, 0.1 * x)", "x ** 2", "3 // (abs(x) + 1)",
    "T.clip(x, -0.5, 0.5)", "T.clip(x, 0, 1)", "x * np.float32(1.5) + 100000", "T.switch(x > 0, 1, 0) * x",
]
UNARY_FLOAT = [
    "T.exp(x)", "T.log(abs(x) + 0.1)", "T.sqrt(abs(x))", "T.tanh(x)", "T.nnet.sigmoid(x * 4)", "T.nnet.softplus(x * 4)",
    "T.nnet.ultra_fast_sigmoid(x * 4)", "T.nnet.hard_sigmoid(x * 3)", "T.nnet.relu(x)", "T.nnet.relu(x, 0.2)",
    "T.nnet.elu(x)", "T.nnet.selu(x)", "T.nnet.softsign(x)", "T.erf(x)", "T.floor(x * 3)", "T.ceil(x * 3)",
    "T.round(T.floor(x * 4) / 2)", "T.round(T.floor(x * 4) / 2, 'half_away_from_zero')", "T.sgn(x)", "-x", "abs(x)",
    "T.sqr(x)", "T.inv(abs(x) + 0.5)", "T.expm1(x)", "T.log1p(abs(x))", "T.exp2(x)", "T.log2(abs(x) + 0.5)",
    "T.log10(abs(x) + 0.5)", "T.cos(x)", "T.sin(x)", "T.arctan(x)", "T.cosh(x)", "T.sinh(x)",
    "T.arcsin(T.clip(x, -0.9, 0.9))", "T.nnet.sigmoid(x) * T.tanh(x)",
]
UNARY_INT = ["abs(x)", "-x", "T.sqr(x)", "T.sgn(x)", "T.exp(x)", "T.sqrt(abs(x))", "T.nnet.sigmoid(x)", "x * 2 + 1"]


def _dtype(draw, kinds):
    options = [d for d in ("float32", "float32", "float32", "float64", "int32", "int64")
               if d[0] in kinds]
    return draw(st.sampled_from(options))


TEMPLATES = ([("binary",) + t for t in BINARY] + [("literal", c) for c in WITH_LITERAL]
             + [("unary", c, "f") for c in UNARY_FLOAT] + [("unary", c, "i") for c in UNARY_INT])


@st.composite
def examples(draw, template):
    kind = template[0]
    shape = draw(shapes(0, 4))
    known = draw(knowns(shape))
    if kind == "binary":
        code, kinds, xv, yv = template[1:]
        dtype = _dtype(draw, kinds)
        mode = draw(st.sampled_from(["same", "broadcast", "lower", "higher"]))
        other = list(shape)
        if mode == "broadcast":
            other = [1 if draw(st.booleans()) else s for s in shape]
            shape = [1 if (o != 1 and draw(st.integers(0, 3)) == 0) else s for s, o in zip(shape, other)]
        elif mode == "lower":
            other = shape[len(shape) - draw(st.integers(0, len(shape))):]
        elif mode == "higher":
            other = [draw(st.integers(1, 3))] + list(shape)
        y_dtype = dtype if draw(st.integers(0, 3)) else _dtype(draw, "f" if dtype[0] == "f" else "fi")
        if "abs(y)" in code and y_dtype[0] != dtype[0]:
            y_dtype = dtype
        ins = [operand(shape, dtype, xv, known), operand(other, y_dtype, yv)]
        return {"code": f"lambda x, y: {code}", "inputs": ins}
    if kind == "literal":
        return {"code": f"lambda x: {template[1]}", "inputs": [operand(shape, _dtype(draw, "fi"), None, known)]}
    code, kinds = template[1:]
    return {"code": f"lambda x: {code}", "inputs": [operand(shape, _dtype(draw, kinds), None, known)]}


SPECS = draw_family("elemwise", TEMPLATES, examples)


test_matches_theano = parity_test(SPECS)
