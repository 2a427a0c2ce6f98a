// A long-running image with a shell, made on the spot (nothing can be pulled from the internet):
// this machine's static busybox, `docker import`ed with `sh`, `sleep`, `true` and `false` linked,
// CMD `sleep 3600`. `sleep` as PID 1 ignores SIGTERM, so a `docker stop` kills it after the
// container's stop timeout (exit 137): tests give their containers `--stop-timeout 1`.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Imports the image as `ref` into the engine at `host` (unix path or unix:// URL). */
export function busyboxImage(host: string, ref: string): void {
  const dir = mkdtempSync(join(tmpdir(), "cpulse-busybox-"));
  try {
    mkdirSync(join(dir, "bin"));
    copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
    chmodSync(join(dir, "bin/busybox"), 0o755);
    for (const tool of ["sh", "sleep", "true", "false"]) symlinkSync("busybox", join(dir, "bin", tool));
    const tar = execFileSync("tar", ["-C", dir, "-cf", "-", "."], { maxBuffer: 64 * 1024 * 1024 });
    const r = spawnSync(
      "docker",
      ["--host", `unix://${host.replace(/^unix:\/\//, "")}`, "import", "--change", 'CMD ["/bin/sleep","3600"]', "-", ref],
      { input: tar, encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`docker import ${ref}: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
