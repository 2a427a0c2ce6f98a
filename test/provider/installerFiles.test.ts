// The files of an installer's folder (provider/containerInstaller.ts installerFiles), on real
// files: the same list, so the same hash, as the program made before names were checked (an
// upgrade must not run every installer again), and a name that is not UTF-8 refused by its bytes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { installerFiles, installerFolders } from "../../provider/containerInstaller";

describe("installerFiles", () => {
  it("lists what readdirSync(recursive) listed as files, sorted: links followed, UTF-8 names kept", () => {
    const base = mkdtempSync(join(tmpdir(), "cpulse-files-"));
    try {
      const dir = join(base, "demo");
      mkdirSync(join(dir, "lib/deep"), { recursive: true });
      mkdirSync(join(base, "common"));
      writeFileSync(join(dir, "install.sh"), "#!/bin/sh\n");
      writeFileSync(join(dir, "lib/deep/x.bin"), Buffer.from([0, 255]));
      writeFileSync(join(dir, "réglages €.txt"), "x");
      writeFileSync(join(base, "common/common.sh"), "x");
      symlinkSync("../common", join(dir, "common"));
      symlinkSync("lib/deep/x.bin", join(dir, "x-link"));
      const before = readdirSync(dir, { recursive: true, encoding: "utf8" })
        .sort()
        .filter((f) => statSync(join(dir, f)).isFile());
      assert.deepEqual(installerFiles(dir), before);
      assert.deepEqual(before, ["common/common.sh", "install.sh", "lib/deep/x.bin", "réglages €.txt", "x-link"]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("refuses a name that is not UTF-8, in the folder or below it, and an installer folder so named", () => {
    const base = mkdtempSync(join(tmpdir(), "cpulse-files-"));
    try {
      const dir = join(base, "demo");
      mkdirSync(join(dir, "sub"), { recursive: true });
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/sub/a`), Buffer.from([0xc3, 0x28, 0x5c]), Buffer.from(".sh")]), "x");
      assert.throws(
        () => installerFiles(dir),
        (e: Error) => {
          assert.equal(e.name, "InstallerFolderError");
          assert.equal(
            e.message,
            `installer folder ${dir}: the file name "a\\xc3(\\x5c.sh" in sub/ is not UTF-8 (bytes shown as \\xNN): ` +
              "an installer's file names must be UTF-8 text. Rename it (or remove it); nothing was run",
          );
          return true;
        },
      );
      mkdirSync(Buffer.concat([Buffer.from(`${base}/`), Buffer.from([0xff])]));
      assert.throws(() => installerFolders(base), /installer folder .*: the file name "\\xff" is not UTF-8/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
