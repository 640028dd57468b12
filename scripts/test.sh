#!/usr/bin/env bash
# Set up both environments and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-legacy.sh
bash scripts/setup-tf.sh  # optional TensorFlow + tf2onnx env (.venv-tf) for tests/test_tf2onnx_source.py
exec .venv/bin/python -m pytest -n 2 "$@"
