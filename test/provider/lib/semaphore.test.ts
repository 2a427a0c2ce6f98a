// provider/lib/semaphore.ts: what bounds the commands over one SSH connection (provider/lib/mac.ts
// SSH_SESSIONS_PER_CONNECTION) — at once while under the bound, in turn past it, and a failure
// frees its place.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Semaphore } from "../../../provider/lib/semaphore";

/** A call that ends when the test says so. */
function pending<T = string>() {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Semaphore", () => {
  it("a call under the bound starts in the same tick: the serial path waits for nothing", async () => {
    const s = new Semaphore(8);
    let started = false;
    const done = s.run(async () => {
      started = true;
      return "ran";
    });
    assert.equal(started, true, "started before run() returned");
    assert.equal(await done, "ran");
    assert.equal(s.running, 0);
  });

  it("never more than the bound at once; the others start in the order they came, each as one ends", async () => {
    const s = new Semaphore(2);
    const calls = Array.from({ length: 5 }, () => pending());
    const started: number[] = [];
    const results = calls.map((c, i) =>
      s.run(() => {
        started.push(i);
        return c.promise;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(s.running, 2);
    calls[1]?.resolve("one");
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(s.running, 2);
    calls[0]?.resolve("zero");
    calls[2]?.resolve("two");
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    calls[3]?.resolve("three");
    calls[4]?.resolve("four");
    assert.deepEqual(await Promise.all(results), ["zero", "one", "two", "three", "four"]);
    assert.equal(s.running, 0);
  });

  it("a call that fails frees its place and fails its caller", async () => {
    const s = new Semaphore(1);
    const first = pending();
    const failing = s.run(() => first.promise);
    let second = false;
    const next = s.run(async () => {
      second = true;
    });
    await tick();
    assert.equal(second, false, "waits while the first runs");
    first.reject(new Error("connection lost"));
    await assert.rejects(failing, /connection lost/);
    await next;
    assert.equal(second, true);
    assert.equal(s.running, 0);
  });

  it("refuses a bound that is not a whole number of at least 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Semaphore(bad), /not a whole number/);
  });
});
