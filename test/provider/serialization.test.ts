// What each resource stores as its provider (a reference, provider/lib/byReference.ts): its size is
// checked, and the text is run in a fresh plain-Node process the way the engine's plugin runs it:
// it must load the implementation from the project and work (docs/ARCHITECTURE.md §4).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { providerText } from "../../provider/lib/byReference";
import { smokeContainerProvider } from "../../provider/smokeContainer";
import { DAEMON } from "../helpers/daemonInputs";
import { prebuildBundles, repoRoot } from "../helpers/pulumiStack";
import { testServices } from "../helpers/services";

/** What each resource stores as its provider: a loader of the implementation (provider/lib/byReference.ts),
 *  not the implementation by value (more than 10 KB each at commit 25c35fa): at most 2 KB. */
const MAX_PROVIDER_BYTES = 2048;

type Call = { method: string; args: unknown[] };
// biome-ignore lint/suspicious/noExplicitAny: whatever the provider returned, checked field by field below
type Answer = { ok: true; value: any } | { ok: false; error: string };

const work = mkdtempSync(join(tmpdir(), "cpulse-serialized-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** provider/<file>.ts → its exported `…Provider` objects. */
function discoverProviders(): { file: string; name: string; provider: pulumi.dynamic.ResourceProvider }[] {
  const found = [];
  // index.ts only re-exports them (the bundle's entry), checked below.
  for (const file of readdirSync(join(repoRoot, "provider")).filter((f) => f.endsWith(".ts") && f !== "index.ts")) {
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

/** Runs `calls` on the provider `text` in a fresh plain-Node process (runSerialized.cjs): the
 *  answers, and every module that process loaded. */
function runInFreshProcess(text: string, calls: Call[], prebuilt: boolean): { answers: Answer[]; loaded: string[] } {
  const id = Math.random().toString(36).slice(2);
  writeFileSync(join(work, `${id}.provider.js`), text);
  writeFileSync(join(work, `${id}.calls.json`), JSON.stringify(calls));
  const out = execFileSync(
    process.execPath,
    [join(__dirname, "runSerialized.cjs"), join(work, `${id}.provider.js`), join(work, `${id}.calls.json`)],
    {
      cwd: repoRoot, // the plugin resolves packages from the project, as here
      encoding: "utf8",
      // No tsx: the plugin runs plain node. COLIMA_PULSE_PREBUILT=off: the sources even where the
      // bundle is fresh (scripts/prebuilt.cjs).
      env: { ...process.env, NODE_OPTIONS: "", COLIMA_PULSE_PREBUILT: prebuilt ? "" : "off" },
      timeout: 120_000,
    },
  );
  const lines = out
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Answer | { loaded: string[] });
  const last = lines.pop();
  assert.ok(last && "loaded" in last, `runSerialized.cjs ended without its list of modules: ${out}`);
  return { answers: lines as Answer[], loaded: last.loaded };
}

/** `provider`'s answer to `call` in this process, in the shape runSerialized.cjs prints it. */
async function inThisProcess(provider: pulumi.dynamic.ResourceProvider, { method, args }: Call): Promise<Answer> {
  const f = provider[method as keyof pulumi.dynamic.ResourceProvider] as ((...a: unknown[]) => Promise<unknown>) | undefined;
  try {
    if (!f) throw new Error(`no method ${method}`);
    return JSON.parse(JSON.stringify({ ok: true, value: (await f(...args)) ?? null })) as Answer;
  } catch (e) {
    return { ok: false, error: String((e as Error)?.message ?? e) };
  }
}

/** Whether the loaded file `path` is an ES module (a .mjs, or a .js whose package says "type":
 *  "module"): Node 22 lets require() load one, so a plain require would not show it. */
function isEsModule(path: string): boolean {
  if (path.endsWith(".mjs")) return true;
  if (!path.endsWith(".js")) return false;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) return (JSON.parse(readFileSync(pkg, "utf8")) as { type?: string }).type === "module";
  }
  return false;
}

const host = { root: "/", user: "ops" };
/** Per provider file: valid inputs; values that make them invalid (an unknown key is added to
 *  those); and what the stored outputs hold instead, so that diff finds something to do. */
const FIXTURES: Record<string, { news: Record<string, unknown>; bad: Record<string, unknown>; olds: Record<string, unknown> }> = {
  "colimaProfile.ts": {
    news: {
      resourceName: "profile",
      host,
      prefix: "/opt/homebrew",
      profile: "default",
      cpus: 2,
      memory: 4,
      disk: 60,
      arch: "aarch64",
      label: "com.example.colima",
      backupDirBase: "/Users/ops/colima-backups",
    },
    bad: { cpus: 0, arch: "ppc" },
    olds: { cpus: 4, driver: "QEMU", instanceId: "colima", generation: "g1" },
  },
  "containerInstaller.ts": {
    news: {
      resourceName: "installer",
      host,
      dir: "/Users/ops/containers/app",
      filesHash: "a".repeat(64),
      dockerHost: "unix:///Users/ops/.colima/default/docker.sock",
      prefix: "/opt/homebrew",
    },
    bad: { filesHash: "not a hash", dir: "relative/app" },
    olds: { filesHash: "b".repeat(64), installedAt: "2026-11-29T00:00:00.000Z" },
  },
  "dockerAccess.ts": {
    news: { resourceName: "access", host, prefix: "/opt/homebrew", profile: "default", socketGroup: "developers" },
    bad: { socketGroup: "wheel", profile: "a/b" },
    olds: { socketGroup: "staff", contextName: "colima-pulse-default", contextHost: "", groupSocket: "", socketGid: "" },
  },
  "healthGate.ts": {
    news: {
      resourceName: "gate",
      host,
      prefix: "/opt/homebrew",
      profile: "default",
      socketTimeout: 60,
      qemuTimeout: 60,
      apiTimeout: 60,
      stableRequired: 3,
      trigger: "t1",
    },
    bad: { stableRequired: 0, socketTimeout: 86400 },
    olds: { trigger: "t0", healthy: true },
  },
  "homebrewPackages.ts": {
    news: { resourceName: "packages", host },
    bad: { formulae: ["Colima"] },
    olds: { versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.1.0" } },
  },
  "launchDaemon.ts": {
    news: { ...DAEMON },
    bad: { label: "homebrew.mxcl.colima", exitTimeOut: 1 },
    olds: { cpus: 4, filesHash: "", loaded: true, conflicts: [], running: true },
  },
  "logRotation.ts": {
    news: { resourceName: "rotation", host, label: "com.example.colima", logPath: "/var/log/x.log", sizeMB: 10, count: 5 },
    bad: { logPath: "/var/log/a b.log", count: 100 },
    olds: { sizeMB: 20, confPath: "/etc/newsyslog.d/com.example.colima.conf", confHash: "" },
  },
  "powerSettings.ts": {
    news: { resourceName: "power", host, settings: { autorestart: 1, sleep: 0 } },
    bad: { settings: { autorestart: 2, sleep: -1 } },
    olds: {
      previous: { "AC Power": { autorestart: 0, sleep: 1 } },
      observed: { "AC Power": { autorestart: 0, sleep: 0 } },
      unsupported: [],
    },
  },
  "smokeContainer.ts": {
    news: { resourceName: "smoke", dockerHost: "unix:///Users/ops/.colima/default/docker.sock" },
    bad: { dockerHost: "tcp://nope", image: "-rm" },
    olds: { image: "busybox:latest", imageId: "sha256:1", imageDigest: "", output: "", serverVersion: "", pulledByUs: true },
  },
};

describe("serialized providers", () => {
  const providers = discoverProviders();
  // The bundles as every command makes them (scripts/lib.sh ensure_prebuilt): built only if stale.
  before(() => {
    prebuildBundles();
  });

  it("finds the providers in provider/", () => {
    assert.deepEqual(providers.map((p) => `${p.file}:${p.name}`).sort(), [
      "colimaProfile.ts:colimaProfileProvider",
      "containerInstaller.ts:containerInstallerProvider",
      "dockerAccess.ts:dockerAccessProvider",
      "healthGate.ts:healthGateProvider",
      "homebrewPackages.ts:homebrewPackagesProvider",
      "launchDaemon.ts:launchDaemonProvider",
      "logRotation.ts:logRotationProvider",
      "powerSettings.ts:powerSettingsProvider",
      "smokeContainer.ts:smokeContainerProvider",
    ]);
  });

  it("provider/index.ts, the providers' bundle entry, exports every one of them", () => {
    const index = require(join(repoRoot, "provider/index.ts")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(index).sort(), providers.map((p) => p.name).sort());
    for (const { name, provider } of providers) assert.equal(index[name], provider, name);
  });

  for (const { file, name, provider } of providers) {
    it(`${file}:${name} serializes small, and runs this checkout's implementation in a fresh process`, async () => {
      const text = serialize(file, provider);
      console.log(`${name}: ${text.length} bytes`);
      assert.ok(text.length < MAX_PROVIDER_BYTES, `${name} serializes to ${text.length} bytes (limit ${MAX_PROVIDER_BYTES})`);
      const fixture = FIXTURES[file];
      assert.ok(fixture, `no inputs for provider/${file} in FIXTURES: add valid ones, bad values and changed outputs`);
      // The same calls here, on the implementation itself: what the stored text must answer.
      const checked = await inThisProcess(provider, { method: "check", args: [{}, fixture.news] });
      assert.ok(checked.ok && checked.value.inputs, `the fixture's inputs are valid: ${JSON.stringify(checked)}`);
      const inputs = checked.value.inputs;
      const calls: Call[] = [
        { method: "check", args: [{}, fixture.news] },
        { method: "check", args: [{}, { ...fixture.news, ...fixture.bad, colour: 1 }] },
        { method: "diff", args: ["id", { ...inputs, ...fixture.olds }, inputs] },
      ];
      const here: Answer[] = [];
      for (const call of calls) here.push(await inThisProcess(provider, call));
      const [, bad, diff] = here;
      assert.deepEqual(
        bad?.ok && [...new Set((bad.value.failures as { property: string }[]).map((f) => f.property.split(".")[0]))].sort(),
        [...Object.keys(fixture.bad), "colour"].sort(),
        "each bad value fails, by its property",
      );
      assert.equal(diff?.ok && diff.value.changes, true, `the changed outputs make a diff: ${JSON.stringify(diff)}`);

      // From the prebuilt bundle (fresh: built in before()), and from the sources through tsx.
      for (const prebuilt of [true, false]) {
        const fresh = runInFreshProcess(text, calls, prebuilt);
        assert.deepEqual(fresh.answers, here, `the stored text answers as the implementation does (prebuilt: ${prebuilt})`);
        // What that process loaded: this checkout's bundle or provider/<file>, from wherever the
        // text was stored (relative requires would resolve from there), and no ES module through require.
        const expected = prebuilt ? join(repoRoot, ".bundle/providers.cjs") : join(repoRoot, "provider", file);
        assert.ok(fresh.loaded.includes(expected), `it loaded ${expected}; it loaded:\n${fresh.loaded.join("\n")}`);
        assert.equal(
          fresh.loaded.some((m) => m.includes("/node_modules/tsx/")),
          !prebuilt,
          `tsx loaded only for the sources (prebuilt: ${prebuilt})`,
        );
        assert.deepEqual(
          fresh.loaded.filter(isEsModule),
          [],
          "ESM-only packages must be loaded with import() inside methods (docs/ARCHITECTURE.md §4)",
        );
      }
    });
  }

  it("SmokeContainer runs its whole life from the serialized text against the real dockerd", async () => {
    const services = testServices();
    // Start from an engine without the image, whatever ran before, so create really pulls.
    spawnSync("docker", ["--host", services.dockerHost, "image", "rm", "--force", services.smokeImage], { stdio: "ignore" });
    const text = serialize("smokeContainer.ts", smokeContainerProvider);
    const news = { resourceName: "serialized", dockerHost: services.dockerHost, image: services.smokeImage, __provider: "x" };
    const checks: Call[] = [
      { method: "check", args: [{}, news] },
      { method: "check", args: [{}, { resourceName: "serialized", dockerHost: "tcp://nope", image: "-rm", colour: 1 }] },
    ];
    const [checked, bad] = runInFreshProcess(text, checks, true).answers;
    assert.deepEqual(
      [checked, bad],
      [await inThisProcess(smokeContainerProvider, checks[0] as Call), await inThisProcess(smokeContainerProvider, checks[1] as Call)],
    );
    assert.ok(checked?.ok && bad?.ok);
    const inputs = checked.value.inputs;
    assert.deepEqual(inputs, {
      resourceName: "serialized",
      dockerHost: services.dockerHost,
      image: services.smokeImage,
      dockerPath: "docker",
      expectOutput: "Hello from Docker!",
      timeoutSeconds: 120,
    });
    assert.deepEqual(
      bad.value.failures.map((f: { property: string }) => f.property),
      ["dockerHost", "image", "colour"],
    );
    const [created] = runInFreshProcess(text, [{ method: "create", args: [inputs] }], true).answers;
    assert.ok(created?.ok, JSON.stringify(created));
    const outs = created.value.outs;
    assert.match(outs.imageDigest, /@sha256:[a-f0-9]{64}$/);
    const later = runInFreshProcess(
      text,
      [
        { method: "read", args: [created.value.id, outs] },
        { method: "diff", args: [created.value.id, outs, inputs] },
        { method: "delete", args: [created.value.id, outs] },
        { method: "read", args: [created.value.id, outs] },
      ],
      true,
    ).answers;
    assert.deepEqual(
      later.map((a) => (a.ok ? "ok" : a.error)),
      ["ok", "ok", "ok", "ok"],
    );
    assert.equal(later[0]?.ok && later[0].value.props.imageId, outs.imageId, "read sees the pulled image");
    assert.equal(later[1]?.ok && later[1].value.changes, false, "no diff against its own inputs");
    assert.equal(later[3]?.ok && later[3].value.props.imageId, "", "read after delete sees it gone");
  });
});
