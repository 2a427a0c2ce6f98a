// The Mac's lock against real processes and files: one run drives a Mac at a time, a dead
// holder's lock is taken over, and the steps of one run never wait for each other.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Host } from "../../../provider/lib/host";
import { LOCK_PATH, type LockPace, onMachine, onTheMac } from "../../../provider/lib/machineLock";
import { macRoot as bareMac } from "../../helpers/macRoot";

const macRoot = () => bareMac("cpulse-lock-");

function holdBy(host: Host, owner: { pid: number; command: string; controller?: string }): void {
  const dir = join(host.root, LOCK_PATH);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "owner.json"), JSON.stringify({ ...owner, since: "2026-11-29T00:00:00.000Z" }));
}

function sleeper(): ChildProcess {
  return spawn("sleep", ["60"], { stdio: "ignore" });
}

const ownerOf = (host: Host) => JSON.parse(readFileSync(join(host.root, LOCK_PATH, "owner.json"), "utf8")) as { pid: number };

/** Every try reports while the lock is held (sayEveryMs 0), one try a millisecond after the last. */
const EVERY_TRY: LockPace = { pollMs: 1, sayEveryMs: 0 };

/** Runs `step` on `host` under the lock at `pace`, and waits for its third report: three tries
 *  that found the lock held. Resolves "ran" instead if the step ran first (nothing stopped it). */
function waitingStep(host: Host, pace: LockPace) {
  const said: string[] = [];
  let ran = false;
  let thrice: (v: "tried thrice") => void = () => undefined;
  const tried = new Promise<"tried thrice">((r) => {
    thrice = r;
  });
  const step = onMachine(
    host,
    (m) => {
      said.push(m);
      if (said.length === 3) thrice("tried thrice");
    },
    async () => {
      ran = true;
    },
    pace,
  );
  const first = Promise.race([tried, step.then(() => "ran" as const)]);
  return { said, step, first, ran: () => ran };
}

describe("the Mac's lock", () => {
  it("is taken once for all the concurrent steps of one provider process", async () => {
    const host = macRoot();
    const said: string[] = [];
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        onMachine(
          host,
          (m) => said.push(m),
          async () => n,
        ),
      ),
    );
    assert.deepEqual(results, [1, 2, 3, 4, 5]);
    assert.equal(ownerOf(host).pid, process.pid);
    assert.deepEqual(said, [], "no step waited");
  });

  it("waits for a live holder, says for whom, and takes over when it ends", async () => {
    const host = macRoot();
    const holder = sleeper();
    holdBy(host, { pid: holder.pid as number, command: "sleep 60" });
    const waiting = waitingStep(host, EVERY_TRY);
    assert.equal(await waiting.first, "tried thrice", "the step waits while the holder lives");
    assert.equal(waiting.ran(), false);
    assert.match(
      waiting.said[0] ?? "",
      new RegExp(
        `waiting for another colima-pulse run on this Mac to finish its step \\(pid ${holder.pid}, holding it since 2026-11-29T00:00:00.000Z; waited 0s\\)`,
      ),
    );
    holder.kill("SIGKILL");
    await waiting.step;
    assert.equal(waiting.ran(), true);
    assert.equal(ownerOf(host).pid, process.pid);
  });

  it("takes over at once from a holder that died (kill -9, power cut)", async () => {
    const host = macRoot();
    const gone = sleeper();
    gone.kill("SIGKILL");
    await new Promise((r) => gone.once("exit", r));
    holdBy(host, { pid: gone.pid as number, command: "sleep 60" });
    const said: string[] = [];
    await onMachine(
      host,
      (m) => said.push(m),
      async () => undefined,
    );
    assert.deepEqual(said, []);
    assert.equal(ownerOf(host).pid, process.pid);
  });

  it("takes over from a PID that now belongs to another program (reused after a reboot)", async () => {
    const host = macRoot();
    const other = sleeper();
    try {
      holdBy(host, { pid: other.pid as number, command: "node /opt/pulumi/dynamic-provider/index.js 127.0.0.1:4000" });
      await onMachine(
        host,
        () => undefined,
        async () => undefined,
      );
      assert.equal(ownerOf(host).pid, process.pid);
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("waits for a lock whose owner is still being written, and takes it if nobody ever writes it", async () => {
    // Within its grace (here an hour), a lock without an owner is a holder starting: waited for.
    const starting = macRoot();
    mkdirSync(join(starting.root, LOCK_PATH), { recursive: true });
    const waiting = waitingStep(starting, { ...EVERY_TRY, startingGraceMs: 3_600_000 });
    assert.equal(await waiting.first, "tried thrice", "a starting holder is waited for");
    assert.match(waiting.said[2] ?? "", /to finish its step \(its holder is starting; waited \d+s\)$/);
    rmSync(join(starting.root, LOCK_PATH), { recursive: true }); // that holder ended
    await waiting.step;
    // Past its grace (here 50 ms), nobody will write it: taken over.
    const abandoned = macRoot();
    mkdirSync(join(abandoned.root, LOCK_PATH), { recursive: true });
    const said: string[] = [];
    await onMachine(
      abandoned,
      (m) => said.push(m),
      async () => undefined,
      { ...EVERY_TRY, startingGraceMs: 50 },
    );
    assert.match(said[0] ?? "", /its holder is starting/, "it waited before taking it");
    assert.equal(ownerOf(abandoned).pid, process.pid);
  });

  it("is already held when this process took it through another copy of this code (an earlier version's provider)", async () => {
    const host = macRoot();
    // As that copy wrote it: this very process, alive.
    const command = execFileSync("/bin/ps", ["-o", "command=", "-p", String(process.pid)], { encoding: "utf8" }).trim();
    holdBy(host, { pid: process.pid, command });
    const said: string[] = [];
    assert.equal(
      await onMachine(
        host,
        (m) => said.push(m),
        async () => "ran",
      ),
      "ran",
    );
    assert.deepEqual(said, []);
  });

  it("waits for a holder on another control machine, naming it, since only that machine can tell it is gone", async () => {
    const host = macRoot();
    holdBy(host, { pid: 1, command: "pulumi-resource-pulumi-nodejs", controller: "ops-laptop-2" });
    const waiting = waitingStep(host, EVERY_TRY);
    assert.equal(await waiting.first, "tried thrice", "a live-looking holder elsewhere is waited for");
    assert.equal(waiting.ran(), false);
    assert.match(
      waiting.said[0] ?? "",
      /waiting for another colima-pulse run on this Mac to finish its step \(pid 1 on control machine ops-laptop-2, holding it since/,
    );
    rmSync(join(host.root, LOCK_PATH), { recursive: true });
    await waiting.step;
    assert.equal(waiting.ran(), true);
  });

  it("does not run the step when the lock cannot be made (a step never runs unguarded)", async () => {
    const host = macRoot();
    const noTmp = { ...host, root: join(host.root, "missing") };
    let ran = false;
    await assert.rejects(
      onMachine(
        noTmp,
        () => undefined,
        async () => {
          ran = true;
        },
      ),
      /ENOENT/,
    );
    assert.equal(ran, false);
    assert.equal(existsSync(join(noTmp.root, LOCK_PATH)), false);
  });
});

describe("onTheMac", () => {
  it("an update whose only change is the way to the Mac records it, runs nothing, and says no reason a second time", async () => {
    const calls: string[] = [];
    const provider = onTheMac(() => ({ detailedDiff: { "host.ssh": { kind: "update", inputDiff: true } } }), {
      // The provider's diff says its reasons (the engine called it already): update must not call it again.
      diff: async () => {
        calls.push("diff");
        return { changes: true };
      },
      update: async () => {
        calls.push("update");
        return { outs: {} };
      },
      create: async () => {
        calls.push("create");
        return { id: "id" };
      },
    });
    const olds = { resourceName: "r", host: { root: "/", user: "ops", ssh: { destination: "mac1" } }, cpus: 2 };
    const news = { resourceName: "r", host: { root: "/", user: "ops", ssh: { destination: "mac1.lan" } }, cpus: 2 };
    const r = await provider.update?.("id", olds, news);
    assert.deepEqual(r, { outs: { ...olds, host: news.host } });
    assert.deepEqual(calls, []);
  });
});
