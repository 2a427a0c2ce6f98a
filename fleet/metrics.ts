// `npm run fleet -- status --prom FILE`: the status rows (status.ts, already redacted of each
// stack's secrets: redact.ts) as Prometheus's text exposition format, for node_exporter's textfile
// collector (https://prometheus.io/docs/instrumenting/exposition_formats/,
// https://github.com/prometheus/node_exporter#textfile-collector). Names follow
// https://prometheus.io/docs/practices/naming/: base units (seconds, bytes), timestamps as
// `_timestamp_seconds`, versions as an `_info` gauge of 1. Counts that start again at 0 (failed
// starts in a row) are gauges, not `_total` counters. A metric that is not known (a Mac out of
// reach: everything asked of it now) is left out, never written as 0. Labels: `stack` (a stack
// name, never its SSH host: secret or not, a host is no label to keep) and a few fixed words.
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { MacStatus, SupervisorState } from "./status";

export const PREFIX = "colima_pulse_";

type Labels = Record<string, string | undefined>;
interface Sample {
  labels: Labels;
  value: number;
}
interface Family {
  name: string;
  type: "gauge";
  help: string;
  samples: (row: MacStatus) => Sample[];
}

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: backslash and line feed escaped (a double quote is itself there). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A value as the text format writes it (Go's ParseFloat reads these). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

const bool = (b: boolean) => (b ? 1 : 0);
const reachable = (row: MacStatus) => row.reachable === "yes";
/** An ISO time as seconds since the epoch, or undefined. */
const epochSeconds = (iso: string | undefined) => {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms / 1000;
};
/** One sample labelled with the stack alone, when `value` is known. */
const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ labels: {}, value }]);
/** One sample when the Mac was reached now (its other metrics are unknown otherwise). */
const ifReached = (row: MacStatus, value: () => number | undefined): Sample[] => (reachable(row) ? one(value()) : []);

const SUPERVISOR_STATES: SupervisorState["state"][] = ["running", "restarting", "gave up", "not loaded"];
const GATES = ["socket", "qemu", "api", "stable"] as const;

/** Every metric of a Mac, in the order they are written. What the stack's state recorded (gates,
 *  versions, last successful up) is known whether or not the Mac answers now; the rest is asked
 *  of the Mac now. */
export const FAMILIES: Family[] = [
  {
    name: "reachable",
    type: "gauge",
    help: "1 when fleet status reached the Mac over its seam (SSH) just now, 0 when it did not (or its stack could not be read); its other metrics asked of the Mac are then absent.",
    samples: (row) => one(bool(reachable(row))),
  },
  {
    name: "docker_up",
    type: "gauge",
    help: "1 when the Docker Engine answers on the profile's socket, 0 when it does not.",
    samples: (row) => ifReached(row, () => bool(row.docker !== "")),
  },
  {
    name: "supervisor_state",
    type: "gauge",
    help: "The supervisor LaunchDaemon's state: 1 for the state it is in, 0 for the others (running, restarting, gave up, not loaded).",
    samples: (row) => {
      const s = row.supervisorState?.state;
      if (!reachable(row) || !s || !SUPERVISOR_STATES.includes(s)) return [];
      return SUPERVISOR_STATES.map((state) => ({ labels: { state: state.replace(" ", "_") }, value: bool(state === s) }));
    },
  },
  {
    name: "supervisor_failed_starts",
    type: "gauge",
    help: "Failed starts of Colima in a row, as the supervisor counts them (0 again after a start that passes).",
    samples: (row) => ifReached(row, () => row.supervisorState?.failedStarts),
  },
  {
    name: "supervisor_hung_api_restarts",
    type: "gauge",
    help: "Restarts in a row for a Docker API that stopped answering (API_HANG_SECONDS), as the supervisor counts them.",
    samples: (row) => ifReached(row, () => row.supervisorState?.hungApiRestarts),
  },
  {
    name: "gate_duration_seconds",
    type: "gauge",
    help: "How long each health gate (socket, qemu, api, stable) took the last time they ran, as the stack recorded it.",
    samples: (row) => (row.gates ? GATES.map((gate) => ({ labels: { gate }, value: (row.gates?.[gate] as number) / 1000 })) : []),
  },
  {
    name: "gates_measured_timestamp_seconds",
    type: "gauge",
    help: "When the health gates last ran (seconds since the epoch), as the stack recorded it.",
    samples: (row) => one(epochSeconds(row.gates?.measuredAt)),
  },
  {
    name: "drift",
    type: "gauge",
    help: "1 when a refreshed preview would change something on the Mac, 0 when it would change nothing.",
    samples: (row) => ifReached(row, () => (row.drift === "none" ? 0 : row.drift.startsWith("unknown") ? undefined : 1)),
  },
  {
    name: "versions_info",
    type: "gauge",
    help: "Always 1: the versions of Colima, Lima and QEMU the stack last recorded, and of the Docker Engine answering now, as labels.",
    samples: (row) => {
      const labels = { ...row.versions, docker: reachable(row) && row.docker ? row.docker : undefined };
      return Object.values(labels).some(Boolean) ? [{ labels, value: 1 }] : [];
    },
  },
  {
    name: "last_successful_up_timestamp_seconds",
    type: "gauge",
    help: "When the last successful pulumi up of the Mac's stack ended (seconds since the epoch).",
    samples: (row) => one(epochSeconds(row.lastConverge)),
  },
  {
    name: "filevault_on",
    type: "gauge",
    help: "1 when FileVault is on (fdesetup status), 0 when it is off.",
    samples: (row) =>
      ifReached(row, () => (row.fileVault === "Off" ? 0 : row.fileVault === "On" || row.fileVault.startsWith("locked") ? 1 : undefined)),
  },
  {
    name: "filevault_locked",
    type: "gauge",
    help: "1 when FileVault is on and the Homebrew user's data is not unlocked since the boot (Colima cannot start), 0 otherwise.",
    samples: (row) =>
      ifReached(row, () => (["On", "Off"].includes(row.fileVault) ? 0 : row.fileVault.startsWith("locked") ? 1 : undefined)),
  },
  {
    name: "backups",
    type: "gauge",
    help: "How many backups of the profile are in BACKUP_DIR_BASE (what npm run restore takes).",
    samples: (row) => ifReached(row, () => (row.backupsError === undefined ? row.backups.length : undefined)),
  },
  {
    name: "backups_size_bytes",
    type: "gauge",
    help: "The size of all the profile's backups together (du), in bytes.",
    samples: (row) =>
      ifReached(row, () =>
        row.backupsError === undefined && row.backups.every((b) => b.bytes !== undefined)
          ? row.backups.reduce((sum, b) => sum + (b.bytes as number), 0)
          : undefined,
      ),
  },
  {
    name: "newest_backup_timestamp_seconds",
    type: "gauge",
    help: "When the newest backup of the profile was made (seconds since the epoch).",
    samples: (row) => ifReached(row, () => epochSeconds(row.backups[0]?.made)),
  },
  {
    name: "docker_disk_used_bytes",
    type: "gauge",
    help: "How much of the VM's data disk Docker uses (docker system df, summed), as the health gate last measured it.",
    samples: (row) => one(row.disk?.dockerUsedBytes),
  },
  {
    name: "disk_size_bytes",
    type: "gauge",
    help: "The size of the VM's data disk (COLIMA_DISK), as the health gate last recorded it.",
    samples: (row) => one(row.disk?.sizeBytes),
  },
  {
    name: "host_free_bytes",
    type: "gauge",
    help: "Free space of the Mac's volume holding the Homebrew user's ~/.colima (df -Pk), asked now.",
    samples: (row) => ifReached(row, () => row.hostFreeBytes),
  },
  {
    name: "boot_to_docker_seconds",
    type: "gauge",
    help: "Seconds from the Mac's boot to the Docker API answering after the last start (the supervisor's, read now).",
    samples: (row) => ifReached(row, () => row.boot?.toDockerSeconds),
  },
  {
    name: "boot_to_workloads_seconds",
    type: "gauge",
    help: "Seconds from the Mac's boot to every container with restart policy always/unless-stopped running (healthy where checked) after the last start; absent when they were not back within WAIT_WORKLOADS_MAX.",
    samples: (row) => ifReached(row, () => row.boot?.toWorkloadsSeconds),
  },
];

/** The rows as the text exposition format: each family's HELP, TYPE and samples together (the
 *  format wants a family in one piece), a family with no sample left out, and when it was gathered.
 *  No sample carries a timestamp: the textfile collector refuses them. */
export function renderMetrics(rows: MacStatus[], gatheredAt: Date): string {
  const stacks = new Set<string>();
  for (const row of rows) {
    // Two rows of one label would be one series twice (a stack name that is all a secret: [secret]).
    if (stacks.has(row.stack))
      throw new Error(`two Macs' rows have the stack label ${JSON.stringify(row.stack)}: metrics need one per Mac`);
    stacks.add(row.stack);
  }
  const lines: string[] = [];
  const family = (name: string, help: string, samples: Sample[]) => {
    if (samples.length === 0) return;
    lines.push(`# HELP ${PREFIX}${name} ${escapeHelp(help)}`, `# TYPE ${PREFIX}${name} gauge`);
    for (const { labels, value } of samples) {
      const pairs = Object.entries(labels)
        .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      lines.push(`${PREFIX}${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    }
  };
  for (const f of FAMILIES)
    family(
      f.name,
      f.help,
      rows.flatMap((row) => f.samples(row).map((s) => ({ labels: { stack: row.stack, ...s.labels }, value: s.value }))),
    );
  family("status_timestamp_seconds", "When fleet status asked the Macs these metrics are about (seconds since the epoch).", [
    { labels: {}, value: gatheredAt.getTime() / 1000 },
  ]);
  return `${lines.join("\n")}\n`;
}

/** `--prom`'s file, resolved, or an error naming the folder that is not there. Checked before any
 *  Mac is asked, so a typo costs nothing. */
export function promPath(path: string): string {
  const file = resolve(path);
  const dir = dirname(file);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new Error(`--prom (command line) = ${JSON.stringify(path)}: its folder ${dir} does not exist (or is not a folder)`);
  if (path.endsWith("/") || (statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false))
    throw new Error(`--prom (command line) = ${JSON.stringify(path)}: is a folder, not a file`);
  return file;
}

/** Writes `text` to `file` as the textfile collector wants it: a temporary file in the same folder
 *  (so the rename does not cross file systems, and not named *.prom, so the collector never reads
 *  it half-written), flushed, then renamed over `file` in one step. The temporary name is new
 *  (O_EXCL): a link someone put there is not followed. A failure says which file, and leaves no
 *  temporary file behind. */
export function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  let made = false;
  try {
    fd = openSync(tmp, "wx", 0o644);
    made = true;
    // Readable by all whatever the umask: the collector (node_exporter) runs as another user, and
    // nothing in the file is secret (the rows are redacted).
    fchmodSync(fd, 0o644);
    writeFileSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
    made = false;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    // Only a file this call made: an open that failed (EEXIST) found someone else's.
    if (made) rmSync(tmp, { force: true });
    throw new Error(`--prom: could not write the metrics to ${file}: ${(e as Error).message}`);
  }
}
