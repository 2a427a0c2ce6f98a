// The simulated Mac's /bin/cp with -c (clonefile(2)), as file_cmds' cp/cp.c and cp/utils.c have
// it (README.md "cp -c"): a clone per file under -R, folders made anew, modes kept, sockets left
// out with a warning, EXDEV across volumes as `clonefile failed: Cross-device link` (exit 1),
// ENOTSUP's silent copy on a volume that is not APFS, -c with -X refused. Real processes, real
// files; what a clone shares with its source on a real APFS volume is not visible here.
import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";

describe("simulated cp -c", { concurrency: false }, () => {
  let sim: MacSimulator;
  let home: string;
  const cp = (args: string[], user?: string) => sim.run([sim.path("/bin/cp"), ...args], user ? { user } : {});

  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, "") });
    home = sim.world.home("ops");
    // A profile's three folders, as Colima and Lima leave them stopped (a socket left behind too).
    const profile = join(home, ".colima");
    mkdirSync(join(profile, "default"), { recursive: true });
    writeFileSync(join(profile, "default/colima.yaml"), "vmType: qemu\n", { mode: 0o644 });
    mkdirSync(join(profile, "_lima/colima"), { recursive: true, mode: 0o700 });
    chmodSync(join(profile, "_lima/colima"), 0o700);
    writeFileSync(join(profile, "_lima/colima/lima.yaml"), "{}\n", { mode: 0o600 });
    symlinkSync("lima.yaml", join(profile, "_lima/colima/link.yaml"));
    mkdirSync(join(profile, "_lima/_disks/colima"), { recursive: true });
    writeFileSync(join(profile, "_lima/_disks/colima/datadisk"), Buffer.alloc(64 * 1024, 7));
    await new Promise<void>((resolve) => {
      const server = createServer();
      server.listen(join(profile, "default/left.sock"), () => resolve());
      server.unref();
    });
  });
  after(() => sim?.dispose());

  it("-c -R clones a folder file by file into a new folder: modes kept, links as links, a socket left out with a warning, exit 0", async () => {
    const from = join(home, ".colima");
    const to = join(home, "clone-1");
    const r = await cp(["-c", "-R", from, to], "ops");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `cp: ${join(from, "default/left.sock")} is a socket (not copied).\n`);
    assert.equal(readFileSync(join(to, "default/colima.yaml"), "utf8"), "vmType: qemu\n");
    assert.deepEqual(readFileSync(join(to, "_lima/_disks/colima/datadisk")), Buffer.alloc(64 * 1024, 7));
    assert.equal(statSync(join(to, "_lima/colima")).mode & 0o7777, 0o700);
    assert.equal(statSync(join(to, "_lima/colima/lima.yaml")).mode & 0o7777, 0o600);
    assert.equal(readlinkSync(join(to, "_lima/colima/link.yaml")), "lima.yaml");
    assert.ok(!readdirSync(join(to, "default")).includes("left.sock"));
    // A new file, not the same inode (a hard link would be): its own copy of the attributes.
    assert.notEqual(statSync(join(to, "_lima/_disks/colima/datadisk")).ino, statSync(join(from, "_lima/_disks/colima/datadisk")).ino);
  });

  it("-c into an existing folder puts the source in it by its name; an existing file is replaced", async () => {
    const into = join(home, "into");
    mkdirSync(into);
    writeFileSync(join(into, "colima.yaml"), "old\n");
    const r = await cp(["-c", join(home, ".colima/default/colima.yaml"), into], "ops");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(into, "colima.yaml"), "utf8"), "vmType: qemu\n");
  });

  it("across volumes: `cp: <dst>: clonefile failed: Cross-device link` for each file, the walk goes on, exit 1", async () => {
    const external = sim.addVolume("Backup");
    const to = join(external, "clone");
    const r = await cp(["-c", "-R", join(home, ".colima/_lima"), to], "root");
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n").sort();
    assert.deepEqual(lines, [
      `cp: ${join(to, "_disks/colima/datadisk")}: clonefile failed: Cross-device link`,
      `cp: ${join(to, "colima/lima.yaml")}: clonefile failed: Cross-device link`,
    ]);
    // The folders and the link were made (mkdir and symlink are no clones); no file was.
    assert.ok(lstatSync(join(to, "colima/link.yaml")).isSymbolicLink());
    assert.deepEqual(readdirSync(join(to, "_disks/colima")), []);
  });

  it("on one volume that is not APFS clonefile is not supported: a copy instead, silently, exit 0", async () => {
    const hfs = sim.addVolume("Old", "hfs");
    writeFileSync(join(hfs, "a"), "data\n", { mode: 0o640 });
    const r = await cp(["-c", join(hfs, "a"), join(hfs, "b")], "root");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(readFileSync(join(hfs, "b"), "utf8"), "data\n");
  });

  it("-c with -X is refused before anything is copied; a folder without -R is not copied", async () => {
    const r = await cp(["-c", "-X", "-R", join(home, ".colima"), join(home, "never")]);
    assert.deepEqual([r.code, r.stderr], [1, "cp: the -c and -X options may not be specified together\n"]);
    assert.throws(() => statSync(join(home, "never")));
    const d = await cp(["-c", join(home, ".colima"), join(home, "never")]);
    assert.deepEqual([d.code, d.stderr], [1, `cp: ${join(home, ".colima")} is a directory (not copied).\n`]);
  });

  it("a user may not clone what they may not read, nor into a folder they may not write", async () => {
    sim.addUser("eve", { uid: 502, gid: 20, admin: false, sudo: "none" });
    const r = await cp(["-c", join(home, ".colima/_lima/colima/lima.yaml"), join(sim.world.home("eve"), "x")], "eve");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /lima\.yaml: Permission denied\n$/);
    const w = await cp(["-c", join(home, ".colima/default/colima.yaml"), join(sim.world.home("eve"), "x")], "ops");
    assert.equal(w.code, 1);
    assert.equal(w.stderr, `cp: ${join(sim.world.home("eve"), "x")}: clonefile failed: Permission denied\n`);
  });

  it("without -c the real cp runs (a plain copy)", async () => {
    const r = await cp([join(home, ".colima/default/colima.yaml"), join(home, "plain.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(home, "plain.yaml"), "utf8"), "vmType: qemu\n");
  });
});
