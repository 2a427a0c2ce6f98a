// provider/lib/mac.ts against a simulated Mac, through both transports: locally (this process as
// root, sudo to the Homebrew user; or as that user) and over a real OpenSSH server (as another
// admin, sudo to the Homebrew user; or as that user), which gives a command macOS's PATH
// (test/helpers/sshd.ts MAC_SSH_PATH). What the providers run as the Homebrew user must find
// Homebrew's tools whatever PATH the transport gave: Colima looks Lima up on PATH.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Mac, macOf, SSH_SESSIONS_PER_CONNECTION } from "../../../provider/lib/mac";
import { testServices } from "../../helpers/services";
import { MAC_MAX_SESSIONS, type Sshd, sshTarget, startSshd } from "../../helpers/sshd";
import { MacSimulator } from "../../simulator/simulator";

let sim: MacSimulator;
let sshd: Sshd;

before(async () => {
  sim = await MacSimulator.create({
    dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
    formulae: ["colima", "qemu", "docker"],
    users: {
      ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" },
      admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" },
    },
  });
  sshd = await startSshd({ keys: { admin: { env: { SIM_USER: "admin" } }, ops: { env: { SIM_USER: "ops" } } } });
});
after(async () => {
  await sshd?.dispose();
  await sim?.dispose();
});

/** The Mac as the providers reach it over SSH, logged in with `key` (which is that simulated user). */
function overSsh(key: "admin" | "ops"): Mac {
  const ssh = {
    ...sshTarget(sshd, key),
  };
  return macOf({ root: sim.root, user: "ops", ssh });
}

/** The Mac as a provider running here reaches it, as this process's simulated user (SIM_USER).
 *  The Homebrew user's own run spells the root with a trailing slash: the same Mac (hostPath drops
 *  the slash), but a Mac object of its own, which asks `id -un` afresh. */
const local = (as: "root" | "ops"): Mac => macOf({ root: as === "root" ? sim.root : `${sim.root}/`, user: "ops" });

/** Each transport: how to reach the Mac, and the simulated user this process is meanwhile. */
const transports: { name: string; me: string; reach: () => Mac }[] = [
  { name: "locally as root (sudo -u ops)", me: "root", reach: () => local("root") },
  { name: "locally as ops", me: "ops", reach: () => local("ops") },
  { name: "over SSH as admin (sudo -u ops)", me: "admin", reach: () => overSsh("admin") },
  { name: "over SSH as ops", me: "ops", reach: () => overSsh("ops") },
];

/** Runs `fn` as simulated user `user` of this process (local commands inherit SIM_USER). */
async function asSimUser<T>(user: string, fn: () => Promise<T>): Promise<T> {
  const was = process.env.SIM_USER;
  process.env.SIM_USER = user;
  try {
    return await fn();
  } finally {
    if (was === undefined) delete process.env.SIM_USER;
    else process.env.SIM_USER = was;
  }
}

describe("commands run as the Homebrew user find Homebrew's tools, whatever PATH the transport gave", () => {
  for (const { name, me, reach } of transports) {
    it(`${name}: PATH is the Homebrew prefix's bin and sbin, then macOS's; colima finds Lima`, () =>
      asSimUser(name.startsWith("locally") ? me : "root", async () => {
        const mac = reach();
        assert.equal(await mac.currentUser(), me);
        const prefix = sim.world.brewPrefix();
        const status = await mac.asUser([`${prefix}/bin/colima`, "status", "--profile", "default", "--json"], { allowFailure: true });
        assert.equal(status.exitCode, 1, status.stderr);
        assert.match(status.stderr, /level=fatal msg="colima is not running"/);
        const env = await mac.asUser([sim.path("/usr/bin/env")]);
        const path = env.stdout.split("\n").find((l) => l.startsWith("PATH="));
        const system = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => sim.path(d));
        assert.equal(path, `PATH=${[`${prefix}/bin`, `${prefix}/sbin`, ...system].join(":")}`);
      }));
  }
});

/** Logins the test sshd accepted so far (LogLevel VERBOSE logs each). */
const logins = () => (readFileSync(join(sshd.dir, "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;

describe("sessions over one SSH connection stay under macOS's MaxSessions", () => {
  it("24 commands at once over one connection all run, fewer at a time than the Mac allows, yet side by side", async () => {
    assert.ok(SSH_SESSIONS_PER_CONNECTION < MAC_MAX_SESSIONS);
    const mac = overSsh("ops");
    await mac.currentUser(); // the connection is up: what follows is multiplexed over it
    const before = logins();
    // Each command makes its own folder, counts the folders there (the commands running now), and
    // stays a moment.
    const dir = mkdtempSync(join(tmpdir(), "cpulse-sessions-"));
    const script = 'mkdir "$1/$$" && ls "$1" | wc -l && sleep 0.5; rmdir "$1/$$"';
    const runs = await Promise.allSettled(Array.from({ length: 24 }, () => mac.run([sim.path("/bin/sh"), "-c", script, "sh", dir])));
    rmSync(dir, { recursive: true, force: true });
    const failed = runs.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    assert.deepEqual(failed, [], `${failed.length} of 24 failed`);
    const counts = runs.map((r) => (r.status === "fulfilled" ? Number(r.value.stdout.trim()) : 0));
    assert.ok(Math.max(...counts) <= SSH_SESSIONS_PER_CONNECTION, `at most ${SSH_SESSIONS_PER_CONNECTION} at once: ${counts.join(" ")}`);
    assert.ok(Math.max(...counts) >= 2, `not one by one: ${counts.join(" ")}`);
    assert.equal(logins(), before, "every command went over the one connection: no login of its own");
  });

  it("two processes reaching the Mac at once, 16 commands each: each over a connection of its own, all run", async () => {
    // The program, the provider and the fleet runner are processes of their own that reach one Mac
    // at once, each bounding what it runs at once. Over a master they shared (this process's, open
    // already), their 16 sessions passed the Mac's 10: refused, each a login of its own, some
    // dropped by MaxStartups ("kex_exchange_identification: … Connection reset by peer").
    const mac = overSsh("ops");
    await mac.currentUser();
    const before = logins();
    const child = (dir: string) =>
      new Promise<{ failed: string[]; counts: number[] }>((resolve, reject) => {
        const json = JSON.stringify({ root: sim.root, ssh: sshTarget(sshd, "ops"), bin: sim.path("/bin/sh"), dir, count: 16 });
        execFile(
          process.execPath,
          ["--import", "tsx", join(__dirname, "helpers/sessionsChild.ts"), json],
          { encoding: "utf8", timeout: 120_000 },
          (e, stdout, stderr) =>
            e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split("\n").pop() as string)),
        );
      });
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "cpulse-sessions-")));
    try {
      const results = await Promise.all(dirs.map(child));
      for (const [i, r] of results.entries()) {
        assert.deepEqual(r.failed, [], `process ${i}: ${r.failed.length} of 16 failed`);
        assert.ok(
          Math.max(...r.counts) <= SSH_SESSIONS_PER_CONNECTION,
          `process ${i}: at most ${SSH_SESSIONS_PER_CONNECTION} at once: ${r.counts.join(" ")}`,
        );
      }
      assert.equal(logins() - before, 2, "one login per process, none per command");
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
