#!/usr/bin/env bash
# The main job (README, first command).
#   On a Mac:      `pulumi up` of this machine's stack (stacks/Pulumi.<machine>.yaml), with
#                  Pulumi's preview and confirmation prompt; extra arguments go to `pulumi up`.
#   Anywhere else: the same program against the bundled test services, clearly labelled as a
#                  simulation; nothing on this machine outside the checkout and a /tmp run dir
#                  is touched.
#   With COLIMA_PULSE_HOST_ROOT set (a simulated Mac that is already running, as in the tests):
#                  `pulumi up` of the selected stack against that Mac, as on a Mac.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state

select_stack() { # select_stack NAME: select it, or create it in the local backend
  pulumi stack select "$1" 2>/dev/null || pulumi stack init "$1" >&2
}

if [ "$(uname -s)" = Darwin ] || [ -n "${COLIMA_PULSE_HOST_ROOT:-}" ]; then
  stack="${COLIMA_PULSE_STACK:-$(hostname -s)}"
  say "converging ${COLIMA_PULSE_HOST_ROOT:-this Mac}: stack '$stack' (stacks/Pulumi.$stack.yaml)"
  select_stack "$stack"
  exec pulumi up "$@"
fi

cat >&2 <<'BANNER'
+----------------------------------------------------------------------------+
|  SIMULATION - this is not a Mac. The program converges colima-pulse's      |
|  bundled macOS simulator (brew, colima, launchd ... in /tmp), whose VM     |
|  exposes a private test dockerd. Nothing outside this checkout and /tmp    |
|  changes.                                                                  |
+----------------------------------------------------------------------------+
BANNER
trap 'test/services/services.sh stop' EXIT
envfile="$(test/services/services.sh start)"
set -a; source "$envfile"; set +a
npx tsx scripts/simulate.ts "$@"
