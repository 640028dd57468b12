"""Users' own Theano ops on the Theano-free API (exporter/compat/lasagne/_symbolic/userops.py): the
classes define and instantiate, literals run the user's own code, what cannot be traced is refused
naming the class and the line, and a Python 2 file's op (tuple parameters, Python 2's round) exports.
Parity with Theano on every layer: tests/cases/user_op_cases.py through tests/test_compat_matches_real.py
(both front ends) and tests/test_parity_theano.py.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module", autouse=True)
def compat_lasagne():
    from exporter import compat

    compat.activate()
    yield


def _ops(graph_layer):
    return [n["op"].rsplit(".", 1)[-1] for n in graph_layer.attrs["expr"]["nodes"]]


def test_every_base_class_subclasses_and_instantiates():
    import theano
    import theano.tensor as T

    class A(theano.Op):
        pass

    class B(theano.gof.Op):
        def __init__(self, k):
            self.k = k

    class C(theano.scalar.UnaryScalarOp):
        pass

    class D(theano.scalar.basic.BinaryScalarOp):
        pass

    class E(theano.compile.ops.ViewOp):  # a Theano class the stand-in does not model
        pass

    A(), B(2), E(1, x=2)
    for rule in (theano.scalar.same_out_nocomplex, theano.scalar.upgrade_to_float, theano.scalar.upcast_out):
        assert T.Elemwise(C(rule, name="c")).scalar_op.name == "c"
    assert T.elemwise.Elemwise is T.Elemwise and theano.Apply is theano.gof.Apply
    assert D(theano.scalar.same_out).nin == 2 and theano.scalar.float32.dtype == "float32"


def test_literals_run_the_users_own_code():
    """impl with Python control flow cannot be traced, but on literals it runs, as Theano's
    frompyfunc does (Python floats, result in the output dtype)."""
    import theano
    import theano.tensor as T
    from lasagne._shared import tracing

    class SignIf(theano.scalar.UnaryScalarOp):
        def impl(self, x):
            return 1.5 if x > 0 else -1.0

    class Twice(theano.Op):
        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return theano.Apply(self, [x], [x.type()])

        def perform(self, node, inputs, out):
            out[0][0] = [float(v) * 2 for v in inputs[0]]  # a list: perform's result is cast to the output type

    values = np.array([-2.0, 0.0, 3.0], dtype="float32")
    with tracing():
        a = T.Elemwise(SignIf(theano.scalar.upgrade_to_float))(values)
        b = Twice()(values)
    assert a.dtype == "float32" and a.data.tolist() == [-1.0, -1.0, 1.5]
    assert b.dtype == "float32" and b.data.tolist() == [-4.0, 0.0, 6.0]


def test_applying_outside_tracing_needs_theano():
    import theano.tensor as T
    from lasagne import TheanoRequiredError

    from tests.cases._user_ops import round3

    with pytest.raises(TheanoRequiredError, match="round3"):
        round3(T.matrix())


def test_untraceable_op_on_activations_is_refused_naming_class_and_line():
    from lasagne.layers import ExpressionLayer, InputLayer
    from lasagne._shared import tracing

    from exporter.errors import UnsupportedLayerError
    from exporter.frontends.lasagne_live import capture
    from tests.cases._user_ops import sign_if

    with tracing():
        net = ExpressionLayer(InputLayer((None, 4)), lambda x: sign_if(x) * 2, name="sign")  # applied here
    line = sys._getframe().f_lineno - 1
    with pytest.raises(UnsupportedLayerError) as info:
        capture(net)
    text = str(info.value)
    assert f"test_user_ops.py:{line}" in text and "SignIf (_user_ops.py:" in text, text
    assert "values computed when the network runs" in text and "Python control flow" in text, text


def test_untraceable_perform_on_parameters_is_refused():
    import theano
    import theano.tensor as T
    from lasagne.layers import DenseLayer, InputLayer
    from lasagne._shared import tracing

    from exporter.errors import UnsupportedLayerError
    from exporter.frontends.lasagne_live import capture

    class Median(theano.Op):
        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return theano.Apply(self, [x], [x.type()])

        def perform(self, node, inputs, out):
            out[0][0] = np.asarray(np.median(inputs[0]) * np.ones_like(inputs[0]), dtype=inputs[0].dtype)

    class Centred(DenseLayer):
        def get_output_for(self, input, **kwargs):
            return T.dot(input, self.W - Median()(self.W))

    with tracing():
        net = Centred(InputLayer((None, 4)), 3, name="centred")
    with pytest.raises(UnsupportedLayerError) as info:
        capture(net)
    text = str(info.value)
    assert "Median (test_user_ops.py:" in text and "parameters" in text and "numpy.median" in text, text


PY2_BUILD = '''\
import numpy
import theano
import theano.tensor as T
import lasagne


class Round3(theano.scalar.UnaryScalarOp):
    def c_code(self, node, name, (x,), (z,), sub):
        return "%(z)s = round(%(x)s);" % locals()

    def impl(self, x):
        return numpy.round(x)

round3 = T.Elemwise(Round3(theano.scalar.same_out_nocomplex, name='round3'))


class Py2Round(theano.scalar.UnaryScalarOp):
    def impl(self, x):
        return round(x) / 2

py2_round = T.Elemwise(Py2Round(theano.scalar.same_out_nocomplex))


class SignIf(theano.scalar.UnaryScalarOp):
    def impl(self, x):
        if x > 0:
            return 1.
        return -1.

sign_if = T.Elemwise(SignIf(theano.scalar.same_out_nocomplex))


def build():
    print "building"
    l = lasagne.layers.InputLayer((None, 4), name="input")
    l = lasagne.layers.DenseLayer(l, 3, nonlinearity=lambda x: 2. * round3(T.clip((x + 1.) / 2., 0, 1)) - 1.,
                                  name="binary")
    return lasagne.layers.ExpressionLayer(l, lambda x: py2_round(x * 3), name="py2round")


def build_bad():
    l = lasagne.layers.InputLayer((None, 4), name="input")
    return lasagne.layers.ExpressionLayer(l, lambda x: sign_if(x), name="bad")
'''


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def test_python2_file_with_tuple_parameters_exports_and_refuses(tmp_path):
    (tmp_path / "bnn.py").write_text(PY2_BUILD)
    r = _cli("capture", "--network", f"{tmp_path / 'bnn.py'}:build", "--lasagne", "compat", "--out",
             tmp_path / "a.json")
    assert r.returncode == 0, r.stderr
    layers = {l["name"]: l for l in json.loads((tmp_path / "a.json").read_text())["layers"]}
    nonlinearity = json.dumps(layers["binary"]["attrs"])
    assert "round_half_away_from_zero" in nonlinearity, nonlinearity  # Round3's c_code: C's round()
    ops = [n["op"].rsplit(".", 1)[-1] for n in layers["py2round"]["attrs"]["expr"]["nodes"]]
    assert "round_half_away_from_zero" in ops and "true_div" in ops, ops  # Python 2's round and / of floats

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "model.npz", rng.standard_normal((4, 3)).astype(np.float32),
             rng.standard_normal(3).astype(np.float32))
    out = tmp_path / "bad.onnx"
    r = _cli(tmp_path / "model.npz", out, "--network", f"{tmp_path / 'bnn.py'}:build_bad", "--lasagne", "compat")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    lines_of = PY2_BUILD.splitlines()
    defined = lines_of.index("class SignIf(theano.scalar.UnaryScalarOp):") + 2  # (its impl)
    applied = next(i for i, l in enumerate(lines_of) if "sign_if(x)" in l) + 1
    assert f"the Theano op SignIf (bnn.py:{defined}) (at bnn.py:{applied})" in lines[0], lines[0]
    assert "Python control flow" in lines[0], lines[0]
    assert not out.exists()


def test_weights_binarised_by_a_users_op_fold_into_one_initializer():
    """BinaryNet's ``switch(round3(hard_sigmoid(W / H)), H, -H)`` depends on parameters only: computed at
    export from the weights given, stored as a +-H kernel (the values: tests/cases/user_op_cases.py)."""
    import onnx.numpy_helper

    from exporter.pipeline import to_onnx
    from exporter.weights import bind_weights
    from tests.cases import load_all
    from tests.reference import compat_capture

    graph = compat_capture(load_all()["binarynet_dense"])
    rng = np.random.default_rng(0)
    shapes = {p.key: p.shape for layer in graph.layers for p in layer.params}
    weights = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    model = to_onnx(graph, bind_weights(graph, weights, "random"), opset=17, optimize="off")
    kernels = {tuple(t.dims): onnx.numpy_helper.to_array(t) for t in model.graph.initializer if len(t.dims) == 2}
    assert sorted(kernels) == [(8, 6), (10, 8)]  # the binarised kernels only: the raw W are not needed
    hard_sigmoid = np.clip((weights["arr_0"] / np.float32(0.5) + 1) / 2, 0, 1)
    assert np.array_equal(kernels[10, 8], np.where(np.round(hard_sigmoid) != 0, 0.5, -0.5))  # bin1: H = 0.5
    assert set(np.unique(kernels[8, 6])) == {-1.0, 1.0}  # bin2: H = 1


GRADIENT_REVERSAL = '''
import theano
import theano.tensor as T
import lasagne
from lasagne.layers import DenseLayer, InputLayer


class ReverseGradient(theano.gof.Op):  # DANN's gradient reversal: the identity forward
    view_map = {0: [0]}
    __props__ = ("hp_lambda",)

    def __init__(self, hp_lambda):
        super(ReverseGradient, self).__init__()
        self.hp_lambda = hp_lambda

    def make_node(self, x):
        return theano.gof.graph.Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        xin, = inputs
        xout, = output_storage
        xout[0] = xin

    def grad(self, input, output_gradients):
        return [-self.hp_lambda * output_gradients[0]]


class ReverseGradientLayer(lasagne.layers.Layer):
    def __init__(self, incoming, hp_lambda, **kwargs):
        super(ReverseGradientLayer, self).__init__(incoming, **kwargs)
        self.op = ReverseGradient(hp_lambda)

    def get_output_for(self, input, **kwargs):
        return self.op(input)


def build():
    l = DenseLayer(InputLayer((None, 5)), 4, name="features")
    return DenseLayer(ReverseGradientLayer(l, 0.3, name="reverse"), 2, name="domain")
'''


def test_a_users_op_made_with_gof_graph_apply_matches_theano(tmp_path):
    """``theano.gof.graph.Apply(self, [x], [x.type.make_variable()])`` in a user's op (DANN), on every layer."""
    from tests.reference import LEGACY_PYTHON
    from tests.test_check import cli

    if not os.path.exists(LEGACY_PYTHON):
        pytest.fail(f"the legacy environment is missing ({LEGACY_PYTHON}): run scripts/setup-legacy.sh")
    (tmp_path / "build.py").write_text(GRADIENT_REVERSAL)
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "model.npz", *[rng.normal(size=s).astype(np.float32) for s in ((5, 4), (4,), (4, 2), (2,))])
    network = f"{tmp_path / 'build.py'}:build"
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    r = cli("check", tmp_path / "out.onnx", "--against", tmp_path / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON)
    assert r.returncode == 0 and "OK: all 4 compared layers match" in r.stdout, r.stdout + r.stderr
