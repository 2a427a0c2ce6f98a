// What `pulumi up` will do with what the survey found (provider/lib/survey.ts), decided before
// anything changes and said in the preview: adopt, provision, reset, or refuse with the one
// command that resolves it. Pure; the program (stacks/index.ts) prints it and stops on a refusal.
import { notAdoptable, RESET_COMMAND, type ResetDecision, resetMoves } from "../provider/lib/adoption";
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
export function planAdoption(survey: MacSurvey, wanted: Wanted, reset?: ResetDecision): AdoptionPlan {
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
  for (const other of survey.profiles.filter((p) => p !== found)) will.push(`leave profile ${other.name} alone`);

  if (reset) {
    if (!found) {
      return {
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
    return { found, findings, will };
  }
  if (!found?.vmType) {
    will.push(`provision profile ${wanted.profile} on QEMU with the Docker runtime, supervised by ${wanted.label}`);
    return { found, findings, will };
  }
  const why = notAdoptable(found);
  if (why) {
    return {
      found,
      findings,
      will,
      refusal: `${why}. Convert it with a backup: \`${RESET_COMMAND}\` (it shows what moves where, and asks, before doing anything; \`${RESET_COMMAND} -- --help\` for its options).`,
    };
  }
  const show = (key: "cpus" | "memory" | "disk") => (wanted.secret?.includes(key) ? "[secret]" : String(wanted[key]));
  if (found.diskGiB && wanted.disk < found.diskGiB) {
    return {
      found,
      findings,
      will,
      refusal: `COLIMA_DISK ${show("disk")} is smaller than profile ${found.name}'s disk (${found.diskGiB} GiB), and Lima cannot shrink a disk: set COLIMA_DISK to ${found.diskGiB} or more to adopt it (or \`${RESET_COMMAND}\` for a new, smaller disk).`,
    };
  }
  if (survey.managed) return { found, findings, will };
  if (found.running) will.push(`stop profile ${found.name}'s running VM once, so the LaunchDaemon is the one that starts it (never two)`);
  const changes = [
    found.cpus !== undefined && found.cpus !== wanted.cpus ? `CPUs ${found.cpus} -> ${show("cpus")}` : "",
    found.memoryGiB !== undefined && found.memoryGiB !== wanted.memory ? `memory ${found.memoryGiB} -> ${show("memory")} GiB` : "",
    found.diskGiB !== undefined && found.diskGiB !== wanted.disk ? `disk grows ${found.diskGiB} -> ${show("disk")} GiB` : "",
  ].filter(Boolean);
  will.push(
    `adopt profile ${found.name} in place: its VM, images and volumes stay; no provisioning start${changes.length > 0 ? `; ${changes.join(", ")} when the LaunchDaemon starts it` : ""}`,
  );
  return { found, findings, will };
}
