// `npm run restore` puts back only a backup in BACKUP_DIR_BASE, through the real engine on a
// simulated Mac: a folder elsewhere (a profile planted in /tmp, which any local user can write), a
// path that climbs out with `..`, a symlink in BACKUP_DIR_BASE that points out of it, and a backup
// folder anyone may write are refused in the preview — naming COLIMA_PULSE_RESTORE, its value,
// BACKUP_DIR_BASE and the backups there are — and nothing changes; a backup in it is still
// previewed. (test/e2e/macLife.e2e.test.ts restores a real one to the end.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { decisionFor, mutating, nextDecisionId, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

const BASE = "/Users/ops/colima-pulse-backups";
/** A profile planted where any local user can write (the Mac's /tmp), named as a backup is. */
const EVIL = "/tmp/evil/20261201T000000Z-default";

/** The decision `npm run restore -- <folder>` passes to its one `pulumi up` (scripts/restore.sh). */
const restoreOf = (mac: SimulatedMac, folder: string): NodeJS.ProcessEnv => ({
  COLIMA_PULSE_RESTORE: folder,
  COLIMA_PULSE_RESTORE_ID: nextDecisionId(),
  ...decisionFor(mac.stack.stack),
});

/** A Colima profile's saved folders, as a full reset leaves them (provider/colimaProfile.ts). */
function plantProfile(mac: SimulatedMac, folder: string, marker: string): void {
  for (const sub of ["config", "instance", "disk"]) mkdirSync(mac.sim.path(`${folder}/${sub}`), { recursive: true, mode: 0o700 });
  writeFileSync(mac.sim.path(`${folder}/instance/colima.yaml`), "vmType: qemu\nruntime: docker\ncpu: 2\n");
  writeFileSync(mac.sim.path(`${folder}/instance/marker`), marker);
  chmodSync(mac.sim.path(folder), 0o700);
}

describe("a restore takes only a backup in BACKUP_DIR_BASE", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const backup = `${BASE}/20261130T080000Z-default`;
  before(async () => {
    mac = await simulatedMac("sec-restore");
    mkdirSync(mac.sim.path(BASE), { recursive: true, mode: 0o755 });
    plantProfile(mac, backup, "a real backup");
    plantProfile(mac, EVIL, "planted by another user");
    chmodSync(mac.sim.path("/tmp/evil"), 0o777);
  });
  after(async () => {
    await mac?.dispose();
  });

  /** A preview of the restore of `folder`: refused, naming what it must, with nothing changed. */
  async function refused(folder: string, why: RegExp): Promise<void> {
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["preview"], 300_000, restoreOf(mac, folder));
    const out = r.stdout + r.stderr;
    assert.notEqual(r.code, 0, `the restore of ${folder} was previewed:\n${out}`);
    assert.doesNotMatch(out, /npm run restore will:/, out);
    assert.match(out, why, out);
    assert.ok(out.includes(`COLIMA_PULSE_RESTORE`), `names the variable: ${out}`);
    assert.ok(out.includes(folder), `names the value: ${out}`);
    assert.match(out, new RegExp(`BACKUP_DIR_BASE \\(${mac.sim.path(BASE)}`), `names BACKUP_DIR_BASE: ${out}`);
    assert.ok(out.includes(`backups of profile default in ${mac.sim.path(BASE)}, newest first`), `lists the backups: ${out}`);
    assert.ok(out.includes(mac.sim.path(backup)), out);
    assert.deepEqual(mutating(mac.sim.records()), [], "nothing changed");
    assert.equal(readFileSync(mac.sim.path(`${EVIL}/instance/marker`), "utf8"), "planted by another user");
    assert.equal(existsSync(mac.sim.path("/Users/ops/.colima/_lima/colima")), false, "no profile put in place");
  }

  it("a folder outside BACKUP_DIR_BASE (a profile planted in /tmp) is refused", async () => {
    await refused(EVIL, /is not in BACKUP_DIR_BASE/);
  });

  it("a path that climbs out of BACKUP_DIR_BASE with '..' is refused", async () => {
    await refused(`${BASE}/../../../tmp/evil/20261201T000000Z-default`, /no '\.\.'/);
  });

  it("a symlink in BACKUP_DIR_BASE that points outside it is refused", async () => {
    const link = `${BASE}/20261202T000000Z-default`;
    symlinkSync(mac.sim.path(EVIL), mac.sim.path(link));
    await refused(link, /resolves to .*\/tmp\/evil\/20261201T000000Z-default, not to a folder directly in BACKUP_DIR_BASE/);
  });

  it("a backup folder in BACKUP_DIR_BASE that other users may write is refused", async () => {
    const open = `${BASE}/20261203T000000Z-default`;
    plantProfile(mac, open, "writable by all");
    chmodSync(mac.sim.path(open), 0o777);
    await refused(open, /may be written by other users \(drwxrwxrwx, owned by uid \d+\)/);
  });

  it("a BACKUP_DIR_BASE in a folder other users may write (not sticky) is refused: one of them could swap it after the check", async () => {
    // The check resolves BACKUP_DIR_BASE and the backup, then the provider moves the backup later,
    // by the same path. A folder above BACKUP_DIR_BASE that another user may write lets that user
    // rename BACKUP_DIR_BASE away and put a folder of theirs in its place between the two (rename(2)
    // needs write on the parent only; sticky(7) alone stops it). Here `nobody` does that rename.
    const home = mac.sim.path("/Users/ops");
    const modes = [mac.sim.root, home].map((p) => [p, statSync(p).mode & 0o7777] as const);
    chmodSync(mac.sim.root, 0o711); // so that `nobody` can reach the simulated Mac's files at all
    chmodSync(home, 0o777);
    try {
      const base = mac.sim.path(BASE);
      const swap = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "mv", base, `${base}.theirs`], {
        encoding: "utf8",
      });
      assert.equal(swap.status, 0, `another user can move BACKUP_DIR_BASE away: ${swap.stderr}`);
      renameSync(`${base}.theirs`, base);
      await refused(
        mac.sim.path(backup),
        new RegExp(`inside ${home}, which may be written by other users \\(drwxrwxrwx, owned by uid \\d+\\) and is not sticky`),
      );
    } finally {
      for (const [p, m] of modes) chmodSync(p, m);
    }
  });

  it("a backup in BACKUP_DIR_BASE is previewed as before", async () => {
    const r = await mac.stack.cli(["preview"], 300_000, restoreOf(mac, mac.sim.path(backup)));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /npm run restore will:/);
  });
});
