#!/usr/bin/env bash
# Off a Mac: converge the bundled simulated Mac and keep it, and its Docker, up until Ctrl-C
# (README "Try it without a Mac"); `npm run shell` and `npm run doctor` then work against it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run demo [-- OPTIONS]   off a Mac: converge the simulated Mac, keep it up until Ctrl-C

Prints the DOCKER_HOST of its Docker. Meanwhile, in another terminal on this checkout:
  npm run shell -- pulumi preview --diff    pulumi by hand against it (npm run shell: a shell)
  npm run doctor                            its status, what is wrong and the fix

Options:
  --yes     apply Pulumi's preview without asking
  --help    this text
Any other option of `pulumi up` is passed to it.
USAGE
}

for a in "$@"; do case "$a" in -h | --help) usage; exit 0 ;; esac; done
[ "$(uname -s)" != Darwin ] || die "npm run demo runs the bundled simulator, which needs Linux; on a Mac, npm run converge converges this Mac"
COLIMA_PULSE_DEMO=1 exec bash scripts/converge.sh "$@"
