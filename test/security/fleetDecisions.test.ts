// A decision is one Mac's. Two simulated Macs behind a real OpenSSH server, converged as a fleet;
// then the decision variables of `npm run reset` (COLIMA_PULSE_FULL_RESET, _BACKUP, _RESET_ID, and
// the stack they name) left in the operator's environment: `npm run fleet -- up`, which never
// asks, refuses to start and names each variable; the runner, driven with them in its own
// environment anyway, passes none on. A decision made for one stack, used on another with
// `pulumi up`, is refused by the program. Each time, every Mac's state is where it was: the
// marker in its VM's folder, no backup (but an upgrade's clone). Last, `fleet upgrade`, the one decision the fleet
// makes itself: each Mac's own, bound to its stack and given to its workspace alone (fleet/upgrade.ts):
// `--stacks mac-a` upgrades mac-a and nothing runs on mac-b; both Macs in one run each upgrade
// (the program refuses a decision bound to another stack, above); and the runner handed mac-a's
// decision for mac-b does not open mac-b.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { runFleet } from "../../fleet/runner";
import { upgradeDecisions } from "../../fleet/upgrade";
import { decisionFor, nextDecisionId } from "../helpers/decisionId";
import type { TestStack } from "../helpers/pulumiStack";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["mac-a", "mac-b"] as const;
const VERSIONS = { colima: "0.10.3", lima: "1.2.1", qemu: "10.1.0", docker: "28.2.2" };
const MARKER = "/Users/ops/.colima/_lima/colima/marker-from-before";
const BACKUPS = "/Users/ops/colima-pulse-backups";

/** What `npm run reset -- --backup=false` hands its one `pulumi up` (scripts/decide.ts), made now. */
const resetDecision = (stack?: string): Record<string, string> => ({
  COLIMA_PULSE_FULL_RESET: "default",
  COLIMA_PULSE_BACKUP: "false",
  COLIMA_PULSE_RESET_ID: nextDecisionId(),
  ...(stack ? decisionFor(stack) : {}),
});

describe("decisions bound to one stack: the fleet refuses them, and a stack refuses another's", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let roots: string;
  const fleet = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    stack.script(["scripts/fleet.sh", ...args], { COLIMA_PULSE_FLEET_HOST_ROOTS: roots, ...env }, 600_000);
  /** Each Mac's state is as it was: its VM's folder holds the marker, and nothing was backed up. */
  const intact = (why: string) => {
    for (const mac of MACS) {
      const sim = sims[mac] as MacSimulator;
      assert.equal(existsSync(sim.path(MARKER)) && readFileSync(sim.path(MARKER), "utf8"), "the VM's data", `${mac}: ${why}`);
      // An upgrade's clone (<id>-<profile>-before-upgrade: provider/lib/upgradeClone.ts) is no reset's backup.
      const backups = existsSync(sim.path(BACKUPS)) ? readdirSync(sim.path(BACKUPS)) : [];
      assert.deepEqual(
        backups.filter((n) => !n.endsWith("-before-upgrade")),
        [],
        `${mac}: no backup but an upgrade's clone (${why})`,
      );
    }
  };

  /** A marker in each Mac's VM folder: there after a run that reset nothing. */
  const mark = () => {
    for (const mac of MACS) writeFileSync(sims[mac]?.path(MARKER) as string, "the VM's data");
  };

  before(async () => {
    fleetOf = await SshFleet.create(MACS);
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    roots = fleetOf.env.COLIMA_PULSE_FLEET_HOST_ROOTS as string;
    const up = await fleet({}, "up", "--parallel", "2");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    mark();
  });
  after(async () => {
    await fleetOf?.dispose();
  });

  it("fleet up with a reset decision in the environment: refused before any Mac is reached, each variable named", async () => {
    for (const env of [
      resetDecision(),
      resetDecision("mac-a"),
      { COLIMA_PULSE_BACKUP: "false" },
      { COLIMA_PULSE_UPGRADE_ID: nextDecisionId() },
    ]) {
      const r = await fleet(env, "up", "--parallel", "2");
      intact(`fleet up with ${Object.keys(env).join(", ")}`);
      assert.equal(r.code, 2, `${JSON.stringify(env)}\n${r.stdout}\n${r.stderr}`);
      for (const key of Object.keys(env))
        assert.match(r.stderr, new RegExp(`${key} \\(environment\\) = "${env[key as keyof typeof env]}"`));
      assert.match(
        r.stderr,
        /a decision of npm run reset, restore or upgrade is one Mac's, and the fleet runs every Mac without asking; nothing was run/,
      );
      assert.match(r.stderr, /run npm run reset, restore or upgrade for that Mac's stack/);
      assert.doesNotMatch(r.stderr, /fleet up: \d+ Macs/, "no Mac was started");
    }
  });

  it("the runner driven with a decision in its own environment passes it to no stack", async () => {
    mark();
    const saved = { ...process.env };
    Object.assign(process.env, stack.environment(), resetDecision("mac-a"));
    try {
      const results = await runFleet("up", {
        workDir: stack.dir,
        stacks: [...MACS],
        parallel: 2,
        logDir: `${stack.dir}/.state/fleet/in-process`,
        envOf: (mac) => ({ COLIMA_PULSE_HOST_ROOT: sims[mac]?.root as string }),
        display: { draw() {}, end() {} },
      });
      assert.deepEqual(
        results.map((r) => [r.stack, r.ok]),
        MACS.map((m) => [m, true]),
        JSON.stringify(results),
      );
      intact("the runner with a decision in its environment");
      assert.equal(process.env.COLIMA_PULSE_FULL_RESET, undefined, "taken out of the runner's environment");
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    intact("the runner with a decision in its environment");
  });

  it("a decision made for mac-a, used on mac-b (or naming no stack): refused by the program, nothing changes", async () => {
    mark();
    const onB = { COLIMA_PULSE_HOST_ROOT: sims["mac-b"]?.root };
    const other = await stack.cli(["up", "--yes", "--skip-preview", "--stack", "mac-b"], 300_000, { ...onB, ...resetDecision("mac-a") });
    intact("a decision for another stack");
    assert.notEqual(other.code, 0, other.stdout);
    assert.match(
      other.stdout + other.stderr,
      /COLIMA_PULSE_DECISION_STACK \(environment\) = "colima-pulse\/mac-a": the decision \(COLIMA_PULSE_FULL_RESET="default", COLIMA_PULSE_BACKUP="false", COLIMA_PULSE_RESET_ID="\d{8}T\d{6}Z"\) was made for stack colima-pulse\/mac-a, and this run is stack colima-pulse\/mac-b/,
    );
    const none = await stack.cli(["up", "--yes", "--skip-preview", "--stack", "mac-b"], 300_000, { ...onB, ...resetDecision() });
    assert.notEqual(none.code, 0, none.stdout);
    assert.match(
      none.stdout + none.stderr,
      /COLIMA_PULSE_DECISION_STACK \(environment\) is not set: the decision \(.*\) names no stack, and this run is stack colima-pulse\/mac-b/,
    );
    intact("a decision for another stack");
  });
  /** The `brew` commands that finished on `mac`, as [user, argv, exit]; and whether anything else
   *  but its own launchd (which runs the LaunchDaemon) ran there. */
  const brewRan = (mac: string) =>
    (sims[mac] as MacSimulator)
      .records()
      .filter((e) => e.tool === "brew" && e.exit !== undefined)
      .map((e) => [e.user, e.argv.join(" "), e.exit]);
  const anythingRan = (mac: string) => (sims[mac] as MacSimulator).records().filter((e) => e.tool !== "launchd");

  it("fleet upgrade --stacks mac-a: mac-a's decision upgrades mac-a; nothing runs on mac-b, its versions unchanged", async () => {
    mark();
    for (const mac of MACS) {
      sims[mac]?.publish("lima", "1.2.2");
      sims[mac]?.clearRecords();
    }
    // The operator's own decision in the environment is refused for upgrade as for up: the fleet makes its own.
    const refused = await fleet({ COLIMA_PULSE_UPGRADE_ID: nextDecisionId(), ...decisionFor("mac-b") }, "upgrade", "--stacks", "mac-a");
    assert.equal(refused.code, 2, `${refused.stdout}\n${refused.stderr}`);
    assert.match(
      refused.stderr,
      /COLIMA_PULSE_UPGRADE_ID \(environment\) = "\d{8}T\d{6}Z", COLIMA_PULSE_DECISION_STACK \(environment\) = "colima-pulse\/mac-b": .*nothing was run/,
    );
    assert.deepEqual([...anythingRan("mac-a"), ...anythingRan("mac-b")], [], "nothing ran on either Mac");
    const r = await fleet({}, "upgrade", "--stacks", "mac-a");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\nthe 1 Mac succeeded\n$/);
    assert.deepEqual(
      brewRan("mac-a").filter(([, argv]) => (argv as string).startsWith("upgrade")),
      [["ops", "upgrade lima", 0]],
    );
    assert.equal(sims["mac-a"]?.state().brew.lima, "1.2.2");
    assert.deepEqual(anythingRan("mac-b"), [], "nothing ran on mac-b");
    assert.deepEqual(sims["mac-b"]?.state().brew, VERSIONS);
    intact("fleet upgrade --stacks mac-a");
  });

  it("fleet upgrade of both Macs in one run: each carries out its own decision (another's is refused by the program)", async () => {
    mark();
    for (const mac of MACS) {
      sims[mac]?.publish("qemu", "10.1.1");
      sims[mac]?.clearRecords();
    }
    const r = await fleet({}, "upgrade", "--canary", "2", "--parallel", "2");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /--canary 2: that is all 2 selected Macs, so every Mac is a canary: mac-a, mac-b/);
    // Each asked Homebrew what it can upgrade (a decision reached it) and upgraded, as ops: had
    // mac-a's decision reached mac-b's pulumi, mac-b's program would have refused it and failed.
    // (mac-b's lima, left out above, goes with its qemu)
    const upgraded = (mac: string) =>
      brewRan(mac)
        .filter(([, argv]) => (argv as string).startsWith("upgrade"))
        .map(([user, argv, exit]) => [user, (argv as string).split(" ").sort().join(" "), exit]);
    assert.deepEqual(upgraded("mac-a"), [["ops", "qemu upgrade", 0]]);
    assert.deepEqual(upgraded("mac-b"), [["ops", "lima qemu upgrade", 0]]);
    for (const mac of MACS) assert.deepEqual(sims[mac]?.state().brew, { ...VERSIONS, lima: "1.2.2", qemu: "10.1.1" }, mac);
    intact("fleet upgrade of both Macs");
  });

  it("the runner handed mac-a's upgrade decision for mac-b: mac-b is not opened, nothing runs on it", async () => {
    sims["mac-b"]?.publish("docker", "28.2.3");
    sims["mac-b"]?.clearRecords();
    const saved = { ...process.env };
    Object.assign(process.env, stack.environment());
    const ofA = upgradeDecisions(["mac-a"], readFileSync(`${stack.dir}/Pulumi.yaml`, "utf8"))("mac-a");
    try {
      const results = await runFleet("up", {
        workDir: stack.dir,
        stacks: ["mac-b"],
        parallel: 1,
        logDir: `${stack.dir}/.state/fleet/handed`,
        envOf: (mac) => ({ COLIMA_PULSE_HOST_ROOT: sims[mac]?.root as string }),
        decisionEnvOf: () => ofA,
        display: { draw() {}, end() {} },
      });
      assert.deepEqual(
        results.map((r) => [r.stack, r.ok, r.stage, r.detail]),
        [["mac-b", false, "open", "a decision bound to colima-pulse/mac-a is not passed to stack mac-b"]],
      );
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    assert.deepEqual(anythingRan("mac-b"), [], "nothing ran on mac-b");
    assert.equal(sims["mac-b"]?.state().brew.docker, "28.2.2");
  });
});
