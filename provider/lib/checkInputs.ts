// `check` is validation only: parse with zod, report every problem at once as
// `{ property, reason }`, run nothing. Schemas are built by the caller inside a function from the
// zod passed in (a habit from when providers were stored by value, where a module-level schema
// could not be serialized; docs/ARCHITECTURE.md §4).
import type * as pulumi from "@pulumi/pulumi";
import type { z as zod } from "zod";
import { settingSchemas } from "./settingsSchema";

export type Zod = typeof zod;

/** The engine's placeholder for a value not known until apply (runtime/rpc.js `unknownValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Keys the engine adds to every dynamic resource's inputs; not ours to validate. */
const ENGINE_KEYS = ["__provider"];

/**
 * Validates `news` with the object schema `build(z)` returns. Values still unknown (a preview of
 * inputs computed from other resources) pass through unvalidated; everything else must parse.
 * On failure, every issue is reported by property, with the value that was given.
 */
export async function checkInputs<Shape extends zod.ZodRawShape>(
  news: Record<string, unknown>,
  build: (z: Zod) => zod.ZodObject<Shape>,
): Promise<pulumi.dynamic.CheckResult> {
  const { z } = await import("zod");
  const given = Object.fromEntries(Object.entries(news).filter(([k, v]) => !ENGINE_KEYS.includes(k) && v !== undefined));
  const unknownKeys = Object.keys(given).filter((k) => given[k] === UNKNOWN);
  // Every resource may be told which of its inputs hold secret settings (components/colimaPulse.ts).
  const schema = build(z).extend({ secrets: z.array(z.string().regex(/^\w+$/, "must be input names")).optional() });
  const mask = Object.fromEntries(unknownKeys.filter((k) => k in schema.shape).map((k) => [k, true as const]));
  const parsed = schema.omit(mask as never).safeParse(Object.fromEntries(Object.entries(given).filter(([k]) => !unknownKeys.includes(k))));
  if (parsed.success) {
    return { inputs: { ...(parsed.data as object), ...Object.fromEntries(unknownKeys.map((k) => [k, UNKNOWN])) } };
  }
  return {
    failures: parsed.error.issues.flatMap((issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({
          property: key,
          reason: `is not a known input (allowed: ${Object.keys(schema.shape).join(", ")})`,
        }));
      }
      const property = issue.path.length > 0 ? issue.path.map(String).join(".") : "(inputs)";
      return [{ property, reason: `${issue.message} (got ${JSON.stringify(valueAt(given, issue.path))})` }];
    }),
  };
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let here = value;
  for (const key of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

/** Which of `keys` differ between the stored outputs and the new inputs (for `diff`). */
export function changedKeys<T extends object>(olds: T, news: T, keys: readonly (keyof T)[]): (keyof T)[] {
  return keys.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
}

/** The engine's kinds of property change (pulumirpc.PropertyDiff.Kind). */
export type PropertyDiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

/** One property a diff found changed: what it was, what it becomes, and what that does to the Mac. */
export interface PropertyChange {
  /** A property path: an input (`cpus`), or an observed output (`versions.qemu`, `loaded`). */
  property: string;
  kind: PropertyDiffKind;
  old?: unknown;
  new?: unknown;
  /** What happens on the Mac because of it ("the VM restarts …"), or why it forces a replacement. */
  why?: string;
  /** Compared against the inputs (true) or against what refresh observed (false). */
  inputDiff?: boolean;
  /** Say only that it changed: values that may be secret, or hashes that mean nothing to a reader. */
  hidden?: boolean;
}

/** A diff with its property-level detail (`detailedDiff`, the provider protocol's shape) and one
 *  line per property for the operator. The Node dynamic provider of @pulumi/pulumi passes on only
 *  `changes`, `replaces` and `deleteBeforeReplace` (cmd/dynamic-provider/index.js, diff()), so the
 *  preview shows the engine's own input diff and these lines (docs/OPERATIONS.md "Preview is the confirmation"). */
export type DetailedDiff = pulumi.dynamic.DiffResult & {
  detailedDiff: Record<string, { kind: PropertyDiffKind; inputDiff: boolean }>;
  reasons: string[];
};

export function diffOf(changes: PropertyChange[], deleteBeforeReplace: boolean, secrets: readonly string[] = []): DetailedDiff {
  // A secret input's old and new values are never printed (the engine shows them as [secret]).
  changes = changes.map((c) => (secrets.includes(c.property.split(".")[0] as string) ? { ...c, hidden: true } : c));
  return {
    changes: changes.length > 0,
    replaces: changes.filter((c) => c.kind.endsWith("-replace")).map((c) => c.property),
    deleteBeforeReplace,
    detailedDiff: Object.fromEntries(changes.map((c) => [c.property, { kind: c.kind, inputDiff: c.inputDiff ?? true }])),
    reasons: changes.map(describeChange),
  };
}

/** `cpus: 2 → 4 (the VM restarts …)`, `versions.qemu: + …`, `env changed (…)`. */
export function describeChange(c: PropertyChange): string {
  const show = (v: unknown) => (v === undefined || v === "" ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
  const values = c.hidden
    ? " changed"
    : c.kind.startsWith("add")
      ? `: + ${show(c.new)}`
      : c.kind.startsWith("delete")
        ? `: - ${show(c.old)}`
        : `: ${show(c.old)} → ${show(c.new)}`;
  return `${c.property}${values}${c.why ? ` (${c.why})` : ""}`;
}

/** Each of `keys` whose stored and new values differ, as an update (or a replacement). */
export function inputChanges<T extends object>(
  olds: T,
  news: T,
  keys: readonly (keyof T)[],
  why: (key: keyof T) => string | undefined,
  kind: "update" | "update-replace" = "update",
): PropertyChange[] {
  // How the Mac is reached (host.ssh) is not what the Mac is: a new address updates state only.
  const reach = (v: unknown) => (v as { ssh?: unknown } | undefined)?.ssh;
  const what = (v: unknown) => ({ ...(v as object), ssh: undefined });
  const changes: PropertyChange[] = [];
  for (const key of keys) {
    const [old, now] = [olds[key], news[key]];
    if (key === "host" && JSON.stringify(reach(old)) !== JSON.stringify(reach(now))) {
      changes.push({ property: "host.ssh", kind: "update", old: reach(old), new: reach(now), why: REACH_ONLY });
    }
    const same = key === "host" ? JSON.stringify(what(old)) === JSON.stringify(what(now)) : JSON.stringify(old) === JSON.stringify(now);
    if (same) continue;
    // In a preview, a value another resource computes is unknown while that resource has an
    // update pending (the Node dynamic provider cannot preview one): the engine diffs again with
    // the value before it applies anything, and replaces then if it must. Not a replacement here.
    if (now === UNKNOWN) changes.push({ property: String(key), kind: "update", old, new: `(${NOT_YET_KNOWN})` });
    else changes.push({ property: String(key), kind, old, new: now, why: why(key) });
  }
  return changes;
}

/** A preview's word for a value not known yet (see inputChanges). */
export const NOT_YET_KNOWN = "known once the resources it comes from have run";

/** Why a change of only how the Mac is reached runs nothing on it (machineLock.ts onTheMac). */
export const REACH_ONLY = "the Mac is reached another way: state records it, nothing on the Mac changes";

/** Whether a diff (ours carry detailedDiff) found only the way to the Mac changed. */
export function onlyReachChanged(diff: { detailedDiff?: Record<string, unknown> }): boolean {
  const changed = Object.keys(diff.detailedDiff ?? {});
  return changed.length > 0 && changed.every((p) => p === "host.ssh");
}

/** The Mac (Host) as every resource's input: an absolute root and a macOS short user name. */
export function hostSchema(z: Zod) {
  const s = settingSchemas(z);
  return z.strictObject({
    root: z.string().regex(/^\/[^\0\n]*$/, "must be an absolute path"),
    user: s.HOMEBREW_USER,
    ssh: z
      .strictObject({
        destination: s.SSH_HOST,
        port: s.SSH_PORT.optional(),
        identityFile: s.SSH_IDENTITY_FILE.optional(),
        knownHostsFile: s.SSH_KNOWN_HOSTS_FILE.optional(),
      })
      .optional(),
  });
}

/** Inputs every resource has: its name, and which of its inputs hold secret settings. */
export interface Said {
  resourceName: string;
  secrets?: string[];
}

/** `message` with the text of every secret input (a user, profile, label or path) as [secret]. */
export function redact(inputs: Said, message: string): string {
  const texts: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === "string" && v.length >= 3) texts.push(v);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(collect);
  };
  for (const key of inputs.secrets ?? []) collect((inputs as unknown as Record<string, unknown>)[key]);
  // Longest first, so a path is hidden whole before a name inside it.
  return texts.sort((a, b) => b.length - a.length).reduce((m, t) => m.split(t).join("[secret]"), message);
}

/** An input's value for a progress line: "[secret]" when it holds a secret setting (numbers
 *  cannot be found and hidden in text afterwards, as `redact` does for names and paths). */
export function shown<T extends Said>(inputs: T, key: keyof T & string): string {
  return inputs.secrets?.includes(key) ? "[secret]" : String(inputs[key]);
}

/** A progress line on the stack row, prefixed with the resource's name: a dynamic provider's
 *  console output shows on its resource's row (Pulumi CLI ≥ 3.146, scripts/engine.sh). */
export function say(inputs: Said, message: string): void {
  console.log(`[${inputs.resourceName}] ${redact(inputs, message)}`);
}
