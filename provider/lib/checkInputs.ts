// `check` is validation only (STYLE.md habit 2): parse with zod, report every problem at once as
// `{ property, reason }`, run nothing. zod is imported inside the function and schemas are built
// by the caller inside a function, because a module-level schema cannot be serialized into the
// provider text (DESIGN.md §7).
import type * as pulumi from "@pulumi/pulumi";
import type { z as zod } from "zod";

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
  const schema = build(z);
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

/** The Mac (Host) as every resource's input: an absolute root and a macOS short user name. */
export function hostSchema(z: Zod) {
  return z.strictObject({
    root: z.string().regex(/^\/[^\0\n]*$/, "must be an absolute path"),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a macOS short user name")
      .refine((u) => u !== "root", "must not be root: Homebrew refuses to run as root"),
  });
}

/** A progress line on the stack row, prefixed with the resource's name (DESIGN.md §7). */
export function say(inputs: { resourceName: string }, message: string): void {
  console.log(`[${inputs.resourceName}] ${message}`);
}
