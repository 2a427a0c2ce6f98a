// Other autostarts, through the real engine on a simulated Mac with Lima 2.2: Lima's own jobs for
// this profile's instance (`limactl autostart enable`, at login and at boot) are listed by the
// preview and booted out and removed by `up`; one for another instance stays. A colima-pulse job
// left by a stack that is gone is listed and stays, until `npm run remove-stale-jobs` removes it.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { supervisorScript } from "../../provider/lib/supervisor";
import { plantJob } from "../helpers/autostarts";
import { dockerAnswers, mutating, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const out = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;

describe("other autostarts: listed, previewed, booted out and removed by up", { concurrency: false }, () => {
  let mac: SimulatedMac;
  const launchctl = (...argv: string[]) => mac.sim.run([mac.sim.path("/usr/bin/sudo"), "-n", mac.sim.path("/bin/launchctl"), ...argv]);
  const home = () => mac.sim.world.home("ops");
  const agent = (inst: string) => join(home(), `Library/LaunchAgents/io.lima-vm.autostart.${inst}.plist`);
  const daemon = (inst: string) => mac.sim.path(`/Library/LaunchDaemons/io.lima-vm.daemon.${inst}.plist`);
  /** `limactl autostart …` as the Homebrew user types it for Colima's instances (with LIMA_HOME). */
  const autostart = (...argv: string[]) =>
    mac.sim.run([
      mac.sim.path("/usr/bin/env"),
      `LIMA_HOME=${join(home(), ".colima/_lima")}`,
      join(mac.sim.world.brewPrefix(), "bin/limactl"),
      "autostart",
      ...argv,
    ]);

  before(async () => {
    mac = await simulatedMac("e2e-autostarts", {}, { versions: { lima: "2.2.0" } });
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    await waitFor("Docker through the supervised profile", () => dockerAnswers(mac.socket));
  });
  after(async () => mac?.dispose());

  it("Lima's jobs for this profile's instance are in the preview; one for another instance is not; the preview changes nothing", async () => {
    // Another instance in Colima's Lima folder (profile work's), with its own login job.
    mkdirSync(join(home(), ".colima/_lima/colima-work"), { recursive: true });
    writeFileSync(join(home(), ".colima/_lima/colima-work/lima.yaml"), JSON.stringify({ vmType: "qemu", arch: "aarch64" }));
    for (const argv of [
      ["enable", "colima"],
      ["enable", "--condition=boot", "colima"],
      ["enable", "colima-work"],
    ]) {
      const r = await autostart(...argv);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await launchctl("print", "gui/501/io.lima-vm.autostart.colima")).code, 113, "the login job waits for a login");
    assert.equal((await launchctl("print", "system/io.lima-vm.daemon.colima")).code, 0, "the boot job is loaded (it ran, and failed)");
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["preview", "--diff"]);
    assert.equal(r.code, 0, out(r));
    assert.ok(
      out(r).includes(
        `launchd job io.lima-vm.autostart.colima starts this profile: Lima's autostart job for instance colima (limactl autostart, at login) (not loaded; its plist ${agent("colima")} loads at the next login)`,
      ),
      out(r),
    );
    assert.ok(
      out(r).includes(
        `launchd job io.lima-vm.daemon.colima starts this profile: Lima's autostart job for instance colima (limactl autostart --condition=boot) (system domain, ${daemon("colima")})`,
      ),
      out(r),
    );
    assert.ok(out(r).includes(`remove ${agent("colima")}, so only colima-pulse starts Colima`), out(r));
    assert.ok(
      out(r).includes(`boot out io.lima-vm.daemon.colima (system) and remove ${daemon("colima")}, so only colima-pulse starts Colima`),
      out(r),
    );
    // The LaunchDaemon's own line in the preview: what it will do with them.
    assert.ok(
      out(r).includes(
        'will converge: otherJobs: - ["system/io.lima-vm.daemon.colima","gui/501/io.lima-vm.autostart.colima"] (booted out and removed: io.lima-vm.daemon.colima (',
      ),
      out(r),
    );
    assert.doesNotMatch(out(r), /io\.lima-vm\.autostart\.colima-work/);
    assert.deepEqual(mutating(mac.sim.records()), []);
  });

  it("up boots them out and removes their plists; the other instance's job stays; Docker stays up; then nothing is left to do", async () => {
    const r = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(out(r), /booted out system\/io\.lima-vm\.daemon\.colima/);
    for (const path of [agent("colima"), daemon("colima")]) assert.equal(existsSync(path), false, path);
    for (const target of ["gui/501/io.lima-vm.autostart.colima", "user/501/io.lima-vm.autostart.colima", "system/io.lima-vm.daemon.colima"])
      assert.equal((await launchctl("print", target)).code, 113, target);
    assert.equal(existsSync(agent("colima-work")), true, "another instance's job is not touched");
    assert.ok(dockerAnswers(mac.socket), "the supervised VM was not restarted away");
    const clean = await mac.stack.cli(["preview", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
    assert.doesNotMatch(out(clean), /starts this profile/);
  });

  it("a colima-pulse job a gone stack left: listed, left by up, removed by npm run remove-stale-jobs", async () => {
    const label = "com.colima-pulse.renamed";
    const script = supervisorScript({ root: mac.sim.root }, label);
    writeFileSync(script, "#!/bin/sh\nPROFILE='old'\n", { mode: 0o755 });
    const rule = mac.sim.path(`/etc/newsyslog.d/${label}.conf`);
    writeFileSync(rule, "# old rule\n", { mode: 0o644 });
    const plist = await plantJob(mac.sim, {
      label,
      where: "daemon",
      userName: "ops",
      programArguments: [mac.sim.path("/bin/sh"), script],
      load: true,
    });
    const why = `stale: colima-pulse LaunchDaemon ${label} supervises profile old, which no longer exists on this Mac (system domain, ${plist})`;

    const plain = await mac.stack.must(["up", "--yes"]);
    assert.ok(out(plain).includes(why), out(plain));
    assert.ok(
      out(plain).includes(`leave stale ${label} as it is (\`npm run remove-stale-jobs\` removes it, after its own preview)`),
      out(plain),
    );
    for (const path of [plist, script, rule]) assert.equal(existsSync(path), true, path);
    assert.equal((await launchctl("print", `system/${label}`)).code, 0, "still loaded");

    const removed = await mac.stack.script(["scripts/remove-stale-jobs.sh", "--yes"]);
    assert.equal(removed.code, 0, out(removed));
    assert.match(out(removed), /REMOVE STALE JOBS on stack/);
    const shown = out(removed).indexOf(`npm run remove-stale-jobs: boot out system/${label} and remove ${plist}, ${script}, ${rule}`);
    assert.ok(shown >= 0 && shown < out(removed).indexOf("Updating ("), out(removed));
    for (const path of [plist, script, rule]) assert.equal(existsSync(path), false, path);
    assert.equal((await launchctl("print", `system/${label}`)).code, 113);
    assert.ok(existsSync(mac.sim.path("/Library/LaunchDaemons/com.colima-pulse.colima.plist")), "this stack's own job stays");
    assert.ok(dockerAnswers(mac.socket));
  });
});
