// The Mac the provider acts on, as plain data (Host), and the pure facts about it: where Colima
// keeps a profile, which processes are whose. Acting on it goes through provider/lib/mac.ts, with
// absolute paths for every system tool (no PATH hijack) and argv arrays (no shell). `root` is "/"
// on a Mac; tests point it at the simulator's sandbox, which mirrors macOS's paths, so the same
// code runs in both places, locally or over SSH.
import type { Input } from "@pulumi/pulumi";

/** Plain data (it is part of resource inputs and is serialized into state). */
export interface Host {
  /** "/" on a Mac; the simulated Mac's root in tests. */
  root: string;
  /** The user who owns Homebrew and runs Colima (never root). */
  user: string;
  /** How to reach the Mac when it is not this machine (SSH_HOST…); absent: it is this machine. */
  ssh?: SshTarget;
}

/** An SSH destination as the system ssh client takes it; no secret (keys stay in their files). */
export interface SshTarget {
  /** `[user@]host` or a Host alias of ~/.ssh/config (SSH_HOST). */
  destination: string;
  /** SSH_PORT; else ssh's own (its config, or 22). */
  port?: number;
  /** SSH_IDENTITY_FILE: a private key file on the control machine; else ssh's own (agent, config). */
  identityFile?: string;
  /** SSH_KNOWN_HOSTS_FILE: the fleet's known_hosts file; else ~/.ssh/known_hosts. */
  knownHostsFile?: string;
}

/** The settings a Host is made of (a resource's `host` input is secret when one of them is). */
export const HOST_SETTINGS = ["HOMEBREW_USER", "SSH_HOST", "SSH_PORT", "SSH_IDENTITY_FILE", "SSH_KNOWN_HOSTS_FILE"] as const;

/** The Mac these settings name: this machine under `root`, or the one SSH_HOST reaches. */
export function hostOf(
  root: string,
  s: { HOMEBREW_USER: string; SSH_HOST?: string; SSH_PORT?: number; SSH_IDENTITY_FILE?: string; SSH_KNOWN_HOSTS_FILE?: string },
): Host {
  if (!s.SSH_HOST) return { root, user: s.HOMEBREW_USER };
  const ssh: SshTarget = { destination: s.SSH_HOST };
  if (s.SSH_PORT !== undefined) ssh.port = s.SSH_PORT;
  if (s.SSH_IDENTITY_FILE) ssh.identityFile = s.SSH_IDENTITY_FILE;
  if (s.SSH_KNOWN_HOSTS_FILE) ssh.knownHostsFile = s.SSH_KNOWN_HOSTS_FILE;
  return { root, user: s.HOMEBREW_USER, ssh };
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

/** Runs `fn` after every earlier holder of lock `name` in this process: the engine calls
 *  providers concurrently, and brew and launchctl must not be driven twice at once. The locks
 *  live on globalThis, shared by every provider module of the plugin process (docs/ARCHITECTURE.md §4). */
export function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  // The place earlier versions kept them too: a provider they stored may share this process.
  const g = globalThis as { __colimaPulse?: { users: Map<string, unknown>; locks: Map<string, Promise<unknown>> } };
  g.__colimaPulse ??= { users: new Map(), locks: new Map() };
  const locks = g.__colimaPulse.locks;
  const previous = locks.get(name) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  locks.set(name, next);
  return next;
}

/** Homebrew's prefix for a Mac's architecture (`uname -m`): /opt/homebrew on Apple silicon,
 *  /usr/local on Intel (Homebrew's docs, "Installation"), under the host root. */
export function brewPrefixFor(host: Pick<Host, "root">, arch: string): string {
  return hostPath(host, arch === "arm64" ? "/opt/homebrew" : "/usr/local");
}

/** The PATH of every command run as the Homebrew user (Mac.asUser): Homebrew's bin and sbin first,
 *  then macOS's own folders — what `brew shellenv` gives a login shell (Homebrew/brew
 *  Library/Homebrew/cmd/shellenv.sh). No transport gives it by itself: a command over SSH gets
 *  macOS sshd's /usr/bin:/bin:/usr/sbin:/sbin (apple-oss-distributions/OpenSSH configure-for-osx.sh
 *  `--with-default-path`), sudo passes on its caller's PATH unchanged (apple-oss-distributions/sudo:
 *  files/sudoers has env_reset and no secure_path, config.h no SECURE_PATH, plugins/sudoers/env.c
 *  keeps PATH through env_reset), and zsh reads no profile for a command.
 *  Yet Colima looks up `lima`, `limactl`, `docker` and `qemu-img` on PATH (abiosoft/colima
 *  environment/host/host.go IsInstalled, util/qemu.go), and Lima `qemu-system-<arch>` (lima-vm/lima
 *  pkg/driver/qemu/qemu.go Exe): without the prefix it stops with `dependency check failed for
 *  VM: lima not found`. */
export function homebrewUserPath(host: Pick<Host, "root">, prefix: string): string {
  return [`${prefix}/bin`, `${prefix}/sbin`, ...["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => hostPath(host, d))].join(":");
}

/** The Homebrew user's home (macOS: /Users/<user>). */
export function homeOf(host: Host): string {
  return hostPath(host, `/Users/${host.user}`);
}

/** Quotes one word for a POSIX shell: the only way a value reaches a shell in this project. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A profile as Colima names it (abiosoft/colima config/profile.go#ProfileFromName): "", `colima`
 *  and `default` are the default profile — Lima instance `colima`, folder `default`; any other name
 *  loses one leading `colima-` (`colima-work` is profile `work`: instance `colima-work`, folder
 *  `work`; `colima-colima` is profile `colima`, instance `colima-colima`). The one place
 *  colima-pulse turns a profile name into Colima's names. */
export function colimaProfile(name: string): { id: string; short: string; display: string } {
  if (name === "" || name === "colima" || name === "default") return { id: "colima", short: "default", display: "colima" };
  const short = name.startsWith("colima-") ? name.slice("colima-".length) : name;
  return { id: `colima-${short}`, short, display: `colima [profile=${short}]` };
}

/** The variables that move Colima's folder away from `~/.colima` (COLIMA_HOME; XDG_CONFIG_HOME
 *  while there is no ~/.colima) or Lima's away from `~/.colima/_lima` (LIMA_HOME): abiosoft/colima
 *  config/files.go `configBaseDir`, `limaDir`. The LaunchDaemon's colima has none of them (its plist
 *  sets its whole environment), so no colima command colima-pulse runs may have them either. */
export const COLIMA_HOME_VARIABLES = ["COLIMA_HOME", "LIMA_HOME", "XDG_CONFIG_HOME"] as const;

/** argv of `colima <args>` from Homebrew's `prefix`, run through `/usr/bin/env -u` each of
 *  COLIMA_HOME_VARIABLES (env(1)): whatever the operator's shell exports, or the Homebrew user's
 *  shell startup over SSH, it acts on the profile in `~/.colima`, the one the LaunchDaemon runs. */
export function colimaCommand(host: Pick<Host, "root">, prefix: string, ...args: string[]): string[] {
  return [hostPath(host, "/usr/bin/env"), ...COLIMA_HOME_VARIABLES.flatMap((v) => ["-u", v]), `${prefix}/bin/colima`, ...args];
}

/** Colima's Lima instance id of a profile (colimaProfile). */
export function instanceId(profile: string): string {
  return colimaProfile(profile).id;
}

/** Where Colima keeps a profile's files: `~/.colima`, the Homebrew user's — the folder Colima
 *  takes without COLIMA_HOME (config/files.go), as the LaunchDaemon's colima runs and as every
 *  colima command colima-pulse runs does (colimaCommand). Profile folders by the short name,
 *  Lima's by the instance id (config/profile.go#ConfigDir, #LimaInstanceDir). */
export function colimaPaths(host: Host, profile: string) {
  const home = homeOf(host);
  const { id, short } = colimaProfile(profile);
  return {
    configDir: `${home}/.colima/${short}`,
    dockerSocket: `${home}/.colima/${short}/docker.sock`,
    instanceDir: `${home}/.colima/_lima/${id}`,
    diskDir: `${home}/.colima/_lima/_disks/${id}`,
    /** Lima's user-mode network (user-v2), shared by the user's profiles (lima pkg/networks/usernet). */
    usernetDir: `${home}/.colima/_lima/_networks/user-v2`,
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

/** Live processes (zombies excluded) from the output of `ps axo pid=,user=,stat=,command=`. */
export function parseProcesses(ps: string): ProcessInfo[] {
  return ps
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !(m[3] as string).startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), user: m[2] as string, command: m[4] as string }));
}
