// df(1) as macOS has it: apple-oss-distributions/file_cmds (commit 9f23dc6b) df/df.c, in its
// default unix2003 mode (COMPAT_MODE("bin/df", "unix2003") is true on macOS), with the block size
// of Libc gen/FreeBSD/getbsize.c. The simulated Mac has two APFS volumes in one container: the
// sealed system volume on `/` and the data volume on /System/Volumes/Data, which holds every
// path outside the system's own folders (firmlinks: /Users, /opt, /usr/local, /Library, /private,
// …). Their sizes and free space are SimState.volume (MacSimulator.setVolumeFree). README.md
// "df" cites each behaviour.
import { statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { maySearch, simulatedWho } from "./access";
import { volumeOf } from "./cp";
import { getopt } from "./getopt";
import { readIfThere, ToolExit, type World } from "./world";

/** The APFS container both volumes share (SimState.volume): its size, the space free in it, and
 *  what each volume holds (ATTR_VOL_SPACEUSED). */
export interface SimVolume {
  totalBytes: number;
  freeBytes: number;
  systemUsedBytes: number;
}

/** A 500 GB Mac's container (494 384 795 648 bytes, as a 512 GB SSD's APFS container reports it),
 *  200 GiB of it free, the sealed system volume's 11 GiB. */
export const DEFAULT_VOLUME: SimVolume = { totalBytes: 494_384_795_648, freeBytes: 200 * 1024 ** 3, systemUsedBytes: 11 * 1024 ** 3 };

/** APFS's f_bsize. */
const FS_BLOCK = 4096;

interface StatFs {
  mntfromname: string;
  mntonname: string;
  /** In FS_BLOCK units, as statfs(2) gives them. */
  blocks: number;
  bfree: number;
  bavail: number;
  /** usedblks(): getattrlist(ATTR_VOL_SPACEUSED) / f_bsize — this volume's own use. */
  used: number;
  files: number;
  ffree: number;
}

export function volumes(world: World): { system: StatFs; data: StatFs } {
  const v = world.state().volume ?? DEFAULT_VOLUME;
  const blocks = Math.floor(v.totalBytes / FS_BLOCK);
  const free = Math.floor(v.freeBytes / FS_BLOCK);
  const systemUsed = Math.floor(v.systemUsedBytes / FS_BLOCK);
  // Every APFS volume of a container reports the container's size and free space; its own use
  // is ATTR_VOL_SPACEUSED. APFS has no fixed inode table: f_ffree grows with the free space.
  const common = { blocks, bfree: free, bavail: free, ffree: free };
  return {
    system: { ...common, mntfromname: "/dev/disk3s1s1", mntonname: world.path("/"), used: systemUsed, files: free + 404_167 },
    data: {
      ...common,
      mntfromname: "/dev/disk3s5",
      mntonname: world.path("/System/Volumes/Data"),
      used: Math.max(0, blocks - free - systemUsed),
      files: free + 1_234_567,
    },
  };
}

/** getbsize(3): BLOCKSIZE from the environment → its header and size. */
function getbsize(): { header: string; blocksize: number } {
  const p = process.env.BLOCKSIZE;
  if (!p) return { header: "512-blocks", blocksize: 512 };
  const m = /^(-?\d*)(.*)$/.exec(p) as RegExpExecArray;
  let n = m[1] === "" || m[1] === "-" ? 0 : Number(m[1]);
  if (n < 0) {
    process.stderr.write("df: minimum blocksize is 512\n");
    return { header: "512-blocks", blocksize: 512 };
  }
  if (n === 0) n = 1;
  const units: Record<string, [string, number]> = { g: ["G", 1024 ** 3], k: ["K", 1024], m: ["M", 1024 ** 2], "": ["", 1] };
  const rest = m[2] as string;
  let unit = rest.length <= 1 ? units[rest.toLowerCase()] : undefined;
  if (!unit) {
    process.stderr.write(`df: ${p}: unknown blocksize\n`);
    n = 512;
    unit = ["", 1];
  }
  const max = 1024 ** 3 / unit[1];
  if (n > max) {
    process.stderr.write("df: maximum blocksize is 1G\n");
    n = max;
  }
  if (n * unit[1] < 512) {
    process.stderr.write("df: minimum blocksize is 512\n");
    return { header: "512-blocks", blocksize: 512 };
  }
  return { header: `${n}${unit[0]}-blocks`, blocksize: n * unit[1] };
}

const USAGE =
  "usage: df [--libxo] [-b | -g | -H | -h | -k | -m | -P] [-acIilnY] [-,] [-T type] [-t type]\n          [file | filesystem ...]\n";

export async function df(world: World, argv: string[]): Promise<number> {
  // df.c's unix2003 optstring ("+abcgHhIiklmnPtT:Y,"; `+`: options end at the first operand).
  const parsed = getopt("df", argv, "abcgHhIiklmnPtT:Y,");
  if (parsed.error) throw new ToolExit(64, `${parsed.error.message}${USAGE}`);
  let iflag = true; // unix2003: inode columns by default
  let kflag = false;
  for (const { opt } of parsed.options) {
    switch (opt) {
      case "b":
      case "P":
        iflag = false;
        // "if (kflag) break": -P after -k keeps the 1024-byte blocks.
        if (!kflag) process.env.BLOCKSIZE = "512";
        break;
      case "k":
        kflag = true;
        process.env.BLOCKSIZE = "1024";
        break;
      case "m":
        process.env.BLOCKSIZE = "1m";
        break;
      case "g":
        process.env.BLOCKSIZE = "1g";
        break;
      case "i":
        iflag = true;
        break;
      case "I":
        iflag = false;
        break;
      case "n":
        break; // statfs of the named files: -n has no effect on them (df.c), nor on the list here
      default:
        throw new ToolExit(1, `df: simulator: -${opt} is not simulated\n`);
    }
  }
  const vols = volumes(world);
  const rows: StatFs[] = [];
  let rv = 0;
  if (parsed.operands.length === 0) rows.push(vols.system, vols.data);
  for (const operand of parsed.operands) {
    // stat(2) of the operand (a path of this machine, under the simulated root), then statfs(2).
    const abs = resolve(operand);
    const mac = abs === world.root ? "/" : `/${relative(world.root, abs)}`;
    let error: string | undefined;
    const who = simulatedWho(world);
    if (mac.startsWith("/..")) error = "simulator: a path outside the simulated Mac";
    // MacSimulator.addVolume's volumes (tools/cp.ts) have no size or free space of their own here.
    else if (addedVolumes(world).some((v) => mac === `/Volumes/${v}` || mac.startsWith(`/Volumes/${v}/`)))
      error = "simulator: df of a volume MacSimulator.addVolume added is not simulated";
    // stat(2) needs search permission on every folder on the way (README.md "Reads").
    else if (who && !maySearch(abs, who, world.root)) error = "Permission denied";
    else
      try {
        statSync(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        error = code === "ENOENT" ? "No such file or directory" : code === "EACCES" ? "Permission denied" : String(code);
      }
    if (error) {
      // getmntpt() finds no device of that name: xo_warn("%s", path) with stat's errno.
      process.stderr.write(`df: ${operand}: ${error}\n`);
      rv = 1;
      continue;
    }
    rows.push(volumeOf(mac) === "system" ? vols.system : vols.data);
  }
  if (rows.length > 0) process.stdout.write(render(rows, iflag));
  return rv;
}

/** The names of the volumes MacSimulator.addVolume mounted under /Volumes (.sim/volumes.json). */
function addedVolumes(world: World): string[] {
  const text = readIfThere(join(world.simDir, "volumes.json"));
  return text ? Object.keys(JSON.parse(text) as Record<string, unknown>) : [];
}

/** fsbtoblk(): file-system blocks into BLOCKSIZE units. */
function toBlocks(n: number, blocksize: number): number {
  return FS_BLOCK < blocksize ? Math.floor(n / (blocksize / FS_BLOCK)) : n * (FS_BLOCK / blocksize);
}

const width = (n: number) => String(n).length;

/** update_maxwidths() then prtstat() for each row. */
function render(rows: StatFs[], iflag: boolean): string {
  const { header, blocksize } = getbsize();
  const w = { mntfrom: 10, total: header.length, used: 4, avail: 9, iused: 7, ifree: 5 };
  for (const r of rows) {
    w.mntfrom = Math.max(w.mntfrom, r.mntfromname.length);
    w.total = Math.max(w.total, width(toBlocks(r.blocks, blocksize)));
    // The width of "used" is taken from f_blocks - f_bfree (the container's use), not usedblks().
    w.used = Math.max(w.used, width(toBlocks(r.blocks - r.bfree, blocksize)));
    w.avail = Math.max(w.avail, width(toBlocks(r.bavail, blocksize)));
    w.iused = Math.max(w.iused, width(r.files - r.ffree));
    w.ifree = Math.max(w.ifree, width(r.ffree));
  }
  let out = `${"Filesystem".padEnd(w.mntfrom)} ${header.padStart(w.total)} ${"Used".padStart(w.used)} ${"Available".padStart(w.avail)} Capacity`;
  if (iflag) out += ` ${"iused".padStart(w.iused - 2)} ${"ifree".padStart(w.ifree)} %iused`;
  out += "  Mounted on\n";
  for (const r of rows) {
    const used = r.blocks > r.bfree ? r.used : 0;
    const availblks = r.bavail + used;
    out += `${r.mntfromname.padEnd(w.mntfrom)} ${String(toBlocks(r.blocks, blocksize)).padStart(w.total)} ${String(toBlocks(used, blocksize)).padStart(w.used)} ${String(toBlocks(r.bavail, blocksize)).padStart(w.avail)}`;
    // unix2003: "percentage must be rounded UP to next integer value, not truncated".
    let value = availblks === 0 ? 100 : (used / availblks) * 100;
    if (value - Math.trunc(value) > 0) value += 1;
    out += ` ${String(Math.trunc(value)).padStart(5)}%`;
    if (iflag) {
      const iused = r.files - r.ffree;
      out += ` ${String(iused).padStart(w.iused)} ${String(r.ffree).padStart(w.ifree)} ${String(Math.round((iused / r.files) * 100)).padStart(4)}% `;
    } else out += "  ";
    out += `  ${r.mntonname}\n`;
  }
  return out;
}
