#!/usr/bin/env bash
# Full reset of this machine's Colima profile — the seed's --full-reset, as an explicit decision
# for this one run (DESIGN.md §3):
#   npm run reset                      move the profile's state to BACKUP_DIR_BASE/<time>-<profile>,
#                                      then provision it anew (Pulumi previews the replacement and
#                                      asks for confirmation)
#   npm run reset -- --backup=false    delete the state without a backup (only when asked)
#   npm run reset -- --yes             no prompt (the seed's --force-yes; needed without a terminal)
# It runs `pulumi up --replace <the ColimaProfile's URN>` with COLIMA_PULSE_FULL_RESET set for that
# process only; no setting in Pulumi.yaml, a stack file or .env can ask for this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

backup=move
args=()
for a in "$@"; do
  case "$a" in
    --backup=move | --backup=false) backup="${a#--backup=}" ;;
    --backup=*) die "--backup takes move or false (got ${a#--backup=})" ;;
    *) args+=("$a") ;;
  esac
done

ensure_node
ensure_node_modules
ensure_engine
ensure_local_state
stack="${COLIMA_PULSE_STACK:-$( [ "$(uname -s)" = Darwin ] && hostname -s || echo simulated)}"
pulumi stack select "$stack" >/dev/null
read -r urn profile < <(pulumi stack export | node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment;
  const r = (d.resources ?? []).find((x) => x.type.endsWith(":ColimaProfile"));
  if (r) console.log(r.urn, r.outputs.profile);')
[ -n "${urn:-}" ] || die "stack $stack has no ColimaProfile yet: nothing to reset (run npm run converge)"

say "FULL RESET of Colima profile '$profile' on stack '$stack' (backup: $backup)"
if [ "$backup" = move ]; then
  say "its state (~/.colima/<profile>, the Lima instance and its disk) is moved to BACKUP_DIR_BASE first"
else
  say "--backup=false: its state is DELETED without a backup"
fi
export COLIMA_PULSE_FULL_RESET="$profile" COLIMA_PULSE_BACKUP="$backup"
exec bash scripts/converge.sh --replace "$urn" "${args[@]}"
