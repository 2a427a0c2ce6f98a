// Other autostarts (provider/lib/autostarts.ts): which launchd jobs start this profile — by shape —
// the survey's look at a simulated Mac, and their removal; what the plan says of them
// (stacks/adoptionPlan.ts); the decision that removes stale colima-pulse jobs.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diffLaunchDaemon, filesHash, renderPlist, renderSupervisor } from "../../../provider/launchDaemon";
import {
  colimaStartProfile,
  commandsRun,
  findOtherJobs,
  limactlStartInstance,
  removeOtherJobs,
  startsProfile,
} from "../../../provider/lib/autostarts";
import { macOf } from "../../../provider/lib/mac";
import { supervisorScript } from "../../../provider/lib/supervisor";
import type { MacSurvey } from "../../../provider/lib/survey";
import { decisionEnv, parseDecision } from "../../../scripts/decide";
import { planAdoption, REMOVE_STALE_COMMAND } from "../../../stacks/adoptionPlan";
import { checkDecisionStack, DECISION_VARIABLES, readRemoveStaleDecision } from "../../../stacks/commandLineDecisions";
import { ConfigError } from "../../../stacks/config";
import { plantJob } from "../../helpers/autostarts";
import { DAEMON } from "../../helpers/daemonInputs";
import { testServices } from "../../helpers/services";
import { MacSimulator } from "../../simulator/simulator";

const HOME = "/Users/ops";
const job = (def: Record<string, unknown>) => startsProfile(def, "default", HOME);

describe("which jobs start this profile", () => {
  it("Lima's autostart jobs for Colima's instance (WorkingDirectory in ~/.colima/_lima); not a plain Lima instance of that name", () => {
    const lima = ["/opt/homebrew/bin/limactl", "start", "colima", "--foreground"];
    assert.match(
      job({ Label: "io.lima-vm.autostart.colima", ProgramArguments: lima, WorkingDirectory: `${HOME}/.colima/_lima/colima` }) ?? "",
      /^Lima's autostart job for instance colima \(limactl autostart, at login\)$/,
    );
    assert.match(
      job({
        Label: "io.lima-vm.daemon.colima",
        UserName: "ops",
        ProgramArguments: lima,
        WorkingDirectory: `${HOME}/.colima/_lima/colima`,
      }) ?? "",
      /--condition=boot/,
    );
    assert.equal(
      job({ Label: "io.lima-vm.autostart.colima", ProgramArguments: lima, WorkingDirectory: `${HOME}/.lima/colima` }),
      undefined,
    );
    assert.equal(
      startsProfile(
        { Label: "io.lima-vm.autostart.colima", ProgramArguments: lima, WorkingDirectory: `${HOME}/.colima/_lima/colima` },
        "work",
        HOME,
      ),
      undefined,
      "profile work is instance colima-work",
    );
  });

  it("colima start of this profile, by flag or name, directly, through env or a shell line", () => {
    for (const argv of [
      ["/opt/homebrew/bin/colima", "start", "--foreground"],
      ["/opt/homebrew/bin/colima", "start", "default"],
      ["/opt/homebrew/bin/colima", "start", "-p", "colima"],
      ["/usr/bin/env", "PATH=/opt/homebrew/bin", "colima", "start", "-f"],
      ["/bin/zsh", "-lc", "sleep 5; colima start --profile=default --cpus 2"],
    ])
      assert.match(job({ Label: "local.mine", ProgramArguments: argv }) ?? "", /^it runs `.*colima start/, argv.join(" "));
    assert.match(
      startsProfile({ Label: "x", ProgramArguments: ["colima", "start", "colima-work"] }, "work", HOME) ?? "",
      /colima start colima-work/,
    );
    for (const argv of [
      ["/opt/homebrew/bin/colima", "start", "-p", "work"],
      ["/opt/homebrew/bin/colima", "stop"],
      ["/opt/homebrew/bin/colima", "status"],
      ["/bin/sh", "-c", "colima start work"],
      ["/usr/bin/true"],
    ])
      assert.equal(job({ Label: "local.other", ProgramArguments: argv }), undefined, argv.join(" "));
    assert.equal(
      job({ Label: "x", ProgramArguments: ["colima", "start"], EnvironmentVariables: { COLIMA_HOME: "/Volumes/x/colima" } }),
      undefined,
    );
  });

  it("limactl start of its instance with LIMA_HOME (or WorkingDirectory) at Colima's folder; not elsewhere", () => {
    const start = ["/opt/homebrew/bin/limactl", "start", "--timeout", "10m", "colima"];
    assert.match(
      job({ Label: "x", ProgramArguments: start, EnvironmentVariables: { LIMA_HOME: `${HOME}/.colima/_lima` } }) ?? "",
      /limactl start/,
    );
    assert.match(job({ Label: "x", ProgramArguments: ["/usr/bin/env", `LIMA_HOME=${HOME}/.colima/_lima/`, ...start] }) ?? "", /limactl/);
    assert.equal(job({ Label: "x", ProgramArguments: start }), undefined, "without LIMA_HOME: ~/.lima/colima, another instance");
    assert.equal(job({ Label: "x", ProgramArguments: start, EnvironmentVariables: { LIMA_HOME: `${HOME}/.lima` } }), undefined);
    assert.equal(limactlStartInstance(["start", "--name=x", "template:default"]), "template:default");
    assert.equal(limactlStartInstance(["stop", "colima"]), undefined);
    assert.equal(colimaStartProfile(["start", "-pwork"]), "work");
    assert.deepEqual(commandsRun(["/usr/bin/env", "-i", "A=1", "/bin/sh", "-c", "a b && c"]), [
      { argv: ["a", "b"], env: { A: "1" } },
      { argv: ["c"], env: { A: "1" } },
    ]);
  });
});

const survey = (over: Partial<MacSurvey>): MacSurvey => ({ versions: {}, profiles: [], brewJobs: [], managed: true, ...over });
const wanted = { profile: "default", cpus: 2, memory: 4, disk: 60, label: "com.colima-pulse.colima" };

describe("what the plan says of other autostarts and stale jobs", () => {
  const lima = {
    label: "io.lima-vm.autostart.colima",
    domain: "gui/501",
    plist: `${HOME}/Library/LaunchAgents/io.lima-vm.autostart.colima.plist`,
    why: "Lima's autostart job for instance colima (limactl autostart, at login)",
    loaded: false,
  };
  const stale = {
    label: "com.colima-pulse.old",
    domain: "system",
    plist: "/Library/LaunchDaemons/com.colima-pulse.old.plist",
    script: "/Library/Application Support/colima-pulse/com.colima-pulse.old.sh",
    rule: "/etc/newsyslog.d/com.colima-pulse.old.conf",
    why: "colima-pulse LaunchDaemon com.colima-pulse.old supervises profile gone, which no longer exists on this Mac",
    loaded: true,
  };
  const s = survey({ autostarts: [lima], pulseJobs: { stale: [stale], others: [{ label: "com.colima-pulse.work", profile: "work" }] } });

  it("lists each, says what up does; a stale job stays without the decision, and the plan names the command", () => {
    const plan = planAdoption(s, wanted);
    assert.equal(plan.notice, true);
    assert.ok(
      plan.findings.includes(
        `launchd job ${lima.label} starts this profile: ${lima.why} (not loaded; its plist ${lima.plist} loads at the next login)`,
      ),
    );
    assert.ok(plan.findings.includes(`stale: ${stale.why} (system domain, ${stale.plist})`));
    assert.ok(plan.findings.includes("colima-pulse LaunchDaemon com.colima-pulse.work supervises profile work: left alone"));
    assert.ok(plan.will.includes(`remove ${lima.plist}, so only colima-pulse starts Colima`));
    assert.ok(plan.will.includes(`leave stale ${stale.label} as it is (\`${REMOVE_STALE_COMMAND}\` removes it, after its own preview)`));
    assert.deepEqual(plan.jobs, [{ label: lima.label, domain: lima.domain, plist: lima.plist, why: lima.why }]);
  });

  it("with the decision, the stale job is removed too: plist, supervisor script, newsyslog rule", () => {
    const plan = planAdoption(s, wanted, undefined, true);
    assert.ok(
      plan.will.includes(
        `${REMOVE_STALE_COMMAND}: boot out system/${stale.label} and remove ${stale.plist}, ${stale.script}, ${stale.rule}`,
      ),
    );
    assert.deepEqual(
      plan.jobs.map((j) => j.label),
      [lima.label, stale.label],
    );
  });

  it("nothing found: no notice, no jobs", () => {
    const plan = planAdoption(survey({}), wanted);
    assert.deepEqual([plan.notice, plan.jobs], [false, []]);
    const others = planAdoption(
      survey({ pulseJobs: { stale: [], others: [{ label: "com.colima-pulse.work", profile: "work" }] } }),
      wanted,
    );
    assert.deepEqual([others.notice, others.jobs], [false, []], "another stack's job: named, no notice");
    const same = planAdoption(survey({ pulseJobs: { stale: [], others: [{ label: "com.x.earlier", profile: "colima" }] } }), wanted);
    assert.ok(
      same.findings.includes(
        "colima-pulse LaunchDaemon com.x.earlier also supervises this profile (this stack's under an earlier LABEL, which a LABEL change replaces, or another stack's): left alone",
      ),
    );
    assert.equal(same.notice, false);
  });
});

describe("npm run remove-stale-jobs: the decision", () => {
  it("is a decision variable (the fleet refuses and strips it), bound to its stack, valid for an hour", () => {
    assert.ok(DECISION_VARIABLES.includes("COLIMA_PULSE_REMOVE_STALE_JOBS_ID"));
    const d = parseDecision("remove-stale-jobs", ["--yes"]);
    assert.ok(!("help" in d));
    assert.deepEqual(decisionEnv(d, "", "20261207T180000Z", "colima-pulse/mac-1"), {
      COLIMA_PULSE_REMOVE_STALE_JOBS_ID: "20261207T180000Z",
      COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-1",
    });
    const now = new Date("2026-12-07T18:30:00Z");
    assert.equal(readRemoveStaleDecision({ COLIMA_PULSE_REMOVE_STALE_JOBS_ID: "20261207T180000Z" }, now), "20261207T180000Z");
    assert.equal(readRemoveStaleDecision({}, now), undefined);
    assert.throws(
      () => readRemoveStaleDecision({ COLIMA_PULSE_REMOVE_STALE_JOBS_ID: "yes" }, now),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(
          e.message,
          /COLIMA_PULSE_REMOVE_STALE_JOBS_ID \(environment, set by npm run remove-stale-jobs\) = "yes": must be the UTC time of the decision/,
        );
        return true;
      },
    );
    assert.throws(() => readRemoveStaleDecision({ COLIMA_PULSE_REMOVE_STALE_JOBS_ID: "20261207T160000Z" }, now), /valid for 60 minutes/);
  });

  it("made for another stack (or for none), it is refused before anything is read", () => {
    const decision = { COLIMA_PULSE_REMOVE_STALE_JOBS_ID: "20261207T180000Z" };
    assert.throws(
      () => checkDecisionStack({ ...decision, COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-2" }, "colima-pulse/mac-1"),
      /the decision \(COLIMA_PULSE_REMOVE_STALE_JOBS_ID="20261207T180000Z"\) was made for stack colima-pulse\/mac-2, and this run is stack colima-pulse\/mac-1/,
    );
    assert.throws(() => checkDecisionStack(decision, "colima-pulse/mac-1"), /COLIMA_PULSE_DECISION_STACK \(environment\) is not set/);
    checkDecisionStack({ ...decision, COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-1" }, "colima-pulse/mac-1");
  });
});

describe("the LaunchDaemon's diff: jobs to remove are a change, said with why; none is none", () => {
  const job = { label: "io.lima-vm.autostart.colima", domain: "gui/501", plist: `${HOME}/Library/LaunchAgents/x.plist`, why: "Lima's" };
  it("news with jobs: an update that names each; without: no change from them", () => {
    const hash = filesHash(renderPlist(DAEMON), renderSupervisor(DAEMON));
    const olds = { ...DAEMON, plistPath: "", scriptPath: "", filesHash: hash, loaded: true, conflicts: [], running: true, started: "" };
    const withJobs = diffLaunchDaemon(olds, { ...DAEMON, otherJobs: [job] });
    assert.equal(withJobs.changes, true);
    assert.ok(
      withJobs.reasons.includes(
        'otherJobs: - ["gui/501/io.lima-vm.autostart.colima"] (booted out and removed: io.lima-vm.autostart.colima (Lima\'s))',
      ),
      withJobs.reasons.join("\n"),
    );
    assert.deepEqual(diffLaunchDaemon({ ...olds, otherJobs: [job] }, { ...DAEMON, otherJobs: [] }).reasons, []);
    assert.deepEqual(diffLaunchDaemon(olds, DAEMON).reasons, [], "state and inputs from before otherJobs");
  });
});

describe("the survey's look at a simulated Mac, and up's removal", { concurrency: false }, () => {
  let sim: MacSimulator;
  const dockerTarget = testServices().dockerHost.replace(/^unix:\/\//, "");
  const LABEL = "com.colima-pulse.colima";
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget });
  });
  after(async () => sim?.dispose());

  it("finds this profile's jobs and stale colima-pulse jobs; another profile's, root's and unrelated jobs are not touched", async () => {
    const home = sim.world.home("ops");
    const limactl = join(sim.world.brewPrefix(), "bin/limactl");
    const colima = join(sim.world.brewPrefix(), "bin/colima");
    // Lima's login job for Colima's instance, as `limactl autostart enable` writes it (not loaded).
    const agent = await plantJob(sim, {
      label: "io.lima-vm.autostart.colima",
      where: "agent",
      programArguments: [limactl, "start", "colima", "--foreground"],
      workingDirectory: `${home}/.colima/_lima/colima`,
    });
    const mine = await plantJob(sim, {
      label: "local.colima-boot",
      where: "daemon",
      userName: "ops",
      programArguments: [colima, "start", "-f"],
      load: true,
    });
    const work = await plantJob(sim, {
      label: "local.colima-work",
      where: "daemon",
      userName: "ops",
      programArguments: [colima, "start", "-p", "work"],
    });
    const rootJob = await plantJob(sim, { label: "local.root-colima", where: "daemon", programArguments: [colima, "start"] });
    const unrelated = await plantJob(sim, { label: "local.backup", where: "agent", programArguments: ["/usr/bin/true"] });
    // colima-pulse jobs: one whose profile is gone, one of another profile that is there.
    mkdirSync(join(home, ".colima/work"), { recursive: true });
    writeFileSync(join(home, ".colima/work/colima.yaml"), "cpu: 2\n");
    const pulse = (label: string, profile: string) => {
      mkdirSync(sim.path("/Library/Application Support/colima-pulse"), { recursive: true });
      writeFileSync(supervisorScript({ root: sim.root }, label), `#!/bin/sh\nPROFILE='${profile}'\n`, { mode: 0o755 });
      return plantJob(sim, {
        label,
        where: "daemon",
        userName: "ops",
        programArguments: [sim.path("/bin/sh"), supervisorScript({ root: sim.root }, label)],
      });
    };
    const gone = await pulse("com.colima-pulse.renamed", "old");
    await pulse("com.colima-pulse.work", "work");
    // This stack's profile under another label: this stack's earlier LABEL (a replacement removes
    // it) or another stack's — not this run's to judge.
    await pulse("com.colima-pulse.earlier", "default");
    await pulse(LABEL, "default");

    const mac = macOf({ root: sim.root, user: "ops" });
    const found = await findOtherJobs(mac, LABEL, "default");
    assert.deepEqual(
      found.autostarts.map((j) => [j.label, j.domain, j.plist, j.loaded]),
      [
        ["local.colima-boot", "system", mine, true],
        ["io.lima-vm.autostart.colima", "gui/501", agent, false],
      ],
    );
    assert.deepEqual(
      found.pulse.stale.map((j) => [j.label, j.why]),
      [
        [
          "com.colima-pulse.renamed",
          "colima-pulse LaunchDaemon com.colima-pulse.renamed supervises profile old, which no longer exists on this Mac",
        ],
      ],
    );
    assert.deepEqual(
      [...found.pulse.others].sort((x, y) => x.label.localeCompare(y.label)),
      [
        { label: "com.colima-pulse.earlier", profile: "default" },
        { label: "com.colima-pulse.work", profile: "work" },
      ],
    );

    const log: string[] = [];
    const removed = await removeOtherJobs(mac, [...found.autostarts, ...found.pulse.stale], "501", (m) => log.push(m));
    assert.deepEqual(removed, ["system/local.colima-boot", "gui/501/io.lima-vm.autostart.colima", "system/com.colima-pulse.renamed"]);
    for (const p of [mine, agent, gone, supervisorScript({ root: sim.root }, "com.colima-pulse.renamed")])
      assert.equal(existsSync(p), false, p);
    for (const p of [
      work,
      rootJob,
      unrelated,
      sim.path(`/Library/LaunchDaemons/${LABEL}.plist`),
      sim.path("/Library/LaunchDaemons/com.colima-pulse.work.plist"),
      sim.path("/Library/LaunchDaemons/com.colima-pulse.earlier.plist"),
    ])
      assert.equal(existsSync(p), true, p);
    assert.ok(log.includes(`booted out system/local.colima-boot (it runs \`${colima} start -f\`)`), log.join("\n"));
    assert.equal(
      (await sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), "print", "system/local.colima-boot"])).code,
      113,
    );
  });
});
