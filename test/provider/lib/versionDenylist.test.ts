// VERSION_DENYLIST's reading: the setting's `formula@version` list, and a Homebrew revision of a
// denied release (`8.1.0_1`) is that release.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deniedVersions, isDenied } from "../../../provider/lib/versionDenylist";

describe("VERSION_DENYLIST", () => {
  it("reads formula@version, comma-separated, spaces around commas", () => {
    assert.deepEqual(deniedVersions("qemu@8.1.0, lima@1.0.0"), [
      ["qemu", "8.1.0"],
      ["lima", "1.0.0"],
    ]);
    assert.deepEqual(deniedVersions(undefined), []);
    assert.deepEqual(deniedVersions(""), []);
  });

  it("denies the version and its Homebrew revisions, not another formula's or a neighbour", () => {
    const denied = deniedVersions("qemu@8.1.0");
    assert.equal(isDenied(denied, "qemu", "8.1.0"), true);
    assert.equal(isDenied(denied, "qemu", "8.1.0_1"), true);
    assert.equal(isDenied(denied, "qemu", "8.1.1"), false);
    assert.equal(isDenied(denied, "qemu", "8.1.00"), false);
    assert.equal(isDenied(denied, "lima", "8.1.0"), false);
  });
});
