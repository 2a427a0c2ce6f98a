// The machine settings, from layers with one precedence (lowest first):
//   1. project     — the `config:` block of Pulumi.yaml: fleet-wide defaults shared by every stack;
//   2. .env        — the seed's file, for people coming from colima-pulse.sh (optional), read by
//                    the `dotenv` package;
//   3. environment — values Pulumi's config has from the stack's ESC `environment:` imports;
//   4. stack       — stacks/Pulumi.<machine>.yaml: this Mac's own settings (`pulumi config set
//                    [--secret]`, and `pulumi up -c KEY=V`, which Pulumi saves there).
// Values come from Pulumi's own config (the engine's merged, decrypted map) whenever the program
// runs under Pulumi; the files are read only to say which layer a value came from and to check
// the project's values that a stack overrides. Names are the seed's (README: "Configuration").
// Every problem in every layer is reported at once, naming the key, the layer, its file, the value
// (or "[secret]") and what is allowed, before anything runs. Danger switches are refused in every
// layer: they are command-line decisions for one run (docs/ARCHITECTURE.md §3). This module runs
// in the program only; no provider captures it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseDotenvText } from "dotenv";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { logPathInUsersFolder, settingSchemas } from "../provider/lib/settingsSchema";
import { suggest } from "./suggest";

export type Layer = "project" | ".env" | "environment" | "stack";

/** A number given as digits (Pulumi config and .env values are text) is that number. */
const digits = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);
/** The seed's spellings of a flag. */
const FLAG_WORDS = new Map<unknown, boolean>([
  ["true", true],
  ["false", false],
  ["1", true],
  ["0", false],
  ["yes", true],
  ["no", false],
]);
const words = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (FLAG_WORDS.has(v) ? FLAG_WORDS.get(v) : v), schema);

const base = settingSchemas(z);
/** The seed's settings: the one schema (provider/lib/settingsSchema.ts), text as Pulumi config gives it, and defaults. */
export const SETTINGS = {
  HOMEBREW_USER: base.HOMEBREW_USER,
  COLIMA_PROFILE: base.COLIMA_PROFILE.default("default"),
  COLIMA_CPUS: digits(base.COLIMA_CPUS).default(2),
  COLIMA_MEMORY: digits(base.COLIMA_MEMORY).default(2),
  COLIMA_DISK: digits(base.COLIMA_DISK).default(100),
  LABEL: base.LABEL.default("com.colima-pulse.colima"),
  // Default: /var/log/colima-pulse/colima.log for the default LABEL, else <LABEL>.log (resolveSettings).
  LOG_PATH: base.LOG_PATH.optional(),
  BACKUP_DIR_BASE: base.BACKUP_DIR_BASE.optional(),
  PRUNE_DOCKER_AFTER_START: words(base.PRUNE_DOCKER_AFTER_START).default(false),
  PRUNE_MODE: base.PRUNE_MODE.default("dangling"),
  WAIT_SOCKET_MAX: digits(base.WAIT_SOCKET_MAX).default(60),
  WAIT_DOCKER_API_MAX: digits(base.WAIT_DOCKER_API_MAX).default(120),
  WAIT_QEMU_MAX: digits(base.WAIT_QEMU_MAX).default(60),
  WAIT_STABLE_REQUIRED: digits(base.WAIT_STABLE_REQUIRED).default(3),
  // Not in the seed: the workloads gate (README "Workloads after a reboot").
  WAIT_WORKLOADS_MAX: digits(base.WAIT_WORKLOADS_MAX).default(300),
  // Not in the seed (it restarts by hand): how the LaunchDaemon's supervisor retries.
  RESTART_THROTTLE_SECONDS: digits(base.RESTART_THROTTLE_SECONDS).default(10),
  MAX_FAILED_STARTS: digits(base.MAX_FAILED_STARTS).default(5),
  // Not in the seed (it runs on the Mac): how the control machine reaches this Mac (README "Fleet").
  SSH_HOST: base.SSH_HOST.optional(),
  SSH_PORT: digits(base.SSH_PORT).optional(),
  SSH_IDENTITY_FILE: base.SSH_IDENTITY_FILE.optional(),
  SSH_KNOWN_HOSTS_FILE: base.SSH_KNOWN_HOSTS_FILE.optional(),
  // Not in the seed: keeping Docker up through the Mac's life (docs/OPERATIONS.md "Docker through the Mac's life").
  API_HANG_SECONDS: digits(base.API_HANG_SECONDS).default(120),
  CLOCK_DRIFT_MAX_SECONDS: digits(base.CLOCK_DRIFT_MAX_SECONDS).default(5),
  LOG_ROTATE_SIZE_MB: digits(base.LOG_ROTATE_SIZE_MB).default(10),
  LOG_ROTATE_COUNT: digits(base.LOG_ROTATE_COUNT).default(5),
  DOCKER_SOCKET_GROUP: base.DOCKER_SOCKET_GROUP.optional(),
  BACKUP_KEEP: digits(base.BACKUP_KEEP).optional(),
  // Not in the seed: versions the fleet never runs (README "Upgrades you can undo"); set it fleet-wide in Pulumi.yaml.
  VERSION_DENYLIST: base.VERSION_DENYLIST.optional(),
  // Not in the seed: the disk report and trim after start (README "Disk").
  DISK_WARN_PERCENT: digits(base.DISK_WARN_PERCENT).default(80),
  DISK_TRIM_AFTER_START: words(base.DISK_TRIM_AFTER_START).default(false),
  // Not in the seed: the Mac's power settings (README "Power"); off leaves the Mac's own.
  POWER_AUTORESTART: words(base.POWER_AUTORESTART).default(false),
  POWER_NO_SLEEP: words(base.POWER_NO_SLEEP).default(false),
  POWER_WAKE_ON_NETWORK: words(base.POWER_WAKE_ON_NETWORK).default(false),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]> } & { BACKUP_DIR_BASE: string; LOG_PATH: string };

/** LOG_PATH when no layer sets it: one log per job, so two profiles on a Mac never share one. */
export function defaultLogPath(label: string): string {
  return label === "com.colima-pulse.colima" ? "/var/log/colima-pulse/colima.log" : `/var/log/colima-pulse/${label}.log`;
}

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

/** The command that makes each danger switch's decision, for one run (npm run reset,
 *  npm run restore: scripts/decide.ts): what the refusal of the switch as a setting names instead. */
const YES =
  "to confirm without a prompt, add --yes to the command that asks: `npm run reset -- --yes`, `npm run restore -- <folder> --yes`";
const ASKS = "`npm run reset` always asks after its preview; `npm run reset -- --yes` confirms on the command line";
const BACKUP_MODES = "a reset's backup is `npm run reset -- --backup=move` (the default), `--backup=prompt` or `--backup=false`";
const DANGER_COMMANDS: Record<string, string> = {
  FULL_RESET: "a full reset is `npm run reset` (its preview shows what moves where, then it asks)",
  FORCE_YES: YES,
  NO_CONFIRM: YES,
  RESET_REQUIRE_CONFIRM: ASKS,
  RESET_CONFIRM_TOKEN: ASKS,
  CONFIRM_TOKEN: ASKS,
  RESET_BACKUP_MODE: BACKUP_MODES,
  BACKUP_MODE: BACKUP_MODES,
  BACKUP: BACKUP_MODES,
};

export interface LayerValues {
  layer: Layer;
  /** Where the layer was read from, for messages (e.g. "stacks/Pulumi.mac1.yaml"). */
  file: string;
  values: Record<string, unknown>;
  /** Keys whose value is a secret: never printed, and kept secret in outputs and state. */
  secrets?: string[];
}

export interface ResolvedSettings {
  settings: Settings;
  /** Which layer each setting came from ("default" when none set it). */
  sources: Record<SettingKey, Layer | "default">;
  /** Settings whose value is a secret (`pulumi config set --secret`, or a secret of an ESC environment). */
  secrets: SettingKey[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid colima-pulse configuration (nothing was run):\n${problems.map((p) => ` - ${p}`).join("\n")}`);
  }
}

/** A value as a message may show it: a secret never is. */
function shown(layer: LayerValues, key: string, value: unknown): string {
  return layer.secrets?.includes(key) ? "[secret]" : JSON.stringify(value);
}

/** Merges the layers by precedence and validates every value; throws ConfigError listing all problems. */
export function resolveSettings(layers: LayerValues[]): ResolvedSettings {
  const problems: string[] = [];
  const given = new Map<SettingKey, { value: unknown; from: LayerValues }[]>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      const where = `${key} (${layer.layer}: ${layer.file}) = ${shown(layer, key, value)}`;
      if (DANGER_SWITCHES.includes(key)) {
        problems.push(
          `${where}: a danger switch is not a setting; it is accepted only on the command line, for one run: ${DANGER_COMMANDS[key]} (README: "Safety model")`,
        );
      } else if (key in SETTINGS) {
        given.set(key as SettingKey, [...(given.get(key as SettingKey) ?? []), { value, from: layer }]);
      } else {
        const hint = suggest(key, Object.keys(SETTINGS));
        problems.push(`${where}: unknown setting${hint ? ` (did you mean ${hint}?)` : ""}; allowed: ${Object.keys(SETTINGS).join(", ")}`);
      }
    }
  }
  const settings: Record<string, unknown> = {};
  const sources: Record<string, Layer | "default"> = {};
  const secrets: SettingKey[] = [];
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
        problems.push(`${key} (${from.layer}: ${from.file}) = ${shown(from, key, value)}: ${message}`);
        valid = false;
      }
    }
    const got = values.at(-1);
    const parsed = schema.safeParse(got?.value);
    if (!got && !parsed.success) problems.push(`${key} (no layer sets it): is required`);
    if (valid && parsed.success) {
      settings[key] = parsed.data;
      sources[key] = got ? got.from.layer : "default";
      if (got?.from.secrets?.includes(key)) secrets.push(key);
    }
  }
  if (settings.SSH_HOST === undefined) {
    for (const key of ["SSH_PORT", "SSH_IDENTITY_FILE", "SSH_KNOWN_HOSTS_FILE"] as const) {
      const got = given.get(key)?.at(-1);
      // (A bad value was reported above already.)
      if (got && settings[key] !== undefined)
        problems.push(
          `${key} (${got.from.layer}: ${got.from.file}) = ${shown(got.from, key, got.value)}: applies only with SSH_HOST, which no layer sets (without it this Mac is the machine running Pulumi)`,
        );
    }
  }
  const log = given.get("LOG_PATH")?.at(-1);
  if (settings.LOG_ROTATE_COUNT !== 0 && typeof settings.LOG_PATH === "string" && /\s/.test(settings.LOG_PATH) && log)
    problems.push(
      `LOG_PATH (${log.from.layer}: ${log.from.file}) = ${shown(log.from, "LOG_PATH", log.value)}: has a space, which newsyslog.conf(5) cannot name (its fields are separated by white space); choose a path without spaces, or set LOG_ROTATE_COUNT=0 to rotate the log yourself`,
    );
  const placement = typeof settings.LOG_PATH === "string" ? logPathInUsersFolder(settings.LOG_PATH) : undefined;
  if (placement && log)
    problems.push(
      `LOG_PATH (${log.from.layer}: ${log.from.file}) = ${shown(log.from, "LOG_PATH", log.value)}: ${placement}. Root makes, re-owns and rotates the log there, so a link or folder another user puts on its way would hand root's files to them; choose a folder only root can change, such as the default /var/log/colima-pulse/`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  settings.LOG_PATH ??= defaultLogPath(settings.LABEL as string);
  // The default log names the label: secret when the label is.
  if (sources.LOG_PATH === "default" && secrets.includes("LABEL") && (settings.LOG_PATH as string).includes(settings.LABEL as string))
    secrets.push("LOG_PATH");
  settings.BACKUP_DIR_BASE ??= `/Users/${settings.HOMEBREW_USER}/colima-pulse-backups`;
  // The default backup folder names the Homebrew user: secret when that name is.
  if (sources.BACKUP_DIR_BASE === "default" && secrets.includes("HOMEBREW_USER")) secrets.push("BACKUP_DIR_BASE");
  return { settings: settings as Settings, sources: sources as ResolvedSettings["sources"], secrets };
}

/** `KEY=value`, `export KEY=value` or `KEY: value`: the line shapes dotenv reads (its LINE pattern). */
const DOTENV_ENTRY = /^\s*(?:export\s+)?[\w.-]+(?:\s*=\s*|:\s+)(.*)$/;

/**
 * The seed's .env, read by the `dotenv` package (quotes, `# comments`, `export`, CRLF, multi-line
 * quoted values). dotenv skips a line it cannot read without a word, so each line is first
 * checked to be blank, a comment, an entry or the continuation of a quoted value, and any other
 * line is an error naming file:line.
 */
export function parseDotenv(text: string, file: string): LayerValues {
  const problems: string[] = [];
  let openQuote: string | undefined;
  for (const [i, line] of text.split(/\r?\n|\r/).entries()) {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined;
      continue;
    }
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const entry = DOTENV_ENTRY.exec(line);
    if (!entry) {
      problems.push(`${file}:${i + 1}: dotenv cannot read this line (expected KEY=value): ${JSON.stringify(line)}`);
      continue;
    }
    const value = (entry[1] as string).trim();
    const quote = value[0];
    if (quote && `"'\``.includes(quote) && value.indexOf(quote, 1) === -1) openQuote = quote;
  }
  if (openQuote) problems.push(`${file}: a ${openQuote}-quoted value is never closed`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { layer: ".env", file, values: parseDotenvText(text) };
}

/** Pulumi's config as the engine gives it to the program (or `pulumi config --json --show-secrets`
 *  prints it): full keys (`colima-pulse:COLIMA_CPUS`), text values, and which are secret. */
export type EngineConfig = Record<string, { value: string; secret: boolean }>;

/** Pulumi's `secure:` value in a stack file: only Pulumi can decrypt it. */
function isSecure(raw: unknown): boolean {
  return raw !== null && typeof raw === "object" && "secure" in raw;
}

/** The seed-style (UPPER_SNAKE) keys of a Pulumi config block; other keys belong to other parts of the program. */
function seedKeys(config: Record<string, unknown> | undefined, project: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, raw] of Object.entries(config ?? {})) {
    const key = rawKey.startsWith(`${project}:`) ? rawKey.slice(project.length + 1) : rawKey;
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) continue;
    // Pulumi.yaml project config is `KEY: {default|value: …}` or a bare value.
    out[key] =
      raw !== null && typeof raw === "object" && !Array.isArray(raw) && !isSecure(raw)
        ? ((raw as { value?: unknown; default?: unknown }).value ?? (raw as { default?: unknown }).default)
        : raw;
  }
  return out;
}

/**
 * Reads the layers of `stack` from the project directory `dir`. With `engine` (the program under
 * Pulumi), the environment and stack layers take their values from Pulumi's config — decrypted
 * secrets, ESC environments, `-c` — and the stack file only says which keys are the stack's own.
 * Without it (a script before Pulumi runs), a `secure:` value cannot be read and is reported.
 */
export function readLayers(dir: string, stack: string, engine?: EngineConfig): LayerValues[] {
  const projectFile = join(dir, "Pulumi.yaml");
  const project = parseYaml(readFileSync(projectFile, "utf8")) as {
    name: string;
    config?: Record<string, unknown>;
    stackConfigDir?: string;
  };
  const projectValues = seedKeys(project.config, project.name);
  const layers: LayerValues[] = [{ layer: "project", file: "Pulumi.yaml", values: projectValues }];
  if (existsSync(join(dir, ".env"))) layers.push(parseDotenv(readFileSync(join(dir, ".env"), "utf8"), ".env"));

  const stackFile = join(project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
  const doc = existsSync(join(dir, stackFile))
    ? ((parseYaml(readFileSync(join(dir, stackFile), "utf8")) ?? {}) as { config?: Record<string, unknown>; environment?: unknown })
    : {};
  const fileValues = seedKeys(doc.config, project.name);
  const fromEngine = seedKeys(Object.fromEntries(Object.entries(engine ?? {}).map(([k, v]) => [k, v.value])), project.name);
  const engineSecret = (key: string) => engine?.[`${project.name}:${key}`]?.secret === true;

  // What Pulumi has that neither file explains came from the stack's ESC environment(s).
  const envValues = Object.fromEntries(
    Object.entries(fromEngine).filter(
      ([key, value]) => !(key in fileValues) && !(key in projectValues && String(projectValues[key]) === value),
    ),
  );
  if (Object.keys(envValues).length > 0) {
    const envs = [doc.environment].flat().filter((e): e is string => typeof e === "string");
    layers.push({
      layer: "environment",
      file: `${envs.length > 0 ? `ESC ${envs.join(", ")}` : "Pulumi config"} via ${stackFile}`,
      values: envValues,
      secrets: Object.keys(envValues).filter(engineSecret),
    });
  }

  const stackValues: Record<string, unknown> = {};
  const secrets: string[] = [];
  for (const [key, raw] of Object.entries(fileValues)) {
    if (key in fromEngine) stackValues[key] = fromEngine[key];
    else if (isSecure(raw)) {
      throw new ConfigError([
        `${key} (stack: ${stackFile}) = [secret]: a secret only Pulumi can decrypt, and this was read without Pulumi (run it through \`pulumi\`, or pass the stack's config)`,
      ]);
    } else stackValues[key] = raw;
    if (isSecure(raw) || engineSecret(key)) secrets.push(key);
  }
  if (Object.keys(stackValues).length > 0 || existsSync(join(dir, stackFile))) {
    layers.push({ layer: "stack", file: stackFile, values: stackValues, secrets });
  }
  return layers;
}
