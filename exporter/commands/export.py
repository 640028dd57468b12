"""``python -m exporter MODEL.npz OUT.onnx``: export weights + architecture to ONNX."""
from __future__ import annotations

import os
import sys
import zipfile

import numpy as np


def add_architecture_arguments(parser):
    parser.add_argument("--network", metavar="FILE.py:FN", help="the Lasagne build function that defines the network")
    parser.add_argument("--manifest", metavar="ARCH.json", help="an architecture manifest written by 'capture'")
    parser.add_argument("--lasagne", choices=("auto", "real", "compat"), default="auto",
                        help="which Lasagne runs the build function: real (needs Theano), compat (Theano-free), "
                             "auto (real if importable)")
    parser.add_argument("--lstm-peepholes", choices=("0.1", "0.2"),
                        help="which Lasagne trained an LSTM with peepholes (its output gate differs): 0.1 = PyPI's "
                             "release, 0.2 = Lasagne from GitHub after October 2015; needed with the Theano-free "
                             "Lasagne, which cannot tell (the real Lasagne's own code is read)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="read pickles: a model-zoo .pkl, or pickled objects in the npz (unpickling can run "
                             "code: only for files you trust; numpy arrays and plain data only are accepted)")
    parser.add_argument("--input-shape", metavar="[NAME=]D0,D1,...", action="append", default=[],
                        help="give an input layer's unknown dimensions (repeatable), e.g. input=1,3,224,224, or "
                             "1,3,224,224 for a network's only input; with --network Lasagne computes every "
                             "layer's shape from it (the export then has those sizes); with a manifest it sizes "
                             "the onnxruntime check")
    from ..frontends.isolation import add_build_arguments

    add_build_arguments(parser)  # --cudnn, --build-timeout, --python2


def add_arguments(parser):
    parser.add_argument("weights", help="model.npz saved with np.savez(path, *get_all_param_values(net)), or a pickled "
                                        "parameter list such as a Lasagne model-zoo .pkl (with --trust-pickle)")
    parser.add_argument("output", help="the ONNX file to write")
    add_architecture_arguments(parser)
    from ..onnx_graph import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET

    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"ONNX opset of the export: {MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET}, what "
                             f"most other importers accept)")
    parser.add_argument("--embed-manifest", action="store_true",
                        help="also store the architecture inside the npz (in its zip comment: np.load still sees only "
                             "arr_0..arr_N) so later runs need no --network")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip running the exported model once in onnxruntime")
    parser.add_argument("--expect", metavar="REF.npz",
                        help="reference arrays from the original framework ('input' [or in:<name>] and 'output'): "
                             "run them through the export and fail unless it matches within 1e-5")
    parser.add_argument("--optimize", dest="optimize", action="store_const", const="on", default="auto",
                        help="always fold BatchNormalization and per-channel Mul/Add into the Conv/Gemm before them "
                             "and drop Identity nodes (default: do so only when onnxruntime shows the optimised "
                             "graph within 1e-5 of the plain one; folded layers lose their own output and, in "
                             "to-torch/to-keras, their trainable BatchNorm)")
    parser.add_argument("--no-optimize", dest="optimize", action="store_const", const="off",
                        help="keep one node group per Lasagne layer (for 'check' and for fine-tuning after import)")
    parser.add_argument("--external-data", choices=("auto", "always", "never"), default="auto",
                        help="store weights in OUT.onnx.data beside the model: auto = when they pass 2 GB")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None, help="show progress even when not on a terminal")


def run(args):
    from ..cli import load_architecture, progress_printer
    from ..errors import NetworkError
    from ..io import staged_outputs
    from ..model_io import save_model
    from ..weights import bind_weights, check_rewritable, embed_manifest, load_weights

    # build code runs (in a child process) before the weights are read: the two never share the memory
    graph = load_architecture(args, None) if args.network else None
    weights, embedded, extras = load_weights(args.weights, trust_pickle=args.trust_pickle, lazy=True)
    if args.embed_manifest and not zipfile.is_zipfile(args.weights):
        raise NetworkError(f"--embed-manifest: {args.weights} is a pickle; the manifest can only be stored in an .npz "
                          f"(keep it apart with 'capture --out ARCH.json' and pass --manifest ARCH.json)")
    graph = graph or load_architecture(args, embedded)
    embed = args.embed_manifest and not _same_manifest(embedded, graph)
    if embed:
        check_rewritable(args.weights)  # before the work, not after it
    bound = bind_weights(graph, weights, args.weights)
    del weights
    n_params = sum(int(np.prod(a.shape)) for a in bound.values())
    progress = progress_printer(args.progress)
    manifest = args.manifest or (f"{args.weights} (embedded manifest)" if embedded and not args.network else None)
    skeleton, payloads = _build(args, graph, bound, progress, manifest)
    if extras:
        record_extras(skeleton, extras, args.weights, quiet=args.quiet)
    del bound  # the payloads now hold the only references to the weights
    skeleton, payloads, report = _optimize(args, skeleton, payloads)
    if not args.quiet and report["nodes_after"] != report["nodes_before"]:
        print(describe_optimization(report))
    external = {"auto": None, "always": True, "never": False}[args.external_data]
    with staged_outputs() as outputs:  # every output is moved into place only once every check passed
        staged = outputs.add(args.output, companions={".data": uses_external_data})
        save_model(skeleton, staged, progress=progress, payloads=payloads, external=external)
        del payloads, skeleton
        if args.check:
            _check_runs(args, staged)
        if args.expect:
            compare_with_reference(staged, args.expect, quiet=args.quiet)
        if embed:
            embed_manifest(args.weights, graph, outputs)
    if not args.quiet:
        print(f"wrote {args.output}: {len(graph.layers)} Lasagne layers, {n_params:,} parameters, opset {args.opset}"
              + (", checked in onnxruntime" if args.check else ""))
        _describe_traced(graph)
    return 0


_MAX_PREVIOUS_MODEL_BYTES = 256 << 20  # a model with external data is small: its weights are in the companion


def uses_external_data(model_path, data_path) -> bool:
    """Whether the ONNX file at ``model_path`` keeps tensors in ``data_path`` (its external data)."""
    import onnx

    directory, wanted = os.path.dirname(os.path.abspath(model_path)), os.path.normpath(os.path.abspath(data_path))
    try:
        if os.path.getsize(model_path) > _MAX_PREVIOUS_MODEL_BYTES:
            return False
        model = onnx.load(model_path, load_external_data=False)
        return any(entry.key == "location" and os.path.normpath(os.path.join(directory, entry.value)) == wanted
                   for tensor in _all_tensors(model.graph) for entry in tensor.external_data)
    except Exception:  # not an ONNX file (or not one we can read): nothing proves the companion is its
        return False


def _all_tensors(graph):
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_tensors(sub)


def _describe_traced(graph):
    """Say which layers hold custom computation that was traced (exported op by op, see README)."""
    from ..ir import traced_parts

    traced = traced_parts(graph)
    if traced:
        print(f"traced custom computation in {len(traced)} layer{'s' if len(traced) != 1 else ''}: "
              + "; ".join(f"{name!r} ({what})" for name, what in traced.items()))


def _same_manifest(embedded, graph) -> bool:
    """Whether the npz already holds this architecture (a changed --network is embedded anew)."""
    from ..errors import ExportError
    from ..manifest_schema import read_manifest

    try:
        return embedded is not None and read_manifest(embedded).to_dict() == graph.to_dict()
    except ExportError:  # an unusable old manifest: replace it
        return False


def _build(args, graph, bound, progress, manifest=None):
    return build_model(graph, bound, args.opset, progress, manifest)


def build_model(graph, bound, opset, progress=None, manifest=None):
    """The detached model.  ``manifest`` names the manifest the graph came from (None: captured from
    live build code).  A manifest passed its schemas when it was read (exporter.manifest_schema): each
    layer's attributes have their types, ranges and sizes, so what can still be wrong is how its layers
    fit together, which ONNX validation and the declared shapes tell, and that is the manifest's fault.
    Anything else a converter raises is a bug, and is not hidden as one.  Shared by the CLI and
    :func:`exporter.api.export`."""
    from passes.check_and_infer import ValidationFailed

    from ..convert import build
    from ..errors import NetworkError

    try:
        skeleton, payloads = build(graph, bound, opset=opset, progress=progress)
    except ValidationFailed as e:
        if not manifest:
            raise
        raise NetworkError(f"{manifest}: the manifest does not describe a network that can be exported ({e})") \
            from None
    if manifest:
        from ..manifest_check import check_declared_shapes

        check_declared_shapes(graph, skeleton, manifest)
    return skeleton, payloads


def record_extras(model, extras, path, quiet=False):
    """Keep a model-zoo pickle's other entries (class names, mean values) in the model's metadata."""
    from ..metadata import PICKLE_PREFIX, set_prop
    from ..safe_pickle import extras_metadata

    props, skipped = extras_metadata(extras)
    for key, value in props.items():
        set_prop(model, key, value)
    if not quiet:
        kept = ", ".join(repr(k[len(PICKLE_PREFIX):]) for k in props)
        print(f"{path}: kept {kept or 'nothing'} in the model's metadata (lasagne2onnx.pickle.*)"
              + (f"; left out {', '.join(skipped)}" if skipped else ""))


def _optimize(args, skeleton, payloads):
    from ..cli import parse_input_shapes

    return optimize_model(skeleton, payloads, args.optimize, parse_input_shapes(args.input_shape))


def optimize_model(skeleton, payloads, mode, input_shapes=None):
    """``(skeleton, payloads, report)``: the optimisation policy ``mode`` (auto/on/off) applied."""
    from ..pipeline import optimize_detached

    return optimize_detached(skeleton, payloads, mode, input_shapes=input_shapes)


def describe_optimization(report) -> str:
    fused = report["fused_layers"]
    what = (f"the BatchNorm/Scale/Bias after {', '.join(fused[:4])}{', ...' if len(fused) > 4 else ''} folded "
            f"into {'it' if len(fused) == 1 else 'them'}" if fused else "identities dropped")
    if report["kept"]:
        return f"optimized: {report['nodes_before']} -> {report['nodes_after']} nodes, {what}; {report['reason']}"
    return f"not optimized: {report['reason']}"


def _check_runs(args, path):
    from ..cli import parse_input_shapes

    check_runs(path, parse_input_shapes(args.input_shape))


def check_runs(model, input_shapes=None):
    """Run the exported model (a path or a ModelProto) once in onnxruntime on random inputs."""
    from ..errors import ExportError
    from ..validate import make_session, random_inputs, run_session

    sess = make_session(model)
    try:
        feeds = random_inputs(sess, overrides=input_shapes)
    except ValueError as e:
        raise ExportError(f"cannot check the export in onnxruntime: {e} (or pass --no-check)") from None
    names = [o.name for o in sess.get_outputs()]
    outs = dict(zip(names, run_session(sess, names, feeds)))
    for name, value in outs.items():
        if not np.all(np.isfinite(value)):
            print(f"warning: output {name!r} has non-finite values on a random input", file=sys.stderr)


def compare_with_reference(model_path, ref_path, quiet=False, tolerance=None):
    """Run the reference input through the exported model (a path or a ModelProto) and compare with
    the reference output."""
    from ..accuracy import PARITY_TOLERANCE, error_stats
    from ..errors import ExportError
    from ..validate import make_session, run as ort_run
    from ..weights import load_npz

    tolerance = PARITY_TOLERANCE if tolerance is None else tolerance
    ref, _ = load_npz(ref_path)
    sess = make_session(model_path)
    names = [i.name for i in sess.get_inputs()]
    feeds = {n: ref[f"in:{n}"] if f"in:{n}" in ref else ref.get("input") for n in names}
    if any(v is None for v in feeds.values()):
        raise ExportError(f"{ref_path}: needs an 'input' array (or in:<name> for each of {names})")
    from ..validate import as_input

    types = {i.name: i.type for i in sess.get_inputs()}
    try:
        feeds = {n: as_input(v, types[n], f"{ref_path}: input {n!r}") for n, v in feeds.items()}
    except ValueError as e:
        raise ExportError(str(e)) from None
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
