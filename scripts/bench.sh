#!/usr/bin/env bash
# The benchmark (bench/run.ts): installs what it needs, starts the test services, prints the
# table; `npm run bench -- --write` also stores it in bench/RESULTS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_node_modules
ensure_engine

# The fleet-vs-Ansible rows (bench/run.ts sideBySide) run Debian's ansible-core (2.14) and measure
# with Debian's python3 (bench/cputree.py), as scripts/test.sh need_packages installs its own.
need_packages() {
  local missing=()
  command -v ansible-playbook >/dev/null || missing+=(ansible-core)
  [ -x /usr/bin/python3 ] || missing+=(python3)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[@]+"${missing[@]}"} >/dev/null
}
need_packages
exec test/services/services.sh run -- npx tsx bench/run.ts "$@"
