// .github/workflows/*.yml, which run on GitHub's Macs, never here: actionlint (scripts/actionlint.sh
// builds it once per machine; scripts/test.sh does so before the suite) finds nothing in them,
// shellcheck included for their run: steps; the macOS workflow runs on both Mac runners what it
// says it runs; and each of its command checks (`expect CODE TEXT COMMAND`) holds here, with
// macOS's bash 3.2 (test/helpers/macosShells.ts) standing in for the Mac's /bin/bash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { whichOnPath } from "../../scripts/lib";
import { macosShells } from "../helpers/macosShells";
import { repoRoot } from "../helpers/pulumiStack";

const workflows = join(repoRoot, ".github/workflows");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
}

describe("GitHub workflows", () => {
  it("actionlint finds nothing in .github/workflows/*.yml, shellcheck checking their run: steps", (t) => {
    const built = spawnSync("bash", ["scripts/actionlint.sh", "--check"], { cwd: repoRoot, encoding: "utf8" });
    if (built.status !== 0) return t.skip("actionlint is not built on this machine: bash scripts/actionlint.sh (scripts/test.sh runs it)");
    const shellcheck = whichOnPath("shellcheck");
    if (!shellcheck) return t.skip("shellcheck is not installed (scripts/test.sh installs it), and actionlint checks run: steps with it");
    const files = readdirSync(workflows).filter((f) => f.endsWith(".yml"));
    assert.ok(files.includes("macos.yml"), files.join(", "));
    const r = spawnSync(built.stdout.trim(), ["-shellcheck", shellcheck, "-no-color", ...files.map((f) => join(".github/workflows", f))], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout + r.stderr, "");
  });

  const macos = parse(readFileSync(join(workflows, "macos.yml"), "utf8"));
  const job = macos.jobs.mac;
  const steps: Step[] = job.steps;

  it("macos.yml: Apple silicon and Intel, the checkout, Node.js by the scripts, the contract against the Mac", () => {
    assert.deepEqual(job.strategy.matrix.runner, ["macos-15", "macos-15-intel"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub's expression, not a JavaScript template
    assert.equal(job["runs-on"], "${{ matrix.runner }}");
    assert.match(steps[0]?.uses ?? "", /^actions\/checkout@v\d+$/);
    assert.ok(
      steps.some((s) => /source scripts\/lib\.sh; ensure_node; ensure_node_modules/.test(s.run ?? "")),
      "Node.js and node_modules by scripts/lib.sh",
    );
    const contract = steps.find((s) => s.run === "npm run contract");
    assert.deepEqual(contract?.env, { CONTRACT_TARGET: "mac" });
  });

  // Each `expect CODE 'TEXT' COMMAND...` line of the operator's step.
  const operator = steps.find((s) => s.shell?.startsWith("/bin/bash "));
  const checks = [...(operator?.run ?? "").matchAll(/^ *expect (\d) '([^']*)' (.+)$/gm)].map(([, code, text, command]) => ({
    code: Number(code),
    text: text as string,
    argv: (command as string).split(" "),
  }));

  it("macos.yml: under the Mac's /bin/bash, each command's --help and each refusal before anything starts", () => {
    assert.ok(operator, "a step whose shell is /bin/bash");
    for (const name of ["reset", "restore", "upgrade"]) {
      assert.ok(
        checks.some((c) => c.code === 0 && c.argv.join(" ") === `/bin/bash scripts/${name}.sh --help`),
        name,
      );
      assert.ok(
        checks.some((c) => c.code === 1 && c.argv[0] === "/bin/bash" && c.argv[1] === `scripts/${name}.sh`),
        `${name}: a refusal`,
      );
    }
  });

  const shells = macosShells();
  it("macos.yml: each command check holds here, macOS's bash 3.2 in place of /bin/bash", {
    skip: "skip" in shells ? shells.skip : false,
  }, () => {
    if ("skip" in shells) return;
    // An operator's environment, with the Mac's bash first on PATH (so also for npm's `exec bash`).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(COLIMA_PULSE_|npm_)/.test(k)));
    env.PATH = `${shells.dir}:${env.PATH ?? ""}`;
    assert.ok(checks.length >= 10, `${checks.length} checks`);
    for (const { code, text, argv } of checks) {
      const here: string[] = argv[0] === "/bin/bash" ? [shells.bash, ...argv.slice(1)] : argv;
      const r = spawnSync(here[0] as string, here.slice(1), {
        cwd: repoRoot,
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 120_000,
      });
      const said = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, code, `${argv.join(" ")}:\n${said}`);
      assert.ok(said.includes(text), `${argv.join(" ")} did not say ${JSON.stringify(text)}:\n${said}`);
    }
  });
});
