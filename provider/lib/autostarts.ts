// Other launchd jobs that start this profile — Lima 2.2's `limactl autostart` jobs and any
// hand-written one — and colima-pulse's own LaunchDaemons left by a stack that is gone. The survey
// finds them (read-only: plists read, `launchctl print`); `up` boots each one out of its domain
// and removes its plist (removeOtherJobs), as it does `brew services`' job (./launchd.ts). A
// colima-pulse LaunchDaemon of another label is stale when its profile no longer exists on the Mac
// (or its supervisor script is gone): removed only on `npm run remove-stale-jobs`.
//
// What "starts this profile" means, by shape, never by a guess (README "Other autostarts"):
// - Lima's `io.lima-vm.autostart.<instance>` (a LaunchAgent) and `io.lima-vm.daemon.<instance>` (a
//   LaunchDaemon) for this profile's instance: Lima writes WorkingDirectory = the instance's folder
//   (lima-vm/lima v2.2.0 pkg/autostart/launchd/*.plist), so a job for Colima's instance names
//   `~/.colima/_lima/<id>`; one for a plain Lima instance of that name (`~/.lima/<id>`) is another's.
// - any job whose ProgramArguments run `colima start` of this profile (`-p`/`--profile` or the
//   positional name; none: the default profile), or `limactl start <instance>` with LIMA_HOME (or
//   WorkingDirectory) at Colima's `~/.colima/_lima` — directly, through `/usr/bin/env`, or in a
//   `sh -c` line — and runs as the Homebrew user: an agent in that user's ~/Library/LaunchAgents or
//   in /Library/LaunchAgents (loaded at every login, that user's too), a daemon whose UserName is
//   that user. Root's colima (no UserName) uses root's own ~/.colima: another profile.
// Other users' ~/Library/LaunchAgents are not read: root may run only ROOT_COMMANDS (./mac.ts),
// none of which reads a file, and a job there runs as that user, on that user's ~/.colima.
import { parse as parsePlist } from "plist";
import { colimaPaths, colimaProfile, homeOf, hostPath } from "./host";
import { bootout, CONFLICTING_LABELS } from "./launchd";
import type { Mac } from "./mac";
import { supervisorScript } from "./supervisor";

/** A launchd job `up` removes: booted out of `domain` (and, for an agent, the user's other domain)
 *  and its plist removed. */
export interface OtherJob {
  label: string;
  /** `system`, or the Homebrew user's `gui/<uid>` (an agent; `user/<uid>` is booted out too). */
  domain: string;
  plist: string;
  /** Why it is removed, for the plan. */
  why: string;
  /** A colima-pulse LaunchDaemon's supervisor script, removed with it (stale jobs only). */
  script?: string;
  /** Its newsyslog rule (/etc/newsyslog.d/<label>.conf), removed with it (stale jobs only). */
  rule?: string;
}

/** What the survey saw of a job: loaded or not (a plist launchd loads at the next login or boot). */
export interface SeenJob extends OtherJob {
  loaded: boolean;
}

/** colima-pulse's LaunchDaemons the survey found, other than this stack's own. */
export interface PulseJobs {
  /** Left by a stack that is gone: removed only on `npm run remove-stale-jobs`. */
  stale: SeenJob[];
  /** Another stack's (or this stack's under an earlier LABEL), for a profile that is there: left
   *  alone, named in the plan. */
  others: { label: string; profile: string }[];
}

interface JobPlist {
  Label?: unknown;
  ProgramArguments?: unknown;
  Program?: unknown;
  UserName?: unknown;
  WorkingDirectory?: unknown;
  EnvironmentVariables?: unknown;
}

/** Labels and paths as the LaunchDaemon's schema takes them (provider/launchDaemon.ts). */
export const SAFE_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const SAFE_PATH = /^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/;

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** Words of a `sh -c` line, split at blanks and at `;`, `&&`, `||`, `|` (simple lines: a quoted
 *  argument with blanks is two words here, never a profile's name, which has none). */
function commandsOf(line: string): string[][] {
  return line
    .split(/;|&&|\|\|?|\n/)
    .map((c) => c.trim().split(/\s+/).filter(Boolean))
    .filter((c) => c.length > 0)
    .map((c) => c.map((w) => w.replace(/^['"]|['"]$/g, "")));
}

/** The commands a job's argv runs: itself, without a leading `env [-i] [VAR=value…]`, and each
 *  command of a `sh|bash|zsh -c '<line>'` (also `-lc`). */
export function commandsRun(argv: string[]): { argv: string[]; env: Record<string, string> }[] {
  let words = argv;
  const env: Record<string, string> = {};
  if (words[0] && base(words[0]) === "env") {
    words = words.slice(1);
    while (words[0] && (words[0].startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]))) {
      const w = words[0];
      if (!w.startsWith("-")) env[w.slice(0, w.indexOf("="))] = w.slice(w.indexOf("=") + 1);
      words = words.slice(1);
    }
  }
  const shell = words[0] ? base(words[0]) : "";
  const c = words.findIndex((w, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(w));
  if (["sh", "bash", "zsh"].includes(shell) && c > 0 && words[c + 1] !== undefined)
    return commandsOf(words[c + 1] as string).flatMap((cmd) => commandsRun(cmd).map((r) => ({ argv: r.argv, env: { ...env, ...r.env } })));
  return [{ argv: words, env }];
}

/** `limactl start`'s flags that take a value (cmd/limactl/start.go, editflags): the word after one
 *  given without `=` is its value, not the instance. */
const LIMACTL_VALUE_FLAGS = new Set(
  ["--name", "--timeout", "--set", "--cpus", "--memory", "--disk", "--vm-type", "--arch", "--mount", "--network"].concat([
    "--mount-type",
    "--containerd",
    "--dns",
    "--port-forward",
    "--plain",
    "--rosetta",
    "--video",
    "--log-level",
  ]),
);

/** The profile `colima <args>` starts (`colima start [profile] [-p|--profile name]`), or undefined
 *  when it is not `start` (config/profile.go: the flag wins over the positional name). */
export function colimaStartProfile(args: string[]): string | undefined {
  let flag: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^(?:--profile|-p)(?:=(.*))?$/.exec(a);
    if (m) flag = m[1] ?? args[++i];
    else if (/^-p./.test(a)) flag = a.slice(2);
    else if (!a.startsWith("-")) positional.push(a);
  }
  if (positional[0] !== "start") return undefined;
  return flag ?? positional[1] ?? "default";
}

/** The instance `limactl <args>` starts (`limactl start [flags] <instance>`), or undefined. */
export function limactlStartInstance(args: string[]): string | undefined {
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith("-")) {
      if (!a.includes("=") && LIMACTL_VALUE_FLAGS.has(a)) i++;
      continue;
    }
    positional.push(a);
  }
  if (positional[0] !== "start") return undefined;
  return positional[1];
}

/** Why the job `def` starts profile `profile` of the Homebrew user whose home is `home`, or
 *  undefined when it does not (another profile, another Colima or Lima folder, another shape). */
export function startsProfile(def: JobPlist, profile: string, home: string): string | undefined {
  const { id } = colimaProfile(profile);
  const instanceDir = `${home}/.colima/_lima/${id}`;
  const label = typeof def.Label === "string" ? def.Label : "";
  const workDir = typeof def.WorkingDirectory === "string" ? def.WorkingDirectory.replace(/\/+$/, "") : "";
  const argv = Array.isArray(def.ProgramArguments)
    ? def.ProgramArguments.filter((a): a is string => typeof a === "string")
    : typeof def.Program === "string"
      ? [def.Program]
      : [];
  const jobEnv =
    def.EnvironmentVariables && typeof def.EnvironmentVariables === "object" ? (def.EnvironmentVariables as Record<string, unknown>) : {};
  if ((label === `io.lima-vm.autostart.${id}` || label === `io.lima-vm.daemon.${id}`) && workDir === instanceDir)
    return `Lima's autostart job for instance ${id} (${label.includes(".daemon.") ? "limactl autostart --condition=boot" : "limactl autostart, at login"})`;
  for (const { argv: cmd, env } of commandsRun(argv)) {
    const vars = { ...jobEnv, ...env };
    const tool = cmd[0] ? base(cmd[0]) : "";
    if (tool === "colima") {
      const started = colimaStartProfile(cmd.slice(1));
      const colimaHome = typeof vars.COLIMA_HOME === "string" ? vars.COLIMA_HOME.replace(/\/+$/, "") : `${home}/.colima`;
      if (started !== undefined && colimaProfile(started).id === id && colimaHome === `${home}/.colima`)
        return `it runs \`${cmd.join(" ")}\``;
    }
    if (tool === "limactl" && limactlStartInstance(cmd.slice(1)) === id) {
      const limaHome = typeof vars.LIMA_HOME === "string" ? vars.LIMA_HOME.replace(/\/+$/, "") : undefined;
      if (limaHome === `${home}/.colima/_lima` || (limaHome === undefined && workDir === instanceDir))
        return `it runs \`${cmd.join(" ")}\``;
    }
  }
  return undefined;
}

/** A plist's dictionary; undefined when it cannot be read as an XML plist (a binary one is not read). */
function readPlist(text: string | undefined): JobPlist | undefined {
  if (!text?.trimStart().startsWith("<")) return undefined;
  try {
    const parsed = parsePlist(text);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as JobPlist) : undefined;
  } catch {
    return undefined;
  }
}

/** Every plist of a folder, parsed (absent folder: none). */
async function plistsIn(mac: Mac, dir: string): Promise<{ path: string; def: JobPlist }[]> {
  const names = (await seenBy(() => mac.listDir(dir), [])).filter((n) => n.endsWith(".plist") && !n.startsWith("com.apple."));
  const read = await Promise.all(names.map(async (n) => ({ path: `${dir}/${n}`, def: readPlist(await mac.readFile(`${dir}/${n}`)) })));
  return read.filter((r): r is { path: string; def: JobPlist } => r.def !== undefined && typeof r.def.Label === "string");
}

/** What `look` finds, or `unseen` for an operator whose sudo wants a password: they see what
 *  they may see (the Homebrew user's ~/Library is drwx------), and the pre-flight (checkSudo)
 *  tells them, with the sudoers lines, before anything changes. */
async function seenBy<T>(look: () => Promise<T>, unseen: T): Promise<T> {
  try {
    return await look();
  } catch (e) {
    if ((e as Error).name === "SudoError") return unseen;
    throw e;
  }
}

/** Whether `target` is loaded, asked as root (launchctl is one of ROOT_COMMANDS). */
async function loaded(mac: Mac, target: string): Promise<boolean> {
  const print = () => mac.asRoot([hostPath(mac.host, "/bin/launchctl"), "print", target], { allowFailure: true, timeoutMs: 15_000 });
  return (await seenBy(print, undefined))?.exitCode === 0;
}

/** The profile a colima-pulse supervisor script supervises (its `PROFILE='…'` line). */
function profileOfScript(script: string): string | undefined {
  const m = /^PROFILE='((?:[^']|'\\'')*)'$/m.exec(script);
  return m ? (m[1] as string).replace(/'\\''/g, "'") : undefined;
}

/** The survey's look (read-only): jobs that start `profile` other than `brew services`' (./launchd.ts)
 *  and colima-pulse's own `label`, and colima-pulse LaunchDaemons of other labels. */
export async function findOtherJobs(mac: Mac, label: string, profile: string): Promise<{ autostarts: SeenJob[]; pulse: PulseJobs }> {
  const host = mac.host;
  const home = homeOf(host);
  const [daemons, agents, shared] = await Promise.all([
    plistsIn(mac, hostPath(host, "/Library/LaunchDaemons")),
    plistsIn(mac, `${home}/Library/LaunchAgents`),
    plistsIn(mac, hostPath(host, "/Library/LaunchAgents")),
  ]);
  // A label or path launchctl and rm take as one word (the LaunchDaemon's schema checks them again).
  const skip = (l: unknown, path: string) =>
    l === label || CONFLICTING_LABELS.includes(l as string) || !SAFE_LABEL.test(l as string) || !SAFE_PATH.test(path);
  const found: { label: string; path: string; why: string; system: boolean }[] = [];
  for (const { path, def } of daemons) {
    if (skip(def.Label, path) || def.UserName !== host.user) continue;
    const why = startsProfile(def, profile, home);
    if (why) found.push({ label: def.Label as string, path, why, system: true });
  }
  for (const { path, def } of [...agents, ...shared]) {
    if (skip(def.Label, path)) continue;
    const why = startsProfile(def, profile, home);
    if (why) found.push({ label: def.Label as string, path, why, system: false });
  }
  const uid = found.some((f) => !f.system)
    ? (await mac.run([hostPath(host, "/usr/bin/id"), "-u", host.user], { allowFailure: true })).stdout.trim()
    : "";
  const autostarts = await Promise.all(
    found.map(async (f): Promise<SeenJob> => {
      const domains = f.system ? ["system"] : [`gui/${uid}`, `user/${uid}`];
      const where = await Promise.all(domains.map((d) => loaded(mac, `${d}/${f.label}`)));
      return { label: f.label, domain: f.system ? "system" : `gui/${uid}`, plist: f.path, why: f.why, loaded: where.some(Boolean) };
    }),
  );

  // colima-pulse's LaunchDaemons: `/bin/sh <Application Support/colima-pulse/<Label>.sh>`, the
  // shape provider/launchDaemon.ts renderPlist gives every one, whatever LABEL is.
  const sh = hostPath(host, "/bin/sh");
  const ours = daemons.filter(
    ({ def, path }) =>
      !skip(def.Label, path) &&
      Array.isArray(def.ProgramArguments) &&
      def.ProgramArguments.length === 2 &&
      def.ProgramArguments[0] === sh &&
      def.ProgramArguments[1] === supervisorScript(host, def.Label as string),
  );
  const stale: SeenJob[] = [];
  const others: PulseJobs["others"] = [];
  const myId = colimaProfile(profile).id;
  for (const { path, def } of ours) {
    const jobLabel = def.Label as string;
    const script = supervisorScript(host, jobLabel);
    const theirs = profileOfScript((await mac.readFile(script)) ?? "");
    const rule = hostPath(host, `/etc/newsyslog.d/${jobLabel}.conf`);
    const job = { label: jobLabel, domain: "system", plist: path, script, rule };
    let why: string | undefined;
    if (theirs === undefined) why = `colima-pulse LaunchDaemon ${jobLabel}: its supervisor ${script} is gone or unreadable`;
    else if (colimaProfile(theirs).id === myId)
      // This stack's own job under its earlier LABEL (a LABEL change replaces it in this very run),
      // or another stack's for the same profile: not this run's to judge.
      others.push({ label: jobLabel, profile: theirs });
    else {
      const paths = colimaPaths(host, theirs);
      const [config, instance] = await Promise.all([mac.exists(`${paths.configDir}/colima.yaml`), mac.exists(paths.instanceDir)]);
      if (!config && !instance)
        why = `colima-pulse LaunchDaemon ${jobLabel} supervises profile ${theirs}, which no longer exists on this Mac`;
      else others.push({ label: jobLabel, profile: theirs });
    }
    if (why) stale.push({ ...job, why, loaded: await loaded(mac, `system/${jobLabel}`) });
  }
  return { autostarts, pulse: { stale, others } };
}

/** Boots each job out (an agent: of the Homebrew user's gui and user domains) and removes its
 *  plist — and a stale colima-pulse job's supervisor script and newsyslog rule — as its owner:
 *  the Homebrew user for its own LaunchAgents, root for the rest (rm is one of ROOT_COMMANDS).
 *  Returns what it removed. */
export async function removeOtherJobs(mac: Mac, jobs: OtherJob[], uid: string, log: (m: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const job of jobs) {
    const domains = job.domain === "system" ? ["system"] : [`gui/${uid}`, `user/${uid}`];
    for (const domain of domains) if (await bootout(mac, `${domain}/${job.label}`)) log(`booted out ${domain}/${job.label} (${job.why})`);
    const files = [job.plist, ...(job.script ? [job.script] : []), ...(job.rule ? [job.rule] : [])];
    // An agent in the Homebrew user's ~/Library/LaunchAgents is removed as that user: root never
    // follows a path through a folder another user can change (a link there would aim root's rm).
    const own = job.plist.startsWith(`${homeOf(mac.host)}/`);
    const rm = [hostPath(mac.host, "/bin/rm"), "-f", ...files];
    const r = own ? await mac.asUser(rm, { allowFailure: true }) : await mac.asRoot(rm, { allowFailure: true });
    if (r.exitCode !== 0) throw new Error(`could not remove ${files.join(", ")}: ${r.stderr.trim()}`);
    log(`removed ${files.join(", ")}`);
    removed.push(`${job.domain}/${job.label}`);
  }
  return removed;
}
