// A Mac driven from another machine over SSH, through the real engine and a real OpenSSH server
// (test/helpers/sshd.ts) in front of a simulated Mac: converge, converge again with nothing run,
// drift repaired, `pulumi` killed and the connection lost mid-step (the next up converges), and the
// refusals that must run nothing — an unknown or changed host key, a sudo that wants a password.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerAnswers, LABEL, mutating, type SimulatedMac, simulatedMac, supervisorSettled, waitFor } from "../helpers/simulatedMac";
import { type Sshd, startSshd } from "../helpers/sshd";

/** Users of the simulated Mac: ops (the Homebrew user, passwordless sudo), admin (another admin:
 *  the SSH login differs from the Homebrew user) and pw (sudo asks for a password). */
const USERS = {
  ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" as const },
  admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" as const },
  pw: { uid: 503, gid: 20, admin: true, sudo: "password" as const },
};

/** What ran on the Mac since the records were cleared, but for the supervisor's own watch of its
 *  VM (`colima status`, every few seconds, launchDaemon.ts): what this run ran there. */
const ranByUs = (mac: SimulatedMac) =>
  mac.sim
    .records()
    .map((e) => `${e.tool} ${e.argv.join(" ")}`)
    .filter((c) => c !== "colima status --profile default");

/** A simulated Mac reached through `sshd` with key `key` (which logs in as that simulated user). */
function sshSettings(sshd: Sshd, key: string, knownHosts = sshd.knownHostsFile): Record<string, string> {
  return {
    SSH_HOST: `${sshd.loginUser}@127.0.0.1`,
    SSH_PORT: String(sshd.port),
    SSH_IDENTITY_FILE: sshd.keys[key]?.identityFile as string,
    SSH_KNOWN_HOSTS_FILE: knownHosts,
  };
}

describe("over SSH: a Mac converged from another machine", { concurrency: false }, () => {
  let sshd: Sshd;
  let mac: SimulatedMac;
  before(async () => {
    sshd = await startSshd({ keys: { admin: { env: { SIM_USER: "admin" } }, pw: { env: { SIM_USER: "pw" } } } });
    mac = await simulatedMac("e2e-ssh", sshSettings(sshd, "admin"), { users: USERS });
  });
  after(async () => {
    await mac?.dispose();
    await sshd?.dispose();
  });

  it("a fresh Mac converges, with the SSH login (admin) other than the Homebrew user (ops)", async () => {
    const r = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /healthy: socket \d+ ms/);
    await waitFor("Docker through the supervised profile", () => dockerAnswers(mac.socket));
    const records = mac.sim.records();
    assert.ok(
      records.some((e) => e.tool === "colima" && e.argv[0] === "start" && e.user === "ops"),
      "colima started as the Homebrew user",
    );
    assert.ok(
      records.some((e) => e.tool === "sudo" && e.user === "admin"),
      "the login user reached root and ops through sudo",
    );
    assert.ok(existsSync(mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`)));
    // Nothing secret in state: the key's path is there (it is how to reach the Mac), never a key.
    const state = JSON.stringify(await mac.stack.state());
    assert.ok(state.includes(sshd.keys.admin?.identityFile as string));
    const key = readFileSync(sshd.keys.admin?.identityFile as string, "utf8");
    assert.ok(!state.includes(key.split("\n")[1] as string), "no private key material in state");
  });

  it("a second up runs no command that changes the Mac, and shows no changes", async () => {
    mac.sim.clearRecords();
    const r = await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.deepEqual(mutating(mac.sim.records()), []);
    assert.match(r.stdout, /unchanged/);
    const preview = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(preview.code, 0, preview.stdout);
  });

  it("drift (the plist edited on the Mac) is reported by preview and repaired by up", async () => {
    const plist = mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`);
    const original = readFileSync(plist, "utf8");
    writeFileSync(plist, original.replace("<integer>120</integer>", "<integer>1</integer>"));
    const drift = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.notEqual(drift.code, 0, "drift found over SSH");
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    assert.equal(readFileSync(plist, "utf8"), original);
    await waitFor("Docker after the repair", () => dockerAnswers(mac.socket));
  });

  it("the Mac reached another way (SSH_HOST changed): preview shows host.ssh only; up records it and changes nothing", async () => {
    // The same sshd under another name: its key is known under that name too.
    const both = join(sshd.dir, "known_hosts.both");
    const line = readFileSync(sshd.knownHostsFile, "utf8").trim();
    writeFileSync(both, `${line}\n${line.replace("[127.0.0.1]", "[localhost]")}\n`);
    await mac.stack.must(["config", "set", "SSH_HOST", `${sshd.loginUser}@localhost`]);
    await mac.stack.must(["config", "set", "SSH_KNOWN_HOSTS_FILE", both]);
    const preview = await mac.stack.must(["preview", "--diff"]);
    // (with --diff, Pulumi prints the providers' lines on stderr)
    const said = preview.stdout + preview.stderr;
    assert.match(
      said,
      /\[colima-profile\] will converge: .*host\.ssh: .*127\.0\.0\.1.* → .*localhost.* \(the Mac is reached another way: state records it, nothing on the Mac changes\)/,
    );
    assert.doesNotMatch(said, /replace/);
    mac.sim.clearRecords();
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.deepEqual(mutating(mac.sim.records()), [], "nothing on the Mac changed");
    const daemon = await mac.stack.resourceOf("pulumi-nodejs:dynamic/colima-pulse:LaunchDaemon");
    const recorded = daemon.outputs?.host as { ssh?: { destination?: string } } | undefined;
    assert.equal(recorded?.ssh?.destination, `${sshd.loginUser}@localhost`);
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
    // And back, for the tests below.
    await mac.stack.must(["config", "set", "SSH_HOST", `${sshd.loginUser}@127.0.0.1`]);
    await mac.stack.must(["config", "set", "SSH_KNOWN_HOSTS_FILE", sshd.knownHostsFile]);
    mac.sim.clearRecords();
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
    assert.deepEqual(mutating(mac.sim.records()), []);
  });

  it("pulumi killed mid-step: the next up converges (the lock on the Mac waits for the step in flight)", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "3"]);
    await mac.stack.killDuring(["up", "--yes", "--skip-preview"], (out) =>
      /waiting for (the Docker socket|QEMU|the Docker API)|healthy:/.test(out),
    );
    // A kill that lands while the local backend writes its checkpoint's sidecar leaves it empty
    // (README "Troubleshooting"): removed first, so `cancel` can read the stack and drop its lock.
    mac.stack.removeBrokenCheckpointAttrs();
    await mac.stack.must(["cancel", "--yes"]);
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    await waitFor("Docker after the recovery run", () => dockerAnswers(mac.socket));
    const clean = await mac.stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.stdout);
  });

  it("the connection lost mid-step (sshd stopped): that step fails saying so; the next up converges", async () => {
    await mac.stack.must(["config", "set", "COLIMA_CPUS", "2"]);
    const run = mac.stack.cli(["up", "--yes", "--skip-preview"]);
    await waitFor(
      "the run to reach the gates",
      () => mac.sim.records().some((e) => e.tool === "launchctl" && e.argv[0] === "bootstrap"),
      120_000,
    );
    await sshd.stop();
    const r = await run;
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /the SSH connection to .*127\.0\.0\.1.* failed or was lost .*Run the same command again once `ssh -p \d+ /);
    await sshd.start();
    await mac.stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    await waitFor("Docker after the connection came back", () => dockerAnswers(mac.socket));
  });

  it("an unknown host key is refused before any command runs on the Mac", async () => {
    const empty = join(sshd.dir, "known_hosts.empty");
    writeFileSync(empty, "");
    await mac.stack.must(["config", "set", "SSH_KNOWN_HOSTS_FILE", empty]);
    await supervisorSettled(mac);
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /\[127\.0\.0\.1\]:\d+ has no known host key in .*known_hosts\.empty: refused, nothing was run on it/);
    assert.match(r.stdout, /ssh-keyscan -p \d+ 127\.0\.0\.1/);
    assert.deepEqual(ranByUs(mac), [], "not one command ran on the Mac");
  });

  it("a changed host key is refused before any command runs, with the exact fix", async () => {
    await mac.stack.must(["config", "set", "SSH_KNOWN_HOSTS_FILE", sshd.wrongKnownHostsFile]);
    await supervisorSettled(mac);
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["preview"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /the host key of \[127\.0\.0\.1\]:\d+ is not the one in .*: refused, nothing was run on it/);
    assert.match(r.stdout, /ssh-keygen -R '\[127\.0\.0\.1\]:\d+'/);
    assert.deepEqual(ranByUs(mac), []);
    await mac.stack.must(["config", "set", "SSH_KNOWN_HOSTS_FILE", sshd.knownHostsFile]);
  });

  it("a login whose sudo wants a password is refused, and nothing on the Mac changes", async () => {
    await mac.stack.must(["config", "set", "SSH_IDENTITY_FILE", sshd.keys.pw?.identityFile as string]);
    const plist = readFileSync(mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`), "utf8");
    mac.sim.clearRecords();
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stdout,
      /pw cannot run colima-pulse's root commands through sudo on .* without a password \(sudo: a password is required\)/,
    );
    // Over SSH there is no terminal either (ssh -T): the sudoers lines, to put in on the Mac.
    assert.match(
      r.stdout,
      /A `sudo -v` cannot help: .* run `sudo visudo -f \S*\/etc\/sudoers\.d\/colima-pulse` on \S+@127\.0\.0\.1 and put in it/,
    );
    assert.match(r.stdout, /^\s*pw ALL=\(root\) NOPASSWD: \S*\/bin\/launchctl, /m);
    assert.deepEqual(mutating(mac.sim.records()), []);
    assert.deepEqual(
      ranByUs(mac).filter((c) => !/^(id -un|sudo -n \S+\/bin\/launchctl print-disabled system)$/.test(c)),
      [],
      "only the checks ran",
    );
    assert.equal(readFileSync(mac.sim.path(`/Library/LaunchDaemons/${LABEL}.plist`), "utf8"), plist);
    await mac.stack.must(["config", "set", "SSH_IDENTITY_FILE", sshd.keys.admin?.identityFile as string]);
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
});
