// The guest's dockerd, as colima-pulse meets it through a profile's forwarded docker.sock.
//
// There is no Linux VM here: "the VM" is a process and the Docker Engine is the harness's real
// dockerd, shared by every profile (README.md "Knowingly not simulated"). Left alone, the
// containers a profile runs would outlive its VM, which no Mac allows. So this module makes the
// real dockerd's containers follow the VM they were created through (README.md "The guest's
// dockerd"):
// - a container created through a VM's forward (`POST /containers/create`, seen by the forward,
//   its id read from dockerd's `201 Created` answer) is that VM's: its id is recorded in the
//   instance's guest state, `<root>/.sim/guests/<instance>.json`;
// - a `POST /containers/{id}/stop|kill` answered 204 marks it manually stopped and a
//   `…/start|restart` answered 204 clears that (moby daemon/kill.go: `HasBeenManuallyStopped =
//   true` unless the daemon shuts down; daemon/start.go: `= false`);
// - when the VM goes down its containers stop in dockerd: a guest that shuts down (limactl stop:
//   systemd stops docker.service) stops them as dockerd's shutdown does (`POST …/stop`, the
//   container's own stop signal and timeout); a guest that dies (its VM killed, the Mac rebooted
//   or its power cut) kills them (`POST …/kill`, SIGKILL). Neither counts as a manual stop;
// - when the VM comes up, dockerd is not running (Colima's data-disk PreMount `systemctl stop
//   docker.service`, abiosoft/colima environment/container/docker/docker.go DataDisk) until
//   `colima start` starts it (docker.go Start: `systemctl start docker.service`) or the first
//   request through the forward socket-activates it; then restore() runs as moby's does
//   (daemon/daemon.go restore: `cfg.AutoRestart && c.ShouldRestart() && … &&
//   c.HasBeenStartedBefore`; daemon/internal/restartmanager/restartmanager.go ShouldRestart), and
//   only then is the request answered (dockerd serves its API after NewDaemon, which restores).

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join, relative } from "node:path";
import { readIfThere, type World, writeAtomic } from "./world";

/** What the guest's disk keeps about its containers (moby keeps it in each container's
 *  config.v2.json): which are this VM's, and which were stopped by hand. */
export interface GuestState {
  containers: Record<string, { manuallyStopped: boolean }>;
}

/** The guest state file of the Lima instance folder `instanceDir`. */
export function guestFile(world: World, instanceDir: string): string {
  return join(world.simDir, "guests", `${relative(world.root, instanceDir).replace(/[/\\]/g, "_")}.json`);
}

function readGuest(file: string): GuestState {
  const text = readIfThere(file);
  return text ? (JSON.parse(text) as GuestState) : { containers: {} };
}

export function updateGuest(world: World, file: string, change: (g: GuestState) => void): GuestState {
  return world.locked(`guest-${file.split("/").pop()}`, () => {
    const g = readGuest(file);
    change(g);
    mkdirSync(join(file, ".."), { recursive: true });
    writeAtomic(file, `${JSON.stringify(g, null, 2)}\n`);
    return g;
  });
}

/** One request to the real Docker Engine at `target` (a unix socket). */
export function engine(target: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath: target, method, path, host: "docker" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

/** The fields of `docker inspect` restore() decides by (moby api/types/container). */
interface Inspected {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Running: boolean; Paused: boolean; Restarting: boolean; ExitCode: number; StartedAt: string };
  HostConfig: { RestartPolicy?: { Name?: string; MaximumRetryCount?: number }; AutoRemove?: boolean };
}

async function inspect(target: string, ref: string): Promise<Inspected | undefined> {
  const r = await engine(target, "GET", `/containers/${encodeURIComponent(ref)}/json`);
  return r.status === 200 ? (JSON.parse(r.body) as Inspected) : undefined;
}

/** moby's ShouldRestart as restore() asks it (daemon/container/container.go ShouldRestart →
 *  restartmanager.ShouldRestart with the container's exit code, HasBeenManuallyStopped and its
 *  RestartCount): always ⇒ yes; unless-stopped ⇒ unless stopped by hand; on-failure[:N] ⇒ a
 *  non-zero exit code and fewer than N restarts (0: no bound); no/"" ⇒ no. */
export function shouldRestart(c: Inspected, manuallyStopped: boolean): boolean {
  const policy = c.HostConfig.RestartPolicy?.Name ?? "";
  if (policy === "always") return true;
  if (policy === "unless-stopped") return !manuallyStopped;
  if (policy === "on-failure") {
    const max = c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0;
    return (max === 0 || c.RestartCount < max) && c.State.ExitCode !== 0;
  }
  return false;
}

const NEVER = "0001-01-01T00:00:00Z";

/** The VM went down: its running containers stop in dockerd. `how`: "stop" for a guest that shut
 *  down (dockerd's shutdown stops each with its stop signal and timeout), "kill" for one that died.
 *  Not a manual stop: the guest state is not changed. Returns the ids it stopped. */
export async function guestDown(world: World, file: string, how: "stop" | "kill", reason: string): Promise<string[]> {
  const target = world.state().dockerTarget;
  const ids = Object.keys(readGuest(file).containers);
  const stopped: string[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const c = await inspect(target, id);
      if (!c || !(c.State.Running || c.State.Restarting || c.State.Paused)) return;
      await engine(target, "POST", how === "stop" ? `/containers/${id}/stop` : `/containers/${id}/kill?signal=SIGKILL`);
      stopped.push(id);
    }),
  );
  if (stopped.length) world.record({ tool: "guest", argv: ["dockerd", how === "stop" ? "shutdown" : "died", reason, ...stopped] });
  return stopped;
}

/** Every guest of this Mac goes down at once (the Mac shuts down or loses power: launchd's SIGTERM
 *  ends each QEMU at once, so no guest shuts down cleanly). */
export async function allGuestsDown(world: World, reason: string): Promise<void> {
  const dir = join(world.simDir, "guests");
  if (!existsSync(dir)) return;
  await Promise.all(
    readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => guestDown(world, join(dir, f), "kill", reason)),
  );
}

/** dockerd starts in the guest: moby's restore(). Containers it finds running (a guest that died
 *  without this being seen) are shut down first, as restore does with live-restore off; then each
 *  container that was started before and ShouldRestart() is started, all at once; a failure is
 *  logged (`failed to start container`) and not retried. AutoRemove containers were removed by
 *  dockerd when they exited. Resolves with what it started. */
export async function restore(world: World, file: string, why: string, log: (msg: string) => void): Promise<string[]> {
  const target = world.state().dockerTarget;
  const guest = readGuest(file);
  const started: string[] = [];
  const gone: string[] = [];
  await Promise.all(
    Object.entries(guest.containers).map(async ([id, rec]) => {
      let c = await inspect(target, id);
      if (!c) {
        gone.push(id);
        return;
      }
      if (c.State.Running || c.State.Restarting || c.State.Paused) {
        await engine(target, "POST", `/containers/${id}/kill?signal=SIGKILL`);
        c = (await inspect(target, id)) ?? c;
      }
      if (c.State.StartedAt === NEVER || !c.State.StartedAt) return; // HasBeenStartedBefore
      if (!shouldRestart(c, rec.manuallyStopped)) return;
      const r = await engine(target, "POST", `/containers/${id}/start`);
      if (r.status === 204 || r.status === 304) started.push(id);
      else log(`failed to start container ${id}: ${r.body.trim()}`);
    }),
  );
  updateGuest(world, file, (g) => {
    for (const id of gone) delete g.containers[id];
    for (const id of started) if (g.containers[id]) g.containers[id].manuallyStopped = false; // daemon/start.go
  });
  world.record({ tool: "guest", argv: ["dockerd", "start", why, ...started] });
  return started;
}

const REQUEST_LINE = /^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]$/;
const CREATE = /^\/(?:v[\d.]+\/)?containers\/create(?:\?|$)/;
const ACTION = /^\/(?:v[\d.]+\/)?containers\/([^/?]+)\/(stop|kill|start|restart)(?:\?|$)/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) /;
const ID = /"Id"\s*:\s*"([0-9a-f]{64})"/;

type Pending = { kind: "create" } | { kind: "manual"; stopped: boolean; id: Promise<string | undefined> } | { kind: "other" };

/** What one connection through the forward asks and is answered, read line by line (the CLI
 *  sends one request at a time on a connection and reads its answer before the next). A create's
 *  answer, and a stop/kill/start/restart's, is held until the guest state records it, so a client
 *  never sees it answered before the VM's disk knows. */
export class ApiWatch {
  private reqTail = "";
  private resTail = "";
  private readonly queue: Pending[] = [];
  /** A create answered 201 whose body (its Id) has not arrived yet. */
  private awaitingId = false;
  private held: Buffer[] = [];

  constructor(
    private readonly world: World,
    private readonly file: string,
  ) {}

  /** A chunk of the client's request stream. */
  request(chunk: Buffer): void {
    const lines = (this.reqTail + chunk.toString("latin1")).split("\r\n");
    this.reqTail = (lines.pop() ?? "").slice(-4096);
    for (const line of lines) {
      const m = REQUEST_LINE.exec(line);
      if (!m) continue;
      const path = m[2] as string;
      const action = m[1] === "POST" ? ACTION.exec(path) : null;
      if (m[1] === "POST" && CREATE.test(path)) this.queue.push({ kind: "create" });
      else if (action) {
        const ref = decodeURIComponent(action[1] as string);
        const id = inspect(this.world.state().dockerTarget, ref).then((c) => c?.Id);
        this.queue.push({ kind: "manual", stopped: action[2] === "stop" || action[2] === "kill", id });
      } else this.queue.push({ kind: "other" });
    }
  }

  /** A chunk of dockerd's answer stream: resolves with what may be relayed to the client now. */
  async response(chunk: Buffer): Promise<Buffer> {
    if (this.awaitingId) return this.collectId(chunk);
    const lines = (this.resTail + chunk.toString("latin1")).split("\r\n");
    this.resTail = (lines.pop() ?? "").slice(-64);
    for (const line of lines) {
      const m = STATUS_LINE.exec(line);
      if (!m || Number(m[1]) === 100) continue;
      const pending = this.queue.shift();
      if (!pending) continue;
      const status = Number(m[1]);
      if (pending.kind === "create" && status === 201) {
        this.awaitingId = true;
        return this.collectId(chunk);
      }
      if (pending.kind === "manual" && status === 204) {
        const id = await pending.id;
        if (id)
          updateGuest(this.world, this.file, (g) => {
            const rec = g.containers[id];
            if (rec) rec.manuallyStopped = pending.stopped;
          });
      }
    }
    return chunk;
  }

  private collectId(chunk: Buffer): Buffer {
    this.held.push(chunk);
    const text = Buffer.concat(this.held).toString("latin1");
    const m = ID.exec(text);
    if (!m && text.length < 65536) return Buffer.alloc(0);
    if (m) {
      const id = m[1] as string;
      updateGuest(this.world, this.file, (g) => {
        g.containers[id] = { manuallyStopped: false };
      });
    }
    const all = Buffer.concat(this.held);
    this.held = [];
    this.awaitingId = false;
    return all;
  }
}

/** Colima's docker runtime Start (abiosoft/colima environment/container/docker/docker.go: `sudo
 *  systemctl start docker.service` in the guest, then `docker info` until it answers): asked of
 *  the instance's host agent, which stands for the guest, over its ha.sock. */
export function systemctlStartDocker(haSock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath: haSock, method: "POST", path: "/simulator/systemctl-start-docker", host: "lima-hostagent" },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 204));
      },
    );
    req.on("error", () => resolve(false));
    req.end();
  });
}
