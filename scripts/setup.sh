#!/usr/bin/env bash
# Brings a fresh machine to a buildable state: pnpm, the Debian tools the system and its tests use, the
# workspace dependencies, and a build. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=9.15.9
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version)" != "$PNPM_VERSION" ]]; then
  log "installing pnpm $PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

# Debian packages: nats-server (embedded NATS for the demo and fault tests), sox and espeak-ng (audio tools),
# chromium (the console's browser test).
missing=()
command -v nats-server >/dev/null 2>&1 || [[ -x /usr/sbin/nats-server ]] || missing+=(nats-server)
command -v sox >/dev/null 2>&1 || missing+=(sox)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]} from Debian"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
fi

# onnxruntime-node's postinstall would download binaries; the CPU ones ship in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
log "installing workspace dependencies"
pnpm install --frozen-lockfile --reporter=silent
log "building"
pnpm build
