#!/usr/bin/env bash
# Makes (once) the Python that the suite runs ONNX exports with: a virtual environment with
# onnx, onnxruntime, safetensors and numpy from PyPI, outside the repository, in
# ${DFKD_CACHE_DIR:-~/.cache/dfkd}/onnx-python. Prints its python's path.
set -euo pipefail
place="${DFKD_CACHE_DIR:-$HOME/.cache/dfkd}/onnx-python"
packages=(onnx==1.17.0 onnxruntime==1.20.1 safetensors==0.4.5 numpy==1.26.4)
if ! "$place/bin/python" -c "import onnx, onnxruntime, safetensors.numpy, numpy" 2>/dev/null; then
  rm -rf "$place"
  mkdir -p "$(dirname "$place")"
  python3 -m venv "$place" >&2
  "$place/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" >&2
fi
echo "$place/bin/python"
