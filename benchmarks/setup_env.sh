#!/usr/bin/env bash
# A separate environment for the benchmarks: neuralfields plus the baselines it is compared with
# (siren-pytorch is installed here only, never as a dependency of the library).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${BENCH_VENV:-benchmarks/.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check -q "$TORCH_SPEC"
"$VENV/bin/pip" install --disable-pip-version-check -q -e ".[data]" "siren-pytorch==0.1.7"
echo "benchmark environment ready: $VENV/bin/python benchmarks/fit_camera.py"
