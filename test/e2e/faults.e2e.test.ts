// Faults, through the real engine on a simulated Mac: each run fails with what the operator needs
// to see, deletes nothing, and the next `pulumi up` converges once the fault is gone.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LOCK_PATH } from "../../provider/lib/machineLock";
import { dockerAnswers, fullReset, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";
import type { RecordEntry } from "../simulator/tools/world";

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
    const urn = (await mac.stack.resourceOf(":ColimaProfile")).urn;
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview", "--replace", urn], 300_000, fullReset(mac.stack));
    assert.notEqual(r.code, 0);
    // Refused in the preview (provider/lib/backups.ts backupBaseProblem), before anything moves.
    assert.match(r.stdout, /into BACKUP_DIR_BASE \(\S+\/not-a-dir\/backups\), but .*not-a-dir is not a folder.*Nothing was changed/);
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

  it("a full reset whose backup volume fills up moves everything back and deletes nothing", async () => {
    // A 64 KiB volume: the profile's config fits, its instance does not. Its root is root's 0755
    // and the backup folder the Homebrew user's 0700, as a reset takes only a BACKUP_DIR_BASE no
    // one else can change (a tmpfs is 1777 by default, which the preview refuses).
    const volume = mac.sim.path("/Volumes/small");
    mkdirSync(volume, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", volume]);
    mkdirSync(join(volume, "backups"), { mode: 0o700 });
    chownSync(join(volume, "backups"), 501, 20);
    try {
      await mac.stack.must(["config", "set", "BACKUP_DIR_BASE", "/Volumes/small/backups"]);
      await mac.stack.must(["up", "--yes", "--skip-preview"]);
      const marker = mac.sim.path("/Users/ops/.colima/_lima/colima/marker");
      writeFileSync(marker, "x".repeat(256 * 1024));
      const urn = (await mac.stack.resourceOf(":ColimaProfile")).urn;
      mac.sim.clearRecords();
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview", "--replace", urn], 300_000, fullReset(mac.stack));
      assert.notEqual(r.code, 0);
      // What the operator sees: which move failed and why, what went back, what to do.
      assert.match(
        r.stdout,
        /full reset stopped, nothing deleted: mv \S+\/_lima\/colima \S+\/instance failed \(exit 1\): .*No space left on device.*; \S+\/\.colima\/default \(moved back\)\. Free space at \S+\/Volumes\/small\/backups/,
      );
      assert.equal(readFileSync(marker, "utf8").length, 256 * 1024, "the instance is whole, in place");
      assert.equal(existsSync(mac.sim.path("/Users/ops/.colima/default/colima.yaml")), true, "the config is back");
      assert.equal(
        mac.sim.records().some((e) => e.tool === "colima" && e.argv[0] === "delete"),
        false,
      );
      rmSync(marker);
    } finally {
      execFileSync("umount", [volume]);
    }
    await mac.stack.must(["config", "set", "BACKUP_DIR_BASE", "/Users/ops/not-a-dir/backups"]);
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    await waitFor("Docker after recovery", () => dockerAnswers(mac.socket));
  });

  it("a second `pulumi up` while one runs is refused by the stack lock, the first finishes", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    // The restarted VM's API answers after 8 s: the first run is still at its gate meanwhile.
    mac.sim.setFaults({ apiDelayMs: 8_000 });
    const first = mac.stack.cli(["up", "--yes", "--skip-preview"]);
    await waitFor("the first run's stack lock", () => mac.stack.locks().length === 1);
    const second = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    mac.sim.setFaults({});
    assert.notEqual(second.code, 0, "the second was refused");
    // What the operator sees: who holds the lock and how to clear it if that process is gone.
    assert.match(second.stderr, /the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel[\s\S]*created by .*\(pid \d+\)/);
    const done = await first;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.deepEqual(mac.stack.locks(), [], "no lock left behind");
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });

  it("a second backend pointed at the same Mac waits for the run in progress, and says for whom", async () => {
    // Pulumi's stack lock lives in the backend; this is the provider's lock on the Mac itself.
    await mac.stack.must(["up", "--yes", "--skip-preview"]); // the twin's refresh has resources to read
    const twin = await mac.stack.clone();
    const lock = mac.sim.path(`${LOCK_PATH}/owner.json`);
    try {
      await mac.stack.must(["config", "set", "COLIMA_CPUS", "4"]);
      // The restarted VM's API answers after 10 s: the first run holds the Mac all that time.
      mac.sim.setFaults({ apiDelayMs: 10_000 });
      const first = mac.stack.cli(["up", "--yes", "--skip-preview"]);
      let holder = 0;
      await waitFor("the first run to hold the Mac", () => {
        try {
          holder = (JSON.parse(readFileSync(lock, "utf8")) as { pid: number }).pid;
        } catch {
          // not taken yet, or its owner is being written
        }
        return holder > 0;
      });
      const second = await twin.cli(["preview", "--refresh"]);
      mac.sim.setFaults({});
      const done = await first;
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(
        second.stdout,
        new RegExp(`waiting for another colima-pulse run on this Mac to finish its step \\(pid ${holder}, holding it since `),
      );
      await waitFor("the Mac's lock to be released", () => !existsSync(lock), 10_000);
    } finally {
      mac.sim.setFaults({});
      twin.forget();
    }
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

// Killed at each stage: `pulumi up` on a new Mac, `pulumi up` applying a change, and a full reset.
// Recovery is what the README tells the operator: the local backend's lock outlives a kill -9, so
// `pulumi cancel`, then `pulumi up --refresh` (refresh first, because the killed run may have done
// work it never recorded). After it: one VM, Docker answers, a drift check is clean, and the
// profile's data is where it was or in the backup the reset made.

type KillPoint = (stdout: string, records: RecordEntry[]) => boolean;
const printed =
  (pattern: RegExp): KillPoint =>
  (stdout) =>
    pattern.test(stdout);
const ran =
  (tool: string, verb: string): KillPoint =>
  (_, records) =>
    records.some((r) => r.tool === tool && r.argv[0] === verb);

async function recoverAfterKill(mac: SimulatedMac): Promise<void> {
  let locked = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
  if (/failed to load checkpoint: EOF/.test(locked.stderr)) {
    // The kill landed while the local backend wrote its checkpoint's sidecar (about once in ten
    // kills): the README's recovery removes the broken sidecar; the previous checkpoint is whole.
    const removed = mac.stack.removeBrokenCheckpointAttrs();
    console.log(`the killed run left a broken checkpoint sidecar: removed ${removed.join(", ")}`);
    assert.notDeepEqual(removed, [], "EOF, and no broken sidecar");
    locked = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
  }
  assert.notEqual(locked.code, 0, "the killed run's lock is still there");
  assert.match(locked.stderr, /the stack is currently locked by 1 lock\(s\)/);
  await mac.stack.must(["cancel", "--yes"]);
  await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
  await waitFor("Docker after recovery", () => dockerAnswers(mac.socket));
  const vms = mac.sim.processes().filter((p) => /qemu-system-\S+ .*-name lima-colima\b/.test(p.command));
  assert.equal(vms.length, 1, `one VM:\n${vms.map((p) => p.command).join("\n")}`);
  const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
  assert.equal(clean.code, 0, clean.stdout);
  // The killed run's provider finished its step and then noticed its engine was gone.
  await providersGone(mac, 15_000);
}

/** Waits until no provider plugin of the stack runs: a killed run's provider finishes the step it
 *  is in (machineLock.ts), and only then is the data where that step left it. */
async function providersGone(mac: SimulatedMac, ms: number): Promise<void> {
  const providers = () => mac.stack.processes().filter((p) => p.command.includes("dynamic-provider"));
  await waitFor("the killed run's provider to exit", () => providers().length === 0, ms);
}

const FIRST_UP: [string, KillPoint][] = [
  ["installing the Homebrew packages", printed(/\[colima-packages\] installing/)],
  ["starting the profile's VM", ran("colima", "start")],
  ["handing the VM over to launchd", ran("colima", "stop")],
  ["loading the LaunchDaemon", ran("launchctl", "bootstrap")],
  ["waiting at the health gates", printed(/HealthGate colima-health creating/)],
  ["running the smoke test", printed(/\[colima-smoke\] .*pulling/)],
];

describe("the Pulumi process killed during the first `pulumi up`", { concurrency: false }, () => {
  for (const [stage, when] of FIRST_UP) {
    it(`while ${stage}: the next run converges`, async () => {
      const mac = await simulatedMac("e2e-killed-new");
      try {
        await mac.stack.killDuring(["up", "--yes", "--skip-preview"], (out) => when(out, mac.sim.records()));
        await recoverAfterKill(mac);
      } finally {
        await mac.dispose();
      }
    });
  }
});

describe("the Pulumi process killed while changing or resetting a converged Mac", { concurrency: false }, () => {
  let mac: SimulatedMac;
  let marker: string;
  let backups: string;
  before(async () => {
    mac = await simulatedMac("e2e-killed", { BACKUP_DIR_BASE: "/Users/ops/backups" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    marker = mac.sim.path("/Users/ops/.colima/_lima/colima/marker");
    backups = mac.sim.path("/Users/ops/backups");
  });
  after(async () => mac?.dispose());

  /** The profile's data, wherever it is now: in place, or in the one backup that holds it. */
  const dataFoundIn = (): string[] => {
    const found = existsSync(marker) ? [marker] : [];
    for (const folder of existsSync(backups) ? readdirSync(backups) : []) {
      const copy = join(backups, folder, "instance/marker");
      if (existsSync(copy)) found.push(copy);
    }
    return found;
  };

  let cpus = 2;
  const CHANGE: [string, KillPoint][] = [
    ["reloading the LaunchDaemon", ran("launchctl", "bootout")],
    ["re-checking the health gates", printed(/HealthGate colima-health updating/)],
  ];
  for (const [stage, when] of CHANGE) {
    it(`applying a change, while ${stage}: the data stays in place`, async () => {
      writeFileSync(marker, stage);
      await mac.stack.must(["config", "set", "COLIMA_CPUS", String(++cpus)]);
      mac.sim.clearRecords();
      await mac.stack.killDuring(["up", "--yes", "--skip-preview"], (out) => when(out, mac.sim.records()));
      await recoverAfterKill(mac);
      assert.equal(readFileSync(marker, "utf8"), stage);
    });
  }

  const moved = (): boolean => existsSync(backups) && readdirSync(backups).some((d) => existsSync(join(backups, d, "instance")));
  const RESET: [string, KillPoint][] = [
    ["stopping the VM before the move", printed(/ColimaProfile colima-profile deleting original/)],
    ["right after the move", () => moved()],
    ["provisioning the new profile", printed(/ColimaProfile colima-profile creating replacement/)],
    ["reloading the LaunchDaemon for the new profile", printed(/LaunchDaemon colima-daemon updating/)],
  ];
  for (const [stage, when] of RESET) {
    it(`a full reset, while ${stage}: the data is in place or in its backup, intact`, async () => {
      if (existsSync(backups)) rmSync(backups, { recursive: true });
      writeFileSync(marker, stage);
      const urn = (await mac.stack.resourceOf(":ColimaProfile")).urn;
      await mac.stack.killDuring(
        ["up", "--yes", "--skip-preview", "--replace", urn],
        (out) => when(out, mac.sim.records()),
        fullReset(mac.stack),
      );
      // A move that had begun is finished (all or none) by the step the killed run's provider is in.
      await providersGone(mac, 60_000);
      const [where] = dataFoundIn();
      assert.equal(dataFoundIn().length, 1, "in exactly one place");
      assert.equal(readFileSync(where as string, "utf8"), stage);
      await recoverAfterKill(mac);
      assert.equal(readFileSync(where as string, "utf8"), stage, "still there after recovery");
    });
  }
});
