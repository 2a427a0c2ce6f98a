// scripts/lib.ts execInto, the hand-over of npm run reset, restore and upgrade to scripts/converge.sh:
// like a shell's `exec`, the same process (so npm's signals reach what runs next), with every
// signal at its default (Node ignores SIGPIPE and SIGXFSZ, which an exec would pass on), and the
// standard descriptors as they were (never left non-blocking, which shells do not expect).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/pulumiStack";

describe("execInto", () => {
  it("becomes the program: same PID, its arguments, the environment, default signals, blocking stdio", (t) => {
    if (process.platform !== "linux") return t.skip("reads /proc/self, which only Linux has");
    // A program file, as decide.ts is (tsx's -e mode itself leaves stdout non-blocking), that says
    // something on stderr (a pipe here) before it hands over, as decide.ts does.
    const dir = mkdtempSync(join(tmpdir(), "cpulse-execinto-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = join(dir, "handOver.ts");
    writeFileSync(
      program,
      `const { execInto, say } = require(${JSON.stringify(join(repoRoot, "scripts/lib"))});
say("before the hand-over");
process.env.HANDED = "over";
require("node:fs").writeSync(1, process.pid + "\\n");
execInto("sh", ["-c", 'echo "$$ $1 $HANDED"; grep -E "^Sig(Ign|Blk):" /proc/self/status; grep ^flags: /proc/self/fdinfo/1 /proc/self/fdinfo/2', "sh", "arg"]);
`,
    );
    // Its stdout and stderr: one pipe a shell made (blocking, as shells make them).
    const r = spawnSync("sh", ["-c", '"$0" --import tsx "$1" 2>&1 | cat', process.execPath, program], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const [before, pid, said, ...status] = r.stdout.trim().split("\n");
    assert.equal(before, "==> before the hand-over");
    assert.equal(said, `${pid} arg over`, "the same process, with its arguments and the environment");
    assert.ok(status.includes("SigIgn:\t0000000000000000"), `no signal ignored: ${status}`);
    assert.ok(status.includes("SigBlk:\t0000000000000000"), `no signal blocked: ${status}`);
    const flags = status.filter((l) => l.includes("flags:"));
    assert.equal(flags.length, 2);
    // O_NONBLOCK is 04000 (octal) on Linux.
    for (const line of flags) assert.equal((Number.parseInt(line.split(/\s+/).pop() as string, 8) & 0o4000) === 0, true, line);
  });
});
