// The fleet's output never shows a secret setting. A Mac's SSH_HOST set with
// `pulumi config set --secret` is out of reach: ssh says the host in its error, without the user
// and lowercased (OpenSSH ssh.c lowercases the host name before resolving it), where the engine's
// verbatim masking cannot see it. Every fleet output is checked through the real engine and the
// real ssh: `fleet status` (table and --json), `fleet preview` (the runner's live lines, its table,
// its summary and the Mac's log) and the doctor (report and --json).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestStack } from "../helpers/pulumiStack";

/** Unresolvable (RFC 6761 reserves .invalid), in mixed case: ssh prints it lowercased. */
const SECRET_HOST = "Mac-Secret-7F3A.invalid";
const SECRET = `secret-ops@${SECRET_HOST}`;

/** The secret or any part ssh may print of it, in any case. */
function leaks(text: string): string[] {
  return [SECRET, SECRET_HOST, "secret-ops"].filter((s) => text.toLowerCase().includes(s.toLowerCase()));
}

describe("fleet output with a secret SSH_HOST that cannot be reached", { concurrency: false }, () => {
  let stack: TestStack;
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], {}, 300_000);

  before(async () => {
    stack = await TestStack.create("mac-secret", { HOMEBREW_USER: "ops" });
    await stack.must(["config", "set", "--secret", "SSH_HOST", SECRET]);
  });
  after(async () => {
    stack?.forget();
  });

  it("status: neither the table nor --json shows it, yet both say why the Mac is out of reach", async () => {
    const table = await fleet("status");
    assert.equal(table.code, 1, `${table.stdout}\n${table.stderr}`);
    const row = table.stdout.split("\n").find((l) => l.startsWith("mac-secret ")) ?? "";
    assert.match(row, /^mac-secret\s+no: ssh: Could not resolve hostname \[secret\]/, table.stdout);
    assert.deepEqual(leaks(table.stdout + table.stderr), [], table.stdout);

    const json = await fleet("status", "--json");
    assert.equal(json.code, 1, json.stderr);
    const [mac] = JSON.parse(json.stdout) as [{ reachable: string }];
    assert.match(mac.reachable, /^no: ssh: Could not resolve hostname \[secret\]/);
    assert.deepEqual(leaks(json.stdout + json.stderr), [], json.stdout);
  });

  it("preview: the live lines, the table, the summary and the Mac's log", async () => {
    const r = await fleet("preview");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^mac-secret\s+FAILED\s+preview\s+/m);
    assert.deepEqual(leaks(r.stdout + r.stderr), [], `${r.stdout}\n${r.stderr}`);
    const logs = /logs: (\S+)\)/.exec(r.stdout)?.[1] as string;
    const log = readFileSync(join(logs, readdirSync(logs)[0] as string), "utf8");
    assert.match(log, /== FAILED \(preview\)/);
    assert.deepEqual(leaks(log), [], log);
  });

  it("doctor: the report and --json", async () => {
    for (const json of [[], ["--json"]]) {
      const r = await new Promise<{ code: number; out: string }>((done) =>
        execFile(
          "node",
          ["--import", "tsx", "fleet/doctor.ts", "--stack", "mac-secret", ...json],
          { cwd: stack.dir, env: stack.environment() },
          (e, stdout, stderr) => done({ code: e ? Number(e.code) : 0, out: stdout + stderr }),
        ),
      );
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /Could not resolve hostname \[secret\]/);
      assert.deepEqual(leaks(r.out), [], r.out);
    }
  });
});
