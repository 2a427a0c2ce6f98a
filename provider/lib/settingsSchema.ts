// One schema per machine setting: its type, bounds and pattern, written once. The program
// (stacks/config.ts) validates every layer's value with it; each provider's `check` validates the
// inputs the setting becomes with the same schema, because state can come from an older program
// (test/provider/settingsSchema.test.ts walks every setting's boundary values through both).
// Built from the zod passed in, like every provider schema (provider/lib/checkInputs.ts).
import type { Zod } from "./checkInputs";

// Paths go into plists, logs and commands run as root: absolute, no "..", and only characters
// that need no quoting anywhere (spaces allowed; they are quoted where a shell is unavoidable).
const SAFE_PATH = /^\/(?:[A-Za-z0-9._@+ -]+\/?)*$/;

export function settingSchemas(z: Zod) {
  const whole = (min: number, max: number) => {
    const allowed = `must be a whole number from ${min} to ${max}`;
    return z.number({ error: allowed }).int(allowed).min(min, allowed).max(max, allowed);
  };
  const absolutePath = z
    .string()
    .regex(SAFE_PATH, "must be an absolute path of letters, digits, space and ._@+- (no quotes, $, ;, newlines)")
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'");
  const seconds = whole(1, 3600);
  // Files on the control machine handed to ssh -o, which splits its values at spaces.
  const sshFile = z.string().regex(/^\/(?:[A-Za-z0-9._@+-]+\/?)*$/, "must be an absolute path of letters, digits and ._@+- (no spaces)");
  return {
    HOMEBREW_USER: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a macOS short user name (lower-case letters, digits, _ . -)")
      .refine((u) => u !== "root", "must not be root: Homebrew refuses to run as root"),
    COLIMA_PROFILE: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be a Colima profile name (letters, digits, _ -; up to 63)"),
    COLIMA_CPUS: whole(1, 64),
    COLIMA_MEMORY: whole(1, 1024),
    COLIMA_DISK: whole(10, 8192),
    LABEL: z
      .string()
      .regex(/^[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+$/, "must be a reverse-DNS launchd label such as com.example.colima")
      .refine(
        (l) => !l.startsWith("homebrew.mxcl."),
        "must not be a `brew services` label (homebrew.mxcl.*): that job is a conflict we remove",
      ),
    LOG_PATH: absolutePath,
    BACKUP_DIR_BASE: absolutePath,
    PRUNE_DOCKER_AFTER_START: z.boolean({ error: "must be true or false" }),
    PRUNE_MODE: z.enum(["dangling", "images", "system"], { error: "must be one of dangling, images, system" }),
    WAIT_SOCKET_MAX: seconds,
    WAIT_DOCKER_API_MAX: seconds,
    WAIT_QEMU_MAX: seconds,
    WAIT_STABLE_REQUIRED: whole(1, 100),
    RESTART_THROTTLE_SECONDS: seconds,
    MAX_FAILED_STARTS: whole(1, 100),
    // How the control machine reaches this Mac (README "Fleet"): absent, the Mac is this machine.
    SSH_HOST: z
      .string()
      .regex(
        /^(?:[a-z_][a-z0-9_.-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/,
        "must be [user@]host: a host name, an IPv4 address or an ~/.ssh/config Host alias (IPv6: use an alias; no spaces, options or port: the port is SSH_PORT)",
      ),
    SSH_PORT: whole(1, 65535),
    SSH_IDENTITY_FILE: sshFile,
    SSH_KNOWN_HOSTS_FILE: sshFile,
    // The supervisor restarts a VM whose Docker API has not answered for this long (0: never).
    API_HANG_SECONDS: whole(0, 86400).refine((n) => n === 0 || n >= 10, "must be 0 (off) or a whole number of seconds from 10 to 86400"),
    // newsyslog rotation of LOG_PATH (README "Logs"); a count of 0 leaves rotation to you.
    LOG_ROTATE_SIZE_MB: whole(1, 10240),
    LOG_ROTATE_COUNT: whole(0, 99),
    // A macOS group whose members may use the profile's Docker socket (README "Docker for the people on the Mac").
    DOCKER_SOCKET_GROUP: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, "must be a macOS group name (letters, digits, _ . -; up to 32)")
      .refine((g) => !["wheel", "everyone"].includes(g), "must not be wheel or everyone: name a group made for Docker's users"),
    // How many full-reset and restore backups of the profile to keep (absent: all).
    BACKUP_KEEP: whole(1, 1000),
  };
}
