// Preloaded into a Node process (NODE_OPTIONS=--require) by test/e2e/runCost.e2e.test.ts: when the
// process exits, writes the modules it loaded to $COLIMA_PULSE_LOADED_DIR/<pid>.json, with its
// command line, so the test can tell what the program's process of a `pulumi` run paid to start.
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");

const dir = process.env.COLIMA_PULSE_LOADED_DIR;
if (dir) {
  const save = () => {
    try {
      writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ argv: process.argv, modules: Object.keys(require.cache) }));
    } catch {
      // the folder is gone: the test is over
    }
  };
  // Only a process that exits by itself (the program does; the engine kills its plugins).
  process.once("exit", save);
}
