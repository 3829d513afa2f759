#!/usr/bin/env bash
# Runs generate.py with Debian's python (python3-torch, python3-onnx, python3-numpy).
#   generate.sh                 regenerate the committed test fixtures (packages/whisper/fixtures/whisper-test-*)
#   generate.sh --preset tiny --out DIR [--english-only]    any generate.py arguments
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python=/usr/bin/python3

if ! "$python" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "missing python packages: apt-get install -y python3-torch python3-onnx python3-numpy" >&2
  exit 1
fi

# torch.onnx's tracer warnings are expected (shape arithmetic is traced on purpose).
export PYTHONWARNINGS=ignore
if [ "$#" -eq 0 ]; then
  fixtures="$repo/packages/whisper/fixtures"
  rm -rf "$fixtures/whisper-test-random" "$fixtures/whisper-test-timestamped" "$fixtures/whisper-test-scripted"
  "$python" "$here/generate.py" --preset test --out "$fixtures/whisper-test-random" \
    --reference-out "$fixtures/whisper-test-random/reference"
  "$python" "$here/generate.py" --preset test --timestamped --no-quantized \
    --out "$fixtures/whisper-test-timestamped" --reference-out "$fixtures/whisper-test-timestamped/reference"
  "$python" "$here/generate.py" --preset test --scripted --out "$fixtures/whisper-test-scripted"
  # Personal data to redact (the transcriber's redaction test): a card number, a phone number and an email, written
  # and said as words; a partial's worth of a card number first. Longer sentences, so a longer context.
  rm -rf "$fixtures/whisper-test-pii"
  "$python" "$here/generate.py" --preset test --scripted --n-text-ctx 256 --out "$fixtures/whisper-test-pii" \
    --script " thank you." --script " good morning." --script " the card is 4539 1488" \
    --script " the card is 4539 1488 0343 6467." --script " the number is 415 555 0132." \
    --script " the email is jane.doe at example.com." \
    --script " and that's four one five, double five five, oh one three two." \
    --script " and the card is four five three nine, one four eight eight, oh three four three, six four six seven."
  exit 0
fi
exec "$python" "$here/generate.py" "$@"
