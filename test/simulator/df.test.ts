// The simulated df(1) against what apple-oss-distributions/file_cmds df/df.c prints (unix2003 mode,
// APFS: f_bsize 4096, every volume the container's size and free space, Used the volume's own):
// each expected text below is worked out by hand from df.c's prtstat/update_maxwidths.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";

describe("df (tools/df.ts)", { concurrency: false }, () => {
  let sim: MacSimulator;
  let df: string;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, "") });
    df = sim.path("/bin/df");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("df -Pk <path>: the POSIX header with 1024-blocks, the data volume's row, Capacity rounded up, no inode columns", async () => {
    // 200 GiB free of the default container: used 65387029 / (52428800 + 65387029) blocks = 55.499 % → 56 %.
    const r = await sim.run([df, "-Pk", sim.path("/Users/ops")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "Filesystem   1024-blocks      Used Available Capacity  Mounted on\n" +
        `/dev/disk3s5   482797652 261548116 209715200    56%    ${sim.path("/System/Volumes/Data")}\n`,
    );
    // -P after -k keeps 1024-byte blocks (df.c: `if (kflag) break;`).
    assert.equal((await sim.run([df, "-k", "-P", sim.path("/Users/ops")])).stdout, r.stdout);
  });

  it("df <path> (unix2003 default): 512-blocks and the iused/ifree/%iused columns; -k alone keeps them", async () => {
    const r = await sim.run([df, sim.path("/Users/ops")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "Filesystem   512-blocks      Used Available Capacity iused    ifree %iused  Mounted on\n" +
        `/dev/disk3s5  965595304 523096232 419430400    56% 1234567 52428800    2%   ${sim.path("/System/Volumes/Data")}\n`,
    );
    const k = await sim.run([df, "-k", sim.path("/Users/ops")]);
    assert.match(k.stdout, /^Filesystem {3}1024-blocks {6}Used Available Capacity iused {4}ifree %iused {2}Mounted on\n/);
  });

  it("setVolumeFree: Available is the container's free space; the system folders are on / (disk3s1s1)", async () => {
    sim.setVolumeFree(5 * 1024 ** 3);
    try {
      const r = await sim.run([df, "-Pk", sim.path("/Users/ops"), sim.path("/usr/bin")]);
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.trim().split("\n").slice(1);
      assert.equal(rows.length, 2);
      const data = (rows[0] as string).split(/\s+/);
      assert.deepEqual(data.slice(0, 4), [
        "/dev/disk3s5",
        "482797652",
        String((120699413 - 1310720 - 2883584) * 4),
        String(5 * 1024 * 1024),
      ]);
      // used 116505109 / (1310720 + 116505109) = 98.887 % → 99 %.
      assert.equal(data[4], "99%");
      assert.deepEqual((rows[1] as string).split(/\s+/).slice(0, 5), [
        "/dev/disk3s1s1",
        "482797652",
        String(2883584 * 4),
        String(5 * 1024 * 1024),
        "69%",
      ]);
      assert.equal((rows[1] as string).split(/\s+/)[5], sim.path("/"));
    } finally {
      sim.setVolumeFree(200 * 1024 ** 3);
    }
  });

  it("a path that is not there: `df: <path>: No such file or directory`, exit 1, the header not printed", async () => {
    const missing = sim.path("/Users/ops/.colima");
    const r = await sim.run([df, "-Pk", missing]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `df: ${missing}: No such file or directory\n`);
  });

  it("a path below a folder the user may not search: `Permission denied`, exit 1; its owner reads it", async () => {
    sim.addUser("alice", { uid: 502, gid: 20, admin: false, sudo: "none" });
    const colima = sim.path("/Users/alice/.colima");
    mkdirSync(`${colima}/_lima`, { recursive: true });
    chownSync(colima, 502, 20);
    chmodSync(colima, 0o700);
    const path = `${colima}/_lima`;
    const denied = await sim.run([df, "-Pk", path]); // as ops
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout, "");
    assert.equal(denied.stderr, `df: ${path}: Permission denied\n`);
    const own = await sim.run([df, "-Pk", path], { user: "alice" });
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /\n\/dev\/disk3s5 /);
  });

  it("an option df.c does not know: `df: illegal option -- z` and the usage, exit 64", async () => {
    const r = await sim.run([df, "-z"]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^df: illegal option -- z\nusage: df \[--libxo\] \[-b \| -g \| -H \| -h \| -k \| -m \| -P\]/);
  });

  it("a path on a volume addVolume added: refused with a simulator message, not reported as the data volume", async () => {
    const volume = sim.addVolume("External");
    const r = await sim.run([df, "-Pk", volume]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^df: .*\/Volumes\/External: simulator: df of a volume MacSimulator.addVolume added is not simulated\n$/);
  });

  it("no operand: every volume, / first", async () => {
    const r = await sim.run([df, "-Pk"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/)[0]),
      ["/dev/disk3s1s1", "/dev/disk3s5"],
    );
  });
});
