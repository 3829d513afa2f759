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

# Whether a PostgreSQL answers at DATABASE_URL (else the tests' default, 127.0.0.1:5432).
postgres_answers() {
  local target
  target="$(node -p 'const u = new URL(process.env.DATABASE_URL || "postgres://127.0.0.1:5432"); `${u.hostname} ${u.port || 5432}`')"
  timeout 2 bash -c "exec 3<>/dev/tcp/${target% *}/${target#* }" 2>/dev/null
}

# Debian packages: nats-server (embedded NATS for the demo and fault tests), sox and espeak-ng (audio tools),
# chromium (the console's browser test), pgbouncer (the tests put it in front of PostgreSQL in transaction
# pooling mode), and postgresql when no PostgreSQL answers (the tests' `devstack up` then starts a cluster of it).
missing=()
command -v nats-server >/dev/null 2>&1 || [[ -x /usr/sbin/nats-server ]] || missing+=(nats-server)
command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || postgres_answers || missing+=(postgresql)
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
