// Every command of one Mac against a shared PostgreSQL backend (Pulumi's diy PostgreSQL backend,
// test/helpers/postgres.ts), as a team runs them: npm run converge, upgrade, reset and restore
// (scripts/*.sh, as the operator runs them) on a simulated Mac, the state in the database and
// nowhere in the working copy, the database's password only in its password file (PGPASSFILE):
// never in a command's output, the state or the environment of pulumi; a URL that holds a
// password is refused before anything runs.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type PostgresBackend, postgresBackend } from "../helpers/postgres";
import { type CliResult, TestStack } from "../helpers/pulumiStack";
import { testServices } from "../helpers/services";
import { dockerAnswers, mutating, waitFor } from "../helpers/simulatedMac";
import { MacSimulator } from "../simulator/simulator";

const out = (r: CliResult) => r.stdout + r.stderr;
const STACK = "pg-mac";

describe("one Mac's every command on a PostgreSQL backend", { concurrency: false }, () => {
  let backend: PostgresBackend;
  let sim: MacSimulator;
  let stack: TestStack;
  let password: string;
  const socket = () => sim.path("/Users/ops/.colima/default/docker.sock");
  const backups = () => sim.path("/Users/ops/colima-pulse-backups");
  /** A command as the operator runs it; its output never shows the database's password. */
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await stack.script(argv, env, 600_000);
    assert.ok(!out(r).includes(password), `${argv[0]} printed the database's password`);
    return r;
  };

  before(async () => {
    backend = postgresBackend();
    password = (readFileSync(backend.env.PGPASSFILE, "utf8").trim().split(":").pop() as string) || "unset";
    const services = testServices();
    sim = await MacSimulator.create({ dockerTarget: services.dockerHost.replace(/^unix:\/\//, "") });
    stack = await TestStack.create(
      STACK,
      { HOMEBREW_USER: "ops", COLIMA_DISK: "20", RESTART_THROTTLE_SECONDS: "2", smokeImage: services.smokeImage },
      { env: { ...backend.env, COLIMA_PULSE_HOST_ROOT: sim.root, SIM_USER: "ops" } },
    );
  });
  after(async () => {
    await stack?.dispose();
    await sim?.dispose();
    backend?.dispose();
  });

  it("npm run converge: the Mac converged, its state in the database, none in the working copy", async () => {
    const r = await run(["scripts/converge.sh", "--yes"]);
    assert.equal(r.code, 0, out(r));
    assert.ok(dockerAnswers(socket()), "Docker answers");
    assert.ok(
      backend.keys().some((k) => k.endsWith(`/.pulumi/stacks/colima-pulse/${STACK}.json`)),
      backend.keys().join("\n"),
    );
    assert.equal(existsSync(join(stack.dir, ".state/backend/.pulumi")), false, "no state in the working copy's folder backend");
    const clean = await stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, out(clean));
  });

  it("npm run upgrade: the newer lima shown, upgraded, the VM back", async () => {
    sim.publish("lima", "1.2.2");
    const r = await run(["scripts/upgrade.sh", "--yes"]);
    assert.equal(r.code, 0, out(r));
    assert.match(out(r), /brew upgrade as ops: lima 1\.2\.1 -> 1\.2\.2/);
    // Cloned before the upgrade (provider/lib/upgradeClone.ts): the way back.
    assert.deepEqual(
      readdirSync(backups()).map((n) => n.replace(/^\d{8}T\d{6}Z/, "<id>")),
      ["<id>-default-before-upgrade"],
    );
    await waitFor("Docker after the upgrade", () => dockerAnswers(socket()));
  });

  it("npm run reset -- --yes: the profile's state moved into a backup, a fresh VM; npm run restore brings it back", async () => {
    const reset = await run(["scripts/reset.sh", "--yes"]);
    assert.equal(reset.code, 0, out(reset));
    const [backup, ...more] = readdirSync(backups()).filter((n) => !n.endsWith("-before-upgrade"));
    assert.deepEqual(more, [], "one backup (besides the upgrade's clone)");
    await waitFor("Docker after the reset", () => dockerAnswers(socket()));
    const restore = await run(["scripts/restore.sh", join("/Users/ops/colima-pulse-backups", backup as string), "--yes"]);
    assert.equal(restore.code, 0, out(restore));
    assert.match(out(restore), new RegExp(`the profile was restored from \\S*/colima-pulse-backups/${backup}`));
    const after = readdirSync(backups());
    assert.ok(
      after.some((n) => n.endsWith("-default-before-restore")),
      after.join(", "),
    );
    assert.equal(after.includes(backup as string), false, "the backup was moved back");
    await waitFor("Docker after the restore", () => dockerAnswers(socket()));
  });

  it("no lock left; the password in no state; a URL holding a password is refused with nothing run", async () => {
    assert.deepEqual(backend.locks(), []);
    const state = await stack.must(["stack", "export", "--show-secrets"]);
    assert.ok(!state.stdout.includes(password), "the state holds no database password");
    sim.clearRecords();
    const withPassword = backend.env.PULUMI_BACKEND_URL.replace("://colima_pulse@", `://colima_pulse:${password}@`);
    for (const url of [withPassword, `${backend.env.PULUMI_BACKEND_URL}&password=${password}`]) {
      const r = await stack.script(["scripts/converge.sh", "--yes"], { PULUMI_BACKEND_URL: url }, 600_000);
      assert.equal(r.code, 1, out(r));
      assert.match(r.stderr, /error: PULUMI_BACKEND_URL \(environment\) holds a password \(.*\): nothing was run\. Take it out of the URL/);
      assert.ok(!r.stderr.includes(password), "the refusal does not repeat the password");
    }
    assert.deepEqual(mutating(sim.records()), [], "nothing ran on the Mac");
  });
});
