// fleet/status.ts supervisorOf through a recording Mac: launchd is asked as root, so a sudo that
// wants a password is said as such, never read as a job that is not loaded (what `npm run
// doctor` would then have fixed with a converge).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pruneOf, supervisorOf } from "../../fleet/status";
import { resolveSettings } from "../../stacks/config";
import { RecordingMac } from "../helpers/recordingMac";

const HOST = { root: "/", user: "ops" };
const LABEL = "com.colima-pulse.colima";
const SUPERVISOR = { pid: 300, user: "ops", command: `/bin/sh /Library/Application Support/colima-pulse/${LABEL}.sh` };

/** A Mac whose sudo wants a password (or not), and whose job is loaded and running (or not loaded). */
function mac(options: { password: boolean; loaded: boolean; login?: string }): RecordingMac {
  const m = new RecordingMac(
    HOST,
    (argv) => {
      // checkSudo's probe (provider/lib/mac.ts): a root command colima-pulse runs, read-only.
      if (argv.join(" ") === "/bin/launchctl print-disabled system")
        return options.password ? { exitCode: 1, stderr: "sudo: a password is required\n" } : { stdout: "disabled services = {\n}\n" };
      if (argv[0] === "/bin/launchctl") return options.loaded ? { stdout: "system/x = {\n\tstate = running\n}\n" } : { exitCode: 113 };
      return undefined;
    },
    options.login ?? "admin",
  );
  m.processes = [SUPERVISOR];
  return m;
}

describe("supervisorOf", () => {
  it("a sudo that wants a password: an error that says so and how to fix it; launchd is not asked", async () => {
    const m = mac({ password: true, loaded: true });
    await assert.rejects(supervisorOf(m, LABEL, "default", 5), {
      name: "SudoError",
      message:
        /^launchctl print: admin cannot run colima-pulse's root commands through sudo on the recording Mac without a password \(sudo: a password is required\);.*A `sudo -v` cannot help.*`sudo visudo -f \/etc\/sudoers\.d\/colima-pulse`/s,
    });
    assert.deepEqual(m.lines(), ["root: /bin/launchctl print-disabled system"]);
  });

  it("passwordless sudo: launchd's answer, running or not loaded", async () => {
    const running = mac({ password: false, loaded: true });
    assert.equal(await supervisorOf(running, LABEL, "default", 5), "running");
    assert.deepEqual(running.lines(), [
      "root: /bin/launchctl print-disabled system",
      "user: /usr/bin/id -un",
      `root: /bin/launchctl print system/${LABEL}`,
    ]);
    assert.equal(await supervisorOf(mac({ password: false, loaded: false }), LABEL, "default", 5), "not loaded");
  });

  it("as root: no sudo to check", async () => {
    const root = mac({ password: true, loaded: false, login: "root" });
    assert.equal(await supervisorOf(root, LABEL, "default", 5), "not loaded");
    assert.deepEqual(root.lines(), [`root: /bin/launchctl print system/${LABEL}`]);
  });
});

describe("pruneOf", () => {
  /** The settings of a stack file with `values`, some of them secret. */
  const resolved = (values: Record<string, unknown>, secrets: string[] = []) =>
    resolveSettings([{ layer: "stack", file: "stacks/Pulumi.mac-07.yaml", values: { HOMEBREW_USER: "ops", ...values }, secrets }]);

  it("off unless PRUNE_DOCKER_AFTER_START; then PRUNE_MODE (dangling by default)", () => {
    assert.equal(pruneOf(resolved({})), "off");
    assert.equal(pruneOf(resolved({ PRUNE_MODE: "system" })), "off");
    assert.equal(pruneOf(resolved({ PRUNE_DOCKER_AFTER_START: true })), "dangling");
    assert.equal(pruneOf(resolved({ PRUNE_DOCKER_AFTER_START: true, PRUNE_MODE: "images" })), "images");
  });

  it("a secret PRUNE setting is never shown", () => {
    assert.equal(pruneOf(resolved({ PRUNE_DOCKER_AFTER_START: true, PRUNE_MODE: "images" }, ["PRUNE_MODE"])), "[secret]");
    assert.equal(pruneOf(resolved({ PRUNE_DOCKER_AFTER_START: false }, ["PRUNE_DOCKER_AFTER_START"])), "[secret]");
  });
});
