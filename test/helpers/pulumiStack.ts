// Drives the real `pulumi` CLI (the engine scripts/engine.sh provides) against a copy of this
// project in a temporary directory, with its own local file backend and PULUMI_HOME, so a test
// never touches the checkout's stacks/ or .state/.
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(__dirname, "../..");

/** Copies the checkout's project files into `dir`, not its own stack files (a test stack starts
 *  from nothing). */
function copyProject(dir: string): void {
  for (const file of PROJECT_FILES.filter((f) => existsSync(join(repoRoot, f)))) {
    cpSync(join(repoRoot, file), join(dir, file), {
      recursive: true,
      errorOnExist: false,
      filter: (src) => !/\/stacks\/Pulumi\.[^/]+\.yaml$/.test(src),
    });
  }
}

/** scripts/prebuild.ts in the checkout at `dir`, as every command runs it (scripts/lib.sh
 *  ensure_prebuilt): the bundles a project copy takes with it. Returns the entries it built (its
 *  `prebuilt …` lines; none when every bundle was fresh). */
export function prebuildBundles(dir = repoRoot): string[] {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/prebuild.ts"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/prebuild.ts in ${dir}: exit ${r.status}\n${r.stderr}`);
  return r.stderr.split("\n").filter((l) => l.startsWith("prebuilt "));
}

/** Files of the project a stack needs to run (the program, its code and its settings). */
const PROJECT_FILES = [
  "Pulumi.yaml",
  "package.json",
  "tsconfig.json",
  "stacks",
  "provider",
  "components",
  "fleet",
  "scripts",
  "policy",
  // The prebuilt bundles (scripts/prebuilt.cjs), which a copy uses only while its sources match.
  ".bundle",
  "containers/README.md",
];

export interface CliResult {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export class TestStack {
  private constructor(
    readonly dir: string,
    readonly stack: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A new stack `name` in a fresh copy of the project, with `config` set through the CLI.
   *  `program` replaces stacks/index.ts; `env` is added to every pulumi command's environment. */
  static async create(
    name: string,
    config: Record<string, string>,
    options: { program?: string; env?: NodeJS.ProcessEnv; revision?: string } = {},
  ): Promise<TestStack> {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-stack-"));
    if (options.revision) {
      // The project as it was at an earlier commit (an upgrade test's "before").
      const files = PROJECT_FILES.filter(
        (f) => spawnSync("git", ["-C", repoRoot, "cat-file", "-e", `${options.revision}:${f}`], { stdio: "ignore" }).status === 0,
      );
      const tar = execFileSync("git", ["-C", repoRoot, "archive", options.revision, "--", ...files], { maxBuffer: 64 << 20 });
      execFileSync("tar", ["-x", "-C", dir], { input: tar });
    } else copyProject(dir);
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    if (options.program !== undefined) writeFileSync(join(dir, "stacks/index.ts"), options.program);
    mkdirSync(join(dir, ".state/backend"), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${join(dir, ".state/backend")}`,
      PULUMI_HOME: join(dir, ".pulumi-home"),
      PULUMI_CONFIG_PASSPHRASE: "colima-pulse-tests",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
      NO_COLOR: "1",
      ...options.env,
    };
    const stack = new TestStack(dir, name, env);
    await stack.must(["stack", "init", name]);
    for (const [key, value] of Object.entries(config)) await stack.must(["config", "set", key, value]);
    return stack;
  }

  /** The environment every pulumi command of this stack runs with (its backend, PULUMI_HOME…). */
  environment(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** Adds to that environment, for every command from now on. */
  setEnvironment(vars: NodeJS.ProcessEnv): void {
    Object.assign(this.env, vars);
  }

  /** Copies of this stack in the same project and backend, named `names`: the same settings (the
   *  stack file) and the same state, URNs renamed. A fleet of converged stacks for the runner. */
  copies(names: string[]): void {
    const state = join(this.dir, ".state/backend/.pulumi/stacks/colima-pulse");
    const checkpoint = readFileSync(join(state, `${this.stack}.json`), "utf8");
    const settings = readFileSync(join(this.dir, "stacks", `Pulumi.${this.stack}.yaml`));
    for (const name of names) {
      // The stack's own resource is named after the stack too (`<project>-<stack>`).
      const renamed = checkpoint
        .split(`urn:pulumi:${this.stack}::`)
        .join(`urn:pulumi:${name}::`)
        .split(`pulumi:pulumi:Stack::colima-pulse-${this.stack}`)
        .join(`pulumi:pulumi:Stack::colima-pulse-${name}`);
      writeFileSync(join(state, `${name}.json`), renamed);
      writeFileSync(join(this.dir, "stacks", `Pulumi.${name}.yaml`), settings);
    }
  }

  /** Replaces the project's files with the checkout's (an upgrade of colima-pulse in place);
   *  the stack's own files and state stay. */
  upgradeProject(): void {
    const stackFile = join(this.dir, "stacks", `Pulumi.${this.stack}.yaml`);
    const settings = existsSync(stackFile) ? readFileSync(stackFile) : undefined;
    for (const file of PROJECT_FILES) rmSync(join(this.dir, file), { recursive: true, force: true });
    copyProject(this.dir);
    if (settings) writeFileSync(stackFile, settings);
  }

  /** The same stack in another project copy with its own backend, starting from a copy of this
   *  one's state: a second checkout or backend pointed at the same Mac. */
  async clone(): Promise<TestStack> {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-stack-"));
    cpSync(this.dir, dir, { recursive: true, verbatimSymlinks: true });
    const twin = new TestStack(dir, this.stack, {
      ...this.env,
      PULUMI_BACKEND_URL: `file://${join(dir, ".state/backend")}`,
      PULUMI_HOME: join(dir, ".pulumi-home"),
    });
    await twin.must(["stack", "select", this.stack]);
    return twin;
  }

  /** Another working copy of this project on the same backend (a second control machine's
   *  checkout of the same repository: the same stack files, its own PULUMI_HOME). Only for a
   *  backend outside the copy (PostgreSQL: test/helpers/postgres.ts). */
  workingCopy(): TestStack {
    if (this.env.PULUMI_BACKEND_URL?.startsWith("file://")) throw new Error("workingCopy: the backend is a folder inside this copy");
    const dir = mkdtempSync(join(tmpdir(), "cpulse-stack-"));
    cpSync(this.dir, dir, { recursive: true, verbatimSymlinks: true });
    return new TestStack(dir, this.stack, { ...this.env, PULUMI_HOME: join(dir, ".pulumi-home") });
  }

  /** Runs `pulumi <args> --non-interactive` in the project copy; never throws on exit codes. */
  cli(args: string[], timeoutMs = 300_000, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const full = [...args, "--non-interactive"];
    return new Promise((done) => {
      execFile(
        "pulumi",
        full,
        { cwd: this.dir, env: { ...this.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          done({ args: full, code, stdout, stderr });
        },
      );
    });
  }

  /** Runs one of the project's scripts (`scripts/reset.sh …`) in the project copy, as an operator
   *  would run `npm run …`, with this stack selected and no terminal; never throws on exit codes. */
  script(argv: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<CliResult> {
    return new Promise((done) => {
      const child = execFile(
        "bash",
        argv,
        { cwd: this.dir, env: { ...this.env, COLIMA_PULSE_STACK: this.stack, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          done({ args: argv, code, stdout, stderr });
        },
      );
      child.stdin?.end();
    });
  }

  /** Starts `pulumi <args>` and SIGKILLs its process group once `when(output so far)` is true: an
   *  operator's kill -9 mid-run. The plugins run in process groups of their own (Pulumi's
   *  RegisterProcessGroup) and live on, as they do on a Mac. Resolves once pulumi is dead. */
  async killDuring(args: string[], when: (stdout: string) => boolean, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<void> {
    const child = spawn("pulumi", [...args, "--non-interactive"], {
      cwd: this.dir,
      env: { ...this.env, ...env },
      stdio: ["ignore", "pipe", "ignore"],
      detached: true,
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise((r) => child.once("exit", r));
    const deadline = Date.now() + timeoutMs;
    while (!when(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // already gone
        }
        throw new Error(`pulumi ${args.join(" ")}: the moment to kill it never came\n${stdout}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    process.kill(-(child.pid as number), "SIGKILL");
    await exited;
  }

  /** Like cli(), but throws with the whole output when the command fails. */
  async must(args: string[]): Promise<CliResult> {
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`pulumi ${r.args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    // The engine's own summary, so the test log shows what each command did.
    const summary = r.stdout
      .match(/^Resources:\n((?: {4}.*\n)+)/m)?.[1]
      ?.trim()
      .replace(/\s*\n\s*/g, ", ");
    if (summary) console.log(`pulumi ${args.join(" ")}: ${summary}`);
    return r;
  }

  /** The stack's checkpoint, as the engine wrote it (`pulumi stack export`). */
  async state(): Promise<{ resources?: StateResource[] }> {
    const r = await this.must(["stack", "export"]);
    return (JSON.parse(r.stdout) as { deployment: { resources?: StateResource[] } }).deployment;
  }

  /** The one resource of `type` in state (e.g. `colima-pulse:SmokeContainer`). */
  async resourceOf(type: string): Promise<StateResource> {
    const found = ((await this.state()).resources ?? []).filter((r) => r.type.endsWith(type));
    if (found.length !== 1) throw new Error(`expected one ${type} in state, found ${found.length}`);
    return found[0] as StateResource;
  }

  /** The stored outputs of the one resource of `type`. */
  async outputsOf(type: string): Promise<Record<string, unknown>> {
    return (await this.resourceOf(type)).outputs ?? {};
  }

  /** Destroys what is left, removes the stack and the project copy. */
  async dispose(): Promise<void> {
    try {
      await this.cli(["destroy", "--yes", "--skip-preview"]);
      await this.cli(["stack", "rm", this.stack, "--yes", "--force"]);
    } finally {
      this.forget();
    }
  }

  /** Removes the project copy (and its backend) without touching the machine. */
  forget(): void {
    // A killed run's language host lingers up to 5 minutes (rpcutil.Healthcheck's period).
    for (const p of this.processes()) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The lock files the local backend holds for this project's stacks right now
   *  (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`, pkg/backend/diy/lock.go). */
  locks(): string[] {
    const dir = join(this.dir, ".state/backend/.pulumi/locks");
    if (!existsSync(dir)) return [];
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(".json"));
  }

  /** Live processes started for this project copy (the engine runs its plugins in its folder). */
  processes(): { pid: number; command: string }[] {
    const found: { pid: number; command: string }[] = [];
    for (const entry of readdirSync("/proc")) {
      try {
        if (!readlinkSync(`/proc/${entry}/cwd`).startsWith(this.dir)) continue;
        found.push({ pid: Number(entry), command: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim() });
      } catch {
        // not a process, gone, or not ours to read
      }
    }
    return found;
  }

  /** What the README's recovery does after `failed to load checkpoint: EOF`: removes the stack's
   *  checkpoint sidecars (`<stack>.json.attrs`, …) that a killed run left empty or half-written.
   *  The local backend (gocloud's fileblob) writes a file's content to a temporary file and renames
   *  it into place, but truncates and rewrites its `.attrs` sidecar in place first; a kill in
   *  between leaves the previous checkpoint, whole, beside an empty sidecar, which reads as EOF. A
   *  missing sidecar is read as defaults. Returns the files removed. */
  removeBrokenCheckpointAttrs(): string[] {
    const dir = join(this.dir, ".state/backend/.pulumi/stacks/colima-pulse");
    const broken = readdirSync(dir).filter((f) => {
      if (!f.startsWith(`${this.stack}.json`) || !f.endsWith(".attrs")) return false;
      try {
        JSON.parse(readFileSync(join(dir, f), "utf8"));
        return false;
      } catch {
        return true;
      }
    });
    for (const f of broken) rmSync(join(dir, f));
    return broken;
  }

  readFile(relative: string): string {
    return readFileSync(join(this.dir, relative), "utf8");
  }
}

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}
