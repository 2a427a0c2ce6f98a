// macOS's own shells, for tests on Linux: every Mac's /bin/bash is GNU bash 3.2, and its /bin/sh is
// that same bash started as `sh` (POSIX mode). Debian's bash 5 and dash accept things they refuse,
// so a script an operator or launchd runs on a Mac is also run under them here. The folder that
// holds that bash (an x86-64 Linux build) is COLIMA_PULSE_MACOS_SHELLS, else a
// `<folder>/tools/macos-bash/bin` beside the checkout (a workspace's shared tools); without one,
// the tests that need it skip and say why.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "./pulumiStack";

export interface MacosShells {
  /** A folder with `bash` and `sh`, both bash 3.2 (as `sh`, in POSIX mode): first on PATH, every
   *  `bash x.sh` and `sh -c …` a script starts runs on the Mac's shells too. */
  dir: string;
  bash: string;
  sh: string;
}

let found: MacosShells | { skip: string } | undefined;

/** The first `<folder>/tools/macos-bash/bin` holding a bash, among the folders beside the checkout. */
function besideCheckout(): string | undefined {
  const parent = dirname(repoRoot);
  let names: string[] = [];
  try {
    names = readdirSync(parent).sort();
  } catch {
    return undefined; // an unreadable parent: nothing beside the checkout
  }
  return names.map((name) => join(parent, name, "tools/macos-bash/bin")).find((dir) => existsSync(join(dir, "bash")));
}

/** The Mac's shells, or why there are none here (for node:test's `skip`). */
export function macosShells(): MacosShells | { skip: string } {
  if (found) return found;
  const given = process.env.COLIMA_PULSE_MACOS_SHELLS;
  const from = given || besideCheckout() || "a tools/macos-bash/bin beside the checkout";
  const bash = join(from, "bash");
  if (!existsSync(bash)) {
    found = {
      skip: given
        ? `COLIMA_PULSE_MACOS_SHELLS (environment) = ${JSON.stringify(given)} holds no bash`
        : `macOS's bash 3.2 is not here (${from}): set COLIMA_PULSE_MACOS_SHELLS to the folder that holds it`,
    };
    return found;
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    found = { skip: `the bash 3.2 in ${from} is an x86-64 Linux build; this is ${process.platform} ${process.arch}` };
    return found;
  }
  // Links named bash and sh: bash runs in POSIX mode when started as `sh`, and a copied folder may
  // hold its `sh` link as a plain file.
  const dir = mkdtempSync(join(tmpdir(), "cpulse-macos-shells-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(bash, join(dir, "bash"));
  symlinkSync(bash, join(dir, "sh"));
  const version = execFileSync(join(dir, "sh"), ["-c", 'echo "$BASH_VERSION $(set -o | grep posix)"'], { encoding: "utf8" });
  if (!/^3\.2\.\S+ posix\s+on$/.test(version.trim())) throw new Error(`${bash} is not bash 3.2 with a POSIX mode as sh: ${version}`);
  found = { dir, bash: join(dir, "bash"), sh: join(dir, "sh") };
  return found;
}

/** Debian's dash, the other strict POSIX sh the supervisor runs under (scripts/test.sh installs it). */
export function dash(): string {
  // (No import of scripts/: `npm run mutation`'s sandbox holds provider/, stacks/, fleet/ and test/.)
  const path = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin"].map((d) => join(d || ".", "dash")).find((f) => existsSync(f));
  if (!path) throw new Error("dash is not installed: apt-get install dash (scripts/test.sh installs it)");
  return path;
}
