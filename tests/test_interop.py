"""The default export of every parity case through the neighbouring tools: onnx2torch, onnxconverter-
common's float16 conversion (keep_io_types) and onnxruntime's quant_pre_process + quantize_dynamic (int8).

Each tool must reproduce onnxruntime's float32 output within its tolerance, or fail for one of the
reasons listed here, each a limitation of that tool (never of the export): what the README's table
says.  The tools run in tests/interop_worker.py processes; a case that crashes one is recorded as
such and the rest go on.
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from tests.cases import load_all

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "interop_worker.py")
CASES = sorted(n for n, c in load_all().items() if not c.expect_error)

# largest max |tool - onnxruntime float32| / max(1, max |float32|) accepted
TOLERANCE = {
    "onnx2torch": 1e-5,  # float32 in both: the parity tolerance
    "fp16": 1e-2,  # float16 weights and activations: 11-bit significands, errors grow with depth
    "int8": 0.1,  # int8 weights, activations quantised per tensor at run time
}

# ops each tool does not convert (its error names them), and the other reasons a tool fails
MISSING_OPS = {"onnx2torch": ("LSTM", "GRU", "RNN", "Scan", "GlobalMaxPool")}
ONNX2TORCH_PAD_VALUE = "pad(): argument 'value' (position 4) must be float, not Tensor"  # its Pad passes a tensor
ONNX2TORCH_SELU = "alpha parameter must be 1.6732631921768188"  # it accepts only Selu's default alpha and gamma
FP16_SCAN_CRASH = "crashed"  # onnxruntime segfaults creating a session for some float16 Scans (LSTM/GRU/RNN steps)
ONNX2TORCH_GATHER_ND = "GatherND for batch_dims != 0 is not implemented"  # the spatial transformers' sampling


def tool_available(tool):
    import importlib.util

    return importlib.util.find_spec({"onnx2torch": "onnx2torch", "fp16": "onnxconverter_common",
                                     "int8": "onnxruntime"}[tool]) is not None


def run_worker(tool, reference_dir, names, out):
    """Every case through the worker; one that kills the worker is recorded as crashed, and the
    worker starts again after it."""
    results, remaining = {}, list(names)
    while remaining:
        proc = subprocess.run([sys.executable, WORKER, tool, reference_dir, out, *remaining], capture_output=True,
                              text=True, cwd=os.path.dirname(out), env={**os.environ, "PYTHONPATH": ROOT}, timeout=1200)
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    results[row["case"]] = row
        remaining = [n for n in remaining if n not in results]
        if proc.returncode == 0 or not remaining:
            assert not remaining, proc.stderr[-3000:]
            break
        if proc.returncode > 0:  # an error of the worker itself, not a crash of a tool
            raise AssertionError(f"interop worker failed:\n{proc.stderr[-3000:]}")
        crashed = remaining.pop(0)
        results[crashed] = {"case": crashed, "status": "fail", "error": None,
                            "reason": f"crashed (signal {-proc.returncode})"}
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(results[crashed]) + "\n")
    return results


@pytest.fixture(scope="module")
def reference_dir():
    from tests.reference import ensure_references

    return ensure_references(CASES)


@pytest.fixture(scope="module")
def ops_of(reference_dir):
    """case -> the ops of its default export (computed by the worker's own export function)."""
    sys.path.insert(0, ROOT)
    from tests.interop_worker import export_case

    found = {}
    for name in CASES:
        model, _ = export_case(reference_dir, name)
        found[name] = model
    return found


@pytest.fixture(scope="module")
def results(reference_dir, tmp_path_factory):
    cache = {}

    def get(tool):
        if not tool_available(tool):
            pytest.skip(f"{tool} is not installed (scripts/setup.sh installs it)")
        if tool not in cache:
            cache[tool] = run_worker(tool, reference_dir, CASES, str(tmp_path_factory.mktemp(tool) / "out.jsonl"))
        return cache[tool]

    return get


ONNX2TORCH_ALLOWZERO = '"allowzero=1" is not implemented'  # its Reshape (the tracer's reshapes keep Theano's 0)
FP16_CAST = "does not match expected type"  # a Cast to float32 in the graph keeps its type; the next node wants fp16
# failures no op of the model predicts: the tool's own analysis gives up on the case
# case -> (what its error says, the table's words)
KNOWN = {"onnx2torch": {"xnor_conv_perform_op": ("KeyError", "a KeyError on a Slice of the binarised kernel's shape")},
         "int8": {"subclassed_shape_merge_layers": ("Incomplete symbolic shape inference",
                                                    "quant_pre_process: incomplete symbolic shape inference"),
                  **{name: ("AssertionError", "quant_pre_process fails an assertion (the transformers' sampling)")
                     for name in ("tps_transformer_precomputed", "transformer_downsample_factors")}}}
# cases whose output is decided by comparisons or floors of activations (the unpooling mask compares with the
# maxima, bilinear sampling floors its coordinates, a binarised network rounds its activations): the tool's
# rounding flips decisions, so it runs them but cannot be held to its tolerance
DISCONTINUOUS = {"fp16": {"inverse_conv_maxpool", "binarynet_dense"},
                 "int8": {"tps_transformer_graph_grid", "transformer_border_modes"}}
DISCONTINUOUS_REASON = "outputs decided by comparisons or floors of activations, which its rounding flips"


def expected_failure(tool, model, name) -> list | None:
    """What ``tool`` may say about this model, when it cannot handle it (any one of these); None when
    it must succeed."""
    ops = {n.op_type for n in model.graph.node}
    attrs = [(n.op_type, {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}) for n in model.graph.node]
    expected = [f"operation_type='{op}'" for op in MISSING_OPS.get(tool, ()) if op in ops]
    if tool == "onnx2torch":
        if any(n.op_type == "Pad" and len(n.input) > 2 and n.input[2] for n in model.graph.node):
            expected.append(ONNX2TORCH_PAD_VALUE)
        if any(op == "Selu" and (not np.isclose(a.get("alpha", 1.67326), 1.6732632) or
                                 not np.isclose(a.get("gamma", 1.0507), 1.0507010)) for op, a in attrs):
            expected.append(ONNX2TORCH_SELU)
        if any(op == "Reshape" and a.get("allowzero") == 1 for op, a in attrs):
            expected.append(ONNX2TORCH_ALLOWZERO)
        if any(op == "GatherND" and a.get("batch_dims", 0) != 0 for op, a in attrs):
            expected.append(ONNX2TORCH_GATHER_ND)
    if tool == "fp16":
        if "Scan" in ops:
            expected.append(FP16_SCAN_CRASH)
        if any(op == "Cast" and a.get("to") == onnx.TensorProto.FLOAT for op, a in attrs):
            expected.append(FP16_CAST)
    if name in KNOWN.get(tool, {}):
        expected.append(KNOWN[tool][name][0])
    return expected or None


def test_tools_on_every_parity_case_and_the_readme_table(results, ops_of):
    """Every tool over every case, then the README's table (one test: under pytest-xdist, tests sharing
    a module fixture may each compute it)."""
    problems = []
    for tool in sorted(TOLERANCE):
        got = results(tool)
        assert sorted(got) == CASES
        for name in CASES:
            row, expected = got[name], expected_failure(tool, ops_of[name], name)
            if expected is None:
                if row["status"] != "pass":
                    problems.append(f"{tool} {name}: {row['reason']}")
                elif not row["error"] <= TOLERANCE[tool] and name not in DISCONTINUOUS.get(tool, ()):
                    problems.append(f"{tool} {name}: differs from onnxruntime float32 by {row['error']:.3g} "
                                    f"(tolerance {TOLERANCE[tool]:g})")
            elif row["status"] == "pass" and expected == [FP16_SCAN_CRASH] and row["error"] <= TOLERANCE[tool]:
                continue  # a float16 Scan that onnxruntime runs (the crash is the LSTM/GRU/RNN steps')
            elif row["status"] == "pass":
                problems.append(f"{tool} {name}: now passes ({row['error']:.3g}); it no longer fails with "
                                f"{expected[0]!r}: update tests/test_interop.py and the README's table")
            elif not any(e in row["reason"] for e in expected):
                problems.append(f"{tool} {name}: expected {' or '.join(map(repr, expected))}, got {row['reason']!r}")
    assert not problems, "\n".join(problems)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    table = interop_table(results)
    assert table in readme, f"README.md's interop table is out of date; it reads now:\n{table}"


def interop_table(results) -> str:
    """The README's table: per tool, the cases that pass within the tolerance and the reasons for the rest."""
    lines = ["| tool | parity cases passing | largest difference to onnxruntime float32 | fails on |",
             "|---|---|---|---|"]
    for tool, title in (("onnx2torch", "onnx2torch 1.5.15"), ("fp16", "onnxconverter-common float16 (keep_io_types)"),
                        ("int8", "onnxruntime quant_pre_process + quantize_dynamic (int8)")):
        rows = results(tool)
        within = [r for r in rows.values() if r["status"] == "pass" and r["error"] <= TOLERANCE[tool]]
        passed = [r for r in rows.values() if r["status"] == "pass" and r["case"] not in DISCONTINUOUS.get(tool, ())]
        failed = [r for r in rows.values() if r["status"] != "pass"] + [
            {**r, "reason": DISCONTINUOUS_REASON} for r in rows.values() if r["status"] == "pass" and r not in within
            and r["case"] in DISCONTINUOUS.get(tool, ())]
        passed = [r for r in passed if r not in failed]
        worst = max((r["error"] for r in passed), default=0.0)
        reasons = {}
        for r in failed:
            reasons.setdefault(_reason(tool, r["reason"]), []).append(r["case"])
        fails = "; ".join(f"{why} ({len(cases)})" for why, cases in sorted(reasons.items())) or "-"
        lines.append(f"| {title} | {len(passed)} / {len(rows)} | {worst:.1e} (tolerance {TOLERANCE[tool]:g}) | "
                     f"{fails} |")
    return "\n".join(lines)


def _reason(tool, reason):
    for op in MISSING_OPS.get(tool, ()):
        if f"operation_type='{op}'" in reason:
            return f"no {op} converter"
    if ONNX2TORCH_PAD_VALUE in reason:
        return "Pad with a non-zero value (onnx2torch hands F.pad a tensor)"
    if ONNX2TORCH_SELU in reason:
        return "Selu with a non-default alpha"
    if reason.startswith("crashed"):
        return "onnxruntime crashes (segfault) loading the float16 Scan of an LSTM/GRU/RNN"
    if ONNX2TORCH_ALLOWZERO in reason:
        return "Reshape with allowzero=1"
    if FP16_CAST in reason:
        return "a Cast to float32 left so, feeding float16 nodes"
    if ONNX2TORCH_GATHER_ND in reason:
        return "GatherND with batch_dims (the spatial transformers' sampling)"
    if reason == DISCONTINUOUS_REASON:
        return reason
    for known, words in KNOWN.get(tool, {}).values():
        if known in reason:
            return words
    return reason
