// The machine settings, from three layers with one precedence (lowest first):
//   1. project  — the `config:` block of Pulumi.yaml: fleet-wide defaults shared by every stack;
//   2. .env     — the seed's file, for people coming from colima-pulse.sh (optional);
//   3. stack    — stacks/Pulumi.<machine>.yaml: this Mac's own settings.
// Names are the seed's (README: "Configuration"). Every problem in every layer is reported at
// once, naming the key, the layer it came from, the value and what is allowed, before anything
// runs. Danger switches are refused in every layer: they are command-line decisions for one
// run (docs/ARCHITECTURE.md §3). This module runs in the program only; no provider captures it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export type Layer = "project" | ".env" | "stack";

// Paths go into plists, logs and commands run as root: absolute, no "..", and only characters
// that need no quoting anywhere (spaces allowed; they are quoted where a shell is unavoidable).
const SAFE_PATH = /^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/;
const absolutePath = z
  .string()
  .regex(SAFE_PATH, "must be an absolute path of letters, digits, space and ._@+- (no quotes, $, ;, newlines)")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

/** A whole number in range, given as a number or as digits (.env values are text); nothing else. */
const wholeNumber = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number({ error: allowed }).int(allowed).min(min, allowed).max(max, allowed),
  );
};

const flag = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])], { error: "must be true or false" })
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

/** The seed's settings: schema, default and what each means (README "Configuration"). */
export const SETTINGS = {
  HOMEBREW_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a macOS short user name (lower-case letters, digits, _ . -)")
    .refine((u) => u !== "root", "must not be root: Homebrew refuses to run as root"),
  COLIMA_PROFILE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be a Colima profile name (letters, digits, _ -; up to 63)")
    .default("default"),
  COLIMA_CPUS: wholeNumber(1, 64).default(2),
  COLIMA_MEMORY: wholeNumber(1, 1024).default(2),
  COLIMA_DISK: wholeNumber(10, 8192).default(100),
  LABEL: z
    .string()
    .regex(/^[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+$/, "must be a reverse-DNS launchd label such as com.example.colima")
    .refine(
      (l) => !l.startsWith("homebrew.mxcl."),
      "must not be a `brew services` label (homebrew.mxcl.*): that job is a conflict we remove",
    )
    .default("com.colima-pulse.colima"),
  LOG_PATH: absolutePath.default("/var/log/colima-pulse/colima.log"),
  BACKUP_DIR_BASE: absolutePath.optional(),
  PRUNE_DOCKER_AFTER_START: flag.default(false),
  PRUNE_MODE: z.enum(["dangling", "images", "system"], { error: "must be one of dangling, images, system" }).default("dangling"),
  WAIT_SOCKET_MAX: wholeNumber(1, 3600).default(60),
  WAIT_DOCKER_API_MAX: wholeNumber(1, 3600).default(120),
  WAIT_QEMU_MAX: wholeNumber(1, 3600).default(60),
  WAIT_STABLE_REQUIRED: wholeNumber(1, 100).default(3),
  // Not in the seed (it restarts by hand): how the LaunchDaemon's supervisor retries.
  RESTART_THROTTLE_SECONDS: wholeNumber(1, 3600).default(10),
  MAX_FAILED_STARTS: wholeNumber(1, 100).default(5),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]> } & { BACKUP_DIR_BASE: string };

/** Switches of the seed that are only ever command-line decisions for one run. */
export const DANGER_SWITCHES = [
  "FULL_RESET",
  "FORCE_YES",
  "NO_CONFIRM",
  "RESET_REQUIRE_CONFIRM",
  "RESET_CONFIRM_TOKEN",
  "CONFIRM_TOKEN",
  "RESET_BACKUP_MODE",
  "BACKUP_MODE",
  "BACKUP",
];

export interface LayerValues {
  layer: Layer;
  /** Where the layer was read from, for messages (e.g. "stacks/Pulumi.mac1.yaml"). */
  file: string;
  values: Record<string, unknown>;
}

export interface ResolvedSettings {
  settings: Settings;
  /** Which layer each setting came from ("default" when none set it). */
  sources: Record<SettingKey, Layer | "default">;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid colima-pulse configuration (nothing was run):\n${problems.map((p) => ` - ${p}`).join("\n")}`);
  }
}

/** Merges the layers by precedence and validates every value; throws ConfigError listing all problems. */
export function resolveSettings(layers: LayerValues[]): ResolvedSettings {
  const problems: string[] = [];
  const given = new Map<SettingKey, { value: unknown; from: LayerValues }[]>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      const where = `${key} (${layer.layer}: ${layer.file})`;
      if (DANGER_SWITCHES.includes(key)) {
        problems.push(
          `${where} = ${JSON.stringify(value)}: a danger switch is not a setting; it is accepted only on the command line, for one run (README: "Safety model")`,
        );
      } else if (key in SETTINGS) {
        given.set(key as SettingKey, [...(given.get(key as SettingKey) ?? []), { value, from: layer }]);
      } else {
        const hint = suggest(key);
        problems.push(
          `${where} = ${JSON.stringify(value)}: unknown setting${hint ? ` (did you mean ${hint}?)` : ""}; allowed: ${Object.keys(SETTINGS).join(", ")}`,
        );
      }
    }
  }
  const settings: Record<string, unknown> = {};
  const sources: Record<string, Layer | "default"> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const schema = SETTINGS[key] as z.ZodType;
    // Every layer's value is checked, also one a later layer overrides: a bad fleet-wide default
    // would otherwise wait for the first machine that does not override it.
    const values = given.get(key) ?? [];
    let valid = true;
    for (const { value, from } of values) {
      const empty = typeof value === "string" && value.trim() === "";
      const parsed = empty ? undefined : schema.safeParse(value);
      if (empty || !parsed?.success) {
        const message = empty ? "must not be empty" : (parsed?.error?.issues[0]?.message ?? "is invalid");
        problems.push(`${key} (${from.layer}: ${from.file}) = ${JSON.stringify(value)}: ${message}`);
        valid = false;
      }
    }
    const got = values.at(-1);
    const parsed = schema.safeParse(got?.value);
    if (!got && !parsed.success) problems.push(`${key} (no layer sets it): is required`);
    if (valid && parsed.success) {
      settings[key] = parsed.data;
      sources[key] = got ? got.from.layer : "default";
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  settings.BACKUP_DIR_BASE ??= `/Users/${settings.HOMEBREW_USER}/colima-pulse-backups`;
  return { settings: settings as Settings, sources: sources as ResolvedSettings["sources"] };
}

/** A known key that `key` is a case variant, a near-miss (edit distance ≤ 2) or a prefix of. */
function suggest(key: string): string | undefined {
  const known = Object.keys(SETTINGS);
  const upper = key.toUpperCase();
  return (
    known.find((k) => k === upper) ??
    known.find((k) => distance(k, upper) <= 2) ??
    known.find((k) => upper.length >= 4 && k.startsWith(upper))
  );
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number;
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length] as number;
}

/** The seed's .env: KEY=value lines, optional `export`, quotes, # comments. */
export function parseDotenv(text: string, file: string): LayerValues {
  const values: Record<string, unknown> = {};
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!m) throw new ConfigError([`${file}:${i + 1}: not a KEY=value line: ${JSON.stringify(line)}`]);
    let value = (m[2] as string).trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    value = quoted ? (quoted[2] as string) : value.replace(/\s+#.*$/, "");
    values[m[1] as string] = value;
  }
  return { layer: ".env", file, values };
}

/** The seed-style (UPPER_SNAKE) keys of a Pulumi config block; other keys belong to other parts of the program. */
function seedKeys(config: Record<string, unknown> | undefined, project: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, raw] of Object.entries(config ?? {})) {
    const key = rawKey.startsWith(`${project}:`) ? rawKey.slice(project.length + 1) : rawKey;
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) continue;
    // Pulumi.yaml project config is `KEY: {default|value: …}` or a bare value.
    out[key] =
      raw !== null && typeof raw === "object" && !Array.isArray(raw)
        ? ((raw as { value?: unknown; default?: unknown }).value ?? (raw as { default?: unknown }).default)
        : raw;
  }
  return out;
}

/** Reads the three layers of `stack` from the project directory `dir`. */
export function readLayers(dir: string, stack: string): LayerValues[] {
  const projectFile = join(dir, "Pulumi.yaml");
  const project = parseYaml(readFileSync(projectFile, "utf8")) as {
    name: string;
    config?: Record<string, unknown>;
    stackConfigDir?: string;
  };
  const layers: LayerValues[] = [{ layer: "project", file: "Pulumi.yaml", values: seedKeys(project.config, project.name) }];
  if (existsSync(join(dir, ".env"))) layers.push(parseDotenv(readFileSync(join(dir, ".env"), "utf8"), ".env"));
  const stackFile = join(project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
  if (existsSync(join(dir, stackFile))) {
    const doc = (parseYaml(readFileSync(join(dir, stackFile), "utf8")) ?? {}) as { config?: Record<string, unknown> };
    layers.push({ layer: "stack", file: stackFile, values: seedKeys(doc.config, project.name) });
  }
  return layers;
}
