// Colima as the provider and an operator see it (abiosoft/colima v0.10.3, cmd/ and app/; README.md
// "Colima" cites each behaviour). Logs are logrus text lines on stderr, in the non-TTY form.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { older } from "./brew";
import { systemctlStartDocker } from "./guest";
import { Instance, type LimaConfig, reconcile, stopped } from "./lima";
import { sleep, ToolExit, type World, writeAtomic } from "./world";

/** The version the simulated Colima implements; `colima version` prints the installed one. */
export const COLIMA_VERSION = "0.10.3";

interface ColimaConfig {
  cpu: number;
  disk: number;
  memory: number;
  arch: "aarch64" | "x86_64";
  runtime: string;
  vmType: "qemu" | "vz";
  mountType: string;
}

/** config/profile.go#ProfileFromName: default ↔ instance "colima", others "colima-<name>". */
export function profileOf(name: string): { id: string; short: string; display: string } {
  if (name === "" || name === "colima" || name === "default") return { id: "colima", short: "default", display: "colima" };
  const short = name.replace(/^colima-/, "");
  return { id: `colima-${short}`, short, display: `colima [profile=${short}]` };
}

function log(level: "info" | "warning" | "fatal", msg: string, context?: string): void {
  const ctx = context ? ` context=${context}` : "";
  process.stderr.write(`time="${new Date().toISOString()}" level=${level} msg="${msg.replace(/"/g, '\\"')}"${ctx}\n`);
}

function fatal(msg: string): never {
  log("fatal", msg);
  throw new ToolExit(1);
}

/** Go's exec error for a command not on PATH (os/exec lp_unix.go, ErrNotFound). */
const notInPath = (name: string) => `exec: "${name}": executable file not found in $PATH`;

/** app.New (cmd/util.go newApp, before every command that drives the VM): host.IsInstalled(lima)
 *  looks `lima` up on PATH (environment/host/host.go IsInstalled, environment/vm/lima/lima.go
 *  Dependencies), and newApp stops with `logrus.Fatal("Error: ", err)`. */
function newApp(world: World): void {
  if (!world.lookPath("lima")) fatal("Error: dependency check failed for VM: lima not found, run 'brew install lima' to install");
}

/** Colima's config folder (config/files.go configBaseDir, v0.10.3): `COLIMA_HOME` when that
 *  folder exists; else `~/.colima` when it exists; else `$XDG_CONFIG_HOME/colima` when that
 *  variable is set; else, on macOS, `~/.colima`. A macOS path in COLIMA_HOME or XDG_CONFIG_HOME is
 *  mapped into the simulated Mac (one already under its root is taken as it is). */
export function colimaHome(world: World, home: string): string {
  const mac = (p: string) => (p === world.root || p.startsWith(`${world.root}/`) ? p : world.path(p));
  const explicit = process.env.COLIMA_HOME;
  if (explicit && existsSync(mac(explicit))) return mac(explicit);
  const dot = join(home, ".colima");
  if (existsSync(dot)) return dot;
  const xdg = process.env.XDG_CONFIG_HOME;
  return xdg ? join(mac(xdg), "colima") : dot;
}

/** colima.yaml, the flat keys we use (colima writes them with comments; same keys). */
function writeYaml(file: string, cfg: ColimaConfig): void {
  writeAtomic(
    file,
    `${Object.entries(cfg)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n")}\n`,
  );
}
function readYaml(file: string): Partial<ColimaConfig> | undefined {
  if (!existsSync(file)) return undefined;
  const out: Record<string, string | number> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1] as string] = /^\d+(\.\d+)?$/.test(m[2] as string) ? Number(m[2]) : (m[2] as string);
  }
  return out as Partial<ColimaConfig>;
}

interface Parsed {
  sub: string;
  positional: string[];
  flags: Record<string, string | boolean>;
  /** The long flags as given (`--cpus` → "cpus"), for cobra's unknown-flag check. */
  long: string[];
}

/** The flags each command has in v0.10.3 (cmd/*.go `Flags()`, cmd/root/root.go `PersistentFlags()`
 *  for every command), and the version that introduced the ones colima-pulse passes, where it is
 *  later than 0.8.0: `start --cpus` (0.8.2, commit 581f0f5 "cli: start: rename cpu flag to cpus";
 *  `--cpu` before, a hidden alias since), `status --json` (0.8.1, ad5102e), `delete --data` (0.9.0,
 *  94e18e9 "vm: use external disk for container runtime"). The other flags' ages are not modelled. */
const PERSISTENT_FLAGS = ["profile", "verbose", "very-verbose"];
const COMMAND_FLAGS: Record<string, string[]> = {
  start: [
    ...["runtime", "activate", "cpus", "cpu-type", "memory", "disk", "root-disk", "arch", "foreground", "hostname", "disk-image"],
    ...["force-disk-image", "template", "port-forwarder", "cpu", "network-host-addresses", "network-address", "network-mode"],
    ...["network-interface", "network-preferred-route", "vm-type", "vz-rosetta", "model-runner", "nested-virtualization"],
    ...["gateway-address", "binfmt", "edit", "editor", "save-config", "mount", "mount-type", "mount-inotify", "ssh-agent"],
    ...["ssh-config", "ssh-port", "kubernetes", "with-kubernetes", "kubernetes-version", "kubernetes-disable", "k3s-arg"],
    ...["k3s-listen-port", "env", "dns", "dns-host", "downloader"],
  ],
  stop: ["force"],
  delete: ["force", "data"],
  status: ["extended", "json"],
  list: ["json"],
  ls: ["json"],
  version: [],
  ssh: [],
};
export const FLAG_SINCE: Record<string, Record<string, string>> = {
  start: { cpus: "0.8.2" },
  status: { json: "0.8.1" },
  delete: { data: "0.9.0" },
};
/** cobra's `Use` of each command, the first line of its usage text. */
const USE: Record<string, string> = {
  start: "start [profile]",
  stop: "stop [profile]",
  delete: "delete [profile]",
  status: "status [profile]",
  list: "list",
  ls: "list",
  version: "version",
  ssh: "ssh",
};

/** pflag's refusal of a flag the installed version lacks, as cobra and Colima print it: cobra's
 *  ExecuteC prints `Error: unknown flag: --x` and the command's usage (SilenceErrors/SilenceUsage
 *  are only set in PersistentPreRunE, after the flags parsed), then cmd/root/root.go#Execute ends
 *  with `logrus.Fatal(err)`: exit 1 before anything runs. The usage text is cut to its first lines. */
function checkFlags(world: World, { sub, long, flags }: Parsed): void {
  const known = COMMAND_FLAGS[sub];
  if (!known) return;
  const version = world.state().brew.colima ?? COLIMA_VERSION;
  const has = (flag: string) => !(FLAG_SINCE[sub]?.[flag] && older(version, FLAG_SINCE[sub]?.[flag] as string));
  if (flags.help) {
    // cobra's help: usage and the command's flags (here only their names), exit 0, nothing run.
    // `--cpu` is listed before 0.8.2; since, it is hidden (`startCmd.Flag("cpu").Hidden = true`).
    const shown = known.filter((f) => has(f) && (sub !== "start" || f !== (has("cpus") ? "cpu" : "cpus")));
    process.stdout.write(
      `Usage:\n  colima ${USE[sub]} [flags]\n\nFlags:\n${[...shown, "help"].map((f) => `      --${f}\n`).join("")}\nGlobal Flags:\n${PERSISTENT_FLAGS.map((f) => `      --${f}\n`).join("")}`,
    );
    throw new ToolExit(0);
  }
  for (const flag of long) {
    if (flag === "help") continue;
    if ([...PERSISTENT_FLAGS, ...known].includes(flag) && has(flag)) continue;
    process.stderr.write(`Error: unknown flag: --${flag}\nUsage:\n  colima ${USE[sub]} [flags]\n\n`);
    log("fatal", `unknown flag: --${flag}`);
    throw new ToolExit(1);
  }
}

const SHORT: Record<string, string> = {
  p: "profile",
  r: "runtime",
  t: "vm-type",
  c: "cpus",
  m: "memory",
  d: "disk",
  a: "arch",
  j: "json",
  e: "extended",
  h: "help",
};
const BOOLEAN = new Set(["foreground", "force", "json", "data", "extended", "help"]);

function parse(argv: string[]): Parsed {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  const long: string[] = [];
  let sub = "";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    // pflag: `--` ends the flags; what follows are arguments (`colima ssh -- cmd -flag`).
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-")) {
      if (!sub) sub = a;
      else positional.push(a);
      continue;
    }
    let [name, value] = a.replace(/^--?/, "").split("=", 2) as [string, string | undefined];
    if (!a.startsWith("--")) {
      // -f is --foreground for start, --force for stop/delete (cmd/start.go, cmd/stop.go)
      name = name === "f" ? (sub === "start" ? "foreground" : "force") : (SHORT[name] ?? name);
    } else {
      long.push(name);
      // --cpu: the flag's name before 0.8.2 (`-c` then), its hidden alias since (cmd/start.go).
      if (name === "cpu") name = "cpus";
    }
    if (BOOLEAN.has(name)) flags[name] = value === undefined ? true : value !== "false";
    else flags[name] = value ?? (argv[++i] as string);
  }
  return { sub, positional, flags, long };
}

export async function colima(world: World, argv: string[]): Promise<number> {
  const parsed = parse(argv);
  checkFlags(world, parsed);
  const { sub, positional, flags } = parsed;
  // `colima ssh`'s arguments are the guest's command: its profile is --profile's alone (cmd/ssh.go).
  const sshLike = sub === "ssh" || sub === "exec" || sub === "x";
  const profile = profileOf(String(flags.profile ?? (sshLike ? undefined : positional[0]) ?? process.env.COLIMA_PROFILE ?? "default"));
  const home = process.env.HOME ?? "";
  if (!home.startsWith(`${world.root}/`)) fatal(`error creating config directory: mkdir ${join(home, ".colima")}: permission denied`);
  // A FileVault-locked data volume: the homes cannot be read or created until it is unlocked.
  if (world.state().fileVault.locked && home.startsWith(world.path("/Users/"))) {
    fatal(`error creating config directory: mkdir ${join(home, ".colima")}: operation not permitted`);
  }
  // A home whose volume is not mounted: MkdirAll would have to make it in root's /Users.
  if (!existsSync(home)) fatal(`error creating config directory: mkdir ${home}: permission denied`);
  const base = colimaHome(world, home);
  // config/files.go limaDir (LIMA_HOME, else <base>/_lima), which Colima hands to every limactl it
  // runs (environment/vm/lima/limautil: `cmd.Env = append(cmd.Env, "LIMA_HOME="+config.LimaDir())`).
  process.env.LIMA_HOME = process.env.LIMA_HOME || join(base, "_lima");
  const inst = new Instance(world, home, profile.id);
  const configFile = join(base, profile.short, "colima.yaml");
  const stateFile = inst.file("colima.yaml");
  // Colima runs `limactl` by name (limautil.Limactl → exec.Command): whatever PATH finds.
  const limactl = world.lookPath("limactl");

  switch (sub) {
    case "version": {
      // The version Homebrew installed (a `brew upgrade` replaces the binary); the commit is known
      // for v0.10.3 only, so other versions show a stand-in derived from the version.
      const version = world.state().brew.colima ?? COLIMA_VERSION;
      const commit =
        version === COLIMA_VERSION
          ? "490420d9b98d2e6a558426bfefaea1bb37b67115"
          : createHash("sha1").update(`colima ${version}`).digest("hex");
      process.stdout.write(`colima version ${version}\ngit commit: ${commit}\n`);
      return 0;
    }

    case "start": {
      // cmd/start.go PreRunE: core.LimaVersionSupported runs `limactl info` before anything else.
      if (!limactl) fatal(`lima compatibility error: error checking Lima version: ${notInPath("limactl")}`);
      const st = world.state();
      const hostArch = st.arch === "arm64" ? "aarch64" : "x86_64";
      // environment/vm.go#DefaultVMType: vz on macOS 13 or newer, qemu before.
      const defaultVm = Number(st.macos.version.split(".")[0]) >= 13 ? "vz" : "qemu";
      const saved = readYaml(configFile) ?? {};
      const cfg: ColimaConfig = {
        cpu: Number(flags.cpus ?? saved.cpu ?? 2),
        disk: Number(flags.disk ?? saved.disk ?? 100),
        memory: Number(flags.memory ?? saved.memory ?? 2),
        arch: normaliseArch(String(flags.arch ?? saved.arch ?? hostArch)),
        runtime: String(flags.runtime ?? saved.runtime ?? "docker"),
        vmType: String(flags["vm-type"] ?? saved.vmType ?? defaultVm) as ColimaConfig["vmType"],
        mountType: "sshfs",
      };
      if (!["qemu", "vz"].includes(cfg.vmType)) fatal(`error in config: invalid vmType: '${cfg.vmType}'`);
      // config/configmanager ValidateConfig → util.AssertQemuImg: `qemu-img` on PATH.
      if (cfg.vmType === "qemu" && !world.lookPath("qemu-img")) {
        fatal(`error in config: cannot use vmType: 'qemu', error: qemu-img not found, run 'brew install qemu' to install`);
      }
      // cmd/start.go#setFixedConfigs: settings fixed at creation are kept, with a warning.
      const fixed = readYaml(stateFile);
      if (fixed) {
        const keep: [keyof ColimaConfig, string][] = [
          ["vmType", "virtual machine type"],
          ["arch", "architecture"],
          ["runtime", "runtime"],
        ];
        for (const [key, words] of keep) {
          if (fixed[key] !== undefined && fixed[key] !== cfg[key]) {
            log("warning", `'${words}' cannot be updated after initial setup, discarded`);
            (cfg as unknown as Record<string, unknown>)[key] = fixed[key];
          }
        }
      }
      cfg.mountType = cfg.vmType === "vz" ? "virtiofs" : "sshfs";
      mkdirSync(join(base, profile.short), { recursive: true });
      writeYaml(configFile, cfg); // --save-config (default true), before the running check

      newApp(world); // RunE's first step
      if ((await inst.inspect()).status === "Running") {
        log("warning", "already running, ignoring");
        return 0;
      }
      log("info", `starting ${profile.display}`);
      log("info", `runtime: ${cfg.runtime}`);
      // app.go startWithRuntime → containerEnvironment: the runtime's dependencies on PATH
      // (environment/container/docker/docker.go Dependencies: `docker`); RunE's error is fatal.
      if (cfg.runtime === "docker" && !world.lookPath("docker"))
        fatal("dependency check failed for docker: docker not found, run 'brew install docker' to install");
      const created = existsSync(inst.file("lima.yaml"));
      log("info", created ? "starting ..." : "creating and starting ...", "vm");
      mkdirSync(inst.dir, { recursive: true });
      const lima: LimaConfig = {
        vmType: cfg.vmType,
        arch: cfg.arch,
        cpus: cfg.cpu,
        memoryMiB: Math.round(cfg.memory * 1024),
        diskGiB: cfg.disk,
        dockerSocket: join(base, profile.short, "docker.sock"),
        networks: ["user-v2"], // yaml.go "network setup": always, for every vm type
      };
      writeAtomic(inst.file("lima.yaml"), `${JSON.stringify(lima, null, 2)}\n`);
      const stage = created ? "starting" : "creating and starting";
      await writeNetworkFile(world, home, inst.limaHome);
      // With startFails, `limactl start` fails after starting the network daemon, which stays
      // behind; the next attempt clears its files (above) and starts another (colima#1490).
      const ran = await runChild(limactl, ["start", profile.id]);
      if (ran !== 0) fatal(`error starting vm: error at '${stage}': ${failure(ran)}`);
      log("info", "provisioning ...", "docker");
      // docker.go Start: `systemctl start docker.service` (dockerd restores its containers), which
      // a bare `limactl start` never runs (the data disk's PreMount stopped it: tools/guest.ts).
      if (cfg.runtime === "docker") await systemctlStartDocker(inst.file("ha.sock"));
      writeYaml(stateFile, cfg); // lima.go#addPostStartActions: "preserve state"
      writeAtomic(join(base, "_store", `${profile.id}.json`), JSON.stringify({ disk_formatted: true, disk_runtime: cfg.runtime }));
      log("info", "done");
      if (!flags.foreground) return 0;
      // cmd/start.go#awaitForInterruption: wait for SIGINT/SIGTERM only; the VM is not watched.
      log("info", "keeping Colima in the foreground, press ctrl+c to exit...");
      const keepAlive = setInterval(() => undefined, 1 << 30);
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("interrupt"));
        process.once("SIGTERM", () => resolve("terminated"));
      });
      clearInterval(keepAlive);
      log("info", `interrupted by: ${signal}`);
      return stop(inst, profile.display, limactl, false);
    }

    case "stop":
      newApp(world);
      return stop(inst, profile.display, limactl, Boolean(flags.force));

    case "delete": {
      newApp(world);
      if (!flags.force) {
        process.stdout.write(`are you sure you want to delete ${profile.display} and all settings? [y/N] `);
        const answer = readFileSync(0, "utf8").trim(); // EOF (no terminal) reads as "no"
        if (!/^y/i.test(answer)) return 0;
      }
      log("info", `deleting ${profile.display}`);
      if (existsSync(inst.dir)) await inst.stop(true, () => undefined);
      rmSync(inst.dir, { recursive: true, force: true });
      await reconcile(world, home, ""); // limactl delete reconciles the networks too
      rmSync(join(base, profile.short), { recursive: true, force: true });
      if (flags.data) {
        log("info", "deleting container data");
        rmSync(inst.diskDir, { recursive: true, force: true });
        rmSync(join(base, "_store", `${profile.id}.json`), { force: true });
      }
      log("info", "done");
      return 0;
    }

    case "status": {
      newApp(world);
      if (world.faults().statusHangs) await sleep(3_600_000);
      const st = await inst.inspect();
      if (st.status !== "Running") fatal(`${profile.display} is not running`);
      // app.go getStatus → currentRuntime → limaVM.Get → `lima sudo cat /etc/colima/colima.json`:
      // an ssh into the guest (ControlPersist master, no ConnectTimeout, no ServerAliveInterval),
      // run without a deadline (environment/host RunOutput). A guest whose vCPUs are stopped never
      // answers, so status waits for as long as the guest stays stopped.
      while (inst.config()?.vmType === "qemu" && stopped(inst.readPid("qemu.pid"))) await sleep(100);
      const cfg = readYaml(stateFile) ?? {};
      const lima = inst.config();
      const socket = join(base, profile.short, "docker.sock");
      const status = {
        display_name: profile.display,
        driver: cfg.vmType === "vz" ? "macOS Virtualization.Framework" : "QEMU",
        arch: cfg.arch,
        runtime: cfg.runtime,
        mount_type: cfg.mountType,
        docker_socket: `unix://${socket}`,
        containerd_socket: `unix://${join(base, profile.short, "containerd.sock")}`,
        kubernetes: false,
        cpu: lima?.cpus,
        memory: (lima?.memoryMiB ?? 0) * 1024 * 1024,
        disk: Number(cfg.disk ?? 0) * 1024 ** 3,
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(status)}\n`);
      else {
        log("info", `${profile.display} is running using ${status.driver}`);
        log("info", `arch: ${status.arch}`);
        log("info", `runtime: ${status.runtime}`);
        log("info", `docker socket: ${status.docker_socket}`);
      }
      return 0;
    }

    case "ssh":
    case "exec":
    case "x": {
      // app.go SSH: the VM must be running (c.guest.Running), then `limactl shell [--workdir
      // <cwd>] <id> <args…>` (environment/vm/lima/shell.go) with the terminal's stdio; the working
      // directory is passed only when it is inside a mount (the default mount: the home).
      newApp(world);
      if ((await inst.inspect()).status !== "Running") fatal(`${profile.display} not running`);
      const cwd = process.cwd();
      const workdir = cwd === home || cwd.startsWith(`${home}/`) ? ["--workdir", cwd] : [];
      if (!limactl) fatal(notInPath("limactl"));
      const code = await new Promise<number>((resolve) => {
        const child = spawn(limactl, ["shell", ...workdir, profile.id, ...positional], { stdio: "inherit", env: process.env });
        child.on("error", () => resolve(127));
        child.on("exit", (c) => resolve(c ?? 1));
      });
      // host.RunInteractive's error (`exit status N`) is returned through RunE: logrus.Fatal.
      if (code !== 0) fatal(`exit status ${code}`);
      return 0;
    }

    case "list":
    case "ls": {
      // cmd/list.go → limautil.Instances → `limactl list`.
      if (!limactl) fatal(`error retrieving instances: ${notInPath("limactl")}`);
      const ids = existsSync(inst.limaHome)
        ? readdirSync(inst.limaHome)
            .filter((d) => d.startsWith("colima") && existsSync(join(inst.limaHome, d, "lima.yaml")))
            .sort()
        : [];
      for (const id of ids) {
        const other = new Instance(world, home, id);
        const cfg = readYaml(other.file("colima.yaml")) ?? {};
        const lima = other.config();
        const st = await other.inspect();
        const short = id === "colima" ? "default" : id.replace(/^colima-/, "");
        const row = {
          name: short,
          status: st.status,
          arch: lima?.arch,
          cpus: lima?.cpus,
          memory: (lima?.memoryMiB ?? 0) * 1024 * 1024,
          disk: Number(cfg.disk ?? lima?.diskGiB ?? 0) * 1024 ** 3,
          runtime: cfg.runtime,
        };
        process.stdout.write(flags.json ? `${JSON.stringify(row)}\n` : `${short}\t${st.status}\t${row.arch}\t${row.cpus}\n`);
      }
      return 0;
    }

    default:
      fatal(`unknown command "${sub}" for "colima"`);
  }
}

/** environment/vm/lima/network.go writeNetworkFile: with no colima instance running, the network
 *  assets directory (`_networks`: usernet's pid file and sockets) is removed; then networks.yaml. */
async function writeNetworkFile(world: World, home: string, limaHome: string): Promise<void> {
  const ids = existsSync(limaHome) ? readdirSync(limaHome).filter((d) => d.startsWith("colima")) : [];
  let running = false;
  for (const id of ids) if ((await new Instance(world, home, id).inspect()).status === "Running") running = true;
  if (!running) rmSync(join(limaHome, "_networks"), { recursive: true, force: true });
  writeAtomic(
    join(limaHome, "_config", "networks.yaml"),
    "networks:\n    user-v2:\n        mode: user-v2\n        gateway: 192.168.5.2\n        netmask: 255.255.255.0\n",
  );
}

async function stop(inst: Instance, display: string, limactl: string | undefined, force: boolean): Promise<number> {
  log("info", `stopping ${display}`);
  const st = await inst.inspect();
  if (st.status !== "Running" && !force) {
    log("info", "not running", "vm");
    return 0;
  }
  log("info", "stopping ...", "vm");
  const ran = await runChild(limactl, ["stop", ...(force ? ["--force"] : []), inst.id]);
  if (ran !== 0) fatal(`error stopping vm: error at 'stopping': ${failure(ran)}`);
  log("info", "done");
  return 0;
}

function normaliseArch(a: string): ColimaConfig["arch"] {
  if (["aarch64", "arm64", "arm", "m1"].includes(a)) return "aarch64";
  if (["x86_64", "amd64", "amd", "x86", "x64"].includes(a)) return "x86_64";
  fatal(`invalid arch: '${a}'`);
}

/** How a child failed, as Go's exec says it: `exit status N`, or the command was not on PATH. */
function failure(ran: number | "not found"): string {
  return ran === "not found" ? notInPath("limactl") : `exit status ${ran}`;
}

/** Runs a child with colima's output handling (limactl's lines go to stdout when not a TTY);
 *  `file` undefined: PATH did not find it, and nothing runs. */
function runChild(file: string | undefined, args: string[]): Promise<number | "not found"> {
  if (!file) return Promise.resolve("not found");
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "inherit", process.stdout], env: process.env });
    child.on("error", () => resolve(127));
    child.on("exit", (code) => resolve(code ?? 1));
  });
}
