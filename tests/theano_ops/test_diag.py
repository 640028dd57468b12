"""``T.diag`` / ``T.diagonal`` against Theano (AllocDiag, ExtractDiag): a vector on the k-th diagonal of a
square matrix, the k-th diagonal of a matrix or of two axes of a tensor (in any order, the diagonal last),
with offsets past the sizes, and sizes the tracer does not know (read when the network runs)."""
from tests.theano_ops.harness import operand, parity_test

SPECS = {
    "alloc_diag": {"code": "lambda x: T.diag(x)", "inputs": [operand([4], "float32", None, [False])], "seed": 1},
    "alloc_diag_above": {"code": "lambda x: T.diag(x, 2)", "inputs": [operand([3])], "seed": 2},
    "alloc_diag_below": {"code": "lambda x: T.diag(x * 2, -1) + 1", "inputs": [operand([3], "float32", None, [False])],
                         "seed": 3},
    "extract_diag": {"code": "lambda x: T.diag(x)", "inputs": [operand([3, 5], "float32", None, [False, True])],
                     "seed": 4},
    "extract_diag_offsets": {"code": "lambda x: T.diag(x, 1) + T.diag(x, -1)[:2].sum()",
                             "inputs": [operand([3, 4], "float32", None, [False, False])], "seed": 5},
    "diagonal_axes": {"code": "lambda x: T.diagonal(x, 1, 2, 0)", "inputs": [operand([2, 3, 4])], "seed": 6},
    "diagonal_unknown_sizes": {"code": "lambda x: T.diagonal(x, -1, 0, 2) * 3",
                               "inputs": [operand([4, 2, 3], "float32", None, [False, True, False])], "seed": 7},
    "diagonal_past_the_end": {"code": "lambda x: T.diag(x, 5).sum() + x.sum()", "inputs": [operand([2, 3])],
                              "seed": 8},
    "diag_float64": {"code": "lambda x: T.diag(T.diag(x))", "inputs": [operand([3, 3], "float64")], "seed": 9},
}

test_matches_theano = parity_test(SPECS)
