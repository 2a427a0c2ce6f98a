// The preview as the confirmation step, and versions, through the real engine on a converged
// simulated Mac: a settings change shows each property old → new with what it does; an
// out-of-band `brew upgrade` shows in `preview --refresh` and `up` restarts the VM under it through
// the gates; `npm run upgrade` (scripts/upgrade.sh, as the operator runs it) says what it will do
// first, and a gate that fails after it names the versions before and after and the log's end.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { CliResult } from "../helpers/pulumiStack";
import { dockerAnswers, mutating, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const out = (r: CliResult) => r.stdout + r.stderr;

interface Step {
  op: string;
  urn: string;
  oldState?: { inputs?: Record<string, unknown> };
  newState?: { inputs?: Record<string, unknown> };
}
/** The steps of `pulumi preview --json` by resource name, for those that change something. */
function changedSteps(json: string): Record<string, Step> {
  const steps = (JSON.parse(json) as { steps?: Step[] }).steps ?? [];
  return Object.fromEntries(steps.filter((s) => !["same", "refresh"].includes(s.op)).map((s) => [s.urn.split("::").pop() as string, s]));
}
/** `[property, old, new]` for each named input of a step. */
const values = (step: Step | undefined, ...keys: string[]) =>
  keys.map((k) => [k, step?.oldState?.inputs?.[k], step?.newState?.inputs?.[k]]);

describe("preview is the confirmation; versions and npm run upgrade", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const colima = (...argv: string[]) => mac.sim.run([mac.sim.path("/opt/homebrew/bin/colima"), ...argv]);
  const log = () => readFileSync(mac.sim.path("/var/log/colima-pulse/colima.log"), "utf8");
  before(async () => {
    mac = await simulatedMac("e2e-upgrade", { COLIMA_CPUS: "2", WAIT_DOCKER_API_MAX: "5" });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("`preview --diff` shows each changed property old → new and what it does; no replacement, no reset", async () => {
    await mac.stack.must(["config", "set", "RESTART_THROTTLE_SECONDS", "7"]);
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "4"]);
    await mac.stack.must(["config", "set", "COLIMA_DISK", "30"]);
    try {
      const json = await mac.stack.must(["preview", "--diff", "--json"]);
      const steps = changedSteps(json.stdout);
      assert.deepEqual(
        Object.entries(steps).map(([name, s]) => `${s.op} ${name}`),
        ["update colima-profile", "update colima-daemon", "update colima-health"],
      );
      assert.deepEqual(values(steps["colima-profile"], "cpus", "disk"), [
        ["cpus", 2, 4],
        ["disk", 20, 30],
      ]);
      assert.deepEqual(values(steps["colima-daemon"], "throttleInterval", "cpus", "disk"), [
        ["throttleInterval", 2, 7],
        ["cpus", 2, 4],
        ["disk", 20, 30],
      ]);
      const text = out(await mac.stack.must(["preview", "--diff"]));
      assert.match(text, /~ throttleInterval\s*: 2 => 7/);
      assert.match(text, /~ cpus\s*: 2 => 4/);
      assert.match(
        text,
        /\[colima-profile\] will converge: cpus: 2 → 4 \(the VM restarts under its LaunchDaemon with the new size\); disk: 20 → 30 \(the disk grows when the LaunchDaemon restarts the VM\)/,
      );
      assert.match(
        text,
        /\[colima-daemon\] will converge: .*throttleInterval: 2 → 7 \(launchd's ThrottleInterval: the job reloads, the VM restarts\)/,
      );
      assert.doesNotMatch(text, /reset|replace/i, "a plain preview never shows a reset");
    } finally {
      for (const [k, v] of [
        ["RESTART_THROTTLE_SECONDS", "2"],
        ["COLIMA_CPUS", "2"],
        ["COLIMA_DISK", "20"],
      ])
        await mac.stack.must(["config", "set", k as string, v as string]);
    }
    const clean = await mac.stack.cli(["preview", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("an out-of-band `brew upgrade colima` shows in preview --refresh as old → new; up restarts the VM under it through the gates", async () => {
    mac.sim.publish("colima", "0.10.4");
    const upgraded = await mac.sim.run([mac.sim.path("/opt/homebrew/bin/brew"), "upgrade", "colima"]);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    const preview = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes", "--json"]);
    assert.notEqual(preview.code, 0, "drift");
    const daemon = changedSteps(preview.stdout)["colima-daemon"];
    assert.equal(daemon?.op, "update");
    assert.deepEqual(
      [
        (daemon?.oldState?.inputs?.versions as Record<string, string>)?.colima,
        (daemon?.newState?.inputs?.versions as Record<string, string>)?.colima,
      ],
      ["0.10.3", "0.10.4"],
    );
    const before = (log().match(/profile default is up/g) ?? []).length;
    const r = await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    assert.match(
      r.stdout,
      /versions: \{"colima":"0\.10\.3",.*\} → \{"colima":"0\.10\.4",.*\} \(the VM restarts under the installed versions\)/,
    );
    assert.match(r.stdout, /\[colima-health\] healthy:/);
    await waitFor("Docker under colima 0.10.4", () => dockerAnswers(mac.socket));
    await waitFor("the supervisor to report the restarted VM up", () => (log().match(/profile default is up/g) ?? []).length > before);
    assert.match((await colima("version")).stdout, /colima version 0\.10\.4/);
    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outputs.colimaVersion, "0.10.4");
    assert.deepEqual(outputs.versions, { colima: "0.10.4", lima: "1.2.1", qemu: "10.1.0", docker: "28.2.2" });
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("`npm run upgrade` with nothing newer says so and changes nothing", async () => {
    mac.sim.clearRecords();
    const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"]);
    assert.equal(r.code, 0, out(r));
    assert.match(
      out(r),
      /npm run upgrade: nothing to upgrade: colima 0\.10\.4, lima 1\.2\.1, qemu 10\.1\.0, docker 28\.2\.2 are what Homebrew's local formulae offer/,
    );
    assert.deepEqual(mutating(mac.sim.records()), []);
  });

  it("`npm run upgrade` shows what it will upgrade before it does, then upgrades, restarts and proves it", async () => {
    mac.sim.publish("lima", "1.2.2");
    const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"]);
    assert.equal(r.code, 0, out(r));
    const plan = out(r).indexOf("brew upgrade as ops: lima 1.2.1 -> 1.2.2 (already current: colima 0.10.4, qemu 10.1.0, docker 28.2.2)");
    assert.ok(plan >= 0 && plan < out(r).indexOf("Updating ("), out(r));
    assert.match(out(r), /\[colima-packages\] upgrading lima 1\.2\.1 → 1\.2\.2 as ops/);
    assert.match(out(r), /\[colima-smoke\] ran .*output as expected/);
    const upgrades = mac.sim.records().filter((e) => e.tool === "brew" && e.argv[0] === "upgrade" && e.exit !== undefined);
    assert.deepEqual(
      upgrades.map((e) => [e.user, e.argv.join(" "), e.exit]),
      [["ops", "upgrade lima", 0]],
    );
    await waitFor("Docker under lima 1.2.2", () => dockerAnswers(mac.socket));
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("a gate that fails after `npm run upgrade` names the versions before and after and the log's last lines", async () => {
    mac.sim.publish("qemu", "10.1.1");
    mac.sim.setFaults({ apiNeverReady: true });
    try {
      const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"]);
      assert.notEqual(r.code, 0);
      assert.match(
        out(r),
        /gate "the Docker API" did not pass within 5s \(waited 5\.\ds\); last observation: .+\s+after an upgrade of qemu 10\.1\.0 → 10\.1\.1\s+last lines of \S+\/var\/log\/colima-pulse\/colima\.log:/,
      );
    } finally {
      mac.sim.setFaults({});
    }
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    await waitFor("Docker once the fault is gone", () => dockerAnswers(mac.socket));
  });
});

describe("a Colima older than colima-pulse's flags, then npm run upgrade", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    // Colima 0.8.0 has no `start --cpus` (0.8.2) nor `delete --data` (0.9.0): it refuses them.
    mac = await simulatedMac(
      "e2e-old-colima",
      { WAIT_DOCKER_API_MAX: "5" },
      { formulae: ["colima", "lima", "qemu", "docker"], versions: { colima: "0.8.0" } },
    );
  });
  after(async () => mac?.dispose());

  it("preview and up stop before anything runs, naming the version, the minimum, the flag and npm run upgrade", async () => {
    for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
      const r = await mac.stack.cli(args);
      assert.notEqual(r.code, 0, `${args[0]} must stop`);
      assert.match(
        out(r),
        /Colima 0\.8\.0 is installed; colima-pulse needs 0\.8\.2 or later \(it starts the VM with `colima start --cpus`, which Colima 0\.8\.2 introduced\)\. Upgrade it: `npm run upgrade` \(if it finds nothing newer, run `brew update` as ops first\)\. Nothing was changed\./,
      );
    }
    assert.deepEqual(mutating(mac.sim.records()), [], "nothing ran that changes the Mac");
  });

  it("`npm run upgrade` with a newer Colima in Homebrew's formulae upgrades it first, then converges", async () => {
    mac.sim.publish("colima", "0.10.3");
    const r = await mac.stack.script(["scripts/upgrade.sh", "--yes"]);
    assert.equal(r.code, 0, out(r));
    assert.match(out(r), /brew upgrade as ops: colima 0\.8\.0 -> 0\.10\.3/);
    assert.match(out(r), /\[colima-smoke\] ran .*output as expected/);
    await waitFor("Docker under colima 0.10.3", () => dockerAnswers(mac.socket));
  });
});
