// The full-reset and restore decisions as the program reads them from the environment npm run reset and npm run restore set.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readResetDecision, readRestoreDecision } from "../../stacks/commandLineDecisions";
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

describe("readRestoreDecision", () => {
  const read = (env: NodeJS.ProcessEnv) => readRestoreDecision(env, "default", "/Users/ops/backups/", (p) => `/sim${p}`, now);
  const refused = (env: NodeJS.ProcessEnv): string[] => {
    try {
      read(env);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };
  const id = "20261130T080000Z";

  it("no decision: no restore", () => assert.equal(read({}), undefined));

  it("a backup of this profile comes back; the current state goes aside under the decision's time", () => {
    for (const name of ["20261129T120000Z-default", "20261129T120000Z-default-before-restore"])
      assert.deepEqual(read({ COLIMA_PULSE_RESTORE: `/Users/ops/backups/${name}/`, COLIMA_PULSE_RESTORE_ID: id }), {
        id,
        from: `/sim/Users/ops/backups/${name}`,
        aside: `/Users/ops/backups/${id}-default-before-restore`,
      });
  });

  it("refuses another profile's backup, a folder that is no backup, hostile paths, a reset in the same run", () => {
    const where = (v: string) => `COLIMA_PULSE_RESTORE (environment, set by npm run restore) = ${JSON.stringify(v)}`;
    for (const folder of ["/b/20261129T120000Z-work", "/b/not-a-backup", "/b/20261129T120000Z-default-x"])
      assert.match(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: id })[0] ?? "", /is not a backup of profile default/);
    for (const folder of ["relative/20261129T120000Z-default", "/b/../20261129T120000Z-default", "/b/$(id)/20261129T120000Z-default"])
      assert.deepEqual(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: id }), [
        `${where(folder)}: must be the absolute path of a backup folder (letters, digits and ._@+-, no '..')`,
      ]);
    assert.match(
      refused({
        COLIMA_PULSE_RESTORE: "/b/20261129T120000Z-default",
        COLIMA_PULSE_RESTORE_ID: id,
        COLIMA_PULSE_FULL_RESET: "default",
      })[0] ?? "",
      /a run is a full reset or a restore, not both/,
    );
    assert.match(
      refused({ COLIMA_PULSE_RESTORE: "/b/20261129T120000Z-default", COLIMA_PULSE_RESTORE_ID: "20261129T000000Z" })[0] ?? "",
      /valid for 60 minutes/,
    );
  });
});
