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
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { hostname } from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import { onlyReachChanged, say } from "./checkInputs";
import { type Host, hostPath, shellQuote } from "./host";
import { checkSudo, type Mac, macOf } from "./mac";

/** The lock's folder: root's, in root's /var/db ("misc. automatically generated system-specific
 *  database files", hier(7); sudo keeps its time stamps there too, in /var/db/sudo), so no other
 *  user of the Mac can make, replace or block anything in it; and kept across reboots (a holder on
 *  the control machine outlives a reboot of the Mac; a stale lock is taken over). Before, the lock
 *  was in world-writable /var/tmp, where any local user could plant one. */
export const LOCK_DIR = "/var/db/colima-pulse";
/** The lock: a folder holding owner.json, both made by root (through ROOT_COMMANDS). */
export const LOCK_PATH = `${LOCK_DIR}/lock`;
/** owner.json is a few hundred bytes; a read never takes more than this. */
const OWNER_MAX_BYTES = 4096;

/** How a wait for the lock paces itself; the defaults are the product's, a test passes shorter ones. */
export interface LockPace {
  /** Between two tries of a held lock (ms): every try that does not take it is followed by one. */
  pollMs?: number;
  /** Between two "waiting for …" reports (ms; the first comes at the first try that finds it held). */
  sayEveryMs?: number;
  /** How long a lock without a readable owner is given to get one before it counts as stale (ms). */
  startingGraceMs?: number;
  /** How long a wait lasts before it gives up, naming the holder (ms). */
  giveUpMs?: number;
}
const PACE: Required<LockPace> = { pollMs: 200, sayEveryMs: 30_000, startingGraceMs: 5_000, giveUpMs: 15 * 60_000 };

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

/** One `ls -ldn` line: lstat (a symlink is shown as one, not followed), as macOS's and GNU's ls
 *  both print it — type and permissions, links, uid, gid, size. */
interface Entry {
  type: string;
  perms: string;
  /** An ACL (macOS's `+`, ls(1)), shown in messages. */
  acl: boolean;
  uid: number;
  gid: number;
  size: number;
}

function parseEntry(line: string | undefined): Entry | undefined {
  const m = /^([-dlpscbw])([-rwxsStT]{9})([@+.]?)\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(line ?? "");
  if (!m) return undefined;
  return { type: m[1] as string, perms: m[2] as string, acl: m[3] === "+", uid: Number(m[4]), gid: Number(m[5]), size: Number(m[6]) };
}

/** A folder or file only root may change: root's, no group or other write. An ACL is not held
 *  against it: only root can put one on root's folder (chmod(1) +a), and a folder made in one
 *  inherits its parent's inheritable entries, so refusing them could refuse every run on a Mac
 *  whose /var/db has any. */
const rootOnly = (e: Entry) => e.uid === 0 && e.perms[4] !== "w" && e.perms[7] !== "w";

const describeEntry = (e: Entry | undefined) =>
  e ? `${e.type}${e.perms}${e.acl ? "+" : ""} owned by uid ${e.uid} gid ${e.gid}${e.type === "-" ? `, ${e.size} bytes` : ""}` : "absent";

/** What a look at the lock found. */
interface Seen {
  absent: boolean;
  /** Its holder, when the lock and its owner.json are root's and owner.json reads as one. */
  owner?: Owner;
  /** owner.json's text as read ("" when it was not read): compared before a takeover. */
  raw: string;
  /** What is there, for a message when no holder can be named. */
  what: string;
}

/** Looks at the lock `dir` without following a link and without blocking: lstat (`ls -ldn`) of the
 *  folder and of owner.json, then owner.json's first OWNER_MAX_BYTES + 1 bytes only when it is a
 *  regular file (`head -c`: never a FIFO or a device, whose read could wait for ever). A command
 *  with a deadline, never a read in this process; as the operator (both are readable by all). */
async function inspect(mac: Mac, dir: string): Promise<Seen> {
  const tool = (path: string) => shellQuote(hostPath(mac.host, path));
  const script = [
    `${tool("/bin/ls")} -ldn "$1" 2>/dev/null || echo absent`,
    `${tool("/bin/ls")} -ldn "$1/owner.json" 2>/dev/null || echo absent`,
    // The holder may let the lock go between these lines (rm -rf of it): a head that finds no file
    // then prints nothing, which names no holder, and the next look sees the lock gone.
    `if ${tool("/bin/test")} -f "$1/owner.json" && ! ${tool("/bin/test")} -L "$1/owner.json"; then ${tool("/usr/bin/head")} -c ${OWNER_MAX_BYTES + 1} "$1/owner.json" 2>/dev/null || :; fi`,
  ].join("\n");
  const r = await mac.run([hostPath(mac.host, "/bin/sh"), "-c", script, "sh", dir], { timeoutMs: 30_000, exactOutput: true });
  const [dirLine, ownerLine, ...rest] = r.stdout.split("\n");
  if (dirLine === "absent") return { absent: true, raw: "", what: "absent" };
  const folder = parseEntry(dirLine);
  const file = parseEntry(ownerLine);
  const raw = rest.join("\n");
  const what = `${dir} is ${describeEntry(folder)}; its owner.json is ${describeEntry(file)}`;
  // Only root may make the lock and its owner (in LOCK_DIR, root's): anything else there was not
  // written by a colima-pulse run, and names no holder.
  const sound = (e: Entry | undefined, type: string) => e?.type === type && rootOnly(e);
  if (!sound(folder, "d") || !sound(file, "-") || (file?.size ?? 0) > OWNER_MAX_BYTES) return { absent: false, raw, what };
  try {
    const owner = JSON.parse(raw) as Owner;
    if (Number.isInteger(owner.pid) && typeof owner.command === "string" && typeof owner.since === "string")
      return { absent: false, owner, raw, what };
  } catch {
    // Not (yet) an owner: no holder to name.
  }
  return { absent: false, raw, what };
}

/** `base` (LOCK_DIR) and its parent as folders of root's that only root may write: `base` made by
 *  root when it is missing (or set so when it is not: it is colima-pulse's own), then checked. A
 *  lock is never taken in a folder another user could change. */
async function rootFolder(mac: Mac, base: string): Promise<void> {
  const parent = base.replace(/\/[^/]+$/, "");
  const look = async () => {
    const ls = shellQuote(hostPath(mac.host, "/bin/ls"));
    const script = `for p; do ${ls} -ldn "$p" 2>/dev/null || echo absent; done`;
    const r = await mac.run([hostPath(mac.host, "/bin/sh"), "-c", script, "sh", base, parent], { timeoutMs: 30_000 });
    return r.stdout.split("\n").slice(0, 2).map(parseEntry);
  };
  const sound = (entries: (Entry | undefined)[]) => entries.every((e) => e?.type === "d" && rootOnly(e));
  let entries = await look();
  if (sound(entries)) return;
  // install -d also sets the mode and owner of a folder that is there: ours, so that is wanted.
  await mac.asRoot([hostPath(mac.host, "/usr/bin/install"), "-d", "-m", "0755", "-o", "0", "-g", "0", base], { timeoutMs: 30_000 });
  entries = await look();
  if (sound(entries)) return;
  throw new Error(
    `could not take the colima-pulse lock on ${mac.name}: ${base} (${describeEntry(entries[0])}) and ${parent} (${describeEntry(entries[1])}) ` +
      "must be folders of root's that no other user may write (not a symlink, no group or other write); nothing was run. " +
      `Look at them on the Mac (ls -lde ${base} ${parent}); colima-pulse makes ${base} itself when it is missing`,
  );
}

async function take(dir: string, mac: Mac, report: (message: string) => void, pace: Required<LockPace>): Promise<void> {
  const s = session();
  const me: Owner = { pid: process.pid, command: commandOf(process.pid), since: new Date().toISOString(), controller: hostname() };
  const text = JSON.stringify(me);
  const tool = (path: string) => hostPath(mac.host, path);
  const base = dir.replace(/\/[^/]+$/, "");
  // The lock is root's: an operator whose sudo wants a password is told so, with the sudoers
  // lines, before anything (as every step's own pre-flight would: nothing was changed).
  await checkSudo(mac, "pre-flight");
  await rootFolder(mac, base);
  // The lock comes whole: a folder of root's with our owner.json in it, made beside the lock, is
  // renamed to it. rename(2) of a folder onto a name that is taken fails, and `mv` onto a folder
  // that is there moves ours into it instead (mv(1): "mv source ... directory"): either way the
  // lock is then another's, which the look after the move tells. Root does all of it through
  // ROOT_COMMANDS (install, mv, rm): no sudoers line beyond those it had.
  const staged = `${base}/taking-${process.pid}-${randomBytes(4).toString("hex")}`;
  const stage = async () => {
    await mac.asRoot([tool("/usr/bin/install"), "-d", "-m", "0755", "-o", "0", "-g", "0", staged], { timeoutMs: 30_000 });
    await mac.writeFile(`${staged}/owner.json`, text, { owner: "root", mode: "0644" });
  };
  await stage();
  let placed = false;
  try {
    const started = Date.now();
    let unreadableSince: number | undefined;
    let said = -pace.sayEveryMs;
    for (;;) {
      let seen = await inspect(mac, dir);
      if (seen.absent) {
        await mac.asRoot([tool("/bin/mv"), staged, dir], { allowFailure: true, timeoutMs: 30_000 });
        seen = await inspect(mac, dir);
        if (seen.raw === text) {
          placed = true;
          releaseAtExit(mac, dir);
          return;
        }
        // Taken by another meanwhile: ours went into it (taken out again), or stayed where it was.
        await mac.asRoot([tool("/bin/rm"), "-rf", `${dir}/${staged.split("/").pop()}`], { allowFailure: true, timeoutMs: 30_000 });
        if (!(await mac.exists(`${staged}/owner.json`))) await stage();
      }
      const owner = seen.owner;
      // Ours already, taken by another copy of this code in this process (a provider of an earlier
      // version, serialized with its own copy): held, and released at this process's exit.
      if (owner?.pid === process.pid && (owner.controller ?? hostname()) === hostname()) return;
      // No holder named: its taker is renaming it in this instant, or no colima-pulse run made it.
      unreadableSince = owner || seen.absent ? undefined : (unreadableSince ?? Date.now());
      const stale = owner ? !alive(owner) : unreadableSince !== undefined && Date.now() - unreadableSince >= pace.startingGraceMs;
      if (stale) {
        // Its holder is gone (kill -9, power cut, reboot): nothing of it is in flight any more. Move
        // it aside only if it is still that holder's (another waiter may have taken over meanwhile).
        const again = await inspect(mac, dir);
        if (!again.absent && again.raw === seen.raw && again.what === seen.what) {
          const aside = `${dir}.stale-${process.pid}`;
          // Fails when another waiter moved it first, or when it cannot be moved at all.
          const moved = await mac.asRoot([tool("/bin/mv"), dir, aside], { allowFailure: true, timeoutMs: 30_000 });
          if (moved.exitCode === 0) {
            // The look and the move are two commands: another waiter may have moved the stale lock
            // aside and put its own in place between them, and then ours moved that fresh lock.
            // What was moved is told by its owner.json: not the one judged stale, it goes back
            // (the lock is absent again: rename(2) puts it back whole), and its holder is waited for.
            const movedAway = await inspect(mac, aside);
            if (movedAway.raw !== seen.raw) {
              await mac.asRoot([tool("/bin/mv"), aside, dir], { allowFailure: true, timeoutMs: 30_000 });
              unreadableSince = undefined;
              continue;
            }
            await mac.asRoot([tool("/bin/rm"), "-rf", aside], { allowFailure: true, timeoutMs: 30_000 });
            unreadableSince = undefined;
            // Moved: the lock is free, try it now (a move is progress, never a spin).
            continue;
          }
        }
      }
      if (s.engineGone) throw new Error("the engine that asked for this step is gone; not starting it");
      const waited = Date.now() - started;
      const elsewhere = owner?.controller && owner.controller !== hostname() ? ` on control machine ${owner.controller}` : "";
      const who = owner
        ? `pid ${owner.pid}${elsewhere}, holding it since ${owner.since}`
        : stale
          ? `its owner is unreadable: ${seen.what}`
          : "its holder is starting";
      if (waited >= pace.giveUpMs) {
        const clear = `sudo rm -rf ${LOCK_PATH}`;
        const after = `after ${Math.round(waited / 1000)}s`;
        throw new Error(
          owner
            ? `another colima-pulse run on ${mac.name} still holds ${LOCK_PATH} (${who}) ${after}. ` +
                `Let it finish, or end it (kill ${owner.pid}${elsewhere}) and run again; if that run is gone, remove the lock on the Mac: ${clear}`
            : `could not take ${LOCK_PATH} on ${mac.name} ${after}: it names no colima-pulse run as its holder (${seen.absent ? "taken and let go again meanwhile" : seen.what}) ` +
                `and could not be moved aside. Remove it on the Mac (${clear}) and run again`,
        );
      }
      if (waited - said >= pace.sayEveryMs) {
        report(`waiting for another colima-pulse run on ${mac.name} to finish its step (${who}; waited ${Math.round(waited / 1000)}s)`);
        said = waited;
      }
      // Every try that did not take the lock is followed by a pause: never a spin.
      await new Promise((r) => setTimeout(r, pace.pollMs));
    }
  } finally {
    // Renamed into the lock when it was taken; else removed.
    if (!placed) await mac.asRoot([tool("/bin/rm"), "-rf", staged], { allowFailure: true, timeoutMs: 30_000 });
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
  // The lock is root's: removed through sudo unless we are root.
  const release = () => mac.removeNow(dir, { asRoot: true });
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
