// fleet/redact.ts and the runner's guards, without a Mac: what counts as a secret's text, a secret
// split across output chunks, a log that cannot be written, the decision refusal.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lineRedactor, redactDeep, redactor, secretTexts } from "../../fleet/redact";
import { decisionRefusal, macLog, stripDecisions } from "../../fleet/runner";
import { DECISION_VARIABLES } from "../../stacks/commandLineDecisions";

describe("secretTexts and redactor", () => {
  it("a user@host is hidden whole, and its user and host apart, in any case", () => {
    const redact = redactor(secretTexts(["ops-7@Mac-Secret.example"]));
    assert.equal(redact("ssh ops-7@Mac-Secret.example: x"), "ssh [secret]: x");
    assert.equal(redact("connect to host mac-secret.example port 22"), "connect to host [secret] port 22");
    assert.equal(redact("login OPS-7 refused"), "login [secret] refused");
  });

  it("JSON leaves are hidden; numbers, switches and texts under 3 characters are not texts to find", () => {
    assert.deepEqual(secretTexts(['{"token":"abcdef","n":8080}', "22", "true", "ab"]), ['{"token":"abcdef","n":8080}', "abcdef"]);
  });

  it("regular-expression characters in a secret are taken literally", () => {
    assert.equal(redactor(secretTexts(["a.b*c"]))("a.b*c and aXbbc"), "[secret] and aXbbc");
  });

  it("redactDeep: every string of a row", () => {
    const redact = redactor(["s3cret"]);
    assert.deepEqual(redactDeep({ a: "x s3cret", b: [1, "S3CRET"], c: { d: null } }, redact), {
      a: "x [secret]",
      b: [1, "[secret]"],
      c: { d: null },
    });
  });

  it("lineRedactor: a secret split across chunks is still found; the rest comes out at the end", () => {
    let out = "";
    const lines = lineRedactor(
      () => redactor(["hidden-host"]),
      (t) => {
        out += t;
      },
    );
    lines.write("connect to hid");
    lines.write("den-host port 22\nlast hidden");
    lines.write("-host");
    assert.equal(out, "connect to [secret] port 22\n");
    lines.end();
    assert.equal(out, "connect to [secret] port 22\nlast [secret]");
  });
});

describe("macLog", () => {
  it("0600, appended; a failed write is kept, said once, and what follows is dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-maclog-"));
    try {
      const path = join(dir, "mac-1.log");
      writeFileSync(path, "before\n", { mode: 0o644 });
      const ok = macLog(path, () => assert.fail("no failure"));
      ok.write("one\n");
      ok.close();
      assert.equal(readFileSync(path, "utf8"), "before\none\n");
      assert.equal((statSync(path).mode & 0o777).toString(8), "600");

      const failures: string[] = [];
      const full = macLog("/dev/full", (why) => failures.push(why));
      full.write("x");
      full.write("y");
      full.close();
      assert.deepEqual(failures, ["its log /dev/full could not be written (ENOSPC: no space left on device, write)"]);
      assert.equal(full.failed, failures[0]);

      // never through a symbolic link (another's file, a device)
      symlinkSync("/etc/passwd", join(dir, "mac-2.log"));
      const linked = macLog(join(dir, "mac-2.log"), () => undefined);
      linked.write("x");
      assert.match(linked.failed ?? "", /could not be written \(ELOOP/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("decisions and the fleet", () => {
  it("refused, each variable named with its value and what to do; none: undefined", () => {
    assert.equal(decisionRefusal({ PATH: "/bin", COLIMA_PULSE_STACK: "mac-1" }), undefined);
    assert.equal(
      decisionRefusal({ COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: "20261207T120000Z" }),
      'COLIMA_PULSE_FULL_RESET (environment) = "default", COLIMA_PULSE_RESET_ID (environment) = "20261207T120000Z": a decision of npm run reset, restore or upgrade is one Mac\'s, and the fleet runs every Mac without asking; nothing was run.\n' +
        "Unset them (unset COLIMA_PULSE_FULL_RESET COLIMA_PULSE_RESET_ID), then run the fleet again; to reset, restore or upgrade a Mac, run npm run reset, restore or upgrade for that Mac's stack (COLIMA_PULSE_STACK=<stack>).",
    );
    // An empty one too: it is no decision, but it is no one's.
    assert.match(decisionRefusal({ COLIMA_PULSE_BACKUP: "" }) ?? "", /^COLIMA_PULSE_BACKUP \(environment\) = "": /);
  });

  it("stripDecisions takes every one out, and nothing else", () => {
    const env: NodeJS.ProcessEnv = { PATH: "/bin", ...Object.fromEntries(DECISION_VARIABLES.map((k) => [k, "x"])) };
    stripDecisions(env);
    assert.deepEqual(env, { PATH: "/bin" });
  });
});
