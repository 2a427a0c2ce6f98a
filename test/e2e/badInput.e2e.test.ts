// Bad input through the real engine, on a converged simulated Mac: for every setting, a bad value
// in one of the three layers (taking turns), a danger switch and a typo. `pulumi up --yes` must
// fail with the key, layer and file, and the value; run no command on the Mac; and leave the
// stack's state and the Mac's files exactly as they were.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDocument } from "yaml";
import type { Layer } from "../../stacks/config";
import { BAD, type BadCase } from "../helpers/badInput";
import { type SimulatedMac, simulatedMac, supervisorSettled } from "../helpers/simulatedMac";

/** The layers a test can write a file for (an ESC environment needs a Pulumi Cloud backend). */
type FileLayer = Exclude<Layer, "environment">;
const LAYERS: FileLayer[] = ["stack", ".env", "project"];

/** One bad value per key, a hostile string where the table has one (single-line: .env is). */
function pick(cases: BadCase[]): unknown {
  return (cases.find(([v]) => typeof v === "string" && /[$`;'"|]/.test(v) && !v.includes("\n")) ?? cases[0])?.[0];
}

describe("bad input through the engine: a clear error, nothing run, nothing changed", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const stackFile = () => `stacks/Pulumi.${mac.stack.stack}.yaml`;
  const FILE: Record<FileLayer, () => string> = { stack: stackFile, ".env": () => ".env", project: () => "Pulumi.yaml" };

  before(async () => {
    mac = await simulatedMac("e2e-bad-input");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  /** The state's resources and the Mac's files this program writes. */
  async function snapshot(): Promise<string> {
    const hash = createHash("sha256");
    hash.update(JSON.stringify((await mac.stack.state()).resources));
    for (const dir of ["/Library/LaunchDaemons", "/Library/Application Support/colima-pulse", "/Users/ops/.colima/default"]) {
      const base = mac.sim.path(dir);
      // A converged Mac has files in all three: an empty one would make "unchanged" vacuous there.
      const files = readdirSync(base, { recursive: true, encoding: "utf8" })
        .sort()
        .filter((f) => statSync(join(base, f)).isFile() && !f.endsWith(".sock"));
      assert.ok(files.length > 0, `files in ${dir}`);
      for (const file of files) hash.update(file).update(readFileSync(join(base, file)));
    }
    return hash.digest("hex");
  }

  /** Puts KEY=value into `layer`'s file; returns how to put the file back. */
  function write(layer: FileLayer, key: string, value: unknown): () => void {
    const path = join(mac.stack.dir, FILE[layer]());
    const before = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    if (layer === ".env") {
      const text = String(value);
      writeFileSync(path, `${key}=${text.includes("'") ? `"${text}"` : `'${text}'`}\n`);
    } else {
      const doc = parseDocument(before ?? "config: {}\n");
      doc.setIn(["config", layer === "stack" ? `colima-pulse:${key}` : key], value);
      writeFileSync(path, doc.toString());
    }
    return () => (before === undefined ? rmSync(path) : writeFileSync(path, before));
  }

  const cases: [string, FileLayer, string, unknown][] = [
    ...Object.entries(BAD).map(([key, bad], i): [string, FileLayer, string, unknown] => [
      `${key} = ${JSON.stringify(pick(bad))}`,
      LAYERS[i % LAYERS.length] as FileLayer,
      key,
      pick(bad),
    ]),
    ["a danger switch", ".env", "FULL_RESET", "true"],
    ["a typo", "stack", "COLIMA_CPU", 4],
  ];
  for (const [what, layer, key, value] of cases) {
    it(`${what} in the ${layer} layer`, async () => {
      const was = await snapshot();
      const restore = write(layer, key, value);
      await supervisorSettled(mac);
      mac.sim.clearRecords();
      try {
        const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
        assert.notEqual(r.code, 0);
        // .env and Pulumi's config (the stack layer) give text; Pulumi.yaml is read as YAML.
        const shown = layer === "project" ? JSON.stringify(value) : JSON.stringify(String(value));
        assert.ok(r.stdout.includes(`${key} (${layer}: ${FILE[layer]()}) = ${shown}: `), r.stdout);
        assert.doesNotMatch(r.stdout, / (creating|updating|deleting|replacing) /);
        // While the Mac idles, its supervisor's `colima status` heartbeat is all the record holds.
        const ran = mac.sim.records().filter((e) => !(e.tool === "colima" && e.argv[0] === "status"));
        assert.deepEqual(ran, [], "no command ran on the Mac");
      } finally {
        restore();
      }
      assert.equal(await snapshot(), was, "state and files unchanged");
    });
  }

  it("after them all, the Mac is still converged", async () => {
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });
});
