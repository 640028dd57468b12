"""Run neighbouring ONNX tools on the default export of parity cases; used by tests/test_interop.py.

    python tests/interop_worker.py TOOL REFERENCE_DIR OUT.jsonl NAME...

TOOL is ``onnx2torch`` (convert, run, compare with onnxruntime), ``fp16`` (onnxconverter-common's
float16 conversion with keep_io_types, run in onnxruntime) or ``int8`` (onnxruntime's quant_pre_process,
then quantize_dynamic to int8 weights).  Each case's result is one JSON line
``{"case", "status": "pass"|"fail", "error": max relative difference to the float32 export in
onnxruntime, "reason"}`` appended as soon as it is known.  The tools run in a process of their own:
one that crashes (onnxruntime, loaded beside torch and onnxconverter-common, can segfault creating a
session) costs that case, not the test run.
"""
import json
import os
import sys
import tempfile
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def import_onnx2torch():
    """onnx2torch without torchvision: PyPI's torchvision does not load on the CPU torch this project
    pins ("operator torchvision::nms does not exist"), and onnx2torch needs it only for its NMS and
    RoiAlign converters (node_converters/nms.py, roialign.py), which these models never reach.  A
    stand-in serves those two imports, in this process only, and raises if ever called."""
    if "torchvision" not in sys.modules:
        def unavailable(*args, **kwargs):
            raise RuntimeError("torchvision is not available here (a stand-in for onnx2torch's import)")

        stub, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        ops.nms = ops.box_convert = ops.roi_align = unavailable
        stub.ops = ops
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stub, ops
    import onnx2torch

    return onnx2torch


def relative(got, want) -> float:
    return float(np.max(np.abs(np.asarray(got, np.float64) - want)) / max(1.0, float(np.max(np.abs(want)))))


def export_case(reference_dir, name):
    """The case's default export (what the CLI writes) and its inputs, from the references in
    ``reference_dir`` (a traced case's graph is the Theano-free tracer's, as the parity tests take it)."""
    from exporter.pipeline import to_onnx
    from exporter.weights import bind_weights, load_npz
    from tests.cases import load_all
    from tests.reference import load_reference, reference_graph

    ref = load_reference(name)
    assert os.path.dirname(ref.weights_path) == os.path.abspath(reference_dir), "references of another content hash"
    graph = reference_graph(ref, load_all()[name])
    weights, _ = load_npz(ref.weights_path)
    model = to_onnx(graph, bind_weights(graph, weights, name), optimize="auto")
    return model, ref.inputs


def run_tool(tool, model, feeds, want, tmp):
    import onnx

    from exporter.validate import make_session

    if tool == "onnx2torch":
        import torch

        module = import_onnx2torch().convert(model).eval()  # inference: BatchNorm from its running statistics
        with torch.no_grad():
            got = module(*[torch.from_numpy(v) for v in feeds.values()])
        got = [g.numpy() for g in (got if isinstance(got, (list, tuple)) else [got])]
    elif tool == "fp16":
        from onnxconverter_common import float16

        got = make_session(float16.convert_float_to_float16(model, keep_io_types=True)).run(None, feeds)
    elif tool == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process

        paths = [os.path.join(tmp, f) for f in ("model.onnx", "pre.onnx", "int8.onnx")]
        onnx.save(model, paths[0])
        quant_pre_process(paths[0], paths[1])
        quantize_dynamic(paths[1], paths[2], weight_type=QuantType.QInt8)
        got = make_session(paths[2]).run(None, feeds)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    return max(relative(g, w) for g, w in zip(got, want))


def main(tool, reference_dir, out, names):
    import warnings

    from exporter.validate import make_session

    warnings.simplefilter("ignore")
    for name in names:
        model, inputs = export_case(reference_dir, name)
        session = make_session(model)
        feeds = {i.name: inputs[i.name] for i in session.get_inputs()}
        want = session.run(None, feeds)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                result = {"status": "pass", "error": run_tool(tool, model, feeds, want, tmp), "reason": ""}
            except Exception as e:  # the tool's own refusal or failure: reported, with its message
                result = {"status": "fail", "error": None,
                          "reason": f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"}
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"case": name, **result}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
