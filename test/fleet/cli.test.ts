// `npm run fleet` (fleet/cli.ts) without a fleet: the command line it accepts and the exact error
// for each mistake, which stack files make the fleet, the tables it prints, and what the command
// itself prints and exits with before any Mac is reached (help, bad usage, no stack matching).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  backupsList,
  fleetStacks,
  macs,
  parseArgs,
  resultsTable,
  selectionNotes,
  selectStacks,
  startLine,
  statusTable,
  summaryLine,
  table,
} from "../../fleet/cli";
import { deniedOf, gatesOf, lastWakeOf, type MacStatus } from "../../fleet/status";

const USAGE = `npm run fleet -- <command> [options]

Commands:
  preview   pulumi preview of every Mac's stack
  up        a preview, then pulumi up, of every Mac whose preview passed
  upgrade   colima, lima, qemu and docker: Homebrew's upgrades on every Mac, as npm run upgrade -- --yes
            on each (this command is the decision, each Mac's own): the preview says what will be
            upgraded, then up where it passed; a rollout, --canary 1 unless given
  refresh   pulumi refresh of every Mac's stack
  status    a table of every Mac: reachable, Docker, supervisor, prune after each start, gates, drift,
            versions, last converge, FileVault; then each Mac's backups (size, age)
  drift     what a refresh would change on every Mac (pulumi refresh --preview-only): nothing is
            saved, no stack lock is taken; exit 0 no drift, 1 drift found, 2 a Mac not checked

Options:
  --stacks <glob>   only the stacks whose name matches (* and ?), e.g. 'mac-0*'; default all of
                    stacks/Pulumi.<name>.yaml
  --shard <i/n>     only shard i of n of those stacks (1 <= i <= n <= 1000), for a CI matrix of n jobs;
                    a stack's shard depends on its name and n alone: adding or removing a Mac moves
                    no other Mac, changing n reshuffles them
  --parallel <N>    Macs at a time, 1 to 64 (default 4)
  --canary <N>      up and upgrade: converge the first N Macs (by name) first, the others only when
                    every one of those passed (its up, with its gates and smoke test); a failed canary
                    stops the rollout, the others are not started, exit 1. upgrade's default is 1;
                    --canary <the number of Macs> upgrades them all at once
  --json            status and drift only: the rows as JSON, for dashboards
  --prom <file>     status only: also write the metrics to <file> in Prometheus's text format,
                    atomically, for node_exporter's textfile collector (its folder must exist)
  --save-plans <dir> preview only: also save each Mac's plan (Pulumi's update plan), what it was made
                    from (digests of its settings and state) and a summary (summary.txt) in <dir>
  --plans <dir>     up only: apply exactly the plans saved there, no new preview; a Mac without a
                    plan, or whose settings or state changed since, is refused with what differs
  --logs <dir>      where each Mac's log goes (default .state/fleet/<time>-<command>)
  --help            this text

Exit code: 0 when every Mac succeeded (status: every Mac reachable), 1 when one did not, 2 for bad usage
(drift: 0 no drift on any Mac, 1 drift on some Mac, 2 a Mac could not be checked, or bad usage).`;

describe("parseArgs", () => {
  it("a command with the defaults: every stack, 4 at a time, no JSON", () => {
    for (const command of ["preview", "up", "refresh", "status"])
      assert.deepEqual(parseArgs([command]), { command, glob: "*", parallel: 4, json: false });
  });

  it("every option, before or after the command", () => {
    assert.deepEqual(parseArgs(["--stacks", "mac-0?", "status", "--parallel", "64", "--json", "--logs", "/tmp/l"]), {
      command: "status",
      glob: "mac-0?",
      parallel: 64,
      json: true,
      logs: "/tmp/l",
    });
    assert.deepEqual(parseArgs(["up", "--parallel", "1"]), { command: "up", glob: "*", parallel: 1, json: false });
  });

  it("drift: the fleet's refresh preview, with --stacks, --parallel, --json and --logs", () => {
    assert.deepEqual(parseArgs(["drift"]), { command: "drift", glob: "*", parallel: 4, json: false });
    assert.deepEqual(parseArgs(["--json", "drift", "--stacks", "mac-0?", "--parallel", "8", "--logs", "/tmp/d"]), {
      command: "drift",
      glob: "mac-0?",
      parallel: 8,
      json: true,
      logs: "/tmp/d",
    });
  });

  it("--help or -h: the help, wherever it stands", () => {
    assert.deepEqual(parseArgs(["--help"]), { help: true });
    assert.deepEqual(parseArgs(["up", "-h"]), { help: true });
    assert.deepEqual(parseArgs(["up", "--help", "--bogus"]), { help: true });
  });

  const errors: [string[], string][] = [
    [[], "no command (command line): give one of preview, up, upgrade, refresh, status, drift"],
    [["--json"], "no command (command line): give one of preview, up, upgrade, refresh, status, drift"],
    [["destroy"], 'command (command line) = "destroy": must be one of preview, up, upgrade, refresh, status, drift'],
    [
      ["up", "preview"],
      '"preview" (command line): unknown option (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [
      ["up", "-p"],
      '"-p" (command line): unknown option (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [
      ["-p"],
      '"-p" (command line): unknown option (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [
      ["-p", "up"],
      '"-p" (command line): unknown option (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [["up-"], 'command (command line) = "up-": must be one of preview, up, upgrade, refresh, status, drift (did you mean up?)'],
    [["previw"], 'command (command line) = "previw": must be one of preview, up, upgrade, refresh, status, drift (did you mean preview?)'],
    [["Status"], 'command (command line) = "Status": must be one of preview, up, upgrade, refresh, status, drift (did you mean status?)'],
    [["refres"], 'command (command line) = "refres": must be one of preview, up, upgrade, refresh, status, drift (did you mean refresh?)'],
    [["drfit"], 'command (command line) = "drfit": must be one of preview, up, upgrade, refresh, status, drift (did you mean drift?)'],
    [["drift", "--parallel", "0"], '--parallel (command line) = "0": must be a whole number from 1 to 64'],
    [["drift", "--stacks", "x$(id)"], '--stacks (command line) = "x$(id)": must be a stack name pattern of letters, digits, _ . - * ?'],
    [["refresh", "--json"], "--json (command line): only with status or drift, not refresh"],
    [
      ["up", "--stack", "mac-*"],
      '"--stack" (command line): unknown option (did you mean --stacks?) (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [
      ["status", "--jsno"],
      '"--jsno" (command line): unknown option (did you mean --json?) (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [
      ["up", "--force"],
      '"--force" (command line): unknown option (allowed: --stacks, --shard, --parallel, --canary, --json, --prom, --save-plans, --plans, --logs, --help)',
    ],
    [["up", "--stacks"], "--stacks (command line) needs a value"],
    [["up", "--stacks", "--json"], "--stacks (command line) needs a value"],
    [["up", "--logs"], "--logs (command line) needs a value"],
    [["up", "--parallel"], "--parallel (command line) needs a value"],
    [["up", "--parallel", "0"], '--parallel (command line) = "0": must be a whole number from 1 to 64'],
    [["up", "--parallel", "65"], '--parallel (command line) = "65": must be a whole number from 1 to 64'],
    [["up", "--parallel", "-1"], '--parallel (command line) = "-1": must be a whole number from 1 to 64'],
    [["up", "--parallel", "4x"], '--parallel (command line) = "4x": must be a whole number from 1 to 64'],
    [["up", "--parallel", "x4"], '--parallel (command line) = "x4": must be a whole number from 1 to 64'],
    [["up", "--parallel", "2.5"], '--parallel (command line) = "2.5": must be a whole number from 1 to 64'],
    [["up", "--json"], "--json (command line): only with status or drift, not up"],
    [["preview", "--json"], "--json (command line): only with status or drift, not preview"],
    [["up", "--stacks", "mac 1"], '--stacks (command line) = "mac 1": must be a stack name pattern of letters, digits, _ . - * ?'],
    [["up", "--stacks", "mac/*"], '--stacks (command line) = "mac/*": must be a stack name pattern of letters, digits, _ . - * ?'],
    [["up", "--stacks", "x$(id)"], '--stacks (command line) = "x$(id)": must be a stack name pattern of letters, digits, _ . - * ?'],
    [["up", "--stacks", "$mac"], '--stacks (command line) = "$mac": must be a stack name pattern of letters, digits, _ . - * ?'],
  ];
  for (const [argv, message] of errors) {
    it(`refuses ${JSON.stringify(argv)}`, () => assert.throws(() => parseArgs(argv), { message }));
  }

  it("a stack pattern of every allowed character", () => {
    assert.equal((parseArgs(["up", "--stacks", "Mac_0.a-*?"]) as { glob: string }).glob, "Mac_0.a-*?");
  });
});

describe("fleetStacks", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function work(files: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-fleet-"));
    dirs.push(dir);
    mkdirSync(join(dir, "stacks"));
    for (const f of files) writeFileSync(join(dir, "stacks", f), "");
    return dir;
  }
  const files = [
    "Pulumi.mac-02.yaml",
    "Pulumi.mac-01.yaml",
    "Pulumi.mac-10.yaml",
    "Pulumi.macx1.yaml",
    "Pulumi.mac.1.yaml",
    "Pulumi.example-mac.yaml",
    "Pulumi.yaml",
    "Pulumi.mac-03.yml",
    "Pulumi.mac-05.yaml.bak",
    "index.ts",
    "xPulumi.mac-04.yaml",
  ];

  it("every stacks/Pulumi.<name>.yaml but the example, sorted", () => {
    assert.deepEqual(fleetStacks(work(files), "*"), ["mac-01", "mac-02", "mac-10", "mac.1", "macx1"]);
  });

  it("* is any run of characters, ? one, a dot only a dot, the whole name", () => {
    const dir = work(files);
    assert.deepEqual(fleetStacks(dir, "mac-0*"), ["mac-01", "mac-02"]);
    assert.deepEqual(fleetStacks(dir, "mac-?0"), ["mac-10"]);
    assert.deepEqual(fleetStacks(dir, "mac-?2"), ["mac-02"]);
    assert.deepEqual(fleetStacks(dir, "mac?1"), ["mac.1", "macx1"]);
    assert.deepEqual(fleetStacks(dir, "mac.1"), ["mac.1"]);
    assert.deepEqual(fleetStacks(dir, "mac"), []);
    assert.deepEqual(fleetStacks(dir, "ac-01"), []);
    assert.deepEqual(fleetStacks(dir, "*-mac"), []);
  });

  it("the example is left out, and said to be when the pattern matched it; no match lists the stacks there are", () => {
    const dir = work(files);
    assert.deepEqual(selectStacks(dir, "*"), {
      stacks: ["mac-01", "mac-02", "mac-10", "mac.1", "macx1"],
      skippedExample: true,
      all: ["mac-01", "mac-02", "mac-10", "mac.1", "macx1"],
    });
    const skipped = "skipped example-mac: stacks/Pulumi.example-mac.yaml is the example stack file, not a Mac";
    assert.deepEqual(selectionNotes("*", selectStacks(dir, "*")), { notes: [skipped] });
    assert.deepEqual(selectionNotes("mac-0*", selectStacks(dir, "mac-0*")), { notes: [] }, "not matched: not said");
    assert.deepEqual(selectionNotes("example-*", selectStacks(dir, "example-*")), {
      notes: [skipped],
      error: '--stacks "example-*": no stack file stacks/Pulumi.<name>.yaml matches; the stacks are: mac-01, mac-02, mac-10, mac.1, macx1',
    });
    assert.deepEqual(selectionNotes("mac-9*", selectStacks(dir, "mac-9*")), {
      notes: [],
      error: '--stacks "mac-9*": no stack file stacks/Pulumi.<name>.yaml matches; the stacks are: mac-01, mac-02, mac-10, mac.1, macx1',
    });
    const onlyExample = work(["Pulumi.example-mac.yaml"]);
    assert.deepEqual(selectionNotes("mac-*", selectStacks(onlyExample, "mac-*")), {
      notes: [],
      error:
        '--stacks "mac-*": no stack file stacks/Pulumi.<name>.yaml matches; there is none yet (copy stacks/Pulumi.example-mac.yaml to stacks/Pulumi.<mac>.yaml)',
    });
  });

  it("no stacks folder: no stacks", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-fleet-"));
    dirs.push(dir);
    assert.deepEqual(fleetStacks(dir, "*"), []);
  });
});

describe("counts", () => {
  it("one Mac, two Macs, in every line that counts them", () => {
    assert.deepEqual([macs(0), macs(1), macs(2)], ["0 Macs", "1 Mac", "2 Macs"]);
    assert.equal(startLine("up", 1, 4, "/l"), "fleet up: 1 Mac, 4 at a time; logs in /l");
    assert.equal(startLine("preview", 3, 2, "/l"), "fleet preview: 3 Macs, 2 at a time; logs in /l");
    const result = (stack: string, ok: boolean) => ({ stack, ok, stage: "up", detail: "", elapsedMs: 1, log: "" });
    assert.equal(summaryLine([result("mac-01", true)], "/l"), "the 1 Mac succeeded");
    assert.equal(summaryLine([result("mac-01", true), result("mac-02", true)], "/l"), "all 2 Macs succeeded");
    assert.equal(summaryLine([result("mac-01", false)], "/l"), "1 of 1 Mac failed: mac-01 (logs: /l)");
    assert.equal(
      summaryLine([result("mac-01", false), result("mac-02", true), result("mac-03", false)], "/l"),
      "2 of 3 Macs failed: mac-01, mac-03 (logs: /l)",
    );
  });
});

describe("the gates' timings a stack recorded", () => {
  const numbers = { socket: 120, qemu: 800, api: 2500, stable: 3100 };
  it("lastGateTimings, with when; a stack of an earlier version: gateTimings; a converged run's text: none", () => {
    assert.deepEqual(gatesOf({ ...numbers, measuredAt: "2026-12-07T08:00:00.000Z" }, "not run in this update: …"), {
      ...numbers,
      measuredAt: "2026-12-07T08:00:00.000Z",
    });
    assert.deepEqual(gatesOf(undefined, numbers), numbers);
    assert.equal(gatesOf(undefined, "not run in this update: …"), undefined);
    assert.equal(gatesOf(undefined, undefined), undefined);
    assert.equal(gatesOf({ socket: 1 }, { qemu: 2 }), undefined);
  });
});

describe("tables", () => {
  it("columns as wide as their widest cell, two spaces apart, a rule, no trailing spaces", () => {
    assert.equal(
      table(
        ["A", "LONGER"],
        [
          ["wide cell", "x"],
          ["b", ""],
        ],
      ),
      ["A          LONGER", "---------  ------", "wide cell  x", "b"].join("\n"),
    );
  });

  it("a short row leaves its missing cells empty; a cell over the limit is cut with …", () => {
    assert.equal(table(["A", "B"], [["1"]]), ["A  B", "-  -", "1"].join("\n"));
    assert.equal(table(["H"], [["abcdef"], ["abcde"]], 5), ["H", "-----", "abcd…", "abcde"].join("\n"));
  });

  it("resultsTable: each Mac's result, stage, time in seconds and detail", () => {
    assert.equal(
      resultsTable([
        { stack: "mac-01", ok: true, stage: "up", detail: "update 2, same 5", elapsedMs: 61_250, log: "/l/mac-01.log" },
        { stack: "mac-02", ok: false, stage: "preview (up not run)", detail: "unreachable", elapsedMs: 40, log: "/l/mac-02.log" },
      ]),
      [
        "MAC     RESULT  STAGE                 TIME   DETAIL",
        "------  ------  --------------------  -----  ----------------",
        "mac-01  ok      up                    61.3s  update 2, same 5",
        "mac-02  FAILED  preview (up not run)  0.0s   unreachable",
      ].join("\n"),
    );
  });

  const row = (over: Partial<MacStatus>): MacStatus => ({
    stack: "mac-01",
    reachable: "yes",
    docker: "28.3.2",
    supervisor: "running",
    prune: "off",
    gates: { socket: 120, qemu: 800, api: 2500, stable: 3100 },
    drift: "none",
    versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.0.2" },
    lastConverge: "2026-11-30T08:00:00Z",
    fileVault: "Off",
    backups: [],
    ...over,
  });

  it("statusTable: what is unknown as -, ? or never; a cell cut at 80 characters", () => {
    const text = statusTable([
      row({
        disk: { dockerUsedBytes: 7_050_000, sizeBytes: 100 * 1024 ** 3 },
        hostFreeBytes: 180.25 * 1024 ** 3,
        power: "autorestart 1, sleep 0, womp 1",
        boot: { toDockerSeconds: 41, toWorkloadsSeconds: 65 },
        otherStarters: { autostarts: ["io.lima-vm.autostart.colima"], stale: ["com.example.old"] },
        denied: ["qemu@10.0.2"],
        lastWake: "2026-11-30T07:00:00Z ~1800s: Docker silent: VM restarted",
      }),
      row({
        stack: "mac-02",
        reachable: "no",
        docker: "",
        gates: undefined,
        versions: { lima: "1.2.1" },
        lastConverge: "",
        drift: "x".repeat(90),
        prune: "images",
        boot: { toDockerSeconds: 3725, notReady: "web (restart always, running, health unhealthy)" },
        otherStarters: { autostarts: [], stale: [] },
      }),
    ]);
    const lines = text.split("\n");
    assert.equal(lines.length, 4);
    const cells = (line: string) => line.split(/ {2,}/);
    assert.deepEqual(cells(lines[0] as string), [
      "MAC",
      "REACHABLE",
      "DOCKER",
      "SUPERVISOR",
      "PRUNE",
      "GATES ms (socket/qemu/api/stable)",
      "DRIFT",
      "COLIMA/LIMA/QEMU",
      "LAST CONVERGE",
      "FILEVAULT",
      "DOCKER DISK (used/size)",
      "MAC FREE",
      "POWER (AC)",
      "BOOT→DOCKER/WORKLOADS",
      "OTHER STARTERS",
      "LAST WAKE",
    ]);
    assert.deepEqual(cells(lines[2] as string), [
      "mac-01",
      "yes",
      "28.3.2",
      "running",
      "off",
      "120/800/2500/3100",
      "none",
      "0.10.3/1.2.1/10.0.2 (denied: qemu@10.0.2)",
      "2026-11-30T08:00:00Z",
      "Off",
      "6.7 MiB/100.0 GiB",
      "180.3 GiB",
      "autorestart 1, sleep 0, womp 1",
      "41s/1m05s",
      "io.lima-vm.autostart.colima, com.example.old (stale)",
      "2026-11-30T07:00:00Z ~1800s: Docker silent: VM restarted",
    ]);
    assert.deepEqual(cells(lines[3] as string), [
      "mac-02",
      "no",
      "-",
      "running",
      "images",
      "-",
      `${"x".repeat(79)}…`,
      "?/1.2.1/?",
      "never",
      "Off",
      "-",
      "-",
      "-",
      "1h02m/not back",
      "none",
      "-",
    ]);
    assert.match(statusTable([row({})]).split("\n")[2] as string, /\s\?\s+-$/, "starters not read: ?");
  });

  it("lastWakeOf: the supervisor's last wake in its log, and what it did", () => {
    const at = (t: string, said: string) => `${t} colima-pulse[812] ${said}`;
    const log = [
      at("2026-11-30T06:00:00Z", "woke after ~40s asleep; the Docker API answers"),
      at("2026-11-30T06:00:01Z", "after the wake: the guest's clock is -40s off the host's"),
      at(
        "2026-11-30T07:00:00Z",
        "woke after ~1800s asleep; the Docker API did not answer (curl: (28) …): restarting the VM now instead of waiting API_HANG_SECONDS (600s; 1 of 5 in a row)",
      ),
      at("2026-11-30T07:00:05Z", "profile default is up"),
    ].join("\n");
    assert.equal(lastWakeOf(log), "2026-11-30T07:00:00Z ~1800s: Docker silent: VM restarted");
    assert.equal(lastWakeOf(log.split("\n").slice(0, 2).join("\n")), "2026-11-30T06:00:00Z ~40s: Docker answered");
    assert.equal(
      lastWakeOf(at("2026-11-30T06:00:00Z", "woke after ~12s asleep, while profile default starts")),
      "2026-11-30T06:00:00Z ~12s: while starting",
    );
    assert.equal(lastWakeOf(at("t", "the Docker API answers at /x.sock")), undefined);
    // Only the supervisor's own lines: a container's output relayed into the log names no wake.
    assert.equal(lastWakeOf("woke after ~99s asleep; the Docker API answers"), undefined);
  });

  it("deniedOf: the installed versions VERSION_DENYLIST names, a Homebrew revision the same release", () => {
    assert.deepEqual(deniedOf("qemu@10.0.2,lima@1.0.0", { colima: "0.10.3", lima: "1.2.1", qemu: "10.0.2_1" }), ["qemu@10.0.2_1"]);
    assert.deepEqual(deniedOf(undefined, { qemu: "10.0.2" }), []);
    assert.deepEqual(deniedOf("qemu@10.0.2", { qemu: undefined }), []);
  });

  it("backupsList: each Mac's backups with size and age, or none", () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    assert.equal(backupsList([row({})], now), "\nbackups: none");
    assert.equal(
      backupsList(
        [
          row({
            backups: [
              { path: "/Users/ops/b/20261130T080000Z-default", bytes: 3 * 1024 ** 3, made: "2026-11-30T08:00:00Z" },
              { path: "/Users/ops/b/20261120T080000Z-default", made: "2026-11-20T08:00:00Z" },
            ],
          }),
          row({ stack: "mac-02" }),
          row({ stack: "mac-03", backups: [{ path: "/b/20261130T115900Z-work", bytes: 10, made: "2026-11-30T11:59:00Z" }] }),
        ],
        now,
      ),
      [
        "",
        "backups (npm run restore -- <folder>):",
        "mac-01:",
        "  /Users/ops/b/20261130T080000Z-default  3.0 GiB  4h old",
        "  /Users/ops/b/20261120T080000Z-default  size unknown  10d old",
        "mac-03:",
        "  /b/20261130T115900Z-work  10 B  60s old",
      ].join("\n"),
    );
  });
});

/** Runs fleet/cli.ts as the program it is under `npm run fleet` (require.main is the module: the
 *  `isMain` argument of Node's CommonJS loader, lib/internal/modules/cjs/loader.js Module._load),
 *  here in this process so that mutation testing sees what it runs; process.exit is caught until
 *  the command exits, stdout and stderr while it loads. */
async function runCli(argv: string[], env: Record<string, string | undefined> = {}) {
  const loader = Module as unknown as {
    _load(request: string, parent: unknown, isMain: boolean): unknown;
    _cache: Record<string, unknown>;
  };
  const file = require.resolve("../../fleet/cli");
  const saved = { argv: process.argv, exit: process.exit, out: process.stdout.write, err: process.stderr.write, main: process.mainModule };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const stdout: string[] = [];
  const stderr: string[] = [];
  try {
    const code = await new Promise<number>((resolve) => {
      process.exit = ((c?: number) => resolve(c ?? 0)) as typeof process.exit;
      process.stdout.write = ((s: string) => stdout.push(s) > 0) as typeof process.stdout.write;
      process.stderr.write = ((s: string) => stderr.push(s) > 0) as typeof process.stderr.write;
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      process.argv = [process.argv[0] as string, file, ...argv];
      delete loader._cache[file];
      try {
        loader._load(file, null, true);
      } finally {
        // What these paths print, they print before main's first await: the output is caught
        // only while the module loads, never a line of the test runner's own.
        process.stdout.write = saved.out;
        process.stderr.write = saved.err;
      }
    });
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    process.argv = saved.argv;
    process.exit = saved.exit;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.mainModule = saved.main;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("npm run fleet, before any Mac is reached", () => {
  const noRoots = { COLIMA_PULSE_FLEET_HOST_ROOTS: undefined };

  it("--help: the help on stdout, exit 0", async () => {
    assert.deepEqual(await runCli(["--help"], noRoots), { code: 0, stdout: `${USAGE}\n`, stderr: "" });
  });

  it("bad usage: the error and the help on stderr, exit 2", async () => {
    assert.deepEqual(await runCli([], noRoots), {
      code: 2,
      stdout: "",
      stderr: `error: no command (command line): give one of preview, up, upgrade, refresh, status, drift\n\n${USAGE}\n`,
    });
    assert.deepEqual(await runCli(["up", "--parallel", "0"], noRoots), {
      code: 2,
      stdout: "",
      stderr: `error: --parallel (command line) = "0": must be a whole number from 1 to 64\n\n${USAGE}\n`,
    });
  });

  it("no stack file matching --stacks: said, exit 2", async () => {
    assert.deepEqual(
      await runCli(["status", "--stacks", "no-such-mac-*"], { COLIMA_PULSE_FLEET_HOST_ROOTS: '{"mac-01": "/sim/mac-01"}' }),
      {
        code: 2,
        stdout: "",
        stderr:
          'error: --stacks "no-such-mac-*": no stack file stacks/Pulumi.<name>.yaml matches; there is none yet (copy stacks/Pulumi.example-mac.yaml to stacks/Pulumi.<mac>.yaml)\n',
      },
    );
    assert.equal((await runCli(["up", "--stacks", "no-such-mac-*"], { COLIMA_PULSE_FLEET_HOST_ROOTS: "" })).code, 2);
    // The checkout's only stack file is the example: skipped, and said once.
    assert.deepEqual(await runCli(["preview", "--stacks", "example-*"], noRoots), {
      code: 2,
      stdout: "",
      stderr:
        "skipped example-mac: stacks/Pulumi.example-mac.yaml is the example stack file, not a Mac\n" +
        'error: --stacks "example-*": no stack file stacks/Pulumi.<name>.yaml matches; there is none yet (copy stacks/Pulumi.example-mac.yaml to stacks/Pulumi.<mac>.yaml)\n',
    });
  });

  it("the simulator's roots (COLIMA_PULSE_FLEET_HOST_ROOTS) must be a JSON object of absolute paths", async () => {
    for (const text of ["{", "null", "5", '"/sim"', '{"mac-01": 5}', '{"mac-01": "sim/mac-01"}', '{"mac-01": "/sim", "mac-02": ""}']) {
      assert.deepEqual(
        await runCli(["status"], { COLIMA_PULSE_FLEET_HOST_ROOTS: text }),
        {
          code: 2,
          stdout: "",
          stderr: `error: COLIMA_PULSE_FLEET_HOST_ROOTS (environment) = ${text}: must be a JSON object of stack name to absolute path\n\n${USAGE}\n`,
        },
        text,
      );
    }
  });
});
