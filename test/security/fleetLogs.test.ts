// The fleet's logs and state on the control machine. Three simulated Macs behind a real OpenSSH
// server; one Mac's log is a file on a real full disk (a 4 KiB tmpfs, bind-mounted on the log's
// path: the kernel's own ENOSPC, mid-run). That Mac fails with a message naming its log and the
// error, its operation cancelled as Ctrl-C cancels it (no pending operation, no lock); the other
// Macs converge. Then the modes: `.state/` and every folder in it 0700, the logs 0600, and another
// local user (`nobody`) reads nothing of the state, the passphrase or the logs.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TestStack } from "../helpers/pulumiStack";
import { dockerAnswers } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";
import type { MacSimulator } from "../simulator/simulator";

const MACS = ["mac-1", "mac-2", "mac-3"] as const;
const NOBODY = 65534;

/** Every path under `dir` (itself too), with its mode's permission bits. */
function modes(dir: string): [string, string][] {
  const all = [dir, ...(readdirSync(dir, { recursive: true }) as string[]).map((p) => join(dir, p))];
  return all.map((p) => [p, (statSync(p).mode & 0o777).toString(8)]);
}

describe("fleet logs and modes", { concurrency: false }, () => {
  let fleetOf: SshFleet;
  let stack: TestStack;
  const sims: Record<string, MacSimulator> = {};
  let env: NodeJS.ProcessEnv;
  const mounts: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "cpulse-fleetlogs-"));
  const fleet = (...args: string[]) => stack.script(["scripts/fleet.sh", ...args], env, 600_000);

  before(async () => {
    fleetOf = await SshFleet.create(MACS);
    stack = fleetOf.stack;
    Object.assign(sims, fleetOf.sims);
    env = fleetOf.env;
  });
  after(async () => {
    for (const m of mounts.reverse()) spawnSync("umount", [m]);
    rmSync(work, { recursive: true, force: true });
    await fleetOf?.dispose();
  });

  it("a Mac whose log hits a full disk fails alone, cancelled cleanly; the others converge", async () => {
    // mac-2's log: a file of a 4 KiB tmpfs, bind-mounted where the runner writes it.
    const disk = join(work, "disk");
    const logs = join(work, "logs");
    mkdirSync(disk);
    mkdirSync(logs);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", disk]);
    mounts.push(disk);
    writeFileSync(join(disk, "mac-2.log"), "");
    writeFileSync(join(logs, "mac-2.log"), "");
    execFileSync("mount", ["--bind", join(disk, "mac-2.log"), join(logs, "mac-2.log")]);
    mounts.push(join(logs, "mac-2.log"));

    const r = await fleet("up", "--parallel", "3", "--logs", logs);
    const said = `${r.stdout}\n${r.stderr.slice(-3000)}`;
    // mac-2's stack: no lock held, no operation left pending (what `pulumi cancel` and a
    // `stack export | import` would otherwise have to clear).
    assert.deepEqual(stack.locks(), [], said);
    for (const mac of MACS) {
      const exported = await stack.must(["stack", "export", "--stack", mac]);
      const pending = (JSON.parse(exported.stdout) as { deployment?: { pending_operations?: unknown[] } }).deployment?.pending_operations;
      assert.deepEqual(pending ?? [], [], `${mac}: ${JSON.stringify(pending)}\n${said}`);
    }
    assert.equal(r.code, 1, said);
    const row = (mac: string) => r.stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";
    assert.match(row("mac-1"), /^mac-1\s+ok\s+up\s+/, said);
    assert.match(row("mac-3"), /^mac-3\s+ok\s+up\s+/, said);
    // Cancelled in its `up` (its preview's output fits in 4 KiB, the converge's does not).
    assert.match(
      row("mac-2"),
      new RegExp(`^mac-2\\s+FAILED\\s+up\\s+.*its log ${join(logs, "mac-2.log")} could not be written \\(ENOSPC: no space left on device`),
      said,
    );
    assert.match(r.stdout, /1 of 3 Macs failed: mac-2 /);
    for (const mac of ["mac-1", "mac-3"])
      assert.ok(dockerAnswers(sims[mac]?.path("/Users/ops/.colima/default/docker.sock") as string), `${mac} runs Docker`);
    // and it converges on the next run, once its log can be written.
    spawnSync("umount", [join(logs, "mac-2.log")]);
    const again = await fleet("up", "--stacks", "mac-2");
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.ok(dockerAnswers(sims["mac-2"]?.path("/Users/ops/.colima/default/docker.sock") as string), "mac-2 runs Docker");
  });

  it("a --logs folder another user made (theirs, 0777): refused before any Mac is reached", async () => {
    // The operator names a shared place (`--logs /tmp/fleet`) that another user made first. They
    // own the folder: they may plant each Mac's log before the run (a FIFO without a reader blocks
    // the runner's open, and with it the whole fleet; a file of theirs fails that Mac), and rename
    // or remove the logs after it. So the runner writes logs only in a folder that is the
    // operator's and no one else may write to (provider/lib/mac.ts's rule for folders above it).
    // Before, here (the runner as root, as on many CI machines): all three Macs were previewed,
    // their logs in nobody's folder, mac-1's appended to nobody's planted file, which stays theirs.
    const theirs = join(work, "theirs");
    mkdirSync(theirs);
    chownSync(theirs, NOBODY, NOBODY);
    chmodSync(theirs, 0o777);
    writeFileSync(join(theirs, "mac-1.log"), "planted\n", { mode: 0o666 });
    chownSync(join(theirs, "mac-1.log"), NOBODY, NOBODY);
    const r = await fleet("preview", "--parallel", "3", "--logs", theirs);
    const said = `${r.stdout}\n${r.stderr.slice(-3000)}`;
    assert.notEqual(r.code, 0, said);
    assert.ok(r.stderr.includes(`the fleet's log folder ${theirs} is owned by uid ${NOBODY}, not by you`), said);
    assert.deepEqual(readdirSync(theirs), ["mac-1.log"], "no log written there");
    assert.equal(readFileSync(join(theirs, "mac-1.log"), "utf8"), "planted\n");
  });

  it("`.state/` and its folders 0700, logs and state 0600: another user reads none of it", async () => {
    const r = await fleet("preview");
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const state = join(stack.dir, ".state");
    const logs = /logs in (\S+)/.exec(r.stderr)?.[1] as string;
    assert.ok(logs.startsWith(`${state}/fleet/`), logs);
    const wrong = modes(state).filter(([p, m]) => (statSync(p).isDirectory() ? m !== "700" : (Number.parseInt(m, 8) & 0o077) !== 0));
    assert.deepEqual(wrong, [], "every folder 0700, no file readable by group or others");
    for (const log of readdirSync(logs)) assert.equal((statSync(join(logs, log)).mode & 0o777).toString(8), "600", log);
    const stateFile = (readdirSync(join(state, "backend"), { recursive: true }) as string[]).find((p) => p.endsWith("mac-1.json"));
    assert.ok(stateFile, "mac-1's checkpoint");
    for (const file of [join(state, "backend", stateFile), join(logs, "mac-1.log")]) {
      const read = spawnSync("cat", [file], { uid: NOBODY, gid: NOBODY, encoding: "utf8" });
      assert.notEqual(read.status, 0, `nobody read ${file}`);
      assert.match(read.stderr, /Permission denied/);
    }
    assert.ok(readFileSync(join(logs, "mac-1.log"), "utf8").length > 0);
  });
});
