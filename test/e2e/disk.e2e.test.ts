// Disk, end to end on a simulated Mac (README "Disk"): the preview warns when COLIMA_DISK needs more
// than the Mac's volume has free (df -Pk, as the Homebrew user: test/simulator/tools/df.ts) and the
// warning changes nothing; the health gate's disk report reaches the stack's outputs; with
// DISK_TRIM_AFTER_START the gate runs `colima ssh -- sudo fstrim -a` after the start it proved;
// bad values of the new settings are refused naming the key, its value and what is allowed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { mutating, type SimulatedMac, simulatedMac, supervisorSettled } from "../helpers/simulatedMac";

const GiB = 1024 ** 3;

describe("disk: the preview's warning, the gate's report, the trim after start", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-disk", { DISK_TRIM_AFTER_START: "true" });
  });
  after(async () => mac?.dispose());

  const data = () => `${mac.sim.path("/System/Volumes/Data")} (/dev/disk3s5)`;

  it("a Mac with 5 GiB free: the preview warns of COLIMA_DISK = 20, naming the volume and its free space; it created nothing", async () => {
    mac.sim.setVolumeFree(5 * GiB);
    mac.sim.clearRecords();
    const preview = await mac.stack.must(["preview"]);
    const said = preview.stdout + preview.stderr;
    assert.ok(
      said.includes(
        `COLIMA_DISK = 20 (GiB): a new data disk of 20 GiB is more than the 5.0 GiB free on the volume ${data()} holding ops's ~/.colima.`,
      ),
      said,
    );
    assert.match(said, /warning: COLIMA_DISK = 20 \(GiB\)/);
    // The free space was read with df, as the Homebrew user, on its home (no ~/.colima yet).
    const df = mac.sim.records().filter((r) => r.tool === "df");
    assert.deepEqual(
      df.map((r) => [r.user, ...r.argv, r.exit]),
      [["ops", "-Pk", mac.sim.path("/Users/ops"), 0]],
    );
    // A warning changes nothing: no command that changes the Mac ran, nothing was made, no state.
    assert.deepEqual(mutating(mac.sim.records()), []);
    assert.equal(existsSync(mac.sim.path("/Users/ops/.colima")), false);
    assert.equal(existsSync(mac.sim.path("/Library/LaunchDaemons/com.colima-pulse.colima.plist")), false);
    assert.deepEqual((await mac.stack.state()).resources ?? [], []);
  });

  it("up on that Mac: it converges (a warning, not a refusal); the trim ran after the start; the gate's report is in the outputs", async () => {
    mac.sim.clearRecords();
    const up = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const said = up.stdout + up.stderr;
    assert.match(said, /trimmed the VM's disks \(colima ssh -- sudo fstrim -a, \d+ ms\)/);
    assert.match(said, /disk: Docker uses [\d.]+ [MG]iB of the VM's 20\.0 GiB data disk; the Mac's volume \S+ has 5\.0 GiB free/);
    const records = mac.sim.records();
    const trim = records.find((r) => r.tool === "colima" && r.argv[0] === "ssh" && r.exit !== undefined);
    assert.ok(trim, "colima ssh ran");
    assert.deepEqual(trim.argv, ["ssh", "--profile", "default", "--", "sudo", "fstrim", "-a"]);
    assert.equal(trim.user, "ops");
    assert.equal(trim.exit, 0);
    assert.ok(
      records.some((r) => r.tool === "limactl" && r.argv[0] === "shell" && r.argv.at(-1) === "-a" && r.exit === 0),
      "limactl shell colima sudo fstrim -a ran in the guest",
    );
    // After the start: the VM's start ended before the trim began.
    const started = records.findIndex((r) => r.tool === "limactl" && r.argv[0] === "start" && r.exit === 0);
    assert.ok(started >= 0 && started < records.indexOf(trim), "the trim came after the VM's start");

    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout);
    assert.equal(outputs.diskSizeBytes, 20 * GiB);
    assert.equal(outputs.hostFreeBytes, 5 * GiB);
    assert.equal(typeof outputs.dockerDiskUsedBytes, "number");
    assert.ok(outputs.dockerDiskUsedBytes >= 0, String(outputs.dockerDiskUsedBytes));
    assert.deepEqual(outputs.diskWarnings, [
      `the Mac's volume ${data()} has 5.0 GiB free, less than the VM's 20.0 GiB data disk (COLIMA_DISK): the sparse disk can grow past what is free, and Docker's writes then fail`,
    ]);
  });

  it("a disk that grows: only its growth must fit (20 → 40 GiB in 30 GiB free: quiet; → 60 GiB: a warning)", async () => {
    mac.sim.setVolumeFree(30 * GiB);
    await mac.stack.must(["config", "set", "COLIMA_DISK", "40"]);
    const quiet = await mac.stack.must(["preview"]);
    assert.doesNotMatch(quiet.stdout + quiet.stderr, /COLIMA_DISK = /);
    await mac.stack.must(["config", "set", "COLIMA_DISK", "60"]);
    const grows = await mac.stack.must(["preview"]);
    assert.ok(
      (grows.stdout + grows.stderr).includes(
        `COLIMA_DISK = 60 (GiB): growing the data disk from 20 to 60 GiB is more than the 30.0 GiB free on the volume ${data()}`,
      ),
      grows.stdout + grows.stderr,
    );
    await mac.stack.must(["config", "set", "COLIMA_DISK", "20"]);
  });

  it("bad DISK_WARN_PERCENT and DISK_TRIM_AFTER_START: refused naming key, file, value and what is allowed; nothing runs", async () => {
    const file = `stacks/Pulumi.${mac.stack.stack}.yaml`;
    for (const [key, value, allowed] of [
      ["DISK_WARN_PERCENT", "101", "must be 0 (off) or a whole number of percent from 1 to 100 (write 80 for 80 %)"],
      ["DISK_TRIM_AFTER_START", "sometimes", "must be true or false"],
    ] as const) {
      await mac.stack.must(["config", "set", key, value]);
      await supervisorSettled(mac);
      mac.sim.clearRecords();
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      const said = r.stdout + r.stderr;
      assert.ok(
        said.includes(`${key} (stack: ${file}) = ${JSON.stringify(value)}: ${allowed}`) ||
          said.includes(`${key} (stack: ${file}) = ${value}: ${allowed}`),
        said,
      );
      assert.deepEqual(mac.sim.records(), [], "no command ran on the Mac");
      await mac.stack.must(["config", "rm", key]);
    }
    await mac.stack.must(["config", "set", "DISK_TRIM_AFTER_START", "true"]);
    const clean = await mac.stack.cli(["preview", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });
});
