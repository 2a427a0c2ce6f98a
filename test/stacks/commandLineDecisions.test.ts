// The full-reset and restore decisions as the program reads them from the environment npm run reset and npm run restore set.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DECISION_VALID_MINUTES, readResetDecision, readRestoreDecision, readUpgradeDecision } from "../../stacks/commandLineDecisions";
import { ConfigError } from "../../stacks/config";

const now = new Date("2026-11-30T08:30:00Z");
/** The problems a decision reader refuses with ([] when it accepts). */
function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
const problems = (env: NodeJS.ProcessEnv) => problemsOf(() => readResetDecision(env, "default", "/Users/ops/backups/", now));

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
  // BACKUP_DIR_BASE as the program reaches it (hostPath), and a path on the Mac mapped there.
  const read = (env: NodeJS.ProcessEnv) => readRestoreDecision(env, "default", "/sim/Users/ops/backups/", (p) => `/sim${p}`, now);
  const refused = (env: NodeJS.ProcessEnv) => problemsOf(() => read(env));
  const id = "20261130T080000Z";

  it("no decision: no restore", () => assert.equal(read({}), undefined));

  it("a backup of this profile comes back; the current state goes aside under the decision's time", () => {
    for (const name of ["20261129T120000Z-default", "20261129T120000Z-default-before-restore"])
      assert.deepEqual(read({ COLIMA_PULSE_RESTORE: `/Users/ops/backups/${name}/`, COLIMA_PULSE_RESTORE_ID: id }), {
        id,
        from: `/sim/Users/ops/backups/${name}`,
        aside: `/sim/Users/ops/backups/${id}-default-before-restore`,
      });
  });

  it("refuses another profile's backup, a folder that is no backup, hostile paths, a reset in the same run", () => {
    const where = (v: string) => `COLIMA_PULSE_RESTORE (environment, set by npm run restore) = ${JSON.stringify(v)}`;
    for (const folder of ["/b/20261129T120000Z-work", "/b/not-a-backup", "/b/20261129T120000Z-default-x"])
      assert.match(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: id })[0] ?? "", /is not a backup of profile default/);
    for (const folder of [
      "relative/20261129T120000Z-default",
      "/b/../20261129T120000Z-default",
      "/Users/ops/backups/../backups/20261129T120000Z-default",
      "/Users/ops/backups/./20261129T120000Z-default",
      "/b/$(id)/20261129T120000Z-default",
    ])
      assert.deepEqual(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: id }), [
        `${where(folder)}: must be the absolute path of a backup folder directly in BACKUP_DIR_BASE (/sim/Users/ops/backups) (letters, digits and ._@+-, no '..')`,
      ]);
    // Anywhere but directly in BACKUP_DIR_BASE: a profile planted in /tmp, a folder within a backup.
    for (const folder of [
      "/tmp/evil/20261129T120000Z-default",
      "/Users/ops/backups/x/20261129T120000Z-default",
      "/Users/ops/20261129T120000Z-default",
    ])
      assert.deepEqual(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: id }), [
        `${where(folder)}: is not in BACKUP_DIR_BASE (/sim/Users/ops/backups): a restore takes only a backup folder directly in it, where a full reset, a restore or an upgrade made it; \`npm run fleet -- status\` lists them`,
      ]);
    assert.match(
      refused({
        COLIMA_PULSE_RESTORE: "/Users/ops/backups/20261129T120000Z-default",
        COLIMA_PULSE_RESTORE_ID: id,
        COLIMA_PULSE_FULL_RESET: "default",
      })[0] ?? "",
      /a run is a full reset or a restore, not both/,
    );
    assert.match(
      refused({ COLIMA_PULSE_RESTORE: "/Users/ops/backups/20261129T120000Z-default", COLIMA_PULSE_RESTORE_ID: "20261129T000000Z" })[0] ??
        "",
      /valid for 60 minutes/,
    );
  });
});

describe("a decision's id and age (every decision)", () => {
  const reset = (id: string) => problems({ COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: id });
  const stale = (id: string) => [
    `COLIMA_PULSE_RESET_ID (environment, set by npm run reset) = "${id}": a decision is valid for 60 minutes after it was made; run npm run reset again`,
  ];
  const malformed = (id: string) => [
    `COLIMA_PULSE_RESET_ID (environment, set by npm run reset) = "${id}": must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run reset)`,
  ];

  it("valid for exactly 60 minutes, and up to 5 minutes ahead of this clock", () => {
    assert.equal(DECISION_VALID_MINUTES, 60);
    // now is 2026-11-30T08:30:00Z
    for (const id of ["20261130T073000Z", "20261130T083000Z", "20261130T083459Z", "20261130T083500Z"]) assert.deepEqual(reset(id), [], id);
    for (const id of ["20261130T072959Z", "20261130T083501Z", "20261129T083000Z"]) assert.deepEqual(reset(id), stale(id), id);
  });

  it("the whole value is the time: nothing before or after it", () => {
    for (const id of ["x20261130T080000Z", "20261130T080000Zx", "20261130T080000", "2026-11-30T08:00:00Z", " 20261130T080000Z"])
      assert.deepEqual(reset(id), malformed(id), id);
  });

  it("the fields are read as year, month, day, hour, minute, second (UTC)", () => {
    // 2026-11-30T07:31:00Z is 59 minutes before now; a month or day off by one is days away.
    assert.deepEqual(reset("20261130T073100Z"), []);
    assert.deepEqual(reset("20261030T083000Z"), stale("20261030T083000Z"));
    assert.deepEqual(reset("20261129T083000Z"), stale("20261129T083000Z"));
    assert.deepEqual(reset("20261130T093000Z"), stale("20261130T093000Z"));
    assert.deepEqual(reset("20261130T083100Z"), []);
    assert.deepEqual(reset("20261130T083001Z"), []);
    assert.deepEqual(reset("20251130T083000Z"), stale("20251130T083000Z"));
  });
});

describe("readResetDecision: details", () => {
  it("an empty COLIMA_PULSE_FULL_RESET is no decision", () => {
    assert.equal(readResetDecision({ COLIMA_PULSE_FULL_RESET: "", COLIMA_PULSE_RESET_ID: "yesterday" }, "default", "/b", now), undefined);
  });

  it("the backup folder is inside BACKUP_DIR_BASE however many slashes end it", () => {
    const env = { COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: "20261130T080000Z", COLIMA_PULSE_BACKUP: "move" };
    assert.equal(readResetDecision(env, "default", "/Users/ops/backups///", now)?.folder, "/Users/ops/backups/20261130T080000Z-default");
  });

  it("the ConfigError lists every problem under one heading", () => {
    assert.throws(
      () => readResetDecision({ COLIMA_PULSE_FULL_RESET: "work" }, "default", "/b", now),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          "Invalid colima-pulse configuration (nothing was run):\n" +
            ' - COLIMA_PULSE_FULL_RESET (environment, set by npm run reset) = "work": names another profile than this stack\'s COLIMA_PROFILE (default)\n' +
            ' - COLIMA_PULSE_RESET_ID (environment, set by npm run reset) = "": must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run reset)',
    );
  });
});

describe("readUpgradeDecision", () => {
  const upgrade = (env: NodeJS.ProcessEnv): string[] | string | undefined => {
    try {
      return readUpgradeDecision(env, now);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };

  it("no decision, or an empty one: no upgrade", () => {
    assert.equal(upgrade({}), undefined);
    assert.equal(upgrade({ COLIMA_PULSE_UPGRADE_ID: "" }), undefined);
  });

  it("a decision of the last hour: its id", () => {
    assert.equal(upgrade({ COLIMA_PULSE_UPGRADE_ID: "20261130T080000Z" }), "20261130T080000Z");
  });

  it("a malformed or old id is refused, naming npm run upgrade", () => {
    assert.deepEqual(upgrade({ COLIMA_PULSE_UPGRADE_ID: "now" }), [
      'COLIMA_PULSE_UPGRADE_ID (environment, set by npm run upgrade) = "now": must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run upgrade)',
    ]);
    assert.deepEqual(upgrade({ COLIMA_PULSE_UPGRADE_ID: "20261130T060000Z" }), [
      'COLIMA_PULSE_UPGRADE_ID (environment, set by npm run upgrade) = "20261130T060000Z": a decision is valid for 60 minutes after it was made; run npm run upgrade again',
    ]);
  });
});

describe("readRestoreDecision: details", () => {
  const read = (env: NodeJS.ProcessEnv) => readRestoreDecision(env, "default", "/sim/Users/ops/backups//", (p) => `/sim${p}`, now);
  const refused = (env: NodeJS.ProcessEnv) => problemsOf(() => read(env));
  const where = (v: string) => `COLIMA_PULSE_RESTORE (environment, set by npm run restore) = ${JSON.stringify(v)}`;

  it("an empty COLIMA_PULSE_RESTORE is no decision", () => {
    assert.equal(read({ COLIMA_PULSE_RESTORE: "", COLIMA_PULSE_RESTORE_ID: "never" }), undefined);
  });

  it("the current state goes aside inside BACKUP_DIR_BASE however many slashes end it", () => {
    assert.equal(
      read({ COLIMA_PULSE_RESTORE: "/Users/ops/backups/20261129T120000Z-default", COLIMA_PULSE_RESTORE_ID: "20261130T080000Z" })?.aside,
      "/sim/Users/ops/backups/20261130T080000Z-default-before-restore",
    );
  });

  it("the exact words of each refusal", () => {
    const folder = "/b/20261129T120000Z-work";
    assert.deepEqual(refused({ COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: "soon", COLIMA_PULSE_FULL_RESET: "default" }), [
      `${where(folder)}: a run is a full reset or a restore, not both`,
      `${where(folder)}: is not a backup of profile default (this stack's COLIMA_PROFILE): colima-pulse names them <YYYYMMDDTHHMMSSZ>-default (a full reset), <YYYYMMDDTHHMMSSZ>-default-before-restore or <YYYYMMDDTHHMMSSZ>-default-before-upgrade; \`npm run fleet -- status\` lists them`,
      `${where(folder)}: is not in BACKUP_DIR_BASE (/sim/Users/ops/backups): a restore takes only a backup folder directly in it, where a full reset, a restore or an upgrade made it; \`npm run fleet -- status\` lists them`,
      'COLIMA_PULSE_RESTORE_ID (environment, set by npm run restore) = "soon": must be the UTC time of the decision as YYYYMMDDTHHMMSSZ (run npm run restore)',
    ]);
  });
});
