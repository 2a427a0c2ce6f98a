// Settings through Pulumi's own config, end to end on a simulated Mac: a secret set with
// `pulumi config set --secret` reaches the VM and never appears in plaintext in state, outputs or
// the engine's output; `pulumi up -c KEY=V` works; an ESC `environment:` is not silently ignored.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type SimulatedMac, simulatedMac, supervisorSettled } from "../helpers/simulatedMac";

/** Lines that would give a CPU count of `n` away, in the engine's output or the checkpoint. */
function leaksCpus(text: string, n: number): RegExpMatchArray | null {
  return text.match(new RegExp(`"cpus":\\s*"?${n}\\b|cpus:\\s*\\S+\\s*→\\s*${n}\\b|'--cpus' '${n}'|\\b${n} CPUs|-> ${n}\\b`));
}

describe("settings through Pulumi's config", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-settings");
    await mac.stack.must(["config", "set", "--secret", "COLIMA_CPUS", "3"]);
  });
  after(async () => mac?.dispose());

  const colima = async () =>
    JSON.parse((await mac.sim.run([mac.sim.path("/opt/homebrew/bin/colima"), "status", "--json"])).stdout) as {
      cpu: number;
      memory: number;
    };
  /** The checkpoint file as the engine wrote it (not `stack export`, which could decrypt). */
  function checkpoint(): string {
    const dir = join(mac.stack.dir, ".state/backend/.pulumi/stacks/colima-pulse");
    const file = readdirSync(dir).find((f) => f === `${mac.stack.stack}.json`);
    assert.ok(file, `no checkpoint in ${dir}`);
    return readFileSync(join(dir, file), "utf8");
  }

  it("a secret COLIMA_CPUS=3 reaches the VM and stays secret in outputs, state and engine output", async () => {
    const up = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.equal((await colima()).cpu, 3);
    assert.equal(leaksCpus(up.stdout + up.stderr, 3), null, "engine output");
    const state = checkpoint();
    assert.equal(leaksCpus(state, 3), null, "checkpoint");
    assert.match(state, /"cpus":\s*\{\s*"4dabf18193072939515e22adb298388d":\s*"1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/);
    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout);
    assert.equal(outputs.settings.COLIMA_CPUS, "[secret]");
    assert.equal(outputs.settings.COLIMA_DISK, 20);
    assert.equal(outputs.settingSources.COLIMA_CPUS, "stack");
    const shown = JSON.parse((await mac.stack.must(["stack", "output", "--json", "--show-secrets"])).stdout);
    assert.equal(shown.settings.COLIMA_CPUS, 3);
  });

  it("a secret's change is previewed without its values; -c KEY=V reaches the VM", async () => {
    await mac.stack.must(["config", "set", "--secret", "COLIMA_CPUS", "4"]);
    const preview = await mac.stack.must(["preview", "--diff"]);
    const shown = preview.stdout + preview.stderr; // with --diff, progress lines go to stderr
    assert.match(shown, /\[colima-profile\] will converge: cpus changed \(/);
    assert.match(preview.stdout, /cpus\s+: \[secret\]/);
    assert.equal(leaksCpus(shown, 4) ?? leaksCpus(shown, 3), null, shown);
    const up = await mac.stack.must(["up", "--yes", "--skip-preview", "-c", "COLIMA_MEMORY=3"]);
    assert.equal(leaksCpus(up.stdout + up.stderr, 4), null, up.stdout);
    const status = await colima();
    assert.deepEqual([status.cpu, status.memory], [4, 3 * 1024 ** 3]);
    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout);
    assert.equal(outputs.settings.COLIMA_MEMORY, 3);
    assert.equal(outputs.settingSources.COLIMA_MEMORY, "stack");
  });

  it("an ESC environment is refused with a clear message by this backend, and nothing runs", async () => {
    const file = join(mac.stack.dir, `stacks/Pulumi.${mac.stack.stack}.yaml`);
    const was = readFileSync(file, "utf8");
    writeFileSync(file, `${was}environment:\n  - fleet/macs\n`);
    await supervisorSettled(mac);
    mac.sim.clearRecords();
    try {
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /does not support environments/);
      const ran = mac.sim.records().filter((e) => !(e.tool === "colima" && e.argv[0] === "status"));
      assert.deepEqual(ran, [], "no command ran on the Mac");
    } finally {
      writeFileSync(file, was);
    }
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });
});
