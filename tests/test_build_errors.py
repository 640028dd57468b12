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
            r = CustomRecurrentLayer(l, DenseLayer(InputLayer((None, 4)), 6), DenseLayer(InputLayer((None, 6)), 6),
                                     name="custom_rnn")
            r = ReshapeLayer(r, ([0], 5, 6, 1), name="maps")
            up = Upscale2DLayer(r, 2, name="up")
            up.mode = "bilinear"  # not a mode Lasagne computes
            pool = MaxPool2DLayer(up, 2, name="pool")
            pool.mode = "median"
            return DenseLayer(pool, 3, name="fc")
    ''')
    assert line.startswith(f"error: 3 unsupported layers: 'custom_rnn' (class CustomRecurrentLayer, position "), line
    for words in ("'up' (class Upscale2DLayer, position ", "mode='bilinear'",
                  "'pool' (class MaxPool2DLayer, position ", "pooling mode 'median'"):
        assert words in line, (words, line)
    # every one of these classes has a converter (what they are given is the problem): no list of classes
    assert line.endswith("(supported: max, average_inc_pad, average_exc_pad) (positions in get_all_layers)"), line


def test_one_unsupported_class_still_gets_the_supported_list(tmp_path):
    line = capture(tmp_path, '''
        from lasagne.layers import InputLayer, Layer


        class Doubler(Layer):
            pass


        def build():
            return Doubler(InputLayer((None, 3), name="input"), name="double")
    ''')
    assert line.startswith("error: unsupported layer 'double' (class Doubler, position 1 in get_all_layers): no "
                           "converter for this class; supported: "), line
    supported = line.split("supported: ", 1)[1].split(", ")
    assert supported == registry.supported_classes() and "CustomRecurrentLayer" not in supported


def test_supported_classes_are_the_ones_that_export():
    registry.load_all()
    listed = registry.supported_classes()
    assert listed and all(registry.CAPTURE_RULES[c].kind in registry.CONVERTERS for c in listed)
    # a capture rule without a converter (it exists to explain the refusal) is not listed
    assert "CustomRecurrentLayer" in registry.CAPTURE_RULES and "CustomRecurrentLayer" not in listed
