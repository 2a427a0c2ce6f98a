// The main job off a Mac (scripts/converge.sh, scripts/demo.sh): the same program, converging a
// simulated Mac that persists between runs (/tmp/cpulse-mac-<checkout>), whose VM exposes the
// test services' dockerd (test/services/services.sh, which started them and holds them for us).
// Each run boots the simulated Mac and runs `pulumi up` against it: Pulumi previews, and asks on a
// terminal. `npm run converge` then shuts the Mac down; `npm run demo` keeps it and its Docker up
// until Ctrl-C, and says in .state/demo/env which Mac it keeps (scripts/lib.sh target_this_mac,
// for `npm run shell` and `npm run doctor`). `npm run demo -- --fleet N` keeps N simulated Macs
// up behind a real OpenSSH server on loopback (test/helpers/sshd.ts), as stacks demo-1..N, for
// `npm run fleet` (scripts/fleet.sh finds their roots in .state/demo/env).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testServices } from "../test/helpers/services";
import { startSshd } from "../test/helpers/sshd";
import { MacSimulator } from "../test/simulator/simulator";

const repo = join(__dirname, "..");
const demoEnv = join(repo, ".state/demo/env");
const STACK = "simulated";

/** How this run ends early: the first SIGINT or SIGTERM. */
let stopping: NodeJS.Signals | undefined;
let pulumiChild: ChildProcess | undefined;
let wake: (() => void) | undefined;

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = signal;
  console.error(`\n${signal}: stopping (pulumi is cancelled, then the simulated Mac shuts down)`);
  // A Ctrl-C on a terminal reaches pulumi too, as it reaches us (one process group); a second
  // SIGINT would make it stop at once and leave the stack locked. A SIGTERM (or a SIGINT sent to
  // npm alone) reaches only us: pass it on as the one SIGINT pulumi cancels on.
  if (pulumiChild && pulumiChild.exitCode === null && !(signal === "SIGINT" && process.stdin.isTTY)) pulumiChild.kill("SIGINT");
  wake?.();
}

/** The stack a pulumi command names (`--stack`), else the one this program selects. */
function stackOf(args: string[]): string {
  const at = args.indexOf("--stack");
  return at >= 0 ? (args[at + 1] ?? STACK) : STACK;
}

/** Runs pulumi with the simulated Mac's environment; its exit code. `quiet`: nothing on the
 *  terminal, or (`"errors"`) only what it says when it fails. */
function pulumi(env: NodeJS.ProcessEnv, args: string[], quiet?: true | "errors"): Promise<number> {
  return new Promise((done) => {
    const child = spawn("pulumi", args, { cwd: repo, env, stdio: quiet ? ["ignore", "ignore", "pipe"] : "inherit" });
    let errors = "";
    child.stderr?.on("data", (d) => {
      errors += d;
    });
    pulumiChild = child;
    child.on("exit", (code, signal) => {
      pulumiChild = undefined;
      if (stopping && child.pid !== undefined)
        for (const lock of removeLocksOf(child.pid, stackOf(args)))
          console.error(`removed the stack lock the cancelled pulumi (pid ${child.pid}) left: ${lock}`);
      if (quiet === "errors" && code !== 0 && !stopping) process.stderr.write(errors);
      done(code ?? (signal ? 128 : 1));
    });
  });
}

/** The stack lock files (with their .attrs) that the pulumi with `pid` left in the local backend.
 *  The file backend locks a stack for the whole `up`, preview and prompt included
 *  (pkg/backend/diy/lock.go), and a pulumi v3.274 that gets a SIGINT while it waits at its
 *  confirmation prompt exits leaving that lock (seen here: the lock file names its PID), so the
 *  next run would be refused as "currently locked". Only locks naming that pulumi, now gone. */
function removeLocksOf(pid: number, stack: string): string[] {
  const url = process.env.PULUMI_BACKEND_URL;
  const backend = url?.startsWith("file://") ? url.slice("file://".length) : url ? undefined : join(repo, ".state/backend");
  const dir = backend && join(backend, ".pulumi/locks/organization/colima-pulse", stack);
  if (!dir || !existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    try {
      if ((JSON.parse(readFileSync(join(dir, name), "utf8")) as { pid?: number }).pid !== pid) continue;
    } catch {
      continue; // not a lock this code knows: left alone
    }
    rmSync(join(dir, name), { force: true });
    rmSync(join(dir, `${name}.attrs`), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

/** Until SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  if (stopping) return Promise.resolve();
  // A pending promise alone does not keep Node running: a timer does, until the signal.
  const alive = setInterval(() => {}, 60_000);
  return new Promise((resolve) => {
    wake = () => {
      clearInterval(alive);
      resolve();
    };
  });
}

/** The options for `pulumi up`: on a terminal Pulumi asks; without one (CI, a pipe) there is no
 *  one to ask, so the preview is applied as with --yes, and said so. A decision command
 *  (npm run reset/restore/upgrade) has refused to start without a terminal unless --yes was given. */
function upArgs(given: string[]): string[] {
  if (process.stdin.isTTY || given.includes("--yes") || given.includes("-y")) return given;
  console.error(
    "no terminal to ask on: Pulumi's preview below is applied without asking, as with --yes (on a Mac, `npm run converge` without a terminal needs `-- --yes`)",
  );
  return ["--yes", ...given];
}

/** .state/demo/env: which simulated Mac `npm run demo` keeps up, for scripts/lib.sh target_this_mac. */
function writeDemoEnv(values: Record<string, string>): void {
  mkdirSync(join(repo, ".state/demo"), { recursive: true });
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  writeFileSync(`${demoEnv}.tmp`, text, { mode: 0o600 });
  renameSync(`${demoEnv}.tmp`, demoEnv);
}

/** This checkout's simulated Macs live in /tmp/cpulse-mac-<cksum of its path>[-<n>]. */
function simRoot(suffix = ""): string {
  const key = spawnSync("sh", ["-c", `printf %s "$1" | cksum | cut -d' ' -f1`, "sh", repo], { encoding: "utf8" }).stdout.trim();
  return `/tmp/cpulse-mac-${key}${suffix}`;
}

/** `npm run demo -- --fleet N`: N simulated Macs behind a real sshd, as stacks demo-1..N. */
async function fleetDemo(size: number): Promise<number> {
  const { dockerHost, smokeImage: image } = testServices();
  const sshd = await startSshd({ keys: { ops: { env: { SIM_USER: "ops" } } } });
  const macs: { stack: string; sim: MacSimulator }[] = [];
  try {
    for (let i = 1; i <= size; i++) {
      const sim = await MacSimulator.open(simRoot(`-${i}`), { dockerTarget: dockerHost.replace(/^unix:\/\//, "") });
      macs.push({ stack: `demo-${i}`, sim });
    }
    const env = { ...process.env };
    for (const { stack } of macs) {
      if (stopping) return 130;
      if ((await pulumi(env, ["stack", "select", stack], true)) !== 0 && (await pulumi(env, ["stack", "init", stack])) !== 0) return 1;
      // A new sshd each run: a new port and keys, which the next `fleet up` records (host.ssh).
      const settings = {
        HOMEBREW_USER: "ops",
        smokeImage: image,
        SSH_HOST: `${sshd.loginUser}@127.0.0.1`,
        SSH_PORT: String(sshd.port),
        SSH_IDENTITY_FILE: sshd.keys.ops?.identityFile as string,
        SSH_KNOWN_HOSTS_FILE: sshd.knownHostsFile,
      };
      for (const [k, v] of Object.entries(settings))
        if ((await pulumi(env, ["config", "set", "--stack", stack, k, v], "errors")) !== 0) return 1;
    }
    const roots = Object.fromEntries(macs.map(({ stack, sim }) => [stack, sim.root]));
    writeDemoEnv({
      COLIMA_PULSE_DEMO_PID: String(process.pid),
      COLIMA_PULSE_STACK: "demo-1",
      COLIMA_PULSE_HOST_ROOT: macs[0]?.sim.root as string,
      SIM_USER: "ops",
      COLIMA_PULSE_FLEET_HOST_ROOTS: `'${JSON.stringify(roots)}'`,
    });
    console.error(
      [
        "",
        `${size} simulated Mac${size === 1 ? "" : "s"} up behind an OpenSSH server on 127.0.0.1:${sshd.port}: stacks ${macs.map((m) => m.stack).join(", ")}`,
        ...macs.map(({ stack, sim }) => `  ${stack}: ${sim.root}`),
        "in another terminal, on this checkout:",
        "  npm run fleet -- up --stacks 'demo-*'       (converge them over SSH)",
        "  npm run fleet -- status --stacks 'demo-*'   (their status)",
        "Ctrl-C shuts them down (their state stays for the next run)",
      ].join("\n"),
    );
    await untilStopped();
    return stopping === "SIGTERM" ? 143 : 0;
  } finally {
    rmSync(demoEnv, { force: true });
    console.error(`shutting the simulated Mac${macs.length === 1 ? "" : "s"} down (their state stays for the next run)`);
    for (const { sim } of macs) await sim.haltAll(10_000);
    await sshd.dispose();
  }
}

async function main(): Promise<number> {
  const demo = process.env.COLIMA_PULSE_DEMO === "1";
  // scripts/demo.sh checked it: 1 to 9.
  if (demo && process.env.COLIMA_PULSE_DEMO_FLEET) return fleetDemo(Number(process.env.COLIMA_PULSE_DEMO_FLEET));
  const { dockerHost, smokeImage: image } = testServices();
  const root = process.env.COLIMA_PULSE_SIM_ROOT ?? simRoot();
  console.error(`simulated Mac: ${root} (arm64, macOS 15.6, user ops)`);
  const sim = await MacSimulator.open(root, { dockerTarget: dockerHost.replace(/^unix:\/\//, "") });
  const env = { ...process.env, COLIMA_PULSE_HOST_ROOT: sim.root, SIM_USER: sim.operator };
  try {
    if (stopping) return 130;
    // The stack, made on the first run; `pulumi stack select` of one that is not there says so as an error.
    if ((await pulumi(env, ["stack", "select", STACK], true)) !== 0 && (await pulumi(env, ["stack", "init", STACK])) !== 0) return 1;
    if ((await pulumi(env, ["config", "set", "HOMEBREW_USER", sim.operator], "errors")) !== 0) return 1;
    if ((await pulumi(env, ["config", "set", "smokeImage", image], "errors")) !== 0) return 1;
    if (stopping) return 130;
    // The fleet's guardrails, as scripts/converge.sh runs them on a Mac (policy/rules.ts).
    const code = await pulumi(env, ["up", "--policy-pack", join(repo, "policy", "analyzer"), ...upArgs(process.argv.slice(2))]);
    if (stopping) return stopping === "SIGINT" ? 130 : 143;
    if (code !== 0 || !demo) return code;
    const socket = spawnSync("pulumi", ["stack", "output", "dockerHost"], { cwd: repo, env, encoding: "utf8" }).stdout.trim();
    writeDemoEnv({
      COLIMA_PULSE_DEMO_PID: String(process.pid),
      COLIMA_PULSE_STACK: STACK,
      COLIMA_PULSE_HOST_ROOT: sim.root,
      SIM_USER: sim.operator,
      DOCKER_HOST: socket,
    });
    console.error(
      [
        "",
        `the simulated Mac ${sim.root} is up, supervised by its LaunchDaemon; its Docker:`,
        `  DOCKER_HOST=${socket}`,
        `  docker -H ${socket} ps`,
        "in another terminal, on this checkout:",
        "  npm run shell -- pulumi preview --diff   (pulumi by hand against this Mac; npm run shell for a shell)",
        "  npm run doctor                           (its status: what is wrong, and the fix)",
        "Ctrl-C shuts it down (its state stays for the next run)",
      ].join("\n"),
    );
    await untilStopped();
    return 0;
  } finally {
    if (demo) rmSync(demoEnv, { force: true });
    console.error("shutting the simulated Mac down (its state stays for the next run)");
    await sim.haltAll(10_000);
  }
}

process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`simulate: ${e.message}`);
    process.exit(1);
  },
);
