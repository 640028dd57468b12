"""What an export costs next to the bare minimum: reading model.npz and writing the same arrays as ONNX.

    .venv/bin/python benchmarks/export_cost.py              # VGG-16 (138M params, 553 MB), ~1 minute
    .venv/bin/python benchmarks/export_cost.py --size 2.2   # a Dense stack with 2.2 GB of weights:
                                                            # external data (out.onnx + out.onnx.data)

Every measurement runs in its own fresh process; its peak RSS is that process's own ``ru_maxrss``
(``os.wait4``).  ``net`` subtracts the peak RSS of a bare Python that only imports numpy, onnx and
onnxruntime (the same imports every measured process pays for).

  bare      np.load(model.npz) -> numpy_helper.from_array per array -> onnx.save (the naive script)
  export    python -m exporter model.npz out.onnx --manifest arch.json --no-check
  +check    the same with the onnxruntime check on (loads the model in onnxruntime and runs it once)

The serialisers, side by side (the same detached model from ``convert.build`` in each process, then
written by one of them, in one file and as external data; the table gives the whole process and the
write alone):

  ours      exporter.model_io.save_model: streams each payload array's buffer into the protobuf file
  onnx-ir   onnx_ir: the model deserialised to the IR, each payload wrapped in ir.Tensor (no copy), ir.save
            (skipped, saying so, where onnx_ir is not importable; it is not a dependency of lasagne2onnx)

The two architecture routes are then measured side by side as process trees (the ``--network``
export runs the build code in a child process): peak = the largest total memory of the tree seen at
one moment, sampled from /proc every 5 ms (the sum of the processes' Pss, which counts a page that
several processes map once; for a single process it is its resident set).

  route manifest   python -m exporter model.npz out.onnx --manifest arch.json --no-check
  route network    python -m exporter model.npz out.onnx --network BUILD.py:FN --no-check

Targets (issue "Speed, memory and robustness"): export time < 2x bare; export peak RSS < 2.5x the
weights' size in bytes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import PYTHON, ROOT, ChildFailed, env, machine, measure, measure_tree, median, run  # noqa: E402

TIME_TARGET, MEMORY_TARGET = 2.0, 2.5
DENSE_WIDTH = 8192


# -- children (run in .venv, one process each) ---------------------------------------------------------
def child_setup(workdir, size_gb):
    """Write arch.json (captured with the Theano-free Lasagne API) and model.npz (random float32)."""
    import numpy as np

    from exporter.compat import activate

    activate()
    import lasagne

    from exporter.frontends.lasagne_live import capture

    rng = np.random.default_rng(0)
    if size_gb is None:
        from models.zoo import vgg16

        out = list(vgg16.build_model().values())[-1]
        source = "models/zoo/vgg16.py"
        network = os.path.join(ROOT, "models", "zoo", "vgg16.py") + ":build_model"
    else:
        per_layer = 4 * (DENSE_WIDTH * DENSE_WIDTH + DENSE_WIDTH)
        n = max(1, math.ceil(size_gb * 1e9 / per_layer))
        with open(os.path.join(workdir, "dense_stack.py"), "w") as f:
            f.write(DENSE_STACK.format(n=n, width=DENSE_WIDTH))
        namespace = {}
        exec(DENSE_STACK.format(n=n, width=DENSE_WIDTH), namespace)
        out = namespace["build"](zero_init=True)  # no point drawing Lasagne's initialisation: replaced below
        source = f"{n} x Dense({DENSE_WIDTH})"
        network = os.path.join(workdir, "dense_stack.py") + ":build"
    graph = capture(out, source=source)
    with open(os.path.join(workdir, "arch.json"), "w") as f:
        f.write(graph.to_json())
    shapes = [p.get_value().shape for p in lasagne.layers.get_all_params(out)]
    del out, graph
    arrays = []
    for s in shapes:
        a = rng.standard_normal(s, dtype=np.float32)
        a *= 1.0 / math.sqrt(s[0]) if len(s) > 1 else 0.1
        arrays.append(a)
    np.savez(os.path.join(workdir, "model.npz"), *arrays)
    print(json.dumps({"source": source, "params": int(sum(a.size for a in arrays)),
                      "bytes": int(sum(a.nbytes for a in arrays)), "network": network}))


DENSE_STACK = """
import lasagne


def build(zero_init=False):
    out = lasagne.layers.InputLayer((None, {width}), name="input")
    init = dict(W=lasagne.init.Constant(0.0), b=lasagne.init.Constant(0.0)) if zero_init else {{}}
    for i in range({n}):
        out = lasagne.layers.DenseLayer(out, {width}, name="dense%d" % i, nonlinearity=lasagne.nonlinearities.tanh,
                                        **init)
    return out
"""


def child_baseline():
    import numpy  # noqa: F401
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401


def child_bare(npz, out, external):
    import numpy as np
    import onnx
    import onnxruntime  # noqa: F401  (the baseline's imports)
    from onnx import helper, numpy_helper

    z = np.load(npz)
    inits = [numpy_helper.from_array(z[k], k) for k in z.files]
    model = helper.make_model(helper.make_graph([], "bare", [], [], initializer=inits))
    if external:  # protobuf cannot serialise 2 GiB: onnx.save needs external data too
        onnx.save(model, out, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=os.path.basename(out) + ".data")
    else:
        onnx.save(model, out)


def child_floor(npz, out):
    """The I/O floor: read every array out of the npz and write its bytes to one flat file."""
    import numpy as np
    import onnx  # noqa: F401  (the baseline's imports)
    import onnxruntime  # noqa: F401

    z = np.load(npz)
    with open(out, "wb") as f:
        for k in z.files:
            f.write(np.ascontiguousarray(z[k]).data)


def child_ort_load(path):
    """Load an exported model in onnxruntime and run it once (for the external-data case)."""
    import numpy as np

    from exporter.validate import make_session

    sess = make_session(path)
    i = sess.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal([1] + [d for d in i.shape[1:]]).astype(np.float32)
    (y,) = sess.run(None, {i.name: x})
    print(json.dumps({"output_shape": list(y.shape), "finite": bool(np.all(np.isfinite(y)))}))


def child_breakdown(npz, arch, out):
    """The export's stages in one process, with the time and memory of each (uses the exporter's API
    as exporter/commands/export.py does; best effort if that API changes)."""
    import time

    def mem():
        fields = {}
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    fields[k] = int(v.split()[0]) * 1024
        return fields["VmRSS"], fields["VmHWM"]

    t = time.perf_counter()
    rows = []

    def lap(what):
        nonlocal t
        now = time.perf_counter()
        rows.append((what, now - t) + mem())
        t = now

    import numpy  # noqa: F401
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401

    from exporter.convert import build
    from exporter.ir import LayerGraph
    from exporter.model_io import save_model
    from exporter.weights import bind_weights, load_npz
    lap("imports")
    weights, _ = load_npz(npz)
    lap("weights.load_npz")
    with open(arch) as f:
        graph = LayerGraph.from_json(f.read())
    bound = bind_weights(graph, weights, npz)
    del weights
    lap("weights.bind_weights")
    skeleton, payloads = build(graph, bound)
    del bound
    lap("convert.build (+checker)")
    try:
        from exporter.pipeline import optimize_detached

        skeleton, payloads, _ = optimize_detached(skeleton, payloads, "auto")
        lap("optimize (auto)")
    except ImportError:
        pass
    save_model(skeleton, out, payloads=payloads)
    lap("model_io.save_model")
    print(json.dumps(rows))


def child_save(npz, arch, out, writer, external):
    """Build the detached model as the export does, then write it with ``writer`` (ours or onnx-ir)."""
    import time

    from exporter.convert import build
    from exporter.ir import LayerGraph
    from exporter.weights import bind_weights, load_npz

    weights, _ = load_npz(npz)
    with open(arch) as f:
        graph = LayerGraph.from_json(f.read())
    bound = bind_weights(graph, weights, npz)
    del weights
    skeleton, payloads = build(graph, bound)
    del bound
    external = external == "1"
    t = time.perf_counter()
    if writer == "ours":
        from exporter.model_io import save_model

        save_model(skeleton, out, payloads=payloads, external=external)
    else:
        import onnx_ir as ir

        from exporter import model_io

        model = ir.serde.deserialize_model(skeleton)
        for name, value in model.graph.initializers.items():
            if name in payloads:  # the placeholder's data: the payload array itself, not a copy
                value.const_value = ir.Tensor(payloads[name], name=name)
        del skeleton
        ir.save(model, out, external_data=os.path.basename(out) + ".data" if external else None,
                alignment=model_io.ALIGN if external else None)
    print(json.dumps({"write_s": time.perf_counter() - t}))


def child_same_weights(a, b):
    """Both files load (external data included) with the same initializers, in the same order."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    ma, mb = onnx.load(a), onnx.load(b)
    ta, tb = list(ma.graph.initializer), list(mb.graph.initializer)
    same = [t.name for t in ta] == [t.name for t in tb] and all(
        np.array_equal(numpy_helper.to_array(x), numpy_helper.to_array(y)) for x, y in zip(ta, tb))
    print(json.dumps({"same": bool(same), "nodes": [len(ma.graph.node), len(mb.graph.node)]}))


CHILDREN = {"setup": child_setup, "baseline": child_baseline, "floor": child_floor, "bare": child_bare,
            "breakdown": child_breakdown, "save": child_save, "same-weights": child_same_weights,
            "ort-load": child_ort_load}


# -- parent --------------------------------------------------------------------------------------------
def me(*args):
    return [PYTHON, os.path.abspath(__file__), "--child", *map(str, args)]


def mb(n):
    return f"{n / 1e6:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=float, metavar="GB", nargs="?", const=2.2,
                    help="instead of VGG-16, a Dense stack with about GB gigabytes of weights (default 2.2: "
                         "past protobuf's 2 GB limit, so the export writes external data); needs ~4x GB of "
                         "disk and ~3x GB of RAM")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each measurement (median time, max RSS)")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary directory, removed)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, *rest = args.child
        if name == "setup":
            return child_setup(rest[0], float(rest[1]) if rest[1] != "-" else None)
        if name == "bare":
            return child_bare(rest[0], rest[1], rest[2] == "1")
        return CHILDREN[name](*rest)

    workdir = args.workdir or tempfile.mkdtemp(prefix="export_cost_")
    os.makedirs(workdir, exist_ok=True)
    try:
        return bench(args, workdir)
    except ChildFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args, workdir):
    external = args.size is not None
    print(f"# export_cost: {machine()}")
    print(f"# setting up in {workdir} ...", flush=True)
    info = json.loads(run(me("setup", workdir, args.size if external else "-")).strip().splitlines()[-1])
    weights = info["bytes"]
    print(f"# model: {info['source']}: {info['params']:,} parameters, {mb(weights)} MB of float32 weights; "
          f"{args.repeats} run(s) each, median time, max peak RSS")

    npz = os.path.join(workdir, "model.npz")
    arch = os.path.join(workdir, "arch.json")
    export = [PYTHON, "-m", "exporter", npz, "OUT", "--manifest", arch, "--quiet"]
    cases = [
        ("baseline", "python -c 'import numpy, onnx, onnxruntime'", me("baseline")),
        ("floor", "np.load + write raw bytes (I/O floor)", me("floor", npz, os.path.join(workdir, "floor.onnx"))),
        ("bare", "np.load + from_array + onnx.save" + (" (external data)" if external else ""),
         me("bare", npz, os.path.join(workdir, "bare.onnx"), int(external))),
        ("export", "python -m exporter ... --no-check", export + ["--no-check"]),
        ("export+check", "python -m exporter ... (check on)", export),
        ("ort-load", "onnxruntime alone: load export.onnx, run once", me("ort-load", "KEEP")),
    ]
    results = {}
    for key, label, cmd in cases:
        walls, peaks = [], []
        for r in range(args.repeats):
            out = os.path.join(workdir, f"{key}.onnx")
            c = [out if a == "OUT" else os.path.join(workdir, "export.onnx") if a == "KEEP" else a for a in cmd]
            wall, peak, text = measure(c, cwd=workdir)
            if key == "ort-load":
                results["ort-load:result"] = json.loads(text.strip().splitlines()[-1])
            walls.append(wall)
            peaks.append(peak)
            if key.startswith("export") and r == args.repeats - 1:
                results[key + ":files"] = sorted(f for f in os.listdir(workdir) if f.startswith(key + ".onnx"))
            for f in os.listdir(workdir):  # keep the disk use down between runs
                if f.startswith(key + ".onnx") or f.startswith(("bare.onnx", "floor.onnx")):
                    if not (key.startswith("export") and r == args.repeats - 1):
                        os.unlink(os.path.join(workdir, f))
        results[key] = (median(walls), max(peaks), label)
        print(f"  measured {key:<13} {median(walls):7.2f} s  peak {mb(max(peaks)):>7} MB", flush=True)

    base_peak = results["baseline"][1]
    bare_wall = results["bare"][0]
    print()
    print(f"{'step':<14}{'what':<50}{'wall s':>8}{'x bare':>8}{'peak MB':>9}{'net MB':>8}"
          f"{'peak/W':>8}{'net/W':>7}")
    for key in ("baseline", "floor", "bare", "export", "export+check", "ort-load"):
        wall, peak, label = results[key]
        ratio = "" if key == "baseline" else f"{wall / bare_wall:.2f}"
        net = peak - base_peak
        print(f"{key:<14}{label:<50}{wall:8.2f}{ratio:>8}{mb(peak):>9}{mb(net):>8}"
              f"{peak / weights:8.2f}{net / weights:7.2f}")
    print(f"(W = weights' size = {mb(weights)} MB; net = peak minus the baseline's {mb(base_peak)} MB)")

    wall, peak, _ = results["export"]
    t_ok, m_ok = wall / bare_wall < TIME_TARGET, peak / weights < MEMORY_TARGET
    print()
    print(f"export time / bare time = {wall / bare_wall:.2f}  (target < {TIME_TARGET}): {'met' if t_ok else 'NOT MET'}")
    print(f"export peak RSS / weights = {peak / weights:.2f} raw, {(peak - base_peak) / weights:.2f} net  "
          f"(target < {MEMORY_TARGET}): {'met' if m_ok else 'NOT MET'}")
    wall_c, peak_c, _ = results["export+check"]
    print(f"with the onnxruntime check: time {wall_c / bare_wall:.2f}x bare, peak {peak_c / weights:.2f}x weights raw, "
          f"{(peak_c - base_peak) / weights:.2f} net; onnxruntime alone (ort-load) peaks at "
          f"{(results['ort-load'][1] - base_peak) / weights:.2f}x net")
    print(f"export time / I/O floor = {results['export'][0] / results['floor'][0]:.2f}")

    routes = {}
    for route, spec in (("manifest", ["--manifest", arch]), ("network", ["--network", info["network"]])):
        walls, peaks = [], []
        for r in range(args.repeats):
            out = os.path.join(workdir, f"route-{route}.onnx")
            wall, peak, _ = measure_tree([PYTHON, "-m", "exporter", npz, out, *spec, "--quiet", "--no-check"],
                                         cwd=workdir)
            walls.append(wall)
            peaks.append(peak)
            for f in os.listdir(workdir):
                if f.startswith(f"route-{route}.onnx"):
                    os.unlink(os.path.join(workdir, f))
        routes[route] = (median(walls), max(peaks))
    print()
    print("the two architecture routes, whole process tree (the --network export includes its build process):")
    for route, (wall, peak) in routes.items():
        print(f"  --{route:<9} {wall:7.2f} s  tree peak {mb(peak):>7} MB = {peak / weights:.2f}x weights")
    (wm, pm), (wn, pn) = routes["manifest"], routes["network"]
    print(f"--network peak / weights = {pn / weights:.2f}, --manifest peak / weights = {pm / weights:.2f}: "
          f"network / manifest = {pn / pm:.2f}; time network / manifest = {wn / wm:.2f}")
    print(f"--network export peak RSS / weights < {MEMORY_TARGET} (the manifest route's target): "
          f"{'met' if pn / weights < MEMORY_TARGET else 'NOT MET'}")

    try:
        _, _, text = measure(me("breakdown", npz, arch, os.path.join(workdir, "breakdown.onnx")), cwd=workdir)
        print("export stages, in one process (time; RSS after; peak so far):")
        for what, secs, rss, hwm in json.loads(text.strip().splitlines()[-1]):
            print(f"  {what:<26}{secs:6.2f} s  rss {mb(rss):>7} MB  peak {mb(hwm):>7} MB")
        os.unlink(os.path.join(workdir, "breakdown.onnx"))
        for f in os.listdir(workdir):
            if f.startswith("breakdown.onnx"):
                os.unlink(os.path.join(workdir, f))
    except (ChildFailed, ValueError) as e:
        print(f"(stage breakdown unavailable: {str(e).splitlines()[-1]})")

    _compare_writers(workdir, npz, arch, args.repeats, weights, base_peak, bare_wall)

    files = results["export:files"]
    sizes = {f: os.path.getsize(os.path.join(workdir, f)) for f in files}
    print("export wrote: " + ", ".join(f"{f} ({mb(s)} MB)" for f, s in sizes.items()))
    ok = True
    if external:
        has_data = "export.onnx.data" in files and sizes["export.onnx"] < 1e6
        print(f"external data written automatically: {'yes' if has_data else 'NO'}")
        res = results["ort-load:result"]
        print(f"onnxruntime loads export.onnx (+ .data) and runs it: output {res['output_shape']}, "
              f"finite={res['finite']}")
        ok = has_data and res["finite"]
    return 0 if ok else 1


def _compare_writers(workdir, npz, arch, repeats, weights, base_peak, bare_wall):
    """ours vs onnx-ir on the same detached model, one file and external data."""
    try:
        run([PYTHON, "-c", "import onnx_ir"], cwd=workdir)
    except ChildFailed:
        print("serialisers: onnx_ir is not importable here (pip install onnx-ir to compare); skipped")
        return
    print("serialisers, same detached model (wall, peak: the whole process, build + write; write s: the write alone):")
    print(f"  {'writer':<9}{'layout':<15}{'wall s':>8}{'x bare':>8}{'write s':>9}{'peak MB':>9}{'net/W':>7}")
    for external in ("0", "1"):
        outs = {}
        for writer in ("ours", "onnx-ir"):
            out = os.path.join(workdir, f"save-{writer}-{external}.onnx")
            walls, peaks, writes = [], [], []
            for _ in range(repeats):
                wall, peak, text = measure(me("save", npz, arch, out, writer, external), cwd=workdir)
                walls.append(wall)
                peaks.append(peak)
                writes.append(json.loads(text.strip().splitlines()[-1])["write_s"])
            outs[writer] = out
            layout = "external data" if external == "1" else "one file"
            print(f"  {writer:<9}{layout:<15}{median(walls):8.2f}{median(walls) / bare_wall:8.2f}"
                  f"{median(writes):9.2f}{mb(max(peaks)):>9}{(max(peaks) - base_peak) / weights:7.2f}", flush=True)
        same = json.loads(run(me("same-weights", outs["ours"], outs["onnx-ir"]), cwd=workdir).strip().splitlines()[-1])
        print(f"    same initializers in both files: {same['same']}")
        for f in os.listdir(workdir):
            if f.startswith("save-"):
                os.unlink(os.path.join(workdir, f))


if __name__ == "__main__":
    sys.exit(main() or 0)
