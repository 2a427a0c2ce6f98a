// A profile's backups, known by their names (provider/lib/backups.ts): which folders are backups
// of which profile, when each was made, the listing `npm run fleet -- status` prints, and the
// size and age it shows.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backupsText, formatAge, formatSize, isBackupOf, listBackups, madeAt } from "../../../provider/lib/backups";
import type { Mac } from "../../../provider/lib/mac";

describe("isBackupOf", () => {
  it("a full reset's <id>-<profile> and a restore's <id>-<profile>-before-restore", () => {
    assert.equal(isBackupOf("20261130T080000Z-default", "default"), true);
    assert.equal(isBackupOf("20261130T080000Z-default-before-restore", "default"), true);
  });

  it("an upgrade's clone, <id>-<profile>-before-upgrade; not another profile's", () => {
    assert.equal(isBackupOf("20261130T080000Z-default-before-upgrade", "default"), true);
    assert.equal(isBackupOf("20261130T080000Z-work-before-upgrade", "default"), false);
    assert.equal(isBackupOf("20261130T080000Z-default-before-upgrade-2", "default"), false);
  });

  it("not another profile's, not a longer name, not a malformed time", () => {
    for (const name of [
      "20261130T080000Z-work",
      "20261130T080000Z-default-x",
      "20261130T080000Z-default-before-restore-2",
      "20261130T080000Z-",
      "2026113T080000Z-default",
      "20261130T08000Z-default",
      "20261130-080000Z-default",
      "20261130T080000-default",
      "20261130T080000Zdefault",
      "x20261130T080000Z-default",
    ])
      assert.equal(isBackupOf(name, "default"), false, name);
  });

  it("the time is the start of the name, not anywhere in it", () => {
    // 17 characters, then a profile that itself looks like a backup name.
    assert.equal(isBackupOf("abcdefghijklmnopq20261130T080000Z-x", "20261130T080000Z-x"), false);
  });
});

describe("madeAt", () => {
  it("the time a backup's name starts with, ISO", () => {
    assert.equal(madeAt("20261130T081502Z-default"), "2026-11-30T08:15:02Z");
    assert.equal(madeAt("19991231T235959Z-default-before-restore"), "1999-12-31T23:59:59Z");
  });

  it("no time at the start: empty", () => {
    for (const name of ["default", "x20261130T081502Z-default", "2026113aT081502Z-default", "20261130T08150Z-default", "20261130 081502Z"])
      assert.equal(madeAt(name), "", name);
  });
});

describe("listBackups", () => {
  /** A Mac with one folder of `names`; du knows `sizes` (a rejection for the others). */
  function mac(names: string[], sizes: Record<string, number> = {}) {
    const asked: string[] = [];
    const du: string[] = [];
    const m = {
      listDir: async (dir: string) => {
        asked.push(dir);
        return names;
      },
      diskUsage: async (path: string) => {
        du.push(path);
        const size = sizes[path];
        if (size === undefined) throw new Error("du: permission denied");
        return size;
      },
    };
    return { mac: m as unknown as Mac, asked, du };
  }
  const names = [
    "20261128T090000Z-default",
    "notes.txt",
    "20261130T080000Z-default-before-restore",
    "20261129T100000Z-work",
    "20261129T120000Z-default",
  ];

  it("the profile's backups, newest first, with path and time; no sizes unless asked", async () => {
    const m = mac(names);
    assert.deepEqual(await listBackups(m.mac, "/Users/ops/backups//", "default"), [
      {
        name: "20261130T080000Z-default-before-restore",
        path: "/Users/ops/backups/20261130T080000Z-default-before-restore",
        made: "2026-11-30T08:00:00Z",
        bytes: undefined,
      },
      {
        name: "20261129T120000Z-default",
        path: "/Users/ops/backups/20261129T120000Z-default",
        made: "2026-11-29T12:00:00Z",
        bytes: undefined,
      },
      {
        name: "20261128T090000Z-default",
        path: "/Users/ops/backups/20261128T090000Z-default",
        made: "2026-11-28T09:00:00Z",
        bytes: undefined,
      },
    ]);
    assert.deepEqual(m.asked, ["/Users/ops/backups//"]);
    assert.deepEqual(m.du, []);
  });

  it("with sizes: du's for each, undefined where du failed", async () => {
    const m = mac(names, { "/b/20261129T120000Z-default": 4096 });
    const list = await listBackups(m.mac, "/b", "default", true);
    assert.deepEqual(
      list.map((b) => [b.name, b.bytes]),
      [
        ["20261130T080000Z-default-before-restore", undefined],
        ["20261129T120000Z-default", 4096],
        ["20261128T090000Z-default", undefined],
      ],
    );
    assert.deepEqual(m.du.sort(), [
      "/b/20261128T090000Z-default",
      "/b/20261129T120000Z-default",
      "/b/20261130T080000Z-default-before-restore",
    ]);
  });

  it("none: an empty list", async () => {
    assert.deepEqual(await listBackups(mac(["20261129T100000Z-work"]).mac, "/b", "default"), []);
  });
});

describe("backupsText", () => {
  it("a refused restore's list: the profile's backups newest first, size and age; or that there is none", async () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    const m = {
      listDir: async () => ["20261128T090000Z-default", "notes.txt", "20261130T080000Z-default-before-restore", "20261129T100000Z-work"],
      diskUsage: async (path: string) => {
        if (path.endsWith("before-restore")) return 3 * 1024 ** 3;
        throw new Error("du: permission denied");
      },
    } as unknown as Mac;
    assert.equal(
      await backupsText(m, "/Users/ops/b", "default", now),
      [
        "backups of profile default in /Users/ops/b, newest first (npm run restore -- <folder>):",
        "  /Users/ops/b/20261130T080000Z-default-before-restore  3.0 GiB  4h old",
        "  /Users/ops/b/20261128T090000Z-default  size unknown  2d old",
      ].join("\n"),
    );
    assert.equal(await backupsText(m, "/Users/ops/b", "other", now), "no backups of profile other in /Users/ops/b");
    const unreadable = { listDir: async () => Promise.reject(new Error("ls: permission denied")) } as unknown as Mac;
    assert.equal(await backupsText(unreadable, "/Users/ops/b", "default", now), "no backups of profile default in /Users/ops/b");
  });
});

describe("formatSize", () => {
  it("bytes whole, larger units to one decimal, up to TiB", () => {
    const cases: [number | undefined, string][] = [
      [undefined, "size unknown"],
      [0, "0 B"],
      [1023, "1023 B"],
      [1024, "1.0 KiB"],
      [1536, "1.5 KiB"],
      [1024 ** 2 - 1, "1024.0 KiB"],
      [1024 ** 2, "1.0 MiB"],
      [3.25 * 1024 ** 3, "3.3 GiB"],
      [1024 ** 4, "1.0 TiB"],
      [2048 * 1024 ** 4, "2048.0 TiB"],
    ];
    for (const [bytes, text] of cases) assert.equal(formatSize(bytes), text, String(bytes));
  });
});

describe("formatAge", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

  it("seconds under 2 minutes, minutes under 2 hours, hours under 2 days, then days", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [1, "1s"],
      [119, "119s"],
      [120, "2m"],
      [149, "2m"],
      [150, "3m"],
      [7199, "120m"],
      [7200, "2h"],
      [2 * 86400 - 1, "48h"],
      [2 * 86400, "2d"],
      [10 * 86400 + 43200, "11d"],
    ];
    for (const [seconds, text] of cases) assert.equal(formatAge(ago(seconds), now), text, String(seconds));
  });

  it("rounds to the nearest second; a time in the future is 0s; no time is unknown", () => {
    assert.equal(formatAge(new Date(now - 1499).toISOString(), now), "1s");
    assert.equal(formatAge(new Date(now - 1500).toISOString(), now), "2s");
    assert.equal(formatAge(ago(-3600), now), "0s");
    assert.equal(formatAge("", now), "age unknown");
    assert.equal(formatAge("yesterday", now), "age unknown");
  });

  it("measures from now by default", () => {
    assert.equal(formatAge(new Date(Date.now() - 3 * 86400 * 1000).toISOString()), "3d");
  });
});
