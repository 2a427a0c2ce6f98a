// What the program's own process loads on a real `pulumi preview` (bench/RESULTS.md has the
// times; this pins the causes, which timing in tests cannot): the program runs as plain
// JavaScript through tsx, never ts-node or the TypeScript compiler (Pulumi.yaml `typescript:
// false`, which scripts/engine.sh's language host wrapper passes on); it imports the SDK a module at
// a time, never the index that drags in the Automation API and npm's arborist; and it writes each
// provider's text itself, without the closure serializer (provider/lib/byReference.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../helpers/pulumiStack";
import { type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

describe("what a run loads", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const dir = mkdtempSync(join(tmpdir(), "cpulse-loaded-"));
  before(async () => {
    mac = await simulatedMac("e2e-run-cost");
  });
  after(async () => {
    await mac?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the program's process: no ts-node, no TypeScript compiler, no SDK index, no closure serializer", async () => {
    const preload = join(repoRoot, "test/helpers/loadedModules.cjs");
    const r = await mac.stack.cli(["preview"], 300_000, {
      NODE_OPTIONS: `--require ${preload}`,
      COLIMA_PULSE_LOADED_DIR: dir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const runs = readdirSync(dir)
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { argv: string[]; modules: string[] })
      .filter((p) => p.argv.some((a) => a.endsWith("@pulumi/pulumi/cmd/run/index.js") || a.endsWith("@pulumi/pulumi/cmd/run")));
    assert.equal(runs.length, 1, `one program process: ${JSON.stringify(runs.map((p) => p.argv))}`);
    const modules = (runs[0] as { modules: string[] }).modules;
    // It ran the program (so the list is the whole run's, not an early exit's).
    assert.ok(
      modules.some((m) => m.endsWith("/components/colimaPulse.ts")),
      "the component was loaded",
    );
    const loaded = (pattern: RegExp) => modules.filter((m) => pattern.test(m)).slice(0, 3);
    assert.deepEqual(loaded(/\/node_modules\/(typescript|ts-node)\/|\/vendor\/ts-node@/), [], "TypeScript compiler or ts-node");
    assert.deepEqual(loaded(/\/@pulumi\/pulumi\/(index|automation\/index)\.js$/), [], "the SDK's index");
    assert.deepEqual(
      loaded(/\/@pulumi\/pulumi\/runtime\/closure\/(serializeClosure|createClosure|parseFunction|codePaths)\.js$|\/@npmcli\/arborist\//),
      [],
      "the closure serializer",
    );
  });
});
