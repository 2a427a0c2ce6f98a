// The options `pulumi up` takes, read from its own help, and the check that stops npm run
// converge, reset, restore and upgrade at an argument `pulumi up` would refuse, before anything
// starts. scripts/decide.ts calls it; scripts/lib.sh check_up_options (scripts/converge.sh) runs
// this file:
//   node --import tsx scripts/upOptions.ts ARG...   exit 0, or 1 with the error naming the argument
import { spawnSync } from "node:child_process";
import { writeSync } from "node:fs";
import { whichOnPath } from "./lib";

/** One option of `pulumi up --help`: its long name, whether it takes a value (the next argument,
 *  or after =), and its one-letter name ("" when it has none). */
export interface UpFlag {
  long: string;
  value: boolean;
  short: string;
}

/** The options a `pulumi up --help` text lists: lines "  -c, --config stringArray   …" or
 *  "      --diff   …"; an option shown as `--x string[="…"]` takes its value only after =. */
export function upFlags(help: string): UpFlag[] {
  const flags: UpFlag[] = [];
  for (const line of help.split("\n")) {
    if (!/^ +(-[A-Za-z], )?--[a-z]/.test(line)) continue;
    const long = /--([a-z0-9-]+)/.exec(line) as RegExpExecArray;
    const rest = line.slice(long.index + long[0].length);
    flags.push({
      long: long[1] as string,
      value: /^ [^ ]/.test(rest) && !/^ [^ ]*\[=/.test(rest),
      short: /^ +-([A-Za-z]),/.exec(line)?.[1] ?? "",
    });
  }
  return flags;
}

/** The command the operator typed, as the messages name it: `npm run <its npm script>`. */
export function commandName(env: NodeJS.ProcessEnv): string {
  return `npm run ${env.npm_lifecycle_event || "converge"}`;
}

/** The first argument `pulumi up` would refuse, as the error that names it; undefined when all
 *  pass. A value that follows an option taking one is not looked at. */
export function upOptionsProblem(args: string[], flags: UpFlag[], cmd: string): string | undefined {
  const refuse = `is not an option of ${cmd} or pulumi up (${cmd} -- --help; pulumi up --help); nothing was started`;
  const long = (name: string) => flags.find((f) => f.long === name);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (/^--.*=/.test(a)) {
      const name = a.slice(0, a.indexOf("="));
      if (!long(name.slice(2))) return `${name} (command line) ${refuse}`;
    } else if (/^--./.test(a)) {
      const flag = long(a.slice(2));
      if (!flag) return `${a} (command line) ${refuse}`;
      if (flag.value) i++;
    } else if (/^-[A-Za-z]/.test(a)) {
      const letter = a[1] as string;
      const flag = flags.find((f) => f.short === letter && f.value) ?? flags.find((f) => f.short === letter);
      if (!flag) return `${a} (command line) ${refuse}`;
      if (flag.value) {
        if (a.length === 2) i++;
      } else if (a.length !== 2) return `${a} (command line): one short option at a time (${cmd} -- --help)`;
    } else return `"${a}" (command line): ${cmd} takes options only, not "${a}" (${cmd} -- --help); nothing was started`;
  }
  return undefined;
}

/** The options of the `pulumi` on PATH (its `up --help`), or the error when it lists none. */
export function pathUpFlags(): UpFlag[] | { error: string } {
  const help = spawnSync("pulumi", ["up", "--help"], { stdio: ["ignore", "pipe", "ignore"], encoding: "utf8" });
  const flags = upFlags(help.stdout ?? "");
  if (flags.length > 0) return flags;
  return { error: `pulumi up --help listed no options (the engine on PATH: ${whichOnPath("pulumi") ?? ""})` };
}

/** `check_up_options ARG...`: nothing when every argument passes, else the error; exit 1. */
export function checkUpOptions(args: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const flags = pathUpFlags();
  if ("error" in flags) return flags.error;
  return upOptionsProblem(args, flags, commandName(env));
}

if (require.main === module) {
  const problem = checkUpOptions(process.argv.slice(2));
  if (problem) {
    writeSync(2, `error: ${problem}\n`);
    process.exit(1);
  }
}
