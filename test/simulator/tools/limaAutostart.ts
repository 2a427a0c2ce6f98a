// Lima 2.2's autostart (lima-vm/lima v2.2.0; README.md "Lima autostart" cites each point):
// `limactl autostart enable|disable INSTANCE [--condition=login|boot] [--user NAME]`, the launchd
// jobs it writes, and what `limactl start` does when an instance has a login job. Lima before 2.2
// has no `autostart` command (cobra's `unknown command`).
//
// What the jobs lack is simulated as it is: Lima's templates carry no EnvironmentVariables, so a
// job's `limactl start <inst> --foreground` looks for the instance in `~/.lima` (LimaDir without
// LIMA_HOME, pkg/limatype/dirnames), never in Colima's `~/.colima/_lima` (lima#5488).
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { older } from "./brew";
import { ToolExit, type World } from "./world";

/** The first Lima with `limactl autostart` (cmd/limactl/autostart.go, v2.2.0). */
export const AUTOSTART_SINCE = "2.2.0";

/** pkg/autostart/launchd/launchd.go ServiceNameFrom, DaemonServiceNameFrom. */
export const agentLabel = (inst: string) => `io.lima-vm.autostart.${inst}`;
export const daemonLabel = (inst: string) => `io.lima-vm.daemon.${inst}`;

/** launchd.go GetPlistPath: built from `$HOME`, not from the user's record. */
export function agentPlistPath(home: string, inst: string): string {
  return `${home}/Library/LaunchAgents/${agentLabel(inst)}.plist`;
}

/** launchd.go GetDaemonPlistPath. */
export function daemonPlistPath(world: World, inst: string): string {
  return world.path(`/Library/LaunchDaemons/${daemonLabel(inst)}.plist`);
}

/** pkg/autostart/launchd/io.lima-vm.autostart.INSTANCE.plist and io.lima-vm.daemon.INSTANCE.plist,
 *  as text/template renders them (no escaping: Lima's instance names and paths need none). */
export function renderAutostartPlist(v: { binary: string; instance: string; workDir: string; userName?: string }): string {
  const label = v.userName === undefined ? agentLabel(v.instance) : daemonLabel(v.instance);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>${label}</string>
${v.userName === undefined ? "" : `	<key>UserName</key>\n	<string>${v.userName}</string>\n`}	<key>ProgramArguments</key>
	<array>
		<string>${v.binary}</string>
		<string>start</string>
		<string>${v.instance}</string>
		<string>--foreground</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>StandardErrorPath</key>
	<string>launchd.stderr.log</string>
	<key>StandardOutPath</key>
	<string>launchd.stdout.log</string>
	<key>WorkingDirectory</key>
	<string>${v.workDir}</string>
	<key>ProcessType</key>
	<string>Background</string>
</dict>
</plist>
`;
}

/** logrus's text formatter (not a terminal): `time=… level=… msg="…"`, quotes and newlines escaped. */
function logLine(level: string, msg: string): string {
  return `time="${new Date().toISOString()}" level=${level} msg="${msg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"\n`;
}
const info = (msg: string) => process.stderr.write(logLine("info", msg));
export const warn = (msg: string) => process.stderr.write(logLine("warning", msg));
/** cmd/limactl/main.go: every error returned by a command ends in `logrus.Fatal(err)`: exit 1. */
export const fatal = (msg: string): never => {
  throw new ToolExit(1, logLine("fatal", msg));
};
/** Go's %#q of a string: backquoted when it can be. */
export const bq = (s: string) => (s.includes("`") ? JSON.stringify(s) : `\`${s}\``);

/** Runs a tool as exec.Command does (found on PATH), its output passed through; its exit code. */
function run(world: World, name: string, args: string[], output = true): Promise<number> {
  const file = world.lookPath(name);
  if (!file) return Promise.resolve(127);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", output ? "inherit" : "ignore", output ? "inherit" : "ignore"], env: process.env });
    child.on("error", () => resolve(127));
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

/** cobra's flag parsing for `autostart enable|disable`: `--condition`, `--user` (enable only). */
function parse(sub: string, argv: string[]): { args: string[]; condition: string; user: string } {
  const out = { args: [] as string[], condition: "login", user: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const m = /^--(condition|user)(?:=(.*))?$/.exec(a);
    if (m && sub === "enable") {
      const value = m[2] ?? argv[++i];
      if (value === undefined) fatal(`flag needs an argument: --${m[1]}`);
      out[m[1] as "condition" | "user"] = value as string;
    } else if (a.startsWith("-")) fatal(`unknown flag: ${a.split("=")[0]}`);
    else out.args.push(a);
  }
  if (out.args.length !== 1) {
    const [use, short] =
      sub === "enable"
        ? ["enable INSTANCE [flags]", "Register an instance to start automatically"]
        : ["disable INSTANCE", "Unregister an instance from automatic startup"];
    // main.go WrapArgsError around cobra.ExactArgs(1).
    fatal(
      `\`limactl autostart ${sub}\` accepts 1 arg(s), received ${out.args.length}.\nSee \`limactl autostart ${sub} --help\`.\n\nUsage:  limactl autostart ${use}\n\n${short}`,
    );
  }
  return out;
}

/** `limactl autostart …` (cmd/limactl/autostart.go, autostart_darwin.go). `limaHome`: LimaDir. */
export async function autostart(world: World, argv: string[], limactl: string, limaHome: string): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "enable" && sub !== "disable") {
    if (sub === undefined || sub === "--help" || sub === "-h") {
      process.stdout.write(
        "Manage automatic startup of Lima instances\n\nUsage:\n  limactl autostart [command]\n\nAvailable Commands:\n  disable     Unregister an instance from automatic startup\n  enable      Register an instance to start automatically\n",
      );
      return 0;
    }
    return fatal(`unknown command ${JSON.stringify(sub)} for "limactl autostart"`);
  }
  const { args, condition, user } = parse(sub, rest);
  const name = args[0] as string;
  // store.Inspect: an instance is its folder with lima.yaml in LimaDir.
  const dir = join(limaHome, name);
  if (!existsSync(join(dir, "lima.yaml"))) fatal(`instance ${JSON.stringify(name)} not found`);
  const home = process.env.HOME ?? "";
  const uid = world.userInfo(world.user)?.uid ?? 0;
  const agent = agentPlistPath(home, name);
  if (sub === "enable") {
    if (condition === "login") {
      // managers.go RegisterToStartAtLogin: MkdirAll, WriteFile 0644, `launchctl enable gui/<uid>/<label>`.
      mkdirSync(dirname(agent), { recursive: true });
      writeFileSync(agent, renderAutostartPlist({ binary: limactl, instance: name, workDir: dir }), { mode: 0o644 });
      const owner = world.userInfo(world.user);
      if (owner) chownSync(agent, owner.uid, owner.gid);
      const code = await run(world, "launchctl", ["enable", `gui/${uid}/${agentLabel(name)}`]);
      if (code !== 0) fatal(`failed to register instance ${bq(name)} to start at login: exit status ${code}`);
      info(`Instance ${bq(name)} registered to start at login`);
      return 0;
    }
    if (condition === "boot") {
      const userName = user || process.env.USER || "";
      if (!userName) fatal("could not determine user; pass --user");
      return daemonInstall(world, name, dir, userName, limactl);
    }
    return fatal(`unknown condition ${JSON.stringify(condition)}: must be "login" or "boot"`);
  }
  // disable: the LaunchAgent first (IsRegistered: its file is there), then the LaunchDaemon.
  if (existsSync(agent)) {
    const code = await run(world, "launchctl", ["disable", `gui/${uid}/${agentLabel(name)}`]);
    if (code !== 0)
      fatal(
        `failed to unregister instance ${bq(name)} from start at login: failed to disable the autostart entry for instance ${bq(name)}: exit status ${code}`,
      );
    rmSync(agent);
    info(`Instance ${bq(name)} unregistered from start at login`);
    return 0;
  }
  if (existsSync(daemonPlistPath(world, name))) {
    const target = `system/${daemonLabel(name)}`;
    await runSudo(world, ["launchctl", "bootout", target]);
    await runSudo(world, ["launchctl", "disable", target]);
    const code = await runSudo(world, ["rm", "-f", daemonPlistPath(world, name)]);
    if (code !== 0) fatal(`failed to remove ${daemonPlistPath(world, name)}: exit status ${code}`);
    info(`LaunchDaemon uninstalled for instance ${JSON.stringify(name)}`);
    return 0;
  }
  info(`Instance ${bq(name)} is not registered for automatic startup`);
  return 0;
}

/** autostart_darwin.go runSudo: logs `running: sudo [args]`, then `sudo args…` on the terminal. */
function runSudo(world: World, args: string[]): Promise<number> {
  info(`running: sudo [${args.join(" ")}]`);
  return run(world, "sudo", args);
}

/** autostart_darwin.go daemonInstall: render to a temp file, then through sudo: bootout (ignored),
 *  `install -m 644`, `launchctl enable`, `launchctl bootstrap system` (RunAtLoad: it starts now). */
async function daemonInstall(world: World, name: string, dir: string, userName: string, limactl: string): Promise<number> {
  const tmpDir = mkdtempSync(join(tmpdir(), "lima-daemon-"));
  const tmp = join(tmpDir, `io.lima-vm.daemon.${process.pid}.plist`);
  try {
    writeFileSync(tmp, renderAutostartPlist({ binary: limactl, instance: name, workDir: dir, userName }), { mode: 0o600 });
    const dest = daemonPlistPath(world, name);
    const target = `system/${daemonLabel(name)}`;
    await runSudo(world, ["launchctl", "bootout", target]);
    let code = await runSudo(world, ["install", "-m", "644", tmp, dest]);
    if (code !== 0) fatal(`failed to install plist to ${dest}: exit status ${code}`);
    code = await runSudo(world, ["launchctl", "enable", target]);
    if (code !== 0) fatal(`failed to enable LaunchDaemon: exit status ${code}`);
    code = await runSudo(world, ["launchctl", "bootstrap", "system", dest]);
    if (code !== 0) fatal(`failed to bootstrap LaunchDaemon: exit status ${code}`);
    info(`LaunchDaemon installed for instance ${JSON.stringify(name)} (runs as ${JSON.stringify(userName)} at boot)`);
    info(`Plist: ${dest}`);
    return 0;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** `limactl start <inst>` (no --foreground) of an instance with a login job's plist
 *  (pkg/instance/start.go: `isRegisteredToAutoStart`): launchd starts it instead
 *  (launchd.go RequestStart: bootout, enable, `bootstrap gui/<uid> <plist>`), and start waits 5 s
 *  for the host agent's ha.pid (waitHostAgentStart). Returns false when no such plist is there. */
export async function startThroughLaunchd(world: World, name: string, instDir: string): Promise<boolean> {
  const plist = agentPlistPath(process.env.HOME ?? "", name);
  if (!existsSync(plist)) return false;
  const uid = world.userInfo(world.user)?.uid ?? 0;
  const target = `gui/${uid}/${agentLabel(name)}`;
  await run(world, "launchctl", ["bootout", target], false);
  await run(world, "launchctl", ["enable", target]);
  const code = await run(world, "launchctl", ["bootstrap", `gui/${uid}`, plist]);
  if (code !== 0)
    fatal(`failed to request start via autostart manager: failed to start the instance ${bq(name)} via launchctl: exit status ${code}`);
  const haPid = join(instDir, "ha.pid");
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      statSync(haPid);
      return true;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) fatal(`hostagent (${bq(haPid)}) did not start up in 5s (hint: see ${bq(join(instDir, "ha.stderr.log"))})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether the installed Lima has `limactl autostart`. */
export function hasAutostart(version: string): boolean {
  return !older(version, AUTOSTART_SINCE);
}
