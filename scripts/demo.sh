#!/usr/bin/env bash
# The whole system on embedded defaults with a simulated call. Pass --speed N to play the call faster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node tools/demo/dist/main.js "$@"
