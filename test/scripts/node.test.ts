// The Node.js the scripts run everything on (scripts/lib.sh, ensure_node): the pinned version
// agrees with package.json and the SDK, and a machine whose `node` is too old (or lacks
// process.execve, which scripts/lib.ts execInto needs) gets the cached one first on PATH, with the
// machine's npm running on it; under this machine's bash and under macOS's bash 3.2.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { macosShells } from "../helpers/macosShells";
import { repoRoot } from "../helpers/pulumiStack";

const lib = readFileSync(join(repoRoot, "scripts/lib.sh"), "utf8");
const nodeVersion = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(lib)?.[1] ?? "";
const nodeMajor = Number(nodeVersion.split(".")[0]);
const major = (v: string): number => Number(/(\d+)/.exec(v)?.[1]);
const readJson = (path: string) => JSON.parse(readFileSync(join(repoRoot, path), "utf8"));

const work = mkdtempSync(join(tmpdir(), "cpulse-node-"));
after(() => rmSync(work, { recursive: true, force: true }));

describe("Node.js for the scripts", () => {
  it("one pinned version, which package.json and the SDK agree with", () => {
    assert.match(nodeVersion, /^\d+\.\d+\.\d+$/, "NODE_VERSION in scripts/lib.sh");
    const pkg = readJson("package.json");
    assert.equal(pkg.engines.node, `>=${nodeMajor}`);
    assert.equal(major(pkg.devDependencies["@types/node"]), nodeMajor);
    const sdk = readJson("node_modules/@pulumi/pulumi/package.json");
    assert.ok(nodeMajor >= major(sdk.engines.node), `@pulumi/pulumi needs node ${sdk.engines.node}`);
  });

  it("the tests, and so the language host they start, run on it or newer", () => {
    assert.ok(major(process.versions.node) >= nodeMajor, `running on ${process.version}`);
    const first = execFileSync("bash", ["-c", "command -v node"], { encoding: "utf8" }).trim();
    const version = execFileSync(first, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    assert.ok(major(version) >= nodeMajor, `the first node on PATH (${first}) is ${version}`);
  });

  // Under this machine's bash and under the Mac's (bash 3.2), which runs scripts/lib.sh there.
  const mac = macosShells();
  const shells: [string, string | undefined][] = [
    ["bash", "bash"],
    ["macOS's bash 3.2", "skip" in mac ? undefined : mac.bash],
  ];
  // A cache that already holds the pinned Node (this process's, new enough per the test above),
  // so nothing is downloaded here; behind it on PATH, a machine `node` that is too old.
  const cache = join(work, "cache");
  const cached = join(cache, `node-v${nodeVersion}`, "bin");
  mkdirSync(cached, { recursive: true });
  symlinkSync(process.execPath, join(cached, "node"));
  const npmDir = dirname(execFileSync("bash", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
  /** ensure_node with `machineNode` (a sh script's body) as the machine's node: which node is then
   *  first on PATH, and which one a command npm starts runs on. */
  const ensureNode = (bash: string, name: string, machineNode: string): [string, string] => {
    const old = join(work, name);
    mkdirSync(old);
    writeFileSync(join(old, "node"), `#!/bin/sh\n${machineNode}\n`);
    chmodSync(join(old, "node"), 0o755);
    const out = execFileSync(
      bash,
      [
        "-c",
        'set -euo pipefail; source scripts/lib.sh; ensure_node; command -v node; npm exec --offline -c "node -p process.execPath" 2>/dev/null',
      ],
      {
        cwd: repoRoot,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, COLIMA_PULSE_CACHE: cache, PATH: [old, npmDir, "/usr/bin", "/bin"].join(delimiter) },
      },
    );
    return out.trim().split("\n") as [string, string];
  };

  for (const [shell, bash] of shells) {
    it(`a too-old node on PATH: the cached Node goes first, and npm runs on it (${shell})`, (t) => {
      if (!bash) return t.skip("skip" in mac ? mac.skip : "");
      const [onPath, underNpm] = ensureNode(bash, `old-${shell.replace(/\W+/g, "-")}`, "echo 20");
      assert.equal(onPath, join(cached, "node"));
      assert.equal(underNpm, process.execPath, "a command npm starts runs on the cached Node");
    });
    it(`a node of the right major without process.execve (before 22.15), which scripts/lib.ts needs: the cached one goes first (${shell})`, (t) => {
      if (!bash) return t.skip("skip" in mac ? mac.skip : "");
      const [onPath] = ensureNode(
        bash,
        `noexecve-${shell.replace(/\W+/g, "-")}`,
        'case "$*" in *execve*) echo undefined ;; *) echo 22 ;; esac',
      );
      assert.equal(onPath, join(cached, "node"));
    });
  }
});
