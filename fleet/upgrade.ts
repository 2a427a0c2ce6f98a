// `npm run fleet -- upgrade [--canary N]`: colima, lima, qemu and docker upgraded on every selected
// Mac, as `npm run upgrade -- --yes` upgrades one (scripts/decide.ts), as a canary rollout
// (rollout.ts). The command is the decision, and the fleet never asks. Each Mac gets a decision of
// its own: its id is the UTC time its run starts (a decision is valid for 60 minutes, and the Macs
// after the canaries may start long after the command), bound to its stack alone
// (COLIMA_PULSE_DECISION_STACK=<project>/<stack>), handed to that stack's workspace only
// (runner.ts openStack) and never put in this process's environment, which every Mac's `pulumi`
// inherits. The program carries it out on that stack alone (stacks/commandLineDecisions.ts
// checkDecisionStack). Then the flow of up: a preview, which says what Homebrew will upgrade, and
// up where it passed; a canary's up passes only with its gates and smoke test after the upgrade.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { boundStack, type Decision, decisionEnv, decisionId } from "../scripts/decide";
import { type RolloutPlan, rolloutNote, rolloutPlan, runRollout } from "./rollout";
import type { MacResult, RunOptions } from "./runner";

/** Without --canary, an upgrade goes to one Mac first: Homebrew's new versions are new to every
 *  Mac at once, so the first Mac proves them before the others take them. */
export const UPGRADE_CANARY = 1;

/** What `npm run upgrade -- --yes` decides (scripts/decide.ts parseDecision). */
const UPGRADE: Decision = { command: "upgrade", yes: true, backup: "move", from: "", upArgs: [] };

/** Each stack's upgrade decision, made when it is asked for (when that Mac's run starts), bound to
 *  that stack (scripts/decide.ts boundStack, from the project's Pulumi.yaml). Only the `stacks`
 *  given get one: asked for any other, it throws (the runner then fails that Mac at its start). */
export function upgradeDecisions(
  stacks: string[],
  projectYaml: string,
  now: () => Date = () => new Date(),
): (stack: string) => Record<string, string> {
  const bound = new Map(stacks.map((s) => [s, boundStack(s, projectYaml)]));
  return (stack) => {
    const to = bound.get(stack);
    if (to === undefined) throw new Error(`fleet upgrade made no decision for stack ${stack} (the upgrade's Macs: ${stacks.join(", ")})`);
    return decisionEnv(UPGRADE, "", decisionId(now()), to);
  };
}

/** `fleet upgrade`: the rollout of `up` with each Mac's own upgrade decision, `canary` Macs first
 *  (UPGRADE_CANARY without --canary). `run` is runner.ts runFleet (a stand-in in the unit tests). */
export async function fleetUpgrade(
  options: RunOptions,
  canary: number | undefined,
  run: (operation: "up", options: RunOptions) => Promise<MacResult[]>,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<{ plan: RolloutPlan; results: MacResult[]; stoppedBy: string[] }> {
  const decisionEnvOf = upgradeDecisions(options.stacks, readFileSync(join(options.workDir, "Pulumi.yaml"), "utf8"));
  const count = canary ?? UPGRADE_CANARY;
  const plan = rolloutPlan(options.stacks, count);
  say(`${canary === undefined ? `upgrade: --canary ${UPGRADE_CANARY} unless given; ` : ""}${rolloutNote(plan, count)}`);
  return { plan, ...(await runRollout(plan, { ...options, decisionEnvOf }, run)) };
}
