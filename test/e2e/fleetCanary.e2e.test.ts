// `npm run fleet -- up --canary N` through the real engine: three simulated Macs behind a real
// OpenSSH server. The canary (a-canary, first by name) is out of reach (nothing listens on its
// port): its up fails, the rollout stops, the other two are never touched and the summary says so.
// Then the other two as a fleet of their own: the canary passes its gates and smoke test, and the
// last Mac converges after it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["a-canary", "b-mac", "c-mac"] as const;
const PLIST = "/Library/LaunchDaemons/com.colima-pulse.colima.plist";

/** A loopback port nothing listens on (taken, then let go). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("fleet up --canary: a failed canary stops the rollout; a passing one lets it go on", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let env: NodeJS.ProcessEnv;
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], env, 600_000);
  const row = (stdout: string, mac: string) => stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";

  before(async () => {
    const unreachable = await closedPort();
    fleetOf = await SshFleet.create(MACS, (mac): Record<string, string> => (mac === "a-canary" ? { SSH_PORT: String(unreachable) } : {}));
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    env = fleetOf.env;
  });
  after(async () => {
    await fleetOf?.dispose();
  });

  it("the canary fails: nothing more starts, the others are skipped, the summary names the canary, exit 1", async () => {
    const r = await fleet("up", "--canary", "1", "--parallel", "3");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /canaries first: a-canary; the other 2 only when every canary passed its gates and smoke test/);
    assert.match(row(r.stdout, "a-canary"), /^a-canary\s+FAILED\s+preview \(up not run\)\s+.*Connection refused/);
    for (const mac of ["b-mac", "c-mac"])
      assert.match(row(r.stdout, mac), new RegExp(`^${mac}\\s+skipped\\s+not started\\s+0\\.0s\\s+skipped \\(canary failed\\)$`));
    assert.match(r.stdout, /\nrollout stopped: canary a-canary failed; 2 Macs not started \(logs: .*\)\n$/);
    for (const mac of ["b-mac", "c-mac"]) {
      const sim = sims[mac] as MacSimulator;
      assert.equal(existsSync(sim.path(PLIST)), false, `${mac} has no LaunchDaemon`);
      // (but its own launchd, started when the simulated Mac booted)
      assert.deepEqual(
        sim.records().filter((e) => e.tool !== "launchd"),
        [],
        `nothing ran on ${mac}`,
      );
    }
  });

  it("the canary passes: the rest converges after it, exit 0", async () => {
    const r = await fleet("up", "--stacks", "?-mac", "--canary", "1", "--parallel", "3");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /canaries first: b-mac; the other 1 only when every canary passed/);
    assert.match(row(r.stdout, "b-mac"), /^b-mac\s+ok\s+up\s+/);
    assert.match(row(r.stdout, "c-mac"), /^c-mac\s+ok\s+up\s+/);
    assert.match(r.stdout, /\nall 2 Macs succeeded\n$/);
    // The canary had finished (its live line says so) before the other Mac's first line.
    const lines = r.stderr.split("\n");
    const canaryDone = lines.findIndex((l) => /^b-mac\s+ok: /.test(l));
    const otherFirst = lines.findIndex((l) => l.startsWith("c-mac "));
    assert.ok(canaryDone >= 0 && otherFirst > canaryDone, r.stderr);
    for (const mac of ["b-mac", "c-mac"]) {
      const sim = sims[mac] as MacSimulator;
      assert.ok(existsSync(sim.path(PLIST)), `${mac} has its LaunchDaemon`);
      assert.ok(dockerAnswers(sim.path("/Users/ops/.colima/default/docker.sock")), `${mac} runs Docker`);
    }
  });
});
