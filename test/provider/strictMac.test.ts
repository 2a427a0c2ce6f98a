// The providers' own code against the simulated Mac where it is as strict as macOS (test/simulator/
// README.md): Homebrew's old kegs listed in APFS's directory order; `brew services` run from an SSH
// session loading Colima into the user/<uid> domain; a Colima that lacks the flags colima-pulse passes;
// a profile name Colima shortens (`colima-work` is `work`).
// Real processes and files, no engine: each case is what the e2e layer would show, at a provider's scale.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type ColimaProfileInputs, colimaProfileProvider } from "../../provider/colimaProfile";
import { convergePackages, type HomebrewPackagesInputs } from "../../provider/homebrewPackages";
import { colimaPaths } from "../../provider/lib/host";
import { removeConflictingJobs } from "../../provider/lib/launchd";
import { macOf } from "../../provider/lib/mac";
import { surveyMac } from "../../provider/lib/survey";
import { nextDecisionId } from "../helpers/decisionId";
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
