#!/usr/bin/env bash
# Optional environment for the "Keras/TensorFlow -> tf2onnx -> our importers" tests: .venv-tf.
# It holds the product stack (same pins as .venv) plus tensorflow-cpu 2.21 and tf2onnx 1.17; pip
# resolves them together with numpy 2.4 and protobuf 7.  It is kept apart from .venv so that the
# product environment never carries TensorFlow (the Keras importer must run on the torch backend).
# tests/test_tf2onnx_source.py uses it through a subprocess and skips, saying so, where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv-tf/bin/python ]; then
  "$PY" -m venv .venv-tf
fi
.venv-tf/bin/python -m pip install -q --upgrade pip
# torch pinned in the same command: an unpinned torch would pull GBs of CUDA packages
.venv-tf/bin/python -m pip install -q "torch==2.13.0" "tensorflow-cpu==2.21.*" "tf2onnx==1.17.*" \
  "numpy>=2.4,<2.5" "protobuf>=7,<8" "onnx>=1.23" "onnxruntime>=1.31" "keras>=3.15"
.venv-tf/bin/python - <<'PY'
import numpy, onnx, onnxruntime, google.protobuf, tensorflow as tf, tf2onnx, keras
print("setup-tf: numpy", numpy.__version__, "protobuf", google.protobuf.__version__, "onnx", onnx.__version__,
      "onnxruntime", onnxruntime.__version__, "tensorflow", tf.__version__, "tf2onnx", tf2onnx.__version__,
      "keras", keras.__version__)
PY
