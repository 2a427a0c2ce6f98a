// The Mac's lock against another local user of the Mac (here the real user `nobody`, uid 65534),
// with real processes and files: nothing that user can make stops or spins a run. Each run under
// attack is a child process killed at a bound, so a run that blocks (a read of a FIFO blocks the
// whole process: its signal handlers never run) or spins shows as that, not as a stuck test.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import type { Host } from "../../provider/lib/host";
import { SUDOERS_FILE, sudoersLines } from "../../provider/lib/mac";
import { macRoot } from "../helpers/macRoot";
import { sshTarget, startSshd } from "../helpers/sshd";
import { MacSimulator } from "../simulator/simulator";

const repo = resolve(__dirname, "../..");
/** Where the lock was before: world-writable and sticky /var/tmp. */
const OLD_LOCK = "/var/tmp/colima-pulse.lock";
/** Where it is now: a folder of root's in root's /var/db (hier(7)), out of other users' reach. */
const LOCK_DIR = "/var/db/colima-pulse";
const LOCK = `${LOCK_DIR}/lock`;
const NOBODY = 65534;

/** A bare Mac that `nobody` can walk into (mkdtemp makes its root 0700), as `/` is on a Mac. */
function openMac(): Host {
  const host = macRoot("cpulse-seclock-");
  chmodSync(host.root, 0o755);
  chmodSync(join(host.root, "var/tmp"), 0o1777); // mkdirSync's mode went through the umask
  return host;
}

/** Runs argv as nobody (another local user of the Mac). */
function asNobody(argv: string[]) {
  return spawnSync(argv[0] as string, argv.slice(1), { uid: NOBODY, gid: NOBODY, encoding: "utf8" });
}

/** The Mac's `mv` refuses to move `paths` (as macOS's does a folder flagged immutable, or one of
 *  another user in sticky /var/tmp: "Operation not permitted"), and logs every call to `log`. */
function immovable(host: Host, paths: string[], log: string): void {
  const mv = join(host.root, "bin/mv");
  rmSync(mv);
  const cases = paths.map((p) => `    '${join(host.root, p)}') echo "mv: rename $a: Operation not permitted" >&2; exit 1 ;;`).join("\n");
  writeFileSync(mv, `#!/bin/sh\necho "mv $*" >>'${log}'\nfor a; do\n  case "$a" in\n${cases}\n  esac\ndone\nexec /bin/mv "$@"\n`, {
    mode: 0o755,
  });
}

interface Outcome {
  /** Killed at the bound: the run neither finished nor gave up. */
  killed: boolean;
  out: string;
}

/** One colima-pulse step on `host` (provider/lib/machineLock.ts onMachine) in a process of its own,
 *  killed with SIGKILL after `boundMs` (SIGTERM is no use on a process blocked in a read). */
function run(host: Host, pace: Record<string, number>, boundMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  const script = [
    `const { onMachine } = require(${JSON.stringify(join(repo, "provider/lib/machineLock.ts"))});`,
    `onMachine(${JSON.stringify(host)}, (m) => console.log("said: " + m), async () => console.log("ran"), ${JSON.stringify(pace)})`,
    `  .then(() => process.exit(0), (e) => { console.log("error: " + e.message); process.exit(3); });`,
  ].join("\n");
  const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  return new Promise((done) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, boundMs);
    child.once("close", () => {
      clearTimeout(timer);
      done({ killed, out });
    });
  });
}

/** The logged `mv`s that tried to move one of `paths` (of `host`): the tries to take a lock over. */
const mvCount = (log: string, host: Host, paths: string[]) =>
  existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line.split(" ").some((word) => paths.some((p) => word === join(host.root, p)))).length
    : 0;

describe("the Mac's lock against another local user", () => {
  it("a FIFO that user plants as owner.json neither blocks a run nor can be planted where the lock is", async () => {
    const host = openMac();
    // In the old place: nobody's lock folder, its owner.json a FIFO nobody ever writes to.
    assert.equal(asNobody(["/bin/mkdir", join(host.root, OLD_LOCK)]).status, 0);
    assert.equal(asNobody(["/usr/bin/mkfifo", join(host.root, OLD_LOCK, "owner.json")]).status, 0);
    const r = await run(host, { pollMs: 10, startingGraceMs: 50 }, 60_000);
    assert.equal(r.killed, false, `the run was still blocked after 60s, and was killed: ${r.out}`);
    assert.match(r.out, /^ran$/m, r.out);
    // Where the lock is now, that user can make nothing: not the folder, not a lock, not a FIFO.
    const dir = join(host.root, LOCK_DIR);
    assert.equal(lstatSync(dir).uid, 0);
    assert.equal(lstatSync(dir).mode & 0o7777, 0o755);
    for (const argv of [
      ["/bin/mkdir", join(host.root, LOCK)],
      ["/usr/bin/mkfifo", join(host.root, LOCK_DIR, "owner.json")],
      ["/bin/mv", dir, `${dir}.theirs`],
    ]) {
      const tried = asNobody(argv);
      assert.notEqual(tried.status, 0, `${argv.join(" ")} as nobody succeeded`);
      assert.match(tried.stderr, /Permission denied/, tried.stderr);
    }
  });

  it("a lock the run cannot move is waited for with a pause between tries, then given up, naming what is there", async () => {
    const host = openMac();
    const log = join(host.root, "mv.log");
    // nobody's lock in the old place, with no owner; and, in the new one, a lock whose owner is
    // unreadable and that cannot be moved (immutable): neither may make a run spin or wait forever.
    assert.equal(asNobody(["/bin/mkdir", join(host.root, OLD_LOCK)]).status, 0);
    mkdirSync(join(host.root, LOCK), { recursive: true, mode: 0o755 });
    chownSync(join(host.root, LOCK), NOBODY, NOBODY);
    immovable(host, [OLD_LOCK, LOCK], log);
    const pace = { pollMs: 100, sayEveryMs: 0, startingGraceMs: 0, giveUpMs: 2_000 };
    const r = await run(host, pace, 60_000);
    assert.equal(
      r.killed,
      false,
      `the run neither took the lock nor gave up in 60s (${mvCount(log, host, [OLD_LOCK, LOCK])} mv attempts), and was killed`,
    );
    assert.doesNotMatch(r.out, /^ran$/m, "the step never runs unguarded");
    assert.match(
      r.out,
      new RegExp(
        `error: could not take ${LOCK} on this Mac after \\d+s: it names no colima-pulse run as its holder ` +
          `\\(${host.root}${LOCK} is drwxr-xr-x owned by uid 65534 gid 65534; its owner.json is absent\\) and could not be moved aside`,
      ),
      r.out,
    );
    assert.match(r.out, new RegExp(`sudo rm -rf ${LOCK}`), "the message says how to clear it");
    // Each try is followed by a pause of pollMs: within giveUpMs, at most giveUpMs/pollMs + 2 tries.
    const tries = mvCount(log, host, [OLD_LOCK, LOCK]);
    assert.ok(tries <= pace.giveUpMs / pace.pollMs + 2, `${tries} mv attempts in ${pace.giveUpMs}ms at one per ${pace.pollMs}ms`);
    assert.ok(tries >= 1, "it tried to take the stale lock over");
  });

  it("a live holder that never lets go is given up on, naming it and the command that clears a stale lock", async () => {
    const host = openMac();
    mkdirSync(join(host.root, LOCK), { recursive: true, mode: 0o755 });
    writeFileSync(
      join(host.root, LOCK, "owner.json"),
      JSON.stringify({ pid: 4242, command: "node dynamic-provider", since: "2026-12-01T00:00:00.000Z", controller: "ops-laptop-9" }),
    );
    const r = await run(host, { pollMs: 50, sayEveryMs: 600_000, giveUpMs: 500 }, 60_000);
    assert.equal(r.killed, false, `still waiting after 60s: ${r.out}`);
    assert.match(
      r.out,
      new RegExp(
        `error: another colima-pulse run on this Mac still holds ${LOCK} \\(pid 4242 on control machine ops-laptop-9, holding it since 2026-12-01T00:00:00.000Z\\) after \\d+s\\. ` +
          `Let it finish, or end it \\(kill 4242 on control machine ops-laptop-9\\) and run again; if that run is gone, remove the lock on the Mac: sudo rm -rf ${LOCK}`,
      ),
      r.out,
    );
  });

  it("a stale lock (its holder dead), a FIFO or an oversized owner.json in the lock is taken over, as root's", async () => {
    for (const plant of ["dead holder", "fifo", "oversized"] as const) {
      const host = openMac();
      mkdirSync(join(host.root, LOCK), { recursive: true, mode: 0o755 });
      const owner = join(host.root, LOCK, "owner.json");
      if (plant === "dead holder") {
        const gone = spawnSync("/bin/sh", ["-c", "echo $$"], { encoding: "utf8" });
        writeFileSync(owner, JSON.stringify({ pid: Number(gone.stdout), command: "sh", since: "2026-12-01T00:00:00.000Z" }));
      } else if (plant === "fifo") {
        assert.equal(spawnSync("/usr/bin/mkfifo", [owner]).status, 0);
      } else {
        writeFileSync(owner, `{"pid": 1, "command": "${"x".repeat(8 << 20)}"}`);
      }
      const r = await run(host, { pollMs: 10, startingGraceMs: 50 }, 60_000);
      assert.equal(r.killed, false, `${plant}: the run was still blocked after 60s, and was killed: ${r.out}`);
      assert.match(r.out, /^ran$/m, `${plant}: ${r.out}`);
      // Released at the run's exit; its folder is root's, 0755, and nothing of the old lock is left in it.
      assert.equal(existsSync(join(host.root, LOCK)), false, `${plant}: released`);
      const dir = lstatSync(join(host.root, LOCK_DIR));
      assert.deepEqual([dir.isDirectory(), dir.uid, dir.mode & 0o7777], [true, 0, 0o755], plant);
      assert.deepEqual(readdirSync(join(host.root, LOCK_DIR)), [], `${plant}: nothing left beside it`);
    }
  });

  it("an operator who is not root takes and lets go of it through sudo, locally and over SSH, with only the sudoers lines colima-pulse prints", async () => {
    const sim = await MacSimulator.create({
      dockerTarget: "/nonexistent/docker.sock",
      operator: "pw",
      users: { ops: { uid: 501, gid: 20, admin: false, sudo: "none" }, pw: { uid: 502, gid: 20, admin: true, sudo: "password" } },
    });
    const sshd = await startSshd({ keys: { pw: { env: { SIM_USER: "pw" } } } });
    try {
      const local: Host = { root: sim.root, user: "ops" };
      const ssh = {
        ...sshTarget(sshd, "pw"),
      };
      writeFileSync(sim.path(SUDOERS_FILE), `${sudoersLines(local, "pw").join("\n")}\n`, { mode: 0o440 });
      for (const [how, host] of [
        ["locally", local],
        ["over SSH", { ...local, ssh }],
      ] as const) {
        sim.clearRecords();
        const r = await run(host, {}, 120_000, { ...process.env, SIM_USER: "pw" });
        assert.equal(r.killed, false, `${how}: ${r.out}`);
        assert.match(r.out, /^ran$/m, `${how}: ${r.out}`);
        assert.equal(existsSync(sim.path(LOCK)), false, `${how}: released at the run's exit`);
        assert.deepEqual(readdirSync(sim.path(LOCK_DIR)), [], `${how}: nothing left beside it`);
        const asRoot = sim
          .records()
          .filter((c) => c.tool === "sudo" && c.exit === 0 && !c.argv.includes("-u"))
          .map((c) => c.argv.slice(1).join(" "));
        assert.ok(asRoot.includes(`${sim.path("/bin/rm")} -rf ${sim.path(LOCK)}`), `${how}: released through sudo: ${asRoot.join("\n")}`);
        assert.ok(
          asRoot.some((c) => c.startsWith(`${sim.path("/bin/mv")} ${sim.path(LOCK_DIR)}/taking-`) && c.endsWith(` ${sim.path(LOCK)}`)),
          `${how}: taken through sudo: ${asRoot.join("\n")}`,
        );
      }
    } finally {
      await sshd.dispose();
      await sim.dispose();
    }
  });
});

describe("two runs taking over one stale lock", () => {
  it("a run that moves aside the fresh lock another run just took over (not the stale one it saw) puts it back and waits for that holder", async () => {
    // Two runs see the same stale lock; the other one's look, move aside and take (four commands)
    // land between this run's last look and its `mv lock lock.stale-<pid>`, which then moves that
    // run's fresh lock, not the stale one. The Mac's mv plays the other run at that moment.
    const host = openMac();
    const lock = join(host.root, LOCK);
    mkdirSync(lock, { recursive: true, mode: 0o755 });
    const gone = spawnSync("/bin/sh", ["-c", "echo $$"], { encoding: "utf8" });
    writeFileSync(join(lock, "owner.json"), JSON.stringify({ pid: Number(gone.stdout), command: "sh", since: "2026-12-01T00:00:00.000Z" }));
    const holder = spawn("sleep", ["600"], { stdio: "ignore" });
    try {
      const fresh = JSON.stringify({ pid: holder.pid, command: "sleep 600", since: new Date().toISOString() });
      const mv = join(host.root, "bin/mv");
      rmSync(mv);
      const once = join(host.root, "other-run-took-it");
      writeFileSync(
        mv,
        [
          "#!/bin/sh",
          `case "$2" in '${lock}.stale-'*) if [ ! -e '${once}' ]; then : >'${once}'`,
          `  /bin/rm -rf '${lock}' && /bin/mkdir -m 0755 '${lock}' && printf '%s' '${fresh}' >'${lock}/owner.json'; fi ;; esac`,
          'exec /bin/mv "$@"',
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      const r = await run(host, { pollMs: 10, startingGraceMs: 50, giveUpMs: 3000 }, 60_000);
      assert.equal(existsSync(once), true, `the other run took the lock over: ${r.out}`);
      assert.doesNotMatch(r.out, /^ran$/m, `the step ran while another run held the lock: ${r.out}`);
      assert.match(r.out, new RegExp(`error: another colima-pulse run on .* still holds ${LOCK} \\(pid ${holder.pid}`), r.out);
      assert.equal(readFileSync(join(lock, "owner.json"), "utf8"), fresh, "the other run's lock is back in place, whole");
    } finally {
      holder.kill();
    }
  });
});

describe("a lock let go while it is looked at", () => {
  it("its holder removes it between the look's test -f and its head: the run takes it, no error", async () => {
    // The look is one script (ls, ls, test, head); a holder that exits removes the lock at any
    // moment, also between the test and the head. The Mac's head plays that holder, once.
    const host = openMac();
    const lock = join(host.root, LOCK);
    mkdirSync(lock, { recursive: true, mode: 0o755 });
    const holder = spawn("sleep", ["600"], { stdio: "ignore" });
    try {
      writeFileSync(join(lock, "owner.json"), JSON.stringify({ pid: holder.pid, command: "sleep 600", since: new Date().toISOString() }));
      const head = join(host.root, "usr/bin/head");
      rmSync(head);
      const once = join(host.root, "holder-let-go");
      writeFileSync(
        head,
        ["#!/bin/sh", `if [ ! -e '${once}' ]; then : >'${once}'; /bin/rm -rf '${lock}'; fi`, 'exec /usr/bin/head "$@"', ""].join("\n"),
        { mode: 0o755 },
      );
      const r = await run(host, { pollMs: 10, startingGraceMs: 50, giveUpMs: 3000 }, 60_000);
      assert.equal(existsSync(once), true, `the holder let go mid-look: ${r.out}`);
      assert.match(r.out, /^ran$/m, `the run took the lock once it was gone: ${r.out}`);
    } finally {
      holder.kill();
    }
  });
});
