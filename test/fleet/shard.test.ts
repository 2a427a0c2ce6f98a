// `--shard i/n` (fleet/shard.ts): which stacks a CI matrix job drives. Deterministic, every stack
// in exactly one shard, roughly balanced, and stable: adding Macs never moves an existing one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseArgs, shardNote } from "../../fleet/cli";
import { inShard, parseShard, shardOf } from "../../fleet/shard";

const names = (n: number, prefix = "mac-") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

describe("shardOf", () => {
  it("is deterministic: the same name and count give the same shard, here and in a fixed value", () => {
    for (const s of names(50)) assert.equal(shardOf(s, 7), shardOf(s, 7));
    // Pinned so a change of the hash (which would move every Mac between CI jobs) shows here.
    assert.deepEqual(
      ["mac-01", "mac-02", "mac-03", "build-a"].map((s) => shardOf(s, 4)),
      [4, 2, 2, 3],
    );
    assert.equal(shardOf("anything", 1), 1);
  });

  it("every stack falls in exactly one shard, and the shards together are the selection, in its order", () => {
    const all = names(200);
    for (const count of [1, 2, 3, 4, 16]) {
      const shards = Array.from({ length: count }, (_, i) => inShard(all, { index: i + 1, count }));
      assert.equal(
        shards.reduce((n, s) => n + s.length, 0),
        all.length,
        `n=${count}`,
      );
      assert.deepEqual(shards.flat().sort(), all, `n=${count}`);
      for (const s of shards) assert.deepEqual(s, [...s].sort(), "kept in the selection's order");
    }
  });

  it("roughly balanced: 1000 names over 4 shards, each 200 to 300", () => {
    const all = names(1000);
    for (let i = 1; i <= 4; i++) {
      const n = inShard(all, { index: i, count: 4 }).length;
      assert.ok(n >= 200 && n <= 300, `shard ${i}/4 has ${n}`);
    }
  });

  it("stable: adding Macs (more of them, other names) never moves an existing one", () => {
    const before = names(300);
    const added = [...before, ...names(300, "new-"), ...names(50, "zz")];
    for (const count of [2, 4, 10])
      for (let i = 1; i <= count; i++) {
        const was = inShard(before, { index: i, count });
        const now = inShard(added, { index: i, count });
        assert.deepEqual(
          now.filter((s) => before.includes(s)),
          was,
          `shard ${i}/${count}`,
        );
      }
  });
});

describe("parseShard and --shard", () => {
  it("i/n whole numbers, 1 <= i <= n <= 1000", () => {
    assert.deepEqual(parseShard("1/1"), { index: 1, count: 1 });
    assert.deepEqual(parseShard("3/4"), { index: 3, count: 4 });
    assert.deepEqual(parseShard("1000/1000"), { index: 1000, count: 1000 });
    assert.deepEqual(parseArgs(["up", "--shard", "2/4"]), {
      command: "up",
      glob: "*",
      parallel: 4,
      json: false,
      shard: { index: 2, count: 4 },
    });
    assert.deepEqual(parseArgs(["--shard", "1/2", "status", "--stacks", "mac-*"]), {
      command: "status",
      glob: "mac-*",
      parallel: 4,
      json: false,
      shard: { index: 1, count: 2 },
    });
  });

  for (const v of [
    "0/4",
    "5/4",
    "1/0",
    "0/0",
    "1/1001",
    "2",
    "2/",
    "/4",
    "a/4",
    "2/b",
    "1.5/4",
    "-1/4",
    "2/4/8",
    " 2/4",
    "2 /4",
    "1e1/20",
  ]) {
    it(`refuses --shard ${JSON.stringify(v)}`, () => {
      const message = `--shard (command line) = ${JSON.stringify(v)}: must be i/n, whole numbers with 1 <= i <= n <= 1000 (e.g. 2/4)`;
      assert.throws(() => parseShard(v), { message });
      assert.throws(() => parseArgs(["up", "--shard", v]), { message });
    });
  }

  it("refuses --shard without a value", () => {
    assert.throws(() => parseArgs(["up", "--shard"]), { message: "--shard (command line) needs a value" });
    assert.throws(() => parseArgs(["up", "--shard", "--json"]), { message: "--shard (command line) needs a value" });
  });

  it("says which stacks fall in the shard, or that none does (the command then exits 0)", () => {
    assert.equal(shardNote({ index: 2, count: 4 }, 3, ["mac-b"]), "shard 2/4: 1 Mac of the 3 selected: mac-b");
    assert.equal(shardNote({ index: 1, count: 4 }, 5, ["mac-a", "mac-c"]), "shard 1/4: 2 Macs of the 5 selected: mac-a, mac-c");
    assert.equal(shardNote({ index: 3, count: 4 }, 1, []), "shard 3/4: none of the 1 Mac selected falls in this shard; nothing to do");
  });
});
