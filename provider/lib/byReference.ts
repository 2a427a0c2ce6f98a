// What Pulumi stores as a dynamic resource's provider: a few lines that load the implementation
// from this checkout when the plugin runs it, instead of the implementation serialized by value
// (more than 10 KB of text per resource in commit 25c35fa, the last version that stored it so,
// written and read again on every run; bench/RESULTS.md measures today's).
//
// The text is written here, not produced by `pulumi.runtime.serializeFunction` the way
// `pulumi.dynamic.Resource` does it: serializing a closure loads the TypeScript compiler into the
// program to parse the function (with the SDK's index, which loads it too: ~0.5 s of CPU in every
// run, measured; test/e2e/runCost.e2e.test.ts keeps it out), and wraps each method in ~230 bytes
// of its own. What the plugin needs of the text is only that
// `require-from-string(text).handler()` returns the provider object
// (@pulumi/pulumi/cmd/dynamic-provider/index.js, getProvider), which the text below is. The type
// token and the `__provider` property are the ones `pulumi.dynamic.Resource` sets, so URNs and
// state are the same as with it (test/e2e/providerUpgrade.e2e.test.ts).
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
import { CustomResource } from "@pulumi/pulumi/resource";

/** The provider methods the engine's plugin calls, when the implementation has them (it treats a
 *  missing one as "use the default"), in a fixed order so the text is stable. */
const METHODS = ["check", "diff", "create", "read", "update", "delete"] as const;

/** The stored text for `provider/<resource>.ts`'s export `<resource>Provider` (e.g. smokeContainer
 *  → smokeContainerProvider): a CommonJS module whose `handler()` returns an object with the
 *  implementation's methods, each loading the providers when called: their prebuilt bundle when it
 *  was built from today's sources, else provider/index.ts through tsx (scripts/prebuilt.cjs). */
export function providerText(resource: string, implementation: pulumi.dynamic.ResourceProvider): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(resource)) throw new Error(`provider name ${JSON.stringify(resource)}: letters and digits only`);
  // The checkout, relative to the folder the program runs in — which is the folder the engine starts
  // the plugin in (the program's, `main`'s) — so state moves with the checkout.
  const root = relative(process.cwd(), resolve(__dirname, "../..")) || ".";
  const methods = METHODS.filter((m) => typeof implementation[m] === "function");
  return [
    `// colima-pulse (provider/lib/byReference.ts): runs provider/${resource}.ts of the checkout that runs Pulumi.`,
    "exports.handler = () => {",
    "  const load = () =>",
    `    require(process.cwd() + ${JSON.stringify(`/${root}/scripts/prebuilt.cjs`)}).load("providers").${resource}Provider;`,
    `  return { ${methods.map((m) => `${m}: (...a) => load().${m}(...a)`).join(", ")} };`,
    "};",
    "",
  ].join("\n");
}

/** A dynamic resource (type `pulumi-nodejs:dynamic/colima-pulse:<type>`, as `pulumi.dynamic.Resource`
 *  names it) whose provider is `providerText(resource, implementation)`. */
export abstract class ResourceByReference extends CustomResource {
  constructor(
    resource: string,
    implementation: pulumi.dynamic.ResourceProvider,
    type: string,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    if ("__provider" in props) throw new Error("a dynamic resource must not define the __provider key");
    super(`pulumi-nodejs:dynamic/colima-pulse:${type}`, name, { ...props, __provider: providerText(resource, implementation) }, opts);
  }
}
