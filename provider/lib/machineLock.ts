// One colima-pulse run drives a Mac at a time, and a provider process never outlives its engine.
//
// Pulumi starts every plugin in a process group of its own (sdk/go/common/resource/plugin/plugin.go
// calls cmdutil.RegisterProcessGroup), so a `kill -9` of `pulumi` leaves the dynamic provider
// running: it finishes the step it was in (a `colima stop`, a reset's move) and then, unlike Go
// plugins (rpcutil.Healthcheck), lives on. Pulumi's stack lock does not keep the operator's recovery
// run from racing that step, nor a second stack or backend pointed at the same Mac. So:
// - a provider process takes a lock directory on the Mac at its first step and keeps it until it
//   ends; another waits for it (saying for whom), and takes it over once its holder is gone;
// - a watchdog notices when the engine is gone, lets the step in flight finish, then exits.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import { say } from "./checkInputs";
import { type Host, hostPath, listProcesses } from "./host";

/** World-writable and sticky on every Mac, and kept across reboots (a stale lock is then taken over). */
export const LOCK_PATH = "/var/tmp/colima-pulse.lock";
const POLL_MS = 200;
const SAY_EVERY_MS = 30_000;
const GIVE_UP_MS = 15 * 60_000;

interface Owner {
  pid: number;
  command: string;
  since: string;
}

interface Session {
  /** Lock directories this process holds (or is taking): one acquisition per directory. */
  held: Map<string, Promise<void>>;
  inFlight: number;
  engineGone: boolean;
  watching: boolean;
}

function session(): Session {
  // On globalThis: every serialized provider in the plugin process shares it (see host.ts).
  const g = globalThis as { __colimaPulseSession?: Session };
  g.__colimaPulseSession ??= { held: new Map(), inFlight: 0, engineGone: false, watching: false };
  return g.__colimaPulseSession;
}

/** Runs one provider step on `host`, holding the Mac's lock; `report` tells the operator of a wait. */
export async function onMachine<T>(host: Host, report: (message: string) => void, step: () => Promise<T>): Promise<T> {
  const s = session();
  s.inFlight++;
  try {
    watchEngine();
    await acquire(hostPath(host, LOCK_PATH), host, report);
    return await step();
  } finally {
    s.inFlight--;
    if (s.engineGone && s.inFlight === 0) exitNow();
  }
}

/** Takes `dir` for this process once; every concurrent step of the process shares that wait. */
function acquire(dir: string, host: Host, report: (message: string) => void): Promise<void> {
  const held = session().held;
  let taking = held.get(dir);
  if (!taking) {
    taking = take(dir, host, report);
    held.set(dir, taking);
    // A failed wait (timeout, engine gone) is not a hold: the next step tries again.
    taking.catch(() => held.delete(dir));
  }
  return taking;
}

async function take(dir: string, host: Host, report: (message: string) => void): Promise<void> {
  const s = session();
  const me: Owner = { pid: process.pid, command: await commandOf(host, process.pid), since: new Date().toISOString() };
  const started = Date.now();
  let unreadableSince: number | undefined;
  let said = -SAY_EVERY_MS;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/owner.json`, JSON.stringify(me));
      releaseAtExit(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = readOwner(dir);
    // No owner yet: its taker is writing it this instant, or died between mkdir and write.
    unreadableSince = owner ? undefined : (unreadableSince ?? Date.now());
    const stale = owner ? !(await alive(host, owner)) : Date.now() - (unreadableSince as number) > 5_000;
    if (stale) {
      // Its holder is gone (kill -9, power cut, reboot): nothing of it is in flight any more. Move
      // it aside only if it is still that holder's (another waiter may have taken over meanwhile).
      if (JSON.stringify(readOwner(dir)) === JSON.stringify(owner)) {
        const aside = `${dir}.stale-${process.pid}`;
        try {
          renameSync(dir, aside);
          rmSync(aside, { recursive: true, force: true });
        } catch {
          // another waiter moved it first
        }
      }
      continue;
    }
    if (s.engineGone) throw new Error("the engine that asked for this step is gone; not starting it");
    const waited = Date.now() - started;
    const who = owner ? `pid ${owner.pid}, holding it since ${owner.since}` : "its holder is starting";
    if (waited >= GIVE_UP_MS) {
      throw new Error(
        `another colima-pulse run on this Mac still holds ${LOCK_PATH} (${who}) after ${Math.round(waited / 1000)}s. ` +
          `Let it finish, or end it${owner ? ` (kill ${owner.pid})` : ""} and run again.`,
      );
    }
    if (waited - said >= SAY_EVERY_MS) {
      report(`waiting for another colima-pulse run on this Mac to finish its step (${who}; waited ${Math.round(waited / 1000)}s)`);
      said = waited;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function readOwner(dir: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(`${dir}/owner.json`, "utf8")) as Owner;
  } catch {
    return undefined;
  }
}

/** The command line ps shows for `pid` (what alive() compares against). */
async function commandOf(host: Host, pid: number): Promise<string> {
  return (await listProcesses(host)).find((p) => p.pid === pid)?.command ?? "";
}

/** Alive and still the same program (a PID can be reused after a reboot). */
async function alive(host: Host, owner: Owner): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  return (await commandOf(host, owner.pid)) === owner.command;
}

function releaseAtExit(dir: string): void {
  const release = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", release);
  // The engine ends its plugins with SIGINT, then SIGKILL (cmdutil.TerminateProcessGroup).
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    process.once(signal, () => {
      release();
      process.exit(code);
    });
  }
}

/** The engine's address: the dynamic provider is started as `dynamic-provider/index.js <host:port>`. */
function engineAddress(): { host: string; port: number } | undefined {
  const m = /^([\w.-]+):(\d+)$/.exec(process.argv[2] ?? "");
  return m && process.argv[1]?.includes("dynamic-provider") ? { host: m[1] as string, port: Number(m[2]) } : undefined;
}

function watchEngine(): void {
  const s = session();
  const engine = engineAddress();
  if (s.watching || !engine) return;
  s.watching = true;
  // The engine reads our stdout and stderr: once it is gone, a write fails with EPIPE. Without a
  // listener that error is thrown, the plugin's uncaught-exception handler writes it to the same
  // broken stderr, and the process spins on that forever (measured: 100% CPU, growing memory,
  // the Mac's lock never released). A broken pipe is the engine gone, like the watchdog's check.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") return;
      s.engineGone = true;
      if (s.inFlight === 0) exitNow();
    });
  }
  const timer = setInterval(() => {
    const socket = connect(engine.port, engine.host);
    socket.once("connect", () => socket.destroy());
    socket.once("error", () => {
      clearInterval(timer);
      s.engineGone = true;
      if (s.inFlight === 0) exitNow();
    });
  }, 1000);
  timer.unref();
}

function exitNow(): void {
  // No engine will ever ask this process for anything again.
  process.exit(0);
}

type Step = (...args: never[]) => Promise<unknown>;

/** `provider` with every step that touches the Mac (create, read, update, delete) run by
 *  onMachine (each step's last argument is the resource's inputs or stored outputs), and the
 *  engine watchdog armed by any call. */
export function onTheMac(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  function guard<S extends Step>(step: S): S;
  function guard<S extends Step>(step: S | undefined): S | undefined;
  function guard<S extends Step>(step: S | undefined): S | undefined {
    if (!step) return undefined;
    return (async (...args: Parameters<S>) => {
      const target = args[args.length - 1] as { host: Host; resourceName: string };
      return onMachine(
        target.host,
        (message) => say(target, message),
        () => step(...args),
      );
    }) as S;
  }
  // check and diff only compute, but they are the first a killed run's provider may have been
  // asked: arm the watchdog there too, so that process ends as well.
  function watched<S extends Step>(step: S | undefined): S | undefined {
    if (!step) return undefined;
    return ((...args: Parameters<S>) => {
      watchEngine();
      return step(...args);
    }) as S;
  }
  return {
    ...provider,
    check: watched(provider.check),
    diff: watched(provider.diff),
    create: guard(provider.create),
    read: guard(provider.read),
    update: guard(provider.update),
    delete: guard(provider.delete),
  };
}
