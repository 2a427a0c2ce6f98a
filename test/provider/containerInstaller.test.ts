// ContainerInstaller's failure against real processes: it names the script and why it failed,
// read from the CommandError's fields, and never repeats what the script printed (its secrets).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ContainerInstallerInputs, containerInstallerProvider, installerLog } from "../../provider/containerInstaller";
import { macRoot } from "../helpers/macRoot";

describe("ContainerInstaller", () => {
  it("says which script failed and why (exit code), not what it printed", async () => {
    const host = macRoot("cpulse-installer-");
    const root = host.root;
    const dir = join(root, "installer");
    mkdirSync(dir);
    writeFileSync(join(dir, "install.sh"), `echo "token=$TOKEN"; echo "token=$TOKEN" >&2; exit 3\n`);
    const inputs: ContainerInstallerInputs = {
      resourceName: "demo",
      host,
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
        `[demo] ${dir}/install.sh exited with code 3 on this Mac; what it printed is in ${installerLog(host, "demo", "install.sh")} there ` +
          "(never shown here: it may hold secrets), or run it by hand with DOCKER_HOST=unix:///nonexistent/docker.sock to see why",
      );
      return true;
    });
    // What it printed is kept on the Mac, for its owner alone.
    const log = installerLog(host, "demo", "install.sh");
    assert.equal(readFileSync(log, "utf8"), "token=s3cr3t-installer-token\ntoken=s3cr3t-installer-token\n");
    assert.equal(statSync(log).mode & 0o777, 0o600);
  });
});
