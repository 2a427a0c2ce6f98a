// `npm run reset`, `npm run restore` and `npm run upgrade`: the decisions made on the command line
// for one run (README "Safety model"), one command-line program with one parser. Each checks its
// arguments and that it can ask (a terminal, or --yes) before anything starts, then reads this
// stack's profile, says what it decided, and hands over to scripts/converge.sh (exec, as the
// shell scripts did) with the decision in the environment, where stacks/commandLineDecisions.ts
// reads it for the one `pulumi up` that follows:
//   reset    COLIMA_PULSE_FULL_RESET, COLIMA_PULSE_BACKUP, COLIMA_PULSE_RESET_ID
//   restore  COLIMA_PULSE_RESTORE, COLIMA_PULSE_RESTORE_ID
//   upgrade  COLIMA_PULSE_UPGRADE_ID
//   remove-stale-jobs  COLIMA_PULSE_REMOVE_STALE_JOBS_ID
// and every one COLIMA_PULSE_DECISION_STACK, the stack it is for: the program refuses it on any other.
// scripts/reset.sh, restore.sh and upgrade.sh install Node.js and node_modules (scripts/lib.sh),
// then run this file as `node --import tsx scripts/decide.ts <command> ARG...`.
import { spawnSync } from "node:child_process";
import { readFileSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isatty } from "node:tty";
import { inspect } from "node:util";
import { decisionStack } from "../stacks/commandLineDecisions";
import { ConfigError, readLayers, resolveSettings } from "../stacks/config";
import { die, ensureEngine, ensureLocalState, execInto, repo, say } from "./lib";
import { checkUpOptions } from "./upOptions";

export const COMMANDS = ["reset", "restore", "upgrade", "remove-stale-jobs"] as const;
export type Command = (typeof COMMANDS)[number];

export const USAGE: Record<Command, string> = {
  reset: `npm run reset [-- OPTIONS]   full reset of this Mac's Colima profile (COLIMA_PROFILE)

Moves the profile's state (~/.colima/<profile>, its Lima instance and its data disk) into
BACKUP_DIR_BASE/<time>-<profile>, then provisions the profile anew on QEMU with the Docker
runtime, supervised by the LaunchDaemon. Converts a VZ profile the same way. Pulumi's preview
shows the backup folder and every folder that goes into it, then asks before anything changes.

Options:
  --backup=move     move the state to the backup folder first (default)
  --backup=prompt   ask on this terminal: move, or delete without a backup
  --backup=false    DELETE the state without a backup (only when you mean it)
  --yes             no confirmation prompt (the seed's --force-yes); needed without a terminal
  --help            this text
Any other option is passed to \`pulumi up\` (e.g. --diff).

No setting in Pulumi.yaml, a stack file or .env can ask for a reset: only this command, for the
run it starts (the decision is valid for 60 minutes and used once).
`,
  restore: `npm run restore -- <backup folder> [OPTIONS]   put a backup back as this Mac's Colima profile

<backup folder> is one \`npm run fleet -- status\` lists: BACKUP_DIR_BASE/<time>-<profile> (made
by a full reset), <time>-<profile>-before-restore (made by a restore) or
<time>-<profile>-before-upgrade (cloned by npm run upgrade: restoring it undoes the upgrade). Any other folder — not
directly in BACKUP_DIR_BASE, a symlink out of it, or one another user may write — is refused in
the preview, with nothing changed. The profile's current state is first moved into
BACKUP_DIR_BASE/<now>-<profile>-before-restore (so a restore is undone by restoring that), then
the backup's folders are moved into place, all or none, and the LaunchDaemon starts the restored
VM through the health gates. Pulumi's preview shows what moves where, then asks.

Options:
  --yes     no confirmation prompt; needed without a terminal
  --help    this text
Any other option is passed to \`pulumi up\` (e.g. --diff).
`,
  upgrade: `npm run upgrade [-- OPTIONS]   upgrade colima, lima, qemu and docker on this Mac

Asks Homebrew (as HOMEBREW_USER, without auto-update) what it can upgrade, and shows it in
Pulumi's preview before anything changes; a version VERSION_DENYLIST denies, or one older than
the fleet's minimum (policy/config.json), is refused there. Then, when colima, lima or qemu
change: the VM stops and the profile is cloned (cp -c, APFS copy-on-write) into
BACKUP_DIR_BASE/<time>-<profile>-before-upgrade, which \`npm run restore\` puts back. Then:
\`brew upgrade\` of those formulae, the LaunchDaemon reloads so the VM restarts under the new
versions, and the health gates and the smoke test run again. If a gate fails, the error names the versions before and after and the
last lines of LOG_PATH. Run \`brew update\` as HOMEBREW_USER first to fetch newer formulae.

Options:
  --yes    no confirmation prompt; needed without a terminal
  --help   this text
Any other option is passed to \`pulumi up\` (e.g. --diff).
`,
  "remove-stale-jobs": `npm run remove-stale-jobs [-- OPTIONS]   remove colima-pulse LaunchDaemons a gone stack left

A stale job is one of colima-pulse's LaunchDaemons on this Mac (its plist runs
/Library/Application Support/colima-pulse/<label>.sh) with another label than this stack's LABEL,
whose profile no longer exists on the Mac (or whose supervisor script is gone). Every
\`pulumi up\` lists them and leaves them; this run boots each out and removes its plist,
supervisor script and newsyslog rule (its log stays). Pulumi's preview names each one, then asks.
Another stack's job for a profile that is there is never touched.

Options:
  --yes    no confirmation prompt; needed without a terminal
  --help   this text
Any other option is passed to \`pulumi up\` (e.g. --diff).
`,
};

/** A command line that cannot go on: the message `error: …` says. */
export class CommandLineError extends Error {}

/** What a command line asks for. `upArgs` go on to `pulumi up` (scripts/converge.sh), --yes too. */
export interface Decision {
  command: Command;
  yes: boolean;
  /** reset: move (default), prompt (ask on the terminal) or false (delete without a backup). */
  backup: "move" | "prompt" | "false";
  /** restore: the backup folder, an absolute path on the Mac. */
  from: string;
  upArgs: string[];
}

/** The one parser of the three commands, argument by argument: --help wins where it comes
 *  first; the first argument that cannot be taken is the error. */
export function parseDecision(command: Command, argv: string[]): Decision | { help: true } {
  const d: Decision = { command, yes: false, backup: "move", from: "", upArgs: [] };
  for (const a of argv) {
    if (a === "-h" || a === "--help") return { help: true };
    if (a === "-y" || a === "--yes") {
      d.yes = true;
      d.upArgs.push(a);
    } else if (command === "reset" && a.startsWith("--backup")) {
      const mode = /^--backup=(move|prompt|false)$/.exec(a)?.[1];
      if (!mode)
        throw new CommandLineError(
          `${a}: not a backup mode; use --backup=move (default), --backup=prompt or --backup=false (npm run reset -- --help)`,
        );
      d.backup = mode as Decision["backup"];
    } else if (command === "restore" && !a.startsWith("-")) {
      if (d.from) throw new CommandLineError(`${a}: one backup folder per restore (already given: ${d.from})`);
      d.from = a;
    } else if (a === "--skip-preview" || a === "-f")
      // What the operator confirms is the preview's plan (--strict, below): there must be one.
      throw new CommandLineError(
        `${a}: npm run ${command} shows Pulumi's preview and applies exactly the plan it showed (pulumi up --strict), so the preview cannot be skipped; leave ${a} out (--yes applies it without asking)`,
      );
    else d.upArgs.push(a);
  }
  if (command === "restore") {
    if (!d.from)
      throw new CommandLineError("which backup? npm run restore -- <backup folder> (npm run fleet -- status lists them; --help)");
    if (!d.from.startsWith("/")) throw new CommandLineError(`${d.from}: the backup folder must be an absolute path on the Mac`);
  }
  return d;
}

/** Why the decision cannot be confirmed here: Pulumi asks on a terminal, so without one only
 *  --yes confirms it. undefined when it can. */
export function confirmationProblem(d: Decision, stdinIsTerminal: boolean): string | undefined {
  if (d.yes || stdinIsTerminal) return undefined;
  return {
    reset: "a full reset asks for confirmation on a terminal, and there is none: add --yes to confirm it here (the seed's --force-yes)",
    restore: "a restore asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
    upgrade: "an upgrade asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
    "remove-stale-jobs": "removing stale jobs asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
  }[d.command];
}

/** What follows the preview of a decision command. */
export function thenWhat(yes: boolean): string {
  return yes ? "applies it without asking (--yes)" : "asks";
}

/** A decision's id: its UTC time, YYYYMMDDTHHMMSSZ (stacks/commandLineDecisions.ts). */
export function decisionId(now = new Date()): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** The variables that carry the decision to the program (stacks/commandLineDecisions.ts), bound to
 *  `stack` (decisionStack: <project>/<stack>), the only stack it may be carried out on. */
export function decisionEnv(d: Decision, profile: string, id: string, stack: string): Record<string, string> {
  const bound = { COLIMA_PULSE_DECISION_STACK: stack };
  if (d.command === "reset")
    return { COLIMA_PULSE_FULL_RESET: profile, COLIMA_PULSE_BACKUP: d.backup, COLIMA_PULSE_RESET_ID: id, ...bound };
  if (d.command === "restore") return { COLIMA_PULSE_RESTORE: d.from, COLIMA_PULSE_RESTORE_ID: id, ...bound };
  if (d.command === "remove-stale-jobs") return { COLIMA_PULSE_REMOVE_STALE_JOBS_ID: id, ...bound };
  return { COLIMA_PULSE_UPGRADE_ID: id, ...bound };
}

/** The stack a decision is for, as the program sees it (decisionStack of getProject(), getStack()):
 *  Pulumi.yaml's name and the stack's own name (the last part of an org/stack name). */
export function boundStack(stack: string, projectYaml = readFileSync(join(repo, "Pulumi.yaml"), "utf8")): string {
  const project = /^name:[ \t]*["']?([^"'\s#]+)/m.exec(projectYaml)?.[1];
  if (!project) return die("Pulumi.yaml has no name: (the project's name, which a decision names with its stack)");
  return decisionStack(project, stack.split("/").pop() as string);
}

/** What the command says before it hands over (after the profile is known). */
export function decisionLines(d: Decision, profile: string, stack: string): string[] {
  if (d.command === "reset")
    return [
      `FULL RESET of Colima profile '${profile}' on stack '${stack}' (backup: ${d.backup})`,
      d.backup === "move"
        ? `Pulumi's preview below shows the backup folder and what moves into it, then ${thenWhat(d.yes)}`
        : "--backup=false: the profile's state will be DELETED without a backup",
    ];
  if (d.command === "restore")
    return [
      `RESTORE of ${d.from} as Colima profile '${profile}' on stack '${stack}'`,
      `Pulumi's preview below shows what moves where, then ${thenWhat(d.yes)}`,
    ];
  if (d.command === "remove-stale-jobs")
    return [`REMOVE STALE JOBS on stack '${stack}': Pulumi's preview below names each stale colima-pulse job, then ${thenWhat(d.yes)}`];
  return [`UPGRADE: Pulumi's preview below shows what Homebrew will upgrade, then ${thenWhat(d.yes)}`];
}

/** The answer to --backup=prompt: m, M or move; d, D or delete. Anything else: undefined (ask again). */
export function backupAnswer(answer: string): "move" | "false" | undefined {
  const a = answer.replace(/^[ \t]+|[ \t]+$/g, "");
  if (["m", "M", "move"].includes(a)) return "move";
  if (["d", "D", "delete"].includes(a)) return "false";
  return undefined;
}

/** One line from descriptor 0, a byte at a time so that nothing after it is taken from whoever
 *  reads the terminal next (pulumi); undefined at its end. */
function readLine(): string | undefined {
  const byte = Buffer.alloc(1);
  const line: number[] = [];
  for (;;) {
    let n: number;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    if (n === 0) return undefined;
    if (byte[0] === 0x0a) return Buffer.from(line).toString("utf8");
    line.push(byte[0] as number);
  }
}

/** --backup=prompt: asks on the terminal until the answer is one it takes. */
function askBackup(): "move" | "false" {
  for (;;) {
    writeSync(2, "Full reset: move the profile's state to a backup folder first [m], or DELETE it without a backup [d]? ");
    const line = readLine();
    // The end of the input ends the command, as the shell's `read` did under `set -e`.
    if (line === undefined) process.exit(1);
    const answer = backupAnswer(line);
    if (answer) return answer;
  }
}

/** COLIMA_PULSE_STACK: as set, else this Mac's short host name, else "simulated". */
function stackName(): string {
  if (!process.env.COLIMA_PULSE_STACK)
    process.env.COLIMA_PULSE_STACK =
      process.platform === "darwin"
        ? spawnSync("hostname", ["-s"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }).stdout.replace(/\n+$/, "")
        : "simulated";
  return process.env.COLIMA_PULSE_STACK;
}

/** The stack's COLIMA_PROFILE from every settings layer; a bad setting stops here, named. Pulumi's
 *  config of an existing stack (decrypted) is read too, so a secret setting is read, not refused. */
function stackProfile(stack: string): string {
  const config = spawnSync("pulumi", ["config", "--json", "--show-secrets", "--stack", stack], {
    stdio: ["inherit", "pipe", "ignore"],
    encoding: "utf8",
  });
  try {
    const engine = JSON.parse((config.status === 0 && config.stdout) || "{}");
    return resolveSettings(readLayers(repo, stack, engine)).settings.COLIMA_PROFILE;
  } catch (e) {
    writeSync(2, `${e instanceof ConfigError ? e.message : inspect(e)}\n`);
    return die("cannot read this stack's settings (above)");
  }
}

/** `npm run <command> -- ARG...`, to its hand-over to scripts/converge.sh. */
export function main(command: Command, argv: string[]): never {
  process.chdir(repo);
  let parsed: ReturnType<typeof parseDecision>;
  try {
    parsed = parseDecision(command, argv);
  } catch (e) {
    if (e instanceof CommandLineError) die(e.message);
    throw e;
  }
  if ("help" in parsed) {
    writeSync(1, USAGE[command]);
    process.exit(0);
  }
  const d = parsed;
  if (d.backup === "prompt") {
    if (!isatty(0) || !isatty(2)) die("--backup=prompt asks on a terminal, and there is none: choose --backup=move or --backup=false");
    d.backup = askBackup();
  }
  const refused = confirmationProblem(d, isatty(0));
  if (refused) die(refused);

  ensureEngine();
  ensureLocalState();
  const stack = stackName();
  const problem = checkUpOptions(d.upArgs);
  if (problem) die(problem);
  const profile = d.command === "upgrade" || d.command === "remove-stale-jobs" ? "" : stackProfile(stack);
  for (const line of decisionLines(d, profile, stack)) say(line);
  Object.assign(process.env, decisionEnv(d, profile, decisionId(), boundStack(stack)));
  // Pulumi's update plan: the update may do only what the preview just showed, nothing else, as the
  // operator confirmed it (pulumi/pulumi pkg/backend/apply.go PreviewThenPrompt: with --strict the
  // preview's plan constrains the update, also with --yes); the preview and the update run under
  // one stack lock (pkg/backend/diy/backend.go Update), so no other run changes the state between.
  return execInto("bash", ["scripts/converge.sh", ...d.upArgs, "--strict"]);
}

if (require.main === module) {
  const [command, ...argv] = process.argv.slice(2);
  if (!COMMANDS.includes(command as Command)) die(`scripts/decide.ts: the first argument is the command: ${COMMANDS.join(", ")}`);
  main(command as Command, argv);
}
