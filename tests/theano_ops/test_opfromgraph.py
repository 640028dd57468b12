"""``theano.OpFromGraph`` against Theano: the op's graph applied to the arguments (as Theano inlines it),
with a parameter-like shared value inside, several outputs, an op applied twice and inside another."""
from tests.theano_ops.harness import operand, parity_test

_OP = "(lambda a, b: theano.OpFromGraph([a, b], [T.tanh(a) * b + a.sum(axis=1, keepdims=True)]))(T.matrix(), T.matrix())"
SPECS = {
    "ofg_binary": {"code": f"lambda x, y: {_OP}(x, y) - 1", "inputs": [operand([3, 4]), operand([3, 4])], "seed": 1},
    "ofg_applied_twice": {"code": f"lambda x, y: (lambda op: op(op(x, y), y * 2))({_OP})",
                          "inputs": [operand([2, 5]), operand([2, 5])], "seed": 2},
    "ofg_shared_and_outputs": {
        "code": "lambda x: (lambda a, w: (lambda o: o[0] * 2 + o[1])(theano.OpFromGraph([a], [T.dot(a, w), a * 3])"
                "(x)))(T.matrix(), theano.shared(np.arange(16, dtype='float32').reshape(4, 4) / 7))",
        "inputs": [operand([4, 4])], "seed": 3},
    "ofg_nested": {"code": "lambda x: (lambda a, b: theano.OpFromGraph([a], [theano.OpFromGraph([b], [b ** 2])(a) "
                           "+ T.exp(-a)]))(T.vector(), T.vector())(x)",
                   "inputs": [operand([6])], "seed": 4},
}

test_matches_theano = parity_test(SPECS)
