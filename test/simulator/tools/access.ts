// Who may read what on the simulated Mac. Every real process here is Linux root, whom the kernel
// refuses nothing, so a read by a simulated user other than root is checked here, as macOS's
// kernel checks it (README.md "Reads"): search (x) on every directory the lookup passes, read (r)
// on the file or folder read, by owner bits if the uid matches, else group bits if one of the
// user's `id -G` gids matches, else other bits (permits). ACLs are not modelled.
import { realpathSync, type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { permits } from "./docker";
import type { World } from "./world";

/** A simulated user's ids, as the kernel checks them. */
export interface Who {
  uid: number;
  gids: number[];
}

/** The simulated user SIM_USER names, or undefined for root (never refused) and unknown users. */
export function simulatedWho(world: World, user = world.user): Who | undefined {
  if (user === "root") return undefined;
  const info = world.userInfo(user);
  if (!info || info.uid === 0) return undefined;
  return { uid: info.uid, gids: world.groupsOf(user).map((g) => g.gid) };
}

function statIfThere(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function realIfThere(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

const inside = (path: string, root: string) => path.startsWith(`${root}/`);

/** The owner the simulated Mac's file stands for. A file a simulated process made is really
 *  root's (every process here is): one that is really root's stands for the owner of its nearest
 *  folder that is not (a home is chowned to its user: what that user made in it is theirs), with
 *  that folder's group, as a new file on macOS takes its folder's group (open(2): "it is given the
 *  group of the directory which contains it"; mkdir(2): "set to that of the parent directory");
 *  with no such folder, root's. */
export function ownerOf(real: string, st: Stats, root: string): Stats {
  if (st.uid !== 0) return st;
  for (let d = dirname(real); inside(d, root); d = dirname(d)) {
    const s = statIfThere(d);
    if (s && s.uid !== 0) return Object.assign(Object.create(Object.getPrototypeOf(st)), st, { uid: s.uid, gid: s.gid }) as Stats;
  }
  return st;
}

function may(real: string, who: Who, bit: number, root: string): boolean {
  const st = statIfThere(real);
  if (!st) return true; // not there: the read reports that itself
  return permits(ownerOf(real, st, root), who.uid, who.gids, bit);
}

/** False when the lookup of `path` passes a folder inside `root` that `who` may not search: the
 *  folders of the named path and, through symlinks, of each folder's target and (when the last
 *  component is followed) of the file's own target. A folder that is not there ends the walk:
 *  the tool reports ENOENT itself. */
export function maySearch(path: string, who: Who, root: string, followLast = true): boolean {
  const abs = resolve(path);
  const dirs: string[] = [];
  const add = (p: string) => {
    const chain: string[] = [];
    for (let d = dirname(p); inside(d, root); d = dirname(d)) chain.unshift(d);
    dirs.push(...chain);
  };
  add(abs);
  if (followLast) {
    const real = realIfThere(abs);
    if (real) add(real);
  }
  for (const d of dirs) {
    const real = realIfThere(d);
    if (!real) break;
    if (real !== d && !maySearch(real, who, root)) return false;
    if (!statIfThere(real)?.isDirectory()) break;
    if (!may(real, who, 1, root)) return false;
  }
  return true;
}

/** False when `who` may not read `path` (a file's contents, a folder's entries): search on the way,
 *  read on the file itself. */
export function mayRead(path: string, who: Who, root: string): boolean {
  if (!maySearch(path, who, root)) return false;
  const real = realIfThere(path);
  return !real || !inside(real, root) || may(real, who, 4, root);
}

/** Whether `path` is one the simulated Mac's checks apply to (inside its root). */
export function checked(path: string, root: string): boolean {
  return inside(resolve(path), root) || inside(realIfThere(path) ?? "", root);
}
