// test/services/services.sh's lock: a second command on a set is refused, naming the holder, also
// when it comes in the moment between the holder taking the lock and writing who it is.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { repoRoot } from "../helpers/pulumiStack";

describe("services.sh: one command at a time holds a set", () => {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-svc-"));
  let holder: ChildProcess | undefined;
  after(() => {
    holder?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("refused while the holder has the lock but has not said who it is yet: the refusal waits for its words", async () => {
    mkdirSync(dir, { recursive: true });
    // The holder: the set's lock taken (flock(1) on the same file), its words not written yet.
    holder = spawn("flock", [join(dir, "lock"), "sleep", "60"], { stdio: "ignore" });
    const taken = Date.now();
    while (spawnSync("flock", ["-n", join(dir, "lock"), "true"]).status === 0) {
      assert.ok(Date.now() - taken < 30_000, "the holder never took the lock");
    }
    const second = spawn("bash", [join(repoRoot, "test/services/services.sh"), "start"], {
      env: { ...process.env, COLIMA_PULSE_SERVICES_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    second.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const done = new Promise<number | null>((resolve) => second.on("close", resolve));
    // The holder says who it is only now, after the second command found the lock taken.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    writeFileSync(join(dir, "holder"), `pid ${holder.pid} (npm run converge), since 2026-12-07 16:00:00 UTC\n`);
    assert.equal(await done, 1, stderr);
    assert.match(
      stderr,
      new RegExp(
        `services: services.sh start refused: another command on this checkout holds its test services: pid ${holder.pid} \\(npm run converge\\), since 2026-12-07 16:00:00 UTC\\. Nothing was started or stopped\\. Wait for it to end, or stop it: kill ${holder.pid} `,
      ),
    );
  });
});
