// The local transport off a Mac: root `/` would be this machine itself, so macOf refuses it before
// any command runs (the program, providers working from state and fleet status all get a Mac there).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { macOf, NotAMacError, refuseHostRoot } from "../../../provider/lib/mac";

describe("refuseHostRoot: off a Mac, nothing targets this machine's /", () => {
  it("refuses / (and //) on Linux, naming why and the two ways that work", () => {
    for (const root of ["/", "//"]) {
      assert.throws(
        () => refuseHostRoot(root, "linux"),
        (e: Error) =>
          e instanceof NotAMacError &&
          e.message.startsWith(
            "this machine is not a Mac (linux), and the stack has no SSH_HOST: it would converge this machine's own /. Nothing was run.",
          ) &&
          e.message.includes("npm run demo") &&
          e.message.includes("pulumi config set SSH_HOST"),
      );
    }
  });
  it("allows a simulated Mac's root on Linux, and / on a Mac", () => {
    refuseHostRoot("/tmp/cpulse-mac-1", "linux");
    refuseHostRoot("/", "darwin");
  });
  it("macOf refuses a local / here, and takes / over SSH (a real Mac's root)", () => {
    if (process.platform === "darwin") return; // on a Mac, / is this Mac
    assert.throws(() => macOf({ root: "/", user: "ops" }), NotAMacError);
    assert.equal(macOf({ root: "/", user: "ops", ssh: { destination: "admin@mac-07.local" } }).local, false);
  });
});
