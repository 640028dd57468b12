"""Issue 4: the Theano-free Lasagne API yields the same layer graph as the real Lasagne.

For every case in tests/cases the network is built twice from the same build code: by the real
Lasagne on Theano (the reference, captured in the legacy environment) and by ``exporter.compat``'s
Lasagne here, where Theano is not installed.  Layers, classes, wiring, attributes, output shapes,
parameter roles, shapes and get_all_params order must be identical.

Traced computation (issue 10) is the exception: the real capture reads a layer without a converter
from Theano's own graph (``exporter/frontends/theano_graph.py``), the Theano-free API's tracer records
what the same code does, and the two expression graphs may differ where Theano builds an equivalent
but different graph (``docs/theano_ops.md``, "Two front ends").  For those layers everything but the
expression graphs (and the description of what was traced) must still be identical, the same layers
must be traced, and both graphs must export and match Theano's outputs on every layer.
"""
import os
import re
import subprocess
import sys

import pytest

from exporter.frontends.lasagne_live import capture
from exporter.ir import LayerGraph, traced_parts
from tests.cases import load_all

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = load_all()
# cases whose build code is valid only on Lasagne 0.1 (the Theano-free API follows 0.2)
COMPARABLE = sorted(n for n, c in CASES.items() if "lasagne-0.1-only" not in c.tags)


@pytest.fixture(scope="module", autouse=True)
def compat_lasagne():
    from exporter import compat

    compat.activate()
    yield


def tracing():
    from lasagne._shared import tracing

    return tracing()


def _structure(graph, traced=False):
    """What both captures must agree on; ``traced``: leave out the expression graphs of traced
    computation and the description of what was traced (they depend on the front end)."""
    return {
        "outputs": graph.outputs,
        "param_keys": graph.param_keys,
        "layers": [(l.name, l.kind, l.lasagne_class, l.inputs, _without_traces(l.attrs) if traced else l.attrs,
                    l.output_shape, [(p.role, p.shape, p.key) for p in l.params]) for l in graph.layers],
    }


def _without_traces(attrs):
    if isinstance(attrs, dict):
        return {k: _without_traces(v) for k, v in attrs.items() if k not in ("expr", "traced")}
    return attrs


def test_this_environment_has_no_theano(tmp_path):
    """The product environment has neither Theano nor Lasagne, so the default ``--lasagne auto`` runs
    build code on the Theano-free API.  Checked in a fresh interpreter: this module has activated compat."""
    python = os.path.join(ROOT, ".venv", "bin", "python")
    python = python if os.path.exists(python) else sys.executable
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([python, "-c", "import importlib.util, sys; "
                        "print([importlib.util.find_spec(n) for n in ('theano', 'lasagne')], "
                        "[p for p in sys.path if p.rstrip('/').endswith('exporter/compat')])"],
                       capture_output=True, text=True, cwd=str(tmp_path), env=env)
    assert r.returncode == 0 and r.stdout.split() == ["[None,", "None]", "[]"], r.stdout + r.stderr
    out = tmp_path / "example.onnx"
    r = subprocess.run([python, "-m", "exporter", os.path.join(ROOT, "models", "example", "model.npz"), str(out),
                        "--network", os.path.join(ROOT, "models", "example", "build.py") + ":build_model"],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    import onnx

    doc = onnx.load(str(out)).graph.doc_string
    assert re.search(r"build\.py:build_model \(lasagne [^,]+, compat\)", doc), doc


# what a user of the Theano-free API declares that the real Lasagne's code tells (the references are Lasagne 0.1's)
DECLARED = {"lstm_peepholes": "0.1"}


@pytest.mark.parametrize("name", COMPARABLE)
def test_compat_graph_equals_real_lasagne_graph(name, references):
    ref = references(name)
    case = CASES[name]
    if case.expect_error:
        with pytest.raises(Exception) as info:
            with tracing():  # as --network runs build code
                net = case.build()
            capture(net, options=DECLARED)
        assert case.expect_error in str(info.value)
        return
    assert ref.error is None, ref.error
    with tracing():
        net = case.build()
    ours = capture(net, options=DECLARED)
    if ref.graph_json is None:  # the reader of Theano's graphs refused it, the Theano-free API traces it
        refused = ref.capture_error.split("'")[1]
        assert refused in traced_parts(ours), ref.capture_error
        return  # (tests/reference.py exports the tracer's capture for it, and warns)
    real = LayerGraph.from_json(ref.graph_json)
    assert sorted(traced_parts(ours)) == sorted(traced_parts(real)), "the two captures trace different layers"
    a, b = _structure(ours, traced="traced" in case.tags), _structure(real, traced="traced" in case.tags)
    assert a["outputs"] == b["outputs"] and a["param_keys"] == b["param_keys"]
    for la, lb in zip(a["layers"], b["layers"]):
        assert la == lb, f"layer differs:\n compat {la}\n real   {lb}"
    assert len(a["layers"]) == len(b["layers"])


TRACED = sorted(n for n in COMPARABLE if "traced" in CASES[n].tags and not CASES[n].expect_error)


@pytest.mark.parametrize("front_end", ["theano_graph", "theano_trace"])
@pytest.mark.parametrize("name", TRACED)
def test_both_traces_export_and_match_theano(name, front_end, references):
    """The real capture (Theano's graph read by ``theano_graph``) and the Theano-free tracer's capture
    (``theano_trace``) of a traced case both export, and every layer matches Theano's output."""
    from exporter.compare import error_stats, run_layers
    from exporter.onnx_graph import DEFAULT_OPSET
    from exporter.pipeline import to_onnx
    from exporter.weights import bind_weights, load_npz
    from tests.conftest import TOLERANCE
    from tests.reference import compat_capture

    ref = references(name)
    assert ref.error is None, ref.error
    if front_end == "theano_graph":
        assert ref.graph_json is not None, f"the real capture refused it: {ref.capture_error}"
        graph = LayerGraph.from_json(ref.graph_json)
    else:
        graph = compat_capture(CASES[name])
    assert traced_parts(graph), "nothing was traced"
    weights, _ = load_npz(ref.weights_path)
    model = to_onnx(graph, bind_weights(graph, weights, ref.weights_path), opset=DEFAULT_OPSET, optimize="off")
    ours = run_layers(model, ref.inputs)
    bad = [f"  {l.name} ({l.lasagne_class}): {error_stats(ours[l.name], ref.outputs[l.name])}"
           for l in graph.layers if not error_stats(ours[l.name], ref.outputs[l.name])["rel"] <= TOLERANCE]
    assert not bad, f"{front_end}: layers diverging from Theano:\n" + "\n".join(bad)
