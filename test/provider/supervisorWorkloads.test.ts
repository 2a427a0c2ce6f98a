// The supervisor's wait for the workloads (provider/supervisor.sh workloads_check), run by a real sh
// against stand-ins for colima, curl, route, sysctl and docker: once the Docker API answers after
// a start, it waits — beside the supervision, which goes on — for every container with restart
// policy always or unless-stopped to run, healthy where it has a healthcheck (the rule of
// provider/lib/workloads.ts), logs boot-to-Docker and boot-to-workloads from `sysctl kern.boottime`,
// or at WAIT_WORKLOADS_MAX the containers not ready with their last state, and writes its times
// for the health gate and fleet status. Under macOS's /bin/sh (bash 3.2, POSIX mode) and dash.
// The end-to-end proof against the simulator's real dockerd: test/e2e/workloads.e2e.test.ts.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type LaunchDaemonInputs, renderSupervisor } from "../../provider/launchDaemon";
import { supervisorFiles } from "../../provider/lib/supervisor";
import { parseTimes } from "../../provider/lib/workloads";
import { DAEMON } from "../helpers/daemonInputs";
import { dash, macosShells } from "../helpers/macosShells";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The Mac booted this long before the test. */
const UPTIME = 100;

/** A root with the stand-ins: colima (start runs until TERM), curl (OK while $ROOT/api-up exists),
 *  route (a default route), sysctl (kern.boottime UPTIME seconds ago, as macOS prints it) and docker
 *  (`ps -aq` prints $ROOT/ps.out, `inspect` prints $ROOT/inspect.out: the containers' lines). */
function sandbox(waitWorkloadsMax: number) {
  const root = mkdtempSync(join(tmpdir(), "cpulse-workloads-"));
  roots.push(root);
  const tool = (path: string, body: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `#!/bin/sh\n${body}\n`);
    chmodSync(join(root, path), 0o755);
  };
  tool(
    "/opt/homebrew/bin/colima",
    `case "$1" in
  start) trap 'exit 0' TERM; while :; do sleep 0.1; done ;;
  *) exit 0 ;;
esac`,
  );
  tool("/usr/bin/curl", `if [ -e '${root}/api-up' ]; then printf OK; else echo 'curl: (7) Failed to connect' >&2; exit 7; fi`);
  tool("/sbin/route", "echo '  interface: en0'");
  const boot = Math.floor(Date.now() / 1000) - UPTIME;
  tool("/usr/sbin/sysctl", `[ "$*" = "-n kern.boottime" ] || exit 1; echo '{ sec = ${boot}, usec = 412000 } Mon Dec  7 18:00:00 2026'`);
  tool(
    "/opt/homebrew/bin/docker",
    `shift 2
case "$1" in
  ps) cat '${root}/ps.out' ;;
  inspect) cat '${root}/inspect.out' ;;
  *) exit 1 ;;
esac`,
  );
  mkdirSync(join(root, "bin"), { recursive: true });
  symlinkSync("/bin/ps", join(root, "bin/ps"));
  const inputs: LaunchDaemonInputs = {
    ...DAEMON,
    host: { root, user: "ops" },
    prefix: join(root, "opt/homebrew"),
    logPath: join(root, "var/log/colima.log"),
    apiHangSeconds: 10,
    clockDriftMaxSeconds: 0,
    waitWorkloadsMax,
  };
  mkdirSync(join(root, "var/log"), { recursive: true });
  mkdirSync(join(root, "Users/ops/.colima/_lima/colima"), { recursive: true });
  writeFileSync(join(root, "Users/ops/.colima/_lima/colima/lima.yaml"), "{}");
  writeFileSync(join(root, "api-up"), "");
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  /** The containers, as `docker inspect --format` prints them (provider/lib/workloads.ts INSPECT_FORMAT). */
  const containers = (lines: string[]) => {
    writeFileSync(join(root, "ps.out"), lines.map((_, i) => `c${i}\n`).join(""));
    writeFileSync(join(root, "inspect.out"), lines.map((l) => `${l}\n`).join(""));
  };
  const times = () => read(supervisorFiles(inputs.host, inputs.profile).workloads);
  return { root, boot, inputs, containers, times, log: () => read(inputs.logPath) };
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

async function until(what: string, probe: () => boolean, ms: number, says?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${says ? `; the log says:\n${says()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const STARTED = "2026-12-07T17:00:00.1Z";
const BEFORE = "2026-12-07T17:30:00.2Z"; // stopped before this start's Docker answered
const LATER = "2999-01-01T00:00:00Z"; // stopped after it

function cases(sh: string): void {
  it("waits beside the supervision for the restart-policy containers, running and healthy; logs and writes boot-to-Docker and boot-to-workloads", async () => {
    const s = sandbox(300);
    s.containers([
      `/web always exited none ${STARTED} ${BEFORE} `,
      `/db unless-stopped running starting ${STARTED} 0001-01-01T00:00:00Z `,
      `/batch no exited none ${STARTED} ${BEFORE} `,
    ]);
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the wait's first line", () => /waiting up to 300s for the restart-policy containers/.test(s.log()), 20_000, s.log);
      assert.match(
        s.log(),
        /waiting up to 300s for the restart-policy containers \(0s so far\): web \(restart always, exited, no healthcheck\), db \(restart unless-stopped, running, health starting\)\n/,
      );
      const t = parseTimes(s.times());
      assert.equal(t.boot, s.boot);
      assert.ok(t.dockerUp && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t.dockerUp), s.times());
      assert.equal(t.bootToDockerSeconds, Math.floor(Date.parse(t.dockerUp) / 1000) - s.boot);
      assert.ok((t.bootToDockerSeconds ?? 0) >= UPTIME);
      assert.equal(t.bootToWorkloadsSeconds, undefined, "not back yet");
      // The supervision goes on meanwhile: an API that stops answering is noticed.
      rmSync(join(s.root, "api-up"));
      await until("the supervisor noticing the API", () => /the Docker API at \S+ did not answer/.test(s.log()), 15_000, s.log);
      writeFileSync(join(s.root, "api-up"), "");
      s.containers([
        `/web always running none ${STARTED} ${BEFORE} `,
        `/db unless-stopped running healthy ${STARTED} 0001-01-01T00:00:00Z `,
        `/batch no exited none ${STARTED} ${BEFORE} `,
      ]);
      await until("the workloads' line", () => /workloads back/.test(s.log()), 15_000, s.log);
      const back = parseTimes(s.times());
      assert.ok(back.bootToWorkloadsSeconds !== undefined && back.bootToWorkloadsSeconds >= (back.bootToDockerSeconds ?? 0), s.times());
      assert.match(
        s.log(),
        new RegExp(
          `workloads back: 2 containers with restart policy always/unless-stopped running \\(healthy where they have a healthcheck\\); boot-to-Docker ${back.bootToDockerSeconds}s, boot-to-workloads ${back.bootToWorkloadsSeconds}s\\n`,
        ),
      );
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });

  it("at WAIT_WORKLOADS_MAX it logs the containers not ready with their last state; stopped by hand and never started are not waited for", async () => {
    const s = sandbox(5);
    s.containers([
      `/web always running unhealthy ${STARTED} 0001-01-01T00:00:00Z `,
      `/failed unless-stopped exited none ${STARTED} ${BEFORE} error while mounting volume`,
      `/manual unless-stopped exited none ${STARTED} ${BEFORE} `,
      `/stopped-since always exited none ${STARTED} ${LATER} `,
      `/never always created none 0001-01-01T00:00:00Z 0001-01-01T00:00:00Z `,
      `/paused always paused none ${STARTED} 0001-01-01T00:00:00Z `,
    ]);
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the timeout's line", () => /workloads not back/.test(s.log()), 30_000, s.log);
      const said = "web (restart always, running, health unhealthy), failed (restart unless-stopped, exited, no healthcheck)";
      assert.match(
        s.log(),
        new RegExp(
          `workloads not back within WAIT_WORKLOADS_MAX \\(5s\\) after the Docker API answered: ${said.replace(/[()]/g, "\\$&")}; boot-to-Docker \\d+s\\n`,
        ),
      );
      assert.equal(parseTimes(s.times()).notReady, said);
      assert.equal(parseTimes(s.times()).bootToWorkloadsSeconds, undefined);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });

  it("WAIT_WORKLOADS_MAX 0: boot-to-Docker only; docker is not asked", async () => {
    const s = sandbox(0);
    rmSync(join(s.root, "opt/homebrew/bin/docker"));
    const { child, exit } = run(s.inputs, sh);
    try {
      await until("the times' line", () => /containers not waited for/.test(s.log()), 20_000, s.log);
      const t = parseTimes(s.times());
      assert.match(
        s.log(),
        new RegExp(`boot-to-Docker ${t.bootToDockerSeconds}s; containers not waited for \\(WAIT_WORKLOADS_MAX 0\\)\\n`),
      );
      assert.equal(t.bootToWorkloadsSeconds, undefined);
    } finally {
      child.kill("SIGTERM");
      await exit;
    }
  });
}

const mac = macosShells();
describe("the supervisor's wait for the workloads under macOS's /bin/sh (bash 3.2, POSIX mode)", {
  concurrency: true,
  skip: "skip" in mac ? mac.skip : false,
}, () => {
  if (!("skip" in mac)) cases(mac.sh);
});
describe("the supervisor's wait for the workloads under dash", { concurrency: true }, () => cases(dash()));
