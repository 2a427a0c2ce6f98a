// The fleet runner through the real engine: three simulated Macs behind a real OpenSSH server,
// one of them out of reach (nothing listens on its port). `npm run fleet -- up` converges the two
// others and says which one failed and why, with a non-zero exit; `status` and `status --json`
// show every column for every Mac, and `status --prom` writes metrics Prometheus's promtool accepts. mac-2 prunes after each start (PRUNE_MODE=dangling): its
// converge's health gate waits for that prune over SSH, so it has ended when `up` does, and
// status shows each Mac's mode.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MacStatus } from "../../fleet/status";
import { closedPort } from "../helpers/closedPort";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["mac-1", "mac-2", "mac-3"] as const;

describe("the fleet runner: three Macs over SSH, one out of reach", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let env: NodeJS.ProcessEnv;
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], env, 600_000);

  before(async () => {
    const unreachable = await closedPort();
    fleetOf = await SshFleet.create(MACS, (mac) => ({
      ...(mac === "mac-3" ? { SSH_PORT: String(unreachable) } : {}),
      ...(mac === "mac-2" ? { PRUNE_DOCKER_AFTER_START: "true", PRUNE_MODE: "dangling" } : {}),
    }));
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    env = fleetOf.env;
  });
  after(async () => {
    await fleetOf?.dispose();
  });

  it("up: the two reachable Macs converge; the summary names the one that failed and why; exit 1", async () => {
    const r = await fleet("up", "--parallel", "3");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const row = (mac: string) => r.stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";
    assert.match(row("mac-1"), /^mac-1\s+ok\s+up\s+[\d.]+s\s+create 9/);
    assert.match(row("mac-2"), /^mac-2\s+ok\s+up\s+/);
    assert.match(
      row("mac-3"),
      /^mac-3\s+FAILED\s+preview \(up not run\)\s+[\d.]+s\s+.*SSH connection to .*127\.0\.0\.1:\d+ .*failed.*Connection refused/,
    );
    assert.match(r.stdout, /1 of 3 Macs failed: mac-3 \(logs: .*\)/);
    for (const mac of ["mac-1", "mac-2"]) {
      assert.ok(dockerAnswers(sims[mac]?.path("/Users/ops/.colima/default/docker.sock") as string), `${mac} runs Docker`);
    }
    const mac2 = sims["mac-2"] as MacSimulator;
    assert.match(
      readFileSync(mac2.path("/var/log/colima-pulse/colima.log"), "utf8"),
      /pruned Docker \(dangling\): Total reclaimed space: \S+/,
    );
    assert.equal(existsSync(mac2.path("/Users/ops/.colima/.colima-pulse-default.pruning")), false, "mac-2's prune has ended");
    // (but its own launchd, started when the simulated Mac booted)
    assert.deepEqual(
      sims["mac-3"]?.records().filter((e) => e.tool !== "launchd"),
      [],
      "nothing ran on the Mac out of reach",
    );
    // A live line per Mac (not a terminal here: a line per change), and a log per Mac.
    assert.match(r.stderr, /^mac-1\s+up\s+create .*\d+\.\ds$/m);
    const logs = /logs: (\S+)\)/.exec(r.stdout)?.[1] as string;
    // Beside each log, the plan its preview made and its up applied (fleet/runner.ts); none for the
    // Mac whose preview failed.
    assert.deepEqual(readdirSync(logs).sort(), ["mac-1.log", "mac-1.plan.json", "mac-2.log", "mac-2.plan.json", "mac-3.log"]);
    assert.ok(
      readFileSync(join(logs, "mac-1.log"), "utf8").includes(
        `\napplying ${join(logs, "mac-1.plan.json")}, the plan of the preview above (pulumi up --plan)\n`,
      ),
    );
    assert.match(readFileSync(join(logs, "mac-1.log"), "utf8"), /healthy: socket \d+ ms/);
  });

  it("status: a row per Mac with every column", async () => {
    const r = await fleet("status", "--parallel", "3");
    assert.equal(r.code, 1, "not every Mac is reachable");
    const lines = r.stdout.trim().split("\n");
    assert.match(
      lines[0] as string,
      /^MAC\s+REACHABLE\s+DOCKER\s+SUPERVISOR\s+PRUNE\s+GATES ms \(socket\/qemu\/api\/stable\)\s+DRIFT\s+COLIMA\/LIMA\/QEMU\s+LAST CONVERGE\s+FILEVAULT\s+DOCKER DISK \(used\/size\)\s+MAC FREE\s+POWER \(AC\)\s+BOOT→DOCKER\/WORKLOADS\s+OTHER STARTERS\s+LAST WAKE$/,
    );
    const mac1 = lines.find((l) => l.startsWith("mac-1 ")) as string;
    assert.match(
      mac1,
      /^mac-1\s+yes\s+\d+\.\d+\.\d+\S*\s+running\s+off\s+\d+\/\d+\/\d+\/\d+\s+none\s+[\d.]+\/[\d.]+\/[\d.]+\s+\d{4}-\d\d-\d\dT\S+\s+Off\s+[\d.]+ [MG]iB\/[\d.]+ GiB\s+[\d.]+ GiB\s{2,}\S.*?\s{2,}\d+(?:s|m\d\ds|h\d\dm)\/\d+(?:s|m\d\ds|h\d\dm)\s+none\s+-$/,
    );
    assert.match(lines.find((l) => l.startsWith("mac-2 ")) as string, /^mac-2\s+yes\s+\S+\s+running\s+dangling\s+/);
    const mac3 = lines.find((l) => l.startsWith("mac-3 ")) as string;
    assert.match(
      mac3,
      /^mac-3\s+no: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused\s+-\s+unknown\s+off\s+-\s+unknown: not reachable\s+\?\/\?\/\?\s+never\s+unknown\s+-\s+-\s+-\s+-\s+\?\s+-$/,
    );
    // No Mac has had a full reset: no backups to list.
    assert.match(r.stdout, /\nbackups: none\n?$/);
  });

  it("status --json: the same rows for dashboards, drift and the supervisor's state as seen now", async () => {
    // Drift on mac-2: its daemon booted out by hand.
    const sim = sims["mac-2"] as MacSimulator;
    const out = await sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), "bootout", "system/com.colima-pulse.colima"]);
    assert.equal(out.code, 0, out.stderr);
    const r = await fleet("status", "--json");
    const rows = JSON.parse(r.stdout) as MacStatus[];
    assert.deepEqual(
      rows.map((x) => x.stack),
      [...MACS],
    );
    const [one, two, three] = rows as [MacStatus, MacStatus, MacStatus];
    assert.equal(one.reachable, "yes");
    assert.match(one.docker, /^\d+\.\d+\.\d+/);
    assert.equal(one.supervisor, "running");
    assert.equal(one.drift, "none");
    assert.ok(one.gates && one.gates.socket >= 0 && one.gates.qemu >= 0 && one.gates.api >= 0 && one.gates.stable >= 0);
    assert.ok(one.versions.colima && one.versions.lima && one.versions.qemu);
    assert.ok(!Number.isNaN(Date.parse(one.lastConverge)));
    assert.equal(one.fileVault, "Off");
    assert.deepEqual(one.backups, []);
    assert.deepEqual(
      rows.map((x) => x.prune),
      ["off", "dangling", "off"],
      "the mode each stack declares, reachable or not",
    );
    assert.equal(two.supervisor, "not loaded");
    assert.match(two.drift, /update LaunchDaemon::colima-daemon/);
    assert.match(three.reachable, /^no: /);
    assert.equal(three.lastConverge, "");
  });

  it("status --prom: a metrics file Prometheus's promtool accepts; the Mac out of reach only reachable 0", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-prom-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "fleet.prom");
    const r = await fleet("status", "--prom", file, "--parallel", "3");
    assert.equal(r.code, 1, `not every Mac is reachable\n${r.stderr}`);
    const text = readFileSync(file, "utf8");
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.error, undefined, "promtool (Debian's prometheus package: scripts/test.sh installs it)");
    assert.deepEqual({ code: check.status, said: `${check.stdout}${check.stderr}` }, { code: 0, said: "" }, text);
    const value = (series: string) =>
      text
        .split("\n")
        .find((l) => l.startsWith(`${series} `))
        ?.slice(series.length + 1);
    assert.equal(value('colima_pulse_reachable{stack="mac-1"}'), "1");
    assert.equal(value('colima_pulse_docker_up{stack="mac-1"}'), "1");
    assert.equal(value('colima_pulse_supervisor_state{stack="mac-1",state="running"}'), "1");
    assert.equal(value('colima_pulse_drift{stack="mac-1"}'), "0");
    assert.equal(value('colima_pulse_filevault_on{stack="mac-1"}'), "0");
    assert.equal(value('colima_pulse_backups{stack="mac-1"}'), "0");
    assert.match(
      text,
      /^colima_pulse_versions_info\{stack="mac-1",colima="[\d.]+",lima="[\d.]+",qemu="[\d.]+",docker="\d+\.\d+\.\d+\S*"\} 1$/m,
    );
    assert.match(text, /^colima_pulse_gate_duration_seconds\{stack="mac-1",gate="stable"\} [\d.e-]+$/m);
    const up = Number(value('colima_pulse_last_successful_up_timestamp_seconds{stack="mac-1"}'));
    assert.ok(up > 0 && up <= Number(value("colima_pulse_status_timestamp_seconds")), `last up ${up}`);
    // mac-2's daemon was booted out by hand (the test before): not loaded, and drift.
    assert.equal(value('colima_pulse_supervisor_state{stack="mac-2",state="not_loaded"}'), "1");
    assert.equal(value('colima_pulse_drift{stack="mac-2"}'), "1");
    // mac-3: reachable 0 and nothing else (never converged: its stack recorded nothing either).
    assert.deepEqual(
      text.split("\n").filter((l) => l.includes('stack="mac-3"')),
      ['colima_pulse_reachable{stack="mac-3"} 0'],
    );
    // Neither the Macs' SSH host nor ssh's words: no label says why a Mac is out of reach.
    assert.doesNotMatch(text, /127\.0\.0\.1|refused/);
    assert.deepEqual(readdirSync(dir), ["fleet.prom"], "no temporary file left");

    // A folder that is not there: refused before any Mac is asked, naming it.
    const missing = join(dir, "no-such-folder", "fleet.prom");
    const refused = await fleet("status", "--prom", missing);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(`--prom \\(command line\\) = "${missing}": its folder ${join(dir, "no-such-folder")} does not exist`),
    );
    assert.equal(refused.stdout, "");
  });

  it("bad usage: exit 2, naming the argument, its value and what is allowed; nothing runs", async () => {
    const r = await fleet("up", "--parallel", "0");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--parallel \(command line\) = "0": must be a whole number from 1 to 64/);
    const none = await fleet("preview", "--stacks", "nothing-*");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no stack file stacks\/Pulumi\.<name>\.yaml matches/);
    assert.ok(existsSync(join(stack.dir, "stacks/Pulumi.mac-1.yaml")));
  });
});
