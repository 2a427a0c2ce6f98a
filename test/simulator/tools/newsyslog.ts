// newsyslog(8) as macOS ships it: Apple's crontabs project, newsyslog/newsyslog.c (FreeBSD's
// v1.108 with __APPLE__ changes; README.md "newsyslog" cites each behaviour). Config from
// <root>/etc/newsyslog.conf and every <root>/etc/newsyslog.d/*.conf; each line
// `logfilename [owner:group] mode count size when [flags] [/pid_file] [sig_num]`. The whole
// configuration is parsed before anything is rotated, and a bad line ends the run (errx) with
// nothing changed. Log and pid-file paths are real paths under the root, like every path here;
// a path outside the simulated Mac is refused, so a typo never rotates a file of this machine.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  fchmodSync,
  fchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { getopt } from "./getopt";
import { isSimProcess, sleep, ToolExit, type World } from "./world";

const CE_COMPACT = 0x1; // Z: gzip
const CE_BZCOMPACT = 0x2; // J: bzip2
const CE_BINARY = 0x8; // B: no status line in the log
const CE_NOSIGNAL = 0x10; // N
const CE_TRIMAT = 0x20; // an @/$ time in `when`
const CE_SIGNALGROUP = 0x80; // U
const CE_CREATE = 0x100; // C

interface Entry {
  log: string;
  pidFile?: string;
  reason?: string;
  firstCreate: boolean;
  fsize: number;
  uid: number;
  gid: number;
  numlogs: number;
  trsize: number;
  hours: number;
  permissions: number;
  flags: number;
  sig: number;
  defCfg: boolean;
}

interface SigWork {
  signum: number;
  pidok: number;
  pid: number;
  pidtype: string;
  fname: string;
}

interface ZipWork {
  entry: Entry;
  swork?: SigWork;
  fsize: number;
  fname: string;
}

const USAGE =
  "usage: newsyslog [-CFNnrsv] [-a directory] [-d directory] [-f config-file]\n                 [ [-R requestor] filename ... ]\n";
/** macOS's NSIG: signals 1–31. */
const NSIG = 32;

class Run {
  verbose = 0;
  noaction = false;
  needroot = true;
  nosignal = false;
  force = false;
  norotate = false;
  createlogs = 0;
  conf?: string;
  readonly out: string[] = [];
  readonly sigwork: SigWork[] = [];
  readonly zipwork: ZipWork[] = [];
  /** ctime(3) from the 5th character: "Nov 30 16:25:01". */
  readonly daytime: string;

  constructor(readonly world: World) {
    const d = new Date();
    const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getMonth()];
    const t = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
    this.daytime = `${mon} ${String(d.getDate()).padStart(2)} ${t}`;
  }

  print(s: string): void {
    process.stdout.write(s);
  }
  /** warnx(3): "newsyslog: " and the message. */
  warnx(s: string): void {
    process.stderr.write(`newsyslog: ${s}\n`);
  }
  /** errx(3): the same, then exit 1 — before anything was rotated when it comes from parsing. */
  errx(s: string): never {
    throw new ToolExit(1, `newsyslog: ${s}\n`);
  }
  inside(path: string): void {
    if (!path.startsWith(`${this.world.root}/`)) this.errx(`simulator: ${path} is outside the simulated Mac (${this.world.root})`);
  }
}

export async function newsyslog(world: World, argv: string[]): Promise<number> {
  const run = new Run(world);
  const files = parseArgs(run, argv);
  if (run.needroot && world.user !== "root") run.errx("must have root privs");
  const work = worklist(run, files);
  for (const ent of work) doEntry(run, ent);
  if (run.sigwork.length > 0) {
    if (run.noaction || run.verbose) run.print("Signal all daemon process(es)...\n");
    for (let i = 0; i < run.sigwork.length; i++) await doSigwork(run, run.sigwork[i] as SigWork, run.sigwork[i + 1]);
    if (run.noaction) run.print("\tsleep 10\n");
    else {
      if (run.verbose) run.print("Pause 10 seconds to allow daemon(s) to close log file(s)\n");
      await sleep(10_000);
    }
  }
  if (run.zipwork.length > 0) {
    if (run.noaction || run.verbose) run.print("Compress all rotated log file(s)...\n");
    for (const z of run.zipwork) doZipwork(run, z);
  }
  return 0;
}

/** newsyslog.c's getopt(3) loop over "a:d:f:nrsvCD:FNR:" (./getopt.ts), its switch run on each
 *  option in argv order; getopt's error then usage(), exit 1. -a, -d, -D and -R are real options
 *  the simulator does not have: refused. */
function parseArgs(run: Run, argv: string[]): string[] {
  const { options, operands, error } = getopt("newsyslog", argv, "a:d:f:nrsvCD:FNR:");
  for (const { opt, arg } of options) {
    if ("adDR".includes(opt)) run.errx(`simulator: option -${opt} is not simulated`);
    else if (opt === "f") run.conf = arg;
    else if (opt === "n") run.noaction = true;
    else if (opt === "r") run.needroot = false;
    else if (opt === "s") run.nosignal = true;
    else if (opt === "v") run.verbose++;
    else if (opt === "C") run.createlogs++;
    else if (opt === "F") run.force = true;
    else if (opt === "N") run.norotate = true;
  }
  if (error) throw new ToolExit(1, `${error.message}${USAGE}`);
  if (run.force && run.norotate) throw new ToolExit(1, `newsyslog: Only one of -F and -N may be specified.\n${USAGE}`);
  return operands;
}

function newEntry(log: string, src?: Entry): Entry {
  if (src) return { ...src, log, reason: undefined, firstCreate: false, fsize: -1 };
  // init_entry(fname, NULL): a "do-nothing" entry
  return {
    log,
    firstCreate: false,
    fsize: -1,
    uid: -1,
    gid: -1,
    numlogs: 1,
    trsize: -1,
    hours: -1,
    permissions: 0,
    flags: 0,
    sig: 1,
    defCfg: false,
  };
}

/** get_worklist: the main file (its absence is fatal), then, without -f, /etc/newsyslog.d/*.conf
 *  in glob(3) order (the __APPLE__ addition); with file arguments, only those files. */
function worklist(run: Run, files: string[]): Entry[] {
  const fname = run.conf ?? run.world.path("/etc/newsyslog.conf");
  const work: Entry[] = [];
  const defconf: { entry?: Entry } = {};
  const read = (f: string) => {
    try {
      return readFileSync(f === "-" ? 0 : f, "utf8");
    } catch (e) {
      return run.errx(`${f}: ${strerror(e)}`);
    }
  };
  parseFile(run, read(fname), work, defconf);
  if (run.conf === undefined) {
    const dir = run.world.path("/etc/newsyslog.d");
    const confs = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".conf") && !n.startsWith(".")) : [];
    for (const name of confs.sort()) parseFile(run, read(join(dir, name)), work, defconf);
  }
  if (files.length === 0) return work;
  let def = defconf.entry;
  if (!def) {
    def = newEntry("<default>");
    def.numlogs = 3;
    def.trsize = 50;
    def.permissions = 0o600;
  }
  const out: Entry[] = [];
  for (const given of files) {
    const matched = work.filter((e) => e.log === given).map((e) => newEntry(given, e));
    if (matched.length > 0) {
      out.push(...matched);
      continue;
    }
    run.inside(given);
    out.push({ ...newEntry(given, def), defCfg: true });
  }
  return out;
}

const isspace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** parse_file: fgets lines; `#` starts a comment unless escaped as `\#`; fields split as sob()/son()
 *  split them, with the program's own error for each malformed field. */
function parseFile(run: Run, text: string, work: Entry[], defconf: { entry?: Entry }): void {
  const lines = text.split(/(?<=\n)/);
  for (const raw of lines) {
    if (raw === "" || raw[0] === "\n" || raw[0] === "#") continue;
    const errline = raw; // with its newline, as fgets() left it
    let line = raw;
    for (let cp = 1; cp < line.length; cp++) {
      if (line[cp] !== "#") continue;
      if (line[cp - 1] === "\\") {
        line = line.slice(0, cp - 1) + line.slice(cp);
        cp--;
        continue;
      }
      line = line.slice(0, cp);
      break;
    }
    const fatal: (what: string) => never = (what) => run.errx(`${what}:\n${errline}`);
    const sob = (p: number) => {
      while (p < line.length && isspace(line[p])) p++;
      return p;
    };
    const son = (p: number) => {
      while (p < line.length && !isspace(line[p])) p++;
      return p;
    };
    // A mandatory field: missing_field() on its start, "missing fields" when the line ends with it.
    let parse = -1;
    const mandatory = (last = false): { q: string; eol: boolean } => {
      const q = sob(parse + 1);
      if (q >= line.length) fatal("missing field in config file");
      parse = son(q);
      const eol = parse >= line.length;
      if (eol && !last) fatal("malformed line (missing fields)");
      return { q: line.slice(q, parse), eol };
    };
    const optional = (): { q: string; eol: boolean } => {
      const q = sob(parse + 1);
      parse = son(q);
      return { q: line.slice(q, parse), eol: parse >= line.length };
    };

    const name = mandatory().q;
    if (name.toLowerCase() === "<debug>") continue; // debug options: undocumented, ignored here
    const working = newEntry(name);
    let special = false;
    if (name.toLowerCase() === "<default>") {
      if (defconf.entry) {
        run.warnx(`Ignoring duplicate entry for ${name}!`);
        continue;
      }
      special = true;
      defconf.entry = working;
    } else run.inside(name);

    let q = mandatory().q;
    const colon = q.includes(":") ? q.indexOf(":") : q.lastIndexOf(".");
    if (colon >= 0) {
      const owner = q.slice(0, colon);
      const group = q.slice(colon + 1);
      if (owner) {
        const uid = run.world.uidOf(owner);
        if (uid === undefined) fatal("error in config file; unknown user");
        working.uid = uid;
      }
      if (group) {
        const gid = run.world.gidOf(group);
        if (gid === undefined) fatal("error in config file; unknown group");
        working.gid = gid;
      }
      q = mandatory().q;
    }
    if (working.gid === -1) working.gid = 80; // __APPLE__ (4744131): no group given → admin

    const mode = /^[+-]?[0-7]+/.exec(q);
    if (!mode) fatal("error in config file; bad permissions");
    working.permissions = Number.parseInt(mode[0], 8);

    q = mandatory().q;
    const count = /^[+-]?\d+/.exec(q);
    if (!count || Number(count[0]) < 0) fatal("error in config file; bad value for count of logs to save");
    working.numlogs = Number(count[0]);

    q = mandatory().q;
    if (/^\d/.test(q)) working.trsize = Number.parseInt(q, 10);
    else if (q === "*") working.trsize = -1;
    else {
      run.warnx(`Invalid value of '${q}' for 'size' in line:\n${errline}`);
      working.trsize = -1;
    }

    // `when`: hours (strtoul), `*`, or an ISO 8601 (@) / day-week-month ($) time.
    const when = mandatory(true);
    q = when.q;
    let eol = when.eol;
    const digits = /^[+-]?\d*/.exec(q)?.[0] ?? "";
    const ep = q.slice(/\d/.test(digits) ? digits.length : 0);
    working.hours = /\d/.test(digits) ? Number(digits) : 0;
    if (working.hours > 2 ** 31 - 1 || working.hours < 0) fatal("interval is too large"); // strtoul wraps a minus
    if (!(ep === "" || ep === "*")) {
      if (ep[0] !== "@" && ep[0] !== "$") fatal("malformed interval/at");
      working.flags |= CE_TRIMAT; // the time itself is not evaluated here (README.md)
    }

    let flags = "";
    if (!eol) ({ q: flags, eol } = optional());
    for (const ch of flags) {
      switch (ch.toLowerCase()) {
        case "b":
          working.flags |= CE_BINARY;
          break;
        case "c":
          if (ch === "c") {
            run.warnx(`Assuming 'g' for 'c' in flags for line:\n${errline}`);
            run.warnx("The 'c' flag will eventually mean 'CREATE'");
            run.errx("simulator: flag 'G' (glob) is not simulated");
          }
          working.flags |= CE_CREATE;
          break;
        case "j":
          working.flags |= CE_BZCOMPACT;
          break;
        case "n":
          working.flags |= CE_NOSIGNAL;
          break;
        case "u":
          working.flags |= CE_SIGNALGROUP;
          break;
        case "z":
          working.flags |= CE_COMPACT;
          break;
        case "w": // deprecated, accepted
        case "-":
          break;
        case "d":
        case "g":
          run.errx(`simulator: flag '${ch.toUpperCase()}' is not simulated`);
          break;
        default:
          run.errx(`illegal flag in config file -- ${ch}`);
      }
    }

    let sigField = "";
    if (!eol) {
      const f = optional();
      eol = f.eol;
      if (f.q.startsWith("/")) working.pidFile = f.q;
      else if (/^\d/.test(f.q)) sigField = f.q;
      else if (f.q) fatal("illegal pid file or signal number in config file");
    }
    if (!sigField && !eol) sigField = optional().q;
    working.sig = 1; // SIGHUP
    if (sigField) {
      if (!/^\d/.test(sigField)) fatal("illegal signal number in config file");
      working.sig = Number.parseInt(sigField, 10);
      if (working.sig < 1 || working.sig >= NSIG) fatal("illegal signal number in config file");
    }

    if (working.flags & CE_NOSIGNAL) {
      if (working.pidFile) {
        run.warnx(`Ignoring '${working.pidFile}' because flag 'n' was specified in line:\n${errline}`);
        working.pidFile = undefined;
      }
    } else if (!working.pidFile) {
      if (working.flags & CE_SIGNALGROUP) {
        run.warnx(`Ignoring flag 'U' in line:\n${errline}`);
        working.flags &= ~CE_SIGNALGROUP;
      }
      // _PATH_SYSLOGPID: syslogd is signalled for every entry without N or a pid file (root only).
      if (run.needroot) working.pidFile = run.world.path("/var/run/syslog.pid");
    }
    if (working.pidFile) run.inside(working.pidFile);
    if (!special) work.push(working);
  }
}

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (
    { ENOENT: "No such file or directory", EACCES: "Permission denied", EPERM: "Operation not permitted", ESRCH: "No such process" }[
      code ?? ""
    ] ?? (e as Error).message
  );
}

/** sizefile(): kilobytes of the blocks the file occupies (st_blocks, not st_size), rounded up. */
function sizefile(file: string): number {
  try {
    return Math.floor((statSync(file).blocks * 512 + 1023) / 1024);
  } catch {
    return -1;
  }
}

/** age_old_log(): whole hours (rounded) since `<log>.0` (or .0.gz, .0.bz2) was written; -1 without one. */
function ageOldLog(file: string): number {
  for (const f of [`${file}.0`, `${file}.0.gz`, `${file}.0.bz2`]) {
    try {
      const mtime = Math.floor(statSync(f).mtimeMs / 1000);
      return Math.trunc((Math.floor(Date.now() / 1000) - mtime + 1800) / 3600);
    } catch {
      // next suffix
    }
  }
  return -1;
}

function tag(ent: Entry): string {
  return `${ent.log} <${ent.numlogs}${ent.flags & CE_COMPACT ? "Z" : ent.flags & CE_BZCOMPACT ? "J" : ""}>`;
}

function doEntry(run: Run, ent: Entry): void {
  if (run.verbose) run.print(`${tag(ent)}: `);
  ent.fsize = sizefile(ent.log);
  const modtime = ageOldLog(ent.log);
  if (ent.fsize < 0) {
    let why = "";
    if (run.createlogs > 1) ent.firstCreate = true;
    else if (ent.flags & CE_CREATE && run.createlogs) ent.firstCreate = true;
    else if (ent.flags & CE_CREATE) why = " (no -C option)";
    else if (run.createlogs) why = " (no C flag)";
    if (ent.firstCreate) {
      if (run.verbose) run.print("does not exist -> will create.\n");
      createlog(run, ent);
    } else if (run.verbose) run.print(`does not exist, skipped${why}.\n`);
    return;
  }
  if (ent.flags & CE_TRIMAT && !run.force) {
    // The simulator does not evaluate @/$ times: such an entry is never due (only -F rotates it).
    if (run.verbose) run.print("--> will trim at (an 'at' time the simulator does not evaluate)\n");
    return;
  }
  if (run.verbose && ent.trsize > 0) run.print(`size (Kb): ${ent.fsize} [${ent.trsize}] `);
  if (run.verbose && ent.hours > 0) run.print(` age (hr): ${modtime} [${ent.hours}] `);
  let rotate = false;
  let reason = "";
  if (run.force) {
    rotate = true;
    reason = " due to -F request";
  } else if (ent.trsize > 0 && ent.fsize >= ent.trsize) {
    rotate = true;
    reason = ` due to size>${ent.trsize}K`;
  } else if (ent.hours > 0 && (modtime >= ent.hours || modtime < 0)) rotate = true;
  if (rotate && !run.norotate) {
    if (reason) ent.reason = reason;
    if (run.verbose) run.print("--> trimming log....\n");
    if (run.noaction && !run.verbose) run.print(`${tag(ent)}: trimming\n`);
    doRotate(run, ent);
  } else if (run.verbose) run.print("--> skipping\n");
}

const exists = (f: string) => {
  try {
    lstatSync(f);
    return true;
  } catch {
    return false;
  }
};

/** do_rotate(): drop `.N` (and .N.gz, .N.bz2), shift `.k` → `.k+1` down to .0, link the log to .0,
 *  then createlog() renames a fresh file over the log. With count N, .0 … .N exist afterwards. */
function doRotate(run: Run, ent: Entry): void {
  let file1 = `${ent.log}.${ent.numlogs}`;
  for (const f of [file1, `${file1}.gz`, `${file1}.bz2`]) {
    if (run.noaction) run.print(`\trm -f ${f}\n`);
    else rmQuiet(f);
  }
  for (let c = ent.numlogs - 1; c >= 0; c--) {
    const file2 = file1;
    file1 = `${ent.log}.${c}`;
    let z1 = file1;
    let z2 = file2;
    if (!exists(z1)) {
      z1 = `${file1}.gz`;
      z2 = `${file2}.gz`;
      if (!exists(z1)) {
        z1 = `${file1}.bz2`;
        z2 = `${file2}.bz2`;
        if (!exists(z1)) continue;
      }
    }
    if (run.noaction) run.print(`\tmv ${z1} ${z2}\n`);
    else {
      try {
        renameSync(z1, z2);
      } catch {
        // "XXX - Ought to be checking for failure!"
      }
    }
    changeAttrs(run, z2, ent);
  }
  if (ent.numlogs > 0) {
    if (run.noaction) run.print(`\tln ${ent.log} ${file1}\n`);
    else {
      if (!(ent.flags & CE_BINARY)) logTrim(run, ent.log, ent);
      try {
        linkSync(ent.log, file1);
      } catch {
        copyFileSync(ent.log, file1); // savelog(): a copy when link() fails
      }
    }
    changeAttrs(run, file1, ent);
  }
  if (run.noaction) run.print("Start new log...\n");
  createlog(run, ent);
  let swork: SigWork | undefined;
  if (ent.pidFile) swork = saveSigwork(run, ent);
  if (ent.numlogs > 0 && ent.flags & (CE_COMPACT | CE_BZCOMPACT)) {
    if (!run.zipwork.some((z) => z.fname === file1)) {
      // smallest first, as save_zipwork() orders them
      const z: ZipWork = { entry: ent, swork, fsize: ent.fsize, fname: file1 };
      const at = run.zipwork.findIndex((o) => z.fsize <= o.fsize);
      run.zipwork.splice(at < 0 ? run.zipwork.length : at, 0, z);
    }
  }
}

function rmQuiet(f: string): void {
  try {
    unlinkSync(f);
  } catch {
    // not there
  }
}

/** log_trim(): the status line newsyslog appends to the old log and writes into the new one. */
function logTrim(run: Run, file: string, ent: Entry, fd?: number): void {
  const xtra = ent.defCfg ? " using <default> rule" : "";
  const head = `${run.daytime} sim-mac newsyslog[${process.pid}]:`;
  const line = ent.firstCreate ? `${head} logfile first created${xtra}\n` : `${head} logfile turned over${ent.reason ?? ""}${xtra}\n`;
  if (fd !== undefined) writeSync(fd, line);
  else {
    const f = openSync(file, "a");
    writeSync(f, line);
    closeSync(f);
  }
}

/** createlog(): a mkstemp file `<log>.zXXXXXX` (mode 0600, owned by newsyslog: root), the status
 *  line unless B, fchown to the entry's owner:group, fchmod to its mode, renamed over the log. */
function createlog(run: Run, ent: Entry): void {
  if (ent.firstCreate) {
    const dir = dirname(ent.log);
    if (!existsSync(dir)) {
      if (run.noaction) run.print(`\tmkdir ${dir}\n`);
      else mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (run.verbose) run.print(`Created directory '${dir}' for new ${ent.log}\n`);
    }
  }
  const chown = ent.uid !== -1 || ent.gid !== -1;
  const u32 = (n: number) => (n === -1 ? 4294967295 : n); // printed with %u
  if (run.noaction) {
    const temp = `${ent.log}.zXXXXXX`;
    run.print(`\tmktemp ${temp}\n`);
    if (chown) run.print(`\tchown ${u32(ent.uid)}:${u32(ent.gid)} ${temp}\n`);
    run.print(`\tchmod ${ent.permissions.toString(8)} ${temp}\n\tmv ${temp} ${ent.log}\n`);
    return;
  }
  let temp = "";
  let fd = -1;
  for (let i = 0; fd < 0; i++) {
    temp = `${ent.log}.z${Math.random().toString(36).slice(2, 8).padEnd(6, "X")}`;
    try {
      fd = openSync(temp, "wx", 0o600);
    } catch (e) {
      if (i > 20) run.errx(`can't mkstemp logfile ${ent.log}.zXXXXXX: ${strerror(e)}`);
    }
  }
  try {
    if (!(ent.flags & CE_BINARY)) logTrim(run, temp, ent, fd);
    if (chown) {
      try {
        fchownSync(fd, ent.uid, ent.gid);
      } catch (e) {
        run.errx(`can't fchown temp file ${temp}: ${strerror(e)}`);
      }
    }
    fchmodSync(fd, ent.permissions);
    renameSync(temp, ent.log);
  } finally {
    closeSync(fd);
  }
}

/** change_attrs(): mode, and owner:group when one is set (always, on macOS: group 80 by default). */
function changeAttrs(run: Run, fname: string, ent: Entry): void {
  const chown = ent.uid !== -1 || ent.gid !== -1;
  if (run.noaction) {
    run.print(`\tchmod ${ent.permissions.toString(8)} ${fname}\n`);
    if (chown) run.print(`\tchown ${ent.uid === -1 ? 4294967295 : ent.uid}:${ent.gid === -1 ? 4294967295 : ent.gid} ${fname}\n`);
    return;
  }
  try {
    chmodSync(fname, ent.permissions);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") run.errx(`chmod(${fname}) in change_attrs: ${strerror(e)}`);
    run.warnx(`change_attrs couldn't chmod(${fname}): ${strerror(e)}`);
  }
  if (chown) {
    try {
      chownSync(fname, ent.uid, ent.gid);
    } catch (e) {
      run.warnx(`can't chown ${fname}: ${strerror(e)}`);
    }
  }
}

/** save_sigwork() + set_swpid(): one entry per pid file and signal; the PID is read now. */
function saveSigwork(run: Run, ent: Entry): SigWork {
  const pidFile = ent.pidFile as string;
  const same = run.sigwork.find((s) => s.fname === pidFile && s.signum === ent.sig);
  if (same) return same;
  const sw: SigWork = { signum: ent.sig, pidok: 0, pid: 0, pidtype: "daemon", fname: pidFile };
  // descending by file name, as the real list is kept
  const at = run.sigwork.findIndex((s) => pidFile > s.fname || (pidFile === s.fname && ent.sig > s.signum));
  run.sigwork.splice(at < 0 ? run.sigwork.length : at, 0, sw);
  let [minok, maxok] = [5, Number.MAX_SAFE_INTEGER]; // MIN_PID; MAX_PID (99999) is a Mac's own bound, not Linux's
  if (ent.flags & CE_SIGNALGROUP) {
    [minok, maxok] = [-Number.MAX_SAFE_INTEGER, -5];
    sw.pidtype = "process-group";
  }
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8");
  } catch (e) {
    run.warnx(`can't open pid file: ${pidFile}: ${strerror(e)}`);
    return sw;
  }
  if (text === "") {
    sw.pidok = 1;
    run.warnx(`pid file is empty: ${pidFile}`);
    return sw;
  }
  const line = (text.split("\n")[0] as string).replace(/^ +/, "");
  const m = /^[+-]?\d+/.exec(line);
  const rest = m ? line.slice(m[0].length) : line;
  const val = m ? Number(m[0]) : 0;
  if (rest !== "" && !isspace(rest[0])) run.warnx(`pid file does not start with a valid number: ${pidFile}`);
  else if (val < minok || val > maxok) run.warnx(`bad value '${val}' for process number in ${pidFile}`);
  else {
    sw.pidok = 1;
    sw.pid = val;
  }
  return sw;
}

async function doSigwork(run: Run, sw: SigWork, next: SigWork | undefined): Promise<void> {
  if (!sw.pidok || sw.pid === 0) return;
  if (run.nosignal) {
    sw.pidok = -1;
    return;
  }
  const secs = next ? (next.pid === sw.pid ? 10 : 1) : 0;
  if (run.noaction) {
    run.print(`\tkill -${sw.signum} ${sw.pid} \t\t# ${sw.fname}\n`);
    if (secs > 0) run.print(`\tsleep ${secs}\n`);
    return;
  }
  try {
    // Only processes of this simulated Mac are signalled; another PID reads as gone (ESRCH).
    if (!isSimProcess(run.world, Math.abs(sw.pid))) {
      run.warnx(`simulator: PID ${sw.pid} is not a process of the simulated Mac; not signalled`);
      throw Object.assign(new Error("no such process"), { code: "ESRCH" });
    }
    const name = signalName(sw.signum);
    if (name) {
      const error = run.world.signal(sw.pid, name, `newsyslog rotated ${sw.fname}: notifying its ${sw.pidtype}`);
      if (error) throw Object.assign(new Error(error), { code: error });
    } else process.kill(sw.pid, sw.signum); // a number Node has no name for: sent, not recorded
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") sw.pidok = 0;
    run.warnx(`can't notify ${sw.pidtype}, pid ${sw.pid}: ${strerror(e)}`);
    return;
  }
  if (run.verbose) run.print(`Notified ${sw.pidtype} pid ${sw.pid} = ${sw.fname}\n`);
  if (secs > 0) {
    if (run.verbose) run.print(`Pause ${secs} second(s) between signals\n`);
    await sleep(secs * 1000);
  }
}

/** do_zipwork(): `/usr/bin/gzip -f` or `/usr/bin/bzip2 -f` on `.0`, unless the daemon was not
 *  notified; then the entry's mode and owner on the result. */
function doZipwork(run: Run, z: ZipWork): void {
  const gz = z.entry.flags & CE_COMPACT;
  const pgm = run.world.path(gz ? "/usr/bin/gzip" : "/usr/bin/bzip2");
  const name = gz ? "gzip" : "bzip2";
  const result = `${z.fname}${gz ? ".gz" : ".bz2"}`;
  if (z.swork && z.swork.pidok <= 0) {
    run.warnx(`log ${z.fname} not compressed because daemon(s) not notified`);
    changeAttrs(run, z.fname, z.entry);
    return;
  }
  if (run.noaction) {
    run.print(`\t${name} ${z.fname}\n`);
    changeAttrs(run, result, z.entry);
    return;
  }
  if (!existsSync(pgm)) run.errx(`posix_spawn(\`${pgm} -f ${z.fname}'): No such file or directory`);
  const r = spawnSync(pgm, ["-f", z.fname], { stdio: "inherit" });
  if (r.status === null) {
    run.warnx(`\`${name} -f ${z.fname}' did not terminate normally`);
    return;
  }
  if (r.status !== 0) {
    run.warnx(`\`${name} -f ${z.fname}' terminated with a non-zero status (${r.status})`);
    return;
  }
  changeAttrs(run, result, z.entry);
}

/** macOS's stock /etc/newsyslog.conf (crontabs files/newsyslog.conf), its paths under the root. */
export function stockNewsyslogConf(world: World): string {
  const p = (f: string) => world.path(f);
  return `# configuration file for newsyslog
# $FreeBSD: /repoman/r/ncvs/src/etc/newsyslog.conf,v 1.50 2005/03/02 00:40:55 brooks Exp $
#
# Entries which do not specify the '/pid_file' field will cause the
# syslogd process to be signalled when that log file is rotated.  This
# action is only appropriate for log files which are written to by the
# syslogd process (ie, files listed in /etc/syslog.conf).  If there
# is no process which needs to be signalled when a given log file is
# rotated, then the entry for that file should include the 'N' flag.
#
# The 'flags' field is one or more of the letters: BCGJNUWZ or a '-'.
#
# logfilename          [owner:group]    mode count size when  flags [/pid_file] [sig_num]
${p("/var/log/ftp.log")}\t\t\t640  5\t   1000\t*     J
${p("/var/log/hwmond.log")}\t\t\t640  5\t   1000\t*     J
${p("/var/log/ipfw.log")}\t\t\t640  5\t   1000\t*     J
${p("/var/log/lpr.log")}\t\t\t640  5\t   1000\t*     J
${p("/var/log/ppp.log")}\t\t\t640  5\t   1000\t*     J
${p("/var/log/wtmp")}\t\t\t\t644  3\t   *\t@01T05 B
`;
}

/** The name Node knows signal number `n` by (os.constants.signals), if any. */
function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([, v]) => v === n)?.[0];
}
