// cp(1) as macOS has it, for `cp -c` (clonefile(2)): apple-oss-distributions/file_cmds
// (file_cmds-457.100.3, commit 9f23dc6b) cp/cp.c and cp/utils.c, cp/cp.1; xnu (xnu-11417.101.15)
// bsd/man/man2/clonefile.2 and bsd/vfs/vfs_syscalls.c clonefile_internal. Without -c the real
// Linux cp runs (the options both share; README.md "System tools"). README.md "cp -c" cites each
// behaviour; what cannot be exact here is under "Knowingly not simulated".
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  constants,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { checked, mayRead, maySearch, ownerOf, simulatedWho, type Who } from "./access";
import { permits } from "./docker";
import { getopt } from "./getopt";
import { ToolExit, type World } from "./world";

/** cp.c's optstring on macOS. */
const OPTSTRING = "HLPRacfilNnprSsvXx";
const USAGE =
  "usage: cp [-R [-H | -L | -P]] [-f | -i | -n] [-aclpSsvXx] source_file target_file\n" +
  "       cp [-R [-H | -L | -P]] [-f | -i | -n] [-aclpSsvXx] source_file ... target_directory\n";
/** The options simulated with -c; any other is refused with a `simulator:` message. */
const WITH_C = "cRPv";

/** The file formats of other volumes (`MacSimulator.addVolume`): `<root>/Volumes/<name>` each. */
export type VolumeFormat = "apfs" | "hfs";

/** Which volume a Mac path is on: another volume under /Volumes/<name>; the sealed system
 *  volume's own folders (/System, /bin, /sbin, /usr but /usr/local); everything else the data
 *  volume, which the firmlinks put /Users, /opt, /Library, /private, … on (tools/df.ts reports
 *  them by this rule). */
export function volumeOf(mac: string): string {
  const other = /^\/Volumes\/([^/]+)/.exec(mac)?.[1];
  if (other) return `/Volumes/${other}`;
  if (mac === "/usr/local" || mac.startsWith("/usr/local/") || mac.startsWith("/System/Volumes/Data")) return "data";
  return mac === "/" || ["/System", "/bin", "/sbin", "/usr"].some((d) => mac === d || mac.startsWith(`${d}/`)) ? "system" : "data";
}

/** The volumes file: `{ "<name>": "apfs" | "hfs" }` (MacSimulator.addVolume). */
export function volumeFormats(world: World): Record<string, VolumeFormat> {
  try {
    return JSON.parse(readFileSync(join(world.simDir, "volumes.json"), "utf8")) as Record<string, VolumeFormat>;
  } catch {
    return {};
  }
}

/** The real cp of this machine (linkRealTools finds tools the same way). */
function realCp(): string {
  for (const d of ["/bin", "/usr/bin"]) {
    try {
      statSync(join(d, "cp"));
      return join(d, "cp");
    } catch {
      // not in this one
    }
  }
  throw new ToolExit(70, "cp: simulator: no cp on this machine\n");
}

interface Run {
  world: World;
  who: Who | undefined;
  recurse: boolean;
  verbose: boolean;
  /** The process's umask (cp.c's `mask = ~umask(0777)`). */
  mask: number;
  rval: number;
}

const warn = (run: Run, text: string) => {
  process.stderr.write(`cp: ${text}\n`);
  run.rval = 1;
};

/** strerror(3)'s words for the errors a clone or a copy here meets. */
const STRERROR: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EXDEV: "Cross-device link",
  ENOTDIR: "Not a directory",
  EEXIST: "File exists",
  ENOSPC: "No space left on device",
  EROFS: "Read-only file system",
};
const words = (e: unknown) => STRERROR[(e as NodeJS.ErrnoException).code ?? ""] ?? String((e as Error).message);

/** The Mac path of a real path under the root ("/" for the root itself). */
function macPath(world: World, real: string): string {
  return real === world.root ? "/" : `/${relative(world.root, real)}`;
}

function realIfThere(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Whether the simulated user may add an entry to folder `dir` (write and search on it, search on
 *  the way: open(2)/mkdir(2)'s EACCES). Root always may. */
function mayWriteIn(run: Run, dir: string): boolean {
  if (!run.who || !checked(dir, run.world.root)) return true;
  if (!maySearch(join(dir, "x"), run.who, run.world.root)) return false;
  const real = realIfThere(dir);
  if (!real) return true;
  const st = ownerOf(real, statSync(real), run.world.root);
  return permits(st, run.who.uid, run.who.gids, 2) && permits(st, run.who.uid, run.who.gids, 1);
}

/** clonefile(2) of the regular file `from` to `to` (which does not exist: copy_file unlinked it):
 *  EXDEV when they are on two volumes (checked before anything else: clonefile_internal), EACCES
 *  when the user may not read `from` or add to `to`'s folder, ENOTSUP on a volume that is not
 *  APFS. A clone keeps the mode without setuid/setgid; the owner is the caller's unless root
 *  (clonefile.2: "ownership information is set as it would be if dst was created by openat(2)"). */
function clonefile(run: Run, from: string, to: string, st: Stats): void {
  const { world } = run;
  const src = macPath(world, realpathSync(from));
  const dst = macPath(world, join(realIfThere(dirname(to)) ?? dirname(to), basename(to)));
  const fail = (code: string) => Object.assign(new Error(code), { code });
  if (volumeOf(src) !== volumeOf(dst)) throw fail("EXDEV");
  if (!mayWriteIn(run, dirname(to))) throw fail("EACCES");
  const volume = volumeOf(dst);
  if (volume.startsWith("/Volumes/") && volumeFormats(world)[volume.slice("/Volumes/".length)] === "hfs") throw fail("ENOTSUP");
  copyData(run, from, to, st);
}

/** The data and mode: FICLONE (a reflink: blocks shared) where this machine's file system can,
 *  else a full copy (Node's COPYFILE_FICLONE falls back by itself). */
function copyData(run: Run, from: string, to: string, st: Stats): void {
  copyFileSync(from, to, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
  chmodSync(to, st.mode & 0o1777);
  // Root's clone keeps the owner; a user's is the user's: made by this root process inside the
  // user's folders, it stands for them (tools/access.ts ownerOf).
  if (!run.who) lchownSync(to, st.uid, st.gid);
}

/** utils.c copy_file with -c: an existing destination is unlinked first; then clonefile; ENOTSUP
 *  falls back to a copy silently; any other error is `<dst>: clonefile failed: <error>`. */
function copyFile(run: Run, from: string, to: string, st: Stats): void {
  if (run.who && !mayRead(from, run.who, run.world.root)) {
    warn(run, `${from}: Permission denied`);
    return;
  }
  try {
    unlinkSync(to);
  } catch {
    // not there
  }
  try {
    clonefile(run, from, to, st);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOTSUP") {
      warn(run, `${to}: clonefile failed: ${words(e)}`);
      return;
    }
    try {
      copyData(run, from, to, st);
    } catch (e2) {
      warn(run, `${to}: ${words(e2)}`);
    }
  }
}

/** One entry of the fts walk (cp.c copy): `dne` is whether `to` is not there yet. */
function copyEntry(run: Run, from: string, to: string): void {
  let st: Stats;
  try {
    st = lstatSync(from);
  } catch (e) {
    warn(run, `${from}: ${words(e)}`);
    return;
  }
  const dne = (() => {
    try {
      lstatSync(to);
      return false;
    } catch {
      return true;
    }
  })();
  if (st.isSymbolicLink()) {
    // copy_link: readlink, unlink an existing one, symlink.
    try {
      if (!dne) unlinkSync(to);
      symlinkSync(readlinkSync(from), to);
      if (!run.who) lchownSync(to, st.uid, st.gid);
    } catch (e) {
      warn(run, `symlink: ${words(e)}`);
      return;
    }
  } else if (st.isDirectory()) {
    if (!run.recurse) {
      warn(run, `${from} is a directory (not copied).`);
      return;
    }
    if (dne) {
      if (!mayWriteIn(run, dirname(to))) {
        warn(run, `${to}: Permission denied`);
        return;
      }
      // mkdir with the source's mode and the owner's rwx, under the umask; the mode itself once
      // the folder is done (the post-order chmod, `mode & mask`).
      try {
        mkdirSync(to, { mode: (st.mode | 0o700) & run.mask & 0o777 });
      } catch (e) {
        warn(run, `${to}: ${words(e)}`);
        return;
      }
    } else if (!statSync(to).isDirectory()) {
      warn(run, `${to}: Not a directory`);
      return;
    }
    const entries = run.who && !mayRead(from, run.who, run.world.root) ? undefined : readdirSync(from);
    if (!entries) {
      warn(run, `${from}: Permission denied`);
      return;
    }
    // fts(3) order (FTS_NOCHDIR, no comparison function): the directory's own order.
    for (const name of entries) copyEntry(run, join(from, name), join(to, name));
    if (dne) chmodSync(to, st.mode & 0o7777 & run.mask);
  } else if (st.isSocket()) {
    // Not an error: cp.c's S_IFSOCK case only warns.
    process.stderr.write(`cp: ${from} is a socket (not copied).\n`);
    return;
  } else if (st.isFile()) {
    copyFile(run, from, to, st);
  } else {
    warn(run, `${from}: simulator: a fifo or device with -c is not simulated`);
    return;
  }
  if (run.verbose) process.stdout.write(`${from} -> ${to}\n`);
}

export async function cp(world: World, argv: string[]): Promise<number> {
  const parsed = getopt("cp", argv, OPTSTRING);
  if (parsed.error) throw new ToolExit(64, `${parsed.error.message}${USAGE}`);
  const flags = parsed.options.map((o) => o.opt);
  if (!flags.includes("c")) {
    // Not a clone: the real cp, as every other linked POSIX tool (README.md "System tools").
    const r = spawnSync(realCp(), argv, { stdio: "inherit" });
    return r.status ?? 1;
  }
  if (parsed.operands.length < 2) throw new ToolExit(64, USAGE);
  if (flags.includes("X")) throw new ToolExit(1, "cp: the -c and -X options may not be specified together\n");
  const other = flags.find((f) => !WITH_C.includes(f));
  if (other) throw new ToolExit(1, `cp: simulator: -${other} with -c is not simulated\n`);
  const umask = process.umask();
  const run: Run = {
    world,
    who: simulatedWho(world),
    recurse: flags.includes("R"),
    verbose: flags.includes("v"),
    mask: ~umask & 0o7777,
    rval: 0,
  };
  const sources = parsed.operands.slice(0, -1);
  let target = parsed.operands.at(-1) as string;
  const trailing = target.endsWith("/");
  target = target.replace(/\/+$/, "") || "/";
  let targetStat: Stats | undefined;
  try {
    targetStat = statSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new ToolExit(1, `cp: ${target}: ${words(e)}\n`);
  }
  if (targetStat?.isDirectory()) {
    // FILE_TO_DIR: each source into the folder, by its last name.
    for (const src of sources) copyEntry(run, src.replace(/\/+$/, "") || "/", join(target, basename(resolve(src))));
    return run.rval;
  }
  if (sources.length > 1) throw new ToolExit(1, `cp: ${target} is not a directory\n`);
  const src = sources[0] as string;
  let isDir = false;
  try {
    isDir = lstatSync(src).isDirectory();
  } catch {
    // copyEntry reports it
  }
  if (trailing && !(isDir && run.recurse))
    throw new ToolExit(1, targetStat ? `cp: ${target} is not a directory\n` : `cp: directory ${target} does not exist\n`);
  // DIR_TO_DNE (the folder becomes the target) or FILE_TO_FILE.
  copyEntry(run, src, target);
  return run.rval;
}
