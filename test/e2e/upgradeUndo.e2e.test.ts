// Upgrades you can undo (README "Upgrades you can undo"), through the real engine on a simulated
// Mac, with the scripts an operator runs: `npm run upgrade` stops the VM and clones the profile
// with `cp -c -R` into BACKUP_DIR_BASE/<id>-<profile>-before-upgrade before Homebrew upgrades what
// the VM runs under, and `npm run restore -- <that folder>` puts the profile back as it was; a
// version VERSION_DENYLIST denies (set fleet-wide, in Pulumi.yaml) is refused in the upgrade's
// preview, naming it, with nothing changed; one installed is reported; and a converge that would
// install a denied version is refused before anything is installed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDocument } from "yaml";
import { listBackups } from "../../provider/lib/backups";
import { macOf } from "../../provider/lib/mac";
import type { CliResult } from "../helpers/pulumiStack";
import { dockerAnswers, mutating, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const out = (r: CliResult) => r.stdout + r.stderr;
const INSTANCE = "/Users/ops/.colima/_lima/colima";
const DISK = "/Users/ops/.colima/_lima/_disks/colima";
const BACKUPS = "/Users/ops/colima-pulse-backups";

describe("upgrades you can undo: a clone before the upgrade, restored; denied versions refused", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const brewList = async () =>
    (await mac.sim.run([mac.sim.path("/opt/homebrew/bin/brew"), "list", "--versions", "colima", "lima", "qemu", "docker"])).stdout;
  before(async () => {
    mac = await simulatedMac("e2e-upgrade-undo", { WAIT_DOCKER_API_MAX: "60" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("npm run upgrade stops the VM and clones the profile before brew upgrade; npm run restore of the clone brings the profile back as it was", async () => {
    // The VM's state as the old versions leave it: a file in the instance and one in its data disk.
    writeFileSync(mac.sim.path(`${INSTANCE}/marker`), "before the upgrade");
    writeFileSync(mac.sim.path(`${DISK}/marker`), "data before the upgrade");
    mac.sim.publish("qemu", "10.1.1");
    mac.sim.clearRecords();
    const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"], {}, 600_000);
    assert.equal(r.code, 0, out(r));
    const text = out(r);
    // The preview says it, with the folder, before anything changes.
    const said =
      /stop profile default's VM \(system\/com\.colima-pulse\.colima booted out\) and clone its folders with `cp -c -R` \(APFS copy-on-write: seconds, little space\) into (\S+-default-before-upgrade)/.exec(
        text,
      );
    assert.ok(said, text);
    const clone = said[1] as string;
    assert.ok(text.indexOf(said[0]) < text.indexOf("Updating ("), "said in the preview");
    assert.ok(text.includes(`\`npm run restore -- ${clone}\` puts the profile back as it was before this upgrade`), text);
    assert.match(clone, new RegExp(`^${mac.sim.path(BACKUPS)}/\\d{8}T\\d{6}Z-default-before-upgrade$`));
    // The run says where the clone is and how to restore it.
    assert.ok(
      text.includes(
        `[colima-packages] cloned profile default (its VM stopped) into ${clone}; to undo the upgrade: npm run restore -- ${clone}`,
      ),
      text,
    );

    // In order, on the Mac: the job out (the VM stopped), the three clones as ops, then brew upgrade.
    const records = mac.sim.records().filter((e) => e.exit !== undefined);
    const at = (match: (e: (typeof records)[number]) => boolean) => records.findIndex(match);
    const bootout = at((e) => e.tool === "launchctl" && e.argv[0] === "bootout");
    const clones = records.filter((e) => e.tool === "cp");
    assert.deepEqual(
      clones.map((e) => [e.user, e.argv.join(" "), e.exit]),
      [
        ["ops", `-c -R ${mac.sim.path("/Users/ops/.colima/default")} ${clone}/config`, 0],
        ["ops", `-c -R ${mac.sim.path(INSTANCE)} ${clone}/instance`, 0],
        ["ops", `-c -R ${mac.sim.path(DISK)} ${clone}/disk`, 0],
      ],
    );
    const upgrade = at((e) => e.tool === "brew" && e.argv[0] === "upgrade");
    assert.ok(bootout >= 0 && bootout < records.indexOf(clones[0] as (typeof records)[number]), "the VM stopped before its clone");
    assert.ok(records.indexOf(clones[2] as (typeof records)[number]) < upgrade, "cloned before brew upgrade");

    // The clone: the profile as it was, private to the Homebrew user, listed with the backups.
    assert.equal(statSync(clone).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(clone, "instance/marker"), "utf8"), "before the upgrade");
    assert.equal(readFileSync(join(clone, "disk/marker"), "utf8"), "data before the upgrade");
    assert.match(readFileSync(join(clone, "instance/colima.yaml"), "utf8"), /vmType: qemu/);
    assert.ok(existsSync(join(clone, "config/colima.yaml")));
    const listed = await listBackups(macOf({ root: mac.sim.root, user: "ops" }), mac.sim.path(BACKUPS), "default");
    assert.deepEqual(
      listed.map((b) => b.path),
      [clone],
    );

    // The VM runs again, under the new QEMU, through the gates.
    assert.match(text, /\[colima-smoke\] ran .*output as expected/);
    await waitFor("Docker under qemu 10.1.1", () => dockerAnswers(mac.socket), 120_000);
    assert.match(await brewList(), /qemu 10\.1\.0 10\.1\.1|qemu 10\.1\.1 10\.1\.0/);

    // What happened after the upgrade, and then the way back.
    writeFileSync(mac.sim.path(`${INSTANCE}/marker`), "after the upgrade");
    const restored = await mac.stack.script(["scripts/restore.sh", clone, "--yes"], {}, 600_000);
    assert.equal(restored.code, 0, out(restored));
    assert.match(out(restored), new RegExp(`RESTORE of ${clone.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} as Colima profile 'default'`));
    assert.match(out(restored), /\[colima-smoke\] ran .*output as expected/);
    assert.equal(readFileSync(mac.sim.path(`${INSTANCE}/marker`), "utf8"), "before the upgrade", "the profile as it was");
    assert.equal(readFileSync(mac.sim.path(`${DISK}/marker`), "utf8"), "data before the upgrade");
    await waitFor("Docker after the restore", () => dockerAnswers(mac.socket), 120_000);
    // The clone was moved back; the state after the upgrade is a backup of its own.
    const left = readdirSync(mac.sim.path(BACKUPS)).sort();
    assert.equal(left.length, 1, left.join(", "));
    assert.match(left[0] as string, /-default-before-restore$/);
    assert.equal(readFileSync(mac.sim.path(`${BACKUPS}/${left[0]}/instance/marker`), "utf8"), "after the upgrade");
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("a clone that fails (BACKUP_DIR_BASE on another volume) upgrades nothing and starts the VM again", async () => {
    // An external disk the Homebrew user owns, as macOS mounts one with ownership ignored.
    const volume = mac.sim.addVolume("Backup");
    chownSync(volume, 501, 20);
    await mac.stack.must(["config", "set", "BACKUP_DIR_BASE", "/Volumes/Backup/colima-pulse"]);
    try {
      mac.sim.publish("colima", "0.10.4");
      const versions = await brewList();
      mac.sim.clearRecords();
      const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"], {}, 600_000);
      assert.notEqual(r.code, 0, out(r));
      assert.match(
        out(r),
        /npm run upgrade stopped before brew upgrade, nothing was upgraded: the clone of profile default failed: cp -c -R \S+\/Users\/ops\/\.colima\/default \S+\/Volumes\/Backup\/colima-pulse\/\d{8}T\d{6}Z-default-before-upgrade\/config failed \(exit 1\): cp: \S+: clonefile failed: Cross-device link.*A clone \(cp -c\) needs BACKUP_DIR_BASE on the same APFS volume as \S+\. system\/com\.colima-pulse\.colima was loaded again: the VM starts as it was\./,
      );
      const records = mac.sim.records().filter((e) => e.exit !== undefined);
      assert.deepEqual(
        records.filter((e) => e.tool === "brew" && e.argv[0] === "upgrade"),
        [],
        "no brew upgrade",
      );
      const failed = records.findIndex((e) => e.tool === "cp" && e.exit === 1);
      const loaded = records.findIndex((e) => e.tool === "launchctl" && e.argv[0] === "bootstrap");
      assert.ok(failed >= 0 && loaded > failed, "the job loaded again after the failed clone");
      assert.equal(await brewList(), versions, "nothing upgraded");
      assert.deepEqual(readdirSync(join(volume, "colima-pulse")), [], "the partial clone removed");
      await waitFor("Docker, the VM started again", () => dockerAnswers(mac.socket), 120_000);
    } finally {
      await mac.stack.must(["config", "rm", "BACKUP_DIR_BASE"]);
    }
  });

  it("a version VERSION_DENYLIST denies (fleet-wide, Pulumi.yaml) is refused in the upgrade's preview, naming it: nothing changes", async () => {
    const project = join(mac.stack.dir, "Pulumi.yaml");
    const was = readFileSync(project, "utf8");
    const doc = parseDocument(was);
    doc.setIn(["config", "VERSION_DENYLIST"], "qemu@8.1.0,lima@1.2.2");
    writeFileSync(project, doc.toString());
    try {
      mac.sim.publish("lima", "1.2.2");
      const snapshot = async () => {
        const hash = createHash("sha256").update(JSON.stringify((await mac.stack.state()).resources));
        for (const dir of ["/Library/LaunchDaemons", "/Users/ops/.colima/default", BACKUPS])
          for (const f of readdirSync(mac.sim.path(dir), { recursive: true, encoding: "utf8" }).sort()) hash.update(f);
        return hash.digest("hex");
      };
      const state = await snapshot();
      const versions = await brewList();
      mac.sim.clearRecords();
      const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"], {}, 600_000);
      assert.notEqual(r.code, 0, out(r));
      // Pulumi indents the error's lines under its resource.
      assert.match(
        out(r),
        /npm run upgrade refused, nothing was changed:\n\s+- Homebrew would upgrade lima 1\.2\.1 to 1\.2\.2, which VERSION_DENYLIST \(project layer\) = "qemu@8\.1\.0,lima@1\.2\.2" denies\n/,
      );
      assert.doesNotMatch(out(r), /Updating \(|cloned profile/);
      const ran = mac.sim.records().filter((e) => e.tool === "cp" || (e.tool === "brew" && e.argv[0] === "upgrade"));
      assert.deepEqual(ran, [], "no clone, no brew upgrade");
      assert.deepEqual(mutating(mac.sim.records()), [], "nothing that changes the Mac ran");
      assert.equal(await brewList(), versions);
      assert.equal(await snapshot(), state, "state and files unchanged");
      await waitFor("Docker, untouched", () => dockerAnswers(mac.socket));
    } finally {
      writeFileSync(project, was);
    }
  });

  it("an installed version on VERSION_DENYLIST is reported by a plain preview", async () => {
    const project = join(mac.stack.dir, "Pulumi.yaml");
    const was = readFileSync(project, "utf8");
    const doc = parseDocument(was);
    doc.setIn(["config", "VERSION_DENYLIST"], "qemu@10.1.1");
    writeFileSync(project, doc.toString());
    try {
      const r = await mac.stack.cli(["preview"]);
      assert.equal(r.code, 0, out(r));
      assert.match(out(r), /qemu 10\.1\.1 installed on this Mac is on VERSION_DENYLIST \(project layer\): npm run upgrade moves it/);
    } finally {
      writeFileSync(project, was);
    }
  });
});

describe("a converge that would install a denied version", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-install-denied");
  });
  after(async () => mac?.dispose());

  it("preview and up refuse before anything is installed, naming the formula, the version and the setting", async () => {
    const project = join(mac.stack.dir, "Pulumi.yaml");
    const doc = parseDocument(readFileSync(project, "utf8"));
    // What Homebrew's local formulae would pour for qemu (the simulator's own version).
    doc.setIn(["config", "VERSION_DENYLIST"], "qemu@10.1.0");
    writeFileSync(project, doc.toString());
    for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
      mac.sim.clearRecords();
      const r = await mac.stack.cli(args);
      assert.notEqual(r.code, 0, out(r));
      assert.match(
        out(r),
        /pulumi up refused, nothing was changed:\n\s+- Homebrew would install qemu 10\.1\.0, which VERSION_DENYLIST \(project layer\) = "qemu@10\.1\.0" denies\n/,
      );
      const brew = mac.sim.records().filter((e) => e.tool === "brew" && e.exit !== undefined);
      assert.deepEqual(
        brew.map((e) => [e.user, e.argv.join(" "), e.exit]),
        [["ops", "info --json=v2 colima lima qemu docker", 0]],
        "only brew info ran",
      );
      assert.deepEqual(mutating(mac.sim.records()), []);
    }
    assert.equal(existsSync(mac.sim.path("/opt/homebrew/Cellar/qemu")), false, "nothing installed");
  });
});
