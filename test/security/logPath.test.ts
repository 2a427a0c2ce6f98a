// LOG_PATH and root: root makes the log's folder and the log, and gives the log to the Homebrew
// user (the supervisor appends to it as that user); launchd opens it for the job and newsyslog
// rotates it, both as root. Anyone who can add, rename or replace an entry anywhere on that path
// can point root at another file (a symlink as the log, a symlinked folder) or have root re-own a
// folder that is not its own. Each attack here runs through the real engine against a simulated
// Mac, as the Homebrew user (uid 501, who owns files in the simulated Mac's root for real) would
// make it: the run is refused, naming the path, and the file or folder aimed at is unchanged.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prepareLog } from "../../provider/launchDaemon";
import { checkLogPath, parseLs } from "../../provider/lib/logPath";
import { macOf } from "../../provider/lib/mac";
import { ConfigError, resolveSettings } from "../../stacks/config";
import { DAEMON } from "../helpers/daemonInputs";
import { LABEL, type SimulatedMac, simulatedMac } from "../helpers/simulatedMac";

/** The Homebrew user of the simulated Mac (ops): its files are really 501:20. */
const OPS = { uid: 501, gid: 20 };
const SECRET_TEXT = "root's own secret\n";

describe("LOG_PATH: root follows no link and re-owns no folder on its way", { concurrency: false }, () => {
  let mac: SimulatedMac;
  before(async () => {
    mac = await simulatedMac("sec-log-path");
    await mac.stack.must(["up", "--yes", "--skip-preview"]);
  });
  after(async () => mac?.dispose());

  /** A file only root may read (root 0600) on the simulated Mac, one per attack: what it aims at. */
  function rootFile(name: string): string {
    const path = mac.sim.path(`/etc/${name}`);
    writeFileSync(path, SECRET_TEXT, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }
  /** A symlink the Homebrew user made (uid 501 owns it). Made here as root and given to 501: the
   *  simulated Mac's root folder is this machine's 0700 temporary folder, which uid 501 cannot
   *  enter, so that user's own `ln -s` cannot reach it; on a Mac it can. */
  function opsLink(target: string, path: string): void {
    symlinkSync(target, path);
    lchownSync(path, OPS.uid, OPS.gid);
  }
  /** A folder on the simulated Mac owned by `owner` with `mode`, made as an admin would make it. */
  function folder(macPath: string, owner: { uid: number; gid: number }, mode: number): string {
    const path = mac.sim.path(macPath);
    mkdirSync(path, { recursive: true });
    chownSync(path, owner.uid, owner.gid);
    chmodSync(path, mode);
    return path;
  }
  const ownerAndMode = (path: string) => {
    const s = lstatSync(path);
    return { uid: s.uid, gid: s.gid, mode: (s.mode & 0o7777).toString(8) };
  };
  function assertUntouched(secret: string): void {
    assert.deepEqual(ownerAndMode(secret), { uid: 0, gid: 0, mode: "600" }, "the root-only file's owner and mode");
    assert.equal(readFileSync(secret, "utf8"), SECRET_TEXT, "the root-only file's content");
  }
  interface Attempt {
    refused: boolean;
    output: string;
    /** The job's plist and supervisor as they were before the run. */
    jobUnchanged: boolean;
  }
  const jobFiles = () =>
    [`/Library/LaunchDaemons/${LABEL}.plist`, `/Library/Application Support/colima-pulse/${LABEL}.sh`]
      .map((f) => readFileSync(mac.sim.path(f), "utf8"))
      .join("\0");
  /** `pulumi up` with LOG_PATH set to `logPath`: refused when it fails saying `refusal`. */
  async function attempt(logPath: string, refusal: RegExp): Promise<Attempt> {
    const before = jobFiles();
    const r = await mac.stack.cli(["up", "--yes", "--skip-preview", "-c", `LOG_PATH=${logPath}`]);
    const output = r.stdout + r.stderr;
    const said = output.split("\n").find((l) => refusal.test(l));
    if (said) console.log(`refused: ${said.trim()}`);
    return {
      refused: r.code !== 0 && said !== undefined && /Nothing was changed|nothing was run/.test(output),
      output,
      jobUnchanged: jobFiles() === before,
    };
  }
  const assertRefused = (a: Attempt) => {
    assert.ok(a.refused, `the run was not refused, saying why:\n${a.output}`);
    assert.ok(a.jobUnchanged, "the job's plist and supervisor are as they were");
  };

  it("(e) the default LOG_PATH works: a root 0755 folder of its own, the log the Homebrew user's 0640", () => {
    assert.deepEqual(ownerAndMode(mac.sim.path("/var/log/colima-pulse")), { uid: 0, gid: 0, mode: "755" });
    assert.deepEqual(ownerAndMode(mac.sim.path("/var/log/colima-pulse/colima.log")), { uid: 501, gid: 20, mode: "640" });
  });

  it("(a) a symlink as the log, in a folder the Homebrew user owns: refused, the root file unchanged", async () => {
    const secret = rootFile("secret-a");
    const dir = folder("/var/log/ops-logs", OPS, 0o755);
    opsLink(secret, `${dir}/colima.log`);
    const result = await attempt(
      "/var/log/ops-logs/colima.log",
      /\/var\/log\/ops-logs is a folder \(drwxr-xr-x, uid 501\): owned by uid 501, not root/,
    );
    assertUntouched(secret);
    assertRefused(result);
    assert.deepEqual(ownerAndMode(dir), { uid: 501, gid: 20, mode: "755" }, "the folder stays the user's");
  });

  it("(a') a symlink as the log even in a folder only root can change: refused, the root file unchanged", async () => {
    const secret = rootFile("secret-a2");
    symlinkSync(secret, mac.sim.path("/var/log/colima-pulse/linked.log"));
    const result = await attempt(
      "/var/log/colima-pulse/linked.log",
      /\/var\/log\/colima-pulse\/linked\.log is a symbolic link \(l\S+, uid 0\): root would follow it to another file/,
    );
    assertUntouched(secret);
    assertRefused(result);
  });

  it("(b) a symlinked folder on the way (root's link to the user's folder): refused, neither the root file nor the user's folder changed", async () => {
    const secret = rootFile("secret-b");
    const target = folder("/Users/ops/logs", OPS, 0o750);
    opsLink(secret, `${target}/colima.log`);
    // An admin's link, in a folder only root can change: followed, and what it leads to is checked.
    symlinkSync("../../Users/ops/logs", mac.sim.path("/var/log/linked"));
    const home = ownerAndMode(mac.sim.path("/Users/ops"));
    const result = await attempt(
      "/var/log/linked/colima.log",
      /\/Users\/ops is a folder \(drwxr-x---, uid 501\): owned by uid 501, not root/,
    );
    assertUntouched(secret);
    assert.deepEqual(ownerAndMode(target), { uid: 501, gid: 20, mode: "750" }, "the user's folder behind the link");
    assert.deepEqual(ownerAndMode(mac.sim.path("/Users/ops")), home, "the user's home");
    assertRefused(result);
  });

  it("(c) an existing folder the Homebrew user owns (0750), the home or another: refused, its owner and mode unchanged", async () => {
    const home = mac.sim.path("/Users/ops");
    assert.deepEqual(ownerAndMode(home), { uid: 501, gid: 20, mode: "750" });
    const inHome = await attempt("/Users/ops/colima.log", /"\/Users\/ops\/colima\.log": is under \/Users, the users' homes/);
    assert.deepEqual(ownerAndMode(home), { uid: 501, gid: 20, mode: "750" }, "the home");
    assertRefused(inHome);
    // Not one of the folders the settings know to be users' (checked on the Mac itself).
    const theirs = folder("/var/log/ops-own", OPS, 0o750);
    const elsewhere = await attempt(
      "/var/log/ops-own/colima.log",
      /\/var\/log\/ops-own is a folder \(drwxr-x---, uid 501\): owned by uid 501, not root/,
    );
    assert.deepEqual(ownerAndMode(theirs), { uid: 501, gid: 20, mode: "750" }, "the user's folder");
    assertRefused(elsewhere);
  });

  it("(d) a sticky world-writable folder (/tmp, or one of its kind): refused, its mode unchanged", async () => {
    const tmp = folder("/tmp", { uid: 0, gid: 0 }, 0o1777);
    const inTmp = await attempt("/tmp/colima.log", /"\/tmp\/colima\.log": is under \/tmp, a temporary folder every user writes/);
    assert.deepEqual(ownerAndMode(tmp), { uid: 0, gid: 0, mode: "1777" }, "/tmp");
    assertRefused(inTmp);
    const shared = folder("/var/log/shared", { uid: 0, gid: 0 }, 0o1777);
    const inShared = await attempt(
      "/var/log/shared/colima.log",
      /\/var\/log\/shared is a folder \(drwxrwxrwt, uid 0\): writable by everyone \(a shared sticky folder\)/,
    );
    assert.deepEqual(ownerAndMode(shared), { uid: 0, gid: 0, mode: "1777" }, "the shared folder");
    assertRefused(inShared);
  });

  it("(f) a file already there that is not the Homebrew user's (a system log of root's): refused, never given away", async () => {
    const systemLog = mac.sim.path("/var/log/system.log");
    writeFileSync(systemLog, SECRET_TEXT, { mode: 0o600 });
    chmodSync(systemLog, 0o600);
    const result = await attempt("/var/log/system.log", /\/var\/log\/system\.log is there already and is uid 0's, not ops's \(uid 501\)/);
    assertUntouched(systemLog);
    assertRefused(result);
  });

  it("(e) a fresh dedicated folder works: made root 0755, the log the Homebrew user's 0640", async () => {
    await mac.stack.must(["up", "--yes", "--skip-preview", "-c", "LOG_PATH=/var/log/pulse-fresh/colima.log"]);
    assert.deepEqual(ownerAndMode(mac.sim.path("/var/log/pulse-fresh")), { uid: 0, gid: 0, mode: "755" });
    assert.deepEqual(ownerAndMode(mac.sim.path("/var/log/pulse-fresh/colima.log")), { uid: 501, gid: 20, mode: "640" });
  });
});

// The same rule without the engine, on a bare root folder with the real tools the simulated Mac
// links (ls, readlink, install, chown, chmod, id): the cases an e2e run cannot make cheaply.
describe("LOG_PATH's check on real files: FIFOs, hard links, link loops, missing folders", () => {
  const root = mkdtempSync(join(tmpdir(), "cpulse-logpath-"));
  const host = { root, user: "ops" };
  const mac = macOf(host);
  const at = (p: string) => join(root, p);
  for (const tool of ["/bin/ls", "/usr/bin/readlink", "/usr/bin/install", "/usr/sbin/chown", "/bin/chmod", "/usr/bin/id"]) {
    mkdirSync(dirname(at(tool)), { recursive: true, mode: 0o755 });
    const real = execFileSync("sh", ["-c", `command -v ${tool.split("/").pop()}`], { encoding: "utf8" }).trim();
    symlinkSync(real, at(tool));
  }
  mkdirSync(at("/var/log/pulse"), { recursive: true, mode: 0o755 });
  mkdirSync(at("/etc"), { recursive: true, mode: 0o755 });
  after(() => rmSync(root, { recursive: true, force: true }));
  const inputs = (logPath: string) => ({ ...DAEMON, host, logPath: at(logPath) });

  it("reads ls -ldn as macOS's ls and GNU ls print it (@ extended attributes, + an ACL, . an SELinux context)", () => {
    assert.deepEqual(parseLs("drwxr-xr-x@ 12 0  0  384 Dec  7 11:00 /private/var/log\n"), {
      type: "d",
      perms: "rwxr-xr-x",
      acl: false,
      links: 12,
      uid: 0,
      gid: 0,
    });
    assert.equal(parseLs("drwxrwxr-x+ 60 0  80  1920 Dec  7 11:00 /Library/Logs\n")?.acl, true);
    assert.equal(parseLs("lrwxrwxrwx. 1 501 20 11 Dec  7 11:00 /x -> /etc/y\n")?.uid, 501);
    assert.equal(parseLs("total 0\n"), undefined);
  });

  it("a FIFO as the log: refused", async () => {
    execFileSync("mkfifo", [at("/var/log/pulse/fifo.log")]);
    await assert.rejects(checkLogPath(mac, at("/var/log/pulse/fifo.log")), /fifo\.log is a FIFO \(prw/);
  });

  it("a log that is a hard link to a root-only file: refused before it is given away, the file unchanged", async () => {
    const secret = at("/etc/secret");
    writeFileSync(secret, SECRET_TEXT, { mode: 0o600 });
    linkSync(secret, at("/var/log/pulse/hard.log"));
    await assert.rejects(
      prepareLog(mac, inputs("/var/log/pulse/hard.log"), "501"),
      /hard\.log is there already and is uid 0's, not ops's \(uid 501\)/,
    );
    assert.deepEqual([lstatSync(secret).uid, lstatSync(secret).mode & 0o7777], [0, 0o600]);
  });

  it("a loop of links: refused after 32", async () => {
    symlinkSync("b", at("/var/log/a"));
    symlinkSync("a", at("/var/log/b"));
    await assert.rejects(checkLogPath(mac, at("/var/log/a/x.log")), /more than 32 links/);
  });

  it("a folder its group can write: refused, unchanged", async () => {
    mkdirSync(at("/var/log/staff"), { mode: 0o775 });
    chownSync(at("/var/log/staff"), 0, 20);
    chmodSync(at("/var/log/staff"), 0o775);
    await assert.rejects(
      prepareLog(mac, inputs("/var/log/staff/x.log"), "501"),
      /staff is a folder \(drwxrwxr-x, uid 0\): writable by its group/,
    );
    assert.equal(lstatSync(at("/var/log/staff")).mode & 0o7777, 0o775);
    assert.equal(existsSync(at("/var/log/staff/x.log")), false);
  });

  it("root's own link to a good folder (as /var -> private/var): followed, and root's commands get the real path", async () => {
    symlinkSync("../log/pulse", at("/var/log/alias"));
    const checked = await checkLogPath(mac, at("/var/log/alias/colima.log"));
    assert.deepEqual(checked, { resolved: at("/var/log/pulse/colima.log"), missing: [] });
  });

  it("missing folders: made root 0755 one level at a time; the log made the Homebrew user's 0640", async () => {
    await prepareLog(mac, inputs("/var/log/new1/new2/colima.log"), "501");
    for (const dir of ["/var/log/new1", "/var/log/new1/new2"])
      assert.deepEqual([lstatSync(at(dir)).uid, lstatSync(at(dir)).mode & 0o7777], [0, 0o755], dir);
    const log = lstatSync(at("/var/log/new1/new2/colima.log"));
    assert.deepEqual([log.uid, log.gid, log.mode & 0o7777, log.isFile()], [501, 20, 0o640, true]);
  });

  it("the settings refuse, before anything runs, a LOG_PATH in folders that are never root's alone", () => {
    const problems = (LOG_PATH: string) => {
      try {
        resolveSettings([{ layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { HOMEBREW_USER: "ops", LOG_PATH } }]);
        return [];
      } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
      }
    };
    for (const [path, folder] of [
      ["/Users/ops/colima.log", "/Users"],
      ["/Users/Shared/colima.log", "/Users"],
      ["/tmp/colima.log", "/tmp"],
      ["/private/tmp/x/colima.log", "/private/tmp"],
      ["/opt/homebrew/var/log/colima.log", "/opt/homebrew"],
      ["/usr/local/var/log/colima.log", "/usr/local"],
    ]) {
      const [p] = problems(path as string);
      assert.ok(p?.startsWith(`LOG_PATH (stack: stacks/Pulumi.mac1.yaml) = "${path}": is under ${folder}, `), p);
    }
    assert.deepEqual(problems("/var/log/colima-pulse/colima.log"), []);
    assert.deepEqual(problems("/usr/localx/colima.log"), []);
  });
});
