// An installer sees its own environment, never the provider's. The provider process holds the
// engine's secrets (PULUMI_CONFIG_PASSPHRASE decrypts the whole stack) and whatever the operator's
// shell exports (cloud keys, tokens); an installer is a script from containers/ run as the
// Homebrew user, often someone else's recipe. Through the real engine, a stack holding one
// ContainerInstaller whose install.sh dumps `env` to a file: the dump holds exactly what
// containers/README.md says an installer gets, on the local transport and over a real sshd.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Host } from "../../provider/lib/host";
import { macOf } from "../../provider/lib/mac";
import { installerOnlyProgram, macOverSsh } from "../helpers/macOverSsh";
import { TestStack } from "../helpers/pulumiStack";

/** A program holding one ContainerInstaller, `envdump`, on the Mac the `host` setting names. */
const INSTALLER_ONLY = installerOnlyProgram("envdump", { TOKEN: "secret", OUT: "plain" });

/** Secrets of the provider's own process: the engine's passphrase (TestStack sets it for every
 *  pulumi command) and what an operator's shell may export. */
const PROVIDER_SECRETS = {
  AWS_SECRET_ACCESS_KEY: "aws-secret-in-the-operators-shell",
  GITHUB_TOKEN: "ghp-operators-own-token",
  COLIMA_PULSE_BACKUP: "false",
};
const TOKEN = "installer-token-it-declared";

/** What containers/README.md says an installer gets (under the simulator, SIM_USER too: the
 *  simulated user it runs as), and what the shell that runs install.sh sets itself. */
const DOCUMENTED = ["DOCKER_HOST", "HOME", "LOGNAME", "OUT", "PATH", "TOKEN", "USER"];
const SHELL_OWN = new Set(["PWD", "OLDPWD", "SHLVL", "_"]);

/** `env`'s output as a map (values without a newline: none here has one). */
function parseEnv(text: string): Map<string, string> {
  return new Map(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as [string, string]),
  );
}

describe("an installer's environment: its own variables, none of the provider's", { concurrency: false }, () => {
  const target = macOverSsh();
  const { stacks } = target;

  /** Converges a stack of INSTALLER_ONLY on `host` and returns what install.sh saw. */
  async function installerSees(name: string, host: Host): Promise<Map<string, string>> {
    const stack = await TestStack.create(name, {}, { program: INSTALLER_ONLY, env: { SIM_USER: "ops", ...PROVIDER_SECRETS } });
    stacks.push(stack);
    const dir = join(stack.dir, "containers/envdump");
    const out = join(stack.dir, "installer-env.txt");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "install.sh"), `#!/bin/sh\nenv > "$OUT"\n`);
    chmodSync(join(dir, "install.sh"), 0o755);
    for (const [key, value] of Object.entries({
      host: JSON.stringify(host),
      dir,
      filesHash: "0".repeat(64),
      dockerHost: `unix://${target.sim.path("/Users/ops/.colima/default/docker.sock")}`,
      prefix: target.sim.path("/opt/homebrew"),
      out,
    }))
      await stack.must(["config", "set", key, value]);
    await stack.must(["config", "set", "--secret", "token", TOKEN]);
    await stack.must(["up", "--yes", "--skip-preview"]);
    return parseEnv(readFileSync(out, "utf8"));
  }

  function assertOnlyItsOwn(seen: Map<string, string>): void {
    assert.equal(seen.get("TOKEN"), TOKEN, "its declared TOKEN");
    const secrets = { PULUMI_CONFIG_PASSPHRASE: "colima-pulse-tests", ...PROVIDER_SECRETS };
    for (const [key, value] of Object.entries(secrets)) {
      assert.ok(!seen.has(key), `the provider's ${key} reached the installer`);
      assert.ok(![...seen.values()].some((v) => v.includes(value)), `the value of the provider's ${key} reached the installer`);
    }
    const names = [...seen.keys()].filter((k) => !SHELL_OWN.has(k) && k !== "SIM_USER").sort();
    assert.deepEqual(names, DOCUMENTED, `exactly what containers/README.md lists; got ${[...seen.keys()].join(" ")}`);
    assert.equal(seen.get("SIM_USER"), "ops", "the simulated Homebrew user");
    assert.equal(seen.get("HOME"), target.sim.path("/Users/ops"));
    assert.equal(seen.get("USER"), "ops");
    assert.equal(seen.get("LOGNAME"), "ops");
  }

  it("on the local transport (the provider's own machine)", async () => {
    assertOnlyItsOwn(await installerSees("sec-env-local", { root: target.sim.root, user: "ops" }));
  });

  it("every command on the local transport, as us (and so as root through sudo) or as the Homebrew user, starts from a session's environment, not the provider's", async () => {
    // The provider's process, as the engine starts it: its passphrase and the operator's exports.
    const saved = { ...process.env };
    Object.assign(process.env, { PULUMI_CONFIG_PASSPHRASE: "engine-passphrase", SIM_USER: "ops", ...PROVIDER_SECRETS });
    try {
      const mac = macOf({ root: target.sim.root, user: "ops" });
      const env = target.sim.path("/usr/bin/env");
      const asUs = parseEnv((await mac.run([env])).stdout);
      const asUser = parseEnv((await mac.asUser([env])).stdout);
      for (const seen of [asUs, asUser])
        for (const [key, value] of Object.entries({ PULUMI_CONFIG_PASSPHRASE: "engine-passphrase", ...PROVIDER_SECRETS })) {
          assert.ok(!seen.has(key), `${key} reached ${[...seen.keys()].join(" ")}`);
          assert.ok(![...seen.values()].some((v) => v.includes(value)));
        }
      assert.deepEqual(
        [...asUs.keys()].filter((k) => !SHELL_OWN.has(k)).sort(),
        ["HOME", "LOGNAME", "PATH", "SIM_USER", "USER"].filter((k) => k === "PATH" || k === "SIM_USER" || process.env[k]),
      );
      assert.equal(asUs.get("PATH"), "/usr/bin:/bin:/usr/sbin:/sbin", "sshd's PATH on a Mac (apple-oss-distributions/OpenSSH)");
      assert.deepEqual([...asUser.keys()].filter((k) => !SHELL_OWN.has(k)).sort(), ["HOME", "LOGNAME", "PATH", "SIM_USER", "USER"]);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("over SSH (a real sshd): nothing of the session's or the control machine's", async () => {
    assertOnlyItsOwn(await installerSees("sec-env-ssh", target.host()));
  });
});
