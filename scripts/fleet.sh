#!/usr/bin/env bash
# The whole fleet from this machine (README "Fleet"): fleet/cli.ts on Pulumi's Automation API,
# one workspace per Mac's stack. `npm run fleet -- --help` lists the commands.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state
# Off a Mac, the simulated Macs `npm run demo -- --fleet N` keeps up (their roots on this machine);
# any other stack without SSH_HOST is refused by the program (nothing targets this machine's /).
if [ "$(uname -s)" != Darwin ] && [ -z "${COLIMA_PULSE_FLEET_HOST_ROOTS:-}" ]; then
  roots="$(demo_fleet_roots)" && export COLIMA_PULSE_FLEET_HOST_ROOTS="$roots"
fi
exec node --import tsx "$repo/fleet/cli.ts" "$@"
