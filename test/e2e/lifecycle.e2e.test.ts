// The lifecycle beyond the first converge, through the real engine on simulated Macs: drift
// (reported by preview, repaired by `up --refresh`), the watchdog, reboots, FileVault, a power
// cut, the full reset and its safety rails, destroy, and a gate that cannot pass.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  dockerAnswers,
  fullReset,
  LABEL,
  mutating,
  plannedSteps,
  type SimulatedMac,
  simulatedMac,
  supervisorSettled,
  waitFor,
} from "../helpers/simulatedMac";

const launchctl = (mac: SimulatedMac, ...argv: string[]) =>
  mac.sim.run([mac.sim.path("/usr/bin/sudo"), "-n", mac.sim.path("/bin/launchctl"), ...argv]);
const colima = (mac: SimulatedMac, ...argv: string[]) => mac.sim.run([mac.sim.path("/opt/homebrew/bin/colima"), ...argv]);

/** preview --refresh must report drift (exit ≠ 0) and plan exactly `expected`. */
async function expectDrift(mac: SimulatedMac, expected: string[]): Promise<void> {
  const r = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes", "--json"]);
  assert.notEqual(r.code, 0, "drift must fail --expect-no-changes");
  assert.deepEqual(plannedSteps(r.stdout), expected);
}

async function repair(mac: SimulatedMac): Promise<void> {
  await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
  await waitFor("Docker through the supervised profile", () => dockerAnswers(mac.socket));
  const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
  assert.equal(clean.code, 0, `converged again: ${clean.stdout}`);
}

/** The engine's Diagnostics section of a run's output. */
function diagnostics(stdout: string): string {
  const from = stdout.indexOf("\nDiagnostics:\n");
  assert.ok(from >= 0, `no Diagnostics in:\n${stdout}`);
  const rest = stdout.slice(from);
  const end = rest.search(/\n(Outputs|Resources):\n/);
  return end >= 0 ? rest.slice(0, end) : rest;
}
/** How often `text` occurs in `within`. */
const count = (within: string, text: string) => within.split(text).length - 1;

const DAEMON = "update pulumi-nodejs:dynamic/colima-pulse:LaunchDaemon::colima-daemon";
const GATE = "update pulumi-nodejs:dynamic/colima-pulse:HealthGate::colima-health";
/** With the VM down at refresh, the smoke image cannot be seen either: the smoke test runs again. */
const SMOKE = "update pulumi-nodejs:dynamic/colima-pulse:SmokeContainer::colima-smoke";

describe("3. drift: reported by preview, repaired by up --refresh", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-drift");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("the plist edited by hand", async () => {
    const plist = mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`);
    const original = readFileSync(plist, "utf8");
    writeFileSync(plist, original.replace("<integer>120</integer>", "<integer>1</integer>"));
    await expectDrift(mac, [DAEMON, GATE]);
    await repair(mac);
    assert.equal(readFileSync(plist, "utf8"), original);
  });

  it("the daemon booted out by hand", async () => {
    assert.equal((await launchctl(mac, "bootout", `system/${LABEL}`)).code, 0);
    await waitFor("Docker to go away with the job", () => !dockerAnswers(mac.socket));
    await expectDrift(mac, [DAEMON, GATE, SMOKE]);
    await repair(mac);
  });

  it("a `brew services` job for colima appears", async () => {
    const r = await mac.sim.run([mac.sim.path("/opt/homebrew/bin/brew"), "services", "start", "colima"]);
    assert.equal(r.code, 0, r.stderr);
    await expectDrift(mac, [DAEMON, GATE]);
    await repair(mac);
    const still = await mac.sim.run([mac.sim.path("/bin/launchctl"), "print", "gui/501/homebrew.mxcl.colima"]);
    assert.equal(still.code, 113, "brew's job is gone");
    assert.equal(existsSync(mac.sim.path("/Users/ops/Library/LaunchAgents/homebrew.mxcl.colima.plist")), false);
  });

  it("a `brew services` job for colima started over SSH (Homebrew loads it into user/501): found, booted out, its colima gone", async () => {
    const brew = mac.sim.path("/opt/homebrew/bin/brew");
    const r = await mac.sim.run([mac.sim.path("/usr/bin/env"), "SSH_TTY=/dev/ttys001", brew, "services", "start", "colima"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await launchctl(mac, "print", "user/501/homebrew.mxcl.colima")).code, 0, "loaded in user/501");
    await expectDrift(mac, [DAEMON, GATE]);
    await repair(mac);
    for (const domain of ["gui/501", "user/501"])
      assert.equal((await launchctl(mac, "print", `${domain}/homebrew.mxcl.colima`)).code, 113, `brew's job is gone from ${domain}`);
    assert.equal(existsSync(mac.sim.path("/Users/ops/Library/LaunchAgents/homebrew.mxcl.colima.plist")), false);
    assert.deepEqual(
      mac.sim.processes().filter((p) => p.command.endsWith("/opt/colima/bin/colima start -f")),
      [],
      "brew's colima does not run beside the supervised one",
    );
  });

  it("the VM killed: the watchdog brings it back with no pulumi up", async () => {
    const vm = mac.sim.processes().find((p) => /qemu-system-aarch64 .*-name lima-colima/.test(p.command));
    assert.ok(vm);
    process.kill(vm.pid, "SIGKILL");
    await waitFor("Docker to go away with the VM", () => !dockerAnswers(mac.socket), 10_000);
    const back = await waitFor("the supervisor to restart the VM", () => dockerAnswers(mac.socket), 60_000);
    console.log(`VM restarted by the supervisor ${back} ms after it died`);
    const log = readFileSync(mac.sim.path("/var/log/colima-pulse/colima.log"), "utf8");
    assert.match(log, /the VM of profile default is gone under colima; restarting it/);
  });

  it("CPUs and memory changed in stack config: the daemon restarts Colima with them", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    await mac.stack.must(["config", "set", "COLIMA_MEMORY", "3"]);
    const preview = await mac.stack.must(["preview", "--json"]);
    assert.deepEqual(
      plannedSteps(preview.stdout).filter((s) => !s.includes("pulumi:Stack")),
      ["update pulumi-nodejs:dynamic/colima-pulse:ColimaProfile::colima-profile", DAEMON, GATE],
    );
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    const status = JSON.parse((await colima(mac, "status", "--json")).stdout) as { cpu: number; memory: number };
    assert.deepEqual([status.cpu, status.memory], [3, 3 * 1024 ** 3]);
  });

  it("the profile switched to VZ by hand: preview and up stop with the one command that converts it; nothing deleted", async () => {
    await launchctl(mac, "bootout", `system/${LABEL}`);
    await colima(mac, "delete", "--force");
    assert.equal((await colima(mac, "start", "--vm-type", "vz", "--disk", "20")).code, 0);
    await colima(mac, "stop");
    for (const args of [
      ["preview", "--refresh", "--expect-no-changes"],
      ["up", "--yes", "--skip-preview", "--refresh"],
    ]) {
      const r = await mac.stack.cli(args);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /profile default was created with vm type vz; .*Convert it with a backup: `npm run reset`/);
      // Said once: the error; the warning before it says what was found.
      const said = diagnostics(r.stdout);
      assert.equal(count(said, "profile default was created with vm type vz"), 1, said);
      assert.match(said, /warning: this Mac, as found:/);
    }
    assert.equal(existsSync(mac.sim.path("/Users/ops/.colima/_lima/colima/lima.yaml")), true, "state untouched");
  });
});

describe("a start that keeps failing leaves a bounded number of processes", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-failing", { MAX_FAILED_STARTS: "3", RESTART_THROTTLE_SECONDS: "1" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("gives up after MAX_FAILED_STARTS, leaving nothing running; the command its log names starts it again", async () => {
    const log = mac.sim.path("/var/log/colima-pulse/colima.log");
    await waitFor("the supervisor to see the profile up", () => /profile default is up/.test(readFileSync(log, "utf8")));
    mac.sim.setFaults({ startFails: true });
    await colima(mac, "stop"); // the supervisor restarts it, and every start now fails
    await waitFor("the supervisor to give up", () => /gave up after 3 failed starts in a row/.test(readFileSync(log, "utf8")), 60_000);
    // A clean exit: KeepAlive {SuccessfulExit: false} starts nothing more (the simulator's launchd
    // pins that rule), so no attempt can follow and nothing needs waiting for.
    const job = await launchctl(mac, "print", `system/${LABEL}`);
    assert.match(job.stdout, /^\tstate = not running$/m);
    assert.match(job.stdout, /^\tlast exit code = 0$/m, job.stdout);
    // colima#1490: each failed start leaves Lima's usernet daemon behind (colima removes its pid
    // file at the next start); the supervisor stops what an attempt left, so none is left at all.
    assert.deepEqual(
      mac.sim
        .processes()
        .map((p) => p.command)
        .filter((c) => !c.includes("/sbin/launchd")),
      [],
      "nothing but launchd is left running",
    );
    mac.sim.setFaults({});
    // The log's last line names the command that starts it again: run exactly that.
    const said = readFileSync(log, "utf8").trim().split("\n").pop() ?? "";
    const command = /run `(pulumi [^`]+)` to try again$/.exec(said)?.[1];
    assert.equal(command, "pulumi up", said);
    const r = await mac.stack.must([...(command as string).split(" ").slice(1), "--yes"]);
    assert.match(r.stdout, /supervisor is not running \(gave up after 3 failed starts in a row\): started again with fresh counts/);
    assert.match(r.stdout, /was not running: restarted it/);
    assert.ok(dockerAnswers(mac.socket), "Docker answers when up returns: the gates waited for it");
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, `converged: ${clean.stdout}`);
  });
});

describe("4. reboot, FileVault and power cut", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-reboot");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("Docker comes back after a reboot with nobody logged in", async () => {
    await mac.sim.reboot();
    assert.deepEqual(mac.sim.state().loggedIn, []);
    const t = await waitFor("Docker after the reboot", () => dockerAnswers(mac.socket));
    console.log(`Docker back ${t} ms after boot`);
  });

  it("with FileVault on it waits while the disk is locked, and comes up after unlock", async () => {
    mac.sim.world.updateState((s) => {
      s.fileVault.enabled = true;
    });
    const log = () => readFileSync(mac.sim.path("/var/log/colima-pulse/colima.log"), "utf8");
    const from = log().length;
    await mac.sim.reboot();
    await waitFor("the supervisor to wait for the home", () => /waiting for ops's home .*\(0s so far\)/.test(log().slice(from)));
    assert.equal(dockerAnswers(mac.socket), false, "nothing while locked");
    // pulumi says why it cannot converge now, and changes nothing.
    const r = await mac.stack.cli(["preview"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stdout + r.stderr,
      /ops's home \S+ is not there \(FileVault locked: waiting for unlock; or its volume is not mounted yet\): nothing was changed/,
    );
    mac.sim.unlockFileVault();
    await waitFor("Docker after unlock", () => dockerAnswers(mac.socket));
    assert.match(log().slice(from), /home \S+ \(FileVault not unlocked yet, or its volume not mounted\): there after \d+s/);
    mac.sim.world.updateState((s) => {
      s.fileVault.enabled = false;
    });
  });

  it("after a power cut with a stale PID now owned by an unrelated process, it comes back without killing that process", async () => {
    await mac.sim.haltAll(0); // the power goes
    const inst = mac.sim.path("/Users/ops/.colima/_lima/colima");
    const unrelated = mac.sim.startUnrelatedProcess();
    writeFileSync(join(inst, "ha.pid"), `${unrelated}\n`);
    await mac.sim.boot(); // and comes back
    await waitFor("Docker after the power cut", () => dockerAnswers(mac.socket));
    assert.equal(mac.sim.isAlive(unrelated), true);
    assert.match(readFileSync(mac.sim.path("/var/log/colima-pulse/colima.log"), "utf8"), /removing stale .*ha\.pid/);
  });
});

describe("5-6. full reset, its safety rails, and destroy", { concurrency: false }, () => {
  let mac: SimulatedMac;
  let urn: string;
  before(async () => {
    mac = await simulatedMac("e2e-reset", { BACKUP_DIR_BASE: "/Users/ops/backups" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    urn = (await mac.stack.resourceOf(":ColimaProfile")).urn;
  });
  after(async () => mac?.dispose());

  it("a danger switch in config is refused before anything runs", async () => {
    await supervisorSettled(mac);
    mac.sim.clearRecords();
    await mac.stack.must(["config", "set", "FULL_RESET", "true"]);
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    await mac.stack.must(["config", "rm", "FULL_RESET"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stdout + r.stderr,
      /FULL_RESET \(stack: stacks\/Pulumi\.e2e-reset\.yaml\) = "true": a danger switch is not a setting; it is accepted only on the command line, for one run: a full reset is `npm run reset`/,
    );
    // The supervisor's own `colima status` polling goes on; nothing else may have run.
    assert.deepEqual(
      mac.sim.records().filter((r) => !(r.tool === "colima" && r.argv[0] === "status")),
      [],
      "no command ran",
    );
  });

  it("more memory than the Mac has is refused by preview, before anything runs", async () => {
    await mac.stack.must(["config", "set", "COLIMA_MEMORY", "64"]);
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["preview"]);
    await mac.stack.must(["config", "set", "COLIMA_MEMORY", "2"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /memory.*COLIMA_MEMORY 64 GiB is more than this Mac has \(16 GiB\)/);
    assert.deepEqual(mutating(mac.sim.records()), []);
  });

  it("without the decision, even --replace deletes nothing", async () => {
    await mac.stack.must(["up", "--yes", "--skip-preview", "--replace", urn]);
    assert.equal(existsSync(mac.sim.path("/Users/ops/backups")), false);
    assert.ok(dockerAnswers(mac.socket));
  });

  it("with `move`: old state intact in the backup folder, new VM healthy", async () => {
    const marker = mac.sim.path("/Users/ops/.colima/_lima/colima/marker-from-before");
    writeFileSync(marker, "old state");
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview", "--replace", urn], 300_000, fullReset(mac.stack));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const backups = readdirSync(mac.sim.path("/Users/ops/backups"));
    assert.equal(backups.length, 1);
    const saved = join(mac.sim.path("/Users/ops/backups"), backups[0] as string);
    assert.equal(readFileSync(join(saved, "instance/marker-from-before"), "utf8"), "old state");
    assert.equal((statSync(saved).mode & 0o777).toString(8), "700", "the backup (the VM's whole disk) is private to its user");
    assert.equal(existsSync(join(saved, "config/colima.yaml")), true);
    assert.equal(existsSync(marker), false, "the new profile is new");
    await waitFor("Docker on the new profile", () => dockerAnswers(mac.socket));
  });

  it("destroy boots the daemon out, removes the plist and keeps Colima's state", async () => {
    mac.sim.clearRecords();
    const r = await mac.stack.must(["destroy", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /- 9 deleted/);
    assert.equal((await mac.sim.run([mac.sim.path("/bin/launchctl"), "print", `system/${LABEL}`])).code, 113);
    assert.equal(existsSync(mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`)), false);
    assert.equal(existsSync(mac.sim.path("/Users/ops/.colima/_lima/colima/lima.yaml")), true, "state kept");
    assert.equal(dockerAnswers(mac.socket), false, "VM stopped");
    assert.deepEqual(
      mutating(mac.sim.records()).filter((c) => /colima delete/.test(c)),
      [],
    );
  });
});

describe("7. a gate that cannot pass", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-gate", { WAIT_DOCKER_API_MAX: "3" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("fails at its timeout with its name, the time waited and the last observation; the next up converges", async () => {
    mac.sim.setFaults({ apiNeverReady: true });
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]); // a daemon change: the gates run again
    const failed = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout, /gate "the Docker API" did not pass within 3s \(waited 3\.\ds\); last observation: \S+/);
    // Each reason once under Diagnostics (an update asked the provider's diff again, which said it again).
    const said = diagnostics(failed.stdout);
    for (const reason of [
      "[colima-profile] will converge: cpus: 2 → 3",
      "[colima-daemon] will converge: cpus: 2 → 3",
      "[colima-health] will check again: trigger changed",
      'gate "the Docker API" did not pass within 3s',
    ])
      assert.equal(count(said, reason), 1, `${reason}\n${said}`);
    mac.sim.setFaults({});
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.ok(dockerAnswers(mac.socket));
  });
});
