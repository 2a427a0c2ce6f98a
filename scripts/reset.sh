#!/usr/bin/env bash
# Full reset of this machine's Colima profile — the seed's --full-reset, as an explicit decision
# for this one run (README "Safety model"). It is also how a VZ profile (or one with another
# runtime) is converted to QEMU, with or without earlier colima-pulse state on this Mac.
# `npm run reset -- --help` says how. The command is scripts/decide.ts: this installs the Node.js and
# node_modules it runs on (scripts/lib.sh), then hands over to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
exec node --import tsx "$repo/scripts/decide.ts" reset "$@"
