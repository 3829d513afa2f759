#!/usr/bin/env bash
# The full test suite: lint, type checks, then every test against real NATS, PostgreSQL and an S3 server.
# Uses NATS_URL / DATABASE_URL / S3_ENDPOINT when set; otherwise the local NATS and PostgreSQL of this machine
# kind, starting embedded ones when those are not reachable; tests start their own S3 server (s3rver).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

eval "$(node packages/devstack/dist/cli.js env --for tests)"
trap 'node packages/devstack/dist/cli.js down >/dev/null 2>&1 || true' EXIT

pnpm lint
pnpm typecheck
pnpm vitest run "$@"
