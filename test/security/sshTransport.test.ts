// The SSH transport's connection folder (provider/lib/mac.ts) against another local user of the
// control machine. ssh's control master listens on a unix socket in that folder, and OpenSSH's mux
// client trusts whatever answers on the ControlPath (mux.c checks no owner): a user who makes the
// folder first, or can swap what is in it, receives every command and its stdin and forges every
// answer. The attacker here is the real user `nobody`; the operator is this process's user, with a
// real sshd (test/helpers/sshd.ts). Each run of the transport is a process of its own in a private
// mount namespace whose /tmp is a folder of this test (made like /tmp: root's, 1777), so the
// machine's own /tmp/colima-pulse-ssh-<uid>, which other runs use, is never touched.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Sshd, sshTarget, startSshd } from "../helpers/sshd";

const NOBODY = 65534;
const here = __dirname;
const me = process.getuid?.() ?? 0;

let sshd: Sshd;
before(async () => {
  sshd = await startSshd({ keys: { operator: {} } });
});
after(async () => {
  await sshd?.dispose();
});

const target = () => ({
  ...sshTarget(sshd, "operator"),
});

interface Outcome {
  ok: boolean;
  name?: string;
  message?: string;
  exitCode?: number;
  stdout?: string;
}

/** A folder that is /tmp for the transport: root's, 1777 (unless `mode` says otherwise). */
function fakeTmp(mode = 0o1777): string {
  const tmp = mkdtempSync("/tmp/cpulse-sec-tmp-");
  chmodSync(tmp, mode);
  return tmp;
}

/** unshare's argv running `argv` through the transport with `tmp` as its /tmp (the sshd's folder
 *  bound in); with `held`, the shell waits for a line on stdin before it becomes the transport's
 *  process (exec: the PID stays). */
function victimArgv(tmp: string, argv: string[], input?: string, held = false): string[] {
  const wait = held ? "read -r _ && " : "";
  return [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    `mkdir -p "$2" && mount --bind "$3" "$2" && mount --rbind "$1" /tmp && shift 3 && ${wait}exec "$@"`,
    "sh",
    tmp,
    join(tmp, basename(sshd.dir)),
    sshd.dir,
    process.execPath,
    "--import",
    "tsx",
    join(here, "helpers/sshVictim.ts"),
    JSON.stringify({ ssh: target(), argv, input }),
  ];
}

function victimEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.XDG_RUNTIME_DIR;
  delete env.TMPDIR;
  return env;
}

/** Runs `argv` through the transport with `tmp` as its /tmp (the sshd's folder bound in). */
function victim(tmp: string, argv: string[], input?: string): Outcome {
  const out = execFileSync("unshare", victimArgv(tmp, argv, input), {
    encoding: "utf8",
    env: victimEnv(),
    cwd: join(here, "../.."),
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split("\n").pop() as string) as Outcome;
}

/** victim, with `first(pid)` done before the transport's process (that PID) starts. */
async function victimAfter(tmp: string, argv: string[], input: string, first: (pid: number) => Promise<void>): Promise<Outcome> {
  const child = spawn("unshare", victimArgv(tmp, argv, input, true), {
    env: victimEnv(),
    cwd: join(here, "../.."),
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await first(child.pid as number);
  child.stdin.end("go\n");
  await exited;
  return JSON.parse(out.trim().split("\n").pop() as string) as Outcome;
}

/** The ControlPath of the transport's process `pid`: <folder>/<12 hex of the target and the
 *  PID>-%C (provider/lib/mac.ts SshMac). An attacker computes it as easily (PIDs are public, ssh -G
 *  expands %C). */
function controlPath(folder: string, pid: number): string {
  const ours = createHash("sha256")
    .update(`${JSON.stringify(target())}\n${pid}`)
    .digest("hex")
    .slice(0, 12);
  const g = execFileSync("ssh", ["-G", "-o", "ControlPath=%C", "-p", String(sshd.port), target().destination], { encoding: "utf8" });
  const c = /^controlpath (\S+)$/m.exec(g)?.[1] as string;
  return join(folder, `${ours}-${c}`);
}

/** `nobody`'s fake master on `socketPath`, logging to `log`; resolves once it listens. */
function fakeMaster(socketPath: string, log: string): Promise<ChildProcess> {
  const as = ["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups"];
  const child = spawn("setpriv", [...as, process.execPath, join(here, "helpers/fakeMuxMaster.cjs"), socketPath, log], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`fake master exited ${code}`)));
  });
}

const folderIn = (tmp: string) => join(tmp, `colima-pulse-ssh-${me}`);
const SECRET = "export API_TOKEN='TOKEN_SUFFIX_abc'\n";

describe("the SSH connection folder is ours alone, or nothing is sent", { concurrency: false }, () => {
  it("a fresh folder: made 0700 and ours, and the command runs", () => {
    const tmp = fakeTmp();
    try {
      const r = victim(tmp, ["/bin/echo", "hello"]);
      assert.deepEqual([r.ok, r.stdout], [true, "hello"], JSON.stringify(r));
      const st = lstatSync(folderIn(tmp));
      assert.ok(st.isDirectory());
      assert.equal(st.uid, me);
      assert.equal(st.mode & 0o7777, 0o700);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a folder another user made first (world-writable, theirs) with a fake master on the control path: refused, nothing reaches it", async () => {
    const tmp = fakeTmp();
    const folder = folderIn(tmp);
    mkdirSync(folder);
    chownSync(folder, NOBODY, NOBODY);
    chmodSync(folder, 0o777);
    const log = join(tmp, "attacker.log");
    let master: ChildProcess | undefined;
    try {
      const r = await victimAfter(tmp, ["/bin/cat"], SECRET, async (pid) => {
        master = await fakeMaster(controlPath(folder, pid), log);
      });
      const heard = readFileSync(log, "utf8");
      assert.equal(heard, "", `the attacker's master received: ${heard}`);
      assert.equal(r.ok, false, `the command ran: ${JSON.stringify(r)}`);
      assert.match(r.message ?? "", /\/tmp\/colima-pulse-ssh-\d+/);
      assert.match(r.message ?? "", /owned by uid 65534/);
      assert.match(r.message ?? "", /mode 0777/);
      assert.match(r.message ?? "", /nothing was sent/);
      assert.equal(lstatSync(folder).uid, NOBODY, "their folder is left as it was");
      assert.equal(lstatSync(folder).mode & 0o7777, 0o777);
    } finally {
      master?.kill();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("the folder a symlink to a folder of another user: refused, nothing is made there", () => {
    const tmp = fakeTmp();
    const theirs = join(tmp, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, NOBODY, NOBODY);
    symlinkSync("theirs", folderIn(tmp)); // relative: the same folder inside the namespace
    try {
      const r = victim(tmp, ["/bin/cat"], SECRET);
      assert.equal(r.ok, false, `the command ran: ${JSON.stringify(r)}`);
      assert.match(r.message ?? "", /symbolic link/);
      assert.deepEqual(execFileSync("ls", ["-A", theirs], { encoding: "utf8" }), "", "nothing made in their folder");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("our own folder with mode 0755: refused with the fix, its mode left as it is", () => {
    const tmp = fakeTmp();
    const folder = folderIn(tmp);
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    try {
      const r = victim(tmp, ["/bin/cat"], SECRET);
      assert.equal(r.ok, false, `the command ran: ${JSON.stringify(r)}`);
      assert.match(r.message ?? "", /mode 0755/);
      assert.ok((r.message ?? "").includes(`chmod 700 /tmp/colima-pulse-ssh-${me}`), r.message);
      assert.equal(lstatSync(folder).mode & 0o7777, 0o755);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a /tmp that others may write to and is not sticky (they could swap our folder): refused, no folder made", () => {
    const tmp = fakeTmp(0o777);
    try {
      const r = victim(tmp, ["/bin/cat"], SECRET);
      assert.equal(r.ok, false, `the command ran: ${JSON.stringify(r)}`);
      assert.match(r.message ?? "", /\/tmp .*writable by others/);
      assert.equal(existsSync(folderIn(tmp)), false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
