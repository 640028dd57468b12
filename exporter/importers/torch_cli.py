"""``python -m exporter to-torch MODEL.onnx --out DIR``: PyTorch source + state dict.

Writes ``DIR/model.py`` (an ``nn.Module`` named ``Model`` built from standard modules, attribute names
following the Lasagne layer names) and ``DIR/state_dict.pt``.  Nothing is written unless the
generated model imports, loads its weights and (unless ``--no-check``) matches onnxruntime.
"""
from __future__ import annotations

import os
import sys

from ..accuracy import IMPORTER_TOLERANCE
from ..errors import ExportError
from ..io import WriteError


class ImporterCheckError(ExportError):
    """The generated model does not reproduce onnxruntime's outputs."""


def add_arguments(parser):
    parser.add_argument("model", help="the ONNX model (as written by lasagne2onnx)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for model.py and state_dict.pt")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip comparing the generated model with onnxruntime on a random input")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show progress even when not on a terminal")


def convert(model_path):
    """(view, source, state arrays, torch model) for an ONNX file or ModelProto; raises ExportError subclasses."""
    from . import onnx_reader, to_torch
    from .common import model_label, vetted_model

    view = onnx_reader.load(vetted_model(model_path))
    source, state = to_torch.generate(view, model_label(model_path))
    model = to_torch.load_generated(source, state)
    return view, source, state, model


def check(view, model_path, model):
    """Max relative error of the torch model against onnxruntime (None when inputs are not static)."""
    import torch

    from ..accuracy import relative_error
    from .common import reference_inputs, run_onnxruntime

    feeds = reference_inputs(view)
    if feeds is None:
        return None
    want = run_onnxruntime(model_path, feeds)
    with torch.no_grad():
        got = model(*[torch.from_numpy(feeds[n]) for n in view.inputs])
    got = got if isinstance(got, tuple) else (got,)
    return max(relative_error(g.numpy(), w) for g, w in zip(got, want))


STEPS = ("building the PyTorch module", "checking it against onnxruntime", "saving model.py and state_dict.pt")


def convert_checked(model_path, check_outputs=True, progress=None):
    """``(view, source, torch model, max relative error or None)``: :func:`convert`, the folded-layer
    warning, then (``check_outputs``) the comparison with onnxruntime, refusing a model beyond the
    tolerance.  What ``to-torch`` and :func:`exporter.api.to_torch` run; ``progress`` (a callback
    ``(done, total, what)``) hears of each of :data:`STEPS` as it starts."""
    from ..progress import steps
    from .common import folded_note, require

    require("torch", "torch", "to-torch")
    step, _ = steps(progress, STEPS)
    step(STEPS[0])
    view, source, _, model = convert(model_path)
    if folded_note(view):
        print(folded_note(view), file=sys.stderr)
    if check_outputs:
        step(STEPS[1])
    err = check(view, model_path, model) if check_outputs else None
    if err is not None and not err <= IMPORTER_TOLERANCE:
        raise ImporterCheckError(f"the generated PyTorch model differs from onnxruntime by {err:.3g} "
                                 f"(relative; limit {IMPORTER_TOLERANCE}); nothing written")
    return view, source, model, err


def check_out_dir(out):
    if os.path.exists(out) and not os.path.isdir(out):
        raise ExportError(f"{out}: exists and is not a directory")


def write_outputs(out, source, model, progress=None):
    """``out/model.py`` and ``out/state_dict.pt``: both or neither."""
    import torch

    from ..io import staged_outputs
    from ..progress import steps

    step, done = steps(progress, STEPS)
    step(STEPS[2])
    with staged_outputs() as outputs:  # both files or neither
        state_path = outputs.add(os.path.join(out, "state_dict.pt"))
        source_path = outputs.add(os.path.join(out, "model.py"))
        try:
            torch.save(model.state_dict(), state_path)
        except RuntimeError as e:  # torch's writer reports a full disk this way
            raise WriteError(os.path.join(out, "state_dict.pt"), " ".join(str(e).split())[:200]) from None
        with open(source_path, "w", encoding="utf-8") as f:
            f.write(source)
    done()


def run(args):
    from ..progress import printer

    check_out_dir(args.out)
    progress = printer(args.progress, label="")
    view, source, model, err = convert_checked(args.model, args.check, progress)
    write_outputs(args.out, source, model, progress)
    if not args.quiet:
        n_params = sum(p.numel() for p in model.parameters())
        checked = "" if err is None else f", max relative difference to onnxruntime {err:.2g}"
        print(f"wrote {os.path.join(args.out, 'model.py')} and state_dict.pt: "
              f"{len(list(model.children()))} modules, {n_params:,} parameters{checked}")
    return 0
