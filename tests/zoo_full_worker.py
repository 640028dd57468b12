"""Theano references for the full-size model-zoo networks (tests/zoo_full.py), legacy environment.

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        tests/zoo_full_worker.py OUT_DIR zoo_full_NAME [zoo_full_NAME ...]

The reference worker's procedure (tests/legacy/reference_worker.py: real Lasagne 0.1 + the 0.2
back-ports, its seeding, its random parameters, a standard-normal input, Theano's deterministic
output in C mode) for the networks of ``tests.zoo_full.FULL``, storing less.  For each case
C = zoo_full_<NAME> it writes into OUT_DIR:
  C.json      the layer graph captured from the real Lasagne network
  C.meta.json the weights' fingerprint and count, checkpoint layer -> zoo key, Theano compile / run s
  C.io.npz    in:input and out:<layer> for the checkpoint layers only (written last)
  C.error     instead, when building, capturing or computing raised
The weights themselves are not stored: the test regenerates them (see tests/zoo_full.py).
"""
import json
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.legacy import reference_worker  # noqa: E402  (installs the Theano stand-ins and 0.2 back-ports)

import numpy as np  # noqa: E402
import theano  # noqa: E402

import lasagne  # noqa: E402
from exporter.frontends.lasagne_live import capture  # noqa: E402
from tests import zoo_full  # noqa: E402


def run(name, out_dir):
    stem = os.path.join(out_dir, zoo_full.case_name(name))
    # the code path the test regenerates the weights with, on the real Lasagne and the worker's table
    out, net, rng = zoo_full.build_with_weights(name, lasagne, reference_worker.RANDOM_PARAMS)
    graph = capture(out, source=f"lasagne {lasagne.__version__} + 0.2 backport (theano {theano.__version__})")
    values = lasagne.layers.get_all_param_values(out)
    meta = {"fingerprint": zoo_full.fingerprint(values), "params": int(sum(v.size for v in values))}
    del values

    layers = lasagne.layers.get_all_layers(out)
    positions = zoo_full.checkpoint_positions(name, out, net, lasagne)
    shape = zoo_full.FULL[name][1]
    x = rng.standard_normal(shape).astype(theano.config.floatX)
    outputs = lasagne.layers.get_output([layers[i] for i in positions], {layers[0]: theano.tensor.constant(x)},
                                        deterministic=True)
    t0 = time.time()
    fn = theano.function([], outputs, on_unused_input="ignore")
    t1 = time.time()
    results = fn()
    t2 = time.time()
    io = {"in:input": x}
    for i, v in zip(positions, results):
        io["out:" + graph.layers[i].name] = np.asarray(v)
    key_of = {id(layer): key for key, layer in net.items()}
    meta.update(checkpoints={graph.layers[i].name: key_of.get(id(layers[i])) for i in positions},
                theano_compile_s=round(t1 - t0, 2),
                theano_run_s=round(t2 - t1, 2))
    with open(stem + ".json", "w") as f:
        f.write(graph.to_json())
    with open(stem + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    np.savez(stem + ".io.tmp.npz", **io)
    os.replace(stem + ".io.tmp.npz", stem + ".io.npz")  # last: the entry is complete once this exists
    return meta


def main(argv):
    out_dir, cases = argv[0], argv[1:]
    for case in cases:
        t0 = time.time()
        try:
            try:
                meta = run(zoo_full.zoo_name(case), out_dir)
            except Exception as e:
                if not reference_worker.compile_cache_race(e):
                    raise
                meta = run(zoo_full.zoo_name(case), out_dir)  # another process was compiling the same module
            print(f"ok {case} ({time.time() - t0:.1f} s: Theano compile {meta['theano_compile_s']} s, "
                  f"run {meta['theano_run_s']} s)", flush=True)
        except Exception as e:
            with open(os.path.join(out_dir, case + ".error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
            print(f"error {case}: {type(e).__name__}: {e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
