"""Evaluate Theano expressions for the op-table parity tests (run in the legacy environment).

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        tests/theano_ops/expr_worker.py OUT_DIR SPECS.json

SPECS.json maps a name to ``{"code": "lambda x, y: ...", "inputs": [{"shape", "dtype", "broadcastable",
"values", "seed"}]}``.  For each, it writes OUT_DIR/NAME.npz (``in0``.. the inputs, ``out`` Theano's
result) and NAME.json (the result's dtype and broadcastable pattern), or NAME.error.  ``T`` is
theano.tensor, ``pool`` theano.tensor.signal.pool, ``np`` numpy.  Each op is compiled by Theano's C
backend (``cvm`` linker, without the graph rewrites of FAST_RUN, so that each op is Theano's own).
"""
import json
import os
import sys
import traceback

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.signal import pool  # noqa: F401  (used by the expressions)

MODE = theano.Mode(linker="cvm", optimizer="fast_compile")
# a Scan under the C linker builds Theano's Cython loop, which does not compile on this Python (3.11); the
# Python linker runs Theano's own Python loop (its step still compiled as any function)
SCAN_MODE = theano.Mode(linker="py", optimizer="fast_compile")


def make_input(spec, rng):
    shape, dtype, kind = tuple(spec["shape"]), spec["dtype"], spec.get("values", "normal")
    if kind == "int":
        a = rng.randint(-4, 5, size=shape)
    elif kind == "posint":
        a = rng.randint(1, 6, size=shape)
    elif kind == "pos":
        a = np.abs(rng.standard_normal(shape)) + 0.5
    elif kind == "unit":
        a = rng.uniform(-0.9, 0.9, size=shape)
    elif kind.startswith("range:"):  # valid indices into an axis of that size
        a = rng.randint(0, int(kind[6:]), size=shape)
    else:
        a = rng.standard_normal(shape) * spec.get("scale", 1.0)
    return np.asarray(a, dtype=dtype)


def run(name, spec, out_dir):
    rng = np.random.RandomState(spec["seed"])
    variables, arrays = [], []
    for i, inp in enumerate(spec["inputs"]):
        variables.append(T.TensorType(inp["dtype"], inp["broadcastable"])(f"in{i}"))
        arrays.append(make_input(inp, rng))
    fn = eval(spec["code"], {"T": T, "np": np, "theano": theano, "pool": pool})
    out = fn(*variables)
    loops = any(type(v.owner.op).__name__ == "Scan" for v in theano.gof.graph.ancestors([out]) if v.owner)
    value = theano.function(variables, out, mode=SCAN_MODE if loops else MODE, on_unused_input="ignore")(*arrays)
    np.savez(os.path.join(out_dir, name + ".npz"), out=np.asarray(value),
             **{f"in{i}": a for i, a in enumerate(arrays)})
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"dtype": out.dtype, "broadcastable": list(out.broadcastable)}, f)


def main(out_dir, specs_path):
    with open(specs_path) as f:
        specs = json.load(f)
    for name, spec in specs.items():
        try:
            run(name, spec, out_dir)
        except Exception as e:
            with open(os.path.join(out_dir, name + ".error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
