// The whole lifecycle through the real engine, on a simulated Mac whose VM exposes the real test
// dockerd: a fresh Mac converges; a second up changes and restarts nothing; refresh finds no
// drift. Asserts on the simulator's record, the files written (plist parsed by Python's
// plistlib), Docker's own answers and the engine's output and state.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { dockerAnswers, LABEL, mutating, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

describe("ColimaPulse on a simulated Mac, through the real engine", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const sim = () => mac.sim;
  const stack = () => mac.stack;

  before(async () => {
    mac = await simulatedMac("e2e-mac", { COLIMA_CPUS: "2", COLIMA_MEMORY: "2" });
  });
  after(async () => {
    await mac?.dispose();
  });

  it("1. a fresh Mac: packages as the Homebrew user, a QEMU profile, the LaunchDaemon, every gate, the smoke image", async () => {
    const r = await stack().must(["up", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /\+ 9 created/);
    const records = sim().records();
    const installs = records.filter((e) => e.tool === "brew" && e.argv[0] === "install" && e.exit !== undefined);
    assert.deepEqual(
      installs.map((e) => [e.user, e.exit, e.argv.slice(1).sort().join(" ")]),
      [["ops", 0, "colima docker lima qemu"]],
    );
    assert.ok(
      records.some(
        (e) =>
          e.tool === "colima" && e.argv.join(" ").startsWith("start --profile default --runtime docker --vm-type qemu") && e.user === "ops",
      ),
      "provisioned with --vm-type qemu as ops",
    );
    const plist = sim().path(`/Library/LaunchDaemons/${LABEL}.plist`);
    const st = statSync(plist);
    assert.deepEqual([st.uid, st.gid, (st.mode & 0o777).toString(8)], [0, 0, "644"]);
    // What launchd runs as the user, and the folders around it: root's, and writable by root only.
    for (const [path, mode] of [
      [`/Library/Application Support/colima-pulse/${LABEL}.sh`, "755"],
      ["/Library/Application Support/colima-pulse", "755"],
      ["/var/log/colima-pulse", "755"],
    ]) {
      const s = statSync(sim().path(path as string));
      assert.deepEqual([path, s.uid, s.gid, (s.mode & 0o777).toString(8)], [path, 0, 0, mode]);
    }
    const parsed = JSON.parse(
      execFileSync("python3", ["-c", "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))", plist], {
        encoding: "utf8",
      }),
    ) as Record<string, unknown>;
    assert.equal(parsed.Label, LABEL);
    assert.equal(parsed.UserName, "ops");
    assert.deepEqual(parsed.KeepAlive, { SuccessfulExit: false });
    assert.equal(parsed.RunAtLoad, true);
    assert.equal(parsed.ExitTimeOut, 120);
    assert.equal(typeof parsed.ThrottleInterval, "number");
    const printed = await sim().run([sim().path("/bin/launchctl"), "print", `system/${LABEL}`]);
    assert.match(printed.stdout, /\tstate = running\n/);
    const outs = (await stack().cli(["stack", "output", "--json"])).stdout;
    const o = JSON.parse(outs) as Record<string, unknown>;
    assert.equal(o.driver, "QEMU");
    assert.equal(o.dockerHost, `unix://${sim().path("/Users/ops/.colima/default/docker.sock")}`);
    assert.match(String(o.smokeImageDigest), /@sha256:[a-f0-9]{64}$/);
    assert.equal(o.fileVault, "Off");
    assert.ok(dockerAnswers(sim().path("/Users/ops/.colima/default/docker.sock")));
    const vm = sim()
      .processes()
      .filter((p) => /qemu-system-aarch64 .*-name lima-colima/.test(p.command));
    assert.equal(vm.length, 1, "exactly one VM");
    console.log(`gate timings: ${JSON.stringify(o.gateTimings)}`);
    // This run's measurement, and the same numbers as the last one, with when it was taken.
    const timings = o.gateTimings as Record<string, number>;
    assert.deepEqual(Object.keys(timings).sort(), ["api", "qemu", "socket", "stable"]);
    for (const ms of Object.values(timings)) assert.ok(Number.isInteger(ms) && ms >= 0, JSON.stringify(timings));
    const last = o.lastGateTimings as Record<string, unknown>;
    assert.deepEqual({ ...last, measuredAt: undefined }, { ...timings, measuredAt: undefined });
    assert.ok(Date.now() - Date.parse(String(last.measuredAt)) < 10 * 60_000, `measuredAt ${last.measuredAt}`);
  });

  it("2. a second up changes nothing and restarts nothing; refresh finds no drift", async () => {
    sim().clearRecords();
    const before = JSON.parse((await stack().cli(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    const r = await stack().must(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
    assert.match(r.stdout, /9 unchanged/);
    // The gates did not run: the output says so, and keeps the last measurement with its time.
    const o = JSON.parse((await stack().cli(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    const at = (before.lastGateTimings as { measuredAt: string }).measuredAt;
    assert.equal(o.gateTimings, `not run in this update: nothing they prove changed (lastGateTimings is their last run, ${at})`);
    assert.deepEqual(o.lastGateTimings, before.lastGateTimings);
    assert.doesNotMatch(r.stdout, /healthy: socket/, "no gate line: none ran");
    const drift = await stack().cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(drift.code, 0, drift.stdout + drift.stderr);
    assert.deepEqual(mutating(sim().records()), []);
  });

  it("an installer in containers/ runs against the profile's socket, again when its files change; its secrets stay encrypted", async () => {
    const dir = join(stack().dir, "containers/demo");
    const marker = join(stack().dir, "demo-ran.log");
    mkdirSync(dir, { recursive: true });
    const script = (v: string) =>
      `#!/bin/sh\nset -e\ndocker run --rm "$IMAGE" >> ${JSON.stringify(marker)}\necho "v${v} token-length=\${#TOKEN}" >> ${JSON.stringify(marker)}\n`;
    writeFileSync(join(dir, "install.sh"), script("1"));
    await stack().must(["config", "set", "--path", "installerEnv.demo.IMAGE", testServices().smokeImage]);
    await stack().must(["config", "set", "--secret", "--path", "installerEnv.demo.TOKEN", "s3cr3t-installer-token"]);
    const first = await stack().must(["up", "--yes", "--skip-preview"]);
    assert.match(readFileSync(marker, "utf8"), /Hello from Docker![\s\S]*v1 token-length=22/);
    const same = await stack().must(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
    writeFileSync(join(dir, "install.sh"), script("2"));
    const second = await stack().must(["up", "--yes", "--skip-preview"]);
    assert.match(readFileSync(marker, "utf8"), /v2 token-length=22/);
    assert.equal((readFileSync(marker, "utf8").match(/token-length/g) ?? []).length, 2, "ran once per change, not on the no-change up");
    const state = (await stack().cli(["stack", "export"])).stdout;
    const commands = JSON.stringify(sim().records()); // every argv run on the Mac, sudo's included
    for (const text of [state, commands, first.stdout, first.stderr, same.stdout, second.stdout, second.stderr]) {
      assert.doesNotMatch(text, /s3cr3t-installer-token/);
    }
    assert.match(state, /"installerEnv"|"ciphertext"/);
  });
});
