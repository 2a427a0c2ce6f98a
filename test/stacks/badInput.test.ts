// Bad input, every key in every layer: wrong types, out-of-range numbers, empty strings, hostile
// strings (shell metacharacters, quotes, newlines, ".."), relative paths where absolute ones are
// needed, root or a malformed HOMEBREW_USER, danger switches and typos. Each case must name the key,
// the layer and file, the value, and what is allowed. (That nothing runs on such input, and state
// and files stay as they were, is proven through the engine in test/e2e/badInput.e2e.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DANGER_SWITCHES, type Layer, type LayerValues, SETTINGS } from "../../stacks/config";
import { BAD, FILES } from "../helpers/badInput";
import { settingsProblems } from "../helpers/settings";

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
  it("covers every setting", () => assert.deepEqual(Object.keys(BAD).sort(), Object.keys(SETTINGS).sort()));

  for (const layer of Object.keys(FILES) as Layer[]) {
    for (const [key, cases] of Object.entries(BAD)) {
      for (const [value, allowed, asText] of cases) {
        // .env values are text: non-strings reach it only from YAML layers.
        const given = layer === ".env" && typeof value !== "string" ? String(value) : value;
        const fragment = given !== value ? (asText ?? allowed) : allowed;
        it(`${layer} ${key}=${JSON.stringify(given)}`, () => {
          const problems = settingsProblems(layersWith(layer, { [key]: given }));
          assert.equal(problems.length, 1, problems.join("\n"));
          const p = problems[0] as string;
          assert.ok(p.startsWith(`${key} (${layer}: ${FILES[layer]}) = ${JSON.stringify(given)}: `), p);
          assert.ok(p.includes(fragment), `${p} should say ${fragment}`);
        });
      }
    }
    for (const key of DANGER_SWITCHES) {
      it(`${layer} danger switch ${key}`, () => {
        const [p] = settingsProblems(layersWith(layer, { [key]: "true" }));
        assert.match(
          p as string,
          new RegExp(
            `^${key} \\(${layer.replace(".", "\\.")}: .*\\) = "true": a danger switch is not a setting; it is accepted only on the command line, for one run: .*\`npm run (reset|restore)[^\`]*\`.* \\(README: "Safety model"\\)$`,
          ),
        );
      });
    }
    for (const typo of ["COLIMA_CPU", "colima_disk", "WAIT_SOCKET", "LABLE"]) {
      it(`${layer} typo ${typo}`, () => {
        const [p] = settingsProblems(layersWith(layer, { [typo]: "1" }));
        assert.match(
          p as string,
          new RegExp(`^${typo} \\(${layer.replace(".", "\\.")}: .*\\) = "1": unknown setting \\(did you mean [A-Z_]+\\?\\)`),
        );
      });
    }
  }
});
