"""Read the op-table examples' Theano graphs into ExprGraphs with ``exporter.frontends.theano_graph``
(run in the legacy environment).

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python \
        tests/legacy/theano_graph_worker.py OUT_DIR SPECS.json

SPECS.json is what ``tests/theano_ops/expr_worker.py`` evaluates (``{"code": "lambda x, y: ...",
"inputs": [{"shape", "dtype", "broadcastable", "known"}]}`` by name).  For each it builds the same
Theano expression on free variables of those types and writes OUT_DIR/NAME.expr.json (the graph the
reader wrote; the inputs' sizes given where ``known``), or NAME.refused (the reader's refusal).  A
spec with ``"capture": true`` instead makes the function the ``get_output_for`` of a real Lasagne
layer class of its own (named "custom") and captures that network with ``exporter.frontends.lasagne_live.capture`` (the refusal is
the capture's error).  ``rng`` is a Theano ``RandomStreams``.
"""
import json
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano.tensor.signal import pool  # noqa: E402,F401  (used by the expressions)

from exporter.errors import UnsupportedLayersError  # noqa: E402
from exporter.frontends.theano_graph import to_expr  # noqa: E402


def namespace():
    from theano.sandbox import rng_mrg  # noqa: F401  (theano.sandbox.rng_mrg.MRG_RandomStreams)
    from theano.tensor.shared_randomstreams import RandomStreams

    return {"T": T, "np": np, "theano": theano, "pool": pool, "rng": RandomStreams(1)}


def capture(spec):
    from exporter.frontends.theano_compat import install_downsample_standin

    install_downsample_standin()  # Lasagne 0.1 imports a module Theano 1.0 no longer has
    import lasagne

    from exporter.frontends.lasagne_live import capture

    class Custom(lasagne.layers.Layer):  # a user's layer computing the spec's function
        def get_output_for(self, input, **kwargs):
            return fn(input)

    fn = eval(spec["code"], namespace())
    (inp,) = spec["inputs"]
    net = Custom(lasagne.layers.InputLayer(tuple(inp["shape"]), name="input"), name="custom")
    return capture(net).to_dict()


def read(spec):
    if spec.get("capture"):
        return capture(spec)
    variables, shapes = [], []
    for i, inp in enumerate(spec["inputs"]):
        variables.append(T.TensorType(inp["dtype"], inp["broadcastable"])(f"in{i}"))
        shapes.append([s if known else None for s, known in zip(inp["shape"], inp.get("known", [1] * len(inp["shape"])))])
    fn = eval(spec["code"], namespace())
    return to_expr(fn(*variables), variables, shapes)


def main(out_dir, specs_path):
    with open(specs_path) as f:
        specs = json.load(f)
    for name, spec in specs.items():
        try:
            expr = read(spec)
        except (ValueError, UnsupportedLayersError) as e:
            with open(os.path.join(out_dir, name + ".refused"), "w") as f:
                f.write(str(e))
            continue
        except Exception as e:  # the reader (or the example) broke: the test shows it
            with open(os.path.join(out_dir, name + ".error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
            continue
        with open(os.path.join(out_dir, name + ".expr.json"), "w") as f:
            json.dump(expr, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
