#!/usr/bin/env bash
# Runs generate.py with Debian's python (python3-torch, python3-onnx, python3-numpy).
#   generate.sh                 regenerate the committed test fixture (packages/whisper/fixtures/whisper-test-random)
#   generate.sh --preset tiny --out DIR [--english-only]    any generate.py arguments
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python=/usr/bin/python3

if ! "$python" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "missing python packages: apt-get install -y python3-torch python3-onnx python3-numpy" >&2
  exit 1
fi

if [ "$#" -eq 0 ]; then
  fixture="$repo/packages/whisper/fixtures/whisper-test-random"
  rm -rf "$fixture"
  set -- --preset test --out "$fixture" --reference-out "$fixture/reference"
fi
# torch.onnx's tracer warnings are expected (shape arithmetic is traced on purpose).
PYTHONWARNINGS=ignore exec "$python" "$here/generate.py" "$@"
