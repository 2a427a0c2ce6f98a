// The operator's commands under the Mac's own /bin/bash, GNU bash 3.2 (test/helpers/macosShells.ts),
// first on PATH so that every `bash` they start is 3.2 too: the bootstrap (scripts/lib.sh and the
// scripts/<command>.sh entry points), --help, the refusals before anything starts, and on a
// terminal (util-linux `script`) each decision's whole path, the --backup=prompt question
// included, up to scripts/converge.sh, which would start the services. That is a stand-in here,
// in a copy of the checkout: it says what it was handed (arguments, the decision's variables, its
// bash). The same commands with a simulated Mac behind them: test/e2e/adoption.e2e.test.ts,
// upgrade.e2e.test.ts, macLife.e2e.test.ts.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { USAGE } from "../../scripts/decide";
import { macosShells } from "../helpers/macosShells";
import { repoRoot } from "../helpers/pulumiStack";

const shells = macosShells();

/** What scripts/converge.sh would be handed; it prints it and starts nothing. */
const CONVERGE_STAND_IN = `#!/usr/bin/env bash
echo "converge.sh under bash $BASH_VERSION: $*"
env | grep -E '^COLIMA_PULSE_(STACK|FULL_RESET|BACKUP|RESET_ID|RESTORE|RESTORE_ID|UPGRADE_ID|DECISION_STACK)=' | sort
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("the operator's commands under macOS's bash 3.2", { skip: "skip" in shells ? shells.skip : false }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    if ("skip" in shells) return;
    dir = mkdtempSync(join(tmpdir(), "cpulse-bash32-"));
    for (const f of readdirSync(repoRoot)) {
      if (["node_modules", ".state", ".git", "reports", ".stryker-tmp", ".env"].includes(f)) continue;
      cpSync(join(repoRoot, f), join(dir, f), {
        recursive: true,
        filter: (src) => !/\/stacks\/Pulumi\.(?!example-mac)[^/]+\.yaml$/.test(src),
      });
    }
    // Linked, not installed: scripts/lib.sh never reinstalls a linked node_modules.
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(dir, "scripts/converge.sh"), CONVERGE_STAND_IN);
    chmodSync(join(dir, "scripts/converge.sh"), 0o755);
    writeFileSync(join(dir, ".env"), "HOMEBREW_USER=ops\n");
    writeFileSync(join(dir, "stacks/Pulumi.broken.yaml"), "config:\n  colima-pulse:COLIMA_CPUS: 99\n");
    // An operator's environment: none of the suite's stacks, decisions or passphrase.
    env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(COLIMA_PULSE_|PULUMI_CONFIG_PASSPHRASE|PULUMI_BACKEND_URL$|npm_)/.test(k)),
    );
    env.PATH = `${shells.dir}:${env.PATH ?? ""}`;
    env.SHELL = "/bin/sh";
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `bash scripts/<command>.sh ARG...` as `npm run <command>` starts it, without a terminal. */
  const command = (name: string, args: string[], extra: NodeJS.ProcessEnv = {}): Run => {
    const r = spawnSync("bash", [`scripts/${name}.sh`, ...args], {
      cwd: dir,
      env: { ...env, npm_lifecycle_event: name, ...extra },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  /** The same on a terminal of its own (util-linux `script`), typing `input`; what the terminal
   *  showed, with its line ends and bold made plain. */
  const onTerminal = (line: string, input: string, extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve) => {
      const child = spawn("script", ["-qfec", line, "/dev/null"], {
        cwd: dir,
        env: { ...env, npm_lifecycle_event: line.split(/[ /.]/)[2], ...extra },
        stdio: ["pipe", "pipe", "pipe"],
        timeout: 120_000,
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d;
      });
      child.stderr.on("data", (d: Buffer) => {
        out += d;
      });
      // The input stays open, as a terminal's does, until the command ends.
      child.stdin.write(input);
      child.on("close", (code) =>
        resolve({ code, out: out.replace(/\r\n/g, "\n").split("\u001b[1m").join("").split("\u001b[0m").join("") }),
      );
    });

  it("is bash 3.2, in every bash the commands start", () => {
    const r = spawnSync("bash", ["-c", 'echo "$BASH_VERSION"; bash -c \'echo "$BASH_VERSION"\''], { env, encoding: "utf8" });
    assert.match(r.stdout, /^3\.2\.\S+\n3\.2\.\S+\n$/);
  });

  it("--help of reset, restore and upgrade: their text, nothing else (no engine, no state)", () => {
    for (const name of ["reset", "restore", "upgrade"] as const)
      assert.deepEqual(command(name, ["--help"]), { code: 0, stdout: USAGE[name], stderr: "" }, name);
    assert.equal(existsSync(join(dir, ".state")), false, "nothing written");
  });

  it("--help of the other commands an operator runs on a Mac: converge, fleet, doctor", () => {
    for (const [name, first] of [
      ["fleet", "npm run fleet -- <command> [options]"],
      ["doctor", "npm run doctor"],
    ] as const) {
      const r = command(name, ["--help"]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(first), `${name}: ${r.stdout}`);
    }
    // The real converge.sh (the copy's is the stand-in); --help stops before anything else.
    const converge = spawnSync("bash", ["scripts/converge.sh", "--help"], { cwd: repoRoot, env, encoding: "utf8" });
    assert.equal(converge.status, 0, converge.stderr);
    assert.match(converge.stdout, /^npm run converge \[-- OPTIONS\]/);
  });

  it("refuses before anything starts, without a terminal: each refusal, its words, exit 1", () => {
    const cases: [string, string[], string][] = [
      [
        "reset",
        [],
        "a full reset asks for confirmation on a terminal, and there is none: add --yes to confirm it here (the seed's --force-yes)",
      ],
      [
        "reset",
        ["--backup=prompt", "--yes"],
        "--backup=prompt asks on a terminal, and there is none: choose --backup=move or --backup=false",
      ],
      [
        "reset",
        ["--backup=sometimes", "--yes"],
        "--backup=sometimes: not a backup mode; use --backup=move (default), --backup=prompt or --backup=false (npm run reset -- --help)",
      ],
      ["restore", ["--yes"], "which backup? npm run restore -- <backup folder> (npm run fleet -- status lists them; --help)"],
      ["restore", ["backups/x", "--yes"], "backups/x: the backup folder must be an absolute path on the Mac"],
      [
        "restore",
        ["/b/20260101T000000Z-default"],
        "a restore asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
      ],
      ["upgrade", ["--diff"], "an upgrade asks for confirmation on a terminal, and there is none: add --yes to confirm it here"],
    ];
    for (const [name, args, said] of cases)
      assert.deepEqual(command(name, args), { code: 1, stdout: "", stderr: `error: ${said}\n` }, `${name} ${args.join(" ")}`);
  });

  it("reset --backup=prompt on a terminal: asks until it is answered, then hands the decision over", async () => {
    const r = await onTerminal("bash scripts/reset.sh --backup=prompt", "x\nd\n");
    const question = "Full reset: move the profile's state to a backup folder first [m], or DELETE it without a backup [d]? ";
    assert.equal(r.out.split(question).length - 1, 2, r.out);
    assert.match(r.out, /==> FULL RESET of Colima profile 'default' on stack 'simulated' \(backup: false\)\n/);
    assert.match(r.out, /==> --backup=false: the profile's state will be DELETED without a backup\n/);
    assert.match(r.out, /converge\.sh under bash 3\.2\.\S+: --strict\n/);
    assert.match(
      r.out,
      /COLIMA_PULSE_BACKUP=false\nCOLIMA_PULSE_DECISION_STACK=colima-pulse\/simulated\nCOLIMA_PULSE_FULL_RESET=default\nCOLIMA_PULSE_RESET_ID=\d{8}T\d{6}Z\nCOLIMA_PULSE_STACK=simulated\n/,
    );
    assert.equal(r.code, 0, r.out);
  });

  it("reset on a terminal, moving: Pulumi will ask; an option for pulumi up goes on to it", async () => {
    const r = await onTerminal("bash scripts/reset.sh --diff", "");
    assert.match(r.out, /==> Pulumi's preview below shows the backup folder and what moves into it, then asks\n/);
    assert.match(r.out, /converge\.sh under bash 3\.2\.\S+: --diff --strict\nCOLIMA_PULSE_BACKUP=move\n/);
  });

  it("restore and upgrade on a terminal: what each says, and the decision it hands over", async () => {
    const restore = await onTerminal("bash scripts/restore.sh /b/20260101T000000Z-default --diff", "");
    assert.match(restore.out, /==> RESTORE of \/b\/20260101T000000Z-default as Colima profile 'default' on stack 'simulated'\n/);
    assert.match(
      restore.out,
      /converge\.sh under bash 3\.2\.\S+: --diff --strict\nCOLIMA_PULSE_DECISION_STACK=colima-pulse\/simulated\nCOLIMA_PULSE_RESTORE=\/b\/20260101T000000Z-default\nCOLIMA_PULSE_RESTORE_ID=\d{8}T\d{6}Z\n/,
    );
    const upgrade = await onTerminal("bash scripts/upgrade.sh -y", "");
    assert.match(
      upgrade.out,
      /==> UPGRADE: Pulumi's preview below shows what Homebrew will upgrade, then applies it without asking \(--yes\)\n/,
    );
    assert.match(
      upgrade.out,
      /converge\.sh under bash 3\.2\.\S+: -y --strict\nCOLIMA_PULSE_DECISION_STACK=colima-pulse\/simulated\nCOLIMA_PULSE_STACK=simulated\nCOLIMA_PULSE_UPGRADE_ID=\d{8}T\d{6}Z\n/,
    );
  });

  it("on a terminal, an option pulumi up does not take, or a stack whose settings fail, stops before converge", async () => {
    const bogus = await onTerminal("bash scripts/reset.sh --backup=prompt --bogus", "m\n");
    assert.match(
      bogus.out,
      /error: --bogus \(command line\) is not an option of npm run reset or pulumi up \(npm run reset -- --help; pulumi up --help\); nothing was started\n/,
    );
    assert.doesNotMatch(bogus.out, /FULL RESET|converge\.sh/);
    assert.equal(bogus.code, 1);
    const broken = await onTerminal("bash scripts/restore.sh /b/20260101T000000Z-default", "", { COLIMA_PULSE_STACK: "broken" });
    assert.match(broken.out, /\n - COLIMA_CPUS \(stack: stacks\/Pulumi\.broken\.yaml\) = 99: must be a whole number\b.*\n/);
    assert.match(broken.out, /error: cannot read this stack's settings \(above\)\n/);
    assert.doesNotMatch(broken.out, /RESTORE of|converge\.sh/);
    assert.equal(broken.code, 1);
  });
});
