#!/usr/bin/env bash
# The legacy reference environment for parity tests: Theano 1.0.5 + PyPI Lasagne 0.1 in .venv-legacy.
# Theano's C mode needs numpy<1.24, scipy<1.12 and a BLAS to link (Debian's libopenblas-dev).
# The product never runs here: only the tests' reference worker does.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] && ! ldconfig -p | grep -q "libopenblas.so "; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev) >/dev/null
  else
    echo "setup-legacy: libopenblas-dev is missing (apt-get install libopenblas-dev)" >&2
    exit 1
  fi
fi
if [ ! -x .venv-legacy/bin/python ]; then
  "$PY" -m venv .venv-legacy
fi
.venv-legacy/bin/python -m pip install -q --upgrade pip
.venv-legacy/bin/python -m pip install -q "numpy<1.24" "scipy<1.12" "Theano==1.0.5" "Lasagne==0.1"
