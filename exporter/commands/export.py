"""``python -m exporter MODEL.npz OUT.onnx``: export weights + architecture to ONNX."""
from __future__ import annotations

import sys

import numpy as np


def add_architecture_arguments(parser):
    parser.add_argument("--network", metavar="FILE.py:FN", help="the Lasagne build function that defines the network")
    parser.add_argument("--manifest", metavar="ARCH.json", help="an architecture manifest written by 'capture'")
    parser.add_argument("--lasagne", choices=("auto", "real", "compat"), default="auto",
                        help="which Lasagne runs the build function: real (needs Theano), compat (Theano-free), "
                             "auto (real if importable)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow pickled objects in the npz (they can run code: only for files you trust)")
    parser.add_argument("--input-shape", metavar="NAME=D0,D1,...", action="append", default=[],
                        help="give an input layer's unknown dimensions (repeatable), e.g. input=1,3,224,224; "
                             "with --network every layer's shape is recomputed by Lasagne from it")


def add_arguments(parser):
    parser.add_argument("weights", help="model.npz saved with np.savez(path, *get_all_param_values(net))")
    parser.add_argument("output", help="the ONNX file to write")
    add_architecture_arguments(parser)
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, what importers accept)")
    parser.add_argument("--embed-manifest", action="store_true",
                        help="also store the architecture inside the npz so later runs need no --network")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip running the exported model once in onnxruntime")
    parser.add_argument("--expect", metavar="REF.npz",
                        help="reference arrays from the original framework ('input' [or in:<name>] and 'output'): "
                             "run them through the export and fail unless it matches within 1e-5")
    parser.add_argument("--optimize", dest="optimize", action="store_true", default=False,
                        help="fold BatchNormalization and per-channel Mul/Add into the Conv/Gemm before them and "
                             "drop Identity nodes (fused layers then have no output of their own)")
    parser.add_argument("--no-optimize", dest="optimize", action="store_false", help="keep one node group per layer")
    parser.add_argument("--external-data", choices=("auto", "always", "never"), default="auto",
                        help="store weights in OUT.onnx.data beside the model: auto = when they pass 2 GB")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None, help="show progress even when not on a terminal")


def run(args):
    from ..cli import load_architecture, progress_printer
    from ..model_io import save_model
    from ..weights import bind_weights, embed_manifest, load_npz

    weights, embedded = load_npz(args.weights, trust_pickle=args.trust_pickle)
    graph = load_architecture(args, embedded)
    bound = bind_weights(graph, weights, args.weights)
    del weights
    n_params = sum(int(np.prod(a.shape)) for a in bound.values())
    progress = progress_printer(args.progress)
    skeleton, payloads = _build(args, graph, bound, progress)
    del bound  # the payloads now hold the only references to the weights
    external = {"auto": None, "always": True, "never": False}[args.external_data]
    save_model(skeleton, args.output, progress=progress, payloads=payloads, external=external)
    del payloads, skeleton
    if args.embed_manifest and not embedded:
        embed_manifest(args.weights, graph, args.weights)
    if args.check:
        _check_runs(args)
    if args.expect:
        _compare_with_reference(args.output, args.expect, quiet=args.quiet)
    if not args.quiet:
        print(f"wrote {args.output}: {len(graph.layers)} Lasagne layers, {n_params:,} parameters, opset {args.opset}"
              + (", checked in onnxruntime" if args.check else ""))
    return 0


def _build(args, graph, bound, progress):
    """The detached model; a failure inside the converters on a hand-written manifest is the
    manifest's fault and is reported as such (a captured network reaching one is a bug)."""
    from ..convert import build
    from ..errors import ExportError, NetworkError

    try:
        return build(graph, bound, opset=args.opset, progress=progress, optimize=args.optimize)
    except ExportError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, AssertionError, ZeroDivisionError) as e:
        if not getattr(args, "manifest", None):
            raise
        detail = " ".join(str(e).split())[:200]
        raise NetworkError(f"{args.manifest}: the manifest does not describe a network that can be exported "
                           f"({type(e).__name__}: {detail})") from None


def _check_runs(args):
    """Run the exported model once in onnxruntime on random inputs."""
    from ..cli import parse_input_shapes
    from ..errors import ExportError
    from ..validate import make_session, random_inputs

    sess = make_session(args.output)
    try:
        feeds = random_inputs(sess, overrides=parse_input_shapes(args.input_shape))
    except ValueError as e:
        raise ExportError(f"cannot check the export in onnxruntime: {e} (or pass --no-check)") from None
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    for name, value in outs.items():
        if not np.all(np.isfinite(value)):
            print(f"warning: output {name!r} has non-finite values on a random input", file=sys.stderr)


def _compare_with_reference(model_path, ref_path, quiet=False, tolerance=1e-5):
    """Run the reference input through the exported model and compare with the reference output."""
    from ..compare import error_stats
    from ..errors import ExportError
    from ..validate import make_session, run as ort_run
    from ..weights import load_npz

    ref, _ = load_npz(ref_path)
    sess = make_session(model_path)
    names = [i.name for i in sess.get_inputs()]
    feeds = {n: ref[f"in:{n}"] if f"in:{n}" in ref else ref.get("input") for n in names}
    if any(v is None for v in feeds.values()):
        raise ExportError(f"{ref_path}: needs an 'input' array (or in:<name> for each of {names})")
    outs = ort_run(model_path, feeds)
    for name, value in outs.items():
        expected = ref.get(f"out:{name}", ref.get("output") if len(outs) == 1 else None)
        if expected is None:
            raise ExportError(f"{ref_path}: no reference for output {name!r} ('output' or out:{name})")
        stats = error_stats(value, expected)
        ok = stats["rel"] <= tolerance
        if not quiet or not ok:
            print(f"{'matches' if ok else 'DIFFERS FROM'} {ref_path} on output {name!r}: max abs error "
                  f"{stats['max_abs']:.3g}, relative {stats['rel']:.3g} (tolerance {tolerance:g})")
        if not ok:
            raise ExportError(f"exported model differs from the reference {ref_path} on output {name!r}")
