// The test helper for decision ids: the product accepts each, and each is a new decision.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readUpgradeDecision } from "../../stacks/commandLineDecisions";
import { decisionIds, nextDecisionId } from "./decisionId";

/** The product's verdict on `id` at `now` (stacks/commandLineDecisions.ts): the id, or its problem. */
const accepted = (id: string, now: Date) => {
  try {
    return readUpgradeDecision({ COLIMA_PULSE_UPGRADE_ID: id }, now);
  } catch (e) {
    return (e as Error).message;
  }
};

describe("decision ids for tests", () => {
  it("within one second: the next seconds, each accepted by the product", () => {
    const next = decisionIds();
    const now = new Date("2026-11-30T07:59:59.900Z");
    const ids = [next(now), next(now), next(now)];
    assert.deepEqual(ids, ["20261130T075959Z", "20261130T080000Z", "20261130T080001Z"]);
    for (const id of ids) assert.equal(accepted(id, now), id);
  });

  it("once the clock has passed the last id, the clock's second again", () => {
    const next = decisionIds();
    next(new Date("2026-11-30T08:00:00.000Z"));
    next(new Date("2026-11-30T08:00:00.000Z"));
    assert.equal(next(new Date("2026-11-30T08:00:07.250Z")), "20261130T080007Z");
  });

  it("never more than 5 minutes ahead of the clock, which the product would refuse", () => {
    const next = decisionIds();
    const now = new Date("2026-11-30T08:00:00.000Z");
    const ids = Array.from({ length: 301 }, () => next(now));
    assert.equal(ids.at(-1), "20261130T080500Z");
    assert.equal(accepted(ids.at(-1) as string, now), ids.at(-1));
    assert.throws(() => next(now), /^Error: a decision id 301s ahead of the clock: the product accepts at most 5 minutes$/);
    assert.match(accepted("20261130T080501Z", now) ?? "", /a decision is valid for 60 minutes after it was made/);
  });

  it("this process's ids: valid on the real clock, and strictly increasing", () => {
    const a = nextDecisionId();
    const b = nextDecisionId();
    assert.ok(b > a, `${b} after ${a}`);
    for (const id of [a, b]) assert.equal(accepted(id, new Date()), id);
  });
});
