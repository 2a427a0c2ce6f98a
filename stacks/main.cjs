// The program's entry (Pulumi.yaml `main`). Pulumi's Node runtime loads this JavaScript file
// (`typescript: false`): scripts/prebuilt.cjs gives it the program as one prebuilt bundle when that
// was built from today's sources, else transpiles the TypeScript program through tsx's require hook
// (esbuild) as it is required. Either way no type-check at run time, where ts-node's took seconds
// on every preview and up and compiled with a `lib` of its own, not tsconfig.json's; `npm test`
// type-checks the same sources strictly (tsc), so there is no second copy of the program to go stale.
// Node's on-disk compile cache (Node >= 22.1; NODE_COMPILE_CACHE, which scripts/lib.sh sets, else
// the OS temp folder) spares recompiling the same modules on every run.
require("node:module").enableCompileCache?.();
module.exports = require("../scripts/prebuilt.cjs").load("program");
