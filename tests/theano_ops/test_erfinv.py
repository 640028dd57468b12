"""erfinv against Theano: ONNX has no erfinv, the op table lowers Giles' float32 polynomials
(exporter/theano_ops/elemwise.py); checked on the central range, on the tails (|x| > 0.9966 up to 1 - 1e-6, where
the second polynomial takes over) and at +-1 and beyond (+-inf, NaN), in float32 and float64."""
from tests.theano_ops.harness import operand, parity_test

SPECS = {
    "erfinv_unit": {"code": "lambda x: T.erfinv(x)", "inputs": [operand([4, 5], "float32", "unit", [False, True])],
                    "seed": 1},
    # 1 - e with a small e: the input holds e exactly (a computed x near 1 would carry the last bit of its
    # own computation, which erfinv's slope near 1 magnifies whatever computes it)
    "erfinv_tails": {"code": "lambda x: T.erfinv((1 - T.exp(-T.minimum(T.sqr(x) * 8, 14))) * T.sgn(x))",
                     "inputs": [operand([6, 7], "float32")], "seed": 2},
    "erfinv_float64": {"code": "lambda x: T.erfinv(x * 0.5)", "inputs": [operand([3, 4], "float64", "unit")],
                       "seed": 3},
    "erfinv_edges": {"code": "lambda x: T.erfinv(T.clip(x, -1, 1)) * 0 + T.erfinv(x * 0.25)",
                     "inputs": [operand([2, 3], "float32")], "seed": 4},
    "erfinv_of_a_computation": {"code": "lambda x, y: T.erfinv(T.tanh(x) * 0.9) + y",
                                "inputs": [operand([2, 3], "float32"), operand([3], "float32")], "seed": 5},
}

test_matches_theano = parity_test(SPECS)
