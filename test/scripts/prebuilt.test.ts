// scripts/prebuilt.cjs and scripts/prebuild.ts: an entry loads as its bundle only while the bundle
// is the one its record names and every source it was built from is as it was; otherwise from its
// sources through tsx. Each case runs in a fresh plain-Node process on a copy of the checkout, as
// the engine starts the policy pack and the provider plugin.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prebuildBundles, repoRoot } from "../helpers/pulumiStack";

describe("prebuilt bundles", () => {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-prebuilt-"));
  const prebuild = () => prebuildBundles(dir);
  before(() => {
    for (const folder of ["scripts", "stacks", "provider", "components", "policy", "package.json"])
      cpSync(join(repoRoot, folder), join(dir, folder), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    assert.equal(prebuild().length, 3, "the program, the providers and the policy pack built");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The modules a fresh process loaded for `load(name)`, and whether its entry's exports came back. */
  function loads(name: "providers" | "policy", env: NodeJS.ProcessEnv = {}): string[] {
    // The policy pack starts serving the engine once loaded: this process only looks, then leaves.
    const script = `const m = require("./scripts/prebuilt.cjs").load(${JSON.stringify(name)});
      if (${JSON.stringify(name)} === "providers" && typeof m.smokeContainerProvider?.create !== "function") throw new Error("no providers");
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));
      process.exit(0);`;
    const out = execFileSync(process.execPath, ["-e", script], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "", COLIMA_PULSE_PREBUILT: "", ...env },
    });
    return JSON.parse(out) as string[];
  }
  const fromBundle = (modules: string[], name: string) =>
    modules.includes(join(dir, `.bundle/${name}.cjs`)) && !modules.some((m) => m.includes("/node_modules/tsx/"));
  const fromSources = (modules: string[], source: string) =>
    modules.includes(join(dir, source)) &&
    modules.some((m) => m.includes("/node_modules/tsx/")) &&
    !modules.some((m) => m.includes("/.bundle/"));

  it("builds each entry once: a second run with nothing changed builds nothing", () => {
    assert.deepEqual(prebuild(), []);
    const record = JSON.parse(readFileSync(join(dir, ".bundle/providers.json"), "utf8")) as { inputs: Record<string, string> };
    assert.ok(
      "provider/launchDaemon.ts" in record.inputs && "node_modules/.package-lock.json" in record.inputs,
      Object.keys(record.inputs).join(" "),
    );
  });

  it("a fresh bundle is what loads: the providers and the policy pack, without tsx", () => {
    assert.ok(fromBundle(loads("providers"), "providers"));
    assert.ok(fromBundle(loads("policy"), "policy"));
  });

  it("COLIMA_PULSE_PREBUILT=off loads the sources though the bundle is fresh", () => {
    assert.ok(fromSources(loads("providers", { COLIMA_PULSE_PREBUILT: "off" }), "provider/index.ts"));
  });

  it("a bundle whose bytes are not the ones its record names is not loaded", () => {
    const bundle = join(dir, ".bundle/policy.cjs");
    const text = readFileSync(bundle);
    try {
      appendFileSync(bundle, "\nthrow new Error('not this one');\n");
      assert.ok(fromSources(loads("policy"), "policy/index.ts"));
    } finally {
      writeFileSync(bundle, text);
    }
    assert.ok(fromBundle(loads("policy"), "policy"), "its own bytes back: fresh again");
  });

  it("a source edited since the build: that entry loads from its sources, until the next build", () => {
    appendFileSync(join(dir, "provider/lib/semaphore.ts"), "\n// edited\n");
    assert.ok(fromSources(loads("providers"), "provider/index.ts"));
    assert.ok(fromBundle(loads("policy"), "policy"), "an entry not built from it is still fresh");
    // The program imports it too; the policy pack does not.
    assert.deepEqual(prebuild(), ["prebuilt stacks/index.ts → .bundle/program.cjs", "prebuilt provider/index.ts → .bundle/providers.cjs"]);
    assert.ok(fromBundle(loads("providers"), "providers"), "built again from the edited source");
  });

  it("the bundle reads the files beside its sources (supervisor.sh, policy/config.json), not beside itself", () => {
    const providers = JSON.parse(
      execFileSync(
        process.execPath,
        ["-e", 'process.stdout.write(JSON.stringify(require("./scripts/prebuilt.cjs").load("providers") !== undefined))'],
        {
          cwd: dir,
          encoding: "utf8",
          env: { ...process.env, NODE_OPTIONS: "" },
        },
      ),
    );
    assert.equal(providers, true);
    const bundle = readFileSync(join(dir, ".bundle/providers.cjs"), "utf8");
    assert.match(bundle, /join\(__dirname, "\.\.\/provider"\), "supervisor\.sh"\)/);
    assert.doesNotMatch(bundle, /join\(__dirname, "supervisor\.sh"\)/);
  });
});
