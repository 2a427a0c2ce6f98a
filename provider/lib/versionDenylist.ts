// VERSION_DENYLIST: versions of colima, lima, qemu or docker the fleet never runs (a release that
// broke VMs: colima#777, QEMU 8.0.4 and 8.1.0). The setting is `formula@version`, comma-separated
// (provider/lib/settingsSchema.ts checks its shape); the program refuses an upgrade onto one in the
// preview and reports one installed (stacks/index.ts).

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
