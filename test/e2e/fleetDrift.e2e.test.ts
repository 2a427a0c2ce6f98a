// `npm run fleet -- drift` through the real engine: three converged simulated Macs behind a real
// OpenSSH server, the third reached through a TCP relay the test closes (then out of reach). A refresh preview per Mac (`pulumi refresh
// --preview-only`) says what a refresh would change, for cron: exit 0 no drift, 1 drift (naming the
// Mac and the resource), 2 a Mac not checked. Nothing changes in the stacks' state (`pulumi stack
// export` before and after) nor on the Macs, and no stack lock is taken: a `pulumi up` holding the
// stack's lock does not stop the check, while a real refresh is refused by that same lock.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MacDrift } from "../../fleet/drift";
import type { TestStack } from "../helpers/pulumiStack";
import { LABEL, mutating, waitFor } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["mac-1", "mac-2", "far-3"] as const;

/** A TCP relay on a loopback port to `target.port` (set later: the sshd's), until `close` ends it
 *  and every connection through it: then nothing listens there (ssh: Connection refused). */
async function relay(target: { port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s)).on("error", () => s.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(target.port, "127.0.0.1");
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

describe("fleet drift: a refresh preview per Mac, nothing saved, no stack lock", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  let sims: Record<string, MacSimulator>;
  let env: NodeJS.ProcessEnv;
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], env, 600_000);
  const exported = async (mac: string) => {
    const r = await stack.cli(["stack", "export", "--stack", mac]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const row = (stdout: string, mac: string) => stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";
  const plist = () => sims["mac-2"]?.path(`/Library/LaunchDaemons/${LABEL}.plist`) as string;

  const sshd = { port: 0 };
  let far: Awaited<ReturnType<typeof relay>>;

  before(async () => {
    far = await relay(sshd);
    const knownHosts = join(mkdtempSync(join(tmpdir(), "cpulse-far-")), "known_hosts");
    fleetOf = await SshFleet.create(MACS, (mac, server): Record<string, string> => {
      sshd.port = server.port;
      if (mac !== "far-3") return {};
      // The same server's key, known under the relay's port (known_hosts names host and port).
      const line = readFileSync(server.knownHostsFile, "utf8").split(`[127.0.0.1]:${server.port} `).join(`[127.0.0.1]:${far.port} `);
      writeFileSync(knownHosts, line, { mode: 0o600 });
      return { SSH_PORT: String(far.port), SSH_KNOWN_HOSTS_FILE: knownHosts };
    });
    ({ stack, sims, env } = fleetOf);
    const up = await fleet("up", "--parallel", "3");
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
  });
  after(async () => {
    await far?.close();
    await fleetOf?.dispose();
  });

  it("no drift: exit 0, every Mac 'none', the state and the Macs unchanged", async () => {
    const before = await Promise.all(MACS.map(exported));
    for (const sim of Object.values(sims)) sim.clearRecords();
    const r = await fleet("drift", "--parallel", "3");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^MAC\s+DRIFT\s+TIME\s+WHAT A REFRESH WOULD CHANGE$/m);
    for (const mac of MACS) assert.match(row(r.stdout, mac), new RegExp(`^${mac}\\s+none\\s+[\\d.]+s\\s+none$`));
    assert.match(r.stdout, /no drift on any of the 3 Macs/);
    assert.deepEqual(await Promise.all(MACS.map(exported)), before, "the state is as it was");
    for (const mac of MACS) assert.deepEqual(mutating(sims[mac]?.records() ?? []), [], `nothing changed on ${mac}`);
    assert.deepEqual(stack.locks(), []);
  });

  it("drift on mac-2 (its daemon booted out, its plist edited): exit 1 naming the Mac, the resource and its properties", async (t) => {
    const sim = sims["mac-2"] as MacSimulator;
    const out = await sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), "bootout", `system/${LABEL}`]);
    assert.equal(out.code, 0, out.stderr);
    const edited = readFileSync(plist(), "utf8").replace("<integer>120</integer>", "<integer>1</integer>");
    writeFileSync(plist(), edited);
    const before = await exported("mac-2");
    sim.clearRecords();
    const r = await fleet("drift", "--stacks", "mac-*", "--parallel", "2");
    t.diagnostic(r.stdout); // the table (or JSON) in the test's report
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(row(r.stdout, "mac-1"), /^mac-1\s+none\s+/);
    assert.match(row(r.stdout, "mac-2"), /^mac-2\s+drift\s+[\d.]+s\s+.*update LaunchDaemon::colima-daemon \([^)]*loaded: true → false/);
    assert.match(r.stdout, /drift on 1 of 2: mac-2 /);
    // What a refresh would change, not a change: the state, the plist and launchd as they were.
    assert.equal(await exported("mac-2"), before, "the state is as it was");
    assert.equal(readFileSync(plist(), "utf8"), edited, "the plist is still the edited one");
    assert.deepEqual(mutating(sim.records()), [], "nothing on the Mac was started, stopped or loaded");

    const json = await fleet("drift", "--stacks", "mac-*", "--json");
    t.diagnostic(json.stdout); // the table (or JSON) in the test's report
    assert.equal(json.code, 1, json.stderr);
    const rows = JSON.parse(json.stdout) as MacDrift[];
    assert.deepEqual(
      rows.map((x) => [x.stack, x.result]),
      [
        ["mac-1", "none"],
        ["mac-2", "drift"],
      ],
    );
    const daemon = rows[1]?.resources.find((x) => x.resource === "LaunchDaemon::colima-daemon");
    assert.ok(daemon, JSON.stringify(rows[1]));
    assert.equal(daemon.op, "update");
    // What the provider's read reported: the job not loaded, the plist's hash not the converged one.
    assert.deepEqual(
      daemon.properties.find((p) => p.property === "loaded"),
      { property: "loaded", from: true, to: false },
    );
    assert.ok(
      daemon.properties.some((p) => p.property === "filesHash"),
      JSON.stringify(daemon),
    );
    // Each Mac's log: 0600 in a 0700 folder.
    const log = rows[1]?.log as string;
    assert.equal(statSync(log).mode & 0o777, 0o600);
    assert.equal(statSync(join(log, "..")).mode & 0o777, 0o700);
  });

  it("a Mac out of reach: exit 2 naming it and why; the others still answered", async (t) => {
    await far.close();
    const r = await fleet("drift");
    t.diagnostic(r.stdout); // the table (or JSON) in the test's report
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(row(r.stdout, "far-3"), /^far-3\s+unchecked\s+[\d.]+s\s+.*Connection refused/);
    assert.match(row(r.stdout, "mac-2"), /^mac-2\s+drift\s+/);
    assert.match(r.stdout, /drift on 1 of 3: mac-2 .*; 1 of 3 could not be checked: far-3 \(logs: /);
  });

  it("a stack file with no stack in the backend (never converged): exit 2, and no stack is made", async () => {
    copyFileSync(join(stack.dir, "stacks/Pulumi.mac-1.yaml"), join(stack.dir, "stacks/Pulumi.new-4.yaml"));
    try {
      const r = await fleet("drift", "--stacks", "new-4");
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(row(r.stdout, "new-4"), /^new-4\s+unchecked\s+[\d.]+s\s+never converged: no stack new-4 in the backend/);
      const ls = await stack.cli(["stack", "ls", "--json"]);
      assert.deepEqual((JSON.parse(ls.stdout) as { name: string }[]).map((x) => x.name).sort(), [...MACS].sort());
    } finally {
      rmSync(join(stack.dir, "stacks/Pulumi.new-4.yaml"));
    }
  });

  it("no stack lock: a `pulumi up` holding mac-2's lock does not stop the check; a real refresh is refused by it", async (t) => {
    // The holder: a real `pulumi up` of mac-2 (same project name, backend and stack, its stack file
    // for the passphrase's salt) whose program waits until the test lets it go, then fails, so the
    // lock is held for exactly as long as the test needs.
    const holder = mkdtempSync(join(tmpdir(), "cpulse-holder-"));
    const ready = join(holder, "ready");
    const release = join(holder, "release");
    mkdirSync(join(holder, "stacks"));
    writeFileSync(join(holder, "Pulumi.yaml"), "name: colima-pulse\nruntime: nodejs\nmain: holder.js\nstackConfigDir: stacks\n");
    copyFileSync(join(stack.dir, "stacks/Pulumi.mac-2.yaml"), join(holder, "stacks/Pulumi.mac-2.yaml"));
    symlinkSync(join(stack.dir, "node_modules"), join(holder, "node_modules"), "dir");
    writeFileSync(
      join(holder, "holder.js"),
      `const fs = require("node:fs");
fs.writeFileSync(${JSON.stringify(ready)}, "");
module.exports = new Promise((_, reject) => {
  const t = setInterval(() => {
    if (fs.existsSync(${JSON.stringify(release)})) { clearInterval(t); reject(new Error("let go by the test")); }
  }, 100);
});
`,
    );
    const held = new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        "pulumi",
        ["up", "--yes", "--skip-preview", "--stack", "mac-2", "--non-interactive"],
        { cwd: holder, env: stack.environment(), maxBuffer: 64 << 20 },
        (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    try {
      await waitFor("the holder's program to run, under mac-2's stack lock", () => existsSync(ready), 120_000);
      assert.equal(stack.locks().length, 1, "the holder's lock");
      // The control: a refresh that saves takes the lock, and is refused.
      const refresh = await stack.cli(["refresh", "--yes", "--stack", "mac-2"]);
      assert.notEqual(refresh.code, 0);
      assert.match(refresh.stderr, /the stack is currently locked by 1 lock\(s\)/);
      const before = await exported("mac-2");
      const r = await fleet("drift", "--stacks", "mac-*");
      t.diagnostic(r.stdout); // the table (or JSON) in the test's report
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(row(r.stdout, "mac-2"), /^mac-2\s+drift\s+[\d.]+s\s+.*update LaunchDaemon::colima-daemon \(/);
      assert.equal(await exported("mac-2"), before);
      assert.equal(stack.locks().length, 1, "the holder's lock, and no other");
    } finally {
      writeFileSync(release, "");
      const done = await held;
      assert.notEqual(done.code, 0, "the holder's program failed, as written");
      assert.match(done.stdout + done.stderr, /let go by the test/);
      rmSync(holder, { recursive: true, force: true });
    }
    assert.deepEqual(stack.locks(), [], "no lock left behind");
  });
});
