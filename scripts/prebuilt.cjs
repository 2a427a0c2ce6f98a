// Loads one of the checkout's TypeScript entries — the program, the dynamic providers, the policy
// pack — from the bundle scripts/prebuild.ts made of it (.bundle/<name>.cjs), when that bundle was
// built from exactly today's sources, else from the sources through tsx's require hook, as before.
//
// Why: every Mac's preview starts a program, a provider and a policy pack process, and each, through
// tsx, resolved and loaded its modules one by one (about a hundred files, and all of @pulumi/policy
// for the pack). One file per process costs less CPU (bench/RESULTS.md measures both, side by side).
// A bundle is only ever a faster copy: "fresh" means every source it was built from still has the
// SHA-256 recorded beside it (.bundle/<name>.json), so an edited, checked-out or copied source is
// loaded as it is, never a stale copy of it; `npm test` type-checks the sources, the bundles are
// built by scripts/lib.sh (ensure_prebuilt) and git-ignored.
"use strict";
const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const Module = require("node:module");
const { join } = require("node:path");

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".bundle");

/** The bundles: name → its entry, relative to the checkout. scripts/prebuild.ts builds each one. */
const ENTRIES = {
  program: "stacks/index.ts",
  providers: "provider/index.ts",
  policy: "policy/index.ts",
};

/** Hex SHA-256 of a file's bytes (the digests .bundle/<name>.json records). */
const digest = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The bytes of .bundle/<name>.cjs when .bundle/<name>.json records their digest (so a build
 *  racing another across an edit never pairs one's bundle with the other's record) and the digest
 *  of each source it was built from, as each still is; else undefined (no record, an unreadable one,
 *  a missing file). */
function freshBundle(name) {
  let record;
  try {
    record = JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8"));
  } catch {
    return undefined;
  }
  const { bundle, inputs } = record ?? {};
  if (typeof bundle !== "string" || typeof inputs !== "object" || inputs === null || Object.keys(inputs).length === 0) return undefined;
  try {
    const text = readFileSync(join(DIR, `${name}.cjs`));
    if (digest(text) !== bundle) return undefined;
    return Object.entries(inputs).every(([file, sha]) => digest(readFileSync(join(ROOT, file))) === sha)
      ? text.toString("utf8")
      : undefined;
  } catch {
    return undefined;
  }
}

const fresh = (name) => freshBundle(name) !== undefined;

/** Entry `name`'s module, once per process (the providers' text asks on every call). */
const loaded = new Map();

/** The module of entry `name`: its fresh bundle — compiled from the very bytes checked, not read
 *  again — else its TypeScript source through tsx. COLIMA_PULSE_PREBUILT=off: always the sources. */
function load(name) {
  const entry = ENTRIES[name];
  if (entry === undefined) throw new Error(`scripts/prebuilt.cjs: no entry named ${JSON.stringify(name)}`);
  if (!loaded.has(name)) {
    const text = process.env.COLIMA_PULSE_PREBUILT === "off" ? undefined : freshBundle(name);
    if (text === undefined) {
      require("tsx/cjs");
      loaded.set(name, require(join(ROOT, entry)));
    } else {
      const file = join(DIR, `${name}.cjs`);
      const bundle = new Module(file, module);
      bundle.filename = file;
      bundle.paths = Module._nodeModulePaths(DIR);
      Module._cache[file] = bundle;
      bundle._compile(text, file);
      bundle.loaded = true;
      loaded.set(name, bundle.exports);
    }
  }
  return loaded.get(name);
}

module.exports = { ROOT, DIR, ENTRIES, digest, fresh, load };
