// The fleet runner: one Pulumi operation on many Macs' stacks at once, on Pulumi's Automation API.
// - one LocalWorkspace per stack, never selected (selecting writes the project's workspace file,
//   which concurrent runs race on: pulumi/pulumi#8186); every operation names its stack (--stack),
//   so they run side by side;
// - at most `parallel` Macs at once; one Mac failing, or out of reach, never stops the others;
// - `up` runs only on a Mac whose own preview just passed, held to that preview's plan (`up
//   --plan`); with saved plans (plans.ts) it applies the approved plan instead, or refuses;
// - a stack another run holds (its lock in the shared backend) is left to it, named (heldBy);
// - a live line per Mac (stage, resource in flight, elapsed) and a log per Mac in a folder, 0600 in
//   a 0700 folder; a log that cannot be written (a full disk) fails its Mac alone: its operation is
//   cancelled as Ctrl-C cancels `pulumi up` (the engine finishes the steps in flight and saves the
//   state, no pending operation, no lock), and every other Mac goes on;
// - every text it prints or writes about a Mac is redacted with that stack's secrets (redact.ts);
// - decisions (npm run reset, restore, upgrade) are one Mac's: the fleet refuses to start with one
//   in its environment (fleet/cli.ts) and never passes one on (openStack); `fleet upgrade` makes
//   its own, one per Mac, bound to that Mac's stack and given to its workspace alone (upgrade.ts).
import { chmodSync, closeSync, constants, fchmodSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { mandatoryViolation, policyPacks } from "../policy/packs";
import { DECISION_VARIABLES, decisionVariablesIn } from "../stacks/commandLineDecisions";
import { differences, fingerprintOf, forgetPlan, planFile, savedFingerprint, saveFingerprint } from "./plans";
import { privateFolderProblem } from "./privateFolder";
import { lineRedactor, noSecrets, type Redact, stackRedactor } from "./redact";

export type Operation = "preview" | "up" | "refresh";

/** What one Mac's run came to. */
export interface MacResult {
  stack: string;
  ok: boolean;
  /** The last stage reached: preview, up, refresh, or "preview (up not run)". */
  stage: string;
  /** Resource changes (`update 2, same 5`), or why it failed: the error as Pulumi reported it. */
  detail: string;
  elapsedMs: number;
  log: string;
  /** Not run, and why: a failed canary (rollout.ts), or the stack held by another run (heldBy);
   *  not ok either. */
  skipped?: string;
}

/** A Mac's progress, for its live line. */
interface Progress {
  stack: string;
  stage: string;
  resource: string;
  started: number;
  done?: MacResult;
}

export interface RunOptions {
  /** The project's folder (Pulumi.yaml). */
  workDir: string;
  stacks: string[];
  parallel: number;
  /** Where each Mac's log goes (`<dir>/<stack>.log`). */
  logDir: string;
  /** Environment per stack (the simulator's COLIMA_PULSE_HOST_ROOT); none for real Macs. */
  envOf: (stack: string) => Record<string, string>;
  /** Draws the live lines; defaults to the terminal (or one line per change when not a terminal). */
  display?: Display;
  /** Aborted: every Mac's operation in flight is cancelled as Ctrl-C cancels it (one SIGINT to
   *  its `pulumi`), and nothing more starts. */
  signal?: AbortSignal;
  /** Aborted: no Mac and no stage starts any more; those in flight go on. A terminal's Ctrl-C
   *  reaches every `pulumi` of the run itself (one process group): one more SIGINT from here
   *  would be its second, which ends it at once, mid-step. */
  drain?: AbortSignal;
  /** A decision the fleet itself made for a stack (fleet/upgrade.ts), bound to it: its variables
   *  go to that stack's workspace alone, made when the Mac's run starts. */
  decisionEnvOf?: (stack: string) => Record<string, string>;
  /** Saved plans (fleet/plans.ts): `save` (preview): each Mac's preview writes its plan and
   *  fingerprint into `dir`; `apply` (up): each Mac's up applies its plan from `dir`, instead of a
   *  new preview, once its settings and state are what the plan was made from. */
  plans?: { dir: string; mode: "save" | "apply" };
}

/** Why the fleet cannot start with this environment: a decision of `npm run reset`, `restore` or
 *  `upgrade` in it would reach every Mac of the fleet, which never asks (stacks/commandLineDecisions.ts).
 *  undefined when there is none. */
export function decisionRefusal(env: NodeJS.ProcessEnv): string | undefined {
  const set = decisionVariablesIn(env);
  if (set.length === 0) return undefined;
  return [
    `${set.map((k) => `${k} (environment) = ${JSON.stringify(env[k])}`).join(", ")}: a decision of npm run reset, restore or upgrade is one Mac's, and the fleet runs every Mac without asking; nothing was run.`,
    `Unset ${set.length > 1 ? "them" : "it"} (unset ${set.join(" ")}), then run the fleet again; to reset, restore or upgrade a Mac, run npm run reset, restore or upgrade for that Mac's stack (COLIMA_PULSE_STACK=<stack>).`,
  ].join("\n");
}

/** Takes every decision variable out of `env` (this process's: the Automation API's commands,
 *  the program and the provider inherit it), whatever refused them before. */
export function stripDecisions(env: NodeJS.ProcessEnv): void {
  for (const k of DECISION_VARIABLES) delete env[k];
}

/** The fleet's log folder `dir`, made and checked (privateFolderProblem), else throws before any
 *  Mac is reached. */
export function ensureLogDir(dir: string): void {
  const problem = privateFolderProblem(dir);
  if (problem)
    throw new Error(
      `the fleet's log folder ${dir} ${problem}: another user could plant, block or read the Macs' logs there. ` +
        "Nothing was run. Name a folder of yours that only you can write with --logs, or leave --logs out (.state/fleet)",
    );
}

/** Runs `work` for every item, at most `limit` at a time, in order of the list. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Stack creations, one at a time (see the header). */
let creating: Promise<unknown> = Promise.resolve();
/** Asked once per run, not per Mac: each is a `pulumi` process (the CLI's version, the stacks). */
let cli: Promise<PulumiCommand> | undefined;
const listed = new Map<string, Promise<string[]>>();

/** The stack `name` in a workspace of its own, created in the backend when it is new. Selecting a
 *  stack writes the project's workspace file, which concurrent runs race on (pulumi/pulumi#8186);
 *  every command here names its stack (--stack), so an existing stack is not selected, and new
 *  ones are created (`stack init` selects) one at a time. */
export async function openStack(
  workDir: string,
  name: string,
  stackEnv: Record<string, string>,
  decision: Record<string, string> = {},
): Promise<Stack> {
  stripDecisions(process.env);
  // The fleet's own decision (RunOptions.decisionEnvOf) reaches only the stack it is bound to.
  if (Object.keys(decision).length > 0 && !decision.COLIMA_PULSE_DECISION_STACK?.endsWith(`/${name}`))
    throw new Error(`a decision bound to ${decision.COLIMA_PULSE_DECISION_STACK ?? "no stack"} is not passed to stack ${name}`);
  const envVars = {
    ...Object.fromEntries(Object.entries(stackEnv).filter(([k]) => !(DECISION_VARIABLES as readonly string[]).includes(k))),
    ...decision,
  };
  cli ??= PulumiCommand.get();
  const ws = await LocalWorkspace.create({ workDir, envVars, pulumiCommand: await cli });
  // One backend per project folder and environment (the simulator's root aside).
  const backend = `${workDir} ${envVars.PULUMI_BACKEND_URL ?? ""}`;
  let names = listed.get(backend);
  if (!names) {
    names = ws.listStacks().then((all) => all.map((s) => s.name));
    listed.set(backend, names);
    names.catch(() => listed.delete(backend));
  }
  const known = (await names).some((s) => s === name || s.endsWith(`/${name}`));
  if (!known) {
    const created = creating.then(() => Stack.create(name, ws));
    creating = created.catch(() => undefined);
    return created;
  }
  ws.selectStack = async () => undefined; // it exists (listed above), and is named by every command
  return Stack.select(name, ws);
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The operator's reason for a failed run: the last error Pulumi reported for the stack or one of
 *  its resources, else the command's own error; one line. */
export function failureOf(errors: string[], thrown: unknown): string {
  const said = errors
    .map((e) => e.replace(ANSI, "").trim())
    .filter((e) => e && !/^(update|preview|refresh) failed$/.test(e) && !/^one or more errors occurred/i.test(e));
  // After a failed step, `up --plan` also reports every later resource of the plan as not seen
  // (pkg/resource/deploy/plan.go): that follows from the failure, which is the reason.
  const unseen = (e: string) => /^expected resource operations for \S+ but none were seen/.test(e);
  const reasons = said.some((e) => !unseen(e)) ? said.filter((e) => !unseen(e)) : said;
  const raw = reasons.at(-1) ?? (thrown instanceof Error ? thrown.message : String(thrown));
  const text = raw.replace(ANSI, "").replace(/^error: /, "");
  // The program stops with Pulumi's "Running program … failed with an unhandled exception" framing
  // around our message; keep the message.
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Running program .* failed/.test(l) && !/^at /.test(l));
  return (lines.join(" ") || "failed").slice(0, 400);
}

/** Who holds the stack, when `thrown` is Pulumi's refusal of an update because another process has
 *  the stack locked: `root@ci-2 (pid 4242) since 2026-12-07T15:00:00Z`. Every diy backend (a folder,
 *  S3, PostgreSQL…) takes the stack's lock for up, refresh and destroy, and refuses a second with
 *  "the stack is currently locked by N lock(s)" and a line per lock, "<url>: created by
 *  <user>@<host> (pid N) at <time>" (pkg/backend/diy/lock.go checkForLock); Pulumi Cloud refuses
 *  with "[409] Conflict: Another update is currently in progress". undefined for any other failure. */
export function heldBy(thrown: unknown): string | undefined {
  const text = (thrown instanceof Error ? thrown.message : String(thrown)).replace(ANSI, "");
  if (/Another update is currently in progress/i.test(text)) return "another update in progress (Pulumi Cloud)";
  if (!/the stack is currently locked by \d+ lock/.test(text)) return undefined;
  // (The command's error quotes its stderr, which may say it twice.)
  const holders = new Set(
    [...text.matchAll(/created by (\S+@\S+) \(pid (\d+)\) at (\S+)/g)].map((m) => `${m[1]} (pid ${m[2]}) since ${m[3]}`),
  );
  return holders.size > 0 ? [...holders].join(", ") : "another process (its lock names no holder)";
}

/** `update 2, same 5` from an operation's change summary. */
function summaryOf(changes: Record<string, number> | undefined): string {
  const parts = Object.entries(changes ?? {}).filter(([, n]) => n > 0);
  return parts.map(([op, n]) => `${op} ${n}`).join(", ") || "no changes";
}

/** A Mac's log: `<dir>/<stack>.log`, 0600, appended to, never through a symlink. A write that
 *  fails (a full disk) is kept as `failed` and calls `onFail` once; later writes are dropped. */
export function macLog(path: string, onFail: (why: string) => void): { write(text: string): void; close(): void; failed?: string } {
  let fd: number | undefined;
  const log: { write(text: string): void; close(): void; failed?: string } = {
    write(text) {
      if (log.failed !== undefined || text === "") return;
      try {
        if (fd === undefined) {
          fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
          fchmodSync(fd, 0o600); // an existing file keeps its mode on open
        }
        const bytes = Buffer.from(text, "utf8");
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
      } catch (e) {
        log.failed = `its log ${path} could not be written (${(e as Error).message})`;
        onFail(log.failed);
      }
    },
    close() {
      if (fd === undefined) return;
      try {
        closeSync(fd); // a network or full file system may say only now that a write was lost
      } catch (e) {
        log.failed ??= `its log ${path} could not be written (${(e as Error).message})`;
      }
      fd = undefined;
    },
  };
  return log;
}

/** One operation on one Mac, with its events feeding its live line and its log. Never rejects: a
 *  failure of any kind is this Mac's result, its operation cancelled first. */
async function runOne(operation: Operation, name: string, options: RunOptions, progress: Progress): Promise<MacResult> {
  const path = join(options.logDir, `${name}.log`);
  // Cancels this Mac's operation in flight: the Automation API sends `pulumi` SIGINT, which ends
  // it as Ctrl-C does (the steps in flight finish, the state is saved, the stack unlocked).
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  options.signal?.addEventListener("abort", onAbort);
  const log = macLog(path, () => cancel.abort());
  const stopped = () => cancel.signal.aborted || options.drain?.aborted === true;
  // Until the stack's config is read, no secret is known, and nothing of the stack is written.
  let redact: Redact = noSecrets;
  const write = (text: string) => log.write(redact(text));
  const output = lineRedactor(
    () => redact,
    (text) => log.write(text),
  );
  const errors: string[] = [];
  const onEvent = (e: EngineEvent) => {
    const pre = e.resourcePreEvent?.metadata;
    if (pre && pre.op !== "same") progress.resource = redact(`${pre.op} ${pre.urn.split("::").pop()}`);
    const diag = e.diagnosticEvent;
    if (diag?.severity === "error") errors.push(diag.message);
    // A mandatory rule of the fleet's guardrails (policy/rules.ts) is why this Mac's run stops.
    const violation = mandatoryViolation(e);
    if (violation) errors.push(violation);
  };
  const finish = (ok: boolean, stage: string, detail: string, skipped?: string): MacResult => {
    output.end();
    // A Mac whose operation ended well before the run was stopped succeeded; one whose log failed did not.
    const why = log.failed ?? (!ok && !skipped && stopped() ? "cancelled (the fleet run was stopped)" : undefined);
    const failed = !ok || why !== undefined;
    const said = redact(why ? `${why}; ${ok ? `${stage} ${detail}` : detail}` : detail);
    const result: MacResult = { stack: name, ok: !failed, stage, detail: said, elapsedMs: Date.now() - progress.started, log: path };
    if (skipped) result.skipped = redact(skipped);
    write(`\n== ${skipped ? "SKIPPED" : failed ? "FAILED" : "succeeded"} (${stage}): ${said}\n`);
    log.close();
    options.signal?.removeEventListener("abort", onAbort);
    progress.done = result;
    return result;
  };
  const stage = (s: string) => {
    progress.stage = s;
    progress.resource = "";
    write(`\n== ${s} (${new Date().toISOString()})\n`);
  };
  try {
    ensureLogDir(options.logDir);
    stage("opening the stack");
    if (stopped()) return finish(false, "open", "not started");
    let stack: Stack;
    try {
      stack = await openStack(options.workDir, name, options.envOf(name), options.decisionEnvOf?.(name));
      redact = await stackRedactor(stack);
    } catch (e) {
      return finish(false, "open", failureOf([], e));
    }
    const common = {
      onEvent,
      onOutput: (text: string) => output.write(text),
      color: "never" as const,
      signal: cancel.signal,
      // The fleet's guardrails on every preview and up (policy/rules.ts); refresh takes no packs.
      policyPacks: policyPacks(options.workDir),
    };
    /** One stage: its change summary, or the finished failure (`failedAs` names the stage then). */
    const attempt = async (name: string, run: () => Promise<string>, failedAs = name): Promise<string | MacResult> => {
      if (stopped()) return finish(false, failedAs, "not started");
      stage(name);
      try {
        return await run();
      } catch (e) {
        // Another run (another control machine, a CI job, an operator's `pulumi up`) has the stack:
        // it is theirs until they finish; nothing was run on the Mac here.
        const holder = heldBy(e);
        if (holder) return finish(false, `${name} (held)`, `held by another run: ${holder}; not run here`, `held by ${holder}`);
        return finish(false, failedAs, failureOf(errors, e));
      }
    };
    if (operation === "refresh") {
      const refreshed = await attempt("refresh", async () => summaryOf((await stack.refresh(common)).summary.resourceChanges));
      return typeof refreshed === "string" ? finish(true, "refresh", refreshed) : refreshed;
    }
    const plans = options.plans;
    if (operation === "up" && plans?.mode === "apply") {
      // The approved plan, not a new preview: first, the Mac must be what the plan was made from.
      const checked = await attempt(
        "checking the plan",
        async () => {
          const saved = savedFingerprint(plans.dir, name);
          if (typeof saved === "string") throw new Error(saved);
          const differs = differences(saved, await fingerprintOf(stack));
          if (differs.length > 0)
            throw new Error(
              `changed since its plan was saved (${saved.savedAt}): ${differs.join("; ")}; nothing was run. Preview it again: npm run fleet -- preview --save-plans ${plans.dir}`,
            );
          return "";
        },
        "plan (up not run)",
      );
      if (typeof checked !== "string") return checked;
      const applied = await attempt("up", async () =>
        summaryOf((await stack.up({ ...common, plan: planFile(plans.dir, name) })).summary.resourceChanges),
      );
      return typeof applied === "string" ? finish(true, "up (plan)", applied) : applied;
    }
    // What an up applies is what its own preview just planned (and the log shows): the plan kept
    // beside the Mac's log, then `up --plan`, as npm run upgrade's `pulumi up --strict` does.
    // --save-plans keeps it in its folder, with what it was made from (plans.ts).
    const saving = operation === "preview" && plans?.mode === "save" ? plans.dir : undefined;
    const planTo = saving ?? (operation === "up" ? options.logDir : undefined);
    const previewed = await attempt(
      "preview",
      async () => {
        if (planTo) forgetPlan(planTo, name);
        const before = saving ? await fingerprintOf(stack) : undefined;
        const changes = summaryOf((await stack.preview({ ...common, ...(planTo ? { plan: planFile(planTo, name) } : {}) })).changeSummary);
        // The engine makes it with the umask's mode (os.Create), in a folder only we may enter.
        if (planTo) chmodSync(planFile(planTo, name), 0o600);
        if (saving && before) {
          // An up elsewhere during this preview would leave a plan made from another state than this one.
          const during = differences(before, await fingerprintOf(stack));
          if (during.length > 0) throw new Error(`changed while its preview ran: ${during.join("; ")}; no plan saved. Preview it again`);
          saveFingerprint(saving, before);
        }
        return changes;
      },
      operation === "up" ? "preview (up not run)" : "preview",
    );
    if (typeof previewed !== "string") return previewed;
    if (operation === "preview") return finish(true, "preview", previewed);
    const updated = await attempt("up", async () => {
      write(`applying ${planFile(options.logDir, name)}, the plan of the preview above (pulumi up --plan)\n`);
      return summaryOf((await stack.up({ ...common, plan: planFile(options.logDir, name) })).summary.resourceChanges);
    });
    return typeof updated === "string" ? finish(true, "up", updated) : updated;
  } catch (e) {
    // Not expected (every stage catches its own): this Mac fails, the others go on.
    cancel.abort();
    return finish(false, progress.stage, failureOf(errors, e));
  }
}

/** Runs `operation` on every stack; resolves with one result per stack, in the order given. */
export async function runFleet(operation: Operation, options: RunOptions): Promise<MacResult[]> {
  stripDecisions(process.env);
  ensureLogDir(options.logDir);
  const progress = options.stacks.map((stack): Progress => ({ stack, stage: "waiting", resource: "", started: Date.now() }));
  const display = options.display ?? terminalDisplay();
  const timer = setInterval(() => display.draw(progress), 250);
  try {
    return await pool(options.stacks, options.parallel, (name) => {
      const p = progress.find((x) => x.stack === name) as Progress;
      p.started = Date.now();
      return runOne(operation, name, options, p);
    });
  } finally {
    clearInterval(timer);
    display.draw(progress);
    display.end();
  }
}

export interface Display {
  draw(progress: readonly Progress[]): void;
  end(): void;
}

/** `mac-07   up      update colima-daemon   12.3s` */
function lineOf(p: Progress, width: number): string {
  const elapsed = `${((p.done?.elapsedMs ?? Date.now() - p.started) / 1000).toFixed(1)}s`;
  const what = p.done ? `${p.done.ok ? "ok" : "FAILED"}: ${p.done.detail}` : `${p.stage}${p.resource ? `  ${p.resource}` : ""}`;
  return `${p.stack.padEnd(width)}  ${p.stage === "waiting" && !p.done ? "waiting" : `${what}  ${elapsed}`}`;
}

/** On a terminal: the block of lines redrawn in place. Elsewhere (CI, a log): a line whenever a
 *  Mac's stage or resource changes. */
export function terminalDisplay(out: NodeJS.WriteStream = process.stderr): Display {
  let drawn = 0;
  const last = new Map<string, string>();
  return {
    draw(progress) {
      const width = Math.max(...progress.map((p) => p.stack.length));
      if (out.isTTY) {
        const cols = out.columns || 120;
        const lines = progress.map((p) => lineOf(p, width).slice(0, cols - 1));
        out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ""}${lines.map((l) => `\x1b[2K${l}\n`).join("")}`);
        drawn = lines.length;
        return;
      }
      for (const p of progress) {
        const key = p.done ? `done ${p.done.ok}` : `${p.stage} ${p.resource}`;
        if (p.stage === "waiting" || last.get(p.stack) === key) continue;
        last.set(p.stack, key);
        out.write(`${lineOf(p, width)}\n`);
      }
    },
    end() {
      drawn = 0;
    },
  };
}
