// Bad input, every key in every layer: wrong types, out-of-range numbers, empty strings, hostile
// strings (shell metacharacters, quotes, newlines, ".."), relative paths where absolute ones are
// needed, root or a malformed HOMEBREW_USER, danger switches and typos. Each case must name the key,
// the layer and file, the value, and what is allowed. (That nothing runs on such input is proven
// end to end in test/e2e/lifecycle.e2e.test.ts: the program stops before any resource.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DANGER_SWITCHES, type Layer, type LayerValues, SETTINGS } from "../../stacks/config";
import { settingsProblems } from "../helpers/settings";

const FILES: Record<Layer, string> = { project: "Pulumi.yaml", ".env": ".env", stack: "stacks/Pulumi.mac1.yaml" };
const HOSTILE = ["$(reboot)", "`id`", "a;b", "a'b", 'a"b', "a\nb", "../../etc", "a b|c"];

/** Bad values per key, each with a fragment the message must contain (what is allowed). */
const BAD: Record<string, [unknown, string][]> = {
  HOMEBREW_USER: [
    ["root", "must not be root"],
    ["Ops", "macOS short user name"],
    ...HOSTILE.map((v): [unknown, string] => [v, "macOS short user name"]),
    [42, "expected string"],
  ],
  COLIMA_PROFILE: [
    ["a/b", "Colima profile name"],
    ["-x", "Colima profile name"],
    ...HOSTILE.map((v): [unknown, string] => [v, "Colima profile name"]),
  ],
  COLIMA_CPUS: [
    [0, "from 1 to 64"],
    [65, "from 1 to 64"],
    ["two", "from 1 to 64"],
    [1.5, "from 1 to 64"],
    [true, "from 1 to 64"],
  ],
  COLIMA_MEMORY: [
    [0, "from 1 to 1024"],
    [4096, "from 1 to 1024"],
    ["8GiB", "from 1 to 1024"],
  ],
  COLIMA_DISK: [
    [5, "from 10 to 8192"],
    [-100, "from 10 to 8192"],
    ["big", "from 10 to 8192"],
  ],
  LABEL: [
    ["nodots", "reverse-DNS"],
    ["homebrew.mxcl.colima", "brew services"],
    ...HOSTILE.map((v): [unknown, string] => [v, "reverse-DNS"]),
  ],
  LOG_PATH: [
    ["relative/log", "absolute path"],
    ["/var/log/../../etc/passwd", "'..'"],
    ...HOSTILE.slice(0, 6).map((v): [unknown, string] => [`/var/log/${v}`, "absolute path"]),
  ],
  BACKUP_DIR_BASE: [
    ["backups", "absolute path"],
    ["/Users/ops/../..", "'..'"],
    ["/tmp/$(id)", "absolute path"],
  ],
  PRUNE_DOCKER_AFTER_START: [
    ["maybe", "true or false"],
    [2, "true or false"],
  ],
  PRUNE_MODE: [
    ["everything", "dangling, images, system"],
    ["", "must not be empty"],
  ],
  WAIT_SOCKET_MAX: [
    [0, "from 1 to 3600"],
    [86400, "from 1 to 3600"],
  ],
  WAIT_DOCKER_API_MAX: [
    [-1, "from 1 to 3600"],
    ["soon", "from 1 to 3600"],
  ],
  WAIT_QEMU_MAX: [[0, "from 1 to 3600"]],
  WAIT_STABLE_REQUIRED: [
    [0, "from 1 to 100"],
    [1000, "from 1 to 100"],
  ],
  RESTART_THROTTLE_SECONDS: [[0, "from 1 to 3600"]],
  MAX_FAILED_STARTS: [
    [0, "from 1 to 100"],
    [101, "from 1 to 100"],
  ],
};

/** The layers with `values` in `layer` and a valid HOMEBREW_USER elsewhere (when it is not the key under test). */
function layersWith(layer: Layer, values: Record<string, unknown>): LayerValues[] {
  const base: LayerValues = {
    layer: "project",
    file: FILES.project,
    values: "HOMEBREW_USER" in values && layer === "project" ? {} : { HOMEBREW_USER: "ops" },
  };
  return [base, { layer, file: FILES[layer], values }];
}

describe("bad input: every key in every layer", () => {
  let count = 0;
  it("covers every setting", () => assert.deepEqual(Object.keys(BAD).sort(), Object.keys(SETTINGS).sort()));

  for (const layer of Object.keys(FILES) as Layer[]) {
    for (const [key, cases] of Object.entries(BAD)) {
      for (const [value, allowed] of cases) {
        // .env values are text: non-strings reach it only from YAML layers.
        const given = layer === ".env" && typeof value !== "string" ? String(value) : value;
        count++;
        it(`${layer} ${key}=${JSON.stringify(given)}`, () => {
          const problems = settingsProblems(layersWith(layer, { [key]: given }));
          assert.equal(problems.length, 1, problems.join("\n"));
          const p = problems[0] as string;
          assert.ok(p.startsWith(`${key} (${layer}: ${FILES[layer]}) = ${JSON.stringify(given)}: `), p);
          if (!(layer === ".env" && allowed === "expected string"))
            assert.ok(p.includes(allowed) || p.includes("must be"), `${p} should say ${allowed}`);
        });
      }
    }
    for (const key of DANGER_SWITCHES) {
      count++;
      it(`${layer} danger switch ${key}`, () => {
        const [p] = settingsProblems(layersWith(layer, { [key]: "true" }));
        assert.equal(
          p,
          `${key} (${layer}: ${FILES[layer]}) = "true": a danger switch is not a setting; it is accepted only on the command line, for one run (README: "Safety model")`,
        );
      });
    }
    for (const typo of ["COLIMA_CPU", "colima_disk", "WAIT_SOCKET", "LABLE"]) {
      count++;
      it(`${layer} typo ${typo}`, () => {
        const [p] = settingsProblems(layersWith(layer, { [typo]: "1" }));
        assert.match(
          p as string,
          new RegExp(`^${typo} \\(${layer.replace(".", "\\.")}: .*\\) = "1": unknown setting \\(did you mean [A-Z_]+\\?\\)`),
        );
      });
    }
  }
  it("counts its cases", () => {
    console.log(`bad-input cases: ${count} (3 layers × ${Object.keys(SETTINGS).length} keys, danger switches and typos)`);
    assert.ok(count > 200);
  });
});
