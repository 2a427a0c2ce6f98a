// PowerSettings: the Mac's power settings that keep Docker there through a power cut and idle
// hours — restart after a power failure (`autorestart 1`), no idle system sleep (`sleep 0`), wake
// for network access (`womp 1`) — set with pmset(1) as root (pmset.1: "pmset must be run as root
// in order to modify any settings"), on every power source (`-a`).
// What each setting was before this resource first set it is remembered per power source, read
// from `pmset -g custom`, and put back when the setting is no longer managed (an update) or the
// resource goes (delete): `-c` for AC Power, `-b` for Battery Power, `-u` for UPS Power.
// Refresh reads `pmset -g custom` again, so a value changed by hand is drift that the next `up`
// sets back. A setting the Mac does not support — `autorestart` on a laptop — is one pmset accepts
// and never shows (apple-oss-distributions/IOKitUser pwr_mgt.subproj/IOPMEnergyPrefs.c:
// copyActivePreferences prunes it): it is found missing from `-g custom` before anything is
// written, reported as unsupported, never set, and never drift.
import type * as pulumi from "@pulumi/pulumi";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, type PropertyChange, say, type Zod } from "./lib/checkInputs";
import { type Host, hostPath } from "./lib/host";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";

/** The settings this resource manages: pmset's name → what it does, for messages. */
export const POWER_KEYS = {
  autorestart: "restart automatically after a power failure",
  sleep: "minutes of idleness before the system sleeps (0: never)",
  womp: "wake for network access (Wake on LAN's magic packet)",
} as const;
export type PowerKey = keyof typeof POWER_KEYS;

/** The values to hold, by pmset name (autorestart and womp are 0/1, sleep minutes). */
export type PowerValues = Partial<Record<PowerKey, number>>;

/** A power source's settings as `pmset -g custom` shows them: source → pmset name → value. */
export type PowerTable = Record<string, Record<string, string>>;

export interface PowerSettingsArgs {
  host: pulumi.Input<Host>;
  settings: pulumi.Input<PowerValues>;
  secrets?: string[];
}

export function powerSettingsSchema(z: Zod) {
  const onOff = z.union([z.literal(0), z.literal(1)], { error: "must be 0 or 1" });
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    settings: z
      .strictObject({
        autorestart: onOff.optional(),
        sleep: z
          .number()
          .int("must be whole minutes")
          .min(0, "must be 0 (never) or minutes")
          .max(1440, "must be at most 1440 minutes")
          .optional(),
        womp: onOff.optional(),
      })
      .refine((s) => Object.keys(s).length > 0, "must name at least one of autorestart, sleep, womp"),
  });
}

export interface PowerSettingsInputs {
  resourceName: string;
  host: Host;
  settings: PowerValues;
  secrets?: string[];
}

export interface PowerSettingsOutputs extends PowerSettingsInputs {
  /** Each managed setting's value before this resource set it, per power source (what delete
   *  puts back). Only settings the Mac shows. */
  previous: Record<string, PowerValues>;
  /** The managed settings' values as `pmset -g custom` showed them last (create, update, refresh). */
  observed: Record<string, PowerValues>;
  /** Managed settings this Mac does not support (pmset accepts them and never shows them). */
  unsupported: PowerKey[];
}

/** The settings colima-pulse's POWER_* flags ask for (stacks/config.ts); {} when none is on. */
export function powerValuesOf(s: { POWER_AUTORESTART: boolean; POWER_NO_SLEEP: boolean; POWER_WAKE_ON_NETWORK: boolean }): PowerValues {
  return {
    ...(s.POWER_AUTORESTART ? { autorestart: 1 } : {}),
    ...(s.POWER_NO_SLEEP ? { sleep: 0 } : {}),
    ...(s.POWER_WAKE_ON_NETWORK ? { womp: 1 } : {}),
  };
}

/** `pmset -g custom` (pmset.m show_custom_pm_settings): `<Source>:` lines, then ` %-20s <value>`
 *  per setting, in no fixed order (CFDictionary's); a name may hold spaces ("Sleep On Power Button"). */
export function parsePmsetCustom(text: string): PowerTable {
  const table: PowerTable = {};
  let source: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const header = /^(\S.*):$/.exec(line);
    if (header) {
      source = {};
      table[header[1] as string] = source;
      continue;
    }
    const setting = /^\s+(\S.*?)\s+(\S+)$/.exec(line);
    if (!setting || !source)
      throw new Error(`pmset -g custom: a line that is neither a power source nor a setting: ${JSON.stringify(line)}`);
    source[setting[1] as string] = setting[2] as string;
  }
  return table;
}

const keysOf = (values: PowerValues) => Object.keys(values) as PowerKey[];

/** The managed settings' values per source, as numbers (those a source does not show are left out). */
export function managedValues(table: PowerTable, keys: PowerKey[]): Record<string, PowerValues> {
  const out: Record<string, PowerValues> = {};
  for (const [source, settings] of Object.entries(table)) {
    const values: PowerValues = {};
    for (const key of keys) if (settings[key] !== undefined) values[key] = Number(settings[key]);
    out[source] = values;
  }
  return out;
}

/** Settings no power source shows: the Mac does not support them. */
export function unsupportedKeys(table: PowerTable, keys: PowerKey[]): PowerKey[] {
  return keys.filter((k) => !Object.values(table).some((settings) => settings[k] !== undefined));
}

/** Where a supported managed setting differs from what is wanted: `autorestart is 0 on AC Power`. */
export function driftOf(observed: Record<string, PowerValues>, wanted: PowerValues, unsupported: PowerKey[]): string[] {
  const found: string[] = [];
  for (const [source, values] of Object.entries(observed))
    for (const key of keysOf(wanted))
      if (!unsupported.includes(key) && values[key] !== undefined && values[key] !== wanted[key])
        found.push(`${key} is ${values[key]} on ${source}, not ${wanted[key]}`);
  return found;
}

/** pmset's flag for a power source (pmset.1: -b battery, -c charger, -u UPS). */
const FLAG: Record<string, string> = { "AC Power": "-c", "Battery Power": "-b", "UPS Power": "-u" };

/** The arguments after `pmset` that put `keys` back to `previous`, per power source. */
export function restoreArgs(previous: Record<string, PowerValues>, keys: PowerKey[]): string[] {
  const args: string[] = [];
  for (const [source, values] of Object.entries(previous)) {
    const pairs = keys.filter((k) => values[k] !== undefined).flatMap((k) => [k, String(values[k])]);
    const flag = FLAG[source];
    if (pairs.length > 0 && flag) args.push(flag, ...pairs);
  }
  return args;
}

/** Only `previous`'s values of `keys`. */
function only(previous: Record<string, PowerValues>, keys: PowerKey[]): Record<string, PowerValues> {
  return Object.fromEntries(
    Object.entries(previous).map(([source, values]) => [
      source,
      Object.fromEntries(
        keysOf(values)
          .filter((k) => keys.includes(k))
          .map((k) => [k, values[k]]),
      ),
    ]),
  );
}

const describe = (values: PowerValues) =>
  keysOf(values)
    .map((k) => `${k} ${values[k]}`)
    .join(", ");

export function diffPowerSettings(olds: PowerSettingsOutputs, news: PowerSettingsInputs): DetailedDiff {
  const changes: PropertyChange[] = inputChanges(
    olds,
    news,
    ["host"],
    () => "another Mac: the old one's settings are put back",
    "update-replace",
  );
  changes.push(
    ...inputChanges(olds, news, ["settings"], () => {
      const dropped = keysOf(olds.settings ?? {}).filter((k) => news.settings[k] === undefined);
      return `pmset sets ${describe(news.settings)}${dropped.length > 0 ? `; ${dropped.join(", ")} put back as before` : ""}`;
    }),
  );
  if (changes.length === 0) {
    const drift = driftOf(olds.observed ?? {}, news.settings, olds.unsupported ?? []);
    if (drift.length > 0)
      changes.push({
        property: "observed",
        kind: "update",
        why: `${drift.join("; ")} (pmset -g custom): set again`,
        inputDiff: false,
        hidden: true,
      });
  }
  return diffOf(changes, true, news.secrets);
}

const pmsetPath = (host: Host) => hostPath(host, "/usr/bin/pmset");

async function readTable(mac: Mac, host: Host): Promise<PowerTable> {
  return parsePmsetCustom((await mac.run([pmsetPath(host), "-g", "custom"], { timeoutMs: 30_000 })).stdout);
}

/** The Mac's power settings now, for fleet status: autorestart, sleep and womp on AC Power (what a
 *  plugged-in Mac uses) as `pmset -g custom` shows them, e.g. "autorestart 1, sleep 0, womp 1"; a
 *  setting the Mac does not show (autorestart on a laptop) is left out. No root needed. */
export async function powerSummary(mac: Mac, host: Host): Promise<string> {
  const ac = managedValues(await readTable(mac, host), Object.keys(POWER_KEYS) as PowerKey[])["AC Power"] ?? {};
  return describe(ac) || "unknown";
}

/** Sets what is wanted (remembering what each newly managed setting was), puts back what is no
 *  longer managed, and reads the result. */
export async function convergePower(mac: Mac, inputs: PowerSettingsInputs, olds?: PowerSettingsOutputs): Promise<PowerSettingsOutputs> {
  const wanted = keysOf(inputs.settings);
  const before = await readTable(mac, inputs.host);
  const unsupported = unsupportedKeys(before, wanted);
  const supported = wanted.filter((k) => !unsupported.includes(k));
  // Put back what this resource set and no longer manages.
  const managedBefore = keysOf(olds?.settings ?? {});
  const dropped = managedBefore.filter((k) => !wanted.includes(k));
  const undo = restoreArgs(olds?.previous ?? {}, dropped);
  if (undo.length > 0) {
    await mac.asRoot([pmsetPath(inputs.host), ...undo]);
    say(inputs, `${dropped.join(", ")}: put back as before (pmset ${undo.join(" ")})`);
  }
  // Remember each newly managed setting's value now, before it is set.
  const kept = only(
    olds?.previous ?? {},
    supported.filter((k) => managedBefore.includes(k)),
  );
  const fresh = managedValues(
    before,
    supported.filter((k) => !managedBefore.includes(k)),
  );
  const previous: Record<string, PowerValues> = {};
  for (const source of new Set([...Object.keys(kept), ...Object.keys(fresh)])) previous[source] = { ...kept[source], ...fresh[source] };
  const toSet: PowerValues = Object.fromEntries(supported.map((k) => [k, inputs.settings[k]]));
  if (driftOf(managedValues(before, supported), toSet, []).length > 0) {
    const args = ["-a", ...supported.flatMap((k) => [k, String(inputs.settings[k])])];
    await mac.asRoot([pmsetPath(inputs.host), ...args]);
    say(inputs, `pmset ${args.join(" ")}`);
  }
  const after = await readTable(mac, inputs.host);
  const observed = managedValues(after, wanted);
  const left = driftOf(observed, toSet, unsupported);
  if (left.length > 0) throw new Error(`pmset did not take the settings: ${left.join("; ")} (pmset -g custom after pmset -a)`);
  if (supported.length > 0) say(inputs, `${describe(toSet)} on ${Object.keys(after).join(", ")}`);
  for (const key of unsupported)
    say(
      inputs,
      `${key} (${POWER_KEYS[key]}): not supported by this Mac — pmset accepts it and never shows it (pmset -g custom), so it is not set`,
    );
  return { ...inputs, previous, observed, unsupported };
}

/** Puts back every remembered value (delete). */
export async function restorePower(mac: Mac, stored: PowerSettingsOutputs): Promise<void> {
  const args = restoreArgs(stored.previous ?? {}, keysOf(stored.settings));
  if (args.length === 0) return;
  await mac.asRoot([pmsetPath(stored.host), ...args]);
  say(stored, `put back as before: pmset ${args.join(" ")}`);
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const powerSettingsProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffPowerSettings, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, powerSettingsSchema);
  },
  async diff(_id: string, olds: PowerSettingsOutputs, news: PowerSettingsInputs) {
    const { reasons, ...result } = diffPowerSettings(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: PowerSettingsInputs) {
    return { id: "pmset", outs: await convergePower(macOf(inputs.host), inputs) };
  },
  async update(_id: string, olds: PowerSettingsOutputs, news: PowerSettingsInputs) {
    return { outs: await convergePower(macOf(news.host), news, olds) };
  },
  async read(id: string, stored: PowerSettingsOutputs) {
    const table = await readTable(macOf(stored.host), stored.host);
    return { id, props: { ...stored, observed: managedValues(table, keysOf(stored.settings)) } };
  },
  async delete(_id: string, stored: PowerSettingsOutputs) {
    await restorePower(macOf(stored.host), stored);
  },
});

export class PowerSettings extends ResourceByReference {
  declare readonly observed: pulumi.Output<Record<string, PowerValues>>;
  declare readonly previous: pulumi.Output<Record<string, PowerValues>>;
  declare readonly unsupported: pulumi.Output<PowerKey[]>;

  constructor(name: string, args: PowerSettingsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "powerSettings",
      powerSettingsProvider,
      "PowerSettings",
      name,
      { resourceName: name, ...args, previous: undefined, observed: undefined, unsupported: undefined },
      opts,
    );
  }
}
