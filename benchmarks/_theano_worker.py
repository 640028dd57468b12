"""Time the original network in Theano (C mode): real Lasagne 0.1 + the test suite's 0.2 back-ports.

Runs in the legacy environment (called by benchmarks/inference.py):

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        benchmarks/_theano_worker.py MODEL WEIGHTS.npz INPUTS.npz BATCHES REPEATS BUDGET OUT.npz

Prints one JSON line: compile seconds, per-batch timings; writes Theano's outputs to OUT.npz (y<batch>).
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT]

from exporter.frontends.theano_compat import install_downsample_standin  # noqa: E402

install_downsample_standin()

import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

import lasagne  # noqa: E402
from tests.legacy import lasagne02_backport  # noqa: E402

lasagne02_backport.install()

from _common import build_network, time_batches  # noqa: E402


def main(argv):
    name, weights, inputs, batches, repeats, budget, out = argv
    batches = [int(b) for b in batches.split(",")]
    net = build_network(name)
    with np.load(weights) as z:
        lasagne.layers.set_all_param_values(net, [z["arr_%d" % i] for i in range(len(z.files))])
    x = T.tensor4("x")
    y = lasagne.layers.get_output(net, x, deterministic=True)
    t0 = time.perf_counter()
    f = theano.function([x], y)
    compile_s = time.perf_counter() - t0
    with np.load(inputs) as z:
        feeds = {b: z["x%d" % b] for b in batches}
    results, outputs = time_batches(f, feeds, batches, int(repeats), float(budget))
    np.savez(out, **{"y%d" % b: v for b, v in outputs.items()})
    convs = sorted({type(n.op).__name__ for n in f.maker.fgraph.toposort() if "Corr" in type(n.op).__name__
                    or "Conv" in type(n.op).__name__})
    print(json.dumps({"compile_s": compile_s, "results": results, "theano": theano.__version__,
                      "lasagne": lasagne.__version__, "mode": theano.config.mode, "cxx": bool(theano.config.cxx),
                      "conv_ops": convs, "blas": theano.config.blas.ldflags}))


if __name__ == "__main__":
    main(sys.argv[1:])
