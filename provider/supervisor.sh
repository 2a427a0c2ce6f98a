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
# vanished under colima or whose API stopped answering for API_HANG_SECONDS, or right after a wake
# (the Mac slept: WAKE_JUMP); once the API answers after a start, prunes Docker beside the
# supervision (PRUNE_MODE, when PRUNE_DOCKER_AFTER_START); after each start and each wake, sets a
# guest clock more than CLOCK_DRIFT_MAX_SECONDS off to the host's (clock_check).
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
#   CLOCK_DRIFT_MAX_SECONDS   the setting: how far the guest's clock may be off the host's (0: never compared)
#   WORKLOADS SYSCTL WAIT_WORKLOADS_MAX   the file of this start's times, sysctl(8), and the setting:
#                       how long to wait for the restart-policy containers after a start (0: not waited for)

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
rm -f "$WORKLOADS" # the times of this start (workloads_check)
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
# workloads_check DOCKER_UP: once the Docker API answers after a start, beside the supervision (as
# prune), waits at most WAIT_WORKLOADS_MAX for every container Docker brings back by itself —
# restart policy always or unless-stopped — to run, healthy where it has a healthcheck; logs the
# times from the Mac's boot to the Docker API (DOCKER_UP, epoch seconds) and to the workloads, or,
# at the deadline, the containers not ready with their last state; writes them to $WORKLOADS as
# `key value` lines (provider/lib/workloads.ts parseTimes reads them; its comment gives the rule,
# the same as workloads_pending's). No filter for a restart policy exists: every container is inspected.
workloads_pending() {
  ids=$("$DOCKER" --host "unix://$SOCK" ps -aq 2>/dev/null) || return 1
  [ -n "$ids" ] || return 0
  # shellcheck disable=SC2086 # the ids are words
  "$DOCKER" --host "unix://$SOCK" inspect --format '{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.State.Error}}' $ids 2>/dev/null |
    awk -v up="$docker_up" '
      $2 != "always" && $2 != "unless-stopped" { next }
      $5 ~ /^0001-/ { next }
      ($3 == "exited" || $3 == "dead" || $3 == "created") && NF == 6 && ($2 == "unless-stopped" || $6 > up) { next }
      { expected++ }
      ($3 == "running" || $3 == "paused") && ($4 == "none" || $4 == "healthy") { next }
      { sub(/^\//, "", $1); h = ($4 == "none") ? "no healthcheck" : "health " $4; printf "%s%s (restart %s, %s, %s)", sep, $1, $2, $3, h; sep = ", " }
      END { printf "\n"; print expected + 0 > "/dev/stderr" }'
}
workloads_check() {
  docker_up=$(date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)
  boot=$("$SYSCTL" -n kern.boottime 2>/dev/null | awk '{ sub(/,/, "", $4); print $4 }')
  to_docker="?"
  case $boot in '' | *[!0-9]*) boot="" ;; *) to_docker=$(($1 - boot)) ;; esac
  printf 'boot %s\ndocker_up %s\nboot_to_docker %s\n' "$boot" "$docker_up" "$to_docker" >"$WORKLOADS"
  if [ "$WAIT_WORKLOADS_MAX" = 0 ]; then
    log "boot-to-Docker ${to_docker}s; containers not waited for (WAIT_WORKLOADS_MAX 0)"
    return 0
  fi
  # By the clock: on a loaded Mac each round's docker commands take a while too.
  since=$(date +%s)
  say_at=0
  while kill -0 $$ 2>/dev/null; do
    waited=$(($(date +%s) - since))
    if pending=$(workloads_pending 2>"$WORKLOADS.count"); then
      count=$(cat "$WORKLOADS.count" 2>/dev/null)
      if [ -z "$pending" ]; then
        now=$(date +%s)
        to_workloads="?"
        [ -n "$boot" ] && to_workloads=$((now - boot)) && echo "boot_to_workloads $to_workloads" >>"$WORKLOADS"
        log "workloads back: ${count:-0} containers with restart policy always/unless-stopped running (healthy where they have a healthcheck); boot-to-Docker ${to_docker}s, boot-to-workloads ${to_workloads}s"
        rm -f "$WORKLOADS.count"
        return 0
      fi
    else
      pending="(docker ps/inspect did not answer)"
    fi
    if [ "$waited" -ge "$WAIT_WORKLOADS_MAX" ]; then
      echo "not_ready $pending" >>"$WORKLOADS"
      log "workloads not back within WAIT_WORKLOADS_MAX (${WAIT_WORKLOADS_MAX}s) after the Docker API answered: $pending; boot-to-Docker ${to_docker}s"
      rm -f "$WORKLOADS.count"
      return 0
    fi
    if [ "$waited" -ge "$say_at" ]; then
      log "waiting up to ${WAIT_WORKLOADS_MAX}s for the restart-policy containers (${waited}s so far): $pending"
      say_at=$((waited + 60))
    fi
    sleep 2
  done
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
  # Right after a wake, the one probe that decides gets 10 s: a guest that runs answers in milliseconds.
  probe_for=5
  [ "$woke" = 0 ] || probe_for=10
  budget=$((budget + probe_for))
  if answer=$("$CURL" --silent --show-error --max-time "$probe_for" --unix-socket "$SOCK" http://localhost/_ping 2>&1) && [ "$answer" = OK ]; then
    if [ "$api_seen" = 0 ]; then
      api_seen=1
      api_since=$now
      log "the Docker API answers at $SOCK"
      give_socket
      if [ -n "$PRUNE_MODE" ]; then prune & fi
      workloads_check "$now" &
      clock_check "after this start"
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
    if [ "$woke" != 0 ]; then
      log "woke after ~${woke}s asleep; the Docker API answers"
      woke=0
      clock_check "after the wake"
    fi
    return 0
  fi
  answer=${answer:-no answer}
  answer=${answer%%"$NL"*}
  # Silent right after a wake, where Docker answered before it: a guest that did not come back,
  # restarted now, as a hang is (counted with them), not after API_HANG_SECONDS more.
  if [ "$woke" != 0 ]; then
    slept=$woke
    woke=0
    if [ "$api_seen" = 0 ]; then
      log "woke after ~${slept}s asleep; the Docker API has not answered since this start ($answer): API_HANG_SECONDS decides"
    elif [ "$API_HANG_SECONDS" = 0 ]; then
      log "woke after ~${slept}s asleep; the Docker API did not answer ($answer); API_HANG_SECONDS is 0: the VM is not restarted"
      return 1
    else
      hangs=$((hangs + 1))
      echo "$hangs" >"$HANGS"
      woke_said="woke after ~${slept}s asleep; the Docker API did not answer ($answer)"
      if [ "$hangs" -gt "$MAX_FAILED_STARTS" ]; then
        log "$woke_said: stopping the VM"
        stop_hung
        gave_up_hangs
      fi
      log "$woke_said: restarting the VM now instead of waiting API_HANG_SECONDS (${API_HANG_SECONDS}s; $hangs of $MAX_FAILED_STARTS in a row)"
      stop_hung
      exit 75
    fi
  fi
  [ "$API_HANG_SECONDS" = 0 ] && return 1
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

# Sleep and wake. A sleeping Mac stops every process (this one too) and its VM's guest with them;
# a guest may not come back (colima#460, #1521: Docker hangs after a sleep), and one that does has
# a clock behind the host's by the time slept (the guest's clocksource stood still). A loop turn
# is its 2 s sleep, then the checks it runs, each bounded (`budget`: the bounds of the turn's
# foreground checks, in seconds; work of its own in a turn's foreground adds its bound there). By
# the wall clock (`date +%s`), the time the sleep took beyond its 2 s, plus the time the checks
# took beyond their bounds, is time asleep, wherever in the turn the sleep fell (most likely in
# the 2 s sleep: then it is measured to the second); WAKE_JUMP seconds or more of it was a sleep
# of the Mac: a busy Mac delays a turn by milliseconds, not 10 s, and a shorter sleep leaves a
# guest API_HANG_SECONDS handles. The jump is the signal, not macOS's power
# events: `pmset -g log` prints days of history at every call, and the clock says the same. After
# a wake the Docker API is asked at once (api_check: silent right after a wake where it answered
# before, the VM restarts now), then the guest's clock (clock_check).
WAKE_JUMP=10
woke=0
budget=0
CLOCKFILE=${HANGS%.*}.clock
# guest_run CMD…: CMD in the guest, through `colima ssh` (Colima's cmd/ssh.go: `limactl shell`, an
# ssh into the guest), its output in $CLOCKFILE; run through bounded: a guest that does not run
# never answers an ssh, and exec makes the process bounded ends colima itself.
# shellcheck disable=SC2317 # run through bounded
guest_run() { exec "$COLIMA" ssh --profile "$PROFILE" -- "$@" >"$CLOCKFILE" 2>&1; }
# guest_clock: the guest's clock (g, g_at) and the host's (h, h_at), and drift: the guest's seconds
# ahead of the host's (negative: behind), 0 within the ssh's own time (read between two of the
# host's readings, so a slow ssh is never taken for drift).
guest_clock() {
  before=$(date +%s)
  budget=$((budget + 10))
  bounded 10 guest_run date -u '+%s %Y-%m-%dT%H:%M:%SZ' || return 1
  host=$(date -u '+%s %Y-%m-%dT%H:%M:%SZ')
  h=${host%% *}
  h_at=${host#* }
  read_at=$(grep -m 1 -E '^[0-9]+ [0-9]{4}-' "$CLOCKFILE") || return 1
  g=${read_at%% *}
  g_at=${read_at#* }
  if [ "$g" -lt "$before" ]; then
    drift=$((g - before))
  elif [ "$g" -gt "$h" ]; then
    drift=$((g - h))
  else
    drift=0
  fi
}
# clock_check WHEN: logs the guest's clock and the host's; a guest more than
# CLOCK_DRIFT_MAX_SECONDS off is set to the host's time (`sudo date -u -s @<host's seconds>`: GNU
# date in the guest; Colima's own guest commands use sudo without a password, app/app.go
# getStatus) and read again. Lima 2.1 and later resync a live guest every 10 s themselves
# (lima pkg/hostagent/timesync.go); this heals an older Lima, and a guest agent that is stuck.
clock_check() {
  [ "$CLOCK_DRIFT_MAX_SECONDS" = 0 ] && return 0
  if ! guest_clock; then
    clock_why=$(grep -v '^[[:space:]]*$' "$CLOCKFILE" 2>/dev/null | tail -n 1)
    log "$1: could not read the guest's clock (colima ssh: ${clock_why:-no time in its answer}); left as it is"
    rm -f "$CLOCKFILE"
    return 0
  fi
  clock_said="the guest's clock is ${drift}s off the host's (guest $g_at, host $h_at)"
  if [ "${drift#-}" -le "$CLOCK_DRIFT_MAX_SECONDS" ]; then
    log "$1: $clock_said, within CLOCK_DRIFT_MAX_SECONDS (${CLOCK_DRIFT_MAX_SECONDS}s)"
    rm -f "$CLOCKFILE"
    return 0
  fi
  log "$1: $clock_said, more than CLOCK_DRIFT_MAX_SECONDS (${CLOCK_DRIFT_MAX_SECONDS}s): setting it to the host's"
  set_to=$(date +%s)
  budget=$((budget + 10))
  if ! bounded 10 guest_run sudo date -u -s "@$set_to"; then
    log "$1: could not set the guest's clock (colima ssh: $(grep -v '^[[:space:]]*$' "$CLOCKFILE" 2>/dev/null | tail -n 1))"
  elif guest_clock; then
    log "$1: set the guest's clock to the host's: now ${drift}s off (guest $g_at, host $h_at)"
  else
    log "$1: set the guest's clock to the host's; could not read it again"
  fi
  rm -f "$CLOCKFILE"
}

# A start may take STARTUP_GRACE seconds: that many checks, one every 2 s.
startup_checks=$(((STARTUP_GRACE + 1) / 2))
up=0
misses=0
checks=0
turn=$(date +%s)
while kill -0 "$child" 2>/dev/null; do
  rested=$(date +%s)
  sleep 2 &
  wait $! 2>/dev/null
  [ "$stopping" = 1 ] && break
  # Time asleep (WAKE_JUMP): the sleep's beyond its 2 s, and the last turn's checks' beyond their bounds.
  last=$turn
  turn=$(date +%s)
  slept=$((turn - rested - 2))
  over=$((rested - last - budget))
  [ "$over" -gt 0 ] && slept=$((slept + over))
  budget=0
  if [ "$slept" -ge "$WAKE_JUMP" ]; then
    woke=$slept
    # Still starting: the start's own checks go on (STARTUP_GRACE counts turns, not seconds).
    [ "$up" = 1 ] || { log "woke after ~${slept}s asleep, while profile $PROFILE starts"; woke=0; }
  fi
  # Once up, an answering Docker API is proof enough; colima status is asked while it is silent
  # (it tells a VM that is gone, fast, from a guest that hangs, when colima status hangs too).
  if [ "$up" = 1 ] && api_check; then
    misses=0
    continue
  fi
  budget=$((budget + 10))
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
