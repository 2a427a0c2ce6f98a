// The one way the provider starts processes: argv arrays (never shell strings), a deadline per
// command that ends the command itself, and failures that carry why as fields (CommandError).
//
// Why not execa: it was tried first (commit e32937a) and, loaded with import() inside the
// plugin's require-from-string modules (providers were then stored by value), failed
// intermittently with "crossSpawn._parse is not a function" (an ESM/CJS loading race), so the
// provider carries no ESM process library (docs/ARCHITECTURE.md §4). Nor would it give the
// guarantee below: execa 9's timeout signals the direct child only, and the command behind `sudo`
// or `su` is not that child — su puts the command in a process group (macOS su.c: setpgid) or
// session (util-linux su -c: setsid) of its own.
//
// So this layer, on node:child_process (a Node builtin):
// - each command starts in a process group of its own (detached), so a timeout can end the whole
//   group; before that it stops (SIGSTOP) every descendant found through `ps` — also those that
//   left the group — until no new one appears, then SIGKILLs them all: nothing escapes by forking
//   meanwhile, and no grandchild outlives the deadline;
// - a command the operator may not signal (root's, under sudo) is signalled through `sudo -n kill`;
// - detached children no longer die with the plugin's process group (the engine ends plugins with
//   cmdutil.TerminateProcessGroup), so the provider kills the trees of its running commands when it
//   exits, and SIGINT/SIGTERM/SIGHUP exit it when nothing else handles them.
import { spawn, spawnSync } from "node:child_process";

/** What a finished command left behind. */
export interface CommandResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** End the command after this many milliseconds (default 60 s); the error then says so. */
  timeoutMs?: number;
  /** Variables added to the inherited environment; with `inheritEnv: false`, the whole of it. */
  env?: Record<string, string>;
  /** false: the command gets `env` and nothing else of this process's environment (a command on
   *  a Mac: provider/lib/mac.ts, whose environment must not carry the engine's secrets). */
  inheritEnv?: boolean;
  /** Return a non-zero exit as a result instead of throwing (for probes such as "is it there?"). */
  allowFailure?: boolean;
  /** The command's standard input, byte for byte (else it reads nothing). */
  input?: string | Buffer;
  /** Keep the output byte for byte (a file's text); else one trailing newline is dropped. */
  exactOutput?: boolean;
  /** What happens when stdout or stderr passes `maxOutputBytes`: "fail" (the default, for output
   *  that is read) ends the command and fails saying so; "tail" keeps its last `maxOutputBytes` and
   *  lets it run on (output that only feeds an error message, such as an installer's). */
  output?: "fail" | "tail";
  /** The most of each of stdout and stderr kept (default OUTPUT_CAP). */
  maxOutputBytes?: number;
}

/** The most of a command's stdout (or stderr) the provider keeps: far above anything it reads
 *  (a plist, `ps`, brew's JSON), far below V8's longest string (~512 MiB, where Node throws
 *  "Cannot create a string longer than …" and the provider would crash). */
export const OUTPUT_CAP = 64 * 1024 * 1024;

/** `bytes` as people read it: "64 MiB", "512 KiB", "100 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** One output stream of a command, kept as the bytes it wrote (decoded once, at the end: a
 *  character split across two reads stays whole), at most `cap` of them. Exported for its test. */
export class Output {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes dropped from the front ("tail"). */
  dropped = 0;

  constructor(private readonly cap: number) {}

  /** Adds a chunk; false when the stream passed the cap (and `keepTail` is off: nothing kept). */
  add(chunk: Buffer, keepTail: boolean): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size <= this.cap) return true;
    if (!keepTail) return false;
    while (this.chunks.length > 1 && this.size - (this.chunks[0] as Buffer).length >= this.cap) {
      const first = this.chunks.shift() as Buffer;
      this.size -= first.length;
      this.dropped += first.length;
    }
    const over = this.size - this.cap;
    if (over > 0) {
      this.chunks[0] = (this.chunks[0] as Buffer).subarray(over);
      this.size -= over;
      this.dropped += over;
    }
    return true;
  }

  text(): string {
    let bytes = Buffer.concat(this.chunks, this.size);
    if (this.dropped === 0) return bytes.toString("utf8");
    // Cut inside a character: start at the next whole one (UTF-8 continuation bytes are 10xxxxxx).
    let start = 0;
    while (start < bytes.length && start < 3 && ((bytes[start] as number) & 0xc0) === 0x80) start++;
    bytes = bytes.subarray(start);
    return `…[${formatBytes(this.dropped + start)} before this dropped]\n${bytes.toString("utf8")}`;
  }
}

/** A command that failed, as fields; `message` is describeFailure()'s text. Recognise it by
 *  `name === "CommandError"`, not `instanceof`: there is no class. run() makes a plain Error with
 *  these fields, and so do the SSH transport (provider/lib/mac.ts) and the tests' recording Mac.
 *  The shape dates from when each provider was stored by value with its own copy of this code and
 *  Pulumi's closure serializer dropped class fields; today every provider loads this one module
 *  (provider/lib/byReference.ts, docs/ARCHITECTURE.md §4). */
export interface CommandError extends Error {
  name: "CommandError";
  /** "exited with code 3", "timed out after 1000 ms", "killed by SIGTERM", "could not start (ENOENT)". */
  reason: string;
  argv: string[];
  /** null when it did not exit by itself. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdoutTail: string;
  stderrTail: string;
}

/** The last `max` characters of a command's output, so an error stays readable. */
export function tail(text: string, max = 2000): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `…${trimmed.slice(-max)}`;
}

/** `<reason>: <command>` then what it printed: the shape of every command failure we report. */
export function describeFailure(reason: string, argv: readonly string[], stdout: string, stderr: string): string {
  const lines = [`${reason}: ${argv.join(" ")}`];
  if (stderr.trim()) lines.push(`stderr: ${tail(stderr)}`);
  if (stdout.trim()) lines.push(`stdout: ${tail(stdout)}`);
  return lines.join("\n");
}

/** The PATH of a command on a Mac that is not the Homebrew user's: what macOS's sshd gives every
 *  session (apple-oss-distributions/OpenSSH configure-for-osx.sh `--with-default-path`), and so
 *  what sudo passes on from such a session (provider/lib/host.ts homebrewUserPath says more). */
export const SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

/** The kill killTree runs as root (through `sudo -n`): one of provider/lib/mac.ts ROOT_COMMANDS. */
export const ROOT_KILL = "/bin/kill";

/** Stops, then kills, process group `pid` and every descendant of `pid` (see the header); those
 *  we may not signal (root's, under sudo) through `sudo -n kill`. */
function killTree(pid: number): void {
  const send = (pids: number[], signal: "STOP" | "KILL") => {
    const denied = pids.filter((p) => {
      try {
        return !process.kill(p, `SIG${signal}`);
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
      }
    });
    if (denied.length > 0)
      spawnSync("/usr/bin/sudo", ["-n", ROOT_KILL, `-${signal}`, ...denied.map(String)], { timeout: 5000, env: { PATH: SYSTEM_PATH } });
  };
  const doomed = new Set([pid]);
  // A stopped process cannot fork: stop what ps shows until it shows nothing new, then kill all.
  for (let fresh = [pid], round = 0; fresh.length > 0 && round < 20; round++) {
    send(fresh, "STOP");
    fresh = [];
    const rows = (
      spawnSync("/bin/ps", ["-A", "-o", "pid=,ppid=,pgid="], { encoding: "utf8", timeout: 5000, env: { PATH: SYSTEM_PATH } }).stdout ?? ""
    )
      .split("\n")
      .map((l) => l.trim().split(/\s+/).map(Number));
    for (let grew = true; grew; ) {
      grew = false;
      for (const [p = 0, parent = 0, group] of rows) {
        if (!p || doomed.has(p) || !(doomed.has(parent) || group === pid)) continue;
        doomed.add(p);
        fresh.push(p);
        grew = true;
      }
    }
  }
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is gone, or is root's: the pids below cover it
  }
  send([...doomed], "KILL");
}

/** Commands running now, in every provider of this process (so on globalThis, like host.ts). */
function running(): Set<number> {
  const g = globalThis as { __colimaPulseChildren?: Set<number> };
  if (!g.__colimaPulseChildren) {
    const live = new Set<number>();
    g.__colimaPulseChildren = live;
    process.once("exit", () => {
      for (const pid of live) killTree(pid);
    });
    // Listening disables Node's default exit, which would skip "exit": exit unless someone else listens.
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
      ["SIGHUP", 129],
    ] as const)
      process.on(signal, () => process.listenerCount(signal) > 1 || process.exit(code));
  }
  return g.__colimaPulseChildren;
}

/** Runs `argv` and returns its output; throws a CommandError unless it exited 0. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error("run: empty argv"));
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.inheritEnv === false ? { ...options.env } : options.env ? { ...process.env, ...options.env } : process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
    });
    // A command that exits without reading all of it closes the pipe: that is its answer, not ours.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input);
    const live = running();
    const pid = child.pid;
    if (pid) live.add(pid);
    const cap = options.maxOutputBytes ?? OUTPUT_CAP;
    const out = new Output(cap);
    const err = new Output(cap);
    let timedOut = false;
    let done = false;
    // Declared before the closures that use it (when providers were stored by value, Pulumi's
    // closure serializer could not resolve a name used above its declaration).
    let timer: NodeJS.Timeout | undefined;
    /** Freezes the command's group now, fails with `why` (or as timed out), kills its tree next. */
    const end = (why?: string) => {
      if (!pid) return finish(null, null, why); // never started: its "error" comes first in practice
      // Frozen at once, answered now, killed right after: the walk through `ps` takes tens of
      // ms, and the caller's deadline (a gate's) must not wait for it.
      try {
        process.kill(-pid, "SIGSTOP");
      } catch {
        // gone already, or root's: killTree reaches it
      }
      finish(child.exitCode, "SIGKILL", why);
      setImmediate(() => {
        killTree(pid);
        live.delete(pid);
      });
    };
    const collect = (stream: Output, name: string) => (d: Buffer) => {
      if (done || stream.add(d, options.output === "tail")) return;
      end(`stopped: printed more than ${formatBytes(cap)} on ${name} (the most colima-pulse keeps of one command's output)`);
    };
    child.stdout?.on("data", collect(out, "stdout"));
    child.stderr?.on("data", collect(err, "stderr"));
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, why?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const stdout = out.text();
      const stderr = err.text();
      const reason =
        why ??
        (timedOut
          ? `timed out after ${timeoutMs} ms`
          : signal
            ? `killed by ${signal}`
            : exitCode !== 0 && !options.allowFailure
              ? `exited with code ${exitCode}`
              : "");
      if (!reason)
        return resolve({
          argv: [...argv],
          exitCode: exitCode ?? -1,
          stdout: options.exactOutput ? stdout : stdout.replace(/\n$/, ""),
          stderr: stderr.replace(/\n$/, ""),
        });
      const fields = {
        name: "CommandError",
        reason,
        argv: [...argv],
        exitCode,
        signal,
        timedOut,
        stdoutTail: tail(stdout),
        stderrTail: tail(stderr),
      };
      reject(Object.assign(new Error(describeFailure(reason, argv, stdout, stderr)), fields));
    };
    timer = setTimeout(() => {
      timedOut = true;
      end();
    }, timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => finish(null, null, `could not start (${e.code ?? e.message})`));
    child.on("close", (code, signal) => {
      if (!done) live.delete(pid as number);
      finish(code, signal);
    });
  });
}
