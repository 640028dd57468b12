#!/usr/bin/env bash
# Set up both environments and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-legacy.sh
exec .venv/bin/python -m pytest -n 2 "$@"
