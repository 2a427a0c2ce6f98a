// The one way the provider starts processes: argv arrays (never shell strings), a deadline per
// command, and failures that say why (exit code, signal or timeout), which command, and what it
// printed. Built on node:child_process, which serializes into the provider text as a plain
// builtin require. (execa was the first choice; loaded with import() inside the plugin's
// require-from-string modules it failed intermittently with "crossSpawn._parse is not a
// function" — an ESM/CJS loading race — so the provider carries no ESM process library.)
import { spawn } from "node:child_process";

/** What a finished command left behind. */
export interface CommandResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command after this many milliseconds (default 60 s); the error then says so. */
  timeoutMs?: number;
  /** Variables added to the inherited environment. */
  env?: Record<string, string>;
  /** Return a non-zero exit as a result instead of throwing (for probes such as "is it there?"). */
  allowFailure?: boolean;
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

/** Runs `argv` and returns its output; throws a described error unless it exited 0. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error("run: empty argv"));
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(describeFailure(`could not start (${e.code ?? e.message})`, argv, stdout, stderr)));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { argv: [...argv], exitCode: code ?? -1, stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
      if (timedOut) return reject(new Error(describeFailure(`timed out after ${timeoutMs} ms`, argv, stdout, stderr)));
      if (signal) return reject(new Error(describeFailure(`killed by ${signal}`, argv, stdout, stderr)));
      if (code !== 0 && !options.allowFailure) return reject(new Error(describeFailure(`exited with code ${code}`, argv, stdout, stderr)));
      resolve(result);
    });
  });
}
