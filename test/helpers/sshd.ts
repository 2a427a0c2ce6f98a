// A real OpenSSH server (Debian's openssh-server) on loopback for the SSH transport's tests: its
// own config, host key and client keys in a fresh folder per call, so nothing of the machine's
// sshd or ~/.ssh is used. stop() drops every connection as a network outage would, start() brings
// it back on the same port with the same keys.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";

export interface SshdKey {
  /** private key file for `ssh -i` */
  identityFile: string;
}

export interface Sshd {
  host: "127.0.0.1";
  port: number;
  /** the real local user every key logs in as (os.userInfo().username; root in CI) */
  loginUser: string;
  /** a known_hosts file holding exactly this server's host key, as `[127.0.0.1]:<port> ssh-ed25519 …` */
  knownHostsFile: string;
  /** a known_hosts file holding a DIFFERENT ed25519 key for the same [127.0.0.1]:<port> (to test "host key changed") */
  wrongKnownHostsFile: string;
  /** client key per name given in options.keys */
  keys: Record<string, SshdKey>;
  /** its working folder (config, keys, log at <dir>/sshd.log) */
  dir: string;
  /** ends the listener AND every connection's session process (as a network outage would): after it, no ssh session to it is alive; resolves once all are gone */
  stop(): Promise<void>;
  /** starts it again on the same port with the same keys (after stop) */
  start(): Promise<void>;
  /** stop() and remove dir */
  dispose(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

/** The PATH macOS's sshd gives every session, whoever logs in: Apple builds OpenSSH with
 *  `--with-default-path="/usr/bin:/bin:/usr/sbin:/sbin"` (apple-oss-distributions/OpenSSH
 *  configure-for-osx.sh; openssh/config.h `USER_PATH`), which defines.h makes `_PATH_STDPATH` and,
 *  with no SUPERUSER_PATH, root's too; session.c do_setup_env sets it (no login.conf on macOS).
 *  sshd runs a command as `zsh -c <command>`, argv[0] without the login dash (session.c
 *  do_child), so zsh reads only /etc/zshenv and ~/.zshenv — macOS installs no /etc/zshenv, only
 *  /etc/zprofile (path_helper) and /etc/zshrc (apple-oss-distributions/zsh Makefile), and
 *  Homebrew's `brew shellenv` goes in ~/.zprofile: both for login shells. So a command over SSH
 *  finds nothing of Homebrew's on PATH. Debian's sshd gives another (its SUPERUSER_PATH for root);
 *  the key's environment= option, applied after it, puts macOS's in its place. Its entries are
 *  macOS paths: the simulated tools map them into the Mac's root (simulator/tools/world.ts lookPath);
 *  for the real shell they are this machine's own system folders. */
export const MAC_SSH_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

/** Sessions macOS's sshd allows per connection (MaxSessions; see the config below). */
export const MAC_MAX_SESSIONS = 10;
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Proc {
  pid: number;
  ppid: number;
  zombie: boolean;
  args: string;
}

function processes(): Proc[] {
  const out = execFileSync("ps", ["-A", "-o", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
  const list: Proc[] = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line); // columns are padded
    if (m) list.push({ pid: Number(m[1]), ppid: Number(m[2]), zombie: m[3].startsWith("Z"), args: m[4] });
  }
  return list;
}

/** The listener and its per-connection sshd processes (`sshd: root [priv]`, `sshd: root@notty`, …)
 *  below it, but not the commands the sessions run: those are left to see their connection close. */
function sshdTree(listener: number, all = processes()): number[] {
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: number[] = [listener];
  const queue = [listener];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      queue.push(child.pid); // a session's command may itself be the parent of an sshd child mid-fork
      if (!child.zombie && child.args.startsWith("sshd:")) found.push(child.pid);
    }
  }
  return found;
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
};

/** SIGKILLs the listener and every per-connection sshd below it, synchronously. The tree is
 *  frozen first (SIGSTOP until no new sshd appears) so that nothing forks between the walk and
 *  the kill, and nothing is reparented away from the walk by an early death. */
function killTree(listener: number): number[] {
  if (!(listener > 1)) return []; // never signal -1 or 0: that would be everything we may signal
  const seen = new Set<number>();
  for (;;) {
    const fresh = sshdTree(listener).filter((pid) => !seen.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      seen.add(pid);
      signal(pid, "SIGSTOP");
    }
  }
  for (const pid of seen) signal(pid, "SIGKILL");
  return [...seen];
}

/** The first port of the kernel's ephemeral range: listen(0) and every outgoing connection get
 *  theirs from it (net.ipv4.ip_local_port_range; Linux's default 32768-60999). */
function ephemeralStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 49152; // macOS's (and IANA's) dynamic range starts here
  }
}

const portClaim = (port: number) => `/tmp/cpulse-sshd-port-${port}`;

/** Claims `port` for this process among the suite's processes: a file made with O_EXCL, naming
 *  our pid; a claim whose process is gone is taken over. */
function claimPort(port: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(portClaim(port), String(process.pid), { flag: "wx" });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(readFileSync(portClaim(port), "utf8"));
      try {
        process.kill(holder, 0);
        return false; // a live process holds it
      } catch {
        rmSync(portClaim(port), { force: true });
      }
    }
  }
  return false;
}

function releasePort(port: number): void {
  rmSync(portClaim(port), { force: true });
}

/** Whether nothing listens on 127.0.0.1:port now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A loopback port for sshd, which nothing else is given before sshd binds it. Not listen(0)'s: a
 *  port from the ephemeral range, once let go, can become any outgoing connection's source port
 *  before sshd binds it ("Bind to port … failed: Address already in use", seen in a loaded suite
 *  run). One below that range the kernel never hands out; claimed (claimPort) so two tests never
 *  pick the same one. Random, so one run's ports are not the next one's. */
async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralStart() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!claimPort(port)) continue;
    if (await bindable(port)) return port;
    releasePort(port);
  }
  throw new Error(`no free loopback port from ${low} to ${high} after 100 tries`);
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function keygen(file: string, comment: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  return readFileSync(`${file}.pub`, "utf8").trim();
}

/** `environment="K=V",…` for an authorized_keys line. sshd unescapes only `\"` inside the quotes
 *  (auth-options.c), so a quote is escaped and a value ending in a backslash is refused. */
function environmentOptions(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`sshd key environment: bad variable name ${JSON.stringify(name)}`);
      if (/[\n\r\0]/.test(value) || value.endsWith("\\")) {
        throw new Error(`sshd key environment: ${name}=${JSON.stringify(value)} cannot be written in authorized_keys`);
      }
      return `environment="${name}=${value.replace(/"/g, '\\"')}"`;
    })
    .join(",");
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function run(cmd: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: "utf8", signal }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stderr });
    });
  });
}

export async function startSshd(options: {
  keys: Record<string, { env?: Record<string, string> }>;
  /** sshd_config's AcceptEnv: the variables a client may send (none by default, as OpenSSH's). */
  acceptEnv?: string;
}): Promise<Sshd> {
  const names = Object.keys(options.keys);
  if (names.length === 0) throw new Error("startSshd: give at least one client key");
  for (const name of names) {
    // Names become file names and key comments.
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) throw new Error(`startSshd: bad key name ${JSON.stringify(name)}`);
  }
  // Short: the client's ControlPath sockets live here too, and unix socket paths are limited.
  const dir = mkdtempSync("/tmp/cpulse-sshd-");
  // Every session gets a HOME of its own, empty. sshd runs each command through the login user's
  // shell: on a Mac zsh, which reads only ~/.zshenv for a command; here root's bash, which over SSH
  // also reads ~/.bashrc (Debian builds bash with SSH_SOURCE_BASHRC) — on this machine one that
  // starts pyenv, ~90 ms of every command, which no Mac would pay. And the PATH a Mac's sshd gives
  // a command (MAC_SSH_PATH), not Debian's. A key's own env may override either.
  const home = join(dir, "home");
  mkdirSync(home);
  // Checked before anything is written but the folder, so a bad value leaves nothing behind.
  let envOptions: Record<string, string>;
  try {
    envOptions = Object.fromEntries(
      names.map((name) => [name, environmentOptions({ HOME: home, PATH: MAC_SSH_PATH, ...(options.keys[name].env ?? {}) })]),
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const config = join(dir, "sshd_config");
  const log = join(dir, "sshd.log");
  const port = await freePort();
  const loginUser = userInfo().username;

  const hostKey = keygen(join(dir, "host_ed25519"), "cpulse-sshd-host");
  const wrongHostKey = keygen(join(dir, "wrong_host_ed25519"), "cpulse-sshd-wrong-host");
  // known_hosts wants the key without its comment: type and base64.
  const knownLine = (pub: string) => `[127.0.0.1]:${port} ${pub.split(/\s+/).slice(0, 2).join(" ")}\n`;
  const knownHostsFile = join(dir, "known_hosts");
  const wrongKnownHostsFile = join(dir, "known_hosts.wrong");
  writeFileSync(knownHostsFile, knownLine(hostKey));
  writeFileSync(wrongKnownHostsFile, knownLine(wrongHostKey));

  const keys: Record<string, SshdKey> = {};
  const authorized: string[] = [];
  for (const name of names) {
    const identityFile = join(dir, `client_${name}`);
    const pub = keygen(identityFile, name);
    authorized.push(envOptions[name] ? `${envOptions[name]} ${pub}` : pub);
    keys[name] = { identityFile };
  }
  writeFileSync(join(dir, "authorized_keys"), `${authorized.join("\n")}\n`, { mode: 0o600 });

  writeFileSync(
    config,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no", // the keys live in /tmp, not in a home with checked modes
      "PermitRootLogin prohibit-password", // CI runs as root
      "PermitUserEnvironment yes", // the environment= options of authorized_keys (SIM_USER)
      ...(options.acceptEnv ? [`AcceptEnv ${options.acceptEnv}`] : []),
      // macOS's limits, which are OpenSSH's defaults (apple-oss-distributions/OpenSSH: its
      // sshd_config leaves `#MaxSessions 10` and `#MaxStartups 10:30:100` commented; servconf.c
      // fill_default_server_options, servconf.h DEFAULT_SESSIONS_MAX 10): at most 10 sessions per
      // connection (session.c session_new: the 11th is refused, ssh says `Session open refused by
      // peer`), and with 10 connections at once not yet authenticated a new one is refused with
      // probability 30%, rising to all of them at 100 (sshd_config(5) MaxStartups).
      `MaxSessions ${MAC_MAX_SESSIONS}`,
      "MaxStartups 10:30:100",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );

  // As root sshd insists on its privilege separation directory (Debian's unit makes it at boot).
  if (process.getuid?.() === 0 && !existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  try {
    execFileSync(SSHD, ["-t", "-f", config], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    releasePort(port);
    const stderr = (e as { stderr?: string }).stderr ?? String(e);
    throw new Error(`sshd -t -f ${config} rejected the config:\n${stderr}`);
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  // A test that forgot dispose() (or failed before it) leaves neither processes nor keys behind.
  const safetyNet = () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) killTree(child.pid);
    rmSync(dir, { recursive: true, force: true });
    releasePort(port);
  };
  process.on("exit", safetyNet);

  const firstKey = keys[names[0]].identityFile;
  const probeArgs = sshArgs({ port, loginUser, knownHostsFile }, firstKey, [], "true");

  async function start(): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error(`sshd on port ${port} is running already`);
    const out = openSync(log, "a");
    try {
      child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", out, out] });
    } finally {
      closeSync(out);
    }
    const proc = child;
    let died = false;
    let spawnError: Error | undefined;
    exited = new Promise((resolve) => {
      proc.once("exit", () => resolve());
      proc.once("error", (e) => {
        spawnError = e; // not started at all: no exit follows
        resolve();
      });
    });
    // A probe in flight when sshd dies (say, something else answered on its port) is not waited for.
    const abort = new AbortController();
    void exited.then(() => {
      died = true;
      abort.abort();
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "";
    for (;;) {
      if (died) {
        const why = spawnError ? String(spawnError) : `exited (${proc.exitCode ?? proc.signalCode})`;
        throw new Error(`sshd ${why} before accepting a login; ${log}:\n${tail(log)}`);
      }
      const probe = await run("ssh", probeArgs, 10_000, abort.signal);
      if (probe.code === 0) return;
      last = probe.stderr.trim();
      if (Date.now() >= deadline) {
        if (proc.pid !== undefined) killTree(proc.pid);
        await exited;
        throw new Error(
          `sshd on 127.0.0.1:${port} accepted no login within ${READY_TIMEOUT_MS} ms; ssh said: ${last}\n${log}:\n${tail(log)}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc || proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const killed = killTree(proc.pid);
    await exited; // the listener is ours to reap
    // The others were reparented; a zombie nobody reaps counts as gone.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const live = new Set(
        processes()
          .filter((p) => !p.zombie)
          .map((p) => p.pid),
      );
      const left = killed.filter((pid) => live.has(pid));
      const listening = await accepting(port);
      if (left.length === 0 && !listening) return;
      if (Date.now() >= deadline) throw new Error(`sshd on port ${port} still has processes ${left.join(" ")} or a listener after SIGKILL`);
      await sleep(POLL_MS);
    }
  }

  const sshd: Sshd = {
    host: "127.0.0.1",
    port,
    loginUser,
    knownHostsFile,
    wrongKnownHostsFile,
    keys,
    dir,
    stop,
    start,
    async dispose() {
      await stop();
      process.off("exit", safetyNet);
      rmSync(dir, { recursive: true, force: true });
      releasePort(port);
    },
  };

  try {
    await start();
  } catch (e) {
    process.off("exit", safetyNet);
    rmSync(dir, { recursive: true, force: true });
    releasePort(port);
    throw e;
  }
  return sshd;
}

/** ssh's argv to this server with nothing of the machine's ~/.ssh/config or agent, strict host
 *  key checking. ssh keeps the first value it gets for an option, so `extra` comes first. */
export function sshArgs(
  sshd: Pick<Sshd, "port" | "loginUser" | "knownHostsFile">,
  identityFile: string,
  extra: string[],
  ...command: string[]
): string[] {
  const options = [
    "BatchMode=yes",
    "StrictHostKeyChecking=yes",
    `UserKnownHostsFile=${sshd.knownHostsFile}`,
    "IdentitiesOnly=yes",
    "ConnectTimeout=5",
  ];
  return [
    ...extra,
    "-F",
    "/dev/null",
    ...options.flatMap((o) => ["-o", o]),
    "-i",
    identityFile,
    "-p",
    String(sshd.port),
    `${sshd.loginUser}@127.0.0.1`,
    ...command,
  ];
}

/** How the transport (provider/lib/host.ts `SshTarget`) reaches `sshd` with the client key `key`,
 *  checking its host key: what a stack's SSH_HOST, SSH_PORT, SSH_IDENTITY_FILE and
 *  SSH_KNOWN_HOSTS_FILE become. */
export function sshTarget(sshd: Sshd, key: string) {
  return {
    destination: `${sshd.loginUser}@127.0.0.1`,
    port: sshd.port,
    identityFile: sshd.keys[key]?.identityFile as string,
    knownHostsFile: sshd.knownHostsFile,
  };
}
