// LOG_PATH on the Mac, checked before root touches it. Root makes the log's folder and the log and
// gives the log to the Homebrew user (provider/launchDaemon.ts); launchd opens it for the job and
// newsyslog renames, makes and re-owns logs beside it (provider/logRotation.ts), all as root and by
// the path. Whoever can add, rename or replace an entry anywhere on that path can aim root at
// another file (a symlink as the log or as a folder on the way, a folder swapped between a check
// and a use, a hard link to a root file), and `install -d` re-owns an existing folder (BSD
// xinstall.c and GNU install both chown and chmod it), so a home or /tmp would become root's 0755.
// So a path is accepted only when nobody but root can change any part of it:
// - every folder from / is a real folder owned by root with no group or other write bit (a
//   sticky shared folder such as /tmp does not qualify) and no ACL that ls shows (`+`);
// - a symlink on the way is followed only where only root could have made it: root's own link in
//   such a folder (macOS's /var -> private/var, /tmp -> private/tmp, /etc -> private/etc, on the
//   sealed system volume); where it leads is checked the same way;
// - the log itself is never a link: missing, or a regular file (no FIFO, device, socket, folder).
// Once that holds nothing but root can change what was checked, so there is no window between the
// check and root's use. Nothing is re-owned: a missing folder is made (root 0755, one level at a
// time, each in a checked folder); an existing one that fails is refused, naming it, what it is
// and the fix. The reads are `ls -ldn` (lstat: a link is listed, not followed, when named with -l
// or -d in both BSD ls and GNU ls), run as the operator: reading needs no root.
import { hostPath } from "./host";
import type { Mac } from "./mac";

/** One entry as `ls -ldn` prints it. */
export interface Entry {
  /** The type letter: d folder, l link, - regular file, p FIFO, c/b device, s socket. */
  type: string;
  /** The nine permission letters (rwx, with s/S/t/T). */
  perms: string;
  /** ls marks an ACL with `+` after the permissions (BSD ls prints `@` instead when the entry
   *  also has extended attributes: such an ACL is not seen here; only root can set one on a
   *  folder of root's). */
  acl: boolean;
  links: number;
  uid: number;
  gid: number;
}

/** `ls -ldn <path>`'s line: mode, links, uid, gid first, in both BSD ls (macOS, ls(1) "The Long
 *  Format") and GNU ls (a trailing `.` is an SELinux context). */
export function parseLs(line: string): Entry | undefined {
  const m = /^([-dlpcbsDw])([-rwxsStT]{9})([@+.]?)\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(line);
  if (!m) return undefined;
  return { type: m[1] as string, perms: m[2] as string, acl: m[3] === "+", links: Number(m[4]), uid: Number(m[5]), gid: Number(m[6]) };
}

const TYPES: Record<string, string> = {
  d: "a folder",
  l: "a symbolic link",
  "-": "a regular file",
  p: "a FIFO",
  c: "a character device",
  b: "a block device",
  s: "a socket",
};
export const describeEntry = (e: Entry) => `${TYPES[e.type] ?? "a special file"} (${e.type}${e.perms}${e.acl ? "+" : ""}, uid ${e.uid})`;

/** Why a folder is not one only root can change, or undefined when it is. */
function untrusted(e: Entry): string | undefined {
  if (e.uid !== 0) return `owned by uid ${e.uid}, not root`;
  if (e.perms[7] === "w") return `writable by everyone${/[tT]/.test(e.perms[8] ?? "") ? " (a shared sticky folder)" : ""}`;
  if (e.perms[4] === "w") return "writable by its group";
  if (e.acl) return "given an ACL (ls -le shows it), which may let others add or rename entries";
  return undefined;
}

export class LogPathError extends Error {
  override readonly name = "LogPathError";
}

/** What root may do with a checked LOG_PATH. */
export interface CheckedLogPath {
  /** The log's path with every link on the way resolved: what root's commands are given. */
  resolved: string;
  /** Folders to make, in order (root:wheel 0755): each in a folder already checked. */
  missing: string[];
  /** The log as found (a regular file), or undefined when there is none yet. */
  log?: Entry;
}

/** macOS follows at most 32 links in a path (MAXSYMLINKS, sys/param.h). */
const MAX_LINKS = 32;

/**
 * Checks `logPath` (a path on the Mac, under `mac.host.root` off a Mac) as the header says; throws
 * a LogPathError naming the part that fails, what it is, and the fix. Makes nothing.
 */
export async function checkLogPath(mac: Mac, logPath: string): Promise<CheckedLogPath> {
  const root = hostPath(mac.host, "/").replace(/\/+$/, "");
  const ls = hostPath(mac.host, "/bin/ls");
  const under = (p: string) => (root && (p === root || p.startsWith(`${root}/`)) ? p.slice(root.length) || "/" : p);
  const at = (parts: string[]) => `${root}/${parts.join("/")}`;
  const refuse = (path: string, what: string, fix: string) =>
    new LogPathError(
      `LOG_PATH ${logPath}: ${path} is ${what}. Root makes the log, gives it to the Homebrew user, and launchd and newsyslog ` +
        "open and rotate it, all by this path: every folder on it must be a real folder owned by root that no one else can write, " +
        `and no link may lead elsewhere. Nothing was changed. ${fix}`,
    );
  const chooseAnother =
    "Choose a LOG_PATH in a folder only root can change: the default, /var/log/colima-pulse/<LABEL>.log, is one (colima-pulse makes that folder)";
  /** lstat of one path, or undefined when it is not there; anything else unreadable refuses. */
  const look = async (path: string): Promise<Entry | undefined> => {
    const r = await mac.run([ls, "-ldn", path], { allowFailure: true, timeoutMs: 15_000 });
    if (r.exitCode !== 0) {
      if (/No such file or directory/.test(r.stderr)) return undefined;
      throw refuse(path, `unreadable to the operator (${r.stderr.trim() || `ls exited ${r.exitCode}`})`, chooseAnother);
    }
    const entry = parseLs(r.stdout);
    if (!entry) throw refuse(path, `listed in a way colima-pulse cannot read (${JSON.stringify(r.stdout.trim())})`, chooseAnother);
    return entry;
  };

  const top = await look(root || "/");
  const topWhy = top && top.type === "d" ? untrusted(top) : "not a folder";
  if (topWhy) throw refuse(root || "/", `${top ? describeEntry(top) : "missing"}: ${topWhy}`, chooseAnother);

  const names = under(logPath).split("/").filter(Boolean);
  const file = names.pop();
  if (!file || names.some((n) => n === "." || n === "..") || file === "." || file === "..")
    throw refuse(logPath, "not a file's path", chooseAnother);
  let rest = names;
  let done: string[] = [];
  let links = 0;
  while (rest.length > 0) {
    const name = rest[0] as string;
    const path = at([...done, name]);
    const entry = await look(path);
    if (!entry) {
      // Missing: made by root one level at a time, each in the folder checked just before.
      const missing = rest.map((_, i) => at([...done, ...rest.slice(0, i + 1)]));
      return { resolved: at([...done, ...rest, file]), missing };
    }
    rest = rest.slice(1);
    if (entry.type === "l") {
      if (entry.uid !== 0)
        throw refuse(
          path,
          `${describeEntry(entry)}: a link only its owner, not root, made`,
          `${chooseAnother}, with no link that is not root's on the way`,
        );
      if (++links > MAX_LINKS) throw refuse(path, `one of more than ${MAX_LINKS} links in a row`, chooseAnother);
      const target = (await mac.run([hostPath(mac.host, "/usr/bin/readlink"), path], { timeoutMs: 15_000 })).stdout.replace(/\n$/, "");
      // Relative to the link's folder (all of it real folders), or from / for an absolute one.
      const from = target.startsWith("/") ? under(target).split("/") : [...done, ...target.split("/")];
      const resolved: string[] = [];
      for (const part of from) {
        if (part === "" || part === ".") continue;
        if (part === "..") resolved.pop();
        else resolved.push(part);
      }
      // Where it leads is checked from / again.
      rest = [...resolved, ...rest];
      done = [];
      continue;
    }
    if (entry.type !== "d") throw refuse(path, `${describeEntry(entry)}, not a folder`, chooseAnother);
    const why = untrusted(entry);
    if (why)
      throw refuse(
        path,
        `${describeEntry(entry)}: ${why}`,
        `${chooseAnother}; or, if nothing else needs it as it is, make ${path} such a folder yourself (sudo chown root:wheel; sudo chmod go-w)`,
      );
    done = [...done, name];
  }
  const resolved = at([...done, file]);
  const log = await look(resolved);
  if (!log) return { resolved, missing: [] };
  if (log.type === "l")
    throw refuse(
      resolved,
      `${describeEntry(log)}: root would follow it to another file`,
      `Remove the link (sudo rm ${resolved}), or ${lower(chooseAnother)}`,
    );
  if (log.type !== "-") throw refuse(resolved, `${describeEntry(log)}, not a regular file`, `Remove it, or ${lower(chooseAnother)}`);
  return { resolved, missing: [], log };
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
