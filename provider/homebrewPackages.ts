// HomebrewPackages: the pre-flight audits (macOS, architecture, the Homebrew user, admin rights,
// FileVault) and the formulae colima-pulse needs (colima, lima, qemu, docker) installed under
// the Homebrew prefix, as the Homebrew user (brew refuses root). Check → act → verify: install
// only what is missing, then list again and fail if anything still is. Delete leaves packages in
// place: they are shared with whatever else the Mac runs.
import type * as pulumi from "@pulumi/pulumi";
import { linkedVersions } from "./lib/brew";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, say, type Zod } from "./lib/checkInputs";
import { colimaTooOld } from "./lib/colimaVersion";
import { brewPrefixFor, type Host, homeOf, hostPath, withLock } from "./lib/host";
import { checkSudo, type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { cloneBeforeUpgrade, type UpgradeClone } from "./lib/upgradeClone";

// ---- Args ---------------------------------------------------------------------------------

export interface HomebrewPackagesArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  /** The Mac: its root ("/") and the Homebrew user. */
  host: pulumi.Input<Host>;
  /** Formulae to have installed. Default colima, lima, qemu, docker. */
  formulae?: pulumi.Input<pulumi.Input<string>[]>;
  /** An upgrade decided on the command line for this run (`npm run upgrade`): formula → from/to,
   *  as `brew outdated` reported it to the preview. Carried out once per id. */
  upgrade?: pulumi.Input<Upgrade>;
}

export interface Upgrade {
  id: string;
  formulae: Record<string, { from: string; to: string }>;
  /** The profile cloned before `brew upgrade` (an upgrade of what the VM runs under, of a profile
   *  that exists): `npm run restore -- <folder>` undoes the upgrade (provider/lib/upgradeClone.ts). */
  before?: UpgradeClone;
}

// ---- schema and types ---------------------------------------------------------------------

export function homebrewPackagesSchema(z: Zod) {
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    formulae: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9@+._-]*$/, "must be Homebrew formula names"))
      .min(1)
      .default(["colima", "lima", "qemu", "docker"]),
    upgrade: z
      .strictObject({
        id: z.string().regex(/^\d{8}T\d{6}Z$/, "must be the decision's time, YYYYMMDDTHHMMSSZ"),
        formulae: z.record(
          z.string().regex(/^[a-z0-9][a-z0-9@+._-]*$/, "must be Homebrew formula names"),
          z.strictObject({ from: z.string().regex(/^[\w.+-]+$/), to: z.string().regex(/^[\w.+-]+$/) }),
        ),
        before: z
          .strictObject({
            profile: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be a Colima profile name"),
            label: z.string().regex(/^[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+$/, "must be a launchd label"),
            folder: z.string().regex(/^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/, "must be an absolute path of safe characters"),
          })
          .optional(),
      })
      .optional(),
  });
}

export interface HomebrewPackagesInputs {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  host: Host;
  formulae: string[];
  upgrade?: Upgrade;
}

export interface HomebrewPackagesOutputs extends HomebrewPackagesInputs {
  /** /opt/homebrew (Apple silicon) or /usr/local (Intel), under the host root. */
  prefix: string;
  arch: "arm64" | "x86_64";
  macosVersion: string;
  /** Physical memory in GiB (`sysctl -n hw.memsize`), for the profile's memory check. */
  hostMemoryGiB: number;
  /** `fdesetup status`: "On" or "Off". */
  fileVault: string;
  /** What FileVault means for unattended boots (the seed's FileVault section). */
  fileVaultNote: string;
  /** Installed version of each declared formula ("" when refresh finds it gone). */
  versions: Record<string, string>;
  /** Formulae this resource installed. */
  installedByUs: string[];
}

// ---- pure functions -----------------------------------------------------------------------

export function fileVaultNote(status: string): string {
  if (status === FILEVAULT_LOCKED)
    return "FileVault is on and the disk has not been unlocked since the last boot: the LaunchDaemon waits for the Homebrew user's home, and Docker comes up once someone unlocks the disk";
  return status === "On"
    ? "FileVault is on: after a reboot Docker comes up only once someone unlocks the disk (seed: FileVault and unattended reboots)"
    : "FileVault is off: Docker comes up unattended after a reboot";
}

export const FILEVAULT_LOCKED = "locked: waiting for unlock";

/** FileVault as `fdesetup status` says it: On, Off, unknown, or — On and the Homebrew user's home
 *  not there (its data volume not unlocked since the boot) — "locked: waiting for unlock". */
export async function fileVaultState(mac: Mac, host: Host): Promise<string> {
  const fv = (await mac.asRoot([hostPath(host, "/usr/bin/fdesetup"), "status"], { allowFailure: true })).stdout;
  const state = /FileVault is On/.test(fv) ? "On" : /FileVault is Off/.test(fv) ? "Off" : "unknown";
  return state === "On" && !(await mac.exists(homeOf(host))) ? FILEVAULT_LOCKED : state;
}

export function diffHomebrewPackages(olds: HomebrewPackagesOutputs, news: HomebrewPackagesInputs): DetailedDiff {
  const changes = inputChanges(olds, news, ["host", "formulae"], (k) =>
    k === "host" ? "another Mac or Homebrew user" : "what colima-pulse keeps installed",
  );
  for (const f of news.formulae.filter((f) => !olds.versions?.[f])) {
    changes.push({ property: `versions.${f}`, kind: "add", new: `brew install ${f} as ${news.host.user}`, inputDiff: false });
  }
  if (news.upgrade && news.upgrade.id !== olds.upgrade?.id) {
    for (const [f, { from, to }] of Object.entries(news.upgrade.formulae)) {
      changes.push({
        property: `versions.${f}`,
        kind: "update",
        old: from,
        new: to,
        why: `npm run upgrade: brew upgrade ${f} as ${news.host.user}; the VM restarts under it, through the gates and the smoke test`,
        inputDiff: false,
      });
    }
    const before = news.upgrade.before;
    if (before)
      changes.push({
        property: "upgrade.before",
        kind: "add",
        new: `${before.folder} (cp -c -R of profile ${before.profile}'s folders, its VM stopped first)`,
        why: `before brew upgrade: npm run restore -- ${before.folder} undoes the upgrade`,
      });
  }
  return diffOf(changes, false, news.secrets);
}

// ---- executor -----------------------------------------------------------------------------

/** The pre-flight audits: each failure says what to do about it. */
async function audit(mac: Mac, inputs: HomebrewPackagesInputs) {
  const { host } = inputs;
  const swVers = hostPath(host, "/usr/bin/sw_vers");
  if (!(await mac.exists(swVers))) throw new Error(`pre-flight: ${swVers} not found on ${mac.name}: colima-pulse converges macOS only`);
  const macosVersion = (await mac.run([swVers, "-productVersion"])).stdout.trim();
  const arch = (await mac.run([hostPath(host, "/usr/bin/uname"), "-m"])).stdout.trim();
  if (arch !== "arm64" && arch !== "x86_64")
    throw new Error(`pre-flight: unsupported architecture ${JSON.stringify(arch)} (need arm64 or x86_64)`);
  const id = await mac.run([hostPath(host, "/usr/bin/id"), "-u", host.user], { allowFailure: true });
  if (id.exitCode !== 0)
    throw new Error(`pre-flight: HOMEBREW_USER ${JSON.stringify(host.user)} does not exist on this Mac (${id.stderr.trim()})`);
  if (id.stdout.trim() === "0")
    throw new Error(`pre-flight: HOMEBREW_USER ${JSON.stringify(host.user)} is root; Homebrew refuses to run as root`);
  await checkSudo(mac, "pre-flight");
  const fileVault = await fileVaultState(mac, host);
  const memsize = Number((await mac.run([hostPath(host, "/usr/sbin/sysctl"), "-n", "hw.memsize"])).stdout.trim());
  return { macosVersion, arch: arch as "arm64" | "x86_64", fileVault, hostMemoryGiB: Math.floor(memsize / 1024 ** 3) };
}

/** The installed version of each declared formula: the one Homebrew linked (provider/lib/brew.ts). */
function listVersions(mac: Mac, inputs: HomebrewPackagesInputs, prefix: string): Promise<Record<string, string>> {
  return linkedVersions(mac, prefix, inputs.formulae);
}

/** No auto-update, so that repeated runs are idempotent and an upgrade installs what its preview
 *  showed (nix-darwin's homebrew module); old kegs stay, a way back. */
const BREW_ENV = { HOMEBREW_NO_AUTO_UPDATE: "1", HOMEBREW_NO_INSTALL_CLEANUP: "1", HOMEBREW_NO_ENV_HINTS: "1" };

/** `brew upgrade` of what the upgrade decision names, then a check that each is at its target. */
async function upgrade(mac: Mac, inputs: HomebrewPackagesInputs, prefix: string, plan: Upgrade): Promise<Record<string, string>> {
  const brew = `${prefix}/bin/brew`;
  const names = Object.keys(plan.formulae);
  const steps = Object.entries(plan.formulae).map(([f, { from, to }]) => `${f} ${from} → ${to}`);
  // The VM stopped and cloned under the versions it ran (a failed clone stops here: nothing upgraded).
  const startAgain = plan.before ? await cloneBeforeUpgrade(mac, inputs.host, prefix, plan.before, (m) => say(inputs, m)) : undefined;
  say(inputs, `upgrading ${steps.join(", ")} as ${inputs.host.user}`);
  try {
    await mac.asUser([brew, "upgrade", ...names], { env: BREW_ENV, timeoutMs: 30 * 60_000 });
    const versions = await listVersions(mac, inputs, prefix);
    const off = Object.entries(plan.formulae).filter(([f, { to }]) => versions[f] !== to);
    if (off.length > 0)
      throw new Error(
        `brew upgrade reported success, but ${off.map(([f, { to }]) => `${f} is ${versions[f] || "missing"}, not ${to}`).join("; ")}`,
      );
    return versions;
  } catch (e) {
    // The LaunchDaemon is not reloaded after a failed step: whatever failed after the VM was
    // stopped for the clone, its job is loaded again here, so Docker comes back.
    await startAgain?.();
    throw e;
  }
}

/** Stops the run when the declared Colima's `version` is older than colima-pulse's flags need. */
function tooOld(inputs: HomebrewPackagesInputs, version: string | undefined, changed: string): void {
  const why = inputs.formulae.includes("colima") ? colimaTooOld(version, { reset: false, user: inputs.host.user }) : undefined;
  if (why) throw new Error(`pre-flight: ${why} ${changed}.`);
}

export async function convergePackages(
  mac: Mac,
  inputs: HomebrewPackagesInputs,
  olds?: HomebrewPackagesOutputs,
): Promise<HomebrewPackagesOutputs> {
  const installedBefore = olds?.installedByUs ?? [];
  const facts = await audit(mac, inputs);
  const prefix = brewPrefixFor(inputs.host, facts.arch);
  const brew = `${prefix}/bin/brew`;
  if (!(await mac.exists(brew)))
    throw new Error(`pre-flight: Homebrew not found at ${brew}: install it (https://brew.sh) as ${inputs.host.user}, then run again`);
  return withLock("brew", async () => {
    let versions = await listVersions(mac, inputs, prefix);
    // A Colima too old for the flags colima-pulse passes (provider/lib/colimaVersion.ts) stops the
    // run here, before the profile is touched: unless this run's upgrade brings a newer one.
    const upgrading = inputs.upgrade && inputs.upgrade.id !== olds?.upgrade?.id ? inputs.upgrade.formulae.colima?.to : undefined;
    tooOld(inputs, upgrading ?? versions.colima, "Nothing was changed");
    const missing = inputs.formulae.filter((f) => !versions[f]);
    if (missing.length > 0) {
      say(inputs, `installing ${missing.join(", ")} as ${inputs.host.user}`);
      await mac.asUser([brew, "install", ...missing], { env: BREW_ENV, timeoutMs: 30 * 60_000 });
      versions = await listVersions(mac, inputs, prefix);
      const still = inputs.formulae.filter((f) => !versions[f]);
      if (still.length > 0) throw new Error(`brew install reported success but ${still.join(", ")} is still not installed under ${prefix}`);
    }
    if (inputs.upgrade && inputs.upgrade.id !== olds?.upgrade?.id) versions = await upgrade(mac, inputs, prefix, inputs.upgrade);
    tooOld(inputs, versions.colima, "Homebrew's local formulae offered that version; nothing but the packages was changed");
    say(inputs, `${inputs.formulae.map((f) => `${f} ${versions[f]}`).join(", ")} under ${prefix}`);
    return {
      ...inputs,
      ...facts,
      prefix,
      fileVaultNote: fileVaultNote(facts.fileVault),
      versions,
      installedByUs: [...new Set([...installedBefore, ...missing])],
    };
  });
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const homebrewPackagesProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffHomebrewPackages, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, homebrewPackagesSchema);
  },
  async diff(_id: string, olds: HomebrewPackagesOutputs, news: HomebrewPackagesInputs) {
    const { reasons, ...result } = diffHomebrewPackages(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: HomebrewPackagesInputs) {
    return { id: `homebrew-${inputs.host.user}`, outs: await convergePackages(macOf(inputs.host), inputs) };
  },
  async update(_id: string, olds: HomebrewPackagesOutputs, news: HomebrewPackagesInputs) {
    return { outs: await convergePackages(macOf(news.host), news, olds) };
  },
  async read(id: string, stored: HomebrewPackagesOutputs) {
    const brew = `${stored.prefix}/bin/brew`;
    const mac = macOf(stored.host);
    const found = (await mac.exists(brew))
      ? await listVersions(mac, stored, stored.prefix).catch(() => ({}) as Record<string, string>)
      : {};
    const versions = Object.fromEntries(stored.formulae.map((f) => [f, found[f] ?? ""]));
    const fileVault = await fileVaultState(mac, stored.host).catch(() => stored.fileVault);
    return { id, props: { ...stored, versions, fileVault, fileVaultNote: fileVaultNote(fileVault) } };
  },
  async delete(_id: string, stored: HomebrewPackagesOutputs) {
    say(stored, `left ${stored.formulae.join(", ")} installed: Homebrew packages are shared with the rest of the Mac`);
  },
});

// ---- resource -----------------------------------------------------------------------------

export class HomebrewPackages extends ResourceByReference {
  declare readonly prefix: pulumi.Output<string>;
  declare readonly arch: pulumi.Output<string>;
  declare readonly macosVersion: pulumi.Output<string>;
  declare readonly fileVault: pulumi.Output<string>;
  declare readonly fileVaultNote: pulumi.Output<string>;
  declare readonly versions: pulumi.Output<Record<string, string>>;
  declare readonly hostMemoryGiB: pulumi.Output<number>;

  constructor(name: string, args: HomebrewPackagesArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      prefix: undefined,
      arch: undefined,
      macosVersion: undefined,
      fileVault: undefined,
      fileVaultNote: undefined,
      versions: undefined,
      hostMemoryGiB: undefined,
    };
    super("homebrewPackages", homebrewPackagesProvider, "HomebrewPackages", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
