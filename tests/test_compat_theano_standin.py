"""The Theano stand-in (exporter/compat/theano) lets old build files import unmodified: any public
Theano name and any ``theano.*`` submodule is a stand-in that raises TheanoRequiredError when
called, random streams can be made, private/dunder names still raise AttributeError, the functions
layers accept stay single objects, and deactivate() leaves nothing a real Theano could pick up.
Each test runs in a fresh interpreter, so that the activation is its own.
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Module-level Theano use as found in old training scripts; build_model itself is plain Lasagne.
BUILD_FILE = '''
import numpy as np
import theano
import theano.tensor as T
import theano.gpuarray
import theano.tensor.nnet.bn
import theano.printing, theano.gradient, theano.compile, theano.sandbox
from theano.sandbox.rng_mrg import MRG_RandomStreams
from theano.tensor.shared_randomstreams import RandomStreams
from theano.tensor.signal import pool
from theano.tensor.signal.pool import pool_2d
from theano.ifelse import ifelse
from theano.tensor.nnet import abstract_conv
import lasagne
from lasagne.layers import Conv2DLayer, DenseLayer, GlobalPoolLayer, InputLayer, MaxPool2DLayer

srng = MRG_RandomStreams(seed=1234)
rs = RandomStreams(np.random.RandomState(0).randint(1, 2147462579))
floatX = theano.config.floatX
grad_fn = T.grad
HELPERS = (T.constant, T.as_tensor_variable, T.set_subtensor, T.inc_subtensor, T.shape_padleft, T.addbroadcast,
           T.patternbroadcast, T.mod, T.and_, T.or_, T.any, T.all, T.where, T.cumsum, T.extra_ops.cumsum,
           T.nnet.abstract_conv.conv2d_grad_wrt_inputs, abstract_conv.get_conv_output_shape,
           T.nnet.bn.batch_normalization, theano.printing.Print, theano.gradient.disconnected_grad,
           theano.compile.mode, theano.sandbox.cuda, theano.gpuarray.dnn.dnn_conv, pool.pool_2d, ifelse,
           theano.function, theano.grad, theano.scan, srng, rs)


def build_model():
    l = InputLayer((None, 1, 8, 8), name="input")
    l = Conv2DLayer(l, 4, 3, nonlinearity=T.nnet.relu, name="conv")
    l = MaxPool2DLayer(l, 2, name="pool")
    l = GlobalPoolLayer(l, pool_function=T.mean, name="gap")
    l = DenseLayer(l, 5, nonlinearity=T.tanh, name="fc")
    return DenseLayer(l, 3, nonlinearity=T.nnet.softmax, name="prob")
'''


def run_compat(code, tmp_path):
    """Run ``code`` in a fresh interpreter with exporter.compat activated; returns its stdout."""
    prelude = f"import sys; sys.path.insert(0, {ROOT!r})\nfrom exporter import compat; compat.activate()\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                       cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_build_file_using_theano_at_module_level_exports(tmp_path):
    pytest.importorskip("onnxruntime")
    build = tmp_path / "old_train.py"
    build.write_text(BUILD_FILE)
    out = run_compat(f"""
        import importlib.util, numpy as np, lasagne
        spec = importlib.util.spec_from_file_location("old_train", {str(build)!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        print("standin theano:", sys.modules["theano"].LASAGNE2ONNX_STANDIN)
        np.savez({str(tmp_path / "model.npz")!r}, *lasagne.layers.get_all_param_values(m.build_model()))
    """, tmp_path)
    assert "standin theano: True" in out
    onnx_path = tmp_path / "out.onnx"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "exporter", str(tmp_path / "model.npz"), str(onnx_path),
                        "--network", f"{build}:build_model", "--lasagne", "compat"],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert onnx_path.exists() and "6 Lasagne layers" in r.stdout


@pytest.mark.parametrize("call,named", [
    ("T.grad(1, 2)", "theano.tensor.grad"),
    ("theano.grad(1, 2)", "theano.grad"),
    ("theano.function([], [])", "theano.function"),
    ("T.set_subtensor(1, 2)", "theano.tensor.set_subtensor"),
    ("T.extra_ops.cumsum(1)", "theano.tensor.extra_ops.cumsum"),
    ("T.nnet.bn.batch_normalization(1)", "theano.tensor.nnet.bn.batch_normalization"),
    ("ifelse(1, 2, 3)", "theano.ifelse.ifelse"),
    ("pool.pool_2d(1, (2, 2))", "theano.tensor.signal.pool.pool_2d"),
    ("theano.gpuarray.dnn.dnn_conv(1, 2)", "theano.gpuarray.dnn.dnn_conv"),
    ("MRG_RandomStreams(seed=1234).normal((2, 2))", "theano.sandbox.rng_mrg.MRG_RandomStreams.normal"),
    ("MRG_RandomStreams().binomial((2,), p=0.5)", "theano.sandbox.rng_mrg.MRG_RandomStreams.binomial"),
    ("RandomStreams(7).uniform((2,))", "theano.tensor.shared_randomstreams.RandomStreams.uniform"),
    ("T.shared_randomstreams.RandomStreams().normal()", "theano.tensor.shared_randomstreams.RandomStreams.normal"),
])
def test_calling_a_standin_raises_naming_it(call, named, tmp_path):
    out = run_compat(f"""
        import theano, theano.tensor as T, theano.gpuarray
        from theano.ifelse import ifelse
        from theano.tensor.signal import pool
        from theano.sandbox.rng_mrg import MRG_RandomStreams
        from theano.tensor.shared_randomstreams import RandomStreams
        from lasagne import TheanoRequiredError
        try:
            {call}
        except TheanoRequiredError as e:
            print("RAISED", e)
    """, tmp_path)
    assert f"RAISED {named} needs Theano" in out


def test_private_and_dunder_names_raise_attribute_error(tmp_path):
    out = run_compat("""
        import copy, theano, theano.tensor as T, theano.gpuarray
        from theano.sandbox.rng_mrg import MRG_RandomStreams
        srng = MRG_RandomStreams(seed=1)
        for owner, names in ((theano, "__wrapped__ __path_hooks__ _private"), (T, "__array__ _x"),
                             (T.nnet, "__all_names__ _y"), (theano.gpuarray, "__wrapped__ _z"),
                             (T.grad, "__wrapped__ __signature__ _w"), (srng, "__array__ _v")):
            for name in names.split():
                print(name, hasattr(owner, name))
        print("public", hasattr(T, "anything"), hasattr(theano.gpuarray, "anything"), hasattr(srng, "normal"))
        print("copies", copy.deepcopy(T.grad).__qualname__, copy.copy(srng).__class__.__name__)
    """, tmp_path).splitlines()
    assert not [line for line in out if line.endswith(" True") and not line.startswith("public")], out
    assert "public True True True" in out and "copies grad MRG_RandomStreams" in out


def test_standins_are_single_named_objects_and_never_supported_functions(tmp_path):
    out = run_compat("""
        import theano, theano.tensor as T
        import theano.tensor.nnet.bn, theano.tensor.signal.pool, theano.sandbox.cuda
        from exporter.frontends.lasagne_live import describe_nonlinearity
        explicit = (T.tanh, T.mean, T.max, T.maximum, T.nnet.sigmoid, T.nnet.relu, T.nnet.softmax)
        print("explicit", all(f is g for f, g in zip(explicit, (theano.tensor.tanh, T.mean, T.max, T.maximum,
              theano.tensor.nnet.sigmoid, T.nnet.relu, T.nnet.softmax))), T.sigmoid is T.nnet.sigmoid)
        print("functions", all(type(f).__name__ == "function" for f in explicit))
        print("cached", T.grad is T.grad, T.extra_ops.cumsum is T.extra_ops.cumsum, theano.ifelse is theano.ifelse)
        for f in (T.grad, T.extra_ops.cumsum, T.nnet.logsoftmax):
            print("named", f.__name__, f.__module__, f.__qualname__)
        print("modules", type(theano.tensor.nnet.bn).__name__, theano.tensor.signal.pool.__name__)
        import lasagne.layers as L  # Lasagne's defaults are these very Theano functions
        l = L.InputLayer((None, 2, 4, 4))
        print("defaults", L.GlobalPoolLayer(l).pool_function is T.mean, L.FeaturePoolLayer(l, 2).pool_function is T.max,
              L.ElemwiseSumLayer([l, l]).merge_function is T.add, L.Conv2DLayer(l, 1, 1).convolution is T.nnet.conv2d)
        for fn in (T.nnet.logsoftmax, T.nnet.nnet.sigmoid, T.grad):
            try:
                describe_nonlinearity(fn)
                print("ACCEPTED", fn)
            except Exception as e:
                print("refused", type(e).__name__)
    """, tmp_path).splitlines()
    assert out[:3] == ["explicit True True", "functions True", "cached True True True"], out
    assert out[3:6] == ["named grad theano.tensor grad", "named cumsum theano.tensor.extra_ops cumsum",
                        "named logsoftmax theano.tensor.nnet logsoftmax"], out
    assert out[6:8] == ["modules module theano.tensor.signal.pool", "defaults True True True True"], out
    assert out[8:] == ["refused NetworkError"] * 3, out


def test_deactivate_leaves_nothing_for_a_real_theano(tmp_path):
    real = tmp_path / "site" / "theano"
    (real / "tensor").mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    (real / "tensor" / "__init__.py").write_text("")
    out = run_compat(f"""
        import theano, theano.gpuarray, theano.tensor.signal.pool
        from theano.sandbox.rng_mrg import MRG_RandomStreams
        kept = theano  # as a user's build module would keep it
        compat.deactivate()
        print("left", sorted(m for m in sys.modules if m == "theano" or m.startswith("theano.")))
        sys.path.insert(0, {str(tmp_path / "site")!r})
        import theano, theano.tensor
        print("real", theano.REAL, hasattr(theano, "grad"), hasattr(theano.tensor, "grad"))
        for name in ("theano.gpuarray", "theano.tensor.signal.pool", "theano.sandbox.rng_mrg"):
            try:
                __import__(name)
                print("IMPORTED", name)
            except ModuleNotFoundError:
                print("missing", name)
    """, tmp_path).splitlines()
    assert out == ["left []", "real True False False", "missing theano.gpuarray", "missing theano.tensor.signal.pool",
                   "missing theano.sandbox.rng_mrg"]


def test_reactivation_keeps_one_finder(tmp_path):
    out = run_compat("""
        import theano
        compat.deactivate(); compat.activate()
        import theano, theano.gpuarray
        print(sum(bool(getattr(f, "lasagne2onnx_theano_standin", False)) for f in sys.meta_path),
              theano.gpuarray.__name__)
        for name in ("no_such_module_xyz", "theanox.gpuarray"):  # only theano.* is answered for
            try:
                __import__(name)
                print("IMPORTED", name)
            except ModuleNotFoundError:
                print("missing")
    """, tmp_path)
    assert out.split() == ["1", "theano.gpuarray", "missing", "missing"]
