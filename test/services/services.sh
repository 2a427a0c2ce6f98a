#!/usr/bin/env bash
# Real services for the tests (README "Tests"), on private paths and loopback only:
#   - dockerd from Debian's docker.io on its own socket, data root and exec root: one per lane
#     (COLIMA_PULSE_TEST_LANES, default 1), so test files that run at the same time never share
#     an engine's images or containers (test/helpers/services.ts gives each file a lane);
#   - Debian's docker-registry on a free 127.0.0.1 port;
#   - a hello-world image built here from a static busybox (nothing can be pulled from the
#     internet) and pushed to that registry, so a test can `docker pull` for real.
#
#   test/services/services.sh start   start both (stopping leftovers of an earlier run first),
#                                      print the env file's path
#   test/services/services.sh stop    stop what `start` started; wait until it is gone
#   test/services/services.sh env     print the env file (KEY=value lines) of running services
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Unix socket paths are limited to ~104 bytes, so the run dir is short and per checkout.
key="$(printf '%s' "$repo" | cksum | cut -d' ' -f1)"
run="${COLIMA_PULSE_SERVICES_DIR:-${TMPDIR:-/tmp}/cpulse-$key}"
envfile="$run/env"
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
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

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

stop() {
  local lane
  stop_pid "$run/registry.pid" docker-registry
  stop_pid "$run/dockerd.pid" dockerd # the single engine of earlier versions of this script
  for lane in "$run"/lane-*/; do
    [ -d "$lane" ] || continue
    stop_pid "${lane}dockerd.pid" "dockerd (${lane%/})" &
  done
  wait
  # Each dockerd's own containerd lives under its exec root; make sure nothing of it outlives us.
  pkill -f -- "$run/(lane-[0-9]+/)?exec/containerd" 2>/dev/null || true
  rm -rf "$envfile" "$run"/lane-*/claim
}

start_dockerd() { # start_dockerd DIR: a dockerd of its own in DIR, answering on DIR/docker.sock
  local dir="$1"
  mkdir -p "$dir/data" "$dir/exec"
  dockerd --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
    >"$dir/dockerd.log" 2>&1 &
}

free_port() { # the checkout's own port when free (so image references stay the same), else any
  node -e 'const n=require("net");const p=(port,next)=>{const s=n.createServer().once("error",next)
    .listen(port,"127.0.0.1",()=>{console.log(s.address().port);s.close()})};p(+process.argv[1],()=>p(0))' \
    "$((20000 + key % 20000))"
}

start() {
  need_packages
  [ "$(id -u)" -eq 0 ] || die "dockerd needs root here; run the tests as root (CI does)"
  local lanes="${COLIMA_PULSE_TEST_LANES:-1}" i hosts=()
  [[ "$lanes" =~ ^[1-9][0-9]?$ ]] || die "COLIMA_PULSE_TEST_LANES (environment) = \"$lanes\": must be a whole number from 1 to 99"
  stop # leftovers of an interrupted run
  # A run with fewer lanes than the last one must not find the last one's engines.
  rm -rf "$run"/lane-* "$run/data" "$run/exec"
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
  docker-registry serve "$run/registry.yml" >"$run/registry.log" 2>&1 &
  echo $! >"$run/registry.pid"
  wait_for 30 "docker-registry on 127.0.0.1:$port (log: $run/registry.log)" \
    node -e "fetch('http://127.0.0.1:$port/v2/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

  # The smoke image: what docker.io's hello-world does (print a greeting, exit 0), from a static
  # busybox, built with `docker import` since no base image can be pulled here.
  cp /bin/busybox "$run/image/bin/busybox"
  tar -C "$run/image" -cf "$run/hello.tar" .
  local ref="127.0.0.1:$port/$image_repo:latest"
  "${docker[@]}" import --change 'CMD ["/bin/busybox","echo","Hello from Docker! (colima-pulse test image, built locally from busybox)"]' \
    "$run/hello.tar" "$ref" >/dev/null
  "${docker[@]}" push "$ref" >/dev/null
  "${docker[@]}" rmi "$ref" >/dev/null # so the first smoke run really pulls

  cat >"$envfile" <<ENV
TEST_DOCKER_LANES=$run/lane-
TEST_DOCKER_LANE_COUNT=$lanes
TEST_REGISTRY=127.0.0.1:$port
TEST_SMOKE_IMAGE=$ref
ENV
  echo "$envfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) [ -f "$envfile" ] && cat "$envfile" || die "services are not running (no $envfile)" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
