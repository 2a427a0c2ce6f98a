#!/usr/bin/env bash
# The whole fleet from this machine (README "Fleet"): fleet/cli.ts on Pulumi's Automation API,
# one workspace per Mac's stack. `npm run fleet -- --help` lists the commands.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state
exec node --import tsx "$repo/fleet/cli.ts" "$@"
