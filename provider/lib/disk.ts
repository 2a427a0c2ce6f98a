// Disk space: the Mac's free space on the volume that holds the Homebrew user's ~/.colima (where
// Lima keeps the VM's disks), and Docker's own use of the VM's data disk. Read-only. The data disk
// is a sparse file (Lima's qcow2/raw: it takes on the Mac only what the guest has written), so
// COLIMA_DISK above the Mac's free space is allowed, with a warning: the guest's writes fail once
// the Mac's volume is full, not when the VM starts.
import { colimaCommand, type Host, homeOf, hostPath } from "./host";
import type { Mac } from "./mac";

const GiB = 1024 ** 3;

/** One row of `df -Pk` (file_cmds df/df.c, POSIX form): sizes in bytes. */
export interface VolumeSpace {
  /** The device (`/dev/disk3s5`). */
  filesystem: string;
  /** The mount point (`/System/Volumes/Data`): the volume, as the operator knows it. */
  mountedOn: string;
  sizeBytes: number;
  /** `Available` (f_bavail): on APFS, the free space of the container all its volumes share. */
  freeBytes: number;
}

/** Parses `df -Pk <path>`: the header `Filesystem 1024-blocks Used Available Capacity Mounted on`
 *  and one row. Read from the right of the numbers: a device or mount point may hold spaces. */
export function parseDfPk(stdout: string): VolumeSpace {
  const [header, row, ...more] = stdout.replace(/\n$/, "").split("\n");
  if (!header || !/^Filesystem\s+1024-blocks\s+Used\s+Available\s+Capacity\s+Mounted on$/.test(header) || !row || more.length > 0)
    throw new Error(`df -Pk printed what is not one POSIX row: ${JSON.stringify(stdout.slice(0, 300))}`);
  const m = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(\S.*)$/.exec(row);
  if (!m)
    throw new Error(
      `df -Pk printed a row that is not Filesystem, 1024-blocks, Used, Available, Capacity, Mounted on: ${JSON.stringify(row)}`,
    );
  return { filesystem: m[1] as string, mountedOn: m[6] as string, sizeBytes: Number(m[2]) * 1024, freeBytes: Number(m[4]) * 1024 };
}

/** The free space of the volume holding the Homebrew user's ~/.colima (its home while there is
 *  none yet), as that user sees it: `df -Pk` run as the Homebrew user, whose home another user
 *  may not be able to search. */
export async function colimaVolumeSpace(mac: Mac, host: Host, timeoutMs = 15_000): Promise<VolumeSpace & { path: string }> {
  const dot = `${homeOf(host)}/.colima`;
  const path = (await mac.exists(dot)) ? dot : homeOf(host);
  const r = await mac.asUser([hostPath(host, "/bin/df"), "-Pk", path], { allowFailure: true, timeoutMs });
  if (r.exitCode !== 0) throw new Error(`df -Pk ${path} as ${host.user} exited with code ${r.exitCode}: ${r.stderr.trim()}`);
  return { ...parseDfPk(r.stdout), path };
}

/** Bytes as the operator reads them: GiB with one decimal, MiB below 1 GiB. */
export function bytesText(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** The preview's warning when COLIMA_DISK needs more of the Mac's volume than is free: the whole
 *  disk for a new profile, the growth for one whose disk grows (`currentGiB`: its size now). A
 *  disk that does not grow needs nothing more. Undefined: nothing to say. */
export function diskSpaceWarning(args: {
  diskGiB: number;
  currentGiB?: number;
  space: VolumeSpace;
  user: string;
  secret?: boolean;
}): string | undefined {
  const { diskGiB, currentGiB, space } = args;
  const needed = (currentGiB === undefined ? diskGiB : diskGiB - currentGiB) * GiB;
  if (needed <= 0 || needed <= space.freeBytes) return undefined;
  const value = args.secret ? "[secret]" : `${diskGiB}`;
  const what =
    currentGiB === undefined
      ? `a new data disk of ${value} GiB`
      : `growing the data disk from ${args.secret ? "[secret]" : currentGiB} to ${value} GiB`;
  return (
    `COLIMA_DISK = ${value} (GiB): ${what} is more than the ${bytesText(space.freeBytes)} free on the volume ${space.mountedOn} (${space.filesystem}) holding ${args.user}'s ~/.colima. ` +
    "The disk is sparse, so the VM starts, but Docker's writes will fail once that volume is full: free space on it, or lower COLIMA_DISK (a disk can only grow)."
  );
}

/** Parses `docker system df --format '{{json .}}'` (docker/cli formatter/disk_usage.go: one
 *  object per type, Images, Containers, Local Volumes, Build Cache, each `Size` written by
 *  go-units HumanSize: `%.4g` of a decimal unit) into the bytes Docker uses in all. */
export function parseDockerSystemDf(stdout: string): number {
  const rows = stdout.split("\n").filter((l) => l.trim());
  if (rows.length === 0) throw new Error("docker system df printed nothing");
  let total = 0;
  for (const line of rows) {
    let size: unknown;
    try {
      size = (JSON.parse(line) as { Size?: unknown }).Size;
    } catch {
      throw new Error(`docker system df printed a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
    }
    total += humanSizeBytes(String(size));
  }
  return total;
}

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** go-units HumanSize back into bytes (to its 4 significant digits). */
export function humanSizeBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\+\d+)?)(B|kB|MB|GB|TB|PB|EB|ZB|YB)$/.exec(text.trim());
  if (!m) throw new Error(`not a size Docker writes: ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * 1000 ** DECIMAL.indexOf(m[2] as string));
}

/** What the gate's disk report warns of: Docker's use past DISK_WARN_PERCENT of the data disk
 *  (0: never), and a Mac volume with less free space than the data disk's size. */
export function diskReportWarnings(r: {
  dockerUsedBytes: number;
  diskSizeBytes: number;
  hostFreeBytes: number;
  warnPercent: number;
  volume: string;
  secret?: boolean;
}): string[] {
  const out: string[] = [];
  const size = r.secret ? "[secret]" : bytesText(r.diskSizeBytes);
  if (r.warnPercent > 0 && r.dockerUsedBytes * 100 > r.warnPercent * r.diskSizeBytes)
    out.push(
      `Docker uses ${bytesText(r.dockerUsedBytes)} of the VM's ${size} data disk (COLIMA_DISK), more than DISK_WARN_PERCENT = ${r.warnPercent}%: prune (PRUNE_DOCKER_AFTER_START, \`docker system prune\`) or grow COLIMA_DISK`,
    );
  if (r.hostFreeBytes < r.diskSizeBytes)
    out.push(
      `the Mac's volume ${r.volume} has ${bytesText(r.hostFreeBytes)} free, less than the VM's ${size} data disk (COLIMA_DISK): the sparse disk can grow past what is free, and Docker's writes then fail`,
    );
  return out;
}

/** The longest a trim may take: fstrim of a data disk that was never trimmed reads its whole
 *  free-space map, seconds to minutes; a frozen guest would hold it for ever. */
export const TRIM_MAX_SECONDS = 300;

/** What the health gate reports of the disks after a start (stack outputs of the same names). */
export interface DiskReport {
  /** Docker's use of the VM's data disk (`docker system df`, summed). */
  dockerDiskUsedBytes?: number;
  /** The VM's data disk (COLIMA_DISK). */
  diskSizeBytes?: number;
  /** Free space of the Mac's volume holding ~/.colima (`df -Pk`, as the Homebrew user). */
  hostFreeBytes?: number;
  /** The report's warnings (also logged); absent when it could not be made. */
  diskWarnings?: string[];
}

export interface DiskGateInputs {
  host: Host;
  prefix: string;
  profile: string;
  /** COLIMA_DISK, GiB. */
  diskGiB?: number;
  /** DISK_WARN_PERCENT (0: off). */
  diskWarnPercent?: number;
  /** DISK_TRIM_AFTER_START. */
  diskTrim?: boolean;
  secrets?: string[];
}

/** After a start the gates proved (and the supervisor's prune it waited for): the trim, when
 *  DISK_TRIM_AFTER_START asks for it, then the report. Neither ever fails the gate: a trim or a
 *  read that fails is said, and the report is what could be read. The Mac out of reach (SshError)
 *  still fails the step, as every probe's does. */
export async function diskAfterStart(mac: Mac, inputs: DiskGateInputs, socket: string, log: (m: string) => void): Promise<DiskReport> {
  const { host, prefix, profile } = inputs;
  const rethrowSsh = (e: Error) => {
    if (e.name === "SshError") throw e;
    return e;
  };
  if (inputs.diskTrim) {
    // Colima's own trim runs while the VM boots (environment/vm/lima/yaml.go: `fstrim -a` in a
    // provision script), before a prune frees anything; this one gives back what the prune freed.
    const argv = colimaCommand(host, prefix, "ssh", "--profile", profile, "--", "sudo", "fstrim", "-a");
    const started = Date.now();
    const r = await mac.asUser(argv, { allowFailure: true, timeoutMs: TRIM_MAX_SECONDS * 1000 }).catch((e: Error) => rethrowSsh(e));
    if (r instanceof Error) log(`warning: the trim after this start (DISK_TRIM_AFTER_START) failed: ${r.message}`);
    else if (r.exitCode === 0) log(`trimmed the VM's disks (colima ssh -- sudo fstrim -a, ${Date.now() - started} ms)`);
    else
      log(
        `warning: the trim after this start (DISK_TRIM_AFTER_START) failed (exit ${r.exitCode}): ${r.stderr.trim().split("\n").pop() ?? ""}; Docker keeps running`,
      );
  }
  const report: DiskReport = {};
  if (inputs.diskGiB !== undefined) report.diskSizeBytes = inputs.diskGiB * GiB;
  const dockerDf = [`${prefix}/bin/docker`, "--host", `unix://${socket}`, "system", "df", "--format", "{{json .}}"];
  const [used, space] = await Promise.all([
    mac
      .asUser(dockerDf, { allowFailure: true, timeoutMs: 60_000 })
      .then((r) => {
        if (r.exitCode !== 0)
          throw new Error(`docker system df exited with code ${r.exitCode}: ${r.stderr.trim().split("\n").pop() ?? ""}`);
        return parseDockerSystemDf(r.stdout);
      })
      .catch((e: Error) => rethrowSsh(e)),
    colimaVolumeSpace(mac, host).catch((e: Error) => rethrowSsh(e)),
  ]);
  if (used instanceof Error) log(`warning: disk report: ${used.message}`);
  else report.dockerDiskUsedBytes = used;
  if (space instanceof Error) log(`warning: disk report: ${space.message}`);
  else report.hostFreeBytes = space.freeBytes;
  if (report.diskSizeBytes === undefined || space instanceof Error) return report;
  const secret = inputs.secrets?.includes("diskGiB");
  const docker = report.dockerDiskUsedBytes;
  log(
    `disk: ${docker === undefined ? "Docker's use unknown" : `Docker uses ${bytesText(docker)}`} of the VM's ${secret ? "[secret]" : bytesText(report.diskSizeBytes)} data disk; the Mac's volume ${space.mountedOn} has ${bytesText(space.freeBytes)} free`,
  );
  report.diskWarnings = diskReportWarnings({
    dockerUsedBytes: docker ?? 0,
    diskSizeBytes: report.diskSizeBytes,
    hostFreeBytes: space.freeBytes,
    warnPercent: docker === undefined ? 0 : (inputs.diskWarnPercent ?? 80),
    volume: `${space.mountedOn} (${space.filesystem})`,
    secret,
  });
  for (const w of report.diskWarnings) log(`warning: ${w}`);
  return report;
}
