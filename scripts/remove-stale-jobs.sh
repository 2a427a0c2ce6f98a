#!/usr/bin/env bash
# Remove colima-pulse LaunchDaemons that a stack which is gone left on this Mac — a decision for this
# one run (README "Other autostarts"). `npm run remove-stale-jobs -- --help` says how. The command
# is scripts/decide.ts: this installs the Node.js and node_modules it runs on (scripts/lib.sh), then
# hands over to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
exec node --import tsx "$repo/scripts/decide.ts" remove-stale-jobs "$@"
