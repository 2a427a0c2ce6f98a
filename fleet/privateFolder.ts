// The fleet's own folders and files on the control machine (its logs, saved plans): the operator's
// alone, so no other user of the machine can plant, block, read or swap what the runner writes or
// reads there.
import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { unsafeFolderOnTheWay } from "../provider/lib/mac";

/** Makes `dir` (0700) when missing and says why it is not the operator's alone: undefined when it
 *  is. Whoever else owns or may write to a folder of the fleet's could plant what the runner writes
 *  or reads there first: a FIFO (the runner's open then waits for ever, and the whole fleet with
 *  it), a file of theirs (a run as root appends to it and it stays theirs to read), a plan of their
 *  own, and rename or remove files after. So: a real folder, ours, writable by no one else (sticky
 *  or not: others may still make new names in a sticky folder), in folders that only we and root
 *  may change (provider/lib/mac.ts unsafeFolderOnTheWay, the SSH connection folder's rule). */
export function privateFolderProblem(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // not a POSIX system: no other users' uids to tell apart
  const st = lstatSync(dir);
  return !st.isDirectory()
    ? `is not a folder (${st.isSymbolicLink() ? "a symbolic link" : "a file"} of uid ${st.uid})`
    : st.uid !== uid
      ? `is owned by uid ${st.uid}, not by you (uid ${uid})`
      : (st.mode & 0o022) !== 0
        ? `may be written by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`
        : unsafeFolderOnTheWay(dir, uid);
}

/** Writes `text` to `path` whole (a temporary file renamed into place), 0600, never through a link. */
export function writePrivately(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
    const bytes = Buffer.from(text, "utf8");
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
