// The one seam between colima-pulse and a Mac: every command the providers and the program run
// there, every file they read or write, its process list and its lock go through a `Mac`. Two
// transports implement it:
// - local: this machine is the Mac (today's behaviour; `host.root` points the simulator's sandbox);
// - ssh:   the system OpenSSH client (/usr/bin/ssh), so the operator's ~/.ssh/config, agent,
//          known_hosts and ProxyJump apply. One multiplexed connection per Mac and control
//          machine (ControlMaster), kept 60 s after its last use, spares every command after
//          the first a new login (bench/RESULTS.md times a converged up over SSH beside a local
//          one). Host keys are checked strictly (never accepted on first use), nothing prompts
//          (BatchMode), and a lost or refused connection is always an error with the fix, never
//          "the file is not there".
// Executors take a Mac as a parameter; tests of them pass a recording Mac (test/helpers/recordingMac.ts).
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import {
  brewPrefixFor,
  type Host,
  homebrewUserPath,
  homeOf,
  hostPath,
  type ProcessInfo,
  parseProcesses,
  type SshTarget,
  shellQuote,
} from "./host";
import { type CommandResult, describeFailure, ROOT_KILL, type RunOptions, run, SYSTEM_PATH } from "./process";
import { Semaphore } from "./semaphore";

/** Every command colima-pulse runs as root, by its macOS path: asRoot runs these and refuses any
 *  other (assertRootCommand), and the sudoers lines an operator needs grant these (sudoersLines).
 *  Who runs each:
 *  - /bin/launchctl: launchDaemon.ts (enable, bootstrap, kickstart -k), lib/launchd.ts (print,
 *    print-disabled, bootout), checkSudo (print-disabled: the probe);
 *  - /usr/bin/install: writeFile for root's files (the new file beside its path), launchDaemon.ts
 *    and logRotation.ts (`install -d` of their folders), launchDaemon.ts (a new log: /dev/null's
 *    copy, empty);
 *  - /bin/mv: writeFile for root's files (the new file over the old);
 *  - /bin/rm: launchDaemon.ts, logRotation.ts, lib/launchd.ts (`rm -f` of their own files);
 *  - /usr/sbin/chown, /bin/chmod: launchDaemon.ts (an existing log: the Homebrew user's, 0640);
 *  - /usr/bin/fdesetup: homebrewPackages.ts fileVaultState (`fdesetup status`);
 *  - /usr/bin/install, /bin/mv, /bin/rm: machineLock.ts, the Mac's lock in root's /var/db/colima-pulse
 *    (`install -d` of it and of a lock being made, a made lock into place, a stale one aside, rm);
 *  - /bin/kill: process.ts killTree (what is left of a timed-out root command; it calls sudo itself).
 *  - /usr/bin/pmset: powerSettings.ts (`pmset -a|-c|-b <setting> <value>`: set, and put back).
 *  sudoers matches a path given without arguments with any arguments (sudoers(5), Cmnd): the list
 *  says which programs run as root, not what they may do there. */
export const ROOT_COMMANDS: readonly string[] = [
  "/bin/launchctl",
  "/usr/bin/install",
  "/bin/mv",
  "/bin/rm",
  "/usr/sbin/chown",
  "/bin/chmod",
  "/usr/bin/fdesetup",
  ROOT_KILL,
  "/usr/bin/pmset",
];

/** ROOT_COMMANDS on `host` (under the simulator's root off a Mac). */
export function rootCommandPaths(host: Host): string[] {
  return ROOT_COMMANDS.map((p) => hostPath(host, p));
}

/** Throws, running nothing, when argv is not one of ROOT_COMMANDS. */
export function assertRootCommand(host: Host, argv: readonly string[]): void {
  if (rootCommandPaths(host).includes(argv[0] ?? "")) return;
  throw new Error(
    `asRoot ${argv.join(" ")}: ${argv[0]} is not one of the commands colima-pulse runs as root (ROOT_COMMANDS in provider/lib/mac.ts, ` +
      "which the sudoers lines it prints grant): refused, nothing was run",
  );
}

/** The file checkSudo's fix names. `#includedir /private/etc/sudoers.d` ends macOS's /etc/sudoers
 *  (apple-oss-distributions/sudo files/sudoers), and a name without a "." is read (sudoers(5)). */
export const SUDOERS_FILE = "/etc/sudoers.d/colima-pulse";

/** A user name as a sudoers word: as is when plain, else in double quotes (sudoers(5)). */
const sudoersWord = (name: string) => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) ? name : `"${name.replace(/["\\]/g, "\\$&")}"`);

/** The sudoers lines that let `operator` run what colima-pulse runs through sudo without a
 *  password: ROOT_COMMANDS as root, and anything as the Homebrew user (asUser runs Homebrew,
 *  Colima and the installers through `sudo -u <user> /usr/bin/env …`) unless that is the operator. */
export function sudoersLines(host: Host, operator: string): string[] {
  const who = sudoersWord(operator);
  return [
    `${who} ALL=(root) NOPASSWD: ${rootCommandPaths(host).join(", ")}`,
    ...(operator === host.user ? [] : [`${who} ALL=(${sudoersWord(host.user)}) NOPASSWD: ALL`]),
  ];
}

/** Who owns a file written by `writeFile`. */
export type FileOwner = "root" | "user";

export interface Mac {
  readonly host: Host;
  /** For messages: "this Mac", or "ops@mac-07.local (over SSH)". */
  readonly name: string;
  /** True when the Mac is this machine: its files may be read and its sockets watched directly. */
  readonly local: boolean;
  /** Runs argv on the Mac as the user this process logs in as (local: this process's user). */
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** Runs argv as root: directly when we are root, else through `sudo -n` (never prompts). */
  asRoot(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** Runs argv as the Homebrew user, directly when we are that user, with exactly this
   *  environment: HOME, USER, LOGNAME, a PATH with Homebrew's prefix first (host.ts
   *  homebrewUserPath) and `options.env` — nothing of the transport's session, of sudo's, or of
   *  this process (userEnvironment). */
  asUser(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** The user we act as on the Mac, as its `id -un` says (asked once per process). */
  currentUser(): Promise<string>;
  /** Live processes (zombies excluded), from the Mac's ps; `timeoutMs` is a caller's deadline. */
  listProcesses(timeoutMs?: number): Promise<ProcessInfo[]>;
  /** A file's text; undefined when it is not there (read as the Homebrew user if we may not). */
  readFile(path: string): Promise<string | undefined>;
  /** The last `lines` lines of a file ("" when it is not there). */
  tail(path: string, lines: number): Promise<string>;
  /** Names in a folder ([] when it is not there). */
  listDir(path: string): Promise<string[]>;
  /** A symlink's target, or undefined. */
  readLink(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  isSocket(path: string): Promise<boolean>;
  /** Bytes a folder's files take on disk (0 when absent, undefined when unreadable). */
  diskUsage(path: string): Promise<number | undefined>;
  /** Writes `content` whole, byte for byte: a temporary file beside `path`, then a rename, owned by
   *  `owner` with `mode`. */
  writeFile(path: string, content: string | Buffer, options: { owner: FileOwner; mode: string }): Promise<void>;
  /** Removes `path` now, synchronously (for exit handlers); best effort. With `asRoot`, as root
   *  (`sudo -n rm`, as asRoot found us: the Mac's lock, provider/lib/machineLock.ts). */
  removeNow(path: string, options?: { asRoot?: boolean }): void;
}

/** The Mac `host` names, one per process and host (its connection and `id -un` are shared). */
export function macOf(host: Host): Mac {
  if (!host.ssh) refuseHostRoot(host.root);
  const g = globalThis as { __colimaPulseMacs?: Map<string, Mac> };
  g.__colimaPulseMacs ??= new Map();
  const key = JSON.stringify([host.root, host.user, host.ssh ?? null]);
  let mac = g.__colimaPulseMacs.get(key);
  if (!mac) {
    mac = host.ssh ? new SshMac(host, host.ssh) : new LocalMac(host);
    g.__colimaPulseMacs.set(key, mac);
  }
  return mac;
}

/** Off a Mac, the local transport with root `/` would run brew, launchctl and rm as root against
 *  this machine itself: refused, whatever asked (the program, a provider working from state,
 *  `npm run fleet -- status`). The simulator's Macs have a root of their own (test/simulator);
 *  a real Mac is reached over SSH. */
export function refuseHostRoot(root: string, platform: string = process.platform): void {
  if (platform === "darwin" || root.replace(/\/+$/, "") !== "") return;
  throw new NotAMacError(
    `this machine is not a Mac (${platform}), and the stack has no SSH_HOST: it would converge this machine's own /. ` +
      "Nothing was run. Off a Mac, point it at the bundled simulator (`npm run converge`; or `npm run demo`, then `npm run shell`) " +
      "or at a Mac over SSH (`pulumi config set SSH_HOST <user@mac>`)",
  );
}

export class NotAMacError extends Error {
  override readonly name = "NotAMacError";
}

/** The simulated Mac's own variable (test/simulator/README.md "Paths"): its tools are real
 *  processes of this machine's root, and SIM_USER is the user they act as. Passed only under a
 *  simulated root (never "/": a real Mac has no such variable). */
function simulated(host: Pick<Host, "root">, user: string | undefined): Record<string, string> {
  return host.root !== "/" && user ? { SIM_USER: user } : {};
}

/** The whole environment of every command run as the Homebrew user (Mac.asUser): what sudo's
 *  env_reset gives a command run as another user — its HOME (`-H`), USER and LOGNAME
 *  (apple-oss-distributions/sudo plugins/sudoers/env.c rebuild_env) — and the PATH that user's
 *  tools need (homebrewUserPath), then `extra`. Nothing else: not this process's environment
 *  (which holds the engine's PULUMI_CONFIG_PASSPHRASE and whatever the operator's shell exports),
 *  not the SSH session's, not the rest of what sudo keeps (its env_keep list, SUDO_*). */
export function userEnvironment(host: Host, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: homeOf(host),
    USER: host.user,
    LOGNAME: host.user,
    PATH: homebrewUserPath(host, prefix),
    ...simulated(host, host.user),
    ...extra,
  };
}

/** Everything but the transport: each operation is a command on the Mac. */
abstract class CommandMac implements Mac {
  abstract readonly name: string;
  abstract readonly local: boolean;
  private me: Promise<string> | undefined;
  private prefix: Promise<string> | undefined;

  constructor(readonly host: Host) {}

  abstract run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  abstract removeNow(path: string, options?: { asRoot?: boolean }): void;

  /** Who asRoot last found us to be: removeNow, in an exit handler, cannot ask. */
  private rootAs: string | undefined;

  /** `rm -rf path`, through `sudo -n` when `asRoot` and we are not root (rm is in ROOT_COMMANDS). */
  protected removeArgv(path: string, asRoot = false): string[] {
    const rm = [this.tool("/bin/rm"), "-rf", path];
    return asRoot && this.rootAs !== "root" ? [this.tool("/usr/bin/sudo"), "-n", ...rm] : rm;
  }

  protected tool(path: string): string {
    return hostPath(this.host, path);
  }

  currentUser(): Promise<string> {
    this.me ??= this.run([this.tool("/usr/bin/id"), "-un"], { timeoutMs: 15_000 }).then((r) => r.stdout.trim());
    // A failed ask (a connection refused) is asked again next time.
    this.me.catch(() => {
      this.me = undefined;
    });
    return this.me;
  }

  /** Homebrew's prefix on this Mac, from its architecture as HomebrewPackages reads it (`uname -m`,
   *  asked once per process, beside the first `id -un`). */
  private brewPrefix(): Promise<string> {
    this.prefix ??= this.run([this.tool("/usr/bin/uname"), "-m"], { timeoutMs: 15_000 }).then((r) =>
      brewPrefixFor(this.host, r.stdout.trim()),
    );
    this.prefix.catch(() => {
      this.prefix = undefined;
    });
    return this.prefix;
  }

  async asRoot(argv: string[], options?: RunOptions): Promise<CommandResult> {
    assertRootCommand(this.host, argv);
    const me = await this.currentUser();
    this.rootAs = me;
    if (me === "root") return this.run(argv, options);
    return viaSudo(this, me, [this.tool("/usr/bin/sudo"), "-n", ...argv], options);
  }

  async asUser(argv: string[], options?: RunOptions): Promise<CommandResult> {
    const [me, prefix] = await Promise.all([this.currentUser(), this.brewPrefix()]);
    // Every transport's own PATH lacks Homebrew (homebrewUserPath says why): set here, for all.
    const vars = userEnvironment(this.host, prefix, options?.env);
    // `env -i` (env(1)): the command starts from these alone, whatever the SSH session or sudo
    // gave it. The values are argv words: asUser is never given a secret (an installer's travel
    // in a 0600 file: provider/containerInstaller.ts).
    const env = [this.tool("/usr/bin/env"), "-i", ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
    if (me === this.host.user) return this.run([...env, ...argv], { ...options, env: undefined });
    const sudo = [this.tool("/usr/bin/sudo"), "-n", "-u", this.host.user, "-H", ...env];
    return viaSudo(this, me, [...sudo, ...argv], { ...options, env: undefined });
  }

  async listProcesses(timeoutMs = 15_000): Promise<ProcessInfo[]> {
    return parseProcesses((await this.run([this.tool("/bin/ps"), "axo", "pid=,user=,stat=,command="], { timeoutMs })).stdout);
  }

  /** Runs a read as us, then as the Homebrew user when we may not; undefined when it failed. The
   *  output is kept byte for byte: a file's hash must not depend on how it was read. */
  private async read(argv: string[]): Promise<string | undefined> {
    const options = { allowFailure: true, timeoutMs: 15_000, exactOutput: true };
    const mine = await this.run(argv, options);
    if (mine.exitCode === 0) return mine.stdout;
    if (!/denied/i.test(mine.stderr)) return undefined;
    const theirs = await this.asUser(argv, options);
    return theirs.exitCode === 0 ? theirs.stdout : undefined;
  }

  readFile(path: string): Promise<string | undefined> {
    return this.read([this.tool("/bin/cat"), path]);
  }

  async tail(path: string, lines: number): Promise<string> {
    return ((await this.read([this.tool("/usr/bin/tail"), "-n", String(lines), path])) ?? "").trimEnd();
  }

  async listDir(path: string): Promise<string[]> {
    return ((await this.read([this.tool("/bin/ls"), "-1A", path])) ?? "").split("\n").filter(Boolean);
  }

  async readLink(path: string): Promise<string | undefined> {
    return (await this.read([this.tool("/usr/bin/readlink"), path]))?.trim() || undefined;
  }

  /** `test <flag> <path>` as us, then as the Homebrew user when our lookup was refused. test(1)
   *  says nothing of why it is false: ls(1) does (`ls: <path>: Permission denied`, file_cmds
   *  ls/ls.c) — a folder of the Homebrew user's we may not search, as ~/Library (drwx------). */
  private async test(flag: "-e" | "-S", path: string): Promise<boolean> {
    const argv = [this.tool("/bin/test"), flag, path];
    const options = { allowFailure: true, timeoutMs: 15_000 };
    if ((await this.run(argv, options)).exitCode === 0) return true;
    if ((await this.currentUser()) === this.host.user) return false;
    const ls = await this.run([this.tool("/bin/ls"), "-d", path], options);
    if (!/denied/i.test(ls.stderr)) return false;
    try {
      return (await this.asUser(argv, options)).exitCode === 0;
    } catch (e) {
      // An operator whose sudo wants a password sees what they may see; the pre-flight
      // (checkSudo) tells them, with the sudoers lines, before anything changes.
      if ((e as Error).name === "SudoError") return false;
      throw e;
    }
  }

  exists(path: string): Promise<boolean> {
    return this.test("-e", path);
  }

  isSocket(path: string): Promise<boolean> {
    return this.test("-S", path);
  }

  async diskUsage(path: string): Promise<number | undefined> {
    if (!(await this.exists(path))) return 0;
    const kib = Number.parseInt((await this.read([this.tool("/usr/bin/du"), "-sk", path])) ?? "", 10);
    return Number.isFinite(kib) ? kib * 1024 : undefined;
  }

  async writeFile(path: string, content: string | Buffer, options: { owner: FileOwner; mode: string }): Promise<void> {
    if (!/^[0-7]{3,4}$/.test(options.mode)) throw new Error(`writeFile ${path}: mode ${options.mode} is not octal`);
    const [mktemp, cat, chmod, mv, rm] = ["/usr/bin/mktemp", "/bin/cat", "/bin/chmod", "/bin/mv", "/bin/rm"].map((t) => this.tool(t));
    if (options.owner === "root") {
      // Only ROOT_COMMANDS run as root: the text goes into a file of ours (0600), root installs a
      // copy beside `path` (root:wheel, `mode`) and renames it over the old one, so a reader sees
      // the old text or the new, never half of it.
      const ours = (
        await this.run(
          [
            this.tool("/bin/sh"),
            "-c",
            `umask 077 && t=$(${shellQuote(mktemp)} "$1") && ${shellQuote(cat)} >"$t" && echo "$t"`,
            "sh",
            `${this.tool("/var/tmp")}/colima-pulse.XXXXXX`,
          ],
          { input: content },
        )
      ).stdout.trim();
      try {
        await this.asRoot([this.tool("/usr/bin/install"), "-m", options.mode, "-o", "0", "-g", "0", ours, `${path}.new`]);
        await this.asRoot([mv, "-f", `${path}.new`, path]);
      } finally {
        await this.run([rm, "-f", ours], { allowFailure: true });
      }
      return;
    }
    // Created by the Homebrew user, filled from stdin, then renamed over the old file.
    const script = [
      "set -e",
      `t=$(${shellQuote(mktemp)} "$1.XXXXXX")`,
      `trap '${shellQuote(rm).replace(/'/g, `'\\''`)} -f "$t"' EXIT`,
      `${shellQuote(cat)} >"$t"`,
      `${shellQuote(chmod)} "$2" "$t"`,
      `${shellQuote(mv)} -f "$t" "$1"`,
      "trap - EXIT",
    ].join("\n");
    await this.asUser([this.tool("/bin/sh"), "-c", script, "sh", path, options.mode], { input: content });
  }
}

/** This machine is the Mac: commands run here, and reads go to the files directly where we may. */
class LocalMac extends CommandMac {
  readonly name = "this Mac";
  readonly local = true;

  /** The environment of a command we run as ourselves, as a session of ours on the Mac would
   *  start it (an SSH login: sshd's PATH, HOME, USER, LOGNAME), never this process's own: the
   *  engine gives the provider PULUMI_CONFIG_PASSPHRASE, and the operator's shell its tokens.
   *  Through sudo, root's commands get from it only what sudo's env_reset keeps (PATH, HOME: its
   *  initial_keepenv_table and macOS's env_keep, apple-oss-distributions/sudo
   *  plugins/sudoers/env.c, files/sudoers). Who we are comes from this process (the same user). */
  private session(): Record<string, string> {
    const me = (k: string) => (process.env[k] ? { [k]: process.env[k] as string } : {});
    return { PATH: SYSTEM_PATH, ...me("HOME"), ...me("USER"), ...me("LOGNAME"), ...simulated(this.host, process.env.SIM_USER) };
  }

  run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    return run(argv, { ...options, inheritEnv: false, env: { ...this.session(), ...options.env } });
  }

  removeNow(path: string, options?: { asRoot?: boolean }): void {
    const [rm, ...args] = this.removeArgv(path, options?.asRoot);
    spawnSync(rm as string, args, { timeout: 10_000, env: this.session() });
  }

  /** `direct()`'s value, or the command-based answer when this process may not read it. */
  private async direct<T>(direct: () => T, absent: T, viaCommand: () => Promise<T>): Promise<T> {
    try {
      return direct();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") return viaCommand();
      return absent;
    }
  }

  override readFile(path: string): Promise<string | undefined> {
    return this.direct(
      () => readFileSync(path, "utf8"),
      undefined,
      () => super.readFile(path),
    );
  }

  override async tail(path: string, lines: number): Promise<string> {
    return this.direct(
      () => readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n"),
      "",
      () => super.tail(path, lines),
    );
  }

  override listDir(path: string): Promise<string[]> {
    return this.direct(
      () => readdirSync(path),
      [],
      () => super.listDir(path),
    );
  }

  override readLink(path: string): Promise<string | undefined> {
    return this.direct(
      () => readlinkSync(path),
      undefined,
      () => super.readLink(path),
    );
  }

  override async exists(path: string): Promise<boolean> {
    return this.direct(
      () => statSync(path) !== undefined,
      false,
      () => super.exists(path),
    );
  }

  override async isSocket(path: string): Promise<boolean> {
    return this.direct(
      () => statSync(path).isSocket(),
      false,
      () => super.isSocket(path),
    );
  }

  override diskUsage(path: string): Promise<number | undefined> {
    // Sparse VM disks count the blocks they use, not their size. Folders count too, as `du -sk`
    // counts them (file_cmds du/du.c): the same total whichever way it is read.
    const walk = (d: string): number =>
      readdirSync(d, { withFileTypes: true }).reduce((total, entry) => {
        const p = join(d, entry.name);
        return total + (entry.isDirectory() ? walk(p) : entry.isFile() ? statSync(p).blocks * 512 : 0);
      }, statSync(d).blocks * 512);
    return this.direct<number | undefined>(
      () => walk(path),
      0,
      () => super.diskUsage(path),
    );
  }
}

/** How ssh's own words tell what went wrong (ssh exits 255 then). They are read from ssh's log
 *  (`-E`), never from what the remote command printed: see SshMac.run. */
const HOST_KEY_CHANGED = /REMOTE HOST IDENTIFICATION HAS CHANGED/;
const HOST_KEY_UNKNOWN = /Host key verification failed/;
const LOGIN_REFUSED = /Permission denied \(/;

/** Commands run at once over one SSH connection. macOS's sshd allows 10 sessions per connection
 *  (MaxSessions, OpenSSH's default: apple-oss-distributions/OpenSSH openssh/servconf.h
 *  DEFAULT_SESSIONS_MAX, left commented as `#MaxSessions 10` in its sshd_config). Past it the Mac
 *  refuses the master's session request ("Session open refused by peer") and ssh falls back to a
 *  login of its own per command, which macOS's `MaxStartups 10:30:100` starts dropping once 10 are
 *  being authenticated at once ("kex_exchange_identification: … Connection reset"). 8 leaves room
 *  for a session whose close the Mac has not yet read when its client returned, and for
 *  removeNow's (an exit handler's `rm`, which cannot wait its turn). The bound is counted in this
 *  process, so the connection is this process's own (SshMac: its ControlPath hashes our PID): the
 *  program, the provider and the fleet runner reach one Mac at once, and a master they shared
 *  carried up to 8 sessions from each. */
export const SSH_SESSIONS_PER_CONNECTION = 8;

/** One of this process's connections to a Mac: the sessions it carries at once, and its opening
 *  (one ssh at a time logs in: SshMac.viaMaster). */
interface Connection {
  sessions: Semaphore;
  opening: Semaphore;
}

/** Each connection's bounds (by the ControlPath's key), shared by every Mac object and provider
 *  module of this process that reaches it (on globalThis, as host.ts keeps its locks). */
function connectionOf(key: string): Connection {
  const g = globalThis as { __colimaPulseSshConnections?: Map<string, Connection> };
  g.__colimaPulseSshConnections ??= new Map();
  let connection = g.__colimaPulseSshConnections.get(key);
  if (!connection) {
    connection = { sessions: new Semaphore(SSH_SESSIONS_PER_CONNECTION), opening: new Semaphore(1) };
    g.__colimaPulseSshConnections.set(key, connection);
  }
  return connection;
}

/** Ends this process's masters when it exits (`ssh -O exit`, mux.c: the master closes its
 *  connection), so a finished run leaves no connection of its own behind for ControlPersist's
 *  minute. A process killed outright leaves its master to that minute. */
function closeAtExit(connection: string, argv: string[]): void {
  const g = globalThis as { __colimaPulseSshMasters?: Map<string, string[]> };
  if (!g.__colimaPulseSshMasters) {
    const masters = new Map<string, string[]>();
    g.__colimaPulseSshMasters = masters;
    process.once("exit", () => {
      for (const [ssh, ...args] of masters.values())
        spawnSync(ssh as string, args, { timeout: 5_000, stdio: "ignore", env: sshEnvironment() });
    });
  }
  g.__colimaPulseSshMasters.set(connection, argv);
}

/** The longest unix socket path: sun_path is 104 bytes on macOS (sys/un.h), 108 on Linux, with
 *  its NUL. ssh binds a master's socket at ControlPath + "." + 16 random letters, then links it to
 *  ControlPath (openssh-portable mux.c muxserver_listen), so that name must fit too. */
const SOCKET_PATH_MAX = 103;
/** `<12 hex of ours>-<%C: 40 hex>` and ssh's `.<16 letters>` while it binds. */
const CONTROL_NAME_MAX = 12 + 1 + 40 + 1 + 16;

/** What to tell apart in a folder's mode. */
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

/** Whether a folder on the way to the connection folder lets someone other than us or root
 *  change what lies below it: the first such problem, or undefined. A folder is safe when it is
 *  root's or ours and nobody else may write to it, or, like /tmp, it is sticky (others may then
 *  neither rename nor remove what is ours in it: chmod(2) S_ISVTX, sticky(7)). A symlink on the
 *  way (macOS's /tmp → private/tmp) must be root's or ours; its target is checked too (realpath). */
export function unsafeFolderOnTheWay(path: string, uid: number): string | undefined {
  for (const walk of [path, realpathSync(path)]) {
    const parts = walk.split("/").filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join("/")}`;
      const st = lstatSync(p);
      if (st.uid !== 0 && st.uid !== uid) return `${p} is owned by uid ${st.uid}, neither you nor root`;
      if (st.isSymbolicLink()) continue;
      if (!st.isDirectory()) return `${p} is not a folder`;
      if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `${p} is writable by others (mode ${octal(st.mode)}) and not sticky`;
    }
  }
  return undefined;
}

/** Where this user's SSH connection folder is made: $XDG_RUNTIME_DIR when it is this user's own
 *  private folder (XDG Base Directory Specification: owned by the user, mode 0700) and short
 *  enough for a socket path, else /tmp (kept as /tmp, not /private/tmp, for the same reason). */
function connectionBase(uid: number, env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime?.startsWith("/")) {
    const folder = `${runtime.replace(/\/+$/, "")}/colima-pulse-ssh-${uid}`;
    try {
      const st = lstatSync(realpathSync(runtime));
      const private_ = st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
      if (private_ && folder.length + 1 + CONTROL_NAME_MAX <= SOCKET_PATH_MAX && !unsafeFolderOnTheWay(runtime, uid)) return runtime;
    } catch {
      // not there: /tmp
    }
  }
  return "/tmp";
}

/** Makes sure `folder` (in `base`) is a real folder of this user that no one else may enter or
 *  change, making it if it is not there; else throws, changing nothing. The SSH control sockets
 *  live in it, and OpenSSH's mux client talks to whatever listens on the ControlPath (mux.c checks
 *  no owner): whoever may put a socket there, or swap the folder, receives every command, its
 *  stdin, and answers for the Mac. So another user's folder, a symlink, or a folder others may
 *  write to is never used, nor changed (never chmod/chown'ed: it may not be ours). Inside a
 *  folder that is ours and 0700, in folders nobody but us and root may change, only we (and root)
 *  can make or replace a socket: the sockets need no check of their own. */
function ensurePrivateFolder(base: string, folder: string, uid: number): void {
  const refuse = (found: string, fix: string) =>
    Object.assign(
      new Error(
        `the SSH connection folder ${folder} ${found}: whoever may change it could receive every command colima-pulse sends to the Mac, ` +
          `with its input, and answer for the Mac. Refused: nothing was sent. ${fix}, then run again`,
      ),
      { name: "SshError", stderrTail: "" },
    );
  const unsafe = unsafeFolderOnTheWay(base, uid);
  if (unsafe) {
    throw refuse(
      `cannot be kept private (${unsafe})`,
      `Make ${base} safe (root's, and \`chmod +t\` if others may write to it), or set XDG_RUNTIME_DIR to a private folder of yours`,
    );
  }
  try {
    // Not recursive: the base is there (checked above); mkdir(2) follows no symlink in the last part.
    mkdirSync(folder, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const st = lstatSync(folder);
  const mode = octal(st.mode);
  if (st.isSymbolicLink()) {
    let to = "?";
    try {
      to = readlinkSync(folder);
    } catch {
      // gone meanwhile: still refused
    }
    throw refuse(
      `is a symbolic link (to ${to}, owned by uid ${st.uid}), not a folder`,
      `Remove the link (\`${uid === 0 ? "" : "sudo "}rm ${folder}\`; check who made it: \`ls -ld ${folder}\`)`,
    );
  }
  if (!st.isDirectory())
    throw refuse(`is not a folder (owned by uid ${st.uid}, mode ${mode})`, `Remove it (\`ls -ld ${folder}\`, then \`rm ${folder}\`)`);
  if (st.uid !== uid) {
    throw refuse(
      `is owned by uid ${st.uid}, not by you (uid ${uid}), mode ${mode}`,
      `Another user made it: check who (\`ls -ld ${folder}\`), then have an administrator remove it (\`sudo rm -rf ${folder}\`)`,
    );
  }
  if ((st.mode & 0o777) !== 0o700) {
    // Ours: with no write bit for others nothing of theirs can be in it, so a chmod is the fix;
    // with one, something may have been put there, so it goes (it holds only connections).
    const fix = (st.mode & 0o022) === 0 ? `\`chmod 700 ${folder}\`` : `Remove it (\`rm -rf ${folder}\`: it holds only connections)`;
    throw refuse(`has mode ${mode}, not 0700 (others may enter or change it)`, fix.startsWith("`") ? `Run ${fix}` : fix);
  }
}

/** The options every ssh colima-pulse runs applies to every host on its way, the Mac and each
 *  ProxyJump hop: written in an ssh_config file given with `-F`, which ssh hands on to the ssh it
 *  starts for each hop, and that one to the next (openssh-portable ssh.c: a ProxyJump becomes the
 *  ProxyCommand `ssh [-l user] [-p port] [-J more hops] [-F file] -W '[%h]:%p' hop`; no `-o` of
 *  the command line is passed on). ssh keeps the first value it reads for an option
 *  (ssh_config(5)): these come before the operator's ~/.ssh/config and the system's
 *  /etc/ssh/ssh_config, which are then read as ssh would (Include), so host aliases, users, keys
 *  and ProxyJump lines still apply, but never to loosen host key checks, prompt, forward the agent
 *  or X11, open forwardings, or multiplex a hop through a socket this folder does not hold. The
 *  command line's own options (ControlMaster, ControlPath, the key) come first still, for the Mac. */
function hopConfig(t: SshTarget): string {
  const home = userInfo().homedir; // as ssh finds ~ (getpwuid: openssh-portable ssh.c), not $HOME
  const q = (v: string) => {
    if (/["\n\r\0]/.test(v)) throw new Error(`ssh_config value ${JSON.stringify(v)}: a double quote or line break cannot be written`);
    return `"${v}"`;
  };
  return [
    "# Written by colima-pulse (provider/lib/mac.ts hopConfig) for its ssh to the Mac and every hop on the way.",
    "BatchMode yes",
    "StrictHostKeyChecking yes",
    ...(t.knownHostsFile ? [`UserKnownHostsFile ${q(t.knownHostsFile)}`] : []),
    "UpdateHostKeys no",
    "ForwardAgent no",
    "ForwardX11 no",
    "ForwardX11Trusted no",
    "ClearAllForwardings yes",
    "Tunnel no",
    "PermitLocalCommand no",
    "ControlMaster no",
    "ControlPath none",
    "ConnectTimeout 10",
    "ServerAliveInterval 5",
    "ServerAliveCountMax 3",
    "LogLevel ERROR",
    `Include ${q(`${home}/.ssh/config`)}`,
    "Include /etc/ssh/ssh_config",
    "",
  ].join("\n");
}

/** Writes `text` to `path` (in our private folder) unless it holds it already: a new file, then a
 *  rename, so a concurrent ssh reads the old text or the new. */
function writeIfChanged(path: string, text: string): void {
  try {
    if (readFileSync(path, "utf8") === text) return;
  } catch {
    // not there yet
  }
  const fresh = `${path}.${randomBytes(6).toString("hex")}`;
  writeFileSync(fresh, text, { mode: 0o600, flag: "wx" });
  renameSync(fresh, path);
}

/** The Mac at the other end of an SSH connection. */
class SshMac extends CommandMac {
  readonly name: string;
  readonly local = false;
  /** ssh's argv up to the remote command line: the same for every command to this Mac. */
  private readonly ssh: string[];
  /** This process's connection: its ControlPath's key, and its bounds (connectionOf). */
  private readonly key: string;
  private readonly connection: Connection;
  /** Our connection folder (ensurePrivateFolder), where it is made, and the -F file in it. */
  private readonly folder: string;
  private readonly base: string;
  private readonly config: string;
  private readonly uid: number;

  constructor(
    host: Host,
    readonly target: SshTarget,
  ) {
    super(host);
    const t = target;
    this.name = `${t.destination}${t.port ? `:${t.port}` : ""} (over SSH)`;
    // %C hashes this machine, the Mac, the port and the login user; ours adds the key and the
    // known_hosts file, which a shared connection would otherwise skip (it was checked, and
    // logged in, as whoever opened it). The folder is short (unix socket paths are limited) and
    // ours alone, checked before every command (ensurePrivateFolder).
    this.uid = process.getuid?.() ?? -1;
    this.base = connectionBase(this.uid);
    this.folder = `${this.base}/colima-pulse-ssh-${this.uid}`;
    const ours = createHash("sha256").update(JSON.stringify(t)).digest("hex").slice(0, 12);
    this.config = `${this.folder}/${ours}.ssh_config`;
    // This process's own connection to the Mac: SSH_SESSIONS_PER_CONNECTION is counted here.
    this.key = createHash("sha256")
      .update(`${JSON.stringify(t)}\n${process.pid}`)
      .digest("hex")
      .slice(0, 12);
    this.connection = connectionOf(this.key);
    const options = {
      BatchMode: "yes",
      StrictHostKeyChecking: "yes",
      ForwardAgent: "no",
      ClearAllForwardings: "yes",
      ForwardX11: "no",
      ConnectTimeout: "10",
      ServerAliveInterval: "5",
      ServerAliveCountMax: "3",
      ControlMaster: "auto",
      ControlPath: `${this.folder}/${this.key}-%C`,
      ControlPersist: "60",
      LogLevel: "ERROR",
      ...(t.identityFile ? { IdentityFile: t.identityFile, IdentitiesOnly: "yes" } : {}),
      ...(t.knownHostsFile ? { UserKnownHostsFile: t.knownHostsFile } : {}),
    };
    this.ssh = [
      "/usr/bin/ssh",
      "-F",
      this.config,
      "-T",
      ...Object.entries(options).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
      ...(t.port ? ["-p", String(t.port)] : []),
    ];
    closeAtExit(this.key, [...this.ssh, "-O", "exit", "--", t.destination]);
  }

  /** Checks our connection folder (throws an SshError, nothing sent, when it is not ours alone)
   *  and writes the -F file every hop reads. Before every command: a folder removed meanwhile (by
   *  a /tmp cleaner) and made again by someone else is caught before ssh uses it. */
  private prepare(): void {
    ensurePrivateFolder(this.base, this.folder, this.uid);
    writeIfChanged(this.config, hopConfig(this.target));
  }

  /** ssh's argv for one remote command line; `log`: where ssh writes its own messages (-E). */
  sshArgv(command: string, log?: string): string[] {
    return [...this.ssh, ...(log ? ["-E", log] : []), "--", this.target.destination, command];
  }

  /** Whether this process's master for the Mac listens: ssh links its socket at the ControlPath
   *  once it has logged in, binding it under a name with a `.` and 16 letters first (mux.c
   *  muxserver_listen), and removes it when it exits. */
  private masterListens(): boolean {
    try {
      return readdirSync(this.folder).some((name) => name.startsWith(`${this.key}-`) && !name.includes("."));
    } catch {
      return false;
    }
  }

  /** Starts one ssh (`start`) so that the connection logs in once. With no master listening, every
   *  ssh of a burst logs in by itself (ControlMaster=auto: each tries to become the master), up to
   *  SSH_SESSIONS_PER_CONNECTION at once from each process, and macOS's `MaxStartups 10:30:100`
   *  drops logins past 10 ("kex_exchange_identification: … Connection reset by peer"). So the
   *  first logs in alone; the others wait until its master listens (or it ended), then share it. */
  private async viaMaster<T>(start: () => Promise<T>): Promise<T> {
    if (this.masterListens()) return start();
    let opener: Promise<T> | undefined;
    await this.connection.opening.run(async () => {
      if (this.masterListens()) return;
      const first = start();
      opener = first;
      let ended = false;
      first.then(
        () => {
          ended = true;
        },
        () => {
          ended = true;
        },
      );
      while (!ended && !this.masterListens()) await new Promise((resolve) => setTimeout(resolve, 20));
    });
    return opener ?? start();
  }

  /** Runs argv on the Mac. The remote side is a `/bin/sh -c` that writes a line with a fresh
   *  random tag on stderr before the command starts and one with its exit status after it ends,
   *  and ssh writes its own messages to a log file of ours (`-E`), never among the command's
   *  output. So an exit 255 (ssh's own failure status: ssh(1)) is the command's when its status
   *  line came back, and ssh's when it did not; ssh's failure is told from ssh's log alone and
   *  never quotes what the command printed (an installer's output may hold a secret in a form the
   *  engine does not mask). */
  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const remote = [...(env.length > 0 ? [this.tool("/usr/bin/env"), ...env] : []), ...argv];
    this.prepare();
    const tag = `colima-pulse-${randomBytes(12).toString("hex")}`;
    const wrapper = `printf '%s\\n' ${tag}:start >&2; "$@"; s=$?; printf '%s\\n' ${tag}:exit:$s >&2; exit $s`;
    const wrapped = [this.tool("/bin/sh"), "-c", wrapper, "sh", ...remote];
    const log = `${this.folder}/${tag}.log`;
    // The login shell on the Mac reads this line: every word is quoted.
    const ssh = this.sshArgv(wrapped.map(shellQuote).join(" "), log);
    const untag = (text: string) => text.replace(new RegExp(`${tag}:(start|exit:\\d+)\\n?`, "g"), "");
    let r: CommandResult;
    let said: string;
    try {
      // A session of the connection while it runs: never more than the Mac allows at once.
      r = await this.connection.sessions.run(() =>
        this.viaMaster(() => run(ssh, { ...options, env: sshEnvironment(), inheritEnv: false, allowFailure: true })),
      );
    } catch (e) {
      // A timeout ends our ssh; say which command on the Mac it was.
      const err = e as Error & { argv?: string[]; stderrTail?: string };
      throw Object.assign(err, {
        message: untag(err.message.replace(ssh.join(" "), `${remote.join(" ")} on ${this.name}`)),
        argv: remote,
        stderrTail: untag(err.stderrTail ?? ""),
      });
    } finally {
      said = readLog(log);
    }
    const out = splitTagged(r.stderr, tag);
    if (out.status === undefined && r.exitCode === 255) throw this.sshError(remote, said, out.started, out.before);
    const exitCode = out.status ?? r.exitCode;
    const result = { argv: remote, exitCode, stdout: r.stdout, stderr: out.stderr };
    if (exitCode !== 0 && !options.allowFailure) {
      throw Object.assign(new Error(describeFailure(`exited with code ${exitCode} on ${this.name}`, remote, r.stdout, out.stderr)), {
        name: "CommandError",
        reason: `exited with code ${exitCode}`,
        argv: remote,
        exitCode,
        signal: null,
        timedOut: false,
        stdoutTail: r.stdout,
        stderrTail: out.stderr,
      });
    }
    return result;
  }

  /** ssh could not run the command, or lost the connection while it ran: why, from ssh's own
   *  words (`said`: its log, and `before`: what came back before the command started — a hop's
   *  or the login shell's words, never the command's), and the operator's next step. */
  private sshError(remote: string[], said: string, started: boolean, before: string): Error {
    const t = this.target;
    const hostName = t.destination.replace(/^.*@/, "");
    const keyName = t.port ? `[${hostName}]:${t.port}` : hostName;
    const knownHosts = t.knownHostsFile ?? "~/.ssh/known_hosts";
    const words = `${said}\n${before}`.trim();
    const last = words.split("\n").filter(Boolean).slice(-3).join(" | ");
    const quoted = last ? `ssh said: ${last}` : "ssh said nothing";
    let why: string;
    if (HOST_KEY_CHANGED.test(words)) {
      why =
        `the host key of ${keyName} is not the one in ${knownHosts}: refused, nothing was run on it. If the Mac was reinstalled ` +
        `or its key rotated, check the new key on the Mac (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run ` +
        `\`ssh-keygen -R '${keyName}' -f ${knownHosts}\` and add the new one (\`ssh-keyscan${t.port ? ` -p ${t.port}` : ""} ${hostName} >> ${knownHosts}\`)`;
    } else if (HOST_KEY_UNKNOWN.test(words)) {
      why =
        `${keyName} has no known host key in ${knownHosts}: refused, nothing was run on it (host keys are never accepted ` +
        `unchecked). Compare \`ssh-keyscan${t.port ? ` -p ${t.port}` : ""} ${hostName}\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` ` +
        `on the Mac, then append the matching line to ${knownHosts}`;
    } else if (LOGIN_REFUSED.test(words)) {
      why =
        `ssh could not log in to ${t.destination}: add your public key to that user's ~/.ssh/authorized_keys on the Mac` +
        `${t.identityFile ? "" : ", or set SSH_IDENTITY_FILE to the key that is there"}; nothing was run on it`;
    } else {
      const what = started
        ? `\`${remote.join(" ")}\` started and may not have run to the end`
        : `\`${remote.join(" ")}\` may not have run, or not to the end`;
      why =
        `the SSH connection to ${this.name} failed or was lost (${quoted}); ${what}. Nothing after it ran. ` +
        `Run the same command again once \`ssh ${t.port ? `-p ${t.port} ` : ""}-F ${this.config}${t.identityFile ? ` -i ${t.identityFile}` : ""} ${t.destination} true\` ` +
        "answers: it converges from where this stopped. That ssh reads the options colima-pulse gives the Mac and every ProxyJump hop " +
        "(each hop's host key must be known too), and prints why it cannot connect, a hop's reasons included (with ControlPersist ssh " +
        "sends a hop's messages to /dev/null: openssh-portable sshconnect.c)";
    }
    return Object.assign(new Error(why), { name: "SshError", stderrTail: words });
  }

  removeNow(path: string, options?: { asRoot?: boolean }): void {
    try {
      this.prepare();
    } catch {
      return; // best effort, and never through a folder that is not ours alone
    }
    const [ssh, ...args] = this.sshArgv(this.removeArgv(path, options?.asRoot).map(shellQuote).join(" "));
    spawnSync(ssh as string, args, { timeout: 10_000, stdio: "ignore", env: sshEnvironment() });
  }
}

/** The whole environment of every ssh we start: what ssh itself needs (PATH, who we are, the
 *  operator's agent for keys it holds), never this process's own. ssh sends every variable its
 *  config's SendEnv names and a Mac's sshd takes what its AcceptEnv allows (ssh_config(5),
 *  sshd_config(5)); this process holds the engine's PULUMI_CONFIG_PASSPHRASE and the operator's
 *  exports, which an operator's `SendEnv *` would otherwise put into every session on the Mac. */
function sshEnvironment(): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK"];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
}

/** ssh's own messages of one command (its -E log in our folder), then the log removed. */
function readLog(log: string): string {
  try {
    return readFileSync(log, "utf8").trim();
  } catch {
    return "";
  } finally {
    rmSync(log, { force: true });
  }
}

/** A wrapped command's stderr (SshMac.run) taken apart: what came before its start line, its own
 *  stderr (as run() gives one: the last newline dropped), its exit status when that line came
 *  back, and whether it started. */
function splitTagged(stderr: string, tag: string): { before: string; stderr: string; status?: number; started: boolean } {
  const start = `${tag}:start\n`;
  const at = stderr.indexOf(start);
  if (at < 0) return { before: stderr, stderr: "", started: false };
  const body = stderr.slice(at + start.length);
  const end = new RegExp(`${tag}:exit:(\\d+)(\\n|$)`).exec(body);
  if (!end) return { before: stderr.slice(0, at), stderr: body, started: true };
  // What a child the command left running wrote after it ended still is the command's.
  const own = body.slice(0, end.index) + body.slice(end.index + end[0].length);
  return { before: stderr.slice(0, at), stderr: own.replace(/\n$/, ""), status: Number(end[1]), started: true };
}

/** Fails, changing nothing, when we are not root and sudo would ask for a password for what
 *  colima-pulse runs through it: a root command (ROOT_COMMANDS: `launchctl print-disabled system`,
 *  read-only) and, when the Homebrew user is someone else, a command as that user (`id -un`).
 *  colima-pulse never types a password (every sudo is `sudo -n`), and a `sudo -v` cannot stand in
 *  for one (sudoFix). `stage` starts the message ("pre-flight"). */
export async function checkSudo(mac: Mac, stage: string): Promise<void> {
  const me = await mac.currentUser();
  if (me === "root") return;
  try {
    await mac.asRoot([hostPath(mac.host, "/bin/launchctl"), "print-disabled", "system"], { timeoutMs: 30_000 });
    if (me !== mac.host.user) await mac.asUser([hostPath(mac.host, "/usr/bin/id"), "-un"], { timeoutMs: 30_000 });
  } catch (e) {
    const err = e as Error & { stderrTail?: string; exitCode?: number | null };
    // Not sudo's refusal (a lost connection, a timeout): that error as it is.
    if (err.name !== "SudoError" && !/sudo/i.test(err.stderrTail ?? "")) throw e;
    const said = err.name === "SudoError" ? (err as Error & { said: string }).said : err.stderrTail?.trim() || err.message;
    throw sudoError(
      `${stage}: ${me} cannot run colima-pulse's root commands through sudo on ${mac.name} without a password (${said}); ` +
        `the system LaunchDaemon needs root and nothing was changed. ${sudoFix(mac, me)}, then run again.`,
      said,
    );
  }
}

/** What to do when sudo wants a password: the sudoers lines, and why a `sudo -v` does not do. */
export function sudoFix(mac: Pick<Mac, "host" | "local">, me: string): string {
  const on = mac.local ? "" : ` on ${mac.host.ssh?.destination ?? "the Mac"}`;
  return (
    "A `sudo -v` cannot help: colima-pulse runs sudo with no terminal, and sudo keeps a `sudo -v` for the terminal it ran on " +
    `(timestamp_type tty). Let ${me} run these commands without a password: run \`sudo visudo -f ${hostPath(mac.host, SUDOERS_FILE)}\`${on} and put in it\n` +
    sudoersLines(mac.host, me)
      .map((l) => `  ${l}\n`)
      .join("") +
    "(sudoers matches each command by its path, so it may run with any arguments)"
  );
}

/** Runs argv (a `sudo -n …`): its result, or its failure as run() gives it — but when sudo itself
 *  refused for want of a password (`sudo -n` exits 1 with `sudo: a password is required`:
 *  apple-oss-distributions/sudo plugins/sudoers/check.c check_user_interactive, logging.c
 *  log_auth_failure), the SudoError with the fix, also for a probe that allows failure. */
async function viaSudo(mac: CommandMac, me: string, argv: string[], options?: RunOptions): Promise<CommandResult> {
  const refused = (stderr: string | undefined) => /^sudo: a password is required$/m.test(stderr ?? "");
  const refusal = () => {
    const said = "sudo: a password is required";
    return sudoError(
      `${me} may not run \`${argv.join(" ")}\` through sudo on ${mac.name} without a password (${said}). ${sudoFix(mac, me)}.`,
      said,
    );
  };
  let r: CommandResult;
  try {
    r = await mac.run(argv, options);
  } catch (e) {
    const err = e as Error & { exitCode?: number | null; stderrTail?: string };
    if (err.name === "CommandError" && err.exitCode === 1 && refused(err.stderrTail)) throw refusal();
    throw e;
  }
  if (r.exitCode === 1 && refused(r.stderr)) throw refusal();
  return r;
}

/** The error checkSudo throws; recognise it by `name === "SudoError"`. `said`: sudo's words. */
const sudoError = (message: string, said: string) => Object.assign(new Error(message), { name: "SudoError", said });
