// Sleep and wake on the simulated Mac (simulator.ts sleepMac, tools/guestClock.ts, tools/lima.ts):
// every process of the Mac stops for the sleep and goes on after it, except the VM, which stays
// frozen unless asked otherwise; every guest's clock is then behind by the time slept; `colima ssh
// -- date` reads the guest's clock (waiting while the VM is frozen) and `sudo date -u -s @N` sets
// it; a VM's boot starts its clock at the host's; Lima 2.1+'s host agent sets a running guest's
// clock to the host's (not a frozen one's), Lima 1.2 does not. README.md "Sleep and wake".
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";
import { profileOf } from "./tools/colima";
import { stopped } from "./tools/lima";

const START = ["start", "--runtime", "docker", "--vm-type", "qemu", "--cpus", "1", "--memory", "1", "--disk", "10"];
const seconds = () => Math.floor(Date.now() / 1000);

async function macWith(versions?: Record<string, string>): Promise<{ sim: MacSimulator; colima: string }> {
  const sim = await MacSimulator.create({
    dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
    formulae: ["colima", "qemu", "docker"],
    ...(versions ? { versions } : {}),
  });
  return { sim, colima: join(sim.world.brewPrefix(), "bin/colima") };
}

/** The guest's `date -u +%s` through colima ssh, and the host's seconds read just before and after. */
async function guestSeconds(sim: MacSimulator, colima: string): Promise<{ guest: number; before: number; after: number }> {
  const before = seconds();
  const r = await sim.run([colima, "ssh", "--", "date", "-u", "+%s"]);
  const after = seconds();
  assert.equal(r.code, 0, r.stderr);
  return { guest: Number(r.stdout.trim()), before, after };
}

function haLog(sim: MacSimulator): string {
  return readFileSync(join(sim.world.home("ops"), ".colima/_lima", profileOf("default").id, "ha.stderr.log"), "utf8");
}

describe("sleep and wake, the guest's clock (Lima 1.2.1: no time sync)", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  before(async () => {
    ({ sim, colima } = await macWith());
  });
  after(async () => {
    await sim?.dispose();
  });

  it("a stopped VM: `colima ssh -- date` is refused in Colima's words", async () => {
    const r = await sim.run([colima, "ssh", "--", "date", "-u", "+%s"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /level=fatal msg="colima not running"\n$/);
  });

  it("a VM that boots has the host's time; `date -s` needs sudo; `sudo date -u -s @N` sets the guest's clock to N", async () => {
    const start = await sim.run([colima, ...START]);
    assert.equal(start.code, 0, start.stderr);
    const booted = await guestSeconds(sim, colima);
    assert.ok(booted.before <= booted.guest && booted.guest <= booted.after, JSON.stringify(booted));
    const refused = await sim.run([colima, "ssh", "--", "date", "-u", "-s", `@${seconds() - 100}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /date: cannot set date: Operation not permitted\n[\s\S]*level=fatal msg="exit status 1"/);
    const to = seconds() - 100;
    const set = await sim.run([colima, "ssh", "--", "sudo", "date", "-u", "-s", `@${to}`]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n$/, "GNU date prints the date it set");
    const behind = await guestSeconds(sim, colima);
    assert.ok(behind.before - 101 <= behind.guest && behind.guest <= behind.after - 99, JSON.stringify(behind));
    // Back to the host's for what follows.
    assert.equal((await sim.run([colima, "ssh", "--", "sudo", "date", "-u", "-s", `@${seconds()}`])).code, 0);
  });

  it("sleepMac(3): every process stopped, then continued but QEMU; the guest's clock 3 s further behind; `colima ssh` waits for the frozen guest", async () => {
    sim.clearRecords();
    const offset = sim.guestClockOffsetMs("default");
    await sim.sleepMac(3);
    const signals = sim.signals();
    const slept = signals.filter((s) => s.name === "SIGSTOP" && s.reason === "the Mac sleeps for 3s");
    const woke = signals.filter((s) => s.name === "SIGCONT" && s.reason === "the Mac wakes after 3s");
    const qemu = slept.filter((s) => /\/qemu-system-/.test(s.target));
    assert.equal(qemu.length, 1, "the VM slept with the Mac");
    assert.ok(slept.some((s) => /limactl hostagent/.test(s.target)) && slept.some((s) => /\/sbin\/launchd/.test(s.target)));
    assert.deepEqual(
      woke.map((s) => s.to).sort(),
      slept
        .filter((s) => !qemu.includes(s))
        .map((s) => s.to)
        .sort(),
      "every process but the VM goes on",
    );
    assert.equal(stopped(qemu[0]?.to ?? 0), true, "the VM stays frozen");
    assert.equal(sim.guestClockOffsetMs("default"), offset - 3000);

    const child = spawn(colima, ["ssh", "--", "date", "-u", "+%s"], { env: sim.env(), cwd: sim.root, stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    let ended = false;
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    void exited.then(() => {
      ended = true;
    });
    while (!sim.records().some((e) => e.tool === "limactl" && e.argv[0] === "shell" && e.exit === undefined)) {
      assert.equal(ended, false, "colima ssh ended while the VM was frozen");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ended, false, "colima ssh ended while the VM was frozen");
    const before = Date.now();
    sim.thawVm("default");
    assert.equal(await exited, 0);
    const after = Date.now();
    // The guest's `date +%s` is floor((host ms + offset ms) / 1000) at the moment it ran, between
    // these two readings: bounds in milliseconds, each floored as the guest's is (rounding the offset
    // to seconds first was off by one whenever its fraction and the host's added up past a second).
    const guest = Number(out.trim());
    const offsetMs = offset - 3000;
    const [low, high] = [before, after].map((ms) => Math.floor((ms + offsetMs) / 1000));
    assert.ok(
      low !== undefined && high !== undefined && low <= guest && guest <= high,
      `guest ${guest}, host ${before}–${after} ms, offset ${offsetMs} ms`,
    );
  });

  it("sleepMac(2, { vmFrozen: false }): the VM runs on, its clock 2 s behind; Lima 1.2.1 leaves it so", async () => {
    const offset = sim.guestClockOffsetMs("default");
    sim.clearRecords();
    await sim.sleepMac(2, { vmFrozen: false });
    assert.equal(
      sim.signals().some((s) => s.name === "SIGCONT" && /\/qemu-system-/.test(s.target)),
      true,
      "the VM goes on with the Mac",
    );
    assert.equal(sim.guestClockOffsetMs("default"), offset - 2000);
    // Past Lima 2.1's first sync (5 s) and one period (10 s): Lima 1.2.1 has none.
    await new Promise((r) => setTimeout(r, 16_000));
    assert.equal(sim.guestClockOffsetMs("default"), offset - 2000);
    assert.doesNotMatch(haLog(sim), /Time sync/);
  });

  it("a VM that boots again starts at the host's time", async () => {
    assert.notEqual(sim.guestClockOffsetMs("default"), 0);
    assert.equal((await sim.run([colima, "stop"])).code, 0);
    assert.equal((await sim.run([colima, ...START])).code, 0);
    assert.equal(sim.guestClockOffsetMs("default"), 0);
  });
});

describe("sleep and wake, Lima 2.2.0: the host agent's time sync", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  before(async () => {
    ({ sim, colima } = await macWith({ lima: "2.2.0" }));
    const start = await sim.run([colima, ...START]);
    assert.equal(start.code, 0, start.stderr);
  });
  after(async () => {
    await sim?.dispose();
  });

  it("a frozen guest is not synced; once it runs, its clock is set to the host's within a period, and ha.stderr.log says so", async () => {
    assert.match(haLog(sim), /"msg":"Time sync: guest agent is alive, starting time synchronization"/);
    await sim.sleepMac(2);
    assert.equal(sim.guestClockOffsetMs("default"), -2000);
    await new Promise((r) => setTimeout(r, 16_000));
    assert.equal(sim.guestClockOffsetMs("default"), -2000, "no sync while the guest does not run");
    assert.doesNotMatch(haLog(sim), /guest clock adjusted/);
    sim.thawVm("default");
    const deadline = Date.now() + 60_000;
    while (!/guest clock adjusted/.test(haLog(sim)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.match(haLog(sim), /"level":"info","msg":"Time sync: guest clock adjusted \(was -2\d\d\dms off\)"/);
    assert.equal(sim.guestClockOffsetMs("default"), 0);
  });
});
