// Executors through the Mac's seam (provider/lib/mac.ts), with a recording Mac: which commands run
// as whom, and which files are written with which owner and mode. Planning is tested on its own
// (providers.test.ts); the real engine on a simulated Mac, locally and over SSH, is the e2e proof.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convergePackages } from "../../provider/homebrewPackages";
import {
  convergeLaunchDaemon,
  daemonPaths,
  filesHash,
  type LaunchDaemonInputs,
  renderPlist,
  renderSupervisor,
} from "../../provider/launchDaemon";
import { ROOT_COMMANDS } from "../../provider/lib/mac";
import { ROOT_KILL } from "../../provider/lib/process";
import { surveyMac } from "../../provider/lib/survey";
import { convergePower, restorePower } from "../../provider/powerSettings";
import { DAEMON } from "../helpers/daemonInputs";
import { RecordingMac } from "../helpers/recordingMac";

const host = { root: "/", user: "ops", ssh: { destination: "admin@mac-07.local" } };
const daemon: LaunchDaemonInputs = { ...DAEMON, host };
/** `launchctl print` of a job: loaded and running, or not loaded (exit 113). */
const print = (argv: string[], running: Set<string>) =>
  argv[1] === "print" ? (running.has(argv[2] as string) ? { stdout: "\tstate = running\n" } : { exitCode: 113 }) : undefined;

describe("LaunchDaemon through the seam", () => {
  it("a new Mac: the supervisor and the plist written whole as root:wheel 0755/0644, then enabled and bootstrapped as root", async () => {
    const mac = new RecordingMac(host, (argv) => (argv[0] === "/usr/bin/id" ? { stdout: "501" } : print(argv, new Set())));
    const out = await convergeLaunchDaemon(mac, daemon);
    const { plistPath, scriptPath } = daemonPaths(daemon);
    assert.deepEqual(
      mac.writes.map((w) => [w.path, w.owner, w.mode]),
      [
        [scriptPath, "root", "0755"],
        [plistPath, "root", "0644"],
      ],
    );
    assert.equal(mac.files.get(plistPath), renderPlist(daemon));
    const mutating = mac.lines().filter((l) => /launchctl (enable|bootstrap|bootout|kickstart)|install -d|colima-pulse-default/.test(l));
    assert.deepEqual(mutating, [
      // The log's folder only after LOG_PATH's check (provider/lib/logPath.ts), by itself.
      "root: /usr/bin/install -d -m 0755 -o 0 -g 0 /var/log/colima-pulse",
      "root: /usr/bin/install -d -m 0755 -o 0 -g 0 /Library/Application Support/colima-pulse",
      // A (re)load starts with fresh counts: a supervisor that gave up would give up again.
      "user: /bin/rm -f /Users/ops/.colima/.colima-pulse-default.failures /Users/ops/.colima/.colima-pulse-default.hangs /Users/ops/.colima/.colima-pulse-default.workloads /Users/ops/.colima/.colima-pulse-default.pruning",
      "root: /bin/launchctl enable system/com.example.colima",
      "root: /bin/launchctl bootstrap system /Library/LaunchDaemons/com.example.colima.plist",
    ]);
    assert.ok(
      mac.commands.every((c) => c.as !== "login" || /\/(id|stat|ls|readlink)$/.test(c.argv[0] as string)),
      "only reads as the login user",
    );
    assert.equal(out.filesHash, filesHash(renderPlist(daemon), renderSupervisor(daemon)));
  });

  it("a converged Mac: nothing written, nothing loaded or restarted", async () => {
    const mac = new RecordingMac(host, (argv) =>
      argv[0] === "/usr/bin/id" ? { stdout: "501" } : print(argv, new Set(["system/com.example.colima"])),
    );
    const { plistPath, scriptPath } = daemonPaths(daemon);
    mac.files.set(plistPath, renderPlist(daemon));
    mac.files.set(scriptPath, renderSupervisor(daemon));
    await convergeLaunchDaemon(mac, daemon);
    assert.deepEqual(mac.writes, []);
    assert.deepEqual(
      // (brew's plists are removed with rm -f on every run: a no-op when they are not there)
      mac.lines().filter((l) => /launchctl (enable|bootstrap|bootout|kickstart)|install|rm -f/.test(l) && !l.includes("homebrew.mxcl")),
      [],
    );
  });

  it("a job that gave up: its failure count removed as the Homebrew user, then kickstarted as root", async () => {
    const mac = new RecordingMac(host, (argv) =>
      argv[0] === "/usr/bin/id" ? { stdout: "501" } : argv[1] === "print" ? { stdout: "\tstate = not running\n" } : undefined,
    );
    const { plistPath, scriptPath } = daemonPaths(daemon);
    mac.files.set(plistPath, renderPlist(daemon));
    mac.files.set(scriptPath, renderSupervisor(daemon));
    await convergeLaunchDaemon(mac, daemon);
    assert.deepEqual(
      mac.lines().filter((l) => /kickstart|rm -f/.test(l) && !l.includes("homebrew.mxcl")),
      [
        "user: /bin/rm -f /Users/ops/.colima/.colima-pulse-default.failures /Users/ops/.colima/.colima-pulse-default.hangs /Users/ops/.colima/.colima-pulse-default.workloads /Users/ops/.colima/.colima-pulse-default.pruning",
        "root: /bin/launchctl kickstart -k system/com.example.colima",
      ],
    );
  });
});

describe("LaunchDaemon with a prune after each start", () => {
  const pruning = "/Users/ops/.colima/.colima-pulse-default.pruning";
  const images: LaunchDaemonInputs = { ...daemon, pruneMode: "images" };
  /** A Mac whose job is not loaded (or loaded, not running); what the prune mark said when launchd started the job. */
  function mac(job: "absent" | "gave up") {
    const seen: { atStart?: string } = {};
    const m: RecordingMac = new RecordingMac(host, (argv) => {
      if (argv[0] === "/usr/bin/id") return { stdout: "501" };
      if (argv[1] === "bootstrap" || argv[1] === "kickstart") seen.atStart = m.files.get(pruning) ?? "(none)";
      if (argv[1] === "print") return job === "absent" ? { exitCode: 113 } : { stdout: "\tstate = not running\n" };
      return undefined;
    });
    return { m, seen };
  }

  it("each start it makes is marked, before launchd starts the job, as one that prunes: the health gate waits for it", async () => {
    const fresh = mac("absent");
    fresh.m.files.set(pruning, "a mark an earlier start left");
    await convergeLaunchDaemon(fresh.m, images);
    assert.equal(fresh.seen.atStart, "pending: the prune after this start\n");
    assert.deepEqual(
      fresh.m.writes.filter((w) => w.path === pruning).map((w) => [w.owner, w.mode]),
      [["user", "0600"]],
    );
    // A job that gave up: marked again, then kickstarted.
    const gaveUp = mac("gave up");
    const { plistPath, scriptPath } = daemonPaths(images);
    gaveUp.m.files.set(plistPath, renderPlist(images));
    gaveUp.m.files.set(scriptPath, renderSupervisor(images));
    await convergeLaunchDaemon(gaveUp.m, images);
    assert.equal(gaveUp.seen.atStart, "pending: the prune after this start\n");
    assert.match(gaveUp.m.lines().at(-1) as string, /launchctl kickstart -k/);
  });

  it("without a prune, the mark an earlier start left is removed before the start, and none is written", async () => {
    const off = mac("absent");
    off.m.files.set(pruning, "pending: the prune after this start\n");
    // (the recording Mac's rm does not remove files: the rm -f line is the removal)
    await convergeLaunchDaemon(off.m, daemon);
    assert.equal(off.m.writes.filter((w) => w.path === pruning).length, 0);
    const rm = off.m.lines().findIndex((l) => l.startsWith("user: /bin/rm -f") && l.endsWith(pruning));
    const bootstrap = off.m.lines().findIndex((l) => l.includes("launchctl bootstrap"));
    assert.ok(rm >= 0 && rm < bootstrap, off.m.lines().join("\n"));
  });
});

describe("HomebrewPackages through the seam", () => {
  /** A Mac with `before` installed (formula → version: its opt link); `brew install` links each. */
  const facts = (argv: string[]) => {
    const tool = argv[0] as string;
    if (tool.endsWith("sw_vers")) return { stdout: "15.6" };
    if (tool.endsWith("uname")) return { stdout: "arm64" };
    if (tool.endsWith("id")) return { stdout: "501" };
    if (tool.endsWith("fdesetup")) return { stdout: "FileVault is On." };
    if (tool.endsWith("sysctl")) return { stdout: String(16 * 1024 ** 3) };
    return undefined;
  };
  const macOS = (before: Record<string, string>) => {
    const mac = new RecordingMac(host, (argv) => {
      if (argv[1] === "install") for (const f of argv.slice(2)) mac.links.set(`/opt/homebrew/opt/${f}`, `../Cellar/${f}/1.0`);
      return facts(argv);
    });
    for (const [f, v] of Object.entries(before)) mac.links.set(`/opt/homebrew/opt/${f}`, `../Cellar/${f}/${v}`);
    return mac;
  };

  it("installs what is missing as the Homebrew user, without auto-update; checks sudo first", async () => {
    const mac = macOS({ colima: "0.10.3", lima: "1.2.1" });
    for (const p of ["/usr/bin/sw_vers", "/opt/homebrew/bin/brew"]) mac.files.set(p, "");
    const out = await convergePackages(mac, { resourceName: "p", host, formulae: ["colima", "lima", "qemu", "docker"] });
    const install = mac.commands.find((c) => c.argv[1] === "install");
    assert.equal(install?.as, "user");
    assert.deepEqual(install?.argv, ["/opt/homebrew/bin/brew", "install", "qemu", "docker"]);
    assert.equal(install?.env?.HOMEBREW_NO_AUTO_UPDATE, "1");
    // sudo is checked with a root command colima-pulse runs and a command as the Homebrew user.
    const probe = mac.lines().indexOf("root: /bin/launchctl print-disabled system");
    assert.ok(probe >= 0 && mac.lines().indexOf("user: /usr/bin/id -un") > probe, mac.lines().join("\n"));
    assert.ok(probe < mac.lines().findIndex((l) => l.includes("brew install")));
    assert.deepEqual(out.versions, { colima: "0.10.3", lima: "1.2.1", qemu: "1.0", docker: "1.0" }, "from the opt links");
    assert.ok(!mac.lines().some((l) => / list /.test(l)), "no `brew list`: its order is the disk's");
  });

  it("refuses before any change when sudo on the Mac wants a password: the sudoers lines to add there, and why not `sudo -v`", async () => {
    const refused = { exitCode: 1, stderr: "sudo: a password is required" };
    const mac = new RecordingMac(host, (argv) => (argv[1] === "print-disabled" ? refused : facts(argv)));
    mac.files.set("/usr/bin/sw_vers", "");
    await assert.rejects(convergePackages(mac, { resourceName: "p", host, formulae: ["colima"] }), (e: Error) => {
      assert.equal(e.name, "SudoError");
      assert.equal(
        e.message,
        "pre-flight: admin cannot run colima-pulse's root commands through sudo on the recording Mac without a password " +
          "(sudo: a password is required); the system LaunchDaemon needs root and nothing was changed. " +
          "A `sudo -v` cannot help: colima-pulse runs sudo with no terminal, and sudo keeps a `sudo -v` for the terminal it ran on " +
          "(timestamp_type tty). Let admin run these commands without a password: run `sudo visudo -f /etc/sudoers.d/colima-pulse` " +
          "on admin@mac-07.local and put in it\n" +
          "  admin ALL=(root) NOPASSWD: /bin/launchctl, /usr/bin/install, /bin/mv, /bin/rm, /usr/sbin/chown, /bin/chmod, /usr/bin/fdesetup, /bin/kill, /usr/bin/pmset\n" +
          "  admin ALL=(ops) NOPASSWD: ALL\n" +
          "(sudoers matches each command by its path, so it may run with any arguments), then run again.",
      );
      return true;
    });
    assert.deepEqual(
      mac.lines().filter((l) => !l.startsWith("login: ")),
      ["root: /bin/launchctl print-disabled system"],
      "nothing but the read-only probe ran as root, nothing as the Homebrew user",
    );
    // As the Homebrew user only: the root probe passes, sudo -u is what wants the password.
    const user = new RecordingMac(host, (argv) => (argv[0] === "/usr/bin/id" && argv[1] === "-un" ? refused : facts(argv)));
    user.files.set("/usr/bin/sw_vers", "");
    await assert.rejects(convergePackages(user, { resourceName: "p", host, formulae: ["colima"] }), /admin ALL=\(ops\) NOPASSWD: ALL/);
  });
});

describe("root commands: ROOT_COMMANDS is what the executors run as root, and the recording Mac refuses any other", () => {
  it("the LaunchDaemon (new, with a log, gave up, conflicting jobs, a failed bootstrap), HomebrewPackages, process.ts and writeFile use exactly the list", async () => {
    const used = new Set<string>();
    const collect = (mac: RecordingMac) => {
      for (const c of mac.commands) if (c.as === "root") used.add(c.argv[0] as string);
    };
    const { plistPath, scriptPath } = daemonPaths(daemon);
    // A new Mac whose bootstrap fails (its explanation reads print-disabled), with brew's job loaded.
    const fresh = new RecordingMac(host, (argv) =>
      argv[0] === "/usr/bin/id"
        ? { stdout: "501" }
        : argv[1] === "bootstrap"
          ? { exitCode: 5, stderr: "Bootstrap failed: 5: Input/output error" }
          : argv[1] === "print"
            ? argv[2]?.endsWith("homebrew.mxcl.colima")
              ? { stdout: "\tstate = running\n" }
              : { exitCode: 113 }
            : undefined,
    );
    await assert.rejects(convergeLaunchDaemon(fresh, daemon), /launchctl bootstrap system/);
    collect(fresh);
    // A changed supervisor over an existing log (its owner and mode set again), then a job that gave up.
    const again = new RecordingMac(host, (argv) =>
      argv[0] === "/usr/bin/id" ? { stdout: "501" } : argv[1] === "print" ? { stdout: "\tstate = not running\n" } : undefined,
    );
    again.files.set(daemon.logPath, "old lines\n");
    await convergeLaunchDaemon(again, daemon);
    again.files.set(plistPath, renderPlist(daemon));
    again.files.set(scriptPath, renderSupervisor(daemon));
    await convergeLaunchDaemon(again, daemon);
    collect(again);
    assert.ok(again.lines().includes(`root: /usr/sbin/chown 501:20 ${daemon.logPath}`), again.lines().join("\n"));
    const packages = new RecordingMac(host, (argv) => ({
      ...(argv[0]?.endsWith("uname") ? { stdout: "arm64" } : {}),
      ...(argv[0]?.endsWith("sw_vers") ? { stdout: "15.6" } : {}),
    }));
    packages.files.set("/usr/bin/sw_vers", "");
    packages.files.set("/opt/homebrew/bin/brew", "");
    await convergePackages(packages, { resourceName: "p", host, formulae: ["colima"] }).catch(() => undefined);
    collect(packages);
    // PowerSettings: set, then put back.
    const power = new RecordingMac(host, (argv) =>
      argv[0] === "/usr/bin/id"
        ? { stdout: "501" }
        : argv[1] === "-g"
          ? { stdout: "AC Power:\n autorestart          0\n sleep                1\n" }
          : undefined,
    );
    const powerInputs = { resourceName: "power", host, settings: { autorestart: 1 as const } };
    await convergePower(power, powerInputs).catch(() => undefined); // the recording Mac's pmset changes nothing: not taken
    await restorePower(power, { ...powerInputs, previous: { "AC Power": { autorestart: 0 } }, observed: {}, unsupported: [] });
    assert.ok(power.lines().includes("root: /usr/bin/pmset -a autorestart 1"), power.lines().join("\n"));
    assert.ok(power.lines().includes("root: /usr/bin/pmset -c autorestart 0"), power.lines().join("\n"));
    collect(power);
    // writeFile runs install and mv as root (test/provider/lib/mac.test.ts), process.ts killTree kill.
    for (const p of ["/usr/bin/install", "/bin/mv", ROOT_KILL]) used.add(p);
    assert.deepEqual([...used].sort(), [...ROOT_COMMANDS].sort());
  });

  it("asRoot of anything else is refused before it runs", async () => {
    const mac = new RecordingMac(host);
    await assert.rejects(
      mac.asRoot(["/bin/sh", "-c", "true"]),
      /^Error: asRoot \/bin\/sh -c true: \/bin\/sh is not one of the commands colima-pulse runs as root \(ROOT_COMMANDS in provider\/lib\/mac\.ts/,
    );
    assert.deepEqual(mac.commands, []);
  });
});

describe("the survey through the seam", () => {
  it("reads the profile's files and process list; runs nothing that changes the Mac", async () => {
    const mac = new RecordingMac(host);
    mac.files.set("/opt/homebrew/bin/brew", "");
    mac.files.set("/Users/ops/.colima/_lima/colima/colima.yaml", "vmType: qemu\nruntime: docker\narch: aarch64\ncpu: 2\n");
    mac.files.set("/Users/ops/.colima/_lima/colima/ha.pid", "4242");
    mac.processes = [
      { pid: 4242, user: "ops", command: "/opt/homebrew/bin/limactl hostagent --pidfile /Users/ops/.colima/_lima/colima/ha.pid colima" },
    ];
    const survey = await surveyMac(mac, "com.example.colima", "default");
    assert.equal(survey.prefix, "/opt/homebrew");
    assert.deepEqual(
      survey.profiles.map((p) => [p.name, p.vmType, p.running, p.cpus]),
      [["default", "qemu", true, 2]],
    );
    assert.equal(survey.managed, false);
    assert.deepEqual(mac.commands, [], "reads only, through the seam's file operations");
  });
});
