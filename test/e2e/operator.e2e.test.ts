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
  // macOS's sudo keeps a `sudo -v` per terminal (timestamp_type tty); every command the provider
  // runs starts a session of its own with no terminal (provider/lib/process.ts, detached), so no
  // `sudo -v` reaches it (test/simulator/README.md "System tools"): NOPASSWD rules are the way.
  it("after `sudo -v` on their terminal, `pulumi up` there is refused with the sudoers lines to add, nothing changes; with them it converges", async () => {
    const users = { ...USERS, admin: { ...USERS.admin, sudo: "password" as const } };
    const mac = await simulatedMac("e2e-operator-pw", { smokeImage: testServices().smokeImage }, { operator: "admin", users });
    const term = mac.sim.terminal("admin");
    try {
      assert.equal((await term.sudoV()).code, 0);
      const up = () =>
        term.run(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive"], { cwd: mac.stack.dir, env: mac.stack.environment() });
      const r = await up();
      assert.notEqual(r.code, 0);
      assert.match(
        r.stdout,
        /pre-flight: admin cannot run colima-pulse's root commands through sudo on this Mac without a password \(sudo: a password is required\); the system LaunchDaemon needs root and nothing was changed\. A `sudo -v` cannot help:/,
      );
      assert.ok(r.stdout.includes(`run \`sudo visudo -f ${mac.sim.path("/etc/sudoers.d/colima-pulse")}\` and put in it`), r.stdout);
      const lines = [...r.stdout.matchAll(/^\s*(admin ALL=\(.*)$/gm)].map((m) => m[1]);
      const root = [
        "/bin/launchctl",
        "/usr/bin/install",
        "/bin/mv",
        "/bin/rm",
        "/usr/sbin/chown",
        "/bin/chmod",
        "/usr/bin/fdesetup",
        "/bin/kill",
        "/usr/bin/pmset",
      ];
      assert.deepEqual(
        lines,
        [`admin ALL=(root) NOPASSWD: ${root.map((p) => mac.sim.path(p)).join(", ")}`, "admin ALL=(ops) NOPASSWD: ALL"],
        r.stdout,
      );
      assert.deepEqual(mutating(mac.sim.records()), []);
      assert.deepEqual(readdirSync(mac.sim.path("/Library/LaunchDaemons")), []);
      assert.equal(existsSync(mac.sim.path("/Users/ops/.colima")), false);

      // The lines as printed, in the file it names: the same operator converges, asked for nothing.
      writeFileSync(mac.sim.path("/etc/sudoers.d/colima-pulse"), `${lines.join("\n")}\n`, { mode: 0o440 });
      const again = await up();
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.ok(dockerAnswers(mac.socket));
      // And the delete side (bootout, rm of root's files) needs nothing more.
      const down = await term.run(["pulumi", "destroy", "--yes", "--skip-preview", "--non-interactive"], {
        cwd: mac.stack.dir,
        env: mac.stack.environment(),
      });
      assert.equal(down.code, 0, down.stdout + down.stderr);
      assert.deepEqual(readdirSync(mac.sim.path("/Library/LaunchDaemons")), []);
    } finally {
      term.close();
      await mac.dispose();
    }
  });
});
