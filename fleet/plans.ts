// Saved plans: what was approved is what runs.
//   npm run fleet -- preview --save-plans DIR   each Mac's preview writes Pulumi's update plan
//                                               (`preview --save-plan`) and what the plan was made
//                                               from: the stack's settings and its state;
//   npm run fleet -- up --plans DIR             each Mac's `up --plan`: the engine refuses any step
//                                               the plan does not allow (pkg/resource/deploy/plan.go:
//                                               a resource's operation and its inputs must be the
//                                               plan's). First, a Mac whose settings or state are
//                                               not what its plan was made from is refused, with
//                                               what differs, and nothing is run on it.
// A plan holds the resources' planned operations and inputs, not the state it was computed from
// (`pulumi up --plan` runs on whatever the state is now), hence the fingerprint beside it: a
// digest per setting and per resource of the state, never their values (the settings include
// secrets). Plans, fingerprints and the summary are written 0600 into a folder only the operator
// may write (runner.ts privateFolderProblem): a plan planted by someone else would be applied.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { privateFolderProblem, writePrivately } from "./privateFolder";

/** What a plan was made from, as digests (sha256, hex). */
export interface Fingerprint {
  stack: string;
  /** When the preview that made the plan ran (ISO 8601). */
  savedAt: string;
  /** Every setting of the stack (its own and the project's defaults), by key. */
  settings: Record<string, string>;
  /** Every resource of the stack's state, by URN. */
  state: Record<string, string>;
}

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** The plan's file for `stack` in `dir`. */
export const planFile = (dir: string, stack: string) => join(dir, `${stack}.plan.json`);
const fingerprintFile = (dir: string, stack: string) => join(dir, `${stack}.fingerprint.json`);

/** `--save-plans`' or `--plans`' folder, resolved; an error naming the option when it is unusable. */
export function plansDir(option: "--save-plans" | "--plans", value: string): string {
  const dir = resolve(value);
  if (option === "--plans" && !existsSync(dir))
    throw new Error(
      `--plans (command line) = ${JSON.stringify(value)}: no such folder; make the plans first: npm run fleet -- preview --save-plans ${value}`,
    );
  return dir;
}

/** Makes `dir` for plans (0700) and checks it is the operator's alone, else throws. */
export function ensurePlansDir(dir: string): void {
  const problem = privateFolderProblem(dir);
  if (problem)
    throw new Error(
      `the plans folder ${dir} ${problem}: another user could put a plan of theirs there, which up --plans would apply. Nothing was run. Name a folder only you can write`,
    );
}

/** The stack's settings and state now, as digests. */
export async function fingerprintOf(stack: Stack, savedAt = new Date()): Promise<Fingerprint> {
  const config = await stack.getAllConfig();
  const deployment = (await stack.exportStack()).deployment as { resources?: { urn: string }[] } | undefined;
  return {
    stack: stack.name,
    savedAt: savedAt.toISOString(),
    settings: Object.fromEntries(Object.entries(config).map(([key, v]) => [key, digest(v.value)])),
    state: Object.fromEntries((deployment?.resources ?? []).map((r) => [r.urn, digest(r)])),
  };
}

/** Removes `stack`'s plan and fingerprint from an earlier save into `dir`: a Mac whose preview
 *  fails now must have no plan there to apply. */
export function forgetPlan(dir: string, stack: string): void {
  for (const file of [planFile(dir, stack), fingerprintFile(dir, stack)]) rmSync(file, { force: true });
}

export function saveFingerprint(dir: string, fingerprint: Fingerprint): void {
  writePrivately(fingerprintFile(dir, fingerprint.stack), `${JSON.stringify(fingerprint, null, 2)}\n`);
}

/** The fingerprint saved beside `stack`'s plan, or why there is none to apply. */
export function savedFingerprint(dir: string, stack: string): Fingerprint | string {
  const file = fingerprintFile(dir, stack);
  if (!existsSync(planFile(dir, stack)) || !existsSync(file))
    return `no saved plan for ${stack} in ${dir} (npm run fleet -- preview --save-plans ${dir} makes one)`;
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Fingerprint;
    if (saved.stack === stack && typeof saved.settings === "object" && typeof saved.state === "object") return saved;
  } catch {
    // unreadable: said below
  }
  return `${file} is not a plan's fingerprint written by npm run fleet -- preview --save-plans`;
}

/** What differs between what the plan was made from and now, one phrase per kind; [] when nothing. */
export function differences(saved: Fingerprint, now: Fingerprint): string[] {
  const changed = (a: Record<string, string>, b: Record<string, string>) => {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) =>
      a[k] === b[k] ? [] : [`${k} ${a[k] === undefined ? "added" : b[k] === undefined ? "removed" : "changed"}`],
    );
  };
  // A resource is named by the last part of its URN (…::colima-profile).
  const name = (entry: string) => entry.replace(/^urn:pulumi:.*::/, "");
  const settings = changed(saved.settings, now.settings);
  const state = changed(saved.state, now.state).map(name);
  return [
    ...(settings.length > 0 ? [`settings: ${settings.join(", ")}`] : []),
    ...(state.length > 0 ? [`state (an up, refresh or import ran since): ${state.join(", ")}`] : []),
  ];
}

/** A Mac's line in the plans' summary. */
export interface PlannedMac {
  stack: string;
  ok: boolean;
  /** The preview's changes (`update 1, same 9`), or why it failed. */
  detail: string;
}

/** summary.json and summary.txt: what each Mac's plan does, as the operator approves it. */
export function saveSummary(dir: string, planned: PlannedMac[], savedAt = new Date()): void {
  writePrivately(join(dir, "summary.json"), `${JSON.stringify({ savedAt: savedAt.toISOString(), macs: planned }, null, 2)}\n`);
  const lines = planned.map((p) => `${p.stack}: ${p.ok ? p.detail : `NO PLAN (preview failed: ${p.detail})`}`);
  writePrivately(
    join(dir, "summary.txt"),
    `Plans saved ${savedAt.toISOString()}; apply exactly these with: npm run fleet -- up --plans ${dir}\n${lines.join("\n")}\n`,
  );
}
