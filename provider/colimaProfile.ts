// ColimaProfile: one Colima profile with runtime docker and vm type qemu (never vz). Create
// removes what would fight it (brew services' job, stray and orphaned processes, stale pid and
// lock files whose PID is dead or now belongs to something else), provisions the VM once,
// verifies the driver, and stops it again so the LaunchDaemon's supervised colima is the one that
// starts it (docs/ARCHITECTURE.md §2: `colima start` on a running profile supervises nothing).
// A profile already on the Mac is adopted in place when it is QEMU with the Docker runtime (no
// provisioning start, nothing moved), and refused otherwise. Only a full reset decided on the
// command line for this run (`npm run reset`, the `reset` input) removes state, and then only
// after moving it to the backup folder (or when `--backup=false` was asked for). Delete stops the
// VM and keeps its state.
import type * as pulumi from "@pulumi/pulumi";
import { notAdoptable, RESET_COMMAND, type ResetDecision, type RestoreDecision, resetMoves, sameArch, topLevelYaml } from "./lib/adoption";
import { backupsText, listBackups } from "./lib/backups";
import { linkedVersions } from "./lib/brew";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, redact, say, shown, type Zod } from "./lib/checkInputs";
import { colimaTooOld } from "./lib/colimaVersion";
import { generationOf } from "./lib/generation";
import {
  colimaCommand,
  colimaPaths,
  colimaProfile,
  hostPath,
  isHostAgentOf,
  isVmOf,
  type Machine,
  type MachineArgs,
  type ProcessInfo,
} from "./lib/host";
import { bootout, removeConflictingJobs } from "./lib/launchd";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { settingSchemas } from "./lib/settingsSchema";
import { sweepStaleState } from "./lib/staleState";

// ---- Args ---------------------------------------------------------------------------------

export interface ColimaProfileArgs extends MachineArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  /** The LaunchDaemon that will supervise the profile (booted out before provisioning). */
  label: pulumi.Input<string>;
  /** Where a full reset moves the old state (BACKUP_DIR_BASE). */
  backupDirBase: pulumi.Input<string>;
  /** This Mac's memory in GiB (from HomebrewPackages): the VM may not ask for more. */
  hostMemoryGiB: pulumi.Input<number>;
  /** A full reset decided for this run on the command line (stacks/commandLineDecisions.ts); never from settings. */
  reset?: pulumi.Input<ResetDecision>;
  /** A restore of a backup decided for this run on the command line (`npm run restore`). */
  restore?: pulumi.Input<RestoreDecision>;
  /** BACKUP_KEEP: after a reset or restore, the newest N backups of this profile stay (absent: all). */
  backupKeep?: pulumi.Input<number>;
}

// ---- schema and types ---------------------------------------------------------------------

export function colimaProfileSchema(z: Zod) {
  const setting = settingSchemas(z);
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    prefix: z.string().startsWith("/"),
    profile: setting.COLIMA_PROFILE,
    cpus: setting.COLIMA_CPUS,
    memory: setting.COLIMA_MEMORY,
    disk: setting.COLIMA_DISK,
    arch: z.enum(["aarch64", "x86_64"]),
    label: setting.LABEL,
    backupDirBase: setting.BACKUP_DIR_BASE,
    // Absent in state written before this input existed: then there is nothing to compare.
    hostMemoryGiB: z.number().int().min(1).optional(),
    reset: z
      .strictObject({
        id: z.string().regex(/^\d{8}T\d{6}Z$/, "must be the decision's time, YYYYMMDDTHHMMSSZ"),
        backup: z.enum(["move", "false"]),
        folder: z.string().regex(/^(\/(?:[A-Za-z0-9._@+ -]+\/?)*)?$/, "must be an absolute path of safe characters, or empty"),
      })
      .refine((r) => (r.backup === "move") === (r.folder !== ""), "a move needs a backup folder, and only a move has one")
      .optional(),
    restore: z
      .strictObject({
        id: z.string().regex(/^\d{8}T\d{6}Z$/, "must be the decision's time, YYYYMMDDTHHMMSSZ"),
        from: setting.BACKUP_DIR_BASE,
        aside: setting.BACKUP_DIR_BASE,
      })
      .optional(),
    backupKeep: setting.BACKUP_KEEP.optional(),
  });
}

export interface ColimaProfileInputs extends Machine {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  label: string;
  backupDirBase: string;
  hostMemoryGiB?: number;
  reset?: ResetDecision;
  restore?: RestoreDecision;
  backupKeep?: number;
}

export interface ColimaProfileOutputs extends ColimaProfileInputs {
  instanceId: string;
  dockerSocket: string;
  /** "QEMU" once verified; "" when refresh finds the profile gone. */
  driver: string;
  colimaVersion: string;
  /** When this profile was last provisioned, restored or adopted, and which (provider/lib/generation.ts):
   *  the LaunchDaemon reloads, the gates and the smoke test run again when it changes. */
  generation: string;
}

const RESIZE_KEYS = ["cpus", "memory", "disk", "prefix", "label", "backupDirBase", "backupKeep"] as const;

// ---- pure functions -----------------------------------------------------------------------

/** What each of the profile's inputs means for the Mac when it changes. */
const PROFILE_EFFECTS: Record<string, string> = {
  profile: "another profile: the old one stops and keeps its state",
  arch: "Colima fixes the arch at creation: another profile",
  host: "another Mac or Homebrew user",
  cpus: "the VM restarts under its LaunchDaemon with the new size",
  memory: "the VM restarts under its LaunchDaemon with the new size",
  disk: "the disk grows when the LaunchDaemon restarts the VM",
  prefix: "Homebrew's prefix: the LaunchDaemon restarts Colima from there",
  label: "the LaunchDaemon that supervises it",
  backupDirBase: "where a full reset would move the state; nothing moves now",
  backupKeep: "how many backups a reset or restore keeps; nothing is removed now",
};

/** Whether a command-line decision is new (each is carried out once, by its id). */
const newDecision = (old: { id: string } | undefined, now: { id: string } | undefined) => now !== undefined && now.id !== old?.id;

/** Settings a running profile cannot take: replacing means another profile (old state kept),
 *  and a full reset asked for on the command line (once per decision). */
export function diffColimaProfile(olds: ColimaProfileOutputs, news: ColimaProfileInputs): DetailedDiff {
  const why = (k: string) => PROFILE_EFFECTS[k];
  const changes = inputChanges(olds, news, ["profile", "arch", "host"], why, "update-replace");
  // A reset is asked for once per decision: the same decision stored in state is done.
  if (news.reset && news.reset.id !== olds.reset?.id) {
    changes.push({
      property: "reset",
      kind: olds.reset ? "update-replace" : "add-replace",
      new: news.reset.backup === "move" ? `move the state into ${news.reset.folder}` : "DELETE the state without a backup",
      why: "a full reset asked for on the command line: then a new profile",
    });
  }
  if (news.restore && newDecision(olds.restore, news.restore)) {
    changes.push({
      property: "restore",
      kind: "update",
      new: `${news.restore.from} back as the profile; its current state first into ${news.restore.aside}`,
      why: "a restore asked for on the command line: the LaunchDaemon then starts the restored VM",
    });
  }
  if (news.backupKeep && (newDecision(olds.reset, news.reset) || newDecision(olds.restore, news.restore)))
    changes.push({
      property: "backupKeep",
      kind: "update",
      new: news.backupKeep,
      why: `then only the newest ${news.backupKeep} backups of profile ${news.profile} stay in ${news.backupDirBase}: older ones are deleted (BACKUP_KEEP)`,
    });
  changes.push(...inputChanges(olds, news, RESIZE_KEYS, why).filter((c) => !changes.some((d) => d.property === c.property)));
  if (olds.driver !== "QEMU") {
    changes.push({
      property: "driver",
      kind: "update",
      old: olds.driver || "(profile gone)",
      new: "QEMU",
      why: olds.driver ? "the profile is not QEMU any more" : "the profile is gone: provisioned again",
      inputDiff: false,
    });
  }
  return diffOf(changes, true, news.secrets);
}

/** Processes of this profile that are not the supervised job's: colima commands naming the
 *  profile, its host agent, its qemu. `ps` matches by command line, as on a Mac. The host agent
 *  and qemu are known by the instance folder in their arguments (isHostAgentOf, isVmOf), which is
 *  this user's and this profile's alone: another user's profile of the same name, or another Mac
 *  in the simulator's tests, is never touched. A colima command has no such path, so it is matched
 *  by this Homebrew's colima and the profile, and signalled as the Homebrew user, who cannot
 *  signal another user's. */
export function profileProcesses(
  procs: ProcessInfo[],
  paths: ReturnType<typeof colimaPaths>,
  profile: string,
  prefix: string,
): ProcessInfo[] {
  const inst = paths.instanceDir;
  const id = colimaProfile(profile).id;
  // The profile a colima command names, as Colima reads it: `work` and `colima-work` are one.
  const named = (command: string) => /\/colima (?:start|stop|restart)\b.*\s(?:--profile|-p)[ =](\S+)(?:\s|$)/.exec(command)?.[1];
  return procs.filter((p) => {
    if (isHostAgentOf(p.command, inst) || isVmOf(p.command, inst)) return true;
    const name = p.command.includes(`${prefix}/bin/colima `) ? named(p.command) : undefined;
    return name !== undefined && colimaProfile(name).id === id;
  });
}

// ---- executor -----------------------------------------------------------------------------

function colima(inputs: Pick<ColimaProfileInputs, "host" | "prefix">, ...args: string[]): string[] {
  return colimaCommand(inputs.host, inputs.prefix, ...args);
}

/** What the profile's first start fixed (Colima's state file in the Lima instance, or `file`),
 *  or undefined when it was never started. */
async function recordedConfig(
  mac: Mac,
  inputs: Pick<ColimaProfileInputs, "host" | "profile">,
  file = `${colimaPaths(inputs.host, inputs.profile).instanceDir}/colima.yaml`,
): Promise<{ vmType: string; runtime: string; arch: string; disk?: number } | undefined> {
  const r = await mac.asUser([hostPath(inputs.host, "/bin/cat"), file], { allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  const y = topLevelYaml(r.stdout);
  if (!y.vmType) return undefined;
  return { vmType: y.vmType, runtime: y.runtime ?? "", arch: y.arch ?? "", disk: y.disk ? Number(y.disk) : undefined };
}

/** Why a profile recorded as `fixed` cannot run as these inputs declare, or undefined. */
function cannotRun(inputs: ColimaProfileInputs, fixed: NonNullable<Awaited<ReturnType<typeof recordedConfig>>>): string | undefined {
  const why =
    notAdoptable({ name: inputs.profile, ...fixed }) ??
    (!sameArch(fixed.arch, inputs.arch)
      ? `profile ${inputs.profile} was created for arch ${fixed.arch}; Colima fixes the arch at creation, and this Mac runs ${inputs.arch}`
      : undefined);
  if (why) return why;
  if (fixed.disk && inputs.disk < fixed.disk)
    return `COLIMA_DISK ${inputs.disk} is smaller than profile ${inputs.profile}'s disk (${fixed.disk} GiB), and Lima cannot shrink a disk: set COLIMA_DISK to ${fixed.disk} or more`;
  return undefined;
}

/** TERM, then KILL after `graceMs`, of processes whose command line we just matched. */
async function terminate(mac: Mac, inputs: ColimaProfileInputs, procs: ProcessInfo[], graceMs = 10_000): Promise<void> {
  if (procs.length === 0) return;
  say(inputs, `stopping stray processes of profile ${inputs.profile}: ${procs.map((p) => p.pid).join(", ")}`);
  const kill = hostPath(inputs.host, "/bin/kill");
  await mac.asUser([kill, "-TERM", ...procs.map((p) => String(p.pid))], { allowFailure: true });
  const deadline = Date.now() + graceMs;
  let left = procs;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    // ps gets the grace left, not its own 15 s; if it cannot answer in time, KILL all that were left.
    const live = await mac.listProcesses(Math.max(1, deadline - Date.now())).catch(() => left);
    left = left.filter((p) => live.some((l) => l.pid === p.pid));
  }
  if (left.length > 0) await mac.asUser([kill, "-KILL", ...left.map((p) => String(p.pid))], { allowFailure: true });
}

/** Stops before anything changes when the installed Colima lacks a flag this step will pass
 *  (provider/lib/colimaVersion.ts): `--cpus` to provision, `delete --data` for a full reset. */
async function refuseOldColima(mac: Mac, inputs: Pick<ColimaProfileInputs, "host" | "prefix">, reset: boolean): Promise<void> {
  const { colima: version } = await linkedVersions(mac, inputs.prefix, ["colima"]);
  const why = colimaTooOld(version, { reset, user: inputs.host.user });
  if (why) throw new Error(`${why} Nothing was changed.`);
}

async function provision(mac: Mac, inputs: ColimaProfileInputs, restore?: RestoreDecision): Promise<ColimaProfileOutputs> {
  await refuseOldColima(mac, inputs, Boolean(inputs.reset));
  const paths = colimaPaths(inputs.host, inputs.profile);
  let fixed = await recordedConfig(mac, inputs);
  if (restore) {
    // Checked before anything stops or moves: a backup that cannot run here changes nothing.
    const saved = await recordedConfig(mac, inputs, `${restore.from}/instance/colima.yaml`);
    const why = saved
      ? cannotRun(inputs, saved)
      : (await mac.exists(restore.from))
        ? `${restore.from} holds no Colima instance (instance/colima.yaml): not a backup colima-pulse made`
        : `${restore.from} does not exist on ${mac.name}`;
    if (why)
      throw new Error(
        redact(inputs, `restore refused, nothing was changed: ${why}.\n${await backupsText(mac, inputs.backupDirBase, inputs.profile)}`),
      );
  } else if (fixed && !inputs.reset) {
    // The program refused this in the preview already; the Mac may have changed since.
    const why = cannotRun(inputs, fixed);
    if (why) throw new Error(`${why}. Convert it with a backup: \`${RESET_COMMAND}\` (it shows what moves where before it asks).`);
  }
  // launchd hygiene: nothing else may start or restart this profile while we take it over.
  const uid = (await mac.run([hostPath(inputs.host, "/usr/bin/id"), "-u", inputs.host.user])).stdout.trim();
  await removeConflictingJobs(mac, uid, (m) => say(inputs, m));
  // process hygiene: our own earlier supervisor (a re-create) first, then a VM started by hand
  // (stopped once, cleanly), then strays and orphans identified by their command lines.
  if (await bootout(mac, `system/${inputs.label}`)) say(inputs, `booted out system/${inputs.label}`);
  await stopIfRunning(mac, inputs);
  await terminate(mac, inputs, profileProcesses(await mac.listProcesses(), paths, inputs.profile, inputs.prefix));
  for (const line of await sweepStaleState(mac, inputs.host, inputs.profile)) say(inputs, line);
  // What this provisioning is, for those it reloads and proves again (provider/lib/generation.ts).
  let what: string | undefined;
  if (restore) {
    await swapInBackup(mac, inputs, restore);
    fixed = await recordedConfig(mac, inputs);
    await pruneBackups(mac, inputs);
    what = `restored from ${redact(inputs, restore.from)}`;
  } else if (inputs.reset && (fixed || (await anyOf(mac, inputs, Object.values(folders(paths)))))) {
    await fullReset(mac, inputs, inputs.reset);
    fixed = undefined;
    await pruneBackups(mac, inputs);
    what = `provisioned anew by a full reset (${inputs.reset.backup === "move" ? `its state before is in ${redact(inputs, inputs.reset.folder)}` : "its state before was deleted, --backup=false"})`;
  }

  if (fixed) {
    // Adopted in place: its disk, images and volumes stay; the LaunchDaemon starts it with the
    // declared CPUs, memory and (grown) disk.
    say(inputs, `adopted profile ${inputs.profile} in place (QEMU, docker): no provisioning start; the LaunchDaemon starts it`);
  } else {
    say(
      inputs,
      `provisioning profile ${inputs.profile} (qemu, docker, ${shown(inputs, "cpus")} CPUs, ${shown(inputs, "memory")} GiB, ${shown(inputs, "disk")} GiB disk)`,
    );
    const start = colima(inputs, "start", "--profile", inputs.profile, "--runtime", "docker", "--vm-type", "qemu");
    start.push("--cpus", String(inputs.cpus), "--memory", String(inputs.memory), "--disk", String(inputs.disk), "--arch", inputs.arch);
    await mac.asUser(start, { timeoutMs: 20 * 60_000 });
    const status = JSON.parse((await mac.asUser(colima(inputs, "status", "--profile", inputs.profile, "--json"))).stdout) as {
      driver?: string;
      runtime?: string;
    };
    if (status.driver !== "QEMU" || status.runtime !== "docker") {
      throw new Error(
        `profile ${inputs.profile} came up with driver ${status.driver} and runtime ${status.runtime}; colima-pulse needs QEMU and docker`,
      );
    }
    // Hand over: the supervised `colima start --foreground` must be the one that starts the VM.
    await mac.asUser(colima(inputs, "stop", "--profile", inputs.profile), { timeoutMs: 300_000 });
    say(inputs, `profile ${inputs.profile} verified on QEMU and handed over to launchd`);
  }
  const version = (await mac.asUser(colima(inputs, "version"))).stdout.match(/colima version (\S+)/)?.[1] ?? "";
  return {
    ...inputs,
    instanceId: paths.id,
    dockerSocket: paths.dockerSocket,
    driver: "QEMU",
    colimaVersion: version,
    generation: generationOf(what ?? (fixed ? "adopted in place" : "provisioned")),
  };
}

/** The profile's three folders (what a full reset moves, README "Safety model"). */
function folders(paths: ReturnType<typeof colimaPaths>) {
  return { config: paths.configDir, instance: paths.instanceDir, disk: paths.diskDir };
}

async function anyOf(mac: Mac, inputs: ColimaProfileInputs, paths: string[]): Promise<boolean> {
  const r = await mac.asUser([hostPath(inputs.host, "/bin/ls"), "-d", ...paths], { allowFailure: true });
  return r.stdout.trim() !== "";
}

/** Stops the profile's VM with `colima stop` when its host agent is alive (started by hand, by
 *  an earlier run…): one clean stop, so the next start is the supervised one. */
async function stopIfRunning(mac: Mac, inputs: Pick<ColimaProfileInputs, "host" | "profile" | "prefix" | "resourceName">): Promise<void> {
  const paths = colimaPaths(inputs.host, inputs.profile);
  const procs = await mac.listProcesses();
  if (!procs.some((p) => isHostAgentOf(p.command, paths.instanceDir))) return;
  say(inputs, `stopping profile ${inputs.profile}'s running VM (colima stop)`);
  await mac.asUser(colima(inputs, "stop", "--profile", inputs.profile), { timeoutMs: 300_000 });
}

/** The full reset this run decided on: the state moved into the backup folder (all or none) or,
 *  when asked for, deleted without one; then `colima delete` removes what Colima keeps elsewhere. */
async function fullReset(mac: Mac, inputs: ColimaProfileInputs, reset: ResetDecision): Promise<void> {
  const paths = colimaPaths(inputs.host, inputs.profile);
  if (reset.backup === "move") {
    await moveToBackup(mac, inputs, reset.folder, resetMoves({ folders: folders(paths) }, reset.folder));
  } else {
    say(inputs, "full reset with --backup=false: deleting the profile's state without a backup, as asked");
  }
  await mac.asUser(colima(inputs, "delete", "--force", "--data", "--profile", inputs.profile), { timeoutMs: 300_000 });
}

/** Moves the profile's folders into the backup folder, all or none (moveAllOrNone). */
async function moveToBackup(mac: Mac, inputs: ColimaProfileInputs, dest: string, moves: [string, string][]): Promise<void> {
  say(inputs, `full reset: moving ${moves.map(([src]) => src).join(", ")} to ${dest}`);
  // The user's own (made as the user) and private: it holds the VM's whole disk.
  await mac.asUser([hostPath(inputs.host, "/bin/mkdir"), "-p", "-m", "700", dest]);
  await moveAllOrNone(
    mac,
    inputs,
    moves,
    (failure) =>
      `full reset stopped, nothing deleted: ${failure}. Free space at ${inputs.backupDirBase} (or choose another BACKUP_DIR_BASE), then run the reset again.`,
  );
}

/** Moves each [from, to] whose `from` exists, all or none: when one move fails (the destination
 *  is full, not writable…), what was already moved goes back and the error (from `message`) says
 *  where everything is. mv is a rename on one volume, else a copy that deletes its source only
 *  after a complete copy. Returns the moves made. */
async function moveAllOrNone(
  mac: Mac,
  inputs: ColimaProfileInputs,
  moves: [string, string][],
  message: (failure: string) => string,
): Promise<[string, string][]> {
  const moved: [string, string][] = [];
  for (const [src, to] of moves) {
    if (!(await anyOf(mac, inputs, [src]))) continue;
    await mac.asUser([hostPath(inputs.host, "/bin/mkdir"), "-p", to.replace(/\/[^/]*$/, "")]);
    const r = await move(mac, inputs, src, to);
    if (r.exitCode === 0) {
      moved.push([src, to]);
      continue;
    }
    const [first, ...more] = r.stderr.trim().split("\n");
    const why = `${first}${more.length > 0 ? ` (and ${more.length} more lines)` : ""}`;
    const back = await moveBack(mac, inputs, moved);
    throw new Error(message(`mv ${src} ${to} failed (exit ${r.exitCode}): ${why}${back.length > 0 ? `; ${back.join(", ")}` : ""}`));
  }
  return moved;
}

const move = (mac: Mac, inputs: ColimaProfileInputs, from: string, to: string) =>
  mac.asUser([hostPath(inputs.host, "/bin/mv"), from, to], { timeoutMs: 60 * 60_000, allowFailure: true });

/** Undoes `moved`, newest first; says where each one is now. */
async function moveBack(mac: Mac, inputs: ColimaProfileInputs, moved: [string, string][]): Promise<string[]> {
  const back: string[] = [];
  for (const [from, there] of [...moved].reverse())
    back.push((await move(mac, inputs, there, from)).exitCode === 0 ? `${from} (moved back)` : `${from} (still in ${there})`);
  return back;
}

/** A restore: the profile's current state into `aside`, then the backup's folders into their
 *  places; all or none (a failure puts everything back where it was). The emptied backup folder
 *  goes; the `aside` folder is itself a backup, so a restore can be undone by another. */
async function swapInBackup(mac: Mac, inputs: ColimaProfileInputs, restore: RestoreDecision): Promise<void> {
  const places = folders(colimaPaths(inputs.host, inputs.profile));
  const aside = resetMoves({ folders: places }, restore.aside);
  const back = resetMoves({ folders: places }, restore.from).map(([place, saved]): [string, string] => [saved, place]);
  say(inputs, `restore: moving the current state of profile ${inputs.profile} to ${restore.aside}, then ${restore.from} back in its place`);
  await mac.asUser([hostPath(inputs.host, "/bin/mkdir"), "-p", "-m", "700", restore.aside]);
  const stopped = "restore stopped, nothing deleted";
  const movedAside = await moveAllOrNone(mac, inputs, aside, (f) => `${stopped}: ${f}. The profile is as it was.`);
  try {
    await moveAllOrNone(mac, inputs, back, (f) => f);
  } catch (e) {
    const undone = await moveBack(mac, inputs, movedAside);
    throw new Error(`${stopped}: ${(e as Error).message}${undone.length > 0 ? `; the current state: ${undone.join(", ")}` : ""}.`);
  }
  await mac.asUser([hostPath(inputs.host, "/bin/rmdir"), restore.from], { allowFailure: true });
  say(inputs, `restored profile ${inputs.profile} from ${restore.from}; its state before is in ${restore.aside}`);
}

/** BACKUP_KEEP: the newest N of this profile's backups in BACKUP_DIR_BASE stay (by their names,
 *  which start with their time); the others are deleted, each said. Other profiles' are not touched. */
async function pruneBackups(mac: Mac, inputs: ColimaProfileInputs): Promise<void> {
  if (!inputs.backupKeep) return;
  for (const { path } of (await listBackups(mac, inputs.backupDirBase, inputs.profile)).slice(inputs.backupKeep)) {
    await mac.asUser([hostPath(inputs.host, "/bin/rm"), "-rf", path], { timeoutMs: 60 * 60_000 });
    say(
      inputs,
      `removed backup ${path} (BACKUP_KEEP=${inputs.backupKeep}: the newest ${inputs.backupKeep} of profile ${inputs.profile} stay)`,
    );
  }
}

/** Full resets this run's `check` was given, by Mac and profile. The engine replaces the profile
 *  for one (deleteBeforeReplace: the delete, then the create that moves the state), and a delete is
 *  told nothing but the stored state: this is how it knows it is the first half of a reset. One
 *  plugin process serves one deployment (provider/lib/byReference.ts), so it is this run's. */
const resetsThisRun = new Map<string, ResetDecision>();
const profileKey = (p: Pick<ColimaProfileInputs, "host" | "profile">) => JSON.stringify([p.host.root, p.host.user, p.profile]);

async function removeProfile(mac: Mac, stored: ColimaProfileOutputs): Promise<void> {
  const reset = resetsThisRun.get(profileKey(stored));
  // The first half of a full reset: the Colima that will delete the old profile is checked first.
  if (reset) await refuseOldColima(mac, stored, true);
  // Our supervisor first, so nothing starts the profile again while we stop it.
  if (await bootout(mac, `system/${stored.label}`)) say(stored, `booted out system/${stored.label}`);
  await stopIfRunning(mac, stored);
  const paths = colimaPaths(stored.host, stored.profile);
  if (reset)
    say(
      stored,
      `stopped profile ${stored.profile} for the full reset: its state (${paths.instanceDir}) ${reset.backup === "move" ? `moves into ${reset.folder} next` : "is deleted next, without a backup (--backup=false)"}`,
    );
  else say(stored, `kept the state of profile ${stored.profile} (${paths.instanceDir}); a full reset is: ${RESET_COMMAND}`);
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const colimaProfileProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffColimaProfile, {
  async check(olds: Partial<ColimaProfileOutputs>, news: Record<string, unknown>) {
    const result = await checkInputs(news, colimaProfileSchema);
    const failures = [...(result.failures ?? [])];
    const checked = result.inputs as ColimaProfileInputs | undefined;
    if (!result.failures && checked?.reset && newDecision(olds?.reset, checked.reset) && typeof checked.host === "object")
      resetsThisRun.set(profileKey(checked), checked.reset);
    // A full reset makes a new disk of any size; anything else can only grow it.
    if (olds?.disk && typeof news.disk === "number" && news.disk < olds.disk && !news.reset) {
      failures.push({
        property: "disk",
        reason: `cannot shrink from ${olds.disk} to ${news.disk} GiB (Lima cannot shrink a disk); a smaller disk needs a full reset: ${RESET_COMMAND}`,
      });
    }
    // Known once HomebrewPackages has run (a number; in a first preview it is still unknown).
    if (typeof news.hostMemoryGiB === "number" && typeof news.memory === "number" && news.memory > news.hostMemoryGiB) {
      failures.push({
        property: "memory",
        reason: `COLIMA_MEMORY ${news.memory} GiB is more than this Mac has (${news.hostMemoryGiB} GiB)`,
      });
    }
    return failures.length > 0 ? { inputs: result.inputs, failures } : result;
  },
  async diff(_id: string, olds: ColimaProfileOutputs, news: ColimaProfileInputs) {
    const { reasons, ...result } = diffColimaProfile(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: ColimaProfileInputs) {
    return { id: `colima-${inputs.host.user}-${inputs.profile}`, outs: await provision(macOf(inputs.host), inputs, inputs.restore) };
  },
  async update(_id: string, olds: ColimaProfileOutputs, news: ColimaProfileInputs) {
    // CPU, memory and disk reach the VM when its supervisor restarts it with the new flags (the
    // LaunchDaemon's plist changes with them); a profile that is not on QEMU is provisioned again.
    const restore = newDecision(olds.restore, news.restore) ? news.restore : undefined;
    if (olds.driver !== "QEMU" || restore) return { outs: await provision(macOf(news.host), news, restore) };
    return { outs: { ...olds, ...news } };
  },
  async read(id: string, stored: ColimaProfileOutputs) {
    const vmType = (await recordedConfig(macOf(stored.host), stored))?.vmType;
    const driver = vmType === "qemu" ? "QEMU" : vmType === "vz" ? "macOS Virtualization.Framework" : "";
    return { id, props: { ...stored, driver } };
  },
  async delete(_id: string, stored: ColimaProfileOutputs) {
    await removeProfile(macOf(stored.host), stored);
  },
});

// ---- resource -----------------------------------------------------------------------------

export class ColimaProfile extends ResourceByReference {
  declare readonly instanceId: pulumi.Output<string>;
  declare readonly dockerSocket: pulumi.Output<string>;
  declare readonly driver: pulumi.Output<string>;
  declare readonly colimaVersion: pulumi.Output<string>;
  declare readonly generation: pulumi.Output<string>;

  constructor(name: string, args: ColimaProfileArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { instanceId: undefined, dockerSocket: undefined, driver: undefined, colimaVersion: undefined, generation: undefined };
    super("colimaProfile", colimaProfileProvider, "ColimaProfile", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
