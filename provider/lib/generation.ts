// A Colima profile's generation (ColimaProfile's `generation` output): when the profile was last
// provisioned, restored or adopted, and which of these it was, in words. The LaunchDaemon reloads,
// the gates prove the VM and the smoke test runs on it whenever it changes; they say why with it.

/** `<ISO time> <what happened>`, e.g. `2026-12-07T08:58:23.101Z restored from /Users/ops/b/…`. */
export function generationOf(what: string, at = new Date()): string {
  return `${at.toISOString()} ${what}`;
}

/** What a generation says happened to the profile ("provisioned again" for one written before
 *  generations said it: a bare time). */
export function profileChange(generation: string): string {
  return /^\S+ (.+)$/s.exec(generation)?.[1] ?? "provisioned again";
}
