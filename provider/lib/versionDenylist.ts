// VERSION_DENYLIST: versions of colima, lima, qemu or docker the fleet never runs (a release that
// broke VMs: colima#777, QEMU 8.0.4 and 8.1.0). The setting is `formula@version`, comma-separated
// (provider/lib/settingsSchema.ts checks its shape); the program refuses an upgrade onto one in the
// preview and reports one installed (stacks/index.ts).
import type { Mac } from "./mac";

/** `qemu@8.1.0,lima@1.0.0` → [["qemu", "8.1.0"], ["lima", "1.0.0"]]; "" or undefined → []. */
export function deniedVersions(setting: string | undefined): [formula: string, version: string][] {
  return (setting ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => e.split("@") as [string, string]);
}

/** Whether `formula` at `version` is denied; Homebrew's revision suffix (`_1`) is the same release. */
export function isDenied(denied: [string, string][], formula: string, version: string): boolean {
  const release = version.replace(/_\d+$/, "");
  return denied.some(([f, v]) => f === formula && (v === version || v === release));
}

/** What `brew install` would pour for each of `formulae` (not installed yet): `versions.stable` of
 *  `brew info --json=v2` (Homebrew/brew cmd/info.rb, formula.rb#to_hash), as the Homebrew user,
 *  against the local formulae (no auto-update, as the install runs: provider/homebrewPackages.ts). */
export async function installVersions(mac: Mac, prefix: string, formulae: string[]): Promise<Record<string, string>> {
  if (formulae.length === 0) return {};
  const argv = [`${prefix}/bin/brew`, "info", "--json=v2", ...formulae];
  const r = await mac.asUser(argv, {
    env: { HOMEBREW_NO_AUTO_UPDATE: "1", HOMEBREW_NO_ENV_HINTS: "1" },
    timeoutMs: 120_000,
    allowFailure: true,
  });
  if (r.exitCode !== 0 || !r.stdout.trim().startsWith("{"))
    throw new Error(`${argv.join(" ")} exited with code ${r.exitCode}: ${r.stderr.trim()}`);
  const parsed = JSON.parse(r.stdout) as { formulae?: { name: string; versions?: { stable?: string | null } }[] };
  return Object.fromEntries((parsed.formulae ?? []).filter((f) => f.versions?.stable).map((f) => [f.name, f.versions?.stable as string]));
}
