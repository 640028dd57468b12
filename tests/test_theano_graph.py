"""The reader of real Theano graphs (``exporter.frontends.theano_graph``), op by op.

Every example of the op-table parity tests (``tests/theano_ops/test_<family>.py``: Theano expressions
drawn by Hypothesis over shapes, axes, broadcast patterns, dtypes and index patterns) is built again
in the legacy environment on real Theano, and its Theano graph read into an ExprGraph
(``tests/legacy/theano_graph_worker.py``, cached in ``.cache/theano_graph/<content hash>/``).  The
graph is lowered by the op table and run in onnxruntime: it must match what Theano computed for the
same inputs (``tests/theano_ops/expr_worker.py``'s results), with Theano's dtype and broadcastable
pattern.  What the reader refuses is refused naming the op and the user's line.

Whole custom layers read from Theano's graphs are checked by ``tests/test_parity_theano.py`` (the
reference worker captures the "traced" cases on the real Lasagne) and compared with the Theano-free
tracer's capture by ``tests/test_compat_matches_real.py``.
"""
import hashlib
import json
import os
import subprocess

import numpy as np
import pytest

from exporter.frontends import theano_graph
from tests.reference import LEGACY_PYTHON, ROOT, THEANO_FLAGS
from tests.theano_ops import (harness, test_cast, test_elemwise, test_linalg, test_nnet, test_opfromgraph, test_reduce,
                              test_scan, test_shape)

WORKER = os.path.join(ROOT, "tests", "legacy", "theano_graph_worker.py")
FAMILY_SPECS = [f.SPECS for f in (test_elemwise, test_reduce, test_shape, test_linalg, test_nnet, test_cast)] + [
    test_shape.EYE_SPECS, test_nnet.DECONV_SPECS, test_nnet.BILINEAR_SPECS, test_scan.SPECS, test_opfromgraph.SPECS]
SPECS = {}
for _specs in FAMILY_SPECS:
    SPECS.update(_specs)


def _spec(code, shape=(2, 3), capture=False):
    return {"code": code, "capture": capture,
            "inputs": [{"shape": list(shape), "dtype": "float32", "broadcastable": [s == 1 for s in shape]}]}


# what the reader refuses (name -> (spec, text the refusal must hold)); each names the user's line
REFUSALS = {
    "random_sampling": (_spec("lambda x: x + rng.normal(x.shape)"), "depends on random sampling"),
    "mrg_random_sampling": (_spec("lambda x: x * theano.sandbox.rng_mrg.MRG_RandomStreams(1).uniform(x.shape)"),
                            "depends on random sampling"),
    "scan_output_taps": (_spec("lambda x: theano.scan(lambda a, b: a + b, outputs_info=dict(initial=x, taps=[-2, -1]), "
                               "n_steps=3)[0]"), "theano.scan with outputs reading several earlier values"),
    "ifelse": (_spec("lambda x: __import__('theano.ifelse').ifelse.ifelse(T.gt(x.sum(), 0), x, -x)"),
               "theano.ifelse inside a traced layer"),
    "boolean_mask": (_spec("lambda x: x[(x > 0).nonzero()]"), "advanced indexing other than one integer array"),
    "unmapped_op": (_spec("lambda x: T.sort(x)"), "has no counterpart in lasagne2onnx's op table"),
    "free_variable": (_spec("lambda x: x + T.matrix('other')"), "which is not one of its inputs"),
    "layer_sampling": (_spec("lambda x: x + rng.normal(x.shape)", capture=True),
                       "layer 'custom' (class Custom, position 1 in get_all_layers): no converter for this class; "
                       "tracing it instead: its deterministic output depends on random sampling (RandomFunction"),
}


def _hash(specs) -> str:
    h = hashlib.sha256(json.dumps(specs, sort_keys=True).encode())
    for rel in ("exporter/frontends/theano_graph.py", "exporter/frontends/theano_graph_reader.py",
                "exporter/frontends/theano_graph_names.py",
                "exporter/frontends/theano_shapes.py", "exporter/frontends/theano_trace.py",
                "exporter/frontends/lasagne_live.py", "exporter/ir.py", "exporter/theano_ops/values.py",
                "tests/legacy/theano_graph_worker.py"):
        with open(os.path.join(ROOT, rel), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def read_graphs(specs) -> str:
    """The directory of the reader's results for ``specs`` (computed once per content hash)."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"the legacy Theano environment is missing ({LEGACY_PYTHON}); run scripts/setup-legacy.sh")
    from filelock import FileLock

    out_dir = os.path.join(ROOT, ".cache", "theano_graph", _hash(specs))
    os.makedirs(out_dir, exist_ok=True)
    with FileLock(out_dir + ".lock"):
        done = os.path.join(out_dir, "done")
        if not os.path.exists(done):
            path = os.path.join(out_dir, "specs.json")
            with open(path, "w") as f:
                json.dump(specs, f)
            env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
            r = subprocess.run([LEGACY_PYTHON, WORKER, out_dir, path], capture_output=True, text=True, env=env,
                               cwd=ROOT)
            if r.returncode != 0:
                raise RuntimeError(f"theano_graph_worker failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
            open(done, "w").close()
    return out_dir


@pytest.fixture(scope="module")
def graphs():
    return read_graphs({**SPECS, **{name: spec for name, (spec, _) in REFUSALS.items()}})


@pytest.fixture(scope="module")
def theano_results():
    """name -> the directory of Theano's results (one per family, shared with tests/theano_ops)."""
    return {name: out_dir for specs in FAMILY_SPECS for out_dir in [harness.reference_dir(specs)] for name in specs}


def _result(out_dir, name, ext):
    path = os.path.join(out_dir, name + ext)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_theano_graph_matches_theano(name, graphs, theano_results):
    from exporter.onnx_graph import DEFAULT_OPSET

    spec = SPECS[name]
    error = _result(graphs, name, ".error") or _result(graphs, name, ".refused")
    assert error is None, f"{spec['code']}: the reader failed:\n{error}"
    expr = json.loads(_result(graphs, name, ".expr.json"))
    with np.load(os.path.join(theano_results[name], name + ".npz")) as z:
        arrays = [z[f"in{i}"] for i in range(len(spec["inputs"]))]
        expected = z["out"]
    with open(os.path.join(theano_results[name], name + ".json")) as f:
        meta = json.load(f)
    where = f"{spec['code']} on {[(i['dtype'], tuple(a.shape)) for i, a in zip(spec['inputs'], arrays)]}"
    out = {v["name"]: v for v in expr["inputs"] + expr["nodes"]}[expr["outputs"][0]]
    assert (out["dtype"], out["broadcastable"]) == (meta["dtype"], meta["broadcastable"]), where
    assert all(k is None or k == e for k, e in zip(out["shape"], expected.shape)), \
        f"{where}: static shape {out['shape']}, Theano's result has {expected.shape}"
    harness.assert_runs_as_theano(harness.onnx_model(expr, arrays, DEFAULT_OPSET), arrays, expected, where)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_theano_graph_refuses_naming_op_and_line(name, graphs):
    spec, text = REFUSALS[name]
    refusal = _result(graphs, name, ".refused")
    assert refusal is not None, f"{spec['code']} was not refused: {_result(graphs, name, '.error') or 'read'}"
    assert text in refusal, refusal
    assert "theano_graph_worker.py:" in refusal, f"the user's line is not named: {refusal}"


def test_every_name_the_reader_writes_has_a_lowering():
    """The table maps Theano's ops onto names the op table lowers (or that the reader expands)."""
    from exporter import registry
    from exporter import theano_ops  # noqa: F401  (registers the lowerings)

    written = set(theano_graph.THEANO_OP_NAMES.values()) | {n for names in theano_graph.FORMULAS.values()
                                                              for n in names}
    missing = sorted(written - set(registry.LOWERINGS.names()))
    assert not missing, f"the reader writes ops without a lowering: {missing}"
