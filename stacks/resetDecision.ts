// The full-reset decision, read from the environment of this one run. Only scripts/reset.sh
// (`npm run reset`) sets these variables, for the one `pulumi up` it runs; no layer of settings
// can (README "Safety model"). The program turns the decision into an input of ColimaProfile, so
// the preview shows the reset, its backup folder and what goes into it before Pulumi asks.
//   COLIMA_PULSE_FULL_RESET  the profile to reset (must be this stack's COLIMA_PROFILE)
//   COLIMA_PULSE_BACKUP      move (default) | false
//   COLIMA_PULSE_RESET_ID    when it was decided, UTC YYYYMMDDTHHMMSSZ: names the backup folder,
//                            and a decision older than an hour is refused (a variable left
//                            exported in a shell must not reset the next run's Mac)
import type { ResetDecision } from "../provider/lib/adoption";
import { ConfigError } from "./config";

export const RESET_VALID_MINUTES = 60;

/** The decision in `env` for `profile`, undefined when there is none; ConfigError when it is malformed. */
export function readResetDecision(env: NodeJS.ProcessEnv, profile: string, backupDir: string, now = new Date()): ResetDecision | undefined {
  const target = env.COLIMA_PULSE_FULL_RESET;
  if (target === undefined || target === "") return undefined;
  const problems: string[] = [];
  const where = (key: string) => `${key} (environment, set by npm run reset) = ${JSON.stringify(env[key] ?? "")}`;
  if (target !== profile)
    problems.push(`${where("COLIMA_PULSE_FULL_RESET")}: names another profile than this stack's COLIMA_PROFILE (${profile})`);
  const backup = env.COLIMA_PULSE_BACKUP ?? "move";
  if (backup !== "move" && backup !== "false") problems.push(`${where("COLIMA_PULSE_BACKUP")}: must be move or false`);
  const id = env.COLIMA_PULSE_RESET_ID ?? "";
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) {
    problems.push(`${where("COLIMA_PULSE_RESET_ID")}: must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run reset)`);
  } else {
    const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    const age = (now.getTime() - at) / 60_000;
    if (age > RESET_VALID_MINUTES || age < -5)
      problems.push(
        `${where("COLIMA_PULSE_RESET_ID")}: a reset decision is valid for ${RESET_VALID_MINUTES} minutes after it was made; run npm run reset again`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    id,
    backup: backup as ResetDecision["backup"],
    folder: backup === "move" ? `${backupDir.replace(/\/+$/, "")}/${id}-${profile}` : "",
  };
}
