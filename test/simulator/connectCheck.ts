// connect(2) on the simulated Mac's unix sockets, for the code under test's own Node process: every
// real process here is root, whom the kernel lets connect anywhere, so a provider that connects to
// the Docker socket itself (node:http's socketPath) would reach a socket that macOS refuses its
// user. Installed in a test's process (`enforceConnectPermissions`), a connect to a unix socket
// inside the simulated Mac's root, made while SIM_USER is a simulated user other than root, gets
// macOS connect(2)'s checks — search on every directory of the path, write on the socket
// (tools/docker.ts mayConnect) — and, refused, fails as Node reports EACCES:
// `connect EACCES <path>` (code EACCES, syscall connect). README.md "docker".
import { Socket } from "node:net";
import { resolve } from "node:path";
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
      if (!mayConnect(path, info.uid, gids, root)) {
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
