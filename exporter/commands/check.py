"""``python -m exporter check OUT.onnx ...``: where does the export diverge from the original network?

Runs the exported model in onnxruntime, reads every Lasagne layer's output (the layer map in the
model's metadata), compares each with the original framework's output of that layer and prints a
table in network order, then one line naming the first layer that differs.

The original outputs come from
  ``--reference-python PY`` (with ``--against MODEL.npz --network FILE.py:FN``): a Python with the
      real Theano + Lasagne runs :mod:`exporter.reference_run` on the same inputs;
  ``--reference LAYERS.npz``: the file that worker writes (``in:<input>``, ``out:<layer>``), e.g.
      computed on another machine.

The verdict (statuses, table, summary) is :mod:`.check_report`'s.

Exit status: 0 every compared layer within ``--tolerance`` (or AMPLIFIED); 1 some layer differs; 2 bad input.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from ..accuracy import PARITY_TOLERANCE
from ..errors import ExportError, NetworkError, WeightsError
from .check_report import compare_rows, print_traced, run_alone, summary, table

EXIT_DIFFERS = 1
STEPS = ("computing the reference (Theano, Lasagne)", "running every layer in onnxruntime")


def add_arguments(parser):
    from .export import add_architecture_arguments

    parser.epilog = ("exit status: 0 = every layer within the tolerance (or, marked AMPLIFIED, within it when fed "
                     "the reference's own inputs), 1 = some layer differs (the summary names the first), 2 = bad input")
    parser.add_argument("model", metavar="OUT.onnx", help="a model written by the exporter")
    parser.add_argument("--against", metavar="MODEL.npz",
                        help="the weights the model was exported from (np.savez(path, *get_all_param_values(net)))")
    add_architecture_arguments(parser)
    parser.add_argument("--reference-python", metavar="PY",
                        help="a Python with the real Theano + Lasagne (e.g. your old environment's bin/python): "
                             "it builds --network, loads --against and computes every layer's output")
    parser.add_argument("--reference", metavar="LAYERS.npz",
                        help="precomputed per-layer outputs (in:<input>, out:<layer>) written by "
                             "exporter/reference_run.py")
    parser.add_argument("--save-reference", metavar="LAYERS.npz",
                        help="with --reference-python: also keep the computed reference (reuse with --reference)")
    parser.add_argument("--input", metavar="IN.npz",
                        help="the inputs to compare on: in:<input layer> arrays (or 'input' for one input); "
                             "default: seeded standard-normal arrays, batch 2 where the batch size is unknown")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show progress even when not on a terminal")
    parser.add_argument("--tolerance", type=float, default=PARITY_TOLERANCE,
                        help="largest allowed max |onnx - reference| / max(1, max |reference|) per layer "
                             f"(default {PARITY_TOLERANCE:g})")


def run(args):
    result = compare(args)
    print(f"checking {args.model} against {result['source']} ({_describe_feeds(result['feeds'])}, "
          f"tolerance {args.tolerance:g})")
    print(table(result["rows"]))
    print_traced(result["model"])
    print(result["summary"])
    return result["status"]


def compare(args) -> dict:
    """Everything ``check`` prints, as data: ``rows`` (one dict per Lasagne layer, network order),
    ``summary`` (the closing line), ``status`` (0 or :data:`EXIT_DIFFERS`), ``source``, ``feeds``,
    ``model`` (the ONNX model compared).
    Shared with :func:`exporter.api.check`."""
    if args.reference and args.reference_python:
        raise ExportError("give one reference: --reference LAYERS.npz or --reference-python PY")
    if not args.reference and not args.reference_python:
        raise ExportError("check needs the original outputs: --reference-python PY (a Python with Theano + Lasagne, "
                          "with --against MODEL.npz --network FILE.py:FN) or --reference LAYERS.npz")
    if args.save_reference and not args.reference_python:
        raise ExportError("--save-reference keeps what --reference-python computes; it needs --reference-python")
    if not args.tolerance >= 0:
        raise ExportError(f"--tolerance must be a non-negative number, got {args.tolerance}")
    model = _load_model(args.model)
    from ..metadata import layer_map as read_layer_map

    layer_map = read_layer_map(model)
    if not layer_map:
        raise ExportError(f"{args.model}: has no lasagne2onnx layer map (metadata 'lasagne2onnx.layers'); "
                          f"check works on models written by this exporter")
    onnx_inputs = _graph_inputs(model)
    input_layers = _input_layers(layer_map, onnx_inputs)
    from ..cli import refuse_build_args_without_network

    refuse_build_args_without_network(args)
    if args.network:
        args.network, args.build_arg = _network_as_exported(args, model), []

    from ..progress import printer, steps

    step, done = steps(printer(getattr(args, "progress", None), label=""), STEPS)
    if args.reference_python:
        graph = None
        step(STEPS[0])
        ref, meta = _run_reference_python(args, model, layer_map, onnx_inputs, input_layers)
        source = f"Theano/Lasagne via {args.reference_python}" + _called_with(args.network)
    else:
        graph = _architecture(args)
        ref, meta = _load_reference(args.reference, args.trust_pickle)
        source = args.reference
    source += _standin_note(meta)
    feeds = _reference_feeds(args, ref, onnx_inputs, input_layers)
    _check_coverage(args, layer_map, ref, graph)

    from ..compare import run_layers

    step(STEPS[1])
    try:
        actual = run_layers(model, feeds)
    except ExportError:
        raise
    except Exception as e:  # onnxruntime rejects the inputs (shape, rank)
        raise ExportError(f"{args.model}: onnxruntime cannot run the model on these inputs ({_describe_feeds(feeds)}): "
                          f"{' '.join(str(e).split())[:300]}") from None
    rows = compare_rows(layer_map, actual, ref, _classes(graph, meta), args.tolerance)
    inputs_of = _inputs_of(graph, meta)
    run_alone(rows, model, layer_map, ref, inputs_of, args.tolerance)
    done()
    return {"rows": rows, "summary": summary(rows, args.tolerance, inputs_of), "source": source,
            "feeds": feeds, "model": model,
            "status": EXIT_DIFFERS if any(r["status"] == "DIFFERS" for r in rows) else 0}


# -- inputs ----------------------------------------------------------------------------------------
def _load_model(path):
    import onnx

    if not os.path.exists(path):
        raise ExportError(f"{path}: ONNX model not found")
    if os.path.isdir(path):
        raise ExportError(f"{path}: is a directory, not an ONNX model")
    from ..importers.common import check_model
    from ..metadata import LAYER_MAP_KEY

    try:
        model = onnx.load(path)
    except Exception as e:
        raise ExportError(f"{path}: cannot read the ONNX model ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:200]})") from None
    check_model(model, path, keys=(LAYER_MAP_KEY,))  # the layer map well-formed, no negative input dimension
    return model


class _InputShape(tuple):
    """A graph input's shape (ints, None where symbolic) that also knows the input's numpy ``dtype``
    and, for integer indices, their exclusive upper ``bound``."""

    dtype = np.dtype(np.float32)
    bound = None


def _graph_inputs(model) -> dict:
    """ONNX input name -> _InputShape, initializers excluded."""
    from onnx import helper

    from ..validate import index_bounds

    inits = {t.name for t in model.graph.initializer}
    bounds = index_bounds({p.key: p.value for p in model.metadata_props})
    shapes = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = inp.type.tensor_type.shape.dim
        shape = shapes[inp.name] = _InputShape(d.dim_value if d.HasField("dim_value") else None for d in dims)
        elem = inp.type.tensor_type.elem_type
        if elem:
            shape.dtype = np.dtype(helper.tensor_dtype_to_np_dtype(elem))
        shape.bound = bounds.get(inp.name)
    return shapes


def _input_layers(layer_map, onnx_inputs) -> dict:
    """ONNX input name -> the Lasagne input layer it carries."""
    out = {}
    for layer, value in layer_map.items():
        if value in onnx_inputs and value not in out:
            out[value] = layer
    return out


def _random_feeds(args, onnx_inputs, input_layers) -> dict:
    from ..cli import parse_input_shapes

    overrides = parse_input_shapes(args.input_shape)
    from ..validate import check_random_input_shapes

    rng = np.random.default_rng(args.seed)
    shapes = {}
    for name, shape in onnx_inputs.items():
        layer = input_layers.get(name, name)
        shape = overrides.get(layer, overrides.get(name, overrides.get(None) if len(onnx_inputs) == 1 else None))
        if shape is None:
            shape = list(onnx_inputs[name])
            if shape and shape[0] is None:
                shape[0] = 2
            if any(d is None for d in shape):
                raise NetworkError(f"input {layer!r} has unknown dimensions {onnx_inputs[name]}; "
                                   f"give --input-shape {layer}=D0,D1,... or --input IN.npz")
        shapes[name] = tuple(shape)
    try:
        check_random_input_shapes(shapes, hint="give smaller sizes with --input-shape, or inputs with --input IN.npz")
    except ValueError as e:
        raise NetworkError(str(e)) from None
    feeds = {}
    for name, shape in shapes.items():
        if onnx_inputs[name].dtype.kind in "iu":  # indices: below the smallest embedding they select from
            feeds[name] = rng.integers(0, onnx_inputs[name].bound or 2, size=shape).astype(onnx_inputs[name].dtype)
        elif onnx_inputs[name].bound:  # a recurrent layer's mask: 0 or 1
            feeds[name] = rng.integers(0, onnx_inputs[name].bound, size=shape).astype(np.float32)
        else:
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _feeds_from(arrays, path, onnx_inputs, input_layers) -> dict:
    """ONNX feeds from in:<layer> / in:<onnx input> / input arrays."""
    feeds = {}
    for name in onnx_inputs:
        layer = input_layers.get(name, name)
        arr = arrays.get(f"in:{layer}", arrays.get(f"in:{name}"))
        if arr is None and len(onnx_inputs) == 1:
            arr = arrays.get("input")
        if arr is None:
            raise ExportError(f"{path}: no array for input {layer!r} (in:{layer}"
                              f"{' or input' if len(onnx_inputs) == 1 else ''})")
        if arr.dtype.kind not in "fiu":
            raise ExportError(f"{path}: input {layer!r} has dtype {arr.dtype}, not real numbers")
        dtype = onnx_inputs[name].dtype
        if dtype.kind in "iu" and not np.array_equal(arr.astype(dtype), arr):
            raise ExportError(f"{path}: input {layer!r} holds {dtype} indices; the array's {arr.dtype} values are "
                              f"not all {dtype} integers")
        feeds[name] = np.ascontiguousarray(arr, dtype=dtype if dtype.kind in "iu" else np.float32)
    return feeds


def _user_feeds(args, onnx_inputs, input_layers) -> dict:
    from ..weights import load_npz

    if not args.input:
        return _random_feeds(args, onnx_inputs, input_layers)
    arrays, _ = load_npz(args.input, trust_pickle=args.trust_pickle)
    return _feeds_from(arrays, args.input, onnx_inputs, input_layers)


def _reference_feeds(args, ref, onnx_inputs, input_layers) -> dict:
    """The inputs the reference outputs were computed from (they travel with the reference)."""
    has_inputs = any(k.startswith("in:") or k == "input" for k in ref)
    if args.reference and args.input and has_inputs:
        raise ExportError(f"--input: {args.reference} already holds the inputs its outputs were computed from; "
                          f"drop --input")
    if args.reference and not has_inputs:
        if not args.input:
            raise ExportError(f"{args.reference}: holds no inputs (in:<input layer>); pass the inputs its outputs "
                              f"were computed from with --input IN.npz")
        return _user_feeds(args, onnx_inputs, input_layers)
    return _feeds_from(ref, args.reference or "the reference run", onnx_inputs, input_layers)


def _describe_feeds(feeds) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in feeds.items()) or "no inputs"


# -- the reference -----------------------------------------------------------------------------
def _load_reference(path, trust_pickle=False):
    """(arrays, metadata or None) of a reference file; refuses files without per-layer outputs."""
    from ..reference_run import META_KEY
    from ..weights import load_npz

    try:
        arrays, _ = load_npz(path, trust_pickle=trust_pickle)
    except WeightsError as e:
        raise ExportError(str(e).replace("weights file not found", "reference file not found")) from None
    meta = None
    if META_KEY in arrays:
        try:
            meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ExportError(f"{path}: its {META_KEY!r} entry is not valid JSON") from None
    if not any(k.startswith("out:") for k in arrays):
        keys = ", ".join(sorted(arrays)[:5]) or "nothing"
        raise ExportError(f"{path}: not a per-layer reference (expected out:<layer> arrays, found {keys}); "
                          f"write one with exporter/reference_run.py")
    return arrays, meta


def _architecture(args):
    """The layer graph, when one is given (--network, --manifest, or the manifest in --against)."""
    from ..cli import load_architecture
    from ..weights import bind_weights, load_weights

    if args.against:
        weights, embedded, _ = load_weights(args.against, trust_pickle=args.trust_pickle, lazy=True)
    else:
        weights, embedded = None, None
    if not (args.network or args.manifest or embedded):
        return None
    import argparse

    graph = load_architecture(argparse.Namespace(**{**vars(args), "weights": args.against}), embedded)
    if weights is not None:
        bind_weights(graph, weights, args.against)
    return graph


def _called_with(spec: str) -> str:
    from ..frontends.build_args import split_spec

    path, fn, arguments = split_spec(spec)
    return f", {fn}({arguments})" if arguments else ""


def _network_as_exported(args, model) -> str:
    """``--network`` with ``--build-arg`` added, or, when neither gives arguments, with those the export
    recorded (metadata ``lasagne2onnx.arguments``): the network the model was exported from."""
    from ..cli import network_spec
    from ..frontends.build_args import split_spec
    from ..metadata import build_arguments

    spec = network_spec(args)
    recorded = build_arguments(model)
    if recorded and not split_spec(spec)[2]:
        path, fn, _ = split_spec(spec)
        spec = f"{path}:{fn}({recorded})"
        split_spec(spec)  # literals only, as any other
    return spec


def _reference_python(path):
    if os.sep not in path and not os.path.exists(path):
        import shutil

        path = shutil.which(path) or path
    if not os.path.exists(path):
        raise ExportError(f"--reference-python {path}: not found")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise ExportError(f"--reference-python {path}: not an executable Python")
    return path


def _run_reference_python(args, model, layer_map, onnx_inputs, input_layers):
    """Run exporter/reference_run.py with the user's old Python on the inputs the check uses."""
    from ..io import staged_outputs
    from ..weights import load_weights

    python = _reference_python(args.reference_python)
    if not args.against:
        raise ExportError("--reference-python needs --against MODEL.npz (the weights the model was exported from)")
    if not args.network:
        raise NetworkError("--reference-python runs your build code on the real Lasagne: pass --network FILE.py:FN"
                           + (" (a manifest describes the network but cannot run it)" if args.manifest else ""))
    from ..frontends.build_args import split_spec

    net_file, fn, arguments = split_spec(args.network)
    call = f"({arguments})" if arguments else ""  # the reference calls the build function as the export did
    if not os.path.exists(net_file):
        raise NetworkError(f"{net_file}: network file not found")
    weights = load_weights(args.against, trust_pickle=args.trust_pickle, lazy=True)[0]  # report an unreadable
    for member in weights.values():  # weights file here, in one line (headers only: the worker reads the data)
        getattr(member, "header", lambda: None)()
    del weights
    feeds = _user_feeds(args, onnx_inputs, input_layers)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory(prefix="lasagne2onnx-check-") as tmp:
        # only this package goes on the old Python's path (not the site-packages it may be installed in)
        try:
            os.symlink(package, os.path.join(tmp, "exporter"))
        except OSError:
            import shutil

            shutil.copytree(package, os.path.join(tmp, "exporter"), ignore=shutil.ignore_patterns("__pycache__"))
        choices = _build_choices(args, model, net_file)
        fallback = os.path.join(tmp, "fallback")
        # the translator, for an old environment that lacks it: the build file, or a file it loads (imp.load_source,
        # execfile ...), may be Python 2
        _offer_translator(fallback)
        inputs_path, out_path = os.path.join(tmp, "inputs.npz"), os.path.join(tmp, "layers.npz")
        np.savez(inputs_path, **{f"in:{input_layers.get(k, k)}": v for k, v in feeds.items()})
        cmd = [python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); sys.path.append(sys.argv[2]); "
                             "from exporter.reference_run import main; sys.exit(main(sys.argv[3:]))", tmp, fallback,
               "--network", os.path.abspath(net_file) + ":" + fn + call, "--weights", os.path.abspath(args.against),
               "--input", inputs_path, "--out", out_path] + (["--trust-pickle"] if args.trust_pickle else []) \
            + choices
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise ExportError(f"--reference-python {python}: cannot run it ({e.strerror or e})") from None
        if proc.returncode != 0 or not os.path.exists(out_path):
            lines = [l for l in proc.stderr.splitlines() if l.strip()]
            errors = [l for l in lines if l.startswith("error: ")]
            if errors:
                raise ExportError(f"reference run ({python}): {errors[-1][len('error: '):]}")
            last = lines[-1].strip() if lines else f"exit status {proc.returncode}"
            raise ExportError(f"reference run ({python}) failed: {last[:300]}")
        ref, meta = _load_reference(out_path)
        if args.save_reference:
            import shutil

            with staged_outputs() as outputs:
                shutil.copyfile(out_path, outputs.add(args.save_reference))
    return ref, meta


def _standin_note(meta) -> str:
    """Says so when the reference computed ``lasagne.layers.dnn`` with its CPU stand-in (no GPU there)."""
    standins = (meta or {}).get("cpu_standins") or {}
    if not isinstance(standins, dict) or not standins:
        return ""
    return (f"; {' / '.join(sorted(map(str, standins)))} did not import there for lack of a GPU, so its layers were "
            f"computed by a CPU stand-in: Lasagne's own dnn.py with Theano's CPU convolution, pooling and batch-norm "
            f"ops in place of cuDNN's")


def _build_choices(args, model, net_file: str) -> list:
    """reference_run.py options that build the network as the export was built: ``--cudnn`` as given,
    else as the export recorded it (metadata ``lasagne2onnx.cudnn``); ``--python2`` as given, or when
    the export read the build file as Python 2 (metadata ``lasagne2onnx.read_as_python2``: the export
    read valid Python 3 that failed as Python 2 code does as Python 2, and so must the reference)."""
    from ..metadata import cudnn_choice, read_as_python2

    recorded = cudnn_choice(model)
    cudnn = getattr(args, "cudnn", None) or (recorded if recorded in ("yes", "no") else None)
    python2 = getattr(args, "python2", False) or os.path.basename(net_file) in read_as_python2(model)
    return (["--cudnn", cudnn] if cudnn else []) + (["--python2"] if python2 else [])


def _offer_translator(folder: str):
    """Links this environment's fissix (and appdirs, which it imports) into ``folder``, which goes
    last on the reference Python's path: an old environment without fissix can then read Python 2
    build code as the export did; one with its own fissix uses that."""
    import importlib.util

    os.makedirs(folder)
    for name in ("fissix", "appdirs"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue  # not here either: the reference run says fissix is missing
        source = os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin
        try:
            os.symlink(source, os.path.join(folder, os.path.basename(source)))
        except OSError:
            import shutil

            copy = shutil.copytree if os.path.isdir(source) else shutil.copyfile
            copy(source, os.path.join(folder, os.path.basename(source)))


# -- comparing -----------------------------------------------------------------------------------
def _check_coverage(args, layer_map, ref, graph):
    where = args.reference or "the reference run"
    outputs = {k[4:] for k in ref if k.startswith("out:")}
    missing = [name for name, value in layer_map.items() if value is not None and name not in outputs]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ExportError(f"{where}: has no output for layer {missing[0]!r} (out:{missing[0]}){more}; "
                          f"was it computed for this network?")
    extra = sorted(outputs - set(layer_map))
    if extra:
        print(f"warning: {where} has {len(extra)} layer{'s' if len(extra) > 1 else ''} the export does not know "
              f"({', '.join(extra[:4])}{', ...' if len(extra) > 4 else ''}); not compared", file=sys.stderr)
    if graph is not None:
        names = [l.name for l in graph.layers]
        if set(names) != set(layer_map):
            odd = next(n for n in names + list(layer_map) if (n in layer_map) != (n in names))
            raise NetworkError(f"{args.model}: was not exported from this architecture (layer {odd!r} is in "
                               f"{'the model' if odd in layer_map else 'the network'} only)")


def _classes(graph, meta) -> dict:
    if graph is not None:
        return {l.name: l.lasagne_class for l in graph.layers}
    if meta:
        return {l.get("name"): l.get("class", "?") for l in meta.get("layers", [])}
    return {}


def _inputs_of(graph, meta) -> dict:
    if graph is not None:
        return {l.name: list(l.inputs) for l in graph.layers}
    if meta:
        return {l.get("name"): list(l.get("inputs", [])) for l in meta.get("layers", [])}
    return {}
