// ContainerInstaller's failure against real processes: it names the script and why it failed,
// read from the CommandError's fields, and never repeats what the script printed (its secrets).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ContainerInstallerInputs, containerInstallerProvider } from "../../provider/containerInstaller";

/** A host root with the tools runScript and the Mac's lock use, run as this process's user. */
function hostRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "cpulse-installer-"));
  for (const tool of ["/usr/bin/id", "/bin/sh", "/bin/rm", "/bin/ps"]) {
    mkdirSync(join(root, tool, ".."), { recursive: true });
    symlinkSync(tool, join(root, tool));
  }
  mkdirSync(join(root, "var/tmp"), { recursive: true, mode: 0o1777 });
  return root;
}

describe("ContainerInstaller", () => {
  it("says which script failed and why (exit code), not what it printed", async () => {
    const root = hostRoot();
    const dir = join(root, "installer");
    mkdirSync(dir);
    writeFileSync(join(dir, "install.sh"), `echo "token=$TOKEN"; echo "token=$TOKEN" >&2; exit 3\n`);
    const inputs: ContainerInstallerInputs = {
      resourceName: "demo",
      host: { root, user: userInfo().username },
      dir,
      filesHash: "0".repeat(64),
      dockerHost: "unix:///nonexistent/docker.sock",
      prefix: join(root, "opt/homebrew"),
      env: { TOKEN: "s3cr3t-installer-token" },
    };
    const create = containerInstallerProvider.create;
    assert.ok(create);
    await assert.rejects(create(inputs), (e: Error) => {
      assert.equal(
        e.message,
        `[demo] ${dir}/install.sh exited with code 3; run it by hand with DOCKER_HOST=unix:///nonexistent/docker.sock to see why`,
      );
      return true;
    });
  });
});
