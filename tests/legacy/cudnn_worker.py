"""Theano references for tests/test_cudnn_choice.py (legacy environment): the build file
tests/buildfiles/cudnn_probe.py built the two ways it can be, with the same weights.

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        tests/legacy/cudnn_worker.py OUT_DIR cudnn_probe_yes cudnn_probe_no

cudnn_probe_yes: ``lasagne.layers.dnn`` imports (the 0.2 back-port's CPU stand-in of the cuDNN
classes, tests/legacy/lasagne02_backport.py); cudnn_probe_no: importing it fails, as on a machine
without cuDNN.  For each it writes NAME.npz (the weights, the same arrays both ways), NAME.io.npz
(in:input, out:<layer> for every layer: Theano's output) and NAME.json (the probe's outcome and
the layer classes), or NAME.error.
"""
import json
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.legacy import reference_worker  # noqa: E402,F401  (Theano stand-ins and the 0.2 back-ports)

import numpy as np  # noqa: E402
import theano  # noqa: E402

import lasagne  # noqa: E402
from exporter.frontends.lasagne_live import layer_names  # noqa: E402
from exporter.frontends.network_file import GPU_MODULES, gpu_module_probe, load_build_function  # noqa: E402

BUILD = os.path.join(ROOT, "tests", "buildfiles", "cudnn_probe.py")
WEIGHTS_SEED, INPUT_SEED = 20240101, 7


def run(name, out_dir):
    saved = {m: sys.modules.get(m) for m in GPU_MODULES}
    try:
        with gpu_module_probe(block=name.endswith("_no")) as attempts:
            module_build = load_build_function(BUILD + ":build")
            net = module_build()
    finally:  # the back-ported modules again, for the next case
        for m, module in saved.items():
            if module is not None:
                sys.modules[m] = module
                setattr(lasagne.layers, m.rsplit(".", 1)[1], module)
    rng = np.random.RandomState(WEIGHTS_SEED)
    params = lasagne.layers.get_all_params(net)
    values = [(0.5 * rng.standard_normal(p.get_value().shape)).astype(theano.config.floatX) for p in params]
    lasagne.layers.set_all_param_values(net, values)
    layers = lasagne.layers.get_all_layers(net)
    names = layer_names(layers)
    module = sys.modules[module_build.__module__]
    x = np.random.RandomState(INPUT_SEED).standard_normal(module.INPUT_SHAPE).astype(theano.config.floatX)
    outputs = lasagne.layers.get_output(layers, {layers[0]: theano.tensor.constant(x)}, deterministic=True)
    computed = theano.function([], outputs)()
    np.savez(os.path.join(out_dir, name + ".npz"), *values)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"probe": attempts, "classes": {n: type(l).__name__ for n, l in zip(names, layers)}}, f)
    io = {"in:input": x, **{"out:" + n: np.asarray(v) for n, v in zip(names, computed)}}
    np.savez(os.path.join(out_dir, name + ".io.npz"), **io)


def main(argv):
    out_dir, names = argv[0], argv[1:]
    for name in names:
        try:
            run(name, out_dir)
            print("ok " + name, flush=True)
        except Exception as e:
            with open(os.path.join(out_dir, name + ".error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
