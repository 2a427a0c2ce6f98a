// An upgrade you can undo: before `npm run upgrade` upgrades what the VM runs under (colima, lima,
// qemu), the profile's VM is stopped and its three folders — ~/.colima/<profile>, the Lima
// instance ~/.colima/_lima/<instance> and its data disk _lima/_disks/<instance> — are cloned with
// `cp -c -R` into BACKUP_DIR_BASE/<id>-<profile>-before-upgrade, the layout of a full reset's
// backup (provider/lib/adoption.ts resetMoves), so `npm run restore -- <that folder>` puts the
// profile back as the old versions left it. On APFS a clone shares the files' blocks: seconds,
// and little space however large the disk (cp(1) -c, clonefile(2)). A clone that fails removes
// what it made and starts the VM again: nothing was upgraded.
import { resetMoves } from "./adoption";
import { colimaCommand, colimaPaths, type Host, hostPath, isHostAgentOf } from "./host";
import { bootout } from "./launchd";
import type { Mac } from "./mac";

/** What an upgrade clones, and where to (stacks/index.ts upgradePlan decides it). */
export interface UpgradeClone {
  profile: string;
  /** The LaunchDaemon that supervises the profile (LABEL): booted out, so the VM stops. */
  label: string;
  /** BACKUP_DIR_BASE/<id>-<profile>-before-upgrade, as the program reaches it. */
  folder: string;
}

/** The backup folder's name of an upgrade: `<id>-<profile>-before-upgrade` (provider/lib/backups.ts). */
export const beforeUpgradeName = (id: string, profile: string) => `${id}-${profile}-before-upgrade`;

/** The VM formulae: an upgrade of one of these restarts the VM under it, and is cloned before. */
export const VM_FORMULAE = ["colima", "lima", "qemu"];

/** Stops the profile's VM (its LaunchDaemon booted out: its supervisor stops Colima; a VM started
 *  by hand with `colima stop`), clones its folders into `clone.folder`, and returns what starts
 *  the job again (for a failure after this: the VM runs as it was). Throws, with the VM started
 *  again and the partial clone removed, when the clone fails. */
export async function cloneBeforeUpgrade(
  mac: Mac,
  host: Host,
  prefix: string,
  clone: UpgradeClone,
  say: (m: string) => void,
): Promise<() => Promise<void>> {
  const target = `system/${clone.label}`;
  const plist = hostPath(host, `/Library/LaunchDaemons/${clone.label}.plist`);
  const wasLoaded = await bootout(mac, target);
  const paths = colimaPaths(host, clone.profile);
  if ((await mac.listProcesses()).some((p) => isHostAgentOf(p.command, paths.instanceDir)))
    await mac.asUser(colimaCommand(host, prefix, "stop", "--profile", clone.profile), { timeoutMs: 300_000 });
  say(`stopped profile ${clone.profile}${wasLoaded ? ` (${target} booted out)` : ""} for its clone before the upgrade`);
  const startAgain = async () => {
    if (!wasLoaded) return;
    await mac.asRoot([hostPath(host, "/bin/launchctl"), "bootstrap", "system", plist], { allowFailure: true, timeoutMs: 60_000 });
  };
  const moves = resetMoves({ folders: { config: paths.configDir, instance: paths.instanceDir, disk: paths.diskDir } }, clone.folder);
  // The user's own and private (it holds the VM's whole disk), as a full reset's backup.
  // BACKUP_DIR_BASE made when missing (as a reset makes it); the clone's folder anew: one already
  // there is not this decision's.
  await mac.asUser([hostPath(host, "/bin/mkdir"), "-p", clone.folder.replace(/\/[^/]*$/, "")], { allowFailure: true });
  const made = await mac.asUser([hostPath(host, "/bin/mkdir"), "-m", "700", clone.folder], { allowFailure: true });
  let failure = made.exitCode === 0 ? undefined : `mkdir ${clone.folder} failed: ${made.stderr.trim()}`;
  for (const [from, to] of failure ? [] : moves) {
    if (!(await mac.exists(from))) continue;
    const r = await mac.asUser([hostPath(host, "/bin/cp"), "-c", "-R", from, to], { timeoutMs: 60 * 60_000, allowFailure: true });
    if (r.exitCode === 0) continue;
    const [first, ...more] = r.stderr.trim().split("\n");
    failure = `cp -c -R ${from} ${to} failed (exit ${r.exitCode}): ${first}${more.length > 0 ? ` (and ${more.length} more lines)` : ""}`;
    break;
  }
  if (failure) {
    if (made.exitCode === 0)
      await mac.asUser([hostPath(host, "/bin/rm"), "-rf", clone.folder], { timeoutMs: 60 * 60_000, allowFailure: true });
    await startAgain();
    throw new Error(
      `npm run upgrade stopped before brew upgrade, nothing was upgraded: the clone of profile ${clone.profile} failed: ${failure}. ` +
        `${/Cross-device link/.test(failure) ? `A clone (cp -c) needs BACKUP_DIR_BASE on the same APFS volume as ${paths.configDir}. ` : ""}` +
        `${wasLoaded ? `${target} was loaded again: the VM starts as it was.` : "The VM was not running under its LaunchDaemon and stays stopped."}`,
    );
  }
  say(`cloned profile ${clone.profile} (its VM stopped) into ${clone.folder}; to undo the upgrade: npm run restore -- ${clone.folder}`);
  return startAgain;
}
