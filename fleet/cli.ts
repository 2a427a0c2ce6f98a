// `npm run fleet -- preview|up|upgrade|refresh|status|drift [--stacks <glob>] [--shard i/n] [--parallel N] [--json]`: the whole
// fleet from this machine, one stack per Mac (stacks/Pulumi.<mac>.yaml), README "Fleet". Prints a
// live line per Mac while it runs, then a table; exits 0 only when every Mac succeeded.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatAge, formatSize } from "../provider/lib/backups";
import { bytesText } from "../provider/lib/disk";
import { shortSeconds } from "../provider/lib/workloads";
import { suggest } from "../stacks/suggest";
import { driftExitCode, driftSummary, driftText, fleetDrift, type MacDrift } from "./drift";
import { promPath, renderMetrics, writeAtomically } from "./metrics";
import { ensurePlansDir, plansDir, saveSummary } from "./plans";
import { parseCanary, rolloutNote, rolloutPlan, rolloutStopped, runRollout } from "./rollout";
import { decisionRefusal, type MacResult, type Operation, type RunOptions, runFleet } from "./runner";
import { inShard, parseShard, type Shard } from "./shard";
import { fleetStatus, type MacStatus } from "./status";
import { fleetUpgrade } from "./upgrade";

const USAGE = `npm run fleet -- <command> [options]

Commands:
  preview   pulumi preview of every Mac's stack
  up        a preview, then pulumi up, of every Mac whose preview passed
  upgrade   colima, lima, qemu and docker: Homebrew's upgrades on every Mac, as npm run upgrade -- --yes
            on each (this command is the decision, each Mac's own): the preview says what will be
            upgraded, then up where it passed; a rollout, --canary 1 unless given
  refresh   pulumi refresh of every Mac's stack
  status    a table of every Mac: reachable, Docker, supervisor, prune after each start, gates, drift,
            versions, last converge, FileVault; then each Mac's backups (size, age)
  drift     what a refresh would change on every Mac (pulumi refresh --preview-only): nothing is
            saved, no stack lock is taken; exit 0 no drift, 1 drift found, 2 a Mac not checked

Options:
  --stacks <glob>   only the stacks whose name matches (* and ?), e.g. 'mac-0*'; default all of
                    stacks/Pulumi.<name>.yaml
  --shard <i/n>     only shard i of n of those stacks (1 <= i <= n <= 1000), for a CI matrix of n jobs;
                    a stack's shard depends on its name and n alone: adding or removing a Mac moves
                    no other Mac, changing n reshuffles them
  --parallel <N>    Macs at a time, 1 to 64 (default 4)
  --canary <N>      up and upgrade: converge the first N Macs (by name) first, the others only when
                    every one of those passed (its up, with its gates and smoke test); a failed canary
                    stops the rollout, the others are not started, exit 1. upgrade's default is 1;
                    --canary <the number of Macs> upgrades them all at once
  --json            status and drift only: the rows as JSON, for dashboards
  --prom <file>     status only: also write the metrics to <file> in Prometheus's text format,
                    atomically, for node_exporter's textfile collector (its folder must exist)
  --save-plans <dir> preview only: also save each Mac's plan (Pulumi's update plan), what it was made
                    from (digests of its settings and state) and a summary (summary.txt) in <dir>
  --plans <dir>     up only: apply exactly the plans saved there, no new preview; a Mac without a
                    plan, or whose settings or state changed since, is refused with what differs
  --logs <dir>      where each Mac's log goes (default .state/fleet/<time>-<command>)
  --help            this text

Exit code: 0 when every Mac succeeded (status: every Mac reachable), 1 when one did not, 2 for bad usage
(drift: 0 no drift on any Mac, 1 drift on some Mac, 2 a Mac could not be checked, or bad usage).`;

export interface Args {
  command: Operation | "upgrade" | "status" | "drift";
  glob: string;
  parallel: number;
  json: boolean;
  logs?: string;
  /** --prom's file, resolved (metrics.ts promPath). */
  prom?: string;
  /** --shard i/n: only this shard of the selection (shard.ts). */
  shard?: Shard;
  /** --save-plans DIR (preview) or --plans DIR (up), resolved (plans.ts). */
  savePlans?: string;
  plans?: string;
  /** --canary N: up and upgrade (rollout.ts, upgrade.ts). */
  canary?: number;
}

const COMMANDS = ["preview", "up", "upgrade", "refresh", "status", "drift"];
const OPTIONS = ["--stacks", "--shard", "--parallel", "--canary", "--json", "--prom", "--save-plans", "--plans", "--logs", "--help"];

/** " (did you mean X?)" when `word` looks like a mistyped one of `known` (stacks/suggest.ts, as
 *  for a setting's key), else "". */
function didYouMean(word: string, known: string[]): string {
  const hint = suggest(word, known);
  return hint ? ` (did you mean ${hint}?)` : "";
}

/** "1 Mac", "2 Macs". */
export function macs(n: number): string {
  return `${n} ${n === 1 ? "Mac" : "Macs"}`;
}

/** The command line, or an error naming the argument, its value and what is allowed. */
export function parseArgs(argv: string[]): Args | { help: true } {
  const args: Partial<Args> = { glob: "*", parallel: 4, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} (command line) needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h") return { help: true };
    else if (a === "--stacks") args.glob = value();
    else if (a === "--shard") args.shard = parseShard(value());
    else if (a === "--canary") args.canary = parseCanary(value());
    else if (a === "--parallel") {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64)
        throw new Error(`--parallel (command line) = ${JSON.stringify(v)}: must be a whole number from 1 to 64`);
      args.parallel = Number(v);
    } else if (a === "--json") args.json = true;
    else if (a === "--logs") args.logs = value();
    else if (a === "--prom") args.prom = promPath(value());
    else if (a === "--save-plans") args.savePlans = plansDir("--save-plans", value());
    else if (a === "--plans") args.plans = plansDir("--plans", value());
    else if (!a.startsWith("-") && !args.command) {
      if (!COMMANDS.includes(a))
        throw new Error(`command (command line) = ${JSON.stringify(a)}: must be one of ${COMMANDS.join(", ")}${didYouMean(a, COMMANDS)}`);
      args.command = a as Args["command"];
    } else
      throw new Error(
        `${JSON.stringify(a)} (command line): unknown option${a.startsWith("-") ? didYouMean(a, OPTIONS) : ""} (allowed: ${OPTIONS.join(", ")})`,
      );
  }
  if (!args.command) throw new Error(`no command (command line): give one of ${COMMANDS.join(", ")}`);
  if (args.json && args.command !== "status" && args.command !== "drift")
    throw new Error(`--json (command line): only with status or drift, not ${args.command}`);
  if (args.canary !== undefined && args.command !== "up" && args.command !== "upgrade")
    throw new Error(`--canary (command line): only with up or upgrade (a rollout), not ${args.command}`);
  if (args.prom && args.command !== "status") throw new Error(`--prom (command line): only with status, not ${args.command}`);
  if (args.savePlans && args.command !== "preview")
    throw new Error(`--save-plans (command line): only with preview (it saves what the preview plans), not ${args.command}`);
  if (args.plans && args.command !== "up")
    throw new Error(`--plans (command line): only with up (it applies saved plans), not ${args.command}`);
  if (!/^[A-Za-z0-9_.*?-]+$/.test(args.glob as string))
    throw new Error(`--stacks (command line) = ${JSON.stringify(args.glob)}: must be a stack name pattern of letters, digits, _ . - * ?`);
  return args as Args;
}

/** The example stack file (stacks/Pulumi.example-mac.yaml): a template, never a Mac of the fleet. */
export const EXAMPLE_STACK = "example-mac";

/** What `--stacks <glob>` selects: the Macs' stacks (stacks/Pulumi.<name>.yaml whose name
 *  matches), whether it matched the example (left out), and every Mac's stack there is. */
export function selectStacks(workDir: string, glob: string): { stacks: string[]; skippedExample: boolean; all: string[] } {
  const pattern = new RegExp(`^${glob.replace(/[.]/g, "\\.").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const dir = join(workDir, "stacks");
  const names = (existsSync(dir) ? readdirSync(dir) : [])
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
  const all = names.filter((s) => s !== EXAMPLE_STACK);
  return { stacks: all.filter((s) => pattern.test(s)), skippedExample: names.includes(EXAMPLE_STACK) && pattern.test(EXAMPLE_STACK), all };
}

/** The stacks of the fleet: stacks/Pulumi.<name>.yaml whose name matches `glob`, the example not. */
export function fleetStacks(workDir: string, glob: string): string[] {
  return selectStacks(workDir, glob).stacks;
}

/** What the command says on stderr about its selection before it runs: the example left out (when
 *  the glob matched it), and, when nothing is left, the error with the stacks there are. */
export function selectionNotes(glob: string, selection: ReturnType<typeof selectStacks>): { notes: string[]; error?: string } {
  const notes = selection.skippedExample
    ? [`skipped ${EXAMPLE_STACK}: stacks/Pulumi.${EXAMPLE_STACK}.yaml is the example stack file, not a Mac`]
    : [];
  if (selection.stacks.length > 0) return { notes };
  const there =
    selection.all.length > 0
      ? `the stacks are: ${selection.all.join(", ")}`
      : `there is none yet (copy stacks/Pulumi.${EXAMPLE_STACK}.yaml to stacks/Pulumi.<mac>.yaml)`;
  return { notes, error: `--stacks ${JSON.stringify(glob)}: no stack file stacks/Pulumi.<name>.yaml matches; ${there}` };
}

/** What `--shard` says before the run: which of the selected stacks fall in this shard, or none. */
export function shardNote(shard: Shard, selected: number, stacks: string[]): string {
  const of = `shard ${shard.index}/${shard.count}`;
  if (stacks.length === 0) return `${of}: none of the ${macs(selected)} selected falls in this shard; nothing to do`;
  return `${of}: ${macs(stacks.length)} of the ${selected} selected: ${stacks.join(", ")}`;
}

/** A plain table: a header, a rule, the rows; columns as wide as their widest cell, a cell at
 *  most `max` characters (the whole text is in the log, or in --json). */
export function table(header: string[], cells: string[][], max = Number.POSITIVE_INFINITY): string {
  const rows = cells.map((r) => r.map((c) => (c.length > max ? `${c.slice(0, max - 1)}…` : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function resultsTable(results: MacResult[]): string {
  return table(
    ["MAC", "RESULT", "STAGE", "TIME", "DETAIL"],
    results.map((r) => [r.stack, r.skipped ? "skipped" : r.ok ? "ok" : "FAILED", r.stage, `${(r.elapsedMs / 1000).toFixed(1)}s`, r.detail]),
  );
}

/** The OTHER STARTERS cell: the jobs `up` removes, then the stale ones (`npm run remove-stale-jobs`). */
function startersText(found: MacStatus["otherStarters"]): string {
  if (!found) return "?";
  const all = [...found.autostarts, ...found.stale.map((l) => `${l} (stale)`)];
  return all.length > 0 ? all.join(", ") : "none";
}

export function statusTable(rows: MacStatus[]): string {
  return table(
    [
      "MAC",
      "REACHABLE",
      "DOCKER",
      "SUPERVISOR",
      "PRUNE",
      "GATES ms (socket/qemu/api/stable)",
      "DRIFT",
      "COLIMA/LIMA/QEMU",
      "LAST CONVERGE",
      "FILEVAULT",
      "DOCKER DISK (used/size)",
      "MAC FREE",
      "POWER (AC)",
      "BOOT→DOCKER/WORKLOADS",
      "OTHER STARTERS",
      "LAST WAKE",
    ],
    rows.map((r) => [
      r.stack,
      r.reachable,
      r.docker || "-",
      r.supervisor,
      r.prune,
      r.gates ? `${r.gates.socket}/${r.gates.qemu}/${r.gates.api}/${r.gates.stable}` : "-",
      r.drift,
      [r.versions.colima, r.versions.lima, r.versions.qemu].map((v) => v ?? "?").join("/") +
        (r.denied && r.denied.length > 0 ? ` (denied: ${r.denied.join(", ")})` : ""),
      r.lastConverge || "never",
      r.fileVault,
      r.disk ? [r.disk.dockerUsedBytes, r.disk.sizeBytes].map((b) => (b === undefined ? "?" : bytesText(b))).join("/") : "-",
      r.hostFreeBytes === undefined ? "-" : bytesText(r.hostFreeBytes),
      r.power ?? "-",
      r.boot ? `${shortSeconds(r.boot.toDockerSeconds)}/${r.boot.notReady ? "not back" : shortSeconds(r.boot.toWorkloadsSeconds)}` : "-",
      startersText(r.otherStarters),
      r.lastWake ?? "-",
    ]),
    80,
  );
}

/** `fleet drift`'s table: a row per Mac, what a refresh would change on it (or why it was not checked). */
export function driftTable(rows: MacDrift[]): string {
  return table(
    ["MAC", "DRIFT", "TIME", "WHAT A REFRESH WOULD CHANGE"],
    rows.map((r) => [r.stack, r.result, `${(r.elapsedMs / 1000).toFixed(1)}s`, r.error ?? driftText(r.resources)]),
  );
}

/** Each Mac's backups, newest first: the folder `npm run restore` takes, its size and age. */
export function backupsList(rows: MacStatus[], now = Date.now()): string {
  const lines = rows.flatMap((r) =>
    r.backups.length === 0
      ? []
      : [`${r.stack}:`, ...r.backups.map((b) => `  ${b.path}  ${formatSize(b.bytes)}  ${formatAge(b.made, now)} old`)],
  );
  return lines.length > 0 ? `\nbackups (npm run restore -- <folder>):\n${lines.join("\n")}` : "\nbackups: none";
}

/** What a run says as it starts: how many Macs, how many at a time, where the logs go. */
export function startLine(command: string, count: number, parallel: number, logDir: string): string {
  return `fleet ${command}: ${macs(count)}, ${parallel} at a time; logs in ${logDir}`;
}

/** What a run says at its end: every Mac succeeded, or which failed, and which another run held
 *  (runner.ts heldBy: not run here, left to that run). */
export function summaryLine(results: MacResult[], logDir: string): string {
  const held = results.filter((r) => r.skipped?.startsWith("held by "));
  const failed = results.filter((r) => !r.ok && !held.includes(r));
  if (failed.length === 0 && held.length === 0)
    return results.length === 1 ? "the 1 Mac succeeded" : `all ${macs(results.length)} succeeded`;
  const parts = [
    ...(failed.length > 0 ? [`${failed.length} of ${macs(results.length)} failed: ${failed.map((r) => r.stack).join(", ")}`] : []),
    ...(held.length > 0
      ? [
          `${held.length} of ${macs(results.length)} held by another run, not run here: ${held.map((r) => `${r.stack} (${r.skipped})`).join(", ")}`,
        ]
      : []),
  ];
  return `${parts.join("; ")} (logs: ${logDir})`;
}

/** The simulator's roots per stack (COLIMA_PULSE_FLEET_HOST_ROOTS, JSON {"stack": "/root"}), as
 *  scripts/simulate.ts and the tests use them; unset on a real fleet, where every Mac's root is /. */
function simulatedRoots(): Record<string, string> {
  const text = process.env.COLIMA_PULSE_FLEET_HOST_ROOTS;
  if (!text) return {};
  let roots: unknown;
  try {
    roots = JSON.parse(text);
  } catch {
    roots = undefined;
  }
  if (!roots || typeof roots !== "object" || Object.values(roots).some((r) => typeof r !== "string" || !r.startsWith("/")))
    throw new Error(`COLIMA_PULSE_FLEET_HOST_ROOTS (environment) = ${text}: must be a JSON object of stack name to absolute path`);
  return roots as Record<string, string>;
}

async function main(): Promise<number> {
  let args: Args | { help: true };
  let roots: Record<string, string>;
  try {
    args = parseArgs(process.argv.slice(2));
    roots = simulatedRoots();
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if ("help" in args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // A decision left in this environment would reach every Mac, and the fleet never asks.
  const refused = decisionRefusal(process.env);
  if (refused) {
    process.stderr.write(`error: ${refused}\n`);
    return 2;
  }
  const workDir = resolve(__dirname, "..");
  const selection = selectStacks(workDir, args.glob);
  const { notes, error } = selectionNotes(args.glob, selection);
  for (const note of notes) process.stderr.write(`${note}\n`);
  if (error) {
    process.stderr.write(`error: ${error}\n`);
    return 2;
  }
  let stacks = selection.stacks;
  if (args.shard) {
    stacks = inShard(stacks, args.shard);
    process.stderr.write(`${shardNote(args.shard, selection.stacks.length, stacks)}\n`);
    // A matrix job whose shard holds no Mac (fewer Macs than jobs) did its part.
    if (stacks.length === 0) return 0;
  }
  const envOf = (stack: string): Record<string, string> => (roots[stack] ? { COLIMA_PULSE_HOST_ROOT: roots[stack] } : {});
  if (args.command === "status") {
    const gatheredAt = new Date();
    const rows = await fleetStatus(workDir, stacks, args.parallel, envOf);
    process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : `${statusTable(rows)}\n${backupsList(rows)}\n`);
    if (args.prom) {
      // Written once every Mac was asked: the file is never half a fleet.
      try {
        writeAtomically(args.prom, renderMetrics(rows, gatheredAt));
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return 1;
      }
    }
    return rows.every((r) => r.reachable === "yes") ? 0 : 1;
  }
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const logDir = resolve(args.logs ?? join(workDir, ".state/fleet", `${stamp}-${args.command}`));
  process.stderr.write(`${startLine(args.command, stacks.length, args.parallel, logDir)}\n`);
  // SIGTERM cancels every Mac in flight as Ctrl-C cancels `pulumi up` (runner.ts); Ctrl-C reaches
  // each `pulumi` itself, so here it only stops what has not started. A second signal leaves at once.
  const cancel = new AbortController();
  const drain = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (drain.signal.aborted) process.exit(130);
    process.stderr.write(`${signal}: cancelling every Mac in flight, starting no other (again to leave now)\n`);
    drain.abort();
    if (signal === "SIGTERM") cancel.abort();
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  const options: RunOptions = { workDir, stacks, parallel: args.parallel, logDir, envOf, signal: cancel.signal, drain: drain.signal };
  const plansFolder = args.savePlans ?? args.plans;
  if (plansFolder) {
    // The operator's alone before any Mac is reached: a plan of someone else's would be applied.
    ensurePlansDir(plansFolder);
    options.plans = { dir: plansFolder, mode: args.savePlans ? "save" : "apply" };
  }
  if (args.command === "drift") {
    const checked = await fleetDrift(options);
    process.stdout.write(
      args.json ? `${JSON.stringify(checked, null, 2)}\n` : `\n${driftTable(checked)}\n\n${driftSummary(checked, logDir)}\n`,
    );
    return driftExitCode(checked);
  }
  if (args.command === "upgrade") {
    const { plan, results, stoppedBy } = await fleetUpgrade(options, args.canary, runFleet);
    const last = rolloutStopped(stoppedBy, plan.rest.length, logDir) ?? summaryLine(results, logDir);
    process.stdout.write(`\n${resultsTable(results)}\n\n${last}\n`);
    return results.every((r) => r.ok) ? 0 : 1;
  }
  if (args.canary !== undefined) {
    const plan = rolloutPlan(stacks, args.canary);
    process.stderr.write(`${rolloutNote(plan, args.canary)}\n`);
    const { results, stoppedBy } = await runRollout(plan, options, runFleet);
    process.stdout.write(`\n${resultsTable(results)}\n`);
    const stopped = rolloutStopped(stoppedBy, plan.rest.length, logDir);
    process.stdout.write(`\n${stopped ?? summaryLine(results, logDir)}\n`);
    return results.every((r) => r.ok) ? 0 : 1;
  }
  const results = await runFleet(args.command, options);
  if (args.savePlans)
    saveSummary(
      args.savePlans,
      results.map((r) => ({ stack: r.stack, ok: r.ok, detail: r.detail })),
    );
  process.stdout.write(`\n${resultsTable(results)}\n`);
  process.stdout.write(`\n${summaryLine(results, logDir)}\n`);
  if (args.savePlans)
    process.stdout.write(
      `plans saved in ${args.savePlans} (summary.txt); apply exactly these: npm run fleet -- up --plans ${args.savePlans}\n`,
    );
  return results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
