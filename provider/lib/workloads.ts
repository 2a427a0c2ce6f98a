// The workloads gate: after a start, every container that Docker brings back by itself — restart
// policy `always` or `unless-stopped` — is running, and healthy where it has a healthcheck. The
// supervisor waits for the same (provider/supervisor.sh workloads_check) and writes its times to
// its `workloads` file (provider/lib/supervisor.ts); `pulumi up`'s health gate waits too
// (provider/healthGate.ts) and reads those times; fleet status shows them.
//
// Docker has no filter for a restart policy (docker/cli docs/reference/commandline/container_ls.md:
// status, health, label, …), so every container is inspected. Which ones are expected back is
// moby's rule when dockerd starts (daemon/daemon.go restore: `c.ShouldRestart() &&
// c.HasBeenStartedBefore`; restartmanager.go: `always` even after a manual stop, `unless-stopped`
// unless stopped by hand), read from what `docker inspect` shows, which does not show the manual
// stop itself:
// - never started (`.State.StartedAt` zero): not expected (restore leaves it `created`);
// - `unless-stopped`, exited with no `.State.Error`: stopped by hand (or it exited while Docker ran):
//   restore did not start it, and is right not to — not expected;
// - `always`, exited with no error after Docker first answered after this start (its
//   `.State.FinishedAt` later): stopped by hand since — not expected; exited before: restore should
//   have started it — expected;
// - a start that failed (`.State.Error` set) is expected: it is what the gate is for.
import type { Mac } from "./mac";

/** The `docker inspect --format` line the rule reads: name, policy, status, health (`none` without
 *  a healthcheck: `.State.Health` is absent then, moby api/types/container/health.go, and the
 *  template must not reach into it), started, finished, then the error (the rest of the line). */
export const INSPECT_FORMAT =
  "{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.State.Error}}";

export interface Workload {
  name: string;
  policy: string;
  status: string;
  /** `none` without a healthcheck; else starting, healthy or unhealthy. */
  health: string;
  startedAt: string;
  finishedAt: string;
  error: string;
}

export function parseInspect(text: string): Workload[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const [name = "", policy = "", status = "", health = "", startedAt = "", finishedAt = "", ...error] = line.trim().split(" ");
      return { name: name.replace(/^\//, ""), policy, status, health, startedAt, finishedAt, error: error.join(" ") };
    });
}

/** Is `c` one Docker should have brought back (the rule above)? `dockerUp`: when the Docker API first
 *  answered after this start (RFC 3339, UTC), if known. */
export function expected(c: Workload, dockerUp?: string): boolean {
  if (c.policy !== "always" && c.policy !== "unless-stopped") return false;
  if (!c.startedAt || c.startedAt.startsWith("0001-")) return false;
  const stopped = ["exited", "dead", "created"].includes(c.status);
  if (stopped && !c.error) {
    if (c.policy === "unless-stopped") return false;
    if (dockerUp && c.finishedAt > dockerUp) return false;
  }
  return true;
}

/** Running (or paused by hand), and healthy where it has a healthcheck. */
export function ready(c: Workload): boolean {
  return (c.status === "running" || c.status === "paused") && (c.health === "none" || c.health === "healthy");
}

/** What an operator reads about one container that is not ready. */
export function describe(c: Workload): string {
  const health = c.health === "none" ? "no healthcheck" : `health ${c.health}`;
  return `${c.name} (restart ${c.policy}, ${c.status}, ${health}${c.error ? `, error: ${c.error}` : ""})`;
}

/** Every container's line, through the Mac's docker CLI as the Homebrew user. */
export async function inspectAll(mac: Mac, docker: string, socket: string, timeoutMs: number): Promise<Workload[]> {
  const until = Date.now() + timeoutMs;
  const host = ["--host", `unix://${socket}`];
  const ids = await mac.asUser([docker, ...host, "ps", "-aq"], { allowFailure: true, timeoutMs });
  if (ids.exitCode !== 0) throw new Error(`docker ps -aq: ${ids.stderr.trim().split("\n").pop()}`);
  const list = ids.stdout.split("\n").filter((l) => l.trim());
  if (list.length === 0) return [];
  const r = await mac.asUser([docker, ...host, "inspect", "--format", INSPECT_FORMAT, ...list], {
    allowFailure: true,
    timeoutMs: Math.max(1, until - Date.now()),
  });
  // A container removed between the two commands is missing from the output (and makes the exit 1).
  if (r.exitCode !== 0 && !r.stdout.trim()) throw new Error(`docker inspect: ${r.stderr.trim().split("\n").pop()}`);
  return parseInspect(r.stdout);
}

/** The supervisor's `workloads` file: `key value` lines it writes after a start. */
export interface WorkloadTimes {
  /** The Mac's boot (epoch seconds, `sysctl kern.boottime`). */
  boot?: number;
  /** When the Docker API first answered after this start (RFC 3339, UTC). */
  dockerUp?: string;
  bootToDockerSeconds?: number;
  bootToWorkloadsSeconds?: number;
  /** The supervisor's wait ended without them: the containers it named. */
  notReady?: string;
}

export function parseTimes(text: string | undefined): WorkloadTimes {
  const t: WorkloadTimes = {};
  for (const line of (text ?? "").split("\n")) {
    const [key, ...rest] = line.split(" ");
    const value = rest.join(" ").trim();
    const n = /^\d+$/.test(value) ? Number(value) : undefined;
    if (key === "boot" && n !== undefined) t.boot = n;
    else if (key === "docker_up" && value) t.dockerUp = value;
    else if (key === "boot_to_docker" && n !== undefined) t.bootToDockerSeconds = n;
    else if (key === "boot_to_workloads" && n !== undefined) t.bootToWorkloadsSeconds = n;
    else if (key === "not_ready" && value) t.notReady = value;
  }
  return t;
}

/** `1m05s`, `42s`, `1h02m`: for status columns. */
export function shortSeconds(s: number | undefined): string {
  if (s === undefined) return "-";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
