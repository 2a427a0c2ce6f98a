#!/usr/bin/env bash
# Upgrade colima, lima, qemu and docker on this Mac, under supervision (docs/OPERATIONS.md "Upgrades").
# `npm run upgrade -- --help` says how. The command is scripts/decide.ts: this installs the Node.js and
# node_modules it runs on (scripts/lib.sh), then hands over to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
exec node --import tsx "$repo/scripts/decide.ts" upgrade "$@"
