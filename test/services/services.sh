#!/usr/bin/env bash
# Real services for the tests (docs/TESTING.md) and the simulated Mac's VM (`npm run converge`
# off a Mac), on private paths and loopback only:
#   - dockerd from Debian's docker.io on its own socket, data root and exec root: one per lane
#     (COLIMA_PULSE_TEST_LANES, default 1), so test files that run at the same time never share
#     an engine's images or containers (test/helpers/services.ts gives each file a lane);
#   - Debian's docker-registry on a free 127.0.0.1 port;
#   - a hello-world image built here from a static busybox (nothing can be pulled from the
#     internet) and pushed to that registry, so a test can `docker pull` for real;
#   - a PostgreSQL cluster of its own (Debian's postgresql, made with initdb, run as the package's
#     `postgres` user, 127.0.0.1 only, password auth), the shared backend of the fleet tests
#     (Pulumi's diy PostgreSQL backend: pkg/backend/diy/postgres); the test set only.
#
#   test/services/services.sh run -- CMD...   hold this checkout's services, start them, run CMD with
#                                              their environment, stop them when CMD ends (also on
#                                              SIGINT/SIGTERM, which go on to CMD); what npm test,
#                                              npm run converge and npm run bench use
#   test/services/services.sh start   start them and print the env file's path (by hand)
#   test/services/services.sh stop    stop them and whatever an interrupted run left; wait until gone
#   test/services/services.sh env     print the env file (KEY=value lines) of running services
#
# Two sets per checkout, each in its own folder, so `npm test` and `npm run demo` can run side by
# side: COLIMA_PULSE_SERVICES_SET=test (default) or demo. One command at a time holds a set (flock
# on its folder's `lock`); a second is refused, naming the holder. A holder that was killed frees
# the lock with its death (the kernel drops a flock with its last descriptor); the next command
# stops whatever it left running.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
set_name="${COLIMA_PULSE_SERVICES_SET:-test}"
case "$set_name" in test) suffix="" ;; demo) suffix="-demo" ;; *)
  printf 'services: COLIMA_PULSE_SERVICES_SET (environment) = "%s": must be test or demo\n' "$set_name" >&2; exit 2 ;;
esac
# Unix socket paths are limited to ~104 bytes, so the run dir is short and per checkout.
key="$(printf '%s' "$repo" | cksum | cut -d' ' -f1)"
run="${COLIMA_PULSE_SERVICES_DIR:-${TMPDIR:-/tmp}/cpulse-$key$suffix}"
envfile="$run/env"
lockfile="$run/lock"
image_repo="colima-pulse/hello-world"

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

need_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  if [ "$set_name" = test ]; then
    pg_bin >/dev/null || missing+=(postgresql)
    command -v psql >/dev/null || missing+=(postgresql-client)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

pg_bin() { # the newest Debian PostgreSQL's bin folder (/usr/lib/postgresql/<major>/bin)
  local dir newest="" major=0
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] || continue
    dir="${dir%/bin}"
    if [ "${dir##*/}" -gt "$major" ] 2>/dev/null; then major="${dir##*/}" newest="$dir/bin"; fi
  done
  [ -n "$newest" ] && echo "$newest"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...: poll every 100 ms, fail with the description
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${deadline}s waiting for $what"
    sleep 0.1
  done
}

stop_pid() { # stop_pid PIDFILE NAME: TERM, then KILL after 20 s, like launchd's ExitTimeOut
  local pidfile="$1" name="$2" pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored TERM for 20s: KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
}

stop_postgres() { # a fast shutdown (SIGINT: sessions ended, no wait for clients), as pg_ctl stop -m fast
  local pidfile="$run/postgres/data/postmaster.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(head -n1 "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "postgres ($pid) ignored a fast shutdown for 20s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
}

start_postgres() { # start_postgres PORT: a cluster of its own in $run/postgres, on 127.0.0.1:PORT
  local port="$1" bin dir="$run/postgres" password
  bin="$(pg_bin)" || die "no PostgreSQL (initdb) in /usr/lib/postgresql/*/bin"
  rm -rf "$dir" && mkdir -p "$dir/sock"
  # initdb and postgres refuse to run as root: the package's own user runs them, in a folder of its own.
  password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && printf '%s\n' "$password" >"$dir/password")
  chown -R postgres: "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U colima_pulse --auth=scram-sha-256 \
    --pwfile="$dir/password" -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
    || die "initdb failed (log: $dir/initdb.log)"
  rm -f "$dir/password"
  runuser -u postgres -- "$bin/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$dir/sock" -c fsync=off -c max_connections=200 >"$dir/postgres.log" 2>&1 9>&- &
  # The clients' password: libpq's password file (PGPASSFILE), 0600, never in a URL or argv.
  (umask 077 && printf '127.0.0.1:%s:*:colima_pulse:%s\n' "$port" "$password" >"$run/pgpass")
  wait_for 60 "postgres on 127.0.0.1:$port (log: $dir/postgres.log)" \
    env PGPASSFILE="$run/pgpass" psql -h 127.0.0.1 -p "$port" -U colima_pulse -d postgres -c 'SELECT 1'
  PGPASSFILE="$run/pgpass" psql -q -h 127.0.0.1 -p "$port" -U colima_pulse -d postgres -c 'CREATE DATABASE colima_pulse' \
    || die "cannot create the database colima_pulse (log: $dir/postgres.log)"
}

stop() {
  local lane
  stop_postgres
  stop_pid "$run/registry.pid" docker-registry
  stop_pid "$run/dockerd.pid" dockerd # the single engine of earlier versions of this script
  for lane in "$run"/lane-*/; do
    [ -d "$lane" ] || continue
    stop_pid "${lane}dockerd.pid" "dockerd (${lane%/})" &
  done
  wait
  # What no pid file names any more (a run killed while starting them, a pid file removed): every
  # process whose command line names this folder - each dockerd, its containerd, the registry.
  local pattern pids
  pattern="$(printf '%s/' "$run" | sed 's/[.[\*^$]/\\&/g')"
  pids="$(pgrep -f -- "$pattern" || true)"
  if [ -n "$pids" ]; then
    log "stopping what an earlier run left: $(echo $pids)"
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 100); do pgrep -f -- "$pattern" >/dev/null || break; sleep 0.1; done
    pids="$(pgrep -f -- "$pattern" || true)"
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  # A dockerd that was killed leaves its mounts (overlay, its exec root's netns), and its folder
  # cannot be removed until they go.
  local mounts m
  mounts="$(awk -v r="$run/" 'index($2, r) == 1 { print $2 }' /proc/mounts 2>/dev/null | sort -r || true)"
  for m in $mounts; do
    umount -l "$m" 2>/dev/null || log "cannot unmount $m (left by an earlier run): umount -l $m"
  done
  rm -rf "$envfile" "$run"/lane-*/claim "$run/pgpass"
}

holder() { # who holds this set now, as the holder wrote it: "pid N (COMMAND), since TIME"
  # The holder writes it right after it takes the lock (run_with): a command refused in between
  # waits for those words (10 s at most) rather than naming no one.
  local who="" _
  for _ in $(seq 100); do
    who="$(cat "$run/holder" 2>/dev/null)" && [ -n "$who" ] && break
    sleep 0.1
  done
  echo "${who:-pid ? (a command that has not said who it is yet)}"
}

take_lock() { # take_lock WHAT: this set's lock on fd 9 for this process, or stop naming the holder
  mkdir -p "$run"
  exec 9>>"$lockfile"
  flock -n 9 && return 0
  local who; who="$(holder)"
  die "$1 refused: another command on this checkout holds its $set_name services: $who. Nothing was started or stopped. Wait for it to end, or stop it: kill $(echo "$who" | cut -d' ' -f2) (it stops its services, and a simulated Mac it runs)"
}

start_dockerd() { # start_dockerd DIR: a dockerd of its own in DIR, answering on DIR/docker.sock
  local dir="$1"
  mkdir -p "$dir/data" "$dir/exec"
  dockerd --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
    >"$dir/dockerd.log" 2>&1 9>&- &
}

free_port() { # the set's own port when free (so image references stay the same), else any
  free_port_from "$((10000 + $(printf '%s' "$run" | cksum | cut -d' ' -f1) % 20000))"
}

free_port_from() { # free_port_from PORT: PORT when free, else any free one
  # Below the kernel's ephemeral range (32768 up): a port there can become an outgoing connection's
  # source port between this check and the bind.
  node -e 'const n=require("net");
    const listen=(port)=>new Promise((ok,no)=>{const s=n.createServer().once("error",no).listen(port,"127.0.0.1",()=>{const p=s.address().port;s.close(()=>ok(p))})});
    listen(+process.argv[1]).catch(()=>listen(0)).then((p)=>console.log(p),(e)=>{console.error(e.message);process.exit(1)})' \
    "$1"
}

build_image() { # build_image REF DOCKER...: the smoke image, pushed to the registry, not left on the engine
  local ref="$1"; shift
  # What docker.io's hello-world does (print a greeting, exit 0), from a static busybox, built with
  # `docker import` since no base image can be pulled here.
  mkdir -p "$run/image/bin"
  cp /bin/busybox "$run/image/bin/busybox"
  tar -C "$run/image" -cf "$run/hello.tar" .
  "$@" import --change 'CMD ["/bin/busybox","echo","Hello from Docker! (colima-pulse test image, built locally from busybox)"]' \
    "$run/hello.tar" "$ref" >/dev/null
  "$@" push "$ref" >/dev/null
  "$@" rmi "$ref" >/dev/null # so the first smoke run really pulls
}

start() {
  need_packages
  [ "$(id -u)" -eq 0 ] || die "dockerd needs root here; run the tests as root (CI does)"
  local lanes="${COLIMA_PULSE_TEST_LANES:-1}" i hosts=()
  [[ "$lanes" =~ ^[1-9][0-9]?$ ]] || die "COLIMA_PULSE_TEST_LANES (environment) = \"$lanes\": must be a whole number from 1 to 99"
  stop # leftovers of an interrupted run (the lock is ours: no one else is using them)
  if [ "$set_name" = test ]; then
    # Every test run starts from empty engines; and one with fewer lanes than the last one must
    # not find the last one's engines.
    rm -rf "$run"/lane-* "$run/data" "$run/exec"
  fi
  # The demo's engine is its simulated Mac's VM disk: it persists with that Mac, so the next
  # `npm run converge` finds its images and containers where they were, as a Mac's VM would.
  mkdir -p "$run/registry" "$run/image/bin"
  for ((i = 0; i < lanes; i++)); do start_dockerd "$run/lane-$i"; hosts+=("unix://$run/lane-$i/docker.sock"); done
  for ((i = 0; i < lanes; i++)); do
    wait_for 60 "dockerd on $run/lane-$i/docker.sock (log: $run/lane-$i/dockerd.log)" docker --host "${hosts[$i]}" version
  done
  local docker=(docker --host "${hosts[0]}")

  local port; port="$(free_port)"
  cat >"$run/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $run/registry }, delete: { enabled: true } }
http: { addr: "127.0.0.1:$port" }
YML
  docker-registry serve "$run/registry.yml" >"$run/registry.log" 2>&1 9>&- &
  echo $! >"$run/registry.pid"
  wait_for 30 "docker-registry on 127.0.0.1:$port (log: $run/registry.log)" \
    node -e "fetch('http://127.0.0.1:$port/v2/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

  # The smoke image (build_image); the demo's engine keeps it once its smoke test has pulled it.
  local ref="127.0.0.1:$port/$image_repo:latest"
  if [ "$set_name" = demo ] && "${docker[@]}" image inspect "$ref" >/dev/null 2>&1; then
    "${docker[@]}" push "$ref" >/dev/null # the registry's storage persists too; this makes sure
  else
    build_image "$ref" "${docker[@]}"
  fi

  cat >"$envfile" <<ENV
TEST_DOCKER_LANES=$run/lane-
TEST_DOCKER_LANE_COUNT=$lanes
TEST_REGISTRY=127.0.0.1:$port
TEST_SMOKE_IMAGE=$ref
ENV
  if [ "$set_name" = test ]; then
    local pg_port; pg_port="$(free_port_from $((port + 1)))"
    start_postgres "$pg_port"
    # Each test makes its own table in this database (test/helpers/postgres.ts): ?table=<name>.
    cat >>"$envfile" <<ENV
TEST_POSTGRES_URL=postgres://colima_pulse@127.0.0.1:$pg_port/colima_pulse?sslmode=disable
TEST_PGPASSFILE=$run/pgpass
ENV
  fi
  echo "$envfile"
}

run_with() { # run_with CMD...: hold the set, start it, run CMD with its environment, stop it
  take_lock "${COLIMA_PULSE_COMMAND:-${npm_lifecycle_event:+npm run $npm_lifecycle_event}}"
  # Whole or not at all, for a command that is refused meanwhile (holder).
  printf 'pid %s (%s), since %s\n' "$$" "${COLIMA_PULSE_COMMAND:-${npm_lifecycle_event:+npm run $npm_lifecycle_event}}" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >"$run/holder.$$"
  mv -f "$run/holder.$$" "$run/holder"
  local child="" rc=0
  # Until CMD runs, a signal stops what is started; from then on it goes to CMD, which decides how
  # to end (scripts/simulate.ts cancels pulumi and shuts the simulated Mac down), and its end ends us.
  trap 'stop; rm -f "$run/holder"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local env; env="$(start)"
  set -a; source "$env"; set +a
  # Without job control, bash gives a background command /dev/null as its stdin and ignores SIGINT
  # in it: give it ours (pulumi may ask on this terminal); it handles SIGINT itself.
  "$@" 0<&0 9>&- &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null || true' TERM
  trap 'kill -INT "$child" 2>/dev/null || true' INT
  while :; do
    rc=0; wait "$child" || rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  if [ "$rc" -gt 128 ]; then rc=0; wait "$child" 2>/dev/null || rc=$?; fi
  exit "$rc"
}

case "${1:-}" in
  run)
    shift
    [ "${1:-}" != "--" ] || shift
    [ $# -gt 0 ] || { echo "usage: $0 run -- CMD..." >&2; exit 2; }
    run_with "$@"
    ;;
  start) take_lock "services.sh start"; start ;;
  stop) take_lock "services.sh stop"; stop ;;
  env) [ -f "$envfile" ] && cat "$envfile" || die "services are not running (no $envfile)" ;;
  *) echo "usage: $0 run -- CMD... | start | stop | env" >&2; exit 2 ;;
esac
