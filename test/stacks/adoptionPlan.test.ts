// The adoption decision, as a pure table: what the survey found → what up will do, or the one
// command that resolves a refusal (stacks/adoptionPlan.ts, provider/lib/adoption.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resetMoves, sameArch, topLevelYaml } from "../../provider/lib/adoption";
import type { FoundProfile, MacSurvey } from "../../provider/lib/survey";
import { planAdoption } from "../../stacks/adoptionPlan";

const home = "/Users/ops";
function profile(over: Partial<FoundProfile> = {}): FoundProfile {
  return {
    name: "default",
    vmType: "qemu",
    runtime: "docker",
    arch: "aarch64",
    cpus: 2,
    memoryGiB: 2,
    diskGiB: 100,
    running: false,
    diskBytesUsed: 3 * 1024 ** 3,
    folders: { config: `${home}/.colima/default`, instance: `${home}/.colima/_lima/colima`, disk: `${home}/.colima/_lima/_disks/colima` },
    ...over,
  };
}
const survey = (over: Partial<MacSurvey> = {}): MacSurvey => ({
  prefix: "/opt/homebrew",
  versions: { colima: "0.10.3", lima: "1.2.1" },
  profiles: [],
  brewJobs: [],
  managed: false,
  ...over,
});
const wanted = { profile: "default", cpus: 4, memory: 2, disk: 120, label: "com.colima-pulse.colima" };
const reset = { id: "20261130T080000Z", backup: "move" as const, folder: "/Users/ops/backups/20261130T080000Z-default" };

describe("planAdoption", () => {
  it("a Mac without Colima: provision", () => {
    const plan = planAdoption(survey(), wanted);
    assert.deepEqual(plan.findings, ["no Colima profile", "installed: colima 0.10.3, lima 1.2.1"]);
    assert.deepEqual(plan.will, ["provision profile default on QEMU with the Docker runtime, supervised by com.colima-pulse.colima"]);
    assert.equal(plan.refusal, undefined);
  });

  it("a running QEMU profile under brew services: boot the job out, stop once, adopt in place with the new size", () => {
    const job = { label: "homebrew.mxcl.colima", domain: "user/501", plist: `${home}/Library/LaunchAgents/homebrew.mxcl.colima.plist` };
    const plan = planAdoption(survey({ profiles: [profile({ running: true }), profile({ name: "work" })], brewJobs: [job] }), wanted);
    assert.equal(plan.refusal, undefined);
    assert.deepEqual(plan.findings.slice(0, 3), [
      "profile default: vm type qemu, runtime docker, arch aarch64, 2 CPUs, 2 GiB memory, 100 GiB disk, running, data disk uses 3.0 GiB",
      "profile work: vm type qemu, runtime docker, arch aarch64, 2 CPUs, 2 GiB memory, 100 GiB disk, stopped, data disk uses 3.0 GiB",
      `brew services job homebrew.mxcl.colima (user/501 domain, ${job.plist})`,
    ]);
    assert.deepEqual(plan.will, [
      `boot out homebrew.mxcl.colima (user/501) and remove ${job.plist}, so only colima-pulse starts Colima`,
      "leave profile work alone",
      "stop profile default's running VM once, so the LaunchDaemon is the one that starts it (never two)",
      "adopt profile default in place: its VM, images and volumes stay; no provisioning start; CPUs 2 -> 4, disk grows 100 -> 120 GiB when the LaunchDaemon starts it",
    ]);
  });

  it("brew's plist loaded nowhere (it loads at the next login): found, and removed", () => {
    const plist = `${home}/Library/LaunchAgents/homebrew.mxcl.colima.plist`;
    const plan = planAdoption(survey({ brewJobs: [{ label: "homebrew.mxcl.colima", domain: "gui/501", plist, loaded: false }] }), wanted);
    assert.ok(plan.findings.includes(`brew services job homebrew.mxcl.colima (not loaded; its plist ${plist} loads at the next login)`));
    assert.equal(plan.will[0], `remove ${plist}, so only colima-pulse starts Colima`);
  });

  it("a VZ profile, or another runtime: refused with the one command that converts it", () => {
    for (const [over, why] of [
      [
        { vmType: "vz" },
        "profile default was created with vm type vz; Colima fixes the vm type at creation, and colima-pulse runs QEMU only",
      ],
      [
        { runtime: "containerd" },
        "profile default was created with runtime containerd; Colima fixes the runtime at creation, and colima-pulse runs Docker only",
      ],
    ] as const) {
      const plan = planAdoption(survey({ profiles: [profile(over)] }), wanted);
      assert.equal(
        plan.refusal,
        `${why}. Convert it with a backup: \`npm run reset\` (it shows what moves where, and asks, before doing anything; \`npm run reset -- --help\` for its options).`,
      );
    }
  });

  it("a smaller COLIMA_DISK than the profile's disk: refused, naming the setting and what works", () => {
    const plan = planAdoption(survey({ profiles: [profile({ diskGiB: 200 })] }), wanted);
    assert.match(
      plan.refusal ?? "",
      /^COLIMA_DISK 120 is smaller than profile default's disk \(200 GiB\), and Lima cannot shrink a disk: set COLIMA_DISK to 200 or more/,
    );
  });

  it("a reset with a backup lists each folder and where it goes; without one, that it is deleted", () => {
    const found = profile({ vmType: "vz", running: true });
    const moved = planAdoption(survey({ profiles: [found] }), wanted, reset);
    assert.equal(moved.refusal, undefined);
    assert.deepEqual(moved.will, [
      "stop profile default's VM",
      `FULL RESET: move profile default's state (data disk 3.0 GiB) into ${reset.folder}:`,
      `  ${home}/.colima/default -> ${reset.folder}/config`,
      `  ${home}/.colima/_lima/colima -> ${reset.folder}/instance`,
      `  ${home}/.colima/_lima/_disks/colima -> ${reset.folder}/disk`,
      "provision profile default anew on QEMU with the Docker runtime, supervised by com.colima-pulse.colima",
    ]);
    const deleted = planAdoption(survey({ profiles: [found] }), wanted, { ...reset, backup: "false", folder: "" });
    assert.ok(deleted.will.includes("FULL RESET WITHOUT A BACKUP (--backup=false): DELETE profile default's state, nothing is kept:"));
    assert.ok(deleted.will.includes(`  delete ${home}/.colima/_lima/_disks/colima`));
  });

  it("a reset of a profile that is not there: refused, nothing to reset", () => {
    const plan = planAdoption(survey({ profiles: [profile({ name: "work" })] }), wanted, reset);
    assert.equal(
      plan.refusal,
      "npm run reset: profile default does not exist on this Mac (found: work); there is nothing to reset. `npm run converge` provisions it.",
    );
  });

  it("a managed Mac plans nothing new for its profile; `colima` names the default profile", () => {
    const plan = planAdoption(survey({ profiles: [profile()], managed: true }), { ...wanted, profile: "colima", disk: 100 });
    assert.deepEqual(plan.will, []);
    assert.equal(plan.found?.name, "default");
  });
});

describe("Colima's files", () => {
  it("reads the top-level keys of colima.yaml, quoted or not, ignoring nested keys and comments", () => {
    assert.deepEqual(topLevelYaml('cpu: 4\nvmType: "vz" # fixed\nruntime: docker\ndocker:\n  features: {}\nmountType:\n'), {
      cpu: "4",
      vmType: "vz",
      runtime: "docker",
    });
  });

  it("an arch Colima recorded as host, arm64 or amd64 is the same as the declared one", () => {
    assert.deepEqual(
      [
        ["host", "aarch64"],
        ["arm64", "aarch64"],
        ["amd64", "x86_64"],
        ["aarch64", "aarch64"],
        ["x86_64", "aarch64"],
        ["", "x86_64"],
      ].map(([r, w]) => sameArch(r as string, w as string)),
      [true, true, true, true, false, true],
    );
  });

  it("a reset moves config, instance and disk into the backup folder", () => {
    assert.deepEqual(resetMoves(profile(), "/b"), [
      [`${home}/.colima/default`, "/b/config"],
      [`${home}/.colima/_lima/colima`, "/b/instance"],
      [`${home}/.colima/_lima/_disks/colima`, "/b/disk"],
    ]);
  });
});

describe("planAdoption: details", () => {
  it("a profile that never started: what is unknown said as such", () => {
    const never = profile({
      vmType: "",
      runtime: "",
      arch: "",
      cpus: undefined,
      memoryGiB: undefined,
      diskGiB: undefined,
      diskBytesUsed: undefined,
    });
    const plan = planAdoption(survey({ profiles: [never], versions: {} }), wanted);
    assert.deepEqual(plan.findings, [
      "profile default: vm type (never started), runtime ?, arch ?, stopped, data disk uses unknown",
      "installed: none of colima, lima, qemu, docker",
    ]);
    assert.deepEqual(plan.will, ["provision profile default on QEMU with the Docker runtime, supervised by com.colima-pulse.colima"]);
    assert.equal(plan.found, never);
  });

  it("only the sizes Colima recorded are described", () => {
    const plan = planAdoption(
      survey({ profiles: [profile({ cpus: undefined, diskGiB: undefined, diskBytesUsed: 1536 * 1024 ** 2 })] }),
      wanted,
    );
    assert.equal(
      plan.findings[0],
      "profile default: vm type qemu, runtime docker, arch aarch64, 2 GiB memory, stopped, data disk uses 1.5 GiB",
    );
  });

  it("a managed Mac is named by its LaunchDaemon", () => {
    const plan = planAdoption(survey({ managed: true }), wanted);
    assert.deepEqual(plan.findings, [
      "no Colima profile",
      "colima-pulse's LaunchDaemon com.colima-pulse.colima",
      "installed: colima 0.10.3, lima 1.2.1",
    ]);
  });

  it("Colima's names: colima-x is profile x, another name is itself", () => {
    const profiles = [profile(), profile({ name: "work" }), profile({ name: "x-colima-y" })];
    assert.equal(planAdoption(survey({ profiles }), { ...wanted, profile: "colima-work" }).found?.name, "work");
    assert.equal(planAdoption(survey({ profiles }), { ...wanted, profile: "work" }).found?.name, "work");
    assert.equal(planAdoption(survey({ profiles }), { ...wanted, profile: "x-colima-y" }).found?.name, "x-colima-y");
    assert.equal(planAdoption(survey({ profiles: [profile()] }), { ...wanted, profile: "other" }).found, undefined);
  });

  it("a reset where no profile exists names none, or every one found", () => {
    assert.equal(
      planAdoption(survey(), wanted, reset).refusal,
      "npm run reset: profile default does not exist on this Mac (no Colima profile); there is nothing to reset. `npm run converge` provisions it.",
    );
    assert.equal(
      planAdoption(survey({ profiles: [profile({ name: "a" }), profile({ name: "b" })] }), wanted, reset).refusal,
      "npm run reset: profile default does not exist on this Mac (found: a, b); there is nothing to reset. `npm run converge` provisions it.",
    );
  });

  it("a reset of a stopped profile stops nothing", () => {
    const plan = planAdoption(survey({ profiles: [profile()] }), wanted, reset);
    assert.equal(plan.will[0], `FULL RESET: move profile default's state (data disk 3.0 GiB) into ${reset.folder}:`);
  });

  it("adopting a stopped profile of the declared size: nothing to stop, nothing to change", () => {
    const plan = planAdoption(survey({ profiles: [profile()] }), { ...wanted, cpus: 2, memory: 2, disk: 100 });
    assert.equal(plan.refusal, undefined);
    assert.deepEqual(plan.will, ["adopt profile default in place: its VM, images and volumes stay; no provisioning start"]);
  });

  it("each size that differs, and only those; a size Colima did not record is not compared", () => {
    const memory = planAdoption(survey({ profiles: [profile()] }), { ...wanted, cpus: 2, memory: 8, disk: 100 });
    assert.deepEqual(memory.will, [
      "adopt profile default in place: its VM, images and volumes stay; no provisioning start; memory 2 -> 8 GiB when the LaunchDaemon starts it",
    ]);
    const unrecorded = planAdoption(survey({ profiles: [profile({ cpus: undefined, memoryGiB: undefined, diskGiB: undefined })] }), wanted);
    assert.deepEqual(unrecorded.will, ["adopt profile default in place: its VM, images and volumes stay; no provisioning start"]);
    const all = planAdoption(survey({ profiles: [profile()] }), { ...wanted, cpus: 6, memory: 12, disk: 200 });
    assert.deepEqual(all.will, [
      "adopt profile default in place: its VM, images and volumes stay; no provisioning start; CPUs 2 -> 6, memory 2 -> 12 GiB, disk grows 100 -> 200 GiB when the LaunchDaemon starts it",
    ]);
  });

  it("sizes given as secrets are never written into the plan", () => {
    const plan = planAdoption(survey({ profiles: [profile({ diskGiB: 150 })] }), {
      ...wanted,
      cpus: 6,
      memory: 12,
      disk: 200,
      secret: ["cpus", "memory", "disk"],
    });
    assert.deepEqual(plan.will, [
      "adopt profile default in place: its VM, images and volumes stay; no provisioning start; CPUs 2 -> [secret], memory 2 -> [secret] GiB, disk grows 150 -> [secret] GiB when the LaunchDaemon starts it",
    ]);
    assert.equal(
      planAdoption(survey({ profiles: [profile({ diskGiB: 300 })] }), { ...wanted, secret: ["disk"] }).refusal,
      "COLIMA_DISK [secret] is smaller than profile default's disk (300 GiB), and Lima cannot shrink a disk: set COLIMA_DISK to 300 or more to adopt it (or `npm run reset` for a new, smaller disk).",
    );
  });
});
