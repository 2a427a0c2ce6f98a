// The simulator's own tests: its launchd really supervises, its VM really exposes the test
// dockerd, and the faults a provider must survive really happen. Everything goes through the
// simulated tools as real processes. Cannot prove: that a real Mac behaves the same — the
// contract suite (test/contract/) checks that part against real tools on a Mac.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { build, parse } from "plist";
import { testServices } from "../helpers/services";
import { enforceConnectPermissions, enforceReadPermissions } from "./connectCheck";
import { MacSimulator } from "./simulator";
import { simUserOf } from "./tools/world";

const dockerTarget = testServices().dockerHost.replace(/^unix:\/\//, "");

/** Polls `probe` every 50 ms until it returns true; fails with `what` after `ms`. */
async function waitFor(what: string, probe: () => boolean | Promise<boolean>, ms = 30_000): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

function dockerAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("docker", ["--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"], { timeout: 5000 }, (error, stdout) =>
      resolve(!error && /^\d+\./.test(stdout)),
    );
  });
}

async function plistFor(sim: MacSimulator, label: string, def: Record<string, unknown>): Promise<string> {
  const path = sim.path(`/Library/LaunchDaemons/${label}.plist`);
  writeFileSync(path, build({ Label: label, ...def } as never), { mode: 0o644 });
  return path;
}

describe("macOS simulator", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  let socket: string;
  const sudo = (...argv: string[]) => sim.run([sim.path("/usr/bin/sudo"), "-n", ...argv]);
  const launchctl = (...argv: string[]) => sudo(sim.path("/bin/launchctl"), ...argv);
  /** Boots a job out and removes its plist, so later boots do not bring it back. */
  const unload = async (label: string) => {
    const r = await launchctl("bootout", `system/${label}`);
    rmSync(sim.path(`/Library/LaunchDaemons/${label}.plist`), { force: true });
    return r;
  };

  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"] });
    colima = join(sim.world.brewPrefix(), "bin/colima");
    socket = sim.path("/Users/ops/.colima/default/docker.sock");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("Homebrew refuses root, lists versions, installs as the user, and fails on demand", async () => {
    const brew = join(sim.world.brewPrefix(), "bin/brew");
    const asRoot = await sim.run([brew, "install", "qemu"], { user: "root" });
    assert.equal(asRoot.code, 1);
    assert.match(asRoot.stderr, /^Error: Running Homebrew as root is extremely dangerous and no longer supported\./);
    // list.rb#filtered_list: the racks sorted, whatever order they were asked in.
    assert.deepEqual(await sim.run([brew, "list", "--versions", "qemu", "colima"]), {
      code: 0,
      stdout: "colima 0.10.3\nqemu 10.1.0\n",
      stderr: "",
    });
    assert.equal((await sim.run([brew, "list", "--versions", "hello"])).code, 1);
    sim.setFaults({ brewInstallFails: ["hello"] });
    const failed = await sim.run([brew, "install", "hello"]);
    sim.setFaults({});
    assert.equal(failed.code, 1);
  });

  it("a launchd job keeps `colima start --foreground` alive across a kill; the socket answers only while the VM is up", async () => {
    const label = "com.example.colima";
    const cmd = `'${colima}' start --foreground --runtime docker --vm-type qemu --cpus 2 --memory 2 --disk 10`;
    const plist = await plistFor(sim, label, {
      ProgramArguments: [sim.path("/usr/bin/su"), "-", "ops", "-c", cmd],
      KeepAlive: true,
      ThrottleInterval: 1,
      StandardErrorPath: sim.path("/var/log/colima-test.log"),
    });
    assert.equal(await dockerAnswers(socket), false, "no VM yet, no Docker");
    assert.deepEqual(await launchctl("bootstrap", "system", plist), { code: 0, stdout: "", stderr: "" });
    const upAfter = await waitFor("Docker through the profile socket", () => dockerAnswers(socket));
    console.log(`docker answered ${upAfter} ms after bootstrap`);
    const foreground = () => sim.processes().find((p) => p.command.includes("bin/colima start --foreground"));
    const first = foreground();
    assert.ok(first, "colima --foreground is the supervised process");
    sim.signal(first.pid, "SIGTERM", "the test stops colima"); // it stops the VM, exits 0, launchd respawns it
    await waitFor("Docker to go away with the VM", async () => !(await dockerAnswers(socket)));
    await waitFor("Docker back after the respawn", () => dockerAnswers(socket));
    const second = foreground();
    assert.ok(second && second.pid !== first.pid, "a new colima process");
    const printed = await launchctl("print", `system/${label}`);
    assert.match(printed.stdout, /\tstate = running\n/);
    assert.match(printed.stdout, /\truns = 2\n/);
    assert.match(printed.stdout, /\tlast exit code = 0\n/);
    // bootout SIGTERMs `su`, which dies without passing it on; colima sits in its own process
    // group, so it and the VM outlive the job (shell_cmds su/su.c). Found here, kept as a fact.
    sim.clearRecords();
    assert.deepEqual(await unload(label), { code: 0, stdout: "", stderr: "" });
    assert.ok(sim.isAlive(second.pid), "colima outlives the booted-out job");
    // Every signal is in the record with its sender, its target as it was, and why.
    const sent = sim.signals().find((sig) => sig.from === "launchd" && sig.name === "SIGTERM");
    assert.ok(sent, JSON.stringify(sim.signals()));
    assert.equal(sent.reason, `stopping system/${label}`);
    assert.match(sent.target, /\/usr\/bin\/su - ops -c /);
    assert.ok(sent.to > 0 && sent.error === undefined);
    assert.equal(await dockerAnswers(socket), true);
    process.kill(second.pid, "SIGTERM");
    await waitFor("the VM stopped with colima", async () => !(await dockerAnswers(socket)));
  });

  it("`colima start` on a running profile says `already running, ignoring` and exits 0 (docs/ARCHITECTURE.md §2)", async () => {
    assert.equal((await sim.run([colima, "start", "--vm-type", "qemu", "--disk", "10"])).code, 0);
    const again = await sim.run([colima, "start", "--vm-type", "qemu", "--foreground"]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /level=warning msg="already running, ignoring"/);
    const status = JSON.parse((await sim.run([colima, "status", "--json"])).stdout);
    assert.deepEqual(Object.keys(status), [
      "display_name",
      "driver",
      "arch",
      "runtime",
      "mount_type",
      "docker_socket",
      "containerd_socket",
      "kubernetes",
      "cpu",
      "memory",
      "disk",
    ]);
    assert.equal(status.driver, "QEMU");
    assert.equal(status.docker_socket, `unix://${socket}`);
  });

  it("the VM is a long-running qemu-system process; killing it leaves `colima --foreground` unaware", async () => {
    const vm = sim.processes().find((p) => /qemu-system-aarch64 .*-name lima-colima /.test(p.command));
    assert.ok(vm, "a qemu-system-aarch64 process for instance colima");
    process.kill(vm.pid, "SIGKILL");
    await waitFor("Docker to stop answering", async () => !(await dockerAnswers(socket)));
    const status = await sim.run([colima, "status"]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /msg="colima is not running"/);
    assert.equal(existsSync(sim.path("/Users/ops/.colima/_lima/colima/ha.pid")), false, "the host agent exited with its VM");
  });

  it("an existing vz profile stays vz: the vm type is fixed after creation", async () => {
    const r = await sim.run([colima, "start", "--profile", "vzp", "--vm-type", "vz", "--disk", "10"]);
    assert.equal(r.code, 0, r.stderr);
    await sim.run([colima, "stop", "--profile", "vzp"]);
    const again = await sim.run([colima, "start", "--profile", "vzp", "--vm-type", "qemu"]);
    assert.match(again.stderr, /'virtual machine type' cannot be updated after initial setup, discarded/);
    const status = JSON.parse((await sim.run([colima, "status", "--profile", "vzp", "--json"])).stdout);
    assert.equal(status.driver, "macOS Virtualization.Framework");
    await sim.run([colima, "delete", "--profile", "vzp", "--force"]);
  });

  it("without --vm-type, Colima on macOS 13+ picks vz (DefaultVMType)", async () => {
    assert.equal((await sim.run([colima, "start", "--profile", "dflt", "--disk", "10"])).code, 0);
    assert.equal(JSON.parse((await sim.run([colima, "status", "-p", "dflt", "--json"])).stdout).driver, "macOS Virtualization.Framework");
    await sim.run([colima, "delete", "-p", "dflt", "--force"]);
  });

  it("after a power cut with the stale PID reused by an unrelated process, start fails until the stale state is cleared", async () => {
    const started = await sim.run([colima, "start", "--vm-type", "qemu"]);
    assert.equal(started.code, 0, started.stderr);
    await sim.powerCut();
    const inst = sim.path("/Users/ops/.colima/_lima/colima");
    assert.equal(existsSync(join(inst, "ha.sock")), true, "stale socket left behind");
    assert.equal(readlinkSync(sim.path("/Users/ops/.colima/_lima/_disks/colima/in_use_by")), inst, "stale disk lock left behind");
    const unrelated = sim.startUnrelatedProcess();
    writeFileSync(join(inst, "ha.pid"), `${unrelated}\n`);
    const r = await sim.run([colima, "start", "--vm-type", "qemu"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /errors inspecting instance: \[failed to get Info from .*ha\.sock.*connection refused\]/);
    assert.match(r.stderr, /error starting vm: error at 'starting': exit status 1/);
    assert.equal(sim.isAlive(unrelated), true);
    // The operator's fix (README troubleshooting): remove the stale files, then start.
    for (const f of ["ha.pid", "ha.sock"]) rmSync(join(inst, f));
    const recovered = await sim.run([colima, "start", "--vm-type", "qemu"]);
    assert.equal(recovered.code, 0, recovered.stdout + recovered.stderr);
    assert.equal(await dockerAnswers(socket), true);
    assert.equal(sim.isAlive(unrelated), true, "the unrelated process was never touched");
  });

  it("a start that keeps failing under KeepAlive=true leaks a process per attempt (colima#1490)", async () => {
    await sim.run([colima, "stop"]);
    sim.setFaults({ startFails: true });
    const label = "com.example.leaky";
    const plist = await plistFor(sim, label, {
      ProgramArguments: [sim.path("/usr/bin/su"), "-", "ops", "-c", `'${colima}' start --foreground --vm-type qemu`],
      KeepAlive: true,
      ThrottleInterval: 1,
    });
    await launchctl("bootstrap", "system", plist);
    const leaked = () => sim.processes().filter((p) => p.command.includes("limactl usernet")).length;
    await waitFor("three leaked limactl processes", () => leaked() >= 3, 20_000);
    await unload(label);
    sim.setFaults({});
    assert.ok(leaked() >= 3, "bootout does not reap processes that left the job's process group");
  });

  it("launchctl errs like the real one", async () => {
    const plist = await plistFor(sim, "com.example.sleeper", { ProgramArguments: ["/bin/sleep", "600"], RunAtLoad: true });
    assert.equal((await launchctl("bootstrap", "system", plist)).code, 0);
    assert.deepEqual(await launchctl("bootstrap", "system", plist), {
      code: 5,
      stdout: "",
      stderr: "Bootstrap failed: 5: Input/output error\n",
    });
    const asUser = await sim.run([sim.path("/bin/launchctl"), "bootout", "system/com.example.sleeper"]);
    assert.deepEqual(asUser, {
      code: 5,
      stdout: "",
      stderr: "Boot-out failed: 5: Input/output error\nTry re-running the command as root for richer errors.\n",
    });
    assert.equal((await launchctl("bootout", "system/com.example.sleeper")).code, 0);
    assert.deepEqual(await launchctl("bootout", "system/com.example.sleeper"), {
      code: 3,
      stdout: "",
      stderr: "Boot-out failed: 3: No such process\n",
    });
    assert.deepEqual(await launchctl("print", "system/com.example.nothing"), {
      code: 113,
      stdout: "",
      stderr: 'Bad request.\nCould not find service "com.example.nothing" in domain for system\n',
    });
    // kickstart of a label not loaded: no `Bad request.` line ([obs] nix-installer#960).
    assert.deepEqual(await launchctl("kickstart", "-k", "system/com.example.nothing"), {
      code: 113,
      stdout: "",
      stderr: 'Could not find service "com.example.nothing" in domain for system\n',
    });
    chmodSync(plist, 0o666);
    assert.equal((await launchctl("bootstrap", "system", plist)).code, 5, "group/world-writable plist refused");
    chmodSync(plist, 0o644);
    assert.equal((await launchctl("disable", "system/com.example.sleeper")).code, 0);
    assert.equal((await launchctl("bootstrap", "system", plist)).code, 5, "disabled label refused");
    assert.match(
      (await launchctl("print-disabled", "system")).stdout,
      /^disabled services = \{\n\t"com\.example\.sleeper" => disabled\n\}\n$/,
    );
    assert.equal((await launchctl("enable", "system/com.example.sleeper")).code, 0);
    rmSync(plist);
  });

  it("sudo -n fails without a password rule; su switches users only for root", async () => {
    sim.world.updateState((s) => {
      s.users.guest = { uid: 502, gid: 20, admin: false, sudo: "password" };
    });
    assert.deepEqual(await sim.run([sim.path("/usr/bin/sudo"), "-n", "true"], { user: "guest" }), {
      code: 1,
      stdout: "",
      stderr: "sudo: a password is required\n",
    });
    assert.deepEqual(await sim.run([sim.path("/usr/bin/su"), "-", "root", "-c", "true"], { user: "guest" }), {
      code: 1,
      stdout: "",
      stderr: "su: Sorry\n",
    });
    const who = await sim.run([sim.path("/usr/bin/su"), "-", "ops", "-c", `'${sim.path("/usr/bin/id")}' -un; echo "$HOME"`], {
      user: "root",
    });
    assert.deepEqual(who.stdout.split("\n").slice(0, 2), ["ops", sim.path("/Users/ops")]);
    assert.ok(
      sim.records().some((r) => r.tool === "id" && r.user === "ops"),
      "the record knows who ran what",
    );
  });

  it("sudo keeps a `sudo -v` per terminal and session (timestamp_type tty): not for another terminal, nor without one", async () => {
    sim.world.updateState((s) => {
      s.users.pw = { uid: 503, gid: 20, admin: true, sudo: "password" };
    });
    const sudoPath = sim.path("/usr/bin/sudo");
    const refused = { code: 1, stdout: "", stderr: "sudo: a password is required\n" };
    const passed = { code: 0, stdout: "", stderr: "" };
    const term = sim.terminal("pw");
    const other = sim.terminal("pw");
    try {
      assert.deepEqual(await term.run([sudoPath, "-n", "-v"]), refused, "no time stamp before a sudo -v");
      assert.deepEqual(await term.sudoV(), passed, "the user types the password at the terminal's prompt");
      assert.deepEqual(await term.run([sudoPath, "-n", "-v"]), passed, "the same terminal: its time stamp");
      assert.deepEqual(await term.run([sudoPath, "-n", sim.path("/usr/bin/id"), "-un"]), { ...passed, stdout: "root\n" });
      assert.deepEqual(await other.run([sudoPath, "-n", "-v"]), refused, "another terminal has a record of its own");
      assert.deepEqual(await sim.run([sudoPath, "-n", "-v"], { user: "pw" }), refused, "no terminal: keyed on the parent process");
      // What provider/lib/process.ts does: a child in a session of its own (detached: setsid) has
      // no controlling terminal, even when started from the terminal with the time stamp.
      const detached = `require("node:child_process").spawn(${JSON.stringify(sudoPath)}, ["-n", "-v"], { detached: true, stdio: "inherit" }).on("exit", (c) => process.exit(c))`;
      assert.deepEqual(await term.run([process.execPath, "-e", detached]), refused, "a new session leaves the terminal");
      // Without -n and without a terminal, there is no one to ask.
      assert.match((await sim.run([sudoPath, "-v"], { user: "pw" })).stderr, /^sudo: a terminal is required to read the password;/);
      // timestamp_timeout: 5 minutes after the last authentication the record is old.
      const ts = sim.path("/var/db/sudo/ts/pw");
      const records = JSON.parse(readFileSync(ts, "utf8")) as { at: number }[];
      writeFileSync(ts, JSON.stringify(records.map((r) => ({ ...r, at: r.at - 5 * 60_000 }))));
      assert.deepEqual(await term.run([sudoPath, "-n", "-v"]), refused, "older than timestamp_timeout");
      // A NOPASSWD user needs no time stamp, terminal or not.
      assert.deepEqual(await sim.run([sudoPath, "-n", "-v"]), passed);
    } finally {
      term.close();
      other.close();
    }
  });

  it("sudoers.d: NOPASSWD for the paths a rule names (any arguments), runas lists, the last match wins", async () => {
    const file = sim.path("/etc/sudoers.d/colima-pulse");
    const [id, echo] = [sim.path("/usr/bin/id"), sim.path("/bin/echo")];
    writeFileSync(file, `# colima-pulse\npw ALL=(root) NOPASSWD: ${id}, ${sim.path("/bin/launchctl")}\npw ALL=(ops) NOPASSWD: ALL\n`, {
      mode: 0o440,
    });
    // A name with a "." is skipped (sudoers(5) @includedir): this one would let everything through.
    writeFileSync(sim.path("/etc/sudoers.d/colima-pulse.bak"), "pw ALL=(ALL) NOPASSWD: ALL\n", { mode: 0o440 });
    const as = (argv: string[]) => sim.run([sim.path("/usr/bin/sudo"), ...argv], { user: "pw" });
    try {
      assert.deepEqual(await as(["-n", id, "-un"]), { code: 0, stdout: "root\n", stderr: "" });
      assert.deepEqual(await as(["-n", echo, "hi"]), { code: 1, stdout: "", stderr: "sudo: a password is required\n" }, "not listed");
      assert.deepEqual(await as(["-n", "-u", "ops", echo, "hi"]), { code: 0, stdout: "hi\n", stderr: "" }, "(ops) NOPASSWD: ALL");
      assert.deepEqual(await as(["-n", "-u", "ops", "-H", sim.path("/usr/bin/env"), "HOME=/x", id, "-un"]), {
        code: 0,
        stdout: "ops\n",
        stderr: "",
      });
      // verifypw all: -v needs a password while any rule of the user does (the stock %admin one).
      assert.deepEqual(await as(["-n", "-v"]), { code: 1, stdout: "", stderr: "sudo: a password is required\n" });
      // The last match wins: a later PASSWD rule for id takes the NOPASSWD away.
      writeFileSync(sim.path("/etc/sudoers.d/zz-later"), `pw ALL=(root) PASSWD: ${id}\n`, { mode: 0o440 });
      assert.equal((await as(["-n", id, "-un"])).code, 1);
    } finally {
      for (const f of ["colima-pulse", "colima-pulse.bak", "zz-later"]) rmSync(sim.path(`/etc/sudoers.d/${f}`), { force: true });
    }
  });

  it("reboot re-runs /Library/LaunchDaemons; with FileVault the homes stay locked until unlock", async () => {
    await sim.run([colima, "stop"]);
    sim.world.updateState((s) => {
      s.fileVault.enabled = true;
    });
    const label = "com.example.colima-boot";
    await plistFor(sim, label, {
      ProgramArguments: [sim.path("/usr/bin/su"), "-", "ops", "-c", `'${colima}' start --foreground --vm-type qemu`],
      KeepAlive: true,
      ThrottleInterval: 1,
    });
    await sim.reboot();
    assert.equal((await sim.run([sim.path("/usr/bin/fdesetup"), "status"])).stdout, "FileVault is On.\n");
    assert.equal(existsSync(sim.path("/Users/ops")), false, "home unavailable before unlock");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await dockerAnswers(socket), false, "nothing comes up while locked");
    sim.unlockFileVault();
    const after = await waitFor("Docker after unlock", () => dockerAnswers(socket));
    console.log(`docker answered ${after} ms after unlock`);
    await unload(label);
  });
});

describe("simulated `brew services`: the domain it loads into", { concurrency: false }, () => {
  let sim: MacSimulator;
  let brew: string;
  const launchctl = (...argv: string[]) => sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), ...argv]);
  const hints =
    "Hide this warning by setting `HOMEBREW_SERVICES_NO_DOMAIN_WARNING=1`.\nHide these hints with `HOMEBREW_NO_ENV_HINTS=1` (see `man brew`).\n";
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"] });
    brew = join(sim.world.brewPrefix(), "bin/brew");
  });
  after(async () => {
    await sim?.dispose();
  });

  /** Where homebrew.mxcl.colima is loaded, and as whom its program runs. */
  const loaded = async () => {
    const where: string[] = [];
    for (const domain of ["system", "gui/501", "user/501"]) {
      const r = await launchctl("print", `${domain}/homebrew.mxcl.colima`);
      if (r.code === 0) where.push(`${domain} ${/\n\tstate = (.*)\n/.exec(r.stdout)?.[1]}`);
    }
    return where;
  };

  it("colima's keg holds Homebrew's generated homebrew.mxcl.colima.plist; `brew services start` installs it as it is", async () => {
    const prefix = sim.world.brewPrefix();
    const keg = readFileSync(join(prefix, "opt/colima/homebrew.mxcl.colima.plist"), "utf8");
    const service = parse(keg) as Record<string, unknown>;
    assert.deepEqual(service.ProgramArguments, [join(prefix, "opt/colima/bin/colima"), "start", "-f"]);
    assert.deepEqual(
      [service.RunAtLoad, service.KeepAlive, service.WorkingDirectory],
      [true, { SuccessfulExit: true }, sim.world.home("ops")],
    );
    assert.equal((await sim.run([brew, "services", "start", "colima"])).code, 0);
    try {
      assert.equal(readFileSync(join(sim.world.home("ops"), "Library/LaunchAgents/homebrew.mxcl.colima.plist"), "utf8"), keg);
    } finally {
      assert.equal((await sim.run([brew, "services", "stop", "colima"])).code, 0);
    }
  });

  it("over SSH, nobody at the console: user/<uid>, with Homebrew's warning; the job runs as the user", async () => {
    const r = await sim.run([sim.path("/usr/bin/env"), "SSH_TTY=/dev/ttys001", brew, "services", "start", "colima"]);
    assert.deepEqual(r, {
      code: 0,
      stdout: "==> Successfully started `colima` (label: homebrew.mxcl.colima)\n",
      stderr: `Warning: running over SSH without /dev/console ownership, using user/* instead of gui/* domain!\n${hints}`,
    });
    assert.deepEqual(await loaded(), ["user/501 running"]);
    const job = sim.processes().find((p) => p.command.endsWith("/opt/colima/bin/colima start -f"));
    assert.ok(job, "brew's colima runs");
    assert.equal(simUserOf(job.pid), "ops");
    const stopped = await sim.run([brew, "services", "stop", "colima"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(await loaded(), [], "stop boots it out of every candidate domain");
  });

  it("through sudo: user/<uid>; from a plain session: gui/<uid>", async () => {
    const viaSudo = await sim.run([sim.path("/usr/bin/sudo"), "-n", "-u", "ops", brew, "services", "start", "colima"], { user: "root" });
    assert.equal(viaSudo.code, 0, viaSudo.stderr);
    assert.equal(viaSudo.stderr, `Warning: running through sudo, using user/* instead of gui/* domain!\n${hints}`);
    // (loaded: whether it runs now depends on the VM the last job left stopping within ExitTimeOut)
    assert.deepEqual(
      (await loaded()).map((l) => l.split(" ")[0]),
      ["user/501"],
    );
    assert.equal((await sim.run([brew, "services", "stop", "colima"])).code, 0);
    const plain = await sim.run([brew, "services", "start", "colima"]);
    assert.deepEqual([plain.code, plain.stderr], [0, ""]);
    assert.deepEqual(
      (await loaded()).map((l) => l.split(" ")[0]),
      ["gui/501"],
    );
    assert.equal((await sim.run([brew, "services", "stop", "colima"])).code, 0);
  });
});

describe("simulated Colima versions: the flags each one has", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"], versions: { colima: "0.8.0" } });
    colima = join(sim.world.brewPrefix(), "bin/colima");
  });
  after(async () => {
    await sim?.dispose();
  });

  /** What cobra and Colima print for a flag the installed version lacks (checkFlags). */
  const unknownFlag = (r: { code: number; stdout: string; stderr: string }, flag: string, use: string) => {
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith(`Error: unknown flag: --${flag}\nUsage:\n  colima ${use} [flags]\n`), r.stderr);
    assert.match(r.stderr, new RegExp(`level=fatal msg="unknown flag: --${flag}"\\n$`));
  };
  const upgradeTo = async (version: string) => {
    sim.publish("colima", version);
    const r = await sim.run([join(sim.world.brewPrefix(), "bin/brew"), "upgrade", "colima"]);
    assert.equal(r.code, 0, r.stderr);
  };

  it("0.8.0: brew installs the version the tap offers; --cpus, status --json and delete --data are unknown flags; nothing runs", async () => {
    assert.equal((await sim.run([colima, "version"])).stdout.split("\n")[0], "colima version 0.8.0");
    unknownFlag(await sim.run([colima, "start", "--profile", "old", "--vm-type", "qemu", "--cpus", "1"]), "cpus", "start [profile]");
    assert.equal(existsSync(sim.path("/Users/ops/.colima/old")), false, "nothing was made");
    unknownFlag(await sim.run([colima, "status", "--profile", "old", "--json"]), "json", "status [profile]");
    unknownFlag(await sim.run([colima, "delete", "--force", "--data", "--profile", "old"]), "data", "delete [profile]");
    const help = await sim.run([colima, "start", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\n {6}--cpu\n/);
    assert.doesNotMatch(help.stdout, /--cpus\b/);
  });

  it("0.8.4: --cpus and status --json are there (--cpu hidden); delete --data is not; 0.9.1 has it", async () => {
    await upgradeTo("0.8.4");
    const help = await sim.run([colima, "start", "--help"]);
    assert.match(help.stdout, /\n {6}--cpus\n/);
    assert.doesNotMatch(help.stdout, /--cpu\n/);
    assert.equal((await sim.run([colima, "status", "--profile", "old", "--json"])).code, 1, "not running: no JSON, but no flag error");
    unknownFlag(await sim.run([colima, "delete", "--force", "--data", "--profile", "old"]), "data", "delete [profile]");
    await upgradeTo("0.9.1");
    const deleted = await sim.run([colima, "delete", "--force", "--data", "--profile", "old"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    unknownFlag(await sim.run([colima, "start", "--cpulse-no-such-flag"]), "cpulse-no-such-flag", "start [profile]");
  });
});

describe("simulated Colima: profile names and COLIMA_HOME", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  const home = () => sim.path("/Users/ops");
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"] });
    colima = join(sim.world.brewPrefix(), "bin/colima");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("`colima-work` is profile `work`: folder ~/.colima/work, Lima instance colima-work; `colima` and `default` are the default profile", async () => {
    const started = await sim.run([colima, "start", "--profile", "colima-work", "--vm-type", "qemu", "--disk", "10"]);
    assert.equal(started.code, 0, started.stderr);
    assert.ok(existsSync(join(home(), ".colima/work/colima.yaml")), "config in ~/.colima/work");
    assert.equal(existsSync(join(home(), ".colima/colima-work")), false, "no ~/.colima/colima-work");
    assert.ok(existsSync(join(home(), ".colima/_lima/colima-work/lima.yaml")));
    for (const name of ["work", "colima-work"]) {
      const status = JSON.parse((await sim.run([colima, "status", "--profile", name, "--json"])).stdout) as Record<string, string>;
      assert.equal(status.display_name, "colima [profile=work]");
      assert.equal(status.docker_socket, `unix://${join(home(), ".colima/work/docker.sock")}`);
    }
    const rows = (await sim.run([colima, "list", "--json"])).stdout.split("\n").filter(Boolean);
    assert.deepEqual(
      rows.map((r) => (JSON.parse(r) as { name: string }).name),
      ["work"],
    );
    for (const name of ["colima", "default"]) {
      const r = await sim.run([colima, "status", "--profile", name]);
      assert.deepEqual([r.code, /msg="colima is not running"/.test(r.stderr)], [1, true], r.stderr);
    }
    assert.equal((await sim.run([colima, "delete", "--force", "--profile", "work"])).code, 0);
  });

  it("COLIMA_HOME, when that folder exists, holds the profiles (and their Lima instances); one that does not is ignored", async () => {
    const elsewhere = join(home(), "colima-home");
    const start = (colimaHome: string) =>
      sim.run([
        sim.path("/usr/bin/env"),
        `COLIMA_HOME=${colimaHome}`,
        colima,
        "start",
        "--profile",
        "ch",
        "--vm-type",
        "qemu",
        "--disk",
        "10",
      ]);
    const missing = await start(join(home(), "no-such-folder"));
    assert.equal(missing.code, 0, missing.stderr);
    assert.ok(existsSync(join(home(), ".colima/ch/colima.yaml")), "a COLIMA_HOME that does not exist: ~/.colima");
    assert.equal((await sim.run([colima, "delete", "--force", "--profile", "ch"])).code, 0);
    await sim.run(["/bin/mkdir", "-p", elsewhere]);
    const moved = await start(elsewhere);
    assert.equal(moved.code, 0, moved.stderr);
    assert.ok(existsSync(join(elsewhere, "ch/colima.yaml")));
    assert.ok(existsSync(join(elsewhere, "_lima/colima-ch/lima.yaml")), "LIMA_HOME is <COLIMA_HOME>/_lima");
    assert.equal(existsSync(join(home(), ".colima/ch")), false);
    assert.equal((await sim.run([colima, "status", "--profile", "ch"])).code, 1, "without COLIMA_HOME, colima looks in ~/.colima");
    const stopped = await sim.run([sim.path("/usr/bin/env"), `COLIMA_HOME=${elsewhere}`, colima, "stop", "--profile", "ch"]);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});

describe("simulated Homebrew: a newer formula in the tap, `brew outdated`, `brew upgrade`", { concurrency: false }, () => {
  let sim: MacSimulator;
  let brew: string;
  let prefix: string;
  const kegs = () => readdirSync(join(prefix, "Cellar/colima")).sort();

  before(async () => {
    // The tools inherit this environment; a developer's own Homebrew settings must not leak in.
    for (const v of ["HOMEBREW_NO_INSTALL_CLEANUP", "HOMEBREW_NO_ENV_HINTS"]) delete process.env[v];
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima"] });
    prefix = sim.world.brewPrefix();
    brew = join(prefix, "bin/brew");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("lists nothing until a newer version is published, then lists it (plain, -v, --json=v2)", async () => {
    assert.deepEqual(await sim.run([brew, "outdated"]), { code: 0, stdout: "", stderr: "" });
    sim.publish("colima", "0.10.4");
    assert.deepEqual(await sim.run([brew, "outdated"]), { code: 0, stdout: "colima\n", stderr: "" });
    assert.deepEqual(await sim.run([brew, "outdated", "--verbose"]), { code: 0, stdout: "colima (0.10.3) < 0.10.4\n", stderr: "" });
    assert.deepEqual(await sim.run([brew, "outdated", "--json=v2"]), {
      code: 0,
      stdout:
        '{\n  "formulae": [\n    {\n      "name": "colima",\n      "installed_versions": [\n        "0.10.3"\n      ],\n' +
        '      "current_version": "0.10.4",\n      "pinned": false,\n      "pinned_version": null\n    }\n  ],\n  "casks": []\n}\n',
      stderr: "",
    });
    // outdated.rb: `Homebrew.failed = args.named.present? && outdated.present?`
    assert.deepEqual(await sim.run([brew, "outdated", "colima"]), { code: 1, stdout: "colima\n", stderr: "" });
    assert.deepEqual(await sim.run([brew, "outdated", "lima"]), { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(await sim.run([brew, "outdated", "qemu"]), { code: 0, stdout: "", stderr: "" }, "not installed: not outdated");
    assert.deepEqual(await sim.run([brew, "outdated", "hello"]), {
      code: 1,
      stdout: "",
      stderr: 'Error: No available formula with the name "hello".\n',
    });
  });

  it("upgrade is refused as root, fails on a download fault with 0.10.3 still installed and linked", async () => {
    const asRoot = await sim.run([brew, "upgrade", "colima"], { user: "root" });
    assert.equal(asRoot.code, 1);
    assert.match(asRoot.stderr, /^Error: Running Homebrew as root is extremely dangerous and no longer supported\.\n/);
    sim.setFaults({ brewInstallFails: ["colima"] });
    const failed = await sim.run([brew, "upgrade", "colima"]);
    sim.setFaults({});
    assert.deepEqual(failed, {
      code: 1,
      stdout: "",
      stderr:
        '==> Fetching colima\nError: colima: Failed to download resource "colima--0.10.4"\n' +
        "Download failed: https://ghcr.io/v2/homebrew/core/colima/blobs/sha256:0\n",
    });
    assert.deepEqual(await sim.run([brew, "list", "--versions", "colima"]), { code: 0, stdout: "colima 0.10.3\n", stderr: "" });
    assert.equal(readlinkSync(join(prefix, "opt/colima")), "../Cellar/colima/0.10.3");
    assert.deepEqual(kegs(), ["0.10.3"]);
    assert.equal((await sim.run([join(prefix, "bin/colima"), "version"])).stdout.split("\n")[0], "colima version 0.10.3");
  });

  it("upgrade pours 0.10.4, relinks bin/ and opt/, removes the old keg; colima reports 0.10.4", async () => {
    const keg = join(prefix, "Cellar/colima/0.10.4");
    assert.deepEqual(await sim.run([brew, "upgrade", "colima"]), {
      code: 0,
      stdout:
        "==> Fetching colima\n==> Upgrading colima\n  0.10.3 -> 0.10.4 \n" +
        `==> Pouring colima--0.10.4.arm64_sequoia.bottle.tar.gz\n🍺  ${keg}: 9 files, 1MB\n` +
        `==> Cleanup\n==> colima\nRemoving: ${join(prefix, "Cellar/colima/0.10.3")}... (9 files, 1MB)\n` +
        "Disable this behaviour by setting `HOMEBREW_NO_INSTALL_CLEANUP=1`.\nHide these hints with `HOMEBREW_NO_ENV_HINTS=1` (see `man brew`).\n",
      stderr: "",
    });
    assert.deepEqual(await sim.run([brew, "list", "--versions", "colima"]), { code: 0, stdout: "colima 0.10.4\n", stderr: "" });
    // Keg#optlink, Keg#link: relative links (make_relative_symlink).
    assert.equal(readlinkSync(join(prefix, "opt/colima")), "../Cellar/colima/0.10.4");
    assert.equal(readlinkSync(join(prefix, "bin/colima")), "../Cellar/colima/0.10.4/bin/colima");
    assert.deepEqual(kegs(), ["0.10.4"], "the old keg is cleaned up");
    assert.equal((await sim.run([join(prefix, "bin/colima"), "version"])).stdout.split("\n")[0], "colima version 0.10.4");
    assert.deepEqual(await sim.run([brew, "outdated", "--json=v2"]), {
      code: 0,
      stdout: '{\n  "formulae": [],\n  "casks": []\n}\n',
      stderr: "",
    });
  });

  it("an up-to-date formula only warns; one not installed fails", async () => {
    assert.deepEqual(await sim.run([brew, "upgrade", "colima"]), {
      code: 0,
      stdout: "",
      stderr: "Warning: colima 0.10.4 already installed\n",
    });
    assert.deepEqual(await sim.run([brew, "upgrade", "qemu"]), { code: 1, stdout: "", stderr: "Error: qemu not installed\n" });
  });

  it("`brew upgrade` upgrades every outdated formula; HOMEBREW_NO_INSTALL_CLEANUP keeps the old keg; limactl follows", async () => {
    sim.publish("lima", "1.2.2");
    const r = await sim.run([sim.path("/usr/bin/env"), "HOMEBREW_NO_INSTALL_CLEANUP=1", brew, "upgrade"]);
    assert.deepEqual(r, {
      code: 0,
      stdout:
        "==> Fetching lima\n==> Upgrading lima\n  1.2.1 -> 1.2.2 \n" +
        `==> Pouring lima--1.2.2.arm64_sequoia.bottle.tar.gz\n🍺  ${join(prefix, "Cellar/lima/1.2.2")}: 10 files, 1MB\n`,
      stderr: "",
    });
    assert.deepEqual(readdirSync(join(prefix, "Cellar/lima")).sort(), ["1.2.1", "1.2.2"]);
    assert.equal(readlinkSync(join(prefix, "opt/lima")), "../Cellar/lima/1.2.2");
    assert.deepEqual(await sim.run([join(prefix, "bin/limactl"), "info"]), { code: 0, stdout: '{"version":"1.2.2"}\n', stderr: "" });
    // list.rb#filtered_list prints `rack.subdirs` as the file system lists them: on APFS in the
    // order of the name hash, which puts 1.2.2 before 1.2.1 — the last version listed is the OLD one.
    assert.deepEqual(await sim.run([brew, "list", "--versions", "lima", "colima"]), {
      code: 0,
      stdout: "colima 0.10.4\nlima 1.2.2 1.2.1\n",
      stderr: "",
    });
  });

  it("`brew outdated` of a formula whose old kegs stayed lists every keg, sorted by version", async () => {
    sim.publish("lima", "1.2.3");
    assert.deepEqual(await sim.run([brew, "outdated", "--verbose", "lima"]), {
      code: 1,
      stdout: "lima (1.2.1, 1.2.2) < 1.2.3\n",
      stderr: "",
    });
    const json = JSON.parse((await sim.run([brew, "outdated", "--json=v2", "lima"])).stdout) as {
      formulae: { installed_versions: string[] }[];
    };
    assert.deepEqual(json.formulae[0]?.installed_versions, ["1.2.1", "1.2.2"]);
  });
});

describe("simulated newsyslog, route, id and the linked tools", { concurrency: false }, () => {
  let sim: MacSimulator;
  let log: string;
  const conf = (text: string) => writeFileSync(sim.path("/etc/newsyslog.d/test.conf"), text);
  const fill = (kb: number) => writeFileSync(log, "x".repeat(kb * 1024));

  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, groups: { docker: { gid: 700, members: ["ops"] } } });
    log = sim.path("/var/log/app.log");
  });
  after(async () => {
    await sim?.dispose();
  });

  it("newsyslog rotates by size: .0 gzipped, a new log with the rule's owner, mode and newsyslog's status line", async () => {
    conf(`# a comment\n\n${log}\tops:staff\t640\t3\t8\t*\tNZ\n`);
    fill(10);
    const r = await sim.newsyslog([]);
    assert.deepEqual([r.code, r.stderr], [0, ""]);
    const st = statSync(log);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [501, 20, 0o640]);
    // log_trim(): the status line goes into the old log and the new one, unless flag B.
    assert.match(
      readFileSync(log, "utf8"),
      /^\w{3} [ \d]\d \d\d:\d\d:\d\d sim-mac newsyslog\[\d+\]: logfile turned over due to size>8K\n$/,
    );
    assert.match(gunzipSync(readFileSync(`${log}.0.gz`)).toString(), /^x{10240}.* logfile turned over due to size>8K\n$/s);
    assert.equal(statSync(`${log}.0.gz`).mode & 0o777, 0o640);
    assert.equal((await sim.newsyslog([])).code, 0);
    assert.equal(existsSync(`${log}.1.gz`), false, "below the size (4K: the blocks of one line): not rotated");
    for (let i = 0; i < 5; i++) assert.equal((await sim.newsyslog(["-F"])).code, 0);
    // count 3 keeps .0 to .3: the oldest beyond is removed, each rotation shifts the rest up.
    assert.deepEqual(
      readdirSync(sim.path("/var/log"))
        .filter((f) => f.startsWith("app.log"))
        .sort(),
      ["app.log", "app.log.0.gz", "app.log.1.gz", "app.log.2.gz", "app.log.3.gz"],
    );
  });

  it("newsyslog -n and -v say what they do, in the real program's words, and -n changes nothing", async () => {
    conf(`${log}\t640\t2\t*\t*\tB\n`);
    for (const f of readdirSync(sim.path("/var/log")).filter((n) => n.startsWith("app.log."))) rmSync(sim.path(`/var/log/${f}`));
    for (const f of [`${log}.0.gz`, `${log}.1.gz`]) writeFileSync(f, "");
    fill(1);
    const dry = await sim.newsyslog(["-n", "-F"]);
    const syslogPid = sim.path("/var/run/syslog.pid");
    assert.equal(dry.code, 0);
    assert.equal(
      dry.stdout.split("\n").slice(0, 12).join("\n"),
      [
        `${log} <2>: trimming`,
        `\trm -f ${log}.2`,
        `\trm -f ${log}.2.gz`,
        `\trm -f ${log}.2.bz2`,
        `\tmv ${log}.1.gz ${log}.2.gz`,
        `\tchmod 640 ${log}.2.gz`,
        `\tchown 4294967295:80 ${log}.2.gz`,
        `\tmv ${log}.0.gz ${log}.1.gz`,
        `\tchmod 640 ${log}.1.gz`,
        `\tchown 4294967295:80 ${log}.1.gz`,
        `\tln ${log} ${log}.0`,
        `\tchmod 640 ${log}.0`,
      ].join("\n"),
    );
    assert.match(dry.stdout, /\nSignal all daemon process\(es\)\.\.\.\n\tsleep 10\n$/);
    // No N and no pid file: syslogd's pid file, which this Mac does not have.
    assert.equal(dry.stderr, `newsyslog: can't open pid file: ${syslogPid}: No such file or directory\n`);
    assert.equal(readFileSync(log, "utf8").length, 1024, "nothing changed");
    conf(`${log}\t640\t2\t100\t*\tN\n`);
    const verbose = await sim.newsyslog(["-v"]);
    // macOS's own /etc/newsyslog.conf first (its logs absent here), then newsyslog.d.
    assert.match(verbose.stdout, new RegExp(`^${sim.path("/var/log/ftp.log")} <5J>: does not exist, skipped\\.\n`));
    assert.ok(verbose.stdout.endsWith(`${log} <2>: size (Kb): 4 [100] --> skipping\n`), "st_blocks: 1 KiB occupies 4 KiB");
  });

  it("newsyslog refuses a bad line with the real wording and rotates nothing; it needs root", async () => {
    fill(4);
    for (const [line, message] of [
      [`${log} 640 3 1 * NX\n`, "newsyslog: illegal flag in config file -- X\n"],
      [`${log} nobody:staff 640 3 1 * N\n`, `newsyslog: error in config file; unknown user:\n${log} nobody:staff 640 3 1 * N\n\n`],
      [`${log} 640 3\n`, `newsyslog: missing field in config file:\n${log} 640 3\n\n`],
      [`${log} 640 x 1 * N\n`, `newsyslog: error in config file; bad value for count of logs to save:\n${log} 640 x 1 * N\n\n`],
    ]) {
      conf(line as string);
      assert.deepEqual(await sim.newsyslog([]), { code: 1, stdout: "", stderr: message });
      assert.equal(readFileSync(log, "utf8").length, 4096, "nothing rotated");
    }
    conf(`${log} 640 3 1 * N\n`);
    assert.deepEqual(await sim.run([sim.path("/usr/sbin/newsyslog")], { user: "ops" }), {
      code: 1,
      stdout: "",
      stderr: "newsyslog: must have root privs\n",
    });
  });

  it("newsyslog signals the process in the rule's pid file (then pauses 10 s) and bzip2s with J", async () => {
    const pid = sim.startUnrelatedProcess();
    writeFileSync(sim.path("/var/run/app.pid"), `${pid}\n`);
    conf(`${log} ops: 600 1 1 * J ${sim.path("/var/run/app.pid")} 15\n`);
    fill(2);
    const started = Date.now();
    const r = await sim.newsyslog(["-v"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Notified daemon pid ${pid} = ${sim.path("/var/run/app.pid")}\nPause 10 seconds`));
    assert.ok(Date.now() - started >= 10_000, "the 10 s pause for the daemon to reopen its log");
    assert.equal(sim.isAlive(pid), false, "SIGTERM delivered");
    assert.equal(existsSync(`${log}.0.bz2`), true);
    assert.deepEqual([statSync(log).uid, statSync(log).gid], [501, 80], "no group given: admin (80), Apple's change");
  });

  it("route -n get default prints the route while the network is up; without one it says so and exits 0 (route.c)", async () => {
    const route = () => sim.run([sim.path("/sbin/route"), "-n", "get", "default"]);
    const up = await route();
    assert.equal(up.code, 0);
    assert.match(
      up.stdout,
      /^ {3}route to: default\ndestination: default\n {7}mask: default\n {4}gateway: 192\.168\.1\.1\n {2}interface: en0\n/,
    );
    assert.match(
      up.stdout,
      /\n recvpipe {2}sendpipe {2}ssthresh {2}rtt,msec {4}rttvar {2}hopcount {6}mtu {5}expire\n( +0 ){6} +1500 {2} +0 \n$/,
    );
    sim.setNetwork(false);
    assert.deepEqual(await route(), { code: 0, stdout: "", stderr: "route: writing to routing socket: not in table\n" });
    sim.setNetwork(true);
  });

  it("id -G / -Gn list the primary group first, then the others; groups= agrees", async () => {
    const id = (...a: string[]) => sim.run([sim.path("/usr/bin/id"), ...a]).then((r) => r.stdout);
    assert.equal(await id("-G"), "20 12 80 700\n");
    assert.equal(await id("-Gn", "ops"), "staff everyone admin docker\n");
    assert.equal(await id(), "uid=501(ops) gid=20(staff) groups=20(staff),12(everyone),80(admin),700(docker)\n");
    sim.addUser("carol", { uid: 504, gid: 20, admin: false, sudo: "none" });
    assert.equal(await id("-Gn", "carol"), "staff everyone\n");
    assert.deepEqual([statSync(sim.path("/Users/carol")).uid, statSync(sim.path("/Users/carol")).mode & 0o777], [504, 0o750]);
  });

  it("stat is BSD's (file_cmds stat/stat.c): -f formats, -L, GNU's -c refused; a datum not modelled is refused, not guessed", async () => {
    const stat = (...a: string[]) => sim.run([sim.path("/usr/bin/stat"), ...a]);
    const file = sim.path("/var/tmp/stat-me");
    writeFileSync(file, "x\n");
    chownSync(file, 501, 20);
    chmodSync(file, 0o4755);
    assert.deepEqual(await stat("-f", "%u %g %Su:%Sg %Lp %Mp %p %Sp %A", file), {
      code: 0,
      stdout: "501 20 ops:staff 755 4 104755 -rwsr-xr-x 4755\n",
      stderr: "",
    });
    assert.deepEqual(await stat("-f", "[%5u|%-5Su|%#Lp|%03Mp|%HT%T|%z|%N]", file), {
      code: 0,
      stdout: `[  501|ops  |0755|004|Regular File*|2|${file}]\n`,
      stderr: "",
    });
    const usage = "usage: stat [-FLnq] [-f format | -l | -r | -s | -x] [-t timefmt] [file ...]\n";
    assert.deepEqual(await stat("-c", "%u %a", file), { code: 1, stdout: "", stderr: `stat: illegal option -- c\n${usage}` });
    assert.deepEqual(await stat("-f"), { code: 1, stdout: "", stderr: `stat: option requires an argument -- f\n${usage}` });
    assert.deepEqual(await stat("-f", "%Q", file), { code: 1, stdout: "", stderr: "stat: %Q: bad format\n" });
    assert.deepEqual(await stat("-f", "%SN", file).then((r) => r.code), 0);
    assert.deepEqual(await stat("-f", "%Xz", file), { code: 0, stdout: "2\n", stderr: "" });
    assert.deepEqual(await stat("-f", "%Sz", file), { code: 1, stdout: "", stderr: "stat: %Sz: bad format\n" });
    assert.match((await stat("-f", "%Sm", file)).stderr, /^stat: simulator: the format datum %m \(%Sm\) is not simulated\n$/);
    assert.deepEqual(await stat("-n", "-f", "%u", file), { code: 0, stdout: "501", stderr: "" });
    const link = sim.path("/var/tmp/stat-link");
    rmSync(link, { force: true });
    symlinkSync(file, link);
    assert.deepEqual(await stat("-f", "%HT %SY", link), { code: 0, stdout: `Symbolic Link  -> ${file}\n`, stderr: "" });
    assert.deepEqual(await stat("-L", "-f", "%HT %Lp", link), { code: 0, stdout: "Regular File 755\n", stderr: "" });
    assert.deepEqual(await stat("-f", "%u", `${file}.absent`), {
      code: 1,
      stdout: "",
      stderr: `stat: ${file}.absent: stat: No such file or directory\n`,
    });
    // BSD getopt stops at the first operand: `-f` after the file is another file.
    assert.equal((await stat(file, "-f", "%u")).code, 1);
    // Another user may not search a folder of ops's that is drwx------.
    sim.addUser("dave", { uid: 505, gid: 20, admin: false, sudo: "none" });
    const closed = sim.path("/Users/ops/closed");
    rmSync(closed, { recursive: true, force: true });
    mkdirSync(closed, { mode: 0o700 });
    chownSync(closed, 501, 20);
    writeFileSync(join(closed, "f"), "");
    assert.deepEqual(await sim.run([sim.path("/usr/bin/stat"), "-f", "%u", join(closed, "f")], { user: "dave" }), {
      code: 1,
      stdout: "",
      stderr: `stat: ${join(closed, "f")}: stat: Permission denied\n`,
    });
  });

  it("the real tools added are linked at their macOS paths", () => {
    for (const t of ["curl", "mkfifo", "chgrp", "touch", "gzip", "bzip2", "head", "wc", "find", "awk"])
      assert.ok(existsSync(sim.path(`/usr/bin/${t}`)), t);
  });

  it("a home on a volume that mounts late is absent until mountHome, FileVault or not", () => {
    sim.unmountHome("ops");
    assert.equal(existsSync(sim.path("/Users/ops")), false);
    sim.unlockFileVault(); // unlocking FileVault does not mount a volume
    assert.equal(existsSync(sim.path("/Users/ops")), false);
    sim.mountHome("ops");
    assert.equal(statSync(sim.path("/Users/ops")).uid, 501, "the same home is back");
  });
});

describe("simulated VM internals: usernet, a frozen guest, the docker socket's permissions", { concurrency: false }, () => {
  let sim: MacSimulator;
  let colima: string;
  let socket: string;
  const net = () => sim.path("/Users/ops/.colima/_lima/_networks/user-v2");

  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["colima", "qemu", "docker"] });
    colima = join(sim.world.brewPrefix(), "bin/colima");
    socket = sim.path("/Users/ops/.colima/default/docker.sock");
    const r = await sim.run([colima, "start", "--vm-type", "qemu"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await sim?.dispose();
  });

  it("start runs lima's usernet (pid file, three sockets); stopping the last instance stops it", async () => {
    const pid = Number(readFileSync(join(net(), "usernet_user-v2.pid"), "utf8"));
    assert.match(sim.processes().find((p) => p.pid === pid)?.command ?? "", /limactl usernet -p \S+usernet_user-v2\.pid -e /);
    for (const s of ["qemu", "fd", "ep"]) assert.ok(statSync(join(net(), `user-v2_${s}.sock`)).isSocket(), s);
    assert.equal((await sim.run([colima, "stop"])).code, 0);
    await waitFor("usernet to stop", () => !sim.isAlive(pid));
    assert.deepEqual(
      readdirSync(net()).filter((f) => /\.(pid|sock)$/.test(f)),
      [],
    );
    assert.equal((await sim.run([colima, "start", "--vm-type", "qemu"])).code, 0);
  });

  it("a usernet pid file naming a live stranger: lima trusts it, and QEMU's fd_connect fails the start", async () => {
    const pidFile = join(net(), "usernet_user-v2.pid");
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL"); // its sockets stay, as after a power cut
    await waitFor("usernet gone", () => !sim.processes().some((p) => p.command.includes("limactl usernet")));
    const stranger = sim.startUnrelatedProcess();
    writeFileSync(pidFile, `${stranger}\n`);
    // The default profile still runs, so colima keeps _networks (network.go writeNetworkFile).
    const r = await sim.run([colima, "start", "-p", "other", "--vm-type", "qemu"]);
    assert.equal(r.code, 1);
    const sock = join(net(), "user-v2_qemu.sock");
    const ha = readFileSync(sim.path("/Users/ops/.colima/_lima/colima-other/ha.stderr.log"), "utf8");
    assert.equal(
      JSON.parse(ha).msg,
      `template: :1:21: executing "" at <fd_connect "${sock}">: error calling fd_connect: fd_connect: dial unix ${sock}: connect: connection refused`,
    );
    assert.match(r.stderr, /error starting vm: error at 'creating and starting': exit status 1/);
    assert.equal(sim.isAlive(stranger), true);
    await sim.run([colima, "delete", "-p", "other", "--force"]);
    // With nothing running, the next start clears _networks and starts a usernet of its own.
    await sim.run([colima, "stop"]);
    assert.equal(sim.isAlive(stranger), false, "lima's usernet.Stop signals whatever the PID is now");
    assert.equal((await sim.run([colima, "start", "--vm-type", "qemu"])).code, 0);
  });

  it("the docker socket is the user's, srw-------; the docker CLI refuses other users like connect(2)", async () => {
    const st = statSync(socket);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [501, 20, 0o600]);
    sim.addUser("alice", { uid: 502, gid: 20, admin: false, sudo: "none" });
    const docker = (user: string) =>
      sim.run([join(sim.world.brewPrefix(), "bin/docker"), "--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"], {
        user,
      });
    const ops = await docker("ops");
    assert.equal(ops.code, 0, ops.stderr);
    assert.match(ops.stdout, /^\d+\./);
    const alice = await docker("alice");
    assert.equal(alice.code, 1);
    const said = `permission denied while trying to connect to the Docker daemon socket at unix://${socket}: Get "http://${encodeURIComponent(socket)}/v1.`;
    assert.ok(alice.stderr.startsWith(said), alice.stderr);
    assert.ok(alice.stderr.endsWith(`/version": dial unix ${socket}: connect: permission denied\n`), alice.stderr);
    chmodSync(socket, 0o666);
    assert.equal((await docker("alice")).code, 0, "with write permission for others");
    chmodSync(socket, 0o600);
  });

  it("a Node process's own connect to the user's socket (enforceConnectPermissions) is refused for another user, EACCES, as connect(2) refuses it", async () => {
    // A socket of the test's own, made as Lima makes docker.sock (the user's, srw-------).
    const path = sim.path("/Users/ops/.colima/default/own.sock");
    const server = createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(path, r));
    chownSync(path, 501, 20);
    chmodSync(path, 0o600);
    const connectAs = (user: string): Promise<string> =>
      new Promise((resolve) => {
        const was = process.env.SIM_USER;
        process.env.SIM_USER = user;
        const c = createConnection(path, () => {
          c.destroy();
          resolve("connected");
        });
        c.on("error", (e: NodeJS.ErrnoException) => resolve(`${e.code} ${e.syscall} ${e.message}`));
        if (was === undefined) delete process.env.SIM_USER;
        else process.env.SIM_USER = was;
      });
    if (!sim.world.userInfo("alice")) sim.addUser("alice", { uid: 502, gid: 20, admin: false, sudo: "none" });
    const undo = enforceConnectPermissions(sim.root);
    try {
      assert.equal(await connectAs("ops"), "connected");
      assert.equal(await connectAs("alice"), `EACCES connect connect EACCES ${path}`);
      chmodSync(path, 0o666);
      assert.equal(await connectAs("alice"), "connected", "with write permission for others");
      chmodSync(path, 0o600);
    } finally {
      undo();
    }
    assert.equal(await connectAs("alice"), "connected", "undone: this process is root again");
    await new Promise((r) => server.close(r));
  });

  it("a frozen guest: docker.sock accepts and never answers, open connections stall, `colima status` waits; thawed, all go on", async () => {
    const ping = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const c = createConnection(socket, () => c.write("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"));
        let out = "";
        c.on("data", (d) => {
          out += d;
        });
        c.on("end", () => resolve(out));
        c.on("error", reject);
      });
    await waitFor("Docker through the socket", () => dockerAnswers(socket));
    assert.match(await ping(), /OK$/);
    sim.freezeVm("default");
    try {
      const pending = ping();
      const status = sim.run([colima, "status"], { timeoutMs: 3000 });
      const raced = await Promise.race([pending.then(() => "answered"), new Promise((r) => setTimeout(() => r("silent"), 2000))]);
      assert.equal(raced, "silent", "accepted, never answered");
      assert.notEqual((await status).code, 0, "status still waiting when killed at 3 s");
      sim.thawVm("default");
      assert.match(await pending, /OK$/, "the held request goes on after the thaw");
    } finally {
      sim.thawVm("default");
    }
    assert.equal((await sim.run([colima, "status"])).code, 0);
  });
});

describe("simulated reads: a user other than root is refused what macOS refuses them", { concurrency: false }, () => {
  let sim: MacSimulator;
  const ops = (p: string) => sim.path(`/Users/ops${p}`);

  before(async () => {
    sim = await MacSimulator.create({ dockerTarget });
    sim.addUser("alice", { uid: 502, gid: 20, admin: true, sudo: "password" });
    // What ops made in their home: really root's files (every process here is), standing for ops's.
    mkdirSync(ops("/.colima/_lima/colima"), { recursive: true });
    chmodSync(ops("/.colima/_lima/colima"), 0o700);
    writeFileSync(ops("/.colima/_lima/colima/ha.stderr.log"), "one\ntwo\n");
    writeFileSync(ops("/.colima/secret"), "s\n", { mode: 0o600 });
    writeFileSync(ops("/.colima/open"), "o\n", { mode: 0o644 });
    writeFileSync(ops("/Library/LaunchAgents/x.plist"), "p\n", { mode: 0o644 });
    symlinkSync(ops("/.colima/open"), ops("/Library/LaunchAgents/link"));
  });
  after(async () => {
    await sim?.dispose();
  });

  it("cat, head, tail, ls, du, readlink, test: BSD's `<tool>: <path>: Permission denied`, exit 1, for what alice may not read; ops and root read it all", async () => {
    const run = (user: string, argv: string[]) => sim.run([sim.path(argv[0] as string), ...argv.slice(1)], { user });
    // The home is drwxr-x--- ops:staff: alice, in staff, may list it and read its 0644 files.
    assert.deepEqual(await run("alice", ["/bin/cat", ops("/.colima/open")]), { code: 0, stdout: "o\n", stderr: "" });
    assert.equal((await run("alice", ["/bin/ls", "-1A", ops("")])).code, 0);
    for (const [argv, tool, path] of [
      [["/bin/cat", ops("/.colima/secret")], "cat", ops("/.colima/secret")],
      [["/usr/bin/head", "-c", "1", ops("/.colima/secret")], "head", ops("/.colima/secret")],
      [["/usr/bin/tail", "-n", "1", ops("/.colima/_lima/colima/ha.stderr.log")], "tail", ops("/.colima/_lima/colima/ha.stderr.log")],
      [["/bin/ls", "-1A", ops("/Library")], "ls", ops("/Library")],
      [["/bin/ls", "-1A", ops("/.colima/_lima/colima")], "ls", ops("/.colima/_lima/colima")],
    ] as const) {
      assert.deepEqual(
        await run("alice", [...argv]),
        { code: 1, stdout: "", stderr: `${tool}: ${path}: Permission denied\n` },
        argv.join(" "),
      );
      for (const user of ["ops", "root"]) assert.equal((await run(user, [...argv])).code, 0, `${user}: ${argv.join(" ")}`);
    }
    // du: the folder it may not read is warned about and left out; the rest is summed; exit 1.
    const du = await run("alice", ["/usr/bin/du", "-sk", ops("/.colima")]);
    assert.equal(du.code, 1);
    assert.equal(du.stderr, `du: ${ops("/.colima/_lima/colima")}: Permission denied\n`);
    assert.match(du.stdout, new RegExp(`^\\d+\\t${ops("/.colima")}\\n$`));
    assert.equal((await run("ops", ["/usr/bin/du", "-sk", ops("/.colima")])).code, 0);
    // A lookup through a folder it may not search: readlink prints nothing, test is false.
    assert.deepEqual(await run("alice", ["/usr/bin/readlink", ops("/Library/LaunchAgents/link")]), { code: 1, stdout: "", stderr: "" });
    assert.deepEqual(await run("ops", ["/usr/bin/readlink", ops("/Library/LaunchAgents/link")]), {
      code: 0,
      stdout: `${ops("/.colima/open")}\n`,
      stderr: "",
    });
    assert.equal((await run("alice", ["/bin/test", "-e", ops("/Library/LaunchAgents/x.plist")])).code, 1);
    assert.equal((await run("ops", ["/bin/test", "-e", ops("/Library/LaunchAgents/x.plist")])).code, 0);
    assert.equal((await run("alice", ["/bin/test", "-e", ops("/.colima/secret")])).code, 0, "seen, though not readable");
  });

  it("a Node process's own reads (enforceReadPermissions) throw EACCES as Node reports it, for alice only", () => {
    const undo = enforceReadPermissions(sim.root);
    const was = process.env.SIM_USER;
    const as = <T>(user: string, f: () => T): string | T => {
      process.env.SIM_USER = user;
      try {
        return f();
      } catch (e) {
        const { code, syscall, message } = e as NodeJS.ErrnoException;
        return `${code} ${syscall} ${message}`;
      } finally {
        if (was === undefined) delete process.env.SIM_USER;
        else process.env.SIM_USER = was;
      }
    };
    try {
      const secret = ops("/.colima/secret");
      assert.equal(
        as("alice", () => readFileSync(secret, "utf8")),
        `EACCES open EACCES: permission denied, open '${secret}'`,
      );
      assert.equal(
        as("ops", () => readFileSync(secret, "utf8")),
        "s\n",
      );
      assert.equal(
        as("root", () => readFileSync(secret, "utf8")),
        "s\n",
      );
      assert.equal(
        as("alice", () => readFileSync(ops("/.colima/open"), "utf8")),
        "o\n",
      );
      const lib = ops("/Library");
      assert.equal(
        as("alice", () => readdirSync(lib).join()),
        `EACCES scandir EACCES: permission denied, scandir '${lib}'`,
      );
      const plist = ops("/Library/LaunchAgents/x.plist");
      assert.equal(
        as("alice", () => statSync(plist).size),
        `EACCES stat EACCES: permission denied, stat '${plist}'`,
      );
      assert.equal(
        as("alice", () => existsSync(plist)),
        false,
      );
      assert.equal(
        as("ops", () => existsSync(plist)),
        true,
      );
      const link = ops("/Library/LaunchAgents/link");
      assert.equal(
        as("alice", () => readlinkSync(link)),
        `EACCES readlink EACCES: permission denied, readlink '${link}'`,
      );
      assert.equal(
        as("ops", () => readlinkSync(link)),
        ops("/.colima/open"),
      );
    } finally {
      undo();
    }
    assert.equal(readFileSync(ops("/.colima/secret"), "utf8"), "s\n", "undone");
  });
});
