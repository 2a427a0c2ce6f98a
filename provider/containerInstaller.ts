// ContainerInstaller: one local installer from containers/<name>/ (the seed's drop-zone), run
// after the smoke test against the profile's Docker socket, as the Homebrew user, and run again
// whenever its files or its environment change. An installer is a folder with `install.sh`
// (required) and `uninstall.sh` (optional, run on delete). The natural tool is
// @pulumi/command's local.Command for this; its provider plugin cannot be built here (the module
// proxy refuses github.com/pulumi/pulumi-command/provider), so this small resource does the job.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, say, type Zod } from "./lib/checkInputs";
import { type Host, homebrewUserPath, homeOf, hostPath, shellQuote } from "./lib/host";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import type { CommandError } from "./lib/process";

// ---- Args ---------------------------------------------------------------------------------

export interface ContainerInstallerArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  host: pulumi.Input<Host>;
  /** Absolute path of containers/<name>. */
  dir: pulumi.Input<string>;
  /** sha256 of the folder's files (the program computes it): a change means "run again". */
  filesHash: pulumi.Input<string>;
  /** unix:// socket of the profile. */
  dockerHost: pulumi.Input<string>;
  /** Homebrew prefix (for docker on PATH). */
  prefix: pulumi.Input<string>;
  /** Extra environment for the scripts; may hold secrets (they stay encrypted in state). */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

// ---- schema and types ---------------------------------------------------------------------

export function containerInstallerSchema(z: Zod) {
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    dir: z.string().regex(/^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/, "must be an absolute path of safe characters"),
    filesHash: z.string().regex(/^[a-f0-9]{64}$/),
    dockerHost: z.string().regex(/^unix:\/\/\/[^\0\n]+$/),
    prefix: z.string().startsWith("/"),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"), z.string()).default({}),
  });
}

export interface ContainerInstallerInputs {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  host: Host;
  dir: string;
  filesHash: string;
  dockerHost: string;
  prefix: string;
  env: Record<string, string>;
}

export interface ContainerInstallerOutputs extends ContainerInstallerInputs {
  /** When install.sh last succeeded. */
  installedAt: string;
}

// ---- pure functions -----------------------------------------------------------------------

export function diffContainerInstaller(olds: ContainerInstallerOutputs, news: ContainerInstallerInputs): DetailedDiff {
  const changes = inputChanges(olds, news, ["host", "dir", "dockerHost", "prefix"], () => "install.sh runs again");
  // A hash means nothing to a reader, and the environment may hold secrets: only that they changed.
  for (const [key, why] of [
    ["filesHash", "its files changed: install.sh runs again"],
    ["env", "its environment changed: install.sh runs again"],
  ] as const) {
    if (JSON.stringify(olds[key]) !== JSON.stringify(news[key])) changes.push({ property: key, kind: "update", hidden: true, why });
  }
  return diffOf(changes, false, news.secrets);
}

// ---- the installer's folder ---------------------------------------------------------------

/** A name's bytes as text a reader can compare with `ls`: printable ASCII as it is, every other
 *  byte (and `\`) as `\xNN`. */
function escapedName(name: Buffer): string {
  return [...name]
    .map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`))
    .join("");
}

/** A name as text, or the refusal when its bytes are not UTF-8 (Node would turn them into U+FFFD:
 *  a name that does not exist, a file then neither hashed nor copied as it is). */
function utf8Name(name: Buffer, folder: string, where: string): string {
  const text = name.toString("utf8");
  if (Buffer.from(text, "utf8").equals(name)) return text;
  throw Object.assign(
    new Error(
      `installer folder ${folder}: the file name "${escapedName(name)}"${where ? ` in ${where}/` : ""} is not UTF-8 ` +
        "(bytes shown as \\xNN): an installer's file names must be UTF-8 text. Rename it (or remove it); nothing was run",
    ),
    { name: "InstallerFolderError" },
  );
}

/** The installer's files under `dir`, as paths relative to it, sorted: what its hash covers and
 *  what is copied to a Mac over SSH. Files and folders are what stat says (links followed, as
 *  `readdirSync(…, { recursive })` did before: the same list, so the same hash). Throws an
 *  InstallerFolderError, reading nothing more, at a name that is not UTF-8. */
export function installerFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true, encoding: "buffer" })) {
      const name = join(rel, utf8Name(entry.name, dir, rel));
      const st = statSync(join(dir, name));
      if (st.isDirectory()) walk(name);
      else if (st.isFile()) files.push(name);
    }
  };
  walk("");
  return files.sort();
}

/** The folders of `base` (containers/), by name; a name that is not UTF-8 is refused. */
export function installerFolders(base: string): string[] {
  return readdirSync(base, { withFileTypes: true, encoding: "buffer" })
    .filter((d) => d.isDirectory())
    .map((d) => utf8Name(d.name, base, ""));
}

// ---- executor -----------------------------------------------------------------------------

/** Where what an installer's `script` printed is kept on the Mac: the Homebrew user's own log
 *  folder (~/Library/Logs, macOS's place for a user's logs), 0600, replaced by each run. Its output
 *  never goes into a message or the engine's log: an installer may print its secrets, or parts of
 *  them, which the engine does not mask (it masks a secret only verbatim). */
export function installerLog(host: Host, resourceName: string, script: string): string {
  return `${homeOf(host)}/Library/Logs/colima-pulse/${resourceName.replace(/[^A-Za-z0-9._-]/g, "_")}.${script}.log`;
}

/** Runs `script` of the installer as the Homebrew user. Its environment travels in a 0600 file
 *  in a private folder of that user on the Mac, removed as soon as the shell has read it — never in
 *  an argv, where secrets would show in `ps` and in error messages. A Mac driven over SSH gets a
 *  copy of the installer's folder there first (the folder is this checkout's containers/<name>). */
async function runScript(mac: Mac, inputs: ContainerInstallerInputs, script: string): Promise<void> {
  const env: Record<string, string> = {
    ...inputs.env,
    DOCKER_HOST: inputs.dockerHost,
    PATH: homebrewUserPath(inputs.host, inputs.prefix),
  };
  say(inputs, `running ${script} (DOCKER_HOST=${inputs.dockerHost})`);
  const tool = (t: string) => hostPath(inputs.host, t);
  const log = installerLog(inputs.host, inputs.resourceName, script);
  let work: string | undefined;
  try {
    work = (await mac.asUser([tool("/usr/bin/mktemp"), "-d", "/tmp/colima-pulse-installer.XXXXXX"])).stdout.trim();
    const envFile = `${work}/env`;
    const text = Object.entries(env)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
      .join("");
    await mac.writeFile(envFile, text, { owner: "user", mode: "0600" });
    const dir = mac.local ? inputs.dir : await copyFolder(mac, inputs.dir, `${work}/files`);
    // Its output goes to its log on the Mac (installerLog), never into a message (below). The
    // log is made private (umask 077) before anything is written to it.
    const shell = `. "$1" && rm -f "$1" && (umask 077 && mkdir -p "\${4%/*}" && : >"$4") && cd "$2" && exec /bin/sh "./$3" >>"$4" 2>&1`;
    await mac.asUser([tool("/bin/sh"), "-c", shell, "sh", envFile, dir, script, log], { timeoutMs: 30 * 60_000, output: "tail" });
  } catch (e) {
    // The installer's own output can carry its secrets: say which script failed, not what it printed.
    if ((e as Error).name === "SshError" || (e as Error).name === "InstallerFolderError") throw e;
    const failure = e as Partial<CommandError>;
    const reason = failure.name === "CommandError" ? failure.reason : "failed";
    throw new Error(
      `[${inputs.resourceName}] ${inputs.dir}/${script} ${reason} on ${mac.name}; what it printed is in ${log} there ` +
        `(never shown here: it may hold secrets), or run it by hand with DOCKER_HOST=${inputs.dockerHost} to see why`,
    );
  } finally {
    if (work) await mac.asUser([tool("/bin/rm"), "-rf", work], { allowFailure: true }).catch(() => undefined);
  }
}

/** Copies the folder `from` (here) to `to` on the Mac as the Homebrew user, byte for byte (a
 *  Buffer from the file to ssh's stdin: never decoded as text), modes kept; returns `to`. */
async function copyFolder(mac: Mac, from: string, to: string): Promise<string> {
  const files = installerFiles(from);
  const dirs = [...new Set(files.map((f) => dirname(`${to}/${f}`)))];
  await mac.asUser([hostPath(mac.host, "/bin/mkdir"), "-p", ...dirs]);
  for (const f of files) {
    const mode = (statSync(join(from, f)).mode & 0o777).toString(8).padStart(4, "0");
    await mac.writeFile(`${to}/${f}`, readFileSync(join(from, f)), { owner: "user", mode });
  }
  return to;
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const containerInstallerProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffContainerInstaller, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, containerInstallerSchema);
  },
  async diff(_id: string, olds: ContainerInstallerOutputs, news: ContainerInstallerInputs) {
    const { reasons, ...result } = diffContainerInstaller(olds, news);
    if (reasons.length > 0) say(news, `will run again: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: ContainerInstallerInputs) {
    await runScript(macOf(inputs.host), inputs, "install.sh");
    return { id: `installer-${inputs.resourceName}`, outs: { ...inputs, installedAt: new Date().toISOString() } };
  },
  async update(_id: string, _olds: ContainerInstallerOutputs, news: ContainerInstallerInputs) {
    await runScript(macOf(news.host), news, "install.sh");
    return { outs: { ...news, installedAt: new Date().toISOString() } };
  },
  async delete(_id: string, stored: ContainerInstallerOutputs) {
    // The installer's folder is this checkout's, also when the Mac is reached over SSH.
    if (existsSync(`${stored.dir}/uninstall.sh`)) await runScript(macOf(stored.host), stored, "uninstall.sh");
  },
});

// ---- resource -----------------------------------------------------------------------------

export class ContainerInstaller extends ResourceByReference {
  declare readonly installedAt: pulumi.Output<string>;

  constructor(name: string, args: ContainerInstallerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "containerInstaller",
      containerInstallerProvider,
      "ContainerInstaller",
      name,
      { resourceName: name, ...args, installedAt: undefined },
      opts,
    );
  }
}
