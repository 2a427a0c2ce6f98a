// `npm run doctor` through the real engine on one converged simulated Mac (one converge): all ok
// and exit 0 while it is healthy, and nothing on the Mac changes; with its LaunchDaemon booted out
// by hand, exit 1 naming the supervisor's problem with `npm run converge` as the fix. Off a Mac, a
// stack that would target this machine's own / is a reachability problem, never a probe of /.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Problem } from "../../fleet/doctor";
import type { MacStatus } from "../../fleet/status";
import { LABEL, mutating, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

describe("npm run doctor on a simulated Mac", { concurrency: false }, () => {
  let mac: SimulatedMac;
  /** `npm run doctor -- <args>` on this stack's Mac (COLIMA_PULSE_HOST_ROOT is the stack's). */
  const doctor = (...args: string[]) => mac.stack.script(["scripts/doctor.sh", ...args], {}, 300_000);

  before(async () => {
    mac = await simulatedMac("e2e-doctor");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("a converged Mac: every check ok, exit 0, and nothing on the Mac changed", async () => {
    const from = mac.sim.records().length;
    const r = await doctor();
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], "colima-pulse doctor: stack e2e-doctor (read-only)");
    for (const name of [
      "stack",
      "reachable",
      "supervisor",
      "docker",
      "workloads",
      "drift",
      "filevault",
      "other-starters",
      "denied-versions",
      "backups",
    ])
      assert.match(lines.find((l) => l.startsWith(`${name} `)) ?? `${name}: no line`, new RegExp(`^${name}\\s+ok\\s+\\S`));
    assert.match(r.stdout, /^docker\s+ok\s+Docker \d+\.\d+\.\d+\S* answers on \S+\/Users\/ops\/\.colima\/default\/docker\.sock$/m);
    assert.match(
      r.stdout,
      /^versions: colima [\d.]+, lima [\d.]+, qemu [\d.]+\ngates, the last time they ran: socket \d+ ms, qemu \d+ ms, api \d+ ms, stable \d+ ms$/m,
    );
    assert.match(r.stdout, /\nnothing is wrong\n$/);
    assert.doesNotMatch(r.stdout, /PROBLEM|fix:/);
    assert.deepEqual(mutating(mac.sim.records().slice(from)), [], "read-only");
  });

  it("the supervisor booted out: exit 1, its problem named, npm run converge the fix", async () => {
    const out = await mac.sim.run([mac.sim.path("/usr/bin/sudo"), "-n", mac.sim.path("/bin/launchctl"), "bootout", `system/${LABEL}`]);
    assert.equal(out.code, 0, out.stderr);
    const r = await doctor("--json");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const row = JSON.parse(r.stdout) as MacStatus & { problems: Problem[] };
    assert.equal(row.supervisor, "not loaded");
    assert.equal(row.reachable, "yes");
    const supervisor = row.problems.find((p) => p.check === "supervisor");
    assert.deepEqual(supervisor, {
      check: "supervisor",
      problem: `system/${LABEL} is not loaded: nothing starts Colima, at boot or after a crash`,
      fix: `COLIMA_PULSE_HOST_ROOT=${mac.sim.root} SIM_USER=ops COLIMA_PULSE_STACK=e2e-doctor npm run converge (loads it again)`,
    });
    assert.match(row.problems.find((p) => p.check === "drift")?.problem ?? "no drift problem", /update LaunchDaemon::colima-daemon/);
  });

  it("off a Mac with no simulated root: the refusal of / is the reachability problem, not a stack trace", async () => {
    // fleet/doctor.ts itself: scripts/doctor.sh stops before it off a Mac when no demo runs
    // (scripts/lib.sh target_this_mac).
    const r = await mac.stack.script(["-c", 'exec node --import tsx fleet/doctor.ts "$@"', "doctor"], { COLIMA_PULSE_HOST_ROOT: "" });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^reachable\s+PROBLEM\s+not reachable: this machine is not a Mac \(linux\)/m);
    assert.match(r.stdout, /^\s+fix: off a Mac, check the simulated Mac: npm run demo/m);
    assert.match(r.stdout, /^supervisor\s+-\s+not reachable$/m);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /^\s+at /m);
  });
});
