// Two control machines on one shared backend: Pulumi's diy PostgreSQL backend on the test services'
// PostgreSQL (test/helpers/postgres.ts), two working copies of the project (two checkouts), each
// running `npm run fleet` as its own process, over three simulated Macs behind a real sshd.
// Runner A holds ab-mac (its `up` has the stack's lock, and waits on the Mac for a step of a third
// control machine) while runner B drives ab-mac and b-mac: B leaves ab-mac to A, naming A, converges
// b-mac, and exits 1; A then converges both of its Macs. Every stack is updated once.
// Then saved plans (fleet/plans.ts): `preview --save-plans` on every Mac, `up --plans` applies the
// plan where the Mac is what its plan was made from, and refuses a Mac whose settings changed since
// and one whose state changed since (an up outside the fleet), running nothing on either. Last,
// on the same backend: `status --shard i/2 --prom` (each shard's Macs, every Mac once, each file
// passing Prometheus's `promtool check metrics`) and a canary out of reach stopping `up --canary`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inShard } from "../../fleet/shard";
import { LOCK_PATH } from "../../provider/lib/machineLock";
import { closedPort } from "../helpers/closedPort";
import { type PostgresBackend, postgresBackend } from "../helpers/postgres";
import type { TestStack } from "../helpers/pulumiStack";
import { waitFor } from "../helpers/simulatedMac";
import { SshFleet } from "../helpers/sshFleet";

const MACS = ["a-mac", "ab-mac", "b-mac"] as const;

describe("two fleet runners on one PostgreSQL backend", { concurrency: false }, () => {
  let backend: PostgresBackend;
  let fleetOf: SshFleet;
  let copyA: TestStack;
  let copyB: TestStack;
  const fleet = (copy: TestStack, ...args: string[]) => copy.script(["scripts/fleet.sh", ...args], fleetOf.env, 600_000);
  const row = (stdout: string, mac: string) => stdout.split("\n").find((l) => l.startsWith(`${mac} `)) ?? "";
  const updates = async (mac: string) => {
    const r = await copyA.must(["stack", "history", "--stack", mac, "--json"]);
    return (JSON.parse(r.stdout) as { kind: string; result: string }[]).filter((u) => u.kind === "update");
  };

  before(async () => {
    backend = postgresBackend();
    fleetOf = await SshFleet.create(MACS, () => ({}), backend.env);
    copyA = fleetOf.stack;
    copyB = copyA.workingCopy();
  });
  after(async () => {
    copyB?.forget();
    await fleetOf?.dispose();
    backend?.dispose();
  });

  it("the stacks live in PostgreSQL, not in the working copies", () => {
    const stacks = backend.keys().filter((k) => /\/\.pulumi\/stacks\/colima-pulse\/[^/]+\.json$/.test(k));
    assert.deepEqual(
      stacks.map((k) => k.split("/").pop()).sort(),
      MACS.map((m) => `${m}.json`),
    );
  });

  it("a stack another runner holds is left to it, named; the rest goes on; exit 1; no stack driven twice", async () => {
    // A step of a third control machine on ab-mac (its lock on the Mac, provider/lib/machineLock.ts):
    // A's up of ab-mac takes the stack's lock in the backend, then waits on the Mac until it is let go.
    const lock = fleetOf.sims["ab-mac"]?.path(LOCK_PATH) as string;
    mkdirSync(dirname(lock), { recursive: true, mode: 0o755 });
    mkdirSync(lock, { mode: 0o755 });
    const since = new Date().toISOString();
    writeFileSync(
      `${lock}/owner.json`,
      JSON.stringify({ pid: 4242, command: "pulumi-resource-pulumi-nodejs", since, controller: "ci-elsewhere.example" }),
    );
    const runA = fleet(copyA, "up", "--stacks", "a*", "--parallel", "2");
    try {
      await waitFor("runner A to hold ab-mac's stack lock", () => backend.locks().some((k) => k.includes("/ab-mac/")), 300_000);
      const b = await fleet(copyB, "up", "--stacks", "*b-mac", "--parallel", "2");
      assert.equal(b.code, 1, `${b.stdout}\n${b.stderr}`);
      const holder = `root@${hostname()} \\(pid \\d+\\) since \\S+`;
      assert.match(
        row(b.stdout, "ab-mac"),
        new RegExp(`^ab-mac\\s+skipped\\s+up \\(held\\)\\s+\\S+\\s+held by another run: ${holder}; not run here$`),
      );
      assert.match(row(b.stdout, "b-mac"), /^b-mac\s+ok\s+up\s+/);
      assert.match(
        b.stdout,
        new RegExp(`\\n1 of 2 Macs held by another run, not run here: ab-mac \\(held by ${holder}\\) \\(logs: .*\\)\\n$`),
      );
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    const a = await runA;
    assert.equal(a.code, 0, `${a.stdout}\n${a.stderr}`);
    for (const mac of ["a-mac", "ab-mac"]) assert.match(row(a.stdout, mac), new RegExp(`^${mac}\\s+ok\\s+up\\s+`));
    assert.match(a.stdout, /\nall 2 Macs succeeded\n$/);
    for (const mac of MACS)
      assert.deepEqual(
        (await updates(mac)).map((u) => u.result),
        ["succeeded"],
        mac,
      );
    assert.deepEqual(backend.locks(), [], "no stack lock left");
  });

  it("saved plans: applied where nothing changed; a Mac whose settings or state changed is refused, nothing run on it", async () => {
    const plans = join(mkdtempSync(join(tmpdir(), "cpulse-plans-")), "approved");
    try {
      for (const mac of MACS) await copyA.must(["config", "set", "--stack", mac, "LOG_ROTATE_COUNT", "7"]);
      const preview = await fleet(copyA, "preview", "--save-plans", plans);
      assert.equal(preview.code, 0, `${preview.stdout}\n${preview.stderr}`);
      assert.match(
        preview.stdout,
        new RegExp(`plans saved in ${plans} \\(summary.txt\\); apply exactly these: npm run fleet -- up --plans ${plans}\\n$`),
      );
      assert.equal(statSync(plans).mode & 0o777, 0o700);
      for (const mac of MACS) {
        assert.equal(statSync(join(plans, `${mac}.fingerprint.json`)).mode & 0o777, 0o600, mac);
        assert.ok(statSync(join(plans, `${mac}.plan.json`)).size > 0, mac);
      }
      assert.match(
        readFileSync(join(plans, "summary.txt"), "utf8"),
        /\na-mac: same \d+, update 1\nab-mac: same \d+, update 1\nb-mac: same \d+, update 1\n$/,
      );
      // After the approval: b-mac's settings change; a-mac is updated outside the fleet (another
      // setting, then back), so its settings are the plan's again but its state is not.
      await copyA.must(["config", "set", "--stack", "b-mac", "LOG_ROTATE_COUNT", "8"]);
      await copyA.must(["config", "set", "--stack", "a-mac", "LOG_ROTATE_COUNT", "9"]);
      const aRoot = JSON.parse(fleetOf.env.COLIMA_PULSE_FLEET_HOST_ROOTS as string)["a-mac"] as string;
      const outside = await copyA.cli(["up", "--yes", "--skip-preview", "--stack", "a-mac"], 300_000, { COLIMA_PULSE_HOST_ROOT: aRoot });
      assert.equal(outside.code, 0, `${outside.stdout}\n${outside.stderr}`);
      await copyA.must(["config", "set", "--stack", "a-mac", "LOG_ROTATE_COUNT", "7"]);
      const before = Object.fromEntries(await Promise.all(MACS.map(async (m) => [m, (await updates(m)).length] as const)));

      // B applies what A approved (the plans folder handed over), from its checkout of the same
      // settings (the stack files are the repository's: a pull).
      for (const mac of MACS)
        copyFileSync(join(copyA.dir, "stacks", `Pulumi.${mac}.yaml`), join(copyB.dir, "stacks", `Pulumi.${mac}.yaml`));
      const up = await fleet(copyB, "up", "--plans", plans);
      assert.equal(up.code, 1, `${up.stdout}\n${up.stderr}`);
      assert.match(row(up.stdout, "ab-mac"), /^ab-mac\s+ok\s+up \(plan\)\s+\S+\s+same \d+, update 1$/);
      assert.match(
        row(up.stdout, "b-mac"),
        /^b-mac\s+FAILED\s+plan \(up not run\)\s+\S+\s+changed since its plan was saved \(\S+\): settings: colima-pulse:LOG_ROTATE_COUNT changed; nothing was run\. Preview it again: npm run fleet -- preview --save-plans /,
      );
      assert.match(
        row(up.stdout, "a-mac"),
        /^a-mac\s+FAILED\s+plan \(up not run\)\s+\S+\s+changed since its plan was saved \(\S+\): state \(an up, refresh or import ran since\): .*log-rotation.*; nothing was run\./,
      );
      const after = Object.fromEntries(await Promise.all(MACS.map(async (m) => [m, (await updates(m)).length] as const)));
      assert.deepEqual(after, { ...before, "ab-mac": (before["ab-mac"] as number) + 1 }, "only ab-mac was updated");

      const misuse = await fleet(copyB, "preview", "--plans", plans);
      assert.equal(misuse.code, 2);
      assert.match(misuse.stderr, /error: --plans \(command line\): only with up \(it applies saved plans\), not preview/);
    } finally {
      rmSync(dirname(plans), { recursive: true, force: true });
    }
  });

  it("--shard i/2 with --prom: each shard its Macs, every Mac once, promtool passes; a failed canary stops the rollout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-prom-"));
    try {
      const seen: string[] = [];
      for (const index of [1, 2]) {
        const prom = join(dir, `shard-${index}.prom`);
        const r = await fleet(copyB, "status", "--shard", `${index}/2`, "--prom", prom);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        const mine = inShard([...MACS], { index, count: 2 });
        const rows = MACS.filter((m) => row(r.stdout, m) !== "");
        assert.deepEqual(rows, mine, r.stdout);
        seen.push(...rows);
        const check = spawnSync("promtool", ["check", "metrics"], { input: readFileSync(prom), encoding: "utf8" });
        assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
        for (const mac of mine) assert.match(readFileSync(prom, "utf8"), new RegExp(`colima_pulse_reachable\\{stack="${mac}"\\} 1\\n`));
      }
      assert.deepEqual(seen.sort(), [...MACS]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // a-mac, first by name, out of reach: the canary fails, the others are not started.
    const closed = await closedPort();
    await copyA.must(["config", "set", "--stack", "a-mac", "SSH_PORT", String(closed)]);
    const r = await fleet(copyA, "up", "--canary", "1", "--parallel", "3");
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(row(r.stdout, "a-mac"), /^a-mac\s+FAILED\s+preview \(up not run\)\s+.*Connection refused/);
    for (const mac of ["ab-mac", "b-mac"])
      assert.match(row(r.stdout, mac), /\s+skipped\s+not started\s+0\.0s\s+skipped \(canary failed\)$/);
    assert.match(r.stdout, /\nrollout stopped: canary a-mac failed; 2 Macs not started \(logs: .*\)\n$/);
  });
});
