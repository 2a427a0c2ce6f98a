// The operator who runs `pulumi up` is not always the Homebrew user: an admin converging a Mac
// whose Homebrew and Colima belong to a service account. Everything of the user's runs as that
// user (through `sudo -n -u`), everything of the system's as root, and an operator whose sudo needs
// a password is stopped by the pre-flight before anything changes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { dockerAnswers, mutating, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

const USERS = {
  // The service account: owns Homebrew, may not use sudo at all.
  ops: { uid: 501, gid: 20, admin: false, sudo: "none" as const },
  // The operator: an admin with passwordless sudo (or, below, one whose sudo asks for a password).
  admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" as const },
};

describe("an admin operator converging a Mac whose Homebrew user is a service account", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("e2e-operator", {}, { operator: "admin", users: USERS });
  });
  after(async () => mac?.dispose());

  it("runs brew and colima as the Homebrew user, launchd as root, the installer as the Homebrew user", async () => {
    const dir = join(mac.stack.dir, "containers/whoami");
    const out = join(mac.stack.dir, "whoami.log");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "install.sh"), `#!/bin/sh\nset -e\necho "user=$(id -un) greeting=$GREETING" >> ${JSON.stringify(out)}\n`);
    await mac.stack.must(["config", "set", "--secret", "--path", "installerEnv.whoami.GREETING", "hello-from-config"]);

    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.ok(dockerAnswers(mac.socket));
    const records = mac.sim.records();
    const by = (tool: string, verb: string) => [
      ...new Set(records.filter((r) => r.tool === tool && r.argv[0] === verb).map((r) => r.user)),
    ];
    assert.deepEqual(by("brew", "install"), ["ops"]);
    assert.deepEqual(by("colima", "start"), ["ops"]);
    assert.deepEqual(by("launchctl", "bootstrap"), ["root"]);
    // The operator itself only asks questions and calls sudo.
    const asAdmin = new Set(records.filter((r) => r.user === "admin").map((r) => r.tool));
    const questions = new Set(["sudo", "id", "sw_vers", "uname", "sysctl", "fdesetup"]);
    assert.deepEqual(
      [...asAdmin].filter((t) => !questions.has(t)),
      [],
    );
    assert.ok(asAdmin.has("sudo"));
    // The installer ran as the Homebrew user and read its environment from the 0600 file (handed
    // to that user by root's chown; the simulator runs chown itself, so it is not in the record),
    // which is gone afterwards.
    assert.equal(readFileSync(out, "utf8"), "user=ops greeting=hello-from-config\n");
    assert.deepEqual(
      readdirSync("/tmp").filter((f) => f.startsWith("colima-pulse-env-")),
      [],
      "no environment file left behind",
    );
  });

  it("a second up as the operator changes nothing", async () => {
    mac.sim.clearRecords();
    await mac.stack.must(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
    assert.deepEqual(mutating(mac.sim.records()), []);
  });
});

describe("an operator whose sudo asks for a password", () => {
  it("is told to run `sudo -v`, and nothing on the Mac changes", async () => {
    const users = { ...USERS, admin: { ...USERS.admin, sudo: "password" as const } };
    const mac = await simulatedMac("e2e-operator-pw", { smokeImage: testServices().smokeImage }, { operator: "admin", users });
    try {
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stdout,
        /pre-flight: admin cannot use sudo on this Mac without a password \(.*\); the system LaunchDaemon needs root and nothing was changed\. Run `sudo -v` in this terminal first/,
      );
      assert.deepEqual(mutating(mac.sim.records()), []);
      assert.deepEqual(readdirSync(mac.sim.path("/Library/LaunchDaemons")), []);
      assert.equal(existsSync(mac.sim.path("/Users/ops/.colima")), false);
    } finally {
      await mac.dispose();
    }
  });
});
