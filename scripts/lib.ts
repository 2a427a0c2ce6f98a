// What the TypeScript commands in scripts/ share, as scripts/lib.sh is for the shell ones (which
// install Node.js and the node_modules these run on): messages, the engine and the local state
// for a command that goes on to `pulumi`, and the exec that hands over to the next program.
// Everything is written with writeSync on the descriptors: a process.stdout/stderr stream can
// leave O_NONBLOCK on a pipe it shares with the program exec'd next (libuv sets it on the pipes it
// opens), which no shell expects.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { isatty } from "node:tty";

/** The checkout: every command runs in it (scripts/lib.sh cd's there too). */
export const repo = resolve(__dirname, "..");

/** scripts/lib.sh say: a line on stderr, bold on a terminal only (a log file or CI gets no escape codes). */
export function say(message: string): void {
  writeSync(2, isatty(2) ? `\x1b[1m==> ${message}\x1b[0m\n` : `==> ${message}\n`);
}

/** scripts/lib.sh die: `error: MESSAGE` on stderr, exit 1. */
export function die(message: string): never {
  writeSync(2, `error: ${message}\n`);
  process.exit(1);
}

/** `command -v NAME` for a program: its path on PATH, or undefined. */
export function whichOnPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    const file = join(dir || ".", name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** scripts/lib.sh ensure_engine: the pulumi CLI, its Node.js language host and the dynamic-provider
 *  shim first on PATH (scripts/engine.sh builds them once), nothing downloaded at run time. */
export function ensureEngine(): void {
  const engine = spawnSync("bash", ["scripts/engine.sh"], { cwd: repo, stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  if (engine.status !== 0) die("no Pulumi engine: see the messages above (scripts/engine.sh)");
  const dir = engine.stdout.replace(/\n+$/, "");
  process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ""}`;
  process.env.PULUMI_SKIP_UPDATE_CHECK = "true";
  process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  const version = spawnSync("pulumi", ["version"], { stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  say(`pulumi ${(version.stdout ?? "").replace(/\n+$/, "")} from ${dir}`);
}

/** scripts/lib.sh ensure_local_state: the local backend's folder and passphrase (README: "State and secrets"). */
export function ensureLocalState(): void {
  mkdirSync(join(repo, ".state/backend"), { recursive: true });
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined || process.env.PULUMI_CONFIG_PASSPHRASE_FILE) return;
  const file = join(repo, ".state/passphrase");
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(24).toString("base64"), { mode: 0o600, flag: "wx" });
      say(`created ${file} (keep it: it decrypts this checkout's stack secrets)`);
    } catch (e) {
      // Made by a command that ran at the same time: that one is this checkout's.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  process.env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
}

/** The shell's `exec PROGRAM ARG...`: this process becomes PROGRAM (found on PATH), with this
 *  process's environment, so signals, the terminal and the exit status are PROGRAM's alone, as
 *  they were when the commands were shell scripts (test/scripts/lib.test.ts). scripts/lib.sh ensure_node provides a Node.js
 *  that has process.execve (22.15 and later). */
export function execInto(program: string, args: string[]): never {
  const file = whichOnPath(program) ?? die(`${program}: not found on PATH`);
  // Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve(2) while a
  // handled one is reset to its default: with a handler, PROGRAM starts with every signal at its
  // default, as a shell's exec under npm started it (a `yes | head -1` in it ends quietly).
  for (const signal of ["SIGPIPE", "SIGXFSZ"] as const) process.on(signal, () => undefined);
  const execve =
    process.execve?.bind(process) ??
    die(
      `Node.js ${process.version} cannot hand over to ${program} (no process.execve): run this through npm run, which installs one that can`,
    );
  return execve(file, [program, ...args], process.env);
}
