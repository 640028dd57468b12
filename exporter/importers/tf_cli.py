"""``python -m exporter to-tf MODEL.onnx --out DIR``: a TensorFlow SavedModel.

The Keras model of ``to-keras``, built here on Keras' TensorFlow backend, checked against onnxruntime,
exported with ``Model.export(format="tf_saved_model")``, then loaded back with ``tf.saved_model.load``
and checked again: its ``serve`` signature must reproduce onnxruntime's outputs within the importers'
tolerance, or nothing is written.  Needs TensorFlow (``pip install lasagne2onnx[tf]``).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile

from ..accuracy import IMPORTER_TOLERANCE
from ..errors import ExportError
from .torch_cli import ImporterCheckError

STEPS = ("checking the Keras model against onnxruntime", "exporting the SavedModel",
         "checking the SavedModel against onnxruntime")


def add_arguments(parser):
    parser.add_argument("model", help="the ONNX model (as written by lasagne2onnx)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the SavedModel directory to write (must not exist)")
    parser.add_argument("--data-format", choices=("channels_last", "channels_first"), default="channels_last",
                        help="channels_last (default: NHWC inputs/outputs, what TensorFlow runs best on CPU) or "
                             "channels_first")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip comparing the Keras model with onnxruntime before exporting (the SavedModel is "
                             "checked all the same)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show progress even when not on a terminal")


def select_tensorflow_backend():
    """Keras must run on TensorFlow here: chosen before keras is imported; refused once it runs on another."""
    from .common import require

    for module in ("tensorflow", "keras"):
        require(module, "tf", "to-tf")
    requested = os.environ.get("KERAS_BACKEND", "tensorflow")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != "tensorflow":
            raise ExportError(f"to-tf needs Keras on its TensorFlow backend, but keras is already imported with the "
                              f"{keras.backend.backend()!r} backend: run it in a fresh process")
        return
    if requested != "tensorflow":
        print(f"note: to-tf builds the model on Keras' TensorFlow backend; ignoring KERAS_BACKEND={requested} for "
              "this command", file=sys.stderr)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def check_out_dir(out):
    if os.path.lexists(out) and not (os.path.isdir(out) and not os.listdir(out)):
        raise ExportError(f"{out}: exists; give a new directory for the SavedModel")


def convert(model_path, out, data_format="channels_last", check_outputs=True, progress=None):
    """Build, check, export and re-check; returns ``(keras model, info, max relative error of the SavedModel)``."""
    select_tensorflow_backend()
    import numpy as np
    import tensorflow as tf

    from ..accuracy import relative_error
    from ..progress import steps
    from . import onnx_reader
    from .common import folded_note, model_label, reference_inputs, run_onnxruntime
    from .keras_cli import predict
    from .to_keras import build, from_keras_layout, to_keras_layout

    check_out_dir(out)
    step, done = steps(progress, STEPS)
    view = onnx_reader.load(model_path)
    if folded_note(view):
        print(folded_note(view), file=sys.stderr)
    model, info = build(view, data_format, name=os.path.splitext(model_label(model_path))[0], backend="tensorflow",
                        progress=progress and (lambda d, t, what: progress(d, t, f"built {what}")))
    feeds = reference_inputs(view)
    if feeds is None:
        raise ExportError(f"{model_label(model_path)}: to-tf checks the SavedModel on a random input, but an input "
                          f"has unknown dimensions beyond the batch axis")
    want = run_onnxruntime(model_path, feeds)
    if check_outputs:
        step(STEPS[0])
        err = max(relative_error(g, w) for g, w in zip(predict(model, info, view, feeds), want))
        if not err <= IMPORTER_TOLERANCE:
            raise ImporterCheckError(f"the Keras model differs from onnxruntime by {err:.3g} (relative; limit "
                                     f"{IMPORTER_TOLERANCE}) under TensorFlow; nothing written")
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out))}.", dir=parent)
    try:
        staged = os.path.join(staging, "saved_model")
        step(STEPS[1])
        model.export(staged, format="tf_saved_model", verbose=False)
        step(STEPS[2])
        served = tf.saved_model.load(staged)
        ins = [tf.constant(to_keras_layout(feeds[n], l)) for n, l in zip(view.inputs, info["input_layouts"])]
        got = served.serve(ins if len(ins) > 1 else ins[0])  # the signature of the Keras model's call
        got = list(got.values()) if isinstance(got, dict) else list(got) if isinstance(got, (list, tuple)) else [got]
        got = [from_keras_layout(np.asarray(g), l) for g, l in zip(got, info["output_layouts"])]
        err = max(relative_error(g, w) for g, w in zip(got, want))
        if not err <= IMPORTER_TOLERANCE:
            raise ImporterCheckError(f"the SavedModel differs from onnxruntime by {err:.3g} (relative; limit "
                                     f"{IMPORTER_TOLERANCE}); nothing written")
        if os.path.isdir(out):
            os.rmdir(out)  # empty (check_out_dir): replaced by the SavedModel
        os.replace(staged, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    done()
    return model, info, err


def run(args):
    from ..progress import printer

    check_out_dir(args.out)
    model, info, err = convert(args.model, args.out, args.data_format, args.check, printer(args.progress, label=""))
    if not args.quiet:
        print(f"wrote {args.out}: TensorFlow SavedModel ({len(model.layers)} Keras layers, {model.count_params():,} "
              f"parameters, {args.data_format}), serving signature within {err:.2g} of onnxruntime")
    return 0
