// The providers' own code against the simulated Mac where it is as strict as macOS (test/simulator/
// README.md): Homebrew's old kegs listed in APFS's directory order; `brew services` run from an SSH
// session loading Colima into the user/<uid> domain; a Colima that lacks the flags colima-pulse passes;
// a profile name Colima shortens (`colima-work` is `work`).
// The smoke test's pull past a Docker Desktop credsStore, and the API gate for an operator whom the
// Homebrew user's owner-only socket refuses.
// Real processes and files, no engine: each case is what the e2e layer would show, at a provider's scale.
import assert from "node:assert/strict";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ColimaProfileInputs, colimaProfileProvider } from "../../provider/colimaProfile";
import { askApi, waitGate } from "../../provider/healthGate";
import { convergePackages, type HomebrewPackagesInputs } from "../../provider/homebrewPackages";
import { colimaPaths } from "../../provider/lib/host";
import { removeConflictingJobs } from "../../provider/lib/launchd";
import { macOf } from "../../provider/lib/mac";
import { surveyMac } from "../../provider/lib/survey";
import {
  type SmokeContainerInputs,
  type SmokeContainerOutputs,
  smokeContainerProvider,
  smokeDockerConfig,
} from "../../provider/smokeContainer";
import { nextDecisionId } from "../helpers/decisionId";
import { testServices } from "../helpers/services";
import { enforceConnectPermissions } from "../simulator/connectCheck";
import { MacSimulator } from "../simulator/simulator";

describe("HomebrewPackages and the survey on a Mac that keeps old kegs", () => {
  let sim: MacSimulator;
  let inputs: HomebrewPackagesInputs;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock", formulae: ["colima", "qemu", "docker"] });
    process.env.SIM_USER = "ops"; // the provider runs as the operator, who is the Homebrew user here
    inputs = { resourceName: "packages", host: { root: sim.root, user: "ops" }, formulae: ["colima", "lima", "qemu", "docker"] };
  });
  after(async () => {
    await sim?.dispose();
  });

  it("an upgrade that keeps the old keg (HOMEBREW_NO_INSTALL_CLEANUP) records the version Homebrew linked", async () => {
    const mac = macOf(inputs.host);
    const before = await convergePackages(mac, inputs);
    assert.equal(before.versions.lima, "1.2.1");
    sim.publish("lima", "1.2.2");
    // On APFS `brew list --versions lima` now prints `lima 1.2.2 1.2.1`: the old keg last.
    const upgraded = await convergePackages(
      mac,
      { ...inputs, upgrade: { id: nextDecisionId(), formulae: { lima: { from: "1.2.1", to: "1.2.2" } } } },
      before,
    );
    assert.deepEqual(upgraded.versions, { colima: "0.10.3", lima: "1.2.2", qemu: "10.1.0", docker: "28.2.2" });
    const again = await convergePackages(mac, inputs, upgraded);
    assert.equal(again.versions.lima, "1.2.2", "a plain run after it reads the same");
    assert.equal((await surveyMac(mac, "com.colima-pulse.colima", "default")).versions.lima, "1.2.2");
  });
});

describe("brew services' colima loaded from an SSH session (user/<uid>, not gui/<uid>)", () => {
  let sim: MacSimulator;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock", formulae: ["colima", "qemu", "docker"] });
    process.env.SIM_USER = "ops";
    const brew = sim.path("/opt/homebrew/bin/brew");
    // Homebrew's domain_target: over SSH while /dev/console is not the user's → user/<euid>.
    const started = await sim.run([sim.path("/usr/bin/env"), "SSH_TTY=/dev/ttys001", brew, "services", "start", "colima"]);
    assert.equal(started.code, 0, started.stderr);
  });
  after(async () => {
    await sim?.dispose();
  });

  const brewsColima = () => sim.processes().filter((p) => p.command.endsWith("/opt/colima/bin/colima start -f"));
  const loadedIn = async () => {
    const where: string[] = [];
    for (const domain of ["system", "gui/501", "user/501"]) {
      const r = await sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), "print", `${domain}/homebrew.mxcl.colima`]);
      if (r.code === 0) where.push(domain);
    }
    return where;
  };

  it("the survey names its domain; the launchd hygiene boots it out, removes its plist, and brew's colima is gone", async () => {
    const mac = macOf({ root: sim.root, user: "ops" });
    assert.deepEqual(await loadedIn(), ["user/501"]);
    const plist = sim.path("/Users/ops/Library/LaunchAgents/homebrew.mxcl.colima.plist");
    const survey = await surveyMac(mac, "com.colima-pulse.colima", "default");
    const removed = await removeConflictingJobs(mac, "501", () => undefined);
    assert.deepEqual(
      { removed, loaded: await loadedIn(), brewsColima: brewsColima().map((p) => p.command) },
      { removed: ["user/501/homebrew.mxcl.colima"], loaded: [], brewsColima: [] },
      "nothing of brew's job is left to start a second Colima",
    );
    assert.deepEqual(survey.brewJobs, [{ label: "homebrew.mxcl.colima", domain: "user/501", plist }]);
  });
});

describe("a Colima older than the flags colima-pulse passes", { concurrency: false }, () => {
  let sim: MacSimulator;
  const host = () => ({ root: sim.root, user: "ops" });
  const profileInputs = (reset?: ColimaProfileInputs["reset"]): ColimaProfileInputs => ({
    resourceName: "profile",
    host: host(),
    prefix: sim.path("/opt/homebrew"),
    profile: "default",
    cpus: 1,
    memory: 1,
    disk: 5,
    arch: "aarch64",
    label: "com.colima-pulse.colima",
    backupDirBase: sim.path("/Users/ops/colima-pulse-backups"),
    ...(reset ? { reset } : {}),
  });
  const colimaRuns = () =>
    sim
      .records()
      .filter((r) => r.tool === "colima" && r.exit !== undefined && r.argv[0] !== "version")
      .map((r) => `${r.argv.join(" ")} → ${r.exit}`);
  before(async () => {
    sim = await MacSimulator.create({
      dockerTarget: "/nonexistent/docker.sock",
      formulae: ["colima", "qemu", "docker"],
      versions: { colima: "0.8.0" },
    });
    process.env.SIM_USER = "ops";
  });
  after(async () => {
    await sim?.dispose();
  });

  it("0.8.0 (no --cpus): HomebrewPackages and a new profile refuse before anything runs, naming the version, the minimum and the fix", async () => {
    const packages = convergePackages(macOf(host()), {
      resourceName: "packages",
      host: host(),
      formulae: ["colima", "lima", "qemu", "docker"],
    });
    await assert.rejects(packages, /Colima 0\.8\.0 is installed; colima-pulse needs 0\.8\.2 or later .*--cpus.*npm run upgrade/s);
    sim.clearRecords();
    const create = colimaProfileProvider.create?.(profileInputs());
    await assert.rejects(create as Promise<unknown>, /Colima 0\.8\.0 is installed; colima-pulse needs 0\.8\.2 or later .*npm run upgrade/s);
    assert.deepEqual(colimaRuns(), [], "no colima command ran");
  });

  it("0.8.4 (no delete --data): a full reset refuses before it moves anything", async () => {
    sim.publish("colima", "0.8.4");
    assert.equal((await sim.run([sim.path("/opt/homebrew/bin/brew"), "upgrade", "colima"])).code, 0);
    const colima = sim.path("/opt/homebrew/bin/colima");
    const made = await sim.run([
      colima,
      "start",
      "--vm-type",
      "qemu",
      "--runtime",
      "docker",
      "--cpus",
      "1",
      "--memory",
      "1",
      "--disk",
      "5",
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await sim.run([colima, "stop"])).code, 0);
    sim.clearRecords();
    const folder = sim.path(`/Users/ops/colima-pulse-backups/${nextDecisionId()}-default`);
    const reset = { id: folder.split("/").pop()?.slice(0, 16) as string, backup: "move" as const, folder };
    const create = colimaProfileProvider.create?.(profileInputs(reset));
    await assert.rejects(
      create as Promise<unknown>,
      /Colima 0\.8\.4 is installed; npm run reset needs 0\.9\.0 or later .*--data.*npm run upgrade/s,
    );
    assert.deepEqual(
      { instance: existsSync(sim.path("/Users/ops/.colima/_lima/colima/colima.yaml")), backup: existsSync(folder), colima: colimaRuns() },
      { instance: true, backup: false, colima: [] },
      "the profile's state is where it was; nothing moved, no colima command ran",
    );
  });
});

describe("COLIMA_PROFILE=colima-work: Colima's profile `work`", () => {
  let sim: MacSimulator;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock", formulae: ["colima", "qemu", "docker"] });
    process.env.SIM_USER = "ops";
  });
  after(async () => {
    await sim?.dispose();
  });

  it("provisioned — from a shell that sets COLIMA_HOME — its folders and socket are where Colima keeps them, and the survey finds it by either name", async () => {
    const host = { root: sim.root, user: "ops" };
    // The operator (the Homebrew user, running locally) has Colima's folder elsewhere in this
    // shell; the LaunchDaemon's colima will not: colima-pulse's commands must not either.
    const elsewhere = sim.path("/Users/ops/colima-home");
    assert.equal((await sim.run(["/bin/mkdir", "-p", elsewhere])).code, 0);
    process.env.COLIMA_HOME = elsewhere;
    const inputs: ColimaProfileInputs = {
      resourceName: "profile",
      host,
      prefix: sim.path("/opt/homebrew"),
      profile: "colima-work",
      cpus: 1,
      memory: 1,
      disk: 5,
      arch: "aarch64",
      label: "com.colima-pulse.colima",
      backupDirBase: sim.path("/Users/ops/colima-pulse-backups"),
    };
    const outs = await colimaProfileProvider
      .create?.(inputs)
      .then((r) => r.outs as Record<string, unknown>)
      .finally(() => delete process.env.COLIMA_HOME);
    assert.deepEqual(readdirSync(elsewhere), [], "nothing in the shell's COLIMA_HOME");
    const colima = sim.path("/opt/homebrew/bin/colima");
    assert.equal((await sim.run([colima, "start", "--profile", "work"])).code, 0);
    const status = JSON.parse((await sim.run([colima, "status", "--profile", "work", "--json"])).stdout) as { docker_socket: string };
    assert.equal((await sim.run([colima, "stop", "--profile", "work"])).code, 0);
    const paths = colimaPaths(host, "colima-work");
    assert.deepEqual(
      { socket: `unix://${outs.dockerSocket}`, instance: outs.instanceId, config: existsSync(`${paths.configDir}/colima.yaml`) },
      { socket: status.docker_socket, instance: "colima-work", config: true },
      "colima-pulse's socket, instance and folder are Colima's",
    );
    assert.deepEqual(colimaPaths(host, "colima-work"), colimaPaths(host, "work"));
    const survey = await surveyMac(macOf(host), "com.colima-pulse.colima", "colima-work");
    assert.deepEqual(
      survey.profiles.map((p) => [p.name, p.vmType, p.folders.config]),
      [["work", "qemu", paths.configDir]],
    );
  });
});

describe("the Homebrew user's Docker as a Mac leaves it: a Docker Desktop credsStore, an owner-only socket", { concurrency: false }, () => {
  let sim: MacSimulator;
  const host = () => ({ root: sim.root, user: "ops" });
  const socket = () => sim.path("/Users/ops/.colima/default/docker.sock");
  before(async () => {
    sim = await MacSimulator.create({
      dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
      formulae: ["colima", "qemu", "docker"],
      // Homebrew's docker today is 29.x, whose `docker pull` stops at a credential helper's error.
      versions: { docker: "29.0.0" },
      // The Homebrew user, and an admin who runs `npm run converge` on this Mac (passwordless sudo).
      users: { ops: { uid: 501, gid: 20, admin: false, sudo: "none" }, admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" } },
    });
    const started = await sim.run([sim.path("/opt/homebrew/bin/colima"), "start", "--vm-type", "qemu"], { user: "ops" });
    assert.equal(started.code, 0, started.stderr);
    const docker = [sim.path("/opt/homebrew/bin/docker"), "--host", `unix://${socket()}`, "version"];
    for (let i = 0; i < 100 && (await sim.run(docker, { user: "ops" })).code !== 0; i++) await new Promise((r) => setTimeout(r, 200));
  });
  after(async () => {
    process.env.SIM_USER = "ops";
    (globalThis as { __colimaPulseMacs?: Map<string, unknown> }).__colimaPulseMacs?.clear();
    await sim?.dispose();
  });

  it("a credsStore whose helper is not on PATH (Docker Desktop's `desktop`) leaves the smoke test's pull working", async () => {
    // Run by the operator, as every provider step is: the Mac's lock is root's
    // (provider/lib/machineLock.ts), and here the Homebrew user has no sudo.
    process.env.SIM_USER = "admin";
    (globalThis as { __colimaPulseMacs?: Map<string, unknown> }).__colimaPulseMacs?.clear();
    const dotDocker = sim.path("/Users/ops/.docker");
    mkdirSync(dotDocker, { recursive: true });
    writeFileSync(join(dotDocker, "config.json"), '{"credsStore":"desktop"}\n');
    chownSync(dotDocker, 501, 20);
    chownSync(join(dotDocker, "config.json"), 501, 20);
    // The user's own docker pull fails as on a Mac reached over SSH (the helper is not on its PATH).
    const own = await sim.run([sim.path("/opt/homebrew/bin/docker"), "--host", `unix://${socket()}`, "pull", testServices().smokeImage], {
      user: "ops",
    });
    assert.equal(own.code, 1);
    assert.match(
      own.stderr,
      /error getting credentials - err: exec: "docker-credential-desktop": executable file not found in \$PATH, out: ``\n$/,
    );
    const inputs: SmokeContainerInputs = {
      resourceName: "smoke-creds",
      host: host(),
      dockerHost: `unix://${socket()}`,
      image: testServices().smokeImage,
      expectOutput: "Hello from Docker!",
      dockerPath: sim.path("/opt/homebrew/bin/docker"),
      timeoutSeconds: 120,
    };
    const outs = (await smokeContainerProvider.create?.(inputs))?.outs as SmokeContainerOutputs;
    assert.match(outs.output, /Hello from Docker!/);
    assert.equal(readFileSync(join(dotDocker, "config.json"), "utf8"), '{"credsStore":"desktop"}\n', "the user's config is left as it was");
    // The smoke test's own config (written as the Homebrew user): no credential helper, a folder
    // only its owner reads. (The simulator's real mkdir runs as root here, so the owner is not checked.)
    const mine = smokeDockerConfig(host());
    assert.deepEqual([statSync(mine).mode & 0o777, readFileSync(join(mine, "config.json"), "utf8")], [0o700, "{}\n"]);
    await smokeContainerProvider.delete?.("smoke-creds", outs);
  });

  it("an operator who is not the Homebrew user (connect(2) to its srw------- socket: EACCES) gets the Docker API's answer", async () => {
    process.env.SIM_USER = "admin";
    // A Mac object asks `id -un` once per process: this one is asked as the admin.
    (globalThis as { __colimaPulseMacs?: Map<string, unknown> }).__colimaPulseMacs?.clear();
    const undo = enforceConnectPermissions(sim.root);
    const mac = macOf(host());
    const inputs = { prefix: sim.path("/opt/homebrew") };
    try {
      // As HealthGate's API gate waits for it, and as refresh and `npm run fleet -- status` ask.
      const gate = await waitGate(
        "the Docker API",
        5,
        (msLeft) => askApi(mac, inputs, socket(), msLeft),
        () => {},
      );
      assert.match(gate.value ?? "", /^\d+\./);
    } finally {
      undo();
    }
  });
});
