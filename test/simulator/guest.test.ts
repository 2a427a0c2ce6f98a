// The guest's dockerd (tools/guest.ts): the containers a VM runs stop with it, its dockerd is not
// running after a boot until `colima start` or the first request through the forward starts it,
// and then restores its containers as moby's restore() does. Against the harness's real dockerd:
// every state asserted here is the engine's own, asked directly (not through the forward, which
// would socket-activate the guest). Also: `sysctl kern.boottime`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { busyboxImage } from "../helpers/busyboxImage";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";
import { guestFile } from "./tools/guest";

const dockerTarget = testServices().dockerHost.replace(/^unix:\/\//, "");
const RUN = `run${process.pid}`;
const IMAGE = `cpulse-guest-test:${RUN}`;
const name = (what: string) => `guest-${what}-${RUN}`;

function docker(host: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("docker", ["--host", `unix://${host}`, ...args], { encoding: "utf8" });
  return { code: r.status ?? 1, out: r.stdout.trim(), err: r.stderr.trim() };
}
function must(host: string, args: string[]): string {
  const r = docker(host, args);
  assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.err}`);
  return r.out;
}
/** The engine's own view (never through the forward). */
const status = (what: string) => must(dockerTarget, ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name(what)]);

describe("the guest's dockerd: containers follow their VM, restore() as moby's", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  let limactl: string;
  let sock: string;
  const ids: Record<string, string> = {};
  const guest = () => JSON.parse(readFileSync(guestFile(sim.world, sim.path("/Users/ops/.colima/_lima/colima")), "utf8"));
  /** limactl as Colima runs it: LIMA_HOME its `_lima` folder (without it, Lima looks in ~/.lima). */
  const lima = (...args: string[]) => [sim.path("/usr/bin/env"), `LIMA_HOME=${sim.path("/Users/ops/.colima/_lima")}`, limactl, ...args];
  const guestRecords = () => sim.records().filter((r) => r.tool === "guest");

  before(async () => {
    busyboxImage(dockerTarget, IMAGE);
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"] });
    colima = join(sim.world.brewPrefix(), "bin/colima");
    limactl = join(sim.world.brewPrefix(), "bin/limactl");
    sock = sim.path("/Users/ops/.colima/default/docker.sock");
    const r = await sim.run([colima, "start", "--vm-type", "qemu"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await sim?.dispose();
    for (const what of ["always", "always-stopped", "unless", "unless-stopped", "onfail", "no", "never", "outsider"])
      docker(dockerTarget, ["rm", "-f", name(what)]);
    docker(dockerTarget, ["rmi", IMAGE]);
  });

  it("records the containers created through the forward, and who stopped one by hand", () => {
    const run = (what: string, policy: string) =>
      must(sock, ["run", "-d", "--name", name(what), "--restart", policy, "--stop-timeout", "1", IMAGE]);
    ids.always = run("always", "always");
    ids.alwaysStopped = run("always-stopped", "always");
    ids.unless = run("unless", "unless-stopped");
    ids.unlessStopped = run("unless-stopped", "unless-stopped");
    ids.onfail = run("onfail", "on-failure");
    ids.no = run("no", "no");
    ids.never = must(sock, ["create", "--name", name("never"), "--restart", "always", IMAGE]);
    // Not this VM's: made on the engine directly.
    ids.outsider = must(dockerTarget, ["run", "-d", "--name", name("outsider"), "--restart", "always", IMAGE]);
    // By name, and by a short id: the forward records the container's full id either way.
    must(sock, ["stop", name("always-stopped")]);
    must(sock, ["stop", ids.unlessStopped.slice(0, 12)]);
    const g = guest().containers;
    assert.deepEqual(
      Object.keys(g).sort(),
      [ids.always, ids.alwaysStopped, ids.unless, ids.unlessStopped, ids.onfail, ids.no, ids.never].sort(),
    );
    assert.equal(g[ids.alwaysStopped].manuallyStopped, true);
    assert.equal(g[ids.unlessStopped].manuallyStopped, true);
    assert.equal(g[ids.always].manuallyStopped, false);
    // `docker start` clears it (moby daemon/start.go), a kill sets it (daemon/kill.go).
    must(sock, ["kill", name("no")]);
    assert.equal(guest().containers[ids.no].manuallyStopped, true);
    must(sock, ["start", name("no")]);
    assert.equal(guest().containers[ids.no].manuallyStopped, false);
  });

  it("a VM stop stops its containers in dockerd (not a manual stop); a bare `limactl start` leaves dockerd stopped until the first request, which restore() precedes", async () => {
    assert.equal((await sim.run([colima, "stop"])).code, 0);
    for (const what of ["always", "unless", "onfail", "no"]) assert.match(status(what), /^exited 137$/, what); // stop timeout 1 s, then SIGKILL
    assert.match(status("outsider"), /^running /, "a container not created through this VM is not its");
    assert.equal(guest().containers[ids.unless].manuallyStopped, false, "a shutdown is not a manual stop");
    sim.clearRecords();
    // Lima alone (a launchd job's `limactl start`): the guest boots, dockerd stays stopped.
    const started = await sim.run(lima("start", "colima"));
    assert.equal(started.code, 0, started.stderr);
    for (const what of ["always", "unless", "onfail"]) assert.match(status(what), /^exited /, `${what} before any request`);
    assert.deepEqual(guestRecords(), []);
    // The first request socket-activates dockerd, and is answered after its restore().
    const running = must(sock, ["ps", "--format", "{{.Names}}"])
      .split("\n")
      .filter((n) => n.endsWith(RUN));
    assert.deepEqual(running.sort(), [name("always"), name("always-stopped"), name("onfail"), name("outsider"), name("unless")].sort());
    for (const what of ["unless-stopped", "no"]) assert.match(status(what), /^exited /, what);
    assert.match(status("never"), /^created /, "never started: restore() leaves it (HasBeenStartedBefore)");
    const rec = guestRecords();
    assert.equal(rec.length, 1);
    assert.deepEqual(rec[0]?.argv.slice(0, 3), ["dockerd", "start", "socket activation: a request through the forward"]);
    assert.equal(guest().containers[ids.alwaysStopped].manuallyStopped, false, "restore's start clears the manual stop");
  });

  it("`colima start` starts dockerd itself (docker.go Start): the containers come back with no request through the forward", async () => {
    assert.equal((await sim.run(lima("stop", "colima"))).code, 0);
    assert.match(status("always"), /^exited /);
    sim.clearRecords();
    const r = await sim.run([colima, "start"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(status("always"), /^running /);
    assert.match(status("unless"), /^running /);
    const rec = guestRecords().find((e) => e.argv[1] === "start");
    assert.equal(rec?.argv[2], "colima start: systemctl start docker.service");
  });

  it("a power cut kills the VM's containers (SIGKILL, exit 137); after the boot they wait for dockerd like any boot's", async () => {
    const ready = Number(readFileSync(sim.path("/Users/ops/.colima/_lima/colima/qemu.pid"), "utf8"));
    await sim.powerCut();
    assert.equal(sim.isAlive(ready), false);
    assert.match(status("always"), /^exited 137$/);
    assert.match(status("outsider"), /^running /);
    const died = sim.records().find((e) => e.tool === "guest" && e.argv[1] === "died");
    assert.equal(died?.argv[2], "power cut");
    const r = await sim.run([colima, "start"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(status("always"), /^running /);
    assert.match(status("unless"), /^running /);
  });

  it("sysctl kern.boottime: macOS's struct timeval form, the last boot's", async () => {
    const before = Date.now();
    await sim.reboot();
    const r = await sim.run([sim.path("/usr/sbin/sysctl"), "-n", "kern.boottime"]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^\{ sec = (\d+), usec = (\d+) \} (Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const at = Number(m[1]) * 1000 + Math.floor(Number(m[2]) / 1000);
    assert.ok(at >= before && at <= Date.now(), `${at} within the reboot`);
    assert.equal(new Date(at).toUTCString().slice(0, 3), m[3]);
    const named = await sim.run([sim.path("/usr/sbin/sysctl"), "kern.boottime"]);
    assert.equal(named.stdout, `kern.boottime: ${r.stdout}`);
    // The reboot killed the VM's containers too; nothing has started dockerd since.
    assert.match(status("always"), /^exited 137$/);
  });
});
