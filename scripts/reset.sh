#!/usr/bin/env bash
# Full reset of this machine's Colima profile — the seed's --full-reset, as an explicit decision
# for this one run (README "Safety model"). It is also how a VZ profile (or one with another
# runtime) is converted to QEMU, with or without earlier colima-pulse state on this Mac.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
npm run reset [-- OPTIONS]   full reset of this Mac's Colima profile (COLIMA_PROFILE)

Moves the profile's state (~/.colima/<profile>, its Lima instance and its data disk) into
BACKUP_DIR_BASE/<time>-<profile>, then provisions the profile anew on QEMU with the Docker
runtime, supervised by the LaunchDaemon. Converts a VZ profile the same way. Pulumi's preview
shows the backup folder and every folder that goes into it, then asks before anything changes.

Options:
  --backup=move     move the state to the backup folder first (default)
  --backup=prompt   ask on this terminal: move, or delete without a backup
  --backup=false    DELETE the state without a backup (only when you mean it)
  --yes             no confirmation prompt (the seed's --force-yes); needed without a terminal
  --help            this text
Any other option is passed to `pulumi up` (e.g. --diff).

No setting in Pulumi.yaml, a stack file or .env can ask for a reset: only this command, for the
run it starts (the decision is valid for 60 minutes and used once).
USAGE
}

backup=move
yes=false
args=()
for a in "$@"; do
  case "$a" in
    -h | --help) usage; exit 0 ;;
    --backup=move | --backup=false | --backup=prompt) backup="${a#--backup=}" ;;
    --backup*) die "$a: not a backup mode; use --backup=move (default), --backup=prompt or --backup=false (npm run reset -- --help)" ;;
    -y | --yes) yes=true; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done

if [ "$backup" = prompt ]; then
  [ -t 0 ] && [ -t 2 ] || die "--backup=prompt asks on a terminal, and there is none: choose --backup=move or --backup=false"
  while :; do
    printf 'Full reset: move the profile'\''s state to a backup folder first [m], or DELETE it without a backup [d]? ' >&2
    read -r answer
    case "$answer" in
      m | M | move) backup=move; break ;;
      d | D | delete) backup=false; break ;;
    esac
  done
fi
[ "$yes" = true ] || [ -t 0 ] || die "a full reset asks for confirmation on a terminal, and there is none: add --yes to confirm it here (the seed's --force-yes)"

ready_for_a_decision
check_up_options ${args[@]+"${args[@]}"}
stack="$COLIMA_PULSE_STACK"
profile="$(stack_profile)" || die "cannot read this stack's settings (above)"

say "FULL RESET of Colima profile '$profile' on stack '$stack' (backup: $backup)"
if [ "$backup" = move ]; then
  say "Pulumi's preview below shows the backup folder and what moves into it, then $(then_what "$yes")"
else
  say "--backup=false: the profile's state will be DELETED without a backup"
fi
COLIMA_PULSE_FULL_RESET="$profile" COLIMA_PULSE_BACKUP="$backup" COLIMA_PULSE_RESET_ID="$(date -u +%Y%m%dT%H%M%SZ)"
export COLIMA_PULSE_FULL_RESET COLIMA_PULSE_BACKUP COLIMA_PULSE_RESET_ID
exec bash scripts/converge.sh ${args[@]+"${args[@]}"}
