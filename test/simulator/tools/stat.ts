// stat(1) as macOS has it: BSD's, from apple-oss-distributions/file_cmds stat/stat.c (README.md
// "System tools" cites each point). Not GNU's: no `-c`, no `--format`; options end at the first
// operand (BSD getopt does not permute). Every format datum the product and the README use is
// modelled as stat.c's format1 prints it; a datum or option this simulator does not model is
// refused with a `simulator:` message rather than guessed.
import { constants, lstatSync, readlinkSync, type Stats, statSync } from "node:fs";
import { checked, maySearch, simulatedWho } from "./access";
import { getopt } from "./getopt";
import { ToolExit, type World } from "./world";

const { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } = constants;

/** stat.c's synopsis on macOS (`__APPLE__`), printed by usage() as `usage: stat <synopsis>`. */
const SYNOPSIS = "[-FLnq] [-f format | -l | -r | -s | -x] [-t timefmt] [file ...]";
const usage = (): ToolExit => new ToolExit(1, `usage: stat ${SYNOPSIS}\n`);

/** stat.c's getopt(3) loop over `f:FlLnqrst:x` (./getopt.ts): getopt's `illegal option -- c` or
 *  `option requires an argument -- c`, then usage(), exit 1. */
function parseOptions(argv: string[]): { opts: Map<string, string>; files: string[] } {
  const { options, operands, error } = getopt("stat", argv, "f:FlLnqrst:x");
  if (error) {
    process.stderr.write(error.message);
    throw usage();
  }
  return { opts: new Map(options.map(({ opt, arg }) => [opt, arg ?? ""])), files: operands };
}

/** strmode(3): the ten characters `ls -l` shows (stat.c drops strmode's trailing space). */
function strmode(mode: number): string {
  const type = new Map<number, string>([
    [S_IFSOCK, "s"],
    [S_IFLNK, "l"],
    [S_IFREG, "-"],
    [S_IFBLK, "b"],
    [S_IFDIR, "d"],
    [S_IFCHR, "c"],
    [S_IFIFO, "p"],
  ]);
  const bit = (m: number, c: string) => (mode & m ? c : "-");
  const x = (exec: number, special: number, set: string, unset: string) =>
    mode & special ? (mode & exec ? set : unset) : mode & exec ? "x" : "-";
  return (
    (type.get(mode & S_IFMT) ?? "?") +
    bit(0o400, "r") +
    bit(0o200, "w") +
    x(0o100, 0o4000, "s", "S") +
    bit(0o040, "r") +
    bit(0o020, "w") +
    x(0o010, 0o2000, "s", "S") +
    bit(0o004, "r") +
    bit(0o002, "w") +
    x(0o001, 0o1000, "t", "T")
  );
}

interface Spec {
  flags: string;
  size: number;
  prec: number;
}

/** printf(3)'s %s with stat.c's flags, width and precision. */
function padString(s: string, { flags, size, prec }: Spec): string {
  const cut = prec >= 0 ? s.slice(0, prec) : s;
  if (size < 0 || cut.length >= size) return cut;
  return flags.includes("-") ? cut.padEnd(size) : cut.padStart(size);
}

/** printf(3)'s %lld / %llo / %llu / %llx with stat.c's flags, width and precision. */
function padNumber(n: bigint, ofmt: string, { flags, size, prec }: Spec): string {
  const negative = ofmt === "D" && n < 0n;
  const magnitude = negative ? -n : n;
  let digits = magnitude.toString(ofmt === "O" ? 8 : ofmt === "X" ? 16 : 10);
  if (prec >= 0) digits = prec === 0 && magnitude === 0n ? "" : digits.padStart(prec, "0");
  let prefix = "";
  if (ofmt === "D") prefix = negative ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
  if (flags.includes("#") && ofmt === "O" && !digits.startsWith("0")) digits = `0${digits}`;
  if (flags.includes("#") && ofmt === "X" && magnitude !== 0n) prefix = "0x";
  const body = prefix + digits;
  if (size < 0 || body.length >= size) return body;
  if (flags.includes("-")) return body.padEnd(size);
  if (flags.includes("0") && prec < 0) return prefix + digits.padStart(size - prefix.length, "0");
  return body.padStart(size);
}

/** One `%…` datum of a format string, as stat.c's output() parses it and format1() prints it. */
function formatOne(
  world: World,
  st: Stats & { [k: string]: unknown },
  file: string,
  spec: Spec,
  ofmt: string,
  hilo: string,
  what: string,
  sub: string,
): string {
  const bad = () => new ToolExit(1, `stat: ${sub}: bad format\n`);
  const big = (v: number | bigint) => BigInt(v);
  let data = 0n;
  let sdata: string | undefined;
  let formats = "DOUX";
  let def = "U";
  switch (what) {
    case "p":
    case "A": {
      data = big(st.mode);
      let s = strmode(st.mode);
      if (what === "A") data &= 0o7777n;
      if (hilo === "H") {
        data >>= 12n;
        s = s.slice(1, 4);
      } else if (hilo === "M") {
        data = (data >> 9n) & 0o7n;
        s = s.slice(4, 7);
      } else if (hilo === "L") {
        data &= 0o777n;
        s = s.slice(7, 10);
      }
      hilo = "";
      sdata = s;
      formats = "DOUXS";
      def = "O";
      break;
    }
    case "u":
    case "g": {
      const id = what === "u" ? st.uid : st.gid;
      data = big(id);
      // user_from_uid(uid, 1) / group_from_gid(gid, 1): NULL for an unknown id, then "(id)".
      const name =
        what === "u"
          ? id === 0
            ? "root"
            : Object.entries(world.state().users).find(([, u]) => u.uid === id)?.[0]
          : Object.entries(world.groups()).find(([, g]) => g.gid === id)?.[0];
      sdata = name ?? `(${id})`;
      formats = "DOUXS";
      break;
    }
    case "i":
      data = big(st.ino);
      break;
    case "l":
      data = big(st.nlink);
      break;
    case "z":
      data = big(st.size);
      break;
    case "b":
      data = big(st.blocks);
      break;
    case "k":
      data = big(st.blksize);
      break;
    case "N":
      sdata = file;
      formats = "S";
      def = "S";
      break;
    case "Y": {
      formats = "S";
      def = "S";
      if (st.isSymbolicLink()) {
        const target = ` -> ${readlinkSync(file)}`;
        sdata = ofmt === "S" ? target : target.slice(4);
      } else sdata = "";
      break;
    }
    case "T": {
      formats = "S";
      def = "S";
      const type = st.mode & S_IFMT;
      if (hilo === "" || hilo === "L") {
        const short = new Map<number, string>([
          [S_IFIFO, "|"],
          [S_IFDIR, "/"],
          [S_IFLNK, "@"],
          [S_IFSOCK, "="],
        ]);
        sdata = type === S_IFREG ? (st.mode & 0o111 ? "*" : "") : (short.get(type) ?? "");
      } else if (hilo === "H") {
        const long = new Map<number, string>([
          [S_IFIFO, "Fifo File"],
          [S_IFCHR, "Character Device"],
          [S_IFDIR, "Directory"],
          [S_IFBLK, "Block Device"],
          [S_IFREG, "Regular File"],
          [S_IFLNK, "Symbolic Link"],
          [S_IFSOCK, "Socket"],
        ]);
        sdata = long.get(type) ?? "???";
      }
      hilo = "";
      break;
    }
    default:
      // d r a m c B f v Z R: real data on a Mac (devices, times, flags), which this simulator does not model.
      throw new ToolExit(1, `stat: simulator: the format datum %${what} (${sub}) is not simulated\n`);
  }
  const chosen = ofmt || def;
  if (hilo !== "" || !formats.includes(chosen)) throw bad();
  if (chosen === "S") {
    if (sdata === undefined) throw bad();
    return padString(sdata, spec);
  }
  return padNumber(data, chosen, spec);
}

/** stat.c output(): plain characters as they are; `%n` `%t` `%%` `%@`; else
 *  `%[#+- 0][size][.prec][DOUXFS][HML]<datum>`; a newline at the end unless `-n` or the format
 *  ended with one. */
function output(world: World, st: Stats, file: string, fmt: string, fn: number, nonl: boolean): string {
  let out = "";
  let i = 0;
  while (i < fmt.length) {
    const ch = fmt[i] as string;
    if (ch !== "%") {
      out += ch;
      i++;
      continue;
    }
    const start = i;
    i++;
    const simple: Record<string, string> = { n: "\n", t: "\t", "%": "%", "@": String(fn) };
    if (fmt[i] !== undefined && simple[fmt[i] as string] !== undefined) {
      out += simple[fmt[i] as string];
      i++;
      continue;
    }
    let flags = "";
    while (fmt[i] !== undefined && "# +0-".includes(fmt[i] as string)) flags += fmt[i++];
    let size = -1;
    if (/\d/.test(fmt[i] ?? "")) {
      size = 0;
      while (/\d/.test(fmt[i] ?? "")) size = size * 10 + Number(fmt[i++]);
    }
    let prec = -1;
    if (fmt[i] === ".") {
      i++;
      prec = 0;
      while (/\d/.test(fmt[i] ?? "")) prec = prec * 10 + Number(fmt[i++]);
    }
    let ofmt = "";
    if (fmt[i] !== undefined && "DOUXFS".includes(fmt[i] as string)) ofmt = fmt[i++] as string;
    let hilo = "";
    if (fmt[i] !== undefined && "HML".includes(fmt[i] as string)) hilo = fmt[i++] as string;
    const what = fmt[i];
    // badfmt: `errx(1, "%.*s: bad format", …)` — the substring up to and including the bad character.
    if (what === undefined || !"RdipAlugramcBzbkfvYTNZ".includes(what))
      throw new ToolExit(1, `stat: ${fmt.slice(start, i + 1)}: bad format\n`);
    i++;
    if (ofmt === "F") throw new ToolExit(1, `stat: simulator: the output format F (${fmt.slice(start, i)}) is not simulated\n`);
    out += formatOne(world, st as Stats & { [k: string]: unknown }, file, { flags, size, prec }, ofmt, hilo, what, fmt.slice(start, i));
  }
  if (!nonl && !out.endsWith("\n")) out += "\n";
  return out;
}

export async function stat(world: World, argv: string[]): Promise<number> {
  const { opts, files } = parseOptions(argv);
  // stat.c: -f, -l, -r, -s, -x each choose the format; two of them → `can't use format`.
  for (const other of ["l", "r", "s", "x", "F", "t"])
    if (opts.has(other)) throw new ToolExit(1, `stat: simulator: option -${other} is not simulated (only -f format, -L, -n, -q)\n`);
  const fmt = opts.get("f");
  if (fmt === undefined) throw new ToolExit(1, "stat: simulator: stat without -f (its default format prints times) is not simulated\n");
  if (files.length === 0) throw new ToolExit(1, "stat: simulator: stat of standard input is not simulated\n");
  const who = simulatedWho(world);
  let errs = 0;
  files.forEach((file, n) => {
    let st: Stats;
    try {
      // Every real process here is root: the lookup's search (x) permission on each directory of
      // the path is checked for the simulated user, as the kernel does on a Mac (EACCES): the
      // model of README.md "Reads" (./access.ts).
      if (who && checked(file, world.root) && !maySearch(file, who, world.root, opts.has("L")))
        throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      // -L: stat(2), falling back to lstat(2) for a broken link; else lstat(2).
      if (opts.has("L"))
        try {
          st = statSync(file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          st = lstatSync(file);
        }
      else st = lstatSync(file);
    } catch (e) {
      errs = 1;
      // warn("%s: stat", file): `stat: <file>: stat: <strerror>`.
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT"
          ? "No such file or directory"
          : code === "EACCES"
            ? "Permission denied"
            : code === "ENOTDIR"
              ? "Not a directory"
              : String(code);
      if (!opts.has("q")) process.stderr.write(`stat: ${file}: stat: ${why}\n`);
      return;
    }
    process.stdout.write(output(world, st, file, fmt, n + 1, opts.has("n")));
  });
  return errs;
}
