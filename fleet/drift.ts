// `fleet drift`: per Mac, what a refresh would change, the Pulumi way: a refresh preview (the
// Automation API's previewRefresh, `pulumi refresh --preview-only`). Each resource's provider `read`
// reports the Mac as it is now, and the engine diffs that against the stack's state; nothing is
// saved (a dry run's snapshot goes to a discarding persister) and no stack lock is taken: the
// file/DIY backend's Refresh takes its lock only after the PreviewOnly branch has returned
// (pulumi/pulumi pkg/backend/diy/backend.go `Refresh`, v3.274.1), so a cron's check never stands
// in the way of an operator's `pulumi up`, nor waits for one's stack lock.
// The providers' reads do take the Mac's own lock while they run (provider/lib/machineLock.ts):
// a check of a Mac that another run is converging waits for that run's steps, as any step would.
import { join } from "node:path";
import { type EngineEvent, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { lineRedactor, noSecrets, type Redact, redactDeep, stackRedactor } from "./redact";
import {
  ensureLogDir,
  failureOf,
  type MacResult,
  macLog,
  openStack,
  pool,
  type RunOptions,
  stripDecisions,
  terminalDisplay,
} from "./runner";

/** One property the Mac's `read` reports other than the state holds (`from` → `to`; a secret is
 *  [secret] in the engine's events). */
export interface DriftedProperty {
  /** `loaded`, `versions.qemu`. */
  property: string;
  from?: unknown;
  to?: unknown;
}

/** One resource a refresh would change: `op` update (the Mac differs) or delete (it is gone). */
export interface DriftedResource {
  /** `LaunchDaemon::colima-daemon`: the resource's type (last part) and name. */
  resource: string;
  op: string;
  /** What its provider's `read` found other than the state (the providers' outputs). */
  properties: DriftedProperty[];
  /** The provider's own reasons, from its diff of what `read` found against the declared inputs
   *  (`loaded: false → true (system/… is not loaded)`: what an up would do about it). */
  reasons: string[];
}

/** One Mac's answer. */
export interface MacDrift {
  stack: string;
  /** none: the Mac is as its state says; drift: a refresh would change `resources`; unchecked:
   *  the check did not answer (`error` says why: out of reach, a failed read). */
  result: "none" | "drift" | "unchecked";
  resources: DriftedResource[];
  error?: string;
  elapsedMs: number;
  log: string;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The leaves of `from` and `to` that differ, as dotted paths (objects are walked, lists compared
 *  whole); the dynamic provider's own key (`__provider`, its code) is not the Mac. */
export function changedProperties(from: unknown, to: unknown, prefix = ""): DriftedProperty[] {
  if (same(from, to)) return [];
  if (!isObject(from) || !isObject(to)) return [{ property: prefix || "(the resource)", from, to }];
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((k) => k !== "__provider").sort();
  return keys.flatMap((k) => changedProperties(from[k], to[k], prefix ? `${prefix}.${k}` : k));
}

/** What a refresh preview's event says drifted, or undefined. A refresh step's outputs event
 *  carries its result op (same, update, delete: pkg/engine/update.go, RefreshStep.ResultOp), the
 *  state before (old) and what the provider's `read` reported (new); the properties are the
 *  outputs that differ (Pulumi's Node.js dynamic providers pass no detailed diff to the engine:
 *  cmd/dynamic-provider/index.js `diff`). The stack's own resource and providers are not the Mac. */
export function driftedBy(e: EngineEvent): DriftedResource | undefined {
  const m = e.resOutputsEvent?.metadata;
  if (!m || m.op === "same" || m.op === "refresh" || m.op === "read") return undefined;
  if (m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) return undefined;
  const properties = m.op === "delete" ? [] : changedProperties(m.old?.outputs ?? {}, m.new?.outputs ?? {});
  return { resource: `${m.type.split(":").pop()}::${m.urn.split("::").pop()}`, op: m.op, properties, reasons: [] };
}

/** A provider's reason in a diagnostic: `[colima-daemon] will converge: a; b` (provider/lib/checkInputs.ts
 *  `say`, as every provider's diff says them) → the resource's name and its reasons. */
export function reasonsIn(message: string): { name: string; reasons: string[] } | undefined {
  const m = /^\[([^\]]+)\] will (?:converge|check again): (.*)$/.exec(message.trim());
  return m ? { name: m[1] as string, reasons: (m[2] as string).split("; ").filter(Boolean) } : undefined;
}

/** A value short enough to show in the table, else undefined. */
function shown(v: unknown): string | undefined {
  const text = v === undefined ? "(none)" : JSON.stringify(v);
  return text.length <= 40 ? text : undefined;
}

/** `update LaunchDaemon::colima-daemon (loaded: true → false, filesHash)`; "none". */
export function driftText(resources: DriftedResource[]): string {
  if (resources.length === 0) return "none";
  const property = (p: DriftedProperty) => {
    const [from, to] = [shown(p.from), shown(p.to)];
    return from !== undefined && to !== undefined ? `${p.property}: ${from} → ${to}` : p.property;
  };
  return resources
    .map((r) => {
      const why = r.reasons.length > 0 ? `: ${r.reasons.join("; ")}` : "";
      return `${r.op} ${r.resource}${r.properties.length > 0 ? ` (${r.properties.map(property).join(", ")})` : ""}${why}`;
    })
    .join(" | ");
}

/** The exit code for cron: 2 when a Mac could not be checked (the answer is not whole; the
 *  summary still names any drift found), else 1 when a Mac drifted, else 0. */
export function driftExitCode(results: MacDrift[]): 0 | 1 | 2 {
  if (results.some((r) => r.result === "unchecked")) return 2;
  return results.some((r) => r.result === "drift") ? 1 : 0;
}

/** The closing line: which Macs drifted, which could not be checked. */
export function driftSummary(results: MacDrift[], logDir: string): string {
  const names = (kind: MacDrift["result"]) => results.filter((r) => r.result === kind).map((r) => r.stack);
  const drifted = names("drift");
  const unchecked = names("unchecked");
  const n = results.length;
  const parts = [
    drifted.length > 0
      ? `drift on ${drifted.length} of ${n}: ${drifted.join(", ")} (to converge them back: npm run fleet -- refresh, then up)`
      : "",
    unchecked.length > 0 ? `${unchecked.length} of ${n} could not be checked: ${unchecked.join(", ")} (logs: ${logDir})` : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : `no drift on ${n === 1 ? "the 1 Mac" : `any of the ${n} Macs`}`;
}

/** What a drift check is given: what a run is (the same Macs, lanes, logs and signals). */
export type DriftOptions = RunOptions;

/** One Mac's refresh preview, its output in its log (0600, redacted with the stack's secrets, as
 *  the runner's: runner.ts macLog). Never rejects. */
async function checkOne(
  name: string,
  options: DriftOptions,
  progress: { stage: string; resource: string; started: number; done?: MacResult },
): Promise<MacDrift> {
  const path = join(options.logDir, `${name}.log`);
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  options.signal?.addEventListener("abort", onAbort);
  const log = macLog(path, () => cancel.abort());
  let redact: Redact = noSecrets;
  const output = lineRedactor(
    () => redact,
    (text) => log.write(text),
  );
  const errors: string[] = [];
  const resources: DriftedResource[] = [];
  /** The providers' reasons by resource name (a diagnostic may come before or after the step's outputs). */
  const reasons = new Map<string, string[]>();
  /** Resources of the Mac the refresh read (any result): none means the state holds none. */
  let read = 0;
  const onEvent = (e: EngineEvent) => {
    const out = e.resOutputsEvent?.metadata;
    if (out && out.type !== "pulumi:pulumi:Stack" && !out.type.startsWith("pulumi:providers:")) read++;
    const pre = e.resourcePreEvent?.metadata;
    if (pre) progress.resource = redact(`read ${pre.urn.split("::").pop()}`);
    const drifted = driftedBy(e);
    if (drifted) resources.push(drifted);
    if (e.diagnosticEvent?.severity === "error") errors.push(e.diagnosticEvent.message);
    const said = e.diagnosticEvent ? reasonsIn(e.diagnosticEvent.message) : undefined;
    if (said) reasons.set(said.name, [...(reasons.get(said.name) ?? []), ...said.reasons]);
  };
  const finish = (error?: string): MacDrift => {
    output.end();
    const failed = error ?? log.failed ?? (cancel.signal.aborted ? "cancelled (the check was stopped)" : undefined);
    resources.sort((a, b) => a.resource.localeCompare(b.resource));
    for (const r of resources) r.reasons = [...new Set(reasons.get(r.resource.split("::").pop() as string) ?? [])];
    const result: MacDrift = redactDeep(
      {
        stack: name,
        result: failed !== undefined ? "unchecked" : resources.length > 0 ? "drift" : "none",
        resources,
        ...(failed !== undefined ? { error: failed } : {}),
        elapsedMs: Date.now() - progress.started,
        log: path,
      },
      redact,
    );
    log.write(redact(`\n== ${result.result}: ${result.error ?? driftText(result.resources)}\n`));
    log.close();
    options.signal?.removeEventListener("abort", onAbort);
    const detail = result.error ?? driftText(result.resources);
    progress.done = { stack: name, ok: result.result === "none", stage: "drift", detail, elapsedMs: result.elapsedMs, log: path };
    return result;
  };
  try {
    progress.stage = "opening the stack";
    log.write(`== refresh preview (${new Date().toISOString()}): what a refresh would change; nothing is saved\n`);
    if (cancel.signal.aborted || options.drain?.aborted) return finish("not started (the check was stopped)");
    let stack: Stack;
    try {
      // openStack creates a stack that is not in the backend yet; a check changes no state.
      if (!(await inBackend(options, name)))
        return finish(`never converged: no stack ${name} in the backend, nothing to compare the Mac with (npm run fleet -- up)`);
      stack = await openStack(options.workDir, name, options.envOf(name));
      redact = await stackRedactor(stack);
    } catch (e) {
      return finish(failureOf([], e));
    }
    progress.stage = "refresh preview";
    try {
      await stack.previewRefresh({ onEvent, onOutput: (text) => output.write(text), color: "never", signal: cancel.signal });
    } catch (e) {
      return finish(failureOf(errors, e));
    }
    // An empty state has nothing to compare the Mac with (a refresh reads no resource, and never
    // reaches the Mac): not an answer about the Mac.
    if (read === 0) return finish("never converged: its stack holds no resources to compare with the Mac (npm run fleet -- up)");
    return finish();
  } catch (e) {
    cancel.abort();
    return finish(failureOf(errors, e));
  }
}

const listings = new Map<string, Promise<string[]>>();

/** Whether `name` is a stack of the backend: listed once per run (`pulumi stack ls`), as openStack
 *  lists them, without creating any. */
function inBackend(options: DriftOptions, name: string): Promise<boolean> {
  let names = listings.get(options.workDir);
  if (!names) {
    names = LocalWorkspace.create({ workDir: options.workDir, envVars: options.envOf(name) })
      .then((ws) => ws.listStacks())
      .then((all) => all.map((s) => s.name));
    listings.set(options.workDir, names);
    names.catch(() => listings.delete(options.workDir));
  }
  return names.then((all) => all.some((s) => s === name || s.endsWith(`/${name}`)));
}

/** Every Mac's answer, in the order given, at most `parallel` at once; one Mac out of reach never
 *  stops the others. */
export async function fleetDrift(options: DriftOptions): Promise<MacDrift[]> {
  stripDecisions(process.env);
  ensureLogDir(options.logDir); // the operator's alone, or nothing runs (fleet/runner.ts)
  const progress = options.stacks.map(
    (stack) => ({ stack, stage: "waiting", resource: "", started: Date.now() }) as Parameters<typeof checkOne>[2] & { stack: string },
  );
  const display = options.display ?? terminalDisplay();
  const timer = setInterval(() => display.draw(progress), 250);
  try {
    return await pool(options.stacks, options.parallel, (name) => {
      const p = progress.find((x) => x.stack === name) as (typeof progress)[number];
      p.started = Date.now();
      return checkOne(name, options, p);
    });
  } finally {
    clearInterval(timer);
    display.draw(progress);
    display.end();
  }
}
