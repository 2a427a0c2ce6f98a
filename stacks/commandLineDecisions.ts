// Decisions made on the command line for one run, read from that run's environment. Only the
// project's scripts set these variables, for the one `pulumi up` they start; no layer of
// settings can (README "Safety model"). The program turns each decision into a resource input,
// so the preview shows it — what moves where, what is upgraded to what — before Pulumi asks.
//
//   npm run reset   (scripts/decide.ts)
//     COLIMA_PULSE_FULL_RESET  the profile to reset (must be this stack's COLIMA_PROFILE)
//     COLIMA_PULSE_BACKUP      move (default) | false
//     COLIMA_PULSE_RESET_ID    when it was decided
//   npm run restore (scripts/decide.ts)
//     COLIMA_PULSE_RESTORE     the backup folder to put back as this stack's profile
//     COLIMA_PULSE_RESTORE_ID  when it was decided
//   npm run upgrade (scripts/decide.ts)
//     COLIMA_PULSE_UPGRADE_ID  when it was decided
//   npm run remove-stale-jobs (scripts/decide.ts)
//     COLIMA_PULSE_REMOVE_STALE_JOBS_ID  when it was decided
//   every one of them
//     COLIMA_PULSE_DECISION_STACK  the stack it was made for, <project>/<stack>
//
// A decision names its stack: one left in the operator's environment must not reach another Mac
// (the fleet runner refuses to start with any of these set, and strips them: fleet/runner.ts).
// A decision's id is its UTC time, YYYYMMDDTHHMMSSZ: it names the backup folder, a resource
// carries out each id once, and one older than an hour is refused (a variable left exported in a
// shell must not reset or upgrade the next run's Mac).
import type { ResetDecision, RestoreDecision } from "../provider/lib/adoption";
import { isBackupOf } from "../provider/lib/backups";
import { ConfigError } from "./config";

export const DECISION_VALID_MINUTES = 60;

/** Every variable that carries a decision; the fleet runner refuses and strips each (fleet/runner.ts). */
export const DECISION_VARIABLES = [
  "COLIMA_PULSE_FULL_RESET",
  "COLIMA_PULSE_BACKUP",
  "COLIMA_PULSE_RESET_ID",
  "COLIMA_PULSE_RESTORE",
  "COLIMA_PULSE_RESTORE_ID",
  "COLIMA_PULSE_UPGRADE_ID",
  "COLIMA_PULSE_REMOVE_STALE_JOBS_ID",
  "COLIMA_PULSE_DECISION_STACK",
] as const;

/** The decision variables set in `env` (an empty one too: it is no decision, but it is no one's). */
export function decisionVariablesIn(env: NodeJS.ProcessEnv): string[] {
  return DECISION_VARIABLES.filter((k) => env[k] !== undefined);
}

/** What a decision names as its stack: `<project>/<stack>` (Pulumi.yaml's name, the stack's name). */
export function decisionStack(project: string, stack: string): string {
  return `${project}/${stack}`;
}

/** Refuses a decision in `env` that does not name `stack` (decisionStack) as the one it was made
 *  for: one without COLIMA_PULSE_DECISION_STACK, or made on another stack. Runs before any decision
 *  is read, so a refused one changes nothing. */
export function checkDecisionStack(env: NodeJS.ProcessEnv, stack: string): void {
  const set = DECISION_VARIABLES.filter((k) => k !== "COLIMA_PULSE_DECISION_STACK" && env[k]);
  if (set.length === 0) return;
  const named = env.COLIMA_PULSE_DECISION_STACK ?? "";
  if (named === stack) return;
  const what = set.map((k) => `${k}=${JSON.stringify(env[k])}`).join(", ");
  throw new ConfigError([
    named
      ? `COLIMA_PULSE_DECISION_STACK (environment) = ${JSON.stringify(named)}: the decision (${what}) was made for stack ${named}, and this run is stack ${stack}; a decision is carried out only on the stack it was made for — run npm run reset, restore, upgrade or remove-stale-jobs for ${stack} itself`
      : `COLIMA_PULSE_DECISION_STACK (environment) is not set: the decision (${what}) names no stack, and this run is stack ${stack}; only npm run reset, restore, upgrade and remove-stale-jobs make a decision, for one stack — unset these variables, or run that command for ${stack}`,
  ]);
}

const where = (env: NodeJS.ProcessEnv, key: string, script: string) =>
  `${key} (environment, set by npm run ${script}) = ${JSON.stringify(env[key] ?? "")}`;

/** Problems with the decision id in `env[key]` (format, age), as ConfigError lines. */
function idProblems(env: NodeJS.ProcessEnv, key: string, script: string, now: Date): string[] {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(env[key] ?? "");
  if (!m) return [`${where(env, key, script)}: must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run ${script})`];
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const age = (now.getTime() - at) / 60_000;
  return age > DECISION_VALID_MINUTES || age < -5
    ? [
        `${where(env, key, script)}: a decision is valid for ${DECISION_VALID_MINUTES} minutes after it was made; run npm run ${script} again`,
      ]
    : [];
}

/** The full-reset decision in `env` for `profile`, undefined when there is none. */
export function readResetDecision(env: NodeJS.ProcessEnv, profile: string, backupDir: string, now = new Date()): ResetDecision | undefined {
  const target = env.COLIMA_PULSE_FULL_RESET;
  if (target === undefined || target === "") return undefined;
  const problems: string[] = [];
  if (target !== profile)
    problems.push(`${where(env, "COLIMA_PULSE_FULL_RESET", "reset")}: names another profile than this stack's COLIMA_PROFILE (${profile})`);
  const backup = env.COLIMA_PULSE_BACKUP ?? "move";
  if (backup !== "move" && backup !== "false") problems.push(`${where(env, "COLIMA_PULSE_BACKUP", "reset")}: must be move or false`);
  problems.push(...idProblems(env, "COLIMA_PULSE_RESET_ID", "reset", now));
  if (problems.length > 0) throw new ConfigError(problems);
  const id = env.COLIMA_PULSE_RESET_ID as string;
  return {
    id,
    backup: backup as ResetDecision["backup"],
    folder: backup === "move" ? `${backupDir.replace(/\/+$/, "")}/${id}-${profile}` : "",
  };
}

/** The upgrade decision's id in `env`, undefined when there is none. */
export function readUpgradeDecision(env: NodeJS.ProcessEnv, now = new Date()): string | undefined {
  if (!env.COLIMA_PULSE_UPGRADE_ID) return undefined;
  const problems = idProblems(env, "COLIMA_PULSE_UPGRADE_ID", "upgrade", now);
  if (problems.length > 0) throw new ConfigError(problems);
  return env.COLIMA_PULSE_UPGRADE_ID;
}

/** The decision to remove stale colima-pulse jobs (`npm run remove-stale-jobs`): its id, undefined
 *  when there is none. */
export function readRemoveStaleDecision(env: NodeJS.ProcessEnv, now = new Date()): string | undefined {
  if (!env.COLIMA_PULSE_REMOVE_STALE_JOBS_ID) return undefined;
  const problems = idProblems(env, "COLIMA_PULSE_REMOVE_STALE_JOBS_ID", "remove-stale-jobs", now);
  if (problems.length > 0) throw new ConfigError(problems);
  return env.COLIMA_PULSE_REMOVE_STALE_JOBS_ID;
}

/** The restore decision in `env` for `profile` (paths as on the Mac; `onMac` maps one to where the
 *  program reaches it, as `backupDir` is given), undefined when there is none. */
export function readRestoreDecision(
  env: NodeJS.ProcessEnv,
  profile: string,
  backupDir: string,
  onMac: (path: string) => string,
  now = new Date(),
): RestoreDecision | undefined {
  const from = env.COLIMA_PULSE_RESTORE;
  if (from === undefined || from === "") return undefined;
  const problems: string[] = [];
  if (env.COLIMA_PULSE_FULL_RESET)
    problems.push(`${where(env, "COLIMA_PULSE_RESTORE", "restore")}: a run is a full reset or a restore, not both`);
  const name = from.replace(/\/+$/, "").split("/").pop() ?? "";
  const base = backupDir.replace(/\/+$/, "");
  if (!/^\/(?:[A-Za-z0-9._@+-]+\/?)*$/.test(from) || from.split("/").some((part) => part === ".." || part === "."))
    problems.push(
      `${where(env, "COLIMA_PULSE_RESTORE", "restore")}: must be the absolute path of a backup folder directly in BACKUP_DIR_BASE (${base}) (letters, digits and ._@+-, no '..')`,
    );
  else {
    if (!isBackupOf(name, profile))
      problems.push(
        `${where(env, "COLIMA_PULSE_RESTORE", "restore")}: is not a backup of profile ${profile} (this stack's COLIMA_PROFILE): colima-pulse names them <YYYYMMDDTHHMMSSZ>-${profile} (a full reset), <YYYYMMDDTHHMMSSZ>-${profile}-before-restore or <YYYYMMDDTHHMMSSZ>-${profile}-before-upgrade; \`npm run fleet -- status\` lists them`,
      );
    // Only what a reset or a restore left in BACKUP_DIR_BASE: a folder elsewhere may be anyone's
    // (a profile planted in /tmp would run as the Homebrew user's Docker). The Mac resolves its
    // symlinks before the restore (provider/lib/backups.ts restoreSourceProblem).
    if (onMac(from.replace(/\/+$/, "").replace(/\/[^/]*$/, "")) !== base)
      problems.push(
        `${where(env, "COLIMA_PULSE_RESTORE", "restore")}: is not in BACKUP_DIR_BASE (${base}): a restore takes only a backup folder directly in it, where a full reset, a restore or an upgrade made it; \`npm run fleet -- status\` lists them`,
      );
  }
  problems.push(...idProblems(env, "COLIMA_PULSE_RESTORE_ID", "restore", now));
  if (problems.length > 0) throw new ConfigError(problems);
  const id = env.COLIMA_PULSE_RESTORE_ID as string;
  return { id, from: onMac(from.replace(/\/+$/, "")), aside: `${backupDir.replace(/\/+$/, "")}/${id}-${profile}-before-restore` };
}
