// The one stale-state sweep (docs/ARCHITECTURE.md §2): the files a Colima profile leaves behind
// when its processes die without cleaning up (a power cut, a SIGKILL, a crash) and that block the
// next start. It is POSIX sh, provider/sweep.sh, because the LaunchDaemon's supervisor runs it
// before every start with nobody to run TypeScript for it, and ColimaProfile runs the very same
// text on the Mac before it provisions or adopts the profile (sweepStaleState below).
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
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { colimaPaths, type Host, hostPath, shellQuote } from "./host";
import type { Mac } from "./mac";

/** provider/sweep.sh: the functions, POSIX sh (shellcheck and macOS's sh check it: test/provider/lib/staleState.test.ts). */
export const SWEEP_SH = readFileSync(join(__dirname, "../sweep.sh"), "utf8");

/** The sweep's settings for one profile (provider/sweep.sh names them), as shell assignments. */
export function sweepSettings(host: Host, profile: string): string {
  const paths = colimaPaths(host, profile);
  const q = shellQuote;
  return `SWEEP_INSTANCE=${q(paths.instanceDir)}
SWEEP_DISK=${q(paths.diskDir)}
SWEEP_NET=${q(paths.usernetDir)}
SWEEP_PS=${q(hostPath(host, "/bin/ps"))}
`;
}

/** Shell text that defines `sweep` for one profile: its settings, then provider/sweep.sh. It
 *  reports each removal through `log`, which the caller defines (the supervisor: its log file;
 *  the provider: stdout). */
export function sweepShell(host: Host, profile: string): string {
  return `${sweepSettings(host, profile)}${SWEEP_SH}`;
}

/** Runs the sweep on the Mac as the Homebrew user; returns what it removed, one line each. */
export async function sweepStaleState(mac: Mac, host: Host, profile: string): Promise<string[]> {
  const path = ["/usr/bin", "/bin"].map((d) => hostPath(host, d)).join(":");
  const script = `PATH=${shellQuote(path)}:"$PATH"\nlog() { echo "$*"; }\n${sweepShell(host, profile)}sweep\n`;
  const r = await mac.asUser([hostPath(host, "/bin/sh"), "-c", script]);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}
