#!/usr/bin/env bash
# Every test: installs what is missing, builds in release mode (the numeric tests train small
# networks) and runs the whole suite with one thread per library.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The ONNX exports are run by onnxruntime in every run of the suite.
DFKD_ONNX_PYTHON="${DFKD_ONNX_PYTHON:-$(bash scripts/onnx-python.sh)}"
export DFKD_ONNX_PYTHON
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE
swift build -c release --build-tests
swift test -c release --skip-build --disable-swift-testing
