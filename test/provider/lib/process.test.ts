// The process layer against real processes: what a failure says, and when it is allowed; a
// timeout ends the command itself, also behind su and sudo, and nothing outlives the provider.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type CommandError, describeFailure, Output, run, tail } from "../../../provider/lib/process";
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

  it("keeps a stream as bytes: a character split between two chunks decodes whole, also in a kept tail", () => {
    const whole = new Output(1024);
    for (const chunk of [[0x61, 0xc3], [0xa9, 0xe2, 0x82], [0xac]]) assert.ok(whole.add(Buffer.from(chunk), false));
    assert.equal(whole.text(), "aé€");
    assert.equal(new Output(2).add(Buffer.from("abc"), false), false, "past the cap, not kept");
    const tailed = new Output(4);
    for (const chunk of ["ab", "é", "€"]) tailed.add(Buffer.from(chunk), true);
    // 7 bytes, the last 4 kept: 0xa9 (the end of é) is dropped too, leaving "€" whole.
    assert.equal(tailed.text(), "…[4 bytes before this dropped]\n€");
  });

  it("decodes a character split across two reads whole (output is decoded once, as bytes)", async () => {
    // "é" is 0xc3 0xa9: the first byte, a pause long enough for the provider to read it alone
    // (the shell waits for `sleep` to exit before it writes again), then the second.
    for (const stream of ["stdout", "stderr"] as const) {
      const redirect = stream === "stderr" ? " >&2" : "";
      const r = await run(["/bin/sh", "-c", `printf '\\303'${redirect}; sleep 0.2; printf '\\251t\\303\\251'${redirect}`], {
        exactOutput: true,
      });
      assert.equal(r[stream], "été", `${stream}: ${JSON.stringify(r[stream])}`);
    }
  });

  it("a command printing past the cap is stopped with an error naming it and the cap; the provider goes on", async () => {
    const marker = uniqueSleep();
    // 1 MiB of output, then a sleep that only the stop can end early.
    const argv = ["/bin/sh", "-c", `head -c 1048576 /dev/zero; exec sleep ${marker}`];
    const e = await run(argv, { maxOutputBytes: 64 * 1024, allowFailure: true, timeoutMs: 60_000 }).then(
      () => assert.fail("a command printing past the cap must fail"),
      (err: unknown) => err,
    );
    assert.ok(isCommandError(e), String(e));
    assert.equal(e.reason, "stopped: printed more than 64 KiB on stdout (the most colima-pulse keeps of one command's output)");
    assert.ok(e.message.startsWith(`${e.reason}: /bin/sh -c head -c 1048576`), e.message);
    assert.equal(e.timedOut, false);
    assert.deepEqual(await survivors(marker), [], "the command was ended, not left printing");
    // The same on stderr, and a command within the cap is untouched.
    const onStderr = await run(["/bin/sh", "-c", "head -c 1048576 /dev/zero >&2"], { maxOutputBytes: 64 * 1024 }).catch(
      (err: Error) => err,
    );
    assert.match(String((onStderr as Error).message), /^stopped: printed more than 64 KiB on stderr/);
    assert.equal(
      (await run(["/bin/sh", "-c", "head -c 65536 /dev/zero"], { maxOutputBytes: 64 * 1024, exactOutput: true })).stdout.length,
      65536,
    );
  });

  it("output that only feeds a message keeps its last bytes past the cap, and the command runs to its end", async () => {
    const r = await run(["/bin/sh", "-c", 'i=0; while [ $i -lt 3000 ]; do echo "line $i é"; i=$((i+1)); done; echo done'], {
      maxOutputBytes: 4096,
      output: "tail",
    });
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /^…\[\d+ KiB before this dropped\]\n|^…\[\d+ bytes before this dropped\]\n/);
    assert.match(r.stdout, /line 2999 é\ndone$/);
    assert.ok(Buffer.byteLength(r.stdout) < 4096 + 100, `${Buffer.byteLength(r.stdout)} bytes kept`);
    assert.doesNotMatch(r.stdout, /\ufffd/, "cut at a whole character");
  });
});
