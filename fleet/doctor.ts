// `npm run doctor [-- --stack NAME] [--json]`: this Mac's status, read-only (README "Fleet":
// `fleet status` for one stack, fleet/status.ts), one line per check, each `ok` or what is wrong
// and the exact command that fixes it. The rules from a status row to problems and fixes are one
// pure function (checksOf); the rest asks the Mac and prints.
import { resolve } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { formatAge, formatSize } from "../provider/lib/backups";
import { colimaPaths, hostOf, hostPath, shellQuote } from "../provider/lib/host";
import { macOf, SUDOERS_FILE, sudoersLines } from "../provider/lib/mac";
import type { Settings } from "../stacks/config";
import { noSecrets, type Redact, redactDeep, stackRedactor } from "./redact";
import { failureOf, openStack } from "./runner";
import { emptyRow, fleetStatus, type MacStatus, stackSettings } from "./status";

const USAGE = `npm run doctor [-- options]

This Mac's status, read-only: reachable, the supervisor (the LaunchDaemon's job), Docker on the
profile's socket, drift (a refreshed preview), FileVault, the last converge and the backups; for
each problem, the command that fixes it. Nothing on the Mac or in the stack changes.

Options:
  --stack <name>   the stack to check (default: COLIMA_PULSE_STACK, which npm run doctor sets to
                   this Mac's short host name, or to the simulated Mac of a running npm run demo)
  --json           the status row and its problems ({check, problem, fix}) as JSON
  --help           this text

Exit code: 0 when nothing is wrong, 1 when something is, 2 for bad usage.`;

export interface Args {
  stack: string;
  json: boolean;
}

/** The command line, or an error naming the argument, its value and what is allowed. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): Args | { help: true } {
  let stack = env.COLIMA_PULSE_STACK || undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--help" || a === "-h") return { help: true };
    if (a === "--json") json = true;
    else if (a === "--stack") {
      const v = argv[++i];
      if (v === undefined || v.startsWith("-")) throw new Error("--stack (command line) needs a value");
      stack = v;
    } else throw new Error(`${JSON.stringify(a)} (command line): unknown option (allowed: --stack, --json, --help)`);
  }
  if (!stack) throw new Error("no stack: give --stack <name>, or set COLIMA_PULSE_STACK (npm run doctor sets it)");
  // Pulumi's own rule for a stack name (alphanumerics, hyphens, underscores, periods).
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new Error(`stack = ${JSON.stringify(stack)}: must be letters, digits, _ . -`);
  return { stack, json };
}

/** The settings the fixes name. */
export type DoctorSettings = Pick<Settings, "HOMEBREW_USER" | "COLIMA_PROFILE" | "LABEL" | "LOG_PATH" | "MAX_FAILED_STARTS"> &
  Partial<Pick<Settings, "SSH_HOST" | "SSH_PORT" | "SSH_IDENTITY_FILE" | "SSH_KNOWN_HOSTS_FILE">>;

/** What the rules know besides the status row. */
export interface Facts {
  /** The stack is in this checkout's backend. */
  stackExists: boolean;
  /** Why the backend's stacks could not be listed (then stackExists is false). */
  stackError?: string;
  /** Its settings; undefined when there is no stack or they could not be read. */
  settings?: DoctorSettings;
  /** Settings whose value is a secret: a fix names them, never shows them. */
  secrets?: string[];
  /** The simulated Mac's root (COLIMA_PULSE_HOST_ROOT); "/" on a Mac. */
  root: string;
  /** SIM_USER, the simulated Mac's operator (with a simulated root only). */
  simUser?: string;
  /** The stack `npm run converge` converges without being told (COLIMA_PULSE_STACK). */
  defaultStack?: string;
  /** The supervisor's last line in its log (when Docker does not answer while it runs). */
  lastWord?: { at: string; said: string };
  now: number;
}

export interface Check {
  check: string;
  state: "ok" | "problem" | "skipped";
  detail: string;
  fix?: string;
}

export interface Problem {
  check: string;
  problem: string;
  fix: string;
}

/** A word as a shell takes it: quoted only when it has to be (a `<NAME>` placeholder is not). */
const word = (w: string) => (/^[\w@%+=:,./<>-]+$/.test(w) ? w : shellQuote(w));

/** The supervisor's last line of its own (`<time> colima-pulse[pid] …`, renderSupervisor in
 *  provider/launchDaemon.ts) in the end of its log. */
export function lastWordOf(logTail: string): { at: string; said: string } | undefined {
  const lines = logTail.split("\n").map((l) => /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) colima-pulse\[\d+\] (.*)$/.exec(l.trim()));
  const last = lines.filter((m) => m !== null).at(-1);
  return last ? { at: last[1] as string, said: last[2] as string } : undefined;
}

/** Every check, `ok` or the problem and its fix: the doctor's rules, from the status row alone. */
export function checksOf(status: MacStatus, facts: Facts): Check[] {
  const stack = status.stack;
  const s = facts.settings;
  const sim = facts.root !== "/";
  /** A setting's value, or `<KEY>` when it is a secret. */
  const shown = (key: keyof DoctorSettings): string => (facts.secrets?.includes(key) ? `<${key}>` : String(s?.[key] ?? `<${key}>`));
  const macPath = (path: string) => (sim ? hostPath({ root: facts.root }, path) : path);
  /** A macOS tool: its name on a Mac, its path in the simulated Mac's root. */
  const tool = (name: string, path: string) => (sim ? hostPath({ root: facts.root }, path) : name);
  const sshOptions = () => [
    ...(s?.SSH_PORT !== undefined ? ["-p", String(s.SSH_PORT)] : []),
    ...(s?.SSH_IDENTITY_FILE ? ["-i", shown("SSH_IDENTITY_FILE")] : []),
    ...(s?.SSH_KNOWN_HOSTS_FILE ? ["-o", `UserKnownHostsFile=${shown("SSH_KNOWN_HOSTS_FILE")}`] : []),
  ];
  /** A command on the Mac: as is on this Mac, through ssh on one reached over SSH. */
  const onMac = (argv: string[]) => {
    const line = argv.map(word).join(" ");
    return s?.SSH_HOST ? ["ssh", ...sshOptions(), shown("SSH_HOST")].map(word).concat(shellQuote(line)).join(" ") : line;
  };
  const simEnv = sim ? [`COLIMA_PULSE_HOST_ROOT=${facts.root}`, ...(facts.simUser ? [`SIM_USER=${facts.simUser}`] : [])] : [];
  /** The converge of this stack: `npm run converge` here, `npm run fleet -- up` for a Mac over SSH. */
  const converge = () => {
    if (s?.SSH_HOST) {
      const roots = sim ? [`COLIMA_PULSE_FLEET_HOST_ROOTS=${shellQuote(JSON.stringify({ [stack]: facts.root }))}`] : [];
      return [...roots, "npm run fleet -- up --stacks", stack].join(" ");
    }
    // Off a Mac, a plain `npm run converge` boots its own simulated Mac (scripts/converge.sh); with
    // COLIMA_PULSE_HOST_ROOT it converges the one already running.
    const named = sim || stack !== facts.defaultStack ? [`COLIMA_PULSE_STACK=${stack}`] : [];
    return [...simEnv, ...named].map(word).concat("npm run converge").join(" ");
  };
  const previewDiff = () => [...simEnv.map(word), "pulumi preview --refresh --diff --stack", stack].join(" ");
  const logPath = facts.secrets?.includes("LOG_PATH") ? "<LOG_PATH>" : macPath(s?.LOG_PATH ?? "<LOG_PATH>");
  // tail is the system's own also in the simulator (test/simulator/simulator.ts PASSTHROUGH).
  const tailLog = () => onMac(["tail", "-n", "50", logPath]);
  const launchctlPrint = () =>
    onMac([tool("sudo", "/usr/bin/sudo"), tool("launchctl", "/bin/launchctl"), "print", `system/${shown("LABEL")}`]);
  const target = `system/${shown("LABEL")}`;
  /** Who ssh logs in as: SSH_HOST's user, else ssh's own choice (its config, or this user). */
  const sshUser = shown("SSH_HOST").includes("@") ? shown("SSH_HOST").replace(/@.*$/, "") : "the login user";

  const checks: Check[] = [];
  const ok = (check: string, detail: string) => checks.push({ check, state: "ok", detail });
  const problem = (check: string, detail: string, fix: string) => checks.push({ check, state: "problem", detail, fix });
  const skipped = (check: string, why: string) => checks.push({ check, state: "skipped", detail: why });
  const macChecks = ["supervisor", "docker", "workloads", "drift", "filevault", "other-starters", "denied-versions", "backups"];

  // The stack: there, and converged once.
  if (facts.stackError) {
    problem(
      "stack",
      `could not list this checkout's stacks: ${facts.stackError}`,
      "pulumi stack ls (the same error, whole), then npm run doctor",
    );
    for (const c of ["reachable", ...macChecks]) skipped(c, "no stack");
    return checks;
  }
  if (!facts.stackExists) {
    problem("stack", `no stack ${stack} in this checkout's backend: this Mac was never converged from here`, converge());
    for (const c of ["reachable", ...macChecks]) skipped(c, "no stack");
    return checks;
  }
  if (!status.lastConverge) problem("stack", `stack ${stack} has never converged`, converge());
  else ok("stack", `${stack}, last converged ${status.lastConverge} (${formatAge(status.lastConverge, facts.now)} ago)`);

  // Reachable: the Mac answers (ssh, or this machine), or why not.
  const where = s?.SSH_HOST
    ? `${shown("SSH_HOST")}${s.SSH_PORT ? `:${s.SSH_PORT}` : ""} over SSH`
    : sim
      ? `the simulated Mac at ${facts.root}`
      : "this Mac";
  const reach = status.reachable;
  if (reach === "yes") ok("reachable", where);
  else if (reach.startsWith("no: ")) {
    const said = reach.slice(4);
    const sshTrue = ["ssh", ...sshOptions(), shown("SSH_HOST"), "true"].map(word).join(" ");
    const hostName = shown("SSH_HOST").replace(/^.*@/, "");
    const keyName = s?.SSH_PORT ? `[${hostName}]:${s.SSH_PORT}` : hostName;
    const knownHosts = s?.SSH_KNOWN_HOSTS_FILE ? shown("SSH_KNOWN_HOSTS_FILE") : "~/.ssh/known_hosts";
    const keyscan = `ssh-keyscan${s?.SSH_PORT ? ` -p ${s.SSH_PORT}` : ""} ${word(hostName)}`;
    let fix: string;
    if (/this machine is not a Mac/.test(said))
      // provider/lib/mac.ts refuses a local Mac at / off a Mac; scripts/lib.sh target_this_mac finds the demo's.
      fix = `off a Mac, check the simulated Mac: npm run demo (in another terminal), then npm run doctor; or point the stack at a Mac over SSH: pulumi config set SSH_HOST <user@mac> --stack ${stack}`;
    else if (!s?.SSH_HOST) fix = `make \`${onMac([tool("id", "/usr/bin/id"), "-un"])}\` answer on this Mac, then npm run doctor`;
    else if (/Host key verification failed|REMOTE HOST IDENTIFICATION/.test(said))
      // As provider/lib/mac.ts (sshError) says it: host keys are checked, never accepted unseen.
      fix = `compare \`${keyscan} | ssh-keygen -lf -\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the Mac; if they match: ssh-keygen -R ${word(keyName)} -f ${knownHosts} (an old key, if the Mac was reinstalled), then ${keyscan} >> ${knownHosts}; then ${sshTrue}`;
    else if (/Permission denied \(/.test(said))
      fix = `add your public key to ~/.ssh/authorized_keys of ${sshUser} on the Mac${s.SSH_IDENTITY_FILE ? "" : ", or set SSH_IDENTITY_FILE to the key that is there"}; then ${sshTrue}`;
    else fix = `make ${sshTrue} answer (the Mac on, on the network, sshd on: Remote Login), then npm run doctor`;
    problem("reachable", `not reachable: ${said}`, fix);
  } else {
    const why = reach.replace(/^unknown: ?/, "");
    problem(
      "reachable",
      `could not tell: ${why || "the stack did not open"}`,
      /^Invalid colima-pulse configuration/.test(why)
        ? `fix the setting it names in stacks/Pulumi.${stack}.yaml (or: pulumi config set <KEY> <value> --stack ${stack}), then npm run doctor`
        : `pulumi stack select ${stack} (the same error, whole), then npm run doctor`,
    );
  }
  if (reach !== "yes" || !s) {
    for (const c of macChecks) skipped(c, reach.startsWith("no: ") ? "not reachable" : "could not tell");
    return checks;
  }

  // The supervisor: the LaunchDaemon's job, loaded and running (fleet/status.ts supervisorOf).
  const sup = status.supervisor;
  const runs = sup === "running" || sup.startsWith("restarting");
  if (sup === "running") ok("supervisor", `running (${target})`);
  else if (sup === "not loaded")
    problem("supervisor", `${target} is not loaded: nothing starts Colima, at boot or after a crash`, `${converge()} (loads it again)`);
  else if (sup.startsWith("gave up"))
    problem(
      "supervisor",
      `${sup.replace(/: `pulumi up` restarts it$/, "")}: nothing restarts Colima (why: ${tailLog()})`,
      `${converge()} (a plain \`pulumi up\` restarts it with fresh counts)`,
    );
  else if (sup.startsWith("restarting"))
    problem(
      "supervisor",
      `${sup}: it gives up after ${s.MAX_FAILED_STARTS} in a row`,
      `see why in its log: ${tailLog()}; once the cause is gone it comes up by itself`,
    );
  else if (/sudo/.test(sup)) {
    // The user sudo refused, as checkSudo names it (provider/lib/mac.ts); its fix is the sudoers
    // lines for that user: a `sudo -v` never reaches colima-pulse's sudo, which has no terminal.
    const who =
      /: (\S+) cannot run colima-pulse's root commands/.exec(sup)?.[1] ??
      (s.SSH_HOST ? sshUser.replace(/^the login user$/, "<login user>") : (facts.simUser ?? "<you>"));
    const lines = sudoersLines({ root: facts.root, user: shown("HOMEBREW_USER") }, /^<.*>$/.test(who) ? "WHO" : who).map((l) =>
      l.replace(/^WHO /, `${who} `),
    );
    problem(
      "supervisor",
      `could not ask launchd: ${sup.replace(/^unknown: /, "").replace(/ A `sudo -v` cannot help: [\s\S]*$/, "")}`,
      `${s.SSH_HOST ? `on ${shown("SSH_HOST")}: ` : ""}sudo visudo -f ${macPath(SUDOERS_FILE)} and put in it ${lines.map((l) => `\`${l}\``).join(" and ")} ` +
        "(a `sudo -v` does not reach colima-pulse's sudo, which runs with no terminal), then npm run doctor",
    );
  } else problem("supervisor", `could not ask launchd: ${sup.replace(/^unknown: /, "")}`, launchctlPrint());

  // Docker on the profile's socket, asked as the API gate asks it.
  const socket = facts.secrets?.includes("HOMEBREW_USER")
    ? "the profile's socket"
    : colimaPaths(hostOf(facts.root, s), s.COLIMA_PROFILE).dockerSocket;
  if (status.docker) ok("docker", `Docker ${status.docker} answers on ${socket}`);
  else if (status.fileVault === "locked: waiting for unlock")
    problem("docker", `Docker does not answer on ${socket}: FileVault has not unlocked the disk since the last boot`, unlock(s));
  else if (runs) {
    const said = facts.lastWord
      ? `; the supervisor's last word, ${formatAge(facts.lastWord.at, facts.now)} ago (${facts.lastWord.at}): ${facts.lastWord.said}`
      : "; its log has no line of the supervisor's yet";
    problem("docker", `Docker does not answer on ${socket} while the supervisor runs${said}`, `${tailLog()}; ${launchctlPrint()}`);
  } else problem("docker", `Docker does not answer on ${socket}: nothing runs Colima (supervisor: ${sup})`, `${converge()} (starts it)`);

  // Workloads: the restart-policy containers after the last start, as the supervisor found them
  // (its times file: fleet/status.ts; README "Workloads after a reboot").
  const boot = status.boot;
  const toDocker = boot?.toDockerSeconds !== undefined ? `boot-to-Docker ${boot.toDockerSeconds}s` : "";
  if (boot?.notReady)
    problem(
      "workloads",
      `not back within WAIT_WORKLOADS_MAX after the last start${toDocker ? ` (${toDocker})` : ""}: ${boot.notReady}`,
      `${onMac([tool("docker", "<brew prefix>/bin/docker"), "--host", `unix://${socket}`, "ps", "-a"])} (each container's state; docker inspect <name> says why), then ${tailLog()}`,
    );
  else if (boot?.toWorkloadsSeconds !== undefined)
    ok("workloads", `back after the last start: ${toDocker ? `${toDocker}, ` : ""}boot-to-workloads ${boot.toWorkloadsSeconds}s`);
  else
    ok("workloads", `not waited for since the last start${toDocker ? ` (${toDocker})` : ""}: WAIT_WORKLOADS_MAX 0, or the wait still runs`);

  // Drift: what a refreshed preview would change.
  if (status.drift === "none") ok("drift", "none: the Mac is as the last converge left it");
  else if (status.drift.startsWith("unknown: "))
    problem(
      "drift",
      `a refreshed preview failed: ${status.drift.slice(9)}`,
      `what the error says, then npm run doctor (${previewDiff()} shows it whole)`,
    );
  else problem("drift", `a converge would: ${status.drift}`, `${converge()} (to see each change first: ${previewDiff()})`);

  // FileVault: a locked disk keeps the Homebrew user's home, and so Colima, down.
  if (status.fileVault === "On" || status.fileVault === "Off") ok("filevault", status.fileVault);
  else if (status.fileVault === "locked: waiting for unlock")
    problem(
      "filevault",
      `locked: the disk has not been unlocked since the last boot; ${shown("HOMEBREW_USER")}'s home and Docker wait for it`,
      unlock(s),
    );
  else
    problem(
      "filevault",
      `could not read FileVault's state (${status.fileVault})`,
      onMac([tool("sudo", "/usr/bin/sudo"), tool("fdesetup", "/usr/bin/fdesetup"), "status"]),
    );

  // Other jobs that start the profile (README "Other autostarts"): up removes them; stale
  // colima-pulse jobs only on the operator's decision.
  const starters = status.otherStarters;
  if (!starters) skipped("other-starters", "launchd's job folders could not be read");
  else if (starters.autostarts.length > 0)
    problem(
      "other-starters",
      `other launchd jobs start profile ${shown("COLIMA_PROFILE")} too: ${starters.autostarts.join(", ")}`,
      `${converge()} (boots them out and removes them)`,
    );
  else if (starters.stale.length > 0)
    problem(
      "other-starters",
      `colima-pulse jobs a stack that is gone left: ${starters.stale.join(", ")}`,
      `${[...simEnv, ...(stack !== facts.defaultStack || sim ? [`COLIMA_PULSE_STACK=${stack}`] : [])].map(word).concat("npm run remove-stale-jobs").join(" ")} (previewed; removes them)`,
    );
  else ok("other-starters", "none: only this stack's LaunchDaemon starts the profile");

  // Versions the fleet denies (VERSION_DENYLIST), installed.
  if (status.denied && status.denied.length > 0)
    problem(
      "denied-versions",
      `installed versions VERSION_DENYLIST denies: ${status.denied.join(", ")}`,
      "npm run upgrade (to versions the list does not deny)",
    );
  else ok("denied-versions", "none of VERSION_DENYLIST's installed");

  // Backups: not a problem; what `npm run restore` takes.
  if (status.backups.length === 0) ok("backups", "none");
  else
    ok(
      "backups",
      `${status.backups.length}, newest first (npm run restore -- <folder>):${status.backups
        .map((b) => `\n  ${b.path}  ${formatSize(b.bytes)}  ${formatAge(b.made, facts.now)} old`)
        .join("")}`,
    );
  return checks;
}

/** FileVault's fix: someone logs in once (provider/homebrewPackages.ts fileVaultNote). */
function unlock(s: DoctorSettings): string {
  return `unlock the Mac: log in once${s.SSH_HOST ? " at its screen (or Screen Sharing)" : ""}; the LaunchDaemon starts Colima once the home is there, nothing to run`;
}

/** The checks that are problems, as `--json` gives them. */
export function problemsOf(status: MacStatus, facts: Facts): Problem[] {
  return checksOf(status, facts)
    .filter((c) => c.state === "problem")
    .map((c) => ({ check: c.check, problem: c.detail, fix: c.fix as string }));
}

/** The vertical report: a line per check, and each problem's fix under it. */
export function report(status: MacStatus, checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.check.length));
  const lines = [`colima-pulse doctor: stack ${status.stack} (read-only)`, ""];
  for (const c of checks) {
    const [first, ...rest] = c.detail.split("\n");
    const state = { ok: "ok", problem: "PROBLEM", skipped: "-" }[c.state];
    lines.push(`${c.check.padEnd(width)}  ${state.padEnd(7)}  ${first}`);
    for (const r of rest) lines.push(`${" ".repeat(width + 11)}${r}`);
    if (c.fix) lines.push(`${" ".repeat(width + 11)}fix: ${c.fix}`);
  }
  // What the stack recorded (fleet/status.ts): not checks, the numbers `fleet status` shows too.
  const v = status.versions;
  const g = status.gates;
  if (v.colima || v.lima || v.qemu || g) lines.push("");
  if (v.colima || v.lima || v.qemu) lines.push(`versions: colima ${v.colima ?? "?"}, lima ${v.lima ?? "?"}, qemu ${v.qemu ?? "?"}`);
  if (g) lines.push(`gates, the last time they ran: socket ${g.socket} ms, qemu ${g.qemu} ms, api ${g.api} ms, stable ${g.stable} ms`);
  const problems = checks.filter((c) => c.state === "problem");
  lines.push(
    "",
    problems.length === 0
      ? "nothing is wrong"
      : `${problems.length} problem${problems.length > 1 ? "s" : ""}: ${problems.map((p) => p.check).join(", ")}`,
  );
  return lines.join("\n");
}

/** Asks the Mac of stack `name` (fleet status for one stack), and what the rules need besides. */
export async function diagnose(
  workDir: string,
  name: string,
  env: NodeJS.ProcessEnv,
  now = Date.now(),
): Promise<{ status: MacStatus; facts: Facts; redact: Redact }> {
  const root = env.COLIMA_PULSE_HOST_ROOT || "/";
  // The simulated Mac's root, passed to the stack's workspace as fleet/cli.ts passes each of
  // COLIMA_PULSE_FLEET_HOST_ROOTS; none on a Mac.
  const stackEnv: Record<string, string> = env.COLIMA_PULSE_HOST_ROOT ? { COLIMA_PULSE_HOST_ROOT: env.COLIMA_PULSE_HOST_ROOT } : {};
  const facts: Facts = { stackExists: false, root, now, defaultStack: env.COLIMA_PULSE_STACK };
  if (root !== "/" && env.SIM_USER) facts.simUser = env.SIM_USER;
  // Listed first: opening a stack that is not there would create it (runner.ts openStack).
  let names: string[];
  try {
    const ws = await LocalWorkspace.create({ workDir, envVars: stackEnv });
    names = (await ws.listStacks()).map((s) => s.name);
  } catch (e) {
    // The Automation API's error wraps the CLI's output; its `error:` line says it.
    const said = /^\s*(?:stderr: )?error: (.*)$/m.exec((e as Error).message)?.[1];
    return { status: emptyRow(name), facts: { ...facts, stackError: said ?? failureOf([], e) }, redact: noSecrets };
  }
  if (!names.some((s) => s === name || s.endsWith(`/${name}`))) return { status: emptyRow(name), facts, redact: noSecrets };
  facts.stackExists = true;
  // Every text of the report is redacted with the stack's secrets (redact.ts), as fleet status's rows are.
  let redact: Redact = noSecrets;
  try {
    const stack = await openStack(workDir, name, stackEnv);
    redact = await stackRedactor(stack);
    const resolved = await stackSettings(workDir, name, stack);
    facts.settings = resolved.settings;
    facts.secrets = resolved.secrets;
  } catch {
    // fleetStatus says why, in the row.
  }
  let status: MacStatus;
  try {
    [status] = (await fleetStatus(workDir, [name], 1, () => stackEnv)) as [MacStatus];
  } catch (e) {
    // Not expected (fleetStatus puts every failure in the row), but a report, never a stack trace.
    status = { ...emptyRow(name), reachable: `no: ${(e as Error).message.split("\n")[0]}` };
  }
  const s = facts.settings;
  if (
    s &&
    status.reachable === "yes" &&
    !status.docker &&
    (status.supervisor === "running" || status.supervisor.startsWith("restarting"))
  ) {
    // How long Docker has been silent: the supervisor's last line in its log says what it did when.
    const mac = macOf(hostOf(root, s));
    facts.lastWord = lastWordOf(await mac.tail(hostPath(mac.host, s.LOG_PATH), 50).catch(() => ""));
  }
  return { status, facts, redact };
}

async function main(): Promise<number> {
  let args: Args | { help: true };
  try {
    args = parseArgs(process.argv.slice(2), process.env);
    const root = process.env.COLIMA_PULSE_HOST_ROOT;
    if (root && !root.startsWith("/"))
      throw new Error(`COLIMA_PULSE_HOST_ROOT (environment) = ${JSON.stringify(root)}: must be an absolute path (a simulated Mac's root)`);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if ("help" in args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { status, facts, redact } = await diagnose(resolve(__dirname, ".."), args.stack, process.env);
  const problems = problemsOf(status, facts);
  process.stdout.write(
    args.json
      ? `${JSON.stringify(redactDeep({ ...status, problems }, redact), null, 2)}\n`
      : `${redact(report(status, checksOf(status, facts)))}\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
