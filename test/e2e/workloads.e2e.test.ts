// Workloads after a reboot (README "Workloads after a reboot"), through the real engine on a
// simulated Mac whose guest dockerd follows its VM (test/simulator/README.md "The guest's
// dockerd"): the VM's containers die with it at a reboot, and come back only when the guest's
// dockerd starts again. Converge, run containers with restart policies through the Mac's Docker
// socket, reboot the Mac, and — with no API call from the test until the supervisor's log says
// the workloads are back — prove they run again; the stack's outputs and the log carry
// boot-to-Docker and boot-to-workloads. And a container whose healthcheck fails: `pulumi up`'s
// gate fails within WAIT_WORKLOADS_MAX, naming it, its policy, state and health, and the command
// that inspects it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { supervisorFiles } from "../../provider/lib/supervisor";
import { parseTimes } from "../../provider/lib/workloads";
import { busyboxImage } from "../helpers/busyboxImage";
import { testServices } from "../helpers/services";
import { type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const LOG = "/var/log/colima-pulse/colima.log";
const RUN = `run${process.pid}`;
const IMAGE = `cpulse-workloads:${RUN}`;
const name = (what: string) => `workloads-${what}-${RUN}`;
const engine = testServices().dockerHost.replace(/^unix:\/\//, "");

function docker(host: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("docker", ["--host", `unix://${host}`, ...args], { encoding: "utf8" });
  return { code: r.status ?? 1, out: r.stdout.trim(), err: r.stderr.trim() };
}
function must(host: string, args: string[]): string {
  const r = docker(host, args);
  assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.err}`);
  return r.out;
}

const log = (mac: SimulatedMac) => (existsSync(mac.sim.path(LOG)) ? readFileSync(mac.sim.path(LOG), "utf8") : "");
/** Waits for `pattern` in the job's log after `from` characters; the log's text from there. */
async function logSays(mac: SimulatedMac, pattern: RegExp, from: number, ms = 180_000): Promise<RegExpExecArray> {
  try {
    await waitFor(`${LOG} to say ${pattern}`, () => pattern.test(log(mac).slice(from)), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it says:\n${log(mac).slice(from).split("\n").slice(-40).join("\n")}`);
  }
  return pattern.exec(log(mac).slice(from)) as RegExpExecArray;
}

describe("workloads after a reboot", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const times = () => parseTimes(readFileSync(supervisorFiles({ root: mac.sim.root, user: "ops" }, "default").workloads, "utf8"));
  before(async () => {
    busyboxImage(engine, IMAGE);
    mac = await simulatedMac("e2e-workloads", { WAIT_WORKLOADS_MAX: "180" });
    const r = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    // Nothing to wait for yet: the gate passes, with the supervisor's times.
    assert.match(r.stdout, /workloads: 0 containers with restart policy always or unless-stopped run/);
  });
  after(async () => {
    await mac?.dispose();
    for (const what of ["always", "unless", "health", "no", "sick"]) docker(engine, ["rm", "-f", name(what)]);
    docker(engine, ["rmi", IMAGE]);
  });

  it("a reboot brings restart-policy containers back with no API call from outside; the log and the outputs say boot-to-Docker and boot-to-workloads", async () => {
    const sock = mac.socket;
    const run = (what: string, ...args: string[]) => must(sock, ["run", "-d", "--name", name(what), "--stop-timeout", "1", ...args, IMAGE]);
    const ids = {
      always: run("always", "--restart", "always"),
      unless: run("unless", "--restart", "unless-stopped"),
      health: run("health", "--restart", "always", "--health-cmd", "true", "--health-interval", "1s"),
      no: run("no", "--restart", "no"),
    };
    await waitFor(
      "the healthcheck's first pass",
      () => docker(sock, ["inspect", "--format", "{{.State.Health.Status}}", name("health")]).out === "healthy",
      60_000,
    );

    const from = log(mac).length;
    const mark = mac.sim.records().length;
    await mac.sim.reboot();
    // Nobody asks Docker: the supervisor's `colima start` starts the guest's dockerd, which restores them.
    const back = await logSays(
      mac,
      /workloads back: (\d+) containers with restart policy always\/unless-stopped running \(healthy where they have a healthcheck\); boot-to-Docker (\d+)s, boot-to-workloads (\d+)s\n/,
      from,
    );
    assert.equal(back[1], "3");
    const t = times();
    assert.deepEqual([String(t.bootToDockerSeconds), String(t.bootToWorkloadsSeconds)], [back[2], back[3]]);
    assert.ok((t.bootToWorkloadsSeconds ?? -1) >= (t.bootToDockerSeconds ?? 0));
    // The reboot killed the VM's containers; then the supervisor's colima start (or its own first
    // /_ping) started the guest's dockerd, whose restore started the three (test/simulator/tools/guest.ts).
    const guest = mac.sim
      .records()
      .slice(mark)
      .filter((r) => r.tool === "guest");
    const died = guest.filter((r) => r.argv[1] === "died");
    assert.equal(died.length, 1);
    assert.equal(died[0]?.argv[2], "the Mac shuts down");
    assert.deepEqual(died[0]?.argv.slice(3).sort(), Object.values(ids).sort());
    const started = guest.filter((r) => r.argv[1] === "start");
    assert.equal(started.length, 1);
    assert.match(
      started[0]?.argv[2] ?? "",
      /^(colima start: systemctl start docker\.service|socket activation: a request through the forward)$/,
    );
    assert.deepEqual(started[0]?.argv.slice(3).sort(), [ids.always, ids.unless, ids.health].sort());

    // Now inspect: running again, healthy where checked; the `no` one stays down.
    const state = (what: string) =>
      must(sock, ["inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", name(what)]);
    assert.equal(state("always"), "running none");
    assert.equal(state("unless"), "running none");
    assert.equal(state("health"), "running healthy");
    assert.match(state("no"), /^exited none$/);

    // `pulumi up --refresh`: the outputs carry this boot's times.
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout) as Record<string, number>;
    assert.equal(outputs.bootToDockerSeconds, t.bootToDockerSeconds);
    assert.equal(outputs.bootToWorkloadsSeconds, t.bootToWorkloadsSeconds);
  });

  it("a container whose healthcheck fails: `pulumi up`'s gate fails within WAIT_WORKLOADS_MAX, naming it and how to inspect it", async () => {
    must(mac.socket, [
      "run",
      "-d",
      "--name",
      name("sick"),
      "--restart",
      "always",
      "--stop-timeout",
      "1",
      "--health-cmd",
      "false",
      "--health-interval",
      "1s",
      "--health-retries",
      "1",
      IMAGE,
    ]);
    await mac.stack.must(["config", "set", "WAIT_WORKLOADS_MAX", "10"]);
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"], 600_000);
    assert.notEqual(r.code, 0, r.stdout);
    const dockerCli = mac.sim.path("/opt/homebrew/bin/docker");
    assert.match(
      r.stdout,
      new RegExp(
        `gate "the containers with restart policy always or unless-stopped" did not pass within WAIT_WORKLOADS_MAX \\(10s\\): 1 not running and healthy:\\n\\s*${name("sick")}: restart policy always, state running, health (starting|unhealthy); inspect: ${dockerCli} --host unix://${mac.socket} inspect ${name("sick")} --format '\\{\\{json \\.State\\.Health\\}\\}'`,
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        `waiting up to 10s \\(WAIT_WORKLOADS_MAX\\) for 1 of 4 restart-policy containers: ${name("sick")} \\(restart always, running, health`,
      ),
    );
    // The supervisor's wait said the same in the job's log.
    await logSays(
      mac,
      new RegExp(
        `workloads not back within WAIT_WORKLOADS_MAX \\(10s\\) after the Docker API answered: ${name("sick")} \\(restart always, running, health (starting|unhealthy)\\)`,
      ),
      0,
    );
  });
});
