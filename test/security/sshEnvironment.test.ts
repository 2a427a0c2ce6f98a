// What the provider's own environment holds never travels over SSH. The provider process has the
// engine's PULUMI_CONFIG_PASSPHRASE and whatever the operator's shell exports; ssh sends every
// variable its config's SendEnv names (ssh_config(5)) and a Mac's sshd takes what its AcceptEnv
// allows (sshd_config(5)). An operator's `SendEnv *` (or `PULUMI_*`) and an admin's `AcceptEnv *`
// on a Mac put the passphrase into every session there, for any process of the Homebrew user's to
// read. The operator's config is /etc/ssh/ssh_config inside a private mount namespace (as in
// sshProxyJump.test.ts); the Mac is the real test sshd accepting every variable.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Sshd, sshTarget, startSshd } from "../helpers/sshd";

const here = __dirname;
let sshd: Sshd;

before(async () => {
  sshd = await startSshd({ keys: { operator: {} }, acceptEnv: "*" });
});
after(async () => {
  await sshd?.dispose();
});

describe("the provider's environment never travels over SSH", () => {
  it("with the operator's SendEnv * and the Mac's AcceptEnv *: the session on the Mac sees none of the provider's variables", () => {
    const config = join(sshd.dir, "operator_ssh_config");
    writeFileSync(config, "Host *\n  SendEnv *\n");
    const secrets = { PULUMI_CONFIG_PASSPHRASE: "engine-passphrase-1f2e", AWS_SECRET_ACCESS_KEY: "aws-secret-9c8b" };
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
        JSON.stringify({ ssh: sshTarget(sshd, "operator"), argv: ["/usr/bin/env"] }),
      ],
      { encoding: "utf8", env: { ...process.env, ...secrets }, cwd: join(here, "../.."), timeout: 60_000 },
    );
    const r = JSON.parse(out.trim().split("\n").pop() as string) as { ok: boolean; stdout?: string; message?: string };
    assert.equal(r.ok, true, r.message);
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!r.stdout?.includes(name), `${name} reached the Mac's session:\n${r.stdout}`);
      assert.ok(!r.stdout?.includes(value), `the value of ${name} reached the Mac's session`);
    }
  });
});
