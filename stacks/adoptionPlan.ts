// What `pulumi up` will do with what the survey found (provider/lib/survey.ts), decided before
// anything changes and said in the preview: adopt, provision, reset, or refuse with the one
// command that resolves it. Pure; the program (stacks/index.ts) prints it and stops on a refusal.
import { notAdoptable, RESET_COMMAND, type ResetDecision, resetMoves } from "../provider/lib/adoption";
import type { OtherJob } from "../provider/lib/autostarts";
import { colimaProfile } from "../provider/lib/host";
import type { FoundProfile, MacSurvey } from "../provider/lib/survey";

/** What colima-pulse declares for the profile. */
export interface Wanted {
  profile: string;
  cpus: number;
  memory: number;
  disk: number;
  label: string;
  /** Settings given as secrets: their values are never written into the plan's text. */
  secret?: ("cpus" | "memory" | "disk")[];
}

export interface AdoptionPlan {
  /** The profile of this name on the Mac, if any. */
  found?: FoundProfile;
  /** What was found, one line each. */
  findings: string[];
  /** What `up` will do, one line each. */
  will: string[];
  /** Set when `up` must not run: the reason and the one command that resolves it. */
  refusal?: string;
  /** Other jobs that start the profile, and stale colima-pulse jobs when the run decided so:
   *  `up` boots each out and removes it (the LaunchDaemon, provider/lib/autostarts.ts). */
  jobs: OtherJob[];
  /** Other autostarts or stale jobs were found: the plan is said even on a managed Mac. */
  notice: boolean;
}

/** The command that removes stale colima-pulse jobs (scripts/decide.ts remove-stale-jobs). */
export const REMOVE_STALE_COMMAND = "npm run remove-stale-jobs";

/** What the plan says of other autostarts and stale jobs, and the jobs `up` removes. */
function otherJobs(survey: MacSurvey, wanted: Wanted, removeStale: boolean): { findings: string[]; will: string[]; jobs: OtherJob[] } {
  const findings: string[] = [];
  const will: string[] = [];
  const jobs: OtherJob[] = [];
  const where = (j: { domain: string; plist: string; loaded: boolean }) =>
    j.loaded
      ? `${j.domain} domain, ${j.plist}`
      : `not loaded; its plist ${j.plist} loads at the next ${j.domain === "system" ? "boot" : "login"}`;
  const strip = ({ loaded: _, ...job }: OtherJob & { loaded: boolean }): OtherJob => job;
  for (const j of survey.autostarts ?? []) {
    findings.push(`launchd job ${j.label} starts this profile: ${j.why} (${where(j)})`);
    will.push(`${j.loaded ? `boot out ${j.label} (${j.domain}) and remove` : "remove"} ${j.plist}, so only colima-pulse starts Colima`);
    jobs.push(strip(j));
  }
  for (const j of survey.pulseJobs?.stale ?? []) {
    findings.push(`stale: ${j.why} (${where(j)})`);
    if (removeStale) {
      will.push(
        `${REMOVE_STALE_COMMAND}: ${j.loaded ? `boot out ${j.domain}/${j.label} and remove` : "remove"} ${[j.plist, j.script, j.rule].filter(Boolean).join(", ")}`,
      );
      jobs.push(strip(j));
    } else will.push(`leave stale ${j.label} as it is (\`${REMOVE_STALE_COMMAND}\` removes it, after its own preview)`);
  }
  for (const o of survey.pulseJobs?.others ?? [])
    findings.push(
      colimaProfile(o.profile).id === colimaProfile(wanted.profile).id
        ? `colima-pulse LaunchDaemon ${o.label} also supervises this profile (this stack's under an earlier LABEL, which a LABEL change replaces, or another stack's): left alone`
        : `colima-pulse LaunchDaemon ${o.label} supervises profile ${o.profile}: left alone`,
    );
  return { findings, will, jobs };
}

function gib(bytes: number | undefined): string {
  return bytes === undefined ? "unknown" : `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function describeProfile(p: FoundProfile): string {
  const size = [p.cpus && `${p.cpus} CPUs`, p.memoryGiB && `${p.memoryGiB} GiB memory`, p.diskGiB && `${p.diskGiB} GiB disk`]
    .filter(Boolean)
    .join(", ");
  return `profile ${p.name}: vm type ${p.vmType || "(never started)"}, runtime ${p.runtime || "?"}, arch ${p.arch || "?"}${size ? `, ${size}` : ""}, ${p.running ? "running" : "stopped"}, data disk uses ${gib(p.diskBytesUsed)}`;
}

/** Decides what `up` does with the Mac the survey describes. */
export function planAdoption(survey: MacSurvey, wanted: Wanted, reset?: ResetDecision, removeStale = false): AdoptionPlan {
  const other = otherJobs(survey, wanted, removeStale);
  // Another stack's job for a profile that is there is named, but is no reason to speak up.
  const extra = { jobs: other.jobs, notice: (survey.autostarts?.length ?? 0) + (survey.pulseJobs?.stale.length ?? 0) > 0 };
  // Colima's names: "colima" is the default profile, "colima-x" is x (provider/lib/host.ts colimaProfile).
  const name = colimaProfile(wanted.profile).short;
  const found = survey.profiles.find((p) => p.name === name);
  const versions = Object.entries(survey.versions).map(([f, v]) => `${f} ${v}`);
  const findings = [
    ...survey.profiles.map(describeProfile),
    ...survey.brewJobs.map((j) =>
      j.loaded === false
        ? `brew services job ${j.label} (not loaded; its plist ${j.plist} loads at the next login)`
        : `brew services job ${j.label} (${j.domain} domain, ${j.plist})`,
    ),
    ...other.findings,
    survey.managed ? `colima-pulse's LaunchDaemon ${wanted.label}` : "",
    versions.length > 0 ? `installed: ${versions.join(", ")}` : "installed: none of colima, lima, qemu, docker",
  ].filter(Boolean);
  if (survey.profiles.length === 0) findings.unshift("no Colima profile");
  const will: string[] = [];
  for (const j of survey.brewJobs)
    will.push(
      j.loaded === false
        ? `remove ${j.plist}, so only colima-pulse starts Colima`
        : `boot out ${j.label} (${j.domain}) and remove ${j.plist}, so only colima-pulse starts Colima`,
    );
  will.push(...other.will);
  for (const p of survey.profiles.filter((p) => p !== found)) will.push(`leave profile ${p.name} alone`);

  if (reset) {
    if (!found) {
      return {
        ...extra,
        findings,
        will,
        refusal: `${RESET_COMMAND}: profile ${wanted.profile} does not exist on this Mac (${survey.profiles.length > 0 ? `found: ${survey.profiles.map((p) => p.name).join(", ")}` : "no Colima profile"}); there is nothing to reset. \`npm run converge\` provisions it.`,
      };
    }
    if (found.running) will.push(`stop profile ${found.name}'s VM`);
    if (reset.backup === "move") {
      will.push(`FULL RESET: move profile ${found.name}'s state (data disk ${gib(found.diskBytesUsed)}) into ${reset.folder}:`);
      for (const [from, to] of resetMoves(found, reset.folder)) will.push(`  ${from} -> ${to}`);
    } else {
      will.push(`FULL RESET WITHOUT A BACKUP (--backup=false): DELETE profile ${found.name}'s state, nothing is kept:`);
      for (const [from] of resetMoves(found, reset.folder)) will.push(`  delete ${from}`);
    }
    will.push(`provision profile ${wanted.profile} anew on QEMU with the Docker runtime, supervised by ${wanted.label}`);
    return { ...extra, found, findings, will };
  }
  if (!found?.vmType) {
    will.push(`provision profile ${wanted.profile} on QEMU with the Docker runtime, supervised by ${wanted.label}`);
    return { ...extra, found, findings, will };
  }
  const why = notAdoptable(found);
  if (why) {
    return {
      ...extra,
      found,
      findings,
      will,
      refusal: `${why}. Convert it with a backup: \`${RESET_COMMAND}\` (it shows what moves where, and asks, before doing anything; \`${RESET_COMMAND} -- --help\` for its options).`,
    };
  }
  const show = (key: "cpus" | "memory" | "disk") => (wanted.secret?.includes(key) ? "[secret]" : String(wanted[key]));
  if (found.diskGiB && wanted.disk < found.diskGiB) {
    return {
      ...extra,
      found,
      findings,
      will,
      refusal: `COLIMA_DISK ${show("disk")} is smaller than profile ${found.name}'s disk (${found.diskGiB} GiB), and Lima cannot shrink a disk: set COLIMA_DISK to ${found.diskGiB} or more to adopt it (or \`${RESET_COMMAND}\` for a new, smaller disk).`,
    };
  }
  if (survey.managed) return { ...extra, found, findings, will };
  if (found.running) will.push(`stop profile ${found.name}'s running VM once, so the LaunchDaemon is the one that starts it (never two)`);
  const changes = [
    found.cpus !== undefined && found.cpus !== wanted.cpus ? `CPUs ${found.cpus} -> ${show("cpus")}` : "",
    found.memoryGiB !== undefined && found.memoryGiB !== wanted.memory ? `memory ${found.memoryGiB} -> ${show("memory")} GiB` : "",
    found.diskGiB !== undefined && found.diskGiB !== wanted.disk ? `disk grows ${found.diskGiB} -> ${show("disk")} GiB` : "",
  ].filter(Boolean);
  will.push(
    `adopt profile ${found.name} in place: its VM, images and volumes stay; no provisioning start${changes.length > 0 ? `; ${changes.join(", ")} when the LaunchDaemon starts it` : ""}`,
  );
  return { ...extra, found, findings, will };
}
