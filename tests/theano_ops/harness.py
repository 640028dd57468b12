"""Parity of the op table with real Theano, one family per test file.

A family's examples are Theano expressions, ``lambda x, y: T.sum(x * y, axis=1)``, with the type
and size of each input, drawn by Hypothesis (deterministically: ``derandomize``) over shapes, axes,
broadcast patterns, dtypes and index patterns.  Real Theano evaluates every example once in the
legacy environment (``expr_worker.py``, cached under ``.cache/theano_ops/<content hash>/``); each
example is then a test of its own: the same code runs on the Theano-free API's tracer, the traced
:class:`~exporter.ir.ExprGraph` is lowered to ONNX by the op table, and onnxruntime's result must match
Theano's within ``TOLERANCE``, with the dtype and broadcastable pattern Theano gave the result.
"""
import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import TOLERANCE
from tests.reference import LEGACY_PYTHON, ROOT, THEANO_FLAGS

WORKER = os.path.join(ROOT, "tests", "theano_ops", "expr_worker.py")
PER_TEMPLATE = int(os.environ.get("LASAGNE2ONNX_OP_EXAMPLES", "2"))
OPSETS = (13, 17, 18)  # the oldest supported, the default, and the first with Reduce* axes as inputs


def draw_family(family, templates, strategy, per=PER_TEMPLATE) -> dict:
    """``per`` examples of every template (``strategy(template)`` draws its shapes, dtypes, axes...)."""
    specs = {}
    for template in templates:
        specs.update(draw_specs(family, strategy(template), n=per))
    return specs


def draw_specs(family, strategy, n=PER_TEMPLATE, pool=6) -> dict:
    """``n`` examples of ``strategy`` by name (``<family>_<hash>``), spread over ``pool * n`` drawn."""
    drawn = {}

    @settings(max_examples=pool * n, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(spec):
        text = json.dumps(spec, sort_keys=True)
        drawn.setdefault(f"{family}_{hashlib.sha256(text.encode()).hexdigest()[:10]}", spec)

    collect()
    names = sorted(drawn)[:n]
    for name in names:
        drawn[name]["seed"] = int(hashlib.sha256(name.encode()).hexdigest()[:7], 16)
    return {name: drawn[name] for name in names}


def _hash(specs) -> str:
    h = hashlib.sha256(json.dumps(specs, sort_keys=True).encode())
    with open(WORKER, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


def reference_dir(specs, workers=2) -> str:
    """Theano's results for ``specs`` (computed once per content hash)."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"the legacy Theano environment is missing ({LEGACY_PYTHON}); run scripts/setup-legacy.sh")
    from filelock import FileLock

    out_dir = os.path.join(ROOT, ".cache", "theano_ops", _hash(specs))
    os.makedirs(out_dir, exist_ok=True)
    with FileLock(out_dir + ".lock"):
        todo = sorted(n for n in specs if not any(os.path.exists(os.path.join(out_dir, n + e)) for e in (".json", ".error")))
        procs = []
        for i in range(workers):
            part = {n: specs[n] for n in todo[i::workers]}
            if not part:
                continue
            path = os.path.join(out_dir, f"specs.{i}.json")
            with open(path, "w") as f:
                json.dump(part, f)
            env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
            procs.append(subprocess.Popen([LEGACY_PYTHON, WORKER, out_dir, path], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT))
        for p in procs:
            out, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"expression worker failed ({p.returncode}):\n{out[-3000:]}\n{err[-5000:]}")
    return out_dir


def trace(spec, arrays):
    """(ExprGraph dict, traced output variable) of ``spec['code']`` on the Theano-free API."""
    from exporter import compat

    compat.activate()
    import theano
    import theano.tensor as T
    import theano.tensor.signal.pool as pool
    from lasagne._symbolic import SymbolicVariable, tracing

    from exporter.frontends.theano_trace import to_expr

    variables = [SymbolicVariable(f"in{i}", dtype=inp["dtype"], broadcastable=inp["broadcastable"],
                                  shape=[s if known else None for s, known in zip(a.shape, inp.get("known", [1] * a.ndim))])
                 for i, (inp, a) in enumerate(zip(spec["inputs"], arrays))]
    fn = eval(spec["code"], {"T": T, "np": np, "theano": theano, "pool": pool})
    with tracing():
        out = fn(*variables)
    return to_expr(out, variables), out


def onnx_model(expr, arrays, opset):
    """A model computing ``expr`` from float32 inputs ``in0``.. (the exported layers' type) as float32."""
    import onnx
    from onnx import TensorProto, helper

    import passes
    from exporter.ir import LayerSpec
    from exporter.onnx_graph import OnnxGraph
    from exporter.theano_ops import lower_expr

    g = OnnxGraph({}, opset=opset)
    names = [g.add_input(f"in{i}", [f"in{i}_{d}" for d in range(a.ndim)]) for i, a in enumerate(arrays)]
    spec = LayerSpec(name="expr", kind="Expression", lasagne_class="test", inputs=[f"in{i}" for i in range(len(arrays))],
                     attrs={}, params=[], output_shape=(1,))
    out = lower_expr(expr, g, spec, names, {}, output=g.unique("out"))
    last = {v["name"]: v for v in expr["inputs"] + expr["nodes"]}[expr["outputs"][0]]
    g.outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [f"o{i}" for i in range(len(last["shape"]))]))
    model = g.finish("expr")
    onnx.checker.check_model(model)
    return passes.check_and_infer(model)


def check(name, spec, ref_dir, opset=None):
    """The traced, lowered example matches Theano: value, dtype, broadcastable pattern."""
    from exporter.onnx_graph import DEFAULT_OPSET

    error = os.path.join(ref_dir, name + ".error")
    if os.path.exists(error):
        with open(error) as f:
            pytest.fail(f"Theano could not evaluate {spec['code']} on {spec['inputs']}:\n{f.read()[:3000]}")
    with np.load(os.path.join(ref_dir, name + ".npz")) as z:
        arrays = [z[f"in{i}"] for i in range(len(spec["inputs"]))]
        expected = z["out"]
    with open(os.path.join(ref_dir, name + ".json")) as f:
        meta = json.load(f)
    expr, out = trace(spec, arrays)
    where = f"{spec['code']} on {[(i['dtype'], tuple(a.shape)) for i, a in zip(spec['inputs'], arrays)]}"
    assert (out.dtype, list(out.broadcastable)) == (meta["dtype"], meta["broadcastable"]), \
        f"{where}: traced type {out.dtype} {out.broadcastable}, Theano's {meta['dtype']} {meta['broadcastable']}"
    known = [s for s in out.static_shape]
    assert all(k is None or k == e for k, e in zip(known, expected.shape)), \
        f"{where}: traced static shape {out.static_shape}, Theano's result has {expected.shape}"
    model = onnx_model(expr, arrays, opset or DEFAULT_OPSET)
    from exporter.registry import LOWERINGS

    declared = {"Identity", "Cast"}  # the layer's output (lower_expr)
    for node in expr["nodes"]:
        entry = LOWERINGS.lookup(node["op"], opset or DEFAULT_OPSET)
        declared |= set(entry.emits) if entry else set()
    emitted = {n.op_type for n in model.graph.node}
    assert emitted <= declared, f"{where}: lowerings emit {sorted(emitted - declared)} without declaring it (emits=)"
    assert_runs_as_theano(model, arrays, expected, where)


def assert_runs_as_theano(model, arrays, expected, where):
    """``model`` run in onnxruntime on ``arrays`` (inputs ``in0``, ``in1`` ...) gives Theano's ``expected``:
    its shape, NaN where Theano has NaN, the rest within the parity tolerance."""
    from exporter.compare import error_stats
    from exporter.validate import make_session

    sess = make_session(model.SerializeToString())
    feeds = {f"in{i}": a.astype(np.float32) for i, a in enumerate(arrays)}
    ours = sess.run(None, feeds)[0]
    assert ours.shape == expected.shape, f"{where}: onnxruntime gives shape {ours.shape}, Theano {expected.shape}"
    expected = expected.astype(np.float32)
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(ours), nan), f"{where}: NaN where Theano has none, or the reverse"
    stats = error_stats(np.where(nan, 0, ours), np.where(nan, 0, expected))
    assert stats["rel"] <= TOLERANCE, f"{where}: onnxruntime differs from Theano: {stats}"


# -- strategies shared by the families ----------------------------------------------------------------------
def operand(shape, dtype="float32", values=None, known=None):
    """An input: its shape, dtype, broadcastable pattern (size-1 axes, as Lasagne's inputs), values kind."""
    return {"shape": list(shape), "dtype": dtype, "broadcastable": [s == 1 for s in shape],
            "values": values or ("normal" if dtype.startswith("float") else "int"),
            "known": [True] * len(shape) if known is None else list(known)}


def shapes(min_rank=0, max_rank=4, max_size=4):
    from hypothesis import strategies as st

    return st.integers(min_rank, max_rank).flatmap(lambda r: st.lists(st.integers(1, max_size), min_size=r, max_size=r))


def knowns(shape):
    """Which sizes the tracer knows (a Lasagne input leaves the batch size unknown)."""
    from hypothesis import strategies as st

    return st.lists(st.booleans(), min_size=len(shape), max_size=len(shape))


_REFERENCE_DIRS: dict = {}


def parity_test(specs):
    """The test of one family of examples: each of ``specs`` at each opset of :data:`OPSETS`, lowered and
    run in onnxruntime, against real Theano's result (all of the family's computed at its first test,
    then cached on disk).  A test module assigns it: ``test_matches_theano = parity_test(SPECS)``."""

    @pytest.mark.parametrize("opset", OPSETS)
    @pytest.mark.parametrize("name", sorted(specs))
    def test(name, opset):
        key = _hash(specs)
        if key not in _REFERENCE_DIRS:
            _REFERENCE_DIRS[key] = reference_dir(specs)
        check(name, specs[name], _REFERENCE_DIRS[key], opset)

    return test
