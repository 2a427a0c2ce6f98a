// Sleep and wake (README.md "Sleep and wake"), through the real engine on a simulated Mac: every
// process of the Mac stopped for the sleep (simulator.ts sleepMac). A VM that stays frozen after
// the wake is restarted by the supervisor at once — not after API_HANG_SECONDS, here 600 s — and
// Docker answers again; a VM that runs on with its clock behind (Lima 1.2.1: no host-agent time
// sync) has its clock set to the host's by the supervisor, both clocks logged.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { dockerAnswers, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const LOG = "/var/log/colima-pulse/colima.log";
const INSTANCE = "/Users/ops/.colima/_lima/colima";
const HANGS = "/Users/ops/.colima/.colima-pulse-default.hangs";

const log = (mac: SimulatedMac) => (existsSync(mac.sim.path(LOG)) ? readFileSync(mac.sim.path(LOG), "utf8") : "");
/** Waits for `pattern` in the job's log after `from` characters. */
async function logSays(mac: SimulatedMac, pattern: RegExp, from = 0, ms = 180_000): Promise<void> {
  try {
    await waitFor(`${LOG} to say ${pattern}`, () => pattern.test(log(mac).slice(from)), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it says:\n${log(mac).slice(from).split("\n").slice(-60).join("\n")}`);
  }
}
const qemuPid = (mac: SimulatedMac) => Number(readFileSync(mac.sim.path(`${INSTANCE}/qemu.pid`), "utf8").trim());

describe("Sleep and wake", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-wake", { API_HANG_SECONDS: "600" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    // The supervisor has seen Docker answer after its start, and compared the clocks once.
    await logSays(mac, /the Docker API answers at [\s\S]*after this start: the guest's clock is -?\d+s off the host's/);
  });
  after(async () => mac?.dispose());

  it("a 30 s sleep that leaves the VM frozen: on waking the VM is restarted at once, not after API_HANG_SECONDS (600 s); Docker answers again", async () => {
    const from = log(mac).length;
    const frozen = qemuPid(mac);
    assert.equal(existsSync(mac.sim.path(HANGS)) ? readFileSync(mac.sim.path(HANGS), "utf8").trim() : "0", "0");
    await mac.sim.sleepMac(30);
    try {
      await logSays(
        mac,
        /woke after ~\d+s asleep; the Docker API did not answer \(.+\): restarting the VM now instead of waiting API_HANG_SECONDS \(600s; 1 of 5 in a row\)\n/,
        from,
      );
      await logSays(mac, /restarting the VM now instead of waiting API_HANG_SECONDS[\s\S]*profile default is up\n/, from);
    } finally {
      if (mac.sim.isAlive(frozen)) mac.sim.signal(frozen, "SIGCONT", "the old VM, if the test failed before it was ended");
    }
    await waitFor("Docker after the restart", () => dockerAnswers(mac.socket), 180_000);
    assert.notEqual(qemuPid(mac), frozen, "a new VM");
    // The order of events: the wake, then the restart it decided; no silence was waited out.
    const said = log(mac).slice(from);
    assert.doesNotMatch(said, /has not answered for \d+s/, "not the API_HANG_SECONDS path");
    assert.doesNotMatch(said, /the VM restarts if it stays silent for 600s/, "no wait for the silence was announced");
    assert.equal(
      readFileSync(mac.sim.path(HANGS), "utf8").trim(),
      "1",
      "counted as one restart for a hung API (MAX_FAILED_STARTS bounds them)",
    );
    // The new boot's clock is the host's (QEMU's RTC), as the check after that start says.
    await logSays(
      mac,
      /profile default is up\n[\s\S]*after this start: the guest's clock is -?\d+s off the host's \([^)]*\), within CLOCK_DRIFT_MAX_SECONDS \(5s\)/,
      from,
    );
  });

  it("a 20 s sleep after which the VM runs on, its clock behind (Lima 1.2.1 does not resync it): the supervisor sets it to the host's, both clocks logged", async () => {
    await waitFor("Docker", () => dockerAnswers(mac.socket), 180_000);
    const from = log(mac).length;
    const vm = qemuPid(mac);
    mac.sim.clearRecords();
    await mac.sim.sleepMac(20, { vmFrozen: false });
    const iso = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";
    await logSays(
      mac,
      new RegExp(
        `woke after ~\\d+s asleep; the Docker API answers\\n[\\s\\S]*` +
          `after the wake: the guest's clock is (-\\d+)s off the host's \\(guest ${iso}, host ${iso}\\), more than CLOCK_DRIFT_MAX_SECONDS \\(5s\\): setting it to the host's\\n[\\s\\S]*` +
          `after the wake: set the guest's clock to the host's: now (-?\\d+)s off \\(guest ${iso}, host ${iso}\\)\\n`,
      ),
      from,
    );
    const said = log(mac).slice(from);
    const beforeSet = Number(/the guest's clock is (-\d+)s off the host's/.exec(said)?.[1]);
    const afterSet = Number(/now (-?\d+)s off/.exec(said)?.[1]);
    assert.ok(beforeSet <= -10, `behind by most of the 20 s slept (less the ssh's own time): ${beforeSet}`);
    assert.ok(Math.abs(afterSet) < Math.abs(beforeSet) - 10, `no longer behind by the sleep: ${beforeSet} → ${afterSet}`);
    assert.ok(
      Math.abs(mac.sim.guestClockOffsetMs("default")) < 10_000,
      `the guest's clock: ${mac.sim.guestClockOffsetMs("default")} ms off`,
    );
    assert.equal(qemuPid(mac), vm, "the same VM: nothing restarted");
    assert.ok(
      mac.sim.records().some((r) => r.tool === "colima" && r.argv.join(" ").startsWith("ssh --profile default -- sudo date -u -s @")),
      "set through colima ssh -- sudo date -u -s @<host seconds>",
    );
    assert.doesNotMatch(
      readFileSync(mac.sim.path(`${INSTANCE}/ha.stderr.log`), "utf8"),
      /Time sync/,
      "Lima 1.2.1's host agent has no time sync",
    );
    assert.ok(dockerAnswers(mac.socket));
  });
});
