// fleet/metrics.ts: status rows as Prometheus's text exposition format, checked by Prometheus's own
// `promtool check metrics` (Debian's prometheus package; scripts/test.sh installs it), which parses
// the file as the textfile collector does and lints the names. What is not known is left out
// (never 0), label values are escaped, every family has its HELP and TYPE, secrets stay out, and
// the file is replaced in one step.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseArgs } from "../../fleet/cli";
import { escapeLabelValue, FAMILIES, PREFIX, promPath, renderMetrics, writeAtomically } from "../../fleet/metrics";
import { redactDeep, redactor, secretTexts } from "../../fleet/redact";
import { emptyRow, type MacStatus } from "../../fleet/status";

const AT = new Date("2026-12-07T12:00:00.000Z");

/** A Mac that answered: every metric known. */
function healthy(over: Partial<MacStatus> = {}): MacStatus {
  return {
    ...emptyRow("mac-01"),
    reachable: "yes",
    docker: "28.3.2",
    supervisor: "running",
    supervisorState: { state: "running", failedStarts: 0, hungApiRestarts: 0 },
    prune: "off",
    gates: { socket: 120, qemu: 800, api: 2500, stable: 3100, measuredAt: "2026-12-07T11:00:00.000Z" },
    drift: "none",
    versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.0.2" },
    lastConverge: "2026-12-07T11:00:05.000Z",
    fileVault: "Off",
    backups: [
      { path: "/Users/ops/colima-backups/20261206T100000Z-default", bytes: 2048, made: "2026-12-06T10:00:00Z" },
      { path: "/Users/ops/colima-backups/20261201T100000Z-default", bytes: 1024, made: "2026-12-01T10:00:00Z" },
    ],
    disk: { dockerUsedBytes: 7_050_000, sizeBytes: 100 * 1024 ** 3 },
    hostFreeBytes: 200 * 1024 ** 3,
    boot: { toDockerSeconds: 41, toWorkloadsSeconds: 47 },
    ...over,
  };
}

/** A Mac out of reach, never converged. */
const unreachable = (stack: string): MacStatus => ({
  ...emptyRow(stack),
  reachable: "no: ssh: connect to host 10.0.0.7 port 22: Connection refused",
  drift: "unknown: not reachable",
});

/** `promtool check metrics` on `text`: its exit code and what it said (nothing when all is well). */
function promtool(text: string): { code: number | null; said: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) assert.fail(`promtool: ${r.error.message} (scripts/test.sh installs Debian's prometheus package, which has it)`);
  return { code: r.status, said: `${r.stdout}${r.stderr}`.trim() };
}

/** The samples of `text` as "name{labels} value" lines. */
const samples = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
/** The value of the one sample whose line starts with `series` and a space, or undefined. */
function value(text: string, series: string): string | undefined {
  const found = samples(text).filter((l) => l.startsWith(`${series} `));
  assert.ok(found.length <= 1, `${series}: ${found.length} samples`);
  return found[0]?.slice(series.length + 1);
}

describe("renderMetrics", () => {
  it("a Mac that answered: every family, with the values it shows; promtool finds nothing to say", () => {
    const text = renderMetrics([healthy()], AT);
    const s = 'stack="mac-01"';
    assert.equal(value(text, `colima_pulse_reachable{${s}}`), "1");
    assert.equal(value(text, `colima_pulse_docker_up{${s}}`), "1");
    assert.equal(value(text, `colima_pulse_supervisor_state{${s},state="running"}`), "1");
    assert.equal(value(text, `colima_pulse_supervisor_state{${s},state="gave_up"}`), "0");
    assert.equal(value(text, `colima_pulse_supervisor_failed_starts{${s}}`), "0");
    assert.equal(value(text, `colima_pulse_supervisor_hung_api_restarts{${s}}`), "0");
    assert.equal(value(text, `colima_pulse_gate_duration_seconds{${s},gate="socket"}`), "0.12");
    assert.equal(value(text, `colima_pulse_gate_duration_seconds{${s},gate="stable"}`), "3.1");
    assert.equal(value(text, `colima_pulse_gates_measured_timestamp_seconds{${s}}`), String(Date.parse("2026-12-07T11:00:00Z") / 1000));
    assert.equal(value(text, `colima_pulse_drift{${s}}`), "0");
    assert.equal(value(text, `colima_pulse_versions_info{${s},colima="0.10.3",lima="1.2.1",qemu="10.0.2",docker="28.3.2"}`), "1");
    assert.equal(value(text, `colima_pulse_last_successful_up_timestamp_seconds{${s}}`), "1796641205");
    assert.equal(value(text, `colima_pulse_filevault_on{${s}}`), "0");
    assert.equal(value(text, `colima_pulse_filevault_locked{${s}}`), "0");
    assert.equal(value(text, `colima_pulse_backups{${s}}`), "2");
    assert.equal(value(text, `colima_pulse_backups_size_bytes{${s}}`), "3072");
    assert.equal(value(text, `colima_pulse_newest_backup_timestamp_seconds{${s}}`), String(Date.parse("2026-12-06T10:00:00Z") / 1000));
    assert.equal(value(text, "colima_pulse_status_timestamp_seconds"), "1796644800");
    assert.equal(value(text, `colima_pulse_docker_disk_used_bytes{${s}}`), "7050000");
    assert.equal(value(text, `colima_pulse_disk_size_bytes{${s}}`), String(100 * 1024 ** 3));
    assert.equal(value(text, `colima_pulse_host_free_bytes{${s}}`), String(200 * 1024 ** 3));
    assert.equal(value(text, `colima_pulse_boot_to_docker_seconds{${s}}`), "41");
    assert.equal(value(text, `colima_pulse_boot_to_workloads_seconds{${s}}`), "47");
    assert.deepEqual(promtool(text), { code: 0, said: "" });
  });

  it("every family: one HELP and one TYPE, before its samples, its samples together; named colima_pulse_*", () => {
    const rows = [
      healthy(),
      unreachable("mac-02"),
      healthy({ stack: "mac-03", supervisorState: { state: "restarting", failedStarts: 2 } }),
    ];
    const text = renderMetrics(rows, AT);
    const lines = text.trimEnd().split("\n");
    const seen: string[] = [];
    let current = "";
    for (const [i, line] of lines.entries()) {
      const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        if (kind === "HELP") {
          assert.ok(!seen.includes(name), `${name}: a second HELP (line ${i + 1})`);
          seen.push(name);
          current = name;
          assert.ok(rest.length > 20, `${name}: a HELP that says something`);
        } else {
          assert.equal(name, current, `line ${i + 1}: TYPE right after its HELP`);
          assert.equal(lines[i - 1]?.startsWith(`# HELP ${name} `), true);
          assert.equal(rest, "gauge");
        }
        continue;
      }
      const name = /^([a-z_]+)[{ ]/.exec(line)?.[1];
      assert.equal(name, current, `line ${i + 1} (${line}): a sample of the family its HELP and TYPE announced`);
    }
    // Every family there is, here (a reachable Mac knows them all), plus the run's own timestamp.
    assert.deepEqual(seen, [...FAMILIES.map((f) => `${PREFIX}${f.name}`), `${PREFIX}status_timestamp_seconds`]);
    for (const name of seen) assert.match(name, /^colima_pulse_[a-z]+(_[a-z]+)*$/);
    assert.deepEqual(promtool(text), { code: 0, said: "" });
  });

  it("a Mac out of reach: reachable 0 and nothing else of it (absent, not 0), what its stack recorded aside", () => {
    const text = renderMetrics([unreachable("mac-02")], AT);
    assert.deepEqual(samples(text), ['colima_pulse_reachable{stack="mac-02"} 0', "colima_pulse_status_timestamp_seconds 1796644800"]);
    // A Mac converged before, out of reach now: what its stack recorded is still known (the gates,
    // versions and last up); nothing asked of the Mac now is (no docker label, no drift, no backups).
    const before = renderMetrics(
      [
        {
          ...healthy({ stack: "mac-02" }),
          ...unreachable("mac-02"),
          gates: healthy().gates,
          versions: healthy().versions,
          lastConverge: healthy().lastConverge,
        },
      ],
      AT,
    );
    assert.deepEqual(
      samples(before).map((l) => l.replace(/\{.*\}/, "").replace(/ .*/, "")),
      [
        "colima_pulse_reachable",
        ...Array(4).fill("colima_pulse_gate_duration_seconds"),
        "colima_pulse_gates_measured_timestamp_seconds",
        "colima_pulse_versions_info",
        "colima_pulse_last_successful_up_timestamp_seconds",
        // The gate's last disk report is the stack's too; the Mac's free space is asked now.
        "colima_pulse_docker_disk_used_bytes",
        "colima_pulse_disk_size_bytes",
        "colima_pulse_status_timestamp_seconds",
      ],
    );
    assert.equal(value(before, 'colima_pulse_versions_info{stack="mac-02",colima="0.10.3",lima="1.2.1",qemu="10.0.2"}'), "1");
    assert.deepEqual(promtool(before), { code: 0, said: "" });
  });

  it("reached, but a part not known: that metric absent; known as nothing: 0", () => {
    const unknowns = renderMetrics(
      [
        healthy({
          docker: "",
          supervisor: "unknown: launchctl print: ops cannot run colima-pulse's root commands through sudo",
          supervisorState: undefined,
          drift: "unknown: preview failed",
          fileVault: "unknown",
          backups: [],
          backupsError: "ls: /Users/ops/colima-backups: Permission denied",
          gates: undefined,
          lastConverge: "",
          versions: {},
          disk: undefined,
          hostFreeBytes: undefined,
          boot: undefined,
        }),
      ],
      AT,
    );
    assert.deepEqual(samples(unknowns), [
      'colima_pulse_reachable{stack="mac-01"} 1',
      'colima_pulse_docker_up{stack="mac-01"} 0',
      "colima_pulse_status_timestamp_seconds 1796644800",
    ]);
    // No backups (listed): 0, and no newest one; a size du could not tell: no total.
    const none = renderMetrics([healthy({ backups: [] })], AT);
    assert.equal(value(none, 'colima_pulse_backups{stack="mac-01"}'), "0");
    assert.equal(value(none, 'colima_pulse_backups_size_bytes{stack="mac-01"}'), "0");
    assert.equal(value(none, 'colima_pulse_newest_backup_timestamp_seconds{stack="mac-01"}'), undefined);
    const noSize = renderMetrics([healthy({ backups: [{ path: "/b", made: "2026-12-06T10:00:00Z" }] })], AT);
    assert.equal(value(noSize, 'colima_pulse_backups{stack="mac-01"}'), "1");
    assert.equal(value(noSize, 'colima_pulse_backups_size_bytes{stack="mac-01"}'), undefined);
  });

  it("the supervisor's states, drift, FileVault locked", () => {
    const text = renderMetrics(
      [
        healthy({
          supervisorState: { state: "gave up", failedStarts: 5, hungApiRestarts: 1 },
          drift: "update LaunchDaemon::colima-daemon",
          fileVault: "locked: waiting for unlock",
        }),
        healthy({ stack: "mac-02", supervisorState: { state: "not loaded" }, fileVault: "On" }),
      ],
      AT,
    );
    const one = (name: string, labels = "") => value(text, `colima_pulse_${name}{stack="mac-01"${labels}}`);
    assert.deepEqual(
      ["running", "restarting", "gave_up", "not_loaded"].map((state) => one("supervisor_state", `,state="${state}"`)),
      ["0", "0", "1", "0"],
    );
    assert.equal(one("supervisor_failed_starts"), "5");
    assert.equal(one("supervisor_hung_api_restarts"), "1");
    assert.equal(one("drift"), "1");
    assert.equal(one("filevault_on"), "1");
    assert.equal(one("filevault_locked"), "1");
    assert.equal(value(text, 'colima_pulse_supervisor_state{stack="mac-02",state="not_loaded"}'), "1");
    assert.equal(value(text, 'colima_pulse_supervisor_failed_starts{stack="mac-02"}'), undefined, "not loaded: no counts read");
    assert.equal(value(text, 'colima_pulse_filevault_on{stack="mac-02"}'), "1");
    assert.equal(value(text, 'colima_pulse_filevault_locked{stack="mac-02"}'), "0");
    assert.deepEqual(promtool(text), { code: 0, said: "" });
  });

  it("label values escaped as the format wants (backslash, double quote, line feed): promtool reads them back", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const odd = 'we"ird\\mac\nname';
    const text = renderMetrics([healthy({ stack: odd, docker: '28.3.2"} 1\nevil_metric 1 #' })], AT);
    assert.equal(value(text, 'colima_pulse_reachable{stack="we\\"ird\\\\mac\\nname"}'), "1");
    assert.ok(!samples(text).some((l) => l.startsWith("evil_metric")), "a value cannot start a line of its own");
    assert.deepEqual(promtool(text), { code: 0, said: "" });
  });

  it("promtool can fail: a quote left unescaped, and a counter without _total, are refused", () => {
    const good = renderMetrics([healthy({ stack: 'a"b' })], AT);
    const unescaped = good.replaceAll('stack="a\\"b"', 'stack="a"b"');
    assert.notEqual(unescaped, good);
    const broken = promtool(unescaped);
    assert.equal(broken.code, 1, broken.said);
    assert.match(broken.said, /text format parsing error in line 3/);
    const counter = good.replace(
      "# TYPE colima_pulse_supervisor_failed_starts gauge",
      "# TYPE colima_pulse_supervisor_failed_starts counter",
    );
    const linted = promtool(counter);
    assert.equal(linted.code, 3, linted.said);
    assert.match(linted.said, /colima_pulse_supervisor_failed_starts counter metrics should have "_total" suffix/);
  });

  it("secrets: the rows are redacted before (status.ts), and nothing but their text reaches a label", () => {
    // A secret that is also what a Mac says (a version, a host in ssh's words).
    const redact = redactor(secretTexts(["ops@build-07.corp.example", "28.3.2-corp"]));
    const row = redactDeep(healthy({ docker: "28.3.2-corp", versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.0.2" } }), redact);
    // Why a Mac is out of reach is never a label, redacted or not (here not).
    const down = { ...unreachable("mac-02"), reachable: "no: ssh: connect to host build-07.corp.example port 22: Connection refused" };
    const text = renderMetrics([row, down], AT);
    assert.ok(!/corp|build-07|10\.0\.0\.7|Connection refused/.test(text), text);
    assert.equal(
      value(text, 'colima_pulse_versions_info{stack="mac-01",colima="0.10.3",lima="1.2.1",qemu="10.0.2",docker="[secret]"}'),
      "1",
    );
  });

  it("two rows of one stack label (a stack name that was all a secret): refused, not one series twice", () => {
    assert.throws(() => renderMetrics([healthy({ stack: "[secret]" }), healthy({ stack: "[secret]" })], AT), {
      message: `two Macs' rows have the stack label "[secret]": metrics need one per Mac`,
    });
  });
});

describe("--prom's file", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const folder = () => {
    const d = mkdtempSync(join(tmpdir(), "cpulse-prom-"));
    dirs.push(d);
    return d;
  };

  it("parseArgs: --prom with status only; a folder that is not there, or a folder given as the file, refused naming it", () => {
    const dir = folder();
    assert.deepEqual(parseArgs(["status", "--prom", join(dir, "fleet.prom")]), {
      command: "status",
      glob: "*",
      parallel: 4,
      json: false,
      prom: join(dir, "fleet.prom"),
    });
    assert.throws(() => parseArgs(["up", "--prom", join(dir, "fleet.prom")]), {
      message: "--prom (command line): only with status, not up",
    });
    assert.throws(() => parseArgs(["status", "--prom"]), { message: "--prom (command line) needs a value" });
    const missing = join(dir, "no-such-folder", "fleet.prom");
    assert.throws(() => parseArgs(["status", "--prom", missing]), {
      message: `--prom (command line) = ${JSON.stringify(missing)}: its folder ${join(dir, "no-such-folder")} does not exist (or is not a folder)`,
    });
    writeFileSync(join(dir, "a-file"), "");
    assert.throws(() => promPath(join(dir, "a-file", "fleet.prom")), {
      message: /its folder .*\/a-file does not exist \(or is not a folder\)$/,
    });
    assert.throws(() => promPath(dir), { message: `--prom (command line) = ${JSON.stringify(dir)}: is a folder, not a file` });
  });

  it("written in one step: the old file replaced whole, 0644, no temporary file left", () => {
    const dir = folder();
    const file = join(dir, "fleet.prom");
    writeFileSync(file, "old\n", { mode: 0o600 });
    writeAtomically(file, "# new\n");
    assert.equal(readFileSync(file, "utf8"), "# new\n");
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), ["fleet.prom"]);
  });

  it("a link where the file goes is replaced, not followed", () => {
    const dir = folder();
    const target = join(dir, "elsewhere");
    writeFileSync(target, "keep\n");
    symlinkSync(target, join(dir, "fleet.prom"));
    writeAtomically(join(dir, "fleet.prom"), "# new\n");
    assert.equal(readFileSync(target, "utf8"), "keep\n");
    assert.equal(readFileSync(join(dir, "fleet.prom"), "utf8"), "# new\n");
  });

  it("a write that fails: an error naming the file; no temporary file left", () => {
    const dir = folder();
    assert.throws(() => writeAtomically(join(dir, "gone", "fleet.prom"), "x\n"), {
      message: new RegExp(`^--prom: could not write the metrics to ${join(dir, "gone", "fleet.prom")}: ENOENT`),
    });
    // The rename fails (a folder with something in it is where the file goes).
    mkdirSync(join(dir, "fleet.prom", "x"), { recursive: true });
    assert.throws(() => writeAtomically(join(dir, "fleet.prom"), "x\n"), {
      message: new RegExp(`^--prom: could not write the metrics to ${join(dir, "fleet.prom")}: E`),
    });
    assert.deepEqual(readdirSync(dir), ["fleet.prom"]);
  });
});
