// Docker through the Mac's life (docs/OPERATIONS.md "Docker through the Mac's life"), through the real engine
// on a simulated Mac: a hung Docker API healed, the log rotated by newsyslog while the job keeps
// logging, Docker for a group of users, a home and a network that come late, every stale file a
// power cut leaves swept by the one sweep, a backup restored, and two profiles side by side.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { macOf } from "../../provider/lib/mac";
import { sweepStaleState } from "../../provider/lib/staleState";
import { decisionFor, dockerAnswers, fullReset, nextDecisionId, type SimulatedMac, simulatedMac, waitFor } from "../helpers/simulatedMac";

const LOG = "/var/log/colima-pulse/colima.log";
const INSTANCE = "/Users/ops/.colima/_lima/colima";

/** The decision `npm run restore -- <folder>` passes to its one `pulumi up` (scripts/restore.sh). */
function restoreOf(folder: string, mac: SimulatedMac): NodeJS.ProcessEnv {
  return { COLIMA_PULSE_RESTORE: folder, COLIMA_PULSE_RESTORE_ID: nextDecisionId(), ...decisionFor(mac.stack.stack) };
}

/** `pulumi <args>` with the environment of a command-line decision; fails the test when it fails. */
async function mustWith(mac: SimulatedMac, args: string[], env: NodeJS.ProcessEnv) {
  const r = await mac.stack.cli(args, 300_000, env);
  assert.equal(r.code, 0, `pulumi ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The run updated the smoke test and it passed: what a reset or a restore must end with. */
function smokeRan(r: { stdout: string }, why: RegExp): void {
  assert.match(r.stdout, /SmokeContainer colima-smoke updated \([\d.]+s\) \[diff: [^\]]*~vm\b[^\]]*\]/);
  assert.match(r.stdout, /\[colima-smoke\] ran \S+ \(\S+\): output as expected/);
  assert.match(r.stdout, why);
}

const log = (mac: SimulatedMac, path = LOG) => (existsSync(mac.sim.path(path)) ? readFileSync(mac.sim.path(path), "utf8") : "");
/** Waits for `pattern` in the job's log after `from` characters. */
async function logSays(mac: SimulatedMac, pattern: RegExp, from = 0, ms = 90_000, path = LOG): Promise<void> {
  try {
    await waitFor(`${path} to say ${pattern}`, () => pattern.test(log(mac, path).slice(from)), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it says:\n${log(mac, path).slice(from).split("\n").slice(-80).join("\n")}`);
  }
}
const qemuPid = (mac: SimulatedMac, instance = INSTANCE) => Number(readFileSync(mac.sim.path(`${instance}/qemu.pid`), "utf8").trim());
const docker = (mac: SimulatedMac, user: string, host: string) =>
  mac.sim.run([mac.sim.path("/opt/homebrew/bin/docker"), "--host", host, "version", "--format", "{{.Server.Version}}"], { user });

describe("Docker through the Mac's life", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac(
      "e2e-life",
      { API_HANG_SECONDS: "10", DOCKER_SOCKET_GROUP: "docker", LOG_ROTATE_SIZE_MB: "1", LOG_ROTATE_COUNT: "3", BACKUP_KEEP: "2" },
      {
        users: {
          ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" },
          alice: { uid: 502, gid: 20, admin: false, sudo: "none" },
          bob: { uid: 503, gid: 20, admin: false, sudo: "none" },
        },
        groups: { docker: { gid: 700, members: ["ops", "alice"] } },
      },
    );
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  it("converges a newsyslog rule, a Docker context and a group socket, exactly as documented", async () => {
    const rule = mac.sim.path("/etc/newsyslog.d/com.colima-pulse.colima.conf");
    const st = statSync(rule);
    assert.equal(st.uid, 0, "the rule is root's");
    assert.equal(st.mode & 0o777, 0o644);
    assert.match(readFileSync(rule, "utf8"), new RegExp(`^${mac.sim.path(LOG)}\\tops:staff\\t640\\t2\\t1024\\t\\*\\tNZ$`, "m"));
    const logStat = statSync(mac.sim.path(LOG));
    assert.deepEqual([logStat.uid, logStat.gid, logStat.mode & 0o777], [501, 20, 0o640], "the log is ops:staff 0640");

    const context = await mac.sim.run(
      [mac.sim.path("/opt/homebrew/bin/docker"), "context", "inspect", "colima-pulse-default", "--format", "{{.Endpoints.docker.Host}}"],
      { user: "ops" },
    );
    assert.equal(context.stdout.trim(), `unix://${mac.socket}`);
    const ctxVersion = await mac.sim.run(
      [mac.sim.path("/opt/homebrew/bin/docker"), "--context", "colima-pulse-default", "version", "--format", "{{.Server.Version}}"],
      { user: "ops" },
    );
    assert.match(ctxVersion.stdout, /^\d+\./, ctxVersion.stderr);

    const stable = mac.sim.path("/opt/homebrew/var/run/colima-pulse/default.sock");
    const outputs = JSON.parse((await mac.stack.must(["stack", "output", "--json"])).stdout) as Record<string, string>;
    assert.equal(outputs.dockerContext, "colima-pulse-default");
    assert.equal(outputs.groupDockerHost, `unix://${stable}`);
    const sock = statSync(mac.socket);
    assert.deepEqual([sock.uid, sock.gid, sock.mode & 0o777], [501, 700, 0o660], "the socket is ops:docker 0660");
    const alice = await docker(mac, "alice", `unix://${stable}`);
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /^\d+\./);
    const bob = await docker(mac, "bob", `unix://${stable}`);
    assert.notEqual(bob.code, 0);
    assert.match(bob.stderr, /permission denied/);
  });

  it("a group the Homebrew user is not in is refused with the fix, and nothing changes", async () => {
    await mac.stack.must(["config", "set", "DOCKER_SOCKET_GROUP", "engineers"]);
    try {
      const r = await mac.stack.cli(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stdout,
        /DOCKER_SOCKET_GROUP engineers: ops is not a member of group engineers[^\n]*sudo dseditgroup -o create engineers; sudo dseditgroup -o edit -a ops -t user engineers\. Nothing was changed\./,
      );
      const sock = statSync(mac.socket);
      assert.deepEqual([sock.gid, sock.mode & 0o777], [700, 0o660], "the socket is still the docker group's");
    } finally {
      await mac.stack.must(["config", "set", "DOCKER_SOCKET_GROUP", "docker"]);
    }
  });

  it("a VM whose Docker API hangs is restarted after API_HANG_SECONDS, and the log says why", async () => {
    await logSays(mac, /the Docker API answers at /); // the supervisor has seen it answer
    const from = log(mac).length;
    const before = qemuPid(mac);
    mac.sim.freezeVm("default");
    try {
      await logSays(mac, /the Docker API at \S+ did not answer \(.+\); the VM restarts if it stays silent for 10s/, from);
      await logSays(mac, /the Docker API at \S+ has not answered for \d+s \(last: .+\); restarting the VM \(1 of 5 in a row\)/, from);
      // Still frozen: the hung guest cannot stop by itself, the supervisor must end it.
      await logSays(mac, /has not answered[\s\S]*profile default is up/, from);
    } finally {
      if (mac.sim.isAlive(before)) mac.sim.signal(before, "SIGCONT", "the old VM, if the test failed before it was ended");
    }
    await waitFor("Docker after the restart", () => dockerAnswers(mac.socket), 120_000);
    assert.notEqual(qemuPid(mac), before, "a new VM");
    await logSays(mac, /profile default is up/, from);
    // The restarted VM's new socket is the group's again.
    await logSays(mac, /Docker socket \S+: group docker, mode 0660/, from);
    assert.equal(statSync(mac.socket).gid, 700);
  });

  it("after newsyslog rotates the log, the job's next lines land in the new file", async () => {
    const r = await mac.sim.newsyslog(["-F"]);
    assert.equal(r.code, 0, r.stderr);
    const rotated = readdirSync(mac.sim.path("/var/log/colima-pulse")).filter((f) => f.startsWith("colima.log."));
    assert.ok(rotated.includes("colima.log.0.gz"), `rotated: ${rotated.join(", ")}`);
    assert.match(log(mac), /^[^\n]*logfile turned over[^\n]*\n$/, "a new log, with only newsyslog's line");
    const st = statSync(mac.sim.path(LOG));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [501, 20, 0o640], "made as the rule says");
    mac.sim.signal(qemuPid(mac), "SIGKILL", "the test kills the VM: something for the supervisor to say");
    await logSays(mac, /the VM of profile default is gone under colima; restarting it/);
    await logSays(mac, /profile default is up/);
    assert.match(log(mac), /level=info msg=/, "colima's own lines too");
    await waitFor("Docker after the restart", () => dockerAnswers(mac.socket), 120_000);
  });

  it("every stale file a power cut leaves is swept; PIDs that belong to other processes now survive", async () => {
    await mac.sim.haltAll(0); // the power goes
    const net = mac.sim.path("/Users/ops/.colima/_lima/_networks/user-v2");
    mkdirSync(net, { recursive: true });
    const reused = [1, 2, 3].map(() => mac.sim.startUnrelatedProcess());
    writeFileSync(mac.sim.path(`${INSTANCE}/ha.pid`), `${reused[0]}\n`);
    writeFileSync(mac.sim.path(`${INSTANCE}/qemu.pid`), `${reused[1]}\n`);
    writeFileSync(join(net, "usernet_user-v2.pid"), `${reused[2]}\n`);
    const from = log(mac).length;
    await mac.sim.boot(); // and comes back
    await waitFor("Docker after the power cut", () => dockerAnswers(mac.socket), 120_000);
    const said = log(mac).slice(from);
    const files: [string, number | undefined][] = [
      ["ha.pid", reused[0]],
      ["qemu.pid", reused[1]],
      ["usernet_user-v2.pid", reused[2]],
    ];
    for (const [file, pid] of files)
      assert.match(said, new RegExp(`removing stale \\S+/${file.replace(".", "\\.")} \\(PID ${pid} is another process now\\)`));
    for (const pid of reused) assert.equal(mac.sim.isAlive(pid as number), true, `PID ${pid} lives`);
  });

  it("the provider runs the same sweep: a live VM's files stay, a dead one's go", async () => {
    const host = { root: mac.sim.root, user: "ops" };
    assert.deepEqual(await sweepStaleState(macOf(host), host, "default"), [], "nothing stale while the VM runs");
    // Another profile's leftovers: its host agent's PID is someone else's now, its disk lock has no holder.
    const gone = mac.sim.path("/Users/ops/.colima/_lima/colima-gone");
    const lock = mac.sim.path("/Users/ops/.colima/_lima/_disks/colima-gone/in_use_by");
    mkdirSync(gone, { recursive: true });
    mkdirSync(join(lock, ".."), { recursive: true });
    const reused = mac.sim.startUnrelatedProcess();
    writeFileSync(join(gone, "ha.pid"), `${reused}\n`);
    writeFileSync(join(gone, "ha.sock"), "");
    symlinkSync(gone, lock);
    const said = await sweepStaleState(macOf(host), host, "gone");
    assert.deepEqual(said, [
      `removing stale ${gone}/ha.pid (PID ${reused} is another process now)`,
      `removing stale disk lock ${lock} (no host agent of ${gone} runs)`,
    ]);
    assert.deepEqual([existsSync(join(gone, "ha.pid")), existsSync(join(gone, "ha.sock")), existsSync(lock)], [false, false, false]);
    assert.equal(mac.sim.isAlive(reused), true);
    assert.equal(existsSync(mac.sim.path(`${INSTANCE}/ha.pid`)), true, "the live profile's files stay");
    assert.ok(dockerAnswers(mac.socket));
  });

  it("a home that appears late: the supervisor waits for it, then Docker comes up", async () => {
    await mac.sim.haltAll(5_000);
    mac.sim.unmountHome("ops");
    const from = log(mac).length;
    await mac.sim.boot();
    const booted = Date.now();
    await logSays(mac, /waiting for ops's home \S+ \(FileVault not unlocked yet, or its volume not mounted\) \(0s so far\)/, from);
    const mounted = Date.now();
    mac.sim.mountHome("ops");
    await logSays(mac, /home \S+ \(FileVault not unlocked yet, or its volume not mounted\): there after \d+s/, from);
    await waitFor("Docker after the home came", () => dockerAnswers(mac.socket), 120_000);
    // What would have happened without the wait: a `colima start` before the home was there.
    const starts = mac.sim.records().filter((r) => r.tool === "colima" && r.argv[0] === "start" && r.at >= booted);
    assert.ok(starts.length > 0, "Docker came up through a start");
    assert.deepEqual(
      starts.filter((r) => r.at < mounted),
      [],
      "nothing started while the home was away",
    );
  });

  it("a profile Lima must create again waits for a network route before its start downloads", async () => {
    const launchctl = (...argv: string[]) => mac.sim.run([mac.sim.path("/usr/bin/sudo"), "-n", mac.sim.path("/bin/launchctl"), ...argv]);
    await launchctl("bootout", "system/com.colima-pulse.colima");
    // The instance deleted by hand (its disk and config stay): the next start creates it.
    await mac.sim.run([mac.sim.path("/bin/rm"), "-rf", mac.sim.path(INSTANCE)]);
    mac.sim.setNetwork(false);
    const from = log(mac).length;
    await launchctl("bootstrap", "system", mac.sim.path("/Library/LaunchDaemons/com.colima-pulse.colima.plist"));
    await logSays(mac, /waiting for a network route \(profile default is provisioned at this start, which downloads its image\)/, from);
    assert.equal(existsSync(mac.sim.path(`${INSTANCE}/lima.yaml`)), false, "no start without a route");
    mac.sim.setNetwork(true);
    await logSays(mac, /a network route .*: there after \d+s/, from);
    await waitFor("Docker after the network came", () => dockerAnswers(mac.socket), 120_000);
  });

  it("restore: a full reset's backup comes back as the profile, all of it, previewed; BACKUP_KEEP prunes", async () => {
    const urn = (await mac.stack.resourceOf(":ColimaProfile")).urn;
    const backups = mac.sim.path("/Users/ops/colima-pulse-backups");
    writeFileSync(mac.sim.path(`${INSTANCE}/marker`), "before the reset");
    const reset = await mustWith(mac, ["up", "--yes", "--skip-preview", "--replace", urn], fullReset(mac.stack));
    smokeRan(
      reset,
      /\[colima-smoke\] will run again: vm changed \(the profile was provisioned anew by a full reset \(its state before is in \S+\)/,
    );
    const [backup] = readdirSync(backups);
    // The replacement's first half (the delete) is the reset's: it does not advise the reset running.
    assert.doesNotMatch(reset.stdout, /a full reset is:/);
    assert.match(
      reset.stdout,
      new RegExp(`\\[colima-profile\\] stopped profile default for the full reset: its state \\(\\S+\\) moves into \\S+/${backup} next`),
    );
    assert.ok(backup, "a backup");
    assert.equal(readFileSync(join(backups, backup as string, "instance/marker"), "utf8"), "before the reset");
    assert.equal(existsSync(mac.sim.path(`${INSTANCE}/marker`)), false, "a new profile");

    // `fleet status` lists it: the folder to restore, its size, its age.
    const env = { COLIMA_PULSE_FLEET_HOST_ROOTS: JSON.stringify({ "e2e-life": mac.sim.root }) };
    const status = await mac.stack.script(["scripts/fleet.sh", "status", "--stacks", "e2e-life"], env, 600_000);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(
        `backups \\(npm run restore -- <folder>\\):\\ne2e-life:\\n  ${join(backups, backup as string)}  [\\d.]+ (KiB|MiB)  \\d+s old`,
      ),
    );

    // The command's own checks, before anything runs.
    for (const [args, said] of [
      [[], /which backup\? npm run restore -- <backup folder>/],
      [["relative/folder", "--yes"], /relative\/folder: the backup folder must be an absolute path on the Mac/],
    ] as const) {
      const r = await mac.stack.script(["scripts/restore.sh", ...args]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, said);
    }
    // A folder that is not a backup of this profile, or not there at all: refused, nothing
    // changes, and the refusal lists the backups there are (newest first, size, age).
    mac.sim.clearRecords();
    const listed = new RegExp(
      `backups of profile default in ${backups}, newest first \\(npm run restore -- <folder>\\):\\n +${join(backups, backup as string)}  [\\d.]+ (KiB|MiB)  \\d+[sm] old\\n`,
    );
    const bad = await mac.stack.cli(["up", "--yes", "--skip-preview"], 300_000, restoreOf(`${backups}/not-a-backup`, mac));
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stdout + bad.stderr,
      /COLIMA_PULSE_RESTORE \(environment, set by npm run restore\) = ".*not-a-backup": is not a backup of profile default/,
    );
    assert.match(bad.stdout, listed);
    const gone = `${backups}/20200101T000000Z-default`;
    const missing = await mac.stack.cli(["up", "--yes", "--skip-preview"], 300_000, restoreOf(gone, mac));
    assert.notEqual(missing.code, 0);
    assert.ok(missing.stdout.includes(`npm run restore: ${gone} does not exist on this Mac; nothing was changed.\n`), missing.stdout);
    assert.doesNotMatch(missing.stdout, /holds no Colima instance|restored already/);
    assert.match(missing.stdout, listed);
    assert.deepEqual(
      mac.sim
        .records()
        .filter((r) => ["colima", "limactl", "launchctl"].includes(r.tool) && r.argv[0] !== "status" && r.argv[0] !== "print"),
      [],
    );

    const preview = await mac.stack.cli(["preview", "--diff"], 300_000, restoreOf(join(backups, backup as string), mac));
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.stdout + preview.stderr, /npm run restore will:[\s\S]*move its current state into \S+-default-before-restore/);
    assert.match(preview.stdout + preview.stderr, /restore/);
    // The preview says the smoke test runs on the restored VM (the VM itself is not known yet).
    assert.match(preview.stdout, /~ pulumi-nodejs:dynamic\/colima-pulse:SmokeContainer: \(update\)/);
    assert.match(
      preview.stdout + preview.stderr,
      /\[colima-smoke\] will run again: vm changed \(a restore \(npm run restore, decision \d{8}T\d{6}Z\): the smoke test runs on the new VM\)/,
    );
    const restored = await mustWith(mac, ["up", "--yes", "--skip-preview"], restoreOf(join(backups, backup as string), mac));
    const from = join(backups, backup as string);
    smokeRan(
      restored,
      new RegExp(
        `\\[colima-smoke\\] will run again: vm changed \\(the profile was restored from ${from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: the smoke test runs on its VM\\)`,
      ),
    );
    // What happened to the profile is what the LaunchDaemon says it reloads for.
    assert.ok(
      restored.stdout.includes(
        `[colima-daemon] will converge: profileGeneration changed (the profile was restored from ${from}: the job reloads)`,
      ),
      restored.stdout,
    );
    assert.doesNotMatch(restored.stdout, /provisioned again/);
    assert.match(restored.stdout, /4 updated/);
    assert.equal(readFileSync(mac.sim.path(`${INSTANCE}/marker`), "utf8"), "before the reset", "the backup is the profile again");
    await waitFor("Docker after the restore", () => dockerAnswers(mac.socket), 120_000);
    // Converged means quiet: the next plain up runs no smoke test.
    const quiet = await mustWith(mac, ["up", "--yes", "--skip-preview", "--expect-no-changes"], {});
    assert.doesNotMatch(quiet.stdout, /colima-smoke/);
    const after = readdirSync(backups).sort();
    assert.ok(
      after.some((n) => n.endsWith("-default-before-restore")),
      after.join(", "),
    );
    assert.equal(after.includes(backup as string), false, "the backup was moved back, not copied");

    // Three backups made, two kept: the oldest is removed, and the run says so.
    // The "before" folder and a new reset's are two: BACKUP_KEEP=2 keeps both; a third goes.
    const second = await mustWith(mac, ["up", "--yes", "--skip-preview", "--replace", urn], fullReset(mac.stack));
    assert.doesNotMatch(second.stdout, /removed backup/);
    assert.equal(readdirSync(backups).length, 2);
    const oldest = readdirSync(backups).sort()[0] as string;
    const third = await mustWith(mac, ["up", "--yes", "--skip-preview", "--replace", urn], fullReset(mac.stack));
    assert.match(third.stdout, new RegExp(`removed backup \\S+/${oldest} \\(BACKUP_KEEP=2: the newest 2 of profile default stay\\)`));
    assert.equal(readdirSync(backups).length, 2);
    assert.equal(readdirSync(backups).includes(oldest), false);
    await waitFor("Docker after the reset", () => dockerAnswers(mac.socket), 120_000);
  });

  it("two profiles on one Mac converge and supervise independently", async () => {
    const work = "e2e-life-work";
    await mac.stack.must(["stack", "init", work]);
    await mac.stack.must(["stack", "select", "e2e-life"]); // init selected the new one
    for (const [k, v] of Object.entries({
      HOMEBREW_USER: "ops",
      COLIMA_DISK: "20",
      RESTART_THROTTLE_SECONDS: "2",
      COLIMA_PROFILE: "work",
      LABEL: "com.colima-pulse.work",
    }))
      await mac.stack.must(["config", "set", "--stack", work, k, v]);
    for (const [k, v] of Object.entries(
      JSON.parse((await mac.stack.must(["config", "--json", "--stack", "e2e-life"])).stdout) as Record<string, { value: string }>,
    ))
      if (k.endsWith(":smokeImage")) await mac.stack.must(["config", "set", "--stack", work, k.split(":")[1] as string, v.value]);
    // Every signal sent on the Mac is recorded with its sender, target and reason: none may reach
    // default's Colima, its VM, its supervisor, or the usernet daemon it runs on.
    const intoDefault = () =>
      mac.sim
        .signals()
        .filter((sig) => /\/_lima\/colima\/|--profile default\b|com\.colima-pulse\.colima\.sh|limactl usernet/.test(sig.target));
    mac.sim.clearRecords();
    await mac.stack.must(["up", "--stack", work, "--yes", "--skip-preview"]);
    assert.deepEqual(intoDefault(), [], "work's converge signalled nothing of default's");
    const workSocket = mac.sim.path("/Users/ops/.colima/work/docker.sock");
    assert.ok(dockerAnswers(workSocket) && dockerAnswers(mac.socket));
    assert.equal(existsSync(mac.sim.path("/etc/newsyslog.d/com.colima-pulse.work.conf")), true);
    const workLog = "/var/log/colima-pulse/com.colima-pulse.work.log";

    await logSays(mac, /profile work is up/, 0, 60_000, workLog); // its supervisor watches it now
    const defaultVm = qemuPid(mac);
    const fromDefault = log(mac).length;
    mac.sim.signal(qemuPid(mac, "/Users/ops/.colima/_lima/colima-work"), "SIGKILL", "the test kills work's VM");
    await logSays(mac, /the VM of profile work is gone under colima/, 0, 60_000, workLog);
    await waitFor("work's Docker", () => dockerAnswers(workSocket), 120_000);
    assert.equal(qemuPid(mac), defaultVm, "default's VM untouched");
    assert.doesNotMatch(log(mac).slice(fromDefault), /gone|restarting|removing stale/, "default's supervisor did nothing");
    assert.deepEqual(intoDefault(), [], "work's VM death and restart signalled nothing of default's");
    assert.ok(
      mac.sim.signals().some((sig) => sig.from === "launchd" || sig.from === "limactl"),
      "the restart's own signals are in the record",
    );

    await mac.stack.must(["destroy", "--stack", work, "--yes", "--skip-preview"]);
    assert.ok(dockerAnswers(mac.socket), "default still answers after work is destroyed");
    assert.equal(qemuPid(mac), defaultVm);
    assert.deepEqual(intoDefault(), [], "destroying work signalled nothing of default's");
  });
});
