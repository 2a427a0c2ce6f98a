// The policy packs every preview and up of a Mac runs with (fleet/runner.ts, through the
// Automation API's `policyPacks`; scripts/converge.sh passes the same path to `pulumi up`).
import { join } from "node:path";

/** The fleet's guardrails (policy/analyzer, an executable the engine starts as the pack) of the
 *  project in `workDir`. */
export function policyPacks(workDir: string): string[] {
  return [join(workDir, "policy", "analyzer")];
}
