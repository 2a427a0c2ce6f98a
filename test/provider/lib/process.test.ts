// The process layer against real processes: what a failure says, and when it is allowed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeFailure, run, tail } from "../../../provider/lib/process";

describe("run", () => {
  it("returns output of a command that exits 0", async () => {
    assert.deepEqual(await run(["sh", "-c", "printf out; printf err >&2"]), {
      argv: ["sh", "-c", "printf out; printf err >&2"],
      exitCode: 0,
      stdout: "out",
      stderr: "err",
    });
  });

  it("passes arguments as argv, untouched by any shell", async () => {
    const hostile = `$(touch /tmp/cpulse-pwned) "; rm -rf / #'\n`;
    assert.equal((await run(["printf", "%s", hostile])).stdout, hostile.replace(/\n$/, ""));
  });

  it("throws <reason>: <command> then stderr and stdout for a non-zero exit", async () => {
    await assert.rejects(run(["sh", "-c", "echo partial; echo boom >&2; exit 3"]), {
      message: "exited with code 3: sh -c echo partial; echo boom >&2; exit 3\nstderr: boom\nstdout: partial",
    });
  });

  it("returns a non-zero exit as a result when allowed", async () => {
    assert.equal((await run(["sh", "-c", "exit 4"], { allowFailure: true })).exitCode, 4);
  });

  it("never allows a timeout or a missing program", async () => {
    await assert.rejects(run(["sleep", "5"], { timeoutMs: 100, allowFailure: true }), { message: "timed out after 100 ms: sleep 5" });
    await assert.rejects(
      run(["/nonexistent/colima", "status"], { allowFailure: true }),
      /^Error: could not start \(ENOENT\): \/nonexistent\/colima status$/,
    );
  });

  it("keeps long output readable", () => {
    assert.equal(tail("x".repeat(10), 4), "…xxxx");
    assert.equal(describeFailure("exited with code 1", ["a", "b"], "", ""), "exited with code 1: a b");
  });
});
