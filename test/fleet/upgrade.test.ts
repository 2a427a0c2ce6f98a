// `fleet upgrade` (fleet/upgrade.ts) without a fleet: each Mac's upgrade decision is its own (its id
// the time its run starts, bound to its stack, which the program accepts and every other stack
// refuses), the runner passes a decision to no stack but the one it names, and the upgrade is a
// rollout, one canary first unless --canary says otherwise. The runner is a stand-in here (the
// e2e file fleetUpgrade.e2e.test.ts drives real simulated Macs).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { parseArgs } from "../../fleet/cli";
import { rolloutStopped, skipped } from "../../fleet/rollout";
import { type MacResult, openStack, type RunOptions } from "../../fleet/runner";
import { fleetUpgrade, UPGRADE_CANARY, upgradeDecisions } from "../../fleet/upgrade";
import { checkDecisionStack, DECISION_VARIABLES, readUpgradeDecision } from "../../stacks/commandLineDecisions";
import { ConfigError } from "../../stacks/config";

const repo = resolve(__dirname, "../..");
const projectYaml = readFileSync(join(repo, "Pulumi.yaml"), "utf8");
const options: RunOptions = { workDir: repo, stacks: [], parallel: 4, logDir: "/l", envOf: () => ({}) };
const result = (stack: string, ok: boolean): MacResult => ({
  stack,
  ok,
  stage: "up",
  detail: ok ? "update 2, same 7" : "boom",
  elapsedMs: 1000,
  log: `/l/${stack}.log`,
});

/** A runner that records each call (its stacks, parallelism and each stack's decision, as the
 *  runner asks for it when the Mac starts) and fails the stacks in `failing`. */
function fakeRun(failing: string[]) {
  const calls: { stacks: string[]; parallel: number; decisions: Record<string, Record<string, string>> }[] = [];
  const run = async (operation: "up", o: RunOptions) => {
    assert.equal(operation, "up");
    const decisions = Object.fromEntries(o.stacks.map((s) => [s, o.decisionEnvOf?.(s) ?? {}]));
    calls.push({ stacks: o.stacks, parallel: o.parallel, decisions });
    return o.stacks.map((s) => result(s, !failing.includes(s)));
  };
  return { calls, run };
}

describe("upgradeDecisions: each Mac's own decision", () => {
  it("bound to its stack (<project>/<stack>), its id the time it is asked for", () => {
    let t = Date.UTC(2026, 11, 7, 15, 0, 0);
    const decisionOf = upgradeDecisions(["mac-a", "mac-b"], projectYaml, () => new Date(t));
    assert.deepEqual(decisionOf("mac-a"), {
      COLIMA_PULSE_UPGRADE_ID: "20261207T150000Z",
      COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-a",
    });
    t += 42 * 60_000; // mac-b starts after a long canary: its decision is made then
    assert.deepEqual(decisionOf("mac-b"), {
      COLIMA_PULSE_UPGRADE_ID: "20261207T154200Z",
      COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-b",
    });
  });

  it("the program carries it out on its stack and refuses it on any other", () => {
    const now = new Date();
    const a = upgradeDecisions(["mac-a", "mac-b"], projectYaml, () => now)("mac-a");
    checkDecisionStack(a, "colima-pulse/mac-a");
    assert.equal(readUpgradeDecision(a, now), a.COLIMA_PULSE_UPGRADE_ID);
    assert.throws(
      () => checkDecisionStack(a, "colima-pulse/mac-b"),
      (e: unknown) =>
        e instanceof ConfigError &&
        /COLIMA_PULSE_DECISION_STACK \(environment\) = "colima-pulse\/mac-a": the decision \(COLIMA_PULSE_UPGRADE_ID="\d{8}T\d{6}Z"\) was made for stack colima-pulse\/mac-a, and this run is stack colima-pulse\/mac-b/.test(
          e.message,
        ),
    );
  });

  it("none for a stack the upgrade did not select", () => {
    const decisionOf = upgradeDecisions(["mac-a"], projectYaml);
    assert.throws(() => decisionOf("mac-b"), { message: "fleet upgrade made no decision for stack mac-b (the upgrade's Macs: mac-a)" });
  });
});

describe("openStack: a decision reaches only the stack it is bound to", () => {
  for (const [decision, named] of [
    [{ COLIMA_PULSE_UPGRADE_ID: "20261207T150000Z", COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-a" }, "colima-pulse/mac-a"],
    [{ COLIMA_PULSE_UPGRADE_ID: "20261207T150000Z", COLIMA_PULSE_DECISION_STACK: "colima-pulse/xmac-b" }, "colima-pulse/xmac-b"],
    [{ COLIMA_PULSE_UPGRADE_ID: "20261207T150000Z" }, "no stack"],
  ] as const) {
    it(`one bound to ${named}, handed to mac-b: refused before any workspace is made`, async () => {
      // A folder that is no project: a workspace made there would fail otherwise.
      await assert.rejects(openStack("/nonexistent-project", "mac-b", {}, { ...decision }), {
        message: `a decision bound to ${named} is not passed to stack mac-b`,
      });
    });
  }
});

describe("fleetUpgrade: a rollout of up with each Mac's own decision", () => {
  it(`without --canary: ${UPGRADE_CANARY} canary first, said so; then the rest; each Mac only its own decision`, async () => {
    const { calls, run } = fakeRun([]);
    const said: string[] = [];
    const { plan, results, stoppedBy } = await fleetUpgrade({ ...options, stacks: ["mac-c", "mac-a", "mac-b"] }, undefined, run, (l) =>
      said.push(l),
    );
    assert.deepEqual(said, [
      "upgrade: --canary 1 unless given; canaries first: mac-a; the other 2 only when every canary passed its gates and smoke test",
    ]);
    assert.deepEqual(plan, { canaries: ["mac-a"], rest: ["mac-b", "mac-c"] });
    assert.deepEqual(
      calls.map((c) => [c.stacks, c.parallel]),
      [
        [["mac-a"], 1],
        [["mac-b", "mac-c"], 4],
      ],
    );
    for (const call of calls)
      for (const [stack, decision] of Object.entries(call.decisions)) {
        assert.deepEqual(Object.keys(decision).sort(), ["COLIMA_PULSE_DECISION_STACK", "COLIMA_PULSE_UPGRADE_ID"]);
        assert.equal(decision.COLIMA_PULSE_DECISION_STACK, `colima-pulse/${stack}`);
        assert.match(decision.COLIMA_PULSE_UPGRADE_ID as string, /^\d{8}T\d{6}Z$/);
      }
    assert.deepEqual(stoppedBy, []);
    assert.deepEqual(
      results.map((r) => [r.stack, r.ok]),
      [
        ["mac-a", true],
        ["mac-b", true],
        ["mac-c", true],
      ],
    );
    assert.deepEqual(
      DECISION_VARIABLES.filter((k) => process.env[k] !== undefined),
      [],
      "no decision in this process's environment",
    );
  });

  it("a failed canary: nothing more starts, the others are skipped, the summary names it", async () => {
    const { calls, run } = fakeRun(["mac-a"]);
    const { plan, results, stoppedBy } = await fleetUpgrade({ ...options, stacks: ["mac-a", "mac-b", "mac-c"] }, undefined, run, () => {});
    assert.deepEqual(
      calls.map((c) => c.stacks),
      [["mac-a"]],
      "only the canary ran",
    );
    assert.deepEqual(results, [result("mac-a", false), skipped("mac-b"), skipped("mac-c")]);
    assert.equal(rolloutStopped(stoppedBy, plan.rest.length, "/l"), "rollout stopped: canary mac-a failed; 2 Macs not started (logs: /l)");
  });

  it("--canary N as given (the whole selection: all at once, said so)", async () => {
    const { calls, run } = fakeRun([]);
    const said: string[] = [];
    await fleetUpgrade({ ...options, stacks: ["m-1", "m-2", "m-3"] }, 2, run, (l) => said.push(l));
    assert.deepEqual(said, ["canaries first: m-1, m-2; the other 1 only when every canary passed its gates and smoke test"]);
    assert.deepEqual(
      calls.map((c) => c.stacks),
      [["m-1", "m-2"], ["m-3"]],
    );
    const all = fakeRun([]);
    said.length = 0;
    await fleetUpgrade({ ...options, stacks: ["m-1", "m-2", "m-3"] }, 3, all.run, (l) => said.push(l));
    assert.deepEqual(said, ["--canary 3: that is all 3 selected Macs, so every Mac is a canary: m-1, m-2, m-3"]);
    assert.deepEqual(
      all.calls.map((c) => [c.stacks, c.parallel]),
      [[["m-1", "m-2", "m-3"], 3]],
    );
  });
});

describe("fleet upgrade on the command line", () => {
  it("upgrade, with or without --canary", () => {
    assert.deepEqual(parseArgs(["upgrade"]), { command: "upgrade", glob: "*", parallel: 4, json: false });
    assert.deepEqual(parseArgs(["upgrade", "--canary", "2", "--stacks", "mac-*"]), {
      command: "upgrade",
      glob: "mac-*",
      parallel: 4,
      json: false,
      canary: 2,
    });
  });

  it("refuses --json and --prom with upgrade, and names upgrade for a typo", () => {
    assert.throws(() => parseArgs(["upgrade", "--json"]), { message: "--json (command line): only with status or drift, not upgrade" });
    assert.throws(() => parseArgs(["upgrade", "--prom", "/tmp/x.prom"]), {
      message: "--prom (command line): only with status, not upgrade",
    });
    assert.throws(() => parseArgs(["upgrad"]), {
      message: 'command (command line) = "upgrad": must be one of preview, up, upgrade, refresh, status, drift (did you mean upgrade?)',
    });
  });
});
