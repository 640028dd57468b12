"""Errors in build code point at the user's code; an unsupported network names every unsupported
layer at once; the list of supported classes names only classes that export."""
import os
import subprocess
import sys
import textwrap

import pytest

from exporter import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def capture(tmp_path, source, fn="build", files=None):
    (tmp_path / "net.py").write_text(textwrap.dedent(source))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    r = subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:{fn}",
                        "--lasagne", "compat", "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr, (r.returncode, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not (tmp_path / "a.json").exists()
    return lines[0]


def line_no(tmp_path, text, name="net.py"):
    return next(i for i, l in enumerate((tmp_path / name).read_text().splitlines(), 1) if text in l)


@pytest.mark.parametrize("call, error", [
    ('Conv2DLayer(l, 4, 3, pad="bogus")', "TypeError"),  # raised inside the Theano-free Lasagne's conv module
    ("DenseLayer(l, 2.5)", "TypeError"),  # raised by numpy, called from the Theano-free Lasagne
    ("ReshapeLayer(l, ([0], -1, -1))", "ValueError"),
])
def test_error_raised_inside_lasagne_names_the_users_line(tmp_path, call, error):
    line = capture(tmp_path, f'''
        from lasagne.layers import *


        def build():
            l = InputLayer((None, 3, 8, 8), name="input")
            return {call}
    ''')
    assert f"raised {error}" in line and line.endswith(f" at net.py:{line_no(tmp_path, call.split('(')[0])}"), line


def test_error_in_a_helper_module_names_that_module_and_line(tmp_path):
    line = capture(tmp_path, '''
        from blocks import conv_block
        from lasagne.layers import InputLayer


        def build():
            return conv_block(InputLayer((None, 3, 8, 8), name="input"), width=0)
    ''', files={"blocks.py": '''
        from lasagne.layers import Conv2DLayer


        def conv_block(l, width):
            return Conv2DLayer(l, width, 3)
    '''})
    assert line.endswith(f"at blocks.py:{line_no(tmp_path, 'Conv2DLayer(l', 'blocks.py')}"), line


def test_every_unsupported_layer_is_named_at_once(tmp_path):
    line = capture(tmp_path, '''
        from lasagne.layers import *


        def build():
            l = InputLayer((None, 5, 4), name="input")
            r = LSTMLayer(l, 6, name="lstm")  # peepholes: which Lasagne trained it is not declared
            r = ReshapeLayer(r, ([0], 5, 6, 1), name="maps")
            up = Upscale2DLayer(r, 2, name="up")
            up.mode = "bilinear"  # not a mode Lasagne computes
            pool = MaxPool2DLayer(up, 2, name="pool")
            pool.mode = "median"
            return DenseLayer(pool, 3, name="fc")
    ''')
    assert line.startswith(f"error: 3 unsupported layers: 'lstm' (class LSTMLayer, position "), line
    for words in ("'up' (class Upscale2DLayer, position ", "mode='bilinear'",
                  "'pool' (class MaxPool2DLayer, position ", "pooling mode 'median'"):
        assert words in line, (words, line)
    # every one of these classes has a converter (what they are given is the problem): no list of classes
    assert line.endswith("(positions in get_all_layers)") and "; supported: " not in line, line


def test_one_unsupported_class_still_gets_the_supported_list(tmp_path):
    line = capture(tmp_path, '''
        from lasagne.layers import InputLayer, Layer


        class Doubler(Layer):
            pass


        def build():
            return Doubler(InputLayer((None, 3), name="input"), name="double")
    ''')
    assert line.startswith("error: unsupported layer 'double' (class Doubler, position 1 in get_all_layers): no "
                           "converter for this class; tracing it instead: its class implements no get_output_for; "
                           "supported: "), line
    supported = line.split("supported: ", 1)[1].split(", ")
    assert supported == registry.supported_classes() and "Layer" not in supported


def test_supported_classes_are_the_ones_that_export():
    registry.load_all()
    listed = registry.supported_classes()
    assert listed and all(registry.CAPTURE_RULES[c].kind in registry.CONVERTERS for c in listed)
    # every Lasagne class with a capture rule now has a converter too; a rule whose kind has none is not listed
    registry.CAPTURE_RULES["_Unconverted"] = registry.CaptureRule("_NoSuchKind", None, ())
    try:
        assert "_Unconverted" not in registry.supported_classes()
    finally:
        del registry.CAPTURE_RULES["_Unconverted"]


TWO_UNNAMED_INPUTS = '''
    from lasagne.layers import ConcatLayer, DenseLayer, InputLayer, ReshapeLayer

    def build():
        second = InputLayer((2, None, 5))  # created first, but the network's second input (input_1)
        first = InputLayer((2, None, 5))
        return DenseLayer(ConcatLayer([first, ReshapeLayer(second, (2, -1, 5))], axis=1), 3, name="fc")
'''


def test_unnamed_inputs_are_sized_by_their_names_in_the_export(tmp_path):
    """Several unnamed input layers: --input-shape reaches each by the name the export gives it
    (input_<position among the layers>, its ONNX input's name), even where the build needs the sizes."""
    import json

    line = capture(tmp_path, TWO_UNNAMED_INPUTS)
    assert "give them with --input-shape input_P=2,N,5" in line, line  # not the unnamed form: it would be refused
    args = [sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:build", "--lasagne",
            "compat", "--out", str(tmp_path / "a.json")]
    r = subprocess.run(args + ["--input-shape", "input_0=2,3,5", "--input-shape", "input_1=2,4,5"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    shapes = {l["name"]: l["output_shape"] for l in json.loads((tmp_path / "a.json").read_text())["layers"]}
    assert shapes["input_0"] == [2, 3, 5] and shapes["input_1"] == [2, 4, 5] and shapes["fc"] == [2, 3]
    for extra, said in ((["--input-shape", "2,3,5"], "this one has 2 ('input_1', 'input_0'): use input_1=D0,D1,..."),
                        (["--input-shape", "input_0=2,3,5", "--input-shape", "input_1=2,4,5", "--input-shape",
                          "input_7=1,1,5"], "no input layer named 'input_7' (inputs: 'input_1', 'input_0')")):
        r = subprocess.run(args + extra, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 2 and said in r.stderr, r.stderr


def test_input_layers_returned_beside_the_outputs_are_not_outputs(tmp_path):
    """``return l_in, l_out`` (a training script keeps its input layer): one output, and a warning."""
    (tmp_path / "net.py").write_text(textwrap.dedent('''
        from lasagne.layers import DenseLayer, InputLayer

        def build():
            l_in = InputLayer((None, 4), name="x")
            return l_in, DenseLayer(l_in, 3, name="out")
    '''))
    r = subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:build",
                        "--lasagne", "compat", "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "the build function returned input layer 'x' beside its outputs: inputs of the model, not outputs" \
           in r.stderr, r.stderr
    import json

    assert json.loads((tmp_path / "a.json").read_text())["outputs"] == ["out"]


@pytest.mark.parametrize("returned, said", [
    ("out, {'fc': out.W}", "dict"),  # kron_layer_lasagne's (network, manifolds)
    ("out, train_fn, val_fn", "function, function"),
    # BinaryNet scripts return their compiled Theano functions too (lazy values on the Theano-free API)
    ("out, theano.function([l_in.input_var], lasagne.layers.get_output(out))", "a Theano function or value"),
])
def test_training_objects_returned_beside_the_network_are_left_out(tmp_path, returned, said):
    (tmp_path / "net.py").write_text(textwrap.dedent(f'''
        import lasagne
        import theano
        from lasagne.layers import DenseLayer, InputLayer

        def train_fn():
            pass

        val_fn = train_fn

        def build():
            l_in = InputLayer((None, 4), name="x")
            out = DenseLayer(l_in, 3, name="out")
            return {returned}
    '''))
    r = subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:build",
                        "--lasagne", "compat", "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert f"the build function returned {said} beside its layer: only the layers are exported" in r.stderr, r.stderr
    import json

    assert json.loads((tmp_path / "a.json").read_text())["outputs"] == ["out"]


def test_an_unmodelled_op_feeding_a_layer_is_named_not_the_input_sizes(tmp_path):
    """A layer built on the result of a ``theano.scan`` the stand-in does not trace (an output reading its
    two previous values) asks for its type: the refusal names scan, why and its line, not the unknown
    input sizes (which would not help)."""
    line = capture(tmp_path, '''
        import theano
        import theano.tensor as T
        from lasagne.layers import DenseLayer, InputLayer

        def build():
            l_in = InputLayer((None, None, 5))
            x = l_in.input_var
            out, _ = theano.scan(lambda x_t, h2, h1: h1 + x_t, sequences=x.dimshuffle(1, 0, 2),
                                 outputs_info=dict(initial=T.zeros((2, x.shape[0], 5)), taps=[-2, -1]))
            return DenseLayer(InputLayer((None, 5), input_var=out[-1]), 3)
    ''')
    at = f"net.py:{line_no(tmp_path, 'theano.scan(')}"
    assert f"theano.scan (at {at}) is not traced: output 0 reads its earlier values with taps [-2, -1]" in line, line
    assert f"(theano.scan at {at})" in line, line
    assert "--input-shape" not in line, line


@pytest.mark.parametrize("layout", ["beside", "added"])
def test_modules_imported_when_the_build_function_runs(tmp_path, layout):
    """As ``python build.py`` runs it: a module beside the file, or in a folder the file put on
    ``sys.path``, imports from inside the build function too (f0k/ismir2015's predict.py)."""
    helper = "from lasagne.layers import DenseLayer\n\ndef head(l):\n    return DenseLayer(l, 3, name='head')\n"
    folder = tmp_path if layout == "beside" else tmp_path / "lib"
    folder.mkdir(exist_ok=True)
    (folder / "helper_mod.py").write_text(helper)
    prelude = "" if layout == "beside" else \
        "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))\n"
    (tmp_path / "net.py").write_text(prelude + textwrap.dedent('''
        from lasagne.layers import InputLayer

        def build():
            import helper_mod
            return helper_mod.head(InputLayer((None, 4)))
    '''))
    r = subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:build",
                        "--lasagne", "compat", "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "head" in (tmp_path / "a.json").read_text()


def test_a_size_taken_from_an_unmodelled_op_names_the_op(tmp_path):
    """``x.reshape((n, T.nlinalg.matrix_inverse(...).shape[0], -1))``: the refusal names that op and its line,
    not a TypeError about a lazy value."""
    line = capture(tmp_path, '''
        import lasagne
        import theano.tensor as T

        class DiagLayer(lasagne.layers.Layer):
            def __init__(self, incoming, **kw):
                super(DiagLayer, self).__init__(incoming, **kw)
                self.S = self.add_param(lasagne.init.Normal(), (4, 4), name="S")

            def get_output_for(self, input, **kw):
                s = T.nlinalg.matrix_inverse(self.S)
                return input.reshape((input.shape[0], s.shape[0], -1)).sum(axis=2)

            def get_output_shape_for(self, shape):
                return (shape[0], 4)

        def build():
            return DiagLayer(lasagne.layers.InputLayer((None, 8)))
    ''')
    assert f"theano.tensor.nlinalg.matrix_inverse is not modelled by lasagne2onnx's Theano stand-in " \
           f"(theano.tensor.nlinalg.matrix_inverse at net.py:{line_no(tmp_path, 's = T.nlinalg.')})" in line, line
