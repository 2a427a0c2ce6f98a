// Other autostarts on a simulated Mac: launchd jobs someone else wrote that start a Colima profile —
// a hand-written one (any label), and a console login that loads a user's LaunchAgents.
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { build } from "plist";
import type { MacSimulator } from "../simulator/simulator";
import { askLaunchd } from "../simulator/tools/launchctl";

export interface PlantedJob {
  label: string;
  programArguments: string[];
  /** "daemon": /Library/LaunchDaemons (root's, 0644); "agent": the user's ~/Library/LaunchAgents. */
  where: "daemon" | "agent";
  /** A daemon's UserName. */
  userName?: string;
  environment?: Record<string, string>;
  workingDirectory?: string;
  /** Bootstrap it now (the daemon into system, the agent into gui/<uid>). */
  load?: boolean;
}

/** Writes a hand-made launchd job (and loads it when asked); returns its plist's path. */
export async function plantJob(sim: MacSimulator, job: PlantedJob, user = sim.operator): Promise<string> {
  const info = sim.world.userInfo(user);
  if (!info) throw new Error(`no simulated user ${user}`);
  const path =
    job.where === "daemon"
      ? sim.path(`/Library/LaunchDaemons/${job.label}.plist`)
      : `${sim.world.home(user)}/Library/LaunchAgents/${job.label}.plist`;
  mkdirSync(dirname(path), { recursive: true });
  const def = {
    Label: job.label,
    ...(job.userName ? { UserName: job.userName } : {}),
    ProgramArguments: job.programArguments,
    ...(job.environment ? { EnvironmentVariables: job.environment } : {}),
    ...(job.workingDirectory ? { WorkingDirectory: job.workingDirectory } : {}),
    RunAtLoad: false,
  };
  writeFileSync(path, build(def as never), { mode: 0o644 });
  if (job.where === "agent") chownSync(path, info.uid, info.gid);
  if (job.load) {
    const domain = job.where === "daemon" ? "system" : `gui/${info.uid}`;
    const r = await askLaunchd(sim.world, { cmd: "bootstrap", domain, paths: [path], user: "root" });
    if (r.code !== 0) throw new Error(`bootstrap ${domain} ${path}: ${r.stderr}`);
  }
  return path;
}

/** `user` logs in at the console: launchd loads their ~/Library/LaunchAgents into gui/<uid>. */
export async function consoleLogin(sim: MacSimulator, user = sim.operator): Promise<void> {
  sim.world.updateState((s) => {
    if (!s.loggedIn.includes(user)) s.loggedIn.push(user);
  });
  const r = await askLaunchd(sim.world, { login: user, user });
  if (r.code !== 0) throw new Error(`login ${user}: ${r.stderr}`);
}
