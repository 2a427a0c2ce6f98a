// The full-reset decision as the program reads it from the environment npm run reset sets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readResetDecision } from "../../stacks/commandLineDecisions";
import { ConfigError } from "../../stacks/config";

const now = new Date("2026-11-30T08:30:00Z");
const problems = (env: NodeJS.ProcessEnv): string[] => {
  try {
    readResetDecision(env, "default", "/Users/ops/backups/", now);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe("readResetDecision", () => {
  it("no decision in the environment: no reset", () => {
    assert.equal(readResetDecision({}, "default", "/b", now), undefined);
  });

  it("a decision names its backup folder after its time and the profile", () => {
    const env = { COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: "20261130T080000Z" };
    assert.deepEqual(readResetDecision(env, "default", "/Users/ops/backups/", now), {
      id: "20261130T080000Z",
      backup: "move",
      folder: "/Users/ops/backups/20261130T080000Z-default",
    });
    assert.deepEqual(readResetDecision({ ...env, COLIMA_PULSE_BACKUP: "false" }, "default", "/b", now), {
      id: "20261130T080000Z",
      backup: "false",
      folder: "",
    });
  });

  it("every malformed part is named, with where it came from", () => {
    assert.deepEqual(problems({ COLIMA_PULSE_FULL_RESET: "work", COLIMA_PULSE_BACKUP: "prompt", COLIMA_PULSE_RESET_ID: "yesterday" }), [
      'COLIMA_PULSE_FULL_RESET (environment, set by npm run reset) = "work": names another profile than this stack\'s COLIMA_PROFILE (default)',
      'COLIMA_PULSE_BACKUP (environment, set by npm run reset) = "prompt": must be move or false',
      'COLIMA_PULSE_RESET_ID (environment, set by npm run reset) = "yesterday": must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run reset)',
    ]);
  });

  it("a decision older than an hour (or from the future) is refused", () => {
    for (const id of ["20261130T072959Z", "20261130T084000Z"]) {
      assert.match(
        problems({ COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: id })[0] ?? "",
        /a decision is valid for 60 minutes/,
      );
    }
    assert.deepEqual(problems({ COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: "20261130T073001Z" }), []);
  });
});
