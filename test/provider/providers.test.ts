// Pure layer of the Mac-facing providers: rendering, quoting, diff decisions and gate timing, as
// exact tables. The rendered supervisor is parsed by a real sh (-n) and run for its quoting.
// Cannot prove: that launchd, colima and brew behave as assumed — the e2e tests do that on the
// simulated Mac, and the contract suite pins the simulator to real Macs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { diffColimaProfile, profileProcesses } from "../../provider/colimaProfile";
import { diffDockerAccess } from "../../provider/dockerAccess";
import { type HealthGateInputs, nextDelay, prunedAfterStart, waitGate } from "../../provider/healthGate";
import {
  diffLaunchDaemon,
  filesHash,
  PRUNE_ARGS,
  renderPlist,
  renderSupervisor,
  SUPERVISOR_SH,
  supervisorHeader,
} from "../../provider/launchDaemon";
import { versionOfKeg } from "../../provider/lib/brew";
import { UNKNOWN } from "../../provider/lib/checkInputs";
import { colimaCommand, colimaPaths, colimaProfile, hostPath, instanceId, shellQuote } from "../../provider/lib/host";
import { SWEEP_SH } from "../../provider/lib/staleState";
import { confPath, diffLogRotation, renderRule } from "../../provider/logRotation";
import { DAEMON as daemon } from "../helpers/daemonInputs";
import { repoRoot } from "../helpers/pulumiStack";
import { RecordingMac } from "../helpers/recordingMac";

describe("host paths and quoting", () => {
  it("maps macOS paths onto the host root", () => {
    assert.equal(hostPath({ root: "/" }, "/opt/homebrew"), "/opt/homebrew");
    assert.equal(hostPath({ root: "/tmp/mac/" }, "/opt/homebrew"), "/tmp/mac/opt/homebrew");
    assert.deepEqual(colimaPaths({ root: "/", user: "ops" }, "work"), {
      configDir: "/Users/ops/.colima/work",
      dockerSocket: "/Users/ops/.colima/work/docker.sock",
      instanceDir: "/Users/ops/.colima/_lima/colima-work",
      diskDir: "/Users/ops/.colima/_lima/_disks/colima-work",
      id: "colima-work",
      usernetDir: "/Users/ops/.colima/_lima/_networks/user-v2",
    });
    assert.deepEqual(["default", "colima", "x"].map(instanceId), ["colima", "colima", "colima-x"]);
  });

  const hostile = [`it's`, `$(touch /tmp/cpulse-pwned)`, "`id`", 'a"b', "semi;colon", "new\nline", "back\\slash", "-rf", ""];
  for (const word of hostile) {
    it(`shellQuote survives ${JSON.stringify(word)} in a real sh`, () => {
      const out = execFileSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
      assert.equal(out, word);
    });
  }
});

describe("LaunchDaemon rendering", () => {
  it("renders a plist launchd accepts, parsed back by Python's plistlib", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-plist-"));
    writeFileSync(join(dir, "p.plist"), renderPlist({ ...daemon, logPath: "/var/log/a & <b>.log" }));
    const parsed = JSON.parse(
      execFileSync(
        "python3",
        ["-c", "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))", join(dir, "p.plist")],
        { encoding: "utf8" },
      ),
    );
    assert.deepEqual(parsed, {
      Label: "com.example.colima",
      ProgramArguments: ["/bin/sh", "/Library/Application Support/colima-pulse/com.example.colima.sh"],
      UserName: "ops",
      GroupName: "staff",
      EnvironmentVariables: { HOME: "/Users/ops", USER: "ops", LOGNAME: "ops", PATH: "/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin" },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      ExitTimeOut: 120,
      StandardOutPath: "/var/log/a & <b>.log",
      StandardErrorPath: "/var/log/a & <b>.log",
    });
  });

  it("renders the supervisor as a header of settings, then provider/sweep.sh and provider/supervisor.sh unchanged, which sh parses", () => {
    for (const pruneMode of ["", "dangling", "images", "system"] as const) {
      const inputs = { ...daemon, pruneMode, prefix: "/opt/home brew's" };
      const script = renderSupervisor(inputs);
      execFileSync("/bin/sh", ["-n", "-c", script]);
      assert.equal(script, `${supervisorHeader(inputs)}${SWEEP_SH}${SUPERVISOR_SH}`);
      assert.match(
        script,
        new RegExp(`\\nPRUNE_MODE='${pruneMode}'\\nPRUNE_ARGS='${(PRUNE_ARGS[pruneMode] ?? []).join(" ")}'\\n`),
        pruneMode,
      );
    }
    assert.equal(SUPERVISOR_SH, readFileSync(join(repoRoot, "provider/supervisor.sh"), "utf8"));
    assert.equal(SWEEP_SH, readFileSync(join(repoRoot, "provider/sweep.sh"), "utf8"));
    // Every value quoted; the header is assignments (and the comments above them) only.
    const header = supervisorHeader({ ...daemon, pruneMode: "images", prefix: "/opt/home brew's" });
    assert.match(header, /^#!\/bin\/sh\n(# .*\n)+/);
    assert.match(header, /\nCOLIMA='\/opt\/home brew'\\''s\/bin\/colima'\n/);
    assert.match(header, /\nSOCK='\/Users\/ops\/\.colima\/default\/docker\.sock'\n/);
    assert.match(header, /\nCPUS='2'\nMEMORY='4'\nDISK='60'\nARCH='aarch64'\n/);
    for (const line of header.split("\n").slice(1, -1)) assert.match(line, /^(# .*|[A-Z_]+='([^']|'\\'')*')$/, line);
    // The body starts colima with the header's settings, and prunes only with a PRUNE_MODE, once
    // the API answers after the start (test/provider/supervisor.test.ts runs both).
    assert.match(
      SUPERVISOR_SH,
      /\n"\$COLIMA" start --foreground --profile "\$PROFILE" --runtime docker --vm-type qemu \\\n {2}--cpus "\$CPUS" --memory "\$MEMORY" --disk "\$DISK" --arch "\$ARCH" >"\$FIFO" 2>&1 &\n/,
    );
    assert.match(
      SUPERVISOR_SH,
      /log "the Docker API answers at \$SOCK"\n {6}give_socket\n {6}if \[ -n "\$PRUNE_MODE" \]; then prune & fi\n/,
    );
    assert.match(SUPERVISOR_SH, /\[ -z "\$PRUNE_MODE" \] \|\| echo "pending: the prune after this start" >"\$PRUNING"\n"\$COLIMA" start/);
  });

  it("renders the same bytes every time; the reload hash ignores layout, not content", async () => {
    const plist = renderPlist(daemon);
    assert.equal(renderPlist({ ...daemon }), plist);
    const script = renderSupervisor(daemon);
    assert.equal(renderSupervisor({ ...daemon, versions: { ...daemon.versions } }), script);
    const hash = filesHash(plist, script);
    // Apple's own layout (no indent under <plist>, as colima-pulse wrote it before the plist package).
    const appleLayout = plist.replace(/^\t/gm, "").replace(/\n+$/, "");
    assert.notEqual(appleLayout, plist);
    assert.equal(filesHash(appleLayout, script), hash);
    assert.notEqual(filesHash(plist.replace("<integer>10</integer>", "<integer>11</integer>"), script), hash);
    assert.notEqual(filesHash(plist, `${script}\n`), hash);
    assert.equal(filesHash("", script), "");
  });

  it("reloads only when the rendered files differ or the job is not loaded, and says which property and why", async () => {
    const hash = filesHash(renderPlist(daemon), renderSupervisor(daemon));
    const stored = { ...daemon, plistPath: "", scriptPath: "", filesHash: hash, loaded: true, conflicts: [], running: true, started: "" };
    // State of a version before `started`: stored once, restarting nothing.
    const { started: _absent, ...earlier } = stored;
    assert.deepEqual(diffLaunchDaemon(earlier, daemon).reasons, ["started changed (recorded by an earlier colima-pulse: stored now)"]);
    assert.deepEqual(diffLaunchDaemon(stored, daemon), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
      detailedDiff: {},
      reasons: [],
    });
    assert.deepEqual(diffLaunchDaemon({ ...stored, loaded: false, conflicts: ["gui/501/homebrew.mxcl.colima"] }, daemon).reasons, [
      "loaded: false → true (system/com.example.colima is not loaded)",
      'conflicts: - ["gui/501/homebrew.mxcl.colima"] (conflicting jobs are booted out)',
    ]);
    assert.deepEqual(diffLaunchDaemon({ ...stored, running: false }, daemon).reasons, [
      "running: false → true (system/com.example.colima's supervisor is not running (as the refresh saw it): started again with fresh counts)",
    ]);
    // Without a refresh: the survey's live look decides, whatever state says.
    const seen = (running: boolean, failedStarts = 0, hungStops = 0) => ({ ...daemon, supervisor: { running, failedStarts, hungStops } });
    assert.deepEqual(diffLaunchDaemon(stored, seen(false, 5)).reasons, [
      "running: false → true (system/com.example.colima's supervisor is not running (gave up after 5 failed starts in a row): started again with fresh counts)",
    ]);
    assert.deepEqual(diffLaunchDaemon(stored, seen(false, 0, 6)).reasons, [
      "running: false → true (system/com.example.colima's supervisor is not running (gave up after 5 restarts in a row for a Docker API that stopped answering): started again with fresh counts)",
    ]);
    assert.deepEqual(diffLaunchDaemon(stored, seen(false, 2)).reasons, [
      "running: false → true (system/com.example.colima's supervisor is not running (between two attempts (launchd's ThrottleInterval)): started again with fresh counts)",
    ]);
    assert.deepEqual(diffLaunchDaemon(stored, seen(false)).reasons, [
      "running: false → true (system/com.example.colima's supervisor is not running (stopped): started again with fresh counts)",
    ]);
    assert.equal(
      diffLaunchDaemon({ ...stored, running: false }, seen(true, 1, 1)).changes,
      false,
      "seen running now: state's old look is stale",
    );
    assert.equal(diffLaunchDaemon({ ...stored, loaded: false }, seen(false)).reasons.length, 1, "not loaded: loading it starts it");
    assert.deepEqual(diffLaunchDaemon({ ...stored, filesHash: "edited" }, daemon).reasons, [
      "filesHash changed (the plist or supervisor on the Mac differs from the declared one: rewritten, reloaded)",
    ]);
    const changed = diffLaunchDaemon(stored, {
      ...daemon,
      throttleInterval: 7,
      cpus: 4,
      versions: { ...daemon.versions, colima: "0.10.4" },
    });
    assert.deepEqual(changed.reasons, [
      "cpus: 2 → 4 (the job reloads with it, the VM restarts)",
      "throttleInterval: 10 → 7 (launchd's ThrottleInterval: the job reloads, the VM restarts)",
      'versions: {"colima":"0.10.3","lima":"1.2.1","qemu":"10.1.0"} → {"colima":"0.10.4","lima":"1.2.1","qemu":"10.1.0"} (the VM restarts under the installed versions)',
    ]);
    assert.deepEqual(changed.detailedDiff, {
      cpus: { kind: "update", inputDiff: true },
      throttleInterval: { kind: "update", inputDiff: true },
      versions: { kind: "update", inputDiff: true },
    });
    assert.deepEqual(diffLaunchDaemon(stored, { ...daemon, label: "com.example.other" }).replaces, ["label"]);
    // A new profile generation: the reason is what happened to the profile (provider/lib/generation.ts).
    const generation = (g: string) => diffLaunchDaemon(stored, { ...daemon, profileGeneration: g }).reasons;
    assert.deepEqual(generation("2026-12-07T08:00:00.000Z restored from /Users/ops/b/20261201T100000Z-default"), [
      "profileGeneration changed (the profile was restored from /Users/ops/b/20261201T100000Z-default: the job reloads)",
    ]);
    assert.deepEqual(generation("2026-12-07T08:00:00.000Z adopted in place"), [
      "profileGeneration changed (the profile was adopted in place: the job reloads)",
    ]);
    assert.deepEqual(generation("2026-12-07T08:00:00.000Z"), [
      "profileGeneration changed (the profile was provisioned again: the job reloads)",
    ]);
    assert.deepEqual(generation(UNKNOWN), ["profileGeneration changed (known once the resources it comes from have run)"]);
    // The prune after each start is in the supervisor: a change reloads the job, and that very
    // start is pruned the new way; a secret mode is not named.
    const prune = (olds: string, news: string, secrets?: string[]) =>
      diffLaunchDaemon({ ...stored, pruneMode: olds as "" }, { ...daemon, pruneMode: news as "", ...(secrets ? { secrets } : {}) }).reasons;
    assert.deepEqual(prune("", "images"), [
      "pruneMode: (none) → images (the supervisor script changes: the job reloads and the VM restarts; once Docker answers after that start, and after every start, it runs docker image prune --all --force)",
    ]);
    assert.deepEqual(prune("system", ""), [
      "pruneMode: system → (none) (the supervisor script changes: the job reloads and the VM restarts; nothing is pruned after a start any more)",
    ]);
    assert.deepEqual(prune("dangling", "system", ["pruneMode"]), [
      "pruneMode changed (the supervisor script changes: the job reloads and the VM restarts; from that start on, the prune after each start is what the settings now say)",
    ]);
    // A secret input's values are never printed; its effect is.
    assert.deepEqual(diffLaunchDaemon(stored, { ...daemon, cpus: 3, secrets: ["cpus"] }).reasons, [
      "cpus changed (the job reloads with it, the VM restarts)",
    ]);
  });
});

describe("ColimaProfile decisions", () => {
  const stored = {
    resourceName: "p",
    host: { root: "/", user: "ops" },
    prefix: "/opt/homebrew",
    profile: "default",
    cpus: 2,
    memory: 2,
    disk: 60,
    arch: "aarch64" as const,
    label: "com.example.colima",
    backupDirBase: "/Users/ops/backups",
    hostMemoryGiB: 16,
    instanceId: "colima",
    dockerSocket: "/Users/ops/.colima/default/docker.sock",
    driver: "QEMU",
    colimaVersion: "0.10.3",
    generation: "g1",
  };
  const { instanceId: _i, dockerSocket: _d, driver: _dr, colimaVersion: _c, generation: _g, ...inputs } = stored;

  it("a Mac reached another way (a new SSH_HOST) is an update of host.ssh only: no replacement, nothing on the Mac", () => {
    const ssh = { destination: "admin@mac-07.local" };
    const before = { ...stored, host: { ...stored.host, ssh } };
    const d = diffColimaProfile(before, { ...inputs, host: { ...inputs.host, ssh: { destination: "admin@10.0.0.7", port: 2222 } } });
    assert.deepEqual(d.replaces, []);
    assert.deepEqual(Object.keys(d.detailedDiff), ["host.ssh"]);
    assert.match(
      d.reasons[0] as string,
      /^host\.ssh: .*admin@mac-07\.local.* → .*admin@10\.0\.0\.7.* \(the Mac is reached another way: state records it, nothing on the Mac changes\)$/,
    );
    // Another Mac (root or Homebrew user) is still a replacement.
    assert.deepEqual(diffColimaProfile(before, { ...inputs, host: { ...inputs.host, user: "other", ssh } }).replaces, ["host"]);
  });

  it("is quiet when converged; resizes in place; replaces for a new name or architecture", () => {
    assert.equal(diffColimaProfile(stored, inputs).changes, false);
    assert.deepEqual(diffColimaProfile(stored, { ...inputs, cpus: 4 }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
      detailedDiff: { cpus: { kind: "update", inputDiff: true } },
      reasons: ["cpus: 2 → 4 (the VM restarts under its LaunchDaemon with the new size)"],
    });
    assert.deepEqual(diffColimaProfile(stored, { ...inputs, profile: "work", arch: "x86_64" }).replaces, ["profile", "arch"]);
    assert.deepEqual(diffColimaProfile({ ...stored, driver: "macOS Virtualization.Framework" }, inputs).reasons, [
      "driver: macOS Virtualization.Framework → QEMU (the profile is not QEMU any more)",
    ]);
  });

  it("a full reset decision replaces the profile once, and says where the state goes", () => {
    const reset = { id: "20261130T080000Z", backup: "move" as const, folder: "/Users/ops/backups/20261130T080000Z-default" };
    const asked = diffColimaProfile(stored, { ...inputs, reset });
    assert.deepEqual(asked.replaces, ["reset"]);
    assert.deepEqual(asked.detailedDiff, { reset: { kind: "add-replace", inputDiff: true } });
    assert.deepEqual(asked.reasons, [
      "reset: + move the state into /Users/ops/backups/20261130T080000Z-default (a full reset asked for on the command line: then a new profile)",
    ]);
    assert.equal(diffColimaProfile({ ...stored, reset }, { ...inputs, reset }).changes, false, "a decision is carried out once");
    assert.equal(diffColimaProfile({ ...stored, reset }, inputs).changes, false, "no decision: nothing to do");
    assert.deepEqual(diffColimaProfile(stored, { ...inputs, reset: { ...reset, backup: "false", folder: "" } }).reasons, [
      "reset: + DELETE the state without a backup (a full reset asked for on the command line: then a new profile)",
    ]);
  });

  it("finds this profile's processes by command line, and only them", () => {
    const paths = colimaPaths(stored.host, "default");
    const procs = [
      {
        pid: 1,
        user: "ops",
        command: "/opt/homebrew/bin/limactl hostagent --pidfile /Users/ops/.colima/_lima/colima/ha.pid --socket x colima",
      },
      {
        pid: 2,
        user: "ops",
        command: "/opt/homebrew/bin/qemu-system-aarch64 -m 2048 -name lima-colima -pidfile /Users/ops/.colima/_lima/colima/qemu.pid",
      },
      { pid: 3, user: "ops", command: "/opt/homebrew/bin/colima start --foreground --profile default --runtime docker" },
      {
        pid: 4,
        user: "ops",
        command:
          "/opt/homebrew/bin/qemu-system-aarch64 -m 2048 -name lima-colima-work -pidfile /Users/ops/.colima/_lima/colima-work/qemu.pid",
      },
      { pid: 5, user: "ops", command: "/opt/homebrew/bin/colima start --profile defaultish" },
      { pid: 6, user: "ops", command: "sleep 3600" },
      // Another user's profile of the same name: same VM name, its own instance folder.
      {
        pid: 7,
        user: "dev",
        command: "/opt/homebrew/bin/qemu-system-aarch64 -m 2048 -name lima-colima -pidfile /Users/dev/.colima/_lima/colima/qemu.pid",
      },
      { pid: 8, user: "dev", command: "/Users/dev/.local/bin/colima start --profile default" },
      // Colima's names (ProfileFromName): `colima` is the default profile; `colima-work` is `work`.
      { pid: 9, user: "ops", command: "/opt/homebrew/bin/colima stop --profile colima" },
      { pid: 10, user: "ops", command: "/opt/homebrew/bin/colima start -p work" },
      { pid: 11, user: "ops", command: "/opt/homebrew/bin/colima start --profile=colima-work --cpus 2" },
      { pid: 12, user: "ops", command: "/opt/homebrew/bin/colima start --profile colima-workshop" },
    ];
    assert.deepEqual(
      profileProcesses(procs, paths, "default", "/opt/homebrew").map((p) => p.pid),
      [1, 2, 3, 9],
    );
    assert.deepEqual(
      profileProcesses(procs, colimaPaths(stored.host, "colima-work"), "colima-work", "/opt/homebrew").map((p) => p.pid),
      [4, 10, 11],
    );
  });

  it("a profile name becomes Colima's names as config/profile.go#ProfileFromName makes them", () => {
    const table: [string, string, string][] = [
      ["", "colima", "default"],
      ["colima", "colima", "default"],
      ["default", "colima", "default"],
      ["work", "colima-work", "work"],
      ["colima-work", "colima-work", "work"],
      ["colima-colima", "colima-colima", "colima"],
      ["colima-colima-x", "colima-colima-x", "colima-x"],
      ["colima-default", "colima-default", "default"],
    ];
    assert.deepEqual(
      table.map(([name]) => [name, colimaProfile(name).id, colimaProfile(name).short]),
      table,
    );
    const host = { root: "/", user: "ops" };
    assert.deepEqual(colimaPaths(host, "colima-work"), colimaPaths(host, "work"));
    assert.equal(colimaPaths(host, "colima-work").dockerSocket, "/Users/ops/.colima/work/docker.sock");
    assert.deepEqual(colimaCommand(host, "/opt/homebrew", "status", "--json"), [
      "/usr/bin/env",
      ...["-u", "COLIMA_HOME", "-u", "LIMA_HOME", "-u", "XDG_CONFIG_HOME"],
      "/opt/homebrew/bin/colima",
      "status",
      "--json",
    ]);
  });
});

describe("HomebrewPackages and HealthGate", () => {
  it("a version is read from the opt link's keg (Keg#optlink: relative; absolute accepted), never another formula's", () => {
    assert.equal(versionOfKeg("colima", "../Cellar/colima/0.10.3"), "0.10.3");
    assert.equal(versionOfKeg("qemu", "/opt/homebrew/Cellar/qemu/10.1.0_1/"), "10.1.0_1");
    assert.equal(versionOfKeg("lima", "../Cellar/lima-additional-guestagents/1.2.1"), undefined);
    assert.equal(versionOfKeg("lima", "../Cellar/lima"), undefined);
    assert.equal(versionOfKeg("lima", "/somewhere/else"), undefined);
  });

  it("after the gates: waits while the supervisor's prune of this start is marked, and says when it ended; no mark, no wait", async (t) => {
    const host = { root: "/", user: "ops" };
    const gate: HealthGateInputs = {
      ...{ resourceName: "colima-health", host, prefix: "/opt/homebrew", profile: "default", trigger: "t", versions: {} },
      ...{ socketTimeout: 5, qemuTimeout: 5, apiTimeout: 5, stableRequired: 1 },
    };
    const said: string[] = [];
    t.mock.method(console, "log", (m: string) => said.push(m));
    const mac = new RecordingMac(host);
    await prunedAfterStart(mac, gate);
    assert.equal(said.length, 0, "no prune marked: nothing to wait for");
    const mark = "/Users/ops/.colima/.colima-pulse-default.pruning";
    mac.files.set(mark, "pending: the prune after this start\n");
    let ended = 0;
    setTimeout(() => {
      ended = Date.now();
      mac.files.delete(mark);
    }, 600);
    await prunedAfterStart(mac, gate);
    assert.ok(ended > 0 && Date.now() >= ended, "returned only once the mark was gone");
    assert.match(said.at(-1) as string, /^\[colima-health\] the supervisor's prune after this start ended \(waited \d+ ms\)$/);
  });

  it("polls fast first, then at most every 100 ms (or a gate's own cap)", () => {
    const delays = [0];
    for (let i = 0; i < 6; i++) delays.push(nextDelay(delays[delays.length - 1] as number));
    assert.deepEqual(delays, [0, 25, 38, 57, 86, 100, 100]);
    assert.deepEqual([nextDelay(0, 20), nextDelay(20, 20)], [20, 20]);
  });

  it("a watched folder's change wakes the gate; a folder that cannot be watched leaves the clock", async (t) => {
    // The gate's clock is node:test's mock (setTimeout only): a pause ends only when the test moves
    // it, so a probe that follows a change in the folder was woken by the folder's watch. A watcher
    // of the test's own on the same folder says when the change was seen: libuv hands one inotify
    // event to every watcher of that folder in the same turn of the loop (libuv src/unix/linux.c,
    // uv__inotify_read), so one setImmediate later the gate has had its wake-up, if it got one.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const dir = mkdtempSync(join(tmpdir(), "cpulse-gate-"));
    const file = join(dir, "docker.sock");
    let seen: () => void = () => undefined;
    const ours = watch(dir, () => seen());
    t.after(() => {
      ours.close();
      rmSync(dir, { recursive: true, force: true });
    });
    /** Starts a socket gate watching `watchDir`; resolves `first` at its first probe (absent). */
    const gateOn = (watchDir: string) => {
      let probes = 0;
      let probed: () => void = () => undefined;
      const first = new Promise<void>((r) => {
        probed = r;
      });
      let settled = false;
      const gate = waitGate(
        "the Docker socket",
        60,
        async () => {
          probes++;
          probed();
          return existsSync(file) ? { ok: true } : { ok: false, seen: "absent" };
        },
        () => undefined,
        { watchDir },
      ).finally(() => {
        settled = true;
      });
      return { gate, first, probes: () => probes, settled: () => settled };
    };
    /** Creates the socket file; resolves once the test's watcher saw it and the loop turned once more. */
    const appear = async () => {
      const noticed = new Promise<void>((r) => {
        seen = r;
      });
      writeFileSync(file, "");
      await noticed;
      await new Promise((r) => setImmediate(r));
    };

    const watched = gateOn(dir);
    try {
      await watched.first; // the gate found nothing, and pauses on a clock that does not move
      await appear();
      assert.equal(watched.settled(), true, "the folder's change woke the gate: it probed again and passed");
      assert.equal(watched.probes(), 2);
    } finally {
      t.mock.timers.runAll(); // a gate the watch did not wake ends on the clock, closing its watcher
      await watched.gate;
    }

    rmSync(file);
    const unwatched = gateOn(join(dir, "missing"));
    await unwatched.first;
    await appear();
    assert.equal(unwatched.settled(), false, "no watch: the change alone does not wake the gate");
    t.mock.timers.runAll(); // the pause ends on the clock
    await unwatched.gate;
    assert.equal(unwatched.probes(), 2, "then it probes again, and passes");
  });

  /** Runs `gate` on node:test's mocked clock (setTimeout and Date, from 0): whenever the gate is
   *  left waiting on its clock, moves the clock to its next timer. What the gate measures is then
   *  exact: the sum of its own pauses and deadlines, whatever the machine's load. */
  async function onMockedClock<T>(t: TestContext, gate: () => Promise<T>): Promise<T> {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    let done = false;
    const running = gate().finally(() => {
      done = true;
    });
    running.catch(() => undefined); // awaited below
    while (!done) {
      await new Promise((r) => setImmediate(r));
      if (!done) t.mock.timers.runAll();
    }
    t.mock.timers.reset();
    return running;
  }

  it("a gate passes as soon as its probe does, and fails at its timeout with the last observation", async (t) => {
    let n = 0;
    const passed = await onMockedClock(t, () =>
      waitGate(
        "thing",
        5,
        async () => (++n >= 3 ? { ok: true, value: "v" } : { ok: false, seen: `try ${n}` }),
        () => undefined,
      ),
    );
    assert.equal(passed.value, "v");
    assert.equal(n, 3, "it stopped probing at the first pass");
    assert.equal(passed.ms, nextDelay(0) + nextDelay(nextDelay(0)), "two pauses, the shortest ones, and no more");
    let probes = 0;
    await assert.rejects(
      onMockedClock(t, () =>
        waitGate(
          "the Docker API",
          1,
          async () => {
            probes++;
            return { ok: false, seen: "ECONNREFUSED" };
          },
          () => undefined,
        ),
      ),
      /^Error: gate "the Docker API" did not pass within 1s \(waited 1\.0s\); last observation: ECONNREFUSED$/,
    );
    // Probes at 0, 25, 63, 120, 206 ms, then every 100 ms to 906, the last pause cut to the
    // deadline: a last probe at 1000 ms.
    assert.equal(probes, 13);
  });

  it("a probe gets the gate's time left as its deadline, and one that ignores it is abandoned half a second after", async (t) => {
    const given: number[] = [];
    await assert.rejects(
      onMockedClock(t, () =>
        waitGate(
          "QEMU",
          1,
          (msLeft) => {
            given.push(msLeft);
            return new Promise(() => undefined); // never answers
          },
          () => undefined,
        ),
      ),
      /^Error: gate "QEMU" did not pass within 1s \(waited 1\.5s\); last observation: the probe did not answer within 1000 ms$/,
    );
    assert.deepEqual(given, [1000]);
  });
});

describe("LogRotation and DockerAccess decisions", () => {
  const rotation = {
    resourceName: "r",
    host: { root: "/", user: "ops" },
    label: "com.example.colima",
    logPath: "/var/log/x.log",
    sizeMB: 10,
    count: 5,
  };

  it("newsyslog's rule: the log, its owner and mode, count, size in KB, no signal, gzip", () => {
    const rule = renderRule(rotation);
    // newsyslog keeps count + 1 archives: 5 kept is a count of 4.
    assert.match(rule, /^\/var\/log\/x\.log\tops:staff\t640\t4\t10240\t\*\tNZ$/m);
    assert.equal(rule.split("\n").filter((l) => l && !l.startsWith("#")).length, 1, "one rule");
    assert.equal(confPath(rotation), "/etc/newsyslog.d/com.example.colima.conf");
  });

  it("a new size rewrites the rule and restarts nothing; a drifted file is rewritten; a new label replaces", () => {
    const stored = { ...rotation, confPath: confPath(rotation), confHash: "" };
    assert.deepEqual(diffLogRotation(stored, rotation).reasons, ["confHash changed (/etc/newsyslog.d/com.example.colima.conf is missing)"]);
    assert.deepEqual(diffLogRotation(stored, { ...rotation, sizeMB: 20 }).reasons, [
      "sizeMB: 10 → 20 (newsyslog's rule is rewritten; nothing restarts)",
    ]);
    assert.deepEqual(diffLogRotation(stored, { ...rotation, label: "com.example.work" }).replaces, ["label"]);
  });

  const access = { resourceName: "a", host: { root: "/", user: "ops" }, prefix: "/opt/homebrew", profile: "default" };
  const converged = {
    ...access,
    contextName: "colima-pulse-default",
    contextHost: "unix:///Users/ops/.colima/default/docker.sock",
    groupSocket: "",
    socketGid: "",
  };

  it("the context and the group socket: what changes, and that nothing restarts", () => {
    assert.deepEqual(diffDockerAccess(converged, access).changes, false);
    assert.deepEqual(diffDockerAccess({ ...converged, contextHost: "" }, access).reasons, [
      "contextHost: (missing) → unix:///Users/ops/.colima/default/docker.sock (the Docker context colima-pulse-default is missing)",
    ]);
    assert.deepEqual(diffDockerAccess(converged, { ...access, socketGroup: "docker" }).reasons, [
      "socketGroup: (none) → docker (members of docker use Docker at /opt/homebrew/var/run/colima-pulse/default.sock: the socket's group changes now; nothing restarts)",
    ]);
    assert.deepEqual(diffDockerAccess({ ...converged, profile: "work" }, access).replaces, ["profile"]);
  });
});
