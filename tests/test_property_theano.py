"""Property: for any valid Lasagne 0.1 stack, the exported model computes what Theano computes.

Hypothesis draws stack specs (tests/property_stacks.py: convolutions with random filter size,
stride, pad mode and flip_filters; max/average pooling with and without ignore_border; dense
layers; nonlinearities; dropout; flatten/reshape; sum/concat branches).  Compiling Theano takes
seconds per network, so the examples are drawn first, deterministically (``derandomize=True``, a
fixed number of them), their Theano references computed by ONE legacy worker run and cached under
``.cache/property/<content hash>/``; then each example is a test of its own: the exported model in
onnxruntime must match Theano's output of every layer within ``TOLERANCE``.

``LASAGNE2ONNX_PROPERTY_EXAMPLES`` changes the number of examples (and so the stacks drawn).
"""
import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import TOLERANCE
from tests.reference import LEGACY_PYTHON, ROOT, THEANO_FLAGS
from tests.reference import content_hash as reference_hash

N_EXAMPLES = int(os.environ.get("LASAGNE2ONNX_PROPERTY_EXAMPLES", "20"))
WORKERS = 2

NONLINEARITIES = ["rectify", "sigmoid", "tanh", "linear", "leaky_rectify_0.3", "very_leaky_rectify", "leaky_rectify"]


# -- the spec strategy: shapes are tracked with Lasagne 0.1's own formulas, so every stack is valid ---------
def conv_length(n, f, s, pad):
    out = {"valid": n - f + 1, "full": n + f - 1, "same": n}.get(pad) if isinstance(pad, str) else n + 2 * pad - f + 1
    return (out + s - 1) // s if out >= 1 else 0


def pool_length(n, p, s, pad, ignore_border):
    if ignore_border:
        out = n + 2 * pad - p + 1
        return (out + s - 1) // s if out >= 1 else 0
    if s >= p:
        return (n + s - 1) // s
    return max(0, (n - p + s - 1) // s) + 1


def draw_conv(draw, shape, stride_one=False, same=False, num_filters=None):
    c, h, w = shape
    mode = "same" if same else draw(st.sampled_from(["same", "full", "valid", "int", "pair"]))
    if mode == "full" and max(h, w) > 14:
        mode = "valid"
    if mode == "int":
        p = draw(st.integers(0, 2))
        pads, pad = (p, p), p
    elif mode == "pair":
        pads = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        pad = list(pads)
    else:
        pads, pad = None, mode
    sizes = []
    for n, i in ((h, 0), (w, 1)):
        top = 5 if mode in ("same", "full") else min(5, n + 2 * pads[i] if pads else n)
        sizes.append(draw(st.integers(1, top)))
    stride = [1, 1] if stride_one else [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    f = num_filters or draw(st.integers(1, 5))
    op = {"op": "conv", "num_filters": f, "filter_size": sizes, "stride": stride, "pad": pad,
          "flip_filters": draw(st.booleans()), "bias": draw(st.integers(0, 4)) > 0,
          "nonlinearity": draw(st.sampled_from(NONLINEARITIES))}
    ph = pad[0] if isinstance(pad, list) else pad
    pw = pad[1] if isinstance(pad, list) else pad
    return op, [f, conv_length(h, sizes[0], stride[0], ph), conv_length(w, sizes[1], stride[1], pw)]


def draw_pool(draw, shape):
    c, h, w = shape
    ignore_border = draw(st.booleans())
    sizes = [draw(st.integers(1, min(4, h))), draw(st.integers(1, min(4, w)))]
    stride = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    pad = [draw(st.integers(0, s - 1)) for s in sizes] if ignore_border else [0, 0]
    op = {"op": "pool", "mode": draw(st.sampled_from(["max", "average_inc_pad", "average_exc_pad"])),
          "pool_size": sizes, "stride": stride, "pad": pad, "ignore_border": ignore_border}
    return op, [c, pool_length(h, sizes[0], stride[0], pad[0], ignore_border),
                pool_length(w, sizes[1], stride[1], pad[1], ignore_border)]


def draw_branch(draw, shape):
    merge = draw(st.sampled_from(["sum", "concat"]))
    width = draw(st.integers(1, 4))  # the channels every arm of a sum ends with
    arms, channels = [], []
    for _ in range(2):
        arm, s = [], list(shape)
        for _ in range(draw(st.integers(0 if merge == "sum" else 1, 2))):
            op, s = draw_conv(draw, s, stride_one=True, same=True, num_filters=width if merge == "sum" else None)
            arm.append(op)
        if merge == "sum" and not arm and shape[0] != width:  # an empty arm (the input itself) must fit the sum
            op, s = draw_conv(draw, s, stride_one=True, same=True, num_filters=width)
            arm.append(op)
        arms.append(arm)
        channels.append(s[0])
    out_c = channels[0] if merge == "sum" else sum(channels)
    return {"op": "branch", "merge": merge, "arms": arms}, [out_c, shape[1], shape[2]]


@st.composite
def stacks(draw):
    """A body of 1-4 spatial layers (conv, pool, branches, ...), then maybe a dense head."""
    shape = [draw(st.integers(1, 4)), draw(st.integers(3, 12)), draw(st.integers(3, 12))]
    spec = {"input": list(shape), "batch": 2, "layers": []}
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "conv", "pool", "pool", "branch", "dropout", "nonlinearity",
                                     "reshape"]))
        if kind == "conv":
            op, new = draw_conv(draw, shape)
        elif kind == "pool":
            op, new = draw_pool(draw, shape)
        elif kind == "branch":
            op, new = draw_branch(draw, shape)
        elif kind == "dropout":
            op, new = {"op": "dropout", "p": draw(st.sampled_from([0.1, 0.5]))}, shape
        elif kind == "nonlinearity":
            op, new = {"op": "nonlinearity", "nonlinearity": draw(st.sampled_from(NONLINEARITIES))}, shape
        else:
            c, h, w = shape
            op, new = draw(st.sampled_from([({"op": "reshape", "shape": [[0], [1], [3], [2]]}, [c, w, h]),
                                            ({"op": "reshape", "shape": [[0], -1, 1, [2]]}, [c * w, 1, h])]))
        if min(new) < 1:  # the layer would have an empty output: not a valid stack, skip it
            continue
        spec["layers"].append(op)
        shape = new
    head = draw(st.sampled_from(["none", "dense", "flatten", "reshape"]))
    if head == "none":
        return spec
    if head != "dense":
        spec["layers"].append({"op": "flatten"} if head == "flatten" else {"op": "reshape", "shape": [[0], -1]})
    for _ in range(draw(st.integers(1 if head == "dense" else 0, 2))):
        spec["layers"].append({"op": "dense", "num_units": draw(st.integers(1, 8)),
                               "nonlinearity": draw(st.sampled_from(NONLINEARITIES))})
        if draw(st.booleans()):
            spec["layers"].append(draw(st.sampled_from([{"op": "dropout", "p": 0.5},
                                                        {"op": "nonlinearity", "nonlinearity": "softmax"}])))
    if draw(st.booleans()):
        spec["layers"].append({"op": "dense", "num_units": draw(st.integers(2, 6)), "nonlinearity": "softmax"})
    return spec


def spec_name(spec) -> str:
    return "stack_" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def draw_specs(n=N_EXAMPLES, pool=10) -> dict:
    """``n`` stacks, by name: Hypothesis draws ``pool * n`` deterministically (derandomize), and the
    ``n`` whose names (content hashes) sort first are kept, so that they are spread over all it drew
    rather than being its first, similar, few."""
    drawn = {}

    @settings(max_examples=pool * n, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(stacks())
    def collect(spec):
        drawn.setdefault(spec_name(spec), spec)

    collect()
    return {name: drawn[name] for name in sorted(drawn)[:n]}


SPECS = draw_specs()


# -- references from the real Lasagne on Theano ----------------------------------------------------------
def content_hash(specs) -> str:
    """The drawn specs plus every file the references depend on (tests/reference.py's list)."""
    h = hashlib.sha256(json.dumps(specs, sort_keys=True).encode())
    h.update(reference_hash(["tests/property_stacks.py"]).encode())
    return h.hexdigest()[:16]


def _worker(out_dir, specs, part):
    path = os.path.join(out_dir, f"specs.{part}.json")
    with open(path, "w") as f:
        json.dump(specs, f)
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    return subprocess.Popen([LEGACY_PYTHON, os.path.join(ROOT, "tests", "property_stacks.py"), out_dir, path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def reference_dir():
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"the legacy Theano environment is missing ({LEGACY_PYTHON}); run scripts/setup-legacy.sh")
    from filelock import FileLock

    out_dir = os.path.join(ROOT, ".cache", "property", content_hash(SPECS))
    os.makedirs(out_dir, exist_ok=True)
    with FileLock(out_dir + ".lock"):
        todo = sorted(n for n in SPECS if not any(os.path.exists(os.path.join(out_dir, n + e)) for e in (".io.npz", ".error")))
        if todo:
            procs = [_worker(out_dir, {n: SPECS[n] for n in todo[i::WORKERS]}, i)
                     for i in range(WORKERS) if todo[i::WORKERS]]
            for p in procs:
                out, err = p.communicate()
                if p.returncode != 0:
                    raise RuntimeError(f"property reference worker failed ({p.returncode}):\n{out[-3000:]}\n{err[-5000:]}")
    return out_dir


def export_and_run(out_dir, name):
    from exporter.compare import run_layers
    from exporter.pipeline import to_onnx
    from exporter.ir import LayerGraph
    from exporter.weights import bind_weights, load_npz

    with open(os.path.join(out_dir, name + ".json")) as f:
        graph = LayerGraph.from_json(f.read())
    weights, _ = load_npz(os.path.join(out_dir, name + ".npz"))
    model = to_onnx(graph, bind_weights(graph, weights))
    with np.load(os.path.join(out_dir, name + ".io.npz")) as z:
        io = {k: z[k] for k in z.files}
    ours = run_layers(model, {"input": io["in:input"]})
    return graph, ours, {k[4:]: v for k, v in io.items() if k.startswith("out:")}


def test_examples_were_drawn():
    assert len(SPECS) >= N_EXAMPLES * 3 // 4, f"only {len(SPECS)} distinct stacks drawn"
    ops = json.dumps(list(SPECS.values()))
    for feature in ('"conv"', '"pool"', '"dense"', '"branch"', '"flip_filters": false', '"same"', '"full"',
                    '"ignore_border": false'):
        assert feature in ops, f"no drawn stack has {feature}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_export_matches_theano(name, reference_dir):
    from exporter.compare import error_stats

    spec = SPECS[name]
    error = os.path.join(reference_dir, name + ".error")
    if os.path.exists(error):
        with open(error) as f:
            pytest.fail(f"Theano could not build the drawn stack {json.dumps(spec)}:\n{f.read()}")
    graph, ours, theano_out = export_and_run(reference_dir, name)
    bad = []
    for layer in graph.layers:
        stats = error_stats(ours[layer.name], theano_out[layer.name])
        if not stats["rel"] <= TOLERANCE:
            bad.append(f"  {layer.name} ({layer.lasagne_class}): {stats}")
    assert not bad, f"stack {json.dumps(spec)}\nlayers diverging from Theano:\n" + "\n".join(bad)
    for out in graph.outputs:
        assert ours[out].shape == theano_out[out].shape


def _even_same(ops) -> bool:
    return any(_even_same([o for arm in op["arms"] for o in arm]) if op["op"] == "branch" else
               op["op"] == "conv" and op["pad"] == "same" and any(f % 2 == 0 for f in op["filter_size"])
               for op in ops)


@pytest.mark.parametrize("name", [n for n in sorted(SPECS) if not _even_same(SPECS[n]["layers"])][:5])
def test_compat_builds_the_same_graph(name, reference_dir):
    """The same spec built on the Theano-free Lasagne API captures to the same layer graph (not for
    pad='same' with an even filter size: Lasagne 0.1 allows it, 0.2 and the compat API refuse it)."""
    from exporter.compat import activate

    activate()
    from exporter.frontends.lasagne_live import capture
    from exporter.ir import LayerGraph
    from tests.property_stacks import build

    ours = capture(build(SPECS[name])).to_dict()
    with open(os.path.join(reference_dir, name + ".json")) as f:
        real = LayerGraph.from_json(f.read()).to_dict()
    ours.pop("source"), real.pop("source")
    assert ours == real
