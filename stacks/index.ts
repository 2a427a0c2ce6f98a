// The program `pulumi up` runs: one stack per Mac (stacks/Pulumi.<machine>.yaml), fleet-wide
// defaults in Pulumi.yaml, optional .env (stacks/config.ts). Bad settings stop it here, before
// any resource exists or any command runs. Then it surveys the Mac (read-only) and decides what
// to do with what is already there — adopt, provision, or stop with the one command that
// converts it (provider/lib/adoption.ts) — and says so in the preview.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
// Pulumi's SDK a module at a time, not its index: the index also loads the Automation API and the
// closure serializer (npm's arborist, the TypeScript compiler: ~600 more modules, half a second of
// every run; docs/ARCHITECTURE.md §4).
import { Config } from "@pulumi/pulumi/config";
import { RunError } from "@pulumi/pulumi/errors";
import * as log from "@pulumi/pulumi/log";
import { getProject, getStack } from "@pulumi/pulumi/metadata";
import { secret } from "@pulumi/pulumi/output";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { ColimaPulse, type InstallerSpec } from "../components/colimaPulse";
import { minimumVersions } from "../policy/minimums";
import { installerFiles, installerFolders } from "../provider/containerInstaller";
import type { Upgrade } from "../provider/homebrewPackages";
import { fileVaultState } from "../provider/homebrewPackages";
import { notAdoptable, type ResetDecision, type RestoreDecision, topLevelYaml } from "../provider/lib/adoption";
import { backupBaseProblem, backupsText, formatSize, restoreSourceProblem } from "../provider/lib/backups";
import { colimaTooOld, olderVersion } from "../provider/lib/colimaVersion";
import { colimaVolumeSpace, diskSpaceWarning } from "../provider/lib/disk";
import { COLIMA_HOME_VARIABLES, colimaProfile, type Host, homeOf, hostOf, hostPath } from "../provider/lib/host";
import { checkSudo, type Mac, macOf, NotAMacError } from "../provider/lib/mac";
import { brewOutdated, type MacSurvey, surveyMac } from "../provider/lib/survey";
import { beforeUpgradeName, VM_FORMULAE } from "../provider/lib/upgradeClone";
import { deniedVersions, installVersions, isDenied } from "../provider/lib/versionDenylist";
import { type AdoptionPlan, planAdoption } from "./adoptionPlan";
import {
  checkDecisionStack,
  decisionStack,
  readRemoveStaleDecision,
  readResetDecision,
  readRestoreDecision,
  readUpgradeDecision,
} from "./commandLineDecisions";
import { ConfigError, type EngineConfig, readLayers, resolveSettings, type SettingKey } from "./config";

/** Stops the program with Pulumi's plain error: the message, no stack trace. The stack is dropped
 *  here, not only hidden: Pulumi prints a RunError without it anyway, and a RunError thrown from
 *  the async program with its stack still on it kept this SDK and engine idle ~15 s before the
 *  error reached the engine (measured; without the stack the failed run takes under a second). */
function stop(message: string): never {
  const e = new RunError(message);
  e.stack = undefined;
  throw e;
}

/** Runs `fn` on the Mac, stopping with the message when the Mac cannot be reached or its host key
 *  is unknown or changed (an SshError says the fix; provider/lib/mac.ts), or sudo there would need
 *  a password. Nothing that changes the Mac has run by then. */
async function macOrStop<T>(fn: () => Promise<T>, redact: (text: string) => string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if ((e as Error).name === "SshError" || (e as Error).name === "SudoError") stop(redact((e as Error).message));
    throw e;
  }
}

/** The Mac the stack names; off a Mac, one without SSH_HOST or the simulator's root stops the run
 *  before anything runs (provider/lib/mac.ts refuseHostRoot). */
function macOrStopNow(host: Host): Mac {
  try {
    return macOf(host);
  } catch (e) {
    if (e instanceof NotAMacError) stop(e.message);
    throw e;
  }
}

/** Runs `fn`, turning a settings error into Pulumi's plain error. */
function settingsOrStop<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) stop(e.message);
    throw e;
  }
}

/** Pulumi's config as the engine gave it to this program: decrypted, with which keys are secret. */
function engineConfig(): EngineConfig {
  // Which keys are secret is the SDK's `runtime.isConfigSecret` (runtime/config, marked @internal, so absent
  // from its typings; Config.getSecret uses it). Without it a secret would be treated as plain text.
  const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof isConfigSecret !== "function")
    stop("@pulumi/pulumi has no runtime.isConfigSecret: cannot tell secret settings apart (upgrade it)");
  return Object.fromEntries(Object.entries(runtimeConfig.allConfig()).map(([key, value]) => [key, { value, secret: isConfigSecret(key) }]));
}

/** containers/<name>/ folders with an install.sh, each with a hash of its files; a file name
 *  that is not UTF-8 stops the run, naming it (provider/containerInstaller.ts installerFiles). */
function installers(): InstallerSpec[] {
  const base = resolve(__dirname, "../containers");
  if (!existsSync(base)) return [];
  try {
    return installerFolders(base)
      .filter((name) => existsSync(join(base, name, "install.sh")))
      .sort((a, b) => a.localeCompare(b))
      .map((name) => {
        const dir = join(base, name);
        const hash = createHash("sha256");
        for (const file of installerFiles(dir))
          hash
            .update(file)
            .update("\0")
            .update(readFileSync(join(dir, file)))
            .update("\0");
        return { name, dir, filesHash: hash.digest("hex") };
      });
  } catch (e) {
    if ((e as Error).name === "InstallerFolderError") stop((e as Error).message);
    throw e;
  }
}

/** What the survey found and what up will do: on a Mac colima-pulse does not manage yet, and for
 *  every reset or refusal. A managed Mac's routine run stays quiet. */
function report(plan: AdoptionPlan, managed: boolean, reset: ResetDecision | undefined, redact: (text: string) => string): void {
  // Other autostarts and stale jobs are said on every run that finds them (README "Other autostarts").
  if (managed && !reset && !plan.refusal && !plan.notice) return;
  // A refusal is the run's error (stop), said once: here only what was found.
  const text = redact(
    [
      "this Mac, as found:",
      ...plan.findings.map((l) => `  - ${l}`),
      ...(plan.refusal ? [] : ["pulumi up will:", ...plan.will.map((l) => `  - ${l}`)]),
    ].join("\n"),
  );
  if (reset || plan.refusal || plan.notice) log.warn(text);
  else log.info(text);
}

/** colima-pulse's Colima is the one in the Homebrew user's ~/.colima: its LaunchDaemon's colima
 *  runs with the environment its plist gives it, without COLIMA_HOME or LIMA_HOME, and so does
 *  every colima command colima-pulse runs (provider/lib/host.ts colimaCommand). A shell here that
 *  sets one (a local run: this process has the operator's environment) is told so, once: `colima`
 *  typed in it works on another folder, and does not see colima-pulse's profile. */
function warnColimaHome(mac: Mac, host: Host, redact: (text: string) => string): void {
  const set = COLIMA_HOME_VARIABLES.filter((v) => v !== "XDG_CONFIG_HOME" && process.env[v]);
  if (!mac.local || set.length === 0) return;
  log.warn(
    redact(
      `${set.map((v) => `${v}=${process.env[v]}`).join(", ")} is set in this shell, but colima-pulse's Colima is the one in ${homeOf(host)}/.colima: its LaunchDaemon runs colima without ${set.join(" or ")}, and so does colima-pulse. \`colima\` typed in this shell looks elsewhere; unset ${set.join(" ")} to see colima-pulse's profile.`,
    ),
  );
}

/** A COLIMA_DISK the Mac's volume has no room for is said in the preview — a warning, never a
 *  refusal: the data disk is sparse (provider/lib/disk.ts). The room needed is the whole disk for
 *  a new profile (or one a full reset makes new), the growth for one that grows. */
async function warnDiskSpace(
  mac: Mac,
  host: Host,
  survey: MacSurvey,
  profile: string,
  diskGiB: number,
  fresh: boolean,
  secrets: SettingKey[],
  redact: (text: string) => string,
): Promise<void> {
  const found = fresh ? undefined : survey.profiles.find((p) => p.name === colimaProfile(profile).short);
  const space = await colimaVolumeSpace(mac, host).catch((e: Error) => {
    if (e.name === "SshError") throw e;
    // sudo's refusal is the pre-flight's to explain, with the sudoers lines, once.
    const why = e.name === "SudoError" ? `sudo refused df as ${host.user} (${(e as Error & { said: string }).said})` : e.message;
    log.warn(redact(`could not read the free space of the Mac's volume holding ${homeOf(host)}/.colima: ${why}`));
    return undefined;
  });
  if (!space) return;
  const warning = diskSpaceWarning({
    diskGiB,
    currentGiB: found ? (found.diskGiB ?? 0) : undefined,
    space,
    user: host.user,
    secret: secrets.includes("COLIMA_DISK"),
  });
  if (warning) log.warn(redact(warning));
}

/** `npm run upgrade`: what Homebrew can upgrade, said before anything changes; undefined when
 *  nothing can (then the run changes nothing for it). */
async function upgradePlan(id: string, mac: Mac, survey: MacSurvey, undo: UpgradeUndo): Promise<Upgrade | undefined> {
  const host = mac.host;
  const installed = Object.keys(survey.versions);
  const outdated = survey.prefix && installed.length > 0 ? await brewOutdated(mac, survey.prefix, survey.versions) : {};
  await refuseVersions(outdated, undo, "upgrade");
  const current = installed.filter((f) => !outdated[f]).map((f) => `${f} ${survey.versions[f]}`);
  if (Object.keys(outdated).length === 0) {
    log.warn(
      `npm run upgrade: nothing to upgrade: ${current.join(", ") || "none of colima, lima, qemu, docker is installed"} ${current.length === 1 ? "is" : "are"} what Homebrew's local formulae offer (run \`brew update\` as ${host.user} to fetch newer ones, then npm run upgrade again)`,
    );
    return undefined;
  }
  // What the VM runs under changes, on a profile that is there: cloned first, so the upgrade can be undone.
  const vm = VM_FORMULAE.some((f) => outdated[f]);
  const there = survey.profiles.some((p) => colimaProfile(p.name).id === colimaProfile(undo.profile).id);
  const before =
    vm && there
      ? { profile: undo.profile, label: undo.label, folder: `${undo.backupDir}/${beforeUpgradeName(id, undo.profile)}` }
      : undefined;
  if (before) {
    const problem = await backupBaseProblem(mac, undo.backupDir);
    if (problem)
      stop(
        undo.redact(
          `npm run upgrade would clone profile ${undo.profile}'s state, its VM's whole disk, into BACKUP_DIR_BASE (${undo.backupDir}), but ${problem}: another user could make or swap a folder there and take it. Nothing was changed. Choose a BACKUP_DIR_BASE that only the Homebrew user and root can change, then run npm run upgrade again`,
        ),
      );
  }
  log.warn(
    undo.redact(
      [
        "npm run upgrade will:",
        ...(before
          ? [
              `  - stop profile ${undo.profile}'s VM (system/${undo.label} booted out) and clone its folders with \`cp -c -R\` (APFS copy-on-write: seconds, little space) into ${before.folder}`,
            ]
          : []),
        `  - brew upgrade as ${host.user}: ${Object.entries(outdated)
          .map(([f, v]) => `${f} ${v.from} -> ${v.to}`)
          .join(", ")}${current.length > 0 ? ` (already current: ${current.join(", ")})` : ""}`,
        "  - reload the LaunchDaemon, so the VM restarts under the new versions, then run the health gates and the smoke test",
        "  - if a gate fails, say so with the versions before and after and the last lines of LOG_PATH",
        before
          ? `Upgrades of Colima and Lima have broken existing VMs before (colima#967, #827): \`npm run restore -- ${before.folder}\` puts the profile back as it was before this upgrade (the VM's state; Homebrew keeps the new versions).`
          : `Nothing is cloned: ${vm ? `profile ${undo.profile} is not on this Mac yet` : "the VM's versions (colima, lima, qemu) do not change, so it does not restart"}.`,
      ].join("\n"),
    ),
  );
  return { id, formulae: outdated, ...(before ? { before } : {}) };
}

/** What HomebrewPackages installs when missing (its default `formulae`). */
const INSTALLED_FORMULAE = ["colima", "lima", "qemu", "docker"];

/** What an upgrade needs to be undone and to be checked: the profile, its LaunchDaemon, where the
 *  clone goes, VERSION_DENYLIST and where it was set. */
interface UpgradeUndo {
  profile: string;
  label: string;
  backupDir: string;
  denylist: string | undefined;
  denylistSource: string;
  redact: (text: string) => string;
}

/** Refuses, in the preview and before anything changes, an upgrade onto a version VERSION_DENYLIST
 *  denies or one older than the fleet's minimum (policy/config.json "minimum-versions", the one
 *  floor the guardrails also check: policy/rules.ts minimumVersions). */
async function refuseVersions(
  outdated: Record<string, { from: string; to: string }>,
  undo: UpgradeUndo,
  verb: "upgrade" | "install",
): Promise<void> {
  const denied = deniedVersions(undo.denylist);
  const problems: string[] = [];
  for (const [f, { from, to }] of Object.entries(outdated))
    if (isDenied(denied, f, to))
      problems.push(
        `Homebrew would ${verb === "upgrade" ? `upgrade ${f} ${from} to ${to}` : `install ${f} ${to}`}, which VERSION_DENYLIST (${undo.denylistSource}) = ${JSON.stringify(undo.denylist)} denies`,
      );
  if (Object.keys(outdated).length > 0) {
    let minimums: Record<string, string> = {};
    try {
      minimums = minimumVersions();
    } catch (e) {
      stop((e as Error).message);
    }
    for (const [f, { to }] of Object.entries(outdated)) {
      const min = minimums[f];
      if (typeof min === "string" && olderVersion(to, min))
        problems.push(
          `Homebrew would ${verb} ${f} ${verb === "upgrade" ? "to " : ""}${to}, older than the fleet's minimum ${min} (policy/config.json "minimum-versions"."${f}")`,
        );
    }
  }
  if (problems.length > 0)
    stop(
      undo.redact(
        `${verb === "upgrade" ? "npm run upgrade" : "pulumi up"} refused, nothing was changed:\n${problems.map((p) => ` - ${p}`).join("\n")}\n` +
          "Wait for Homebrew to offer another version (brew update as the Homebrew user, then npm run upgrade again), or change the setting if the version is fine after all.",
      ),
    );
}

/** An installed version VERSION_DENYLIST denies is said in every run (a warning: it runs already). */
function reportDenied(survey: MacSurvey, denylist: string | undefined, source: string): void {
  const denied = deniedVersions(denylist);
  const hits = Object.entries(survey.versions).filter(([f, v]) => isDenied(denied, f, v));
  if (hits.length > 0)
    log.warn(
      `${hits.map(([f, v]) => `${f} ${v}`).join(", ")} installed on this Mac ${hits.length === 1 ? "is" : "are"} on VERSION_DENYLIST (${source}): npm run upgrade moves ${hits.length === 1 ? "it" : "them"} to Homebrew's newer version (brew update as the Homebrew user first, if it offers none)`,
    );
}

/** `npm run restore`: what the backup holds and what will move where, said before anything
 *  changes; a folder that is not a restorable backup stops the run here. */
async function restorePlan(
  restore: RestoreDecision,
  mac: Mac,
  profile: string,
  keep: number | undefined,
  backupDir: string,
  redact: (text: string) => string,
): Promise<void> {
  // Every refusal lists the backups there are, as `npm run fleet -- status` does.
  const refuse = async (why: string) =>
    stop(redact(`npm run restore: ${restore.from} ${why}; nothing was changed.\n${await backupsText(mac, backupDir, profile)}`));
  if (!(await mac.exists(restore.from))) await refuse(`does not exist on ${mac.name}`);
  // Resolved on the Mac: no symlink out of BACKUP_DIR_BASE, no folder another user may write.
  const outside = await restoreSourceProblem(mac, restore.from, backupDir);
  if (outside)
    await refuse(
      `(COLIMA_PULSE_RESTORE, set by npm run restore) ${outside}: a restore takes only a backup folder directly in BACKUP_DIR_BASE (${backupDir}), where a full reset, a restore or an upgrade made it`,
    );
  const saved = topLevelYaml((await mac.readFile(`${restore.from}/instance/colima.yaml`)) ?? "");
  if (!saved.vmType)
    await refuse("holds no Colima instance (instance/colima.yaml): it is not a backup colima-pulse made, or it was restored already");
  const why = notAdoptable({ name: profile, vmType: saved.vmType, runtime: saved.runtime ?? "" });
  if (why) await refuse(`cannot run under colima-pulse: ${why}`);
  const size = await mac.diskUsage(restore.from).catch(() => undefined);
  log.warn(
    [
      "npm run restore will:",
      `  - stop profile ${profile} (its LaunchDaemon is booted out, its VM stopped)`,
      `  - move its current state into ${restore.aside} (a backup of its own: restoring that undoes this)`,
      `  - move ${restore.from}/{config,instance,disk}${size !== undefined ? ` (${formatSize(size)})` : ""} back as profile ${profile}, all or none`,
      "  - start it under the LaunchDaemon and run the health gates and the smoke test",
      ...(keep ? [`  - keep the newest ${keep} backups of profile ${profile} (BACKUP_KEEP); older ones are deleted`] : []),
    ].join("\n"),
  );
}

export = async () => {
  // "/" on a Mac. The simulator (scripts/simulate.ts, the tests) points it at the simulated Mac.
  const hostRoot = process.env.COLIMA_PULSE_HOST_ROOT || "/";
  if (!hostRoot.startsWith("/")) stop(`COLIMA_PULSE_HOST_ROOT (environment) = ${JSON.stringify(hostRoot)}: must be an absolute path`);
  const {
    settings: machine,
    sources,
    secrets,
  } = settingsOrStop(() => resolveSettings(readLayers(resolve(__dirname, ".."), getStack(), engineConfig())));
  const host = hostOf(hostRoot, machine);
  // Read before anything runs on the Mac: a folder refused here has changed nothing.
  const found = installers();
  const mac = macOrStopNow(host);
  // A decision made for another stack (or for none) stops the run here, before any is read.
  settingsOrStop(() => checkDecisionStack(process.env, decisionStack(getProject(), getStack())));
  const reset = settingsOrStop(() => readResetDecision(process.env, machine.COLIMA_PROFILE, hostPath(host, machine.BACKUP_DIR_BASE)));
  const upgradeId = settingsOrStop(() => readUpgradeDecision(process.env));
  const removeStale = settingsOrStop(() => readRemoveStaleDecision(process.env)) !== undefined;
  // A path as the operator sees it on the Mac (`fleet status` lists them so); on the simulated
  // Mac one under its root is taken as it is.
  const onMac = (p: string) => (hostRoot !== "/" && p.startsWith(`${hostRoot.replace(/\/+$/, "")}/`) ? p : hostPath(host, p));
  // A refused restore decision stops the run once the Mac is reached: with the backups there are.
  let restoreRefused: ConfigError | undefined;
  const restore = settingsOrStop(() => {
    try {
      return readRestoreDecision(process.env, machine.COLIMA_PROFILE, hostPath(host, machine.BACKUP_DIR_BASE), onMac);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      restoreRefused = e;
      return undefined;
    }
  });

  // A secret text setting (a user, profile, label, path or SSH destination) is never printed;
  // numbers are left out of the plan's text by planAdoption itself.
  const secretTexts = secrets.map((k) => machine[k]).filter((v): v is string => typeof v === "string");
  const redact = (text: string) => secretTexts.reduce((t, v) => t.split(v).join("[secret]"), text);
  // Over SSH: the host key, the login and sudo are checked before anything else runs there.
  if (!mac.local) await macOrStop(() => checkSudo(mac, mac.name), redact);
  if (restoreRefused) {
    const backups = await macOrStop(() => backupsText(mac, hostPath(host, machine.BACKUP_DIR_BASE), machine.COLIMA_PROFILE), redact);
    stop(redact(`${restoreRefused.message}\n${backups}`));
  }
  const survey = await macOrStop(() => surveyMac(mac, machine.LABEL, machine.COLIMA_PROFILE), redact);
  warnColimaHome(mac, host, redact);
  // A home that is not there (FileVault locked since the boot, a volume not mounted yet) holds the
  // profile: nothing can be read or converged until it is, and the LaunchDaemon waits for it.
  if (
    !(await mac.exists(homeOf(host))) &&
    (await mac.run([hostPath(host, "/usr/bin/id"), "-u", host.user], { allowFailure: true })).exitCode === 0
  )
    stop(
      redact(
        `${host.user}'s home ${homeOf(host)} is not there (FileVault ${await fileVaultState(mac, host).catch(() => "unknown")}; or its volume is not mounted yet): nothing was changed. The LaunchDaemon starts Docker once it is there; run pulumi up again after the unlock.`,
      ),
    );
  const plan = planAdoption(
    survey,
    {
      profile: machine.COLIMA_PROFILE,
      cpus: machine.COLIMA_CPUS,
      memory: machine.COLIMA_MEMORY,
      disk: machine.COLIMA_DISK,
      label: machine.LABEL,
      secret: (["cpus", "memory", "disk"] as const).filter((k) => secrets.includes(`COLIMA_${k.toUpperCase()}` as SettingKey)),
    },
    reset,
    removeStale,
  );
  report(plan, survey.managed, reset, redact);
  if (removeStale && !survey.pulseJobs?.stale.length)
    log.warn("npm run remove-stale-jobs: no stale colima-pulse job on this Mac; nothing to remove");
  if (plan.refusal) stop(redact(plan.refusal));
  await macOrStop(
    () => warnDiskSpace(mac, host, survey, machine.COLIMA_PROFILE, machine.COLIMA_DISK, reset !== undefined, secrets, redact),
    redact,
  );
  // A reset (one the plan keeps: a refused one says why first) moves the VM's whole disk into BACKUP_DIR_BASE: only where no one but the Homebrew
  // user and root can add, rename or replace anything on the way (backups.ts backupBaseProblem).
  if (reset?.backup === "move") {
    const backupDir = hostPath(host, machine.BACKUP_DIR_BASE);
    const problem = await macOrStop(() => backupBaseProblem(mac, backupDir), redact);
    if (problem)
      stop(
        redact(
          `npm run reset (COLIMA_PULSE_FULL_RESET, set by npm run reset) would move profile ${machine.COLIMA_PROFILE}'s state, its VM's whole disk, into BACKUP_DIR_BASE (${backupDir}), but ${problem}: ` +
            "another user could make or swap a folder there and take it. Nothing was changed. Choose a BACKUP_DIR_BASE that only the Homebrew user and root can change " +
            `(the default, /Users/${machine.HOMEBREW_USER}/colima-pulse-backups, is one), or make that folder so, then run npm run reset again`,
        ),
      );
  }
  const denylistSource = sources.VERSION_DENYLIST === "default" ? "not set" : `${sources.VERSION_DENYLIST} layer`;
  reportDenied(survey, machine.VERSION_DENYLIST, denylistSource);
  const undo: UpgradeUndo = {
    profile: machine.COLIMA_PROFILE,
    label: machine.LABEL,
    backupDir: hostPath(host, machine.BACKUP_DIR_BASE),
    denylist: machine.VERSION_DENYLIST,
    denylistSource,
    redact,
  };
  // A converge that installs: the versions Homebrew would pour, checked before anything is installed.
  const missing = survey.prefix ? INSTALLED_FORMULAE.filter((f) => !survey.versions[f]) : [];
  if (missing.length > 0) {
    const prefix = survey.prefix as string;
    // brew info runs as the Homebrew user. An operator sudo refuses it is stopped by the
    // pre-flight (HomebrewPackages: checkSudo, with the sudoers lines) before anything is
    // installed, so nothing is installed unchecked: the check runs once sudo lets it.
    const poured = await macOrStop(async () => {
      try {
        return await installVersions(mac, prefix, missing);
      } catch (e) {
        if ((e as Error).name === "SudoError") return {};
        throw e;
      }
    }, redact);
    await refuseVersions(Object.fromEntries(Object.entries(poured).map(([f, to]) => [f, { from: "", to }])), undo, "install");
  }
  const upgrade = upgradeId ? await macOrStop(() => upgradePlan(upgradeId, mac, survey, undo), redact) : undefined;
  // A Colima that lacks a flag this run passes stops it now, before any step (the resources check
  // again): the one this run leaves installed — the upgrade's, else the one there.
  const tooOld = colimaTooOld(upgrade?.formulae.colima?.to ?? survey.versions.colima, { reset: reset !== undefined, user: host.user });
  if (tooOld) stop(redact(`${tooOld} Nothing was changed.`));
  if (restore)
    await macOrStop(
      () => restorePlan(restore, mac, machine.COLIMA_PROFILE, machine.BACKUP_KEEP, hostPath(host, machine.BACKUP_DIR_BASE), redact),
      redact,
    );

  const config = new Config();
  const pulse = new ColimaPulse("colima", {
    settings: machine,
    secrets,
    hostRoot,
    reset,
    restore,
    upgrade,
    supervisor: survey.supervisor,
    // Other jobs that start the profile (and stale ones, when decided): booted out and removed.
    ...(plan.jobs.length > 0 ? { otherJobs: plan.jobs } : {}),
    smoke: { image: config.require("smokeImage"), expectOutput: config.require("smokeExpectOutput") },
    installers: found,
    // Per-installer environment; `pulumi config set --secret --path installerEnv.<name>.<VAR> …`.
    installerEnv: config.getSecretObject<Record<string, Record<string, string>>>("installerEnv"),
  });

  return {
    dockerHost: pulse.dockerHost,
    dockerVersion: pulse.dockerVersion,
    colimaVersion: pulse.colimaVersion,
    versions: pulse.versions,
    driver: pulse.driver,
    gateTimings: pulse.gateTimings,
    lastGateTimings: pulse.lastGateTimings,
    fileVault: pulse.fileVault,
    fileVaultNote: pulse.fileVaultNote,
    launchdLabel: pulse.launchdLabel,
    smokeImageDigest: pulse.smokeImageDigest,
    dockerContext: pulse.dockerContext,
    groupDockerHost: pulse.groupDockerHost,
    // The health gate's disk report (README "Disk"): -1 where it could not be read.
    dockerDiskUsedBytes: pulse.dockerDiskUsedBytes,
    diskSizeBytes: pulse.diskSizeBytes,
    hostFreeBytes: pulse.hostFreeBytes,
    diskWarnings: pulse.diskWarnings,
    // The supervisor's times of the last start (README "Workloads after a reboot"): -1 where unsaid.
    bootToDockerSeconds: pulse.bootToDockerSeconds,
    bootToWorkloadsSeconds: pulse.bootToWorkloadsSeconds,
    // The resolved settings; a secret one stays secret (`pulumi stack output --show-secrets`).
    settings: Object.fromEntries(
      Object.entries(machine).map(([key, value]) => [key, secrets.includes(key as SettingKey) ? secret(value) : value]),
    ),
    settingSources: sources,
  };
};
