// The Colima versions colima-pulse can drive (provider/lib/colimaVersion.ts): the minimum follows
// the flags it passes, and a refusal names the installed version, the minimum, the flag and the fix.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { colimaTooOld, minimumColima, NEEDED_FLAGS, olderVersion } from "../../../provider/lib/colimaVersion";
import { FLAG_SINCE } from "../../simulator/tools/colima";

describe("Colima's version against the flags colima-pulse passes", () => {
  it("compares versions by their numbers, not their text; `v` and Homebrew's `_1` revision ignored", () => {
    assert.equal(olderVersion("0.9.1", "0.10.0"), true);
    assert.equal(olderVersion("0.10.0", "0.9.1"), false);
    assert.equal(olderVersion("0.8.2", "0.8.2"), false);
    assert.equal(olderVersion("v0.8.1", "0.8.2"), true);
    assert.equal(olderVersion("0.9.0_1", "0.9.0"), false);
    assert.equal(olderVersion("0.9", "0.9.0"), false);
  });

  it("the minimum is 0.8.2 (start --cpus), 0.9.0 for a full reset (delete --data)", () => {
    assert.equal(minimumColima(false), "0.8.2");
    assert.equal(minimumColima(true), "0.9.0");
  });

  it("each flag's version is the one the simulated Colima refuses it before (FLAG_SINCE, pinned by the contract)", () => {
    assert.deepEqual(
      NEEDED_FLAGS.map((f) => [f.use, f.since]),
      Object.entries(FLAG_SINCE).flatMap(([command, flags]) =>
        Object.entries(flags).map(([flag, v]) => [`colima ${command} --${flag}`, v]),
      ),
    );
  });

  it("a refusal names the installed version, the minimum, the flag behind it and the fix; none when it is new enough or absent", () => {
    assert.equal(
      colimaTooOld("0.8.0", { reset: false, user: "ops" }),
      "Colima 0.8.0 is installed; colima-pulse needs 0.8.2 or later (it starts the VM with `colima start --cpus`, which Colima 0.8.2 introduced). Upgrade it: `npm run upgrade` (if it finds nothing newer, run `brew update` as ops first).",
    );
    assert.equal(
      colimaTooOld("0.8.4", { reset: true, user: "ops" }),
      "Colima 0.8.4 is installed; npm run reset needs 0.9.0 or later (it deletes the old profile with `colima delete --data`, which Colima 0.9.0 introduced). Upgrade it: `npm run upgrade` (if it finds nothing newer, run `brew update` as ops first), then the reset again.",
    );
    // 0.8.0 lacks both: a reset names the newest need, and its minimum.
    assert.match(colimaTooOld("0.8.0", { reset: true, user: "ops" }) ?? "", /npm run reset needs 0\.9\.0 or later .*delete --data/);
    assert.equal(colimaTooOld("0.8.4", { reset: false, user: "ops" }), undefined);
    assert.equal(colimaTooOld("0.10.3", { reset: true, user: "ops" }), undefined);
    assert.equal(colimaTooOld(undefined, { reset: true, user: "ops" }), undefined);
  });
});
