// Secrets in the fleet's output: every text the fleet prints or writes about a stack (status table
// and --json, doctor, the runner's live lines, summaries and per-Mac logs) goes through the
// stack's redactor, as the program's own messages do (stacks/index.ts `redact`,
// provider/lib/checkInputs.ts `redact`): the text of every secret config value becomes [secret].
// The engine masks a secret only where it appears verbatim in its own output; ssh says a host
// without its user (`connect to host <host> port 22`) and may lowercase it, so the parts of a
// `user@host` secret are hidden too, in any case.
import type { Stack } from "@pulumi/pulumi/automation";

export type Redact = (text: string) => string;

/** Leaves text as it is: a stack whose config could not be read yet has no known secrets. */
export const noSecrets: Redact = (text) => text;

/** The texts to hide for the secret values `values`: each, its string leaves when it is JSON
 *  (an object or list set with --path), and the user and host of a `user@host`. Shorter than 3
 *  characters cannot be told from other text, as in provider/lib/checkInputs.ts. */
export function secretTexts(values: string[]): string[] {
  const texts = new Set<string>();
  const add = (v: string) => {
    // A number or a switch is not found in text (the program leaves them out of its own: stacks/adoptionPlan.ts).
    if (v.length < 3 || /^(?:true|false|-?\d+(?:\.\d+)?)$/.test(v)) return;
    texts.add(v);
    const at = v.lastIndexOf("@");
    if (at > 0) {
      add(v.slice(0, at));
      add(v.slice(at + 1));
    }
  };
  const leaves = (v: unknown): void => {
    if (typeof v === "string") add(v);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(leaves);
  };
  for (const value of values) {
    add(value);
    try {
      leaves(JSON.parse(value));
    } catch {
      // not JSON: the value itself, above
    }
  }
  // Longest first, so a `user@host` is hidden whole before its host inside it.
  return [...texts].sort((a, b) => b.length - a.length);
}

/** A redactor hiding `texts` (secretTexts) as [secret], in any letter case. */
export function redactor(texts: string[]): Redact {
  if (texts.length === 0) return noSecrets;
  const escaped = texts.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(escaped.join("|"), "gi");
  return (text) => text.replace(pattern, "[secret]");
}

/** The redactor of `stack`: its config's secret values, decrypted (the engine's passphrase). */
export async function stackRedactor(stack: Stack): Promise<Redact> {
  const config = await stack.getAllConfig();
  return redactor(secretTexts(Object.values(config).flatMap((v) => (v.secret ? [v.value] : []))));
}

/** `value` with every string in it redacted: a status row, a doctor's report. */
export function redactDeep<T>(value: T, redact: Redact): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T;
  return value;
}

/** Text in chunks (a process's output), redacted a whole line at a time, so that a secret split
 *  across two chunks is still found; `end` passes what is left. */
export function lineRedactor(redact: () => Redact, out: (text: string) => void): { write(chunk: string): void; end(): void } {
  let partial = "";
  return {
    write(chunk) {
      const text = partial + chunk;
      const cut = text.lastIndexOf("\n") + 1;
      partial = text.slice(cut);
      if (cut > 0) out(redact()(text.slice(0, cut)));
    },
    end() {
      if (partial) out(redact()(partial));
      partial = "";
    },
  };
}
