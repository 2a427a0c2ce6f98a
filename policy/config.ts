// The fleet's settings for its guardrails: policy/config.json, in the shape of Pulumi's policy
// config (`{"<rule>": {"enforcementLevel": …, "<property>": …}}`, pulumi/pulumi
// pkg/resource/analyzer/config.go), handed to the engine as the pack's initial config. Checked
// here first, so a mistake names the file, the key, the value and what is allowed, and the run
// stops before anything changes. A rule may be made advisory (a warning); never disabled: the
// guardrails are the point (docs/OPERATIONS.md "Guardrails").
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EnforcementLevel, PolicyPackConfig } from "@pulumi/policy";
import { FORMULAE, POLICIES } from "./rules";

export const CONFIG_FILE = join(__dirname, "config.json");
const LEVELS: EnforcementLevel[] = ["mandatory", "advisory"];
const VERSION = /^[0-9]+(\.[0-9]+)*$/;

export class PolicyConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Invalid guardrail settings in ${file} (nothing was run):\n${problems.map((p) => ` - ${p}`).join("\n")}`);
  }
}

/** The pack's config from `text` (the contents of `file`); throws PolicyConfigError listing every problem. */
export function parsePolicyConfig(text: string, file: string): PolicyPackConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyConfigError(file, [`is not JSON: ${(e as Error).message}`]);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new PolicyConfigError(file, ["must be a JSON object of rule names"]);
  const problems: string[] = [];
  const names = POLICIES.map((p) => p.name);
  for (const [rule, value] of Object.entries(doc)) {
    if (!names.includes(rule)) {
      problems.push(`${JSON.stringify(rule)}: no such rule; the rules are ${names.join(", ")}`);
      continue;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      problems.push(`${rule} = ${JSON.stringify(value)}: must be an object such as {"enforcementLevel": "advisory"}`);
      continue;
    }
    for (const [key, v] of Object.entries(value)) {
      const where = `${rule}.${key} = ${JSON.stringify(v)}`;
      if (key === "enforcementLevel") {
        if (!LEVELS.includes(v as EnforcementLevel))
          problems.push(
            `${where}: must be ${LEVELS.join(" or ")}; a guardrail cannot be turned off (make it advisory to have it warn only)`,
          );
      } else if (rule === "minimum-versions" && (FORMULAE as readonly string[]).includes(key)) {
        if (typeof v !== "string" || !VERSION.test(v)) problems.push(`${where}: must be a version of dotted numbers such as "9.0.0"`);
      } else {
        const allowed = rule === "minimum-versions" ? `enforcementLevel, ${FORMULAE.join(", ")}` : "enforcementLevel";
        problems.push(`${where}: unknown key; allowed: ${allowed}`);
      }
    }
  }
  if (problems.length > 0) throw new PolicyConfigError(file, problems);
  // Every rule the file names gets its level spelled out: @pulumi/policy sends a rule's initial
  // config without one as the protocol's default level, which is advisory (its protoutil.ts
  // makeAnalyzerInfo; pulumi/pulumi proto/pulumi/analyzer.proto EnforcementLevel ADVISORY = 0),
  // and the engine would apply that over the rule's own mandatory (pkg/resource/analyzer/config.go applyConfig).
  return Object.fromEntries(
    Object.entries(doc as Record<string, Record<string, unknown>>).map(([rule, value]) => [
      rule,
      { enforcementLevel: "mandatory", ...value },
    ]),
  ) as PolicyPackConfig;
}

/** policy/config.json, checked. */
export function readPolicyConfig(file = CONFIG_FILE): PolicyPackConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyConfigError(file, [`cannot be read: ${(e as Error).message}`]);
  }
  return parsePolicyConfig(text, file);
}
