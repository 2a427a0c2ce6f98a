// `npm run fleet -- up --canary N` through the real engine: three simulated Macs behind a real
// OpenSSH server. The canary (a-canary, first by name) is out of reach (nothing listens on its
// port): its up fails, the rollout stops, the other two are never touched and the summary says so.
// Then the other two as a fleet of their own: the canary passes its gates and smoke test, and the
// last Mac converges after it. Last (status asks every Mac, which the first test must not have
// seen), `--shard i/n`: each shard's status has exactly its Macs, the shards together every Mac
// once, and a shard with none exits 0 saying so.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { inShard } from "../../fleet/shard";
import { closedPort } from "../helpers/closedPort";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["a-canary", "b-mac", "c-mac"] as const;
const PLIST = "/Library/LaunchDaemons/com.colima-pulse.colima.plist";

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

  it("--shard i/n: each shard drives exactly its Macs, every Mac in one shard; an empty shard exits 0", async () => {
    const seen: string[] = [];
    for (const index of [1, 2]) {
      const mine = inShard([...MACS], { index, count: 2 });
      const r = await fleet("status", "--shard", `${index}/2`, "--parallel", "3");
      const rows = r.stdout
        .split("\n")
        .slice(2)
        .map((l) => l.split(" ")[0] as string)
        .filter((m) => (MACS as readonly string[]).includes(m));
      assert.deepEqual(rows, mine, `shard ${index}/2\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`shard ${index}/2: ${mine.length} Macs? of the 3 selected: ${mine.join(", ")}`));
      // a-canary is out of reach: its shard's status says so in its exit code.
      assert.equal(r.code, mine.includes("a-canary") ? 1 : 0, r.stderr);
      seen.push(...rows);
    }
    assert.deepEqual(seen.sort(), [...MACS]);
    // Three Macs over three shards by name: shard 1 of 3 holds none of these names (fleet/shard.ts).
    assert.deepEqual(inShard([...MACS], { index: 1, count: 3 }), []);
    const empty = await fleet("status", "--shard", "1/3");
    assert.deepEqual({ code: empty.code, stdout: empty.stdout }, { code: 0, stdout: "" }, empty.stderr);
    // (after scripts/fleet.sh's own line naming the engine)
    assert.match(empty.stderr, /\nshard 1\/3: none of the 3 Macs selected falls in this shard; nothing to do\n$/);
    assert.doesNotMatch(empty.stderr, /a-canary|b-mac|c-mac/, "no Mac asked");
    const bad = await fleet("status", "--shard", "3/2");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /(^|\n)error: --shard \(command line\) = "3\/2": must be i\/n, whole numbers with 1 <= i <= n <= 1000 \(e\.g\. 2\/4\)/,
    );
  });
});
