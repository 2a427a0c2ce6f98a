// A full reset moves the profile's state — the VM's whole disk — into BACKUP_DIR_BASE as the
// Homebrew user, by its path, after the preview (provider/colimaProfile.ts moveToBackup). Another
// local user of the Mac who may add or rename entries there takes it: they make BACKUP_DIR_BASE
// (or `<id>-<profile>`, the id being the decision's time) first as a folder of theirs, or swap a
// folder on the way. Through the real engine on a simulated Mac, the preview of a reset refuses a
// BACKUP_DIR_BASE that is another user's, one that is missing in a shared sticky folder (anyone
// may make it first), and one in a folder others may write — naming BACKUP_DIR_BASE and what is
// wrong, with nothing changed; the default (in the Homebrew user's home) is not refused.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, rmSync, statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fullReset, mutating, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

const NOBODY = 65534;

describe("a full reset moves the state only into a BACKUP_DIR_BASE no other user can change", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("sec-reset-backup", {}, { formulae: ["colima", "lima", "qemu", "docker"] });
    // A profile with a VM disk to reset: made with Colima's defaults, then stopped.
    const colima = mac.sim.path("/opt/homebrew/bin/colima");
    for (const verb of ["start", "stop"]) {
      const r = await mac.sim.run([colima, verb]);
      assert.equal(r.code, 0, `colima ${verb}: ${r.stderr}`);
    }
  });
  after(async () => {
    await mac?.dispose();
  });

  /** The preview of a reset into `base` (BACKUP_DIR_BASE), with the stack's setting set for it. */
  async function preview(base: string): Promise<{ code: number; out: string }> {
    await mac.stack.must(["config", "set", "BACKUP_DIR_BASE", base]);
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["preview"], 300_000, fullReset(mac.stack));
    return { code: r.code, out: r.stdout + r.stderr };
  }

  async function refused(base: string, why: RegExp): Promise<void> {
    const r = await preview(base);
    assert.notEqual(r.code, 0, `the reset into ${base} was previewed:\n${r.out}`);
    assert.match(r.out, new RegExp(`into BACKUP_DIR_BASE \\(${mac.sim.path(base)}\\), but `), r.out);
    assert.match(r.out, why, r.out);
    assert.match(r.out, /another user could make or swap a folder there and take it\. Nothing was changed/, r.out);
    assert.deepEqual(mutating(mac.sim.records()), [], "nothing changed");
  }

  it("a BACKUP_DIR_BASE another user made first (theirs, 0777) is refused", async () => {
    const base = "/Users/Shared/colima-backups";
    mkdirSync(mac.sim.path(base), { recursive: true });
    chmodSync(mac.sim.path("/Users/Shared"), 0o1777);
    chownSync(mac.sim.path(base), NOBODY, NOBODY);
    chmodSync(mac.sim.path(base), 0o777);
    try {
      await refused(base, new RegExp(`${mac.sim.path(base)} belongs to another user \\(uid ${NOBODY}\\)`));
    } finally {
      rmSync(mac.sim.path(base), { recursive: true, force: true });
    }
  });

  it("a missing BACKUP_DIR_BASE in a shared sticky folder (anyone may make it first) is refused", async () => {
    mkdirSync(mac.sim.path("/Users/Shared"), { recursive: true });
    chmodSync(mac.sim.path("/Users/Shared"), 0o1777);
    await refused(
      "/Users/Shared/colima-backups",
      new RegExp(`${mac.sim.path("/Users/Shared")} may be written by other users \\(drwxrwxrwt`),
    );
  });

  it("a BACKUP_DIR_BASE of the Homebrew user's in a folder others may write (not sticky) is refused", async () => {
    const home = mac.sim.path("/Users/ops");
    const was = statSync(home).mode & 0o7777;
    mkdirSync(mac.sim.path("/Users/ops/backups"), { recursive: true, mode: 0o700 });
    chmodSync(home, 0o777);
    try {
      await refused(
        "/Users/ops/backups",
        new RegExp(`${home} may be written by other users \\(drwxrwxrwx, owned by uid \\d+\\) and is not sticky`),
      );
    } finally {
      chmodSync(home, was);
    }
  });

  it("the default BACKUP_DIR_BASE, in the Homebrew user's home, is not refused", async () => {
    const r = await preview("/Users/ops/colima-pulse-backups");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /FULL RESET: move profile default's state/, r.out);
    assert.doesNotMatch(r.out, /another user could make or swap a folder there/, r.out);
  });
});
