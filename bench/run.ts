// The benchmark (docs/TESTING.md "The benchmark": speed is measured, not asserted): run on demand with `npm run bench`, prints a Markdown table, and
// with `--write` stores it in bench/RESULTS.md with the machine it ran on. Not part of the tests:
// timings on shared machines are noisy, so nothing here asserts a threshold.
//   1. converged `pulumi up`: wall time and the provider's commands, against an empty program in
//      the same run, and against the bash tool's restart-only cycle modelled in the simulator;
//   2. gate latency: readiness at a known moment → time until the gate passes (median, p95);
//   2b. the same converged `up` over SSH (a real sshd on loopback, test/helpers/sshd.ts) vs local;
//   3. scale: `npm run fleet -- preview` (fleet/runner.ts) of 1, 5 and 20 converged machine stacks;
//   3b. side by side with Ansible: the fleet preview over SSH of 1, 5, 20 and 100 Macs and an
//      equivalent read-only `ansible-playbook --check --diff` (bench/ansible/) of 1, 5 and 20
//      hosts, with and without pipelining, against one real sshd: wall time and the controller's
//      CPU time (bench/cputree.py), one SSH connection per Mac;
//   4. with `--suite`: `npm test` from a fresh clone of this checkout (the engine cached), timed.
// Each row is printed beside its value in an earlier run (bench/baseline.json, whose `source` names it).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { runFleet } from "../fleet/runner";
import { dockerGet, waitGate } from "../provider/healthGate";
import { TestStack } from "../test/helpers/pulumiStack";
import { testServices } from "../test/helpers/services";
import { simulatedMac, supervisorSettled } from "../test/helpers/simulatedMac";
import { type Sshd, startSshd } from "../test/helpers/sshd";
import { MacSimulator } from "../test/simulator/simulator";

const rows: string[][] = [];
const row = (...cells: (string | number)[]) => rows.push(cells.map(String));
const ms = (n: number) => `${Math.round(n)} ms`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

async function convergedUp(): Promise<void> {
  const mac = await simulatedMac("bench-converged");
  try {
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    // The supervisor's own work after the job's start (its docker ps and guest-clock read) is not
    // the converged up's: the counts begin once it is done.
    await supervisorSettled(mac);
    const runs = 3;
    let upMs = 0;
    let previewMs = 0;
    let refreshMs = 0;
    let upCommands = 0;
    let refreshCommands = 0;
    for (let i = 0; i < runs; i++) {
      mac.sim.clearRecords();
      upMs += (await timed(() => mac.stack.must(["up", "--yes", "--skip-preview", "--expect-no-changes"])))[1];
      upCommands += mac.sim.records().filter((r) => !(r.tool === "colima" && r.argv[0] === "status")).length;
      previewMs += (await timed(() => mac.stack.must(["preview", "--expect-no-changes"])))[1];
      mac.sim.clearRecords();
      refreshMs += (await timed(() => mac.stack.must(["up", "--yes", "--skip-preview", "--refresh", "--expect-no-changes"])))[1];
      refreshCommands += mac.sim
        .records()
        .filter((r) => !(r.tool === "colima" && r.argv[0] === "status" && r.user === "ops" && r.exit === undefined)).length;
    }
    const empty = await TestStack.create("bench-empty", {}, { program: "export const nothing = 1;\n" });
    await empty.must(["up", "--yes", "--skip-preview"]);
    let emptyMs = 0;
    let emptyPreviewMs = 0;
    for (let i = 0; i < runs; i++) {
      emptyMs += (await timed(() => empty.must(["up", "--yes", "--skip-preview", "--expect-no-changes"])))[1];
      emptyPreviewMs += (await timed(() => empty.must(["preview", "--expect-no-changes"])))[1];
    }
    await empty.dispose();
    // What state stores as each resource's provider (provider/lib/byReference.ts).
    const providerBytes = ((await mac.stack.state()).resources ?? [])
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))
      .map((r) => String(r.inputs?.__provider ?? "").length);

    // The bash tool's restart-only run, as the seed describes it, on the same simulated Mac:
    // boot out the job, TERM colima/limactl, start the profile again, wait for it, reload the job.
    const sudo = mac.sim.path("/usr/bin/sudo");
    const colima = mac.sim.path("/opt/homebrew/bin/colima");
    const label = "system/com.colima-pulse.colima";
    mac.sim.clearRecords();
    const [, bashMs] = await timed(async () => {
      await mac.sim.run([sudo, "-n", mac.sim.path("/bin/launchctl"), "bootout", label]);
      for (const p of mac.sim.processes().filter((x) => /bin\/(colima|limactl) /.test(x.command))) process.kill(p.pid, "SIGTERM");
      await mac.sim.run([colima, "start", "--vm-type", "qemu", "--runtime", "docker"]);
      await mac.sim.run([colima, "stop"]);
      await mac.sim.run([
        sudo,
        "-n",
        mac.sim.path("/bin/launchctl"),
        "bootstrap",
        "system",
        mac.sim.path("/Library/LaunchDaemons/com.colima-pulse.colima.plist"),
      ]);
    });
    const disruptive = mac.sim
      .records()
      .filter((r) => r.exit !== undefined && /^(launchctl (bootout|bootstrap)|colima (start|stop))/.test(`${r.tool} ${r.argv[0]}`));
    row("converged `pulumi up` (no refresh)", ms(upMs / runs), `${upCommands / runs} provider commands, 0 restarts`);
    row(
      "empty program `pulumi up`, same engine and runtime mode",
      ms(emptyMs / runs),
      `ratio converged/empty: ${(upMs / emptyMs).toFixed(2)}`,
    );
    row(
      "converged `pulumi preview`",
      ms(previewMs / runs),
      `empty program: ${ms(emptyPreviewMs / runs)}, ratio ${(previewMs / emptyPreviewMs).toFixed(2)}`,
    );
    row(
      "converged `pulumi up --refresh`",
      ms(refreshMs / runs),
      `${Math.round(refreshCommands / runs)} read-only commands, 0 restarts; ratio to up: ${(refreshMs / upMs).toFixed(2)}`,
    );
    row(
      "provider text stored per resource",
      `${Math.max(...providerBytes)} bytes max`,
      `${providerBytes.length} resources, ${providerBytes.reduce((a, b) => a + b, 0)} bytes per Mac`,
    );
    row("bash tool's restart-only cycle (modelled)", ms(bashMs), `${disruptive.length} disruptive commands, 1 VM restart`);
  } finally {
    await mac.dispose();
  }
}

/** Time from readiness at a known moment to the gate passing, 30 times: the socket gate (the
 *  socket appears; the gate watches its folder) and the API gate (the socket answers; 20 ms cap). */
async function gateLatency(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-bench-gate-"));
  for (const kind of ["socket appears", "API answers"] as const) {
    const delays: number[] = [];
    for (let i = 0; i < 30; i++) {
      const sock = join(dir, `${i}.sock`);
      let readyAt = Number.POSITIVE_INFINITY;
      const server = createServer((c) => {
        if (performance.now() < readyAt) return c.destroy();
        c.once("data", () => c.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"));
      });
      const readyIn = 300 + ((i * 37) % 400); // readiness at a known, varying moment
      const started = performance.now();
      if (kind === "API answers") {
        await new Promise<void>((r) => server.listen(sock, r));
        readyAt = started + readyIn;
      } else {
        readyAt = 0;
        setTimeout(() => server.listen(sock), readyIn);
      }
      const probe =
        kind === "API answers"
          ? async () => {
              const r = await dockerGet(sock, "/_ping").catch(() => undefined);
              return r?.status === 200 ? { ok: true as const } : { ok: false as const, seen: "not yet" };
            }
          : async () => (existsSync(sock) ? { ok: true as const } : { ok: false as const, seen: "absent" });
      await waitGate("bench", 10, probe, () => undefined, kind === "API answers" ? { capMs: 20 } : { watchDir: dir });
      delays.push(performance.now() - started - readyIn);
      server.close();
      rmSync(sock, { force: true });
    }
    row(
      `gate latency, ${kind} (30 runs)`,
      `median ${ms(percentile(delays, 50))}`,
      `p95 ${ms(percentile(delays, 95))}, max ${ms(Math.max(...delays))}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The fleet runner's preview (fleet/runner.ts, as `npm run fleet -- preview` runs it) of N
 *  converged machine stacks: copies of one converged stack and its state in one project and
 *  backend, all pointing at one simulated Mac (which a preview only reads), 4 at once. */
async function scale(): Promise<void> {
  const mac = await simulatedMac("bench-fleet");
  try {
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const names = Array.from({ length: 20 }, (_, i) => `bench-${String(i + 1).padStart(2, "0")}`);
    mac.stack.copies(names);
    const env = Object.fromEntries(Object.entries(mac.stack.environment()).filter((e): e is [string, string] => e[1] !== undefined));
    const logDir = mkdtempSync(join(tmpdir(), "cpulse-bench-fleet-"));
    let one: number | undefined;
    for (const n of [1, 5, 20]) {
      const parallel = 4; // 2 cores; each preview is the engine, the program and the provider
      const [results, wall] = await timed(() =>
        runFleet("preview", { workDir: mac.stack.dir, stacks: names.slice(0, n), parallel, logDir, envOf: () => env, display: quiet }),
      );
      const failed = results.filter((r) => !r.ok || !/^same \d+$/.test(r.detail)); // a preview that changes nothing
      if (failed.length > 0) throw new Error(`fleet preview: ${failed.map((r) => `${r.stack}: ${r.detail}`).join("; ")}`);
      one ??= wall;
      const ratio = n > 1 ? `; T(${n})/T(1) ${(wall / one).toFixed(1)}` : "";
      row(`fleet preview of ${n} converged Mac${n > 1 ? "s" : ""} (≤${parallel} at once)`, ms(wall), `${ms(wall / n)} per Mac${ratio}`);
    }
    rmSync(logDir, { recursive: true, force: true });
  } finally {
    await mac.dispose();
  }
}

const quiet = { draw: () => undefined, end: () => undefined };

/** What bench/cputree.py measured of one command: its wall time, and the CPU time (user, system,
 *  seconds) of it and every process below it, daemons included (ssh's ControlPersist masters,
 *  ended once the command has: `leftover` names them). */
interface TreeCpu {
  code: number;
  wall: number;
  user: number;
  sys: number;
  leftover: string[];
  /** With accounting: CPU seconds and count by "process <- its parent" (bench/cputree.py --acct). */
  by?: Record<string, { cpu: number; count: number }>;
  /** Why there is no `by` (accounting asked for, and refused). */
  noAccounting?: string;
  stdout: string;
  stderr: string;
}

/** Runs `argv` as a child of bench/cputree.py (Debian's python3: the sshd sessions' own PATH has
 *  no pyenv) and returns what it measured, with the command's output. */
function metered(argv: string[], cwd: string, env: NodeJS.ProcessEnv, accounting = false): Promise<TreeCpu> {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-bench-cpu-"));
  const out = join(dir, "cpu.json");
  const meter = [join(__dirname, "cputree.py"), ...(accounting ? ["--acct"] : []), out];
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", [...meter, ...argv], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      try {
        if (code !== 0) throw new Error(`cputree.py ${argv.join(" ")}: exit ${code}\n${stderr}`);
        const measured = JSON.parse(readFileSync(out, "utf8")) as Omit<TreeCpu, "stdout" | "stderr">;
        resolve({ ...measured, stdout, stderr });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** SSH logins sshd has accepted so far (its log, LogLevel VERBOSE: one line per connection). */
function logins(sshd: Sshd): number {
  return (readFileSync(join(sshd.dir, "sshd.log"), "utf8").match(/^.*Accepted publickey for .*$/gm) ?? []).length;
}

const macName = (i: number) => `mac-${String(i).padStart(3, "0")}`;
const keyName = (i: number) => `m${String(i).padStart(3, "0")}`;

/** One run's row: wall, wall and controller CPU per Mac, SSH connections opened. */
function cpuRow(name: string, n: number, m: TreeCpu, connections: number, unit: "host" | "Mac"): number {
  const cpuPerMac = ((m.user + m.sys) * 1000) / n;
  row(
    name,
    ms(m.wall * 1000),
    `${ms((m.wall * 1000) / n)} per ${unit}; controller CPU ${ms(cpuPerMac)} per ${unit} ` +
      `(user ${m.user.toFixed(2)} s + sys ${m.sys.toFixed(2)} s); ${connections} SSH connection${connections === 1 ? "" : "s"}, ` +
      `${m.leftover.length} left running after it and ended (${[...new Set(m.leftover)].join(", ") || "none"})`,
  );
  console.error(`bench: ${rows.at(-1)?.join(" | ")}`);
  return cpuPerMac;
}

/** The fleet preview over SSH beside Ansible's read-only check of the same simulated Mac. One
 *  real sshd on loopback; every Mac (stack, or inventory host) logs in with a key of its own, so
 *  each opens a connection of its own, as Macs at different addresses would (provider/lib/mac.ts
 *  keys its ControlPath on the target, key included; Ansible's inventory gives each host its
 *  own ControlPath). The Mac side (the simulated tools, Ansible's modules) runs as sshd's
 *  children, outside the measured tree: the CPU counted is the controller's alone. All Macs are
 *  one simulated Mac, converged once (a preview and the check only read it). */
async function sideBySide(): Promise<void> {
  const most = 100;
  const sshd = await startSshd({
    keys: Object.fromEntries(Array.from({ length: most }, (_, i) => [keyName(i + 1), { env: { SIM_USER: "ops" } }])),
  });
  const services = testServices();
  const sim = await MacSimulator.create({ dockerTarget: services.dockerHost.replace(/^unix:\/\//, "") });
  const work = mkdtempSync(join(tmpdir(), "cpulse-bench-side-"));
  const twins: TestStack[] = [];
  let base: TestStack | undefined;
  try {
    const key = (i: number) => sshd.keys[keyName(i)]?.identityFile as string;
    base = await TestStack.create(
      macName(1),
      {
        HOMEBREW_USER: "ops",
        COLIMA_DISK: "20",
        RESTART_THROTTLE_SECONDS: "2",
        smokeImage: services.smokeImage,
        SSH_HOST: `${sshd.loginUser}@127.0.0.1`,
        SSH_PORT: String(sshd.port),
        SSH_IDENTITY_FILE: key(1),
        SSH_KNOWN_HOSTS_FILE: sshd.knownHostsFile,
      },
      { env: { COLIMA_PULSE_HOST_ROOT: sim.root } },
    );
    await base.must(["up", "--yes", "--skip-preview"]);

    // The fleet: N stacks in a project copy of their own (listing the stacks reads every one).
    const fleetOf = async (n: number): Promise<TestStack> => {
      const twin = await (base as TestStack).clone();
      twins.push(twin);
      const names = Array.from({ length: n }, (_, i) => macName(i + 1));
      twin.copies(names.slice(1));
      // Each its own key, in its settings and in its state: the key is part of the SSH target
      // every resource keeps (a new one would be an update to all of them).
      for (let i = 2; i <= n; i++) {
        for (const file of [
          join(twin.dir, "stacks", `Pulumi.${macName(i)}.yaml`),
          join(twin.dir, ".state/backend/.pulumi/stacks/colima-pulse", `${macName(i)}.json`),
        ])
          writeFileSync(file, readFileSync(file, "utf8").split(key(1)).join(key(i)));
      }
      return twin;
    };
    /** `extra`: more environment (COLIMA_PULSE_PREBUILT=off: the sources through tsx, as before
     *  the prebuilt bundles, scripts/prebuilt.cjs). */
    const fleetRun = async (
      twin: TestStack,
      n: number,
      accounting = false,
      glob = "mac-*",
      extra: NodeJS.ProcessEnv = {},
    ): Promise<[TreeCpu, number]> => {
      const logDir = mkdtempSync(join(tmpdir(), "cpulse-bench-logs-"));
      const roots = Object.fromEntries(Array.from({ length: n }, (_, i) => [macName(i + 1), sim.root]));
      const before = logins(sshd);
      // A connection folder of this run's own (provider/lib/mac.ts connectionBase takes a private
      // XDG_RUNTIME_DIR; 13 characters at most, for the socket names): no master of another run
      // (the converging `up`, or another test on this machine) is reused, and this run's masters
      // are ended after it with the rest of its tree.
      const runtime = mkdtempSync("/tmp/c-");
      const m = await metered(
        ["bash", "scripts/fleet.sh", "preview", "--stacks", glob, "--parallel", "4", "--logs", logDir],
        twin.dir,
        { ...twin.environment(), COLIMA_PULSE_FLEET_HOST_ROOTS: JSON.stringify(roots), XDG_RUNTIME_DIR: runtime, ...extra },
        accounting,
      );
      rmSync(runtime, { recursive: true, force: true });
      // Every Mac's preview ran the policy pack (the engine's summary names it).
      const checked = Array.from({ length: n }, (_, i) => readFileSync(join(logDir, `${macName(i + 1)}.log`), "utf8")).filter((t) =>
        /Policies:[\s\S]*colima-pulse@v/.test(t),
      ).length;
      rmSync(logDir, { recursive: true, force: true });
      if (checked !== n) throw new Error(`fleet preview of ${n}: the policy pack ran for ${checked} Macs\n${m.stdout}\n${m.stderr}`);
      const same = m.stdout.split("\n").filter((l) => /^mac-\d{3}\s+ok\s+preview\s.*\bsame \d+\s*$/.test(l)).length;
      if (m.code !== 0 || same !== n)
        throw new Error(`fleet preview of ${n}: exit ${m.code}, ${same} Macs unchanged\n${m.stdout}\n${m.stderr}`);
      return [m, logins(sshd) - before];
    };

    // Ansible: an inventory of N hosts, each its own key and ControlPath (else all share the
    // one connection Ansible's default ControlPath, a hash of host, port and user, names).
    const ansibleRun = async (n: number, pipelining: boolean, accounting = false): Promise<[TreeCpu, number]> => {
      const dir = mkdtempSync(join(work, "a-"));
      const hosts = Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          macName(i + 1),
          {
            ansible_host: "127.0.0.1",
            ansible_port: sshd.port,
            ansible_user: sshd.loginUser,
            ansible_ssh_private_key_file: key(i + 1),
            ansible_ssh_extra_args: `-o UserKnownHostsFile=${sshd.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
            ansible_control_path: `%(directory)s/${macName(i + 1)}`,
            mac_root: sim.root,
          },
        ]),
      );
      // JSON is YAML: Ansible's yaml inventory plugin reads it.
      writeFileSync(join(dir, "inventory.yml"), JSON.stringify({ macs: { hosts } }));
      const before = logins(sshd);
      const m = await metered(
        ["ansible-playbook", "-i", join(dir, "inventory.yml"), join(__dirname, "ansible/check.yml"), "--check", "--diff"],
        dir,
        {
          ...process.env,
          ANSIBLE_CONFIG: join(__dirname, "ansible", pipelining ? "pipelining.cfg" : "ansible.cfg"),
          ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, "cp"),
          ANSIBLE_NOCOLOR: "1",
        },
        accounting,
      );
      rmSync(dir, { recursive: true, force: true });
      const clean = m.stdout.split("\n").filter((l) => /^mac-\d{3}\s+: ok=7\s+changed=0\s+unreachable=0\s+failed=0\b/.test(l)).length;
      if (m.code !== 0 || clean !== n)
        throw new Error(`ansible check of ${n}: exit ${m.code}, ${clean} hosts ok=7 changed=0\n${m.stdout}\n${m.stderr}`);
      return [m, logins(sshd) - before];
    };

    const sizes = [1, 5, 20, 100];
    const fleets = new Map<number, TestStack>();
    for (const n of sizes) fleets.set(n, await fleetOf(n));
    // One run of each first, not counted: the page cache, Python's and Node's compile caches
    // (Node's and tsx's are by file, and each fleet is a project copy of its own: one Mac each).
    await ansibleRun(1, true);
    const warm = (twin: TestStack, extra: NodeJS.ProcessEnv = {}) => fleetRun(twin, 1, false, macName(1), extra);
    const focus = Math.max(...sizes.filter((n) => n <= 20)); // the issue's goal is at 20
    const perMac: Record<string, number> = {};
    const byProcess: Record<string, TreeCpu> = {};
    for (const n of sizes) {
      const hosts = `${n} host${n > 1 ? "s" : ""}`;
      if (n <= 20) {
        for (const pipelining of [false, true]) {
          const [m, c] = await ansibleRun(n, pipelining, n === focus && pipelining);
          if (n === focus && pipelining) byProcess["Ansible, pipelining"] = m;
          perMac[`ansible${pipelining ? "+p" : ""} ${n}`] = cpuRow(
            `Ansible check play (7 read-only tasks), ${hosts}, forks 4${pipelining ? ", pipelining" : ""}`,
            n,
            m,
            c,
            "host",
          );
        }
      }
      await warm(fleets.get(n) as TestStack);
      const [m, c] = await fleetRun(fleets.get(n) as TestStack, n, n === focus);
      if (n === focus) byProcess["fleet preview"] = m;
      perMac[`fleet ${n}`] = cpuRow(`fleet preview over SSH, ${n} converged Mac${n > 1 ? "s" : ""} (≤4 at once)`, n, m, c, "Mac");
    }
    // What the prebuilt bundles bought: the same 20 Macs, each process from its TypeScript sources
    // through tsx, as before them (and as a checkout whose bundle is stale runs).
    const sources = await fleetOf(focus);
    const fromSources = { COLIMA_PULSE_PREBUILT: "off" };
    await warm(sources, fromSources);
    const [sm, sc] = await fleetRun(sources, focus, true, "mac-*", fromSources);
    byProcess["fleet preview, from the sources (no bundles)"] = sm;
    perMac[`fleet ${focus} sources`] = cpuRow(
      `fleet preview over SSH, ${focus} converged Macs, from the TypeScript sources (COLIMA_PULSE_PREBUILT=off) (≤4 at once)`,
      focus,
      sm,
      sc,
      "Mac",
    );
    const ansibleFocus = perMac[`ansible+p ${focus}`] as number;
    for (const [which, key] of [
      ["fleet preview", `fleet ${focus}`],
      ["fleet preview from the sources (no bundles)", `fleet ${focus} sources`],
    ]) {
      const cpu = perMac[key as string] as number;
      row(
        `controller CPU per Mac at ${focus}: ${which} / Ansible pipelined`,
        `${(cpu / ansibleFocus).toFixed(1)} ×`,
        `${ms(cpu)} against ${ms(ansibleFocus)} (goal: ≤ 1.0 ×)`,
      );
    }
    for (const [which, m] of Object.entries(byProcess)) {
      const parts = Object.entries(m.by ?? {})
        .sort((a, b) => b[1].cpu - a[1].cpu)
        .filter(([, v]) => v.cpu >= 0.2);
      row(
        `where the controller CPU goes, ${focus} Macs: ${which} (process accounting)`,
        `${ms(((m.user + m.sys) * 1000) / focus)} per Mac`,
        m.noAccounting ?? parts.map(([kind, v]) => `${kind} ${ms((v.cpu * 1000) / focus)} (${v.count}×)`).join(", "),
      );
    }
  } finally {
    for (const twin of twins) twin.forget();
    base?.forget();
    await sim.dispose();
    await sshd.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The converged `up` over SSH against the local one, on the same kind of simulated Mac: the
 *  connection is opened once (ControlMaster) and reused by the program and the provider. */
async function overSsh(): Promise<void> {
  const sshd = await startSshd({ keys: { ops: { env: { SIM_USER: "ops" } } } });
  const ssh = {
    SSH_HOST: `${sshd.loginUser}@127.0.0.1`,
    SSH_PORT: String(sshd.port),
    SSH_IDENTITY_FILE: sshd.keys.ops?.identityFile as string,
    SSH_KNOWN_HOSTS_FILE: sshd.knownHostsFile,
  };
  const local = await simulatedMac("bench-local");
  const remote = await simulatedMac("bench-ssh", ssh);
  try {
    const times = { local: 0, remote: 0 };
    for (const [which, m] of [
      ["local", local],
      ["remote", remote],
    ] as const) {
      await m.stack.must(["up", "--yes", "--skip-preview"]);
      for (let i = 0; i < 3; i++)
        times[which] += (await timed(() => m.stack.must(["up", "--yes", "--skip-preview", "--expect-no-changes"])))[1];
    }
    row(
      "converged `pulumi up` over SSH",
      ms(times.remote / 3),
      `local on the same simulator: ${ms(times.local / 3)}; ratio SSH/local ${(times.remote / times.local).toFixed(2)}`,
    );
  } finally {
    await local.dispose();
    await remote.dispose();
    await sshd.dispose();
  }
}

/** `npm test` as CI runs it (.ci/run) in a fresh clone of this checkout's HEAD, timed. */
async function suite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-bench-suite-"));
  try {
    spawnSync("git", ["clone", "--quiet", join(__dirname, ".."), dir], { stdio: "inherit" });
    const started = performance.now();
    const r = spawnSync("bash", [".ci/run"], { cwd: dir, encoding: "utf8", maxBuffer: 256 << 20 });
    const wall = performance.now() - started;
    const count = (what: string) => r.stdout.match(new RegExp(`^ℹ ${what} (\\d+)$`, "m"))?.[1] ?? "?";
    const minutes = `${Math.floor(wall / 60_000)} min ${Math.round((wall % 60_000) / 1000)} s`;
    row(
      "`npm test` from a clean clone (engine cached)",
      minutes,
      `exit ${r.status}; ${count("pass")} pass, ${count("fail")} fail, ${count("skipped")} skipped`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The measurements by name, for `--only name,name`. */
const SECTIONS: Record<string, () => Promise<void>> = {
  converged: convergedUp,
  gate: gateLatency,
  ssh: overSsh,
  "fleet-scale": scale,
  "fleet-vs-ansible": sideBySide,
  suite,
};

/** `--only a,b`: those sections; else all but the suite, which `--suite` adds. */
function sections(argv: string[]): string[] {
  const at = argv.indexOf("--only");
  if (at < 0) return [...Object.keys(SECTIONS).filter((k) => k !== "suite"), ...(argv.includes("--suite") ? ["suite"] : [])];
  const given = (argv[at + 1] ?? "").split(",").filter(Boolean);
  const unknown = given.filter((g) => !(g in SECTIONS));
  if (given.length === 0 || unknown.length > 0) {
    console.error(
      `error: --only (command line) = ${JSON.stringify(argv[at + 1] ?? "")}: must be a comma-separated list of ${Object.keys(SECTIONS).join(", ")}`,
    );
    process.exit(2);
  }
  return given;
}

async function main(): Promise<void> {
  for (const name of sections(process.argv.slice(2))) await (SECTIONS[name] as () => Promise<void>)();
  const baseline = JSON.parse(readFileSync(join(__dirname, "baseline.json"), "utf8")) as { source: string; rows: Record<string, string> };
  const engine = spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, pulumi ${engine}`;
  const table = [
    `Run ${new Date().toISOString()} on ${machine}; macOS simulated (test/simulator), Docker = Debian's dockerd.`,
    "",
    "The simulated VM starts in milliseconds, so the bash cycle's wall time here hides what costs on a Mac: its VM restart",
    "(tens of seconds, and every container restarted). Compare restarts and disruptive commands, not that row's time.",
    "",
    `Before: ${baseline.source}.`,
    "",
    ...(rows.some(([name]) => name?.startsWith("Ansible"))
      ? [
          "Fleet against Ansible: one real sshd on loopback; every Mac (a stack, or an Ansible inventory host) logs in with a key",
          "and a connection of its own (counted in sshd's log). Controller CPU is user+sys of the command (`bash scripts/fleet.sh",
          "preview`, what `npm run fleet -- preview` runs, without npm; `ansible-playbook --check --diff`) and every process below",
          "it, its ssh ControlPersist masters included (bench/cputree.py: a child subreaper, getrusage RUSAGE_CHILDREN). The Mac",
          "side (the simulated macOS tools, Ansible's modules) runs under sshd, outside that tree: not counted. All Macs are one",
          "simulated Mac. Each command once, after one uncounted run of each (caches). Ansible reads its interpreter from",
          "ansible.cfg (no discovery). In the accounting rows, `node <- pulumi` is the policy pack, `node <- pulumi-language` the",
          "program (and the language host's node runs), `node <- pulumi-resource` the dynamic provider, `pulumi <- node` the CLI",
          "(engine) the Automation API starts, `node <- python3` the fleet's own CLI.",
          "",
        ]
      : []),
    "| measurement | before | now | detail (now) |",
    "|---|---|---|---|",
    ...rows.map(([name, now, detail]) => `| ${name} | ${baseline.rows[name as string] ?? "—"} | ${now} | ${detail} |`),
    "",
  ].join("\n");
  console.log(table);
  if (process.argv.includes("--write")) {
    writeFileSync(
      join(__dirname, "RESULTS.md"),
      `# Benchmark results\n\n\`npm run bench\` (bench/run.ts). Numbers from one run; rerun to compare.\n\n${table}`,
    );
  }
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
