"""ExpressionLayer(output_shape='auto') on the Theano-free API: the shape Lasagne gets by evaluating the
function on zeros (0 for each unknown size, each 0 of the result read as None), compared with what real
Theano computes for the same functions."""
import json
import os
import subprocess

import pytest

from exporter.frontends.network_file import select_lasagne
from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

FUNCTIONS = {  # name -> (source of a function of X, input shape)
    "flatten": ("lambda X: X.reshape((X.shape[0], -1))", (None, 3, 4, 5)),
    "subsample": ("lambda X: X[:, :, ::2, 1:]", (None, 3, 7, 5)),
    "mean_time": ("lambda X: X.mean(axis=1)", (None, 9, 6)),
    "transpose_dot": ("lambda X: T.dot(X.dimshuffle(0, 2, 1), np.ones((3, 4), dtype='float32'))", (2, 3, 3)),
    "concat": ("lambda X: T.concatenate([X, 2 * X], axis=1)", (None, 5)),
}

REFERENCE = r'''
import json, sys
import numpy as np
import theano, theano.tensor as T
out = {}
for name, (src, shape) in json.loads(sys.argv[1]).items():
    fn = eval(src)
    X = T.alloc(0, *[0 if s is None else s for s in shape])  # lasagne.layers.ExpressionLayer, 'auto'
    out[name] = [int(s) if s else None for s in fn(X).shape.eval()]
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def theano_shapes():
    if not os.path.exists(LEGACY_PYTHON):
        pytest.fail(f"the legacy environment is missing ({LEGACY_PYTHON}): run scripts/setup-legacy.sh")
    r = subprocess.run([LEGACY_PYTHON, "-c", REFERENCE, json.dumps(FUNCTIONS)], capture_output=True, text=True,
                       env={**os.environ, "THEANO_FLAGS": THEANO_FLAGS}, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_auto_output_shape_is_lasagnes(name, theano_shapes):
    select_lasagne("compat")
    import lasagne
    import numpy as np
    import theano.tensor as T  # the stand-in

    src, shape = FUNCTIONS[name]
    fn = eval(src, {"T": T, "np": np})
    layer = lasagne.layers.ExpressionLayer(lasagne.layers.InputLayer(shape), fn, output_shape="auto")
    assert list(layer.output_shape) == theano_shapes[name]


def test_auto_output_shape_of_what_is_not_a_tensor_is_refused_naming_it():
    select_lasagne("compat")
    import lasagne
    from lasagne._symbolic import TheanoRequiredError  # the compat package, imported as lasagne

    def pair(X):
        return [X, X]  # not a tensor

    with pytest.raises(TheanoRequiredError, match=r"ExpressionLayer\(output_shape='auto'\) .*not a tensor"):
        lasagne.layers.ExpressionLayer(lasagne.layers.InputLayer((None, 4)), pair, output_shape="auto").output_shape
