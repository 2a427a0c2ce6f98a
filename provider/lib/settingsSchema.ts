// One schema per machine setting: its type, bounds and pattern, written once. The program
// (stacks/config.ts) validates every layer's value with it; each provider's `check` validates the
// inputs the setting becomes with the same schema, because state can come from an older program
// (test/provider/settingsSchema.test.ts walks every setting's boundary values through both).
// Built from the zod passed in, like every provider schema (provider/lib/checkInputs.ts). What the
// settings table says of each (its meaning, a number's unit) is SETTING_INFO below; the units are
// in the numbers' error messages too.
import type { Zod } from "./checkInputs";

// Paths go into plists, logs and commands run as root: absolute, no "..", and only characters
// that need no quoting anywhere (spaces allowed; they are quoted where a shell is unavoidable).
const SAFE_PATH = /^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/;

/** What the settings table says about a setting, and the words its errors use; written once, here.
 *  Defaults are not here: they are stacks/config.ts's (SETTINGS), which the table reads. */
export interface SettingInfo {
  /** One line: what the setting does. */
  meaning: string;
  /** Said after the meaning and its details (what a setting never does, say). */
  note?: string;
  /** A number's unit, plural ("GiB", "seconds"): in its error message and the table's bounds. */
  unit?: string;
  /** How to write a number, for its error message: "4 for 4 GiB" (the value is a plain number). */
  example?: string;
  /** A number that is not "a whole number of <unit>" in its error message (a port). */
  quantity?: string;
  /** What is allowed: the whole text for a string; for a number, added after its bounds. */
  allowed?: string;
  /** A number for which 0 also means "off", below its bounds (API_HANG_SECONDS). */
  zeroIsOff?: boolean;
  /** What leaving an optional setting unset means. */
  unset?: string;
}

const SECONDS = { unit: "seconds", example: "120 for 2 minutes" };
const ONLY_WITH_SSH_HOST = "only with `SSH_HOST`";
const SSH_FILE = `an absolute path of letters, digits and \`._@+-\` (no spaces); ${ONLY_WITH_SSH_HOST}`;

/** Every setting's line in the settings table (README "Configuration", `npm run docs`). */
export const SETTING_INFO = {
  HOMEBREW_USER: {
    meaning: "the user who owns Homebrew: brew, Colima, Lima and QEMU run as this user, in its home",
    allowed: "a macOS short user name (lower-case letters, digits, `_ . -`; up to 32), not `root`",
  },
  COLIMA_PROFILE: {
    meaning: "the Colima profile colima-pulse runs and supervises",
    allowed: "letters, digits, `_ -`, starting with a letter or digit (up to 63)",
  },
  COLIMA_CPUS: { meaning: "the VM's CPUs", unit: "CPUs" },
  COLIMA_MEMORY: {
    meaning: "the VM's memory",
    unit: "GiB",
    example: "4 for 4 GiB",
    allowed: "no more than this Mac has (`sysctl hw.memsize`; checked in preview once the Mac has been audited)",
  },
  COLIMA_DISK: {
    meaning: "the VM's data disk",
    unit: "GiB",
    example: "200 for 200 GiB",
    allowed: "can grow, never shrink (a smaller disk needs a full reset)",
  },
  LABEL: {
    meaning: "the launchd label of the system LaunchDaemon (its plist, supervisor and newsyslog rule are named after it)",
    allowed: "a reverse-DNS launchd label, not `homebrew.mxcl.*`",
  },
  LOG_PATH: {
    meaning: "the supervisor's log, colima's output included",
    allowed:
      "an absolute path of letters, digits, space and `._@+-` naming a file (no `..` or `.` parts, no trailing `/`; no space while rotation is on), in a folder only root can change: every folder on the way root's and writable by no one else, no link but root's (checked on the Mac before root touches it; never under `/tmp`, `/var/tmp`, `/Users`, `/Volumes` or Homebrew's `/opt/homebrew`, `/usr/local`)",
  },
  BACKUP_DIR_BASE: {
    meaning: "where `npm run reset` and `npm run restore` move a profile's state (`<time>-<profile>` folders)",
    allowed: "an absolute path of letters, digits, space and `._@+-`, no `..`",
  },
  PRUNE_DOCKER_AFTER_START: { meaning: "prune Docker after every start of the VM (`PRUNE_MODE` says what)" },
  PRUNE_MODE: {
    meaning: "the prune once Docker answers after each start",
    note: "What it reclaimed is logged; a failed prune never stops Docker. Never touched: running containers, their images and networks, and volumes (`docker system prune` removes volumes only with `--volumes`)",
  },
  WAIT_SOCKET_MAX: { meaning: "health gate: the longest wait for the profile's Docker socket", ...SECONDS },
  WAIT_DOCKER_API_MAX: { meaning: "health gate: the longest wait for the Docker API to answer", ...SECONDS },
  WAIT_QEMU_MAX: { meaning: "health gate: the longest wait for the profile's QEMU process", ...SECONDS },
  WAIT_STABLE_REQUIRED: { meaning: "health gate: good probes in a row that prove Docker stable", unit: "probes" },
  WAIT_WORKLOADS_MAX: {
    meaning:
      "after each start, the longest wait (the supervisor's, and the health gate's) for the containers with restart policy `always` or `unless-stopped` to run, healthy where checked",
    ...SECONDS,
    zeroIsOff: true,
  },
  RESTART_THROTTLE_SECONDS: { meaning: "the pause between the supervisor's restarts (launchd's `ThrottleInterval`)", ...SECONDS },
  MAX_FAILED_STARTS: {
    meaning: "failed starts (or restarts for a hung Docker API) in a row after which the supervisor gives up",
    unit: "failed starts",
  },
  SSH_HOST: {
    meaning: 'how the control machine reaches this Mac over SSH (see "Fleet")',
    allowed: "`[user@]host` or an `~/.ssh/config` alias (no spaces, options or port; IPv6: use an alias)",
    unset: "this Mac is the machine running Pulumi",
  },
  SSH_PORT: {
    meaning: "the SSH port, when not ssh's own default or `~/.ssh/config`'s",
    quantity: "a TCP port number",
    allowed: ONLY_WITH_SSH_HOST,
    unset: "ssh's own",
  },
  SSH_IDENTITY_FILE: {
    meaning: "a private key file on the control machine (only its path is stored, never the key)",
    allowed: SSH_FILE,
    unset: "ssh's own (agent, `~/.ssh/config`)",
  },
  SSH_KNOWN_HOSTS_FILE: {
    meaning: "the fleet's known_hosts file, instead of `~/.ssh/known_hosts`",
    allowed: SSH_FILE,
    unset: "`~/.ssh/known_hosts`",
  },
  API_HANG_SECONDS: {
    meaning: "how long the Docker API may be silent (a guest hung after sleep) before the supervisor restarts the VM",
    ...SECONDS,
    zeroIsOff: true,
  },
  CLOCK_DRIFT_MAX_SECONDS: {
    meaning:
      "how far the guest's clock may be off the Mac's, compared after each start and each wake, before the supervisor sets it to the Mac's",
    unit: "seconds",
    example: "5 for 5 seconds",
    zeroIsOff: true,
  },
  LOG_ROTATE_SIZE_MB: { meaning: "newsyslog rotates `LOG_PATH` at this size", unit: "MB", example: "50 for 50 MB" },
  LOG_ROTATE_COUNT: { meaning: "rotated logs kept, gzipped; `0`: no newsyslog rule (rotate it yourself)", unit: "rotated logs" },
  DOCKER_SOCKET_GROUP: {
    meaning: "a group whose members use Docker through `<brew prefix>/var/run/colima-pulse/<profile>.sock`",
    allowed: "a macOS group name (letters, digits, `_ . -`; up to 32), not `wheel` or `everyone`; HOMEBREW_USER must be in it",
    unset: "only HOMEBREW_USER uses Docker",
  },
  BACKUP_KEEP: {
    meaning: "backups of the profile kept: `npm run reset` and `npm run restore` delete older ones, and say so in their preview",
    unit: "backups",
    unset: "all kept",
  },
  VERSION_DENYLIST: {
    meaning:
      "versions the fleet never runs: `npm run upgrade`'s preview refuses an upgrade onto one, naming it, before anything changes; an installed one is reported",
    allowed: "`formula@version` of colima, lima, qemu or docker, separated by commas (`qemu@8.1.0,lima@1.0.0`)",
    unset: "no version denied (the fleet's minimum versions, policy/config.json, still apply)",
  },
  DISK_WARN_PERCENT: {
    meaning: "the health gate warns when Docker uses more than this share of the VM's data disk (`COLIMA_DISK`)",
    note: "It also warns when the Mac's volume has less free space than the data disk's size; a warning never stops a run",
    unit: "percent",
    example: "80 for 80 %",
    zeroIsOff: true,
  },
  DISK_TRIM_AFTER_START: {
    meaning: "after each start the health gate proves, and the prune it waits for, run `colima ssh -- sudo fstrim -a`",
    note: "So what a prune freed in the guest is given back to the Mac's volume (Colima itself trims only while the VM boots, before the prune)",
  },
  POWER_AUTORESTART: {
    meaning: "the Mac starts again by itself after a power failure (`pmset -a autorestart 1`), so a power cut ends with Docker back",
    note: "`false` leaves the setting as the Mac has it, and puts back what colima-pulse changed. A Mac that does not support it (a laptop) is said so in the run, not changed",
  },
  POWER_NO_SLEEP: {
    meaning: "the Mac never sleeps when idle (`pmset -a sleep 0`), so Docker keeps answering",
    note: "`false` leaves the setting as the Mac has it, and puts back what colima-pulse changed",
  },
  POWER_WAKE_ON_NETWORK: {
    meaning: "the Mac wakes for network access (`pmset -a womp 1`, Wake on LAN's magic packet)",
    note: "`false` leaves the setting as the Mac has it, and puts back what colima-pulse changed",
  },
} satisfies Record<string, SettingInfo>;

export type SettingName = keyof typeof SETTING_INFO;

/** A number's error message: its unit, bounds, and how to write it ("must be a whole number of GiB
 *  from 1 to 1024 (write 4 for 4 GiB)"). */
export function wholeNumberMessage(key: SettingName, min: number, max: number): string {
  const info: SettingInfo = SETTING_INFO[key];
  const what = info.quantity ?? `a whole number${info.unit ? ` of ${info.unit}` : ""}`;
  return `must be ${info.zeroIsOff ? "0 (off) or " : ""}${what} from ${min} to ${max}${info.example ? ` (write ${info.example})` : ""}`;
}

export function settingSchemas(z: Zod) {
  const whole = (key: SettingName, min: number, max: number) => {
    const allowed = wholeNumberMessage(key, min, max);
    const n = z.number({ error: allowed }).int(allowed);
    // 0 ("off") is below the bounds: the number's bounds are 0 and max, and a refinement keeps 1 to min - 1 out.
    const zeroIsOff: boolean = (SETTING_INFO[key] as SettingInfo).zeroIsOff === true;
    return zeroIsOff
      ? n
          .min(0, allowed)
          .max(max, allowed)
          .refine((v) => v === 0 || v >= min, allowed)
      : n.min(min, allowed).max(max, allowed);
  };
  const absolutePath = z
    .string()
    .regex(SAFE_PATH, "must be an absolute path of letters, digits, space and ._@+- (no quotes, $, ;, newlines)")
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'");
  // Files on the control machine handed to ssh -o, which splits its values at spaces.
  const sshFile = z.string().regex(/^\/(?:[A-Za-z0-9._@+-]+\/?)*$/, "must be an absolute path of letters, digits and ._@+- (no spaces)");
  return {
    HOMEBREW_USER: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a macOS short user name (lower-case letters, digits, _ . -)")
      .refine((u) => u !== "root", "must not be root: Homebrew refuses to run as root"),
    COLIMA_PROFILE: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be a Colima profile name (letters, digits, _ -; up to 63)")
      // Colima strips one `colima-` (provider/lib/host.ts colimaProfile): `colima-default` would be a
      // profile of its own whose folder is the default profile's ~/.colima/default, `colima-` none.
      .refine(
        (p) => p !== "colima-" && p !== "colima-default",
        "must name one Colima profile: Colima strips a leading `colima-`, so `colima-default` would share ~/.colima/default (and its docker.sock) with the default profile, and `colima-` names none",
      ),
    COLIMA_CPUS: whole("COLIMA_CPUS", 1, 64),
    COLIMA_MEMORY: whole("COLIMA_MEMORY", 1, 1024),
    COLIMA_DISK: whole("COLIMA_DISK", 10, 8192),
    LABEL: z
      .string()
      .regex(/^[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+$/, "must be a reverse-DNS launchd label such as com.example.colima")
      .refine(
        (l) => !l.startsWith("homebrew.mxcl."),
        "must not be a `brew services` label (homebrew.mxcl.*): that job is a conflict we remove",
      ),
    // A file's path (provider/lib/logPath.ts checks, on the Mac, the folders it is in).
    LOG_PATH: absolutePath.refine(
      (p) => !p.endsWith("/") && !p.split("/").includes("."),
      "must name a file: no trailing / and no '.' parts",
    ),
    BACKUP_DIR_BASE: absolutePath,
    PRUNE_DOCKER_AFTER_START: z.boolean({ error: "must be true or false" }),
    PRUNE_MODE: z.enum(["dangling", "images", "system"], { error: "must be one of dangling, images, system" }),
    WAIT_SOCKET_MAX: whole("WAIT_SOCKET_MAX", 1, 3600),
    WAIT_DOCKER_API_MAX: whole("WAIT_DOCKER_API_MAX", 1, 3600),
    WAIT_QEMU_MAX: whole("WAIT_QEMU_MAX", 1, 3600),
    WAIT_STABLE_REQUIRED: whole("WAIT_STABLE_REQUIRED", 1, 100),
    // The workloads gate: containers with restart policy always/unless-stopped back after a start (0: not waited for).
    WAIT_WORKLOADS_MAX: whole("WAIT_WORKLOADS_MAX", 5, 86400),
    RESTART_THROTTLE_SECONDS: whole("RESTART_THROTTLE_SECONDS", 1, 3600),
    MAX_FAILED_STARTS: whole("MAX_FAILED_STARTS", 1, 100),
    // How the control machine reaches this Mac (README "Fleet"): absent, the Mac is this machine.
    SSH_HOST: z
      .string()
      .regex(
        /^(?:[a-z_][a-z0-9_.-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/,
        "must be [user@]host: a host name, an IPv4 address or an ~/.ssh/config Host alias (IPv6: use an alias; no spaces, options or port: the port is SSH_PORT)",
      ),
    SSH_PORT: whole("SSH_PORT", 1, 65535),
    SSH_IDENTITY_FILE: sshFile,
    SSH_KNOWN_HOSTS_FILE: sshFile,
    // The supervisor restarts a VM whose Docker API has not answered for this long (0: never).
    API_HANG_SECONDS: whole("API_HANG_SECONDS", 10, 86400),
    // The supervisor compares the guest's clock with the Mac's after each start and wake (0: never).
    CLOCK_DRIFT_MAX_SECONDS: whole("CLOCK_DRIFT_MAX_SECONDS", 1, 3600),
    // newsyslog rotation of LOG_PATH (docs/OPERATIONS.md "Logs"); a count of 0 leaves rotation to you.
    LOG_ROTATE_SIZE_MB: whole("LOG_ROTATE_SIZE_MB", 1, 10240),
    LOG_ROTATE_COUNT: whole("LOG_ROTATE_COUNT", 0, 99),
    // A macOS group whose members may use the profile's Docker socket (docs/OPERATIONS.md "Docker for the people on the Mac").
    DOCKER_SOCKET_GROUP: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, "must be a macOS group name (letters, digits, _ . -; up to 32)")
      .refine((g) => !["wheel", "everyone"].includes(g), "must not be wheel or everyone: name a group made for Docker's users"),
    // How many full-reset and restore backups of the profile to keep (absent: all).
    BACKUP_KEEP: whole("BACKUP_KEEP", 1, 1000),
    // Versions never to run (provider/lib/versionDenylist.ts): `formula@version`, comma-separated.
    VERSION_DENYLIST: z
      .string()
      .regex(
        /^\s*(?:colima|lima|qemu|docker)@[0-9][0-9A-Za-z._+-]*(?:\s*,\s*(?:colima|lima|qemu|docker)@[0-9][0-9A-Za-z._+-]*)*\s*$/,
        "must be formula@version of colima, lima, qemu or docker, separated by commas, such as qemu@8.1.0,lima@1.0.0",
      ),
    // The health gate's disk report (provider/lib/disk.ts): warn past this share of COLIMA_DISK (0: never).
    DISK_WARN_PERCENT: whole("DISK_WARN_PERCENT", 1, 100),
    DISK_TRIM_AFTER_START: z.boolean({ error: "must be true or false" }),
    // The Mac's power settings (provider/powerSettings.ts, pmset): each on, or left as the Mac has it.
    POWER_AUTORESTART: z.boolean({ error: "must be true or false" }),
    POWER_NO_SLEEP: z.boolean({ error: "must be true or false" }),
    POWER_WAKE_ON_NETWORK: z.boolean({ error: "must be true or false" }),
  };
}

/** Folders that are never root's alone on a Mac, so no LOG_PATH may be in them (root makes, re-owns
 *  and rotates the log: provider/lib/logPath.ts says why, and checks every LOG_PATH on the Mac
 *  itself). hier(7) and Homebrew's install script (Homebrew/install install.sh: the prefix's
 *  folders are chowned to the installing user) say what they are. */
const USERS_FOLDERS: [string, string][] = [
  ["/tmp", "a temporary folder every user writes (sticky, 1777)"],
  ["/private/tmp", "a temporary folder every user writes (sticky, 1777)"],
  ["/var/tmp", "a temporary folder every user writes (sticky, 1777)"],
  ["/private/var/tmp", "a temporary folder every user writes (sticky, 1777)"],
  ["/var/folders", "the users' own temporary folders"],
  ["/private/var/folders", "the users' own temporary folders"],
  ["/Users", "the users' homes and /Users/Shared (sticky, 1777)"],
  ["/Volumes", "other volumes, whose owners may be ignored"],
  ["/opt/homebrew", "Homebrew's prefix, the Homebrew user's"],
  ["/usr/local", "Homebrew's prefix on Intel Macs, whose folders are the Homebrew user's"],
];

/** Why a LOG_PATH (a macOS path) lies in a folder that is never root's alone, or undefined. */
export function logPathInUsersFolder(path: string): string | undefined {
  const hit = USERS_FOLDERS.find(([folder]) => path === folder || path.startsWith(`${folder}/`));
  return hit && `is under ${hit[0]}, ${hit[1]}`;
}
