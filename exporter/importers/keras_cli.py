"""``python -m exporter to-keras MODEL.onnx --out model.keras``: a Keras 3 model (built on the torch
backend; the file loads on any backend, with ``lasagne2onnx_keras_layers.py`` written beside it when
it uses layers Keras lacks).

The model is saved uncompiled (a model compiled and saved under torch does not load under
TensorFlow).  Nothing is written unless the model builds and (unless ``--no-check``) matches
onnxruntime on a random input.
"""
from __future__ import annotations

import os
import sys
import warnings

from ..accuracy import IMPORTER_TOLERANCE
from ..errors import ExportError
from .torch_cli import ImporterCheckError

LAYERS_MODULE = "lasagne2onnx_keras_layers"  # the copy of keras_layers written beside a model that needs it


def add_arguments(parser):
    parser.add_argument("model", help="the ONNX model (as written by lasagne2onnx)")
    parser.add_argument("--out", required=True, metavar="MODEL.keras", help="the .keras file to write")
    parser.add_argument("--data-format", choices=("channels_last", "channels_first"), default="channels_last",
                        help="channels_last (default: NHWC inputs/outputs, transposed kernels) or channels_first")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip comparing the Keras model with onnxruntime on a random input")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show progress even when not on a terminal")


def predict(model, info, view, feeds):
    """Run the Keras model on ONNX-layout feeds; returns ONNX-layout numpy outputs."""
    import numpy as np

    from .to_keras import from_keras_layout, to_keras_layout

    ins = [to_keras_layout(feeds[n], l) for n, l in zip(view.inputs, info["input_layouts"])]
    out = model(ins if len(ins) > 1 else ins[0], training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    res = []
    for o, layout in zip(out, info["output_layouts"]):
        o = o.detach().cpu().numpy() if hasattr(o, "detach") else np.asarray(o)
        res.append(from_keras_layout(o, layout))
    return res


def select_torch_backend():
    """The importer builds on Keras' torch backend: when the user's ``KERAS_BACKEND`` asks for another one
    (perhaps not even installed) and keras is not imported yet, use torch for this command, saying so."""
    requested = os.environ.setdefault("KERAS_BACKEND", "torch")
    if requested != "torch" and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
        print(f"note: to-keras builds the model on Keras' torch backend; ignoring KERAS_BACKEND={requested} "
              "for this command", file=sys.stderr)


STEPS = ("checking the Keras model against onnxruntime", "saving the .keras file")


def build_checked(model_path, data_format="channels_last", check_outputs=True, progress=None):
    """``(keras model, info, max relative error or None)`` for an ONNX file or ModelProto: built, then
    (``check_outputs``) compared with onnxruntime, refusing a model beyond the tolerance.  What
    ``to-keras`` and :func:`exporter.api.to_keras` run.  ``progress`` (a callback ``(done, total,
    what)``) hears of each ONNX node built, then of each of :data:`STEPS`."""
    from ..progress import steps
    from .common import require

    for module in ("keras", "torch"):  # Keras runs on its torch backend here
        require(module, "keras", "to-keras")
    select_torch_backend()
    from . import onnx_reader
    from ..accuracy import relative_error
    from .common import folded_note, model_label, reference_inputs, run_onnxruntime, vetted_model
    from .to_keras import build

    view = onnx_reader.load(vetted_model(model_path))
    if folded_note(view):
        print(folded_note(view), file=sys.stderr)
    model, info = build(view, data_format, name=os.path.splitext(model_label(model_path))[0],
                        progress=progress and (lambda done, total, what: progress(done, total, f"built {what}")))
    err = None
    if check_outputs:
        steps(progress, STEPS)[0](STEPS[0])
        feeds = reference_inputs(view)
        if feeds is not None:
            want = run_onnxruntime(model_path, feeds)
            err = max(relative_error(g, w) for g, w in zip(predict(model, info, view, feeds), want))
            if not err <= IMPORTER_TOLERANCE:
                raise ImporterCheckError(f"the Keras model differs from onnxruntime by {err:.3g} (relative; "
                                         f"limit {IMPORTER_TOLERANCE}); nothing written")
    return model, info, err


def check_out_name(out):
    if not os.fspath(out).endswith(".keras"):
        raise ExportError(f"{out}: the output file name must end in .keras")


def layers_module_source() -> str:
    """The source of :mod:`exporter.importers.keras_layers`, checked to be the self-contained module it
    must be (see :func:`exporter.importers.codegen.check_layers_module`) before it is written anywhere."""
    import importlib.util

    from .codegen import check_layers_module

    with open(importlib.util.find_spec(f"{__package__}.keras_layers").origin, encoding="utf-8") as f:
        source = f.read()
    check_layers_module(source, f"{LAYERS_MODULE}.py")
    return source


def layers_module_to_write(folder):
    """``(path, source)`` of ``folder/lasagne2onnx_keras_layers.py`` when it is to be written, None when it
    already holds this source; a file of that name that is not ours is refused, never replaced."""
    source = layers_module_source()
    path = os.path.join(folder, LAYERS_MODULE + ".py")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                existing = f.read()
        except (OSError, UnicodeDecodeError):
            existing = None
        if existing == source:
            return None
        if existing is None or existing.partition("\n")[0] != source.partition("\n")[0]:
            raise ExportError(f"{path}: exists and is not lasagne2onnx's Keras layers module; not replaced "
                              f"(move it, or write the model to another folder)")
    return path, source


def write_layers_module(folder) -> str:
    """Write (or leave, when it is there already) ``folder/lasagne2onnx_keras_layers.py``; returns its path."""
    from ..io import atomic_output

    todo = layers_module_to_write(folder)
    if todo is None:
        return os.path.join(folder, LAYERS_MODULE + ".py")
    path, source = todo
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(source)
    return path


def save(model, out, progress=None, custom_layers=()):
    """Write the Keras model to ``out`` (a .keras file) and, with ``custom_layers`` (the layers of
    keras_layers it uses), :data:`LAYERS_MODULE` beside it, so that plain Keras can load it: both or neither."""
    from ..io import staged_outputs
    from ..progress import steps

    step, done = steps(progress, STEPS)
    step(STEPS[1])
    module = layers_module_to_write(os.path.dirname(os.path.abspath(out))) if custom_layers else None
    with staged_outputs() as outputs:
        staged = outputs.add(out)  # ends in .keras, as Keras insists
        if module is not None:
            with open(outputs.add(module[0]), "w", encoding="utf-8") as f:
                f.write(module[1])
        with warnings.catch_warnings():  # keras' saver converts torch tensors with np.asarray(copy=False)
            warnings.filterwarnings("ignore", message=".*__array__ implementation doesn't accept a copy")
            model.save(staged)
    done()


def run(args):
    from ..progress import printer

    check_out_name(args.out)
    progress = printer(args.progress, label="")
    model, info, err = build_checked(args.model, args.data_format, args.check, progress)
    save(model, args.out, progress, info["custom_layers"])
    if not args.quiet:
        checked = "" if err is None else f", max relative difference to onnxruntime {err:.2g}"
        print(f"wrote {args.out}: {len(model.layers)} layers, {model.count_params():,} parameters, "
              f"{args.data_format}{checked}")
        if info["custom_layers"]:
            print(f"note: uses the layers {', '.join(info['custom_layers'])} of {LAYERS_MODULE}.py, written beside "
                  f"it: 'import {LAYERS_MODULE}' before keras.saving.load_model (any Keras backend)")
    return 0
