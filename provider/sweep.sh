# shellcheck shell=sh
# The stale-state sweep of one Colima profile (provider/lib/staleState.ts says what and why): POSIX
# sh, run as it is by the LaunchDaemon's supervisor before every start (provider/supervisor.sh)
# and by ColimaProfile before it provisions or adopts the profile (sweepStaleState). It defines
# `sweep`, which reports each removal through `log` (the caller's). Its settings come first, from
# sweepSettings in provider/lib/staleState.ts:
#   SWEEP_INSTANCE  the profile's Lima instance folder
#   SWEEP_DISK      its data disk's folder
#   SWEEP_NET       Lima's user-mode network folder (shared by the user's profiles)
#   SWEEP_PS        the Mac's ps
# Every Mac runs it under /bin/sh, bash 3.2 in POSIX mode: nothing here may need more.

# runs_as PID A [B]: PID is alive and its command line contains A (and B).
runs_as() {
  [ -n "$1" ] || return 1
  cmd=$("$SWEEP_PS" -p "$1" -o command= 2>/dev/null) || return 1
  case "$cmd" in *"$2"*) ;; *) return 1 ;; esac
  case "$cmd" in *"$3"*) return 0 ;; *) return 1 ;; esac
}
# stale FILE A B [MORE…]: removes FILE (and MORE) unless the PID in it runs as A and B.
stale() {
  f=$1 a=$2 b=$3
  shift 3
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  case "$pid" in "" | *[!0-9]*) pid= ;; esac
  runs_as "$pid" "$a" "$b" && return 0
  if [ -n "$pid" ] && "$SWEEP_PS" -p "$pid" >/dev/null 2>&1; then why="PID $pid is another process now"; else why="PID ${pid:-?} is gone"; fi
  log "removing stale $f ($why)"
  rm -f "$f" "$@"
}
sweep() {
  stale "$SWEEP_INSTANCE/ha.pid" "hostagent --pidfile $SWEEP_INSTANCE/ha.pid" "" "$SWEEP_INSTANCE/ha.sock"
  stale "$SWEEP_INSTANCE/qemu.pid" "qemu-system-" "-pidfile $SWEEP_INSTANCE/qemu.pid"
  stale "$SWEEP_NET/usernet_user-v2.pid" "usernet -p $SWEEP_NET/usernet_user-v2.pid" "" \
    "$SWEEP_NET/user-v2_qemu.sock" "$SWEEP_NET/user-v2_fd.sock" "$SWEEP_NET/user-v2_ep.sock"
  if [ -L "$SWEEP_DISK/in_use_by" ]; then
    holder=$(readlink "$SWEEP_DISK/in_use_by")
    case "$("$SWEEP_PS" axo command= 2>/dev/null)" in
      *"hostagent --pidfile $holder/ha.pid"*) ;;
      *) log "removing stale disk lock $SWEEP_DISK/in_use_by (no host agent of $holder runs)"; rm -f "$SWEEP_DISK/in_use_by" ;;
    esac
  fi
}
