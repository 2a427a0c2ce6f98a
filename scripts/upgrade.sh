#!/usr/bin/env bash
# Upgrade colima, lima, qemu and docker on this Mac, under supervision (docs/OPERATIONS.md "Upgrades").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run upgrade [-- OPTIONS]   upgrade colima, lima, qemu and docker on this Mac

Asks Homebrew (as HOMEBREW_USER, without auto-update) what it can upgrade, and shows it in
Pulumi's preview before anything changes. Then: `brew upgrade` of those formulae, the
LaunchDaemon reloads so the VM restarts under the new versions, and the health gates and the
smoke test run again. If a gate fails, the error names the versions before and after and the
last lines of LOG_PATH. Run `brew update` as HOMEBREW_USER first to fetch newer formulae.

Options:
  --yes    no confirmation prompt; needed without a terminal
  --help   this text
Any other option is passed to `pulumi up` (e.g. --diff).
USAGE
}

args=()
yes=false
for a in "$@"; do
  case "$a" in
    -h | --help) usage; exit 0 ;;
    -y | --yes) yes=true; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
[ "$yes" = true ] || [ -t 0 ] || die "an upgrade asks for confirmation on a terminal, and there is none: add --yes to confirm it here"

ready_for_a_decision
check_up_options ${args[@]+"${args[@]}"}
say "UPGRADE: Pulumi's preview below shows what Homebrew will upgrade, then $(then_what "$yes")"
COLIMA_PULSE_UPGRADE_ID="$(date -u +%Y%m%dT%H%M%SZ)"
export COLIMA_PULSE_UPGRADE_ID
exec bash scripts/converge.sh ${args[@]+"${args[@]}"}
