// Power settings end to end through the real engine, on simulated Macs whose pmset is macOS's
// (test/simulator/README.md "pmset"): POWER_AUTORESTART / POWER_NO_SLEEP turned on in the stack
// are previewed, then set as root (`pmset -g` on the Mac shows them); a value changed by hand with
// pmset is drift that `preview --refresh` shows and `up --refresh` sets back; turning a setting
// off puts back the Mac's own value (the resource's update, then its delete); a bad value is
// refused with nothing run and nothing changed. On a laptop, whose pmset accepts autorestart and
// never shows it, the setting is reported unsupported and never drift.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { macOf } from "../../provider/lib/mac";
import { powerSummary } from "../../provider/powerSettings";
import { TestStack } from "../helpers/pulumiStack";
import { testServices } from "../helpers/services";
import { plannedSteps, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";
import { MacSimulator } from "../simulator/simulator";

/** `pmset -g custom` as { source: { name: value } } (names are the first word: ours have one). */
async function pmsetCustom(sim: MacSimulator): Promise<Record<string, Record<string, string>>> {
  const r = await sim.run([sim.path("/usr/bin/pmset"), "-g", "custom"]);
  assert.equal(r.code, 0, r.stderr);
  const out: Record<string, Record<string, string>> = {};
  let source: Record<string, string> = {};
  for (const line of r.stdout.trimEnd().split("\n")) {
    if (line.endsWith(":")) out[line.slice(0, -1)] = source = {};
    else {
      const words = line.trim().split(/\s+/);
      source[words.slice(0, -1).join(" ")] = words[words.length - 1] as string;
    }
  }
  return out;
}

/** PowerSettings' steps as plannedSteps names them. */
const POWER = "pulumi-nodejs:dynamic/colima-pulse:PowerSettings::colima-power";

/** The pmset commands the Mac ran since the last clearRecords (a setting is one run as root). */
const pmsetRuns = (sim: MacSimulator) =>
  sim
    .records()
    .filter((r) => r.tool === "pmset" && r.exit !== undefined)
    .map((r) => `${r.user}: pmset ${r.argv.join(" ")}`);

describe("PowerSettings on a desktop Mac, through the stack's POWER_* settings", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-power", { POWER_AUTORESTART: "true", POWER_NO_SLEEP: "true" });
  });
  after(async () => mac?.dispose());

  it("the preview plans PowerSettings and runs no pmset setting; up sets autorestart 1 and sleep 0 as root", async () => {
    const before = await pmsetCustom(mac.sim);
    assert.deepEqual([before["AC Power"]?.autorestart, before["AC Power"]?.sleep], ["0", "1"], "macOS's defaults");
    mac.sim.clearRecords();
    const preview = await mac.stack.must(["preview", "--json"]);
    assert.ok(plannedSteps(preview.stdout).includes(`create ${POWER}`), preview.stdout.slice(0, 2000));
    assert.deepEqual(
      pmsetRuns(mac.sim).filter((r) => !r.includes(" -g ")),
      [],
      "a preview sets nothing",
    );
    mac.sim.clearRecords();
    const up = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(up.stdout, /\[colima-power\] pmset -a autorestart 1 sleep 0/);
    assert.match(up.stdout, /\[colima-power\] autorestart 1, sleep 0 on AC Power/);
    // Set through sudo by the operator: the record shows root ran it.
    assert.ok(pmsetRuns(mac.sim).includes("root: pmset -a autorestart 1 sleep 0"), pmsetRuns(mac.sim).join("\n"));
    const live = await mac.sim.run([mac.sim.path("/usr/bin/pmset"), "-g"]);
    assert.match(live.stdout, /^System-wide power settings:\nCurrently in use:\n/);
    assert.match(live.stdout, /\n autorestart {10}1\n/);
    assert.match(live.stdout, /\n sleep {16}0\n/);
    const outs = await mac.stack.outputsOf("colima-pulse:PowerSettings");
    assert.deepEqual(outs.previous, { "AC Power": { autorestart: 0, sleep: 1 } });
    assert.deepEqual(outs.unsupported, []);
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  });

  it("someone sets autorestart 0 with pmset: preview --refresh shows the drift, up --refresh sets it back", async () => {
    const r = await mac.sim.run([mac.sim.path("/usr/bin/pmset"), "-a", "autorestart", "0"], { user: "root" });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const drift = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes", "--json"]);
    assert.notEqual(drift.code, 0, "drift must fail --expect-no-changes");
    assert.deepEqual(plannedSteps(drift.stdout), [`update ${POWER}`]);
    assert.match(
      drift.stdout,
      /\[colima-power\] will converge: observed changed \(autorestart is 0 on AC Power, not 1 \(pmset -g custom\): set again\)/,
    );
    mac.sim.clearRecords();
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    assert.equal((await pmsetCustom(mac.sim))["AC Power"]?.autorestart, "1");
    assert.ok(pmsetRuns(mac.sim).includes("root: pmset -a autorestart 1 sleep 0"), pmsetRuns(mac.sim).join("\n"));
    // What it remembers is still the Mac's own value, not the hand-set one.
    assert.deepEqual((await mac.stack.outputsOf("colima-pulse:PowerSettings")).previous, { "AC Power": { autorestart: 0, sleep: 1 } });
  });

  it("a bad POWER_NO_SLEEP is refused naming key, layer and value; nothing runs, nothing changes", async () => {
    const before = await pmsetCustom(mac.sim);
    const state = JSON.stringify((await mac.stack.state()).resources);
    await mac.stack.must(["config", "set", "POWER_NO_SLEEP", "never"]);
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.ok(
      r.stdout.includes(`POWER_NO_SLEEP (stack: stacks/Pulumi.${mac.stack.stack}.yaml) = "never": must be true or false`),
      r.stdout,
    );
    assert.deepEqual(pmsetRuns(mac.sim), [], "no pmset ran");
    assert.deepEqual(await pmsetCustom(mac.sim), before);
    assert.equal(JSON.stringify((await mac.stack.state()).resources), state, "state unchanged");
    await mac.stack.must(["config", "set", "POWER_NO_SLEEP", "true"]);
  });

  it("POWER_NO_SLEEP off: sleep is put back to the Mac's own 1 (autorestart stays); both off: the resource goes and autorestart is 0 again", async () => {
    await mac.stack.must(["config", "set", "POWER_NO_SLEEP", "false"]);
    const up = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(up.stdout, /\[colima-power\] sleep: put back as before \(pmset -c sleep 1\)/);
    let ac = (await pmsetCustom(mac.sim))["AC Power"];
    assert.deepEqual([ac?.autorestart, ac?.sleep], ["1", "1"]);
    assert.deepEqual((await mac.stack.outputsOf("colima-pulse:PowerSettings")).previous, { "AC Power": { autorestart: 0 } });

    await mac.stack.must(["config", "set", "POWER_AUTORESTART", "false"]);
    const preview = await mac.stack.must(["preview", "--json"]);
    assert.deepEqual(plannedSteps(preview.stdout), [`delete ${POWER}`]);
    const down = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(down.stdout, /\[colima-power\] put back as before: pmset -c autorestart 0/);
    ac = (await pmsetCustom(mac.sim))["AC Power"];
    assert.deepEqual([ac?.autorestart, ac?.sleep], ["0", "1"], "the Mac's own settings again");
    assert.equal(((await mac.stack.state()).resources ?? []).filter((r) => r.type.endsWith("PowerSettings")).length, 0);
  });
});

/** A program holding only PowerSettings for the Mac at `root` (as the stack's ColimaPulse makes it). */
const POWER_ONLY = `import * as pulumi from "@pulumi/pulumi";
import { PowerSettings } from "../provider/powerSettings";
const config = new pulumi.Config();
const power = new PowerSettings("power", {
  host: { root: config.require("root"), user: "ops" },
  // \`config set --path\` keeps each value as text: pmset's values are numbers.
  settings: Object.fromEntries(Object.entries(config.requireObject<Record<string, string>>("settings")).map(([k, v]) => [k, Number(v)])),
});
export const unsupported = power.unsupported;
`;

describe("PowerSettings on a laptop: autorestart is accepted by pmset and never shown", { concurrency: false }, () => {
  let sim: MacSimulator;
  let stack: TestStack;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""), powerModel: "laptop" });
    stack = await TestStack.create("e2e-power-laptop", { root: sim.root }, { program: POWER_ONLY, env: { SIM_USER: "ops" } });
    await stack.must(["config", "set", "--path", "settings.autorestart", "1"]);
    await stack.must(["config", "set", "--path", "settings.womp", "1"]);
  });
  after(async () => {
    await stack?.dispose();
    await sim?.dispose();
  });

  it("up reports autorestart unsupported and sets only womp, on both power sources; refresh finds no drift; destroy puts womp back per source", async () => {
    sim.clearRecords();
    const up = await stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(up.stdout, /\[power\] autorestart \(restart automatically after a power failure\): not supported by this Mac/);
    assert.deepEqual(
      pmsetRuns(sim).filter((r) => r.startsWith("root:")),
      ["root: pmset -a womp 1"],
    );
    const custom = await pmsetCustom(sim);
    assert.deepEqual([custom["Battery Power"]?.womp, custom["AC Power"]?.womp], ["1", "1"]);
    assert.equal(custom["AC Power"]?.autorestart, undefined);
    const outs = await stack.outputsOf("colima-pulse:PowerSettings");
    assert.deepEqual(outs.unsupported, ["autorestart"]);
    assert.deepEqual(outs.previous, { "Battery Power": { womp: 0 }, "AC Power": { womp: 1 } });
    const clean = await stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    // Fleet status's POWER (AC) cell for this Mac: what AC shows, autorestart left out.
    assert.equal(await powerSummary(macOf({ root: sim.root, user: "ops" }), { root: sim.root, user: "ops" }), "sleep 1, womp 1");
    const down = await stack.must(["destroy", "--yes", "--skip-preview"]);
    // One pmset, a flag per power source (their order is the state's).
    assert.match(down.stdout, /\[power\] put back as before: pmset (-b womp 0 -c womp 1|-c womp 1 -b womp 0)\n/);
    const after = await pmsetCustom(sim);
    assert.deepEqual([after["Battery Power"]?.womp, after["AC Power"]?.womp], ["0", "1"]);
  });
});
