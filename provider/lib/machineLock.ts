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
//
// The lock lives on the Mac, also when it is driven over SSH; its holder is a process on the
// machine that runs Pulumi (the control machine), so only that machine can tell whether the
// holder is gone. A lock held from another control machine is waited for, naming that machine.
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { hostname } from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import { onlyReachChanged, say } from "./checkInputs";
import { type Host, hostPath, shellQuote } from "./host";
import { type Mac, macOf } from "./mac";

/** World-writable and sticky on every Mac, and kept across reboots (a stale lock is then taken over). */
export const LOCK_PATH = "/var/tmp/colima-pulse.lock";
const GIVE_UP_MS = 15 * 60_000;

/** How a wait for the lock paces itself; the defaults are the product's, a test passes shorter ones. */
export interface LockPace {
  /** Between two tries of a held lock (ms). */
  pollMs?: number;
  /** Between two "waiting for …" reports (ms; the first comes at the first try that finds it held). */
  sayEveryMs?: number;
  /** How long a lock without a readable owner is given to get one before it counts as stale (ms). */
  startingGraceMs?: number;
}
const PACE: Required<LockPace> = { pollMs: 200, sayEveryMs: 30_000, startingGraceMs: 5_000 };

interface Owner {
  pid: number;
  command: string;
  since: string;
  /** The control machine the holder runs on (absent in locks of earlier versions: this one). */
  controller?: string;
}

interface Session {
  /** Lock directories this process holds (or is taking): one acquisition per directory. */
  held: Map<string, Promise<void>>;
  inFlight: number;
  engineGone: boolean;
  watching: boolean;
}

function session(): Session {
  // On globalThis: every provider in the plugin process shares it, also an earlier version's
  // by-value text with its own copy of this module (docs/ARCHITECTURE.md §4; see host.ts).
  const g = globalThis as { __colimaPulseSession?: Session };
  g.__colimaPulseSession ??= { held: new Map(), inFlight: 0, engineGone: false, watching: false };
  return g.__colimaPulseSession;
}

/** Runs one provider step on `host`, holding the Mac's lock; `report` tells the operator of a wait. */
export async function onMachine<T>(host: Host, report: (message: string) => void, step: () => Promise<T>, pace: LockPace = {}): Promise<T> {
  const s = session();
  s.inFlight++;
  try {
    watchEngine();
    await acquire(hostPath(host, LOCK_PATH), macOf(host), report, { ...PACE, ...pace });
    return await step();
  } finally {
    s.inFlight--;
    if (s.engineGone && s.inFlight === 0) exitNow();
  }
}

/** Takes `dir` for this process once; every concurrent step of the process shares that wait. */
function acquire(dir: string, mac: Mac, report: (message: string) => void, pace: Required<LockPace>): Promise<void> {
  const held = session().held;
  // Keyed by the folder alone on this machine, as earlier versions did: a provider stored by an
  // earlier version and one of today can share this process (and this session) during an upgrade.
  const key = mac.local ? dir : `${mac.name} ${dir}`;
  let taking = held.get(key);
  if (!taking) {
    taking = take(dir, mac, report, pace);
    held.set(key, taking);
    // A failed wait (timeout, engine gone) is not a hold: the next step tries again.
    taking.catch(() => held.delete(key));
  }
  return taking;
}

async function take(dir: string, mac: Mac, report: (message: string) => void, pace: Required<LockPace>): Promise<void> {
  const s = session();
  const me: Owner = { pid: process.pid, command: commandOf(process.pid), since: new Date().toISOString(), controller: hostname() };
  const tool = (path: string) => hostPath(mac.host, path);
  const started = Date.now();
  let unreadableSince: number | undefined;
  let said = -pace.sayEveryMs;
  for (;;) {
    // mkdir is the atomic test-and-set, on the Mac; the owner is written in the same command.
    const made = await mac.run(
      [tool("/bin/sh"), "-c", `${shellQuote(tool("/bin/mkdir"))} "$1" && ${shellQuote(tool("/bin/cat"))} >"$1/owner.json"`, "sh", dir],
      {
        input: JSON.stringify(me),
        allowFailure: true,
        timeoutMs: 30_000,
      },
    );
    if (made.exitCode === 0) {
      releaseAtExit(mac, dir);
      return;
    }
    if (!/exists/i.test(made.stderr)) throw new Error(`could not take ${LOCK_PATH} on ${mac.name}: ${made.stderr.trim()}`);
    const owner = await readOwner(mac, dir);
    // Ours already, taken by another copy of this code in this process (a provider of an earlier
    // version, serialized with its own copy): held, and released at this process's exit.
    if (owner?.pid === process.pid && (owner.controller ?? hostname()) === hostname()) return;
    // No owner yet: its taker is writing it this instant, or died between mkdir and write.
    unreadableSince = owner ? undefined : (unreadableSince ?? Date.now());
    const stale = owner ? !alive(owner) : Date.now() - (unreadableSince as number) > pace.startingGraceMs;
    if (stale) {
      // Its holder is gone (kill -9, power cut, reboot): nothing of it is in flight any more. Move
      // it aside only if it is still that holder's (another waiter may have taken over meanwhile).
      if (JSON.stringify(await readOwner(mac, dir)) === JSON.stringify(owner)) {
        const aside = `${dir}.stale-${process.pid}`;
        // Fails when another waiter moved it first.
        const moved = await mac.run([tool("/bin/mv"), dir, aside], { allowFailure: true });
        if (moved.exitCode === 0) await mac.run([tool("/bin/rm"), "-rf", aside], { allowFailure: true });
      }
      continue;
    }
    if (s.engineGone) throw new Error("the engine that asked for this step is gone; not starting it");
    const waited = Date.now() - started;
    const elsewhere = owner?.controller && owner.controller !== hostname() ? ` on control machine ${owner.controller}` : "";
    const who = owner ? `pid ${owner.pid}${elsewhere}, holding it since ${owner.since}` : "its holder is starting";
    if (waited >= GIVE_UP_MS) {
      throw new Error(
        `another colima-pulse run on ${mac.name} still holds ${LOCK_PATH} (${who}) after ${Math.round(waited / 1000)}s. ` +
          `Let it finish, or end it${owner ? ` (kill ${owner.pid}${elsewhere})` : ""} and run again` +
          (elsewhere ? `; if that run is gone, remove ${LOCK_PATH} on the Mac (rm -rf ${LOCK_PATH}).` : "."),
      );
    }
    if (waited - said >= pace.sayEveryMs) {
      report(`waiting for another colima-pulse run on ${mac.name} to finish its step (${who}; waited ${Math.round(waited / 1000)}s)`);
      said = waited;
    }
    await new Promise((r) => setTimeout(r, pace.pollMs));
  }
}

async function readOwner(mac: Mac, dir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse((await mac.readFile(`${dir}/owner.json`)) ?? "") as Owner;
  } catch {
    return undefined;
  }
}

/** The command line ps shows for `pid` on this machine (what alive() compares against). */
function commandOf(pid: number): string {
  return (spawnSync("/bin/ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8", timeout: 15_000 }).stdout ?? "").trim();
}

/** Alive and still the same program (a PID can be reused after a reboot). A holder on another
 *  control machine cannot be asked from here: it counts as alive. */
function alive(owner: Owner): boolean {
  if (owner.controller && owner.controller !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  return commandOf(owner.pid) === owner.command;
}

function releaseAtExit(mac: Mac, dir: string): void {
  const release = () => mac.removeNow(dir);
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
 *  engine watchdog armed by any call. `detailed` is the provider's diff as a pure function (its
 *  `diff` method also says the reasons): update asks it whether only the way to the Mac changed,
 *  without saying the reasons a second time. */
export function onTheMac<Olds, News>(
  detailed: (olds: Olds, news: News) => { detailedDiff?: Record<string, unknown> },
  provider: pulumi.dynamic.ResourceProvider,
): pulumi.dynamic.ResourceProvider {
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
  const update = guard(provider.update);
  return {
    ...provider,
    check: watched(provider.check),
    diff: watched(provider.diff),
    create: guard(provider.create),
    read: guard(provider.read),
    // Only the way to the Mac changed (a new SSH_HOST): record it, touch nothing on the Mac.
    update:
      update &&
      (async (id, olds, news) => {
        // Our providers' diffs carry detailedDiff (provider/lib/checkInputs.ts diffOf).
        if (onlyReachChanged(detailed(olds as Olds, news as News))) return { outs: { ...olds, host: news.host } };
        return update(id, olds, news);
      }),
    delete: guard(provider.delete),
  };
}
