// The policy packs every preview and up of a Mac runs with (fleet/runner.ts, through the
// Automation API's `policyPacks`; scripts/converge.sh passes the same path to `pulumi up`), and
// what a refused run's engine events say about it.
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** The fleet's guardrails (policy/analyzer, an executable the engine starts as the pack) of the
 *  project in `workDir`. */
export function policyPacks(workDir: string): string[] {
  return [join(workDir, "policy", "analyzer")];
}

/** A mandatory rule's violation in an engine event, as one line for the fleet's summary
 *  (`policy api-hang-restart: API_HANG_SECONDS = 0 …`); undefined for any other event, and for an
 *  advisory rule's warning (the run goes on). The engine's own error after it only says
 *  "preview failed". */
export function mandatoryViolation(event: EngineEvent): string | undefined {
  const p = event.policyEvent;
  if (p?.enforcementLevel !== "mandatory") return undefined;
  return `policy ${p.policyName}: ${p.message.replace(/\s*\n\s*/g, " ").trim()}`;
}
