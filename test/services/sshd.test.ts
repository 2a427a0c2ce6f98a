// The real sshd the SSH transport's tests log in to (test/helpers/sshd.ts): per-key environments,
// macOS's PATH and session limit, host key checking both ways, and a stop() that ends multiplexed
// sessions like an outage.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MAC_MAX_SESSIONS, MAC_SSH_PATH, type Sshd, sshArgs, startSshd } from "../helpers/sshd";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** ssh to `sshd` with key `key` (test/helpers/sshd.ts sshArgs). */
function ssh(sshd: Sshd, key: string, extra: string[], ...command: string[]): Promise<Result> {
  return sshSession(sshd, key, extra, ...command).result;
}

/** The same, and `printed`: resolves when the command's first output arrives (its session is up). */
function sshSession(sshd: Sshd, key: string, extra: string[], ...command: string[]): { result: Promise<Result>; printed: Promise<void> } {
  const args = sshArgs(sshd, sshd.keys[key].identityFile, extra, ...command);
  let printed: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    printed = resolve;
  });
  const result = new Promise<Result>((resolve) => {
    const child = execFile("ssh", args, { timeout: 20_000, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdout?.once("data", () => printed());
  });
  // A session that ends without printing anything is "up" too: its result says what happened.
  return { result, printed: Promise.race([first, result.then(() => undefined)]) };
}

/** ps exits 1 when the pid is gone: that is an empty answer, not an error. */
function safe(run: () => string): string {
  try {
    return run();
  } catch {
    return "";
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

describe("a real sshd on loopback", () => {
  let sshd: Sshd;

  before(async () => {
    sshd = await startSshd({ keys: { alice: { env: { SIM_USER: "ops" } }, bob: { env: { SIM_USER: "admin", OTHER: 'say "hi"' } } } });
  });
  after(async () => {
    await sshd?.dispose();
  });

  test("each key logs in with the environment of its authorized_keys line", async () => {
    const a = await ssh(sshd, "alice", [], "printenv", "SIM_USER");
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, "ops\n");
    const b = await ssh(sshd, "bob", [], "printenv", "SIM_USER");
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, "admin\n");
    const quoted = await ssh(sshd, "bob", [], "printenv", "OTHER");
    assert.equal(quoted.stdout, 'say "hi"\n', "a quote in a value survives authorized_keys");
    const user = await ssh(sshd, "alice", [], "id", "-un");
    assert.equal(user.stdout.trim(), sshd.loginUser);
  });

  test("a command gets macOS sshd's PATH, and a connection carries at most 10 sessions at once, as macOS's sshd", async () => {
    const path = await ssh(sshd, "alice", [], "printenv", "PATH");
    assert.equal(path.stdout, `${MAC_SSH_PATH}\n`, path.stderr);
    const mux = ["-o", "ControlMaster=auto", "-o", `ControlPath=${join(sshd.dir, "cm-max-%C")}`, "-o", "ControlPersist=30"];
    assert.equal((await ssh(sshd, "alice", mux, "true")).code, 0, "the master is up");
    const held = Array.from({ length: MAC_MAX_SESSIONS }, () => sshSession(sshd, "alice", mux, "echo up; exec sleep 3"));
    await Promise.all(held.map((h) => h.printed));
    const eleventh = await ssh(sshd, "alice", mux, "true");
    assert.match(eleventh.stderr, /Session open refused by peer/, "the master's 11th session is refused");
    for (const h of held) assert.equal((await h.result).code, 0);
  });

  test("an unknown host key is refused", async () => {
    const empty = join(sshd.dir, "known_hosts.empty");
    writeFileSync(empty, "");
    const r = await ssh(sshd, "alice", ["-o", `UserKnownHostsFile=${empty}`], "true");
    console.log(`ssh with an empty known_hosts said:\n${r.stderr}`);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Host key verification failed/);
    assert.match(r.stderr, /No ED25519 host key is known for \[127\.0\.0\.1\]:\d+/);
  });

  test("a changed host key is refused", async () => {
    const r = await ssh(sshd, "alice", ["-o", `UserKnownHostsFile=${sshd.wrongKnownHostsFile}`], "true");
    console.log(`ssh with the wrong known_hosts said:\n${r.stderr}`);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.match(r.stderr, /Host key verification failed/);
  });

  test("stop() ends a multiplexed connection; start() serves again on the same port", async () => {
    const controlPath = join(sshd.dir, "cm-%C");
    const mux = ["-o", "ControlMaster=auto", "-o", `ControlPath=${controlPath}`, "-o", "ControlPersist=30"];
    const first = await ssh(sshd, "alice", mux, "echo", "up");
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "up\n");
    const check = await ssh(sshd, "alice", [...mux, "-O", "check"]);
    assert.equal(check.code, 0, `a master runs: ${check.stderr}`);

    // A session in flight when the server goes: the client must see the cut, not hang, and the
    // command on the server (which reads its session's stdin) sees EOF and ends by itself.
    const inFlight = sshSession(sshd, "alice", mux, "echo $$; exec cat");
    await inFlight.printed; // the command runs on the server: its session is in flight
    await sshd.stop();
    assert.ok(await refuses(sshd.port), "the port refuses after stop()");
    const cut = await inFlight.result;
    assert.equal(cut.code, 255, `the session in flight ends with ssh's connection error: ${cut.stderr}`);
    const pid = Number(cut.stdout.trim());
    assert.ok(pid > 0, `the command printed its pid before the cut: ${JSON.stringify(cut.stdout)}`);
    const state = () => execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim();
    for (let i = 0; i < 100 && !/^Z|^$/.test(safe(state)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(safe(state), /^Z|^$/, "the session's command ended once its connection was gone");

    const later = await ssh(sshd, "alice", mux, "echo", "again");
    assert.equal(later.code, 255, `after stop(): ${later.stderr}`);
    assert.equal(later.stdout, "");

    await sshd.start();
    const back = await ssh(sshd, "alice", mux, "echo", "back");
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, "back\n");
  });

  test("dispose() leaves no sshd of its config running and removes its folder", async () => {
    const other = await startSshd({ keys: { carol: {} } });
    const config = join(other.dir, "sshd_config");
    const running = () =>
      execFileSync("ps", ["-A", "-o", "stat=,args="], { encoding: "utf8" })
        .split("\n")
        .filter((line) => !line.trim().startsWith("Z") && line.includes(config));
    assert.notEqual(running().length, 0, "the listener shows its config in ps");
    const r = await ssh(other, "carol", [], "echo", "hi");
    assert.equal(r.stdout, "hi\n", r.stderr);
    await other.dispose();
    assert.deepEqual(running(), []);
    assert.equal(existsSync(other.dir), false);
    assert.ok(await refuses(other.port));
  });
});
