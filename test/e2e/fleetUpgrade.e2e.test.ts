// `npm run fleet -- upgrade [--canary N]` through the real engine: three simulated Macs behind a
// real OpenSSH server, converged by `fleet up`, then a newer lima in each one's Homebrew tap (as
// after `brew update`: test/e2e/upgrade.e2e.test.ts). The canary's Homebrew cannot download the
// new lima (the simulator's brewInstallFails): its upgrade fails, the rollout stops, the other two
// keep their versions with no Homebrew command run, exit 1, the summary names the canary. With the
// download back, `fleet upgrade --canary 1` upgrades the canary, then the other two after it, each
// through its gates and smoke test, without asking.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers, waitFor } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["a-mac", "b-mac", "c-mac"] as const;
const SOCKET = "/Users/ops/.colima/default/docker.sock";

describe("fleet upgrade: a canary rollout of each Mac's own upgrade", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let env: NodeJS.ProcessEnv;
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], env, 900_000);
  const row = (stdout: string, mac: string) => stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";
  const sim = (mac: string) => sims[mac] as MacSimulator;
  /** The `brew upgrade` commands that finished on `mac`, as [user, argv, exit]. */
  const upgrades = (mac: string) =>
    sim(mac)
      .records()
      .filter((e) => e.tool === "brew" && e.argv[0] === "upgrade" && e.exit !== undefined)
      .map((e) => [e.user, e.argv.join(" "), e.exit]);

  before(async () => {
    fleetOf = await SshFleet.create(MACS);
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    env = fleetOf.env;
    const up = await fleet("up", "--parallel", "3");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    for (const mac of MACS) {
      assert.equal(sim(mac).state().brew.lima, "1.2.1", `${mac} starts on lima 1.2.1`);
      sim(mac).publish("lima", "1.2.2");
    }
  });
  after(async () => {
    await fleetOf?.dispose();
  });

  it("the canary's upgrade fails: the rollout stops, the others untouched (versions, no brew run), the summary names it, exit 1", async () => {
    for (const mac of MACS) sim(mac).clearRecords();
    sim("a-mac").setFaults({ brewInstallFails: ["lima"] });
    try {
      // No --canary: an upgrade goes to one Mac first.
      const r = await fleet("upgrade", "--parallel", "3");
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stderr,
        /upgrade: --canary 1 unless given; canaries first: a-mac; the other 2 only when every canary passed its gates and smoke test/,
      );
      assert.match(row(r.stdout, "a-mac"), /^a-mac\s+FAILED\s+up\s+\d+\.\ds\s+exited with code 1 on \S+ \(over SSH\): /);
      const logDir = /logs in (\S+)/.exec(r.stderr)?.[1] as string;
      assert.match(readFileSync(`${logDir}/a-mac.log`, "utf8"), /Error: lima: Failed to download resource "lima--1\.2\.2"/);
      for (const mac of ["b-mac", "c-mac"])
        assert.match(row(r.stdout, mac), new RegExp(`^${mac}\\s+skipped\\s+not started\\s+0\\.0s\\s+skipped \\(canary failed\\)$`));
      assert.match(r.stdout, /\nrollout stopped: canary a-mac failed; 2 Macs not started \(logs: .*\)\n$/);
      assert.deepEqual(upgrades("a-mac"), [["ops", "upgrade lima", 1]], "the canary tried, and its download failed");
      assert.equal(sim("a-mac").state().brew.lima, "1.2.1", "the canary keeps its lima");
      for (const mac of ["b-mac", "c-mac"]) {
        assert.deepEqual(sim(mac).state().brew, { colima: "0.10.3", lima: "1.2.1", qemu: "10.1.0", docker: "28.2.2" }, mac);
        // (but its own launchd, running the LaunchDaemon since the fleet's up)
        assert.deepEqual(
          sim(mac)
            .records()
            .filter((e) => e.tool !== "launchd"),
          [],
          `nothing ran on ${mac}`,
        );
        assert.ok(dockerAnswers(sim(mac).path(SOCKET)), `${mac} still runs Docker`);
      }
    } finally {
      sim("a-mac").setFaults({});
    }
  });

  it("--canary 1 with the download back: the canary upgrades first, then the other two, each through its gates, exit 0", async () => {
    for (const mac of MACS) sim(mac).clearRecords();
    const r = await fleet("upgrade", "--canary", "1", "--parallel", "3");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /\ncanaries first: a-mac; the other 2 only when every canary passed its gates and smoke test\n/);
    for (const mac of MACS) {
      assert.match(row(r.stdout, mac), new RegExp(`^${mac}\\s+ok\\s+up\\s+`));
      assert.deepEqual(upgrades(mac), [["ops", "upgrade lima", 0]], `${mac} upgraded lima once, as ops`);
      assert.equal(sim(mac).state().brew.lima, "1.2.2", mac);
      await waitFor(`Docker on ${mac} under lima 1.2.2`, () => dockerAnswers(sim(mac).path(SOCKET)));
    }
    assert.match(r.stdout, /\nall 3 Macs succeeded\n$/);
    // The canary had finished (its live line says so) before either other Mac's first line.
    const lines = r.stderr.split("\n");
    const canaryDone = lines.findIndex((l) => /^a-mac\s+ok: /.test(l));
    const othersFirst = lines.findIndex((l) => /^[bc]-mac /.test(l));
    assert.ok(canaryDone >= 0 && othersFirst > canaryDone, r.stderr);
    // Each Mac's log: the preview said what Homebrew would upgrade, then the upgrade and the smoke test.
    const logDir = /logs in (\S+)/.exec(r.stderr)?.[1] as string;
    for (const mac of MACS) {
      const log = readFileSync(`${logDir}/${mac}.log`, "utf8");
      assert.match(
        log,
        /brew upgrade as ops: lima 1\.2\.1 -> 1\.2\.2 \(already current: colima 0\.10\.3, qemu 10\.1\.0, docker 28\.2\.2\)/,
      );
      assert.ok(log.indexOf("brew upgrade as ops: lima") < log.indexOf("== up ("), `${mac}: said in the preview, before the up`);
      assert.match(log, /\[colima-smoke\] ran .*output as expected/);
    }
  });
});
