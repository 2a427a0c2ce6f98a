// A Mac that only records: every command (and as whom), every file written, answered from a small
// in-memory Mac (files, and a handler per command) — for executor unit tests through the seam
// (provider/lib/mac.ts). The end-to-end proof stays the real engine on a simulated Mac.
import type { Host, ProcessInfo } from "../../provider/lib/host";
import { assertRootCommand, type FileOwner, type Mac } from "../../provider/lib/mac";
import type { CommandResult, RunOptions } from "../../provider/lib/process";

export interface Recorded {
  as: "login" | "root" | "user";
  argv: string[];
  env?: Record<string, string>;
}

/** Answers a command: a result, or undefined for "exit 0, no output". */
export type Answer = (argv: string[]) => Partial<CommandResult> | undefined;

export class RecordingMac implements Mac {
  readonly name = "the recording Mac";
  readonly local = false;
  readonly commands: Recorded[] = [];
  readonly writes: { path: string; text: string; owner: FileOwner; mode: string }[] = [];
  readonly files = new Map<string, string>();
  /** Symlinks: path → target (a link to a folder also makes `exists` true for it). */
  readonly links = new Map<string, string>();
  /** Folders there without a file in them (root:wheel 0755). */
  readonly folders = new Set(["/", "/var", "/var/log", "/Library", "/Users"]);
  processes: ProcessInfo[] = [];

  constructor(
    readonly host: Host,
    private readonly answer: Answer = () => undefined,
    private readonly login = "admin",
  ) {}

  /** The recorded commands as one line each: `root: /bin/launchctl enable system/x`. */
  lines(): string[] {
    return this.commands.map((c) => `${c.as}: ${c.argv.join(" ")}`);
  }

  private async exec(as: Recorded["as"], argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    this.commands.push({ as, argv, ...(options.env ? { env: options.env } : {}) });
    const r = { argv, exitCode: 0, stdout: "", stderr: "", ...(this.answer(argv) ?? this.lstat(argv)) };
    if (r.exitCode !== 0 && !options.allowFailure) {
      // The fields of provider/lib/process.ts CommandError, as the real transports give them.
      throw Object.assign(new Error(`exited with code ${r.exitCode}: ${argv.join(" ")}\nstderr: ${r.stderr}`), {
        name: "CommandError",
        reason: `exited with code ${r.exitCode}`,
        argv,
        exitCode: r.exitCode,
        signal: null,
        timedOut: false,
        stdoutTail: r.stdout,
        stderrTail: r.stderr,
      });
    }
    return r;
  }

  /** `ls -ldn <path>` as macOS prints it (provider/lib/logPath.ts reads it), from `links`, `files`
   *  (uid 501's, group wheel, 0644: a log the Homebrew user has) and `folders` (root's 0755; a
   *  folder of a file is one too); else not there. */
  private lstat(argv: string[]): Partial<CommandResult> | undefined {
    if (!argv[0]?.endsWith("/bin/ls") || argv[1] !== "-ldn") return undefined;
    const path = argv[2] as string;
    const line = (mode: string) => ({ stdout: `${mode}  1 0  0  0 Jan  1 00:00 ${path}\n` });
    if (this.links.has(path)) return line("lrwxr-xr-x");
    if (this.files.has(path)) return { stdout: `-rw-r--r--  1 501  0  0 Jan  1 00:00 ${path}\n` };
    const inside = [...this.files.keys(), ...this.links.keys()].some((f) => f.startsWith(`${path.replace(/\/$/, "")}/`));
    if (this.folders.has(path) || inside) return line("drwxr-xr-x");
    return { exitCode: 1, stderr: `ls: ${path}: No such file or directory\n` };
  }

  run(argv: string[], options?: RunOptions) {
    return this.exec("login", argv, options);
  }
  /** Refuses, as the real Macs do, a command outside ROOT_COMMANDS (provider/lib/mac.ts): every
   *  executor test through this Mac proves its root commands are in the sudoers lines. */
  async asRoot(argv: string[], options?: RunOptions) {
    assertRootCommand(this.host, argv);
    return this.exec("root", argv, options);
  }
  asUser(argv: string[], options?: RunOptions) {
    return this.exec("user", argv, options);
  }
  async currentUser() {
    return this.login;
  }
  async listProcesses() {
    return this.processes;
  }
  async readFile(path: string) {
    return this.files.get(path);
  }
  async tail(path: string, lines: number) {
    return (this.files.get(path) ?? "").trimEnd().split("\n").slice(-lines).join("\n");
  }
  async listDir(path: string) {
    const prefix = `${path.replace(/\/$/, "")}/`;
    return [
      ...new Set([...this.files.keys()].filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split("/")[0] as string)),
    ];
  }
  async readLink(path: string) {
    return this.links.get(path);
  }
  async exists(path: string) {
    return this.links.has(path) || this.files.has(path) || [...this.files.keys()].some((f) => f.startsWith(`${path}/`));
  }
  async isSocket() {
    return false;
  }
  async diskUsage() {
    return 0;
  }
  async writeFile(path: string, text: string, options: { owner: FileOwner; mode: string }) {
    this.writes.push({ path, text, ...options });
    this.files.set(path, text);
  }
  removeNow(path: string) {
    this.files.delete(path);
  }
}
