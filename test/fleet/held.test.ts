// A stack another run holds (fleet/runner.ts heldBy): recognised from Pulumi's own refusal, its
// holders named once each, and the run's last line (fleet/cli.ts summaryLine) saying so. Through
// the engine and a shared backend: test/e2e/fleetBackend.e2e.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { summaryLine } from "../../fleet/cli";
import { heldBy, type MacResult } from "../../fleet/runner";

// As the Automation API's CommandError quotes `pulumi up`'s stderr (pkg/backend/diy/lock.go checkForLock).
const LOCKED =
  "code: 255\n stdout: \n stderr: error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
  "  postgres://****:****@db:5432/fleet/.pulumi/locks/organization/colima-pulse/mac-a/5e1b.json: created by ci@runner-2 (pid 4242) at 2026-12-07T15:14:22Z\n" +
  "\nerr?: Error: the stack is currently locked by 1 lock(s).\n  postgres://****:****@db:5432/fleet/.pulumi/locks/organization/colima-pulse/mac-a/5e1b.json: created by ci@runner-2 (pid 4242) at 2026-12-07T15:14:22Z";

describe("heldBy: the stack is another run's", () => {
  it("Pulumi's lock refusal names each holder once", () => {
    assert.equal(heldBy(new Error(LOCKED)), "ci@runner-2 (pid 4242) since 2026-12-07T15:14:22Z");
  });

  it("two holders; a lock without a holder line; Pulumi Cloud's conflict", () => {
    const two = `${LOCKED}\n  file:///x/.pulumi/locks/a.json: created by op@laptop (pid 7) at 2026-12-07T15:15:00Z`;
    assert.equal(heldBy(new Error(two)), "ci@runner-2 (pid 4242) since 2026-12-07T15:14:22Z, op@laptop (pid 7) since 2026-12-07T15:15:00Z");
    assert.equal(heldBy(new Error("error: the stack is currently locked by 1 lock(s).")), "another process (its lock names no holder)");
    assert.equal(
      heldBy(new Error("[409] Conflict: Another update is currently in progress.")),
      "another update in progress (Pulumi Cloud)",
    );
  });

  it("any other failure is not a hold", () => {
    for (const other of ["ssh: connect to host mac-a port 22: Connection refused", "error: the stack is locked down by policy", ""])
      assert.equal(heldBy(new Error(other)), undefined, other);
  });
});

describe("summaryLine with stacks held by another run", () => {
  const result = (stack: string, ok: boolean, skipped?: string): MacResult => ({
    stack,
    ok,
    stage: "up",
    detail: "",
    elapsedMs: 0,
    log: "",
    ...(skipped ? { skipped } : {}),
  });
  it("held apart from failed; the old line when none is held", () => {
    assert.equal(
      summaryLine([result("a", true), result("b", false, "held by ci@runner-2 (pid 4242) since T"), result("c", false)], "/logs"),
      "1 of 3 Macs failed: c; 1 of 3 Macs held by another run, not run here: b (held by ci@runner-2 (pid 4242) since T) (logs: /logs)",
    );
    assert.equal(summaryLine([result("a", true), result("c", false)], "/logs"), "1 of 2 Macs failed: c (logs: /logs)");
    assert.equal(summaryLine([result("a", true), result("c", false, "canary failed")], "/logs"), "1 of 2 Macs failed: c (logs: /logs)");
  });
});
