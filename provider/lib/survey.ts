// What a Mac already runs, before colima-pulse changes anything: Colima profiles (vm type,
// runtime, arch, size, running or not, disk in use), `brew services` jobs, colima-pulse's own
// LaunchDaemon and whether its supervisor runs, and the installed versions. Most Macs this is for
// already run Colima, so the program surveys first and decides — adopt a QEMU profile in place, provision a new one, or stop
// with the one command that converts a VZ profile with a backup — and says so in the preview.
//
// Read-only, and cheap: files are read through the Mac's seam (directly on this machine where this
// process may, else `cat`/`ls`, as the Homebrew user where we may not), processes through `ps`. It runs no
// Colima, Lima or brew command and, of launchctl, only `print` (where brew's job is loaded), so a
// refused run leaves no trace on the Mac.
import { topLevelYaml } from "./adoption";
import { findOtherJobs, type PulseJobs, type SeenJob } from "./autostarts";
import { linkedVersions } from "./brew";
import { colimaPaths, colimaProfile, homeOf, hostPath, isHostAgentOf, type ProcessInfo } from "./host";
import { CONFLICTING_LABELS } from "./launchd";
import type { Mac } from "./mac";
import { readSupervisor, type SupervisorSeen } from "./supervisor";

/** A Colima profile found on the Mac. */
export interface FoundProfile {
  /** The profile's name (`default` for instance `colima`). */
  name: string;
  /** Fixed at its first start (Colima's state file in the Lima instance); "" if it never started. */
  vmType: string;
  runtime: string;
  arch: string;
  cpus?: number;
  memoryGiB?: number;
  diskGiB?: number;
  running: boolean;
  /** Bytes its data disk folder takes on the Mac's disk (undefined when it cannot be read). */
  diskBytesUsed?: number;
  /** The folders a full reset moves: Colima's config, the Lima instance, the data disk. */
  folders: { config: string; instance: string; disk: string };
}

export interface MacSurvey {
  /** Homebrew's prefix, if Homebrew is installed. */
  prefix?: string;
  /** Installed versions of colima, lima, qemu, docker (absent: not installed). */
  versions: Record<string, string>;
  profiles: FoundProfile[];
  /** `brew services` jobs for Colima: where launchd has one loaded (`system`, `gui/<uid>`,
   *  `user/<uid>`; conflictDomains) with its plist, and a plist found but loaded nowhere
   *  (`loaded: false`: launchd loads it at the next boot or login). */
  brewJobs: BrewJob[];
  /** Other launchd jobs that start this profile (Lima's autostart jobs, hand-written ones): `up`
   *  boots them out and removes them (provider/lib/autostarts.ts). */
  autostarts?: SeenJob[];
  /** colima-pulse's LaunchDaemons of other labels: stale ones (a stack that is gone) and others'. */
  pulseJobs?: PulseJobs;
  /** Whether colima-pulse's own LaunchDaemon plist is there (the Mac is already managed). */
  managed: boolean;
  /** That LaunchDaemon's supervisor of this profile, when the Mac is managed. */
  supervisor?: SupervisorSeen;
}

export interface BrewJob {
  label: string;
  domain: string;
  plist: string;
  loaded?: false;
}

const FORMULAE = ["colima", "lima", "qemu", "docker"];

/** `brew services`' conflicting jobs (provider/lib/launchd.ts): their plists, and — when a plist
 *  is there or brew's `colima start -f` runs — the domains launchd has them loaded in, asked as the
 *  Homebrew user (`launchctl print` of the user's own domains; the system one by its plist). */
async function brewJobsOf(mac: Mac, prefix: string | undefined, procs: ProcessInfo[]): Promise<BrewJob[]> {
  const host = mac.host;
  const plists = CONFLICTING_LABELS.map((label) => ({
    label,
    system: hostPath(host, `/Library/LaunchDaemons/${label}.plist`),
    agent: `${homeOf(host)}/Library/LaunchAgents/${label}.plist`,
  }));
  const there = await Promise.all(plists.flatMap((p) => [mac.exists(p.system), mac.exists(p.agent)]));
  // homebrew-core colima.rb `service do`: run [opt_bin/"colima", "start", "-f"].
  const brewsColima = prefix !== undefined && procs.some((p) => p.command.endsWith(`${prefix}/opt/colima/bin/colima start -f`));
  const jobs: BrewJob[] = [];
  const uid =
    brewsColima || there.some(Boolean)
      ? (await mac.run([hostPath(host, "/usr/bin/id"), "-u", host.user], { allowFailure: true })).stdout.trim()
      : "";
  for (const [i, p] of plists.entries()) {
    const [system, agent] = [there[2 * i], there[2 * i + 1]];
    if (system) jobs.push({ label: p.label, domain: "system", plist: p.system });
    if (!agent && !brewsColima) continue;
    const loaded = await Promise.all(
      [`gui/${uid}`, `user/${uid}`].map(async (domain) => {
        const r = await mac.asUser([hostPath(host, "/bin/launchctl"), "print", `${domain}/${p.label}`], {
          allowFailure: true,
          timeoutMs: 15_000,
        });
        return r.exitCode === 0 ? domain : undefined;
      }),
    );
    for (const domain of loaded) if (domain) jobs.push({ label: p.label, domain, plist: p.agent });
    if (agent && !loaded.some(Boolean)) jobs.push({ label: p.label, domain: `gui/${uid}`, plist: p.agent, loaded: false });
  }
  return jobs;
}

async function findProfile(mac: Mac, id: string, procs: ProcessInfo[]): Promise<FoundProfile | undefined> {
  // Named as `colima list` names it (the short name); its folders from the instance id itself.
  const name = colimaProfile(id).short;
  const paths = colimaPaths(mac.host, id);
  // The state file holds what the first start fixed; the config file what was last asked for.
  const [state, config, haPidText, diskBytesUsed] = await Promise.all([
    mac.readFile(`${paths.instanceDir}/colima.yaml`),
    mac.readFile(`${paths.configDir}/colima.yaml`),
    mac.readFile(`${paths.instanceDir}/ha.pid`),
    mac.diskUsage(paths.diskDir),
  ]);
  if (state === undefined && config === undefined) return undefined;
  const fixed = topLevelYaml(state ?? "");
  const asked = topLevelYaml(config ?? "");
  const num = (v: string | undefined) => (v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);
  const haPid = Number.parseInt(haPidText ?? "", 10);
  const running = procs.some((p) => p.pid === haPid && isHostAgentOf(p.command, paths.instanceDir));
  return {
    name,
    vmType: fixed.vmType ?? "",
    runtime: fixed.runtime ?? asked.runtime ?? "",
    arch: fixed.arch ?? asked.arch ?? "",
    cpus: num(fixed.cpu ?? asked.cpu),
    memoryGiB: num(fixed.memory ?? asked.memory),
    diskGiB: num(fixed.disk ?? asked.disk),
    running,
    diskBytesUsed,
    folders: { config: paths.configDir, instance: paths.instanceDir, disk: paths.diskDir },
  };
}

/** Surveys the Mac `host` (read-only). `label` is colima-pulse's LaunchDaemon label, `profile` the
 *  Colima profile it supervises. */
export async function surveyMac(mac: Mac, label: string, profile: string): Promise<MacSurvey> {
  const host = mac.host;
  // The reads do not depend on each other: asked at once (over SSH, one round trip's time).
  const prefixes = ["/opt/homebrew", "/usr/local"].map((p) => hostPath(host, p));
  const [found, procs, limaDirs, managed] = await Promise.all([
    Promise.all(prefixes.map((p) => mac.exists(`${p}/bin/brew`))),
    mac.listProcesses(),
    mac.listDir(`${homeOf(host)}/.colima/_lima`),
    mac.exists(hostPath(host, `/Library/LaunchDaemons/${label}.plist`)),
  ]);
  // Apple silicon's prefix first: an Intel Homebrew under Rosetta may sit beside it.
  const prefix = prefixes.find((_, i) => found[i]);
  const versions = prefix ? await linkedVersions(mac, prefix, FORMULAE) : {};
  const ids = limaDirs.filter((d) => /^colima(-[A-Za-z0-9][A-Za-z0-9_-]*)?$/.test(d)).sort();
  const profiles = (await Promise.all(ids.map((id) => findProfile(mac, id, procs)))).filter((p): p is FoundProfile => p !== undefined);
  const [brewJobs, supervisor, other] = await Promise.all([
    brewJobsOf(mac, prefix, procs),
    managed ? readSupervisor(mac, label, profile, procs) : undefined,
    findOtherJobs(mac, label, profile),
  ]);
  return {
    prefix,
    versions,
    profiles,
    brewJobs,
    autostarts: other.autostarts,
    pulseJobs: other.pulse,
    managed,
    ...(supervisor ? { supervisor } : {}),
  };
}

/** What `brew outdated` says can be upgraded among the `installed` formulae (name → the linked
 *  version, MacSurvey.versions), as the Homebrew user, against Homebrew's local formulae (no
 *  auto-update: the upgrade installs exactly what this reported). Each upgrade is from the linked
 *  version: `installed_versions` lists every keg the Cellar still holds (formula.rb#outdated_kegs). */
export async function brewOutdated(
  mac: Mac,
  prefix: string,
  installed: Record<string, string>,
): Promise<Record<string, { from: string; to: string }>> {
  const formulae = Object.keys(installed);
  // Named formulae of which one is outdated exit 1 (cmd/outdated.rb); the JSON is the answer.
  const argv = [`${prefix}/bin/brew`, "outdated", "--json=v2", ...formulae];
  const r = await mac.asUser(argv, {
    env: { HOMEBREW_NO_AUTO_UPDATE: "1", HOMEBREW_NO_ENV_HINTS: "1" },
    timeoutMs: 120_000,
    allowFailure: true,
  });
  if (!r.stdout.trim().startsWith("{")) throw new Error(`${argv.join(" ")} exited with code ${r.exitCode}: ${r.stderr.trim()}`);
  const parsed = JSON.parse(r.stdout) as { formulae?: { name: string; installed_versions: string[]; current_version: string }[] };
  return Object.fromEntries(
    (parsed.formulae ?? []).map((f) => [f.name, { from: installed[f.name] ?? f.installed_versions.at(-1) ?? "", to: f.current_version }]),
  );
}
