"""Compute reference data with the real Lasagne on Theano (run in the legacy environment).

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        tests/legacy/reference_worker.py OUT_DIR CASE [CASE ...]

For each case it writes into OUT_DIR:
  CASE.json      the layer graph captured from the real Lasagne network (exporter's live capture; a
                 layer without a converter is read from Theano's own graph of its get_output_for,
                 exporter/frontends/theano_graph.py)
  CASE.capture_error  instead of CASE.json, for a case tagged "traced" whose custom layers that reader
                 refuses (the tests then capture it with the Theano-free tracer, and say so)
  CASE.npz       np.savez(path, *lasagne.layers.get_all_param_values(net)) - the user's weights file
  CASE.io.npz    in:<input layer> arrays and out:<layer> = Theano's deterministic output of every layer
  CASE.error     instead of the above, when building or capturing raised (text of the error)
Parameters get random values (seeded by the case name) so biases and BN statistics are not trivial.
"""
import os
import sys
import traceback
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from exporter.frontends.theano_compat import install_downsample_standin  # noqa: E402

install_downsample_standin()

import numpy as np  # noqa: E402
import theano  # noqa: E402

import lasagne  # noqa: E402
from tests.legacy import lasagne02_backport  # noqa: E402

lasagne02_backport.install()

from exporter.errors import UnsupportedLayerError  # noqa: E402
from exporter.frontends.lasagne_live import capture, layer_names  # noqa: E402
from tests.cases import load_all  # noqa: E402

from tests.random_params import RANDOM_PARAMS  # noqa: E402


def randomise_params(net, rng):
    for p in lasagne.layers.get_all_params(net):
        role = (p.name or "").rsplit(".", 1)[-1]
        if role in RANDOM_PARAMS:
            shape = p.get_value().shape
            p.set_value(np.asarray(RANDOM_PARAMS[role](rng, shape), dtype=theano.config.floatX))


def run_case(c, out_dir):
    seed = zlib.crc32(c.name.encode())
    np.random.seed(seed % 2**31)
    lasagne.random.set_rng(np.random.RandomState(seed % 2**31))
    rng = np.random.RandomState(seed % 2**31 + 1)
    net = c.build()
    layers = lasagne.layers.get_all_layers(net)
    try:
        graph = capture(net, source=f"lasagne {lasagne.__version__} + 0.2 backport (theano {theano.__version__})")
        names = [spec.name for spec in graph.layers]
    except UnsupportedLayerError as e:
        if "traced" not in c.tags:
            raise
        graph, names = None, layer_names(layers)
        with open(os.path.join(out_dir, c.name + ".capture_error"), "w") as f:
            f.write(str(e))
    randomise_params(net, rng)
    inputs = {l.name: l for l in layers if isinstance(l, lasagne.layers.InputLayer)}
    arrays = {}
    for name, shape in c.inputs.items():
        if name in c.int_inputs:  # indices (an EmbeddingLayer's input), negative ones included where asked
            dtype, low, high = c.int_inputs[name]
            arrays[name] = rng.randint(low, high, size=shape).astype(dtype)
        else:
            arrays[name] = rng.standard_normal(shape).astype(theano.config.floatX)
    variables = {inputs[name]: theano.tensor.constant(a) for name, a in arrays.items()}
    outputs = lasagne.layers.get_output(layers, variables, deterministic=True)
    # sizes the build code read from an input layer's variable (input_var.shape[0]) take the fed array's
    givens = [(layer.input_var, variables[layer]) for layer in variables]
    values = theano.function([], outputs, givens=givens, on_unused_input="ignore")()
    io = {f"in:{k}": v for k, v in arrays.items()}
    for name, v in zip(names, values):
        io[f"out:{name}"] = np.asarray(v)
    if graph is not None:
        with open(os.path.join(out_dir, c.name + ".json"), "w") as f:
            f.write(graph.to_json())
    np.savez(os.path.join(out_dir, c.name + ".npz"), *lasagne.layers.get_all_param_values(net))
    np.savez(os.path.join(out_dir, c.name + ".io.npz"), **io)


def compile_cache_race(e) -> bool:
    """Whether ``e`` came from Theano's shared compile cache while another worker process was writing
    the same module (``assert key not in self.keys``, or the module vanishing): not the case's fault."""
    return any("theano/gof/cmodule.py" in frame.filename or "theano/gof/cc.py" in frame.filename
               for frame in traceback.extract_tb(e.__traceback__))


def main(argv):
    out_dir, names = argv[0], argv[1:]
    cases = load_all()
    failures = 0
    for name in names:
        try:
            try:
                run_case(cases[name], out_dir)
            except Exception as e:
                if not compile_cache_race(e):
                    raise
                run_case(cases[name], out_dir)  # once more: another process was compiling the same module
            print(f"ok {name}", flush=True)
        except Exception as e:
            with open(os.path.join(out_dir, name + ".error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
            print(f"error {name}: {type(e).__name__}: {e}", flush=True)
            failures += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
