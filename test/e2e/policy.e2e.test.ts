// The fleet's guardrails (policy/) through the real engine: `pulumi preview|up --policy-pack
// policy/analyzer` — the executable the engine starts as the pack (pulumi/pulumi
// pkg/resource/plugin/analyzer_plugin.go) — against a simulated Mac. A good stack converges with
// the pack passing; then the stack sets values the program accepts but the fleet forbids
// (API_HANG_SECONDS=0, LOG_ROTATE_COUNT=0), and the fleet raises its minimum qemu above what the
// simulated Homebrew has: each preview, and `npm run converge` (scripts/converge.sh), fails with
// the rule's message and nothing on the Mac or in the state changes. A rule the fleet made
// advisory warns and lets the run go on; a config.json that would turn a rule off stops the run
// naming the file and the key. The folder form of --policy-pack fails with this engine's Node.js
// host ("not supported"), which is why the pack is run as an executable. Last, `npm run fleet -- up`
// (fleet/runner.ts, the Automation API) over a real sshd: the Mac whose stack breaks a rule fails
// its preview with the rule's message and is never touched; the other converges.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CliResult } from "../helpers/pulumiStack";
import { dockerAnswers, LABEL, mutating, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";

const PLIST = `/Library/LaunchDaemons/${LABEL}.plist`;

describe("guardrails: the fleet's policy pack on every preview and up", { concurrency: false }, () => {
  let mac: SimulatedMac;
  let pack: string;
  let configFile: string;
  let fleetConfig: string;
  const out = (r: CliResult) => `${r.stdout}\n${r.stderr}`;
  const preview = () => mac.stack.cli(["preview", "--policy-pack", pack]);
  /** The stack's resources as the checkpoint has them (what "nothing changed" compares). */
  const resources = async () => JSON.stringify((await mac.stack.state()).resources);

  before(async () => {
    mac = await simulatedMac("e2e-policy");
    pack = join(mac.stack.dir, "policy/analyzer");
    configFile = join(mac.stack.dir, "policy/config.json");
    fleetConfig = readFileSync(configFile, "utf8");
  });
  after(async () => mac?.dispose());

  /** Sets `key`, runs `check` (a refused run), then removes it again. */
  async function refused(key: string, value: string, check: () => Promise<void>): Promise<void> {
    await mac.stack.must(["config", "set", key, value]);
    try {
      await check();
    } finally {
      await mac.stack.must(["config", "rm", key]);
    }
  }

  /** A run the pack refused: non-zero, the rule's message, and nothing changed on the Mac or in state. */
  async function assertRefused(run: () => Promise<CliResult>, rule: string, message: RegExp): Promise<CliResult> {
    const before = await resources();
    const plist = readFileSync(mac.sim.path(PLIST), "utf8");
    mac.sim.clearRecords();
    const r = await run();
    assert.notEqual(r.code, 0, out(r));
    assert.match(r.stdout, new RegExp(`- \\[mandatory\\]\\s+${rule}\\s`), out(r));
    assert.match(out(r), message);
    assert.deepEqual(mutating(mac.sim.records()), [], "nothing on the Mac changed");
    assert.equal(readFileSync(mac.sim.path(PLIST), "utf8"), plist, "the LaunchDaemon's plist is as it was");
    assert.equal(await resources(), before, "the state is as it was");
    return r;
  }

  it("a good stack converges with the pack, and its preview passes every rule", async () => {
    const up = await mac.stack.must(["up", "--yes", "--policy-pack", pack]);
    assert.match(up.stdout, /Policies:\n\s+✅ colima-pulse@v[\d.]+ \(local: .*policy\/analyzer\)/);
    const r = await preview();
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /✅ colima-pulse@v[\d.]+ \(local: .*policy\/analyzer\)/);
    assert.doesNotMatch(r.stdout, /\[(mandatory|advisory)\]/);
  });

  it("API_HANG_SECONDS=0 (accepted by the program) is refused: preview and npm run converge fail, nothing changed", async () => {
    await refused("API_HANG_SECONDS", "0", async () => {
      const message =
        /API_HANG_SECONDS = 0 \(the LaunchDaemon's apiHangSeconds, profile default\): the supervisor would never restart a VM .* set API_HANG_SECONDS from 10 to 86400 seconds where it is set \(stacks\/Pulumi\.e2e-policy\.yaml/;
      await assertRefused(preview, "api-hang-restart", message);
      const converge = await assertRefused(() => mac.stack.script(["scripts/converge.sh", "--yes"]), "api-hang-restart", message);
      assert.match(converge.stdout, /policy\/analyzer/, "converge.sh ran the pack");
    });
  });

  it("LOG_ROTATE_COUNT=0 (accepted by the program) is refused by log-rotation, nothing changed", async () => {
    await refused("LOG_ROTATE_COUNT", "0", async () => {
      await assertRefused(
        preview,
        "log-rotation",
        /the supervisor's log "[^"]*\/var\/log\/colima-pulse\/colima\.log" \(profile default\) has no newsyslog rule: LOG_ROTATE_COUNT = 0 turns rotation off/,
      );
    });
  });

  it("a fleet minimum above the installed qemu stops the run, naming the version, the minimum and where it is set", async () => {
    try {
      writeFileSync(configFile, JSON.stringify({ "minimum-versions": { qemu: "11.0.0" } }));
      await assertRefused(
        preview,
        "minimum-versions",
        /qemu 10\.1\.0 under \S+ \(profile default\) is older than the fleet's minimum 11\.0\.0 \(policy\/config\.json "minimum-versions"\."qemu"\): `npm run upgrade` upgrades it/,
      );
    } finally {
      writeFileSync(configFile, fleetConfig);
    }
  });

  it("a rule the fleet made advisory warns and lets the run go on", async () => {
    try {
      writeFileSync(configFile, JSON.stringify({ "api-hang-restart": { enforcementLevel: "advisory" } }));
      await refused("API_HANG_SECONDS", "0", async () => {
        const r = await preview();
        assert.equal(r.code, 0, out(r));
        assert.match(r.stdout, /- \[advisory\]\s+api-hang-restart\s/);
      });
    } finally {
      writeFileSync(configFile, fleetConfig);
    }
  });

  it("a config.json that turns a rule off stops the run, naming the file, the key and what is allowed", async () => {
    try {
      writeFileSync(configFile, JSON.stringify({ "log-rotation": { enforcementLevel: "disabled" } }));
      const before = await resources();
      const r = await preview();
      assert.notEqual(r.code, 0, out(r));
      assert.match(
        out(r),
        /Invalid guardrail settings in \S*policy\/config\.json \(nothing was run\):\n\s+- log-rotation\.enforcementLevel = "disabled": must be mandatory or advisory; a guardrail cannot be turned off/,
      );
      assert.equal(await resources(), before);
    } finally {
      writeFileSync(configFile, fleetConfig);
    }
  });

  it("the folder form of --policy-pack is what this engine's Node.js host cannot run", async () => {
    const r = await mac.stack.cli(["preview", "--policy-pack", join(mac.stack.dir, "policy")]);
    assert.notEqual(r.code, 0);
    assert.match(out(r), /policy pack "[^"]*\/policy" failed to start: could not read plugin \[[^\]]*\/policy\]: not supported/);
  });
});

describe("guardrails in the fleet: npm run fleet -- up runs the pack on every Mac", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  const row = (stdout: string, mac: string) => stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";

  before(async () => {
    fleetOf = await SshFleet.create(
      ["a-good", "b-refused"],
      (mac): Record<string, string> => (mac === "b-refused" ? { API_HANG_SECONDS: "0" } : {}),
    );
  });
  after(async () => fleetOf?.dispose());

  it("the Mac breaking a rule fails its preview with the rule's message and is not touched; the other converges", async () => {
    const r = await fleetOf.stack.script(["scripts/fleet.sh", "up", "--parallel", "2"], fleetOf.env, 600_000);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    console.log(`fleet up's summary:\n${r.stdout}`);
    assert.match(row(r.stdout, "a-good"), /^a-good\s+ok\s+up\s+/);
    // The row says which rule stopped it (fleet/runner.ts onEvent: policy/packs.ts mandatoryViolation).
    assert.match(
      row(r.stdout, "b-refused"),
      /^b-refused\s+FAILED\s+preview \(up not run\)\s+\S+\s+policy api-hang-restart: .*API_HANG_SECONDS = 0/,
    );
    const log = /\(logs: (\S+?)\)/.exec(r.stdout)?.[1];
    const refusedLog = readFileSync(join(log ?? "", "b-refused.log"), "utf8");
    assert.match(refusedLog, /\[mandatory\]\s+api-hang-restart\s/);
    assert.match(refusedLog, /API_HANG_SECONDS = 0 \(the LaunchDaemon's apiHangSeconds, profile default\)/);
    const refused = fleetOf.sims["b-refused"];
    assert.ok(refused);
    assert.equal(existsSync(refused.path(PLIST)), false, "b-refused has no LaunchDaemon");
    assert.deepEqual(mutating(refused.records()), [], "nothing ran on b-refused");
    const good = fleetOf.sims["a-good"];
    assert.ok(good && dockerAnswers(good.path("/Users/ops/.colima/default/docker.sock")));
  });
});
