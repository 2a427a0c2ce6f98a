// The adoption rules both the program (stacks/adoptionPlan.ts, in the preview) and ColimaProfile
// (on the Mac, at create: it may have changed since the preview) apply to a profile that is
// already there, and the full-reset decision they share. Pure: the program and the provider load
// this same module.
import type { FoundProfile } from "./survey";

/** A full reset asked for on the command line for this run (`npm run reset`, scripts/decide.ts). */
export interface ResetDecision {
  /** When it was decided (UTC, `YYYYMMDDTHHMMSSZ`): names the backup folder; one reset per id. */
  id: string;
  /** move: the state goes to `folder` first; false: deleted without a backup (asked for). */
  backup: "move" | "false";
  /** The backup folder on the Mac ("" with backup=false). */
  folder: string;
}

/** A restore asked for on the command line for this run (`npm run restore`, scripts/decide.ts). */
export interface RestoreDecision {
  /** When it was decided (UTC, `YYYYMMDDTHHMMSSZ`): names the folder the current state goes to. */
  id: string;
  /** The backup folder to put back (a full reset's, or an earlier restore's "before" folder). */
  from: string;
  /** Where the profile's current state goes first. */
  aside: string;
}

/** The reset command, the one way to convert a profile (docs/OPERATIONS.md "Adopting a Mac that already runs Colima"). */
export const RESET_COMMAND = "npm run reset";

/** Why a found profile cannot be adopted as it is (vm type, runtime), or undefined. */
export function notAdoptable(found: Pick<FoundProfile, "name" | "vmType" | "runtime">): string | undefined {
  if (found.vmType && found.vmType !== "qemu")
    return `profile ${found.name} was created with vm type ${found.vmType}; Colima fixes the vm type at creation, and colima-pulse runs QEMU only`;
  if (found.runtime && found.runtime !== "docker")
    return `profile ${found.name} was created with runtime ${found.runtime}; Colima fixes the runtime at creation, and colima-pulse runs Docker only`;
  return undefined;
}

/** Whether Colima's recorded arch is `wanted` (aarch64 | x86_64): Colima also writes `host`
 *  (its default, environment/vm.go) and the arm64/amd64 spellings it accepts on the command line. */
export function sameArch(recorded: string, wanted: string): boolean {
  const spelled: Record<string, string> = { arm64: "aarch64", amd64: "x86_64" };
  return recorded === "" || recorded === "host" || (spelled[recorded] ?? recorded) === wanted;
}

/** The folders a full reset moves, and where each goes inside the backup folder. */
export function resetMoves(found: Pick<FoundProfile, "folders">, folder: string): [from: string, to: string][] {
  return [
    [found.folders.config, `${folder}/config`],
    [found.folders.instance, `${folder}/instance`],
    [found.folders.disk, `${folder}/disk`],
  ];
}

/** The top-level `key: value` lines of a Colima YAML file (colima.yaml; nested keys ignored). */
export function topLevelYaml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z][\w]*):[ \t]*([^#\n]*?)[ \t]*(?:#.*)?$/.exec(line);
    if (m?.[2]) out[m[1] as string] = (m[2] as string).replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}
