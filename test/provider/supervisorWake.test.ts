// The supervisor's wake and clock decisions (provider/supervisor.sh: WAKE_JUMP, api_check after a
// wake, clock_check), run by a real sh against stand-ins, under macOS's /bin/sh (bash 3.2, POSIX
// mode) and dash, as test/provider/supervisor.test.ts runs its other decisions. A wake is staged
// inside the supervisor's own `sleep 2`: a stand-in `sleep` (first on PATH) moves the host's clock
// forward (a stand-in `date` adds that jump) and leaves the guest's clock where it was, so the turn
// that sleeps is the turn that wakes — no race with the loop. The end-to-end proof, with every
// process of a simulated Mac really stopped, is test/e2e/wake.e2e.test.ts.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type LaunchDaemonInputs, renderSupervisor } from "../../provider/launchDaemon";
import { supervisorFiles } from "../../provider/lib/supervisor";
import { DAEMON } from "../helpers/daemonInputs";
import { dash, macosShells } from "../helpers/macosShells";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A root with stand-ins. The host's clock is the real one plus `$ROOT/host-jump` seconds, the
 *  guest's the host's plus `$ROOT/guest-offset`; `colima ssh -- [sudo] date …` reads or sets the
 *  guest's. Writing `$ROOT/wake` (`<seconds> <supervisor pid>`) arms a wake: the supervisor's next
 *  `sleep 2` of its loop (its own child; not one of a function it runs in the background) adds them
 *  to the host's clock and, with `$ROOT/wake-api-down`, takes the Docker API down (api-up goes). */
function sandbox(over: Partial<LaunchDaemonInputs> = {}) {
  const root = mkdtempSync(join(tmpdir(), "cpulse-wake-"));
  roots.push(root);
  const tool = (path: string, body: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `#!/bin/sh\n${body}\n`);
    chmodSync(join(root, path), 0o755);
  };
  const realDate = existsSync("/bin/date") ? "/bin/date" : "/usr/bin/date";
  const realSleep = existsSync("/bin/sleep") ? "/bin/sleep" : "/usr/bin/sleep";
  const now = `$(( $(${realDate} +%s) + $(cat '${root}/host-jump' 2>/dev/null || echo 0) ))`;
  tool("/fakebin/date", `exec ${realDate} -d "@${now}" "$@"`);
  tool(
    "/fakebin/sleep",
    `if [ "$1" = 2 ] && [ -e '${root}/wake' ] && [ "$(cut -d ' ' -f 2 '${root}/wake')" = "$PPID" ]; then
  j=$(cut -d ' ' -f 1 '${root}/wake'); rm -f '${root}/wake'
  echo $(( $(cat '${root}/host-jump' 2>/dev/null || echo 0) + j )) > '${root}/host-jump.tmp'
  echo $(( $(cat '${root}/guest-offset' 2>/dev/null || echo 0) - j )) > '${root}/guest-offset'
  [ -e '${root}/wake-api-down' ] && rm -f '${root}/api-up'
  mv '${root}/host-jump.tmp' '${root}/host-jump'
fi
exec ${realSleep} "$@"`,
  );
  tool(
    "/opt/homebrew/bin/colima",
    `echo "$*" >> '${root}/colima.calls'
case "$1" in
  start) trap 'echo stopped >> "${root}/colima.calls"; exit 0' TERM; while :; do ${realSleep} 0.1; done ;;
  status) exit 0 ;;
  ssh) shift 4
    [ "$1" = sudo ] && shift
    host=${now}
    case "$*" in
      "date -u -s @"*) n=\${4#@}; echo $((n - host)) > '${root}/guest-offset'; ${realDate} -u -d "@$n" ;;
      "date -u "*) ${realDate} -u -d "@$((host + $(cat '${root}/guest-offset' 2>/dev/null || echo 0)))" "$3" ;;
      *) echo "unexpected guest command: $*" >&2; exit 1 ;;
    esac ;;
  *) exit 0 ;;
esac`,
  );
  // A sleep inside the Docker API's probe: `$ROOT/wake-in-curl` (seconds) is applied by the next
  // curl, whose guest then does not answer.
  tool(
    "/usr/bin/curl",
    `if [ -e '${root}/wake-in-curl' ]; then
  j=$(cat '${root}/wake-in-curl'); rm -f '${root}/wake-in-curl' '${root}/api-up'
  echo $(( $(cat '${root}/host-jump' 2>/dev/null || echo 0) + j )) > '${root}/host-jump'
fi
if [ -e '${root}/api-up' ]; then printf OK; else echo 'curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received' >&2; exit 28; fi`,
  );
  tool("/sbin/route", "echo '  interface: en0'");
  mkdirSync(join(root, "bin"), { recursive: true });
  symlinkSync("/bin/ps", join(root, "bin/ps"));
  const inputs: LaunchDaemonInputs = {
    ...DAEMON,
    host: { root, user: "ops" },
    prefix: join(root, "opt/homebrew"),
    logPath: join(root, "var/log/colima.log"),
    maxFailedStarts: 3,
    apiHangSeconds: 600,
    ...over,
  };
  mkdirSync(join(root, "var/log"), { recursive: true });
  mkdirSync(join(root, "Users/ops/.colima/_lima/colima"), { recursive: true });
  writeFileSync(join(root, "Users/ops/.colima/_lima/colima/lima.yaml"), "{}");
  writeFileSync(join(root, "api-up"), "");
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { root, inputs, log: () => read(inputs.logPath), calls: () => read(join(root, "colima.calls")) };
}

function run(inputs: LaunchDaemonInputs, sh: string): { child: ChildProcess; exit: Promise<number | null> } {
  const script = join(inputs.host.root, "supervisor.sh");
  writeFileSync(script, renderSupervisor(inputs));
  const child = spawn(sh, [script], {
    env: { HOME: join(inputs.host.root, "Users/ops"), USER: "ops", PATH: `${join(inputs.host.root, "fakebin")}:${process.env.PATH}` },
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

function decisions(sh: string): void {
  it("after a start: the guest's clock against the host's, both logged, within the bound: left alone", async () => {
    const s = sandbox();
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the clock check after the start", () => /after this start: /.test(s.log()), 20_000);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
    assert.match(
      s.log(),
      /the Docker API answers at \S+\n[\s\S]*after this start: the guest's clock is 0s off the host's \(guest \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, host \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\), within CLOCK_DRIFT_MAX_SECONDS \(5s\)\n/,
    );
    assert.doesNotMatch(s.calls(), /date -u -s/, "a clock within the bound is not set");
  });

  it("a wake with a silent Docker API restarts the VM at once, as a hang counted, not after API_HANG_SECONDS (600 s)", async () => {
    const s = sandbox();
    const files = supervisorFiles(s.inputs.host, s.inputs.profile);
    const { child, exit } = run(s.inputs, sh);
    // The turn after the first answer's (whose clock check is part of its bounds): a plain one.
    await until("the clock check after the start", () => /after this start: /.test(s.log()), 20_000);
    writeFileSync(join(s.root, "wake-api-down"), "");
    writeFileSync(join(s.root, "wake"), `40 ${child.pid}`);
    assert.equal(await exit, 75, "exits for launchd to start it again");
    const log = s.log();
    assert.match(
      log,
      /woke after ~4\ds asleep; the Docker API did not answer \(curl: \(28\) [^)]*\): restarting the VM now instead of waiting API_HANG_SECONDS \(600s; 1 of 3 in a row\)\n/,
    );
    assert.doesNotMatch(log, /the VM restarts if it stays silent|has not answered for/, "no wait for API_HANG_SECONDS, no hang by silence");
    assert.equal(readFileSync(files.hangs, "utf8").trim(), "1", "counted with the hangs (MAX_FAILED_STARTS bounds them)");
    assert.match(s.calls(), /^stopped$/m, "colima was told to stop the VM");
  });

  it("a sleep that falls inside a check is noticed too, at the next turn, by the checks' time beyond their bounds (curl's 5 s, colima status's 10 s)", async () => {
    const s = sandbox();
    const { exit } = run(s.inputs, sh);
    await until("the clock check after the start", () => /after this start: /.test(s.log()), 20_000);
    writeFileSync(join(s.root, "wake-in-curl"), "40");
    assert.equal(await exit, 75, "exits for launchd to start it again");
    // The probe that slept failed as any silence does; the next turn saw its 40 s beyond curl's 5.
    assert.match(
      s.log(),
      /the VM restarts if it stays silent for 600s\n[\s\S]*woke after ~[23]\ds asleep; the Docker API did not answer \(curl: \(28\) [^)]*\): restarting the VM now instead of waiting API_HANG_SECONDS \(600s; 1 of 3 in a row\)\n/,
    );
    assert.doesNotMatch(s.log(), /has not answered for/);
  });

  it("a wake with an answering API: the guest's clock, behind by the time slept, is set to the host's; both logged before and after", async () => {
    const s = sandbox();
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the clock check after the start", () => /after this start: /.test(s.log()), 20_000);
      writeFileSync(join(s.root, "wake"), `40 ${child.pid}`);
      await until("the clock set after the wake", () => /after the wake: set the guest's clock/.test(s.log()), 30_000);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
    const iso = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";
    assert.match(
      s.log(),
      new RegExp(
        `woke after ~4\\ds asleep; the Docker API answers\\n` +
          `[\\s\\S]*after the wake: the guest's clock is -4\\ds off the host's \\(guest ${iso}, host ${iso}\\), more than CLOCK_DRIFT_MAX_SECONDS \\(5s\\): setting it to the host's\\n` +
          `[\\s\\S]*after the wake: set the guest's clock to the host's: now -?[01]s off \\(guest ${iso}, host ${iso}\\)\\n`,
      ),
    );
    assert.match(s.calls(), /^ssh --profile default -- sudo date -u -s @\d+$/m, "set with the host's seconds");
    const hangs = supervisorFiles(s.inputs.host, s.inputs.profile).hangs;
    assert.equal(existsSync(hangs) ? readFileSync(hangs, "utf8").trim() : "0", "0", "no hang counted");
  });

  it("CLOCK_DRIFT_MAX_SECONDS=0: the guest's clock is never read; API_HANG_SECONDS=0: a silent API after a wake is logged, not restarted", async () => {
    const s = sandbox({ clockDriftMaxSeconds: 0, apiHangSeconds: 0 });
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the Docker API's first answer", () => /the Docker API answers at/.test(s.log()), 20_000);
      writeFileSync(join(s.root, "wake-api-down"), "");
      writeFileSync(join(s.root, "wake"), `40 ${child.pid}`);
      await until("the wake logged", () => /woke after/.test(s.log()), 20_000);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exit, 0, "stopped by its TERM, never by a restart");
    }
    assert.match(
      s.log(),
      /woke after ~4\ds asleep; the Docker API did not answer \(curl: \(28\) [^)]*\); API_HANG_SECONDS is 0: the VM is not restarted\n/,
    );
    assert.doesNotMatch(s.calls(), /^ssh /m, "colima ssh never ran");
    assert.doesNotMatch(s.log(), /guest's clock/);
  });
}

// One shell at a time, its cases side by side: two cores run the suite.
const mac = macosShells();
describe("the supervisor after a wake, under macOS's /bin/sh (bash 3.2, POSIX mode), stand-in tools", {
  concurrency: true,
  skip: "skip" in mac ? mac.skip : false,
}, () => {
  if (!("skip" in mac)) decisions(mac.sh);
});
describe("the supervisor after a wake, under dash, stand-in tools", { concurrency: true }, () => decisions(dash()));
