#!/usr/bin/env bash
# Off a Mac: converge the bundled simulated Mac and keep it, and its Docker, up until Ctrl-C
# (README "Try it without a Mac"); `npm run shell` and `npm run doctor` then work against it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run demo [-- OPTIONS]   off a Mac: converge the simulated Mac and keep it up until Ctrl-C

Prints the DOCKER_HOST of its Docker. Meanwhile, in another terminal on this checkout:
  npm run shell -- pulumi preview --diff    pulumi by hand against it (npm run shell: a shell)
  npm run doctor                            its status: what is wrong, and the fix

Options:
  --fleet N   instead: N simulated Macs (1 to 9) behind an OpenSSH server on 127.0.0.1, as
              stacks demo-1..N (stacks/Pulumi.demo-<n>.yaml, git-ignored), kept up until Ctrl-C;
              they converge with, in another terminal:
                npm run fleet -- up --stacks 'demo-*'
                npm run fleet -- status --stacks 'demo-*'
  --yes       apply Pulumi's preview without asking
  --help      this text
Any other option of `pulumi up` is passed to it.
USAGE
}

fleet=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --fleet) fleet="${2:-none}"; shift $(($# > 1 ? 2 : 1)) ;;
    --fleet=*) fleet="${1#--fleet=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "$(uname -s)" != Darwin ] || die "npm run demo runs the bundled simulator, which needs Linux; on a Mac, npm run converge converges this Mac"
if [ -n "$fleet" ]; then
  case "$fleet" in [1-9]) ;; *) die "--fleet (command line) = \"$fleet\": must be a whole number from 1 to 9 (npm run demo -- --help)" ;; esac
  [ ${#args[@]} -eq 0 ] || die "${args[*]} (command line): --fleet takes no other option (npm run demo -- --help)"
  export COLIMA_PULSE_DEMO_FLEET="$fleet"
fi
COLIMA_PULSE_DEMO=1 exec bash scripts/converge.sh ${args[@]+"${args[@]}"}
