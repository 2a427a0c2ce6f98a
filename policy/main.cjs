// The policy pack's entry, as stacks/main.cjs is the program's: scripts/prebuilt.cjs loads the
// pack's prebuilt bundle when it is fresh, else transpiles the TypeScript pack through tsx as it is
// required (no type-check at run time; `npm test` type-checks it), and Node's compile cache spares
// recompiling the same modules on every run.
require("node:module").enableCompileCache?.();
require("../scripts/prebuilt.cjs").load("policy");
