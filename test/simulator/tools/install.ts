// Puts simulated tools on disk: each is a tiny Node script named after the tool (so `ps` shows
// `node <root>/opt/homebrew/bin/qemu-system-aarch64 …` and the kernel's comm is the tool's name)
// that runs the shared bundle.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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

/** The real docker CLI of this machine: Homebrew's `docker` formula links to it. */
export function realDockerCli(): string {
  return execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
}
