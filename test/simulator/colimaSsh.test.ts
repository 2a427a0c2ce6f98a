// `colima ssh -- sudo fstrim -a` on the simulated Mac (tools/colima.ts ssh, tools/lima.ts shell):
// Colima refuses a VM that is not running in its own words (app/app.go SSH), hands a running one
// to `limactl shell <id> …` (environment/vm/lima/shell.go), and the guest's answer waits for as
// long as the VM is frozen. A guest command the simulator does not model is refused, not guessed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";

describe("colima ssh (tools/colima.ts, tools/lima.ts)", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  before(async () => {
    sim = await MacSimulator.create({
      dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
      formulae: ["colima", "qemu", "docker"],
    });
    colima = join(sim.world.brewPrefix(), "bin/colima");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("a stopped profile: `colima not running` (level=fatal), exit 1, no limactl shell", async () => {
    const r = await sim.run([colima, "ssh", "--", "sudo", "fstrim", "-a"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /level=fatal msg="colima not running"\n$/);
    assert.equal(
      sim.records().some((e) => e.tool === "limactl" && e.argv[0] === "shell"),
      false,
    );
  });

  it("a running profile: limactl shell colima sudo fstrim -a runs, exit 0; a guest command not simulated is refused", async () => {
    const start = await sim.run([
      colima,
      "start",
      "--runtime",
      "docker",
      "--vm-type",
      "qemu",
      "--cpus",
      "1",
      "--memory",
      "1",
      "--disk",
      "10",
    ]);
    assert.equal(start.code, 0, start.stderr);
    sim.clearRecords();
    const r = await sim.run([colima, "ssh", "--profile", "default", "--", "sudo", "fstrim", "-a"]);
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
    const shell = sim.records().find((e) => e.tool === "limactl" && e.argv[0] === "shell" && e.exit !== undefined);
    // The simulated session's working directory is the root, outside the home: no --workdir.
    assert.deepEqual(shell?.argv, ["shell", "colima", "sudo", "fstrim", "-a"]);
    assert.equal(shell?.exit, 0);
    const other = await sim.run([colima, "ssh", "--", "uptime"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /the guest command `uptime` is not simulated/);
  });

  it("a frozen VM: the trim waits until the guest runs again", async () => {
    sim.freezeVm("default");
    const child = spawn(colima, ["ssh", "--", "sudo", "fstrim", "-a"], { env: sim.env(), cwd: sim.root, stdio: "ignore" });
    let ended = false;
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    void exited.then(() => {
      ended = true;
    });
    // The session is open (limactl shell started) while the guest stays frozen…
    while (!sim.records().some((e) => e.tool === "limactl" && e.argv[0] === "shell" && e.exit === undefined)) {
      assert.equal(ended, false, "colima ssh ended while the VM was frozen");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(ended, false, "colima ssh ended while the VM was frozen");
    // …and ends once it is thawed.
    sim.thawVm("default");
    assert.equal(await exited, 0);
  });
});
