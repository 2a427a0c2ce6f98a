// `npm run doctor` (fleet/doctor.ts) without a Mac: its command line, and each rule from a status
// row (fleet/status.ts MacStatus) to a check that is ok or a problem with the command that fixes it.
// The end-to-end proof on a converged simulated Mac is test/e2e/doctor.e2e.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Check, checksOf, type DoctorSettings, type Facts, lastWordOf, parseArgs, problemsOf, report } from "../../fleet/doctor";
import type { MacStatus } from "../../fleet/status";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const SETTINGS: DoctorSettings = {
  HOMEBREW_USER: "ops",
  COLIMA_PROFILE: "default",
  LABEL: "com.colima-pulse.colima",
  LOG_PATH: "/var/log/colima-pulse/colima.log",
  MAX_FAILED_STARTS: 5,
};
const SSH: Partial<DoctorSettings> = {
  SSH_HOST: "ops@mac-07.local",
  SSH_PORT: 2222,
  SSH_IDENTITY_FILE: "/keys/fleet",
  SSH_KNOWN_HOSTS_FILE: "/keys/known_hosts",
};

/** A converged, healthy Mac's row. */
function healthy(over: Partial<MacStatus> = {}): MacStatus {
  return {
    stack: "mac-07",
    reachable: "yes",
    docker: "27.3.1",
    supervisor: "running",
    prune: "off",
    gates: { socket: 120, qemu: 300, api: 800, stable: 3000 },
    drift: "none",
    versions: { colima: "0.8.1", lima: "1.0.3", qemu: "9.2.0" },
    lastConverge: "2025-06-01T09:00:00.000Z",
    fileVault: "Off",
    backups: [],
    boot: { toDockerSeconds: 41, toWorkloadsSeconds: 47 },
    otherStarters: { autostarts: [], stale: [] },
    denied: [],
    ...over,
  };
}

function facts(over: Partial<Facts> = {}, settings: Partial<DoctorSettings> = {}): Facts {
  return { stackExists: true, settings: { ...SETTINGS, ...settings }, root: "/", defaultStack: "mac-07", now: NOW, ...over };
}

/** The one check named `name`. */
function check(checks: Check[], name: string): Check {
  const found = checks.filter((c) => c.check === name);
  assert.equal(found.length, 1, `one ${name} check in ${JSON.stringify(checks)}`);
  return found[0] as Check;
}

/** The problems as `check: problem => fix`, for exact comparisons. */
const problems = (status: MacStatus, f: Facts) => problemsOf(status, f).map((p) => `${p.check}: ${p.problem} => ${p.fix}`);

describe("parseArgs", () => {
  it("the stack from COLIMA_PULSE_STACK, or --stack; --json", () => {
    assert.deepEqual(parseArgs([], { COLIMA_PULSE_STACK: "mac-07" }), { stack: "mac-07", json: false });
    assert.deepEqual(parseArgs(["--stack", "other", "--json"], { COLIMA_PULSE_STACK: "mac-07" }), { stack: "other", json: true });
    assert.deepEqual(parseArgs(["--json", "--help"], {}), { help: true });
    assert.deepEqual(parseArgs(["-h"], {}), { help: true });
  });

  it("bad usage names the argument", () => {
    assert.throws(() => parseArgs(["--stacks", "x"], { COLIMA_PULSE_STACK: "m" }), {
      message: '"--stacks" (command line): unknown option (allowed: --stack, --json, --help)',
    });
    assert.throws(() => parseArgs(["status"], { COLIMA_PULSE_STACK: "m" }), /^Error: "status" \(command line\): unknown option/);
    assert.throws(() => parseArgs(["--stack"], {}), { message: "--stack (command line) needs a value" });
    assert.throws(() => parseArgs(["--stack", "--json"], {}), { message: "--stack (command line) needs a value" });
    assert.throws(() => parseArgs([], {}), {
      message: "no stack: give --stack <name>, or set COLIMA_PULSE_STACK (npm run doctor sets it)",
    });
    assert.throws(() => parseArgs(["--stack", "a b"], {}), { message: 'stack = "a b": must be letters, digits, _ . -' });
  });

  it("the command itself: --help exits 0, an unknown option 2 with its name, before anything is asked", () => {
    const doctor = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "../../fleet/doctor.ts"), ...args], {
        encoding: "utf8",
        env: { ...process.env, COLIMA_PULSE_STACK: "mac-07", ...env },
      });
    const help = doctor(["--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(
      help.stdout,
      /^npm run doctor \[-- options\]\n[\s\S]*Exit code: 0 when nothing is wrong, 1 when something is, 2 for bad usage\.\n$/,
    );
    const bad = doctor(["--verbose"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^error: "--verbose" \(command line\): unknown option \(allowed: --stack, --json, --help\)\n\nnpm run doctor/);
    assert.equal(bad.stdout, "");
    const root = doctor(["--json"], { COLIMA_PULSE_HOST_ROOT: "tmp/mac" });
    assert.equal(root.status, 2);
    assert.match(
      root.stderr,
      /^error: COLIMA_PULSE_HOST_ROOT \(environment\) = "tmp\/mac": must be an absolute path \(a simulated Mac's root\)\n/,
    );
    // Never converged: no versions, no gates, no lines for them.
    const none = healthy({ versions: {}, gates: undefined, lastConverge: "" });
    assert.doesNotMatch(report(none, checksOf(none, facts())), /\nversions: |\ngates, /);
  });
});

describe("lastWordOf: the supervisor's last line of its own in its log", () => {
  it("skips colima's relayed lines and anything else", () => {
    const tail = [
      "2025-06-01T11:50:00Z colima-pulse[41] profile default is up",
      'time="2025-06-01T11:55:00Z" level=info msg="starting colima"',
      "2025-06-01T11:56:40Z colima-pulse[41] the Docker API at /s did not answer (no answer); the VM restarts if it stays silent for 120s",
      "some other line",
    ].join("\n");
    assert.deepEqual(lastWordOf(tail), {
      at: "2025-06-01T11:56:40Z",
      said: "the Docker API at /s did not answer (no answer); the VM restarts if it stays silent for 120s",
    });
    assert.equal(lastWordOf('time="x" level=info msg="y"\n'), undefined);
    assert.equal(lastWordOf(""), undefined);
  });
});

describe("checksOf / problemsOf: what is wrong, and the command that fixes it", () => {
  it("a healthy Mac: every check ok, no problem", () => {
    const checks = checksOf(healthy(), facts());
    assert.deepEqual(
      checks.map((c) => `${c.check} ${c.state}: ${c.detail}`),
      [
        "stack ok: mac-07, last converged 2025-06-01T09:00:00.000Z (3h ago)",
        "reachable ok: this Mac",
        "supervisor ok: running (system/com.colima-pulse.colima)",
        "docker ok: Docker 27.3.1 answers on /Users/ops/.colima/default/docker.sock",
        "workloads ok: back after the last start: boot-to-Docker 41s, boot-to-workloads 47s",
        "drift ok: none: the Mac is as the last converge left it",
        "filevault ok: Off",
        "other-starters ok: none: only this stack's LaunchDaemon starts the profile",
        "denied-versions ok: none of VERSION_DENYLIST's installed",
        "backups ok: none",
      ],
    );
    assert.deepEqual(problemsOf(healthy(), facts()), []);
    assert.match(report(healthy(), checks), /\n\nnothing is wrong$/);
  });

  it("no stack: npm run converge, the Mac not asked", () => {
    const checks = checksOf(healthy(), facts({ stackExists: false, settings: undefined }));
    assert.deepEqual(problems(healthy(), facts({ stackExists: false, settings: undefined })), [
      "stack: no stack mac-07 in this checkout's backend: this Mac was never converged from here => npm run converge",
    ]);
    assert.deepEqual(
      checks.filter((c) => c.state === "skipped").map((c) => c.check),
      ["reachable", "supervisor", "docker", "workloads", "drift", "filevault", "other-starters", "denied-versions", "backups"],
    );
  });

  it("the backend's stacks could not be listed: that error, and pulumi stack ls", () => {
    assert.deepEqual(problems(healthy(), facts({ stackExists: false, stackError: "unable to open state directory" })), [
      "stack: could not list this checkout's stacks: unable to open state directory => pulumi stack ls (the same error, whole), then npm run doctor",
    ]);
  });

  it("never converged: npm run converge; another stack than this Mac's is named", () => {
    const row = healthy({ lastConverge: "" });
    assert.deepEqual(problems(row, facts()), ["stack: stack mac-07 has never converged => npm run converge"]);
    assert.deepEqual(problems(row, facts({ defaultStack: "mac-01" })), [
      "stack: stack mac-07 has never converged => COLIMA_PULSE_STACK=mac-07 npm run converge",
    ]);
  });

  it("not reachable over SSH: ssh's words, and the same ssh to try once fixed", () => {
    const row = healthy({ reachable: "no: ssh: connect to host mac-07.local port 2222: Connection refused" });
    assert.deepEqual(problems(row, facts({}, SSH)), [
      "reachable: not reachable: ssh: connect to host mac-07.local port 2222: Connection refused => " +
        "make ssh -p 2222 -i /keys/fleet -o UserKnownHostsFile=/keys/known_hosts ops@mac-07.local true answer (the Mac on, on the network, sshd on: Remote Login), then npm run doctor",
    ]);
    assert.deepEqual(
      checksOf(row, facts({}, SSH))
        .filter((c) => c.state === "skipped")
        .map((c) => `${c.check}: ${c.detail}`),
      [
        "supervisor: not reachable",
        "docker: not reachable",
        "workloads: not reachable",
        "drift: not reachable",
        "filevault: not reachable",
        "other-starters: not reachable",
        "denied-versions: not reachable",
        "backups: not reachable",
      ],
    );
  });

  it("an unknown or changed host key: the known_hosts fix, as provider/lib/mac.ts says it", () => {
    const row = healthy({ reachable: "no: Host key verification failed." });
    assert.deepEqual(problemsOf(row, facts({}, SSH))[0]?.fix.split("; "), [
      "compare `ssh-keyscan -p 2222 mac-07.local | ssh-keygen -lf -` with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the Mac",
      "if they match: ssh-keygen -R '[mac-07.local]:2222' -f /keys/known_hosts (an old key, if the Mac was reinstalled), then ssh-keyscan -p 2222 mac-07.local >> /keys/known_hosts",
      "then ssh -p 2222 -i /keys/fleet -o UserKnownHostsFile=/keys/known_hosts ops@mac-07.local true",
    ]);
    // Without a port or a known_hosts setting: ssh's defaults.
    const plain = problemsOf(row, facts({}, { SSH_HOST: "mac-07" }))[0]?.fix ?? "";
    assert.match(
      plain,
      /ssh-keygen -R mac-07 -f ~\/\.ssh\/known_hosts .*then ssh-keyscan mac-07 >> ~\/\.ssh\/known_hosts; then ssh mac-07 true$/,
    );
  });

  it("a refused login: the key in authorized_keys", () => {
    const row = healthy({ reachable: "no: ops@mac-07.local: Permission denied (publickey)." });
    assert.match(
      problemsOf(row, facts({}, { SSH_HOST: "mac-07" }))[0]?.fix ?? "",
      /^add your public key to ~\/\.ssh\/authorized_keys of the login user on the Mac/,
    );
    assert.deepEqual(problems(row, facts({}, { SSH_HOST: "ops@mac-07.local" })), [
      "reachable: not reachable: ops@mac-07.local: Permission denied (publickey). => add your public key to ~/.ssh/authorized_keys of ops on the Mac, or set SSH_IDENTITY_FILE to the key that is there; then ssh ops@mac-07.local true",
    ]);
  });

  it("off a Mac without SSH_HOST (provider/lib/mac.ts refuses /): the demo, or SSH_HOST", () => {
    const row = healthy({
      reachable: "no: this machine is not a Mac (linux), and the stack has no SSH_HOST: it would converge this machine's own /.",
    });
    assert.deepEqual(problemsOf(row, facts()), [
      {
        check: "reachable",
        problem: "not reachable: this machine is not a Mac (linux), and the stack has no SSH_HOST: it would converge this machine's own /.",
        fix: "off a Mac, check the simulated Mac: npm run demo (in another terminal), then npm run doctor; or point the stack at a Mac over SSH: pulumi config set SSH_HOST <user@mac> --stack mac-07",
      },
    ]);
  });

  it("settings that do not resolve: fix the one named", () => {
    const row = healthy({ reachable: "unknown: Invalid colima-pulse configuration (nothing was run):  - COLIMA_CPUS (stack: …) = 0" });
    assert.deepEqual(problems(row, facts({ settings: undefined })), [
      "reachable: could not tell: Invalid colima-pulse configuration (nothing was run):  - COLIMA_CPUS (stack: …) = 0 => fix the setting it names in stacks/Pulumi.mac-07.yaml (or: pulumi config set <KEY> <value> --stack mac-07), then npm run doctor",
    ]);
    const other = healthy({ reachable: "unknown: failed to decrypt" });
    assert.equal(
      problemsOf(other, facts({ settings: undefined }))[0]?.fix,
      "pulumi stack select mac-07 (the same error, whole), then npm run doctor",
    );
  });

  it("the supervisor not loaded: npm run converge; Docker's problem says nothing runs Colima", () => {
    const row = healthy({ supervisor: "not loaded", docker: "", drift: "update LaunchDaemon::colima-daemon" });
    assert.deepEqual(problems(row, facts()), [
      "supervisor: system/com.colima-pulse.colima is not loaded: nothing starts Colima, at boot or after a crash => npm run converge (loads it again)",
      "docker: Docker does not answer on /Users/ops/.colima/default/docker.sock: nothing runs Colima (supervisor: not loaded) => npm run converge (starts it)",
      "drift: a converge would: update LaunchDaemon::colima-daemon => npm run converge (to see each change first: pulumi preview --refresh --diff --stack mac-07)",
    ]);
  });

  it("the supervisor gave up: npm run converge, a plain pulumi up restarts it with fresh counts", () => {
    for (const why of [
      "gave up after 5 failed starts in a row",
      "gave up after 5 restarts in a row for a Docker API that stopped answering",
    ]) {
      const row = healthy({ supervisor: `${why}: \`pulumi up\` restarts it`, docker: "" });
      assert.deepEqual(check(checksOf(row, facts()), "supervisor"), {
        check: "supervisor",
        state: "problem",
        detail: `${why}: nothing restarts Colima (why: tail -n 50 /var/log/colima-pulse/colima.log)`,
        fix: "npm run converge (a plain `pulumi up` restarts it with fresh counts)",
      });
    }
  });

  it("the supervisor restarting: its log says why", () => {
    const row = healthy({ supervisor: "restarting (2 failed starts)" });
    assert.deepEqual(problems(row, facts()), [
      "supervisor: restarting (2 failed starts): it gives up after 5 in a row => see why in its log: tail -n 50 /var/log/colima-pulse/colima.log; once the cause is gone it comes up by itself",
    ]);
  });

  it("launchd not asked because sudo wants a password: the sudoers lines for the user sudo refused, here or over SSH", () => {
    const row = healthy({
      supervisor:
        "unknown: launchctl print: admin cannot run colima-pulse's root commands through sudo on this Mac without a password " +
        "(sudo: a password is required); the system LaunchDaemon needs root and nothing was changed. A `sudo -v` cannot help: …",
    });
    const here = check(checksOf(row, facts()), "supervisor");
    assert.equal(
      here.detail,
      "could not ask launchd: launchctl print: admin cannot run colima-pulse's root commands through sudo on this Mac without a password " +
        "(sudo: a password is required); the system LaunchDaemon needs root and nothing was changed.",
    );
    const root =
      "/bin/launchctl, /usr/bin/install, /bin/mv, /bin/rm, /usr/sbin/chown, /bin/chmod, /usr/bin/fdesetup, /bin/kill, /usr/bin/pmset";
    assert.equal(
      here.fix,
      `sudo visudo -f /etc/sudoers.d/colima-pulse and put in it \`admin ALL=(root) NOPASSWD: ${root}\` and \`admin ALL=(ops) NOPASSWD: ALL\` ` +
        "(a `sudo -v` does not reach colima-pulse's sudo, which runs with no terminal), then npm run doctor",
    );
    const overSsh = healthy({
      supervisor:
        "unknown: launchctl print: ops cannot run colima-pulse's root commands through sudo on ops@mac-07.local:2222 (over SSH) …",
    });
    assert.equal(
      check(checksOf(overSsh, facts({}, SSH)), "supervisor").fix,
      `on ops@mac-07.local: sudo visudo -f /etc/sudoers.d/colima-pulse and put in it \`ops ALL=(root) NOPASSWD: ${root}\` ` +
        "(a `sudo -v` does not reach colima-pulse's sudo, which runs with no terminal), then npm run doctor",
    );
    // A refusal in other words (an older provider's): the login user over SSH, by name when known.
    const older = healthy({ supervisor: "unknown: launchctl print: sudo: a password is required" });
    assert.match(
      check(checksOf(older, facts({}, { SSH_HOST: "mac-07" })), "supervisor").fix ?? "",
      /^on mac-07: .* `<login user> ALL=\(root\) NOPASSWD: /,
    );
    const other = healthy({ supervisor: "unknown: launchctl print timed out" });
    assert.deepEqual(check(checksOf(other, facts()), "supervisor"), {
      check: "supervisor",
      state: "problem",
      detail: "could not ask launchd: launchctl print timed out",
      fix: "sudo launchctl print system/com.colima-pulse.colima",
    });
  });

  it("Docker silent while the supervisor runs: for how long (its last word), its log and launchd's view", () => {
    const row = healthy({ docker: "" });
    const lastWord = {
      at: "2025-06-01T11:55:00Z",
      said: "the Docker API at /s did not answer (no answer); the VM restarts if it stays silent for 120s",
    };
    assert.deepEqual(problems(row, facts({ lastWord })), [
      "docker: Docker does not answer on /Users/ops/.colima/default/docker.sock while the supervisor runs; the supervisor's last word, 5m ago (2025-06-01T11:55:00Z): the Docker API at /s did not answer (no answer); the VM restarts if it stays silent for 120s => " +
        "tail -n 50 /var/log/colima-pulse/colima.log; sudo launchctl print system/com.colima-pulse.colima",
    ]);
    assert.match(problemsOf(row, facts())[0]?.problem ?? "", /while the supervisor runs; its log has no line of the supervisor's yet$/);
    // Over SSH: the same commands, on the Mac.
    assert.equal(
      problemsOf(row, facts({ lastWord }, SSH))[0]?.fix,
      "ssh -p 2222 -i /keys/fleet -o UserKnownHostsFile=/keys/known_hosts ops@mac-07.local 'tail -n 50 /var/log/colima-pulse/colima.log'; " +
        "ssh -p 2222 -i /keys/fleet -o UserKnownHostsFile=/keys/known_hosts ops@mac-07.local 'sudo launchctl print system/com.colima-pulse.colima'",
    );
    // A log path with a space is quoted.
    assert.match(
      problemsOf(row, facts({}, { LOG_PATH: "/var/log/my logs/c.log" }))[0]?.fix ?? "",
      /^tail -n 50 '\/var\/log\/my logs\/c\.log'; /,
    );
  });

  it("drift: npm run converge, and the refreshed preview that shows it; a failed preview's error", () => {
    const row = healthy({ drift: "update LaunchDaemon::colima-daemon, update HomebrewPackages::packages" });
    assert.deepEqual(problems(row, facts()), [
      "drift: a converge would: update LaunchDaemon::colima-daemon, update HomebrewPackages::packages => npm run converge (to see each change first: pulumi preview --refresh --diff --stack mac-07)",
    ]);
    const failed = healthy({ drift: "unknown: pre-flight: ops cannot use sudo" });
    assert.deepEqual(problems(failed, facts()), [
      "drift: a refreshed preview failed: pre-flight: ops cannot use sudo => what the error says, then npm run doctor (pulumi preview --refresh --diff --stack mac-07 shows it whole)",
    ]);
  });

  it("FileVault locked: unlock the Mac (log in once); Docker waits for it", () => {
    const row = healthy({ fileVault: "locked: waiting for unlock", docker: "" });
    assert.deepEqual(problems(row, facts()), [
      "docker: Docker does not answer on /Users/ops/.colima/default/docker.sock: FileVault has not unlocked the disk since the last boot => unlock the Mac: log in once; the LaunchDaemon starts Colima once the home is there, nothing to run",
      "filevault: locked: the disk has not been unlocked since the last boot; ops's home and Docker wait for it => unlock the Mac: log in once; the LaunchDaemon starts Colima once the home is there, nothing to run",
    ]);
    assert.match(problemsOf(row, facts({}, SSH))[1]?.fix ?? "", /^unlock the Mac: log in once at its screen \(or Screen Sharing\);/);
    assert.deepEqual(problems(healthy({ fileVault: "On" }), facts()), []);
    assert.deepEqual(problems(healthy({ fileVault: "unknown" }), facts()), [
      "filevault: could not read FileVault's state (unknown) => sudo fdesetup status",
    ]);
  });

  it("backups: listed, newest first, with npm run restore; not a problem", () => {
    const row = healthy({
      backups: [
        { path: "/Users/ops/colima-pulse-backups/20250601T110000Z-default", bytes: 3 * 1024 ** 3, made: "2025-06-01T11:00:00Z" },
        { path: "/Users/ops/colima-pulse-backups/20250520T120000Z-default", made: "2025-05-20T12:00:00Z" },
      ],
    });
    assert.deepEqual(problemsOf(row, facts()), []);
    assert.equal(
      check(checksOf(row, facts()), "backups").detail,
      "2, newest first (npm run restore -- <folder>):\n" +
        "  /Users/ops/colima-pulse-backups/20250601T110000Z-default  3.0 GiB  60m old\n" +
        "  /Users/ops/colima-pulse-backups/20250520T120000Z-default  size unknown  12d old",
    );
  });

  it("workloads not back, other jobs that start the profile, stale jobs, denied versions: each named, with its command", () => {
    const row = healthy({
      boot: { toDockerSeconds: 41, notReady: "web (restart always, running, health unhealthy)" },
      otherStarters: { autostarts: ["io.lima-vm.autostart.colima"], stale: ["com.example.old"] },
      denied: ["qemu@9.2.0"],
    });
    assert.deepEqual(problems(row, facts()), [
      "workloads: not back within WAIT_WORKLOADS_MAX after the last start (boot-to-Docker 41s): web (restart always, running, health unhealthy) => docker --host unix:///Users/ops/.colima/default/docker.sock ps -a (each container's state; docker inspect <name> says why), then tail -n 50 /var/log/colima-pulse/colima.log",
      "other-starters: other launchd jobs start profile default too: io.lima-vm.autostart.colima => npm run converge (boots them out and removes them)",
      "denied-versions: installed versions VERSION_DENYLIST denies: qemu@9.2.0 => npm run upgrade (to versions the list does not deny)",
    ]);
    const stale = healthy({ otherStarters: { autostarts: [], stale: ["com.example.old"] } });
    assert.deepEqual(problems(stale, facts()), [
      "other-starters: colima-pulse jobs a stack that is gone left: com.example.old => npm run remove-stale-jobs (previewed; removes them)",
    ]);
    assert.equal(check(checksOf(healthy({ otherStarters: undefined }), facts()), "other-starters").state, "skipped");
    assert.match(check(checksOf(healthy({ boot: undefined }), facts()), "workloads").detail, /^not waited for since the last start: /);
  });

  it("a simulated Mac: its root in the paths and in the converge's environment", () => {
    const row = healthy({ supervisor: "not loaded", docker: "" });
    const sim = facts({ root: "/tmp/cpulse-mac-1", simUser: "ops", defaultStack: "mac-07" });
    assert.deepEqual(
      checksOf(row, sim).map((c) => c.fix ?? c.detail),
      [
        "mac-07, last converged 2025-06-01T09:00:00.000Z (3h ago)",
        "the simulated Mac at /tmp/cpulse-mac-1",
        "COLIMA_PULSE_HOST_ROOT=/tmp/cpulse-mac-1 SIM_USER=ops COLIMA_PULSE_STACK=mac-07 npm run converge (loads it again)",
        "COLIMA_PULSE_HOST_ROOT=/tmp/cpulse-mac-1 SIM_USER=ops COLIMA_PULSE_STACK=mac-07 npm run converge (starts it)",
        "back after the last start: boot-to-Docker 41s, boot-to-workloads 47s",
        "none: the Mac is as the last converge left it",
        "Off",
        "none: only this stack's LaunchDaemon starts the profile",
        "none of VERSION_DENYLIST's installed",
        "none",
      ],
    );
    assert.equal(
      problemsOf(healthy({ docker: "" }), sim)[0]?.fix,
      "tail -n 50 /tmp/cpulse-mac-1/var/log/colima-pulse/colima.log; /tmp/cpulse-mac-1/usr/bin/sudo /tmp/cpulse-mac-1/bin/launchctl print system/com.colima-pulse.colima",
    );
    assert.match(
      problemsOf(healthy({ docker: "" }), sim)[0]?.problem ?? "",
      /on \/tmp\/cpulse-mac-1\/Users\/ops\/\.colima\/default\/docker\.sock /,
    );
  });

  it("a Mac over SSH converges through the fleet runner", () => {
    const row = healthy({ supervisor: "not loaded" });
    assert.equal(check(checksOf(row, facts({}, SSH)), "supervisor").fix, "npm run fleet -- up --stacks mac-07 (loads it again)");
    assert.equal(
      check(checksOf(row, facts({ root: "/tmp/sim" }, SSH)), "supervisor").fix,
      `COLIMA_PULSE_FLEET_HOST_ROOTS='{"mac-07":"/tmp/sim"}' npm run fleet -- up --stacks mac-07 (loads it again)`,
    );
  });

  it("secret settings are named in a fix, never shown", () => {
    const row = healthy({ docker: "", reachable: "yes" });
    const f = facts(
      { secrets: ["LOG_PATH", "LABEL", "HOMEBREW_USER"] },
      { LOG_PATH: "/var/log/secret-name.log", LABEL: "com.secret-name" },
    );
    const text = JSON.stringify(checksOf(row, f));
    assert.doesNotMatch(text, /secret-name|\/Users\/ops/);
    assert.equal(problemsOf(row, f)[0]?.fix, "tail -n 50 <LOG_PATH>; sudo launchctl print system/<LABEL>");
  });
});

describe("report", () => {
  it("a line per check, each problem's fix under it, the recorded versions and gates, the count", () => {
    const row = healthy({ supervisor: "not loaded", docker: "" });
    assert.equal(
      report(row, checksOf(row, facts())),
      [
        "colima-pulse doctor: stack mac-07 (read-only)",
        "",
        "stack            ok       mac-07, last converged 2025-06-01T09:00:00.000Z (3h ago)",
        "reachable        ok       this Mac",
        "supervisor       PROBLEM  system/com.colima-pulse.colima is not loaded: nothing starts Colima, at boot or after a crash",
        "                          fix: npm run converge (loads it again)",
        "docker           PROBLEM  Docker does not answer on /Users/ops/.colima/default/docker.sock: nothing runs Colima (supervisor: not loaded)",
        "                          fix: npm run converge (starts it)",
        "workloads        ok       back after the last start: boot-to-Docker 41s, boot-to-workloads 47s",
        "drift            ok       none: the Mac is as the last converge left it",
        "filevault        ok       Off",
        "other-starters   ok       none: only this stack's LaunchDaemon starts the profile",
        "denied-versions  ok       none of VERSION_DENYLIST's installed",
        "backups          ok       none",
        "",
        "versions: colima 0.8.1, lima 1.0.3, qemu 9.2.0",
        "gates, the last time they ran: socket 120 ms, qemu 300 ms, api 800 ms, stable 3000 ms",
        "",
        "2 problems: supervisor, docker",
      ].join("\n"),
    );
    // Never converged: no versions, no gates, no lines for them.
    const none = healthy({ versions: {}, gates: undefined, lastConverge: "" });
    assert.doesNotMatch(report(none, checksOf(none, facts())), /\nversions: |\ngates, /);
  });
});
