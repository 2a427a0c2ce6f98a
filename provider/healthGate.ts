// HealthGate: proof that the *supervised* instance is usable, in the seed's order — the socket
// exists, the VM is QEMU with a live qemu process, the Docker API answers /_ping and /version,
// and then stays up for N probes in a row. Each gate polls with a short, capped backoff (the
// socket gate also wakes when the socket's folder changes, the API gate asks every 20 ms at most;
// bench/RESULTS.md measures both), says what it is waiting for, and fails exactly at its timeout
// with the last thing it saw. On a Mac reached over SSH the probes are commands there (`test -S`,
// the Mac's docker CLI), polled every 250 ms at most, and a lost connection fails the gate at once
// (provider/lib/mac.ts); so is the API's, locally, for an operator whom the Homebrew user's
// owner-only socket refuses (askApi).
import { type FSWatcher, watch } from "node:fs";
import { request } from "node:http";
import { dirname } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, NOT_YET_KNOWN, say, UNKNOWN, type Zod } from "./lib/checkInputs";
import { type DiskReport, diskAfterStart } from "./lib/disk";
import { colimaCommand, colimaPaths, type Host, isVmOf } from "./lib/host";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { settingSchemas } from "./lib/settingsSchema";
import { PRUNE_MAX_SECONDS, supervisorFiles } from "./lib/supervisor";
import { describe, expected, inspectAll, parseTimes, ready, type Workload, type WorkloadTimes } from "./lib/workloads";

// ---- Args ---------------------------------------------------------------------------------

export interface HealthGateArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  host: pulumi.Input<Host>;
  prefix: pulumi.Input<string>;
  profile: pulumi.Input<string>;
  /** Seconds to wait for the socket (WAIT_SOCKET_MAX). */
  socketTimeout: pulumi.Input<number>;
  /** Seconds to wait for QEMU (WAIT_QEMU_MAX). */
  qemuTimeout: pulumi.Input<number>;
  /** Seconds to wait for the Docker API (WAIT_DOCKER_API_MAX). */
  apiTimeout: pulumi.Input<number>;
  /** Consecutive good probes (WAIT_STABLE_REQUIRED). */
  stableRequired: pulumi.Input<number>;
  /** Anything whose change means "prove it again" (the LaunchDaemon's files hash). */
  trigger: pulumi.Input<string>;
  /** What the VM runs under (colima, lima, qemu): a failure after an upgrade names before and after. */
  versions?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The supervised job's log (LOG_PATH, on this host): a failure quotes its last lines. */
  logPath?: pulumi.Input<string>;
  /** The disk report and trim after the gates (provider/lib/disk.ts): COLIMA_DISK (GiB),
   *  DISK_WARN_PERCENT, DISK_TRIM_AFTER_START. */
  diskGiB?: pulumi.Input<number>;
  diskWarnPercent?: pulumi.Input<number>;
  diskTrim?: pulumi.Input<boolean>;
  /** Seconds to wait for the restart-policy containers after the gates (WAIT_WORKLOADS_MAX; 0: not waited for). */
  workloadsTimeout?: pulumi.Input<number>;
}

// ---- schema and types ---------------------------------------------------------------------

export function healthGateSchema(z: Zod) {
  const setting = settingSchemas(z);
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    prefix: z.string().startsWith("/"),
    profile: setting.COLIMA_PROFILE,
    socketTimeout: setting.WAIT_SOCKET_MAX,
    qemuTimeout: setting.WAIT_QEMU_MAX,
    apiTimeout: setting.WAIT_DOCKER_API_MAX,
    stableRequired: setting.WAIT_STABLE_REQUIRED,
    trigger: z.string(),
    versions: z.record(z.string(), z.string()).default({}),
    logPath: setting.LOG_PATH.optional(),
    diskGiB: setting.COLIMA_DISK.optional(),
    diskWarnPercent: setting.DISK_WARN_PERCENT.default(80),
    diskTrim: setting.DISK_TRIM_AFTER_START.default(false),
    workloadsTimeout: setting.WAIT_WORKLOADS_MAX.default(300),
  });
}

export interface HealthGateInputs {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  host: Host;
  prefix: string;
  profile: string;
  socketTimeout: number;
  qemuTimeout: number;
  apiTimeout: number;
  stableRequired: number;
  trigger: string;
  versions: Record<string, string>;
  logPath?: string;
  diskGiB?: number;
  diskWarnPercent?: number;
  diskTrim?: boolean;
  workloadsTimeout?: number;
}

export interface HealthGateOutputs extends HealthGateInputs, DiskReport, WorkloadsReport {
  dockerHost: string;
  dockerVersion: string;
  driver: string;
  /** Milliseconds each gate waited, in order, the last time they ran. */
  timings: { socket: number; qemu: number; api: number; stable: number };
  /** When they last ran (ISO); absent in state written before it was recorded. */
  measuredAt?: string;
  /** false when refresh found the Docker API not answering. */
  healthy: boolean;
}

/** One observation: passed, or what was seen instead. */
export type Probe = { ok: true; value?: string } | { ok: false; seen: string };

// ---- pure functions -----------------------------------------------------------------------

/** Next poll delay: short first, growing to `cap` (100 ms unless a gate's probe is cheap enough
 *  to ask more often), never a busy loop. bench/RESULTS.md measures what this notices. */
export function nextDelay(previous: number, cap = 100): number {
  return Math.min(cap, Math.max(Math.min(25, cap), Math.round(previous * 1.5)));
}

/** How a gate waits between probes. */
export interface GateWait {
  /** Probe again at once when this folder changes (a socket appearing in it), not only on the clock. */
  watchDir?: string;
  /** The poll delay's cap in ms (default 100). */
  capMs?: number;
}

export function diffHealthGate(olds: HealthGateOutputs, news: HealthGateInputs): DetailedDiff {
  const changes = inputChanges(olds, news, ["host", "prefix", "profile", "stableRequired", "workloadsTimeout"], () => "prove it again");
  if (olds.trigger !== news.trigger)
    changes.push({
      property: "trigger",
      kind: "update",
      hidden: true,
      why: news.trigger === UNKNOWN ? NOT_YET_KNOWN : "the supervised daemon or its profile changed: prove it again",
    });
  if (olds.healthy === false) {
    changes.push({
      property: "healthy",
      kind: "update",
      old: false,
      new: true,
      why: "the Docker API did not answer at refresh",
      inputDiff: false,
    });
  }
  return diffOf(changes, false, news.secrets);
}

// ---- executor -----------------------------------------------------------------------------

/** Polls `probe` until it passes; logs every ~2 s; throws at the timeout with the last observation.
 *  A probe is given the gate's time left as its own deadline (its commands' timeouts), and is not
 *  waited for more than half a second past it, so no probe can carry a gate past its timeout. */
export async function waitGate(
  name: string,
  timeoutS: number,
  probe: (msLeft: number) => Promise<Probe>,
  log: (m: string) => void,
  wait: GateWait = {},
): Promise<{ ms: number; value?: string }> {
  const start = Date.now();
  const deadline = start + timeoutS * 1000;
  let delay = 0;
  let lastLog = start;
  let seen = "nothing yet";
  let cut: NodeJS.Timeout | undefined;
  // A change in the watched folder ends the pause at once; the clock still bounds it (a folder
  // that cannot be watched, or events that do not come, leave the poll as it was).
  // A change during a probe is remembered, so the next pause is skipped.
  let wake: (() => void) | undefined;
  let changed = false;
  let watcher: FSWatcher | undefined;
  if (wait.watchDir) {
    try {
      watcher = watch(wait.watchDir, () => {
        changed = true;
        wake?.();
      });
      watcher.on("error", () => watcher?.close());
    } catch {
      watcher = undefined;
    }
  }
  try {
    for (;;) {
      const left = Math.max(1, deadline - Date.now());
      const r = await Promise.race([
        probe(left),
        new Promise<Probe>((resolve) => {
          // A backstop for a probe that ignores its deadline; the probes here end by it, which is
          // quicker and names the command (ending one takes a few tens of ms: provider/lib/process.ts).
          cut = setTimeout(() => resolve({ ok: false, seen: `the probe did not answer within ${left} ms` }), left + 500);
        }),
      ]).catch((e: Error): Probe => {
        // The Mac out of reach is not something to wait out here: this step fails now, saying so.
        if (e.name === "SshError") throw e;
        return { ok: false, seen: e.message };
      });
      clearTimeout(cut);
      if (r.ok) return { ms: Date.now() - start, value: r.value };
      seen = r.seen;
      const now = Date.now();
      if (now >= deadline) {
        throw new Error(
          `gate "${name}" did not pass within ${timeoutS}s (waited ${((now - start) / 1000).toFixed(1)}s); last observation: ${seen}`,
        );
      }
      if (now - lastLog >= 2000) {
        log(`waiting for ${name}: ${((now - start) / 1000).toFixed(1)}s of ${timeoutS}s; last: ${seen}`);
        lastLog = now;
      }
      delay = nextDelay(delay, wait.capMs);
      if (!changed) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now())));
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        wake = undefined;
      }
      changed = false;
    }
  } finally {
    watcher?.close();
  }
}

/** GET `path` from the Docker API over its unix socket. */
/** The most of an answer a probe reads: /_ping is `OK` and /version a few hundred bytes, so an
 *  answer past this is not the Docker API's, and reading on would only hold memory. */
export const DOCKER_ANSWER_CAP = 1 << 20;

export function dockerGet(socket: string, path: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection per probe (no keep-alive): the question is whether the API accepts now.
    const req = request({ socketPath: socket, path, host: "docker", timeout: timeoutMs, agent: false }, (res) => {
      // Bytes, decoded once at the end: a character split across two reads stays whole.
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        size += d.length;
        if (size > DOCKER_ANSWER_CAP)
          req.destroy(new Error(`answered more than ${DOCKER_ANSWER_CAP} bytes to GET ${path}: not the Docker API`));
        else chunks.push(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (e) => reject(e));
    });
    req.on("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.end();
  });
}

async function ping(socket: string, msLeft = 2000): Promise<Probe> {
  const r = await dockerGet(socket, "/_ping", Math.min(2000, msLeft));
  return r.status === 200 && r.body.trim() === "OK"
    ? { ok: true }
    : { ok: false, seen: `/_ping answered ${r.status} ${r.body.trim().slice(0, 80)}` };
}

/** Whether the Docker API answers, with its version: over its socket from here when the Mac is
 *  this machine and this process may connect to it (/_ping, then /version), else with the Mac's own
 *  docker CLI (Homebrew's), as the Homebrew user, through the Mac's seam. Lima makes the socket
 *  srw------- the Homebrew user's, so a local operator who is someone else (an admin converging a
 *  Mac whose Homebrew is a service account's) is refused by connect(2) with EACCES ("Write access
 *  to the named socket is denied", macOS connect(2)) — as a read of that user's files is
 *  (provider/lib/mac.ts LocalMac, direct()) — and asks as the Homebrew user, as over SSH. Every
 *  probe of the API (the gates, refresh, `npm run fleet -- status`) asks here. */
export async function askApi(mac: Mac, inputs: Pick<HealthGateInputs, "prefix">, socket: string, msLeft: number): Promise<Probe> {
  if (mac.local) {
    const until = Date.now() + msLeft;
    const direct = await askSocket(socket, msLeft).catch((e: Error) => {
      if (e.message === "EACCES" || e.message === "EPERM") return undefined;
      throw e;
    });
    if (direct) return direct;
    msLeft = Math.max(1, until - Date.now());
  }
  const argv = [`${inputs.prefix}/bin/docker`, "--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"];
  const r = await mac.asUser(argv, { allowFailure: true, timeoutMs: Math.max(1, Math.min(msLeft, 10_000)) });
  return r.exitCode === 0 && r.stdout.trim()
    ? { ok: true, value: r.stdout.trim() }
    : { ok: false, seen: `docker version: ${r.stderr.trim().split("\n").pop()}` };
}

/** /_ping, then /version, over the socket from this process. */
async function askSocket(socket: string, msLeft: number): Promise<Probe> {
  const until = Date.now() + msLeft;
  const p = await ping(socket, msLeft);
  if (!p.ok) return p;
  const v = await dockerGet(socket, "/version", Math.min(2000, Math.max(1, until - Date.now())));
  return v.status === 200
    ? { ok: true, value: (JSON.parse(v.body) as { Version?: string }).Version ?? "" }
    : { ok: false, seen: `/version answered ${v.status}` };
}

async function runGates(mac: Mac, inputs: HealthGateInputs): Promise<HealthGateOutputs> {
  const paths = colimaPaths(inputs.host, inputs.profile);
  const socket = paths.dockerSocket;
  const log = (m: string) => say(inputs, m);
  const sock = await waitGate(
    "the Docker socket",
    inputs.socketTimeout,
    async () => {
      if (await mac.isSocket(socket)) return { ok: true };
      return { ok: false, seen: (await mac.exists(socket)) ? `${socket} is not a socket` : `${socket} does not exist` };
    },
    log,
    mac.local ? { watchDir: dirname(socket) } : { capMs: 250 },
  );
  const qemu = await waitGate(
    "QEMU",
    inputs.qemuTimeout,
    async (msLeft) => {
      const until = Date.now() + msLeft;
      await mac.currentUser(); // asked once per process, before the command's own deadline starts
      const st = await mac.asUser(colimaCommand(inputs.host, inputs.prefix, "status", "--profile", inputs.profile, "--json"), {
        allowFailure: true,
        timeoutMs: Math.max(1, until - Date.now()),
      });
      if (st.exitCode !== 0) return { ok: false, seen: `colima status: ${st.stderr.trim().split("\n").pop()}` };
      const driver = (JSON.parse(st.stdout) as { driver?: string }).driver ?? "";
      if (driver !== "QEMU") return { ok: false, seen: `driver is ${driver}` };
      const vm = (await mac.listProcesses(Math.max(1, until - Date.now()))).find((p) => isVmOf(p.command, paths.instanceDir));
      return vm ? { ok: true, value: driver } : { ok: false, seen: `no live qemu-system process for lima-${paths.id}` };
    },
    log,
  );
  const api = await waitGate(
    "the Docker API",
    inputs.apiTimeout,
    (msLeft) => askApi(mac, inputs, socket, msLeft),
    log,
    // A refused connection on a unix socket costs well under a millisecond: ask every 20 ms.
    { capMs: mac.local ? 20 : 250 },
  );
  let good = 0;
  const stable = await waitGate(
    `${inputs.stableRequired} good probes in a row`,
    Math.max(10, inputs.stableRequired * 3),
    async (msLeft) => {
      const until = Date.now() + msLeft;
      const p = await askApi(mac, inputs, socket, msLeft).catch((e: Error): Probe => {
        if (e.name === "SshError") throw e;
        return { ok: false, seen: e.message };
      });
      good = p.ok ? good + 1 : 0;
      if (good >= inputs.stableRequired) return { ok: true };
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, until - Date.now()))));
      return p.ok ? { ok: false, seen: `${good} good so far` } : p;
    },
    log,
  );
  const timings = { socket: sock.ms, qemu: qemu.ms, api: api.ms, stable: stable.ms };
  say(
    inputs,
    `healthy: socket ${timings.socket} ms, QEMU ${timings.qemu} ms, API ${timings.api} ms (Docker ${api.value}), stable ${timings.stable} ms`,
  );
  await prunedAfterStart(mac, inputs);
  const workloads = await workloadsBack(mac, inputs, socket, log);
  const disk = await diskAfterStart(mac, inputs, socket, log);
  return {
    ...inputs,
    ...disk,
    ...workloads,
    dockerHost: `unix://${socket}`,
    dockerVersion: api.value ?? "",
    driver: qemu.value ?? "",
    timings,
    measuredAt: new Date().toISOString(),
    healthy: true,
  };
}

/** A start that prunes (PRUNE_DOCKER_AFTER_START) prunes once the Docker API answers, beside the
 *  supervision (provider/launchDaemon.ts renderSupervisor), and its `pruning` file is there until
 *  that prune has ended: waited for here, so that what runs after the gates (the smoke test's pull
 *  and run) never overlaps a prune that may remove its image or its container. The supervisor
 *  stops a prune after PRUNE_MAX_SECONDS; it starts within a round of its checks of the API. */
export async function prunedAfterStart(mac: Mac, inputs: HealthGateInputs): Promise<void> {
  const pruning = supervisorFiles(inputs.host, inputs.profile).pruning;
  if (!(await mac.exists(pruning))) return;
  const waited = await waitGate(
    "the supervisor's prune after this start",
    PRUNE_MAX_SECONDS + 60,
    async () => ((await mac.exists(pruning)) ? { ok: false, seen: `${pruning} is there: the prune has not ended` } : { ok: true }),
    (m) => say(inputs, m),
    { capMs: 250 },
  );
  say(inputs, `the supervisor's prune after this start ended (waited ${waited.ms} ms)`);
}

/** The times the supervisor measured at the last start (its `workloads` file): seconds from the
 *  Mac's boot to the Docker API and to the workloads; undefined where it has not said. */
export interface WorkloadsReport {
  bootToDockerSeconds?: number;
  bootToWorkloadsSeconds?: number;
}

/** The times that are known, and no key for one that is not (a state value cannot be undefined). */
function report(t: WorkloadTimes): WorkloadsReport {
  return {
    ...(t.bootToDockerSeconds !== undefined ? { bootToDockerSeconds: t.bootToDockerSeconds } : {}),
    ...(t.bootToWorkloadsSeconds !== undefined ? { bootToWorkloadsSeconds: t.bootToWorkloadsSeconds } : {}),
  };
}

/** The workloads gate (provider/lib/workloads.ts: the rule): after Docker is stable, every
 *  container Docker brings back by itself — restart policy always or unless-stopped — runs, healthy
 *  where it has a healthcheck, within WAIT_WORKLOADS_MAX; the operator is told which it waits for.
 *  A failure names each one, its policy, state and health, and the command that inspects it. Then
 *  the supervisor's times of this start, which it writes within a round of its checks (2 s). */
export async function workloadsBack(
  mac: Mac,
  inputs: HealthGateInputs,
  socket: string,
  log: (m: string) => void,
): Promise<WorkloadsReport> {
  const file = supervisorFiles(inputs.host, inputs.profile).workloads;
  const times = async () =>
    parseTimes(await mac.readFile(file).catch((e: Error) => (e.name === "SshError" ? Promise.reject(e) : undefined)));
  const max = inputs.workloadsTimeout ?? 300;
  if (max === 0) {
    log("the restart-policy containers are not waited for (WAIT_WORKLOADS_MAX 0)");
    return report(await times());
  }
  const docker = `${inputs.prefix}/bin/docker`;
  let pending: Workload[] = [];
  let said = "";
  try {
    const r = await waitGate(
      "the containers with restart policy always or unless-stopped",
      max,
      async (msLeft) => {
        const t = await times();
        const all = (await inspectAll(mac, docker, socket, Math.max(1, Math.min(msLeft, 10_000)))).filter((c) => expected(c, t.dockerUp));
        pending = all.filter((c) => !ready(c));
        if (pending.length === 0) return { ok: true, value: String(all.length) };
        const names = pending.map(describe).join(", ");
        if (names !== said)
          log(`waiting up to ${max}s (WAIT_WORKLOADS_MAX) for ${pending.length} of ${all.length} restart-policy containers: ${names}`);
        said = names;
        return { ok: false, seen: names };
      },
      log,
      { capMs: 1000 },
    );
    log(
      `workloads: ${r.value} containers with restart policy always or unless-stopped run (healthy where they have a healthcheck), after ${r.ms} ms`,
    );
  } catch (e) {
    if ((e as Error).name === "SshError" || pending.length === 0) throw e;
    const host = `${docker} --host unix://${socket}`;
    const lines = pending.map(
      (c) =>
        `  ${c.name}: restart policy ${c.policy}, state ${c.status}${c.error ? ` (${c.error})` : ""}, ${c.health === "none" ? "no healthcheck" : `health ${c.health}`}; inspect: ${host} inspect ${c.name}${c.health === "none" ? "" : ` --format '{{json .State.Health}}'`}`,
    );
    throw new Error(
      `gate "the containers with restart policy always or unless-stopped" did not pass within WAIT_WORKLOADS_MAX (${max}s): ${pending.length} not running and healthy:\n${lines.join("\n")}`,
    );
  }
  let t = await times();
  if (t.dockerUp && t.bootToWorkloadsSeconds === undefined && !t.notReady) {
    // The supervisor sees them within its next round.
    await waitGate(
      "the supervisor's boot-to-workloads time",
      10,
      async () => {
        t = await times();
        return t.bootToWorkloadsSeconds !== undefined || t.notReady
          ? { ok: true }
          : { ok: false, seen: `${file} has no boot_to_workloads yet` };
      },
      log,
      { capMs: 250 },
    ).catch((e: Error) => {
      if (e.name === "SshError") throw e;
      log(`the supervisor has not written its boot-to-workloads time (${file}): left out`);
    });
  }
  log(
    `boot-to-Docker ${t.bootToDockerSeconds ?? "?"}s, boot-to-workloads ${t.bootToWorkloadsSeconds ?? "?"}s (the supervisor's, at the last start)`,
  );
  return report(t);
}

/** The gates; a failure says what the operator needs next: the versions the VM ran under before
 *  and now when they changed (an upgrade), and the supervised job's last log lines. */
async function proveHealthy(mac: Mac, inputs: HealthGateInputs, before?: Record<string, string>): Promise<HealthGateOutputs> {
  try {
    return await runGates(mac, inputs);
  } catch (e) {
    const changed = Object.keys(inputs.versions).filter((f) => before?.[f] && before[f] !== inputs.versions[f]);
    const upgraded =
      changed.length > 0 ? `\nafter an upgrade of ${changed.map((f) => `${f} ${before?.[f]} → ${inputs.versions[f]}`).join(", ")}` : "";
    const tail = inputs.logPath ? await mac.tail(inputs.logPath, 10).catch((t: Error) => `(cannot read it: ${t.message})`) : "";
    const log = inputs.logPath ? `\nlast lines of ${inputs.logPath}:\n${tail || "(empty, or not there)"}` : "";
    throw new Error(`${(e as Error).message}${upgraded}${log}`);
  }
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const healthGateProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffHealthGate, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, healthGateSchema);
  },
  async diff(_id: string, olds: HealthGateOutputs, news: HealthGateInputs) {
    const { reasons, ...result } = diffHealthGate(olds, news);
    if (reasons.length > 0) say(news, `will check again: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: HealthGateInputs) {
    return { id: `gate-${inputs.profile}`, outs: await proveHealthy(macOf(inputs.host), inputs) };
  },
  async update(_id: string, olds: HealthGateOutputs, news: HealthGateInputs) {
    return { outs: await proveHealthy(macOf(news.host), news, olds.versions) };
  },
  async read(id: string, stored: HealthGateOutputs) {
    const mac = macOf(stored.host);
    const socket = colimaPaths(stored.host, stored.profile).dockerSocket;
    const healthy = (
      await askApi(mac, stored, socket, 2000).catch((e: Error): Probe => {
        if (e.name === "SshError") throw e; // out of reach is not "unhealthy": refresh fails, saying so
        return { ok: false, seen: "" };
      })
    ).ok;
    // The supervisor's times of the last start, as they are now (a reboot since the gate ran).
    const file = supervisorFiles(stored.host, stored.profile).workloads;
    const times = parseTimes(await mac.readFile(file).catch((e: Error) => (e.name === "SshError" ? Promise.reject(e) : undefined)));
    const { bootToDockerSeconds: _docker, bootToWorkloadsSeconds: _workloads, ...rest } = stored;
    return { id, props: { ...rest, healthy, ...report(times) } };
  },
  async delete() {
    // A proof owns nothing.
  },
});

// ---- resource -----------------------------------------------------------------------------

export class HealthGate extends ResourceByReference {
  declare readonly dockerHost: pulumi.Output<string>;
  declare readonly dockerVersion: pulumi.Output<string>;
  declare readonly driver: pulumi.Output<string>;
  declare readonly timings: pulumi.Output<{ socket: number; qemu: number; api: number; stable: number }>;
  /** When the gates last ran (ISO; undefined in state written before it was recorded). */
  declare readonly measuredAt: pulumi.Output<string | undefined>;
  /** The disk report after the gates (provider/lib/disk.ts DiskReport); undefined where unread. */
  declare readonly dockerDiskUsedBytes: pulumi.Output<number | undefined>;
  declare readonly diskSizeBytes: pulumi.Output<number | undefined>;
  declare readonly hostFreeBytes: pulumi.Output<number | undefined>;
  declare readonly diskWarnings: pulumi.Output<string[] | undefined>;
  /** The supervisor's times of the last start (WorkloadsReport); undefined where it has not said. */
  declare readonly bootToDockerSeconds: pulumi.Output<number | undefined>;
  declare readonly bootToWorkloadsSeconds: pulumi.Output<number | undefined>;

  constructor(name: string, args: HealthGateArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      dockerHost: undefined,
      dockerVersion: undefined,
      driver: undefined,
      timings: undefined,
      measuredAt: undefined,
      healthy: undefined,
      dockerDiskUsedBytes: undefined,
      diskSizeBytes: undefined,
      hostFreeBytes: undefined,
      diskWarnings: undefined,
      bootToDockerSeconds: undefined,
      bootToWorkloadsSeconds: undefined,
    };
    super("healthGate", healthGateProvider, "HealthGate", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
