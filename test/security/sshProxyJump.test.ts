// A ProxyJump from the operator's ssh config: every hop is checked as strictly as the Mac, and
// nothing is forwarded. ssh turns a ProxyJump into a ProxyCommand running another ssh for the hop,
// which gets none of the command line's -o options (openssh-portable ssh.c): before, a jump host's
// key was accepted on first use when the operator's config said `StrictHostKeyChecking
// accept-new` for it, and `ForwardAgent yes` from that config put the operator's agent on the Mac.
// The real sshd (test/helpers/sshd.ts) is both the jump host (as `localhost`) and the Mac (as
// 127.0.0.1). The operator's config is /etc/ssh/ssh_config inside a private mount namespace (the
// machine's own is never touched; this machine has no ~/.ssh/config, and ssh reads the system file
// the same way after it).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Sshd, startSshd } from "../helpers/sshd";

const here = __dirname;
let sshd: Sshd;
let agent: { pid: number; sock: string } | undefined;

before(async () => {
  sshd = await startSshd({ keys: { operator: {} } });
  // An agent of the operator's, which must never reach the Mac.
  const sock = join(sshd.dir, "agent.sock");
  const out = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
  agent = { pid: Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]), sock };
});
after(async () => {
  if (agent?.pid) process.kill(agent.pid);
  await sshd?.dispose();
});

/** The operator's ssh config: the Mac (127.0.0.1) through the jump host `localhost`, which their
 *  config trusts on first use into a known_hosts file of its own, with the agent forwarded. */
function operatorConfig(): string {
  const config = join(sshd.dir, "operator_ssh_config");
  writeFileSync(
    config,
    [
      "Host 127.0.0.1",
      `  ProxyJump ${sshd.loginUser}@localhost:${sshd.port}`,
      "  ForwardAgent yes",
      "Host localhost",
      `  IdentityFile ${sshd.keys.operator?.identityFile}`,
      "  StrictHostKeyChecking accept-new",
      `  UserKnownHostsFile ${join(sshd.dir, "jump_known_hosts")}`,
      "  ForwardAgent yes",
      "",
    ].join("\n"),
  );
  return config;
}

interface Outcome {
  ok: boolean;
  name?: string;
  message?: string;
  stdout?: string;
}

/** Runs `argv` on the Mac through the transport, with `config` as the system's ssh config and the
 *  operator's agent in SSH_AUTH_SOCK. */
function victim(config: string, knownHostsFile: string, argv: string[]): Outcome {
  const ssh = {
    destination: `${sshd.loginUser}@127.0.0.1`,
    port: sshd.port,
    identityFile: sshd.keys.operator?.identityFile as string,
    knownHostsFile,
  };
  const out = execFileSync(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$1" /etc/ssh/ssh_config && shift && exec "$@"',
      "sh",
      config,
      process.execPath,
      "--import",
      "tsx",
      join(here, "helpers/sshVictim.ts"),
      JSON.stringify({ ssh, argv }),
    ],
    { encoding: "utf8", env: { ...process.env, SSH_AUTH_SOCK: agent?.sock }, cwd: join(here, "../.."), timeout: 60_000 },
  );
  return JSON.parse(out.trim().split("\n").pop() as string) as Outcome;
}

/** Logins the test sshd accepted so far (LogLevel VERBOSE logs each). */
const logins = () => (readFileSync(join(sshd.dir, "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;

/** A known_hosts file holding the sshd's key under both its names: the Mac's and the jump's. */
function bothKnown(): string {
  const file = join(sshd.dir, "known_hosts.both");
  const line = readFileSync(sshd.knownHostsFile, "utf8").trim();
  writeFileSync(file, `${line}\n${line.replace("[127.0.0.1]", "[localhost]")}\n`);
  return file;
}

describe("ProxyJump hops are as strict as the Mac, and nothing is forwarded", { concurrency: false }, () => {
  it("a jump host whose key is not in SSH_KNOWN_HOSTS_FILE: refused, its key not accepted on first use, no login", () => {
    const before = logins();
    const r = victim(operatorConfig(), sshd.knownHostsFile, ["/bin/echo", "ran"]);
    assert.equal(r.ok, false, `ran through an unchecked jump host: ${JSON.stringify(r)}`);
    assert.equal(r.name, "SshError", r.message);
    const accepted = existsSync(join(sshd.dir, "jump_known_hosts")) ? readFileSync(join(sshd.dir, "jump_known_hosts"), "utf8") : "";
    assert.equal(accepted, "", "the jump host's key was written down on first use");
    assert.equal(logins(), before, "nothing logged in");
    // The ssh the message gives shows the hop's own reason (ssh sends it to /dev/null under ControlPersist).
    const diagnose = /`(ssh -p \d+ -F \S+ -i \S+ \S+ true)`/.exec(r.message ?? "")?.[1];
    assert.ok(diagnose, r.message);
    const run = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", `mount --bind "$1" /etc/ssh/ssh_config && ${diagnose}`, "sh", operatorConfig()],
      {
        encoding: "utf8",
        env: { ...process.env, SSH_AUTH_SOCK: agent?.sock },
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 255, run.stderr);
    assert.match(run.stderr, /Host key verification failed/);
    assert.equal(logins(), before, "nothing logged in");
  });

  it("known keys: the command runs through the jump (two logins), and the operator's agent is not on the Mac", () => {
    const before = logins();
    const r = victim(operatorConfig(), bothKnown(), ["/usr/bin/env"]);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(logins() - before, 2, "the jump host's login and the Mac's");
    assert.doesNotMatch(r.stdout ?? "", /^SSH_AUTH_SOCK=/m, "the agent was forwarded to the Mac");
  });
});
