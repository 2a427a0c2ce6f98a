// sudo's policy and its time stamps, as macOS's sudo (apple-oss-distributions/sudo, sudo-114.0.2:
// sudo 1.9.13p2) keeps them. README.md "System tools" cites each behaviour; in short:
// - the policy: the user's level (SimUser.sudo) stands for the stock /etc/sudoers (`%admin ALL =
//   (ALL) ALL`) or a `NOPASSWD: ALL` rule; after it, the rules of <root>/etc/sudoers.d/* (the stock
//   file's last line is `#includedir /private/etc/sudoers.d`), and the last rule that matches wins;
// - a time stamp is kept per user in /var/db/sudo/ts/<user>, one record per terminal: keyed on the
//   terminal and the session it belongs to; with no terminal, on the parent process and the session;
//   a record of another session never counts. `timestamp_timeout` is 5 minutes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readIfThere, ToolExit, type World, writeAtomic } from "./world";

/** One command spec of a rule: who may run what as whom, with or without a password. */
export interface SudoRule {
  /** Runas users (`ALL`, or names); `root` when the rule names none (runas_default). */
  runas: string[];
  nopasswd: boolean;
  /** `ALL`, or an absolute path (any arguments: sudoers matches a path without arguments so). */
  command: string;
  /** Where it came from, for messages. */
  from: string;
}

/** `timestamp_timeout`: config.h `#define TIMEOUT 5` (minutes). */
export const TIMESTAMP_TIMEOUT_MS = 5 * 60_000;

/** The rules that apply to `user`, in the order sudoers reads them. */
export function rulesOf(world: World, user: string): SudoRule[] {
  const info = world.userInfo(user);
  const rules: SudoRule[] = [];
  if (info?.sudo === "nopasswd") rules.push({ runas: ["ALL"], nopasswd: true, command: "ALL", from: `${user} ALL=(ALL) NOPASSWD: ALL` });
  if (info?.sudo === "password") rules.push({ runas: ["ALL"], nopasswd: false, command: "ALL", from: "%admin ALL = (ALL) ALL" });
  const groups = new Set(world.groupsOf(user).map((g) => g.name));
  const dir = world.path("/etc/sudoers.d");
  let files: string[] = [];
  try {
    // Sorted lexical order, skipping names that end in `~` or contain a `.` (sudoers(5), @includedir).
    files = readdirSync(dir)
      .filter((f) => !f.endsWith("~") && !f.includes("."))
      .sort();
  } catch {
    // no sudoers.d
  }
  for (const file of files) {
    readFileSync(join(dir, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        for (const rule of parseLine(line, `${join(dir, file)}:${i + 1}`)) {
          const who = rule.users;
          if (who.includes("ALL") || who.includes(user) || who.some((w) => w.startsWith("%") && groups.has(w.slice(1)))) rules.push(rule);
        }
      });
  }
  return rules;
}

/** One line of a sudoers.d file: the user specifications the simulator reads — `<users> <host> =
 *  [(runas)] [NOPASSWD:|PASSWD:] cmd[, [(runas)] [tag:] cmd]…`, a tag and a runas list carrying
 *  on to the next command of the line (sudoers(5), "Tag_Spec", "Runas_Spec"). Anything else is
 *  refused, so that a test never believes a rule the simulator did not read. */
function parseLine(line: string, where: string): (SudoRule & { users: string[] })[] {
  const text = line.trim();
  if (text === "" || (text.startsWith("#") && !/^#include/.test(text))) return [];
  const m = /^(\S+)\s+(\S+)\s*=\s*(.+)$/.exec(text);
  if (!m || m[1]?.startsWith("Defaults") || /^#include/.test(text))
    throw new ToolExit(1, `sudo: simulator: ${where}: only user specifications are simulated: ${text}\n`);
  const [, users = "", host = "", spec = ""] = m;
  if (host !== "ALL" && host !== "sim-mac") return [];
  let runas = ["root"];
  let nopasswd = false;
  const rules: (SudoRule & { users: string[] })[] = [];
  for (let part of spec.split(",").map((p) => p.trim())) {
    const r = /^\(([^)]*)\)\s*/.exec(part);
    if (r) {
      runas = (r[1] ?? "")
        .split(":")[0]
        ?.split(",")
        .map((u) => u.trim())
        .filter(Boolean) ?? ["root"];
      if (runas.length === 0) runas = ["root"];
      part = part.slice(r[0].length);
    }
    for (let t = /^(NOPASSWD|PASSWD):\s*/.exec(part); t; t = /^(NOPASSWD|PASSWD):\s*/.exec(part)) {
      nopasswd = t[1] === "NOPASSWD";
      part = part.slice(t[0].length);
    }
    if (part !== "ALL" && !/^\/\S+$/.test(part))
      throw new ToolExit(1, `sudo: simulator: ${where}: only ALL or a path without arguments is simulated: ${part}\n`);
    rules.push({ users: users.split(","), runas, nopasswd, command: part, from: `${where}: ${text}` });
  }
  return rules;
}

/** The rule that decides `command` as `target`: the last one that matches (sudoers(5): "Where
 *  there are multiple matches, the last match is used"), or undefined. */
export function decidingRule(rules: SudoRule[], target: string, command: string): SudoRule | undefined {
  const matching = rules.filter(
    (r) => (r.runas.includes("ALL") || r.runas.includes(target)) && (r.command === "ALL" || r.command === command),
  );
  return matching[matching.length - 1];
}

/** `sudo -v` needs no password only when every rule of the user is NOPASSWD (`verifypw` all). */
export function validateNeedsPassword(rules: SudoRule[]): boolean {
  return rules.some((r) => !r.nopasswd);
}

// ---- time stamps ------------------------------------------------------------------------------

/** What a record is keyed on (timestamp.c ts_init_key): the terminal, or with none the parent
 *  process; and the session (timestamp_status: a record of another session is TS_OLD). */
export interface TimestampKey {
  type: "tty" | "ppid";
  /** The terminal device (tty) or the parent PID (ppid). */
  of: string;
  sid: number;
}

interface TimestampRecord extends TimestampKey {
  /** ms since the epoch when sudo last authenticated the user on it. */
  at: number;
}

/** This process's session id and controlling terminal, as the kernel has them: a simulated
 *  terminal (SIM_TTY) is this process's only while it is in the terminal's session (SIM_TTY_SID);
 *  a process that left the session (setsid, as Node's `detached` does) has no terminal. */
export function sessionOf(pid = process.pid): { sid: number; tty?: string } {
  const stat = readIfThere(`/proc/${pid}/stat`) ?? "";
  // "pid (comm) state ppid pgrp session tty_nr …": fields after the last ")".
  const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
  const tty = process.env.SIM_TTY && Number(process.env.SIM_TTY_SID) === sid ? process.env.SIM_TTY : undefined;
  return { sid, ...(tty ? { tty } : {}) };
}

/** The key sudo makes for this process (timestamp_type tty, the default: config.h TIMESTAMP_TYPE). */
export function keyOfThisProcess(): TimestampKey {
  const { sid, tty } = sessionOf();
  return tty ? { type: "tty", of: tty, sid } : { type: "ppid", of: String(process.ppid), sid };
}

function timestampFile(world: World, user: string): string {
  return world.path(`/var/db/sudo/ts/${user}`);
}

function records(world: World, user: string): TimestampRecord[] {
  const text = readIfThere(timestampFile(world, user));
  return text ? (JSON.parse(text) as TimestampRecord[]) : [];
}

/** TS_CURRENT: a record with this key (ts_match_record), of this session, younger than the timeout. */
export function timestampCurrent(world: World, user: string, key: TimestampKey, now = Date.now()): boolean {
  const r = records(world, user).find((r) => r.type === key.type && r.of === key.of);
  return r !== undefined && r.sid === key.sid && now - r.at < TIMESTAMP_TIMEOUT_MS && now >= r.at;
}

/** timestamp_update: the record for this key now says the user authenticated at `now`. */
export function updateTimestamp(world: World, user: string, key: TimestampKey, now = Date.now()): void {
  world.locked(`sudo-ts-${user}`, () => {
    const rest = records(world, user).filter((r) => !(r.type === key.type && r.of === key.of));
    writeAtomic(timestampFile(world, user), `${JSON.stringify([...rest, { ...key, at: now }], null, 2)}\n`, 0o600);
  });
}
