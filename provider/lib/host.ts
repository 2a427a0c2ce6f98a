// The Mac the provider acts on, and the one way it runs things there: as root (launchd, files
// under /Library) or as the Homebrew user (brew, colima), with absolute paths for every system
// tool (no PATH hijack) and argv arrays (no shell). `root` is "/" on a Mac; tests point it at the
// simulator's sandbox, which mirrors macOS's paths, so the same code runs in both places.
import type { Input } from "@pulumi/pulumi";
import { type CommandResult, type RunOptions, run } from "./process";

/** Plain data (it is part of resource inputs and is serialized into state). */
export interface Host {
  /** "/" on a Mac; the simulated Mac's root in tests. */
  root: string;
  /** The user who owns Homebrew and runs Colima (never root). */
  user: string;
}

/** The Colima machine both the profile and its LaunchDaemon are made of (resource inputs). */
export interface MachineArgs {
  host: Input<Host>;
  /** Homebrew prefix (from HomebrewPackages). */
  prefix: Input<string>;
  /** Colima profile name (COLIMA_PROFILE). */
  profile: Input<string>;
  /** COLIMA_CPUS. */
  cpus: Input<number>;
  /** GiB (COLIMA_MEMORY). */
  memory: Input<number>;
  /** GiB (COLIMA_DISK); can grow, never shrink. */
  disk: Input<number>;
  /** aarch64 or x86_64. */
  arch: Input<string>;
}

/** MachineArgs once the engine has resolved them (what the providers receive). */
export interface Machine {
  host: Host;
  prefix: string;
  profile: string;
  cpus: number;
  memory: number;
  disk: number;
  arch: "aarch64" | "x86_64";
}

/** The path on this host of the macOS path `mac`. */
export function hostPath(host: Pick<Host, "root">, mac: string): string {
  return host.root === "/" ? mac : `${host.root.replace(/\/+$/, "")}${mac}`;
}

/** State shared by every provider in the one plugin process (module state is copied per
 *  serialized provider, so it lives on globalThis; docs/ARCHITECTURE.md §4). */
function shared(): { users: Map<string, Promise<string>>; locks: Map<string, Promise<unknown>> } {
  const g = globalThis as { __colimaPulse?: ReturnType<typeof shared> };
  g.__colimaPulse ??= { users: new Map(), locks: new Map() };
  return g.__colimaPulse;
}

/** The user this process acts as, as the host's `id -un` reports it (asked once per process). */
export function currentUser(host: Host): Promise<string> {
  const cache = shared().users;
  let user = cache.get(host.root);
  if (!user) {
    user = run([hostPath(host, "/usr/bin/id"), "-un"], { timeoutMs: 10_000 }).then((r) => r.stdout.trim());
    cache.set(host.root, user);
  }
  return user;
}

/** Runs `fn` after every earlier holder of lock `name` in this process: the engine calls
 *  providers concurrently, and brew and launchctl must not be driven twice at once. */
export function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = shared().locks;
  const previous = locks.get(name) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  locks.set(name, next);
  return next;
}

/** Runs argv as root: directly when we are root, else through `sudo -n` (never prompts). */
export async function asRoot(host: Host, argv: string[], options?: RunOptions): Promise<CommandResult> {
  const me = await currentUser(host);
  return run(me === "root" ? argv : [hostPath(host, "/usr/bin/sudo"), "-n", ...argv], options);
}

/** Runs argv as the Homebrew user with that user's HOME, directly when we are that user. */
export async function asUser(host: Host, argv: string[], options?: RunOptions): Promise<CommandResult> {
  const me = await currentUser(host);
  const vars = { HOME: homeOf(host), USER: host.user, ...(options?.env ?? {}) };
  if (me === host.user) return run(argv, { ...options, env: vars });
  const env = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  // sudo resets the environment; /usr/bin/env sets what the command needs.
  return run([hostPath(host, "/usr/bin/sudo"), "-n", "-u", host.user, "-H", hostPath(host, "/usr/bin/env"), ...env, ...argv], {
    ...options,
    env: undefined,
  });
}

/** The Homebrew user's home (macOS: /Users/<user>). */
export function homeOf(host: Host): string {
  return hostPath(host, `/Users/${host.user}`);
}

/** Quotes one word for a POSIX shell: the only way a value reaches a shell in this project. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Colima's instance id of a profile (config/profile.go#ProfileFromName). */
export function instanceId(profile: string): string {
  return profile === "default" || profile === "colima" ? "colima" : `colima-${profile.replace(/^colima-/, "")}`;
}

/** Where Colima keeps a profile's files, from the Homebrew user's home. */
export function colimaPaths(host: Host, profile: string) {
  const home = homeOf(host);
  const id = instanceId(profile);
  const short = id === "colima" ? "default" : profile;
  return {
    configDir: `${home}/.colima/${short}`,
    dockerSocket: `${home}/.colima/${short}/docker.sock`,
    instanceDir: `${home}/.colima/_lima/${id}`,
    diskDir: `${home}/.colima/_lima/_disks/${id}`,
    id,
  };
}

/** Whether a `ps` command line is the host agent of the Lima instance in `instanceDir`. */
export const isHostAgentOf = (command: string, instanceDir: string) => command.includes(`hostagent --pidfile ${instanceDir}/ha.pid`);

/** Whether a `ps` command line is the VM of the Lima instance in `instanceDir`. Lima starts qemu
 *  with `-name lima-<instance> -pidfile <instance>/qemu.pid` (lima pkg/qemu, Cmdline); the name
 *  alone is shared by another user's profile of the same name and is a prefix of longer ones
 *  (lima-colima of lima-colima-work), the pidfile's path is this user's and this profile's only. */
export const isVmOf = (command: string, instanceDir: string) =>
  /qemu-system-/.test(command) && command.includes(`-pidfile ${instanceDir}/qemu.pid`);

/** One line of `ps axo pid=,user=,stat=,command=`. */
export interface ProcessInfo {
  pid: number;
  user: string;
  command: string;
}

/** Live processes (zombies excluded), from the host's ps; `timeoutMs` is a caller's deadline. */
export async function listProcesses(host: Host, timeoutMs = 15_000): Promise<ProcessInfo[]> {
  const r = await run([hostPath(host, "/bin/ps"), "axo", "pid=,user=,stat=,command="], { timeoutMs });
  return r.stdout
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !(m[3] as string).startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), user: m[2] as string, command: m[4] as string }));
}
