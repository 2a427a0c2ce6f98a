// The README's settings table is the schema's (stacks/settingsTable.ts): it fails when they
// disagree and names the command that regenerates the table. Also: every setting has its line of
// metadata, every number's error names its unit, and .env.example shows the real defaults.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { SETTING_INFO, type SettingInfo, settingSchemas } from "../../provider/lib/settingsSchema";
import { SETTINGS, type SettingKey } from "../../stacks/config";
import { BEGIN, END, README, REGENERATE, settingsTable, withTable } from "../../stacks/settingsTable";

const repo = join(__dirname, "..", "..");

describe("the settings table (README.md, stacks/settingsTable.ts)", () => {
  it("README.md's table is exactly the generator's output", () => {
    const readme = readFileSync(README, "utf8");
    const begin = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    assert.ok(begin >= 0 && end > begin, `README.md has the markers ${BEGIN} and ${END}; then run: ${REGENERATE}`);
    const inReadme = readme
      .slice(begin + BEGIN.length, end)
      .trim()
      .split("\n");
    const made = settingsTable().split("\n");
    const at = made.findIndex((line, i) => inReadme[i] !== line);
    if (at >= 0 || inReadme.length !== made.length) {
      const i = at >= 0 ? at : Math.min(inReadme.length, made.length);
      assert.fail(
        `README.md's settings table is not the schema's (provider/lib/settingsSchema.ts, stacks/config.ts); regenerate it: ${REGENERATE}\n` +
          `first difference, table line ${i + 1}:\n  README.md: ${inReadme[i] ?? "(none)"}\n  schema:    ${made[i] ?? "(none)"}`,
      );
    }
  });

  it("a row per setting, in the program's order, each with four cells", () => {
    const rows = settingsTable().split("\n").slice(2);
    assert.deepEqual(
      rows.map((r) => /^\| `([A-Z_]+)` \|/.exec(r)?.[1]),
      Object.keys(SETTINGS),
    );
    for (const row of rows) assert.equal(row.split(/(?<!\\)\|/).length, 6, row);
  });

  it("every setting has its metadata, and only settings have it", () => {
    assert.deepEqual(Object.keys(SETTING_INFO).sort(), Object.keys(SETTINGS).sort());
    assert.deepEqual(Object.keys(settingSchemas(z)).sort(), Object.keys(SETTINGS).sort());
    for (const [key, info] of Object.entries(SETTING_INFO) as [SettingKey, SettingInfo][])
      assert.match(info.meaning, /^[^\n|]{10,200}$/, `${key}: one line of meaning`);
  });

  it("every number's error names its unit (or what it is) and its bounds", () => {
    for (const [key, schema] of Object.entries(settingSchemas(z)) as [SettingKey, z.ZodType][]) {
      if (!(schema instanceof z.ZodNumber)) continue;
      const info: SettingInfo = SETTING_INFO[key];
      assert.ok(info.unit ?? info.quantity, `${key} has a unit`);
      const message = schema.safeParse("4GB").error?.issues[0]?.message ?? "";
      assert.match(
        message,
        new RegExp(`^must be .*${info.quantity ?? `a whole number of ${info.unit}`} from \\d+ to ${schema.maxValue}`),
        key,
      );
    }
    assert.equal(
      settingSchemas(z).COLIMA_MEMORY.safeParse("4GB").error?.issues[0]?.message,
      "must be a whole number of GiB from 1 to 1024 (write 4 for 4 GiB)",
    );
  });

  it("the table is put between the markers, again and again the same", () => {
    const text = `# x\n\n${BEGIN}\nold\n${END}\n\nafter\n`;
    const once = withTable(text, "| a |");
    assert.equal(once, `# x\n\n${BEGIN}\n| a |\n${END}\n\nafter\n`);
    assert.equal(withTable(once, "| a |"), once);
    assert.throws(() => withTable("# no markers\n", "| a |"), /README\.md has no <!-- settings-table:begin -->/);
  });

  it("run without --write, it prints the table", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "stacks/settingsTable.ts"], { cwd: repo, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${settingsTable()}\n`);
  });

  it("npm run docs is the command that rewrites it", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.docs ?? "", /stacks\/settingsTable\.ts --write/);
  });
});

describe(".env.example", () => {
  const lines = readFileSync(join(repo, ".env.example"), "utf8").split("\n");
  const entries = lines.flatMap((line) => {
    const m = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return m && m[1] in SETTINGS ? [[m[1] as SettingKey, m[2] as string, line.startsWith("#")] as const] : [];
  });

  it("HOMEBREW_USER is the one line to set; every other setting is commented out", () => {
    assert.deepEqual(
      entries.filter(([, , commented]) => !commented).map(([key]) => key),
      ["HOMEBREW_USER"],
    );
  });

  it("names every setting, and a commented line with a plain default shows that default", () => {
    assert.deepEqual([...new Set(entries.map(([key]) => key))].sort(), Object.keys(SETTINGS).sort());
    for (const [key, value] of entries) {
      const fallback = SETTINGS[key].safeParse(undefined);
      if (!fallback.success || fallback.data === undefined) continue;
      assert.equal(value, String(fallback.data), `${key}: .env.example says ${value}, the default is ${fallback.data}`);
    }
  });
});
