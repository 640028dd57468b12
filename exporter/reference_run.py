"""Compute every Lasagne layer's output with the real Lasagne on Theano: the reference for ``check``.

Runs in the *old* environment (Python 3.7+, numpy < 1.24, Theano, Lasagne); it imports only numpy,
Theano, Lasagne, the user's build file and the Theano-free parts of this package, never onnx or
onnxruntime.  ``python -m exporter check --reference-python PY`` runs it for you; on a machine of its
own (where the old stack lives) run it from a checkout of this project and copy the result back:

    python lasagne2onnx/exporter/reference_run.py --network build.py:build_model --weights model.npz \\
        --out layers.npz [--input inputs.npz] [--input-shape input=1,3,32,32] [--batch 2] [--seed 0]
    python -m exporter check out.onnx --reference layers.npz      # anywhere, no Theano needed

It builds the network with the build function, loads ``model.npz`` with
``lasagne.layers.set_all_param_values``, feeds the inputs (``in:<input layer>`` or ``input`` arrays of
``--input``, else seeded standard-normal arrays, ``--batch`` rows where the batch size is unknown) and
evaluates ``lasagne.layers.get_output(all_layers, deterministic=True)`` in one ``theano.function``.
The output npz holds ``in:<input layer>`` (what was fed), ``out:<layer>`` (every layer's output,
keyed by the layer names the exporter uses: the Lasagne name, else ``<kind>_<position>``) and
``__lasagne2onnx_reference__`` (uint8 JSON: layer order, classes, shapes, inputs, versions).

Errors print one line (``error: ...``) on stderr and exit with status 2.
"""
import json
import os
import sys

if __name__ == "__main__":  # run as a script: import this package from the checkout it lives in
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

META_KEY = "__lasagne2onnx_reference__"
DNN_MODULE = "lasagne.layers.dnn"
FORMAT = "lasagne2onnx.reference"


class ReferenceRunError(Exception):
    """Bad input to the reference run (printed as one line, exit status 2)."""


def _parse_args(argv):
    import argparse

    p = argparse.ArgumentParser(prog="reference_run.py", description=__doc__.split("\n")[0])
    p.add_argument("--network", required=True, metavar="FILE.py:FN", help="the Lasagne build function")
    p.add_argument("--weights", required=True, metavar="MODEL.npz",
                   help="np.savez(path, *lasagne.layers.get_all_param_values(net)), or a model-zoo .pkl "
                        "(with --trust-pickle)")
    p.add_argument("--out", required=True, metavar="LAYERS.npz", help="where to write every layer's output")
    p.add_argument("--input", metavar="IN.npz", help="inputs: in:<input layer name> arrays (or 'input' for one input)")
    p.add_argument("--input-shape", metavar="NAME=D0,D1,...", action="append", default=[],
                   help="shape of a random input whose dimensions are unknown (repeatable)")
    p.add_argument("--batch", type=int, default=2, help="batch size of random inputs whose batch size is unknown")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--trust-pickle", action="store_true", help="read pickles (a model-zoo .pkl, pickled objects in the npz files)")
    p.add_argument("--cudnn", choices=("yes", "no"),
                   help="no: build as on a machine without cuDNN (importing lasagne.layers.dnn, corrmm or cuda_convnet "
                        "fails); yes: refuse if the build code asks for them and they do not import here")
    p.add_argument("--python2", action="store_true", help="read the build file as Python 2 (needs fissix)")
    return p.parse_args(argv)


def _theano_flags():
    """Default the Theano flags the reference needs, keeping whatever the user set."""
    flags = os.environ.get("THEANO_FLAGS", "")
    given = {f.split("=", 1)[0].strip() for f in flags.split(",") if f.strip()}
    extra = []
    if "floatX" not in given:
        extra.append("floatX=float32")  # the exported model computes in float32
    if "blas.ldflags" not in given and not os.environ.get("THEANORC") \
            and not os.path.exists(os.path.expanduser("~/.theanorc")):
        extra.append("blas.ldflags=" + _blas_ldflags())
    if extra:
        os.environ["THEANO_FLAGS"] = ",".join([flags] + extra if flags else extra)


def _blas_ldflags():
    """Theano 1.0 asks numpy.distutils for BLAS, which numpy >= 1.22 no longer describes (import fails)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy.distutils is deprecated
            import numpy.distutils.__config__ as cfg
        if getattr(cfg, "blas_opt_info", None):
            return ""  # numpy describes its BLAS: leave the choice to Theano
    except Exception:
        pass
    import ctypes.util

    return "-lopenblas" if ctypes.util.find_library("openblas") else ""


def _import_lasagne():
    _theano_flags()
    from exporter.frontends.theano_compat import install_downsample_standin

    try:
        install_downsample_standin()  # PyPI's Lasagne 0.1 imports a module Theano 1.0 removed
        import theano
        import lasagne
    except Exception as e:
        raise ReferenceRunError("cannot import Theano and Lasagne in {} ({}: {})".format(
            sys.executable, type(e).__name__, " ".join(str(e).split())[:200]))
    if "compat" in (getattr(lasagne, "__file__", "") or "").split(os.sep):
        raise ReferenceRunError("the reference needs the real Lasagne, not the Theano-free stand-in")
    return theano, lasagne


def _load_arrays(path, trust_pickle, what):
    from exporter.errors import ExportError
    from exporter.weights import load_weights

    try:
        arrays = load_weights(path, trust_pickle=trust_pickle)[0]
    except ExportError as e:
        raise ReferenceRunError("{} {}".format(what, e))
    return arrays


def _index_bound(layer, layers):
    """The number of rows of the smallest EmbeddingLayer reading an integer input layer (its indices
    must be below it), or None."""
    sizes = [l.input_size for l in layers if type(l).__name__ == "EmbeddingLayer" and l.input_layer is layer]
    return min(sizes) if sizes else None


def _inputs(args, input_layers, names, np, floatX, layers=()):
    """name -> array for every input layer: from --input, else seeded random arrays (integers below the
    embedding size for an integer input, as the exporter's check draws them)."""
    from exporter.cli import parse_input_shapes
    from exporter.errors import ExportError

    try:
        shapes = parse_input_shapes(args.input_shape)
    except ExportError as e:
        raise ReferenceRunError(str(e))
    given = _load_arrays(args.input, args.trust_pickle, "--input") if args.input else None
    rng = np.random.RandomState(args.seed)
    feeds = {}
    for layer in input_layers:
        name = names[layer]
        declared = tuple(layer.shape)
        if given is not None:
            arr = given.get("in:" + name)
            if arr is None and len(input_layers) == 1:
                arr = given.get("input")
            if arr is None:
                raise ReferenceRunError("{}: no array for input layer {!r} (in:{}{})".format(
                    args.input, name, name, " or 'input'" if len(input_layers) == 1 else ""))
        else:
            shape = shapes.get(name)
            if shape is None:
                shape = [d for d in declared]
                if shape and shape[0] is None:
                    shape[0] = args.batch
                if any(d is None for d in shape):
                    raise ReferenceRunError("input layer {!r} has unknown dimensions {}; give --input-shape {}=...".format(
                        name, declared, name))
            if str(layer.input_var.dtype).startswith(("int", "uint")):
                arr = rng.randint(0, _index_bound(layer, layers) or 2, size=tuple(shape))
            else:
                arr = rng.standard_normal(tuple(shape))
        dtype = str(layer.input_var.dtype)
        if dtype.startswith(("int", "uint")):
            if not np.array_equal(np.asarray(arr).astype(dtype), arr):
                raise ReferenceRunError("input {!r} holds {} indices; the array's values are not all {} integers".format(
                    name, dtype, dtype))
            arr = np.asarray(arr, dtype=dtype)
        else:
            arr = np.asarray(arr, dtype=floatX)
        if arr.ndim != len(declared) or any(d is not None and d != a for d, a in zip(declared, arr.shape)):
            raise ReferenceRunError("input {!r} has shape {} but the input layer expects {}".format(
                name, arr.shape, declared))
        feeds[name] = arr
    return feeds


def _build(args, standin):
    """(network or None, why the build failed or None, {GPU module: imported}, {stand-in module: why the
    real one did not import})."""
    from exporter.errors import ExportError
    from exporter.frontends.network_file import _where, gpu_module_probe, load_build_function
    from exporter.frontends.user_loaders import user_code_loaders
    from exporter.reference_dnn import cpu_standin

    # the stand-in's finder goes first in sys.meta_path, the probe (which blocks with --cudnn no) before it;
    # files the build code loads by path are read as the export read them
    with cpu_standin(enabled=standin) as standins, gpu_module_probe(block=args.cudnn == "no") as attempts, \
            user_code_loaders():
        try:
            fn = load_build_function(args.network, python2=args.python2)
            call = _arguments(fn, args.network)
            try:
                net = fn(*call[0], **call[1])
            except ExportError:
                raise
            except Exception as e:
                raise ReferenceRunError("{}: the build function raised {}".format(args.network, _where(e)))
        except (ExportError, ReferenceRunError) as e:
            return None, str(e), attempts, standins
    return net, None, attempts, standins


def _arguments(fn, spec):
    """The build function's arguments written in ``spec`` (``FILE.py:FN(ARGS)``, literals), as the export
    called it."""
    from exporter.frontends.build_args import arguments, check_call, split_spec

    path, _, text = split_spec(spec)
    args, kwargs = arguments(text)
    check_call(fn, args, kwargs, path)
    return args, kwargs


def compute(args):
    """Build, load, run; returns the dict written to ``args.out``."""
    theano, lasagne = _import_lasagne()
    import numpy as np
    from exporter.frontends.lasagne_live import incoming, layer_names, network_output
    from exporter.frontends.network_file import _where

    # lasagne.layers.dnn where it cannot import for lack of a GPU: a CPU stand-in (exporter/reference_dnn.py)
    # with --cudnn yes; without --cudnn only if the build fails without it (build code that falls back
    # builds its fallback, as before)
    net, error, attempts, standins = _build(args, standin=args.cudnn == "yes")
    if error and args.cudnn is None and attempts.get(DNN_MODULE) is False:
        net, error, attempts, standins = _build(args, standin=True)
    if error:
        raise ReferenceRunError(error)
    if args.cudnn == "yes" and attempts and not any(attempts.values()):
        raise ReferenceRunError("--cudnn yes: the build code asks for {}, which cannot be imported in {} (no GPU or "
                                "cuDNN here), so it builds the network without cuDNN".format(
                                    " / ".join(sorted(attempts)), sys.executable))
    net = network_output(net)  # a model-zoo dict: the last entry, keys naming layers (as in the exporter)
    outs = list(net) if isinstance(net, (list, tuple)) else [net]  # several outputs, as the capture takes them
    bad = [o for o in outs if not isinstance(o, lasagne.layers.Layer)]
    if not outs or bad:
        raise ReferenceRunError("{}: the build function must return a Lasagne layer (a list of layers, or a dict of "
                                "layers), got {}".format(args.network, type(bad[0] if bad else net).__name__))
    net = outs if len(outs) > 1 else outs[0]  # (an input layer among them adds no layer: it is an ancestor)

    weights = _load_arrays(args.weights, args.trust_pickle, "--weights")
    keys = sorted((k for k in weights if k.startswith("arr_") and k[4:].isdigit()), key=lambda k: int(k[4:]))
    if not keys:
        raise ReferenceRunError("{}: no arrays named arr_0..arr_N (np.savez(path, *get_all_param_values(net)))".format(
            args.weights))
    try:
        lasagne.layers.set_all_param_values(net, [weights[k] for k in keys])
    except Exception as e:
        raise ReferenceRunError("{}: does not fit the network built by {} ({})".format(
            args.weights, args.network, " ".join(str(e).split())[:200]))

    layers = lasagne.layers.get_all_layers(net)
    names = dict(zip(layers, layer_names(layers)))
    # an input layer over a computed value (InputLayer(input_var=T.zeros((x.shape[0], ...)))) is computed, not fed
    input_layers = [l for l in layers if isinstance(l, lasagne.layers.InputLayer) and l.input_var.owner is None]
    floatX = theano.config.floatX
    feeds = _inputs(args, input_layers, names, np, floatX, layers)
    variables = [l.input_var for l in input_layers]
    try:
        outputs = lasagne.layers.get_output(layers, deterministic=True)
        run = theano.function(variables, outputs, on_unused_input="ignore")
        values = run(*[feeds[names[l]] for l in input_layers])
    except Exception as e:
        raise ReferenceRunError("Theano could not compute the network: {}".format(_where(e)))

    result = {"in:" + k: v for k, v in feeds.items()}
    for layer, value in zip(layers, values):
        result["out:" + names[layer]] = np.asarray(value)
    meta = {
        "format": FORMAT, "version": 1, "network": args.network, "weights": os.path.basename(args.weights),
        "theano": getattr(theano, "__version__", "?"), "lasagne": getattr(lasagne, "__version__", "?"),
        "floatX": floatX, "python": sys.version.split()[0],
        "cpu_standins": standins,  # {module: why the real one did not import}
        "layers": [{"name": names[l], "class": type(l).__name__, "inputs": [names[i] for i in incoming(l) if i in names],
                    "shape": [int(d) for d in np.shape(v)]} for l, v in zip(layers, values)],
    }
    result[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return result


def write(result, path):
    import numpy as np

    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, ".{}.{}.partial".format(os.path.basename(path), os.getpid()))
    try:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a bare name
            np.savez(f, **result)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ReferenceRunError("{}: cannot write ({})".format(path, e.strerror or type(e).__name__))


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = compute(args)
        write(result, args.out)
    except ReferenceRunError as e:
        sys.stderr.write("error: {}\n".format(e))
        return 2
    n = sum(1 for k in result if k.startswith("out:"))
    print("wrote {}: {} layers".format(args.out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
