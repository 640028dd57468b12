"""Inference speed of the exported model (onnxruntime, CPU) next to the original (Theano, C mode) and
the PyTorch model that ``python -m exporter to-torch`` generates, on the same weights and inputs.

    .venv/bin/python benchmarks/inference.py                                   # small, vgg16, resnet50; batches 1,16
    .venv/bin/python benchmarks/inference.py --models small,vgg16 --batches 1 --repeats 5

For each model: build it with the Theano-free Lasagne API, capture arch.json, save random weights as
model.npz (Lasagne's initialisation for W, random biases / batch-norm statistics) and random inputs;
export twice (``--no-optimize`` and ``--optimize``), convert the plain export with ``to-torch``; then,
each in its own process, time:

  ort       onnxruntime CPUExecutionProvider, default session options, on the --no-optimize export
  ort-opt   the same on the --optimize export (BatchNorm folded into the convolutions, Identity dropped)
  torch     the generated nn.Module, eval(), torch.inference_mode()
  theano    the real Lasagne 0.1 (+ the test suite's 0.2 back-ports) network in .venv-legacy,
            set_all_param_values(model.npz), theano.function(deterministic=True), C mode

ms/batch is the median of --repeats runs after one warm-up run.  Each backend's output is compared
with onnxruntime's (max |diff| / max |ort|, must be <= 1e-4).  ``--threads N`` sets every runtime's
thread count (default: each runtime's own default; on a shared machine other people's processes make
the multi-threaded timings noisy, the load average is printed before and after).  A batch whose warm-up would
pass --budget seconds (extrapolated from the previous batch size) is skipped and said so.
"""
from __future__ import annotations

import argparse
import datetime
import filecmp
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (LEGACY_PYTHON, MODELS, PYTHON, ROOT, THEANO_FLAGS, ChildFailed, build_network, env,  # noqa: E402
                     machine, measure, run, time_batches)

TOLERANCE = 1e-4
RANDOM_PARAMS = {  # role -> (distribution, a, b); W keeps Lasagne's initialisation
    "b": ("normal", 0.0, 0.1), "beta": ("normal", 0.0, 0.1), "gamma": ("uniform", 0.8, 1.2),
    "mean": ("normal", 0.0, 0.1), "inv_std": ("uniform", 0.8, 1.25),
}


# -- children (.venv) ----------------------------------------------------------------------------------
def child_setup(name, workdir, batches):
    import numpy as np

    from exporter.compat import activate

    activate()
    import lasagne

    from exporter.frontends.lasagne_live import capture

    batches = [int(b) for b in batches.split(",")]
    np.random.seed(0)
    lasagne.random.set_rng(np.random.RandomState(0))
    out = build_network(name)
    graph = capture(out, source=MODELS[name][0])
    with open(os.path.join(workdir, "arch.json"), "w") as f:
        f.write(graph.to_json())
    rng = np.random.RandomState(1)
    values = []
    for p in lasagne.layers.get_all_params(out):
        v = p.get_value()
        role = (p.name or "").rsplit(".", 1)[-1]
        if role in RANDOM_PARAMS:
            kind, a, b = RANDOM_PARAMS[role]
            v = getattr(rng, kind)(a, b, v.shape)
        values.append(np.asarray(v, dtype=np.float32))
    np.savez(os.path.join(workdir, "model.npz"), *values)
    shape = MODELS[name][1]
    np.savez(os.path.join(workdir, "inputs.npz"),
             **{f"x{b}": rng.standard_normal((b,) + shape).astype(np.float32) for b in batches})
    print(json.dumps({"params": int(sum(v.size for v in values))}))


def _load_inputs(path, batches):
    import numpy as np

    with np.load(path) as z:
        return {b: z[f"x{b}"] for b in batches}


def child_ort(model, inputs, batches, repeats, budget, out, threads):
    import time

    import numpy as np
    import onnxruntime as ort

    batches = [int(b) for b in batches.split(",")]
    feeds = _load_inputs(inputs, batches)
    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    if int(threads):
        opts.intra_op_num_threads = int(threads)
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    name = sess.get_inputs()[0].name
    results, outputs = time_batches(lambda x: sess.run(None, {name: x})[0], feeds, batches, int(repeats), float(budget))
    np.savez(out, **{f"y{b}": v for b, v in outputs.items()})
    print(json.dumps({"load_s": load_s, "results": results, "version": ort.__version__}))


def child_torch(torch_dir, inputs, batches, repeats, budget, out, threads):
    import importlib.util
    import time

    import numpy as np
    import torch

    if int(threads):
        torch.set_num_threads(int(threads))
    batches = [int(b) for b in batches.split(",")]
    feeds = _load_inputs(inputs, batches)
    t0 = time.perf_counter()
    spec = importlib.util.spec_from_file_location("generated_model", os.path.join(torch_dir, "model.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Model()
    model.load_state_dict(torch.load(os.path.join(torch_dir, "state_dict.pt")))
    model.eval()
    load_s = time.perf_counter() - t0

    def fn(x):
        with torch.inference_mode():
            y = model(torch.from_numpy(x))
        return (y[0] if isinstance(y, tuple) else y).numpy()

    results, outputs = time_batches(fn, feeds, batches, int(repeats), float(budget))
    np.savez(out, **{f"y{b}": v for b, v in outputs.items()})
    print(json.dumps({"load_s": load_s, "results": results, "version": torch.__version__,
                      "threads": torch.get_num_threads()}))


def child_compare(ref, other, batches):
    import numpy as np

    errs = {}
    with np.load(ref) as a, np.load(other) as b:
        for batch in batches.split(","):
            k = f"y{batch}"
            if k in a.files and k in b.files:
                x, y = a[k].astype(np.float64), b[k].astype(np.float64)
                errs[batch] = (float(np.max(np.abs(x - y)) / max(1e-30, float(np.max(np.abs(x)))))
                               if x.shape == y.shape else float("inf"))
    print(json.dumps(errs))


CHILDREN = {"setup": child_setup, "ort": child_ort, "torch": child_torch, "compare": child_compare}


# -- parent --------------------------------------------------------------------------------------------
def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def me(*args):
    return [PYTHON, os.path.abspath(__file__), "--child", *map(str, args)]


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="small,vgg16,resnet50", help=f"comma-separated, of {', '.join(MODELS)}")
    ap.add_argument("--batches", default="1,16", help="comma-separated batch sizes (default 1,16)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs after the warm-up (median reported; "
                                                           "fast runs are repeated up to ~1 s)")
    ap.add_argument("--budget", type=float, default=180.0,
                    help="seconds allowed for warm-up + runs of one model/backend/batch (default 180)")
    ap.add_argument("--backends", default="ort,ort-opt,torch,theano", help="comma-separated subset")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="which time per batch to show (min is less sensitive to other processes)")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for every runtime (onnxruntime intra-op, torch, OpenBLAS/OpenMP for Theano); "
                         "default 0: each runtime's default")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary directory, removed)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, *rest = args.child
        return CHILDREN[name](*rest)
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    batches = sorted(int(b) for b in args.batches.split(","))
    backends = args.backends.split(",")
    workdir = args.workdir or tempfile.mkdtemp(prefix="inference_")
    os.makedirs(workdir, exist_ok=True)
    try:
        return bench(args, models, batches, backends, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args, models, batches, backends, workdir):
    bstr = ",".join(map(str, batches))
    print(f"# inference: {machine()}; {datetime.date.today()}")
    threads = f"{args.threads} thread(s) per runtime" if args.threads else "each runtime's default threads"
    print(f"# {args.stat} ms/batch of >= {args.repeats} runs after 1 warm-up; {threads} on {os.cpu_count()} cores; "
          f"load average {loadavg()}", flush=True)
    rows, notes = [], []
    if "theano" in backends and not os.path.exists(LEGACY_PYTHON):
        notes.append(f"theano: skipped everywhere: no legacy environment at {LEGACY_PYTHON} (scripts/setup-legacy.sh)")
        backends = [b for b in backends if b != "theano"]
    for name in models:
        d = os.path.join(workdir, name)
        os.makedirs(d, exist_ok=True)
        print(f"# {name}: setting up, exporting, converting to torch ...", flush=True)
        info = last_json(run(me("setup", name, d, bstr)))
        npz, arch, inputs = (os.path.join(d, f) for f in ("model.npz", "arch.json", "inputs.npz"))
        plain, opt = os.path.join(d, "plain.onnx"), os.path.join(d, "opt.onnx")
        export = [PYTHON, "-m", "exporter", npz, "OUT", "--manifest", arch, "--no-check", "--quiet"]
        run([plain if a == "OUT" else a for a in export] + ["--no-optimize"])
        same = False
        if "ort-opt" in backends:
            run([opt if a == "OUT" else a for a in export] + ["--optimize"])
            same = filecmp.cmp(plain, opt, shallow=False)  # in chunks: this process must stay small
            if same:
                notes.append(f"{name} ort-opt: not timed: --optimize leaves this model unchanged (nothing to fold)")
        if "torch" in backends:
            run([PYTHON, "-m", "exporter", "to-torch", plain, "--out", os.path.join(d, "torch"), "--quiet"])
        res, extra = {}, {}
        theano_env = env(THEANO_FLAGS=THEANO_FLAGS)
        if args.threads:
            theano_env.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
        plan = [("ort", me("ort", plain, inputs, bstr, args.repeats, args.budget, os.path.join(d, "y_ort.npz"),
                           args.threads), None),
                ("ort-opt", me("ort", opt, inputs, bstr, args.repeats, args.budget, os.path.join(d, "y_ort-opt.npz"),
                               args.threads), None),
                ("torch", me("torch", os.path.join(d, "torch"), inputs, bstr, args.repeats, args.budget,
                             os.path.join(d, "y_torch.npz"), args.threads), None),
                ("theano", [LEGACY_PYTHON, os.path.join(ROOT, "benchmarks", "_theano_worker.py"), name, npz, inputs, bstr,
                            args.repeats, args.budget, os.path.join(d, "y_theano.npz")], theano_env)]
        for backend, cmd, environ in plan:
            if backend not in backends or (backend == "ort-opt" and same):
                continue
            print(f"#   timing {backend} ...", flush=True)
            try:
                wall, peak, text = measure(cmd, cwd=d, environ=environ)
            except ChildFailed as e:
                notes.append(f"{name} {backend}: FAILED: {str(e).splitlines()[-1]}")
                continue
            out = last_json(text)
            res[backend] = {int(k): v for k, v in out["results"].items()}
            if args.stat == "min":
                for v in res[backend].values():
                    if "min_ms" in v:
                        v["ms"] = v["min_ms"]
            extra[backend] = out | {"peak_mb": peak / 1e6}
            for b, r in res[backend].items():
                if "skipped" in r:
                    notes.append(f"{name} batch {b} {backend}: skipped: {r['skipped']}")
            if backend != "ort" and "ort" in res:
                errs = last_json(run(me("compare", os.path.join(d, "y_ort.npz"), os.path.join(d, f"y_{backend}.npz"), bstr)))
                for b, e in errs.items():
                    res[backend][int(b)]["err"] = e
        if "theano" in extra:
            t = extra["theano"]
            notes.append(f"{name} theano: compile {t['compile_s']:.1f} s, {t['conv_ops'] or 'no conv'} "
                         f"(Theano {t['theano']}, Lasagne {t['lasagne']}, blas {t['blas']}), peak RSS {t['peak_mb']:,.0f} MB")
        for backend in ("ort", "ort-opt", "torch"):
            if backend in extra:
                notes.append(f"{name} {backend}: load {extra[backend]['load_s']:.2f} s, peak RSS {extra[backend]['peak_mb']:,.0f} MB")
        for b in batches:
            rows.append((name, info["params"], b, {k: v.get(b, {}) for k, v in res.items()}))

    def ms(r):
        return (f"{r['ms']:.2f}" if r['ms'] < 10 else f"{r['ms']:.1f}") if r.get("ms") is not None else ("skip" if "skipped" in r else "-")

    def ratio(a, b):
        return f"{a['ms'] / b['ms']:.2f}" if a.get("ms") and b.get("ms") else "-"

    print()
    head = (f"{'model':<9}{'batch':>6}{'ort':>9}{'ort-opt':>9}{'torch':>9}{'theano':>10}"
            f"{'theano/ort':>11}{'torch/ort':>10}{'opt/ort':>8}  max rel. error vs ort (torch, theano, ort-opt)")
    print(head)
    print("-" * len(head))
    failed = []
    for name, params, b, r in rows:
        o, oo, t, th = (r.get(k, {}) for k in ("ort", "ort-opt", "torch", "theano"))
        errs = []
        for k, v in (("torch", t), ("theano", th), ("ort-opt", oo)):
            if "err" in v:
                errs.append(f"{v['err']:.1e}")
                if not v["err"] <= TOLERANCE:
                    failed.append(f"{name} batch {b} {k}: {v['err']:.3g} > {TOLERANCE}")
            else:
                errs.append("-")
        print(f"{name:<9}{b:>6}{ms(o):>9}{ms(oo):>9}{ms(t):>9}{ms(th):>10}"
              f"{ratio(th, o):>11}{ratio(t, o):>10}{ratio(oo, o):>8}  {', '.join(errs)}")
    print(f"(ms per batch; ratios > 1 mean slower than onnxruntime on the --no-optimize export; "
          f"load average now {loadavg()})")
    for n in notes:
        print("note: " + n)
    for f in failed:
        print("MISMATCH: " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main() or 0)
