// LaunchDaemon: the system-domain job that keeps the profile running with nobody logged in.
// launchd runs a small supervisor (the "pulse") as the Homebrew user: it starts
// `colima start --foreground`, watches the VM (colima does not notice its VM dying: docs/ARCHITECTURE.md §2),
// and exits non-zero when it died, so KeepAlive {SuccessfulExit: false} + ThrottleInterval start
// everything again, a bounded number of times. On launchd's SIGTERM it stops Colima cleanly.
// The job is not `su - user -c …`: macOS su puts the command in its own process group and dies on
// SIGTERM without passing it on (shell_cmds su/su.c), so launchd could never stop Colima.
// Files are written root:wheel (plist 0644, script 0755); the job is reloaded only when they change.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { build as buildPlist, parse as parsePlist } from "plist";
import { type OtherJob, removeOtherJobs, SAFE_LABEL, SAFE_PATH } from "./lib/autostarts";
import { ResourceByReference } from "./lib/byReference";
import {
  checkInputs,
  type DetailedDiff,
  diffOf,
  hostSchema,
  inputChanges,
  NOT_YET_KNOWN,
  redact,
  say,
  UNKNOWN,
  type Zod,
} from "./lib/checkInputs";
import { profileChange } from "./lib/generation";
import { colimaPaths, hostPath, type Machine, type MachineArgs, shellQuote, withLock } from "./lib/host";
import {
  CONFLICTING_LABELS,
  conflictDomains,
  explainBootstrapFailure,
  isLoaded,
  jobState,
  bootout as launchdBootout,
  removeConflictingJobs,
} from "./lib/launchd";
import { type CheckedLogPath, checkLogPath, LogPathError } from "./lib/logPath";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { settingSchemas } from "./lib/settingsSchema";
import { SWEEP_SH, sweepSettings } from "./lib/staleState";
import { notRunningBecause, PRUNE_MAX_SECONDS, type SupervisorSeen, supervisorFiles, supervisorScript } from "./lib/supervisor";

/** macOS's `staff` group (gid 20 on every Mac): the job's GroupName, and its log's group. */
export const STAFF_GID = 20;

// ---- Args ---------------------------------------------------------------------------------

export interface LaunchDaemonArgs extends MachineArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  /** launchd label (LABEL). */
  label: pulumi.Input<string>;
  /** stdout/stderr of the job (LOG_PATH). */
  logPath: pulumi.Input<string>;
  /** Seconds between restarts (launchd ThrottleInterval). Default 10, launchd's own. */
  throttleInterval?: pulumi.Input<number>;
  /** Seconds launchd waits after SIGTERM before SIGKILL (a `colima stop` takes a while). Default 120. */
  exitTimeOut?: pulumi.Input<number>;
  /** Failed starts in a row after which the supervisor stops retrying. Default 5. */
  maxFailedStarts?: pulumi.Input<number>;
  /** The profile's provisioning generation: a re-provisioned profile means a reload. */
  profileGeneration: pulumi.Input<string>;
  /** Seconds a start may take before the supervisor counts it as failed. Default 300. */
  startupGrace?: pulumi.Input<number>;
  /** Prune after each start (PRUNE_DOCKER_AFTER_START/PRUNE_MODE): "" (off), dangling, images, system. */
  pruneMode?: pulumi.Input<string>;
  /** Installed versions of colima, lima and qemu (HomebrewPackages): an upgrade restarts the VM under them. */
  versions?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** API_HANG_SECONDS: a VM whose Docker API is silent this long is restarted (0: never). Default 120. */
  apiHangSeconds?: pulumi.Input<number>;
  /** CLOCK_DRIFT_MAX_SECONDS: a guest clock further off the Mac's, after a start or a wake, is set to it (0: never compared). Default 5. */
  clockDriftMaxSeconds?: pulumi.Input<number>;
  /** WAIT_WORKLOADS_MAX: how long the supervisor waits, after each start, for the restart-policy containers (0: not waited for). Default 300. */
  waitWorkloadsMax?: pulumi.Input<number>;
  /** The supervisor as the program's survey saw it on the Mac just now (provider/lib/supervisor.ts):
   *  one that is not running (it gave up, or was stopped) is started again by this run's `up`,
   *  without a refresh. Absent on a Mac that has no LaunchDaemon yet. */
  supervisor?: pulumi.Input<SupervisorSeen>;
  /** Other launchd jobs that start the profile, and stale colima-pulse jobs when the run decided
   *  so (the program's survey, provider/lib/autostarts.ts): booted out and removed by this `up`. */
  otherJobs?: pulumi.Input<OtherJob[]>;
}

// ---- schema and types ---------------------------------------------------------------------

export function launchDaemonSchema(z: Zod) {
  const path = z.string().regex(/^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/, "must be an absolute path of safe characters");
  const setting = settingSchemas(z);
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    label: setting.LABEL,
    prefix: path,
    profile: setting.COLIMA_PROFILE,
    cpus: setting.COLIMA_CPUS,
    memory: setting.COLIMA_MEMORY,
    disk: setting.COLIMA_DISK,
    arch: z.enum(["aarch64", "x86_64"]),
    logPath: setting.LOG_PATH,
    throttleInterval: setting.RESTART_THROTTLE_SECONDS.default(10),
    exitTimeOut: z.number().int().min(5).max(3600).default(120),
    maxFailedStarts: setting.MAX_FAILED_STARTS.default(5),
    profileGeneration: z.string(),
    startupGrace: z.number().int().min(10).max(7200).default(300),
    // "" when PRUNE_DOCKER_AFTER_START is off, else PRUNE_MODE.
    pruneMode: z.union([z.literal(""), setting.PRUNE_MODE]).default(""),
    versions: z
      .record(z.string().regex(/^(colima|lima|qemu)$/, "must be colima, lima or qemu"), z.string().regex(/^[\w.+-]*$/, "must be a version"))
      .default({}),
    apiHangSeconds: setting.API_HANG_SECONDS.default(120),
    clockDriftMaxSeconds: setting.CLOCK_DRIFT_MAX_SECONDS.default(5),
    waitWorkloadsMax: setting.WAIT_WORKLOADS_MAX.default(300),
    supervisor: z
      .strictObject({
        running: z.boolean(),
        failedStarts: z.number().int().min(0),
        hungStops: z.number().int().min(0),
      })
      .optional(),
    otherJobs: z
      .array(
        z.strictObject({
          label: z.string().regex(SAFE_LABEL, "must be a launchd label"),
          domain: z.string().regex(/^(system|gui\/\d+)$/, "must be system or gui/<uid>"),
          plist: z.string().regex(SAFE_PATH, "must be an absolute path of safe characters"),
          why: z.string(),
          script: z.string().regex(SAFE_PATH, "must be an absolute path of safe characters").optional(),
          rule: z.string().regex(SAFE_PATH, "must be an absolute path of safe characters").optional(),
        }),
      )
      .default([]),
  });
}

export interface LaunchDaemonInputs extends Machine {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  label: string;
  logPath: string;
  throttleInterval: number;
  exitTimeOut: number;
  maxFailedStarts: number;
  profileGeneration: string;
  startupGrace: number;
  pruneMode: "" | "dangling" | "images" | "system";
  versions: Record<string, string>;
  apiHangSeconds: number;
  clockDriftMaxSeconds: number;
  waitWorkloadsMax: number;
  supervisor?: SupervisorSeen;
  /** Jobs this run boots out and removes (LaunchDaemonArgs.otherJobs); [] once they are gone. */
  otherJobs?: OtherJob[];
}

/** The docker prune each PRUNE_MODE means, after every start (the seed's PRUNE_*). */
export const PRUNE_ARGS: Record<string, string[]> = {
  dangling: ["image", "prune", "--force"],
  images: ["image", "prune", "--all", "--force"],
  system: ["system", "prune", "--force"],
};

export interface LaunchDaemonOutputs extends LaunchDaemonInputs {
  plistPath: string;
  scriptPath: string;
  /** sha256 of plist + script as on disk ("" when a file is missing). */
  filesHash: string;
  /** Whether `launchctl print system/<label>` found the job. */
  loaded: boolean;
  /** Conflicting Colima jobs found loaded (e.g. `brew services`' homebrew.mxcl.colima). */
  conflicts: string[];
  /** Whether the job's supervisor is running (false after it gave up on failed starts). */
  running: boolean;
  /** When this provider last (re)started the job (ISO; "" when it found the job running): the
   *  health gate proves each start. Absent only in state written by earlier versions. */
  started?: string;
}

// ---- pure functions -----------------------------------------------------------------------

export function daemonPaths(inputs: Pick<LaunchDaemonInputs, "host" | "label">) {
  return {
    plistPath: hostPath(inputs.host, `/Library/LaunchDaemons/${inputs.label}.plist`),
    scriptDir: hostPath(inputs.host, "/Library/Application Support/colima-pulse"),
    scriptPath: supervisorScript(inputs.host, inputs.label),
  };
}

/** provider/supervisor.sh, what the supervisor does (its comments say it, in order). */
export const SUPERVISOR_SH = readFileSync(join(__dirname, "supervisor.sh"), "utf8");

/** The supervisor's header: who it is for, the versions it runs (an upgrade rewrites that line, so
 *  the job reloads), and this Mac's settings as shell assignments, every value through shellQuote.
 *  provider/supervisor.sh lists what each one is. */
export function supervisorHeader(inputs: LaunchDaemonInputs): string {
  const q = shellQuote;
  const paths = colimaPaths(inputs.host, inputs.profile);
  const files = supervisorFiles(inputs.host, inputs.profile);
  const settings: [string, string | number][] = [
    ["COLIMA", `${inputs.prefix}/bin/colima`],
    ["PROFILE", inputs.profile],
    ["CPUS", inputs.cpus],
    ["MEMORY", inputs.memory],
    ["DISK", inputs.disk],
    ["ARCH", inputs.arch],
    ["LOG", inputs.logPath],
    ["SOCK", paths.dockerSocket],
    ["INSTANCE", paths.instanceDir],
    ["FAILURES", files.failures],
    ["HANGS", files.hangs],
    ["GROUPFILE", files.socketGroup],
    ["FIFO", files.output],
    ["PRUNING", files.pruning],
    ["ROUTE", hostPath(inputs.host, "/sbin/route")],
    ["CURL", hostPath(inputs.host, "/usr/bin/curl")],
    ["DOCKER", `${inputs.prefix}/bin/docker`],
    ["MAX_FAILED_STARTS", inputs.maxFailedStarts],
    ["API_HANG_SECONDS", inputs.apiHangSeconds],
    ["STARTUP_GRACE", inputs.startupGrace],
    ["CLOCK_DRIFT_MAX_SECONDS", inputs.clockDriftMaxSeconds],
    ["WORKLOADS", files.workloads],
    ["SYSCTL", hostPath(inputs.host, "/usr/sbin/sysctl")],
    ["WAIT_WORKLOADS_MAX", inputs.waitWorkloadsMax],
    ["PRUNE_MODE", inputs.pruneMode],
    ["PRUNE_ARGS", (PRUNE_ARGS[inputs.pruneMode] ?? []).join(" ")],
    ["PRUNE_MAX_SECONDS", PRUNE_MAX_SECONDS],
  ];
  const versions = Object.entries(inputs.versions ?? {})
    .map(([f, v]) => `${f} ${v}`)
    .join(", ");
  return `#!/bin/sh
# colima-pulse supervisor for Colima profile ${inputs.profile}, run by launchd job ${inputs.label}
# as ${inputs.host.user}. Generated by colima-pulse: edits are undone by the next \`pulumi up\`.
# Under ${versions || "the installed versions"}: an upgrade rewrites this line, and the job reloads.
# This Mac's settings; then colima-pulse's provider/sweep.sh and provider/supervisor.sh, as they are.
${settings.map(([name, value]) => `${name}=${q(String(value))}\n`).join("")}${sweepSettings(inputs.host, inputs.profile)}`;
}

/** The supervisor launchd runs (`/bin/sh <script>`): its header of settings, then the stale-state
 *  sweep (provider/sweep.sh) and provider/supervisor.sh, both unchanged. The same inputs give the
 *  same bytes on every run: the job reloads only when the text changes. */
export function renderSupervisor(inputs: LaunchDaemonInputs): string {
  return `${supervisorHeader(inputs)}${SWEEP_SH}${SUPERVISOR_SH}`;
}

/** The job's plist (launchd.plist(5)), rendered by the `plist` package: the same inputs give the
 *  same bytes every time. (plist 3.x: 4.x and later are ESM-only, and the program and the
 *  providers are CommonJS loaded through tsx's require hook: docs/ARCHITECTURE.md §4.) */
export function renderPlist(inputs: LaunchDaemonInputs): string {
  const { scriptPath } = daemonPaths(inputs);
  const home = hostPath(inputs.host, `/Users/${inputs.host.user}`);
  const job = {
    Label: inputs.label,
    ProgramArguments: [hostPath(inputs.host, "/bin/sh"), scriptPath],
    UserName: inputs.host.user,
    GroupName: "staff", // STAFF_GID
    EnvironmentVariables: {
      HOME: home,
      USER: inputs.host.user,
      LOGNAME: inputs.host.user,
      PATH: [`${inputs.prefix}/bin`, ...["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => hostPath(inputs.host, d))].join(":"),
    },
    RunAtLoad: true,
    // Restart only after a failure; a clean stop stays stopped. Never bare `true` (colima#1490).
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: inputs.throttleInterval,
    ExitTimeOut: inputs.exitTimeOut,
    StandardOutPath: inputs.logPath,
    StandardErrorPath: inputs.logPath,
  };
  return `${buildPlist(job, { indent: "\t" })}\n`;
}

/**
 * The reload decision's hash: the plist's content (parsed, so whitespace and the renderer's
 * layout never count: a plist written by an older colima-pulse, or reformatted by `plutil`, is not
 * a change) and the supervisor's bytes. "" when either file is missing.
 */
export function filesHash(plist: string, script: string): string {
  if (!plist || !script) return "";
  let content: string;
  try {
    content = JSON.stringify(parsePlist(plist));
  } catch {
    content = plist; // unreadable: compared as text, so it differs and is rewritten
  }
  return createHash("sha256").update(content).update("\0").update(script).digest("hex");
}

/** What a change of each rendered input does: every one rewrites the job, and launchd reloads it. */
const DAEMON_EFFECTS: Record<string, string> = {
  throttleInterval: "launchd's ThrottleInterval: the job reloads, the VM restarts",
  exitTimeOut: "launchd's ExitTimeOut: the job reloads, the VM restarts",
  logPath: "the job's log: the job reloads, the VM restarts",
  maxFailedStarts: "the supervisor's retry bound: the job reloads, the VM restarts",
  startupGrace: "how long a start may take: the job reloads, the VM restarts",
  versions: "the VM restarts under the installed versions",
  apiHangSeconds: "how long the Docker API may be silent: the job reloads, the VM restarts",
  clockDriftMaxSeconds: "how far the guest's clock may be off the Mac's: the job reloads, the VM restarts",
  waitWorkloadsMax: "how long the supervisor waits for the restart-policy containers after a start: the job reloads, the VM restarts",
};
/** What a change of the prune after each start does: it is in the supervisor script, so the job
 *  reloads and the VM restarts, and that very start is the first one pruned the new way. A secret
 *  mode is not named. */
export function pruneEffect(mode: string, secret = false): string {
  const reload = "the supervisor script changes: the job reloads and the VM restarts";
  if (secret) return `${reload}; from that start on, the prune after each start is what the settings now say`;
  return mode
    ? `${reload}; once Docker answers after that start, and after every start, it runs docker ${(PRUNE_ARGS[mode] ?? []).join(" ")}`
    : `${reload}; nothing is pruned after a start any more`;
}
const RENDERED = [
  "prefix",
  "profile",
  "cpus",
  "memory",
  "disk",
  "arch",
  "logPath",
  "throttleInterval",
  "exitTimeOut",
  "maxFailedStarts",
  "startupGrace",
  "pruneMode",
  "versions",
  "apiHangSeconds",
  "clockDriftMaxSeconds",
  "waitWorkloadsMax",
] as const;

export function diffLaunchDaemon(olds: LaunchDaemonOutputs, news: LaunchDaemonInputs): DetailedDiff {
  const changes = inputChanges(
    olds,
    news,
    ["label", "host"],
    () => "launchd knows a job by its label: the old one is booted out",
    "update-replace",
  );
  const rendered = inputChanges(olds, news, RENDERED, (k) =>
    k === "pruneMode"
      ? pruneEffect(news.pruneMode, news.secrets?.includes("pruneMode"))
      : (DAEMON_EFFECTS[k] ?? "the job reloads with it, the VM restarts"),
  );
  changes.push(...rendered);
  if (olds.profileGeneration !== news.profileGeneration)
    changes.push({
      property: "profileGeneration",
      kind: "update",
      hidden: true,
      why: news.profileGeneration === UNKNOWN ? NOT_YET_KNOWN : `the profile was ${profileChange(news.profileGeneration)}: the job reloads`,
    });
  const wanted = filesHash(renderPlist(news), renderSupervisor(news));
  if (olds.filesHash !== wanted && rendered.length === 0 && changes.length === 0) {
    changes.push({
      property: "filesHash",
      kind: "update",
      hidden: true,
      why: olds.filesHash
        ? "the plist or supervisor on the Mac differs from the declared one: rewritten, reloaded"
        : "the plist or supervisor is missing",
      inputDiff: false,
    });
  }
  if (!olds.loaded)
    changes.push({
      property: "loaded",
      kind: "update",
      old: false,
      new: true,
      why: `system/${news.label} is not loaded`,
      inputDiff: false,
    });
  if (news.otherJobs?.length)
    changes.push({
      property: "otherJobs",
      kind: "delete",
      old: news.otherJobs.map((j) => `${j.domain}/${j.label}`),
      why: `booted out and removed: ${news.otherJobs.map((j) => `${j.label} (${j.why})`).join("; ")}`,
      inputDiff: false,
    });
  if (olds.conflicts?.length)
    changes.push({ property: "conflicts", kind: "delete", old: olds.conflicts, why: "conflicting jobs are booted out", inputDiff: false });
  // State written before `started` existed: stored once (nothing restarts); a preview cannot read
  // an output that state lacks, and the gate's trigger is made from it.
  if (olds.started === undefined && changes.length === 0)
    changes.push({
      property: "started",
      kind: "update",
      hidden: true,
      why: "recorded by an earlier colima-pulse: stored now",
      inputDiff: false,
    });
  // The survey's live look (news.supervisor) is what a plain `pulumi up` knows; state's `running`
  // is what the last refresh saw. Either one not running: this run starts it again.
  const seen = news.supervisor;
  if (olds.loaded && (seen?.running === false || (!seen && olds.running === false)))
    changes.push({
      property: "running",
      kind: "update",
      old: false,
      new: true,
      why: `system/${news.label}'s supervisor is not running (${seen ? notRunningBecause(seen, news.maxFailedStarts) : "as the refresh saw it"}): started again with fresh counts`,
      inputDiff: false,
    });
  return diffOf(changes, true, news.secrets);
}

// ---- executor -----------------------------------------------------------------------------

/** The log, before the job that writes it is (re)loaded. The supervisor appends to it by its path
 *  as the Homebrew user (renderSupervisor), and newsyslog makes each new one that user's the same
 *  way (LogRotation), so the log is that user's, 0640, in a folder only root can change. Nothing
 *  is done unless LOG_PATH passes provider/lib/logPath.ts's check (no link but root's on the way,
 *  no folder anyone else can write, the log itself no link and a regular file); then root's
 *  commands get the checked path, which no one else can change any more. Missing folders are
 *  made root 0755; no existing folder is re-owned. A new log is installed empty, the Homebrew
 *  user's; an existing one keeps its lines and must be that user's already (one colima-pulse
 *  made): root never gives away a file someone else has, a system log or a hard link to one.
 *  Root runs only ROOT_COMMANDS (provider/lib/mac.ts). */
async function checkLog(
  mac: Mac,
  inputs: LaunchDaemonInputs,
  uid: string,
  olds?: Pick<LaunchDaemonOutputs, "logPath">,
): Promise<CheckedLogPath> {
  try {
    const checked = await checkLogPath(mac, inputs.logPath);
    // Root's file at the path this very job logged to is the job's own: launchd opens
    // StandardOutPath itself (launchd.plist(5)), so a job an earlier colima-pulse loaded before it
    // made the log wrote a root one. In a folder only root can change (checked above), only root
    // put it there, and one link means no other name of another file.
    const jobsOwn = olds?.logPath === inputs.logPath && checked.log?.uid === 0 && checked.log.links === 1;
    if (checked.log && String(checked.log.uid) !== uid && !jobsOwn)
      throw new LogPathError(
        `LOG_PATH ${inputs.logPath}: ${checked.resolved} is there already and is uid ${checked.log.uid}'s, not ${inputs.host.user}'s (uid ${uid}): ` +
          "colima-pulse gives the Homebrew user only a log it made, never a file someone else has (a system log, another user's, " +
          `or another name of one). Nothing was changed. Remove it (sudo rm ${checked.resolved}) for colima-pulse to make it anew, or choose another LOG_PATH`,
      );
    return checked;
  } catch (e) {
    throw e instanceof LogPathError ? new LogPathError(redact(inputs, e.message)) : e;
  }
}

async function makeLog(mac: Mac, inputs: LaunchDaemonInputs, uid: string, checked: CheckedLogPath): Promise<void> {
  const install = hostPath(inputs.host, "/usr/bin/install");
  for (const dir of checked.missing) await mac.asRoot([install, "-d", "-m", "0755", "-o", "0", "-g", "0", dir]);
  const log = checked.log;
  if (!log) {
    await mac.asRoot([install, "-m", "0640", "-o", uid, "-g", String(STAFF_GID), "/dev/null", checked.resolved]);
    return;
  }
  // The user's own file: only its group and mode are set again (it has nothing else to give).
  if (log.gid === STAFF_GID && log.perms === "rw-r-----") return;
  await mac.asRoot([hostPath(inputs.host, "/usr/sbin/chown"), `${uid}:${STAFF_GID}`, checked.resolved]);
  await mac.asRoot([hostPath(inputs.host, "/bin/chmod"), "0640", checked.resolved]);
}

/** checkLog, then makeLog: what the LaunchDaemon does with LOG_PATH before it (re)loads the job. */
export async function prepareLog(mac: Mac, inputs: LaunchDaemonInputs, uid: string): Promise<void> {
  await makeLog(mac, inputs, uid, await checkLog(mac, inputs, uid));
}

/** The supervisor as a (re)start leaves it: running, its counts removed. Stored so that the next
 *  run's look at a healthy supervisor matches state. */
const FRESH: SupervisorSeen = { running: true, failedStarts: 0, hungStops: 0 };

export async function convergeLaunchDaemon(mac: Mac, inputs: LaunchDaemonInputs, olds?: LaunchDaemonOutputs): Promise<LaunchDaemonOutputs> {
  const { plistPath, scriptPath, scriptDir } = daemonPaths(inputs);
  const plist = renderPlist(inputs);
  const script = renderSupervisor(inputs);
  const uid = (await mac.run([hostPath(inputs.host, "/usr/bin/id"), "-u", inputs.host.user])).stdout.trim();
  const onDisk = filesHash((await mac.readFile(plistPath)) ?? "", (await mac.readFile(scriptPath)) ?? "");
  const wanted = filesHash(plist, script);
  // A LOG_PATH that cannot be used is refused before anything on the Mac changes.
  const log = onDisk !== wanted ? await checkLog(mac, inputs, uid, olds) : undefined;
  await removeConflictingJobs(mac, uid, (m) => say(inputs, m));
  // Before this job (re)loads: Lima's autostart jobs and the like start the same VM.
  await removeOtherJobs(mac, inputs.otherJobs ?? [], uid, (m) => say(inputs, m));
  const target = `system/${inputs.label}`;
  const state = onDisk === wanted ? await jobState(mac, target) : { loaded: false, running: false };
  // Every start this provider makes is a fresh one: a supervisor that gave up would give up again.
  const files = supervisorFiles(inputs.host, inputs.profile);
  // A start that prunes says so before it is made: the health gate waits for that prune to end
  // (renderSupervisor), also when it asks before the new supervisor has run its first line.
  const freshCounts = async () => {
    // The last start's times go too: the gate reads this start's (provider/lib/workloads.ts).
    await mac.asUser([hostPath(inputs.host, "/bin/rm"), "-f", files.failures, files.hangs, files.workloads, files.pruning]);
    if (inputs.pruneMode) await mac.writeFile(files.pruning, "pending: the prune after this start\n", { owner: "user", mode: "0600" });
  };
  if (log) {
    await makeLog(mac, inputs, uid, log);
    await mac.asRoot([hostPath(inputs.host, "/usr/bin/install"), "-d", "-m", "0755", "-o", "0", "-g", "0", scriptDir]);
    await mac.writeFile(scriptPath, script, { owner: "root", mode: "0755" });
    await mac.writeFile(plistPath, plist, { owner: "root", mode: "0644" });
    if (await launchdBootout(mac, target)) say(inputs, `${target} changed: reloading it`);
  } else if (state.loaded) {
    let started = olds?.started ?? "";
    if (!state.running) {
      // The supervisor gave up (or was stopped): fresh counts, and a new start.
      await freshCounts();
      await mac.asRoot([hostPath(inputs.host, "/bin/launchctl"), "kickstart", "-k", target]);
      say(inputs, `${target} was not running: restarted it`);
      started = new Date().toISOString();
    }
    const supervisor = started === (olds?.started ?? "") ? inputs.supervisor : FRESH;
    // No undefined values: the provider protocol cannot carry them ("Unexpected struct type").
    return {
      ...inputs,
      ...(supervisor ? { supervisor } : {}),
      plistPath,
      scriptPath,
      filesHash: wanted,
      loaded: true,
      conflicts: [],
      otherJobs: [],
      running: true,
      // Always there: an output missing from state reads as unknown in a preview.
      started,
    };
  }
  await withLock("launchctl", async () => {
    if (await isLoaded(mac, target)) return;
    await freshCounts();
    const launchctl = hostPath(inputs.host, "/bin/launchctl");
    await mac.asRoot([launchctl, "enable", target]);
    const r = await mac.asRoot([launchctl, "bootstrap", "system", plistPath], { allowFailure: true, timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const why = await explainBootstrapFailure(mac, inputs.label, plistPath);
      throw new Error(`launchctl bootstrap system ${plistPath} failed (exit ${r.exitCode}: ${r.stderr.trim()}): ${why}`);
    }
  });
  say(inputs, `${target} loaded: supervising profile ${inputs.profile} as ${inputs.host.user}`);
  const started = new Date().toISOString();
  return {
    ...inputs,
    supervisor: FRESH,
    plistPath,
    scriptPath,
    filesHash: wanted,
    loaded: true,
    conflicts: [],
    otherJobs: [],
    running: true,
    started,
  };
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const launchDaemonProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffLaunchDaemon, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, launchDaemonSchema);
  },
  async diff(_id: string, olds: LaunchDaemonOutputs, news: LaunchDaemonInputs) {
    const { reasons, ...result } = diffLaunchDaemon(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: LaunchDaemonInputs) {
    return { id: `system/${inputs.label}`, outs: await convergeLaunchDaemon(macOf(inputs.host), inputs) };
  },
  async update(_id: string, olds: LaunchDaemonOutputs, news: LaunchDaemonInputs) {
    return { outs: await convergeLaunchDaemon(macOf(news.host), news, olds) };
  },
  async read(id: string, stored: LaunchDaemonOutputs) {
    const mac = macOf(stored.host);
    const { plistPath, scriptPath } = daemonPaths(stored);
    const hash = filesHash((await mac.readFile(plistPath)) ?? "", (await mac.readFile(scriptPath)) ?? "");
    const uid = (await mac.run([hostPath(stored.host, "/usr/bin/id"), "-u", stored.host.user], { allowFailure: true })).stdout.trim();
    const conflicts: string[] = [];
    for (const label of CONFLICTING_LABELS) {
      for (const domain of conflictDomains(uid)) if (await isLoaded(mac, `${domain}/${label}`)) conflicts.push(`${domain}/${label}`);
    }
    const target = `system/${stored.label}`;
    return {
      id,
      props: {
        ...stored,
        filesHash: hash,
        ...(await jobState(mac, target)),
        conflicts,
        started: stored.started ?? "", // absent in the state of versions before it
      },
    };
  },
  async delete(_id: string, stored: LaunchDaemonOutputs) {
    const mac = macOf(stored.host);
    const { plistPath, scriptPath } = daemonPaths(stored);
    if (await launchdBootout(mac, `system/${stored.label}`)) say(stored, `booted out system/${stored.label}; Colima stopped`);
    await mac.asRoot([hostPath(stored.host, "/bin/rm"), "-f", plistPath, scriptPath]);
    if (await mac.exists(plistPath)) throw new Error(`${plistPath} is still there after rm`);
  },
});

// ---- resource -----------------------------------------------------------------------------

export class LaunchDaemon extends ResourceByReference {
  declare readonly plistPath: pulumi.Output<string>;
  declare readonly scriptPath: pulumi.Output<string>;
  declare readonly filesHash: pulumi.Output<string>;
  declare readonly loaded: pulumi.Output<boolean>;
  declare readonly started: pulumi.Output<string>;

  constructor(name: string, args: LaunchDaemonArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      plistPath: undefined,
      scriptPath: undefined,
      filesHash: undefined,
      loaded: undefined,
      conflicts: undefined,
      running: undefined,
      started: undefined,
    };
    super("launchDaemon", launchDaemonProvider, "LaunchDaemon", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
