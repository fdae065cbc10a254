#!/usr/bin/env bash
# Makes a project-local Python venv (.venv) holding the CPU PyTorch wheel, whose libtorch the torch
# addon builds against. Idempotent. Override the wheel with SEGLOSS_TORCH_SPEC (e.g. "torch==2.11.0").
set -euo pipefail
cd "$(dirname "$0")/.."
spec="${SEGLOSS_TORCH_SPEC:-torch==2.13.0+cpu}"
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch' 2>/dev/null; then
  echo "libtorch: .venv already has torch $(.venv/bin/python -c 'import torch;print(torch.__version__)')"
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install --retries 0 --timeout 3 --quiet "$spec" numpy
echo "libtorch: installed $(.venv/bin/python -c 'import torch;print(torch.__version__)') into .venv"
