// The one stale-state sweep (docs/ARCHITECTURE.md §2): the files a Colima profile leaves behind
// when its processes die without cleaning up (a power cut, a SIGKILL, a crash) and that block the
// next start. It is POSIX sh, because the LaunchDaemon's supervisor runs it before every start
// with nobody to run TypeScript for it, and ColimaProfile runs the very same text on the Mac
// before it provisions or adopts the profile (sweepStaleState below).
//
// A file is stale when the process it names is gone, or is now some other process: after a power
// cut PIDs are handed out again, and lima believes any live PID is its own (lima
// pkg/store/instance.go ReadPIDFile: signal 0 only), so the start fails (colima#381, #938).
// Nothing is ever signalled: a PID that belongs to something else now survives; only the file goes.
//   ha.pid, ha.sock      the host agent (`limactl hostagent --pidfile <instance>/ha.pid …`)
//   qemu.pid             the VM (`qemu-system-… -pidfile <instance>/qemu.pid`, lima pkg/driver/qemu)
//   _disks/<id>/in_use_by  the data disk's lock, a symlink to the instance holding it; stale when
//                        no host agent of that instance runs (lima pkg/store/disk.go)
//   usernet_user-v2.pid  lima's user-mode network daemon (`limactl usernet -p <file> …`), with its
//                        three sockets (lima pkg/networks/usernet/config.go); shared by every
//                        profile of the user, so a live one is never touched
import { colimaPaths, type Host, hostPath, shellQuote } from "./host";
import type { Mac } from "./mac";

/** Shell text that defines `sweep` for one profile; it reports each removal through `log`, which
 *  the caller defines (the supervisor: its log file; the provider: stdout). */
export function sweepShell(host: Host, profile: string): string {
  const paths = colimaPaths(host, profile);
  const q = shellQuote;
  return `SWEEP_INSTANCE=${q(paths.instanceDir)}
SWEEP_DISK=${q(paths.diskDir)}
SWEEP_NET=${q(paths.usernetDir)}
SWEEP_PS=${q(hostPath(host, "/bin/ps"))}
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
  if [ -n "$pid" ] && "$SWEEP_PS" -p "$pid" >/dev/null 2>&1; then why="PID $pid is another process now"; else why="PID \${pid:-?} is gone"; fi
  log "removing stale $f ($why)"
  rm -f "$f" "$@"
}
sweep() {
  stale "$SWEEP_INSTANCE/ha.pid" "hostagent --pidfile $SWEEP_INSTANCE/ha.pid" "" "$SWEEP_INSTANCE/ha.sock"
  stale "$SWEEP_INSTANCE/qemu.pid" "qemu-system-" "-pidfile $SWEEP_INSTANCE/qemu.pid"
  stale "$SWEEP_NET/usernet_user-v2.pid" "usernet -p $SWEEP_NET/usernet_user-v2.pid" "" \\
    "$SWEEP_NET/user-v2_qemu.sock" "$SWEEP_NET/user-v2_fd.sock" "$SWEEP_NET/user-v2_ep.sock"
  if [ -L "$SWEEP_DISK/in_use_by" ]; then
    holder=$(readlink "$SWEEP_DISK/in_use_by")
    case "$("$SWEEP_PS" axo command= 2>/dev/null)" in
      *"hostagent --pidfile $holder/ha.pid"*) ;;
      *) log "removing stale disk lock $SWEEP_DISK/in_use_by (no host agent of $holder runs)"; rm -f "$SWEEP_DISK/in_use_by" ;;
    esac
  fi
}
`;
}

/** Runs the sweep on the Mac as the Homebrew user; returns what it removed, one line each. */
export async function sweepStaleState(mac: Mac, host: Host, profile: string): Promise<string[]> {
  const path = ["/usr/bin", "/bin"].map((d) => hostPath(host, d)).join(":");
  const script = `PATH=${shellQuote(path)}:"$PATH"\nlog() { echo "$*"; }\n${sweepShell(host, profile)}sweep\n`;
  const r = await mac.asUser([hostPath(host, "/bin/sh"), "-c", script]);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}
