// What the program's own process loads on a real `pulumi preview` (bench/RESULTS.md has the
// times; this pins the causes, which timing in tests cannot): the program runs as its prebuilt
// bundle (scripts/prebuilt.cjs), or from its sources through tsx when one changed since, never
// ts-node or the TypeScript compiler (Pulumi.yaml `typescript:
// false`, which scripts/engine.sh's language host wrapper passes on); it imports the SDK a module at
// a time, never the index that drags in the Automation API and npm's arborist; and it writes each
// provider's text itself, without the closure serializer (provider/lib/byReference.ts).
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prebuildBundles, repoRoot } from "../helpers/pulumiStack";
import { type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

describe("what a run loads", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const dir = mkdtempSync(join(tmpdir(), "cpulse-loaded-"));
  before(async () => {
    // The bundles as every command makes them (scripts/lib.sh ensure_prebuilt), copied with the project.
    prebuildBundles();
    mac = await simulatedMac("e2e-run-cost");
  });
  after(async () => {
    await mac?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The modules the program's process of one `pulumi preview` loaded (it must make no change). */
  async function programModules(): Promise<string[]> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const preload = join(repoRoot, "test/helpers/loadedModules.cjs");
    const r = await mac.stack.cli(["preview", "--expect-no-changes"], 300_000, {
      NODE_OPTIONS: `--require ${preload}`,
      COLIMA_PULSE_LOADED_DIR: dir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const runs = readdirSync(dir)
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { argv: string[]; modules: string[] })
      .filter((p) => p.argv.some((a) => a.endsWith("@pulumi/pulumi/cmd/run/index.js") || a.endsWith("@pulumi/pulumi/cmd/run")));
    assert.equal(runs.length, 1, `one program process: ${JSON.stringify(runs.map((p) => p.argv))}`);
    return (runs[0] as { modules: string[] }).modules;
  }

  /** Nothing that costs a run seconds: ts-node, the TypeScript compiler, the SDK's index (it loads
   *  the Automation API and npm's arborist), the closure serializer. */
  function nothingCostly(modules: string[]): void {
    const loaded = (pattern: RegExp) => modules.filter((m) => pattern.test(m)).slice(0, 3);
    assert.deepEqual(loaded(/\/node_modules\/(typescript|ts-node)\/|\/vendor\/ts-node@/), [], "TypeScript compiler or ts-node");
    assert.deepEqual(loaded(/\/@pulumi\/pulumi\/(index|automation\/index)\.js$/), [], "the SDK's index");
    assert.deepEqual(
      loaded(/\/@pulumi\/pulumi\/runtime\/closure\/(serializeClosure|createClosure|parseFunction|codePaths)\.js$|\/@npmcli\/arborist\//),
      [],
      "the closure serializer",
    );
  }

  it("the program's process: its prebuilt bundle, no tsx, no TypeScript compiler, no SDK index, no closure serializer", async () => {
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const modules = await programModules();
    assert.ok(modules.includes(join(mac.stack.dir, ".bundle/program.cjs")), `the program's bundle was loaded:\n${modules.join("\n")}`);
    assert.deepEqual(
      modules.filter((m) => m.includes("/node_modules/tsx/") || /\.ts$/.test(m)).slice(0, 3),
      [],
      "tsx or a TypeScript source",
    );
    nothingCostly(modules);
  });

  it("a source changed since the bundle was built: the program runs from its sources through tsx, never the stale bundle", async () => {
    const component = join(mac.stack.dir, "components/colimaPulse.ts");
    appendFileSync(component, "\n// edited after the bundle was built\n");
    const modules = await programModules();
    assert.ok(modules.includes(component), "the edited component was loaded from its source");
    assert.ok(!modules.includes(join(mac.stack.dir, ".bundle/program.cjs")), "the stale bundle was not loaded");
    assert.ok(
      modules.some((m) => m.includes("/node_modules/tsx/")),
      "through tsx",
    );
    nothingCostly(modules);
  });
});
