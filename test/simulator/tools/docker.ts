// Homebrew's `docker`: the real Docker CLI of this machine, behind the one check the kernel would
// make on a Mac and cannot make here (every real process is root): connect(2) on the daemon's
// unix socket. macOS connect(2): EACCES when "search permission is denied for a component of the
// path prefix" or "write access to the named socket is denied". Checked only for a unix socket
// named by -H/--host or DOCKER_HOST and lying inside the simulated Mac; contexts and everything
// else pass through unchecked (README.md "docker").
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, type Stats, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { World } from "./world";

/** Where `brew install docker` recorded the real CLI (install.ts realDockerCli). */
export function dockerCliFile(world: World): string {
  return join(world.simDir, "docker-cli");
}

/** Global options of the docker CLI that take a value (before the subcommand). */
const WITH_VALUE = new Set(["--config", "-c", "--context", "-l", "--log-level", "--tlscacert", "--tlscert", "--tlskey"]);

/** The daemon address the CLI will use, when it comes from -H/--host or DOCKER_HOST. */
function daemonHost(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "-H" || a === "--host") return argv[i + 1];
    if (a.startsWith("--host=")) return a.slice("--host=".length);
    if (a.startsWith("-H")) return a.slice(2).replace(/^=/, "");
    if (WITH_VALUE.has(a)) i++;
    else if (!a.startsWith("-")) break; // the subcommand: its own flags are not the daemon's
  }
  return process.env.DOCKER_HOST || undefined;
}

/** May someone with `uid` and `gids` do `bit` (1 x, 2 w, 4 r) on `st`? Owner bits when the uid
 *  matches, else group bits when a gid matches, else the others' bits; root may do anything. */
export function permits(st: Stats, uid: number, gids: number[], bit: number): boolean {
  if (uid === 0) return true;
  if (st.uid === uid) return ((st.mode >> 6) & bit) !== 0;
  if (gids.includes(st.gid)) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}

/** connect(2)'s checks on `path` for uid/gids: search on every directory the lookup passes
 *  (the named path's and, through symlinks, the target's), write on the socket. `from` is where
 *  the checked part of the tree starts (the simulated Mac's `/`). */
export function mayConnect(path: string, uid: number, gids: number[], from: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return true; // no such socket: the CLI reports that itself
  }
  const dirs = new Set<string>();
  for (const p of [resolve(path), real]) {
    for (let d = dirname(p); d.startsWith(from) && d.length > from.length; d = dirname(d)) dirs.add(d);
  }
  for (const d of dirs) if (!permits(statSync(d), uid, gids, 1)) return false;
  return permits(statSync(real), uid, gids, 2);
}

/** The docker CLI's config folder: `--config`, else DOCKER_CONFIG, else ~/.docker. */
function configDir(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--config") return argv[i + 1] ?? "";
    if (a.startsWith("--config=")) return a.slice("--config=".length);
    if (a === "-H" || a === "--host" || WITH_VALUE.has(a)) i++;
    else if (!a.startsWith("-")) break;
  }
  return process.env.DOCKER_CONFIG || join(process.env.HOME ?? "", ".docker");
}

/** The image a `docker pull` / `docker image pull` names, or undefined for any other command. */
function pulledImage(argv: string[]): string | undefined {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "-H" || a === "--host" || WITH_VALUE.has(a)) i++;
    else if (!a.startsWith("-")) break;
  }
  if (argv[i] === "image") i++;
  if (argv[i] !== "pull") return undefined;
  for (i++; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--platform") i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/** docker CLI 29.0.0 on: `docker pull` asks the credential helper the config names for the image's
 *  registry (`credHelpers[<registry>]`, else `credsStore`) and stops at its error — one that cannot
 *  be run too (docker/cli v29 cli/command/image/pull.go: `RetrieveAuthTokenFromImage`'s error is
 *  returned; cli/config/configfile/file.go getConfiguredCredentialStore; docker-credential-helpers
 *  client/client.go Get: `error getting credentials - err: %v, out: `%s``). Up to 28.x a pull
 *  ignored it (v28.2.2 cli/command/registry.go ResolveAuthConfig: `a, _ := cfg.GetAuthConfig`).
 *  The helper is looked up on PATH (Go's exec.Command). Docker Desktop leaves `"credsStore":
 *  "desktop"` behind, whose helper is not on the PATH of an SSH session or a LaunchDaemon. */
function missingCredentialHelper(world: World, argv: string[]): string | undefined {
  const installed = world.state().brew.docker ?? "0";
  if (Number.parseInt(installed, 10) < 29) return undefined;
  const image = pulledImage(argv);
  if (!image) return undefined;
  let config: { credsStore?: string; credHelpers?: Record<string, string> };
  try {
    config = JSON.parse(readFileSync(join(configDir(argv), "config.json"), "utf8"));
  } catch {
    return undefined; // no config (or one the real CLI reports itself)
  }
  const first = image.split("/")[0] as string;
  const registry = image.includes("/") && (/[.:]/.test(first) || first === "localhost") ? first : "docker.io";
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (!helper) return undefined;
  const program = `docker-credential-${helper}`;
  if (world.lookPath(program)) return undefined;
  return `error getting credentials - err: exec: "${program}": executable file not found in $PATH, out: \`\`\n`;
}

export async function docker(world: World, argv: string[]): Promise<number> {
  const cli = readFileSync(dockerCliFile(world), "utf8").trim();
  const helperMissing = missingCredentialHelper(world, argv);
  if (helperMissing) {
    process.stderr.write(helperMissing);
    return 1;
  }
  const host = daemonHost(argv);
  const user = world.user;
  if (user !== "root" && host?.startsWith("unix://")) {
    const path = host.slice("unix://".length);
    const info = world.userInfo(user);
    const gids = world.groupsOf(user).map((g) => g.gid);
    if (info && resolve(path).startsWith(`${world.root}/`) && !mayConnect(path, info.uid, gids, world.root))
      return denied(world, cli, argv, path);
  }
  return exec(world, cli, argv, {});
}

/** Runs the real CLI with our argv, stdio and environment; resolves with its exit status. */
function exec(world: World, cli: string, argv: string[], extra: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv }): Promise<number> {
  return new Promise((done) => {
    const child = spawn(cli, argv, { stdio: "inherit", env: extra.env ?? process.env, uid: extra.uid, gid: extra.gid });
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const)
      process.on(sig, () => {
        if (child.pid && child.exitCode === null && child.signalCode === null)
          world.signal(child.pid, sig, `relaying the ${sig} it received to the docker CLI`, { child: true });
      });
    child.on("error", (e) => {
      process.stderr.write(`docker: ${e.message}\n`);
      done(127);
    });
    child.on("exit", (code, signal) => done(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
}

const NOBODY = 65534;

/** The refusal in the real CLI's own words, for whatever subcommand: the real CLI runs as a real
 *  unprivileged user (nobody) whom the kernel refuses the same socket — the sandbox's root is
 *  root-only — so connect(2) fails with EACCES for real. Its config is handed over in a copy it
 *  can read. Should nobody be able to reach the socket after all, the message is composed. */
async function denied(world: World, cli: string, argv: string[], path: string): Promise<number> {
  if (mayConnect(path, NOBODY, [NOBODY], "/")) {
    const sub = argv.find((a, i) => !a.startsWith("-") && !["-H", "--host", ...WITH_VALUE].includes(argv[i - 1] ?? "")) ?? "";
    const endpoint = { version: "version", info: "info", ps: "containers/json", images: "images/json" }[sub] ?? "_ping";
    process.stderr.write(
      `permission denied while trying to connect to the Docker daemon socket at unix://${path}: Get "http://${encodeURIComponent(path)}/v1.50/${endpoint}": dial unix ${path}: connect: permission denied\n`,
    );
    return 1;
  }
  const config = mkdtempSync(join(tmpdir(), "cpulse-docker-config-"));
  chmodSync(config, 0o755);
  const own = join(process.env.DOCKER_CONFIG || join(process.env.HOME ?? "", ".docker"), "config.json");
  if (existsSync(own)) {
    copyFileSync(own, join(config, "config.json"));
    chmodSync(join(config, "config.json"), 0o644);
  }
  try {
    return await exec(world, cli, argv, { uid: NOBODY, gid: NOBODY, env: { ...process.env, DOCKER_CONFIG: config } });
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}
