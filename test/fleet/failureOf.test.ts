// The reason a Mac's run failed, as its row says it (fleet/runner.ts failureOf): the last error
// Pulumi reported, without the engine's own framing, and not the "none were seen" errors an
// `up --plan` adds for every resource after a failed step.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { failureOf } from "../../fleet/runner";

const unseen = (r: string) =>
  `expected resource operations for urn:pulumi:a-mac::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic/colima-pulse:${r}::colima-${r} but none were seen`;

describe("failureOf", () => {
  it("the failed step's error, not the plan's resources left unseen after it", () => {
    assert.equal(
      failureOf(
        [
          'exited with code 1 on a-mac (over SSH): brew upgrade lima: Failed to download resource "lima--1.2.2"',
          unseen("LogRotation"),
          unseen("SmokeContainer"),
          "update failed",
        ],
        undefined,
      ),
      'exited with code 1 on a-mac (over SSH): brew upgrade lima: Failed to download resource "lima--1.2.2"',
    );
  });

  it("a plan's unseen resource when that is all there is (the program changed since the plan)", () => {
    assert.equal(failureOf([unseen("LogRotation")], undefined), unseen("LogRotation"));
  });

  it("the thrown error when Pulumi reported none, without `error: ` and the program's framing", () => {
    assert.equal(
      failureOf([], new Error("error: Running program '/x' failed with an unhandled exception:\nthe setting is wrong\n    at f (x.ts:1)")),
      "the setting is wrong",
    );
  });
});
