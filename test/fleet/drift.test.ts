// fleet/drift.ts without a fleet: what a refresh preview's events say drifted, the text the table
// shows, and the exit code cron reads (the whole command through the engine: test/e2e/fleetDrift).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { changedProperties, driftExitCode, driftedBy, driftSummary, driftText, type MacDrift, reasonsIn } from "../../fleet/drift";

const URN = "urn:pulumi:mac-2::colima-pulse::colima-pulse:index:ColimaPulse$pulumi-nodejs:dynamic:Resource::colima-daemon";

/** A refresh step's outputs event as the engine sends it (old: the state, new: what read found). */
function outputs(op: string, old: object, now: object, type = "pulumi-nodejs:dynamic:Resource"): EngineEvent {
  const state = (outputs: object) => ({ type, urn: URN, id: "system/x", parent: "", inputs: {}, outputs, provider: "" });
  return {
    sequence: 1,
    timestamp: 0,
    resOutputsEvent: { metadata: { op, urn: URN, type, old: state(old), new: state(now), provider: "" }, planning: true },
  } as unknown as EngineEvent;
}

describe("driftedBy", () => {
  it("an update: the outputs the read reported other than the state, as dotted paths", () => {
    const e = outputs(
      "update",
      { loaded: true, filesHash: "a", versions: { qemu: "9.2.0", lima: "1.0" }, __provider: "code" },
      { loaded: false, filesHash: "b", versions: { qemu: "9.2.1", lima: "1.0" }, __provider: "other" },
    );
    assert.deepEqual(driftedBy(e), {
      resource: "Resource::colima-daemon",
      op: "update",
      properties: [
        { property: "filesHash", from: "a", to: "b" },
        { property: "loaded", from: true, to: false },
        { property: "versions.qemu", from: "9.2.0", to: "9.2.1" },
      ],
      reasons: [],
    });
  });

  it("a delete (gone from the Mac): no properties", () => {
    assert.deepEqual(driftedBy(outputs("delete", { loaded: true }, {})), {
      resource: "Resource::colima-daemon",
      op: "delete",
      properties: [],
      reasons: [],
    });
  });

  it("same, the stack's own resource, a provider, and other events: no drift", () => {
    assert.equal(driftedBy(outputs("same", { a: 1 }, { a: 1 })), undefined);
    assert.equal(driftedBy(outputs("update", { a: 1 }, { a: 2 }, "pulumi:pulumi:Stack")), undefined);
    assert.equal(driftedBy(outputs("update", { a: 1 }, { a: 2 }, "pulumi:providers:pulumi-nodejs")), undefined);
    assert.equal(
      driftedBy({ sequence: 1, timestamp: 0, diagnosticEvent: { message: "x", color: "never", severity: "info" } } as EngineEvent),
      undefined,
    );
  });

  it("a list is compared whole; a value that became an object is one change", () => {
    assert.deepEqual(changedProperties({ conflicts: [] }, { conflicts: ["gui/501/homebrew.mxcl.colima"] }), [
      { property: "conflicts", from: [], to: ["gui/501/homebrew.mxcl.colima"] },
    ]);
    assert.deepEqual(changedProperties({ a: "x" }, { a: { b: 1 } }), [{ property: "a", from: "x", to: { b: 1 } }]);
    assert.deepEqual(changedProperties({ a: 1 }, { a: 1 }), []);
  });
});

const mac = (stack: string, result: MacDrift["result"], extra: Partial<MacDrift> = {}): MacDrift => ({
  stack,
  result,
  resources: [],
  elapsedMs: 1000,
  log: `/l/${stack}.log`,
  ...extra,
});

describe("reasonsIn", () => {
  it("a provider's reasons, as its diff says them; anything else is none", () => {
    assert.deepEqual(reasonsIn("[colima-daemon] will converge: cpus: 2 → 3; loaded: false → true (system/x is not loaded)\n"), {
      name: "colima-daemon",
      reasons: ["cpus: 2 → 3", "loaded: false → true (system/x is not loaded)"],
    });
    assert.deepEqual(reasonsIn("[colima-health] will check again: trigger changed"), {
      name: "colima-health",
      reasons: ["trigger changed"],
    });
    assert.equal(reasonsIn("healthy: socket 3 ms"), undefined);
  });
});

describe("driftText", () => {
  it("short values shown, long ones named only", () => {
    const long = "x".repeat(64);
    assert.equal(
      driftText([
        {
          resource: "LaunchDaemon::colima-daemon",
          op: "update",
          properties: [
            { property: "filesHash", from: long, to: "b" },
            { property: "loaded", from: true, to: false },
          ],
          reasons: ["loaded: false → true (system/x is not loaded)"],
        },
        { resource: "HealthGate::colima-health", op: "delete", properties: [], reasons: [] },
      ]),
      "update LaunchDaemon::colima-daemon (filesHash, loaded: true → false): loaded: false → true (system/x is not loaded) | delete HealthGate::colima-health",
    );
    assert.equal(driftText([]), "none");
  });
});

describe("the exit code and the summary", () => {
  it("0: no drift on any Mac", () => {
    const rows = [mac("mac-1", "none"), mac("mac-2", "none")];
    assert.equal(driftExitCode(rows), 0);
    assert.equal(driftSummary(rows, "/l"), "no drift on any of the 2 Macs");
    assert.equal(driftSummary([mac("mac-1", "none")], "/l"), "no drift on the 1 Mac");
  });

  it("1: drift on some Mac, named", () => {
    const rows = [mac("mac-1", "none"), mac("mac-2", "drift"), mac("mac-3", "drift")];
    assert.equal(driftExitCode(rows), 1);
    assert.equal(driftSummary(rows, "/l"), "drift on 2 of 3: mac-2, mac-3 (to converge them back: npm run fleet -- refresh, then up)");
  });

  it("2: a Mac not checked, also when another drifted (the answer is not whole); both named", () => {
    const rows = [mac("mac-1", "unchecked", { error: "ssh: Connection refused" }), mac("mac-2", "drift")];
    assert.equal(driftExitCode(rows), 2);
    assert.equal(
      driftSummary(rows, "/l"),
      "drift on 1 of 2: mac-2 (to converge them back: npm run fleet -- refresh, then up); 1 of 2 could not be checked: mac-1 (logs: /l)",
    );
  });
});
