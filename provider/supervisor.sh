# shellcheck shell=sh
# The LaunchDaemon's supervisor (the "pulse"): launchd runs it as the Homebrew user, as
# `/bin/sh <script>`, where the script is a header of this Mac's settings (renderSupervisor in
# provider/launchDaemon.ts), then provider/sweep.sh, then this file, both unchanged. Every Mac's
# /bin/sh is bash 3.2 in POSIX mode: nothing here may need more (test/provider/supervisor.test.ts
# runs it under that shell and under dash; shellcheck checks it as sh).
#
# What it does, in order: waits for the Homebrew user's home (FileVault, a late volume); gives up
# after MAX_FAILED_STARTS failed starts or hung-API restarts in a row; sweeps stale state; waits for
# a network route when the start would provision (download) the VM; starts
# `colima start --foreground`; then every 2 s asks the Docker API (`/_ping`), and while it is
# silent `colima status` (bounded: on a hung guest it never answers), restarting a VM that
# vanished under colima or whose API stopped answering for API_HANG_SECONDS; once the API answers
# after a start, prunes Docker beside the supervision (PRUNE_MODE, when PRUNE_DOCKER_AFTER_START).
# Every line goes to LOG by its path (colima's through a pipe), so after newsyslog renames the file
# the next line lands in the new one.
#
# The header's settings:
#   COLIMA PROFILE CPUS MEMORY DISK ARCH   colima, and the `colima start` of the profile
#   LOG                 LOG_PATH
#   SOCK INSTANCE       the profile's Docker socket and Lima instance folder
#   FAILURES HANGS GROUPFILE FIFO PRUNING  its files beside the profile (provider/lib/supervisor.ts)
#   ROUTE CURL DOCKER   the Mac's route(8) and curl(1), Homebrew's docker
#   MAX_FAILED_STARTS API_HANG_SECONDS STARTUP_GRACE   the settings of those names (seconds)
#   PRUNE_MODE          "" (no prune) or the PRUNE_MODE; PRUNE_ARGS: its `docker` arguments (words)
#   PRUNE_MAX_SECONDS   how long a prune may take before it is stopped

# By path, not through the descriptor launchd opened: a rotated log is never written to again.
say() { printf '%s\n' "$*" >>"$LOG" 2>/dev/null || printf '%s\n' "$*"; }
log() { say "$(date -u +%Y-%m-%dT%H:%M:%SZ) colima-pulse[$$] $*"; }
# wait_for WHAT TEST…: until TEST succeeds, saying what it waits for once a minute.
wait_for() {
  what=$1
  shift
  waited=0
  until "$@"; do
    [ $((waited % 60)) = 0 ] && log "waiting for $what (${waited}s so far)"
    sleep 5
    waited=$((waited + 5))
  done
  [ "$waited" = 0 ] || log "$what: there after ${waited}s"
}
# An unmounted home is absent, or a bare mount point the user cannot write.
# shellcheck disable=SC2317 # run through wait_for
home_ready() { [ -d "$HOME" ] && [ -w "$HOME" ]; }
# route(8) exits 0 also without a route (route.c, newroute: exit(0) after a get); a route has an interface.
# shellcheck disable=SC2317 # run through wait_for
network_ready() { "$ROUTE" -n get default 2>/dev/null | grep -q 'interface:'; }
# bounded SECONDS CMD…: CMD's status, or 124 once it ran SECONDS (macOS has no timeout(1)).
bounded() {
  ticks=$(($1 * 5))
  shift
  "$@" >/dev/null 2>&1 &
  probe=$!
  while kill -0 "$probe" 2>/dev/null; do
    if [ "$ticks" -le 0 ]; then
      kill -KILL "$probe" 2>/dev/null
      wait "$probe" 2>/dev/null
      return 124
    fi
    sleep 0.2
    ticks=$((ticks - 1))
  done
  wait "$probe"
}

# Giving up is a clean exit: KeepAlive {SuccessfulExit: false} starts the job again only after a
# failure, so nothing runs until `pulumi up` removes the counts and kickstarts the job
# (provider/lib/supervisor.ts reads the same counts).
gave_up_starts() {
  log "gave up after $failed failed starts in a row; run \`pulumi up\` to try again"
  exit 0
}
gave_up_hangs() {
  log "gave up after $MAX_FAILED_STARTS restarts in a row for a Docker API that stopped answering; run \`pulumi up\` to try again"
  exit 0
}
# failed_start: one more failed start in a row; the last one allowed gives up, others restart.
# A failed `colima start` leaves Lima's usernet daemon running, and the next start removes its pid
# file (colima#1490: one leaked per attempt); a forced stop ends what the attempt left.
failed_start() {
  log "stopping what the failed start left running (colima stop --force)"
  bounded 60 "$COLIMA" stop --force --profile "$PROFILE"
  failed=$((failed + 1))
  echo "$failed" >"$FAILURES"
  [ "$failed" -ge "$MAX_FAILED_STARTS" ] && gave_up_starts
  exit 75
}

wait_for "$USER's home $HOME (FileVault not unlocked yet, or its volume not mounted)" home_ready
failed=$(cat "$FAILURES" 2>/dev/null || echo 0)
# shellcheck disable=SC2153 # HANGS, the file, is the header's; hangs, the count, is this one's
hangs=$(cat "$HANGS" 2>/dev/null || echo 0)
[ "$failed" -ge "$MAX_FAILED_STARTS" ] && gave_up_starts
[ "$hangs" -gt "$MAX_FAILED_STARTS" ] && gave_up_hangs
sweep
# Only a profile Lima has never created downloads anything at its start.
[ -f "$INSTANCE/lima.yaml" ] || wait_for "a network route (profile $PROFILE is provisioned at this start, which downloads its image)" network_ready
rm -f "$FIFO"
mkdir -p "${FIFO%/*}" && mkfifo -m 600 "$FIFO" || FIFO=/dev/null
relay() { while IFS= read -r line; do say "$line"; done; }
[ "$FIFO" = /dev/null ] || relay <"$FIFO" &
# A start that prunes once Docker answers (prune) says so first: the health gate waits while
# $PRUNING is there.
[ -z "$PRUNE_MODE" ] || echo "pending: the prune after this start" >"$PRUNING"
"$COLIMA" start --foreground --profile "$PROFILE" --runtime docker --vm-type qemu \
  --cpus "$CPUS" --memory "$MEMORY" --disk "$DISK" --arch "$ARCH" >"$FIFO" 2>&1 &
child=$!
stopping=0
trap 'stopping=1; log "stop requested: stopping Colima"; kill -TERM "$child" 2>/dev/null' TERM INT

# stop_hung: TERM colima (it stops the VM); a guest that cannot shut down is forced off after 30 s.
stop_hung() {
  kill -TERM "$child" 2>/dev/null
  n=0
  while kill -0 "$child" 2>/dev/null && [ "$n" -lt 30 ]; do
    sleep 1
    n=$((n + 1))
  done
  if kill -0 "$child" 2>/dev/null; then
    log "colima did not stop the VM within 30s: forcing it off (colima stop --force)"
    bounded 60 "$COLIMA" stop --force --profile "$PROFILE"
    kill -KILL "$child" 2>/dev/null
  fi
  wait "$child" 2>/dev/null
}
# give_socket: the group DockerAccess chose (DOCKER_SOCKET_GROUP) gets the socket lima made anew.
give_socket() {
  [ -f "$GROUPFILE" ] && read -r gid group <"$GROUPFILE" || return 0
  if chgrp "$gid" "$SOCK" && chmod 0660 "$SOCK"; then
    log "Docker socket $SOCK: group $group, mode 0660 (DOCKER_SOCKET_GROUP)"
  else
    log "could not give $SOCK to group $group: only $USER can use Docker"
  fi
}
# prune: `docker $PRUNE_ARGS` (PRUNE_MODE) once the Docker API answers after this start, beside
# the supervision (it goes on watching the VM meanwhile), given at most PRUNE_MAX_SECONDS. What
# Docker says it reclaimed goes to the log, or the error of a prune that failed: Docker serves
# either way. $PRUNING goes when it has ended: the health gate waits for that, so `pulumi up`'s
# smoke test never pulls its image while this prune may remove it.
prune() {
  # shellcheck disable=SC2086 # PRUNE_ARGS is words (PRUNE_ARGS in provider/launchDaemon.ts)
  "$DOCKER" --host "unix://$SOCK" $PRUNE_ARGS >"$PRUNING" 2>&1 &
  pruner=$!
  ticks=$((PRUNE_MAX_SECONDS * 5))
  while kill -0 "$pruner" 2>/dev/null && [ "$ticks" -gt 0 ]; do
    sleep 0.2
    ticks=$((ticks - 1))
  done
  if kill -0 "$pruner" 2>/dev/null; then
    kill -KILL "$pruner" 2>/dev/null
    wait "$pruner" 2>/dev/null
    log "prune ($PRUNE_MODE) did not end within ${PRUNE_MAX_SECONDS}s: stopped it; Docker keeps running"
  else
    wait "$pruner"
    code=$?
    if [ "$code" = 0 ]; then
      log "pruned Docker ($PRUNE_MODE): $(grep -m 1 'Total reclaimed space' "$PRUNING" || echo 'Docker did not say what it reclaimed')"
    else
      log "prune ($PRUNE_MODE) failed (exit $code): $(grep -v '^[[:space:]]*$' "$PRUNING" | tail -n 1); Docker keeps running"
    fi
  fi
  rm -f "$PRUNING"
}
# api_check: does the Docker API answer /_ping? Silent for API_HANG_SECONDS (counted from the
# last answer, or from the VM being up): the VM is restarted. After that long of answers (at
# least 10 s), the count of such restarts in a row starts again.
NL='
'
calm=$API_HANG_SECONDS
[ "$calm" -ge 10 ] || calm=10
api_seen=0
api_down=0
api_last=0
api_since=0
api_check() {
  now=$(date +%s)
  [ "$api_last" = 0 ] && api_last=$now
  if answer=$("$CURL" --silent --show-error --max-time 5 --unix-socket "$SOCK" http://localhost/_ping 2>&1) && [ "$answer" = OK ]; then
    if [ "$api_seen" = 0 ]; then
      api_seen=1
      api_since=$now
      log "the Docker API answers at $SOCK"
      give_socket
      if [ -n "$PRUNE_MODE" ]; then prune & fi
    fi
    if [ "$api_down" = 1 ]; then
      log "the Docker API answers again after $((now - api_last))s"
      api_down=0
      api_since=$now
    fi
    api_last=$now
    if [ "$hangs" != 0 ] && [ $((now - api_since)) -ge "$calm" ]; then
      hangs=0
      echo 0 >"$HANGS"
    fi
    return 0
  fi
  [ "$API_HANG_SECONDS" = 0 ] && return 1
  answer=${answer:-no answer}
  answer=${answer%%"$NL"*}
  if [ "$api_seen" = 1 ] && [ "$api_down" = 0 ]; then
    api_down=1
    log "the Docker API at $SOCK did not answer ($answer); the VM restarts if it stays silent for ${API_HANG_SECONDS}s"
  fi
  silent=$((now - api_last))
  if [ "$silent" -ge "$API_HANG_SECONDS" ]; then
    hangs=$((hangs + 1))
    echo "$hangs" >"$HANGS"
    since=""
    [ "$api_seen" = 0 ] && since=" since the VM came up"
    said="the Docker API at $SOCK has not answered for ${silent}s$since (last: $answer)"
    if [ "$hangs" -gt "$MAX_FAILED_STARTS" ]; then
      log "$said; stopping the VM"
      stop_hung
      gave_up_hangs
    fi
    log "$said; restarting the VM ($hangs of $MAX_FAILED_STARTS in a row)"
    stop_hung
    exit 75
  fi
  return 1
}

# A start may take STARTUP_GRACE seconds: that many checks, one every 2 s.
startup_checks=$(((STARTUP_GRACE + 1) / 2))
up=0
misses=0
checks=0
while kill -0 "$child" 2>/dev/null; do
  sleep 2 &
  wait $! 2>/dev/null
  [ "$stopping" = 1 ] && break
  # Once up, an answering Docker API is proof enough; colima status is asked while it is silent
  # (it tells a VM that is gone, fast, from a guest that hangs, when colima status hangs too).
  if [ "$up" = 1 ] && api_check; then
    misses=0
    continue
  fi
  bounded 10 "$COLIMA" status --profile "$PROFILE"
  status=$?
  if [ "$status" = 0 ]; then
    if [ "$up" = 0 ]; then
      log "profile $PROFILE is up"
      echo 0 > "$FAILURES"
    fi
    up=1
    misses=0
  elif [ "$up" = 0 ]; then
    checks=$((checks + 1))
    if [ "$checks" -ge "$startup_checks" ]; then
      log "profile $PROFILE did not come up within ${STARTUP_GRACE}s; stopping this attempt"
      stop_hung
      failed_start
    fi
  elif [ "$status" = 124 ] && [ "$API_HANG_SECONDS" != 0 ]; then
    : # a hung guest: the Docker API's silence decides (api_check)
  else
    misses=$((misses + 1))
    if [ "$misses" -ge 2 ]; then
      if [ "$status" = 124 ]; then
        log "colima status --profile $PROFILE did not answer within 10s, twice: restarting the VM"
      else
        log "the VM of profile $PROFILE is gone under colima; restarting it"
      fi
      stop_hung
      exit 75
    fi
  fi
done
wait "$child"
code=$?
if [ "$stopping" = 1 ]; then log "Colima stopped"; exit 0; fi
log "colima exited with $code without a stop request"
[ "$up" = 0 ] && failed_start
exit 75
