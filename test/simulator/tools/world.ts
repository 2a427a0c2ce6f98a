// The simulated Mac every tool sees: a sandbox root standing for "/", the machine's facts and
// users (state.json), injected faults (faults.json), and the record of every command run
// (record.jsonl). All paths the tools print or accept are real paths on this machine under the
// root ("<root>/opt/homebrew"), so the provider reaches them with the same code it uses on a Mac
// with hostRoot "/" (README.md, "Paths").
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SimVolume } from "./df";

export interface SimUser {
  uid: number;
  gid: number;
  /** Member of the admin group: may use sudo. */
  admin: boolean;
  /** How sudo treats this user: without a password, asking for one, or not at all. */
  sudo: "nopasswd" | "password" | "none";
}

export interface SimState {
  arch: "arm64" | "x86_64";
  macos: { version: string; build: string };
  users: Record<string, SimUser>;
  /** FileVault: on/off, and whether the data volume is still locked after a boot. */
  fileVault: { enabled: boolean; locked: boolean };
  /** Homebrew formulae installed, with their versions. */
  brew: Record<string, string>;
  /** The version the local Homebrew tap offers per formula, where it differs from the simulator's
   *  own (`FORMULAE`): a newer version published (`MacSimulator.publish`, as after `brew update`). */
  tap?: Record<string, string>;
  /** Users with a GUI session (their gui/<uid> domain exists). */
  loggedIn: string[];
  /** Absolute path of the real Docker Engine socket the simulated VMs expose. */
  dockerTarget: string;
  /** Physical memory, as `sysctl -n hw.memsize` reports it. */
  memoryBytes: number;
  /** When the Mac last booted (ms since the epoch; `sysctl kern.boottime`); absent before the
   *  first boot of an older state.json. */
  bootTime?: number;
  /** The Mac has a default route (`route -n get default`); absent in an older state.json: up. */
  network?: boolean;
  /** Local groups (dscl /Groups): gid and members; absent in an older state.json: `defaultGroups`. */
  groups?: Record<string, SimGroup>;
  /** Users whose home is on a volume that is not mounted yet (`MacSimulator.unmountHome`). */
  unmounted?: string[];
  /** The APFS container's size and free space (`df`; `MacSimulator.setVolumeFree`); absent in an
   *  older state.json: tools/df.ts DEFAULT_VOLUME. */
  volume?: SimVolume;
  /** Power settings (`pmset`, tools/pmset.ts); absent in an older state.json: a desktop with
   *  macOS's defaults. */
  power?: SimPower;
}

/** The Mac's power settings (tools/pmset.ts). */
export interface SimPower {
  /** A desktop (Mac mini: AC power only, restart on power loss supported) or a laptop (battery and
   *  AC, no restart on power loss). Absent: a desktop. */
  model?: "desktop" | "laptop";
  /** What pmset wrote, per power source ("AC Power", "Battery Power"), by preferences key: the
   *  per-system /Library/Preferences/SystemConfiguration/com.apple.PowerManagement.plist. */
  custom?: Record<string, Record<string, number | string>>;
}

export interface SimGroup {
  gid: number;
  members: string[];
}

/** macOS's local groups as the tools see them: every local user is in `staff` (20) and `everyone`
 *  (12), admins in `admin` (80), root's primary group is `wheel` (0). */
export function defaultGroups(users: Record<string, SimUser>): Record<string, SimGroup> {
  const names = Object.keys(users);
  return {
    wheel: { gid: 0, members: ["root"] },
    everyone: { gid: 12, members: ["root", ...names] },
    staff: { gid: 20, members: ["root", ...names] },
    admin: { gid: 80, members: ["root", ...names.filter((n) => users[n]?.admin)] },
  };
}

/** Faults a test injects; every tool reads them fresh on each call. */
export interface SimFaults {
  /** Formulae whose `brew install` fails (true: all). */
  brewInstallFails?: string[] | true;
  /** The VM's docker.sock appears this long after the VM starts. */
  socketDelayMs?: number;
  /** The Docker API answers this long after the VM starts. */
  apiDelayMs?: number;
  /** The Docker API never answers (the socket accepts and closes). */
  apiNeverReady?: boolean;
  /** The Docker API alternates up/down with this period. */
  apiFlapMs?: number;
  /** The guest's dockerd refuses every prune (`POST /…/prune`) with its 409 "a prune operation is
   *  already running", as it does while another prune runs. */
  pruneConflict?: boolean;
  /** `colima start` fails after leaving a hostagent behind (colima#1490). */
  startFails?: boolean;
  /** `colima status` hangs (a wedged host agent): a probe that never answers by itself. */
  statusHangs?: boolean;
  /** `launchctl bootstrap` fails with this launchd error for every job. */
  bootstrapError?: "io" | "provenance";
}

export interface RecordEntry {
  /** The tool's name as the caller ran it (colima, launchctl, …). */
  tool: string;
  argv: string[];
  /** The simulated user it ran as. */
  user: string;
  /** Exit code; absent in the entry written when a long-running command started. */
  exit?: number;
  /** ms since the epoch. */
  at: number;
  pid: number;
  /** For `tool: "signal"` entries: a signal this process (`from`, a tool or the test) sent. */
  signal?: SentSignal;
}

/** One signal sent by a simulated tool or by a test (every sender records it, so an unexplained
 *  stop names its sender). */
export interface SentSignal {
  /** Who sent it: the simulated tool's name (`launchd`, `limactl`, `kill`, …) or `test`. */
  from: string;
  /** The PID signalled; negative for a process group (kill(2) with -pgid). */
  to: number;
  /** What `to` was when signalled: its command line, or why there was none. */
  target: string;
  name: NodeJS.Signals;
  /** Why the sender sent it, in its own words. */
  reason: string;
  /** The kill(2) error, when it failed (ESRCH: gone already, EPERM: not ours). */
  error?: string;
}

export class World {
  /** `sender`: who signals through this world (the running tool's name, or `test`). */
  constructor(
    readonly root: string,
    readonly sender = "test",
  ) {}

  /** The sandbox path standing for the Mac path `mac` ("/opt/homebrew" → "<root>/opt/homebrew"). */
  path(mac: string): string {
    return join(this.root, mac);
  }

  get simDir(): string {
    return join(this.root, ".sim");
  }

  state(): SimState {
    return JSON.parse(readFileSync(join(this.simDir, "state.json"), "utf8")) as SimState;
  }

  /** Read-modify-write of state.json under a lock, so concurrent tools do not lose updates. */
  updateState(change: (s: SimState) => void): SimState {
    return this.locked("state", () => {
      const s = this.state();
      change(s);
      writeAtomic(join(this.simDir, "state.json"), `${JSON.stringify(s, null, 2)}\n`);
      return s;
    });
  }

  faults(): SimFaults {
    const file = join(this.simDir, "faults.json");
    const text = readIfThere(file);
    return text ? (JSON.parse(text) as SimFaults) : {};
  }

  /** The simulated user this process runs as (every real process here is root). */
  get user(): string {
    return process.env.SIM_USER || "root";
  }

  userInfo(name: string): SimUser | undefined {
    if (name === "root") return { uid: 0, gid: 0, admin: true, sudo: "nopasswd" };
    return this.state().users[name];
  }

  groups(): Record<string, SimGroup> {
    const s = this.state();
    return s.groups ?? defaultGroups(s.users);
  }

  /** The groups of `name` as `id -G` lists them: the primary group first, then the others by gid. */
  groupsOf(name: string): { name: string; gid: number }[] {
    const info = this.userInfo(name);
    if (!info) return [];
    const all = Object.entries(this.groups()).map(([g, v]) => ({ name: g, gid: v.gid, members: v.members }));
    const primary = all.find((g) => g.gid === info.gid) ?? { name: String(info.gid), gid: info.gid, members: [] };
    const others = all.filter((g) => g.gid !== info.gid && g.members.includes(name)).sort((a, b) => a.gid - b.gid);
    return [primary, ...others].map((g) => ({ name: g.name, gid: g.gid }));
  }

  /** getpwnam/getgrnam for the simulated Mac: a name (or a number) to its id. */
  uidOf(user: string): number | undefined {
    return /^\d+$/.test(user) ? Number(user) : this.userInfo(user)?.uid;
  }
  gidOf(group: string): number | undefined {
    return /^\d+$/.test(group) ? Number(group) : this.groups()[group]?.gid;
  }

  /** The home directory of `name` (root's is /var/root, as on macOS). */
  home(name: string): string {
    return this.path(name === "root" ? "/var/root" : `/Users/${name}`);
  }

  /** Homebrew's prefix on this architecture (Homebrew docs: "Installation"). */
  brewPrefix(): string {
    return this.path(this.state().arch === "arm64" ? "/opt/homebrew" : "/usr/local");
  }

  /** Go's exec.LookPath(name) as Colima and Lima call it (os/exec lp_unix.go): the first entry of
   *  `path` (the process's PATH) holding an executable regular file `name`; undefined when none
   *  does (Go: `exec: "<name>": executable file not found in $PATH`). PATH entries are macOS paths,
   *  mapped into the root like every other path here; one already under the root is taken as it is.
   *  A relative entry (empty is ".") never counts: Go refuses such a result (ErrDot). */
  lookPath(name: string, path = process.env.PATH ?? ""): string | undefined {
    for (const dir of path.split(":")) {
      if (!dir.startsWith("/")) continue;
      const file = join(dir === this.root || dir.startsWith(`${this.root}/`) ? dir : this.path(dir), name);
      try {
        const st = statSync(file);
        if (st.isFile() && (st.mode & 0o111) !== 0) return file;
      } catch {
        // not in this entry
      }
    }
    return undefined;
  }

  /** The environment of a login shell of `name` (`su -`, launchd UserName jobs). */
  loginEnv(name: string): NodeJS.ProcessEnv {
    const prefix = this.brewPrefix();
    return {
      HOME: this.home(name),
      USER: name,
      LOGNAME: name,
      SHELL: "/bin/zsh",
      // macOS's default PATH, mapped into the root; the real Linux dirs last, for sh's helpers.
      PATH:
        [`${prefix}/bin`, "/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => (d.startsWith(this.root) ? d : this.path(d))).join(":") +
        ":/usr/bin:/bin",
      SIM_USER: name,
    };
  }

  record(entry: Omit<RecordEntry, "at" | "pid" | "user"> & { user?: string }): void {
    const full: RecordEntry = { user: this.user, ...entry, at: Date.now(), pid: process.pid };
    appendFileSync(join(this.simDir, "record.jsonl"), `${JSON.stringify(full)}\n`);
  }

  /** kill(2) that leaves a trace: sends `name` to `pid` (negative: its process group) and records
   *  who sent it to what and why. Returns kill(2)'s error code (ESRCH, EPERM), or undefined.
   *  Only this simulated Mac's processes are reached: every simulated Mac of a test run shares one
   *  PID space, and a PID in a stale file may already be another Mac's process (kill(2) of a PID
   *  that is not on this Mac: ESRCH). `child`: the target is the sender's own live child, whatever
   *  its command line. */
  signal(pid: number, name: NodeJS.Signals, reason: string, options: { child?: boolean } = {}): string | undefined {
    const leader = Math.abs(pid);
    const command = commandLine(leader);
    const target = command ?? (alive(leader) ? "(no command line)" : "(gone)");
    let error = this.mayKill(pid);
    if (!error && !options.child && !this.isMine(pid)) error = "ESRCH";
    if (!error)
      try {
        process.kill(pid, name);
      } catch (e) {
        error = (e as NodeJS.ErrnoException).code ?? String(e);
      }
    const signal: SentSignal = { from: this.sender, to: pid, target: pid < 0 ? `process group of ${target}` : target, name, reason };
    if (error) signal.error = error;
    this.record({ tool: "signal", argv: [name, String(pid)], signal });
    return error;
  }

  /** Whether `pid` (negative: a process group, by its members) is a process of this simulated Mac. */
  private isMine(pid: number): boolean {
    if (pid > 0) return isSimProcess(this, pid);
    for (const entry of readdirSync("/proc")) {
      const member = Number(entry);
      if (!Number.isInteger(member)) continue;
      const stat = readIfThere(`/proc/${member}/stat`);
      // "pid (comm) state ppid pgrp …": the group follows the last ")".
      const pgrp = stat ? Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) : 0;
      if (pgrp === -pid && isSimProcess(this, member)) return true;
    }
    return false;
  }

  /** kill(2) with signal 0: ESRCH when `pid` (negative: a process group) is not there, EPERM when
   *  this simulated user may not signal it (only root may signal another user's processes, as
   *  POSIX says and macOS does), else undefined. */
  mayKill(pid: number): string | undefined {
    try {
      process.kill(pid, 0);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? String(e);
    }
    const leader = Math.abs(pid);
    return this.user !== "root" && alive(leader) && simUserOf(leader) !== this.user ? "EPERM" : undefined;
  }

  /** Runs `fn` while holding a lock directory (mkdir is atomic) that names its holder's PID. A lock
   *  whose holder is dead (a tool killed in a power cut) is broken; a live holder is waited for, however
   *  slow a loaded machine makes it (a deadline would break a live holder's lock and lose its update). */
  locked<T>(name: string, fn: () => T): T {
    const lock = join(this.simDir, `${name}.lock`);
    for (;;) {
      try {
        mkdirSync(lock);
        writeFileSync(join(lock, "pid"), String(process.pid));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const holder = Number.parseInt(readIfThere(join(lock, "pid")) ?? "", 10);
        // No PID yet: a holder between mkdir and its write, or one killed right there (then old).
        const dead = Number.isInteger(holder) ? !alive(holder) : Date.now() - mtimeOf(lock) > 10_000;
        if (dead) rmSync(lock, { recursive: true, force: true });
        else sleepSync(5);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export function writeAtomic(file: string, text: string, mode?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
  renameSync(tmp, file);
}

/** A file's text, or undefined when it is not there — one read, so a file removed by another
 *  process between "is it there?" and "read it" cannot fail the reader. */
export function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** A path's modification time in ms, or now when it is gone. */
function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Never resolves, and keeps the process alive (a bare pending promise does not). */
export function forever(): Promise<never> {
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
}

/** Is `pid` a live process? (signal 0 checks existence without touching it.) A zombie counts
 *  as dead: on a Mac launchd reaps orphans at once, while PID 1 of a Linux sandbox may not. */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S …" — the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/** Is `pid` a process of this simulated Mac (its tools, jobs and VMs), or one a test started to
 *  stand in for a reused PID (`MacSimulator.startUnrelatedProcess`)? Simulated tools signal
 *  nothing else on this machine. */
export function isSimProcess(world: World, pid: number): boolean {
  if (!alive(pid)) return false;
  if (commandLine(pid)?.includes(`${world.root}/`)) return true;
  const file = join(world.simDir, "unrelated.json");
  const text = readIfThere(file);
  return text !== undefined && (JSON.parse(text) as number[]).includes(pid);
}

/** The command line of a live process, from /proc (what `ps -o command=` prints). */
export function commandLine(pid: number): string | undefined {
  if (isZombie(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return undefined;
  }
}

/** The simulated user a live process runs as: the SIM_USER it was started with (simulated tools,
 *  launchd's jobs and what they start carry it), else root (every real process here is root). */
export function simUserOf(pid: number): string {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return env.find((e) => e.startsWith("SIM_USER="))?.slice("SIM_USER=".length) || "root";
  } catch {
    return "root";
  }
}

/** A tool's failure: message to stderr, then exit with `code`. */
export class ToolExit extends Error {
  constructor(
    readonly code: number,
    message = "",
  ) {
    super(message);
  }
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), without the final complement. */
const CRC32C = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The 22-bit hash APFS keys a directory entry by on a normalization-insensitive volume (macOS's
 *  default, case-insensitive, volumes): CRC-32C seeded with 0xFFFFFFFF over the name's
 *  normalized, case-folded code points as 32-bit little-endian words, not complemented, low 22
 *  bits (Apple File System Reference, `j_drec_hashed_key_t`; linux-apfs/linux-apfs-rw `key.c`
 *  `apfs_init_drec_key`). */
export function apfsNameHash(name: string): number {
  let crc = 0xffffffff;
  for (const ch of name.normalize("NFD").toLowerCase()) {
    const cp = ch.codePointAt(0) as number;
    for (const byte of [cp & 0xff, (cp >>> 8) & 0xff, (cp >>> 16) & 0xff, cp >>> 24])
      crc = (CRC32C[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc >>> 0) & 0x3fffff;
}

/** A directory's entries in the order readdir(3) returns them on APFS: by the key of the
 *  directory records in the file-system B-tree, the name hash first (apfsNameHash), then the
 *  name. Neither sorted by name nor by creation: what a Mac's `Dir.children` gives. */
export function apfsDirectoryOrder(names: string[]): string[] {
  return [...names].sort((a, b) => apfsNameHash(a) - apfsNameHash(b) || (a < b ? -1 : a > b ? 1 : 0));
}
