// Prune after start (PRUNE_DOCKER_AFTER_START, PRUNE_MODE) through the supervisor, on one simulated
// Mac whose VM's Docker is the harness's real dockerd: each mode's prune runs at a real start (a
// `pulumi up` that reloads the job, or the supervisor's own restart of a VM that died), removes
// what Docker's CLI reference says it removes and nothing else, and the supervisor's log quotes
// Docker's "Total reclaimed space" line. A prune the daemon refuses is logged with its error and
// Docker goes on serving; with the flag off nothing is removed. Images come from `docker import`
// of a static busybox (nothing can be pulled from the internet) and the local registry's smoke image.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { dockerAnswers, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const LOG = "/var/log/colima-pulse/colima.log";
const PRUNING = "/Users/ops/.colima/.colima-pulse-default.pruning";
/** Docker's own account at the end of every prune (docker CLI: image prune, system prune). */
const RECLAIMED = /Total reclaimed space: (\d+(?:\.\d+)?\s?[kKMGT]?B)/;

/** The docker CLI against `host`: its output, or undefined when it failed. */
function docker(host: string, args: string[], input?: Buffer): string | undefined {
  const r = spawnSync("docker", ["--host", `unix://${host.replace(/^unix:\/\//, "")}`, ...args], { input, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
function must(host: string, args: string[], input?: Buffer): string {
  const r = spawnSync("docker", ["--host", `unix://${host.replace(/^unix:\/\//, "")}`, ...args], { input, encoding: "utf8" });
  assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Every image this run made (removed at its end, if a prune has not). */
const made: string[] = [];

/** An image of its own (a static busybox and 256 KiB of random bytes, so it has something to
 *  reclaim), by `docker import`: tagged `ref`, or dangling (untagged) without one. Its id. */
function importImage(host: string, ref?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-prune-image-"));
  try {
    mkdirSync(join(dir, "bin"));
    copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
    chmodSync(join(dir, "bin/busybox"), 0o755);
    writeFileSync(join(dir, "data"), randomBytes(256 * 1024));
    const tar = execFileSync("tar", ["-C", dir, "-cf", "-", "."], { maxBuffer: 64 * 1024 * 1024 });
    const id = must(host, ["import", "--change", 'CMD ["/bin/busybox","sleep","3600"]', "-", ...(ref ? [ref] : [])], tar);
    made.push(id);
    return id;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const log = (mac: SimulatedMac) => (existsSync(mac.sim.path(LOG)) ? readFileSync(mac.sim.path(LOG), "utf8") : "");
/** Waits for `pattern` in the job's log after `from` characters. */
async function logSays(mac: SimulatedMac, pattern: RegExp, from: number, ms = 120_000): Promise<RegExpExecArray> {
  try {
    await waitFor(`${LOG} to say ${pattern}`, () => pattern.test(log(mac).slice(from)), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it says:\n${log(mac).slice(from).split("\n").slice(-40).join("\n")}`);
  }
  return pattern.exec(log(mac).slice(from)) as RegExpExecArray;
}
/** This run's objects: names of their own, so that what an interrupted run left on the engine
 *  never stands in their way. */
const RUN = `run${process.pid}`;
const name = (what: string) => `prune-test-${what}-${RUN}`;
const qemuPid = (mac: SimulatedMac) => Number(readFileSync(mac.sim.path("/Users/ops/.colima/_lima/colima/qemu.pid"), "utf8").trim());

describe("prune after start, against a real Docker Engine", { concurrency: false }, () => {
  let mac: SimulatedMac;
  let sock: string;
  const smokeImage = testServices().smokeImage;
  /** The first converge, with PRUNE_MODE=images from the start. */
  let first: { stdout: string; stderr: string };
  const seeded: Record<string, string> = {};

  const has = {
    image: (id: string) => docker(sock, ["image", "inspect", id]) !== undefined,
    container: (name: string) => docker(sock, ["container", "inspect", name]) !== undefined,
    running: (name: string) => docker(sock, ["container", "inspect", "--format", "{{.State.Running}}", name]) === "true",
    network: (name: string) => docker(sock, ["network", "inspect", name]) !== undefined,
    volume: (name: string) => docker(sock, ["volume", "inspect", name]) !== undefined,
  };
  /** `pulumi up` after setting `config`, with the preview before it; both outputs. */
  async function change(config: Record<string, string>) {
    for (const [k, v] of Object.entries(config)) await mac.stack.must(["config", "set", k, v]);
    const preview = await mac.stack.must(["preview", "--diff"]);
    const from = log(mac).length;
    const up = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    return { preview: preview.stdout + preview.stderr, up: up.stdout + up.stderr, from, said: () => log(mac).slice(from) };
  }

  before(async () => {
    mac = await simulatedMac("e2e-prune", { PRUNE_DOCKER_AFTER_START: "true", PRUNE_MODE: "images" });
    sock = mac.socket;
    // Before the first converge the VM's socket is not there yet: its engine is this test's own
    // dockerd (test/helpers/services.ts), the one the VM will forward to.
    const engine = testServices().dockerHost;
    seeded.unused = importImage(engine, `prune-test/unused:${RUN}`);
    seeded.running = importImage(engine, `prune-test/running:${RUN}`);
    must(engine, ["run", "--detach", "--name", name("running"), `prune-test/running:${RUN}`]);
    first = await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => {
    // On the engine itself, not the VM's socket: also after a run that failed before the VM was up.
    const engine = testServices().dockerHost;
    // Disconnected first: a container removed by force while on a network can leave its endpoint.
    docker(engine, ["network", "disconnect", "--force", name("used"), name("running")]);
    docker(engine, ["rm", "--force", "--volumes", name("running"), name("stopped"), name("stopped-anon"), name("off")]);
    docker(engine, ["network", "rm", name("used"), name("unused"), name("off")]);
    docker(engine, ["volume", "rm", name("data")]);
    if (made.length > 0) docker(engine, ["image", "rm", "--force", ...made]);
    await mac?.dispose();
  });

  it("images: the first start removes unused tagged images; a running container's image and the smoke image stay", async () => {
    // The gate waited for the prune: it has ended when `up` returns.
    const pruned = /colima-pulse\[\d+\] pruned Docker \(images\): (.*)\n/.exec(log(mac));
    assert.ok(pruned, log(mac));
    console.log(`the log says: ${pruned[0].trim()}`);
    assert.match(pruned[1] as string, RECLAIMED);
    assert.doesNotMatch(pruned[1] as string, /: 0B$/, "an image of 256 KiB and more went");
    assert.equal(has.image(seeded.unused as string), false, "the unused tagged image is gone");
    assert.equal(has.image(seeded.running as string), true, "the running container's image stays");
    assert.equal(has.running(name("running")), true, "its container still runs");
    // The smoke test ran after the prune, which the health gate waited for: its image, pulled
    // after the prune, is still on the engine (a prune after the smoke test would have removed
    // it: no container uses it once the smoke container is gone).
    assert.match(first.stdout, /\[colima-smoke\] ran \S+ \(\S+\): output as expected/);
    assert.ok(has.image(smokeImage), `${smokeImage} is on the engine after the converge`);
    assert.equal(existsSync(mac.sim.path(PRUNING)), false, "the prune's mark is gone: it has ended");
  });

  it("dangling: the change is previewed as a reload; its start removes a dangling image, tagged ones stay", async () => {
    const dangling = importImage(sock);
    const tagged = importImage(sock, `prune-test/tagged:${RUN}`);
    assert.equal(docker(sock, ["image", "inspect", "--format", "{{len .RepoTags}}", dangling]), "0", "untagged: dangling");
    const r = await change({ PRUNE_MODE: "dangling" });
    assert.match(r.preview, /~ pruneMode\s*: "images" => "dangling"/);
    assert.match(
      r.preview,
      /\[colima-daemon\] will converge: pruneMode: images → dangling \(the supervisor script changes: the job reloads and the VM restarts; once Docker answers after that start, and after every start, it runs docker image prune --force\)/,
    );
    // The gate waited for the prune: it has ended when `up` returns.
    const pruned = /colima-pulse\[\d+\] pruned Docker \(dangling\): (.*)\n/.exec(r.said());
    assert.ok(pruned, r.said());
    console.log(`the log says: ${pruned[0].trim()}`);
    assert.match(pruned[1] as string, RECLAIMED);
    assert.doesNotMatch(pruned[1] as string, /: 0B$/);
    assert.match(r.said(), /colima-pulse\[\d+\] stop requested: stopping Colima/, "the job reloaded: the VM restarted");
    assert.equal(has.image(dangling), false, "the dangling image is gone");
    assert.equal(has.image(tagged), true, "a tagged image stays, though no container uses it");
    assert.ok(has.image(smokeImage) && has.image(seeded.running as string));
    assert.equal(has.running(name("running")), true);
  });

  it("system: stopped containers, unused networks and dangling images go; running containers, their images and networks, and volumes stay", async () => {
    const tagged = `prune-test/tagged:${RUN}`;
    must(sock, ["run", "--name", name("stopped"), tagged, "/bin/busybox", "true"]);
    must(sock, ["run", "--name", name("stopped-anon"), "--volume", "/scratch", tagged, "/bin/busybox", "true"]);
    const anonymous = must(sock, ["container", "inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", name("stopped-anon")]);
    must(sock, ["network", "create", name("unused")]);
    must(sock, ["network", "create", name("used")]);
    must(sock, ["network", "connect", name("used"), name("running")]);
    must(sock, ["volume", "create", name("data")]);
    const dangling = importImage(sock);
    const r = await change({ PRUNE_MODE: "system" });
    assert.match(
      r.preview,
      /pruneMode: dangling → system \(the supervisor script changes: the job reloads and the VM restarts; once Docker answers after that start, and after every start, it runs docker system prune --force\)/,
    );
    const pruned = /colima-pulse\[\d+\] pruned Docker \(system\): (.*)\n/.exec(r.said());
    assert.ok(pruned, r.said());
    console.log(`the log says: ${pruned[0].trim()}`);
    assert.match(pruned[1] as string, RECLAIMED);
    assert.deepEqual(
      [has.container(name("stopped")), has.container(name("stopped-anon")), has.network(name("unused")), has.image(dangling)],
      [false, false, false, false],
      "stopped containers, an unused network, a dangling image: gone",
    );
    assert.equal(has.running(name("running")), true, "a running container stays");
    assert.equal(has.image(seeded.running as string), true, "and its image");
    assert.equal(has.network(name("used")), true, "and a network it uses");
    assert.equal(has.image(tagged), true, "a tagged image stays (system prune without --all)");
    // Without --volumes, `docker system prune` removes no volume (Docker's CLI reference, docker
    // system prune: "By default, volumes aren't removed…"): the named one stays, and so does the
    // anonymous volume of a container it removed.
    assert.equal(has.volume(name("data")), true, "a named volume stays");
    assert.equal(has.volume(anonymous), true, "an anonymous volume stays too");
    docker(sock, ["volume", "rm", anonymous]);
  });

  it("a prune the daemon refuses is logged with Docker's error; Docker serves on, and the supervisor goes on supervising", async () => {
    must(sock, ["run", "--name", name("stopped"), `prune-test/tagged:${RUN}`, "/bin/busybox", "true"]);
    mac.sim.setFaults({ pruneConflict: true });
    let from = log(mac).length;
    try {
      mac.sim.signal(qemuPid(mac), "SIGKILL", "the test kills the VM: the supervisor restarts it, and prunes");
      await logSays(mac, /the VM of profile default is gone under colima; restarting it/, from);
      await logSays(
        mac,
        /colima-pulse\[\d+\] prune \(system\) failed \(exit 1\): Error response from daemon: a prune operation is already running; Docker keeps running\n/,
        from,
      );
    } finally {
      mac.sim.setFaults({});
    }
    assert.ok(dockerAnswers(sock), "Docker answers");
    assert.equal(has.container(name("stopped")), true, "nothing was pruned");
    assert.equal(existsSync(mac.sim.path(PRUNING)), false, "the prune has ended: a gate would not wait for it");
    // Still supervising: the next death of the VM is noticed, and that start's prune runs.
    from = log(mac).length;
    mac.sim.signal(qemuPid(mac), "SIGKILL", "the test kills the VM again");
    await logSays(mac, /the VM of profile default is gone under colima; restarting it/, from);
    await logSays(mac, /colima-pulse\[\d+\] pruned Docker \(system\): Total reclaimed space: \S+\n/, from);
    assert.equal(has.container(name("stopped")), false);
  });

  it("off (the default): the change is previewed; the job reloads and nothing is removed after its start", async () => {
    must(sock, ["run", "--name", name("off"), `prune-test/tagged:${RUN}`, "/bin/busybox", "true"]);
    must(sock, ["network", "create", name("off")]);
    const dangling = importImage(sock);
    mac.sim.clearRecords();
    const r = await change({ PRUNE_DOCKER_AFTER_START: "false" });
    // (Pulumi shows the input's empty value, off, as the old one removed)
    assert.match(r.preview, /- pruneMode\s*: "system"\n/);
    assert.match(
      r.preview,
      /\[colima-daemon\] will converge: pruneMode: system → \(none\) \(the supervisor script changes: the job reloads and the VM restarts; nothing is pruned after a start any more\)/,
    );
    await logSays(mac, /colima-pulse\[\d+\] the Docker API answers at /, r.from);
    // A prune would start with that line (renderSupervisor: give_socket, then prune); a dangling
    // image's takes well under a second: look a few seconds later.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.doesNotMatch(r.said(), /prun/i, "the supervisor said nothing of a prune");
    const prunes = mac.sim.records().filter((e) => e.tool === "docker" && e.argv.includes("prune"));
    assert.deepEqual(prunes, [], "no docker prune ran");
    assert.deepEqual(
      [has.container(name("off")), has.network(name("off")), has.image(dangling)],
      [true, true, true],
      "a stopped container, an unused network and a dangling image all stay",
    );
  });
});
