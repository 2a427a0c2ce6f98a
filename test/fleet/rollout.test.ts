// `fleet up --canary N` (fleet/rollout.ts): the canaries are the first N Macs by name, converged
// first; a failed canary starts nothing more, the others are reported skipped, the summary says
// which canary stopped the rollout. The runner is a stand-in here (the e2e file drives real Macs).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseArgs, resultsTable } from "../../fleet/cli";
import { failedCanaries, parseCanary, rolloutNote, rolloutPlan, rolloutStopped, runRollout, skipped } from "../../fleet/rollout";
import type { MacResult, RunOptions } from "../../fleet/runner";

const options: RunOptions = { workDir: "/w", stacks: [], parallel: 4, logDir: "/l", envOf: () => ({}) };
const result = (stack: string, ok: boolean): MacResult => ({
  stack,
  ok,
  stage: "up",
  detail: ok ? "same 7" : "boom",
  elapsedMs: 1000,
  log: `/l/${stack}.log`,
});

/** A runner that records each call (its stacks and parallelism) and fails the stacks in `failing`. */
function fakeRun(failing: string[]) {
  const calls: { stacks: string[]; parallel: number }[] = [];
  const run = async (_op: "up", o: RunOptions) => {
    calls.push({ stacks: o.stacks, parallel: o.parallel });
    return o.stacks.map((s) => result(s, !failing.includes(s)));
  };
  return { calls, run };
}

describe("rolloutPlan", () => {
  it("the canaries are the first N by name, the rest after, both sorted", () => {
    assert.deepEqual(rolloutPlan(["mac-c", "mac-a", "mac-d", "mac-b"], 2), { canaries: ["mac-a", "mac-b"], rest: ["mac-c", "mac-d"] });
    assert.deepEqual(rolloutPlan(["mac-c", "mac-a"], 1), { canaries: ["mac-a"], rest: ["mac-c"] });
  });

  it("N as many as the Macs or more: every Mac is a canary, and the note says so", () => {
    const plan = rolloutPlan(["b", "a", "c"], 5);
    assert.deepEqual(plan, { canaries: ["a", "b", "c"], rest: [] });
    assert.equal(rolloutNote(plan, 5), "--canary 5: that is all 3 selected Macs, so every Mac is a canary: a, b, c");
    assert.equal(
      rolloutNote(rolloutPlan(["b", "a", "c"], 1), 1),
      "canaries first: a; the other 2 only when every canary passed its gates and smoke test",
    );
  });
});

describe("runRollout", () => {
  it("every canary passed: the rest run after, with the run's parallelism; the canaries at most N at a time", async () => {
    const { calls, run } = fakeRun([]);
    const plan = rolloutPlan(["m-1", "m-2", "m-3", "m-4", "m-5"], 2);
    const { results, stoppedBy } = await runRollout(plan, options, run);
    assert.deepEqual(calls, [
      { stacks: ["m-1", "m-2"], parallel: 2 },
      { stacks: ["m-3", "m-4", "m-5"], parallel: 4 },
    ]);
    assert.deepEqual(stoppedBy, []);
    assert.deepEqual(
      results.map((r) => [r.stack, r.ok]),
      [
        ["m-1", true],
        ["m-2", true],
        ["m-3", true],
        ["m-4", true],
        ["m-5", true],
      ],
    );
    assert.equal(rolloutStopped(stoppedBy, plan.rest.length, "/l"), undefined);
  });

  it("a canary failed: nothing more starts, the others are skipped (canary failed), the summary names it", async () => {
    const { calls, run } = fakeRun(["m-1"]);
    const plan = rolloutPlan(["m-3", "m-1", "m-2"], 1);
    const { results, stoppedBy } = await runRollout(plan, options, run);
    assert.deepEqual(calls, [{ stacks: ["m-1"], parallel: 1 }], "only the canary ran");
    assert.deepEqual(stoppedBy, ["m-1"]);
    assert.deepEqual(results, [result("m-1", false), skipped("m-2"), skipped("m-3")]);
    assert.equal(rolloutStopped(stoppedBy, plan.rest.length, "/l"), "rollout stopped: canary m-1 failed; 2 Macs not started (logs: /l)");
    assert.equal(
      resultsTable(results),
      [
        "MAC  RESULT   STAGE        TIME  DETAIL",
        "---  -------  -----------  ----  -----------------------",
        "m-1  FAILED   up           1.0s  boom",
        "m-2  skipped  not started  0.0s  skipped (canary failed)",
        "m-3  skipped  not started  0.0s  skipped (canary failed)",
      ].join("\n"),
    );
  });

  it("one of several canaries failed: the others finish, the rest is skipped, every failed canary named", async () => {
    const { calls, run } = fakeRun(["m-2", "m-3"]);
    const plan = rolloutPlan(["m-1", "m-2", "m-3", "m-4"], 3);
    const { results, stoppedBy } = await runRollout(plan, options, run);
    assert.equal(calls.length, 1);
    assert.deepEqual(stoppedBy, ["m-2", "m-3"]);
    assert.deepEqual(failedCanaries(plan, results), ["m-2", "m-3"]);
    assert.deepEqual(results.at(-1), skipped("m-4"));
    assert.equal(rolloutStopped(stoppedBy, 1, "/l"), "rollout stopped: canaries m-2, m-3 failed; 1 Mac not started (logs: /l)");
  });

  it("every Mac a canary: one run, nothing skipped", async () => {
    const { calls, run } = fakeRun(["b"]);
    const { results, stoppedBy } = await runRollout(rolloutPlan(["a", "b"], 9), options, run);
    assert.deepEqual(calls, [{ stacks: ["a", "b"], parallel: 2 }]);
    assert.deepEqual(stoppedBy, ["b"]);
    assert.deepEqual(results, [result("a", true), result("b", false)]);
  });
});

describe("--canary on the command line", () => {
  it("a whole number from 1, with up", () => {
    assert.equal(parseCanary("1"), 1);
    assert.equal(parseCanary("10000"), 10000);
    assert.deepEqual(parseArgs(["up", "--canary", "2"]), { command: "up", glob: "*", parallel: 4, json: false, canary: 2 });
    assert.deepEqual(parseArgs(["--canary", "1", "up", "--shard", "1/2"]), {
      command: "up",
      glob: "*",
      parallel: 4,
      json: false,
      canary: 1,
      shard: { index: 1, count: 2 },
    });
  });

  for (const v of ["0", "-1", "1.5", "x", "2x", "10001", ""]) {
    it(`refuses --canary ${JSON.stringify(v)}`, () => {
      const message = `--canary (command line) = ${JSON.stringify(v)}: must be a whole number from 1 to 10000 (the Macs converged first)`;
      assert.throws(() => parseArgs(["up", "--canary", v]), { message });
    });
  }

  for (const command of ["preview", "refresh", "status", "drift"]) {
    it(`refuses --canary with ${command}`, () => {
      assert.throws(() => parseArgs([command, "--canary", "1"]), {
        message: `--canary (command line): only with up or upgrade (a rollout), not ${command}`,
      });
    });
  }

  it("refuses --canary without a value", () => {
    assert.throws(() => parseArgs(["up", "--canary"]), { message: "--canary (command line) needs a value" });
  });
});
