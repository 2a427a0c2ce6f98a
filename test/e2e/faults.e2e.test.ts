// Faults, through the real engine on a simulated Mac: each run fails with what the operator needs
// to see, deletes nothing, and the next `pulumi up` converges once the fault is gone.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerAnswers, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

describe("faults: nothing lost, the next run converges", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-faults", { BACKUP_DIR_BASE: "/Users/ops/not-a-dir/backups" });
  });
  after(async () => mac?.dispose());

  it("brew install fails: the error names it, nothing after it runs; then it converges", async () => {
    mac.sim.setFaults({ brewInstallFails: ["qemu"] });
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /exited with code 1: .*brew install colima lima qemu docker[\s\S]*Error: qemu: Failed to download resource/);
    assert.equal(
      mac.sim.records().some((e) => e.tool === "colima"),
      false,
      "no colima command after a failed install",
    );
    mac.sim.setFaults({});
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.ok(dockerAnswers(mac.socket));
  });

  it("launchctl bootstrap fails: the error says which cause it could see; then it converges", async () => {
    mac.sim.setFaults({ bootstrapError: "io" });
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]); // the daemon must reload
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stdout,
      /launchctl bootstrap system .*\.plist failed \(exit 5: Bootstrap failed: 5: Input\/output error\): no visible cause: on macOS 15 check `xattr -l/,
    );
    mac.sim.setFaults({});
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    await waitFor("Docker after the reload", () => dockerAnswers(mac.socket));
  });

  it("the Docker API flaps during the stability window: the gate fails with the last observation; then it converges", async () => {
    mac.sim.setFaults({ apiFlapMs: 300 });
    try {
      await mac.stack.must(["config", "set", "COLIMA_CPUS", "2"]);
      await mac.stack.must(["config", "set", "WAIT_STABLE_REQUIRED", "8"]);
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stdout,
        /gate "(8 good probes in a row|the Docker API)" did not pass within \d+s \(waited [\d.]+s\); last observation: /,
      );
    } finally {
      mac.sim.setFaults({});
    }
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });

  it("a full reset whose backup folder cannot be made deletes nothing", async () => {
    writeFileSync(mac.sim.path("/Users/ops/not-a-dir"), "a file where the backup base should be a folder");
    const marker = mac.sim.path("/Users/ops/.colima/_lima/colima/marker");
    writeFileSync(marker, "keep me");
    const urn = ((await mac.stack.state()).resources ?? []).find((r) => r.type.endsWith(":ColimaProfile"))?.urn ?? "";
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview", "--replace", urn], 300_000, {
      COLIMA_PULSE_FULL_RESET: "default",
      COLIMA_PULSE_BACKUP: "move",
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /mkdir/);
    assert.equal(readFileSync(marker, "utf8"), "keep me", "nothing deleted");
    assert.equal(existsSync(mac.sim.path("/Users/ops/.colima/default/colima.yaml")), true);
    assert.equal(
      mac.sim.records().some((e) => e.tool === "colima" && e.argv[0] === "delete"),
      false,
    );
    // Pulumi kept the old profile in state; a plain up (no decision) brings the machine back.
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    await waitFor("Docker after recovery", () => dockerAnswers(mac.socket));
  });

  it("a second `pulumi up` while one runs is refused by the stack lock, the first finishes", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    const first = mac.stack.cli(["up", "--yes", "--skip-preview"]);
    await waitFor("the first run's stack lock", () => mac.stack.locks().length === 1);
    const second = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(second.code, 0, "the second was refused");
    // What the operator sees: who holds the lock and how to clear it if that process is gone.
    assert.match(second.stderr, /the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel[\s\S]*created by .*\(pid \d+\)/);
    const done = await first;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.deepEqual(mac.stack.locks(), [], "no lock left behind");
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });

  it("two `pulumi up` started at the same instant: at most one runs, nothing is corrupted", async () => {
    // The local backend writes its lock and then looks for others (lock.go), so two runs that
    // start together may both see each other and both step back: safe, and the next run converges.
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "2"]);
    const runs = await Promise.all([mac.stack.cli(["up", "--yes", "--skip-preview"]), mac.stack.cli(["up", "--yes", "--skip-preview"])]);
    const ran = runs.filter((r) => r.code === 0);
    assert.ok(ran.length <= 1, "never both");
    for (const refused of runs.filter((r) => r.code !== 0)) assert.match(refused.stderr, /the stack is currently locked/);
    assert.deepEqual(mac.stack.locks(), [], "no lock left behind");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(readFileSync(mac.sim.path("/Users/ops/.colima/default/colima.yaml"), "utf8"), /^cpu: 2$/m);
  });
});

describe("the Pulumi process killed mid-run: `pulumi cancel`, then `pulumi up --refresh` converges", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-killed", { BACKUP_DIR_BASE: "/Users/ops/backups" });
  });
  after(async () => mac?.dispose());

  const recover = async () => {
    const locked = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.match(locked.stdout + locked.stderr, /the stack is currently locked/, "the local backend's lock outlives a kill -9");
    await mac.stack.must(["cancel", "--yes"]);
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    await waitFor("Docker after recovery", () => dockerAnswers(mac.socket));
  };

  it("while the profile is being provisioned", async () => {
    await mac.stack.killDuring(["up", "--yes", "--skip-preview"], () =>
      mac.sim.records().some((r) => r.tool === "colima" && r.argv[0] === "start"),
    );
    await recover();
  });

  it("while the LaunchDaemon is being loaded", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    mac.sim.clearRecords();
    await mac.stack.killDuring(["up", "--yes", "--skip-preview"], () =>
      mac.sim.records().some((r) => r.tool === "launchctl" && r.argv[0] === "bootout"),
    );
    await recover();
  });

  it("during a full reset, right after the move: the backup is intact and findable", async () => {
    const marker = mac.sim.path("/Users/ops/.colima/_lima/colima/marker");
    writeFileSync(marker, "before the reset");
    const urn = ((await mac.stack.state()).resources ?? []).find((r) => r.type.endsWith(":ColimaProfile"))?.urn ?? "";
    const backups = mac.sim.path("/Users/ops/backups");
    const moved = () => existsSync(backups) && readdirSync(backups).some((d) => existsSync(join(backups, d, "instance")));
    await mac.stack.killDuring(["up", "--yes", "--skip-preview", "--replace", urn], moved, {
      COLIMA_PULSE_FULL_RESET: "default",
      COLIMA_PULSE_BACKUP: "move",
    });
    const [folder] = readdirSync(backups);
    assert.equal(readFileSync(join(backups, folder as string, "instance/marker"), "utf8"), "before the reset");
    await recover();
    assert.equal(
      readFileSync(join(backups, folder as string, "instance/marker"), "utf8"),
      "before the reset",
      "still there after recovery",
    );
  });
});
