// Upgrading colima-pulse on a converged Mac: state written by a version that stored each
// resource's provider by value (the whole implementation, more than 10 KB each: asserted below), then today's code, which
// stores a reference (provider/lib/byReference.ts). Preview and up change on the Mac only what the
// new version adds (announced), the stored providers become references, and update, replace,
// refresh and destroy run today's code.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot, type StateResource } from "../helpers/pulumiStack";
import { dockerAnswers, LABEL, mutating, plannedSteps, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

/** The last commit whose resources stored their provider by value (the full suite passed on it). */
const BY_VALUE = "25c35fa";

/** The size of each dynamic resource's stored provider text. */
function providerSizes(resources: StateResource[] = []): Record<string, number> {
  return Object.fromEntries(
    resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))
      .map((r) => [r.type.replace(/^.*:/, ""), String(r.inputs?.__provider ?? "").length]),
  );
}

/** Whether this clone has that commit (a shallow clone does not). */
const hasOldVersion = spawnSync("git", ["-C", repoRoot, "cat-file", "-e", `${BY_VALUE}^{commit}`]).status === 0;

describe("upgrading colima-pulse: providers stored by value, then by reference", {
  concurrency: false,
  skip: hasOldVersion ? false : `commit ${BY_VALUE} is not in this clone (a shallow clone): the old version cannot be checked out`,
}, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-provider-upgrade", {}, {}, BY_VALUE);
    // That version ran colima with the operator's PATH, as a terminal on a Mac has it: Homebrew's
    // bin first (`brew shellenv` in ~/.zprofile). Today's sets that PATH itself (Mac.asUser).
    mac.stack.setEnvironment({ PATH: `${mac.sim.path("/opt/homebrew/bin")}:${process.env.PATH}` });
    // That version ran under ts-node, which this checkout no longer installs: load it the way
    // today's loads its sources (scripts/prebuilt.cjs without a bundle: tsx's require hook), which
    // changes how the program is compiled, not what it stores.
    writeFileSync(join(mac.stack.dir, "stacks/main.cjs"), 'require("tsx/cjs");\nmodule.exports = require("./index.ts");\n');
    const project = join(mac.stack.dir, "Pulumi.yaml");
    writeFileSync(
      project,
      readFileSync(project, "utf8")
        .replace("typescript: true", "typescript: false")
        .replace("main: stacks/index.ts", "main: stacks/main.cjs"),
    );
  });
  after(async () => mac?.dispose());

  it("the old version converges a fresh Mac, storing each provider by value", async () => {
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const sizes = providerSizes((await mac.stack.state()).resources);
    assert.equal(Object.keys(sizes).length, 5, JSON.stringify(sizes));
    for (const [type, bytes] of Object.entries(sizes)) assert.ok(bytes > 10_000, `${type}: ${bytes} bytes`);
  });

  it("after the upgrade, the preview names exactly what the new version adds, and up does only that", async () => {
    mac.stack.upgradeProject();
    mac.sim.clearRecords();
    // Since that version: the supervisor watches the Docker API and logs by path (a reload,
    // announced, and the gates again), the log's newsyslog rule and the user's Docker context
    // (two new resources).
    const preview = await mac.stack.cli(["preview", "--json"]);
    assert.equal(preview.code, 0, preview.stdout + preview.stderr);
    assert.deepEqual(plannedSteps(preview.stdout).sort(), [
      "create pulumi-nodejs:dynamic/colima-pulse:DockerAccess::colima-docker-access",
      "create pulumi-nodejs:dynamic/colima-pulse:LogRotation::colima-log-rotation",
      "update pulumi-nodejs:dynamic/colima-pulse:HealthGate::colima-health",
      "update pulumi-nodejs:dynamic/colima-pulse:LaunchDaemon::colima-daemon",
    ]);
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const changed = mutating(mac.sim.records()).map((c) => c.replace(/^\d+ /, ""));
    assert.deepEqual(
      changed.filter((c) => !/^(launchctl (bootout|enable|bootstrap) |colima (start|stop) |limactl (start|stop) )/.test(c)),
      [],
      "nothing but the LaunchDaemon's reload",
    );
    assert.deepEqual(mac.sim.records().filter((r) => r.tool === "brew" && r.argv[0] !== "list" && !r.argv[0]?.startsWith("--")).length, 0);
    const sizes = providerSizes((await mac.stack.state()).resources);
    for (const [type, bytes] of Object.entries(sizes)) assert.ok(bytes <= 2048, `${type}: ${bytes} bytes`);
  });

  it("update, replace, refresh and destroy run today's code", async () => {
    const colimaStatus = async () =>
      JSON.parse((await mac.sim.run([mac.sim.path("/opt/homebrew/bin/colima"), "status", "--json"])).stdout) as { cpu: number };
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.equal((await colimaStatus()).cpu, 3);

    const label = "com.example.upgraded";
    await mac.stack.must(["config", "set", "LABEL", label]);
    const replaced = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(replaced.stdout, /colima-daemon replaced/);
    assert.ok(existsSync(mac.sim.path(`/Library/LaunchDaemons/${label}.plist`)));
    assert.ok(!existsSync(mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`)), "the old label's plist is gone");
    await waitFor("Docker under the new label", () => dockerAnswers(mac.socket));

    const refresh = await mac.stack.cli(["refresh", "--yes", "--expect-no-changes"]);
    assert.equal(refresh.code, 0, refresh.stdout + refresh.stderr);

    await mac.stack.must(["destroy", "--yes", "--skip-preview"]);
    assert.ok(!existsSync(mac.sim.path(`/Library/LaunchDaemons/${label}.plist`)), "destroy booted out and removed the job");
    assert.deepEqual((await mac.stack.state()).resources ?? [], []);
  });
});
