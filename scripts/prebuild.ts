// Builds the bundles scripts/prebuilt.cjs loads: each entry of its ENTRIES (the program, the
// dynamic providers, the policy pack) into .bundle/<name>.cjs with esbuild, and beside it
// .bundle/<name>.json, the SHA-256 of that bundle and of every source it was built from. Run by
// scripts/lib.sh (ensure_prebuilt) after node_modules, for every command; an entry whose bundle is
// fresh is not built again, so that costs the digests alone.
//   usage: node --import tsx scripts/prebuild.ts [--force]
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { build, type Plugin } from "esbuild";

interface Prebuilt {
  ROOT: string;
  DIR: string;
  ENTRIES: Record<string, string>;
  digest(bytes: Buffer): string;
  fresh(name: string): boolean;
}
const { ROOT, DIR, ENTRIES, digest, fresh } = require("./prebuilt.cjs") as Prebuilt;

/** The policy pack is a process of its own: its packages (@pulumi/policy and the SDK it serves the
 *  engine with) go into its bundle too. The program's and the providers' SDK stays the one in
 *  node_modules: the language host's runner and the provider plugin load @pulumi/pulumi from there
 *  and keep the run's state in it (@pulumi/pulumi cmd/run, cmd/dynamic-provider). */
const OWN_PACKAGES = new Set(["policy"]);

/** Our sources, read once: each keeps its own folder as `__dirname` (provider/launchDaemon.ts reads
 *  supervisor.sh beside it, stacks/index.ts the containers folder above it), not the bundle's: each
 *  use becomes the source's folder, relative to the bundle, so the checkout can move. The digest of
 *  the very bytes esbuild was given goes into `read` (path relative to the checkout): a source
 *  edited while the build runs is recorded as it was built, so the bundle is not fresh against it. */
function ownSources(read: Map<string, string>): Plugin {
  return {
    name: "own-sources",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes("/node_modules/")) return undefined;
        const bytes = readFileSync(args.path);
        read.set(relative(ROOT, args.path), digest(bytes));
        const folder = relative(DIR, dirname(args.path));
        const text = bytes.toString("utf8").replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${JSON.stringify(folder)})`);
        return { contents: text, loader: "ts" };
      });
    },
  };
}

/** Builds `name` into temporary files of this process and renames them, the record last, naming
 *  the digest of the bundle as written: a build that stops half-way leaves no fresh-looking
 *  bundle, and two builds at once (two commands, two test files) each rename a whole file. */
async function prebuild(name: string, entry: string): Promise<void> {
  const out = join(DIR, `${name}.cjs`);
  const temporary = `${out}.${process.pid}.tmp`;
  const lock = "node_modules/.package-lock.json";
  const read = new Map<string, string>([[lock, digest(readFileSync(join(ROOT, lock)))]]);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    packages: OWN_PACKAGES.has(name) ? undefined : "external",
    external: ["typescript"],
    outfile: temporary,
    metafile: true,
    logLevel: "error",
    plugins: [ownSources(read)],
  });
  // Every source of ours in the bundle went through ownSources (a .js or .json of ours would not).
  const unread = Object.keys(result.metafile.inputs).filter((f) => !f.includes("node_modules/") && !read.has(f));
  if (unread.length > 0) throw new Error(`${entry}: sources not read by the build's plugin: ${unread.join(", ")}`);
  const bundle = digest(readFileSync(temporary));
  renameSync(temporary, out);
  const record = join(DIR, `${name}.json`);
  writeFileSync(`${record}.${process.pid}.tmp`, `${JSON.stringify({ entry, bundle, inputs: Object.fromEntries(read) }, null, 1)}\n`);
  renameSync(`${record}.${process.pid}.tmp`, record);
}

async function main(): Promise<void> {
  const force = process.argv.includes("--force");
  mkdirSync(DIR, { recursive: true });
  for (const [name, entry] of Object.entries(ENTRIES)) {
    if (!force && fresh(name)) continue;
    rmSync(join(DIR, `${name}.json`), { force: true });
    await prebuild(name, entry);
    console.error(`prebuilt ${entry} → ${relative(ROOT, join(DIR, `${name}.cjs`))}`);
  }
}

main().catch((e: unknown) => {
  console.error(`scripts/prebuild.ts: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
