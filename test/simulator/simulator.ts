// The simulated Mac, as tests drive it: a sandbox root with the simulated tools installed at
// their macOS paths, a small launchd really running jobs, fault injection, reboots and power
// cuts, and the record of every command run. Code under test reaches it only through real
// processes and files (README.md).
import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { FORMULAE } from "./tools/brew";
import { profileOf } from "./tools/colima";
import type { VolumeFormat } from "./tools/cp";
import { DEFAULT_VOLUME } from "./tools/df";
import { allGuestsDown } from "./tools/guest";
import { allGuestClocksBehind, guestOffsetMs } from "./tools/guestClock";
import { bundlePath, installTool } from "./tools/install";
import { stopped } from "./tools/lima";
import { stockNewsyslogConf } from "./tools/newsyslog";
import { READ_TOOLS } from "./tools/read";
import {
  alive,
  commandLine,
  defaultGroups,
  type RecordEntry,
  type SentSignal,
  type SimFaults,
  type SimGroup,
  type SimState,
  type SimUser,
  sleep,
  sleepSync,
  World,
} from "./tools/world";

export interface SimOptions {
  /** Apple silicon (Homebrew in /opt/homebrew) or Intel (/usr/local). Default arm64. */
  arch?: "arm64" | "x86_64";
  /** macOS version (colima defaults to vz from 13 on). Default 15.6. */
  macosVersion?: string;
  /** Users besides root. Default: `ops` (uid 501, admin, passwordless sudo). */
  users?: Record<string, SimUser>;
  /** The user the code under test runs as. Default `ops`. */
  operator?: string;
  /** FileVault on: after a reboot the users' homes stay locked until `unlockFileVault()`. */
  fileVault?: boolean;
  /** Formulae already installed (brew itself always is). Default none. */
  formulae?: string[];
  /** Versions the simulated tap offers from the start (formula → version), where they differ from
   *  the simulator's own: what `formulae` and a later `brew install` install — e.g. an older Colima
   *  (`{ colima: "0.8.0" }`), whose `colima` refuses the flags that version lacks. */
  versions?: Record<string, string>;
  /** The real Docker Engine socket path the simulated VMs expose. */
  dockerTarget: string;
  /** Local groups added to (or replacing) macOS's defaults: staff 20 (every user), everyone 12,
   *  admin 80 (admins), wheel 0. E.g. `{ docker: { gid: 700, members: ["ops", "alice"] } }`. */
  groups?: Record<string, SimGroup>;
  /** What `pmset` models (tools/pmset.ts): a desktop (Mac mini: AC power only, `autorestart`
   *  supported) or a laptop (battery and AC; `autorestart` accepted but never shown). Default
   *  desktop: the Mac a server room keeps. */
  powerModel?: "desktop" | "laptop";
}

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A terminal a simulated user sits at (`MacSimulator.terminal`): one session, whose commands
 *  have it as their controlling terminal, as a Terminal.app window's shell and its commands do. */
export interface Terminal {
  /** Its device, as macOS names them (`/dev/ttys000`, …). */
  readonly tty: string;
  readonly user: string;
  /** Runs argv in this terminal's session, as the user typing it there (their login environment
   *  plus `env`); a command that starts a session of its own (setsid) leaves the terminal. */
  run(argv: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<ToolRun>;
  /** The user types `sudo -v` here, and their password at its prompt. */
  sudoV(): Promise<ToolRun>;
  /** The window closes: its session ends. */
  close(): void;
}

/** The session leader of a simulated terminal: runs what it is sent, in its own session (it was
 *  started detached: setsid), and says how each ended. */
const TERMINAL_LEADER = `
process.env.SIM_TTY_SID = String(process.pid);
const { execFile } = require("node:child_process");
process.on("message", (m) => {
  const env = { ...m.env, SIM_TTY: process.env.SIM_TTY, SIM_TTY_SID: process.env.SIM_TTY_SID };
  const child = execFile(m.argv[0], m.argv.slice(1), { env, cwd: m.cwd, timeout: m.timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
    process.send({ id: m.id, code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
  });
  child.stdin.end();
});
`;

/** Real Linux tools the simulated Mac has at the same paths (symlinks). */
const PASSTHROUGH = [
  "/bin/ps",
  "/bin/sh",
  "/bin/cat",
  "/bin/chmod",
  "/usr/sbin/chown",
  "/bin/mkdir",
  "/bin/mv",
  "/bin/rm",
  "/bin/rmdir",
  "/bin/ln",
  "/usr/bin/env",
  "/usr/bin/install",
  "/usr/bin/readlink",
  "/usr/bin/grep",
  "/bin/ls",
  "/bin/sleep",
  "/bin/date",
  "/bin/echo",
  "/bin/test",
  "/usr/bin/mktemp",
  "/usr/bin/du",
  "/usr/bin/tail",
  "/usr/bin/curl",
  "/usr/bin/mkfifo",
  "/usr/bin/chgrp",
  "/usr/bin/touch",
  "/usr/bin/gzip",
  "/usr/bin/bzip2",
  "/usr/bin/head",
  "/usr/bin/wc",
  "/usr/bin/find",
  "/usr/bin/awk",
];

/** Links the real tools of PASSTHROUGH into the Mac under `root`, at macOS's paths. */
export function linkRealTools(root: string): void {
  for (const path of PASSTHROUGH) {
    const real = ["/bin", "/usr/bin", "/usr/sbin", "/sbin"].map((d) => join(d, path.split("/").pop() as string)).find(existsSync);
    if (!real) continue;
    mkdirSync(join(root, path, ".."), { recursive: true });
    symlinkSync(real, join(root, path));
  }
}

/** Puts a wrapper in front of each linked read tool (tools/read.ts READ_TOOLS): root's calls run
 *  the real tool at once (sh's exec, no Node); a simulated user's go through the simulated tool,
 *  which refuses the reads macOS would refuse them (README.md "Reads"). */
function wrapReadTools(world: World): void {
  for (const path of PASSTHROUGH) {
    const name = path.split("/").pop() as string;
    if (!READ_TOOLS.includes(name)) continue;
    const at = world.path(path);
    let real: string;
    try {
      real = readlinkSync(at);
    } catch {
      continue; // not on this machine
    }
    const checked = join(world.simDir, "bin", name);
    installTool(world, checked, name);
    rmSync(at);
    writeFileSync(at, `#!/bin/sh\ncase "\${SIM_USER:-root}" in root) exec ${real} "$@" ;; esac\nexec ${checked} "$@"\n`, {
      mode: 0o755,
    });
  }
}

/** Simulated system tools and where macOS keeps them. */
const SYSTEM_TOOLS: Record<string, string> = {
  "/bin/launchctl": "launchctl",
  "/bin/kill": "kill",
  // macOS's cp for `cp -c` (clonefile); without -c it runs the real one (tools/cp.ts).
  "/bin/cp": "cp",
  "/bin/df": "df",
  "/usr/bin/sudo": "sudo",
  "/usr/bin/su": "su",
  "/usr/bin/sw_vers": "sw_vers",
  "/usr/bin/uname": "uname",
  "/usr/bin/id": "id",
  "/usr/bin/stat": "stat",
  "/usr/bin/fdesetup": "fdesetup",
  "/usr/sbin/sysctl": "sysctl",
  "/usr/sbin/newsyslog": "newsyslog",
  "/usr/bin/pmset": "pmset",
  "/sbin/route": "route",
  "/sbin/launchd": "launchd",
};

export class MacSimulator {
  readonly world: World;
  readonly operator: string;
  /** PIDs of the stand-ins for reused PIDs, killed on dispose. */
  private readonly unrelated: number[] = [];
  /** The next terminal's number (/dev/ttys000, …). */
  private ttys = 0;

  private constructor(
    readonly root: string,
    operator: string,
  ) {
    this.world = new World(root);
    this.operator = operator;
  }

  /** A simulated Mac at `root` that persists between runs: booted again when it exists (what
   *  ran on it before is stopped first, like a power cycle), created there otherwise. */
  static async open(root: string, options: SimOptions): Promise<MacSimulator> {
    if (!existsSync(join(root, ".sim/state.json"))) return MacSimulator.create(options, root);
    const sim = new MacSimulator(root, options.operator ?? "ops");
    await sim.haltAll(5_000);
    await sim.boot();
    return sim;
  }

  static async create(options: SimOptions, at?: string): Promise<MacSimulator> {
    const root = at ?? mkdtempSync(join(tmpdir(), "cpulse-mac-"));
    const sim = new MacSimulator(root, options.operator ?? "ops");
    const world = sim.world;
    mkdirSync(world.simDir, { recursive: true });
    buildSync({
      entryPoints: [join(__dirname, "tools/main.ts")],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      outfile: bundlePath(world),
      logLevel: "error",
    });
    const users = options.users ?? { ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" } };
    const state: SimState = {
      arch: options.arch ?? "arm64",
      macos: { version: options.macosVersion ?? "15.6", build: "24G84" },
      users,
      fileVault: { enabled: options.fileVault ?? false, locked: false },
      brew: {},
      ...(options.versions ? { tap: { ...options.versions } } : {}),
      loggedIn: [],
      dockerTarget: options.dockerTarget,
      memoryBytes: 16 * 1024 ** 3,
      network: true,
      groups: { ...defaultGroups(users), ...options.groups },
      power: { model: options.powerModel ?? "desktop" },
    };
    writeFileSync(join(world.simDir, "state.json"), JSON.stringify(state, null, 2));
    writeFileSync(join(world.simDir, "record.jsonl"), "");
    for (const dir of [
      "/Library/LaunchDaemons",
      "/var/log",
      "/var/run",
      "/var/root",
      "/usr/bin",
      "/usr/sbin",
      "/bin",
      "/sbin",
      "/etc/newsyslog.d",
      "/etc/sudoers.d",
    ]) {
      mkdirSync(world.path(dir), { recursive: true, mode: 0o755 });
    }
    writeFileSync(world.path("/etc/newsyslog.conf"), stockNewsyslogConf(world), { mode: 0o644 });
    // drwxrwxrwt root wheel, as /private/var/tmp is on every Mac.
    mkdirSync(world.path("/var/tmp"), { recursive: true });
    chmodSync(world.path("/var/tmp"), 0o1777);
    for (const [name, user] of Object.entries(users)) sim.makeHome(name, user);
    for (const [path, tool] of Object.entries(SYSTEM_TOOLS)) installTool(world, world.path(path), tool);
    linkRealTools(world.root);
    wrapReadTools(world);
    installTool(world, join(world.brewPrefix(), "bin/brew"), "brew");
    if (options.formulae?.length) {
      const r = await sim.run([join(world.brewPrefix(), "bin/brew"), "install", ...options.formulae]);
      if (r.code !== 0) throw new Error(`simulator: preinstalling ${options.formulae.join(" ")} failed: ${r.stderr}`);
      writeFileSync(join(world.simDir, "record.jsonl"), ""); // setup is not part of what a test observes
    }
    await sim.boot();
    return sim;
  }

  /** The sandbox path of a macOS path. */
  path(mac: string): string {
    return this.world.path(mac);
  }

  /** The environment of a process running as `user` on the simulated Mac: a session of its own,
   *  not this machine's — an SSH_TTY or SUDO_USER of the shell that runs the tests would make the
   *  simulated `brew services` load into user/<uid> (tools/brew.ts servicesDomain), and a
   *  COLIMA_HOME, LIMA_HOME or XDG_CONFIG_HOME would move Colima's folders (tools/colima.ts colimaHome). */
  env(user = this.operator): NodeJS.ProcessEnv {
    const { SSH_TTY: _tty, SUDO_USER: _sudo, COLIMA_HOME: _ch, LIMA_HOME: _lh, XDG_CONFIG_HOME: _xdg, ...env } = process.env;
    return { ...env, ...this.world.loginEnv(user) };
  }

  /** Runs argv as `user` (default: the operator) and collects its output. */
  run(argv: string[], options: { user?: string; input?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
    return new Promise((resolve) => {
      const child = execFile(
        argv[0] as string,
        argv.slice(1),
        { env: this.env(options.user), timeout: options.timeoutMs ?? 60_000, cwd: this.root },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  }

  /** A terminal `user` (default: the operator) sits at: a session of its own whose commands have
   *  it as their controlling terminal (README.md "System tools": sudo keeps a time stamp per
   *  terminal). Closed by `close()`, a reboot, or dispose. */
  terminal(user = this.operator): Terminal {
    const tty = `/dev/ttys${String(this.ttys++).padStart(3, "0")}`;
    // The root in its command line makes it one of this Mac's processes (haltAll ends it).
    const leader = spawn(process.execPath, ["-e", TERMINAL_LEADER, this.path(tty)], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      env: { ...this.env(user), SIM_TTY: tty },
    });
    leader.unref();
    leader.channel?.unref();
    const pending = new Map<number, (r: ToolRun) => void>();
    let next = 0;
    leader.on("message", (m: ToolRun & { id: number }) => {
      pending.get(m.id)?.({ code: m.code, stdout: m.stdout, stderr: m.stderr });
      pending.delete(m.id);
      if (pending.size === 0) leader.channel?.unref();
    });
    leader.on("exit", () => {
      for (const done of pending.values()) done({ code: 1, stdout: "", stderr: `simulator: terminal ${tty} closed\n` });
      pending.clear();
    });
    const run: Terminal["run"] = (argv, options = {}) =>
      new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        leader.channel?.ref();
        const env = { ...this.env(user), ...options.env };
        leader.send({ id, argv, env, cwd: options.cwd ?? this.root, timeoutMs: options.timeoutMs ?? 300_000 });
      });
    return {
      tty,
      user,
      run,
      sudoV: () => run([this.path("/usr/bin/sudo"), "-v"]),
      close: () => {
        leader.kill("SIGKILL");
      },
    };
  }

  /** Every command the simulated tools ran, in order (start entries of long-running ones included). */
  records(): RecordEntry[] {
    const lines = readFileSync(join(this.world.simDir, "record.jsonl"), "utf8").split("\n");
    // The last line may be one a tool is appending right now: read it next time, when it is whole.
    const last = lines.pop() ?? "";
    if (last) lines.push(last);
    return lines.filter(Boolean).flatMap((l, i) => {
      try {
        return [JSON.parse(l) as RecordEntry];
      } catch (e) {
        if (i === lines.length - 1 && last) return [];
        throw e;
      }
    });
  }

  clearRecords(): void {
    writeFileSync(join(this.world.simDir, "record.jsonl"), "");
  }

  setFaults(faults: SimFaults): void {
    writeFileSync(join(this.world.simDir, "faults.json"), JSON.stringify(faults));
  }

  state(): SimState {
    return this.world.state();
  }

  /** A newer `version` of `formula` appears in the Homebrew tap, as after `brew update`: `brew
   *  outdated` lists it and `brew upgrade` / `brew install` use it. */
  publish(formula: string, version: string): void {
    if (!FORMULAE[formula]) throw new Error(`simulator: no formula ${formula} in the simulated tap`);
    this.world.updateState((s) => {
      s.tap = { ...s.tap, [formula]: version };
    });
  }

  /** A home as macOS makes it: drwxr-x--- user:staff (the user's primary group), with a
   *  drwx------ ~/Library and its LaunchAgents. */
  private makeHome(name: string, user: SimUser): void {
    const home = this.world.home(name);
    mkdirSync(join(home, "Library/LaunchAgents"), { recursive: true });
    chownSync(home, user.uid, user.gid);
    chmodSync(home, 0o750);
    // drwx------ user:staff, as macOS makes ~/Library (README.md "Reads").
    chownSync(join(home, "Library"), user.uid, user.gid);
    chmodSync(join(home, "Library"), 0o700);
  }

  /** Adds a local user (as System Settings would): a home, and membership of staff and everyone
   *  (and admin for an admin), plus the named `groups`. */
  addUser(name: string, user: SimUser & { groups?: string[] }): void {
    const { groups = [], ...info } = user;
    this.world.updateState((s) => {
      s.groups ??= defaultGroups(s.users);
      s.users[name] = info;
      const join = [...groups, "staff", "everyone", ...(info.admin ? ["admin"] : [])];
      for (const g of join) {
        const group = s.groups[g];
        if (!group) throw new Error(`simulator: no group ${g}`);
        if (!group.members.includes(name)) group.members.push(name);
      }
    });
    this.makeHome(name, info);
  }

  /** Runs newsyslog(8) as root, as launchd's com.apple.newsyslog job does every hour. */
  newsyslog(args: string[] = []): Promise<ToolRun> {
    return this.run([this.path("/usr/sbin/newsyslog"), ...args], { user: "root" });
  }

  /** The Mac's default route comes (true) or goes (false): `route -n get default`. */
  setNetwork(up: boolean): void {
    this.world.updateState((s) => {
      s.network = up;
    });
  }

  /** The Mac's APFS container has `bytes` free (what `df` reports as Available on every volume). */
  setVolumeFree(bytes: number): void {
    this.world.updateState((s) => {
      s.volume = { ...(s.volume ?? DEFAULT_VOLUME), freeBytes: bytes };
    });
  }

  /** Another volume is mounted at /Volumes/<name> (an external disk): `cp -c` across volumes fails
   *  with EXDEV, and on a volume that is not APFS (`hfs`) clonefile is not supported (tools/cp.ts). */
  addVolume(name: string, format: VolumeFormat = "apfs"): string {
    const file = join(this.world.simDir, "volumes.json");
    const formats = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, VolumeFormat>) : {};
    writeFileSync(file, `${JSON.stringify({ ...formats, [name]: format })}\n`);
    mkdirSync(this.path(`/Volumes/${name}`), { recursive: true, mode: 0o755 });
    return this.path(`/Volumes/${name}`);
  }

  /** The qemu PID of `profile` of `user`, from lima's qemu.pid. */
  private qemuPid(profile: string, user: string): number {
    const file = join(this.world.home(user), ".colima/_lima", profileOf(profile).id, "qemu.pid");
    const pid = existsSync(file) ? Number.parseInt(readFileSync(file, "utf8"), 10) : 0;
    if (!alive(pid)) throw new Error(`simulator: profile ${profile} of ${user} has no running qemu (${file})`);
    return pid;
  }

  /** The guest stops running (SIGSTOP to its qemu): its vCPUs are frozen while the host side
   *  (the host agent, its forwards) stays up. */
  freezeVm(profile: string, user = this.operator): void {
    const pid = this.qemuPid(profile, user);
    this.world.signal(pid, "SIGSTOP", `the test freezes profile ${profile}'s guest`);
    // A signal is delivered when the kernel next schedules the process: return once it is stopped,
    // so what a test does next meets a frozen guest (the host agent reads the same /proc state).
    for (let i = 0; i < 200 && !stopped(pid); i++) sleepSync(10);
  }

  /** The frozen guest runs again (SIGCONT). */
  thawVm(profile: string, user = this.operator): void {
    const pid = this.qemuPid(profile, user);
    this.world.signal(pid, "SIGCONT", `the test thaws profile ${profile}'s guest`);
    for (let i = 0; i < 200 && stopped(pid); i++) sleepSync(10);
  }

  /** The Mac sleeps for `seconds` and wakes: every process of this Mac is stopped (SIGSTOP), as a
   *  sleeping Mac runs none, for that long, then continued (SIGCONT) — except its VMs, which stay
   *  frozen (a guest that does not come back after a sleep: colima#460, #1521) unless
   *  `vmFrozen: false`. Every guest's clock is then behind the host's by the time slept (its
   *  clocksource stood still: tools/guestClock.ts), until something sets it (Lima 2.1+'s time sync
   *  while the guest runs, or `date -s` in the guest). README.md "Sleep and wake". */
  async sleepMac(seconds: number, options: { vmFrozen?: boolean } = {}): Promise<void> {
    const asleep = this.processes();
    for (const p of asleep) this.world.signal(p.pid, "SIGSTOP", `the Mac sleeps for ${seconds}s`);
    for (const p of asleep) for (let i = 0; i < 200 && alive(p.pid) && !stopped(p.pid); i++) sleepSync(10);
    await sleep(seconds * 1000);
    allGuestClocksBehind(this.world, seconds * 1000);
    // `node <root>/…/bin/qemu-system-<arch> …`: the VMs (tools/install.ts names each tool's script).
    const vm = (p: { command: string }) => /\/qemu-system-[\w-]+( |$)/.test(p.command);
    for (const p of asleep) {
      if (options.vmFrozen !== false && vm(p)) continue;
      this.world.signal(p.pid, "SIGCONT", `the Mac wakes after ${seconds}s`);
    }
  }

  /** The guest clock of `profile` of `user` minus the host's, in ms (tools/guestClock.ts). */
  guestClockOffsetMs(profile: string, user = this.operator): number {
    return guestOffsetMs(this.world, join(this.world.home(user), ".colima/_lima", profileOf(profile).id));
  }

  /** `user`'s home is on a volume that is not mounted: the home is absent until `mountHome`. */
  unmountHome(user: string): void {
    this.world.updateState((s) => {
      s.unmounted = [...new Set([...(s.unmounted ?? []), user])];
    });
    this.parkHome(user);
  }

  /** The volume with `user`'s home is mounted (the home comes back unless FileVault still locks it). */
  mountHome(user: string): void {
    this.world.updateState((s) => {
      s.unmounted = (s.unmounted ?? []).filter((u) => u !== user);
    });
    this.unparkHome(user);
  }

  /** Starts launchd, which bootstraps /Library/LaunchDaemons (and logged-in users' agents). */
  async boot(): Promise<void> {
    for (const f of ["launchd.ready", "launchd.pid"]) rmSync(join(this.world.simDir, f), { force: true });
    this.world.updateState((st) => {
      st.bootTime = Date.now(); // sysctl kern.boottime (tools/system.ts)
    });
    const child = spawn(this.path("/sbin/launchd"), [], { detached: true, stdio: "ignore", env: { ...process.env, SIM_USER: "root" } });
    child.unref();
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(this.world.simDir, "launchd.ready"))) {
      if (Date.now() > deadline) throw new Error("simulator: launchd did not come up in 30 s");
      await sleep(20);
    }
  }

  /** Every live process of this simulated Mac (its tools, jobs and VMs), from /proc. */
  processes(): { pid: number; command: string }[] {
    const out: { pid: number; command: string }[] = [];
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      const cmd = commandLine(pid);
      if (cmd?.includes(`${this.root}/`)) out.push({ pid, command: cmd });
    }
    return out;
  }

  /** Ends every process of this Mac: SIGTERM, then SIGKILL after `graceMs` (0: power cut).
   *  With a grace period this is a shutdown: launchd's jobs stop Colima cleanly. */
  async haltAll(graceMs: number): Promise<void> {
    // Each guest dies with its QEMU (launchd's SIGTERM ends QEMU at once): its containers are
    // killed, not stopped by a dockerd shutdown (tools/guest.ts).
    await allGuestsDown(this.world, graceMs > 0 ? "the Mac shuts down" : "power cut");
    const signal = (sig: NodeJS.Signals) => {
      for (const p of this.processes()) this.world.signal(p.pid, sig, graceMs > 0 ? "the Mac shuts down" : "power cut");
    };
    if (graceMs > 0) {
      signal("SIGTERM");
      const deadline = Date.now() + graceMs;
      while (this.processes().length > 0 && Date.now() < deadline) await sleep(50);
    }
    for (let i = 0; i < 20 && this.processes().length > 0; i++) {
      signal("SIGKILL");
      await sleep(50);
    }
  }

  /** A clean reboot: every process told to stop, then launchd boots again. With FileVault on,
   *  the users' homes are locked until `unlockFileVault()` (README "FileVault and unattended reboots"). */
  async reboot(): Promise<void> {
    await this.haltAll(5_000);
    this.lockIfFileVault();
    await this.boot();
  }

  /** Power cut: every process killed at once, every file left as it was, then a boot. */
  async powerCut(): Promise<void> {
    await this.haltAll(0);
    this.lockIfFileVault();
    await this.boot();
  }

  private lockIfFileVault(): void {
    const s = this.world.updateState((st) => {
      st.fileVault.locked = st.fileVault.enabled;
    });
    if (!s.fileVault.locked) return;
    // A locked data volume: the homes are simply not there until someone unlocks the disk.
    for (const user of Object.keys(s.users)) this.parkHome(user);
  }

  /** A home that is not there (a locked FileVault volume, a volume not mounted yet) is parked
   *  under .sim/locked, out of every tool's sight. */
  private parkHome(user: string): void {
    const home = this.world.home(user);
    mkdirSync(join(this.world.simDir, "locked"), { recursive: true });
    if (existsSync(home)) renameSync(home, join(this.world.simDir, "locked", user));
  }

  /** The home comes back, unless FileVault is still locked or its volume is still unmounted. */
  private unparkHome(user: string): void {
    const s = this.world.state();
    if (s.fileVault.locked || s.unmounted?.includes(user)) return;
    const parked = join(this.world.simDir, "locked", user);
    if (existsSync(parked)) renameSync(parked, this.world.home(user));
  }

  /** Someone typed the password at the login window: the homes are back. */
  unlockFileVault(): void {
    const s = this.world.updateState((st) => {
      st.fileVault.locked = false;
    });
    for (const user of Object.keys(s.users)) this.unparkHome(user);
  }

  /** An unrelated long-running process (to stand in for a PID reused after a power cut). */
  startUnrelatedProcess(): number {
    // The operator's own process: the strict case, one that lima, running as the operator, may signal.
    const child = spawn("sleep", ["3600"], { detached: true, stdio: "ignore", env: { ...process.env, SIM_USER: this.operator } });
    child.unref();
    this.unrelated.push(child.pid as number);
    // The simulated tools may signal it (as a Mac's would a reused PID), and nothing else of this machine.
    writeFileSync(join(this.world.simDir, "unrelated.json"), JSON.stringify(this.unrelated));
    return child.pid as number;
  }

  isAlive(pid: number): boolean {
    return alive(pid);
  }

  /** A test's own signal to a process of this Mac, recorded like the tools' (RecordEntry.signal). */
  signal(pid: number, name: NodeJS.Signals, reason: string): string | undefined {
    return this.world.signal(pid, name, reason);
  }

  /** Every signal recorded since the last clearRecords(): who sent what to which process, and why. */
  signals(): SentSignal[] {
    return this.records().flatMap((r) => (r.signal ? [r.signal] : []));
  }

  /** Stops everything and removes the sandbox. */
  async dispose(): Promise<void> {
    await this.haltAll(2_000);
    for (const pid of this.unrelated) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
