// Lima 2.2's `limactl autostart` as the simulator runs it (tools/limaAutostart.ts; README.md
// "Lima autostart" cites each behaviour pinned here).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { build } from "plist";
import { consoleLogin } from "../helpers/autostarts";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";
import { renderAutostartPlist } from "./tools/limaAutostart";

const dockerTarget = testServices().dockerHost.replace(/^unix:\/\//, "");
/** logrus's `time=…` prefix, dropped so lines compare. */
const lines = (text: string) => text.replace(/^time="[^"]*" /gm, "");

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Colima instance as Colima leaves it: `~/.colima/_lima/<id>/lima.yaml`. */
function colimaInstance(sim: MacSimulator, id: string): string {
  const dir = join(sim.world.home("ops"), ".colima/_lima", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "lima.yaml"),
    JSON.stringify({ vmType: "qemu", arch: "aarch64", cpus: 2, memoryMiB: 2048, diskGiB: 60, dockerSocket: "/nowhere" }),
  );
  return dir;
}

describe("simulated Lima before 2.2: no autostart", { concurrency: false }, () => {
  let sim: MacSimulator;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["lima"] });
  });
  after(async () => sim?.dispose());

  it("`limactl autostart` is cobra's unknown command in Lima 1.2.1", async () => {
    const r = await sim.run([join(sim.world.brewPrefix(), "bin/limactl"), "autostart", "enable", "colima"]);
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr), 'level=fatal msg="unknown command \\"autostart\\" for \\"limactl\\""\n');
  });
});

describe("simulated Lima 2.2: limactl autostart", { concurrency: false }, () => {
  let sim: MacSimulator;
  let limactl: string;
  let dir: string;
  const launchctl = (...argv: string[]) => sim.run([sim.path("/usr/bin/sudo"), "-n", sim.path("/bin/launchctl"), ...argv]);
  const withColimaHome = (...argv: string[]) =>
    sim.run([sim.path("/usr/bin/env"), `LIMA_HOME=${join(sim.world.home("ops"), ".colima/_lima")}`, limactl, ...argv]);
  const agent = () => join(sim.world.home("ops"), "Library/LaunchAgents/io.lima-vm.autostart.colima.plist");
  const daemon = () => sim.path("/Library/LaunchDaemons/io.lima-vm.daemon.colima.plist");
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget, formulae: ["lima"], versions: { lima: "2.2.0" } });
    limactl = join(sim.world.brewPrefix(), "bin/limactl");
    dir = colimaInstance(sim, "colima");
  });
  after(async () => sim?.dispose());

  it("without LIMA_HOME a Colima instance is not found: Lima looks in ~/.lima", async () => {
    const r = await sim.run([limactl, "autostart", "enable", "colima"]);
    assert.deepEqual([r.code, lines(r.stderr)], [1, 'level=fatal msg="instance \\"colima\\" not found"\n']);
    assert.equal(existsSync(agent()), false);
  });

  it("a condition other than login or boot is refused, naming it; nothing is written", async () => {
    const r = await withColimaHome("autostart", "enable", "--condition=shutdown", "colima");
    assert.deepEqual(
      [r.code, lines(r.stderr)],
      [1, 'level=fatal msg="unknown condition \\"shutdown\\": must be \\"login\\" or \\"boot\\""\n'],
    );
    assert.equal(existsSync(agent()), false);
    const none = await withColimaHome("autostart", "enable");
    assert.equal(none.code, 1);
    assert.match(lines(none.stderr), /^level=fatal msg="`limactl autostart enable` accepts 1 arg\(s\), received 0\./);
  });

  it("enable (login): the LaunchAgent's exact plist, 0644, enabled in gui/501 but not loaded", async () => {
    const r = await withColimaHome("autostart", "enable", "colima");
    assert.deepEqual([r.code, lines(r.stderr)], [0, 'level=info msg="Instance `colima` registered to start at login"\n']);
    assert.equal(readFileSync(agent(), "utf8"), renderAutostartPlist({ binary: limactl, instance: "colima", workDir: dir }));
    assert.equal(statSync(agent()).mode & 0o777, 0o644);
    assert.equal((await launchctl("print", "gui/501/io.lima-vm.autostart.colima")).code, 113, "loaded only at the next login");
    assert.match((await launchctl("print-disabled", "gui/501")).stdout, /\t"io\.lima-vm\.autostart\.colima" => enabled\n/);
  });

  it("Colima's own `limactl start` of a registered instance goes through launchd, whose job cannot find it: 5 s, then fatal", async () => {
    const r = await withColimaHome("start", "colima");
    assert.equal(r.code, 1);
    assert.match(
      lines(r.stderr),
      new RegExp(
        `level=fatal msg="hostagent \\(\`${join(dir, "ha.pid")}\`\\) did not start up in 5s \\(hint: see \`${join(dir, "ha.stderr.log")}\`\\)"\\n$`,
      ),
    );
    assert.equal(existsSync(join(dir, "ha.pid")), false, "Colima's VM did not start");
    await launchctl("bootout", "gui/501/io.lima-vm.autostart.colima");
  });

  it("at login the job runs `limactl start colima --foreground` without LIMA_HOME: it would create ~/.lima/colima, and fails", async () => {
    await consoleLogin(sim);
    const printed = async () => (await launchctl("print", "gui/501/io.lima-vm.autostart.colima")).stdout;
    await waitFor("the login job to exit", async () => /\tlast exit code = 1\n/.test(await printed()));
    assert.match(await printed(), /\tstate = not running\n/, "no KeepAlive: it stays exited");
    const log = lines(readFileSync(join(dir, "launchd.stderr.log"), "utf8"));
    assert.match(log, /^level=info msg="Creating an instance `colima` from template:default \(Not from template:colima\)"$/m);
    assert.match(log, /^level=warning msg="This form is deprecated\. Use `limactl create --name=colima template:default` instead"$/m);
    assert.equal(existsSync(join(dir, "ha.pid")), false, "Colima's VM did not start");
    await launchctl("bootout", "gui/501/io.lima-vm.autostart.colima");
  });

  it("disable: launchctl disable, the plist removed; again: not registered", async () => {
    const r = await withColimaHome("autostart", "disable", "colima");
    assert.deepEqual([r.code, lines(r.stderr)], [0, 'level=info msg="Instance `colima` unregistered from start at login"\n']);
    assert.equal(existsSync(agent()), false);
    assert.match((await launchctl("print-disabled", "gui/501")).stdout, /\t"io\.lima-vm\.autostart\.colima" => disabled\n/);
    const again = await withColimaHome("autostart", "disable", "colima");
    assert.deepEqual(
      [again.code, lines(again.stderr)],
      [0, 'level=info msg="Instance `colima` is not registered for automatic startup"\n'],
    );
  });

  it("enable --condition=boot: through sudo, the LaunchDaemon's exact plist (UserName), root 0644, bootstrapped: it runs at once and fails", async () => {
    const r = await withColimaHome("autostart", "enable", "--condition=boot", "colima");
    assert.equal(r.code, 0, r.stderr);
    const target = "system/io.lima-vm.daemon.colima";
    const info = lines(r.stderr)
      .split("\n")
      .filter((l) => l.startsWith("level=info"))
      .map((l) => l.replace(/\S+\/io\.lima-vm\.daemon\.\d+\.plist /, "<tmp> "));
    assert.deepEqual(info, [
      `level=info msg="running: sudo [launchctl bootout ${target}]"`,
      `level=info msg="running: sudo [install -m 644 <tmp> ${daemon()}]"`,
      `level=info msg="running: sudo [launchctl enable ${target}]"`,
      `level=info msg="running: sudo [launchctl bootstrap system ${daemon()}]"`,
      'level=info msg="LaunchDaemon installed for instance \\"colima\\" (runs as \\"ops\\" at boot)"',
      `level=info msg="Plist: ${daemon()}"`,
    ]);
    assert.match(lines(r.stderr), new RegExp(`running: sudo \\[install -m 644 \\S+/io\\.lima-vm\\.daemon\\.\\d+\\.plist ${daemon()}\\]`));
    assert.equal(
      readFileSync(daemon(), "utf8"),
      renderAutostartPlist({ binary: limactl, instance: "colima", workDir: dir, userName: "ops" }),
    );
    const st = statSync(daemon());
    assert.deepEqual([st.uid, st.mode & 0o777], [0, 0o644]);
    const printed = async () => (await launchctl("print", target)).stdout;
    await waitFor("the boot job to exit", async () => /\tlast exit code = 1\n/.test(await printed()));
    assert.match(await printed(), /\tusername = ops\n/);
    assert.equal(existsSync(join(dir, "ha.pid")), false, "Colima's VM did not start");
  });

  it("launchd: XPC_SERVICE_NAME is the job's label; a relative StandardOutPath lands in WorkingDirectory", async () => {
    const work = sim.path("/var/tmp/xpc-job");
    mkdirSync(work, { recursive: true });
    const plist = sim.path("/Library/LaunchDaemons/test.xpc.plist");
    writeFileSync(
      plist,
      build({
        Label: "test.xpc",
        ProgramArguments: ["/bin/sh", "-c", "echo $XPC_SERVICE_NAME"],
        RunAtLoad: true,
        StandardOutPath: "out.log",
        WorkingDirectory: work,
      }),
      { mode: 0o644 },
    );
    assert.equal((await launchctl("bootstrap", "system", plist)).code, 0);
    await waitFor("the job's line", () => existsSync(join(work, "out.log")) && readFileSync(join(work, "out.log"), "utf8") !== "");
    assert.equal(readFileSync(join(work, "out.log"), "utf8"), "test.xpc\n");
    await launchctl("bootout", "system/test.xpc");
  });

  it("disable of a boot job: sudo bootout, disable, rm -f", async () => {
    const r = await withColimaHome("autostart", "disable", "colima");
    assert.equal(r.code, 0, r.stderr);
    assert.match(lines(r.stderr), /level=info msg="LaunchDaemon uninstalled for instance \\"colima\\""\n$/);
    assert.equal(existsSync(daemon()), false);
    assert.equal((await launchctl("print", "system/io.lima-vm.daemon.colima")).code, 113);
  });
});
