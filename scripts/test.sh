#!/usr/bin/env bash
# The full test suite: lint, type checks, every test against real NATS, PostgreSQL and an S3 server, then the
# system-level fault suite (docs/reliability.md). Arguments (test paths or vitest options) run just those tests.
# NATS_URL / DATABASE_URL / S3_ENDPOINT are used when set; otherwise the local NATS and PostgreSQL (when those
# are not reachable, an embedded nats-server and a private cluster of Debian's PostgreSQL are started; never
# PGlite), and the tests start their own S3 server (s3rver) and, where they need one, PgBouncer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

env_file=".data/test-env.sh"
rm -f "$env_file"
node packages/devstack/dist/cli.js up --write-env "$env_file" &
devstack=$!
trap 'kill "$devstack" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [[ -f "$env_file" ]] && break; sleep 0.5; done
# shellcheck disable=SC1090
source "$env_file"

pnpm lint
pnpm typecheck
if (($# > 0)); then
  pnpm vitest run "$@"
  exit
fi
pnpm vitest run
pnpm test:faults
