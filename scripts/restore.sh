#!/usr/bin/env bash
# Restore of a backup as this machine's Colima profile: the way back after a full reset (docs/OPERATIONS.md
# "Backups and restore"), as an explicit decision for this one run, previewed and confirmed.
# `npm run restore -- --help` says how. The command is scripts/decide.ts: this installs the Node.js and
# node_modules it runs on (scripts/lib.sh), then hands over to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
exec node --import tsx "$repo/scripts/decide.ts" restore "$@"
