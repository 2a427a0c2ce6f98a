// The contract: what colima-pulse relies on from the real macOS tools, as assertions that run
// against the simulator in CI and against a real Mac with
//   CONTRACT_TARGET=mac node --import tsx --test test/contract/macos.contract.test.ts
// (read-only; add CONTRACT_ALLOW_CHANGES=1 for the contracts that start a throwaway Colima
// profile and load a throwaway LaunchDaemon). A contract failing on a Mac means the simulator
// has drifted from reality: fix the simulator first.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { brewBin, type ContractTarget, contractTarget } from "./target";

let t: ContractTarget;
before(async () => {
  t = await contractTarget();
  console.log(`contract target: ${t.name}${t.allowChanges ? "" : " (read-only: set CONTRACT_ALLOW_CHANGES=1 for the rest)"}`);
});
after(async () => {
  await t?.dispose();
});

const PROFILE = "cpulse-contract";
const LABEL = "com.colima-pulse.contract";

describe("read-only contracts", () => {
  it("sw_vers prints ProductName/ProductVersion/BuildVersion with tabs", async () => {
    const r = await t.run([t.path("/usr/bin/sw_vers")]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ProductName:\t+macOS\nProductVersion:\t+\d+\.\d+(\.\d+)?\nBuildVersion:\t+\w+\n$/);
  });

  it("Homebrew's prefix follows the architecture", async () => {
    const arch = (await t.run([t.path("/usr/bin/uname"), "-m"])).stdout.trim();
    assert.ok(["arm64", "x86_64"].includes(arch), arch);
    const prefix = (await t.run([brewBin(t, "brew"), "--prefix"])).stdout.trim();
    assert.equal(prefix, t.path(arch === "arm64" ? "/opt/homebrew" : "/usr/local"));
  });

  it("brew list --versions: `name version` when installed, exit 1 and nothing otherwise", async () => {
    const r = await t.run([brewBin(t, "brew"), "list", "--versions", "colima"]);
    if (r.code === 0) assert.match(r.stdout, /^colima \d+\.\d+\.\d+\S*\n$/);
    else assert.deepEqual([r.code, r.stdout], [1, ""]);
  });

  it("launchctl print of an unknown service: exit 113, `Could not find service`", async () => {
    const r = await t.run([t.path("/bin/launchctl"), "print", `system/${LABEL}.absent`]);
    assert.equal(r.code, 113);
    assert.match(r.stderr, new RegExp(`Could not find service "${LABEL}\\.absent" in domain for system\\n$`));
  });

  it('launchctl print-disabled system lists `"label" => disabled|enabled` rows', async () => {
    const r = await t.run([t.path("/bin/launchctl"), "print-disabled", "system"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^disabled services = \{\n(\t"[^"]+" => (disabled|enabled)\n)*\}\n/);
  });

  it("fdesetup status says whether FileVault is on", async () => {
    const r = await t.run([t.path("/usr/bin/fdesetup"), "status"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^FileVault is (On|Off)\./);
  });

  it("sudo -n either runs or says a password is required, exit 1", async () => {
    const r = await t.run([t.path("/usr/bin/sudo"), "-n", "true"]);
    if (r.code !== 0) assert.deepEqual([r.code, r.stderr.trim()], [1, "sudo: a password is required"]);
  });

  it("colima version, and status of a profile that does not run", async () => {
    const colima = brewBin(t, "colima");
    assert.match((await t.run([colima, "version"])).stdout, /^colima version v?\d+\.\d+\.\d+/);
    const r = await t.run([colima, "status", "--profile", `${PROFILE}-absent`, "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "no JSON when not running");
    assert.match(r.stderr, new RegExp(`colima \\[profile=${PROFILE}-absent\\] is not running`));
  });

  it("colima list --json prints one JSON object per line", async () => {
    const r = await t.run([brewBin(t, "colima"), "list", "--json"]);
    assert.equal(r.code, 0);
    for (const line of r.stdout.split("\n").filter(Boolean)) {
      const row = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof row.name, "string");
      assert.ok(["Running", "Stopped", "Broken"].includes(String(row.status)), line);
    }
  });
});

describe("contracts that change the machine", () => {
  it("Homebrew refuses to run as root", async (ctx) => {
    if (!t.allowChanges) return ctx.diagnostic("not run: needs CONTRACT_ALLOW_CHANGES=1 (uses sudo)");
    const r = await t.run([brewBin(t, "brew"), "list", "--versions"], { root: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: Running Homebrew as root is extremely dangerous and no longer supported\./);
  });

  it("a QEMU profile: status fields, `already running, ignoring`, a real Docker API, stop and delete", async (ctx) => {
    if (!t.allowChanges) return ctx.diagnostic("not run: needs CONTRACT_ALLOW_CHANGES=1 (starts a VM)");
    const colima = brewBin(t, "colima");
    const p = ["--profile", PROFILE];
    const start = await t.run([
      colima,
      "start",
      ...p,
      "--runtime",
      "docker",
      "--vm-type",
      "qemu",
      "--cpus",
      "1",
      "--memory",
      "1",
      "--disk",
      "5",
    ]);
    try {
      assert.equal(start.code, 0, start.stderr);
      const status = JSON.parse((await t.run([colima, "status", ...p, "--json"])).stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(status).slice(0, 5), ["display_name", "driver", "arch", "runtime", "mount_type"]);
      assert.equal(status.display_name, `colima [profile=${PROFILE}]`);
      assert.equal(status.driver, "QEMU");
      assert.equal(status.runtime, "docker");
      const socket = join(t.home, ".colima", PROFILE, "docker.sock");
      assert.equal(status.docker_socket, `unix://${socket}`);
      const again = await t.run([colima, "start", ...p, "--vm-type", "qemu"]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /already running, ignoring/);
      const version = await new Promise<string>((resolve) =>
        execFile(brewBin(t, "docker"), ["--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"], (_e, out) =>
          resolve(out),
        ),
      );
      assert.match(version, /^\d+\.\d+/);
      assert.equal((await t.run([colima, "stop", ...p])).code, 0);
      assert.equal((await t.run([colima, "status", ...p])).code, 1);
    } finally {
      assert.equal((await t.run([colima, "delete", ...p, "--force"])).code, 0);
    }
  });

  it("launchctl bootstrap/bootout errors in the system domain", async (ctx) => {
    if (!t.allowChanges) return ctx.diagnostic("not run: needs CONTRACT_ALLOW_CHANGES=1 (loads a LaunchDaemon with sudo)");
    const { build } = await import("plist");
    const tmp = join(mkdtempSync(join(tmpdir(), "cpulse-contract-")), `${LABEL}.plist`);
    writeFileSync(tmp, build({ Label: LABEL, ProgramArguments: ["/bin/sleep", "600"], RunAtLoad: true }));
    const plist = t.path(`/Library/LaunchDaemons/${LABEL}.plist`);
    const launchctl = t.path("/bin/launchctl");
    const copied = await t.run([t.path("/bin/cp"), tmp, plist], { root: true });
    assert.equal(copied.code, 0, copied.stderr);
    await t.run([t.path("/usr/sbin/chown"), "0:0", plist], { root: true });
    await t.run([t.path("/bin/chmod"), "644", plist], { root: true });
    try {
      assert.equal((await t.run([launchctl, "bootstrap", "system", plist], { root: true })).code, 0);
      assert.deepEqual(await t.run([launchctl, "bootstrap", "system", plist], { root: true }), {
        code: 5,
        stdout: "",
        stderr: "Bootstrap failed: 5: Input/output error\n",
      });
      const printed = await t.run([launchctl, "print", `system/${LABEL}`]);
      assert.match(printed.stdout, /\n\tstate = running\n/);
      assert.match(printed.stdout, /\n\tpid = \d+\n/);
      assert.equal((await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true })).code, 0);
      assert.deepEqual(await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true }), {
        code: 3,
        stdout: "",
        stderr: "Boot-out failed: 3: No such process\n",
      });
    } finally {
      await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true });
      await t.run([t.path("/bin/rm"), "-f", plist], { root: true });
    }
  });
});
