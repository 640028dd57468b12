"""Random Lasagne stacks for the property test (tests/test_property_theano.py), as plain JSON specs.

:func:`build` turns a spec into a network with whatever ``lasagne`` is importable: the real Lasagne 0.1
on Theano in the legacy environment (where this file also runs as the reference worker) or the
project's Theano-free Lasagne API.  A spec::

    {"input": [C, H, W], "batch": 2, "layers": [OP, ...]}

where each OP is one of (nonlinearity names are Lasagne 0.1's)::

    {"op": "conv", "num_filters": F, "filter_size": [a, b], "stride": [s, t], "pad": "same"|"full"|"valid"|p|[p, q],
     "flip_filters": bool, "bias": bool, "nonlinearity": NAME}
    {"op": "pool", "mode": "max"|"average_inc_pad"|"average_exc_pad", "pool_size": [a, b], "stride": [s, t],
     "pad": [p, q], "ignore_border": bool}
    {"op": "dense", "num_units": U, "nonlinearity": NAME}
    {"op": "dropout", "p": P} | {"op": "nonlinearity", "nonlinearity": NAME} | {"op": "flatten"}
    {"op": "reshape", "shape": [...]}          (Lasagne ReshapeLayer syntax, [i] = input dimension i)
    {"op": "branch", "merge": "sum"|"concat", "arms": [[OP, ...], [OP, ...]]}   (an empty arm is the input)

``flip_filters=False`` is Lasagne 0.2's argument: in the legacy environment it comes from
``tests/legacy/lasagne02_backport.py`` (Theano's ``filter_flip=False``).

Run as a script (legacy environment)::

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python tests/property_stacks.py OUT_DIR SPECS.json

SPECS.json maps names to specs; for each name it writes NAME.json (the captured layer graph),
NAME.npz (``np.savez(path, *get_all_param_values(net))``), NAME.io.npz (``in:input`` and Theano's
deterministic ``out:<layer>`` for every layer) or NAME.error.
"""
import json
import os
import sys
import traceback
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nonlinearity(name):
    from lasagne import nonlinearities

    if name == "leaky_rectify_0.3":
        return nonlinearities.LeakyRectify(0.3)
    return getattr(nonlinearities, name)


def _op(l, op, name):
    import lasagne.layers as L

    kind = op["op"]
    if kind == "conv":
        pad = op["pad"] if isinstance(op["pad"], str) else (tuple(op["pad"]) if isinstance(op["pad"], list) else op["pad"])
        return L.Conv2DLayer(l, op["num_filters"], tuple(op["filter_size"]), stride=tuple(op["stride"]), pad=pad,
                             flip_filters=op["flip_filters"], b=_zeros() if op["bias"] else None,
                             nonlinearity=nonlinearity(op["nonlinearity"]), name=name)
    if kind == "pool":
        return L.Pool2DLayer(l, tuple(op["pool_size"]), stride=tuple(op["stride"]), pad=tuple(op["pad"]),
                             ignore_border=op["ignore_border"], mode=op["mode"], name=name)
    if kind == "dense":
        return L.DenseLayer(l, op["num_units"], nonlinearity=nonlinearity(op["nonlinearity"]), name=name)
    if kind == "dropout":
        return L.DropoutLayer(l, p=op["p"], name=name)
    if kind == "nonlinearity":
        return L.NonlinearityLayer(l, nonlinearity(op["nonlinearity"]), name=name)
    if kind == "flatten":
        return L.FlattenLayer(l, name=name)
    if kind == "reshape":
        return L.ReshapeLayer(l, tuple(s if isinstance(s, int) else list(s) for s in op["shape"]), name=name)
    raise ValueError("unknown op %r" % (kind,))


def _zeros():
    from lasagne import init

    return init.Constant(0.0)


def build(spec):
    """The network a spec describes (its output layer)."""
    import lasagne.layers as L

    counter = [0]

    def name(kind):
        counter[0] += 1
        return "%s%d" % (kind, counter[0])

    def chain(l, ops):
        for op in ops:
            if op["op"] == "branch":
                arms = [chain(l, arm) for arm in op["arms"]]
                merge = L.ElemwiseSumLayer if op["merge"] == "sum" else L.ConcatLayer
                l = merge(arms, name=name(op["merge"]))
            else:
                l = _op(l, op, name(op["op"]))
        return l

    l = L.InputLayer((spec["batch"],) + tuple(spec["input"]), name="input")
    return chain(l, spec["layers"])


# -- the reference worker (legacy environment) --------------------------------------------------------
def _run(name, spec, out_dir):
    import numpy as np
    import theano

    import lasagne
    from exporter.frontends.lasagne_live import capture
    from tests.legacy.reference_worker import randomise_params

    seed = zlib.crc32(name.encode()) % 2 ** 31
    np.random.seed(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))
    net = build(spec)
    graph = capture(net, source="property stack (lasagne %s, theano %s)" % (lasagne.__version__, theano.__version__))
    rng = np.random.RandomState(seed + 1)
    randomise_params(net, rng)
    layers = lasagne.layers.get_all_layers(net)
    x = rng.standard_normal((spec["batch"],) + tuple(spec["input"])).astype(theano.config.floatX)
    outputs = lasagne.layers.get_output(layers, {layers[0]: theano.tensor.constant(x)}, deterministic=True)
    values = theano.function([], outputs, on_unused_input="ignore")()
    io = {"in:input": x}
    for layer_spec, v in zip(graph.layers, values):
        io["out:" + layer_spec.name] = np.asarray(v)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        f.write(graph.to_json())
    np.savez(os.path.join(out_dir, name + ".npz"), *lasagne.layers.get_all_param_values(net))
    np.savez(os.path.join(out_dir, name + ".io.npz"), **io)


def main(argv):
    sys.path.insert(0, ROOT)
    from exporter.frontends.theano_compat import install_downsample_standin

    install_downsample_standin()
    from tests.legacy import lasagne02_backport

    lasagne02_backport.install()  # Conv2DLayer(flip_filters=...) on Lasagne 0.1
    out_dir, specs_path = argv
    with open(specs_path) as f:
        specs = json.load(f)
    for name, spec in specs.items():
        try:
            _run(name, spec, out_dir)
            print("ok %s" % name, flush=True)
        except Exception as e:
            with open(os.path.join(out_dir, name + ".error"), "w") as f:
                f.write("%s: %s\n\n%s" % (type(e).__name__, e, traceback.format_exc()))
            print("error %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
