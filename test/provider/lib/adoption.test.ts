// The adoption rules shared by the program and ColimaProfile (provider/lib/adoption.ts): which
// found profiles can be adopted as they are, Colima's spellings of an arch, the folders a reset
// moves, and the top-level keys of a colima.yaml.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { notAdoptable, RESET_COMMAND, resetMoves, sameArch, topLevelYaml } from "../../../provider/lib/adoption";

describe("notAdoptable", () => {
  it("QEMU with Docker, or a profile that never started, can be adopted", () => {
    for (const [vmType, runtime] of [
      ["qemu", "docker"],
      ["", ""],
      ["qemu", ""],
      ["", "docker"],
    ] as const)
      assert.equal(notAdoptable({ name: "default", vmType, runtime }), undefined, `${vmType}/${runtime}`);
  });

  it("another vm type or runtime: why, and that Colima fixes it at creation", () => {
    assert.equal(
      notAdoptable({ name: "work", vmType: "vz", runtime: "containerd" }),
      "profile work was created with vm type vz; Colima fixes the vm type at creation, and colima-pulse runs QEMU only",
    );
    assert.equal(
      notAdoptable({ name: "work", vmType: "qemu", runtime: "incus" }),
      "profile work was created with runtime incus; Colima fixes the runtime at creation, and colima-pulse runs Docker only",
    );
  });

  it("the one command that converts a profile", () => assert.equal(RESET_COMMAND, "npm run reset"));
});

describe("sameArch", () => {
  it("an unrecorded arch or Colima's `host` is the declared one; other spellings map to it", () => {
    assert.equal(sameArch("", "aarch64"), true);
    assert.equal(sameArch("host", "x86_64"), true);
    assert.equal(sameArch("arm64", "aarch64"), true);
    assert.equal(sameArch("amd64", "x86_64"), true);
    assert.equal(sameArch("arm64", "x86_64"), false);
    assert.equal(sameArch("amd64", "aarch64"), false);
    assert.equal(sameArch("x86_64", "x86_64"), true);
    assert.equal(sameArch("riscv64", "aarch64"), false);
  });
});

describe("resetMoves", () => {
  it("config, instance and disk, each into its folder inside the backup", () => {
    const folders = { config: "/c", instance: "/i", disk: "/d" };
    assert.deepEqual(resetMoves({ folders }, "/Users/ops/b/20261130T080000Z-default"), [
      ["/c", "/Users/ops/b/20261130T080000Z-default/config"],
      ["/i", "/Users/ops/b/20261130T080000Z-default/instance"],
      ["/d", "/Users/ops/b/20261130T080000Z-default/disk"],
    ]);
  });
});

describe("topLevelYaml", () => {
  it("key: value lines, however much space after the colon and before a comment", () => {
    assert.deepEqual(topLevelYaml("cpu:    4\nmemory:\t8   # GiB\narch:aarch64\ndisk: 100   \n"), {
      cpu: "4",
      memory: "8",
      arch: "aarch64",
      disk: "100",
    });
  });

  it("quotes around the whole value go, quotes inside it stay", () => {
    assert.deepEqual(topLevelYaml(`a: "x"\nb: 'y'\nc: x"y"\nd: "x"y\ne: "x'\nf: ""\n`), {
      a: "x",
      b: "y",
      c: 'x"y"',
      d: '"x"y',
      e: `"x'`,
      f: "",
    });
  });

  it("nested keys, comments, empty values and lines that are no key are skipped", () => {
    assert.deepEqual(topLevelYaml("# vmType: vz\ndocker:\n  features: {}\n  - item\nmountType:\n9p: x\n_x: y\nrun time: z\nvmType: qemu"), {
      vmType: "qemu",
    });
  });
});
