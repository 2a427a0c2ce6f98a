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
//
// A decision's id is its UTC time, YYYYMMDDTHHMMSSZ: it names the backup folder, a resource
// carries out each id once, and one older than an hour is refused (a variable left exported in a
// shell must not reset or upgrade the next run's Mac).
import type { ResetDecision, RestoreDecision } from "../provider/lib/adoption";
import { isBackupOf } from "../provider/lib/backups";
import { ConfigError } from "./config";

export const DECISION_VALID_MINUTES = 60;

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

/** The restore decision in `env` for `profile` (paths as on the Mac; `onMac` maps one to where the
 *  program reaches it), undefined when there is none. */
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
  if (!/^\/(?:[A-Za-z0-9._@+-]+\/?)*$/.test(from) || from.split("/").includes(".."))
    problems.push(
      `${where(env, "COLIMA_PULSE_RESTORE", "restore")}: must be the absolute path of a backup folder (letters, digits and ._@+-, no '..')`,
    );
  else if (!isBackupOf(name, profile))
    problems.push(
      `${where(env, "COLIMA_PULSE_RESTORE", "restore")}: is not a backup of profile ${profile} (this stack's COLIMA_PROFILE): colima-pulse names them <YYYYMMDDTHHMMSSZ>-${profile} (a full reset) or <YYYYMMDDTHHMMSSZ>-${profile}-before-restore; \`npm run fleet -- status\` lists them`,
    );
  problems.push(...idProblems(env, "COLIMA_PULSE_RESTORE_ID", "restore", now));
  if (problems.length > 0) throw new ConfigError(problems);
  const id = env.COLIMA_PULSE_RESTORE_ID as string;
  return { id, from: onMac(from.replace(/\/+$/, "")), aside: `${backupDir.replace(/\/+$/, "")}/${id}-${profile}-before-restore` };
}
