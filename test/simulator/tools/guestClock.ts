// The guest's clock, and the one guest command colima-pulse runs through `colima ssh` (GNU date).
//
// There is no guest kernel here: a guest's clock is the host's plus an offset, kept per Lima
// instance folder in `<root>/.sim/clocks/<instance>.json` (README.md "Sleep and wake"):
// - a VM that boots starts at the host's time: QEMU's RTC follows the host's clock by default
//   (QEMU's `-rtc` option, `clock=host`; Lima passes no `-rtc`, lima pkg/driver/qemu), and Lima's
//   boot script trusts an RTC when there is one (lima pkg/cidata/cidata.TEMPLATE.d/boot.Linux/
//   00-check-rtc-and-wait-ntp.sh);
// - a Mac that sleeps leaves its guests' clocks behind by the time slept (MacSimulator.sleepMac:
//   the guest's clocksource stands still while the Mac sleeps, lima#850 "VM 978 seconds slow");
// - Lima 2.1 and later correct it: the host agent asks the guest agent every 10 s, the first time
//   5 s after the guest agent is alive, and the guest sets its clock (settimeofday) when it is
//   more than 100 ms off (lima v2.2.0 pkg/hostagent/timesync.go, pkg/guestagent/api/server/
//   server.go SyncTime, pkg/guestagent/timesync/timesync_linux.go; commit 907f9e09, first in
//   v2.1.0). A guest that does not run never answers, so its clock stays behind (lima.ts hostagent);
// - `sudo date -u -s @N` in the guest sets it to N (GNU coreutils date(1): `-s, --set=STRING`; the
//   `@N` form is "seconds since the Epoch", coreutils manual "Date input formats").
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { older } from "./brew";
import { readIfThere, ToolExit, type World, writeAtomic } from "./world";

/** The clock file of the Lima instance folder `instanceDir`. */
function clockFile(world: World, instanceDir: string): string {
  return join(world.simDir, "clocks", `${relative(world.root, instanceDir).replace(/[/\\]/g, "_")}.json`);
}

/** The guest's clock minus the host's, in ms (0: no clock kept yet, a guest that never ran). */
export function guestOffsetMs(world: World, instanceDir: string): number {
  const text = readIfThere(clockFile(world, instanceDir));
  return text ? (JSON.parse(text) as { offsetMs: number }).offsetMs : 0;
}

export function setGuestOffsetMs(world: World, instanceDir: string, offsetMs: number): void {
  world.locked("clocks", () => writeAtomic(clockFile(world, instanceDir), `${JSON.stringify({ offsetMs })}\n`));
}

/** Every guest clock of this Mac falls behind by `ms` (the Mac slept that long). */
export function allGuestClocksBehind(world: World, ms: number): void {
  const dir = join(world.simDir, "clocks");
  world.locked("clocks", () => {
    for (const name of readdirIfThere(dir)) {
      const file = join(dir, name);
      const text = readIfThere(file);
      if (!text) continue;
      const { offsetMs } = JSON.parse(text) as { offsetMs: number };
      writeAtomic(file, `${JSON.stringify({ offsetMs: offsetMs - ms })}\n`);
    }
  });
}

function readdirIfThere(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** GNU date's `+FORMAT`, for the conversions colima-pulse uses (UTC). */
function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  const conv: Record<string, () => string> = {
    s: () => String(Math.floor(ms / 1000)),
    Y: () => String(d.getUTCFullYear()),
    m: () => two(d.getUTCMonth() + 1),
    d: () => two(d.getUTCDate()),
    e: () => String(d.getUTCDate()).padStart(2, " "),
    H: () => two(d.getUTCHours()),
    M: () => two(d.getUTCMinutes()),
    S: () => two(d.getUTCSeconds()),
    a: () => DAYS[d.getUTCDay()] as string,
    b: () => MONTHS[d.getUTCMonth()] as string,
    Z: () => "UTC",
    "%": () => "%",
  };
  return format.replace(/%(.)/g, (_, c: string) => {
    const f = conv[c];
    if (!f) throw new ToolExit(1, `simulator: the guest's date does not simulate %${c}\n`);
    return f();
  });
}

/** GNU date's default format ("%a %b %e %H:%M:%S %Z %Y"), which `date -s` also prints. */
const DEFAULT_FORMAT = "%a %b %e %H:%M:%S %Z %Y";

/** A command run in the guest as Lima's default user (`limactl shell`): `date` (reading, or with
 *  `sudo`, setting the clock). Lima's user has passwordless sudo in Colima's guests (Colima runs
 *  its own guest commands with `sudo`: app/app.go getStatus `lima sudo cat …`). The guest's
 *  time zone is taken as UTC. Anything else is refused as not simulated. */
export function runInGuest(world: World, instanceDir: string, argv: string[]): { code: number; stdout: string; stderr: string } {
  let args = argv;
  let root = false;
  if (args[0] === "sudo") {
    root = true;
    args = args.slice(1);
  }
  if (args[0] !== "date") {
    return { code: 127, stdout: "", stderr: `simulator: the guest runs only date(1) here, not ${JSON.stringify(argv.join(" "))}\n` };
  }
  let format = DEFAULT_FORMAT;
  let set: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "-u" || a === "--utc" || a === "--universal") continue;
    if (a.startsWith("+")) format = a.slice(1);
    else if (a === "-s" || a === "--set") set = args[++i];
    else if (a.startsWith("--set=")) set = a.slice("--set=".length);
    else return { code: 1, stdout: "", stderr: `date: simulator: option ${a} is not simulated\n` };
  }
  if (set === undefined) return { code: 0, stdout: `${strftime(format, Date.now() + guestOffsetMs(world, instanceDir))}\n`, stderr: "" };
  const epoch = /^@(-?\d+)$/.exec(set);
  if (!epoch) return { code: 1, stdout: "", stderr: `date: simulator: only -s @SECONDS is simulated, not ${JSON.stringify(set)}\n` };
  // clock_settime(2) needs CAP_SYS_TIME: coreutils prints "cannot set date" and strerror(EPERM).
  if (!root) return { code: 1, stdout: "", stderr: "date: cannot set date: Operation not permitted\n" };
  const to = Number(epoch[1]) * 1000;
  setGuestOffsetMs(world, instanceDir, to - Date.now());
  return { code: 0, stdout: `${strftime(format, to)}\n`, stderr: "" };
}

/** Lima's time sync (v2.1.0 and later; pkg/hostagent/timesync.go): from 5 s after the guest agent
 *  is alive, every 10 s, a guest that runs and is more than 100 ms off is set to the host's time,
 *  and the host agent logs `Time sync: guest clock adjusted (was <N>ms off)`. A guest that does
 *  not run never answers the RPC: nothing happens while `running()` is false. Older Lima: nothing. */
export function startTimeSync(
  world: World,
  instanceDir: string,
  limaVersion: string,
  running: () => boolean,
  log: (msg: string) => void,
): void {
  if (older(limaVersion, "2.1.0")) return;
  log("Time sync: guest agent is alive, starting time synchronization");
  const once = () => {
    if (!running()) return;
    const driftMs = Math.round(guestOffsetMs(world, instanceDir));
    if (Math.abs(driftMs) <= 100) return;
    setGuestOffsetMs(world, instanceDir, 0);
    log(`Time sync: guest clock adjusted (was ${driftMs}ms off)`);
  };
  setTimeout(() => {
    once();
    setInterval(once, 10_000);
  }, 5_000);
}
