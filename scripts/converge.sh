#!/usr/bin/env bash
# The main job (README, first command).
#   On a Mac:      `pulumi up` of this machine's stack (stacks/Pulumi.<machine>.yaml), with
#                  Pulumi's preview and confirmation prompt; extra arguments go to `pulumi up`.
#   Anywhere else: the same program against the bundled macOS simulator, clearly labelled as a
#                  simulation (scripts/simulate.ts); nothing on this machine outside the checkout
#                  and its /tmp folders is touched.
#   With COLIMA_PULSE_HOST_ROOT set (a simulated Mac that is already running, as in the tests):
#                  `pulumi up` of the selected stack against that Mac, as on a Mac.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run converge [-- OPTIONS]   converge this Mac: pulumi up of its stack (stacks/Pulumi.<hostname -s>.yaml)

Pulumi previews every change, then asks. Off a Mac, the same program converges the bundled
macOS simulator instead (a SIMULATION banner says so), and its simulated Mac shuts down at the
end; `npm run demo` keeps it up.

Options:
  --yes     no confirmation prompt (needed on a Mac without a terminal; off a Mac, a run without
            a terminal applies the preview and says so)
  --help    this text
Any other option of `pulumi up` is passed to it (e.g. --diff, --refresh); an option it does
not know stops here, before anything starts.
USAGE
}

for a in "$@"; do case "$a" in -h | --help) usage; exit 0 ;; esac; done

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state
check_up_options "$@"

select_stack() { # select_stack NAME: select it, or create it in the local backend
  pulumi stack select "$1" 2>/dev/null || pulumi stack init "$1" >&2
}

if [ "$(uname -s)" = Darwin ] || [ -n "${COLIMA_PULSE_HOST_ROOT:-}" ]; then
  [ "${COLIMA_PULSE_DEMO:-}" != 1 ] || die "npm run demo runs the bundled simulator, which needs Linux; on a Mac, npm run converge converges this Mac"
  stack="${COLIMA_PULSE_STACK:-$(hostname -s)}"
  say "converging ${COLIMA_PULSE_HOST_ROOT:-this Mac}: stack '$stack' (stacks/Pulumi.$stack.yaml)"
  select_stack "$stack"
  exec pulumi up --policy-pack "$repo/policy/analyzer" "$@" # the fleet's guardrails (policy/rules.ts)
fi

cat >&2 <<'BANNER'
+----------------------------------------------------------------------------+
|  SIMULATION - this is not a Mac. The program converges colima-pulse's      |
|  bundled macOS simulator (brew, colima, launchd ... in /tmp), whose VM     |
|  exposes a private test dockerd. Nothing outside this checkout and /tmp    |
|  changes.                                                                  |
+----------------------------------------------------------------------------+
BANNER
# The services (a dockerd, a registry) are this command's alone, and stopped when it ends, also on
# Ctrl-C or SIGTERM; a second command on this checkout is refused while they are held.
COLIMA_PULSE_SERVICES_SET=demo exec test/services/services.sh run -- node --import tsx scripts/simulate.ts "$@"
