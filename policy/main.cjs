// The policy pack's entry, as stacks/main.cjs is the program's: tsx's require hook transpiles the
// TypeScript pack as it is required (no type-check at run time; `npm test` type-checks it), and
// Node's compile cache spares recompiling the same modules on every run.
require("node:module").enableCompileCache?.();
require("tsx/cjs");
require("./index.ts");
