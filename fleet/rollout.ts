// `fleet up --canary N`: the first N Macs of the (sorted) selection are converged first; the rest
// start only when every canary's `up` succeeded. A successful up is the Mac's gates and smoke test
// passed: HealthGate and SmokeContainer are resources of every Mac's stack, the smoke test after
// the gates (components/colimaPulse.ts), and an up fails when either does. A failed canary stops
// the rollout: nothing more starts, the others are reported skipped, the exit code is 1.
import type { MacResult, RunOptions } from "./runner";

export interface RolloutPlan {
  /** Converged first, at most `parallel` (and N) at a time. */
  canaries: string[];
  /** Started only when every canary succeeded. */
  rest: string[];
}

/** `--canary`'s value, or an error naming the option, the value and what is allowed. */
export function parseCanary(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10000)
    throw new Error(
      `--canary (command line) = ${JSON.stringify(value)}: must be a whole number from 1 to 10000 (the Macs converged first)`,
    );
  return Number(value);
}

/** The canaries (the first `count` stacks in name order) and the rest, in name order. */
export function rolloutPlan(stacks: string[], count: number): RolloutPlan {
  const sorted = [...stacks].sort();
  return { canaries: sorted.slice(0, count), rest: sorted.slice(count) };
}

/** What the run says before it starts: the canaries, or that every Mac is one. */
export function rolloutNote(plan: RolloutPlan, count: number): string {
  if (plan.rest.length === 0)
    return `--canary ${count}: that is all ${plan.canaries.length} selected Macs, so every Mac is a canary: ${plan.canaries.join(", ")}`;
  return `canaries first: ${plan.canaries.join(", ")}; the other ${plan.rest.length} only when every canary passed its gates and smoke test`;
}

/** The canaries that failed, in order; none: the rollout goes on. */
export function failedCanaries(plan: RolloutPlan, results: MacResult[]): string[] {
  return results.filter((r) => plan.canaries.includes(r.stack) && !r.ok).map((r) => r.stack);
}

/** The result of a Mac never started because a canary failed. */
export function skipped(stack: string): MacResult {
  return { stack, ok: false, skipped: "canary failed", stage: "not started", detail: "skipped (canary failed)", elapsedMs: 0, log: "" };
}

/** `up` on the canaries, then, only if every one succeeded, on the rest; one result per stack, the
 *  canaries first. `run` is runner.ts runFleet (a stand-in in the unit tests). */
export async function runRollout(
  plan: RolloutPlan,
  options: RunOptions,
  run: (operation: "up", options: RunOptions) => Promise<MacResult[]>,
): Promise<{ results: MacResult[]; stoppedBy: string[] }> {
  const first = await run("up", { ...options, stacks: plan.canaries, parallel: Math.min(options.parallel, plan.canaries.length) });
  const stoppedBy = failedCanaries(plan, first);
  if (stoppedBy.length > 0 || plan.rest.length === 0) return { results: [...first, ...plan.rest.map(skipped)], stoppedBy };
  return { results: [...first, ...(await run("up", { ...options, stacks: plan.rest }))], stoppedBy };
}

/** The run's last line when a canary failed; undefined when none did. */
export function rolloutStopped(stoppedBy: string[], skippedCount: number, logDir: string): string | undefined {
  if (stoppedBy.length === 0) return undefined;
  const who = stoppedBy.length === 1 ? `canary ${stoppedBy[0]} failed` : `canaries ${stoppedBy.join(", ")} failed`;
  return `rollout stopped: ${who}; ${skippedCount} ${skippedCount === 1 ? "Mac" : "Macs"} not started (logs: ${logDir})`;
}
