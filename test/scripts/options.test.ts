// scripts/lib.sh check_up_options: an argument `pulumi up` would refuse stops npm run converge,
// reset, restore and upgrade before anything starts, naming it; pulumi up's own options (read
// from `pulumi up --help` of the engine on PATH) pass, with their values.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
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
