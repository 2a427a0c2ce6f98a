// `npm run mutation` (docs/MUTATION.md): StrykerJS mutates the pure modules below in a sandbox copy
// of the repository (.stryker-tmp/) and runs their fast unit test files against every mutant.
// Stryker has no node:test runner; the tap runner starts each test file as
// `node -r <stryker's hook> --import tsx <file>` (tap-runner's buildArguments), and a node:test file
// run that way prints TAP because its stdout is a pipe, not a TTY (Node's test runner docs,
// "Test reporters"). Each test file counts as one test: coverage is per file, so a mutant runs
// only the files that reached it.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "tap",
  tap: {
    // Only unit test files: no test/e2e, no test/simulator, nothing that needs dockerd or Pulumi.
    testFiles: [
      "test/provider/settingsSchema.test.ts",
      "test/provider/lib/adoption.test.ts",
      "test/provider/lib/backups.test.ts",
      "test/provider/lib/checkInputs.test.ts",
      "test/provider/lib/staleState.test.ts",
      "test/stacks/adoptionPlan.test.ts",
      "test/stacks/badInput.test.ts",
      "test/stacks/commandLineDecisions.test.ts",
      "test/stacks/config.test.ts",
      "test/fleet/cli.test.ts",
    ],
    nodeArgs: ["--import", "tsx"],
    // Stop a test file at its first failing test: the mutant is killed then.
    forceBail: true,
  },
  mutate: [
    "provider/lib/settingsSchema.ts",
    "provider/lib/checkInputs.ts",
    "provider/lib/adoption.ts",
    "provider/lib/backups.ts",
    "provider/lib/staleState.ts",
    "stacks/config.ts",
    "stacks/adoptionPlan.ts",
    "stacks/commandLineDecisions.ts",
    "fleet/cli.ts",
  ],
  // The sandbox gets only what those tests load (not .state/, .sim/, .tools/ or the e2e suites).
  ignorePatterns: [
    "/*",
    "!/provider",
    "!/stacks",
    "!/fleet",
    "!/components",
    "!/test",
    "/test/e2e",
    "/test/simulator",
    "!/package.json",
    "!/tsconfig.json",
    "!/Pulumi.yaml",
    "!/.env.example",
  ],
  coverageAnalysis: "perTest",
  // Two cores, shared with other work (docs/MUTATION.md has the measured time).
  concurrency: 1,
  // Reuses the last run's results for mutants whose code and covering test files did not change
  // (reports/ is git-ignored: a fresh checkout runs every mutant; `-- --force` does too).
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  // A test file's process start (tsx, zod, @pulumi/pulumi) varies on a busy machine.
  timeoutMS: 10000,
};
