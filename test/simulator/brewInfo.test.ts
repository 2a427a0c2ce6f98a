// The simulated `brew info --json=v2` (README.md "Homebrew"): versions.stable is what `brew install`
// would pour, the tap's version once a newer one is published; an unknown formula is refused.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";

describe("simulated brew info --json=v2", { concurrency: false }, () => {
  let sim: MacSimulator;
  const brew = (...args: string[]) => sim.run([sim.path("/opt/homebrew/bin/brew"), ...args], { user: "ops" });
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""), formulae: ["qemu"] });
  });
  after(() => sim?.dispose());

  it("per formula: versions.stable (the tap's), the kegs, the linked one; casks empty; pretty-printed", async () => {
    sim.publish("lima", "1.2.2");
    const r = await brew("info", "--json=v2", "qemu", "lima");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('{\n  "formulae": [\n'), r.stdout);
    const { formulae, casks } = JSON.parse(r.stdout) as {
      formulae: { name: string; versions: { stable: string }; installed: { version: string }[]; linked_keg: string | null }[];
      casks: unknown[];
    };
    assert.deepEqual(casks, []);
    assert.deepEqual(
      formulae.map((f) => [f.name, f.versions.stable, f.installed.map((k) => k.version), f.linked_keg]),
      [
        ["qemu", "10.1.0", ["10.1.0"], "10.1.0"],
        ["lima", "1.2.2", [], null],
      ],
    );
  });

  it("an unknown formula: Homebrew's error, exit 1, nothing printed; a form not simulated is refused", async () => {
    const r = await brew("info", "--json=v2", "nope");
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, "", 'Error: No available formula with the name "nope".\n']);
    const text = await brew("info", "qemu");
    assert.equal(text.code, 1);
    assert.match(text.stderr, /simulator: only `brew info --json=v2 <formula>…` is simulated/);
  });
});
