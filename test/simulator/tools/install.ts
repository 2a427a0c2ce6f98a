// Puts simulated tools on disk: each is a tiny Node script named after the tool (so `ps` shows
// `node <root>/opt/homebrew/bin/qemu-system-aarch64 …` and the kernel's comm is the tool's name)
// that runs the shared bundle.
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { World } from "./world";

export function bundlePath(world: World): string {
  return join(world.simDir, "tools.cjs");
}

/** Writes an executable at `path` that runs simulated `tool` in this world. */
export function installTool(world: World, path: string, tool: string): void {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  writeFileSync(
    path,
    `#!${process.execPath}\nrequire(${JSON.stringify(bundlePath(world))}).main(${JSON.stringify(tool)}, ${JSON.stringify(world.root)});\n`,
    { mode: 0o755 },
  );
}

/** The real docker CLI of this machine: Homebrew's `docker` formula links to it. Looked up on the
 *  caller's PATH and the usual places, never in the simulated Mac itself: a command run as the
 *  Homebrew user gets a PATH of the Mac's own folders only (provider/lib/host.ts homebrewUserPath),
 *  and `<prefix>/bin/docker` there is the simulated tool in front of this one. */
export function realDockerCli(world: World): string {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/bin", "/usr/bin", "/bin"];
  for (const dir of dirs.filter((d) => d.startsWith("/") && d !== world.root && !d.startsWith(`${world.root}/`))) {
    try {
      accessSync(join(dir, "docker"), constants.X_OK);
      return join(dir, "docker");
    } catch {
      // not in this one
    }
  }
  throw new Error(`simulator: no docker CLI on this machine (looked in ${dirs.join(":")})`);
}
