// What Pulumi stores as a dynamic resource's provider: a few lines that load the implementation
// from this checkout when the plugin runs it, instead of the implementation serialized by value
// (15–65 KB of text per resource, written and read again on every run; bench/RESULTS.md).
//
// Deliberately, then: an existing resource's read, diff, update and delete run the implementation
// of the checkout that runs Pulumi, not the one that created it. Every method re-checks what it is
// given against today's schema (provider/lib/checkInputs.ts), and state written by an older
// version — by-value provider text included, which the engine replaces with this on the next `up`
// — is what test/e2e/providerUpgrade.e2e.test.ts converges, refreshes and destroys. Long-lived
// things (the Mac lock's signal handlers, the engine watchdog, process-tree cleanup) live in the
// loaded modules, once per plugin process, never in this text.
import { relative, resolve } from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** A provider whose methods call the same methods of `provider/<resource>.ts`'s export
 *  `<resource>Provider` (e.g. smokeContainer → smokeContainerProvider), loaded when called. */
export function byReference(resource: string, implementation: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  // provider/, relative to the folder the program runs in — which is the folder the engine starts
  // the plugin in (the program's, `main`'s) — so state moves with the checkout.
  const stub: Record<string, unknown> = { resource, from: relative(process.cwd(), resolve(__dirname, "..")) || "." };
  for (const [method, fn] of Object.entries(implementation)) if (typeof fn === "function") stub[method] = METHODS[method];
  return stub as unknown as pulumi.dynamic.ResourceProvider;
}

type Stub = { resource: string; from: string };

/** The stored text's one call into the checkout (named short: the name is repeated in the text). */
function to(stub: Stub, method: string, args: unknown[]): unknown {
  // tsx, from the project's node_modules, compiles the TypeScript (cached on disk).
  require("tsx/cjs");
  return require(`${process.cwd()}/${stub.from}/${stub.resource}.ts`)[`${stub.resource}Provider`][method](...args);
}

// One function per method, shared by every stub and capturing nothing but `to` (each capture
// is repeated in the stored text); `this` is the stub the engine's plugin calls it on.
const METHODS: Record<string, unknown> = {
  check(this: Stub, ...args: unknown[]) {
    return to(this, "check", args);
  },
  diff(this: Stub, ...args: unknown[]) {
    return to(this, "diff", args);
  },
  create(this: Stub, ...args: unknown[]) {
    return to(this, "create", args);
  },
  read(this: Stub, ...args: unknown[]) {
    return to(this, "read", args);
  },
  update(this: Stub, ...args: unknown[]) {
    return to(this, "update", args);
  },
  delete(this: Stub, ...args: unknown[]) {
    return to(this, "delete", args);
  },
};
