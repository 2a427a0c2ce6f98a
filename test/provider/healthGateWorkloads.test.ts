// HealthGate's refresh reads the supervisor's times of the last start (provider/lib/workloads.ts
// parseTimes) on a simulated Mac: a time the supervisor wrote is in the refreshed state, one it has
// not (or a file that is not there) leaves no key at all — the engine's protobuf refuses an
// undefined value ("Unexpected struct type"), which failed every refresh of a Mac whose supervisor
// had not written them.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { after, before, describe, it } from "node:test";
import { type HealthGateOutputs, healthGateProvider } from "../../provider/healthGate";
import { supervisorFiles } from "../../provider/lib/supervisor";
import { MacSimulator } from "../simulator/simulator";

describe("HealthGate refresh: the supervisor's times", () => {
  let sim: MacSimulator;
  let stored: HealthGateOutputs;
  let file: string;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock", formulae: ["colima"] });
    process.env.SIM_USER = "ops";
    const host = { root: sim.root, user: "ops" };
    file = supervisorFiles(host, "default").workloads;
    mkdirSync(dirname(file), { recursive: true });
    stored = {
      resourceName: "gate",
      host,
      prefix: sim.path("/opt/homebrew"),
      profile: "default",
      socketTimeout: 5,
      qemuTimeout: 5,
      apiTimeout: 5,
      stableRequired: 1,
      trigger: "t",
      versions: {},
      dockerHost: "unix:///x",
      dockerVersion: "28.2.2",
      driver: "QEMU",
      timings: { socket: 1, qemu: 1, api: 1, stable: 1 },
      healthy: true,
      bootToDockerSeconds: 12,
      bootToWorkloadsSeconds: 15,
    };
  });
  after(async () => {
    await sim.dispose();
  });

  const read = async () =>
    (await (healthGateProvider.read as NonNullable<typeof healthGateProvider.read>)("gate-default", stored)).props as HealthGateOutputs;

  it("the times the supervisor wrote at the last start", async () => {
    writeFileSync(file, "boot 1796668800\ndocker_up 2026-12-07T18:01:30Z\nboot_to_docker 90\nboot_to_workloads 97\n");
    const props = await read();
    assert.equal(props.bootToDockerSeconds, 90);
    assert.equal(props.bootToWorkloadsSeconds, 97);
    assert.equal(props.healthy, false, "nothing answers at the socket");
  });

  it("a time not written, or no file: no key (never undefined), the old value gone", async () => {
    writeFileSync(
      file,
      "boot 1796668800\ndocker_up 2026-12-07T18:01:30Z\nboot_to_docker 90\nnot_ready web (restart always, exited, no healthcheck)\n",
    );
    const props = await read();
    assert.equal(props.bootToDockerSeconds, 90);
    assert.equal("bootToWorkloadsSeconds" in props, false);
    rmSync(file);
    const none = await read();
    assert.deepEqual(
      Object.entries(none).filter(([, v]) => v === undefined),
      [],
    );
    assert.equal("bootToDockerSeconds" in none, false);
    assert.equal("bootToWorkloadsSeconds" in none, false);
  });
});
