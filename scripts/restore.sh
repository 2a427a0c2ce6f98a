#!/usr/bin/env bash
# Restore of a backup as this machine's Colima profile: the way back after a full reset (docs/OPERATIONS.md
# "Backups and restore"), as an explicit decision for this one run, previewed and confirmed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run restore -- <backup folder> [OPTIONS]   put a backup back as this Mac's Colima profile

<backup folder> is one `npm run fleet -- status` lists: BACKUP_DIR_BASE/<time>-<profile> (made
by a full reset) or <time>-<profile>-before-restore (made by a restore). The profile's current
state is first moved into BACKUP_DIR_BASE/<now>-<profile>-before-restore (so a restore is undone
by restoring that), then the backup's folders are moved into place, all or none, and the
LaunchDaemon starts the restored VM through the health gates. Pulumi's preview shows what moves
where, then asks.

Options:
  --yes     no confirmation prompt; needed without a terminal
  --help    this text
Any other option is passed to `pulumi up` (e.g. --diff).
USAGE
}

from=""
yes=false
args=()
for a in "$@"; do
  case "$a" in
    -h | --help) usage; exit 0 ;;
    -y | --yes) yes=true; args+=("$a") ;;
    -*) args+=("$a") ;;
    *)
      [ -z "$from" ] || die "$a: one backup folder per restore (already given: $from)"
      from="$a"
      ;;
  esac
done
[ -n "$from" ] || die "which backup? npm run restore -- <backup folder> (npm run fleet -- status lists them; --help)"
case "$from" in /*) ;; *) die "$from: the backup folder must be an absolute path on the Mac" ;; esac
[ "$yes" = true ] || [ -t 0 ] || die "a restore asks for confirmation on a terminal, and there is none: add --yes to confirm it here"

ready_for_a_decision
check_up_options ${args[@]+"${args[@]}"}
stack="$COLIMA_PULSE_STACK"
profile="$(stack_profile)" || die "cannot read this stack's settings (above)"

say "RESTORE of $from as Colima profile '$profile' on stack '$stack'"
say "Pulumi's preview below shows what moves where, then $(then_what "$yes")"
COLIMA_PULSE_RESTORE="$from" COLIMA_PULSE_RESTORE_ID="$(date -u +%Y%m%dT%H%M%SZ)"
export COLIMA_PULSE_RESTORE COLIMA_PULSE_RESTORE_ID
exec bash scripts/converge.sh ${args[@]+"${args[@]}"}
