// The process layer against real processes: what a failure says, and when it is allowed; a
// timeout ends the command itself, also behind su and sudo, and nothing outlives the provider.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type CommandError, describeFailure, run, tail } from "../../../provider/lib/process";
import { MacSimulator } from "../../simulator/simulator";

/** A `sleep` no other test (or worktree on this machine) runs: `sleep 30.<random>`. */
const uniqueSleep = () => `30.${Math.random().toString().slice(2, 10)}`;

/** Live (not zombie) processes whose command line contains `marker`, after up to 1 s to die. */
async function survivors(marker: string): Promise<string[]> {
  let live: string[] = [];
  for (let i = 0; i < 10; i++) {
    live = execFileSync("/bin/ps", ["-A", "-o", "pid=,stat=,args="], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(marker) && !/^\s*\d+\s+Z/.test(l));
    if (live.length === 0) return live;
    await new Promise((r) => setTimeout(r, 100));
  }
  return live;
}

const isCommandError = (e: unknown): e is CommandError => e instanceof Error && e.name === "CommandError";

/** Runs argv with a 1 s timeout and returns the CommandError it must end with. */
async function timeoutOf(argv: string[]): Promise<CommandError> {
  // Each command given here runs far longer by itself: only the deadline can end it as a failure.
  const e = await run(argv, { timeoutMs: 1000 }).then(
    () => assert.fail("the command should have timed out"),
    (err: unknown) => err,
  );
  assert.ok(isCommandError(e), String(e));
  return e;
}

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
      /^CommandError: could not start \(ENOENT\): \/nonexistent\/colima status$/,
    );
  });

  it("carries a failure's fields: exit code, output tails, no signal", async () => {
    const e = await run(["sh", "-c", "echo partial; echo boom >&2; exit 3"]).catch((err: unknown) => err);
    assert.ok(isCommandError(e));
    assert.deepEqual(
      {
        reason: e.reason,
        argv: e.argv,
        exitCode: e.exitCode,
        signal: e.signal,
        timedOut: e.timedOut,
        out: e.stdoutTail,
        err: e.stderrTail,
      },
      {
        reason: "exited with code 3",
        argv: ["sh", "-c", "echo partial; echo boom >&2; exit 3"],
        exitCode: 3,
        signal: null,
        timedOut: false,
        out: "partial",
        err: "boom",
      },
    );
    const missing = await run(["/nonexistent/colima"]).catch((err: unknown) => err);
    assert.ok(isCommandError(missing) && missing.exitCode === null && !missing.timedOut);
  });

  it("ends a command behind su at its timeout: su, its shell and the sleep", async () => {
    // util-linux su -c runs the shell in a session of its own (setsid), out of su's process group.
    const nap = uniqueSleep();
    const argv = ["/usr/bin/su", "-s", "/bin/sh", "nobody", "-c", `sleep ${nap}; echo never`];
    const e = await timeoutOf(argv);
    assert.deepEqual(
      { reason: e.reason, argv: e.argv, exitCode: e.exitCode, signal: e.signal, timedOut: e.timedOut },
      { reason: "timed out after 1000 ms", argv, exitCode: null, signal: "SIGKILL", timedOut: true },
    );
    assert.equal(e.message, `timed out after 1000 ms: ${argv.join(" ")}`);
    assert.deepEqual(await survivors(`sleep ${nap}`), []);
  });

  it("ends a grandchild that left the process group and ignores its parent's death", async () => {
    const nap = uniqueSleep();
    await timeoutOf(["sh", "-c", `setsid sh -c 'trap "" HUP TERM INT; sleep ${nap}' & wait`]);
    assert.deepEqual(await survivors(`sleep ${nap}`), []);
  });

  it("ends a command behind the simulated Mac's sudo and su (macOS su: the shell's own process group)", async () => {
    const sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock" });
    try {
      // The simulated tools know their user from SIM_USER: the provider runs as root here.
      const env = { SIM_USER: "root" };
      for (const [tool, template] of [
        ["sudo", [sim.path("/usr/bin/sudo"), "-n", "-u", "ops", "-H", "/bin/sh", "-c", "sleep NAP; echo never"]],
        ["su", [sim.path("/usr/bin/su"), "-", "ops", "-c", "sleep NAP; echo never"]],
      ] as const) {
        const nap = uniqueSleep();
        const e = await run(
          template.map((a) => a.replace("NAP", nap)),
          { timeoutMs: 1000, env },
        ).catch((err: unknown) => err);
        assert.ok(isCommandError(e) && e.timedOut, `${tool}: ${String(e)}`);
        assert.deepEqual(await survivors(`sleep ${nap}`), [], tool);
      }
    } finally {
      await sim.dispose();
    }
  });

  it("ends the commands still running when the provider process is ended (SIGTERM, SIGINT)", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const nap = uniqueSleep();
      const script = `require(${JSON.stringify(join(__dirname, "../../../provider/lib/process.ts"))}).run(["sleep", "${nap}"]).catch(() => {}); setTimeout(() => {}, 60000);`;
      const provider = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: "ignore" });
      for (let i = 0; i < 100 && (await survivors(`sleep ${nap}`)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await survivors(`sleep ${nap}`)).length, 1, "the command started");
      provider.kill(signal);
      await new Promise((r) => provider.once("exit", r));
      assert.deepEqual(await survivors(`sleep ${nap}`), [], signal);
    }
  });

  it("keeps long output readable", () => {
    assert.equal(tail("x".repeat(10), 4), "…xxxx");
    assert.equal(describeFailure("exited with code 1", ["a", "b"], "", ""), "exited with code 1: a b");
  });
});
