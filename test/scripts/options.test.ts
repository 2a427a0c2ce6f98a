// scripts/upOptions.ts (scripts/lib.sh check_up_options runs it): an argument `pulumi up` would
// refuse stops npm run converge, reset, restore and upgrade before anything starts, naming it;
// pulumi up's own options (read from `pulumi up --help` of the engine on PATH) pass, with their values.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { upFlags, upOptionsProblem } from "../../scripts/upOptions";
import { repoRoot } from "../helpers/pulumiStack";

function check(...args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync("bash", ["-c", 'source scripts/lib.sh && check_up_options "$@"', "check", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, npm_lifecycle_event: "reset" },
  });
  return { code: r.status, stderr: r.stderr };
}

describe("check_up_options", () => {
  it("passes pulumi up's options, with a value after them or after =", () => {
    for (const args of [
      [],
      ["--diff"],
      ["--yes"],
      ["-y"],
      ["-c", "COLIMA_CPUS=4"],
      ["-cCOLIMA_CPUS=4"],
      ["--refresh"],
      ["--refresh=false"],
      ["--target", "urn:x", "--diff"],
      ["--parallel=2"],
    ]) {
      assert.deepEqual(check(...args), { code: 0, stderr: "" }, args.join(" "));
    }
  });
  it("refuses an unknown option, a word, or two short options together, naming the command", () => {
    const cases: [string[], string][] = [
      [
        ["--bogus", "--yes"],
        "error: --bogus (command line) is not an option of npm run reset or pulumi up (npm run reset -- --help; pulumi up --help); nothing was started\n",
      ],
      [
        ["--bogus=1"],
        "error: --bogus (command line) is not an option of npm run reset or pulumi up (npm run reset -- --help; pulumi up --help); nothing was started\n",
      ],
      [
        ["-x"],
        "error: -x (command line) is not an option of npm run reset or pulumi up (npm run reset -- --help; pulumi up --help); nothing was started\n",
      ],
      [
        ["now"],
        'error: "now" (command line): npm run reset takes options only, not "now" (npm run reset -- --help); nothing was started\n',
      ],
      [
        ["--refresh", "true"],
        'error: "true" (command line): npm run reset takes options only, not "true" (npm run reset -- --help); nothing was started\n',
      ],
      [["-yd"], "error: -yd (command line): one short option at a time (npm run reset -- --help)\n"],
    ];
    for (const [args, stderr] of cases) assert.deepEqual(check(...args), { code: 1, stderr }, args.join(" "));
  });
});

describe("upFlags, upOptionsProblem: pulumi up's help, read", () => {
  // Lines as `pulumi up --help` (v3.274) prints them, one of each kind.
  const help = [
    "Usage:",
    "  pulumi up [template|url] [flags]",
    "",
    "Flags:",
    "      --attach-debugger stringArray[=program]   Enable the ability to attach a debugger",
    "  -c, --config stringArray                      Config to use during the update",
    "      --diff                                    Display operation as a rich diff",
    '  -r, --refresh string[="true"]                 Refresh the state of the stack\'s resources',
    "  -y, --yes                                     Automatically approve and perform the update",
    "      --tracing file:                           Emit tracing to the specified endpoint",
    "Global Flags:",
    "  -C, --cwd string                   Run pulumi as if it had been started in another directory",
  ].join("\n");
  const flags = upFlags(help);

  it("each option: its long name, whether the next argument is its value, its letter", () => {
    assert.deepEqual(flags, [
      { long: "attach-debugger", value: false, short: "" },
      { long: "config", value: true, short: "c" },
      { long: "diff", value: false, short: "" },
      { long: "refresh", value: false, short: "r" },
      { long: "yes", value: false, short: "y" },
      { long: "tracing", value: true, short: "" },
      { long: "cwd", value: true, short: "C" },
    ]);
  });

  it("a value is skipped, never checked; a value only after = is not taken from the next argument", () => {
    const problem = (...args: string[]) => upOptionsProblem(args, flags, "npm run upgrade");
    assert.equal(problem("--config", "--bogus", "-C", "now", "-cX=1", "--refresh=false", "-y", "--diff"), undefined);
    assert.equal(problem("--config"), undefined, "a value missing at the end is pulumi up's to refuse");
    assert.equal(
      problem("--refresh", "false"),
      '"false" (command line): npm run upgrade takes options only, not "false" (npm run upgrade -- --help); nothing was started',
    );
    assert.equal(
      problem("--"),
      '"--" (command line): npm run upgrade takes options only, not "--" (npm run upgrade -- --help); nothing was started',
    );
    assert.equal(
      problem("--=1"),
      "-- (command line) is not an option of npm run upgrade or pulumi up (npm run upgrade -- --help; pulumi up --help); nothing was started",
    );
    assert.equal(problem("-ry"), "-ry (command line): one short option at a time (npm run upgrade -- --help)");
    assert.equal(
      upOptionsProblem(["--diff"], upFlags("no options here"), "npm run converge"),
      "--diff (command line) is not an option of npm run converge or pulumi up (npm run converge -- --help; pulumi up --help); nothing was started",
    );
  });
});
