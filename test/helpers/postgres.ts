// The shared backend of the fleet tests: Pulumi's diy PostgreSQL backend (pkg/backend/diy/postgres
// in pulumi/pulumi) on the test services' PostgreSQL (test/services/services.sh). Every backend
// here is a table of its own (the URL's `table=` parameter), so test files never see each other's
// stacks; the password comes from libpq's password file (PGPASSFILE), never from the URL.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface PostgresBackend {
  /** PULUMI_BACKEND_URL and PGPASSFILE, for every pulumi command on this backend. */
  env: { PULUMI_BACKEND_URL: string; PGPASSFILE: string };
  /** The table's keys (the backend's "files"): `<db>/.pulumi/stacks/…`, `<db>/.pulumi/locks/…`. */
  keys(): string[];
  /** The stack locks held right now (the keys under .pulumi/locks). */
  locks(): string[];
  /** Drops the table. */
  dispose(): void;
}

export function postgresBackend(): PostgresBackend {
  const url = process.env.TEST_POSTGRES_URL;
  const passfile = process.env.TEST_PGPASSFILE;
  if (!url || !passfile)
    throw new Error("TEST_POSTGRES_URL and TEST_PGPASSFILE are not set: test/services/services.sh sets them, which `npm test` starts");
  const table = `pulumi_${randomBytes(6).toString("hex")}`;
  const sql = (statement: string): string => {
    const { hostname, port, username, pathname } = new URL(url);
    const r = spawnSync(
      "psql",
      [
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        hostname,
        "-p",
        port,
        "-U",
        username,
        "-d",
        pathname.slice(1),
        "-c",
        statement,
      ],
      { encoding: "utf8", env: { ...process.env, PGPASSFILE: passfile } },
    );
    if (r.status !== 0) throw new Error(`psql ${statement}: ${r.stderr}`);
    return r.stdout;
  };
  const keys = (): string[] => {
    const exists = sql(`SELECT to_regclass('${table}') IS NOT NULL`).trim() === "t";
    return exists ? sql(`SELECT key FROM ${table} ORDER BY key`).split("\n").filter(Boolean) : [];
  };
  return {
    env: { PULUMI_BACKEND_URL: `${url}&table=${table}`, PGPASSFILE: passfile },
    keys,
    locks: () => keys().filter((k) => k.includes("/.pulumi/locks/")),
    dispose: () => void sql(`DROP TABLE IF EXISTS ${table}`),
  };
}
