// A remote command's exit 255 is not an SSH failure, and what a command printed never reaches an
// "SSH connection failed" message. ssh exits 255 both when it fails itself and when the remote
// command exits 255 (ssh(1)); telling the two apart from stderr's wording let an installer's own
// output (which may hold a secret in a form the engine does not mask: a token's suffix, a derived
// string) into the error of `pulumi up`. Against a simulated Mac behind a real sshd
// (test/helpers/sshd.ts), through the transport (provider/lib/mac.ts) and through the real engine.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { installerLog } from "../../provider/containerInstaller";
import { macOf } from "../../provider/lib/mac";
import { installerOnlyProgram, macOverSsh } from "../helpers/macOverSsh";
import { TestStack } from "../helpers/pulumiStack";

/** stderr that reads like ssh's own failure, then a secret's suffix. */
const SSH_LIKE = [
  "ssh: connect to host registry.internal port 22: Connection refused",
  "client_loop: send disconnect: Broken pipe",
  "TOKEN_SUFFIX_xyz",
];
const LEAKY = `${SSH_LIKE.map((l) => `echo '${l}' >&2`).join("; ")}; exit 255`;

const INSTALLER_ONLY = installerOnlyProgram("leaky", { TOKEN: "secret" });

describe("exit 255 over SSH: the command's, not ssh's; its output in no SSH error", { concurrency: false }, () => {
  const target = macOverSsh();
  const { stacks } = target;

  const host = () => target.host();

  it("a command that prints ssh-like lines and exits 255 is that command's exit 255, its stderr its own", async () => {
    const mac = macOf(host());
    const r = await mac.run([target.sim.path("/bin/sh"), "-c", LEAKY], { allowFailure: true });
    assert.equal(r.exitCode, 255);
    assert.equal(r.stderr, SSH_LIKE.join("\n"));
    await assert.rejects(mac.run([target.sim.path("/bin/sh"), "-c", LEAKY]), (e: Error & { exitCode?: number }) => {
      assert.equal(e.name, "CommandError", e.message);
      assert.equal(e.exitCode, 255);
      assert.doesNotMatch(e.message, /SSH connection/);
      return true;
    });
  });

  it("an installer exiting 255 after printing TOKEN_SUFFIX_xyz: up fails naming its exit and its log on the Mac, none of its output", async () => {
    const stack = await TestStack.create("sec-exit255", {}, { program: INSTALLER_ONLY, env: { SIM_USER: "ops" } });
    stacks.push(stack);
    const dir = join(stack.dir, "containers/leaky");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "install.sh"), `#!/bin/sh\n${LEAKY}\n`);
    chmodSync(join(dir, "install.sh"), 0o755);
    for (const [key, value] of Object.entries({
      host: JSON.stringify(host()),
      dir,
      filesHash: "0".repeat(64),
      dockerHost: `unix://${target.sim.path("/Users/ops/.colima/default/docker.sock")}`,
      prefix: target.sim.path("/opt/homebrew"),
    }))
      await stack.must(["config", "set", key, value]);
    await stack.must(["config", "set", "--secret", "token", "a-token-whose-suffix-is-TOKEN_SUFFIX_xyz"]);
    const r = await stack.cli(["up", "--yes", "--skip-preview"]);
    const said = r.stdout + r.stderr;
    assert.notEqual(r.code, 0, said);
    assert.match(said, /install\.sh exited with code 255 on .*127\.0\.0\.1.* \(over SSH\)/);
    const log = installerLog(host(), "leaky", "install.sh");
    assert.ok(said.includes(log), `names its log ${log}: ${said}`);
    assert.doesNotMatch(said, /SSH connection/);
    for (const line of SSH_LIKE) assert.ok(!said.includes(line), `its output reached the engine: ${line}`);
    // What it printed is on the Mac, for the Homebrew user alone.
    assert.equal(readFileSync(log, "utf8"), `${SSH_LIKE.join("\n")}\n`);
    assert.equal(statSync(log).mode & 0o777, 0o600);
  });

  it("the connection lost while a command runs: an SSH error that quotes ssh, not what the command had printed", async () => {
    const mac = macOf(host());
    const started = join(target.sshd.dir, "started"); // the simulated Mac's commands are this machine's processes
    const running = mac.run([target.sim.path("/bin/sh"), "-c", `printf 'TOKEN_SUFFIX_%s\\n' lost >&2; touch '${started}'; sleep 30`], {
      timeoutMs: 60_000,
    });
    const outcome = running.then(
      () => undefined,
      (e: Error) => e,
    );
    for (let i = 0; !existsSync(started) && i < 600; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(existsSync(started), "the command started");
    await target.sshd.stop();
    const e = await outcome;
    await target.sshd.start();
    assert.ok(e, "the run failed");
    assert.equal(e.name, "SshError", e.message);
    assert.match(e.message, /failed or was lost/);
    assert.doesNotMatch(e.message, /TOKEN_SUFFIX_lost/);
    assert.doesNotMatch(JSON.stringify({ ...e }), /TOKEN_SUFFIX_lost/, "nor in its fields");
  });
});
