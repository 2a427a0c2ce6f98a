#!/usr/bin/env bash
# Provides actionlint (github.com/rhysd/actionlint), the linter of GitHub Actions workflows, for
# the test that lints .github/workflows/*.yml (test/scripts/workflows.test.ts). Built once per
# machine from its Go module through the Go module proxy, as scripts/engine.sh builds the engine;
# nothing is downloaded when the test runs.
#
#   scripts/actionlint.sh            prints the binary's path (builds it if needed)
#   scripts/actionlint.sh --check    prints it and exits 0 only if it is already there (no build)
set -euo pipefail

ACTIONLINT_VERSION="1.7.12"
cache="${COLIMA_PULSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/colima-pulse}"
bin="$cache/actionlint-v$ACTIONLINT_VERSION/bin"

log() { printf 'actionlint: %s\n' "$*" >&2; }

if [ -x "$bin/actionlint" ]; then
  echo "$bin/actionlint"
  exit 0
fi
[ "${1:-}" != "--check" ] || exit 1
command -v go >/dev/null || { log "no 'go' on PATH: cannot build actionlint v$ACTIONLINT_VERSION"; exit 1; }
log "building actionlint v$ACTIONLINT_VERSION from the Go module proxy (once per machine)"
mkdir -p "${bin%/*}"
tmp="$(mktemp -d "${bin%/*}/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# GOTOOLCHAIN=local: a Go too old for the module fails here, clearly, instead of fetching a toolchain.
GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS="-mod=mod" GOWORK=off \
  go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >&2
"$tmp/actionlint" -version >/dev/null
# Whole or not at all; a build that finished first in parallel wins.
mkdir -p "$bin"
[ -x "$bin/actionlint" ] || mv "$tmp/actionlint" "$bin/actionlint"
echo "$bin/actionlint"
