// A fleet run stopped mid-way leaves no Mac's stack locked or with a pending operation. Two
// simulated Macs behind a real OpenSSH server; `npm run fleet -- up` gets SIGTERM (a CI job's
// timeout, a `kill`) once a Mac's `up` is in flight: each Mac's operation is cancelled as Ctrl-C
// cancels it (the step in flight finishes, the state is saved), the table says so, and the next
// run converges both.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["mac-1", "mac-2"] as const;

describe("a fleet run stopped by SIGTERM", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let env: NodeJS.ProcessEnv;

  before(async () => {
    fleetOf = await SshFleet.create(MACS);
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    env = fleetOf.env;
  });
  after(async () => {
    await fleetOf?.dispose();
  });

  it("every Mac in flight is cancelled cleanly: no lock, no pending operation; the next run converges", async () => {
    const child = spawn("bash", ["scripts/fleet.sh", "up", "--parallel", "2"], {
      cwd: stack.dir,
      env: { ...stack.environment(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    let sent = false;
    child.stderr.on("data", (d) => {
      stderr += d;
      // A Mac's `up` has a step in flight (the runner's line per change, not a terminal here).
      if (!sent && /^mac-\d\s+up\s+create /m.test(stderr)) {
        sent = true;
        child.kill("SIGTERM");
      }
    });
    const code = await new Promise<number | null>((done) => child.on("exit", (c) => done(c)));
    const said = `${stdout}\n${stderr.slice(-3000)}`;
    assert.ok(sent, said);
    assert.deepEqual(stack.locks(), [], said);
    for (const mac of MACS) {
      const exported = await stack.must(["stack", "export", "--stack", mac]);
      const pending = (JSON.parse(exported.stdout) as { deployment?: { pending_operations?: unknown[] } }).deployment?.pending_operations;
      assert.deepEqual(pending ?? [], [], `${mac}: ${JSON.stringify(pending)}\n${said}`);
    }
    assert.equal(code, 1, said);
    assert.match(stderr, /SIGTERM: cancelling every Mac in flight, starting no other/);
    for (const mac of MACS)
      assert.match(stdout, new RegExp(`^${mac}\\s+FAILED\\s+\\S+.*cancelled \\(the fleet run was stopped\\)`, "m"), said);

    const again = await stack.script(["scripts/fleet.sh", "up", "--parallel", "2"], env, 600_000);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    for (const mac of MACS)
      assert.ok(dockerAnswers(sims[mac]?.path("/Users/ops/.colima/default/docker.sock") as string), `${mac} runs Docker`);
  });
});
