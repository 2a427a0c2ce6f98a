// provider/lib/launchd.ts explainBootstrapFailure on the simulated Mac, whose stat is macOS's (BSD's,
// apple-oss-distributions/file_cmds stat/stat.c: `-f format`; GNU's `-c` is `illegal option -- c`):
// the plist's owner and mode are read with the one form a Mac has, and each cause is named.
import assert from "node:assert/strict";
import { chmodSync, chownSync, writeFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { explainBootstrapFailure } from "../../../provider/lib/launchd";
import { macOf } from "../../../provider/lib/mac";
import { MacSimulator } from "../../simulator/simulator";

describe("explainBootstrapFailure reads the plist with macOS's stat", () => {
  let sim: MacSimulator;
  const label = "com.colima-pulse.explain";
  let plist: string;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock" });
    process.env.SIM_USER = "ops";
    plist = sim.path(`/Library/LaunchDaemons/${label}.plist`);
  });
  after(async () => {
    await sim?.dispose();
  });
  beforeEach(() => {
    writeFileSync(plist, "<plist/>\n");
    sim.clearRecords();
  });

  /** Every `stat` the provider ran: BSD's `-f` form only, each answered (exit 0). */
  const statsRun = () => sim.records().filter((e) => e.tool === "stat");

  for (const [what, uid, mode, expected] of [
    ["group-writable", 0, 0o664, /has bad ownership\/permissions \(owner uid 0, mode 664\)/],
    ["owned by a user", 501, 0o644, /has bad ownership\/permissions \(owner uid 501, mode 644\)/],
    ["root:wheel 0644", 0, 0o644, /^no visible cause: /],
  ] as const) {
    it(`a plist ${what}: ${expected.source}`, async () => {
      chownSync(plist, uid, 0);
      chmodSync(plist, mode);
      const why = await explainBootstrapFailure(macOf({ root: sim.root, user: "ops" }), label, plist);
      assert.match(why, expected);
      assert.deepEqual(
        statsRun().map((e) => [e.argv, e.exit]),
        [[["-f", "%u %Lp", plist], 0]],
        "one stat, macOS's form, answered",
      );
    });
  }
});
