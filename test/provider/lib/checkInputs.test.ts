// Every provider's `check` and `diff` go through provider/lib/checkInputs.ts: validation that
// reports every problem by property with the value given, values still unknown in a preview, the
// property-level diff and its lines for the operator, and the redaction of secret inputs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  changedKeys,
  checkInputs,
  describeChange,
  diffOf,
  hostSchema,
  inputChanges,
  NOT_YET_KNOWN,
  onlyReachChanged,
  type PropertyChange,
  REACH_ONLY,
  redact,
  say,
  shown,
  UNKNOWN,
  type Zod,
} from "../../../provider/lib/checkInputs";

const schema = (z: Zod) =>
  z.strictObject({
    name: z.string().regex(/^[a-z]+$/, "must be lower-case letters"),
    cpus: z.number().int().min(1, "must be at least 1"),
    nested: z.object({ port: z.number({ error: "must be a port number" }) }).optional(),
  });

describe("checkInputs", () => {
  it("the engine's placeholder for an unknown value is runtime/rpc.js unknownValue", () => {
    assert.equal(UNKNOWN, "04da6b54-80e4-46f7-96ec-b56ff0331ba9");
  });

  it("valid inputs come back parsed; the engine's __provider key and undefined values are dropped", async () => {
    assert.deepEqual(await checkInputs({ name: "web", cpus: 2, __provider: "urn:x", nested: undefined }, schema), {
      inputs: { name: "web", cpus: 2 },
    });
  });

  it("a value still unknown in a preview passes unvalidated and stays unknown", async () => {
    assert.deepEqual(await checkInputs({ name: UNKNOWN, cpus: 2 }, schema), { inputs: { cpus: 2, name: UNKNOWN } });
    // Unknown and required: still not reported missing.
    assert.deepEqual(await checkInputs({ name: "web", cpus: UNKNOWN, nested: UNKNOWN }, schema), {
      inputs: { name: "web", cpus: UNKNOWN, nested: UNKNOWN },
    });
  });

  it("an input of another name whose value is still unknown passes the preview; the check with its value decides", async () => {
    assert.deepEqual(await checkInputs({ name: "web", cpus: 1, cpu: UNKNOWN }, schema), { inputs: { name: "web", cpus: 1, cpu: UNKNOWN } });
  });

  it("reports every problem at once, by property path, with the value given", async () => {
    assert.deepEqual(await checkInputs({ name: "Web", cpus: 0, nested: { port: "22" } }, schema), {
      failures: [
        { property: "name", reason: 'must be lower-case letters (got "Web")' },
        { property: "cpus", reason: "must be at least 1 (got 0)" },
        { property: "nested.port", reason: 'must be a port number (got "22")' },
      ],
    });
  });

  it("a missing input is reported with (got undefined)", async () => {
    const r = await checkInputs({ name: "web" }, schema);
    assert.equal(r.failures?.length, 1);
    assert.equal(r.failures?.[0]?.property, "cpus");
    assert.match(r.failures?.[0]?.reason ?? "", /\(got undefined\)$/);
  });

  it("an input the schema does not know names the allowed ones (with secrets, which every resource takes)", async () => {
    assert.deepEqual(await checkInputs({ name: "web", cpus: 1, cpu: 1, extra: true }, schema), {
      failures: [
        { property: "cpu", reason: "is not a known input (allowed: name, cpus, nested, secrets)" },
        { property: "extra", reason: "is not a known input (allowed: name, cpus, nested, secrets)" },
      ],
    });
  });

  it("secrets must be a list of input names", async () => {
    assert.deepEqual(await checkInputs({ name: "web", cpus: 1, secrets: ["name", "cpus"] }, schema), {
      inputs: { name: "web", cpus: 1, secrets: ["name", "cpus"] },
    });
    assert.deepEqual(await checkInputs({ name: "web", cpus: 1, secrets: ["name", "a b"] }, schema), {
      failures: [{ property: "secrets.1", reason: 'must be input names (got "a b")' }],
    });
  });
});

describe("changedKeys", () => {
  it("names the keys whose values differ, compared as JSON", () => {
    const olds = { a: 1, b: { x: [1, 2] }, c: "s", d: undefined as string | undefined };
    const news = { a: 1, b: { x: [1, 3] }, c: "s", d: "now" };
    assert.deepEqual(changedKeys(olds, news, ["a", "b", "c", "d"]), ["b", "d"]);
    assert.deepEqual(changedKeys(olds, { ...olds }, ["a", "b", "c", "d"]), []);
  });
});

describe("describeChange", () => {
  it("an update shows old → new; a string as it is, anything else as JSON, nothing as (none)", () => {
    assert.equal(describeChange({ property: "cpus", kind: "update", old: 2, new: 4 }), "cpus: 2 → 4");
    assert.equal(describeChange({ property: "label", kind: "update-replace", old: "a.b", new: "c.d" }), "label: a.b → c.d");
    assert.equal(describeChange({ property: "env", kind: "update", old: { A: "1" }, new: ["x"] }), 'env: {"A":"1"} → ["x"]');
    assert.equal(describeChange({ property: "group", kind: "update", old: "", new: undefined }), "group: (none) → (none)");
  });

  it("an addition shows + new, a deletion - old, each with its effect in parentheses", () => {
    assert.equal(
      describeChange({ property: "versions.qemu", kind: "add", new: "9.2.0", why: "observed" }),
      "versions.qemu: + 9.2.0 (observed)",
    );
    assert.equal(describeChange({ property: "p", kind: "add-replace", new: "" }), "p: + (none)");
    assert.equal(describeChange({ property: "loaded", kind: "delete", old: true, why: "" }), "loaded: - true");
    assert.equal(describeChange({ property: "p", kind: "delete-replace", old: "x" }), "p: - x");
  });

  it("a hidden change says only that it changed", () => {
    assert.equal(
      describeChange({ property: "env", kind: "update", old: "s1", new: "s2", hidden: true, why: "the VM restarts" }),
      "env changed (the VM restarts)",
    );
  });
});

describe("diffOf", () => {
  const changes: PropertyChange[] = [
    { property: "cpus", kind: "update", old: 2, new: 4, why: "the VM restarts" },
    { property: "profile", kind: "update-replace", old: "a", new: "b" },
    { property: "versions.qemu", kind: "add", new: "9.2.0", inputDiff: false },
    { property: "label", kind: "delete-replace", old: "x.y" },
  ];

  it("the protocol's shape: changes, replacements, detail per property, a line each", () => {
    assert.deepEqual(diffOf(changes, true), {
      changes: true,
      replaces: ["profile", "label"],
      deleteBeforeReplace: true,
      detailedDiff: {
        cpus: { kind: "update", inputDiff: true },
        profile: { kind: "update-replace", inputDiff: true },
        "versions.qemu": { kind: "add", inputDiff: false },
        label: { kind: "delete-replace", inputDiff: true },
      },
      reasons: ["cpus: 2 → 4 (the VM restarts)", "profile: a → b", "versions.qemu: + 9.2.0", "label: - x.y"],
    });
  });

  it("no change: nothing to do", () => {
    assert.deepEqual(diffOf([], false), { changes: false, replaces: [], deleteBeforeReplace: false, detailedDiff: {}, reasons: [] });
  });

  it("a secret input's values are never printed, also under a nested path", () => {
    const d = diffOf(
      [
        { property: "host.user", kind: "update", old: "ops", new: "admin" },
        { property: "cpus", kind: "update", old: 2, new: 4 },
      ],
      false,
      ["host"],
    );
    assert.deepEqual(d.reasons, ["host.user changed", "cpus: 2 → 4"]);
  });
});

describe("inputChanges", () => {
  type In = { cpus: number; host: { root: string; user: string; ssh?: { destination: string } }; label: string };
  const olds: In = { cpus: 2, host: { root: "/", user: "ops" }, label: "a.b" };
  const why = (key: keyof In) => (key === "cpus" ? "the VM restarts" : undefined);

  it("each changed key, as an update with its effect, or as the kind asked for", () => {
    assert.deepEqual(inputChanges(olds, { ...olds, cpus: 4 }, ["cpus", "host", "label"], why), [
      { property: "cpus", kind: "update", old: 2, new: 4, why: "the VM restarts" },
    ]);
    assert.deepEqual(inputChanges(olds, { ...olds, label: "c.d" }, ["cpus", "label"], why, "update-replace"), [
      { property: "label", kind: "update-replace", old: "a.b", new: "c.d", why: undefined },
    ]);
    assert.deepEqual(inputChanges(olds, { ...olds, label: "c.d" }, ["cpus"], why), []);
  });

  it("a new way to reach the Mac only updates state: host.ssh, and nothing else of host", () => {
    const news: In = { ...olds, host: { ...olds.host, ssh: { destination: "mac-07" } } };
    assert.deepEqual(inputChanges(olds, news, ["host"], why, "update-replace"), [
      { property: "host.ssh", kind: "update", old: undefined, new: { destination: "mac-07" }, why: REACH_ONLY },
    ]);
    assert.equal(REACH_ONLY, "the Mac is reached another way: state records it, nothing on the Mac changes");
  });

  it("another Mac (root or user) is a change of host itself, beside its reach", () => {
    const news: In = { ...olds, host: { root: "/sim", user: "ops", ssh: { destination: "mac-07" } } };
    assert.deepEqual(inputChanges(olds, news, ["host"], why, "update-replace"), [
      { property: "host.ssh", kind: "update", old: undefined, new: { destination: "mac-07" }, why: REACH_ONLY },
      { property: "host", kind: "update-replace", old: olds.host, new: news.host, why: undefined },
    ]);
  });

  it("state without a host (or without any object) compares as a change of host", () => {
    const old = { cpus: 2 } as unknown as In;
    assert.deepEqual(inputChanges(old, olds, ["host"], why), [
      { property: "host", kind: "update", old: undefined, new: olds.host, why: undefined },
    ]);
  });

  it("only the host input has a way to reach the Mac: another input holding ssh is an ordinary change", () => {
    type Other = { target: { ssh: string } };
    assert.deepEqual(
      inputChanges<Other>({ target: { ssh: "a" } }, { target: { ssh: "b" } }, ["target"], () => "moves"),
      [{ property: "target", kind: "update", old: { ssh: "a" }, new: { ssh: "b" }, why: "moves" }],
    );
  });

  it("a value not known yet in a preview is an update, never a replacement", () => {
    assert.deepEqual(inputChanges(olds, { ...olds, label: UNKNOWN }, ["label"], why, "update-replace"), [
      { property: "label", kind: "update", old: "a.b", new: "(known once the resources it comes from have run)" },
    ]);
    assert.equal(NOT_YET_KNOWN, "known once the resources it comes from have run");
  });
});

describe("onlyReachChanged", () => {
  it("true only when host.ssh is all that changed", () => {
    assert.equal(onlyReachChanged({ detailedDiff: { "host.ssh": {} } }), true);
    assert.equal(onlyReachChanged({ detailedDiff: { "host.ssh": {}, cpus: {} } }), false);
    assert.equal(onlyReachChanged({ detailedDiff: {} }), false);
    assert.equal(onlyReachChanged({}), false);
  });
});

describe("hostSchema", () => {
  it("an absolute root without NUL or newline, a macOS user, an optional SSH target", async () => {
    const { z } = await import("zod");
    const s = hostSchema(z);
    assert.equal(s.safeParse({ root: "/", user: "ops" }).success, true);
    assert.equal(s.safeParse({ root: "/tmp/sim root", user: "ops", ssh: { destination: "ops@mac-07", port: 22 } }).success, true);
    for (const root of ["", "tmp/sim", " /tmp", "/tmp/a\nb", "/tmp/a\0b"]) {
      const r = s.safeParse({ root, user: "ops" });
      assert.equal(r.success, false, JSON.stringify(root));
      assert.equal(r.error?.issues[0]?.message, "must be an absolute path", JSON.stringify(root));
    }
    assert.equal(s.safeParse({ root: "/", user: "ops", extra: 1 }).success, false);
    assert.equal(s.safeParse({ root: "/", user: "ops", ssh: { destination: "mac", user: "x" } }).success, false);
    assert.equal(s.safeParse({ root: "/", user: "root" }).success, false);
  });
});

describe("redact, shown, say", () => {
  const inputs = {
    resourceName: "profile",
    secrets: ["host", "label"],
    host: { root: "/", user: "ops-admin", ssh: { destination: "ops-admin@mac-07.local", port: 22 } },
    label: "com.example.colima",
    profile: "work",
    cpus: 4,
  };

  it("hides the text of every secret input (nested too, longest first), and strings under 3 characters not at all", () => {
    assert.equal(
      redact(inputs, "ssh ops-admin@mac-07.local as ops-admin for com.example.colima (work) on /"),
      "ssh [secret] as [secret] for [secret] (work) on /",
    );
    assert.equal(redact({ resourceName: "r", secrets: ["a"], a: "ab" } as never, "ab cd"), "ab cd");
    assert.equal(redact({ resourceName: "r", secrets: ["a"], a: "abc" } as never, "abc cd abc"), "[secret] cd [secret]");
    assert.equal(redact({ resourceName: "r", secrets: ["a"], a: null } as never, "null"), "null");
    assert.equal(redact({ resourceName: "r" }, "ops"), "ops");
  });

  it("shown: a secret input's value as [secret], another as text", () => {
    assert.equal(shown(inputs, "label"), "[secret]");
    assert.equal(shown(inputs, "cpus"), "4");
    assert.equal(shown({ resourceName: "r", cpus: 2 }, "cpus"), "2");
  });

  it("say: one progress line, prefixed with the resource's name, secrets hidden", (t) => {
    const log = t.mock.method(console, "log", () => undefined);
    say(inputs, "booted out system/com.example.colima");
    assert.deepEqual(
      log.mock.calls.map((c) => c.arguments),
      [["[profile] booted out system/[secret]"]],
    );
  });
});
