"""Casts and dtype rules against Theano: astype/cast between float and integer dtypes (toward zero),
to bool, iround, and the dtypes Theano's upcasting gives mixed-dtype arithmetic."""
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test, shapes

TEMPLATES = ["x.astype('int32')", "T.cast(x * 3, 'int64')", "x.astype('float64') * 1e-3", "T.cast(x, 'bool')",
             "T.iround(x * 3)", "T.cast(x, 'floatX') / 3", "x.astype('int8') + 1", "(x * 4).astype('int32') // 3",
             "T.cast(x > 0, 'float32') * x", "x * np.int32(3)", "x * np.float64(0.25)", "T.mean(x.astype('int32'))",
             "T.sum(x > 0)", "T.sqrt(abs(x).astype('int64'))"]


@st.composite
def examples(draw, template):
    shape = draw(shapes(0, 3))
    dtype = draw(st.sampled_from(["float32", "float32", "float64", "int32"]))
    return {"code": f"lambda x: {template}", "inputs": [operand(shape, dtype, None, draw(knowns(shape)))]}


SPECS = draw_family("cast", TEMPLATES, examples)


test_matches_theano = parity_test(SPECS)
