// Where the contract suite runs: the simulator (default, in CI) or this Mac's real tools
// (CONTRACT_TARGET=mac). On a Mac only read-only contracts run unless
// CONTRACT_ALLOW_CHANGES=1 is set (they then start and delete a throwaway Colima profile and a
// throwaway LaunchDaemon, using `sudo -n`).
import { execFile, spawn } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../../provider/lib/host";
import { testServices } from "../helpers/services";
import { type Sshd, sshArgs, startSshd } from "../helpers/sshd";
import { MacSimulator, type ToolRun } from "../simulator/simulator";

export interface ContractTarget {
  name: "simulator" | "mac";
  /** Maps a macOS path onto the target ("/" on a Mac, the sandbox root on the simulator). */
  path(mac: string): string;
  brewPrefix: string;
  /** The operator's home (where Colima keeps ~/.colima). */
  home: string;
  /** Contracts that change the machine may run. */
  allowChanges: boolean;
  /** Runs argv as the operator, or through `sudo -n` when `root`; with `path`, under that PATH
   *  (macOS paths, as a Mac's process would have them; sudo is run with it too). */
  run(argv: string[], options?: { root?: boolean; path?: string }): Promise<ToolRun>;
  /** Runs argv as the operator over SSH, as the providers do (a non-login command through the
   *  login shell); undefined when the target cannot, with `sshSkipped` saying why. */
  overSsh?(argv: string[]): Promise<ToolRun>;
  sshSkipped?: string;
  /** Runs argv as a user whom sudo asks for a password; only the simulator has one to hand (on a
   *  Mac the operator's own sudoers entry decides, and the contract cannot change it). */
  runAsPasswordSudoer?(argv: string[]): Promise<ToolRun>;
  /** Runs argv as the operator in a session of its own, with no terminal: as provider/lib/process.ts
   *  starts every command (detached: setsid). */
  runWithoutTerminal(argv: string[]): Promise<ToolRun>;
  /** The simulator's password sudoer at a terminal, after `sudo -v` there (typing the password): a
   *  Mac's contract cannot type one. `withoutTerminal` runs argv as that user from that terminal in
   *  a session of its own. */
  passwordSudoerAfterSudoV?(): Promise<{
    onTerminal(argv: string[]): Promise<ToolRun>;
    withoutTerminal(argv: string[]): Promise<ToolRun>;
    close(): void;
  }>;
  dispose(): Promise<void>;
}

function exec(argv: string[], env?: NodeJS.ProcessEnv): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { env, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** argv in a session of its own (spawn's `detached` is setsid(2)): no controlling terminal. */
function execWithoutTerminal(argv: string[], env?: NodeJS.ProcessEnv): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** What `execWithoutTerminal` does, from inside a simulated terminal: a node that starts argv
 *  detached and exits with its status. */
const detachedFrom = (argv: string[]) => [
  process.execPath,
  "-e",
  `require("node:child_process").spawn(${JSON.stringify(argv[0])}, ${JSON.stringify(argv.slice(1))}, { detached: true, stdio: "inherit" }).on("exit", (c) => process.exit(c ?? 1))`,
];

export async function contractTarget(): Promise<ContractTarget> {
  if (process.env.CONTRACT_TARGET === "mac") {
    if (process.platform !== "darwin") throw new Error("CONTRACT_TARGET=mac runs on macOS only");
    const brewPrefix = (await exec(["brew", "--prefix"])).stdout.trim();
    const sshHost = process.env.CONTRACT_SSH_HOST;
    return {
      name: "mac",
      path: (mac) => mac,
      brewPrefix,
      home: homedir(),
      allowChanges: process.env.CONTRACT_ALLOW_CHANGES === "1",
      run: (argv, options) =>
        exec(options?.root ? ["/usr/bin/sudo", "-n", ...argv] : argv, options?.path ? { ...process.env, PATH: options.path } : undefined),
      runWithoutTerminal: (argv) => execWithoutTerminal(argv),
      ...(sshHost
        ? {
            overSsh: (argv: string[]) => exec(["/usr/bin/ssh", "-T", "-o", "BatchMode=yes", "--", sshHost, argv.map(shellQuote).join(" ")]),
          }
        : { sshSkipped: "no CONTRACT_SSH_HOST (you@this-mac, Remote Login on, a key that logs in without a prompt)" }),
      dispose: async () => undefined,
    };
  }
  const sim = await MacSimulator.create({
    dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
    formulae: ["colima", "qemu", "docker"],
    users: {
      ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" },
      // sudo asks this one for a password: the other answer of `sudo -n`.
      guest: { uid: 502, gid: 20, admin: true, sudo: "password" },
    },
  });
  // As a Mac that ran `npm run upgrade` has it: lima upgraded with HOMEBREW_NO_INSTALL_CLEANUP
  // (provider/homebrewPackages.ts), so its old keg stayed beside the new one.
  sim.publish("lima", "1.2.2");
  const upgraded = await sim.run([
    sim.path("/usr/bin/env"),
    "HOMEBREW_NO_INSTALL_CLEANUP=1",
    brewBin({ brewPrefix: sim.world.brewPrefix() }, "brew"),
    "upgrade",
    "lima",
  ]);
  if (upgraded.code !== 0) throw new Error(`contract target: brew upgrade lima failed: ${upgraded.stderr}`);
  let sshd: Promise<Sshd> | undefined;
  return {
    name: "simulator",
    path: (mac) => sim.path(mac),
    brewPrefix: sim.world.brewPrefix(),
    home: sim.world.home(sim.operator),
    allowChanges: true,
    run: (argv, options) => {
      const command = options?.root ? [sim.path("/usr/bin/sudo"), "-n", ...argv] : argv;
      return sim.run(options?.path ? [sim.path("/usr/bin/env"), `PATH=${options.path}`, ...command] : command);
    },
    // The test sshd in front of the simulated Mac, started on first use: the operator's key, which
    // logs in as the operator with their home, as a Mac's sshd would.
    overSsh: async (argv) => {
      sshd ??= startSshd({ keys: { ops: { env: { SIM_USER: sim.operator, HOME: sim.world.home(sim.operator) } } } });
      const server = await sshd;
      return exec(["ssh", ...sshArgs(server, server.keys.ops?.identityFile as string, ["-T"], argv.map(shellQuote).join(" "))]);
    },
    runAsPasswordSudoer: (argv) => sim.run(argv, { user: "guest" }),
    runWithoutTerminal: (argv) => execWithoutTerminal(argv, sim.env()),
    passwordSudoerAfterSudoV: async () => {
      const term = sim.terminal("guest");
      const v = await term.sudoV();
      if (v.code !== 0) throw new Error(`simulator: sudo -v on ${term.tty} failed: ${v.stderr}`);
      return { onTerminal: (argv) => term.run(argv), withoutTerminal: (argv) => term.run(detachedFrom(argv)), close: () => term.close() };
    },
    dispose: async () => {
      await (await sshd)?.dispose();
      await sim.dispose();
    },
  };
}

/** The binary of a Homebrew formula on the target. */
export function brewBin(t: Pick<ContractTarget, "brewPrefix">, name: string): string {
  return join(t.brewPrefix, "bin", name);
}
