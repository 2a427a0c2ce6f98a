// Lima as Colima drives it (lima-vm/lima; README.md "Lima" cites each point):
// - an instance dir `~/.colima/_lima/<id>/` with lima.yaml, ha.pid, ha.sock, qemu.pid, logs;
// - `limactl start <id>` spawns a host agent in its own process group (Setpgid, so it outlives
//   its parent and a launchd job's process group), waits until it is ready, and exits;
// - the host agent writes ha.pid, serves ha.sock, locks the data disk (`_disks/<id>/in_use_by`, a
//   symlink to the instance dir), starts qemu as its child (or is the VM itself for vz), forwards
//   the guest's docker.sock to `~/.colima/<profile>/docker.sock`, and exits when qemu dies;
// - "Running" = ha.pid alive (signal 0, no identity check) AND ha.sock answers /v1/info AND the
//   driver's pid file is alive (pkg/store/instance.go#Inspect).
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { basename, join } from "node:path";
import { ApiWatch, guestDown, guestFile, restore } from "./guest";
import { runInGuest, setGuestOffsetMs, startTimeSync } from "./guestClock";
import { autostart, bq, fatal, hasAutostart, startThroughLaunchd, warn } from "./limaAutostart";
import { alive, forever, readIfThere, sleep, ToolExit, type World, writeAtomic } from "./world";

/** What colima writes into lima.yaml (here in JSON form, which is valid YAML). */
export interface LimaConfig {
  vmType: "qemu" | "vz";
  arch: "aarch64" | "x86_64";
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** Host side of the docker.sock port forward. */
  dockerSocket: string;
  /** lima networks (`networks: [{lima: user-v2}]`); colima always adds user-v2 (yaml.go). */
  networks?: string[];
}

export type LimaStatus = "Running" | "Stopped" | "Broken";

/** LIMA_HOME as Colima sets it for every limactl it runs (its `_lima` folder); a process without
 *  it (the simulator itself) looks in the default `~/.colima/_lima`. */
export function limaHomeOf(home: string): string {
  return process.env.LIMA_HOME || join(home, ".colima/_lima");
}

export class Instance {
  constructor(
    readonly world: World,
    readonly home: string,
    readonly id: string,
  ) {}

  get limaHome(): string {
    return limaHomeOf(this.home);
  }
  get dir(): string {
    return join(this.limaHome, this.id);
  }
  file(name: string): string {
    return join(this.dir, name);
  }
  get diskDir(): string {
    return join(this.limaHome, "_disks", this.id);
  }
  get inUseBy(): string {
    return join(this.diskDir, "in_use_by");
  }

  config(): LimaConfig | undefined {
    const f = this.file("lima.yaml");
    const text = readIfThere(f); // a reset may move the instance folder away meanwhile
    return text ? (JSON.parse(text) as LimaConfig) : undefined;
  }

  /** lima's ReadPIDFile on the instance's `name` (readPidFile). */
  readPid(name: string): number {
    return readPidFile(this.file(name));
  }

  /** pkg/store/instance.go#Inspect, reduced to what colima and the provider observe. */
  async inspect(): Promise<{ status: LimaStatus; errors: string[]; haPid: number; driverPid: number }> {
    const cfg = this.config();
    if (!cfg) return { status: "Broken", errors: [`instance "${this.id}" does not exist`], haPid: 0, driverPid: 0 };
    const haPid = this.readPid("ha.pid");
    const driverPid = this.readPid(`${cfg.vmType}.pid`);
    if (haPid !== 0) {
      const sock = this.file("ha.sock");
      if (!existsSync(sock)) {
        return { status: "Broken", errors: [`failed to connect to "${sock}": stat ${sock}: no such file or directory`], haPid, driverPid };
      }
      const info = await getInfo(sock, haPid);
      if (!info.ok) {
        return {
          status: "Broken",
          errors: [`failed to get Info from "${sock}": Get "http://lima-hostagent/v1/info": dial unix ${sock}: connect: ${info.error}`],
          haPid,
          driverPid,
        };
      }
    }
    if (haPid && driverPid) return { status: "Running", errors: [], haPid, driverPid };
    if (!haPid && !driverPid) return { status: "Stopped", errors: [], haPid, driverPid };
    const error = haPid ? "host agent is running but driver is not" : `${cfg.vmType} driver is running but host agent is not`;
    return { status: "Broken", errors: [error], haPid, driverPid };
  }

  /** `limactl start <id>`: spawn the host agent and wait until it is ready or has failed. */
  async start(limactl: string, log: (msg: string) => void): Promise<void> {
    const state = await this.inspect();
    log(`Using the existing instance "${this.id}"`);
    if (state.errors.length > 0 && state.status === "Broken") {
      throw new ToolExit(
        1,
        `time="${new Date().toISOString()}" level=fatal msg="errors inspecting instance: [${state.errors.join(" ")}]"\n`,
      );
    }
    if (state.status === "Running") return;
    await reconcile(this.world, this.home, this.id);
    if (this.world.faults().startFails) {
      // colima#1490: the start fails after the network daemon was started, which stays behind.
      throw new ToolExit(
        1,
        `time="${new Date().toISOString()}" level=fatal msg="exiting, status={Running:false Degraded:false Exiting:true Errors:[] SSHLocalPort:0} (hint: see \\"${this.file("ha.stderr.log")}\\")"\n`,
      );
    }
    for (const f of ["ha.stdout.log", "ha.stderr.log"]) writeFileSync(this.file(f), "");
    rmSync(this.file("ha.ready"), { force: true }); // a power cut may have left one behind
    const ha = spawn(limactl, ["hostagent", "--pidfile", this.file("ha.pid"), "--socket", this.file("ha.sock"), this.id], {
      detached: true, // Setpgid: its own process group, orphaned when limactl start exits
      stdio: ["ignore", "ignore", "ignore"],
      env: process.env,
    });
    ha.unref();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      // Ready means: *this* host agent said so (lima waits for its "READY" event on ha.stdout.log).
      if (readIfThere(this.file("ha.ready")) === String(ha.pid)) return;
      if (ha.exitCode !== null || !alive(ha.pid ?? 0)) break;
      await sleep(20);
    }
    const stderr = (readIfThere(this.file("ha.stderr.log")) ?? "").trim();
    if (stderr) log(`[hostagent] ${stderr}`);
    throw new ToolExit(
      1,
      `time="${new Date().toISOString()}" level=fatal msg="exiting, status={Running:false Degraded:false Exiting:true Errors:[] SSHLocalPort:0} (hint: see \\"${this.file("ha.stderr.log")}\\")"\n`,
    );
  }

  /** `limactl stop [-f]`: graceful = SIGINT to the host agent and wait; force = SIGKILL and sweep. */
  async stop(force: boolean, log: (msg: string) => void): Promise<void> {
    const cfg = this.config();
    if (force) {
      const driverPid = this.readPid(`${cfg?.vmType ?? "qemu"}.pid`);
      if (driverPid && cfg?.vmType === "qemu") {
        log(`Sending SIGKILL to the qemu driver process ${driverPid}`);
        this.world.signal(driverPid, "SIGKILL", `limactl stop --force ${this.id}: the qemu driver`);
      }
      rmSync(this.inUseBy, { force: true });
      const haPid = this.readPid("ha.pid");
      if (haPid) {
        // lima checks no identity here: a reused PID is killed too (lima issue #5088 discussion).
        log(`Sending SIGKILL to the host agent process ${haPid}`);
        this.world.signal(haPid, "SIGKILL", `limactl stop --force ${this.id}: the host agent in ha.pid`);
      }
      for (const f of existsSync(this.dir) ? readdirSafe(this.dir) : []) {
        if (/\.(pid|sock|tmp)$/.test(f)) {
          log(`Removing "${this.file(f)}"`);
          rmSync(this.file(f), { force: true });
        }
      }
      rmSync(this.file("ha.ready"), { force: true });
      await reconcile(this.world, this.home, "");
      return;
    }
    const state = await this.inspect();
    if (state.status !== "Running") {
      await reconcile(this.world, this.home, ""); // stop.go reconciles whatever the stop returned
      throw new ToolExit(
        1,
        `time="${new Date().toISOString()}" level=fatal msg="expected status \\"Running\\", got \\"${state.status}\\" (maybe use \`limactl stop -f\`?)"\n`,
      );
    }
    log(`Sending SIGINT to hostagent process ${state.haPid}`);
    this.world.signal(state.haPid, "SIGINT", `limactl stop ${this.id}: the host agent in ha.pid`);
    const deadline = Date.now() + 190_000;
    while (alive(state.haPid) && Date.now() < deadline) await sleep(20);
    await reconcile(this.world, this.home, ""); // cmd/limactl/stop.go: networks after the stop
  }
}

/** The user-mode network every profile of one user shares (LIMA_HOME = ~/.colima/_lima). */
export function usernetPaths(limaHome: string) {
  const dir = join(limaHome, "_networks", "user-v2");
  return {
    dir,
    pidFile: join(dir, "usernet_user-v2.pid"),
    qemuSock: join(dir, "user-v2_qemu.sock"),
    fdSock: join(dir, "user-v2_fd.sock"),
    epSock: join(dir, "user-v2_ep.sock"),
  };
}

/** lima's ReadPIDFile (pkg/store/instance.go): one read, and a file that is not there — also one
 *  another process removed a moment ago — reads as 0 (os.ErrNotExist); a dead PID's file is removed
 *  and reads as 0; EPERM counts as alive. (Asking existsSync first raced with that removal.) */
function readPidFile(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid)) return 0;
  if (!alive(pid)) {
    rmSync(file, { force: true });
    return 0;
  }
  return pid;
}

/** pkg/networks/reconcile Reconcile(newInst): user-v2 runs while a running instance (or the one
 *  about to start) uses it, and is stopped otherwise. usernet.Start trusts any live PID in the pid
 *  file (no identity check) and then waits, with no deadline, for the fd socket to exist. */
export async function reconcile(world: World, home: string, newInst: string): Promise<void> {
  const limactl = join(world.brewPrefix(), "bin", "limactl");
  const limaHome = limaHomeOf(home);
  let active = false;
  for (const id of existsSync(limaHome) ? readdirSafe(limaHome).filter((d) => !d.startsWith("_")) : []) {
    const inst = new Instance(world, home, id);
    const cfg = inst.config();
    if (!cfg?.networks?.includes("user-v2")) continue;
    if (id === newInst || (await inst.inspect()).status === "Running") active = true;
  }
  const net = usernetPaths(limaHome);
  if (active) {
    mkdirSync(net.dir, { recursive: true, mode: 0o755 });
    if (readPidFile(net.pidFile) !== 0) return;
    for (const f of ["usernet.user-v2.stdout.log", "usernet.user-v2.stderr.log"]) rmSync(join(net.dir, f), { force: true });
    const args = ["usernet", "-p", net.pidFile, "-e", net.epSock, "--listen-qemu", net.qemuSock, "--listen", net.fdSock];
    const out = openSync(join(net.dir, "usernet.user-v2.stdout.log"), "w");
    const err = openSync(join(net.dir, "usernet.user-v2.stderr.log"), "w");
    // executil.BackgroundSysProcAttr: its own process group, so it outlives limactl start.
    spawn(limactl, [...args, "--subnet", "192.168.5.0/24"], { detached: true, stdio: ["ignore", out, err], env: process.env }).unref();
    while (!existsSync(net.fdSock)) await sleep(500);
    return;
  }
  const pid = readPidFile(net.pidFile);
  if (pid === 0) return;
  // usernet.Stop: SIGINT (to whatever the PID is now), up to 5 s, then SIGKILL.
  const why = `usernet.Stop: no running instance uses user-v2 (reconcile ${newInst ? `for ${newInst}` : "after a stop"})`;
  world.signal(pid, "SIGINT", why);
  const deadline = Date.now() + 5_000;
  while (readPidFile(net.pidFile) !== 0) {
    if (Date.now() > deadline) {
      world.signal(pid, "SIGKILL", `${why}, and it did not exit within 5 s`);
      break;
    }
    await sleep(500);
  }
}

/** `limactl usernet -p PID -e EP --listen-qemu Q --listen FD`: refuses an existing pid file,
 *  writes its PID, replaces stale sockets, and removes all of them on SIGINT/SIGTERM. */
export async function usernet(_world: World, argv: string[]): Promise<number> {
  const opt = (names: string[]) => {
    const i = argv.findIndex((a) => names.includes(a));
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const pidFile = opt(["-p", "--pidfile"]);
  const sockets = [opt(["-e", "--endpoint"]), opt(["--listen-qemu"]), opt(["--listen"])].filter((s): s is string => !!s);
  if (pidFile) {
    if (existsSync(pidFile))
      throw new ToolExit(1, `time="${new Date().toISOString()}" level=fatal msg="pidfile \`${pidFile}\` already exists"\n`);
    writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 });
  }
  for (const s of sockets) rmSync(s, { force: true });
  const servers: Server[] = [];
  const held: Socket[] = [];
  for (const s of sockets) servers.push(await listen(s, (c) => held.push(c))); // QEMU keeps its connection
  const quit = () => {
    for (const c of held) c.destroy();
    for (const srv of servers) srv.close();
    for (const s of sockets) rmSync(s, { force: true });
    if (pidFile) rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on("SIGINT", quit);
  process.on("SIGTERM", quit);
  return forever();
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** GET /v1/info on a host agent's ha.sock, with lima's 3 s deadline (pkg/store/instance.go Inspect).
 *  On a Mac a live Go host agent answers in milliseconds: only one that is stuck misses that
 *  deadline. Here the host agent is a Node process that a loaded test machine may not schedule for
 *  seconds, so the deadline holds for a host agent that cannot answer (gone, or stopped: state T)
 *  and is not held against one that is only waiting for a CPU (runnable or sleeping), which is
 *  asked again until it answers or stops being able to; 60 s end the wait in any case. */
async function getInfo(sock: string, haPid: number): Promise<{ ok: true } | { ok: false; error: string }> {
  const cap = Date.now() + 60_000;
  for (;;) {
    const answer = await new Promise<{ ok: true } | { ok: false; error: string; late?: boolean }>((resolve) => {
      const req = request({ socketPath: sock, path: "/v1/info", host: "lima-hostagent", timeout: 3000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? { ok: true } : { ok: false, error: `status ${res.statusCode}` });
      });
      req.on("error", (e: NodeJS.ErrnoException) =>
        resolve({ ok: false, error: e.code === "ECONNREFUSED" ? "connection refused" : e.message }),
      );
      req.on("timeout", () => {
        resolve({ ok: false, error: "i/o timeout", late: true });
        req.destroy();
      });
      req.end();
    });
    if (answer.ok || !answer.late || !alive(haPid) || stopped(haPid) || Date.now() > cap) return answer;
  }
}

/** The host agent: `limactl hostagent --pidfile P --socket S <id>` (cmd/limactl/hostagent.go). */
export async function hostagent(world: World, argv: string[]): Promise<number> {
  const pidfile = argv[argv.indexOf("--pidfile") + 1] as string;
  const socket = argv[argv.indexOf("--socket") + 1] as string;
  const id = argv[argv.length - 1] as string;
  const inst = new Instance(world, process.env.HOME ?? "", id);
  const stderr = (msg: string) =>
    writeFileSync(inst.file("ha.stderr.log"), `${JSON.stringify({ level: "fatal", msg, time: new Date().toISOString() })}\n`, {
      flag: "a",
    });
  const existing = inst.readPid("ha.pid");
  if (existing) {
    stderr(`another hostagent may already be running with pid ${existing} (pidfile "${pidfile}")`);
    return 1;
  }
  const cfg = inst.config();
  if (!cfg) {
    stderr(`instance "${id}" has no lima.yaml`);
    return 1;
  }
  writeFileSync(pidfile, `${process.pid}\n`);
  const servers: Server[] = [];
  let vm: ReturnType<typeof spawn> | undefined;
  let shuttingDown = false;
  // The guest's dockerd (tools/guest.ts): not running after a boot until `colima start` starts it
  // or a request through the forward socket-activates it; restore() runs once, then it serves.
  const gFile = guestFile(world, inst.dir);
  let dockerd: Promise<unknown> | undefined;
  const startDockerd = (why: string) => {
    dockerd ??= restore(world, gFile, why, (msg) => stderr(msg)).catch((e: Error) => stderr(`dockerd's restore failed: ${e.message}`));
    return dockerd;
  };
  const cleanUp = (code: number, signalled = false) => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const s of servers) s.close();
    // The guest goes down with its containers: a shutdown (a stop request while the guest runs)
    // stops them as dockerd's shutdown does; a guest that died (qemu gone or frozen) kills them.
    const qemuPid = vm?.pid && vm.exitCode === null && vm.signalCode === null ? vm.pid : 0;
    const graceful = signalled && (cfg.vmType === "vz" || (qemuPid !== 0 && !stopped(qemuPid)));
    const down = guestDown(world, gFile, graceful ? "stop" : "kill", graceful ? `limactl stop ${id}` : `the VM of ${id} died`);
    // A stopped QEMU cannot act on a shutdown request; lima then kills it (qemu_driver.go killQEMU).
    if (vm?.pid && vm.exitCode === null && vm.signalCode === null)
      world.signal(vm.pid, stopped(vm.pid) ? "SIGKILL" : "SIGTERM", `host agent of ${id} shutting down: its qemu`, { child: true });
    rmSync(inst.inUseBy, { force: true }); // "Unmounting disk"
    for (const f of ["ha.pid", "ha.sock", "ha.ready", `${cfg.vmType}.pid`]) rmSync(inst.file(f), { force: true });
    rmSync(cfg.dockerSocket, { force: true });
    void down.catch(() => undefined).finally(() => setTimeout(() => process.exit(code), 20));
  };
  process.on("SIGINT", () => cleanUp(0, true));
  process.on("SIGTERM", () => cleanUp(0, true));

  // Data disk lock (pkg/store/disk.go#LockForInstance): another instance's lock is fatal; a
  // stale lock of this same instance is replaced (qemu since lima v0.20.0).
  mkdirSync(inst.diskDir, { recursive: true });
  let lockedBy: string | undefined;
  try {
    lockedBy = readlinkSync(inst.inUseBy);
  } catch {
    lockedBy = undefined;
  }
  if (lockedBy && lockedBy !== inst.dir) {
    stderr(`could not attach disk "${id}", in use by instance "${basename(lockedBy)}"`);
    cleanUp(1);
    return 1;
  }
  if (lockedBy) unlinkSync(inst.inUseBy);

  // ha.sock: the host agent's API (GET /v1/info).
  rmSync(socket, { force: true });
  servers.push(
    await listen(socket, (conn) => {
      conn.once("data", (d) => {
        // Not lima's API: the simulated Colima's stand-in for its `limactl shell <id> sudo
        // systemctl start docker.service` (docker.go Start), answered once dockerd has restored.
        if (d.toString("latin1").startsWith("POST /simulator/systemctl-start-docker ")) {
          void startDockerd("colima start: systemctl start docker.service").then(() =>
            conn.end("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"),
          );
          return;
        }
        conn.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n{"sshLocalPort":0}');
      });
    }),
  );

  if (cfg.vmType === "qemu") {
    if (cfg.networks?.includes("user-v2")) {
      // pkg/driver/qemu: `-netdev socket,id=net0,fd={{ fd_connect "<user-v2_qemu.sock>" }}`; a
      // failed dial panics inside text/template, which reports it like this, and Run returns it.
      const qemuSock = usernetPaths(inst.limaHome).qemuSock;
      const dialed = await dialUnix(qemuSock);
      if (typeof dialed === "string") {
        stderr(
          `template: :1:21: executing "" at <fd_connect ${JSON.stringify(qemuSock)}>: error calling fd_connect: fd_connect: dial unix ${qemuSock}: connect: ${dialed}`,
        );
        cleanUp(1);
        return 1;
      }
      servers.push({ close: () => dialed.destroy() } as unknown as Server); // QEMU holds the connection
    }
    // pkg/driver/qemu/qemu.go Exe (from Cmdline, in the driver's Start): exec.LookPath of
    // `qemu-system-<arch>` on the PATH the host agent inherited from `limactl start`.
    const qemu = world.lookPath(`qemu-system-${cfg.arch}`);
    if (!qemu) {
      stderr(`exec: "qemu-system-${cfg.arch}": executable file not found in $PATH`);
      cleanUp(1);
      return 1;
    }
    vm = spawn(
      qemu,
      [
        "-m",
        String(cfg.memoryMiB),
        "-cpu",
        "host",
        "-machine",
        `virt,accel=hvf`,
        "-smp",
        `${cfg.cpus},sockets=1,cores=${cfg.cpus},threads=1`,
        "-name",
        `lima-${id}`,
        "-pidfile",
        inst.file("qemu.pid"),
      ],
      { detached: true, stdio: "ignore", env: process.env },
    );
    vm.on("error", (e) => {
      stderr(`failed to start qemu: ${e.message}`);
      cleanUp(1);
    });
    vm.on("exit", (code, signal) => {
      // pkg/hostagent/hostagent.go: "Driver stopped due to error" → shut down, ha.pid removed.
      if (!shuttingDown) stderr(`Driver stopped due to error: qemu exited (code=${code}, signal=${signal})`);
      cleanUp(1);
    });
    // Until QEMU has written its pid file, or has died (its exit handler shuts us down).
    while (!existsSync(inst.file("qemu.pid")) && !shuttingDown) await sleep(10);
  } else {
    writeFileSync(inst.file("vz.pid"), `${process.pid}\n`); // vz: the host agent is the VM
  }
  symlinkSync(inst.dir, inst.inUseBy);
  // A booting guest takes its clock from QEMU's RTC, which follows the host's (tools/guestClock.ts).
  setGuestOffsetMs(world, inst.dir, 0);
  // A new boot: whatever this guest's containers were doing died with its last boot (a host agent
  // killed before it could stop them).
  await guestDown(world, gFile, "kill", `${id} booted: containers of its last boot`);

  // The docker.sock port forward, with the injected readiness faults.
  const bootedAt = Date.now();
  const faults = () => world.faults();
  await sleep(faults().socketDelayMs ?? 0);
  if (shuttingDown) return 1;
  rmSync(cfg.dockerSocket, { force: true });
  mkdirSync(join(cfg.dockerSocket, ".."), { recursive: true });
  // The forward is `ssh -O forward -L <docker.sock>:/var/run/docker.sock` on the ControlMaster
  // (pkg/hostagent/hostagent.go forwardSSH): the listener is a host process, so it accepts even
  // when the guest's vCPUs are stopped, and then waits, with no timeout, on a guest that never
  // answers the channel. A stopped qemu (state T) is such a guest.
  const qemuPid = () => (cfg.vmType === "qemu" ? (vm?.pid ?? 0) : 0);
  const frozen = () => stopped(qemuPid());
  const pairs = new Set<[Socket, Socket]>();
  let wasFrozen = false;
  const pump = setInterval(() => {
    const f = frozen();
    if (f === wasFrozen) return;
    wasFrozen = f; // open connections stall with the guest, and go on when it runs again
    for (const pair of pairs) for (const s of pair) f ? s.pause() : s.resume();
  }, 50);
  pump.unref();
  servers.push({ close: () => clearInterval(pump) } as unknown as Server);
  const forward = (conn: Socket) => {
    // docker.socket: the first connection starts dockerd, which answers once it has restored.
    void startDockerd("socket activation: a request through the forward").then(() => forwardNow(conn));
  };
  const forwardNow = (conn: Socket) => {
    if (conn.destroyed) return;
    const watch = new ApiWatch(world, gFile); // which containers this VM's are (tools/guest.ts)
    let answered = Promise.resolve();
    const upstream = connect({ path: world.state().dockerTarget, allowHalfOpen: true });
    const pair: [Socket, Socket] = [conn, upstream];
    pairs.add(pair);
    const relay = (from: Socket, to: Socket) => {
      from.on("data", (d) => {
        // pruneConflict: a prune request is answered as the guest's dockerd answers one while
        // another prune runs (moby: errdefs.Conflict "a prune operation is already running"),
        // without reaching the daemon. The CLI sends one request at a time on a connection.
        if (from === conn && faults().pruneConflict && PRUNE_REQUEST.test(d.toString("latin1", 0, 200))) {
          conn.end(PRUNE_CONFLICT);
          upstream.destroy();
          return;
        }
        if (from === conn) watch.request(d);
        else {
          // dockerd's answer, in order, each once the guest state has what it records.
          from.pause();
          answered = answered.then(async () => {
            const out = await watch.response(d);
            if ((out.length === 0 || to.write(out)) && !frozen()) from.resume();
          });
          return;
        }
        if (!to.write(d)) from.pause();
      });
      to.on("drain", () => {
        if (!frozen()) from.resume();
      });
      from.on("end", () => to.end());
    };
    relay(conn, upstream);
    relay(upstream, conn);
    const done = () => {
      pairs.delete(pair);
      conn.destroy();
      upstream.destroy();
    };
    upstream.on("error", done);
    conn.on("error", done);
    conn.on("close", done);
    upstream.on("close", () => {
      if (conn.writableFinished || conn.destroyed) done();
    });
  };
  servers.push(
    await listen(cfg.dockerSocket, (conn) => {
      const f = faults();
      const sinceBoot = Date.now() - bootedAt;
      const flapDown = f.apiFlapMs ? Math.floor(sinceBoot / f.apiFlapMs) % 2 === 1 : false;
      if (f.apiNeverReady || sinceBoot < (f.apiDelayMs ?? 0) || flapDown) {
        conn.destroy(); // the guest's dockerd is not answering yet
        return;
      }
      if (!frozen()) return forward(conn);
      // Accepted, and held until the guest runs again (its data waits in the socket meanwhile).
      const wait = setInterval(() => {
        if (conn.destroyed) clearInterval(wait);
        else if (!frozen()) {
          clearInterval(wait);
          forward(conn);
        }
      }, 50);
    }),
  );
  // ssh binds the forward under StreamLocalBindMask 0177 (OpenSSH readconf.c, channels.c): the
  // socket is srw------- and, being made by the user's ssh, the user's; macOS gives a new file
  // its directory's group (staff, the user's primary group here).
  const owner = world.userInfo(world.user);
  if (owner) chownSync(cfg.dockerSocket, owner.uid, owner.gid);
  chmodSync(cfg.dockerSocket, 0o600);
  writeAtomic(inst.file("ha.ready"), String(process.pid));
  // Lima 2.1+'s time sync, while the guest runs (tools/guestClock.ts), logged as logrus JSON.
  const info = (msg: string) =>
    writeFileSync(inst.file("ha.stderr.log"), `${JSON.stringify({ level: "info", msg, time: new Date().toISOString() })}\n`, { flag: "a" });
  startTimeSync(world, inst.dir, world.state().brew.lima ?? LIMA_VERSION, () => !frozen(), info);
  await forever(); // until a signal or the VM's exit ends us
  return 0;
}

/** A Docker API prune request line: containers, images, networks, volumes or the build cache. */
const PRUNE_REQUEST = /^POST \/(?:v[\d.]+\/)?(?:containers|images|networks|volumes|build)\/prune[?\s]/;
const CONFLICT_BODY = '{"message":"a prune operation is already running"}\n';
const PRUNE_CONFLICT = [
  "HTTP/1.1 409 Conflict",
  "Content-Type: application/json",
  `Content-Length: ${Buffer.byteLength(CONFLICT_BODY)}`,
  "Connection: close",
  "",
  CONFLICT_BODY,
].join("\r\n");

/** Is `pid` stopped (SIGSTOP: state T in /proc/<pid>/stat)? */
export function stopped(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  } catch {
    return false;
  }
}

/** net.DialUnix: the connection, or the errno text Go would print. */
function dialUnix(path: string): Promise<Socket | string> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once("connect", () => resolve(s));
    s.once("error", (e: NodeJS.ErrnoException) =>
      resolve(
        e.code === "ENOENT" ? "no such file or directory" : e.code === "ECONNREFUSED" ? "connection refused" : (e.message ?? String(e)),
      ),
    );
  });
}

function listen(path: string, onConn: (c: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Half-open allowed: docker's attach half-closes its side and still reads the output.
    const server = createServer({ allowHalfOpen: true }, onConn);
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

/** The VM: a long-running process named like QEMU, until SIGTERM/SIGKILL. */
export async function qemuVm(_world: World, argv: string[]): Promise<number> {
  const pidfile = argv[argv.indexOf("-pidfile") + 1];
  if (pidfile) writeFileSync(pidfile, `${process.pid}\n`);
  process.on("SIGTERM", () => process.exit(0));
  process.on("SIGINT", () => process.exit(0));
  return forever();
}

/** `limactl`: the subcommands colima uses, plus `usernet` (the process colima#1490 leaked). */
export async function limactl(world: World, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const home = process.env.HOME ?? "";
  const log = (msg: string) => process.stderr.write(`time="${new Date().toISOString()}" level=info msg="${msg.replace(/"/g, '\\"')}"\n`);
  // LimaDir (pkg/limatype/dirnames): LIMA_HOME, else ~/.lima. Colima always sets it; a launchd
  // job Lima wrote does not (lima#5488), and looks in ~/.lima.
  if (!process.env.LIMA_HOME) process.env.LIMA_HOME = join(home, ".lima");
  const version = world.state().brew.lima ?? LIMA_VERSION;
  switch (sub) {
    case "autostart":
      // Lima before 2.2 has no such command: cobra's `unknown command`, as for any other.
      if (!hasAutostart(version)) return fatal('unknown command "autostart" for "limactl"');
      return autostart(world, rest, process.argv[1] as string, limaHomeOf(home));
    case "info":
      // The version Homebrew installed (a `brew upgrade lima` replaces the binary).
      process.stdout.write(`${JSON.stringify({ version: world.state().brew.lima ?? LIMA_VERSION })}\n`);
      return 0;
    case "hostagent":
      return hostagent(world, rest);
    case "usernet":
      return usernet(world, rest);
    case "start": {
      const name = rest.filter((a) => !a.startsWith("-"))[0] ?? "default";
      const inst = new Instance(world, home, name);
      // cmd/limactl/start.go loadOrCreateInstance: a name that is no instance in LimaDir is
      // created from template:default (what a Lima job for a Colima instance meets: lima#5488).
      if (!inst.config()) {
        if (name !== "default") {
          log(`Creating an instance ${bq(name)} from template:default (Not from template:${name})`);
          warn(`This form is deprecated. Use \`limactl create --name=${name} template:default\` instead`);
        }
        fatal(`simulator: creating instance ${JSON.stringify(name)} from template:default (downloading its image) is not simulated`);
      }
      if (hasAutostart(version) && !rest.includes("--foreground") && (await startThroughLaunchd(world, name, inst.dir))) return 0;
      await inst.start(process.argv[1] as string, log);
      return 0;
    }
    case "stop": {
      const force = rest.includes("-f") || rest.includes("--force");
      await new Instance(world, home, rest.filter((a) => !a.startsWith("-"))[0] as string).stop(force, log);
      return 0;
    }
    case "shell":
      return shell(world, home, rest);
    case "list": {
      const json = rest.includes("--json");
      const ids = rest.filter((a) => !a.startsWith("-"));
      const limaHome = limaHomeOf(home);
      const all = existsSync(limaHome)
        ? readdirSafe(limaHome).filter((d) => !d.startsWith("_") && existsSync(join(limaHome, d, "lima.yaml")))
        : [];
      for (const id of ids.length ? ids : all.sort()) {
        const inst = new Instance(world, home, id);
        const cfg = inst.config();
        if (!cfg) continue;
        const st = await inst.inspect();
        const row = {
          name: id,
          status: st.status,
          dir: inst.dir,
          vmType: cfg.vmType,
          arch: cfg.arch,
          cpus: cfg.cpus,
          memory: cfg.memoryMiB * 1024 * 1024,
          disk: 20 * 1024 ** 3,
          errors: st.errors.length ? st.errors : undefined,
        };
        process.stdout.write(json ? `${JSON.stringify(row)}\n` : `${id}\t${st.status}\n`);
      }
      return 0;
    }
    default:
      throw new ToolExit(1, `time="${new Date().toISOString()}" level=fatal msg="unknown command \\"${sub}\\" for \\"limactl\\""\n`);
  }
}

/** `limactl shell [--workdir DIR] INSTANCE [COMMAND…]` (cmd/limactl/shell.go): a stopped instance is
 *  refused with lima's words; a running one runs the command in the guest over ssh. The guest is
 *  not simulated (README.md "Knowingly not simulated"): only the guest commands in GUEST run, each
 *  waiting, as ssh into a guest whose vCPUs are stopped waits, for as long as the VM is frozen. */
async function shell(world: World, home: string, args: string[]): Promise<number> {
  const rest = [...args];
  if (rest[0] === "--workdir") rest.splice(0, 2);
  else if (rest[0]?.startsWith("--workdir=")) rest.shift();
  const [id, ...command] = rest;
  const fatal = (msg: string) => new ToolExit(1, `time="${new Date().toISOString()}" level=fatal msg="${msg.replace(/"/g, '\\"')}"\n`);
  if (!id) throw fatal("requires at least 1 arg(s), only received 0");
  const inst = new Instance(world, home, id);
  if (!inst.config()) throw fatal(`instance \`${id}\` does not exist, run \`limactl create ${id}\` to create a new instance`);
  const st = await inst.inspect();
  if (st.status === "Stopped") throw fatal(`instance \`${id}\` is stopped, run \`limactl start ${id}\` to start the instance`);
  if (command.length === 0) throw new ToolExit(1, "limactl: simulator: an interactive `limactl shell` is not simulated\n");
  // date(1), reading or (with sudo) setting the guest's clock (tools/guestClock.ts).
  if (command[0] === "date" || (command[0] === "sudo" && command[1] === "date")) {
    while (stopped(inst.readPid("qemu.pid"))) await sleep(100);
    const r = runInGuest(world, inst.dir, command);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.code;
  }
  const run = GUEST[command.join(" ")];
  if (!run) throw new ToolExit(1, `limactl: simulator: the guest command \`${command.join(" ")}\` is not simulated\n`);
  // The guest's sshd runs on the guest's vCPUs: a frozen VM never answers the session.
  while (stopped(inst.readPid("qemu.pid"))) await sleep(100);
  return run();
}

/** Guest commands `limactl shell` runs (as Lima's default user, with passwordless sudo). */
const GUEST: Record<string, () => Promise<number>> = {
  // util-linux fstrim(8): `-a` trims every mounted file system that supports discard and, without
  // -v, prints nothing; exit 0 when at least one was trimmed. What it frees on the host (the
  // sparse data disk shrinking) is not simulated.
  "sudo fstrim -a": async () => 0,
};

/** The version the simulated Lima implements; `limactl info` prints the installed one. */
export const LIMA_VERSION = "1.2.1";
