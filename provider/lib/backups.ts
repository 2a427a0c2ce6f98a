// A profile's backups in BACKUP_DIR_BASE: what a full reset (`<id>-<profile>`), a restore
// (`<id>-<profile>-before-restore`) and an upgrade (`<id>-<profile>-before-upgrade`, a clone:
// provider/lib/upgradeClone.ts) leave there, known by their names, which start with the
// decision's time. Listed by `npm run fleet -- status`, pruned to BACKUP_KEEP by ColimaProfile.
import { hostPath, shellQuote } from "./host";
import type { Mac } from "./mac";

export interface Backup {
  name: string;
  path: string;
  /** du's size; undefined when du could not tell. */
  bytes: number | undefined;
  /** When it was made (from its name), ISO. */
  made: string;
}

/** Whether the folder `name` is one of `profile`'s backups. */
export function isBackupOf(name: string, profile: string): boolean {
  return /^\d{8}T\d{6}Z-/.test(name) && [profile, `${profile}-before-restore`, `${profile}-before-upgrade`].includes(name.slice(17));
}

/** The time a backup's name starts with, ISO. */
export function madeAt(name: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : "";
}

/** `profile`'s backups in `dir`, newest first; with `sizes`, each one's size (du). */
export async function listBackups(mac: Mac, dir: string, profile: string, sizes = false): Promise<Backup[]> {
  const names = (await mac.listDir(dir))
    .filter((n) => isBackupOf(n, profile))
    .sort()
    .reverse();
  return Promise.all(
    names.map(async (name) => {
      const path = `${dir.replace(/\/+$/, "")}/${name}`;
      return { name, path, made: madeAt(name), bytes: sizes ? await mac.diskUsage(path).catch(() => undefined) : undefined };
    }),
  );
}

export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return "size unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export function formatAge(madeIso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(madeIso)) / 1000));
  if (Number.isNaN(s)) return "age unknown";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** `profile`'s backups in `dir` for a message (a refused restore): one line each, newest first, with
 *  its size and age as `npm run fleet -- status` lists them; or that there is none. */
export async function backupsText(mac: Mac, dir: string, profile: string, now = Date.now()): Promise<string> {
  const found = await listBackups(mac, dir, profile, true).catch(() => []);
  if (found.length === 0) return `no backups of profile ${profile} in ${dir}`;
  return [
    `backups of profile ${profile} in ${dir}, newest first (npm run restore -- <folder>):`,
    ...found.map((b) => `  ${b.path}  ${formatSize(b.bytes)}  ${formatAge(b.made, now)} old`),
  ].join("\n");
}

/** One `ls -ldn` line's type and permissions (`drwx------`) and owner; lstat: a symlink shows as
 *  `l`, not followed (macOS's and GNU's ls print the same columns). */
function entryOf(line: string | undefined): { perms: string; uid: number } | undefined {
  const m = /^([-dlpscbw][-rwxsStT]{9})[@+.]?\s+\d+\s+(\d+)\s/.exec(line ?? "");
  return m ? { perms: m[1] as string, uid: Number(m[2]) } : undefined;
}

/** Why `from` may not be put back as a profile, or undefined when it may: it must be a folder
 *  directly in `base` once every symlink on the way is resolved (the Mac's own `cd -P` and
 *  `pwd -P`, as the Homebrew user), not a symlink itself, and neither it nor `base` may be
 *  written by anyone but the Homebrew user and root — else another local user could plant a
 *  profile (its disk, its colima.yaml) that then runs as the Homebrew user's Docker — nor any
 *  folder above `base` (unless sticky), which would let them swap `base` after this check. */
export async function restoreSourceProblem(mac: Mac, from: string, base: string): Promise<string | undefined> {
  const tool = (p: string) => shellQuote(hostPath(mac.host, p));
  const script = [
    `b=$(cd -P -- "$1" 2>/dev/null && pwd -P) || b=`,
    `f=$(cd -P -- "$2" 2>/dev/null && pwd -P) || f=`,
    `printf '%s\\n%s\\n' "$b" "$f"`,
    `${tool("/usr/bin/id")} -u`,
    `${tool("/bin/ls")} -ldn "$b" 2>/dev/null || echo absent`,
    `${tool("/bin/ls")} -ldn "$2" 2>/dev/null || echo absent`,
    // Every folder above BACKUP_DIR_BASE, from its parent up to /, one `ls -ldn` line each
    // (`${d%/*}`, `${d:-/}`: POSIX XCU 2.6.2 parameter expansion, in bash 3.2 and dash alike).
    `d=$b; while [ -n "$d" ] && [ "$d" != / ]; do d=\${d%/*}; d=\${d:-/}; ${tool("/bin/ls")} -ldn "$d" 2>/dev/null || echo absent; done`,
  ].join("\n");
  const dir = base.replace(/\/+$/, "");
  const r = await mac.asUser([hostPath(mac.host, "/bin/sh"), "-c", script, "sh", dir, from], { timeoutMs: 30_000 });
  const [realBase = "", realFrom = "", uid = "", baseLine, fromLine, ...aboveLines] = r.stdout.split("\n");
  if (!realBase) return `cannot be checked: BACKUP_DIR_BASE (${dir}) is not a folder on ${mac.name}`;
  const name = from.replace(/\/+$/, "").split("/").pop() ?? "";
  if (realFrom !== `${realBase}/${name}`)
    return `resolves to ${realFrom || "nothing"}, not to a folder directly in BACKUP_DIR_BASE (${dir}${realBase !== dir ? `, which is ${realBase}` : ""})`;
  const self = entryOf(fromLine);
  if (!self?.perms.startsWith("d")) return `is ${self?.perms.startsWith("l") ? "a symlink" : "not a folder"} in BACKUP_DIR_BASE (${dir})`;
  const owners = `the Homebrew user (${mac.host.user}, uid ${uid.trim()}) and root`;
  for (const [what, e] of [
    ["", self],
    [`is in BACKUP_DIR_BASE (${realBase}), which `, entryOf(baseLine)],
  ] as const) {
    if (!e) return `${what}could not be looked at`;
    if (e.perms[5] === "w" || e.perms[8] === "w")
      return `${what}may be written by other users (${e.perms}, owned by uid ${e.uid}): only ${owners} may write a backup and BACKUP_DIR_BASE (${dir})`;
    if (e.uid !== 0 && e.uid !== Number(uid))
      return `${what}belongs to another user (uid ${e.uid}): only ${owners} may own a backup and BACKUP_DIR_BASE (${dir})`;
  }
  // The provider moves the backup later, by this path (provider/colimaProfile.ts swapInBackup).
  // Whoever may write a folder above BACKUP_DIR_BASE may rename BACKUP_DIR_BASE (or a folder on
  // its way) away and put one of theirs there after this check (rename(2) needs write permission
  // on the parent only). Unless that folder is sticky: then only an entry's owner, the folder's
  // owner or root may rename it (sticky(7), chmod(2) S_ISVTX) — /Users/Shared, /tmp. So every
  // folder above is root's or the Homebrew user's, writable by no one else unless sticky; then
  // nobody but those two can change the path between this check and the move.
  const folders = realBase.split("/").filter(Boolean);
  for (const [i, line] of aboveLines.filter(Boolean).entries()) {
    const path = `/${folders.slice(0, folders.length - 1 - i).join("/")}`;
    const e = entryOf(line);
    const what = `is in BACKUP_DIR_BASE (${realBase}), inside ${path}, which `;
    if (!e) return `${what}could not be looked at`;
    if (e.uid !== 0 && e.uid !== Number(uid))
      return `${what}belongs to another user (uid ${e.uid}): they could swap BACKUP_DIR_BASE for a folder of theirs after this check`;
    if ((e.perms[5] === "w" || e.perms[8] === "w") && !/[tT]/.test(e.perms[9] ?? ""))
      return `${what}may be written by other users (${e.perms}, owned by uid ${e.uid}) and is not sticky: they could swap BACKUP_DIR_BASE (${dir}) for a folder of theirs after this check`;
  }
  return undefined;
}

/** Why a full reset may not move a profile's state into `base` (BACKUP_DIR_BASE), or undefined
 *  when it may. The reset moves the VM's whole disk there as the Homebrew user (`mkdir -p` of
 *  `<base>/<id>-<profile>`, then `mv`: provider/colimaProfile.ts moveToBackup), by this path,
 *  after the preview. Whoever else may add, rename or replace an entry on that path can take the
 *  state: make BACKUP_DIR_BASE (or `<id>-<profile>`: the id is the decision's time) first as a
 *  folder of theirs, or swap a folder on the way for theirs. So, read as the Homebrew user with
 *  `ls -ldn` (lstat), on the path as written and once every link is resolved (`cd -P`, `pwd -P`):
 *  every folder is root's or the Homebrew user's and writable by no one else — a folder above
 *  may be sticky (sticky(7): others may then not rename what is not theirs), but not BACKUP_DIR_BASE
 *  itself, nor, when it is missing, the folder `mkdir -p` makes it in (others could make it
 *  first); a link on the way only root's (macOS's /var, /tmp). */
export async function backupBaseProblem(mac: Mac, base: string): Promise<string | undefined> {
  const ls = shellQuote(hostPath(mac.host, "/bin/ls"));
  const dir = base.replace(/\/+$/, "") || "/";
  // `${d%/*}`, `${d:-/}`: POSIX XCU 2.6.2 parameter expansion, in bash 3.2 and dash alike.
  const walk = (v: string) =>
    `p=${v}; while [ -n "$p" ]; do ${ls} -ldn "$p" 2>/dev/null || echo absent; [ "$p" = / ] && break; p=\${p%/*}; p=\${p:-/}; done`;
  const script = [
    `${shellQuote(hostPath(mac.host, "/usr/bin/id"))} -u`,
    `d=$1; while [ "$d" != / ] && [ ! -e "$d" ] && [ ! -L "$d" ]; do d=\${d%/*}; d=\${d:-/}; done`,
    `r=$(cd -P -- "$d" 2>/dev/null && pwd -P) || r=`,
    `printf '%s\\n%s\\n' "$d" "$r"`,
    walk('"$1"'),
    "echo --",
    walk('"$r"'),
  ].join("\n");
  const r = await mac.asUser([hostPath(mac.host, "/bin/sh"), "-c", script, "sh", dir], { timeoutMs: 30_000 });
  const [uidLine = "", existing = "", real = "", ...rest] = r.stdout.split("\n");
  const uid = Number(uidLine.trim());
  if (!real) return `BACKUP_DIR_BASE (${dir}): ${existing} is not a folder`;
  const cut = rest.indexOf("--");
  const parents = (p: string) => {
    const out: string[] = [];
    for (let q = p; ; q = q.replace(/\/[^/]*$/, "") || "/") {
      out.push(q);
      if (q === "/") return out;
    }
  };
  const owners = `root and the Homebrew user (${mac.host.user}, uid ${uid})`;
  const check = (paths: string[], lines: string[]): string | undefined => {
    for (const [i, path] of paths.entries()) {
      const e = entryOf(lines[i]);
      if (!e) continue; // not there (yet): mkdir -p makes it, the Homebrew user's, in a folder checked here
      if (e.perms.startsWith("l")) {
        if (e.uid !== 0) return `${path} is a symlink of uid ${e.uid}: only root's links may be on the way`;
        continue;
      }
      if (!e.perms.startsWith("d")) return `${path} is not a folder (${e.perms})`;
      if (e.uid !== 0 && e.uid !== uid) return `${path} belongs to another user (uid ${e.uid}): only ${owners} may own it`;
      const othersWrite = e.perms[5] === "w" || e.perms[8] === "w";
      // BACKUP_DIR_BASE itself, or the folder mkdir -p makes it in: no one else may add to it.
      const last = path === dir || path === existing || path === real;
      if (othersWrite && (last || !/[tT]/.test(e.perms[9] ?? "")))
        return `${path} may be written by other users (${e.perms}, owned by uid ${e.uid})${last ? "" : " and is not sticky"}`;
    }
    return undefined;
  };
  return check(parents(dir), rest.slice(0, cut)) ?? check(parents(real), rest.slice(cut + 1));
}
