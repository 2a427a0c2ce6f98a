#!/usr/bin/env bash
# This Mac's status, read-only, with what is wrong and the command that fixes it (fleet/doctor.ts:
# `npm run fleet -- status` for this one Mac). `npm run doctor -- --help` says more.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
# --help needs no engine, no state and no Mac.
for a in "$@"; do
  case "$a" in -h | --help) exec node --import tsx "$repo/fleet/doctor.ts" --help ;; esac
done
ensure_engine
ensure_local_state
# With COLIMA_PULSE_HOST_ROOT set (a simulated Mac already running, as in the tests), the stack is
# COLIMA_PULSE_STACK, as scripts/converge.sh takes it; else this Mac, or off a Mac the demo's.
if [ -z "${COLIMA_PULSE_HOST_ROOT:-}" ]; then
  declare -F target_this_mac >/dev/null || die "scripts/lib.sh has no target_this_mac: this checkout is incomplete (git status)"
  target_this_mac
fi
exec node --import tsx "$repo/fleet/doctor.ts" "$@"
