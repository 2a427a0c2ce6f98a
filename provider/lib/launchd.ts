// launchd as the provider drives it: the conflicting jobs it removes (launchd hygiene), booting a
// job out, and saying which of the causes behind launchctl's "5: Input/output error" it is.
import { hostPath, withLock } from "./host";
import type { Mac } from "./mac";

/** Jobs that also run Colima: `brew services start colima` installs this label with KeepAlive
 *  (homebrew-core colima.rb) into the Homebrew user's LaunchAgents (as root: the LaunchDaemons). */
export const CONFLICTING_LABELS = ["homebrew.mxcl.colima"];

/** Where launchd can have such a job loaded (Homebrew/brew services/system.rb#domain_target):
 *  `system` (brew services as root), the Homebrew user's `gui/<uid>` (from a GUI login) and
 *  `user/<uid>` (from an SSH session while someone else — or nobody — has the console, or through
 *  sudo; the same plist in ~/Library/LaunchAgents). */
export function conflictDomains(uid: string): string[] {
  return ["system", `gui/${uid}`, `user/${uid}`];
}

/** Whether `target` (e.g. `system/com.x`) is loaded, and whether its program runs — one
 *  `launchctl print` (exit 113 when not loaded; `state = running` while it runs). Asked as root,
 *  so the answer does not depend on who the operator is: a gui domain belongs to its user. */
export async function jobState(mac: Mac, target: string): Promise<{ loaded: boolean; running: boolean }> {
  const r = await mac.asRoot([hostPath(mac.host, "/bin/launchctl"), "print", target], { allowFailure: true, timeoutMs: 15_000 });
  return { loaded: r.exitCode === 0, running: r.exitCode === 0 && /^\tstate = running$/m.test(r.stdout) };
}

export async function isLoaded(mac: Mac, target: string): Promise<boolean> {
  return (await jobState(mac, target)).loaded;
}

/** Boots `target` out if loaded; "not loaded" (3, 113) is success. Returns whether it was loaded. */
export async function bootout(mac: Mac, target: string): Promise<boolean> {
  return withLock("launchctl", async () => {
    if (!(await isLoaded(mac, target))) return false;
    const r = await mac.asRoot([hostPath(mac.host, "/bin/launchctl"), "bootout", target], { allowFailure: true, timeoutMs: 180_000 });
    if (r.exitCode !== 0 && r.exitCode !== 3 && r.exitCode !== 113) {
      throw new Error(`launchctl bootout ${target} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    }
    return true;
  });
}

/** Boots out every conflicting Colima job in each domain it can be loaded in (conflictDomains),
 *  and removes brew's plists so a login does not bring it back. Returns what it booted out. */
export async function removeConflictingJobs(mac: Mac, uid: string, log: (m: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const label of CONFLICTING_LABELS) {
    for (const domain of conflictDomains(uid)) {
      if (await bootout(mac, `${domain}/${label}`)) {
        removed.push(`${domain}/${label}`);
        log(`booted out conflicting job ${domain}/${label} (brew services)`);
      }
    }
    for (const plist of [
      hostPath(mac.host, `/Library/LaunchDaemons/${label}.plist`),
      hostPath(mac.host, `/Users/${mac.host.user}/Library/LaunchAgents/${label}.plist`),
    ]) {
      const r = await mac.asRoot([hostPath(mac.host, "/bin/rm"), "-f", plist], { allowFailure: true });
      if (r.exitCode !== 0) throw new Error(`could not remove conflicting ${plist}: ${r.stderr.trim()}`);
    }
  }
  return removed;
}

/** launchctl bootstrap answers "5: Input/output error" for several causes (docs/ARCHITECTURE.md §2); this
 *  finds which one applies, so the error tells the operator what to do. */
export async function explainBootstrapFailure(mac: Mac, label: string, plistPath: string): Promise<string> {
  if (await isLoaded(mac, `system/${label}`))
    return `system/${label} is already loaded (boot it out first: sudo launchctl bootout system/${label})`;
  // macOS's stat is BSD's (file_cmds stat/stat.c): `-f format`, `%u` the owner's uid, `%Lp` the
  // permission bits in octal. GNU's `-c` is refused there (`illegal option -- c`).
  const stat = await mac.run([hostPath(mac.host, "/usr/bin/stat"), "-f", "%u %Lp", plistPath], { allowFailure: true });
  const [uid, mode] = stat.stdout.trim().split(" ");
  if (uid !== "0" || (mode && (Number.parseInt(mode, 8) & 0o022) !== 0)) {
    return `${plistPath} has bad ownership/permissions (owner uid ${uid}, mode ${mode}); launchd needs root:wheel and no group/world write (0644)`;
  }
  const disabled = await mac.asRoot([hostPath(mac.host, "/bin/launchctl"), "print-disabled", "system"], { allowFailure: true });
  if (new RegExp(`"${label.replace(/\./g, "\\.")}" => (disabled|true)`).test(disabled.stdout)) {
    return `system/${label} is disabled (run: sudo launchctl enable system/${label})`;
  }
  return `no visible cause: on macOS 15 check \`xattr -l ${plistPath}\` for com.apple.provenance, and the system log (log show --last 5m --predicate 'process == "launchd"')`;
}
