#!/usr/bin/env bash
# Set up the product environment in .venv (modern numpy, onnx, onnxruntime, torch CPU, keras).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: the pinned CPU wheel; an unpinned torch would pull GBs of CUDA packages
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test,keras]" "torch==2.13.0"
# onnx2torch for tests/test_interop.py, without its torchvision requirement (PyPI's torchvision does not
# load on the CPU torch; onnx2torch needs it only for NMS/RoiAlign, which the test stands in for)
.venv/bin/python -m pip install -q --no-deps "onnx2torch==1.5.15"
