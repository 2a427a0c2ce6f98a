// A small launchd: it really runs the jobs bootstrapped into it, from their plists, and keeps
// them alive by their KeepAlive and ThrottleInterval, the way launchd.plist(5) describes. It is
// one long-running process per simulated boot; `launchctl` talks to it over a unix socket.
//
// Semantics followed (launchd.plist(5), launchctl(1); README.md lists them with sources):
// - bootstrap parses the plist with a real plist parser, refuses a plist not owned by root or
//   writable by group/others, and refuses a label already loaded in the domain (error 5);
// - RunAtLoad starts the job at load; KeepAlive=true, or a dictionary with SuccessfulExit,
//   implies it (SuccessfulExit "implies that RunAtLoad is set to true");
// - a job is respawned per KeepAlive (true: always; SuccessfulExit: when the exit status is /
//   is not zero; Crashed: when killed by a signal), never sooner than ThrottleInterval (default
//   10 s) after its previous start;
// - when a job's main process exits, the rest of its process group is killed unless
//   AbandonProcessGroup is true; processes that left the group (setsid) survive — the leak of
//   colima#1490;
// - bootout and kickstart -k send SIGTERM and SIGKILL after ExitTimeOut (default 20 s);
// - UserName runs the job as that user (USER, LOGNAME, HOME, SHELL set); stdout/stderr go to
//   StandardOutPath/StandardErrorPath (appended), else /dev/null.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { parse } from "plist";
import { alive, forever, readIfThere, sleep, type World, writeAtomic } from "./world";

export interface JobDef {
  Label: string;
  Program?: string;
  ProgramArguments?: string[];
  UserName?: string;
  EnvironmentVariables?: Record<string, string>;
  StandardOutPath?: string;
  StandardErrorPath?: string;
  WorkingDirectory?: string;
  RunAtLoad?: boolean;
  KeepAlive?: boolean | { SuccessfulExit?: boolean; Crashed?: boolean };
  ThrottleInterval?: number;
  ExitTimeOut?: number;
  AbandonProcessGroup?: boolean;
}

interface Job {
  domain: string;
  def: JobDef;
  plistPath: string;
  child?: ChildProcess;
  pid?: number;
  runs: number;
  lastExit?: { code: number | null; signal: NodeJS.Signals | null };
  lastStart: number;
  timer?: NodeJS.Timeout;
  /** A bootout is under way: do not respawn. */
  removing: boolean;
}

/** One request from launchctl. */
export interface LaunchdRequest {
  cmd: "bootstrap" | "bootout" | "enable" | "disable" | "kickstart" | "print" | "print-disabled" | "list";
  domain?: string;
  label?: string;
  paths?: string[];
  kill?: boolean;
  /** The simulated user running launchctl. */
  user: string;
}

export interface LaunchdReply {
  code: number;
  stdout?: string;
  stderr?: string;
}

/** launchd's errors as launchctl prints them (launchctl(1); README.md "launchctl"). */
export const LAUNCHD_ERRORS = {
  io: { code: 5, text: "Input/output error" },
  noSuchProcess: { code: 3, text: "No such process" },
  notFound: { code: 113, text: "Could not find specified service" },
} as const;

/** `exit timeout = 5` is what `launchctl print` shows for jobs without ExitTimeOut on recent
 * macOS; the older launchd.plist(5) said 20 s. The shorter one is simulated (README.md). */
export const DEFAULT_EXIT_TIMEOUT = 5;

export class Launchd {
  private readonly jobs = new Map<string, Job>(); // key: `${domain}/${label}`
  constructor(private readonly world: World) {}

  private get disabledFile(): string {
    return join(this.world.simDir, "launchd", "disabled.json");
  }

  private disabled(): Record<string, boolean> {
    const text = readIfThere(this.disabledFile);
    return text ? (JSON.parse(text) as Record<string, boolean>) : {};
  }

  /** At boot: every plist in /Library/LaunchDaemons, and the LaunchAgents of logged-in users. */
  async boot(): Promise<void> {
    const daemons = this.world.path("/Library/LaunchDaemons");
    for (const file of existsSync(daemons) ? readdirSync(daemons).sort() : []) {
      if (file.endsWith(".plist")) await this.bootstrap("system", join(daemons, file)).catch(() => undefined);
    }
    for (const user of this.world.state().loggedIn) await this.login(user);
  }

  async login(user: string): Promise<void> {
    const info = this.world.userInfo(user);
    const agents = join(this.world.home(user), "Library/LaunchAgents");
    if (!info || !existsSync(agents)) return;
    for (const file of readdirSync(agents).sort()) {
      if (file.endsWith(".plist")) await this.bootstrap(`gui/${info.uid}`, join(agents, file)).catch(() => undefined);
    }
  }

  async handle(req: LaunchdRequest): Promise<LaunchdReply> {
    const domain = req.domain ?? "system";
    const hint = req.user === "root" ? undefined : "Try re-running the command as root for richer errors.";
    if (domain === "system" && req.user !== "root" && !["print", "print-disabled", "list"].includes(req.cmd)) {
      return fail(req.cmd === "bootout" ? "Boot-out" : "Bootstrap", LAUNCHD_ERRORS.io, hint);
    }
    switch (req.cmd) {
      case "bootstrap": {
        for (const path of req.paths ?? []) {
          try {
            await this.bootstrap(domain, path);
          } catch (e) {
            const err = e as { launchd?: { code: number; text: string } };
            if (err.launchd) return fail("Bootstrap", err.launchd, hint);
            throw e;
          }
        }
        return { code: 0 };
      }
      case "bootout": {
        const job = this.find(domain, req.label, req.paths?.[0]);
        // Label form: 3 "No such process"; plist-path form: 5 on macOS 12+.
        if (!job) return fail("Boot-out", req.label ? LAUNCHD_ERRORS.noSuchProcess : LAUNCHD_ERRORS.io, hint);
        await this.remove(job);
        return { code: 0 };
      }
      case "enable":
      case "disable": {
        const key = `${domain}/${req.label}`;
        this.world.locked("launchd-disabled", () => {
          const d = this.disabled();
          d[key] = req.cmd === "disable";
          writeAtomic(this.disabledFile, JSON.stringify(d, null, 2));
        });
        return { code: 0 };
      }
      case "kickstart": {
        const job = this.find(domain, req.label);
        if (!job)
          return {
            code: LAUNCHD_ERRORS.notFound.code,
            stderr: `Could not find service "${req.label}" in domain for ${domainWords(domain)}\n`,
          };
        if (job.pid && alive(job.pid)) {
          if (!req.kill) return { code: 0 };
          await this.stop(job);
        }
        this.start(job);
        return { code: 0 };
      }
      case "print": {
        if (!req.label) return { code: 0, stdout: this.printDomain(domain) };
        const job = this.find(domain, req.label);
        if (!job)
          return {
            code: LAUNCHD_ERRORS.notFound.code,
            stderr: `Bad request.\nCould not find service "${req.label}" in domain for ${domainWords(domain)}\n`,
          };
        return { code: 0, stdout: this.printJob(job) };
      }
      case "print-disabled": {
        const lines = Object.entries(this.disabled())
          .filter(([key]) => key.startsWith(`${domain}/`))
          .map(([key, off]) => `\t"${key.slice(domain.length + 1)}" => ${off ? "disabled" : "enabled"}`);
        return { code: 0, stdout: `disabled services = {\n${lines.join("\n")}${lines.length ? "\n" : ""}}\n` };
      }
      case "list": {
        const rows = [...this.jobs.values()]
          .filter((j) => j.domain === domain)
          .map(
            (j) =>
              `${j.pid && alive(j.pid) ? j.pid : "-"}\t${j.lastExit?.code ?? (j.lastExit?.signal ? -signalNumber(j.lastExit.signal) : 0)}\t${j.def.Label}`,
          );
        return { code: 0, stdout: `PID\tStatus\tLabel\n${rows.join("\n")}${rows.length ? "\n" : ""}` };
      }
    }
  }

  private find(domain: string, label?: string, plistPath?: string): Job | undefined {
    if (label) return this.jobs.get(`${domain}/${label}`);
    return [...this.jobs.values()].find((j) => j.domain === domain && j.plistPath === plistPath);
  }

  private async bootstrap(domain: string, plistPath: string): Promise<void> {
    const fault = this.world.faults().bootstrapError;
    if (fault) throw { launchd: LAUNCHD_ERRORS.io };
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(plistPath);
    } catch {
      throw { launchd: { code: 2, text: "No such file or directory" } };
    }
    // launchd refuses a daemon plist that is not root-owned or is group/world writable
    // ("Path had bad ownership/permissions" in the system log; launchctl prints error 5).
    if (domain === "system" && (st.uid !== 0 || (st.mode & 0o022) !== 0)) throw { launchd: LAUNCHD_ERRORS.io };
    let def: JobDef;
    try {
      def = parse(readFileSync(plistPath, "utf8")) as unknown as JobDef;
    } catch {
      throw { launchd: LAUNCHD_ERRORS.io };
    }
    if (!def || typeof def.Label !== "string" || !(def.Program || def.ProgramArguments?.length)) throw { launchd: LAUNCHD_ERRORS.io };
    if (this.jobs.has(`${domain}/${def.Label}`)) throw { launchd: LAUNCHD_ERRORS.io };
    // A disabled label: "119: Service is disabled" in launchd's log, collapsed to 5 by launchctl on 14/15.
    if (this.disabled()[`${domain}/${def.Label}`]) throw { launchd: LAUNCHD_ERRORS.io };
    const job: Job = { domain, def, plistPath, runs: 0, lastStart: 0, removing: false };
    this.jobs.set(`${domain}/${def.Label}`, job);
    const ka = def.KeepAlive;
    if (def.RunAtLoad || ka === true || (typeof ka === "object" && ka.SuccessfulExit !== undefined)) this.start(job);
  }

  private start(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    const def = job.def;
    const argv = def.ProgramArguments?.length ? def.ProgramArguments : [def.Program as string];
    // An agent in gui/<uid> or user/<uid> runs as that user, with the user's HOME (launchd.plist(5)).
    const uid = /^(?:gui|user)\/(\d+)$/.exec(job.domain)?.[1];
    const agentUser = uid ? Object.entries(this.world.state().users).find(([, u]) => String(u.uid) === uid)?.[0] : undefined;
    const user = def.UserName ?? agentUser ?? "root";
    const env: NodeJS.ProcessEnv = {
      PATH: this.world.loginEnv(user).PATH,
      SIM_USER: user,
      ...(user !== "root" ? this.world.loginEnv(user) : {}),
      ...(def.EnvironmentVariables ?? {}),
      // launchd names every job's process by its label (what Lima's AutoStartedServiceName reads).
      XPC_SERVICE_NAME: def.Label,
    };
    job.lastStart = Date.now();
    job.runs++;
    // A relative log path is taken in WorkingDirectory (Lima's templates rely on it: README.md).
    const inDir = (p?: string) => (p && !p.startsWith("/") && def.WorkingDirectory ? join(def.WorkingDirectory, p) : p);
    const out = openLog(inDir(def.StandardOutPath));
    const err = openLog(inDir(def.StandardErrorPath));
    if (out < 0 || err < 0) {
      // launchd cannot open a log path: the job fails with EX_CONFIG without running.
      for (const fd of [out, err]) if (fd >= 0) closeSync(fd);
      this.exited(job, 78, null);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(def.Program ?? (argv[0] as string), argv.slice(1), {
        argv0: argv[0],
        cwd: def.WorkingDirectory ?? "/",
        env,
        detached: true, // its own process group, like a launchd job
        stdio: ["ignore", out, err],
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    job.child = child;
    job.pid = child.pid;
    // launchd cannot spawn the job (program or WorkingDirectory missing): EX_CONFIG, no run.
    child.on("error", () => {
      if (job.child === child && child.exitCode === null) {
        job.child = undefined;
        job.pid = undefined;
        this.exited(job, 78, null);
      }
    });
    child.on("exit", (code, signal) => {
      job.child = undefined;
      const pid = job.pid;
      job.pid = undefined;
      if (pid && !def.AbandonProcessGroup && groupAlive(pid))
        this.world.signal(-pid, "SIGKILL", `${job.domain}/${def.Label} exited: what is left of its process group`);
      this.exited(job, code, signal);
    });
  }

  /** Records an exit and schedules the respawn KeepAlive asks for, throttled. */
  private exited(job: Job, code: number | null, signal: NodeJS.Signals | null): void {
    job.lastExit = { code, signal };
    if (!job.removing && keepAlive(job.def, code, signal)) {
      const throttleMs = (job.def.ThrottleInterval ?? 10) * 1000;
      const wait = Math.max(0, job.lastStart + throttleMs - Date.now());
      job.timer = setTimeout(() => this.start(job), wait);
    }
  }

  /** SIGTERM, then SIGKILL after ExitTimeOut; resolves when the main process is gone. */
  private async stop(job: Job): Promise<void> {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    const child = job.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.pid) this.world.signal(child.pid, "SIGTERM", `stopping ${job.domain}/${job.def.Label}`, { child: true });
    const timeoutMs = (job.def.ExitTimeOut ?? DEFAULT_EXIT_TIMEOUT) * 1000;
    const killed = sleep(timeoutMs).then(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid)
        this.world.signal(-child.pid, "SIGKILL", `${job.domain}/${job.def.Label} ignored SIGTERM for its ExitTimeOut`);
    });
    await Promise.race([exited, killed]);
    await exited;
  }

  private async remove(job: Job): Promise<void> {
    job.removing = true;
    await this.stop(job);
    this.jobs.delete(`${job.domain}/${job.def.Label}`);
  }

  private state(job: Job): string {
    if (job.pid && alive(job.pid)) return "running";
    return job.timer ? "spawn scheduled" : "not running";
  }

  /** `launchctl print <domain>/<label>`, in the real tool's layout (README.md "launchctl print"). */
  private printJob(job: Job): string {
    const d = job.def;
    const argv = d.ProgramArguments?.length ? d.ProgramArguments : [d.Program ?? ""];
    const running = Boolean(job.pid && alive(job.pid));
    const last = !job.lastExit
      ? "last exit code = (never exited)"
      : job.lastExit.signal
        ? `last terminating signal = ${signalName(job.lastExit.signal)}`
        : `last exit code = ${job.lastExit.code === 78 ? "78: EX_CONFIG" : job.lastExit.code}`;
    const ka = d.KeepAlive;
    const props = [
      ka === true || typeof ka === "object" ? "keepalive" : "",
      d.RunAtLoad ? "runatload" : "",
      d.Program ? "" : "inferred program",
    ];
    const env = { ...(d.EnvironmentVariables ?? {}), XPC_SERVICE_NAME: d.Label };
    const lines = [
      `${job.domain}/${d.Label} = {`,
      `\tactive count = ${running ? 1 : 0}`,
      `\tpath = ${job.plistPath}`,
      `\ttype = ${job.domain === "system" ? "LaunchDaemon" : "LaunchAgent"}`,
      `\tstate = ${this.state(job)}`,
      "",
      `\tprogram = ${d.Program ?? argv[0]}`,
      "\targuments = {",
      ...argv.map((a) => `\t\t${a}`),
      "\t}",
      "",
      ...(d.WorkingDirectory ? [`\tworking directory = ${d.WorkingDirectory}`] : []),
      ...(d.StandardOutPath ? [`\tstdout path = ${d.StandardOutPath}`] : []),
      ...(d.StandardErrorPath ? [`\tstderr path = ${d.StandardErrorPath}`] : []),
      "\tdefault environment = {",
      "\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin",
      "\t}",
      "",
      "\tenvironment = {",
      ...Object.entries(env).map(([k, v]) => `\t\t${k} => ${v}`),
      "\t}",
      "",
      `\tdomain = ${job.domain}`,
      ...(d.UserName ? [`\tusername = ${d.UserName}`, `\tgroup = ${this.world.userInfo(d.UserName)?.gid === 0 ? "wheel" : "staff"}`] : []),
      "",
      `\tminimum runtime = ${d.ThrottleInterval ?? 10}`,
      `\texit timeout = ${d.ExitTimeOut ?? DEFAULT_EXIT_TIMEOUT}`,
      `\truns = ${job.runs}`,
      ...(running ? [`\tpid = ${job.pid}`] : []),
      `\t${last}`,
      "",
      `\tproperties = ${props.filter(Boolean).join(" | ")}`,
      "}",
    ];
    return `${lines.join("\n")}\n`;
  }

  private printDomain(domain: string): string {
    const rows = [...this.jobs.values()]
      .filter((j) => j.domain === domain)
      .map(
        (j) =>
          `\t\t${String(j.pid && alive(j.pid) ? j.pid : 0).padStart(8)}      ${String(j.lastExit?.code ?? "-").padEnd(5)}\t${j.def.Label}`,
      );
    return `${domain} = {\n\ttype = ${domain.split("/")[0]}\n\n\tservices = {\n${rows.join("\n")}\n\t}\n}\n`;
  }
}

function keepAlive(def: JobDef, code: number | null, signal: NodeJS.Signals | null): boolean {
  const ka = def.KeepAlive;
  if (ka === true) return true;
  if (!ka || typeof ka !== "object") return false;
  if (ka.SuccessfulExit !== undefined && code !== null && (code === 0) === ka.SuccessfulExit) return true;
  if (ka.Crashed && signal !== null) return true;
  return false;
}

function openLog(path?: string): number {
  try {
    return openSync(path ?? "/dev/null", "a");
  } catch {
    return -1;
  }
}

/** Whether process group `pgid` has a member left (signal 0 to the group). */
function groupAlive(pgid: number): boolean {
  try {
    return process.kill(-pgid, 0);
  } catch {
    return false;
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
function signalNumber(s: NodeJS.Signals): number {
  return SIGNALS[s] ?? 0;
}
function signalName(s: NodeJS.Signals): string {
  const names: Record<string, string> = {
    SIGKILL: "Killed: 9",
    SIGTERM: "Terminated: 15",
    SIGINT: "Interrupt: 2",
    SIGSEGV: "Segmentation fault: 11",
  };
  return names[s] ?? s;
}

/** How launchctl names a domain in "… in domain for <words>". */
function domainWords(domain: string): string {
  return domain === "system" ? "system" : domain.replace(/^gui\//, "user gui: ").replace(/^user\//, "uid: ");
}

function fail(verb: string, err: { code: number; text: string }, hint?: string): LaunchdReply {
  return { code: err.code, stderr: `${verb} failed: ${err.code}: ${err.text}\n${hint ? `${hint}\n` : ""}` };
}

/** The daemon's main: serve launchctl on <sim>/launchd.sock until told to shut down. */
export async function runLaunchd(world: World): Promise<number> {
  const sock = join(world.simDir, "launchd.sock");
  rmSync(sock, { force: true });
  const launchd = new Launchd(world);
  const server = createServer((conn: Socket) => {
    let buf = "";
    conn.on("data", (chunk) => {
      buf += chunk.toString();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const req = JSON.parse(buf.slice(0, nl)) as LaunchdRequest & { login?: string };
      const reply = req.login ? launchd.login(req.login).then(() => ({ code: 0 })) : launchd.handle(req);
      reply.catch((e: unknown) => ({ code: 1, stderr: `launchd: ${String(e)}\n` })).then((r) => conn.end(`${JSON.stringify(r)}\n`));
    });
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  writeAtomic(join(world.simDir, "launchd.pid"), String(process.pid));
  await launchd.boot();
  writeAtomic(join(world.simDir, "launchd.ready"), String(Date.now()));
  return forever(); // serve until killed or shut down
}
