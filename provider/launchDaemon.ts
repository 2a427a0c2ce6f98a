// LaunchDaemon: the system-domain job that keeps the profile running with nobody logged in.
// launchd runs a small supervisor (the "pulse") as the Homebrew user: it starts
// `colima start --foreground`, watches the VM (colima does not notice its VM dying: docs/ARCHITECTURE.md §2),
// and exits non-zero when it died, so KeepAlive {SuccessfulExit: false} + ThrottleInterval start
// everything again, a bounded number of times. On launchd's SIGTERM it stops Colima cleanly.
// The job is not `su - user -c …`: macOS su puts the command in its own process group and dies on
// SIGTERM without passing it on (shell_cmds su/su.c), so launchd could never stop Colima.
// Files are written root:wheel (plist 0644, script 0755); the job is reloaded only when they change.
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { build as buildPlist, parse as parsePlist } from "plist";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, NOT_YET_KNOWN, say, UNKNOWN, type Zod } from "./lib/checkInputs";
import { profileChange } from "./lib/generation";
import { colimaPaths, hostPath, type Machine, type MachineArgs, shellQuote, withLock } from "./lib/host";
import {
  CONFLICTING_LABELS,
  conflictDomains,
  explainBootstrapFailure,
  isLoaded,
  jobState,
  bootout as launchdBootout,
  removeConflictingJobs,
} from "./lib/launchd";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { settingSchemas } from "./lib/settingsSchema";
import { sweepShell } from "./lib/staleState";
import { notRunningBecause, PRUNE_MAX_SECONDS, type SupervisorSeen, supervisorFiles, supervisorScript } from "./lib/supervisor";

/** macOS's `staff` group (gid 20 on every Mac): the job's GroupName, and its log's group. */
export const STAFF_GID = 20;

// ---- Args ---------------------------------------------------------------------------------

export interface LaunchDaemonArgs extends MachineArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  /** launchd label (LABEL). */
  label: pulumi.Input<string>;
  /** stdout/stderr of the job (LOG_PATH). */
  logPath: pulumi.Input<string>;
  /** Seconds between restarts (launchd ThrottleInterval). Default 10, launchd's own. */
  throttleInterval?: pulumi.Input<number>;
  /** Seconds launchd waits after SIGTERM before SIGKILL (a `colima stop` takes a while). Default 120. */
  exitTimeOut?: pulumi.Input<number>;
  /** Failed starts in a row after which the supervisor stops retrying. Default 5. */
  maxFailedStarts?: pulumi.Input<number>;
  /** The profile's provisioning generation: a re-provisioned profile means a reload. */
  profileGeneration: pulumi.Input<string>;
  /** Seconds a start may take before the supervisor counts it as failed. Default 300. */
  startupGrace?: pulumi.Input<number>;
  /** Prune after each start (PRUNE_DOCKER_AFTER_START/PRUNE_MODE): "" (off), dangling, images, system. */
  pruneMode?: pulumi.Input<string>;
  /** Installed versions of colima, lima and qemu (HomebrewPackages): an upgrade restarts the VM under them. */
  versions?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** API_HANG_SECONDS: a VM whose Docker API is silent this long is restarted (0: never). Default 120. */
  apiHangSeconds?: pulumi.Input<number>;
  /** The supervisor as the program's survey saw it on the Mac just now (provider/lib/supervisor.ts):
   *  one that is not running (it gave up, or was stopped) is started again by this run's `up`,
   *  without a refresh. Absent on a Mac that has no LaunchDaemon yet. */
  supervisor?: pulumi.Input<SupervisorSeen>;
}

// ---- schema and types ---------------------------------------------------------------------

export function launchDaemonSchema(z: Zod) {
  const path = z.string().regex(/^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/, "must be an absolute path of safe characters");
  const setting = settingSchemas(z);
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    label: setting.LABEL,
    prefix: path,
    profile: setting.COLIMA_PROFILE,
    cpus: setting.COLIMA_CPUS,
    memory: setting.COLIMA_MEMORY,
    disk: setting.COLIMA_DISK,
    arch: z.enum(["aarch64", "x86_64"]),
    logPath: setting.LOG_PATH,
    throttleInterval: setting.RESTART_THROTTLE_SECONDS.default(10),
    exitTimeOut: z.number().int().min(5).max(3600).default(120),
    maxFailedStarts: setting.MAX_FAILED_STARTS.default(5),
    profileGeneration: z.string(),
    startupGrace: z.number().int().min(10).max(7200).default(300),
    // "" when PRUNE_DOCKER_AFTER_START is off, else PRUNE_MODE.
    pruneMode: z.union([z.literal(""), setting.PRUNE_MODE]).default(""),
    versions: z
      .record(z.string().regex(/^(colima|lima|qemu)$/, "must be colima, lima or qemu"), z.string().regex(/^[\w.+-]*$/, "must be a version"))
      .default({}),
    apiHangSeconds: setting.API_HANG_SECONDS.default(120),
    supervisor: z
      .strictObject({
        running: z.boolean(),
        failedStarts: z.number().int().min(0),
        hungStops: z.number().int().min(0),
      })
      .optional(),
  });
}

export interface LaunchDaemonInputs extends Machine {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  label: string;
  logPath: string;
  throttleInterval: number;
  exitTimeOut: number;
  maxFailedStarts: number;
  profileGeneration: string;
  startupGrace: number;
  pruneMode: "" | "dangling" | "images" | "system";
  versions: Record<string, string>;
  apiHangSeconds: number;
  supervisor?: SupervisorSeen;
}

/** The docker prune each PRUNE_MODE means, after every start (the seed's PRUNE_*). */
export const PRUNE_ARGS: Record<string, string[]> = {
  dangling: ["image", "prune", "--force"],
  images: ["image", "prune", "--all", "--force"],
  system: ["system", "prune", "--force"],
};

export interface LaunchDaemonOutputs extends LaunchDaemonInputs {
  plistPath: string;
  scriptPath: string;
  /** sha256 of plist + script as on disk ("" when a file is missing). */
  filesHash: string;
  /** Whether `launchctl print system/<label>` found the job. */
  loaded: boolean;
  /** Conflicting Colima jobs found loaded (e.g. `brew services`' homebrew.mxcl.colima). */
  conflicts: string[];
  /** Whether the job's supervisor is running (false after it gave up on failed starts). */
  running: boolean;
  /** When this provider last (re)started the job (ISO; "" when it found the job running): the
   *  health gate proves each start. Absent only in state written by earlier versions. */
  started?: string;
}

// ---- pure functions -----------------------------------------------------------------------

export function daemonPaths(inputs: Pick<LaunchDaemonInputs, "host" | "label">) {
  return {
    plistPath: hostPath(inputs.host, `/Library/LaunchDaemons/${inputs.label}.plist`),
    scriptDir: hostPath(inputs.host, "/Library/Application Support/colima-pulse"),
    scriptPath: supervisorScript(inputs.host, inputs.label),
  };
}

/** The supervisor: POSIX sh, every value through shellQuote. What it does, in order:
 *  waits for the Homebrew user's home (FileVault, a late volume); gives up after MAX_FAILED_STARTS
 *  failed starts or hung-API restarts in a row; sweeps stale state (provider/lib/staleState.ts);
 *  waits for a network route when the start would provision (download) the VM; starts
 *  `colima start --foreground`; then every 2 s asks the Docker API (`/_ping`), and while it is
 *  silent `colima status` (bounded: on a hung guest it never answers), restarting a VM that
 *  vanished under colima or whose API stopped answering for API_HANG_SECONDS; once the API answers
 *  after a start, prunes Docker beside the supervision (PRUNE_MODE, when PRUNE_DOCKER_AFTER_START).
 *  Every line goes to LOG_PATH by its path (colima's through a
 *  pipe), so after newsyslog renames the file the next line lands in the new one. */
export function renderSupervisor(inputs: LaunchDaemonInputs): string {
  const q = shellQuote;
  const start = ["start", "--foreground", "--profile", inputs.profile, "--runtime", "docker", "--vm-type", "qemu"];
  start.push("--cpus", String(inputs.cpus), "--memory", String(inputs.memory), "--disk", String(inputs.disk), "--arch", inputs.arch);
  const paths = colimaPaths(inputs.host, inputs.profile);
  const files = supervisorFiles(inputs.host, inputs.profile);
  const max = inputs.maxFailedStarts;
  const hang = inputs.apiHangSeconds;
  const mode = inputs.pruneMode;
  const pruneArgs = (PRUNE_ARGS[mode] ?? []).map(q).join(" ");
  return `#!/bin/sh
# colima-pulse supervisor for Colima profile ${inputs.profile}, run by launchd job ${inputs.label}
# as ${inputs.host.user}. Generated by colima-pulse: edits are undone by the next \`pulumi up\`.
# Under ${
    Object.entries(inputs.versions ?? {})
      .map(([f, v]) => `${f} ${v}`)
      .join(", ") || "the installed versions"
  }: an upgrade rewrites this line, and the job reloads.
COLIMA=${q(`${inputs.prefix}/bin/colima`)}
PROFILE=${q(inputs.profile)}
LOG=${q(inputs.logPath)}
SOCK=${q(paths.dockerSocket)}
INSTANCE=${q(paths.instanceDir)}
FAILURES=${q(files.failures)}
HANGS=${q(files.hangs)}
GROUPFILE=${q(files.socketGroup)}
FIFO=${q(files.output)}
ROUTE=${q(hostPath(inputs.host, "/sbin/route"))}
CURL=${q(hostPath(inputs.host, "/usr/bin/curl"))}${
    mode
      ? `
DOCKER=${q(`${inputs.prefix}/bin/docker`)}
PRUNING=${q(files.pruning)}`
      : ""
  }
# By path, not through the descriptor launchd opened: a rotated log is never written to again.
say() { printf '%s\\n' "$*" >>"$LOG" 2>/dev/null || printf '%s\\n' "$*"; }
log() { say "$(date -u +%Y-%m-%dT%H:%M:%SZ) colima-pulse[$$] $*"; }
${sweepShell(inputs.host, inputs.profile)}
# wait_for WHAT TEST…: until TEST succeeds, saying what it waits for once a minute.
wait_for() {
  what=$1
  shift
  waited=0
  until "$@"; do
    [ $((waited % 60)) = 0 ] && log "waiting for $what (\${waited}s so far)"
    sleep 5
    waited=$((waited + 5))
  done
  [ "$waited" = 0 ] || log "$what: there after \${waited}s"
}
# An unmounted home is absent, or a bare mount point the user cannot write.
home_ready() { [ -d "$HOME" ] && [ -w "$HOME" ]; }
# route(8) exits 0 also without a route (route.c, newroute: exit(0) after a get); a route has an interface.
network_ready() { "$ROUTE" -n get default 2>/dev/null | grep -q 'interface:'; }
# bounded SECONDS CMD…: CMD's status, or 124 once it ran SECONDS (macOS has no timeout(1)).
bounded() {
  ticks=$(($1 * 5))
  shift
  "$@" >/dev/null 2>&1 &
  probe=$!
  while kill -0 "$probe" 2>/dev/null; do
    if [ "$ticks" -le 0 ]; then
      kill -KILL "$probe" 2>/dev/null
      wait "$probe" 2>/dev/null
      return 124
    fi
    sleep 0.2
    ticks=$((ticks - 1))
  done
  wait "$probe"
}

# Giving up is a clean exit: KeepAlive {SuccessfulExit: false} starts the job again only after a
# failure, so nothing runs until \`pulumi up\` removes the counts and kickstarts the job
# (provider/lib/supervisor.ts reads the same counts).
gave_up_starts() {
  log "gave up after $failed failed starts in a row; run \\\`pulumi up\\\` to try again"
  exit 0
}
gave_up_hangs() {
  log "gave up after ${max} restarts in a row for a Docker API that stopped answering; run \\\`pulumi up\\\` to try again"
  exit 0
}
# failed_start: one more failed start in a row; the last one allowed gives up, others restart.
# A failed \`colima start\` leaves Lima's usernet daemon running, and the next start removes its pid
# file (colima#1490: one leaked per attempt); a forced stop ends what the attempt left.
failed_start() {
  log "stopping what the failed start left running (colima stop --force)"
  bounded 60 "$COLIMA" stop --force --profile "$PROFILE"
  failed=$((failed + 1))
  echo "$failed" >"$FAILURES"
  [ "$failed" -ge ${max} ] && gave_up_starts
  exit 75
}

wait_for "$USER's home $HOME (FileVault not unlocked yet, or its volume not mounted)" home_ready
failed=$(cat "$FAILURES" 2>/dev/null || echo 0)
hangs=$(cat "$HANGS" 2>/dev/null || echo 0)
[ "$failed" -ge ${max} ] && gave_up_starts
[ "$hangs" -gt ${max} ] && gave_up_hangs
sweep
# Only a profile Lima has never created downloads anything at its start.
[ -f "$INSTANCE/lima.yaml" ] || wait_for "a network route (profile $PROFILE is provisioned at this start, which downloads its image)" network_ready
rm -f "$FIFO"
mkdir -p "\${FIFO%/*}" && mkfifo -m 600 "$FIFO" || FIFO=/dev/null
relay() { while IFS= read -r line; do say "$line"; done; }
[ "$FIFO" = /dev/null ] || relay <"$FIFO" &${
    mode
      ? `
# This start prunes once Docker answers (prune): the health gate waits while $PRUNING is there.
echo "pending: the prune after this start" >"$PRUNING"`
      : ""
  }
"$COLIMA" ${start.map(q).join(" ")} >"$FIFO" 2>&1 &
child=$!
stopping=0
trap 'stopping=1; log "stop requested: stopping Colima"; kill -TERM "$child" 2>/dev/null' TERM INT

# stop_hung: TERM colima (it stops the VM); a guest that cannot shut down is forced off after 30 s.
stop_hung() {
  kill -TERM "$child" 2>/dev/null
  n=0
  while kill -0 "$child" 2>/dev/null && [ "$n" -lt 30 ]; do
    sleep 1
    n=$((n + 1))
  done
  if kill -0 "$child" 2>/dev/null; then
    log "colima did not stop the VM within 30s: forcing it off (colima stop --force)"
    bounded 60 "$COLIMA" stop --force --profile "$PROFILE"
    kill -KILL "$child" 2>/dev/null
  fi
  wait "$child" 2>/dev/null
}
# give_socket: the group DockerAccess chose (DOCKER_SOCKET_GROUP) gets the socket lima made anew.
give_socket() {
  [ -f "$GROUPFILE" ] && read -r gid group <"$GROUPFILE" || return 0
  if chgrp "$gid" "$SOCK" && chmod 0660 "$SOCK"; then
    log "Docker socket $SOCK: group $group, mode 0660 (DOCKER_SOCKET_GROUP)"
  else
    log "could not give $SOCK to group $group: only $USER can use Docker"
  fi
}${
    mode
      ? `
# prune: \`docker ${(PRUNE_ARGS[mode] ?? []).join(" ")}\` (PRUNE_MODE=${mode}) once the Docker API answers
# after this start, beside the supervision (it goes on watching the VM meanwhile), given at most
# ${PRUNE_MAX_SECONDS}s. What Docker says it reclaimed goes to the log, or the error of a prune that
# failed: Docker serves either way. $PRUNING goes when it has ended: the health gate waits for that,
# so \`pulumi up\`'s smoke test never pulls its image while this prune may remove it.
prune() {
  "$DOCKER" --host "unix://$SOCK" ${pruneArgs} >"$PRUNING" 2>&1 &
  pruner=$!
  ticks=${PRUNE_MAX_SECONDS * 5}
  while kill -0 "$pruner" 2>/dev/null && [ "$ticks" -gt 0 ]; do
    sleep 0.2
    ticks=$((ticks - 1))
  done
  if kill -0 "$pruner" 2>/dev/null; then
    kill -KILL "$pruner" 2>/dev/null
    wait "$pruner" 2>/dev/null
    log "prune (${mode}) did not end within ${PRUNE_MAX_SECONDS}s: stopped it; Docker keeps running"
  else
    wait "$pruner"
    code=$?
    if [ "$code" = 0 ]; then
      log "pruned Docker (${mode}): $(grep -m 1 'Total reclaimed space' "$PRUNING" || echo 'Docker did not say what it reclaimed')"
    else
      log "prune (${mode}) failed (exit $code): $(grep -v '^[[:space:]]*$' "$PRUNING" | tail -n 1); Docker keeps running"
    fi
  fi
  rm -f "$PRUNING"
}`
      : ""
  }
# api_check: does the Docker API answer /_ping? Silent for API_HANG_SECONDS (counted from the
# last answer, or from the VM being up): the VM is restarted.
NL='
'
api_seen=0
api_down=0
api_last=0
api_since=0
api_check() {
  now=$(date +%s)
  [ "$api_last" = 0 ] && api_last=$now
  if answer=$("$CURL" --silent --show-error --max-time 5 --unix-socket "$SOCK" http://localhost/_ping 2>&1) && [ "$answer" = OK ]; then
    if [ "$api_seen" = 0 ]; then
      api_seen=1
      api_since=$now
      log "the Docker API answers at $SOCK"
      give_socket${mode ? "\n      prune &" : ""}
    fi
    if [ "$api_down" = 1 ]; then
      log "the Docker API answers again after $((now - api_last))s"
      api_down=0
      api_since=$now
    fi
    api_last=$now
    if [ "$hangs" != 0 ] && [ $((now - api_since)) -ge ${Math.max(hang, 10)} ]; then
      hangs=0
      echo 0 >"$HANGS"
    fi
    return 0
  fi
  [ ${hang} = 0 ] && return 1
  answer=\${answer:-no answer}
  answer=\${answer%%"$NL"*}
  if [ "$api_seen" = 1 ] && [ "$api_down" = 0 ]; then
    api_down=1
    log "the Docker API at $SOCK did not answer ($answer); the VM restarts if it stays silent for ${hang}s"
  fi
  silent=$((now - api_last))
  if [ "$silent" -ge ${hang} ]; then
    hangs=$((hangs + 1))
    echo "$hangs" >"$HANGS"
    since=""
    [ "$api_seen" = 0 ] && since=" since the VM came up"
    said="the Docker API at $SOCK has not answered for \${silent}s$since (last: $answer)"
    if [ "$hangs" -gt ${max} ]; then
      log "$said; stopping the VM"
      stop_hung
      gave_up_hangs
    fi
    log "$said; restarting the VM ($hangs of ${max} in a row)"
    stop_hung
    exit 75
  fi
  return 1
}

up=0
misses=0
checks=0
while kill -0 "$child" 2>/dev/null; do
  sleep 2 &
  wait $! 2>/dev/null
  [ "$stopping" = 1 ] && break
  # Once up, an answering Docker API is proof enough; colima status is asked while it is silent
  # (it tells a VM that is gone, fast, from a guest that hangs, when colima status hangs too).
  if [ "$up" = 1 ] && api_check; then
    misses=0
    continue
  fi
  bounded 10 "$COLIMA" status --profile "$PROFILE"
  status=$?
  if [ "$status" = 0 ]; then
    if [ "$up" = 0 ]; then
      log "profile $PROFILE is up"
      echo 0 > "$FAILURES"
    fi
    up=1
    misses=0
  elif [ "$up" = 0 ]; then
    checks=$((checks + 1))
    if [ "$checks" -ge ${Math.ceil(inputs.startupGrace / 2)} ]; then
      log "profile $PROFILE did not come up within ${inputs.startupGrace}s; stopping this attempt"
      stop_hung
      failed_start
    fi
  elif [ "$status" = 124 ] && [ ${hang} != 0 ]; then
    : # a hung guest: the Docker API's silence decides (api_check)
  else
    misses=$((misses + 1))
    if [ "$misses" -ge 2 ]; then
      if [ "$status" = 124 ]; then
        log "colima status --profile $PROFILE did not answer within 10s, twice: restarting the VM"
      else
        log "the VM of profile $PROFILE is gone under colima; restarting it"
      fi
      stop_hung
      exit 75
    fi
  fi
done
wait "$child"
code=$?
if [ "$stopping" = 1 ]; then log "Colima stopped"; exit 0; fi
log "colima exited with $code without a stop request"
[ "$up" = 0 ] && failed_start
exit 75
`;
}

/** The job's plist (launchd.plist(5)), rendered by the `plist` package: the same inputs give the
 *  same bytes every time. (plist 3.x: 4.x and later are ESM-only, and the program and the
 *  providers are CommonJS loaded through tsx's require hook: docs/ARCHITECTURE.md §4.) */
export function renderPlist(inputs: LaunchDaemonInputs): string {
  const { scriptPath } = daemonPaths(inputs);
  const home = hostPath(inputs.host, `/Users/${inputs.host.user}`);
  const job = {
    Label: inputs.label,
    ProgramArguments: [hostPath(inputs.host, "/bin/sh"), scriptPath],
    UserName: inputs.host.user,
    GroupName: "staff", // STAFF_GID
    EnvironmentVariables: {
      HOME: home,
      USER: inputs.host.user,
      LOGNAME: inputs.host.user,
      PATH: [`${inputs.prefix}/bin`, ...["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => hostPath(inputs.host, d))].join(":"),
    },
    RunAtLoad: true,
    // Restart only after a failure; a clean stop stays stopped. Never bare `true` (colima#1490).
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: inputs.throttleInterval,
    ExitTimeOut: inputs.exitTimeOut,
    StandardOutPath: inputs.logPath,
    StandardErrorPath: inputs.logPath,
  };
  return `${buildPlist(job, { indent: "\t" })}\n`;
}

/**
 * The reload decision's hash: the plist's content (parsed, so whitespace and the renderer's
 * layout never count: a plist written by an older colima-pulse, or reformatted by `plutil`, is not
 * a change) and the supervisor's bytes. "" when either file is missing.
 */
export function filesHash(plist: string, script: string): string {
  if (!plist || !script) return "";
  let content: string;
  try {
    content = JSON.stringify(parsePlist(plist));
  } catch {
    content = plist; // unreadable: compared as text, so it differs and is rewritten
  }
  return createHash("sha256").update(content).update("\0").update(script).digest("hex");
}

/** What a change of each rendered input does: every one rewrites the job, and launchd reloads it. */
const DAEMON_EFFECTS: Record<string, string> = {
  throttleInterval: "launchd's ThrottleInterval: the job reloads, the VM restarts",
  exitTimeOut: "launchd's ExitTimeOut: the job reloads, the VM restarts",
  logPath: "the job's log: the job reloads, the VM restarts",
  maxFailedStarts: "the supervisor's retry bound: the job reloads, the VM restarts",
  startupGrace: "how long a start may take: the job reloads, the VM restarts",
  versions: "the VM restarts under the installed versions",
  apiHangSeconds: "how long the Docker API may be silent: the job reloads, the VM restarts",
};
/** What a change of the prune after each start does: it is in the supervisor script, so the job
 *  reloads and the VM restarts, and that very start is the first one pruned the new way. A secret
 *  mode is not named. */
export function pruneEffect(mode: string, secret = false): string {
  const reload = "the supervisor script changes: the job reloads and the VM restarts";
  if (secret) return `${reload}; from that start on, the prune after each start is what the settings now say`;
  return mode
    ? `${reload}; once Docker answers after that start, and after every start, it runs docker ${(PRUNE_ARGS[mode] ?? []).join(" ")}`
    : `${reload}; nothing is pruned after a start any more`;
}
const RENDERED = [
  "prefix",
  "profile",
  "cpus",
  "memory",
  "disk",
  "arch",
  "logPath",
  "throttleInterval",
  "exitTimeOut",
  "maxFailedStarts",
  "startupGrace",
  "pruneMode",
  "versions",
  "apiHangSeconds",
] as const;

export function diffLaunchDaemon(olds: LaunchDaemonOutputs, news: LaunchDaemonInputs): DetailedDiff {
  const changes = inputChanges(
    olds,
    news,
    ["label", "host"],
    () => "launchd knows a job by its label: the old one is booted out",
    "update-replace",
  );
  const rendered = inputChanges(olds, news, RENDERED, (k) =>
    k === "pruneMode"
      ? pruneEffect(news.pruneMode, news.secrets?.includes("pruneMode"))
      : (DAEMON_EFFECTS[k] ?? "the job reloads with it, the VM restarts"),
  );
  changes.push(...rendered);
  if (olds.profileGeneration !== news.profileGeneration)
    changes.push({
      property: "profileGeneration",
      kind: "update",
      hidden: true,
      why: news.profileGeneration === UNKNOWN ? NOT_YET_KNOWN : `the profile was ${profileChange(news.profileGeneration)}: the job reloads`,
    });
  const wanted = filesHash(renderPlist(news), renderSupervisor(news));
  if (olds.filesHash !== wanted && rendered.length === 0 && changes.length === 0) {
    changes.push({
      property: "filesHash",
      kind: "update",
      hidden: true,
      why: olds.filesHash
        ? "the plist or supervisor on the Mac differs from the declared one: rewritten, reloaded"
        : "the plist or supervisor is missing",
      inputDiff: false,
    });
  }
  if (!olds.loaded)
    changes.push({
      property: "loaded",
      kind: "update",
      old: false,
      new: true,
      why: `system/${news.label} is not loaded`,
      inputDiff: false,
    });
  if (olds.conflicts?.length)
    changes.push({ property: "conflicts", kind: "delete", old: olds.conflicts, why: "conflicting jobs are booted out", inputDiff: false });
  // State written before `started` existed: stored once (nothing restarts); a preview cannot read
  // an output that state lacks, and the gate's trigger is made from it.
  if (olds.started === undefined && changes.length === 0)
    changes.push({
      property: "started",
      kind: "update",
      hidden: true,
      why: "recorded by an earlier colima-pulse: stored now",
      inputDiff: false,
    });
  // The survey's live look (news.supervisor) is what a plain `pulumi up` knows; state's `running`
  // is what the last refresh saw. Either one not running: this run starts it again.
  const seen = news.supervisor;
  if (olds.loaded && (seen?.running === false || (!seen && olds.running === false)))
    changes.push({
      property: "running",
      kind: "update",
      old: false,
      new: true,
      why: `system/${news.label}'s supervisor is not running (${seen ? notRunningBecause(seen, news.maxFailedStarts) : "as the refresh saw it"}): started again with fresh counts`,
      inputDiff: false,
    });
  return diffOf(changes, true, news.secrets);
}

// ---- executor -----------------------------------------------------------------------------

/** The supervisor as a (re)start leaves it: running, its counts removed. Stored so that the next
 *  run's look at a healthy supervisor matches state. */
const FRESH: SupervisorSeen = { running: true, failedStarts: 0, hungStops: 0 };

export async function convergeLaunchDaemon(mac: Mac, inputs: LaunchDaemonInputs, olds?: LaunchDaemonOutputs): Promise<LaunchDaemonOutputs> {
  const { plistPath, scriptPath, scriptDir } = daemonPaths(inputs);
  const plist = renderPlist(inputs);
  const script = renderSupervisor(inputs);
  const uid = (await mac.run([hostPath(inputs.host, "/usr/bin/id"), "-u", inputs.host.user])).stdout.trim();
  await removeConflictingJobs(mac, uid, (m) => say(inputs, m));
  const onDisk = filesHash((await mac.readFile(plistPath)) ?? "", (await mac.readFile(scriptPath)) ?? "");
  const wanted = filesHash(plist, script);
  const target = `system/${inputs.label}`;
  const state = onDisk === wanted ? await jobState(mac, target) : { loaded: false, running: false };
  // Every start this provider makes is a fresh one: a supervisor that gave up would give up again.
  const files = supervisorFiles(inputs.host, inputs.profile);
  // A start that prunes says so before it is made: the health gate waits for that prune to end
  // (renderSupervisor), also when it asks before the new supervisor has run its first line.
  const freshCounts = async () => {
    await mac.asUser([hostPath(inputs.host, "/bin/rm"), "-f", files.failures, files.hangs, files.pruning]);
    if (inputs.pruneMode) await mac.writeFile(files.pruning, "pending: the prune after this start\n", { owner: "user", mode: "0600" });
  };
  if (onDisk !== wanted) {
    const logDir = inputs.logPath.replace(/\/[^/]*$/, "") || "/";
    await mac.asRoot([hostPath(inputs.host, "/usr/bin/install"), "-d", "-m", "0755", "-o", "0", "-g", "0", scriptDir, logDir]);
    // The supervisor appends to the log by its path as the Homebrew user (renderSupervisor), and
    // newsyslog makes each new one the same way (LogRotation).
    const own = `${shellQuote(hostPath(inputs.host, "/usr/bin/touch"))} "$1" && ${shellQuote(hostPath(inputs.host, "/usr/sbin/chown"))} "$2" "$1" && ${shellQuote(hostPath(inputs.host, "/bin/chmod"))} 0640 "$1"`;
    await mac.asRoot([hostPath(inputs.host, "/bin/sh"), "-c", own, "sh", inputs.logPath, `${uid}:${STAFF_GID}`]);
    await mac.writeFile(scriptPath, script, { owner: "root", mode: "0755" });
    await mac.writeFile(plistPath, plist, { owner: "root", mode: "0644" });
    if (await launchdBootout(mac, target)) say(inputs, `${target} changed: reloading it`);
  } else if (state.loaded) {
    let started = olds?.started ?? "";
    if (!state.running) {
      // The supervisor gave up (or was stopped): fresh counts, and a new start.
      await freshCounts();
      await mac.asRoot([hostPath(inputs.host, "/bin/launchctl"), "kickstart", "-k", target]);
      say(inputs, `${target} was not running: restarted it`);
      started = new Date().toISOString();
    }
    const supervisor = started === (olds?.started ?? "") ? inputs.supervisor : FRESH;
    // No undefined values: the provider protocol cannot carry them ("Unexpected struct type").
    return {
      ...inputs,
      ...(supervisor ? { supervisor } : {}),
      plistPath,
      scriptPath,
      filesHash: wanted,
      loaded: true,
      conflicts: [],
      running: true,
      // Always there: an output missing from state reads as unknown in a preview.
      started,
    };
  }
  await withLock("launchctl", async () => {
    if (await isLoaded(mac, target)) return;
    await freshCounts();
    const launchctl = hostPath(inputs.host, "/bin/launchctl");
    await mac.asRoot([launchctl, "enable", target]);
    const r = await mac.asRoot([launchctl, "bootstrap", "system", plistPath], { allowFailure: true, timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const why = await explainBootstrapFailure(mac, inputs.label, plistPath);
      throw new Error(`launchctl bootstrap system ${plistPath} failed (exit ${r.exitCode}: ${r.stderr.trim()}): ${why}`);
    }
  });
  say(inputs, `${target} loaded: supervising profile ${inputs.profile} as ${inputs.host.user}`);
  const started = new Date().toISOString();
  return { ...inputs, supervisor: FRESH, plistPath, scriptPath, filesHash: wanted, loaded: true, conflicts: [], running: true, started };
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const launchDaemonProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffLaunchDaemon, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, launchDaemonSchema);
  },
  async diff(_id: string, olds: LaunchDaemonOutputs, news: LaunchDaemonInputs) {
    const { reasons, ...result } = diffLaunchDaemon(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: LaunchDaemonInputs) {
    return { id: `system/${inputs.label}`, outs: await convergeLaunchDaemon(macOf(inputs.host), inputs) };
  },
  async update(_id: string, olds: LaunchDaemonOutputs, news: LaunchDaemonInputs) {
    return { outs: await convergeLaunchDaemon(macOf(news.host), news, olds) };
  },
  async read(id: string, stored: LaunchDaemonOutputs) {
    const mac = macOf(stored.host);
    const { plistPath, scriptPath } = daemonPaths(stored);
    const hash = filesHash((await mac.readFile(plistPath)) ?? "", (await mac.readFile(scriptPath)) ?? "");
    const uid = (await mac.run([hostPath(stored.host, "/usr/bin/id"), "-u", stored.host.user], { allowFailure: true })).stdout.trim();
    const conflicts: string[] = [];
    for (const label of CONFLICTING_LABELS) {
      for (const domain of conflictDomains(uid)) if (await isLoaded(mac, `${domain}/${label}`)) conflicts.push(`${domain}/${label}`);
    }
    const target = `system/${stored.label}`;
    return {
      id,
      props: {
        ...stored,
        filesHash: hash,
        ...(await jobState(mac, target)),
        conflicts,
        started: stored.started ?? "", // absent in the state of versions before it
      },
    };
  },
  async delete(_id: string, stored: LaunchDaemonOutputs) {
    const mac = macOf(stored.host);
    const { plistPath, scriptPath } = daemonPaths(stored);
    if (await launchdBootout(mac, `system/${stored.label}`)) say(stored, `booted out system/${stored.label}; Colima stopped`);
    await mac.asRoot([hostPath(stored.host, "/bin/rm"), "-f", plistPath, scriptPath]);
    if (await mac.exists(plistPath)) throw new Error(`${plistPath} is still there after rm`);
  },
});

// ---- resource -----------------------------------------------------------------------------

export class LaunchDaemon extends ResourceByReference {
  declare readonly plistPath: pulumi.Output<string>;
  declare readonly scriptPath: pulumi.Output<string>;
  declare readonly filesHash: pulumi.Output<string>;
  declare readonly loaded: pulumi.Output<boolean>;
  declare readonly started: pulumi.Output<string>;

  constructor(name: string, args: LaunchDaemonArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      plistPath: undefined,
      scriptPath: undefined,
      filesHash: undefined,
      loaded: undefined,
      conflicts: undefined,
      running: undefined,
      started: undefined,
    };
    super("launchDaemon", launchDaemonProvider, "LaunchDaemon", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
