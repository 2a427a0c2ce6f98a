// Fleet status: one row per Mac, from its stack (what the last converge recorded: versions, gate
// timings, when) and from the Mac itself, asked now through the Mac's seam (reachable, Docker's
// version, the supervisor's state) and through a refreshed preview (drift). Read-only: nothing on
// a Mac or in its state changes (the preview's refresh is not saved).
import type { Stack } from "@pulumi/pulumi/automation";
import { askApi } from "../provider/healthGate";
import { fileVaultState } from "../provider/homebrewPackages";
import { findOtherJobs } from "../provider/lib/autostarts";
import { listBackups } from "../provider/lib/backups";
import { colimaVolumeSpace } from "../provider/lib/disk";
import { colimaPaths, hostOf, hostPath } from "../provider/lib/host";
import { jobState } from "../provider/lib/launchd";
import { checkSudo, type Mac, macOf } from "../provider/lib/mac";
import { gaveUp, notRunningBecause, readSupervisor, supervisorFiles } from "../provider/lib/supervisor";
import { deniedVersions, isDenied } from "../provider/lib/versionDenylist";
import { parseTimes } from "../provider/lib/workloads";
import { powerSummary } from "../provider/powerSettings";
import { type ResolvedSettings, readLayers, resolveSettings } from "../stacks/config";
import { noSecrets, type Redact, redactDeep, stackRedactor } from "./redact";
import { failureOf, openStack, pool } from "./runner";

export interface MacStatus {
  stack: string;
  /** "yes", or why not. */
  reachable: string;
  /** The Docker Engine answering on the profile's socket now ("" when it does not). */
  docker: string;
  /** running, restarting (N failed starts), gave up after N failed starts, not loaded, unknown. */
  supervisor: string;
  /** The same as numbers, for metrics (metrics.ts): absent when it could not be read. The counts
   *  are in a row (the supervisor's files, provider/lib/supervisor.ts), absent when not loaded. */
  supervisorState?: SupervisorState;
  /** The prune after each start the stack declares: off, dangling, images, system; [secret] when
   *  either PRUNE setting is a secret; unknown when the settings cannot be read. */
  prune: string;
  /** The gates' timings in ms the last time they ran, and when (ISO; "" when not recorded). */
  gates?: { socket: number; qemu: number; api: number; stable: number; measuredAt?: string };
  /** "none", what a refreshed preview would change, or "unknown: why". */
  drift: string;
  versions: { colima?: string; lima?: string; qemu?: string };
  /** When the last successful `up` ended (ISO), or "" if none did. */
  lastConverge: string;
  /** FileVault now: On, Off, "locked: waiting for unlock" (provider/homebrewPackages.ts). */
  fileVault: string;
  /** The profile's backups in BACKUP_DIR_BASE, newest first (what `npm run restore` takes). */
  backups: { path: string; bytes?: number; made: string }[];
  /** Why the backups could not be listed (then `backups` is empty but not known to be). */
  backupsError?: string;
  /** Docker's use of the VM's data disk and the disk's size, in bytes, as the health gate last
   *  measured them (the stack's outputs; provider/lib/disk.ts): absent when not recorded. */
  disk?: { dockerUsedBytes?: number; sizeBytes?: number };
  /** Free bytes of the Mac's volume holding the Homebrew user's ~/.colima, asked now (`df -Pk`). */
  hostFreeBytes?: number;
  /** The Mac's power settings now, on AC Power (`pmset -g custom`: provider/powerSettings.ts
   *  powerSummary): "autorestart 1, sleep 0, womp 1"; "unknown" when they could not be read. */
  power?: string;
  /** The supervisor's times of the last start, read from the Mac now (its `workloads` file,
   *  provider/lib/workloads.ts): seconds from the Mac's boot to the Docker API and to the
   *  restart-policy containers running; absent where it has not said (notReady: its wait ended
   *  without them, naming them). */
  boot?: { toDockerSeconds?: number; toWorkloadsSeconds?: number; notReady?: string };
  /** Other launchd jobs that start the profile (`up` removes them) and stale colima-pulse jobs
   *  (`npm run remove-stale-jobs`), found now (provider/lib/autostarts.ts); absent when not read. */
  otherStarters?: { autostarts: string[]; stale: string[] };
  /** The installed versions VERSION_DENYLIST denies (`qemu@8.1.0`). */
  denied?: string[];
  /** The supervisor's last wake in its log's last lines: when, how long asleep, what it did. */
  lastWake?: string;
}

export interface SupervisorState {
  state: "running" | "restarting" | "gave up" | "not loaded";
  failedStarts?: number;
  hungApiRestarts?: number;
}

/** The supervisor's state: its job, and its counts of failed starts and hung-API restarts in a
 *  row (provider/lib/supervisor.ts). launchd is asked as root (jobState): a sudo that wants a
 *  password is said as such (checkSudo's SudoError), not read as a job that is not loaded. */
export async function supervisorOf(mac: Mac, label: string, profile: string, maxFailed: number): Promise<string> {
  return (await supervisorStateOf(mac, label, profile, maxFailed)).text;
}

/** supervisorOf's text and the same as numbers (MacStatus supervisorState). */
export async function supervisorStateOf(
  mac: Mac,
  label: string,
  profile: string,
  maxFailed: number,
): Promise<SupervisorState & { text: string }> {
  await checkSudo(mac, "launchctl print");
  const job = await jobState(mac, `system/${label}`);
  if (!job.loaded) return { state: "not loaded", text: "not loaded" };
  const seen = await readSupervisor(mac, label, profile);
  const restarts = Math.min(seen.hungStops, maxFailed);
  const counts = { failedStarts: seen.failedStarts, hungApiRestarts: restarts };
  if (gaveUp({ ...seen, running: job.running }, maxFailed))
    return { state: "gave up", ...counts, text: `${notRunningBecause(seen, maxFailed)}: \`pulumi up\` restarts it` };
  const why = [seen.failedStarts > 0 ? `${seen.failedStarts} failed starts` : "", restarts > 0 ? `${restarts} hung-API restarts` : ""]
    .filter(Boolean)
    .join(", ");
  return why ? { state: "restarting", ...counts, text: `restarting (${why})` } : { state: "running", ...counts, text: "running" };
}

/** Docker's version on the profile's socket, asked as the API gate asks it (provider/healthGate.ts). */
async function dockerOf(mac: Mac, profile: string): Promise<string> {
  const socket = colimaPaths(mac.host, profile).dockerSocket;
  for (const prefix of ["/opt/homebrew", "/usr/local"].map((p) => hostPath(mac.host, p))) {
    if (!(await mac.exists(`${prefix}/bin/docker`))) continue;
    const answer = await askApi(mac, { prefix }, socket, 15_000);
    return answer.ok ? (answer.value ?? "") : "";
  }
  return "";
}

/** What a refreshed preview would do, as `update LaunchDaemon::colima-daemon, …`. */
async function driftOf(stack: Stack): Promise<string> {
  const steps: string[] = [];
  const errors: string[] = [];
  try {
    await stack.preview({
      refresh: true,
      color: "never",
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && !["same", "refresh", "read"].includes(m.op) && !m.urn.includes("::pulumi:pulumi:Stack::"))
          steps.push(`${m.op} ${m.type.split(":").pop()}::${m.urn.split("::").pop()}`);
        if (e.diagnosticEvent?.severity === "error") errors.push(e.diagnosticEvent.message);
      },
    });
  } catch (e) {
    return `unknown: ${failureOf(errors, e)}`;
  }
  return steps.length > 0 ? steps.join(", ") : "none";
}

/** The last successful `up`'s end. */
async function lastConvergeOf(stack: Stack): Promise<string> {
  const history = await stack.history(20).catch(() => []);
  const last = history.find((u) => u.kind === "update" && u.result === "succeeded");
  return last?.endTime ? new Date(last.endTime).toISOString() : "";
}

/** A stack's settings from every layer (stacks/config.ts), its Pulumi config decrypted. */
export async function stackSettings(workDir: string, name: string, stack: Stack): Promise<ResolvedSettings> {
  const config = Object.entries(await stack.getAllConfig()).map(([k, v]) => [k, { value: v.value, secret: v.secret === true }]);
  return resolveSettings(readLayers(workDir, name, Object.fromEntries(config)));
}

/** The gates' last timings: the stack's lastGateTimings output; a stack last converged by a version
 *  before it has only gateTimings (then always the numbers). A converged run's gateTimings is a
 *  text saying they did not run (components/colimaPulse.ts): no numbers. */
export function gatesOf(last: unknown, timings: unknown): MacStatus["gates"] {
  const numbers = (v: unknown) =>
    v !== null &&
    typeof v === "object" &&
    ["socket", "qemu", "api", "stable"].every((k) => typeof (v as Record<string, unknown>)[k] === "number");
  if (numbers(last)) return last as MacStatus["gates"];
  return numbers(timings) ? (timings as MacStatus["gates"]) : undefined;
}

/** The gate's last disk report from the stack's outputs (-1 there: it could not be read then). */
export function diskOf(used: unknown, size: unknown): MacStatus["disk"] {
  const known = (v: unknown) => (typeof v === "number" && v >= 0 ? v : undefined);
  const disk = { dockerUsedBytes: known(used), sizeBytes: known(size) };
  return disk.dockerUsedBytes === undefined && disk.sizeBytes === undefined ? undefined : disk;
}

/** What the supervisor prunes after each start (PRUNE_DOCKER_AFTER_START, PRUNE_MODE): the mode,
 *  "off", or "[secret]" (a secret is never shown). */
export function pruneOf(resolved: Pick<ResolvedSettings, "settings" | "secrets">): string {
  if (resolved.secrets.some((k) => k === "PRUNE_DOCKER_AFTER_START" || k === "PRUNE_MODE")) return "[secret]";
  return resolved.settings.PRUNE_DOCKER_AFTER_START ? resolved.settings.PRUNE_MODE : "off";
}

/** The installed versions (formula → version) that VERSION_DENYLIST denies, as `formula@version`. */
export function deniedOf(setting: string | undefined, versions: Record<string, string | undefined>): string[] {
  const denied = deniedVersions(setting);
  return Object.entries(versions).flatMap(([f, v]) => (v && isDenied(denied, f, v) ? [`${f}@${v}`] : []));
}

/** The supervisor's last wake (provider/supervisor.sh: `<time> colima-pulse[pid] woke after ~Ns
 *  asleep…`) in `log`: "<time> ~Ns: <what it did>", or undefined when none is there. */
export function lastWakeOf(log: string): string | undefined {
  const line = log
    .split("\n")
    .filter((l) => /^\S+ colima-pulse\[\d+\] woke after ~\d+s asleep/.test(l))
    .pop();
  const m = line && /^(\S+) colima-pulse\[\d+\] woke after ~(\d+)s asleep(.*)$/.exec(line);
  if (!m) return undefined;
  const rest = m[3] as string;
  const did = /restarting the VM now/.test(rest)
    ? "Docker silent: VM restarted"
    : /stopping the VM/.test(rest)
      ? "Docker silent: VM stopped (gave up)"
      : /the Docker API answers/.test(rest)
        ? "Docker answered"
        : /while profile/.test(rest)
          ? "while starting"
          : "Docker silent: left to API_HANG_SECONDS";
  return `${m[1]} ~${m[2]}s: ${did}`;
}

/** A row before the Mac is asked: nothing known yet. */
export function emptyRow(stack: string): MacStatus {
  return {
    stack,
    reachable: "unknown",
    docker: "",
    supervisor: "unknown",
    prune: "unknown",
    drift: "unknown",
    versions: {},
    lastConverge: "",
    fileVault: "unknown",
    backups: [],
  };
}

/** One Mac's row, every text in it redacted with the stack's secrets (redact.ts): a secret
 *  SSH_HOST in ssh's words, say. `root` is the simulator's root for the stack ("/" on a real fleet). */
async function statusOf(workDir: string, name: string, env: Record<string, string>): Promise<MacStatus> {
  let redact: Redact = noSecrets;
  const row = await rowOf(workDir, name, env, (r) => {
    redact = r;
  });
  return redactDeep(row, redact);
}

async function rowOf(workDir: string, name: string, env: Record<string, string>, secrets: (r: Redact) => void): Promise<MacStatus> {
  const row = emptyRow(name);
  let stack: Stack;
  try {
    stack = await openStack(workDir, name, env);
    secrets(await stackRedactor(stack));
  } catch (e) {
    return { ...row, reachable: `unknown: ${failureOf([], e)}` };
  }
  const outputs = await stack.outputs().catch(() => ({}) as Awaited<ReturnType<Stack["outputs"]>>);
  const versions = (outputs.versions?.value ?? {}) as MacStatus["versions"];
  row.versions = { colima: versions.colima, lima: versions.lima, qemu: versions.qemu };
  row.gates = gatesOf(outputs.lastGateTimings?.value, outputs.gateTimings?.value);
  row.disk = diskOf(outputs.dockerDiskUsedBytes?.value, outputs.diskSizeBytes?.value);
  row.lastConverge = await lastConvergeOf(stack);
  let settings: ResolvedSettings["settings"];
  try {
    const resolved = await stackSettings(workDir, name, stack);
    settings = resolved.settings;
    row.prune = pruneOf(resolved);
  } catch (e) {
    return { ...row, reachable: `unknown: ${(e as Error).message.split("\n").slice(0, 2).join(" ")}` };
  }
  let mac: Mac;
  try {
    // macOf may refuse the Mac before anything runs (off a Mac, a local one at /:
    // provider/lib/mac.ts): a row that says why, not a failed status.
    mac = macOf(hostOf(env.COLIMA_PULSE_HOST_ROOT || "/", settings));
    await mac.currentUser();
    row.reachable = "yes";
  } catch (e) {
    // ssh's own words ("…: Connection refused") say it shortest; the full fix is in `fleet up`'s error.
    const said = (e as { stderrTail?: string }).stderrTail?.trim().split("\n").pop();
    row.reachable = `no: ${said || (e as Error).message.split("\n")[0]}`;
    row.drift = "unknown: not reachable";
    return row;
  }
  const [docker, supervisor, drift, backups, fileVault, space, power, starters, log] = await Promise.all([
    dockerOf(mac, settings.COLIMA_PROFILE).catch(() => ""),
    supervisorStateOf(mac, settings.LABEL, settings.COLIMA_PROFILE, settings.MAX_FAILED_STARTS).catch((e: Error) => ({
      text: `unknown: ${e.message}`,
    })),
    driftOf(stack),
    listBackups(mac, hostPath(mac.host, settings.BACKUP_DIR_BASE), settings.COLIMA_PROFILE, true).catch((e: Error) => e),
    fileVaultState(mac, mac.host).catch(() => "unknown"),
    colimaVolumeSpace(mac, mac.host).catch(() => undefined),
    powerSummary(mac, mac.host).catch(() => "unknown"),
    findOtherJobs(mac, settings.LABEL, settings.COLIMA_PROFILE).catch(() => undefined),
    mac.tail(hostPath(mac.host, settings.LOG_PATH), 500).catch(() => ""),
  ]);
  const times = parseTimes(await mac.readFile(supervisorFiles(mac.host, settings.COLIMA_PROFILE).workloads).catch(() => undefined));
  const boot = {
    ...(times.bootToDockerSeconds !== undefined ? { toDockerSeconds: times.bootToDockerSeconds } : {}),
    ...(times.bootToWorkloadsSeconds !== undefined ? { toWorkloadsSeconds: times.bootToWorkloadsSeconds } : {}),
    ...(times.notReady ? { notReady: times.notReady } : {}),
  };
  const { text, ...supervisorState } = supervisor;
  return {
    ...row,
    docker,
    supervisor: text,
    ...("state" in supervisorState ? { supervisorState: supervisorState as SupervisorState } : {}),
    drift,
    fileVault,
    ...(space ? { hostFreeBytes: space.freeBytes } : {}),
    power,
    ...(Object.keys(boot).length > 0 ? { boot } : {}),
    ...(starters
      ? { otherStarters: { autostarts: starters.autostarts.map((j) => j.label), stale: starters.pulse.stale.map((j) => j.label) } }
      : {}),
    denied: deniedOf(settings.VERSION_DENYLIST, row.versions),
    ...(lastWakeOf(log) ? { lastWake: lastWakeOf(log) } : {}),
    ...(backups instanceof Error
      ? { backupsError: backups.message.split("\n")[0] }
      : { backups: backups.map(({ path, bytes, made }) => ({ path, bytes, made })) }),
  };
}

/** Every Mac's row, at most `parallel` Macs asked at once. */
export function fleetStatus(
  workDir: string,
  stacks: string[],
  parallel: number,
  envOf: (stack: string) => Record<string, string>,
): Promise<MacStatus[]> {
  return pool(stacks, parallel, (name) => statusOf(workDir, name, envOf(name)));
}
