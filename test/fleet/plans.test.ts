// Saved plans (fleet/plans.ts): what differs between a plan's fingerprint and now, the files a save
// leaves and the refusals of a missing or foreign plan. The plans applied by the engine: the e2e
// test test/e2e/fleetBackend.e2e.test.ts.
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseArgs } from "../../fleet/cli";
import {
  differences,
  ensurePlansDir,
  type Fingerprint,
  forgetPlan,
  planFile,
  savedFingerprint,
  saveFingerprint,
  saveSummary,
} from "../../fleet/plans";

const base = mkdtempSync(join(tmpdir(), "cpulse-plans-test-"));
after(() => rmSync(base, { recursive: true, force: true }));

const print = (over: Partial<Fingerprint> = {}): Fingerprint => ({
  stack: "mac-a",
  savedAt: "2026-12-07T10:00:00.000Z",
  settings: { "colima-pulse:COLIMA_CPUS": "a1", "colima-pulse:LABEL": "b1" },
  state: {
    "urn:pulumi:mac-a::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic:Resource::mac-a-profile": "c1",
    "urn:pulumi:mac-a::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic:Resource::mac-a-daemon": "d1",
  },
  ...over,
});

describe("differences: what changed since the plan was made", () => {
  it("nothing: none", () => {
    assert.deepEqual(differences(print(), print({ savedAt: "later" })), []);
  });

  it("settings changed, added and removed, by key; resources by name; settings first", () => {
    const now = print({
      settings: { "colima-pulse:COLIMA_CPUS": "a2", "colima-pulse:BACKUP_KEEP": "e1" },
      state: {
        "urn:pulumi:mac-a::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic:Resource::mac-a-profile": "c2",
        "urn:pulumi:mac-a::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic:Resource::mac-a-daemon": "d1",
      },
    });
    assert.deepEqual(differences(print(), now), [
      "settings: colima-pulse:BACKUP_KEEP added, colima-pulse:COLIMA_CPUS changed, colima-pulse:LABEL removed",
      "state (an up, refresh or import ran since): mac-a-profile changed",
    ]);
  });
});

describe("the plans folder and its files", () => {
  it("a fingerprint saved is read back; 0600 in a 0700 folder; forgetPlan removes plan and fingerprint", () => {
    const dir = join(base, "saved");
    ensurePlansDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    writeFileSync(planFile(dir, "mac-a"), "{}");
    saveFingerprint(dir, print());
    assert.equal(statSync(join(dir, "mac-a.fingerprint.json")).mode & 0o777, 0o600);
    assert.deepEqual(savedFingerprint(dir, "mac-a"), print());
    forgetPlan(dir, "mac-a");
    assert.equal(existsSync(planFile(dir, "mac-a")), false);
    assert.equal(
      savedFingerprint(dir, "mac-a"),
      `no saved plan for mac-a in ${dir} (npm run fleet -- preview --save-plans ${dir} makes one)`,
    );
  });

  it("a fingerprint of another stack, or not one at all, is refused", () => {
    const dir = join(base, "foreign");
    ensurePlansDir(dir);
    writeFileSync(planFile(dir, "mac-b"), "{}");
    writeFileSync(join(dir, "mac-b.fingerprint.json"), JSON.stringify(print()));
    const refused = `${join(dir, "mac-b.fingerprint.json")} is not a plan's fingerprint written by npm run fleet -- preview --save-plans`;
    assert.equal(savedFingerprint(dir, "mac-b"), refused);
    writeFileSync(join(dir, "mac-b.fingerprint.json"), "not json");
    assert.equal(savedFingerprint(dir, "mac-b"), refused);
  });

  it("a folder others may write is refused before anything runs", () => {
    const dir = join(base, "shared");
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    assert.throws(
      () => ensurePlansDir(dir),
      new RegExp(`^Error: the plans folder ${dir} may be written by others \\(mode 0777\\): another user could put a plan of theirs there`),
    );
  });

  it("another user's folder is refused before anything runs", () => {
    const dir = join(base, "theirs");
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534); // nobody's
    assert.throws(() => ensurePlansDir(dir), new RegExp(`^Error: the plans folder ${dir} is owned by uid 65534, not by you \\(uid 0\\)`));
  });

  it("the summary: each Mac's changes, or that it has no plan, and the command that applies them", () => {
    const dir = join(base, "summary");
    ensurePlansDir(dir);
    saveSummary(
      dir,
      [
        { stack: "mac-a", ok: true, detail: "same 8, update 1" },
        { stack: "mac-b", ok: false, detail: "ssh: connect to host mac-b port 22: Connection refused" },
      ],
      new Date("2026-12-07T10:00:00Z"),
    );
    assert.equal(
      readFileSync(join(dir, "summary.txt"), "utf8"),
      `Plans saved 2026-12-07T10:00:00.000Z; apply exactly these with: npm run fleet -- up --plans ${dir}\nmac-a: same 8, update 1\nmac-b: NO PLAN (preview failed: ssh: connect to host mac-b port 22: Connection refused)\n`,
    );
    assert.equal(JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).macs.length, 2);
  });
});

describe("--save-plans and --plans on the command line", () => {
  it("each with its command only; --plans needs a folder that is there", () => {
    const there = join(base, "there");
    mkdirSync(there);
    assert.deepEqual(parseArgs(["preview", "--save-plans", join(base, "new")]), {
      command: "preview",
      glob: "*",
      parallel: 4,
      json: false,
      savePlans: join(base, "new"),
    });
    assert.equal((parseArgs(["up", "--plans", there]) as { plans: string }).plans, there);
    assert.throws(
      () => parseArgs(["up", "--save-plans", there]),
      /^Error: --save-plans \(command line\): only with preview \(it saves what the preview plans\), not up$/,
    );
    assert.throws(
      () => parseArgs(["preview", "--plans", there]),
      /^Error: --plans \(command line\): only with up \(it applies saved plans\), not preview$/,
    );
    assert.throws(
      () => parseArgs(["up", "--plans", join(base, "missing")]),
      /^Error: --plans \(command line\) = ".*missing": no such folder; make the plans first: npm run fleet -- preview --save-plans .*missing$/,
    );
  });
});
