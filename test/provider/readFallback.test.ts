// provider/lib/mac.ts's reads for an operator who is not the Homebrew user, on a simulated Mac that
// refuses that operator what macOS refuses them (test/simulator/README.md "Reads"): LocalMac's
// direct read fails with EACCES, the command as the operator says `Permission denied`, and the read
// is asked again as the Homebrew user (`sudo -n -u ops`). Real processes and files, no engine.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { macOf } from "../../provider/lib/mac";
import { testServices } from "../helpers/services";
import { enforceReadPermissions } from "../simulator/connectCheck";
import { MacSimulator } from "../simulator/simulator";

describe("reads the operator may not make are made as the Homebrew user", { concurrency: false }, () => {
  let sim: MacSimulator;
  let undo: () => void;
  const was = process.env.SIM_USER;
  const ops = (p: string) => sim.path(`/Users/ops${p}`);
  const lima = () => ops("/.colima/_lima/colima");
  const mac = () => macOf({ root: sim.root, user: "ops" });
  /** The Mac as `user` runs it (a Mac object asks `id -un` once: a new one for each user). */
  const as = (user: string) => {
    process.env.SIM_USER = user;
    (globalThis as { __colimaPulseMacs?: Map<string, unknown> }).__colimaPulseMacs?.clear();
  };

  before(async () => {
    sim = await MacSimulator.create({
      dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
      // The Homebrew user, and an admin who converges this Mac (passwordless sudo).
      users: { ops: { uid: 501, gid: 20, admin: false, sudo: "none" }, admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" } },
    });
    // As Lima leaves an instance: a folder only its user may enter (0700).
    mkdirSync(lima(), { recursive: true });
    chmodSync(lima(), 0o700);
    writeFileSync(`${lima()}/ha.stderr.log`, "one\ntwo\nthree\n");
    writeFileSync(`${lima()}/disk`, "x".repeat(64 * 1024));
    symlinkSync(`${lima()}/disk`, `${lima()}/link`);
    writeFileSync(ops("/.colima/secret"), "s\n", { mode: 0o600 });
    as("admin");
    undo = enforceReadPermissions(sim.root);
  });
  after(async () => {
    undo?.();
    if (was === undefined) delete process.env.SIM_USER;
    else process.env.SIM_USER = was;
    (globalThis as { __colimaPulseMacs?: Map<string, unknown> }).__colimaPulseMacs?.clear();
    await sim?.dispose();
  });

  it("readFile, tail, listDir, diskUsage: the Homebrew user's answer, the operator's own try refused first", async () => {
    sim.clearRecords();
    assert.equal(await mac().readFile(ops("/.colima/secret")), "s\n");
    assert.equal(await mac().readFile(`${lima()}/ha.stderr.log`), "one\ntwo\nthree\n");
    assert.equal(await mac().tail(`${lima()}/ha.stderr.log`, 2), "two\nthree");
    assert.deepEqual((await mac().listDir(lima())).sort(), ["disk", "ha.stderr.log", "link"]);
    const asked = sim.records().filter((r) => r.tool === "sudo" && r.exit === 0);
    assert.equal(asked.length, 4, "each read asked again through sudo -n -u ops");
    for (const r of asked) assert.deepEqual(r.argv.slice(0, 4), ["-n", "-u", "ops", "-H"]);
    as("ops");
    const theirs = await mac().diskUsage(ops("/.colima"));
    as("admin");
    assert.ok((theirs ?? 0) >= 64 * 1024, String(theirs));
    assert.equal(await mac().diskUsage(ops("/.colima")), theirs, "du's partial total is not taken");
  });

  it("exists, isSocket behind a folder the operator may not search (~/Library, drwx------): the Homebrew user's answer", async () => {
    // provider/lib/survey.ts looks for `brew services`' agent in the Homebrew user's LaunchAgents.
    const agent = ops("/Library/LaunchAgents/homebrew.mxcl.colima.plist");
    writeFileSync(agent, "<plist/>\n");
    assert.equal(await mac().exists(agent), true);
    assert.equal(await mac().exists(ops("/Library/LaunchAgents/absent.plist")), false);
    assert.equal(await mac().isSocket(agent), false);
    assert.equal(await mac().exists(`${lima()}/link`), true);
  });

  it("a missing file is not asked again", async () => {
    sim.clearRecords();
    assert.equal(await mac().readFile(ops("/.colima/absent")), undefined);
    assert.equal(sim.records().filter((r) => r.tool === "sudo").length, 0);
  });
});
