// The fleet's policy pack: serves policy/rules.ts to the Pulumi engine, configured by
// policy/config.json. Started by policy/analyzer (the executable the engine runs for
// `--policy-pack policy/analyzer`), from the checkout's root: @pulumi/policy takes the pack's
// version from the package.json of the folder it runs in (its policy.ts, PolicyPack).
import { PolicyPack } from "@pulumi/policy";
import { PolicyConfigError, readPolicyConfig } from "./config";
import { POLICIES } from "./rules";

try {
  new PolicyPack("colima-pulse", { policies: POLICIES, enforcementLevel: "mandatory" }, readPolicyConfig());
} catch (e) {
  // A bad config.json: its message alone (the engine shows the pack's stderr), and no pack served.
  if (!(e instanceof PolicyConfigError)) throw e;
  console.error(e.message);
  process.exit(1);
}
