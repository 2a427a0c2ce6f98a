#!/usr/bin/env bash
# Pulumi by hand (README "Drive Pulumi yourself"): a shell, or one command, with the engine and
# Node.js on PATH, the local backend's passphrase and this Mac's stack selected. Off a Mac, only
# against the simulated Mac `npm run demo` keeps up: nothing can target this machine's own /.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h | --help)
    cat <<'USAGE'
npm run shell [-- COMMAND...]   pulumi by hand: a shell (or COMMAND) ready for `pulumi preview`, `up`, `refresh`

The engine and Node.js on PATH, PULUMI_CONFIG_PASSPHRASE(_FILE) for this checkout's stacks, and
this Mac's stack (hostname -s) selected. Off a Mac, it runs only while `npm run demo` keeps the
simulated Mac up (stack `simulated`), pointed at that Mac.
e.g. npm run shell -- pulumi preview --diff
     npm run shell -- pulumi preview --refresh --expect-no-changes   (the drift check)
USAGE
    exit 0
    ;;
esac

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state
target_this_mac
pulumi stack select "$COLIMA_PULSE_STACK" >/dev/null 2>&1 ||
  die "no stack '$COLIMA_PULSE_STACK' in this checkout's backend yet: npm run converge makes it"
if [ $# -gt 0 ]; then exec "$@"; fi
say "stack '$COLIMA_PULSE_STACK'${COLIMA_PULSE_HOST_ROOT:+ (the simulated Mac $COLIMA_PULSE_HOST_ROOT)}: pulumi preview, up, refresh ... (exit to leave)"
exec "${SHELL:-bash}" -i
