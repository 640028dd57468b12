"""``theano.scan`` against Theano, op by op: a running sum, an output fed back and one not (backwards),
sequence taps before and after the step, n_steps without sequences (a non-sequence read each step) and
cutting a longer sequence, a scan inside a scan's step (its
step linked by Python: Theano's Cython loop does not build on Python 3.11).  The real-Theano reader reads the same examples
(tests/test_theano_graph.py)."""
from tests.theano_ops.harness import operand, parity_test

SPECS = {
    "scan_running_sum": {
        "code": "lambda x: theano.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.zeros_like(x[0]))[0]",
        "inputs": [operand([4, 3], known=[False, True])]},
    "scan_backwards_fed_back_and_not": {
        "code": "lambda x: T.concatenate(theano.scan(lambda v, h: [T.tanh(h * 0.5 + v), v * h], sequences=x, "
                "outputs_info=[x[0], None], go_backwards=True)[0], axis=1)",
        "inputs": [operand([5, 2])]},
    "scan_sequence_taps": {
        "code": "lambda x: theano.scan(lambda a, b, c: a - 2 * b + c, sequences=dict(input=x, taps=[-2, 0, 1]))[0]",
        "inputs": [operand([6, 3], known=[False, True])]},
    "scan_n_steps_without_sequences": {
        "code": "lambda x: theano.scan(lambda h, w: T.tanh(h * w + 1), outputs_info=x[0], non_sequences=x.sum(axis=0), "
                "n_steps=3)[0]",
        "inputs": [operand([4, 3])]},
    "scan_n_steps_cuts_sequences": {
        "code": "lambda x, y: theano.scan(lambda a, b: a * b, sequences=[x, y[::-1]], n_steps=x.shape[0] - 1)[0]",
        "inputs": [operand([4, 2]), operand([5, 2])]},
    "scan_inside_a_step": {
        "code": "lambda x: theano.scan(lambda row: theano.scan(lambda v, acc: acc * 0.5 + v, sequences=row, "
                "outputs_info=T.zeros_like(row[0]))[0], sequences=x, mode=theano.Mode(linker='py'))[0]",
        "inputs": [operand([3, 4])]},
}

for _seed, _spec in enumerate(SPECS.values()):
    _spec["seed"] = _seed

test_matches_theano = parity_test(SPECS)
