// The LaunchDaemon's supervisor as the rest of colima-pulse sees it from outside: the files it
// keeps beside the profile's (~/.colima, the Homebrew user's), whether it runs, and when it has
// given up. The supervisor itself is provider/supervisor.sh, rendered with this Mac's settings by
// provider/launchDaemon.ts (renderSupervisor); the program's survey, the LaunchDaemon's diff,
// DockerAccess and fleet status ask this module, never the file names.
import { type Host, homeOf, hostPath, type ProcessInfo } from "./host";
import type { Mac } from "./mac";

/** Its files: its counts of failed starts and of hung-API stops in a row, the group DockerAccess
 *  gives the socket, the pipe colima's output goes through to the log, and `pruning`: there from
 *  a start that prunes (PRUNE_DOCKER_AFTER_START) until that prune has ended (it holds the prune's
 *  output meanwhile): the health gate waits for it to go (provider/healthGate.ts). */
export function supervisorFiles(host: Host, profile: string) {
  const base = `${homeOf(host)}/.colima/.colima-pulse-${profile}`;
  return {
    failures: `${base}.failures`,
    hangs: `${base}.hangs`,
    socketGroup: `${base}.socket-group`,
    output: `${base}.output`,
    pruning: `${base}.pruning`,
    /** The times of the last start: boot to the Docker API, boot to the workloads
     *  (provider/lib/workloads.ts parseTimes; written by provider/supervisor.sh workloads_check). */
    workloads: `${base}.workloads`,
  };
}

/** How long the supervisor gives the prune after a start before it stops it (provider/supervisor.sh). */
export const PRUNE_MAX_SECONDS = 300;

/** Where the LaunchDaemon keeps the supervisor of job `label`. */
export function supervisorScript(host: Pick<Host, "root">, label: string): string {
  return hostPath(host, `/Library/Application Support/colima-pulse/${label}.sh`);
}

/** The supervisor as seen on the Mac now. */
export interface SupervisorSeen {
  /** Its process runs (launchd started it and it has not exited). */
  running: boolean;
  /** Failed starts in a row (its `.failures` file). */
  failedStarts: number;
  /** Stops of a VM whose Docker API stopped answering, in a row (its `.hangs` file). */
  hungStops: number;
}

/** Whether the supervisor gave up: MAX_FAILED_STARTS failed starts in a row, or a Docker API that
 *  stopped answering again after MAX_FAILED_STARTS restarts in a row (provider/supervisor.sh). */
export function gaveUp(seen: SupervisorSeen, maxFailedStarts: number): boolean {
  return !seen.running && (seen.failedStarts >= maxFailedStarts || seen.hungStops > maxFailedStarts);
}

/** Why it is not running, in the words its log uses. */
export function notRunningBecause(seen: SupervisorSeen, maxFailedStarts: number): string {
  if (seen.failedStarts >= maxFailedStarts) return `gave up after ${seen.failedStarts} failed starts in a row`;
  if (seen.hungStops > maxFailedStarts) return `gave up after ${maxFailedStarts} restarts in a row for a Docker API that stopped answering`;
  return seen.failedStarts > 0 || seen.hungStops > 0 ? "between two attempts (launchd's ThrottleInterval)" : "stopped";
}

/** Reads the supervisor of job `label` for `profile` (read-only: ps and two small files). */
export async function readSupervisor(mac: Mac, label: string, profile: string, procs?: ProcessInfo[]): Promise<SupervisorSeen> {
  const files = supervisorFiles(mac.host, profile);
  const script = supervisorScript(mac.host, label);
  const count = async (file: string) => Number.parseInt((await mac.readFile(file))?.trim() ?? "0", 10) || 0;
  const [list, failedStarts, hungStops] = await Promise.all([procs ?? mac.listProcesses(), count(files.failures), count(files.hangs)]);
  // launchd runs it as `/bin/sh <script>` (the plist's ProgramArguments).
  const running = list.some((p) => p.command.includes(` ${script}`) && /(^|\/)sh /.test(p.command));
  return { running, failedStarts, hungStops };
}
