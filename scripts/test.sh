#!/usr/bin/env bash
# The full test suite (README, second command; .ci/run runs this). Installs what it needs, starts
# the real test services, runs typecheck, lint and every test, and stops the services again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# What the tests run besides the services' packages (test/services/services.sh installs those):
# shellcheck (the supervisor as sh, and the workflow's run: steps through actionlint), dash (the
# supervisor under another strict sh), util-linux's script (a terminal for the commands that ask),
# prometheus for its promtool (test/fleet/metrics.test.ts: `promtool check metrics`; the tests never
# run its server, which Debian enables where systemd runs; its recommended node exporter is left out).
need_packages() {
  local missing=()
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  command -v dash >/dev/null || missing+=(dash)
  command -v script >/dev/null || missing+=(bsdutils)
  command -v promtool >/dev/null || missing+=(prometheus)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_node
ensure_node_modules
ensure_engine
need_packages
# The linter of .github/workflows/*.yml (test/scripts/workflows.test.ts), built once per machine.
bash scripts/actionlint.sh >/dev/null || die "no actionlint: see the messages above (scripts/actionlint.sh)"

say "typecheck (tsc, strict) and lint (biome)"
npx tsc -p tsconfig.json --noEmit --noCheck false
npx biome check .

# Test files run in parallel, each in its own process with its own dockerd (a lane,
# test/helpers/services.ts); everything else they use (simulated Macs, stacks, state) is their own.
# Two at once on two cores: with three, a loaded machine missed deadlines the simulator keeps as the
# real tools do (lima asks a host agent's ha.sock for 3 s), which is not what the suite tests
# (commit 2ba0622); a file still spends part of its time waiting on simulated boots, gates and
# timeouts (bench/RESULTS.md, the suite's row).
jobs="${COLIMA_PULSE_TEST_JOBS:-2}"
[[ "$jobs" =~ ^[1-9][0-9]?$ ]] || die "COLIMA_PULSE_TEST_JOBS (environment) = \"$jobs\": must be a whole number from 1 to 99"

# Linux's default of 32768 PIDs wraps within minutes here (every simulated tool is a process), and a
# PID that a stale pid file or a shell variable still names is then some other test's process: on a
# Mac (99999 PIDs, few new processes) that takes far longer than any run. Give the suite room.
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 0)
if [ "$pid_max" -gt 0 ] && [ "$pid_max" -lt 4194304 ]; then
  if { echo 4194304 >/proc/sys/kernel/pid_max; } 2>/dev/null; then
    say "kernel.pid_max: $pid_max -> 4194304 (PIDs are not handed out again during the run)"
  else
    say "kernel.pid_max is $pid_max and cannot be raised here (not root?): PIDs may be reused during the run"
  fi
fi

say "running tests ($jobs files at a time) on the test services (dockerd ×$jobs, registry)"
# The long end-to-end files first, so the short ones fill in around them at the end.
files=() # (no mapfile: bash 3.2, every Mac's /bin/bash, has none)
while IFS= read -r f; do files+=("$f"); done < <(find test/e2e -name '*.test.ts' | sort; find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
COLIMA_PULSE_TEST_LANES="$jobs" exec test/services/services.sh run -- \
  node --import tsx --test --test-concurrency="$jobs" --test-reporter=spec "$@" "${files[@]}"
