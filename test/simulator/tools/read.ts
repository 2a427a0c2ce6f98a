// The file-reading tools (cat, head, tail, ls, du, readlink, test) for a simulated user other
// than root: the real Linux tool runs (README.md "Paths"), after the reads macOS would refuse that
// user (./access.ts) are refused in the BSD tool's own words. Root's calls never reach this: the
// wrapper at the tool's path runs the real tool at once for root (simulator.ts READ_TOOLS).
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { checked, mayRead, maySearch, simulatedWho, type Who } from "./access";
import { getopt } from "./getopt";
import type { World } from "./world";

/** The tools whose reads are checked, by their macOS names. */
export const READ_TOOLS = ["cat", "head", "tail", "ls", "du", "readlink", "test"];

/** Each tool's optstring, as its macOS source's getopt(3) call has it. */
const OPTSTRINGS: Record<string, string> = {
  cat: "belnstuv", // text_cmds cat/cat.c
  head: "c:n:", // text_cmds head/head.c
  tail: "Fb:c:fn:qrv", // text_cmds tail/tail.c
  ls: "1@ABCFGHILOPRSTUWXabcdefghiklmnopqrstuvwxy%,", // file_cmds ls/ls.c
  du: "AB:HI:LPacd:ghkmnrsx", // file_cmds du/du.c
  readlink: "fn", // file_cmds stat/stat.c (readlink is stat under another name)
};

/** The real tool, found where linkRealTools finds it. */
function realTool(name: string): string {
  for (const d of ["/bin", "/usr/bin", "/usr/sbin", "/sbin"]) {
    const p = join(d, name);
    try {
      statSync(p);
      return p;
    } catch {
      // not in this one
    }
  }
  throw new Error(`simulator: no ${name} on this machine`);
}

function runReal(name: string, argv: string[]): number {
  const r = spawnSync(realTool(name), argv, { stdio: "inherit" });
  return r.status ?? 128 + 15;
}

/** warn(3): `<prog>: <what>: Permission denied`. */
const denied = (tool: string, path: string) => process.stderr.write(`${tool}: ${path}: Permission denied\n`);

/** du(1) of what `who` may read under `top`: fts's walk (file_cmds du/du.c): a folder it may not
 *  read is warned about (FTS_DNR) and left out; the rest is summed in 1024-byte blocks. */
function duDenied(top: string, who: Who, root: string): { kb: number; errors: string[] } {
  const errors: string[] = [];
  const walk = (p: string): number => {
    const st = lstatSync(p);
    if (!st.isDirectory()) return st.blocks;
    if (!mayRead(p, who, root) || !maySearch(join(p, "x"), who, root, false)) {
      errors.push(p);
      return 0;
    }
    return readdirSync(p).reduce((n, e) => n + walk(join(p, e)), st.blocks);
  };
  const blocks = walk(top);
  return { kb: Math.ceil(blocks / 2), errors };
}

/** Runs read tool `tool` for SIM_USER. */
export function readTool(tool: string): (world: World, argv: string[]) => Promise<number> {
  return async (world, argv) => {
    const who = simulatedWho(world);
    if (!who) return runReal(tool, argv);
    const root = world.root;
    if (tool === "test") {
      // test(1)'s unary file primaries (stat(2)): a lookup refused is simply false, exit 1.
      const file = argv.length === 2 && /^-[bcdefghkLprsSuwx]$/.test(argv[0] as string) ? (argv[1] as string) : undefined;
      if (file && checked(file, root) && !maySearch(file, who, root, !["-h", "-L"].includes(argv[0] as string))) return 1;
      return runReal(tool, argv);
    }
    const { options, operands, error } = getopt(tool, argv, OPTSTRINGS[tool] ?? "");
    if (error) return runReal(tool, argv); // the real tool reports it
    const flags = new Set(options.map((o) => o.opt));
    const mine = operands.filter((f) => checked(f, root));
    if (mine.length === 0) return runReal(tool, argv);
    if (tool === "readlink") {
      // readlink(2): search on the folders; refused, stat.c's readlink prints nothing and exits 1.
      return mine.some((f) => !maySearch(f, who, root, false)) ? 1 : runReal(tool, argv);
    }
    if (tool === "du") {
      if (!flags.has("s") || operands.length !== 1) return runReal(tool, argv);
      const top = operands[0] as string;
      if (!maySearch(top, who, root)) {
        denied(tool, top);
        return 1;
      }
      const { kb, errors } = duDenied(top, who, root);
      if (errors.length === 0) return runReal(tool, argv);
      for (const e of errors) denied(tool, e);
      process.stdout.write(`${kb}\t${top}\n`);
      return 1;
    }
    // cat, head, tail: open(2) each file; ls: a folder operand is read (unless -d), any other looked up.
    const refused = operands.filter((f) => {
      if (!checked(f, root)) return false;
      if (!maySearch(f, who, root)) return true;
      if (tool !== "ls") return !mayRead(f, who, root);
      let dir = false;
      try {
        dir = statSync(realpathSync(f)).isDirectory();
      } catch {
        // not there: ls reports it
      }
      return dir && !flags.has("d") && !mayRead(f, who, root);
    });
    if (refused.length === 0) return runReal(tool, argv);
    for (const f of refused) denied(tool, f);
    const rest = operands.filter((f) => !refused.includes(f));
    if (rest.length === 0) return 1;
    const head = argv.slice(0, argv.length - operands.length);
    runReal(tool, [...head, ...rest]);
    return 1;
  };
}
