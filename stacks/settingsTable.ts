// The README's settings table, made from the one schema and the program's defaults, so the two
// cannot drift apart: each setting's bounds come from its schema and its meaning and unit from
// SETTING_INFO (provider/lib/settingsSchema.ts), its default from SETTINGS and resolveSettings
// (stacks/config.ts), the prune commands from PRUNE_ARGS (provider/launchDaemon.ts).
//   node --import tsx stacks/settingsTable.ts           prints the table
//   node --import tsx stacks/settingsTable.ts --write   rewrites it in README.md (`npm run docs`)
// test/stacks/settingsTable.test.ts fails when README.md's table is not this output.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { PRUNE_ARGS } from "../provider/launchDaemon";
import { SETTING_INFO, type SettingInfo, settingSchemas } from "../provider/lib/settingsSchema";
import { defaultLogPath, resolveSettings, SETTINGS, type SettingKey } from "./config";

export const BEGIN = "<!-- settings-table:begin -->";
export const END = "<!-- settings-table:end -->";
/** The command that rewrites README.md's table. */
export const REGENERATE = "npm run docs";
export const README = join(__dirname, "..", "README.md");

/** A name the defaults made from HOMEBREW_USER are shown with (a valid user name, replaced). */
const SOME_USER = "homebrew_user_placeholder";

const code = (v: unknown) => `\`${String(v)}\``;
/** A table cell: one line, and a `|` would end the cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** The settings every layer left unset resolve to these (a HOMEBREW_USER given, as it must be). */
function resolvedDefaults(): Record<string, unknown> {
  return resolveSettings([{ layer: "project", file: "Pulumi.yaml", values: { HOMEBREW_USER: SOME_USER } }]).settings;
}

function defaultOf(key: SettingKey, info: SettingInfo, resolved: Record<string, unknown>): string {
  const parsed = SETTINGS[key].safeParse(undefined);
  if (!parsed.success) return "— (required)";
  if (parsed.data !== undefined) return code(parsed.data);
  if (key === "LOG_PATH") {
    // resolveSettings names the default label's log; another label gets its own.
    return `${code(resolved.LOG_PATH)}; ${code(defaultLogPath("<LABEL>"))} for another \`LABEL\``;
  }
  const made = resolved[key];
  if (typeof made === "string") return code(made.split(SOME_USER).join("<HOMEBREW_USER>"));
  return info.unset ? `unset: ${info.unset}` : "unset";
}

/** What a flag accepts: the words the program reads as true and as false. */
function flagWords(key: SettingKey): string {
  const words = ["true", "false", "1", "0", "yes", "no", "on", "off", "y", "n"];
  const as = (b: boolean) => words.filter((w) => SETTINGS[key].safeParse(w).data === b);
  const [yes, no] = [as(true), as(false)];
  const pairs = yes.map((w, i) => `\`${w}\`/\`${no[i]}\``);
  return `${pairs[0]}${pairs.length > 1 ? ` (also ${pairs.slice(1).join(", ")})` : ""}`;
}

function allowedOf(key: SettingKey, info: SettingInfo): string {
  const schema = settingSchemas(z)[key] as z.ZodType;
  if (schema instanceof z.ZodNumber) {
    const min = schema.minValue as number;
    const max = schema.maxValue as number;
    // A number that is 0 for "off" keeps 1 to its real minimum out by a refinement: the first it accepts.
    let lowest = min;
    if (info.zeroIsOff) for (lowest = 1; lowest < max && !schema.safeParse(lowest).success; lowest++);
    const bounds = `${lowest}–${max}${info.unit ? ` ${info.unit}` : ""}`;
    return `${info.zeroIsOff ? "`0` (off) or " : ""}${bounds}${info.allowed ? `; ${info.allowed}` : ""}`;
  }
  if (schema instanceof z.ZodBoolean) return flagWords(key);
  if (schema instanceof z.ZodEnum) return (schema.options as string[]).map(code).join(", ");
  if (!info.allowed) throw new Error(`${key}: SETTING_INFO has no allowed text for it (provider/lib/settingsSchema.ts)`);
  return info.allowed;
}

function meaningOf(key: SettingKey, info: SettingInfo): string {
  let text = info.meaning;
  if (key === "PRUNE_MODE") {
    const each = Object.entries(PRUNE_ARGS).map(([mode, args]) => `${code(mode)} runs ${code(["docker", ...args].join(" "))}`);
    text = `${text}: ${each.join("; ")}`;
  }
  return info.note ? `${text}. ${info.note}` : text;
}

/** The settings table, as README.md holds it between BEGIN and END. */
export function settingsTable(): string {
  const resolved = resolvedDefaults();
  const rows = (Object.keys(SETTINGS) as SettingKey[]).map((key) => {
    const info: SettingInfo = SETTING_INFO[key];
    return `| ${[code(key), defaultOf(key, info, resolved), allowedOf(key, info), meaningOf(key, info)].map(cell).join(" | ")} |`;
  });
  return ["| key | default | allowed | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** README.md's text with `table` between the markers (each on its own line). */
export function withTable(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} markers`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
  if (process.argv.includes("--write")) {
    const before = readFileSync(README, "utf8");
    const after = withTable(before, settingsTable());
    if (after !== before) writeFileSync(README, after);
    process.stdout.write(`README.md: settings table ${after === before ? "already up to date" : "rewritten"}\n`);
  } else process.stdout.write(`${settingsTable()}\n`);
}
