// The one way the provider starts processes: argv arrays (never shell strings), a deadline per
// command, and failures that say why (exit code, signal or timeout), which command, and what it
// printed. execa is ESM-only and a module-level import would be serialized into the state file
// as a deep path its `exports` forbid (DESIGN.md §7), so it is imported inside the function.

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
  /** Standard input for the command. */
  input?: string;
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
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const { execa } = await import("execa");
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty argv");
  const result = await execa(file, args, {
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    env: options.env,
    input: options.input,
    stdin: options.input === undefined ? "ignore" : "pipe",
  });
  const stdout = String(result.stdout ?? "");
  const stderr = String(result.stderr ?? "");
  const exitCode = result.exitCode ?? -1;
  // A timeout, a signal or a spawn error (ENOENT) is never "allowed": the command did not answer.
  const answered = !result.timedOut && !result.signal && result.exitCode !== undefined;
  if (result.failed && !(options.allowFailure && answered)) {
    const reason = result.timedOut
      ? `timed out after ${options.timeoutMs ?? 60_000} ms`
      : result.signal
        ? `killed by ${result.signal}`
        : result.exitCode === undefined
          ? `could not start (${result.code ?? result.originalMessage})`
          : `exited with code ${result.exitCode}`;
    throw new Error(describeFailure(reason, argv, stdout, stderr));
  }
  return { argv: [...argv], exitCode, stdout, stderr };
}
