// The supervisor (provider/supervisor.sh, rendered by provider/launchDaemon.ts renderSupervisor)
// run by a real sh against stand-ins for colima, curl, route and docker, to pin its decisions
// without a VM: it waits for a home and a route, gives up after MAX_FAILED_STARTS hung-API
// restarts, restarts a VM whose API is silent for API_HANG_SECONDS, prunes beside the supervision
// once the API answers (and only with a PRUNE_MODE), and writes every line by the log's path. Each
// case runs under macOS's /bin/sh (bash 3.2 in POSIX mode: test/helpers/macosShells.ts) and under
// dash; shellcheck checks the files and a rendered script as sh. The end-to-end proofs are in
// test/e2e/macLife.e2e.test.ts and test/e2e/prune.e2e.test.ts; these are the cases too slow or
// too rare to stage there.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type LaunchDaemonInputs, renderSupervisor } from "../../provider/launchDaemon";
import { supervisorFiles } from "../../provider/lib/supervisor";
import { whichOnPath } from "../../scripts/lib";
import { DAEMON } from "../helpers/daemonInputs";
import { dash, macosShells } from "../helpers/macosShells";
import { repoRoot } from "../helpers/pulumiStack";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A root with the stand-ins: colima (start runs until TERM, status answers), curl (answers OK
 *  while $ROOT/api-up exists), route (a default route while $ROOT/net-up exists), and real ps. */
function sandbox(): { root: string; inputs: LaunchDaemonInputs; log: () => string; calls: () => string } {
  const root = mkdtempSync(join(tmpdir(), "cpulse-supervisor-"));
  roots.push(root);
  const tool = (path: string, body: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `#!/bin/sh\n${body}\n`);
    chmodSync(join(root, path), 0o755);
  };
  tool(
    "/opt/homebrew/bin/colima",
    `echo "$*" >> '${root}/colima.calls'
case "$1" in
  start) [ -e '${root}/start-fails' ] && exit 1
    trap 'echo stopped >> "${root}/colima.calls"; exit 0' TERM; echo 'time="t" level=info msg="starting colima"'; while :; do sleep 0.1; done ;;
  status) [ -e '${root}/start-fails' ] && exit 1; exit 0 ;;
  *) exit 0 ;;
esac`,
  );
  tool(
    "/usr/bin/curl",
    `if [ -e '${root}/api-up' ]; then printf OK; else echo 'curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received' >&2; exit 28; fi`,
  );
  // Like route(8): exit 0 either way; only a route prints its interface.
  tool(
    "/sbin/route",
    `if [ -e '${root}/net-up' ]; then echo '  interface: en0'; else echo 'route: writing to routing socket: not in table' >&2; fi`,
  );
  mkdirSync(join(root, "bin"), { recursive: true });
  symlinkSync("/bin/ps", join(root, "bin/ps"));
  writeFileSync(join(root, "net-up"), "");
  const inputs: LaunchDaemonInputs = {
    ...DAEMON,
    host: { root, user: "ops" },
    prefix: join(root, "opt/homebrew"),
    logPath: join(root, "var/log/colima.log"),
    maxFailedStarts: 3,
    apiHangSeconds: 10,
    // Its wait for the restart-policy containers runs docker too: test/provider/supervisorWorkloads.test.ts.
    waitWorkloadsMax: 0,
  };
  mkdirSync(join(root, "var/log"), { recursive: true });
  mkdirSync(join(root, "Users/ops/.colima/_lima/colima"), { recursive: true });
  writeFileSync(join(root, "Users/ops/.colima/_lima/colima/lima.yaml"), "{}");
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { root, inputs, log: () => read(inputs.logPath), calls: () => read(join(root, "colima.calls")) };
}

function run(inputs: LaunchDaemonInputs, sh: string): { child: ChildProcess; exit: Promise<number | null> } {
  const script = join(inputs.host.root, "supervisor.sh");
  writeFileSync(script, renderSupervisor(inputs));
  const child = spawn(sh, [script], {
    env: { HOME: join(inputs.host.root, "Users/ops"), USER: "ops", PATH: process.env.PATH },
    stdio: "ignore",
  });
  return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

async function until(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Homebrew's docker in the sandbox: records its argv in $ROOT/docker.calls, then runs `body`. */
function dockerStandIn(root: string, body: string): () => string {
  const file = join(root, "opt/homebrew/bin/docker");
  writeFileSync(file, `#!/bin/sh\necho "$*" >> '${root}/docker.calls'\n${body}\n`);
  chmodSync(file, 0o755);
  return () => (existsSync(join(root, "docker.calls")) ? readFileSync(join(root, "docker.calls"), "utf8") : "");
}

/** The cases, under one sh. */
function decisions(sh: string): void {
  it("once it gave up on hung-API restarts, a start (a reboot) gives up at once, starting nothing", async () => {
    const s = sandbox();
    writeFileSync(supervisorFiles(s.inputs.host, s.inputs.profile).hangs, "4\n"); // 3 restarts, then a 4th hang
    assert.equal(await run(s.inputs, sh).exit, 0, "a clean exit: launchd does not restart it");
    assert.match(s.log(), /gave up after 3 restarts in a row for a Docker API that stopped answering; run `pulumi up` to try again/);
    assert.equal(s.calls(), "", "colima never ran");
  });

  it("the last restart allowed is a restart; the hang after it stops the VM and gives up, saying so", async () => {
    const s = sandbox();
    const files = supervisorFiles(s.inputs.host, s.inputs.profile);
    writeFileSync(files.hangs, "2\n");
    assert.equal(await run(s.inputs, sh).exit, 75, "the 3rd of 3: launchd restarts it");
    assert.match(
      s.log(),
      /has not answered for \d+s since the VM came up \(last: curl: \(28\) [^)]*\); restarting the VM \(3 of 3 in a row\)/,
    );
    assert.equal(readFileSync(files.hangs, "utf8").trim(), "3");
    const before = s.log().length;
    assert.equal(await run(s.inputs, sh).exit, 0, "the 4th: given up, a clean exit");
    const said = s.log().slice(before);
    assert.match(said, /has not answered for \d+s since the VM came up \(last: curl: \(28\) [^)]*\); stopping the VM\n/);
    assert.match(said, /gave up after 3 restarts in a row for a Docker API that stopped answering; run `pulumi up` to try again/);
    assert.doesNotMatch(said, /restarting the VM/, "no restart is announced that will not happen");
    assert.equal(s.calls().match(/^stopped$/gm)?.length, 2, "colima was told to stop both times");
  });

  it("the MAX_FAILED_STARTS-th failed start gives up at once, and says what to run", async () => {
    const s = sandbox();
    writeFileSync(join(s.root, "start-fails"), "");
    const files = supervisorFiles(s.inputs.host, s.inputs.profile);
    assert.equal(await run(s.inputs, sh).exit, 75, "1 of 3: launchd restarts it");
    assert.equal(readFileSync(files.failures, "utf8").trim(), "1");
    writeFileSync(files.failures, "2\n");
    assert.equal(await run(s.inputs, sh).exit, 0, "3 of 3: given up, a clean exit");
    assert.match(
      s.log(),
      /colima exited with 1 without a stop request\n.*stopping what the failed start left running \(colima stop --force\)\n.*gave up after 3 failed starts in a row; run `pulumi up` to try again\n$/,
    );
    assert.equal(readFileSync(files.failures, "utf8").trim(), "3");
    assert.equal(s.calls().match(/^stop --force --profile default$/gm)?.length, 2, "each failed start's leftovers stopped");
  });

  it("waits for the home, then (a VM to create) for a route, saying what it waits for; then starts", async () => {
    const s = sandbox();
    const home = join(s.root, "Users/ops");
    renameSync(home, join(s.root, "parked"));
    rmSync(join(s.root, "net-up"));
    const { child, exit } = run(s.inputs, sh);
    try {
      await until(
        "the home wait",
        () => /waiting for ops's home \S+ \(FileVault not unlocked yet, or its volume not mounted\) \(0s so far\)/.test(s.log()),
        10_000,
      );
      renameSync(join(s.root, "parked"), home);
      rmSync(join(home, ".colima/_lima/colima/lima.yaml")); // the VM must be created: its image downloaded
      await until(
        "the route wait",
        () => /waiting for a network route \(profile default is provisioned at this start/.test(s.log()),
        15_000,
      );
      assert.match(s.log(), /home \S+ \(FileVault not unlocked yet, or its volume not mounted\): there after [1-9]\d*s/);
      assert.equal(s.calls(), "", "no start before the route");
      writeFileSync(join(s.root, "net-up"), "");
      await until("the start", () => s.calls().startsWith("start --foreground"), 15_000);
      await until("colima's own line in the log", () => /level=info msg="starting colima"/.test(s.log()), 5_000);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
    assert.match(s.log(), /stop requested: stopping Colima/);
  });

  it("restarts a VM whose API is silent for API_HANG_SECONDS, counting it; an answering API resets the count", async () => {
    const s = sandbox();
    writeFileSync(join(s.root, "api-up"), "");
    const files = supervisorFiles(s.inputs.host, s.inputs.profile);
    writeFileSync(files.hangs, "2\n");
    const first = run(s.inputs, sh);
    await until("the count reset after 10 s of answers", () => readFileSync(files.hangs, "utf8").trim() === "0", 20_000);
    rmSync(join(s.root, "api-up"));
    assert.equal(await first.exit, 75, "exits for launchd to restart it");
    const log = s.log();
    assert.match(
      log,
      /the Docker API at \S+ did not answer \(curl: \(28\) Operation timed out after 5001 milliseconds with 0 bytes received\); the VM restarts if it stays silent for 10s/,
    );
    assert.match(
      log,
      /the Docker API at \S+ has not answered for \d+s \(last: curl: \(28\) [^)]*\); restarting the VM \(1 of 3 in a row\)/,
    );
    assert.equal(readFileSync(files.hangs, "utf8").trim(), "1");
    assert.match(s.calls(), /stopped/, "colima was told to stop");
  });
  it("prunes once the Docker API answers after the start, not before; logs what Docker reclaimed; its mark goes", async () => {
    const s = sandbox();
    const inputs: LaunchDaemonInputs = { ...s.inputs, pruneMode: "images" };
    const calls = dockerStandIn(
      s.root,
      "printf 'Deleted Images:\\nuntagged: prune-test/tagged:1\\ndeleted: sha256:0123\\n\\nTotal reclaimed space: 1.5MB\\n'",
    );
    const pruning = supervisorFiles(inputs.host, inputs.profile).pruning;
    const { child, exit } = run(inputs, sh);
    try {
      await until("the VM up", () => /profile default is up/.test(s.log()), 10_000);
      assert.equal(readFileSync(pruning, "utf8"), "pending: the prune after this start\n", "marked from the start on");
      await new Promise((r) => setTimeout(r, 3_000)); // a few rounds of checks with the API silent
      assert.equal(calls(), "", "no prune while the API does not answer");
      writeFileSync(join(s.root, "api-up"), "");
      await until("the prune's line", () => /pruned Docker/.test(s.log()), 10_000);
      assert.match(
        s.log(),
        /the Docker API answers at \S+\n(?:.*\n)*?.* colima-pulse\[\d+\] pruned Docker \(images\): Total reclaimed space: 1\.5MB\n/,
      );
      assert.equal(calls(), `--host unix://${join(s.root, "Users/ops/.colima/default/docker.sock")} image prune --all --force\n`);
      await until("the mark gone", () => !existsSync(pruning), 5_000);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });

  it("a prune that fails is logged with Docker's error, and the supervisor goes on watching the VM", async () => {
    const s = sandbox();
    const inputs: LaunchDaemonInputs = { ...s.inputs, pruneMode: "system" };
    dockerStandIn(s.root, "echo 'Error response from daemon: a prune operation is already running' >&2; exit 1");
    writeFileSync(join(s.root, "api-up"), "");
    const { child, exit } = run(inputs, sh);
    try {
      await until("the prune's failure", () => /prune \(system\) failed/.test(s.log()), 15_000);
      assert.match(
        s.log(),
        /prune \(system\) failed \(exit 1\): Error response from daemon: a prune operation is already running; Docker keeps running\n/,
      );
      assert.equal(existsSync(supervisorFiles(inputs.host, inputs.profile).pruning), false, "ended: the gate does not wait");
      rmSync(join(s.root, "api-up"));
      await until("the supervisor noticing the API", () => /the Docker API at \S+ did not answer/.test(s.log()), 10_000);
      assert.equal(child.exitCode, null, "still supervising");
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });

  it("a prune that hangs does not hold up the supervision: a silent API is still noticed", async () => {
    const s = sandbox();
    const inputs: LaunchDaemonInputs = { ...s.inputs, pruneMode: "dangling" };
    const calls = dockerStandIn(s.root, `echo $$ > '${s.root}/docker.pid'; exec sleep 600`);
    writeFileSync(join(s.root, "api-up"), "");
    const { child, exit } = run(inputs, sh);
    try {
      await until("the prune under way", () => calls() !== "", 15_000);
      rmSync(join(s.root, "api-up"));
      await until("the supervisor noticing the API", () => /the Docker API at \S+ did not answer/.test(s.log()), 10_000);
      assert.doesNotMatch(s.log(), /pruned Docker|prune \(dangling\)/, "the prune has not ended");
      assert.equal(existsSync(supervisorFiles(inputs.host, inputs.profile).pruning), true, "the gate would still wait");
    } finally {
      child.kill("SIGTERM");
      await exit;
      // launchd ends the job's process group when the supervisor exits; here the test does.
      const pidFile = join(s.root, "docker.pid");
      if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    }
  });

  it("without a PRUNE_MODE nothing is pruned, and no start is marked as one the gate waits for", async () => {
    const s = sandbox();
    const calls = dockerStandIn(s.root, "exit 0");
    writeFileSync(join(s.root, "api-up"), "");
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the API's answer", () => /the Docker API answers at/.test(s.log()), 15_000);
      await new Promise((r) => setTimeout(r, 2_500)); // a prune would have started by now
      assert.equal(calls(), "", "docker never ran");
      assert.equal(existsSync(supervisorFiles(s.inputs.host, s.inputs.profile).pruning), false);
      assert.doesNotMatch(s.log(), /prune/);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });
}

// One shell at a time, its cases side by side: two cores run the suite.
const mac = macosShells();
describe("the supervisor's decisions under macOS's /bin/sh (bash 3.2, POSIX mode), stand-in tools", {
  concurrency: true,
  skip: "skip" in mac ? mac.skip : false,
}, () => {
  if (!("skip" in mac)) decisions(mac.sh);
});
describe("the supervisor's decisions under dash, stand-in tools", { concurrency: true }, () => decisions(dash()));

describe("shellcheck: the supervisor as sh", () => {
  const shellcheck = whichOnPath("shellcheck");
  const check = (args: string[], input?: string) =>
    spawnSync(shellcheck as string, ["--shell=sh", "--severity=style", ...args], { cwd: repoRoot, encoding: "utf8", input });
  it("provider/supervisor.sh and provider/sweep.sh, as they are", (t) => {
    if (!shellcheck) return t.skip("shellcheck is not installed (scripts/test.sh installs it: apt-get install shellcheck)");
    const r = check(["provider/supervisor.sh", "provider/sweep.sh"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
  it("a rendered script: with a prune and without, values that need quoting", (t) => {
    if (!shellcheck) return t.skip("shellcheck is not installed (scripts/test.sh installs it: apt-get install shellcheck)");
    for (const pruneMode of ["", "system"] as const) {
      const r = check(
        ["-"],
        renderSupervisor({
          ...DAEMON,
          pruneMode,
          prefix: "/opt/home brew's",
          logPath: "/var/log/colima pulse/a.log",
          host: { root: "/", user: "o'brien" },
        }),
      );
      assert.equal(r.status, 0, `${pruneMode}: ${r.stdout}${r.stderr}`);
    }
  });
});
