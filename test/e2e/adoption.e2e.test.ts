// Macs that already run Colima, through the real engine: the first preview says what it found
// and what up will do; a QEMU profile is adopted in place; a VZ profile (with `brew services`
// running it) stops up with the one command that converts it — `npm run reset`, run here as the
// operator runs it (scripts/reset.sh) — which shows what moves where before it acts, on Apple
// silicon and Intel layouts, with and without earlier state. And the reset command's bad input.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CliResult } from "../helpers/pulumiStack";
import { dockerAnswers, fullReset, LABEL, mutating, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const FORMULAE = ["colima", "lima", "qemu", "docker"];
const out = (r: CliResult) => r.stdout + r.stderr;

function tools(mac: SimulatedMac, arch: "arm64" | "x86_64") {
  const bin = mac.sim.path(arch === "arm64" ? "/opt/homebrew/bin" : "/usr/local/bin");
  return {
    colima: (...argv: string[]) => mac.sim.run([`${bin}/colima`, ...argv]),
    brew: (...argv: string[]) => mac.sim.run([`${bin}/brew`, ...argv]),
    launchctl: (...argv: string[]) => mac.sim.run([mac.sim.path("/usr/bin/sudo"), "-n", mac.sim.path("/bin/launchctl"), ...argv]),
  };
}

const vmsOf = (mac: SimulatedMac) => mac.sim.processes().filter((p) => /qemu-system-\S+ .*-name lima-colima\b/.test(p.command));

/** Profile `default` created with Colima's defaults (VZ on macOS ≥ 13), a marker in its data
 *  disk, then run by `brew services start colima`. */
async function vzUnderBrewServices(mac: SimulatedMac, arch: "arm64" | "x86_64"): Promise<string> {
  const t = tools(mac, arch);
  assert.equal((await t.colima("start")).code, 0);
  const marker = mac.sim.path("/Users/ops/.colima/_lima/_disks/colima/marker");
  writeFileSync(marker, "the old VM's data");
  assert.equal((await t.colima("stop")).code, 0);
  const started = await t.brew("services", "start", "colima");
  assert.equal(started.code, 0, started.stderr);
  await waitFor("brew's job to run the VZ VM", async () => JSON.parse((await t.colima("status", "--json")).stdout || "{}").driver);
  assert.equal(JSON.parse((await t.colima("status", "--json")).stdout).driver, "macOS Virtualization.Framework");
  return marker;
}

for (const arch of ["arm64", "x86_64"] as const) {
  for (const earlier of ["no stack state", "existing stack state"] as const) {
    describe(`${arch === "arm64" ? "Apple silicon" : "Intel"}, ${earlier}: a running VZ profile under brew services`, {
      concurrency: false,
    }, () => {
      let mac: SimulatedMac;
      let marker: string;
      const backups = () => mac.sim.path("/Users/ops/colima-pulse-backups");
      before(async () => {
        mac = await simulatedMac(
          `e2e-vz-${arch}-${earlier === "no stack state" ? "new" : "old"}`,
          {},
          {
            arch,
            macosVersion: arch === "arm64" ? "15.6" : "14.6",
            formulae: FORMULAE,
          },
        );
        if (earlier === "existing stack state") {
          // Managed once, then someone went back to Colima's defaults by hand.
          await mac.stack.must(["up", "--yes", "--skip-preview"]);
          const t = tools(mac, arch);
          assert.equal((await t.launchctl("bootout", `system/${LABEL}`)).code, 0);
          assert.equal((await t.colima("delete", "--force")).code, 0);
        }
        marker = await vzUnderBrewServices(mac, arch);
        mac.sim.clearRecords();
      });
      after(async () => mac?.dispose());

      it("preview and up say what they found and stop with the one command that converts it; nothing changes", async () => {
        for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
          const r = await mac.stack.cli(args);
          assert.notEqual(r.code, 0, `${args[0]} must stop`);
          const text = out(r);
          assert.match(text, /this Mac, as found:/);
          assert.match(
            text,
            /profile default: vm type vz, runtime docker, arch (aarch64|x86_64), 2 CPUs, 2 GiB memory, 100 GiB disk, running/,
          );
          assert.match(
            text,
            /brew services job homebrew\.mxcl\.colima \(gui\/501 domain, \S+\/Library\/LaunchAgents\/homebrew\.mxcl\.colima\.plist\)/,
          );
          assert.match(text, /installed: colima 0\.10\.3, lima 1\.2\.1, qemu 10\.1\.0, docker 28\.2\.2/);
          assert.match(text, /profile default was created with vm type vz; .*Convert it with a backup: `npm run reset`/);
        }
        assert.deepEqual(mutating(mac.sim.records()), [], "nothing ran that changes the Mac");
        assert.equal(readFileSync(marker, "utf8"), "the old VM's data");
        assert.equal(existsSync(backups()), false);
      });

      it("the reset's preview shows the backup folder and every folder that moves into it", async () => {
        const decision = fullReset(mac.stack);
        const folder = `${backups()}/${decision.COLIMA_PULSE_RESET_ID}-default`;
        const r = await mac.stack.cli(["preview"], 300_000, decision);
        assert.equal(r.code, 0, out(r));
        const home = mac.sim.path("/Users/ops");
        assert.match(out(r), new RegExp(`FULL RESET: move profile default's state \\(data disk [\\d.]+ GiB\\) into ${folder}:`));
        for (const [from, to] of [
          [".colima/default", "config"],
          [".colima/_lima/colima", "instance"],
          [".colima/_lima/_disks/colima", "disk"],
        ])
          assert.ok(out(r).includes(`${home}/${from} -> ${folder}/${to}`), `${from} -> ${to}\n${out(r)}`);
        assert.match(out(r), /boot out homebrew\.mxcl\.colima \(gui\/501\)/);
        assert.deepEqual(mutating(mac.sim.records()), []);
      });

      it("with --backup=false the reset's preview says the state is deleted, with nothing kept", async () => {
        const r = await mac.stack.cli(["preview"], 300_000, fullReset(mac.stack, "false"));
        assert.equal(r.code, 0, out(r));
        assert.match(out(r), /FULL RESET WITHOUT A BACKUP \(--backup=false\): DELETE profile default's state, nothing is kept:/);
        assert.ok(out(r).includes(`delete ${mac.sim.path("/Users/ops/.colima/_lima/_disks/colima")}`), out(r));
        // No backup folder in the plan or the resources' inputs (the `settings` output still names
        // BACKUP_DIR_BASE, the setting).
        assert.doesNotMatch(out(r).split("\nOutputs:")[0] as string, /colima-pulse-backups/);
        assert.deepEqual(mutating(mac.sim.records()), []);
      });

      it("`npm run reset -- --yes` converts it: QEMU under the LaunchDaemon, the old state whole in the backup, brew's job gone, no drift", async () => {
        const r = await mac.stack.script(["scripts/reset.sh", "--yes"]);
        assert.equal(r.code, 0, out(r));
        // Shown by the preview, before the update started.
        const shown = out(r).indexOf("FULL RESET: move profile default's state");
        assert.ok(shown >= 0 && shown < out(r).indexOf("Updating ("), out(r));
        const [folder, ...more] = readdirSync(backups());
        assert.deepEqual(more, [], "one backup");
        assert.equal(readFileSync(join(backups(), folder as string, "disk/marker"), "utf8"), "the old VM's data");
        assert.match(readFileSync(join(backups(), folder as string, "instance/colima.yaml"), "utf8"), /^vmType: vz$/m);
        const t = tools(mac, arch);
        assert.equal(JSON.parse((await t.colima("status", "--json")).stdout).driver, "QEMU");
        assert.match((await t.launchctl("print", `system/${LABEL}`)).stdout, /\tstate = running\n/);
        assert.equal((await t.launchctl("print", "gui/501/homebrew.mxcl.colima")).code, 113, "brew's job is gone");
        assert.equal(existsSync(mac.sim.path("/Users/ops/Library/LaunchAgents/homebrew.mxcl.colima.plist")), false);
        await waitFor("Docker on the converted profile", () => dockerAnswers(mac.socket));
        assert.equal(vmsOf(mac).length, 1, "one VM");
        const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
        assert.equal(clean.code, 0, out(clean));
      });
    });
  }
}

describe("an existing QEMU profile started by hand is adopted in place", { concurrency: false }, () => {
  let mac: SimulatedMac;
  let t: ReturnType<typeof tools>;
  let unrelated: number;
  const instance = () => mac.sim.path("/Users/ops/.colima/_lima/colima");
  before(async () => {
    mac = await simulatedMac("e2e-adopt", { COLIMA_CPUS: "3", COLIMA_DISK: "20" }, { formulae: FORMULAE });
    t = tools(mac, "arm64");
    const started = await t.colima("start", "--vm-type", "qemu", "--runtime", "docker", "--cpus", "2", "--disk", "30");
    assert.equal(started.code, 0, started.stderr);
    writeFileSync(join(instance(), "marker"), "my images and volumes");
    writeFileSync(mac.sim.path("/Users/ops/.colima/_lima/_disks/colima/marker"), "my data disk");
    unrelated = mac.sim.startUnrelatedProcess();
  });
  after(async () => mac?.dispose());

  it("a COLIMA_DISK smaller than its disk is refused in preview, naming the setting", async () => {
    const r = await mac.stack.cli(["preview"]);
    assert.notEqual(r.code, 0);
    assert.match(
      out(r),
      /COLIMA_DISK 20 is smaller than profile default's disk \(30 GiB\), and Lima cannot shrink a disk: set COLIMA_DISK to 30 or more/,
    );
  });

  it("the first preview reports the profile and the adoption, and plans no reset", async () => {
    await mac.stack.must(["config", "set", "COLIMA_DISK", "40"]);
    const r = await mac.stack.cli(["preview", "--diff"]);
    assert.equal(r.code, 0, out(r));
    assert.match(out(r), /profile default: vm type qemu, runtime docker, arch aarch64, 2 CPUs, 2 GiB memory, 30 GiB disk, running/);
    assert.match(out(r), /stop profile default's running VM once, so the LaunchDaemon is the one that starts it/);
    assert.match(
      out(r),
      /adopt profile default in place: its VM, images and volumes stay; no provisioning start; CPUs 2 -> 3, disk grows 30 -> 40 GiB/,
    );
    assert.doesNotMatch(out(r), /reset|replace/i, "a plain preview never shows a reset");
  });

  it("up takes it over: no delete, no provisioning start, one VM, data in place, the new size, the unrelated process alive", async () => {
    mac.sim.clearRecords();
    const r = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /adopted profile default in place/);
    const colima = mac.sim.records().filter((e) => e.tool === "colima" && e.exit === undefined);
    assert.deepEqual(
      colima.filter((e) => e.argv[0] === "delete" || (e.argv[0] === "start" && !e.argv.includes("--foreground"))),
      [],
      "no colima delete, and the only start is the supervised one",
    );
    await waitFor("Docker on the adopted profile", () => dockerAnswers(mac.socket));
    assert.equal(vmsOf(mac).length, 1, "one VM");
    assert.equal(readFileSync(join(instance(), "marker"), "utf8"), "my images and volumes");
    assert.equal(readFileSync(mac.sim.path("/Users/ops/.colima/_lima/_disks/colima/marker"), "utf8"), "my data disk");
    const status = JSON.parse((await t.colima("status", "--json")).stdout) as { cpu: number; disk: number; driver: string };
    assert.deepEqual([status.driver, status.cpu, status.disk], ["QEMU", 3, 40 * 1024 ** 3]);
    assert.equal(mac.sim.isAlive(unrelated), true);
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("a managed Mac's preview stays quiet about the survey", async () => {
    const r = await mac.stack.cli(["preview"]);
    assert.equal(r.code, 0, out(r));
    assert.doesNotMatch(out(r), /this Mac, as found/);
  });
});

describe("`npm run reset` bad input: a clear error and nothing run", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-reset-input");
  });
  after(async () => mac?.dispose());

  const cases: [string, string[], RegExp][] = [
    [
      "an unknown backup mode",
      ["--backup=bogus", "--yes"],
      /--backup=bogus: not a backup mode; use --backup=move \(default\), --backup=prompt or --backup=false/,
    ],
    [
      "--backup=prompt without a terminal",
      ["--backup=prompt", "--yes"],
      /--backup=prompt asks on a terminal, and there is none: choose --backup=move or --backup=false/,
    ],
    ["no terminal and no --yes", [], /a full reset asks for confirmation on a terminal, and there is none: add --yes/],
    [
      "a profile that does not exist",
      ["--yes"],
      /npm run reset: profile default does not exist on this Mac \(no Colima profile\); there is nothing to reset/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      mac.sim.clearRecords();
      const r = await mac.stack.script(["scripts/reset.sh", ...args]);
      assert.notEqual(r.code, 0);
      assert.match(out(r), message);
      assert.deepEqual(mac.sim.records(), [], "no command ran on the Mac");
    });
  }

  it("--backup=prompt on a terminal asks move or delete before anything else, and goes on with the answer", async () => {
    mac.sim.clearRecords();
    // script(1) gives the reset a terminal; the answers: one it does not take, then "d" (delete).
    const r = await mac.stack.script(["-c", 'printf "x\\nd\\n" | script -qec "bash scripts/reset.sh --backup=prompt --yes" /dev/null']);
    assert.match(out(r), /move the profile's state to a backup folder first \[m\], or DELETE it without a backup \[d\]\?/);
    assert.match(out(r), /FULL RESET of Colima profile 'default' on stack 'e2e-reset-input' \(backup: false\)/);
    assert.match(out(r), /profile default does not exist on this Mac/, "and the program still refuses a reset of nothing");
    assert.deepEqual(mac.sim.records(), []);
  });

  it("--help prints the reset's options", async () => {
    const r = await mac.stack.script(["scripts/reset.sh", "--help"]);
    assert.equal(r.code, 0);
    for (const option of ["--backup=move", "--backup=prompt", "--backup=false", "--yes", "--help"])
      assert.ok(r.stdout.includes(option), option);
  });

  it("a decision left in the environment for over an hour, or for another profile, is refused", async () => {
    mac.sim.clearRecords();
    const stale = { ...fullReset(mac.stack), COLIMA_PULSE_RESET_ID: "20200101T000000Z" };
    const old = await mac.stack.cli(["preview"], 300_000, stale);
    assert.notEqual(old.code, 0);
    assert.match(
      out(old),
      /COLIMA_PULSE_RESET_ID \(environment, set by npm run reset\) = "20200101T000000Z": a decision is valid for 60 minutes/,
    );
    const other = await mac.stack.cli(["preview"], 300_000, fullReset(mac.stack, "move", "work"));
    assert.match(
      out(other),
      /COLIMA_PULSE_FULL_RESET \(environment, set by npm run reset\) = "work": names another profile than this stack's COLIMA_PROFILE \(default\)/,
    );
    assert.deepEqual(mac.sim.records(), []);
  });
});
