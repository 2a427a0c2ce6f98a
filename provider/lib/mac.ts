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
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
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
import { type CommandResult, describeFailure, ROOT_KILL, type RunOptions, run } from "./process";
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
 *  - /bin/kill: process.ts killTree (what is left of a timed-out root command; it calls sudo itself).
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
  /** Runs argv as the Homebrew user with that user's HOME and a PATH with Homebrew's prefix first
   *  (host.ts homebrewUserPath), directly when we are that user. */
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
  /** Writes `text` whole: a temporary file beside `path`, then a rename, owned by `owner` with `mode`. */
  writeFile(path: string, text: string, options: { owner: FileOwner; mode: string }): Promise<void>;
  /** Removes `path` now, synchronously (for exit handlers); best effort. */
  removeNow(path: string): void;
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

/** Everything but the transport: each operation is a command on the Mac. */
abstract class CommandMac implements Mac {
  abstract readonly name: string;
  abstract readonly local: boolean;
  private me: Promise<string> | undefined;
  private prefix: Promise<string> | undefined;

  constructor(readonly host: Host) {}

  abstract run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  abstract removeNow(path: string): void;

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
    if (me === "root") return this.run(argv, options);
    return viaSudo(this, me, [this.tool("/usr/bin/sudo"), "-n", ...argv], options);
  }

  async asUser(argv: string[], options?: RunOptions): Promise<CommandResult> {
    const [me, prefix] = await Promise.all([this.currentUser(), this.brewPrefix()]);
    // Every transport's own PATH lacks Homebrew (homebrewUserPath says why): set here, for all.
    const vars = { HOME: homeOf(this.host), USER: this.host.user, PATH: homebrewUserPath(this.host, prefix), ...(options?.env ?? {}) };
    if (me === this.host.user) return this.run(argv, { ...options, env: vars });
    const env = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
    // sudo resets the environment (but PATH); /usr/bin/env sets what the command needs.
    const sudo = [this.tool("/usr/bin/sudo"), "-n", "-u", this.host.user, "-H", this.tool("/usr/bin/env"), ...env];
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

  async exists(path: string): Promise<boolean> {
    return (await this.run([this.tool("/bin/test"), "-e", path], { allowFailure: true, timeoutMs: 15_000 })).exitCode === 0;
  }

  async isSocket(path: string): Promise<boolean> {
    return (await this.run([this.tool("/bin/test"), "-S", path], { allowFailure: true, timeoutMs: 15_000 })).exitCode === 0;
  }

  async diskUsage(path: string): Promise<number | undefined> {
    if (!(await this.exists(path))) return 0;
    const kib = Number.parseInt((await this.read([this.tool("/usr/bin/du"), "-sk", path])) ?? "", 10);
    return Number.isFinite(kib) ? kib * 1024 : undefined;
  }

  async writeFile(path: string, text: string, options: { owner: FileOwner; mode: string }): Promise<void> {
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
          { input: text },
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
    await this.asUser([this.tool("/bin/sh"), "-c", script, "sh", path, options.mode], { input: text });
  }
}

/** This machine is the Mac: commands run here, and reads go to the files directly where we may. */
class LocalMac extends CommandMac {
  readonly name = "this Mac";
  readonly local = true;

  run(argv: string[], options?: RunOptions): Promise<CommandResult> {
    return run(argv, options);
  }

  removeNow(path: string): void {
    spawnSync(this.tool("/bin/rm"), ["-rf", path], { timeout: 10_000 });
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
    // Sparse VM disks count the blocks they use, not their size.
    const walk = (d: string): number =>
      readdirSync(d, { withFileTypes: true }).reduce((total, entry) => {
        const p = join(d, entry.name);
        return total + (entry.isDirectory() ? walk(p) : entry.isFile() ? statSync(p).blocks * 512 : 0);
      }, 0);
    return this.direct<number | undefined>(
      () => walk(path),
      0,
      () => super.diskUsage(path),
    );
  }
}

/** What ssh itself says when it, not the remote command, failed (it then exits 255). */
const SSH_FAILURE =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Permission denied \(|Connection refused|Connection timed out|Operation timed out|Could not resolve hostname|No route to host|Connection closed|closed by remote host|Connection reset|Broken pipe|client_loop|kex_exchange_identification|Timeout, server .* not responding|mux_client|Control socket|ssh: /;

/** Commands run at once over one SSH connection. macOS's sshd allows 10 sessions per connection
 *  (MaxSessions, OpenSSH's default: apple-oss-distributions/OpenSSH openssh/servconf.h
 *  DEFAULT_SESSIONS_MAX, left commented as `#MaxSessions 10` in its sshd_config). Past it the Mac
 *  refuses the master's session request ("Session open refused by peer") and ssh falls back to a
 *  login of its own per command, which macOS's `MaxStartups 10:30:100` starts dropping once 10 are
 *  being authenticated at once ("kex_exchange_identification: … Connection reset"). 8 leaves room
 *  for a session whose close the Mac has not yet read when its client returned, and for
 *  removeNow's (an exit handler's `rm`, which cannot wait its turn). */
export const SSH_SESSIONS_PER_CONNECTION = 8;

/** One bound per connection (the ControlPath's key), shared by every Mac object and provider
 *  module of this process that reaches it (on globalThis, as host.ts keeps its locks). */
function sessionsOf(connection: string): Semaphore {
  const g = globalThis as { __colimaPulseSshSessions?: Map<string, Semaphore> };
  g.__colimaPulseSshSessions ??= new Map();
  let sessions = g.__colimaPulseSshSessions.get(connection);
  if (!sessions) {
    sessions = new Semaphore(SSH_SESSIONS_PER_CONNECTION);
    g.__colimaPulseSshSessions.set(connection, sessions);
  }
  return sessions;
}

/** The Mac at the other end of an SSH connection. */
class SshMac extends CommandMac {
  readonly name: string;
  readonly local = false;
  /** ssh's argv up to the remote command line: the same for every command to this Mac. */
  private readonly ssh: string[];
  /** The commands this process has running over the connection (SSH_SESSIONS_PER_CONNECTION). */
  private readonly sessions: Semaphore;

  constructor(
    host: Host,
    readonly target: SshTarget,
  ) {
    super(host);
    const t = target;
    this.name = `${t.destination}${t.port ? `:${t.port}` : ""} (over SSH)`;
    // %C hashes this machine, the Mac, the port and the login user; ours adds the key and the
    // known_hosts file, which a shared connection would otherwise skip (it was checked, and
    // logged in, as whoever opened it). The folder is short (unix socket paths are limited to
    // 104 bytes on macOS) and ours alone.
    const dir = `/tmp/colima-pulse-ssh-${process.getuid?.() ?? "u"}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ours = createHash("sha256").update(JSON.stringify(t)).digest("hex").slice(0, 12);
    this.sessions = sessionsOf(ours);
    const options = {
      BatchMode: "yes",
      StrictHostKeyChecking: "yes",
      ConnectTimeout: "10",
      ServerAliveInterval: "5",
      ServerAliveCountMax: "3",
      ControlMaster: "auto",
      ControlPath: `${dir}/${ours}-%C`,
      ControlPersist: "60",
      LogLevel: "ERROR",
      ...(t.identityFile ? { IdentityFile: t.identityFile, IdentitiesOnly: "yes" } : {}),
      ...(t.knownHostsFile ? { UserKnownHostsFile: t.knownHostsFile } : {}),
    };
    this.ssh = [
      "/usr/bin/ssh",
      "-T",
      ...Object.entries(options).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
      ...(t.port ? ["-p", String(t.port)] : []),
      "--",
      t.destination,
    ];
  }

  /** ssh's argv for one remote command line. */
  sshArgv(command: string): string[] {
    return [...this.ssh, command];
  }

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const remote = [...(env.length > 0 ? [this.tool("/usr/bin/env"), ...env] : []), ...argv];
    // The login shell on the Mac reads this line: every word is quoted.
    const ssh = this.sshArgv(remote.map(shellQuote).join(" "));
    // A session of the connection while it runs: never more than the Mac allows at once.
    const r = await this.sessions
      .run(() => run(ssh, { ...options, env: undefined, allowFailure: true }))
      .catch((e: Error & { argv?: string[] }) => {
        // A timeout ends our ssh; say which command on the Mac it was.
        throw Object.assign(e, { message: e.message.replace(ssh.join(" "), `${remote.join(" ")} on ${this.name}`) });
      });
    if (r.exitCode === 255 && SSH_FAILURE.test(r.stderr)) throw this.sshError(remote, r.stderr);
    if (r.exitCode !== 0 && !options.allowFailure) {
      throw Object.assign(new Error(describeFailure(`exited with code ${r.exitCode} on ${this.name}`, remote, r.stdout, r.stderr)), {
        name: "CommandError",
        reason: `exited with code ${r.exitCode}`,
        argv: remote,
        exitCode: r.exitCode,
        signal: null,
        timedOut: false,
        stdoutTail: r.stdout,
        stderrTail: r.stderr,
      });
    }
    return { ...r, argv: remote };
  }

  /** ssh could not run the command: why, and the operator's next step. */
  private sshError(remote: string[], stderr: string): Error {
    const t = this.target;
    const hostName = t.destination.replace(/^.*@/, "");
    const keyName = t.port ? `[${hostName}]:${t.port}` : hostName;
    const knownHosts = t.knownHostsFile ?? "~/.ssh/known_hosts";
    const said = stderr.trim().split("\n").slice(-3).join(" | ");
    let why: string;
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
      why =
        `the host key of ${keyName} is not the one in ${knownHosts}: refused, nothing was run on it. If the Mac was reinstalled ` +
        `or its key rotated, check the new key on the Mac (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run ` +
        `\`ssh-keygen -R '${keyName}' -f ${knownHosts}\` and add the new one (\`ssh-keyscan${t.port ? ` -p ${t.port}` : ""} ${hostName} >> ${knownHosts}\`)`;
    } else if (/Host key verification failed/.test(stderr)) {
      why =
        `${keyName} has no known host key in ${knownHosts}: refused, nothing was run on it (host keys are never accepted ` +
        `unchecked). Compare \`ssh-keyscan${t.port ? ` -p ${t.port}` : ""} ${hostName}\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` ` +
        `on the Mac, then append the matching line to ${knownHosts}`;
    } else if (/Permission denied \(/.test(stderr)) {
      why =
        `ssh could not log in to ${t.destination}: add your public key to that user's ~/.ssh/authorized_keys on the Mac` +
        `${t.identityFile ? "" : ", or set SSH_IDENTITY_FILE to the key that is there"}; nothing was run on it`;
    } else {
      why =
        `the SSH connection to ${this.name} failed or was lost (${said}); \`${remote.join(" ")}\` may not have run, or not to the end. ` +
        `Nothing after it ran. Run the same command again once \`ssh ${t.port ? `-p ${t.port} ` : ""}${t.destination} true\` answers: it converges from where this stopped`;
    }
    return Object.assign(new Error(why), { name: "SshError", stderrTail: stderr });
  }

  removeNow(path: string): void {
    const [ssh, ...args] = this.sshArgv([this.tool("/bin/rm"), "-rf", path].map(shellQuote).join(" "));
    spawnSync(ssh as string, args, { timeout: 10_000, stdio: "ignore" });
  }
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
