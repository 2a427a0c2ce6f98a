// connect(2) on the simulated Mac's unix sockets, for the code under test's own Node process: every
// real process here is root, whom the kernel lets connect anywhere, so a provider that connects to
// the Docker socket itself (node:http's socketPath) would reach a socket that macOS refuses its
// user. Installed in a test's process (`enforceConnectPermissions`), a connect to a unix socket
// inside the simulated Mac's root, made while SIM_USER is a simulated user other than root, gets
// macOS connect(2)'s checks — search on every directory of the path, write on the socket
// (tools/docker.ts mayConnect) — and, refused, fails as Node reports EACCES:
// `connect EACCES <path>` (code EACCES, syscall connect). README.md "docker".
import { syncBuiltinESMExports } from "node:module";
import { Socket } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checked, mayRead, maySearch, simulatedWho, type Who } from "./tools/access";
import { mayConnect } from "./tools/docker";
import { World } from "./tools/world";

type Connect = (this: Socket, ...args: unknown[]) => Socket;

/** The unix socket path a net.Socket#connect call names, if any. */
function socketPath(args: unknown[]): string | undefined {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // node:net's normalized [options, callback]
  if (typeof first === "string") return first;
  if (first && typeof first === "object" && typeof (first as { path?: unknown }).path === "string") return (first as { path: string }).path;
  return undefined;
}

/** Makes this process's connects to the simulated Mac's sockets obey connect(2) for SIM_USER;
 *  returns the function that undoes it. */
export function enforceConnectPermissions(root: string): () => void {
  const world = new World(root);
  const original = Socket.prototype.connect as unknown as Connect;
  const patched: Connect = function (this: Socket, ...args: unknown[]) {
    const path = socketPath(args);
    const user = process.env.SIM_USER || "root";
    const info = user === "root" ? undefined : world.userInfo(user);
    if (path && info && resolve(path).startsWith(`${root}/`)) {
      const gids = world.groupsOf(user).map((g) => g.gid);
      if (!unchecked(() => mayConnect(path, info.uid, gids, root))) {
        const error = Object.assign(new Error(`connect EACCES ${path}`), { errno: -13, code: "EACCES", syscall: "connect", address: path });
        process.nextTick(() => this.destroy(error));
        return this;
      }
    }
    return original.apply(this, args);
  };
  Socket.prototype.connect = patched as unknown as typeof Socket.prototype.connect;
  return () => {
    Socket.prototype.connect = original as unknown as typeof Socket.prototype.connect;
  };
}

/** How deep this process is in the checks' own file-system calls, which enforceReadPermissions
 *  lets through (the checks look at the files as the kernel does, unrefused). */
let checking = 0;
function unchecked<T>(f: () => T): T {
  checking++;
  try {
    return f();
  } finally {
    checking--;
  }
}

/** The node:fs calls provider/lib/mac.ts LocalMac's direct reads make, and what each needs:
 *  `read` (open(2) of a file, or of a folder to list it) or only the lookup's search; `follow`:
 *  the last component's symlink is followed (stat) or not (lstat, readlink). */
const READS: Record<string, { syscall: string; read: boolean; follow: boolean }> = {
  readFileSync: { syscall: "open", read: true, follow: true },
  readdirSync: { syscall: "scandir", read: true, follow: true },
  readlinkSync: { syscall: "readlink", read: false, follow: false },
  statSync: { syscall: "stat", read: false, follow: true },
  lstatSync: { syscall: "lstat", read: false, follow: false },
};

/** Makes this process's reads of the simulated Mac's files (READS) obey macOS's permissions for
 *  SIM_USER (tools/access.ts): refused, they throw as Node reports EACCES —
 *  `EACCES: permission denied, open '<path>'` (errno -13, code, syscall, path); existsSync says
 *  false. Returns the function that undoes it. */
export function enforceReadPermissions(root: string): () => void {
  const world = new World(root);
  const fs = require("node:fs") as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  const refusal = (path: string | Buffer | URL | number): { path: string; who: Who } | undefined => {
    if (typeof path === "number") return undefined; // a descriptor: its open was checked
    const p = path instanceof URL ? fileURLToPath(path) : String(path);
    const who = simulatedWho(world);
    return who && checked(p, root) ? { path: p, who } : undefined;
  };
  for (const [name, need] of Object.entries(READS)) {
    const original = fs[name] as (...args: unknown[]) => unknown;
    originals.set(name, original);
    fs[name] = function (this: unknown, ...args: unknown[]) {
      const r = checking ? undefined : unchecked(() => refusal(args[0] as string));
      if (r) {
        const ok = unchecked(() => (need.read ? mayRead(r.path, r.who, root) : maySearch(r.path, r.who, root, need.follow)));
        if (!ok) {
          const error = Object.assign(new Error(`EACCES: permission denied, ${need.syscall} '${r.path}'`), {
            errno: -13,
            code: "EACCES",
            syscall: need.syscall,
            path: r.path,
          });
          // statSync's `throwIfNoEntry: false` only silences ENOENT: EACCES still throws.
          throw error;
        }
      }
      return original.apply(this, args);
    };
  }
  const existsOriginal = fs.existsSync as (p: unknown) => boolean;
  originals.set("existsSync", existsOriginal);
  fs.existsSync = (path: unknown) => {
    const r = checking ? undefined : unchecked(() => refusal(path as string));
    if (r && !unchecked(() => maySearch(r.path, r.who, root))) return false;
    return existsOriginal(path);
  };
  syncBuiltinESMExports();
  return () => {
    for (const [name, original] of originals) fs[name] = original;
    syncBuiltinESMExports();
  };
}
