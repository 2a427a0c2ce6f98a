// The README's "Try it without a Mac", run as a newcomer runs it: its own `sh` blocks, in order, in
// a fresh copy of this checkout (its own services, simulated Macs, stacks and passphrase), with
// none of the suite's environment. A block after a paragraph that says "second terminal" runs
// while the `npm run demo …` before it is up; that demo is then stopped as a person does, Ctrl-C
// (SIGINT). Then what a newcomer does wrong: two converges at once, a SIGTERM in the middle, an
// option pulumi does not know, and `pulumi` by hand with nothing pointed at a simulated Mac.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../helpers/pulumiStack";

/** The README section's code blocks, in order, each with whether it is for a second terminal. */
function tryItBlocks(readme: string): { commands: string[]; secondTerminal: boolean }[] {
  const start = readme.indexOf("\n## Try it without a Mac\n");
  assert.ok(start >= 0, 'README.md has no "## Try it without a Mac" section');
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks: { commands: string[]; secondTerminal: boolean }[] = [];
  const fence = /```sh\n([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(section); m; m = fence.exec(section)) {
    const before = section.slice(last, m.index);
    const paragraph =
      before
        .split(/\n\s*\n/)
        .filter((p) => p.trim())
        .pop() ?? "";
    const commands = (m[1] as string)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    blocks.push({ commands, secondTerminal: /second terminal/i.test(paragraph) });
    last = m.index + m[0].length;
  }
  return blocks;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** A command in the copy, as a newcomer's shell runs it: output (stdout and stderr) as it comes. */
class Command {
  readonly child: ChildProcess;
  out = "";
  readonly done: Promise<Run>;
  /** `terminal`: on a terminal of its own (util-linux `script`), whose input stays open. */
  constructor(dir: string, env: NodeJS.ProcessEnv, script: string, terminal = false) {
    this.child = terminal
      ? spawn("script", ["-qfec", script, "/dev/null"], { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"] })
      : spawn("bash", ["-ec", script], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    const take = (d: Buffer) => {
      this.out += d;
    };
    this.child.stdout?.on("data", take);
    this.child.stderr?.on("data", take);
    this.done = new Promise((resolve) => this.child.on("close", (code, signal) => resolve({ code, signal, out: this.out })));
  }
  /** Resolves once the output matches, rejects if the command ends first. */
  async until(pattern: RegExp): Promise<void> {
    let ended = false;
    void this.done.then(() => {
      ended = true;
    });
    while (!pattern.test(this.out)) {
      if (ended) throw new Error(`ended before ${pattern}:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  /** The signal to the command's npm, as a terminal's Ctrl-C (or a `kill`) reaches it. */
  signal(signal: NodeJS.Signals): void {
    // bash runs a single command by exec: then the child is npm itself; under script, its grandchild.
    const self = readFileSync(`/proc/${this.child.pid}/cmdline`, "utf8").startsWith("npm run");
    const under = (pid: string) => spawnSync("pgrep", ["-P", pid], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
    const family = [...under(String(this.child.pid)), ...under(String(this.child.pid)).flatMap(under)];
    const npm = self ? String(this.child.pid) : family.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("npm run"));
    assert.ok(npm, `no npm under ${this.child.pid}`);
    process.kill(Number(npm), signal);
  }
}

describe("README: Try it without a Mac, on a fresh copy of the checkout", { concurrency: false }, () => {
  let dir: string;
  let key: string;
  let env: NodeJS.ProcessEnv;
  const run = async (script: string): Promise<Run> => new Command(dir, env, script).done;
  /** Processes of this copy's services or simulated Macs still running. */
  const leftovers = (): string =>
    spawnSync("pgrep", ["-af", `/tmp/cpulse-(mac-)?${key}`], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((l) => l && !l.includes("pgrep"))
      .join("\n");

  before(() => {
    dir = mkdtempSync("/tmp/cpulse-readme-");
    for (const f of readdirSync(repoRoot)) {
      if (["node_modules", ".state", ".git", "reports", ".stryker-tmp", "package-lock.json"].includes(f)) continue;
      cpSync(join(repoRoot, f), join(dir, f), {
        recursive: true,
        filter: (src) => !/\/stacks\/Pulumi\.(?!example-mac)[^/]+\.yaml$/.test(src),
      });
    }
    // Linked, not installed: scripts/lib.sh never reinstalls a linked node_modules.
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    key = spawnSync("sh", ["-c", `printf %s "$1" | cksum | cut -d' ' -f1`, "sh", dir], { encoding: "utf8" }).stdout.trim();
    // A newcomer's environment: none of the suite's services, stacks or passphrase.
    env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(COLIMA_PULSE_|TEST_|SIM_USER$|PULUMI_CONFIG_PASSPHRASE|PULUMI_BACKEND_URL$|DOCKER_HOST$|npm_)/.test(k),
      ),
    );
  });
  after(() => {
    // Whatever a failed test left running: the copy's commands, its services, its simulated Macs.
    const ours = spawnSync("pgrep", ["-f", `${dir}/|/tmp/cpulse-(mac-)?${key}`], { encoding: "utf8" }).stdout;
    for (const pid of ours.split("\n").filter(Boolean))
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {} // gone already
    spawnSync("bash", ["test/services/services.sh", "stop"], { cwd: dir, env: { ...env, COLIMA_PULSE_SERVICES_SET: "demo" } });
    for (const f of readdirSync("/tmp").filter((f) => f.startsWith(`cpulse-mac-${key}`) || f === `cpulse-${key}-demo`))
      rmSync(join("/tmp", f), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("every command of the section works as written, in order", async () => {
    const blocks = tryItBlocks(readFileSync(join(repoRoot, "README.md"), "utf8"));
    assert.ok(blocks.length >= 4, `the section's sh blocks: ${JSON.stringify(blocks)}`);
    let demo: Command | undefined;
    const stopDemo = async () => {
      if (!demo) return;
      demo.signal("SIGINT");
      const r = await demo.done;
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /shutting the simulated Macs? down/);
      demo = undefined;
    };
    for (const block of blocks) {
      if (!block.secondTerminal) await stopDemo();
      else assert.ok(demo, `a second-terminal block with no demo running before it: ${block.commands.join("; ")}`);
      for (const command of block.secondTerminal ? [block.commands.join("\n")] : block.commands) {
        if (/^npm run demo\b/.test(command)) {
          demo = new Command(dir, env, command);
          await demo.until(/Ctrl-C shuts (it|them) down/);
          if (!command.includes("--fleet")) {
            // Its converge: Pulumi's preview, applied (no terminal here), on a Mac converged before.
            assert.match(demo.out, /no terminal to ask on/);
            assert.match(demo.out, /Resources:\n\s+\d+ unchanged\n\nDuration/);
          }
          continue;
        }
        const r = await run(command);
        assert.equal(r.code, 0, `${command}\n${r.out}`);
        if (command === "npm run converge") {
          assert.match(r.out, /SIMULATION - this is not a Mac/);
          assert.match(r.out, /Previewing update \(simulated\)/);
          assert.match(r.out, /Updating \(simulated\)/);
          assert.doesNotMatch(r.out, /error: no stack named/);
          assert.equal(r.out.includes("\u001b["), false, "no terminal: no escape codes");
        }
        if (command.includes("npm run doctor")) assert.match(r.out, /nothing is wrong/);
        if (command.includes("fleet -- up")) assert.match(r.out, /all 3 Macs succeeded/);
      }
    }
    await stopDemo();
    assert.equal(leftovers(), "", "nothing of the demo's services or simulated Macs runs after it");
  });

  it("off a Mac, pulumi by hand, the shell and the fleet refuse to target this machine's /", async () => {
    const engine = `source scripts/lib.sh; ensure_node >/dev/null 2>&1; ensure_engine 2>/dev/null; ensure_local_state 2>/dev/null`;
    const byHand = await run(`${engine}; pulumi preview --stack simulated`);
    assert.notEqual(byHand.code, 0, byHand.out);
    assert.match(
      byHand.out,
      /this machine is not a Mac \(linux\), and the stack has no SSH_HOST: it would converge this machine's own \/\. Nothing was run/,
    );
    const shell = await run("npm run shell -- pulumi preview");
    assert.equal(shell.code, 1, shell.out);
    assert.match(shell.out, /error: this machine is not a Mac \(Linux\): pulumi would target its own \/\. Start the simulated Mac first/);
    const status = await run("npm run fleet -- status --stacks simulated || echo exit=$?");
    assert.match(status.out, /simulated\s+no: this machine is not a Mac \(linux\)/);
    assert.match(status.out, /exit=1/);
  });

  it("an option pulumi up does not take, and --help, stop before anything starts", async () => {
    const bogus = await run("npm run reset -- --bogus --yes");
    assert.equal(bogus.code, 1, bogus.out);
    assert.match(bogus.out, /error: --bogus \(command line\) is not an option of npm run reset or pulumi up .*nothing was started/);
    assert.doesNotMatch(bogus.out, /SIMULATION|services:|FULL RESET/);
    const help = await run("npm run converge -- --help");
    assert.equal(help.code, 0, help.out);
    assert.match(help.out, /npm run converge \[-- OPTIONS\]/);
    assert.doesNotMatch(help.out, /SIMULATION - this|Usage:\s+pulumi up/);
  });

  it("two converges at once: one runs, the other is refused naming it; a SIGTERM mid-run stops everything; the next converge works", async () => {
    const first = new Command(dir, env, "npm run converge");
    const second = new Command(dir, env, "npm run converge");
    const [a, b] = await Promise.all([first.done, second.done]);
    const [ran, refused] = a.code === 0 ? [a, b] : [b, a];
    assert.equal(ran.code, 0, `${a.out}\n----\n${b.out}`);
    assert.equal(refused.code, 1, refused.out);
    assert.match(
      refused.out,
      /services: npm run converge refused: another command on this checkout holds its demo services: pid \d+ \(npm run converge\), since .*\. Nothing was started or stopped\. .*kill \d+/,
    );
    assert.doesNotMatch(refused.out, /\n\s+at /, "no stack trace");
    assert.equal(leftovers(), "");

    // SIGTERM (a `kill`, or a service manager) in the middle of the run: pulumi is cancelled, the
    // simulated Mac and the services stop, the stack is not left locked.
    const killed = new Command(dir, env, "npm run converge");
    await killed.until(/Previewing update \(simulated\)/);
    killed.signal("SIGTERM");
    const k = await killed.done;
    assert.notEqual(k.code, 0, k.out);
    assert.match(k.out, /SIGTERM: stopping/);
    assert.match(k.out, /shutting the simulated Mac down/);
    assert.equal(leftovers(), "");
    assert.equal(existsSync(join(dir, ".state/demo/env")), false);

    const next = await run("npm run converge");
    assert.equal(next.code, 0, next.out);
    assert.match(next.out, /Resources:\n\s+\d+ unchanged\n\nDuration/);
  });

  it("a SIGTERM to npm run reset at its confirmation prompt: nothing changes, nothing stays running, the stack is not locked", async () => {
    const reset = new Command(dir, env, "npm run reset", true);
    await reset.until(/Do you want to perform this update\?/);
    reset.signal("SIGTERM");
    const r = await reset.done;
    assert.match(r.out, /SIGTERM: stopping/);
    assert.match(r.out, /removed the stack lock the cancelled pulumi \(pid \d+\) left/);
    assert.match(r.out, /shutting the simulated Mac down/);
    assert.doesNotMatch(r.out, /Updating \(simulated\)/);
    assert.equal(leftovers(), "");
    const next = await run("npm run converge");
    assert.equal(next.code, 0, next.out);
    assert.match(next.out, /Resources:\n\s+\d+ unchanged\n\nDuration/, "no reset happened");
  });
});
