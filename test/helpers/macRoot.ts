// A bare Mac root for executor tests against real processes: the real system tools the Mac's seam
// uses (provider/lib/mac.ts; the simulator's pass-through set, plus the real `id`, so this process
// is the Homebrew user and nothing needs sudo, and the real `uname`, whose `-m` picks the Homebrew
// prefix of the Homebrew user's PATH), and a sticky /var/tmp (writeFile's temporary files; the
// Mac's lock is root's, in /var/db, made by the lock itself).
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { Host } from "../../provider/lib/host";
import { linkRealTools } from "../simulator/simulator";

export function macRoot(prefix: string): Host {
  const root = mkdtempSync(join(tmpdir(), prefix));
  linkRealTools(root);
  symlinkSync("/usr/bin/id", join(root, "usr/bin/id"));
  symlinkSync("/usr/bin/uname", join(root, "usr/bin/uname"));
  mkdirSync(join(root, "var/tmp"), { recursive: true, mode: 0o1777 });
  return { root, user: userInfo().username };
}
