// pmset(1): macOS's power settings, as apple-oss-distributions/PowerManagement
// (PowerManagement-1846.0.25.0.1, commit d415e45) pmset/pmset.m and pmset/pmset.1 print and take
// them, with the preferences model of apple-oss-distributions/IOKitUser (IOKitUser-100222.0.4,
// commit 1a6b2d1) pwr_mgt.subproj/IOPMEnergyPrefs.c: what was written persists per power source
// (com.apple.PowerManagement.plist: SimState.power.custom), merged over the defaults
// (defaultSettings[]) and pruned of what the model does not support when read
// (copyActivePreferences → IOPMRemoveIrrelevantProperties). README.md "pmset" cites each row.
import { type SimPower, type SimState, ToolExit, type World } from "./world";

export type PowerSource = "AC Power" | "Battery Power" | "UPS Power";
export type PowerModel = NonNullable<SimPower["model"]>;

/** One setting: its preferences key (IOKitUser pwr_mgt.subproj/IOPMLibPrivate.h and IOPMLib.h),
 *  the name pmset shows (pmset.m all_features[], show_pm_settings_dict), where the model supports
 *  it, and its default (IOPMEnergyPrefs.c defaultSettings[]: AC, battery, UPS). */
interface Feature {
  key: string;
  shown: string;
  supported(model: PowerModel, arch: SimState["arch"], source: PowerSource): boolean;
  default(model: PowerModel, arch: SimState["arch"], source: PowerSource): number | string;
}

const always = () => true;
const bySource = (ac: number, battery: number, ups: number) => (_m: PowerModel, _a: SimState["arch"], s: PowerSource) =>
  s === "AC Power" ? ac : s === "Battery Power" ? battery : ups;
const laptopOnly = (m: PowerModel) => m === "laptop";

/** The settings this simulator knows. Support beyond IOPMFeatureIsAvailableWithSupportedTable's
 *  always-available timers is the platform's "Supported Features" (not in the sources): a desktop
 *  (Mac mini, Studio) publishes WakeOnMagicPacket and "Automatic Restart On Power Loss" on AC, a
 *  laptop no restart on power loss, lid wake and half dim; lessbright never on AC (1204-1226); the
 *  power button sleeps only a machine without a battery (1180-1199); Power Nap and standby on Apple
 *  silicon always (1155-1168). */
const FEATURES: Feature[] = [
  { key: "Display Sleep Timer", shown: "displaysleep", supported: always, default: bySource(10, 2, 2) },
  { key: "Disk Sleep Timer", shown: "disksleep", supported: always, default: bySource(10, 10, 10) },
  // 1 on Apple silicon, 10 on Intel (defaultSettings[]: `!defined(__x86_64__)`).
  { key: "System Sleep Timer", shown: "sleep", supported: always, default: (_m, a) => (a === "arm64" ? 1 : 10) },
  { key: "TTYSPreventSleep", shown: "ttyskeepawake", supported: always, default: bySource(1, 1, 1) },
  { key: "Wake On LAN", shown: "womp", supported: always, default: bySource(1, 0, 0) },
  { key: "PrioritizeNetworkReachabilityOverSleep", shown: "networkoversleep", supported: always, default: bySource(0, 0, 0) },
  { key: "Automatic Restart On Power Loss", shown: "autorestart", supported: (m) => m === "desktop", default: bySource(0, 0, 0) },
  { key: "Wake On Modem Ring", shown: "ring", supported: () => false, default: bySource(1, 0, 0) },
  { key: "DarkWakeBackgroundTasks", shown: "powernap", supported: (_m, a) => a === "arm64", default: bySource(1, 1, 0) },
  { key: "Standby Enabled", shown: "standby", supported: (_m, a) => a === "arm64", default: bySource(0, 0, 0) },
  // pmset.1: "hibernatemode = 0 by default on desktops … 3 by default on portables".
  { key: "Hibernate Mode", shown: "hibernatemode", supported: always, default: (m) => (m === "laptop" ? 3 : 0) },
  { key: "Hibernate File", shown: "hibernatefile", supported: always, default: () => "/var/vm/sleepimage" },
  { key: "TCPKeepAlivePref", shown: "tcpkeepalive", supported: always, default: bySource(1, 1, 1) },
  { key: "Wake On Clamshell Open", shown: "lidwake", supported: laptopOnly, default: bySource(1, 1, 1) },
  { key: "ReduceBrightness", shown: "lessbright", supported: (m, _a, s) => m === "laptop" && s !== "AC Power", default: bySource(0, 1, 1) },
  { key: "Display Sleep Uses Dim", shown: "halfdim", supported: laptopOnly, default: bySource(1, 1, 1) },
  // No all_features[] entry: shown by its key (show_pm_settings_dict's fallback).
  { key: "Sleep On Power Button", shown: "Sleep On Power Button", supported: (m) => m === "desktop", default: bySource(1, 1, 1) },
];

/** pmset.m all_features[]'s order (`-g cap` walks it), of the settings above. */
const ALL_FEATURES = [
  "displaysleep",
  "disksleep",
  "sleep",
  "womp",
  "ring",
  "autorestart",
  "lidwake",
  "lessbright",
  "halfdim",
  "standby",
  "powernap",
  "ttyskeepawake",
  "hibernatemode",
  "hibernatefile",
  "tcpkeepalive",
];

/** Arguments that set a setting through checkAndSetIntValue (pmset.m parseArgs): argument →
 *  key, and whether it is an on/off setting (any non-zero is 1). */
const SETTERS: Record<string, { key: string; onOff: boolean }> = {
  displaysleep: { key: "Display Sleep Timer", onOff: false },
  dim: { key: "Display Sleep Timer", onOff: false },
  disksleep: { key: "Disk Sleep Timer", onOff: false },
  spindown: { key: "Disk Sleep Timer", onOff: false },
  sleep: { key: "System Sleep Timer", onOff: false },
  womp: { key: "Wake On LAN", onOff: true },
  ring: { key: "Wake On Modem Ring", onOff: true },
  autorestart: { key: "Automatic Restart On Power Loss", onOff: true },
  lidwake: { key: "Wake On Clamshell Open", onOff: true },
  lessbright: { key: "ReduceBrightness", onOff: true },
  halfdim: { key: "Display Sleep Uses Dim", onOff: true },
  ttyskeepawake: { key: "TTYSPreventSleep", onOff: true },
  networkoversleep: { key: "PrioritizeNetworkReachabilityOverSleep", onOff: false },
  standby: { key: "Standby Enabled", onOff: false },
};

/** Arguments pmset takes that this simulator does not: refused with a `simulator:` message, never
 *  guessed (pmset.m parseArgs and the_getters[]). */
const NOT_SIMULATED = new Set([
  "touch",
  "noidle",
  "sleepnow",
  "displaysleepnow",
  "restoredefaults",
  "schedule",
  "sched",
  "repeat",
  "relative",
  "hibernatemode",
  "hibernatefile",
  "tcpkeepalive",
  "powernap",
  "darkwakes",
  "acwake",
  "sms",
  "gpuswitch",
  "autopoweroff",
  "autopoweroffdelay",
  "standbydelay",
  "standbydelayhigh",
  "standbydelaylow",
  "highstandbythreshold",
  "proximitywake",
  "disablesleep",
  "destroyfvkeyonstandby",
  "lowpowermode",
  "powermode",
  "haltlevel",
  "haltafter",
  "haltremain",
  "vact",
]);
/** `pmset -g <x>` getters this simulator does not print. */
const GETTERS_NOT_SIMULATED = new Set([
  "sched",
  "ups",
  "adapter",
  "ac",
  "ps",
  "batt",
  "pslog",
  "rawlog",
  "therm",
  "thermlog",
  "assertions",
  "assertionslog",
  "sysload",
  "sysloadlog",
  "log",
  "history",
  "everything",
  "uuid",
  "powerstate",
  "stats",
  "systemstate",
]);

const sourcesOf = (model: PowerModel): PowerSource[] => (model === "laptop" ? ["Battery Power", "AC Power"] : ["AC Power"]);

/** A string's 32-bit FNV-1a hash: the order keys come out in stands for CFDictionary's, which is
 *  its hash order — neither alphabetical nor the order they were written (pmset.m prints
 *  `CFDictionaryGetKeysAndValues`'s order). */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (const c of text) h = Math.imul(h ^ (c.codePointAt(0) as number), 0x01000193) >>> 0;
  return h;
}

/** The Mac's model (SimState.power; absent in an older state.json: a desktop). */
export function powerModel(state: SimState): PowerModel {
  return state.power?.model ?? "desktop";
}

/** copyActivePreferences: per power source the Mac has, what was written merged over the
 *  defaults, pruned of what the model does not support there (IOPMRemoveIrrelevantProperties).
 *  Keys in CFDictionary order (fnv). */
export function activePreferences(state: SimState): Map<PowerSource, Map<string, number | string>> {
  const model = powerModel(state);
  const out = new Map<PowerSource, Map<string, number | string>>();
  for (const source of sourcesOf(model)) {
    const written = state.power?.custom?.[source] ?? {};
    const dict = new Map<string, number | string>();
    for (const f of [...FEATURES].sort((a, b) => fnv(a.key) - fnv(b.key))) {
      if (!f.supported(model, state.arch, source)) continue;
      dict.set(f.key, written[f.key] ?? f.default(model, state.arch, source));
    }
    out.set(source, dict);
  }
  return out;
}

/** show_pm_settings_dict: ` %-20s ` then the value (`%d`, `%s` for a string). */
function settingLines(dict: Map<string, number | string>): string {
  return [...dict].map(([key, value]) => ` ${(FEATURES.find((f) => f.key === key)?.shown ?? key).padEnd(20)} ${value}\n`).join("");
}

/** C's strtol(s, &end, 0) with `*end == 0` required (checkAndSetIntValue): leading white space, a
 *  sign, 0x/0 prefixes; "" is 0 (nothing parsed, end at the terminator); "  " or "+" are not. */
export function strtol0(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?$/.exec(s);
  // No digits: strtol leaves end at the start, so only "" passes.
  if (!m || (m[2] === undefined && s !== "")) return undefined;
  const digits = m[2] ?? "0";
  const n = /^0[xX]/.test(digits)
    ? Number.parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith("0")
      ? Number.parseInt(digits, 8)
      : Number(digits);
  return m[1] === "-" ? -n : n;
}

class Usage extends ToolExit {
  constructor(before = "") {
    // usage() prints to stdout; main exits 1.
    super(1, "");
    process.stdout.write(`${before}Usage: pmset <options>\nSee pmset(1) for details: 'man pmset'\n`);
  }
}

export async function pmset(world: World, argv: string[]): Promise<number> {
  const state = world.state();
  const model = powerModel(state);
  const active = activePreferences(state);
  if (argv.length === 0) throw new Usage();
  // The settings as parseArgs copies them (IOPMCopyActivePMPreferences), one dict per source.
  const local = new Map([...active].map(([s, d]) => [s, new Map(d)]));
  const present = [...local.keys()];
  let apply: PowerSource[] = present;
  let modified = false;
  let i = 0;
  while (i < argv.length) {
    const arg = (argv[i] as string).toLowerCase(); // string_tolower, in place
    if (arg.startsWith("-") && arg[1] !== "1") {
      apply = [];
      const flag = arg[1];
      if (flag === "a") apply = present;
      else if (flag === "b") apply = present.filter((s) => s === "Battery Power");
      else if (flag === "c") apply = present.filter((s) => s === "AC Power");
      else if (flag === "u") apply = present.filter((s) => s === "UPS Power");
      else if (flag === "g") {
        if (arg.length !== 2) throw new Usage();
        const what = argv[i + 1] ?? "";
        const canonical = what === "" ? "live" : what === "disk" ? "custom" : what;
        if (canonical === "live") {
          // show_system_power_settings, then show_live_pm_settings: the active source (AC here),
          // pruned of what is not supported on AC.
          process.stdout.write("System-wide power settings:\nCurrently in use:\n");
          process.stdout.write(settingLines(active.get("AC Power") ?? new Map()));
        } else if (canonical === "custom") {
          for (const [source, dict] of active) process.stdout.write(`${source}:\n${settingLines(dict)}`);
        } else if (canonical === "cap") {
          // show_supported_pm_features: all_features[] order, by what AC supports.
          process.stdout.write("Capabilities for AC Power:\n");
          for (const name of ALL_FEATURES) {
            const f = FEATURES.find((x) => x.shown === name);
            if (f?.supported(model, state.arch, "AC Power")) process.stdout.write(` ${name}\n`);
          }
        } else if (GETTERS_NOT_SIMULATED.has(canonical)) {
          throw new ToolExit(1, `pmset: simulator: \`pmset -g ${canonical}\` is not simulated\n`);
        } else throw new Usage(`Error: unhandled argument ${what}\n`);
        break; // "return immediately - don't handle any more setting arguments"
      } else throw new Usage();
      i++;
      continue;
    }
    const setter = SETTERS[arg];
    if (!setter) {
      if (NOT_SIMULATED.has(arg)) throw new ToolExit(1, `pmset: simulator: \`pmset ${arg}\` is not simulated\n`);
      throw new Usage();
    }
    // checkAndSetIntValue: strtol, any non-zero is 1 for an on/off setting, negative refused.
    const raw = argv[i + 1];
    let value = raw === undefined ? undefined : strtol0(raw);
    if (value !== undefined && setter.onOff) value = value ? 1 : 0;
    if (value === undefined || value < 0) throw new Usage();
    for (const source of apply) local.get(source)?.set(setter.key, value);
    modified = true;
    i += 2;
  }
  if (!modified) return 0;
  // IOPMSetPMPreferences: NotPrivileged unless uid or euid is 0; main prints argv[0]'s message.
  if (world.user !== "root") {
    process.stdout.write(`'${process.argv[1] ?? "pmset"}' must be run as root...\n`);
    return 1;
  }
  // setPreferencesForSrc: each source's keys set into the plist's dict for that source (kept there
  // even when the model never shows them).
  world.updateState((s) => {
    const power: SimPower = s.power ?? { model };
    power.custom ??= {};
    for (const [source, dict] of local) power.custom[source] = { ...power.custom[source], ...Object.fromEntries(dict) };
    s.power = power;
  });
  // checkSettingConsistency (pmset.m 6110-6195), per source.
  for (const [source, dict] of local) {
    const sleep = Number(dict.get("System Sleep Timer"));
    const display = Number(dict.get("Display Sleep Timer"));
    const disk = Number(dict.get("Disk Sleep Timer"));
    if (sleep === 0) continue;
    const displayBad = sleep !== 1 && (display > sleep || display === 0);
    const diskBad = disk === 0;
    if (!displayBad && !diskBad) continue;
    process.stderr.write(`Warning: Idle sleep timings for "${source}" may not behave as expected.\n`);
    if (displayBad) process.stderr.write("- Display sleep should have a lower timeout than system sleep.\n");
    if (diskBad) process.stderr.write("- Disk sleep should be non-zero whenever system sleep is non-zero.\n");
  }
  return 0;
}
