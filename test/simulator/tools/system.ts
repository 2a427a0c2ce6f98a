// Small system tools: sw_vers, uname, id, fdesetup, sudo, su. Output formats follow the real
// tools (README.md "System tools" cites each).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { decidingRule, keyOfThisProcess, rulesOf, timestampCurrent, updateTimestamp, validateNeedsPassword } from "./sudoers";
import { ToolExit, type World } from "./world";

export async function swVers(world: World, argv: string[]): Promise<number> {
  const { macos } = world.state();
  const values: Record<string, string> = { "-productName": "macOS", "-productVersion": macos.version, "-buildVersion": macos.build };
  if (argv[0]) {
    const v = values[argv[0]];
    if (v === undefined) throw new ToolExit(1, `usage: sw_vers [-productName|-productVersion|-productVersionExtra|-buildVersion]\n`);
    process.stdout.write(`${v}\n`);
    return 0;
  }
  process.stdout.write(`ProductName:\t\tmacOS\nProductVersion:\t\t${macos.version}\nBuildVersion:\t\t${macos.build}\n`);
  return 0;
}

export async function uname(world: World, argv: string[]): Promise<number> {
  const { arch, macos } = world.state();
  const darwin = Number(macos.version.split(".")[0]) + 9; // macOS 15 is Darwin 24
  const fields: Record<string, string> = { s: "Darwin", n: "sim-mac", r: `${darwin}.6.0`, m: arch, p: arch === "arm64" ? "arm" : "i386" };
  const flags = argv.join("").replace(/-/g, "");
  const order = flags.includes("a") ? "snrm" : flags || "s";
  process.stdout.write(`${[...order].map((f) => fields[f] ?? "").join(" ")}\n`);
  return 0;
}

export async function id(world: World, argv: string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith("-")).join("");
  const name = argv.find((a) => !a.startsWith("-")) ?? world.user;
  const info = world.userInfo(name);
  if (!info) throw new ToolExit(1, `id: ${name}: no such user\n`);
  const groups = world.groupsOf(name); // primary first, as macOS's id prints them
  const primary = groups[0] ?? { name: String(info.gid), gid: info.gid };
  const named = flags.includes("n");
  if (flags.includes("G")) process.stdout.write(`${groups.map((g) => (named ? g.name : g.gid)).join(" ")}\n`);
  else if (flags.includes("u")) process.stdout.write(`${named ? name : info.uid}\n`);
  else if (flags.includes("g")) process.stdout.write(`${named ? primary.name : primary.gid}\n`);
  else {
    const list = groups.map((g) => `${g.gid}(${g.name})`).join(",");
    process.stdout.write(`uid=${info.uid}(${name}) gid=${primary.gid}(${primary.name}) groups=${list}\n`);
  }
  return 0;
}

/** route(8), `get` only (network_cmds route.tproj/route.c): print_getmsg's layout when the Mac
 *  has a default route; without one the routing socket answers ESRCH, route_strerror() words it
 *  `not in table`, and newroute() still ends with `if (*cmd == 'g') exit(0)`. */
export async function route(world: World, argv: string[]): Promise<number> {
  const args = argv.filter((a) => !/^-[nqdtv]+$/.test(a));
  const [cmd, dest] = args;
  if (cmd === "add" || cmd === "delete" || cmd === "change" || cmd === "flush") {
    if (world.user !== "root") throw new ToolExit(77, "route: must be root to alter routing table\n");
    throw new ToolExit(1, `route: simulator: \`route ${cmd}\` is not simulated\n`);
  }
  if (cmd !== "get") throw new ToolExit(64, "usage: route [-dnqtv] command [[modifiers] args]\n");
  if (dest !== "default" && dest !== "0.0.0.0") throw new ToolExit(1, "route: simulator: only `route get default` is simulated\n");
  if (world.state().network === false) {
    process.stderr.write("route: writing to routing socket: not in table\n");
    return 0;
  }
  process.stdout.write(
    "   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.1\n  interface: en0\n" +
      "      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>\n" +
      " recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n" +
      `${[0, 0, 0, 0, 0, 0, 1500].map((n) => `${String(n).padStart(8)}  `).join("")}${"0".padStart(8)} \n`,
  );
  return 0;
}

/** sysctl(8): the keys the provider reads, `-n` for the bare value. */
export async function sysctl(world: World, argv: string[]): Promise<number> {
  const names = argv.filter((a) => !a.startsWith("-"));
  const st = world.state();
  const values: Record<string, string> = { "hw.memsize": String(st.memoryBytes), "hw.ncpu": "8" };
  if (st.bootTime !== undefined) values["kern.boottime"] = bootTime(st.bootTime);
  for (const name of names) {
    const v = values[name];
    if (v === undefined) throw new ToolExit(1, `sysctl: unknown oid '${name}'\n`);
    process.stdout.write(argv.includes("-n") ? `${v}\n` : `${name}: ${v}\n`);
  }
  return 0;
}

/** A struct timeval as sysctl prints it (system_cmds sysctl/sysctl.c S_timeval): `{ sec = N, usec
 *  = M } ` then ctime(3) without its newline (`Mon Dec  7 18:21:30 2026`), here in UTC. */
function bootTime(ms: number): string {
  const d = new Date(ms);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
  const hms = d.toISOString().slice(11, 19);
  return `{ sec = ${Math.floor(ms / 1000)}, usec = ${(ms % 1000) * 1000} } ${day} ${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${hms} ${d.getUTCFullYear()}`;
}

export async function fdesetup(world: World, argv: string[]): Promise<number> {
  if (argv[0] !== "status") throw new ToolExit(1, "Usage: fdesetup status\n");
  const fv = world.state().fileVault;
  process.stdout.write(fv.enabled ? "FileVault is On.\n" : "FileVault is Off.\n");
  return 0;
}

/** Runs argv with `env`, relaying SIGTERM/SIGINT/SIGHUP as sudo does, and resolves with its exit code. */
function runAs(world: World, argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, cwd, stdio: "inherit" });
    const relay = (sig: NodeJS.Signals) => {
      if (child.pid && child.exitCode === null && child.signalCode === null)
        world.signal(child.pid, sig, `relaying the ${sig} it received to ${argv[0]}`, { child: true });
    };
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, relay);
    child.on("error", (e) => {
      process.stderr.write(`${argv[0]}: ${e.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
}

/** sudo(8): -n (never prompt), -v (validate: refresh the time stamp, run nothing), -u user, -H (set
 *  HOME); env_reset keeps a few variables. The policy and the time stamps are sudoers.ts's. */
export async function sudo(world: World, argv: string[]): Promise<number> {
  let target = "root";
  let nonInteractive = false;
  let validate = false;
  let setHome = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-")) break;
    if (a === "-u") target = argv[++i] ?? "";
    else if (a.startsWith("-u")) target = a.slice(2);
    else
      for (const f of a.slice(1)) {
        if (f === "n") nonInteractive = true;
        else if (f === "v") validate = true;
        else if (f === "H" || f === "i") setHome = true;
        else if (f !== "E") throw new ToolExit(1, `sudo: invalid option -- '${f}'\n`);
      }
  }
  const cmd = argv.slice(i);
  if (validate && cmd.length > 0) throw new ToolExit(1, "usage: sudo -v [-n] [-u user]\n");
  if (!validate && cmd.length === 0) throw new ToolExit(1, "usage: sudo [-nvH] [-u user] command [arg ...]\n");
  const me = world.userInfo(world.user);
  if (world.user !== "root") {
    const rules = rulesOf(world, world.user);
    if (!me || rules.length === 0) throw new ToolExit(1, `${world.user} is not in the sudoers file.\n`);
    // sudo runs the command by its full path, found in PATH when not given (sudoers matches that).
    const path = cmd[0]?.includes("/") ? cmd[0] : world.lookPath(cmd[0] ?? "", process.env.PATH);
    const rule = validate ? undefined : decidingRule(rules, target, path ?? cmd[0] ?? "");
    const needsPassword = validate ? validateNeedsPassword(rules) : !rule?.nopasswd;
    if (needsPassword) {
      // check.c check_user_interactive: a current time stamp spares the password; else -n ends
      // here ("a password is required"), no terminal cannot be asked, a terminal's user types it.
      const key = keyOfThisProcess();
      if (!timestampCurrent(world, world.user, key)) {
        if (nonInteractive) throw new ToolExit(1, "sudo: a password is required\n");
        if (key.type !== "tty")
          throw new ToolExit(
            1,
            "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n",
          );
      }
      updateTimestamp(world, world.user, key);
    }
    // sudoers.c: the password is asked before the command is refused (logging.c log_failure's words).
    if (!validate && !rule)
      throw new ToolExit(
        1,
        `Sorry, user ${world.user} is not allowed to execute '${[path ?? cmd[0], ...cmd.slice(1)].join(" ")}' as ${target} on sim-mac.\n`,
      );
  }
  if (validate) return 0;
  if (!world.userInfo(target)) throw new ToolExit(1, `sudo: unknown user ${target}\nsudo: error initializing audit plugin sudoers_audit\n`);
  const env: NodeJS.ProcessEnv = {
    // env_reset keeps the caller's PATH as it is: macOS sets no secure_path (README "System tools").
    PATH: process.env.PATH,
    TERM: process.env.TERM,
    HOME: setHome ? world.home(target) : process.env.HOME,
    USER: target,
    LOGNAME: target,
    SUDO_USER: world.user,
    SIM_USER: target,
    // The command runs on sudo's terminal, in sudo's session.
    ...(process.env.SIM_TTY ? { SIM_TTY: process.env.SIM_TTY, SIM_TTY_SID: process.env.SIM_TTY_SID } : {}),
  };
  return runAs(world, cmd, env, process.cwd());
}

/** su(1) as macOS's shell_cmds su/su.c does it: only root may switch without a password; the
 *  user's shell runs in a process group of its own (setpgid(child, child)); su ignores SIGINT
 *  and SIGQUIT and dies on SIGTERM without passing it on; it exits with the shell's status. So a
 *  launchd job whose program is `su - user -c …` does not deliver launchd's SIGTERM to the
 *  command, and the command is outside the job's process group. */
export async function su(world: World, argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== "-" && a !== "-l");
  const login = args.length !== argv.length;
  const [target = "root", flag, command] = args;
  if (!world.userInfo(target)) throw new ToolExit(1, `su: unknown login: ${target}\n`);
  if (world.user !== "root") throw new ToolExit(1, "su: Sorry\n");
  const env = login ? world.loginEnv(target) : { ...process.env, SIM_USER: target, USER: target };
  let cwd = process.cwd();
  if (login) {
    const home = world.home(target);
    if (existsSync(home)) cwd = home;
    else {
      // A locked FileVault data volume (or a deleted home) looks like this to a login.
      process.stderr.write(`No home directory ${home}!\nLogging in with home = "/".\n`);
      env.HOME = "/";
      cwd = "/";
    }
  }
  const cmd = flag === "-c" && command !== undefined ? ["/bin/sh", "-c", command] : ["/bin/sh"];
  for (const sig of ["SIGINT", "SIGQUIT"] as const) process.on(sig, () => undefined);
  return new Promise((resolve) => {
    // detached: setsid, which also gives the child its own process group, as setpgid does.
    const child = spawn(cmd[0] as string, cmd.slice(1), { env, cwd, stdio: "inherit", detached: true });
    child.on("error", () => resolve(127));
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
}

/** kill(1) as macOS has it (apple-oss-distributions/shell_cmds kill/kill.c): `kill [-s name |
 *  -name | -number] pid ...`; each failure is `kill: <pid>: <strerror>` and makes the exit 1. Every
 *  signal is recorded with its sender (RecordEntry.signal): the provider's process hygiene runs it. */
export async function kill(world: World, argv: string[]): Promise<number> {
  let args = [...argv];
  let name: NodeJS.Signals | 0 = "SIGTERM";
  const usage = () =>
    new ToolExit(
      2,
      "usage: kill [-s signal_name] pid ...\n       kill -l [exit_status]\n       kill -signal_name pid ...\n       kill -signal_number pid ...\n",
    );
  const byName = (word: string): NodeJS.Signals | 0 => {
    const upper = word.toUpperCase().replace(/^SIG/, "");
    const number = /^\d+$/.test(upper) ? Number(upper) : undefined;
    if (number === 0) return 0; // no signal: is the PID there, and may we signal it?
    const found = (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([n, v]) =>
      number === undefined ? n === `SIG${upper}` : v === number,
    );
    if (!found)
      throw new ToolExit(
        2,
        `kill: unknown signal ${word}; valid signals:\n${Object.keys(constants.signals)
          .map((n) => n.slice(3))
          .join(" ")}\n`,
      );
    return found[0];
  };
  if (args[0] === "-s") {
    if (args.length < 2) throw usage();
    name = byName(args[1] as string);
    args = args.slice(2);
  } else if (args[0]?.startsWith("-") && args[0] !== "--") {
    name = byName((args[0] as string).slice(1));
    args = args.slice(1);
  }
  if (args[0] === "--") args = args.slice(1);
  if (args.length === 0) throw usage();
  let status = 0;
  for (const word of args) {
    if (!/^-?\d+$/.test(word)) {
      process.stderr.write(`kill: illegal process id: ${word}\n`);
      status = 1;
      continue;
    }
    const pid = Number(word);
    const error = name === 0 ? world.mayKill(pid) : world.signal(pid, name, `kill ${argv.join(" ")} as ${world.user}`);
    if (error) {
      process.stderr.write(
        `kill: ${word}: ${error === "EPERM" ? "Operation not permitted" : error === "ESRCH" ? "No such process" : error}\n`,
      );
      status = 1;
    }
  }
  return status;
}
