// What each resource stores as its provider (a reference, provider/lib/byReference.ts): its size is
// checked, and the text is run in a fresh plain-Node process the way the engine's plugin runs it:
// it must load the implementation from the project and work (docs/ARCHITECTURE.md §4).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { providerText } from "../../provider/lib/byReference";
import { smokeContainerProvider } from "../../provider/smokeContainer";
import { repoRoot } from "../helpers/pulumiStack";
import { testServices } from "../helpers/services";

/** What each resource stores as its provider: a loader of the implementation (provider/lib/byReference.ts),
 *  not the implementation by value (up to 69 KB each before): at most 2 KB. */
const MAX_PROVIDER_BYTES = 2048;

type Call = { method: string; args: unknown[] };
// biome-ignore lint/suspicious/noExplicitAny: whatever the provider returned, checked field by field below
type Answer = { ok: true; value: any } | { ok: false; error: string };

const work = mkdtempSync(join(tmpdir(), "cpulse-serialized-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** provider/<file>.ts → its exported `…Provider` objects. */
function discoverProviders(): { file: string; name: string; provider: pulumi.dynamic.ResourceProvider }[] {
  const found = [];
  for (const file of readdirSync(join(repoRoot, "provider")).filter((f) => f.endsWith(".ts"))) {
    const mod = require(join(repoRoot, "provider", file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (name.endsWith("Provider") && typeof (value as { create?: unknown })?.create === "function") {
        found.push({ file, name, provider: value as pulumi.dynamic.ResourceProvider });
      }
    }
  }
  return found;
}

/** The text `pulumi up` stores as `__provider` for a resource of provider/<file>. */
const serialize = (file: string, provider: pulumi.dynamic.ResourceProvider): string => providerText(file.replace(/\.ts$/, ""), provider);

function runInFreshProcess(text: string, calls: Call[]): Answer[] {
  const id = Math.random().toString(36).slice(2);
  writeFileSync(join(work, `${id}.provider.js`), text);
  writeFileSync(join(work, `${id}.calls.json`), JSON.stringify(calls));
  const out = execFileSync(
    process.execPath,
    [join(__dirname, "runSerialized.cjs"), join(work, `${id}.provider.js`), join(work, `${id}.calls.json`)],
    {
      cwd: repoRoot, // the plugin resolves packages from the project, as here
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" }, // no tsx: the plugin runs plain node
      timeout: 120_000,
    },
  );
  return out
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Answer);
}

describe("serialized providers", () => {
  const providers = discoverProviders();

  it("finds the providers in provider/", () => {
    assert.deepEqual(providers.map((p) => `${p.file}:${p.name}`).sort(), [
      "colimaProfile.ts:colimaProfileProvider",
      "containerInstaller.ts:containerInstallerProvider",
      "dockerAccess.ts:dockerAccessProvider",
      "healthGate.ts:healthGateProvider",
      "homebrewPackages.ts:homebrewPackagesProvider",
      "launchDaemon.ts:launchDaemonProvider",
      "logRotation.ts:logRotationProvider",
      "smokeContainer.ts:smokeContainerProvider",
    ]);
  });

  for (const { file, name, provider } of providers) {
    it(`${file}:${name} serializes small and self-contained`, async () => {
      const text = serialize(file, provider);
      console.log(`${name}: ${text.length} bytes`);
      assert.ok(text.length < MAX_PROVIDER_BYTES, `${name} serializes to ${text.length} bytes (limit ${MAX_PROVIDER_BYTES})`);
      assert.doesNotMatch(text, /require\("\.\.?\//, "relative requires fail in the plugin process");
      // execa is ESM-only (plist 3.x, which LaunchDaemon requires, is CommonJS); running the text in
      // a fresh process below catches any other ESM-only require.
      assert.doesNotMatch(text, /require\("execa(\/|")/, "ESM-only packages must be loaded with import() inside methods");
      const answers = runInFreshProcess(text, [{ method: "check", args: [{}, {}] }]);
      assert.equal(answers.length, 1);
      assert.ok(answers[0]?.ok, `check from the serialized text threw: ${JSON.stringify(answers[0])}`);
    });
  }

  it("SmokeContainer runs its whole life from the serialized text against the real dockerd", async () => {
    const services = testServices();
    // Start from an engine without the image, whatever ran before, so create really pulls.
    spawnSync("docker", ["--host", services.dockerHost, "image", "rm", "--force", services.smokeImage], { stdio: "ignore" });
    const text = serialize("smokeContainer.ts", smokeContainerProvider);
    const news = { resourceName: "serialized", dockerHost: services.dockerHost, image: services.smokeImage, __provider: "x" };
    const [checked, bad] = runInFreshProcess(text, [
      { method: "check", args: [{}, news] },
      { method: "check", args: [{}, { resourceName: "serialized", dockerHost: "tcp://nope", image: "-rm", colour: 1 }] },
    ]);
    assert.ok(checked?.ok && bad?.ok);
    const inputs = checked.value.inputs;
    assert.deepEqual(checked.value, {
      inputs: { ...inputs, dockerPath: "docker", expectOutput: "Hello from Docker!", timeoutSeconds: 120 },
    });
    assert.deepEqual(
      bad.value.failures.map((f: { property: string }) => f.property),
      ["dockerHost", "image", "colour"],
    );
    const [created] = runInFreshProcess(text, [{ method: "create", args: [inputs] }]);
    assert.ok(created?.ok, JSON.stringify(created));
    const outs = created.value.outs;
    assert.match(outs.imageDigest, /@sha256:[a-f0-9]{64}$/);
    const later = runInFreshProcess(text, [
      { method: "read", args: [created.value.id, outs] },
      { method: "diff", args: [created.value.id, outs, inputs] },
      { method: "delete", args: [created.value.id, outs] },
      { method: "read", args: [created.value.id, outs] },
    ]);
    assert.deepEqual(
      later.map((a) => (a.ok ? "ok" : a.error)),
      ["ok", "ok", "ok", "ok"],
    );
    assert.equal(later[0]?.ok && later[0].value.props.imageId, outs.imageId, "read sees the pulled image");
    assert.equal(later[1]?.ok && later[1].value.changes, false, "no diff against its own inputs");
    assert.equal(later[3]?.ok && later[3].value.props.imageId, "", "read after delete sees it gone");
  });
});
