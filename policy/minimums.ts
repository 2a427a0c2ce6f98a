// The fleet's minimum versions, without the policy SDK: the program (stacks/index.ts) refuses an
// install or upgrade below them in the preview, and the guardrail of the same name
// (policy/rules.ts minimumVersions) checks what is installed. Loading @pulumi/policy would pull
// the SDK's index into every program run (test/e2e/runCost.e2e.test.ts keeps it out).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const FORMULAE = ["colima", "lima", "qemu", "docker"] as const;
export type Formula = (typeof FORMULAE)[number];
/** The pack's defaults: the oldest releases the fleet runs. Colima's is the oldest colima-pulse
 *  can drive at all (provider/lib/colimaVersion.ts NEEDED_FLAGS); the others are the first
 *  releases of the series Homebrew shipped when colima-pulse was first run against them. */
export const DEFAULT_MINIMUMS: Record<Formula, string> = { colima: "0.8.2", lima: "1.0.0", qemu: "9.0.0", docker: "27.0.0" };

/** The fleet's config of its guardrails (policy/config.ts checks all of it, whenever the pack runs). */
export const POLICY_CONFIG_FILE = join(__dirname, "config.json");

/** The minimum of each formula: config.json's "minimum-versions" over the defaults. A file that is
 *  not JSON throws, naming it; its values are the pack's to check (policy/config.ts). */
export function minimumVersions(text = readFileSync(POLICY_CONFIG_FILE, "utf8")): Record<Formula, string> {
  let set: unknown;
  try {
    set = (JSON.parse(text) as Record<string, unknown>)["minimum-versions"];
  } catch (e) {
    throw new Error(`${POLICY_CONFIG_FILE}: not JSON (${(e as Error).message}); fix the file, then run again`);
  }
  const given = set !== null && typeof set === "object" ? (set as Record<string, unknown>) : {};
  return Object.fromEntries(FORMULAE.map((f) => [f, typeof given[f] === "string" ? (given[f] as string) : DEFAULT_MINIMUMS[f]])) as Record<
    Formula,
    string
  >;
}
