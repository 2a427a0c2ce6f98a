// Runs a dynamic provider's stored text (`__provider`) the way Pulumi's plugin does
// (@pulumi/pulumi/cmd/dynamic-provider: require-from-string(text).handler()), in a fresh process:
//   node runSerialized.cjs <provider-text-file> <calls-json-file>
// Each call is { method, args }; prints one JSON line per call: { ok, value } or { ok:false, error },
// then one line { loaded: [...] }: every module the process loaded (require.cache), to tell what ran.
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");

const pluginRequire = createRequire(require.resolve("@pulumi/pulumi/cmd/dynamic-provider"));
const requireFromString = pluginRequire("require-from-string");

async function main() {
  const [textFile, callsFile] = process.argv.slice(2);
  const provider = requireFromString(readFileSync(textFile, "utf8")).handler();
  for (const { method, args } of JSON.parse(readFileSync(callsFile, "utf8"))) {
    try {
      const value = await provider[method](...args);
      process.stdout.write(`${JSON.stringify({ ok: true, value: value ?? null })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.message ?? e) })}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ loaded: Object.keys(require.cache) })}\n`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
