// The bad-input table: bad values for every setting, each with a fragment the error must contain
// (what is allowed). Shared by the settings-layer suite (every value in every layer) and the
// end-to-end suite (every key through the real engine on a converged simulated Mac).
import type { Layer } from "../../stacks/config";

export const FILES: Record<Layer, string> = {
  project: "Pulumi.yaml",
  ".env": ".env",
  environment: "ESC fleet/macs via stacks/Pulumi.mac1.yaml",
  stack: "stacks/Pulumi.mac1.yaml",
};
export const HOSTILE = ["$(reboot)", "`id`", "a;b", "a'b", 'a"b', "a\nb", "../../etc", "a b|c"];

/** A bad value, a fragment its message must contain (what is allowed), and for a non-string value
 *  the fragment its text form gets in .env where that differs. */
export type BadCase = [value: unknown, allowed: string, asText?: string];

/** Bad values per key. */
export const BAD: Record<string, BadCase[]> = {
  HOMEBREW_USER: [
    ["root", "must not be root"],
    ["Ops", "macOS short user name"],
    ...HOSTILE.map((v): BadCase => [v, "macOS short user name"]),
    [42, "expected string", "macOS short user name"],
  ],
  COLIMA_PROFILE: [
    ["a/b", "Colima profile name"],
    ["-x", "Colima profile name"],
    // Colima's name for these: `default` (sharing the default profile's folder), and none.
    ["colima-default", "must name one Colima profile"],
    ["colima-", "must name one Colima profile"],
    ...HOSTILE.map((v): BadCase => [v, "Colima profile name"]),
  ],
  COLIMA_CPUS: [
    [0, "from 1 to 64"],
    [65, "from 1 to 64"],
    ["two", "from 1 to 64"],
    [1.5, "from 1 to 64"],
    [true, "from 1 to 64"],
  ],
  COLIMA_MEMORY: [
    [0, "from 1 to 1024"],
    [4096, "from 1 to 1024"],
    ["8GiB", "from 1 to 1024"],
  ],
  COLIMA_DISK: [
    [5, "from 10 to 8192"],
    [-100, "from 10 to 8192"],
    ["big", "from 10 to 8192"],
  ],
  LABEL: [["nodots", "reverse-DNS"], ["homebrew.mxcl.colima", "brew services"], ...HOSTILE.map((v): BadCase => [v, "reverse-DNS"])],
  LOG_PATH: [
    ["relative/log", "absolute path"],
    ["/var/log/../../etc/passwd", "'..'"],
    ["/var/log/colima-pulse/", "must name a file"],
    ...HOSTILE.slice(0, 6).map((v): BadCase => [`/var/log/${v}`, "absolute path"]),
  ],
  BACKUP_DIR_BASE: [
    ["backups", "absolute path"],
    ["/Users/ops/../..", "'..'"],
    ["/tmp/$(id)", "absolute path"],
  ],
  PRUNE_DOCKER_AFTER_START: [
    ["maybe", "true or false"],
    [2, "true or false"],
  ],
  PRUNE_MODE: [
    ["everything", "dangling, images, system"],
    ["", "must not be empty"],
  ],
  WAIT_SOCKET_MAX: [
    [0, "from 1 to 3600"],
    [86400, "from 1 to 3600"],
  ],
  WAIT_DOCKER_API_MAX: [
    [-1, "from 1 to 3600"],
    ["soon", "from 1 to 3600"],
  ],
  WAIT_QEMU_MAX: [[0, "from 1 to 3600"]],
  WAIT_STABLE_REQUIRED: [
    [0, "from 1 to 100"],
    [1000, "from 1 to 100"],
  ],
  RESTART_THROTTLE_SECONDS: [[0, "from 1 to 3600"]],
  MAX_FAILED_STARTS: [
    [0, "from 1 to 100"],
    [101, "from 1 to 100"],
  ],
  SSH_HOST: [
    ["-oProxyCommand=reboot", "[user@]host"],
    ["ops@mac-07.local:2222", "[user@]host"],
    ...HOSTILE.map((v): BadCase => [v, "[user@]host"]),
  ],
  SSH_PORT: [
    [0, "from 1 to 65535"],
    [65536, "from 1 to 65535"],
    ["ssh", "from 1 to 65535"],
  ],
  SSH_IDENTITY_FILE: [
    ["id_ed25519", "absolute path"],
    ["/Users/ops/.ssh/my key", "no spaces"],
  ],
  SSH_KNOWN_HOSTS_FILE: [
    ["~/.ssh/known_hosts", "absolute path"],
    ["/tmp/$(id)", "absolute path"],
  ],
  WAIT_WORKLOADS_MAX: [
    [4, "must be 0 (off) or a whole number of seconds from 5 to 86400"],
    [-1, "must be 0 (off) or a whole number of seconds from 5 to 86400"],
    ["5m", "must be 0 (off) or a whole number of seconds from 5 to 86400"],
  ],
  API_HANG_SECONDS: [
    [5, "must be 0 (off) or a whole number of seconds from 10 to 86400"],
    [-1, "must be 0 (off) or a whole number of seconds from 10 to 86400"],
    ["long", "must be 0 (off) or a whole number of seconds from 10 to 86400"],
  ],
  CLOCK_DRIFT_MAX_SECONDS: [
    [-1, "must be 0 (off) or a whole number of seconds from 1 to 3600"],
    [3601, "must be 0 (off) or a whole number of seconds from 1 to 3600"],
    ["5s", "must be 0 (off) or a whole number of seconds from 1 to 3600"],
  ],
  LOG_ROTATE_SIZE_MB: [
    [0, "from 1 to 10240"],
    ["10MB", "from 1 to 10240"],
  ],
  LOG_ROTATE_COUNT: [
    [-1, "from 0 to 99"],
    [100, "from 0 to 99"],
  ],
  DOCKER_SOCKET_GROUP: [
    ["wheel", "must not be wheel or everyone"],
    ["docker users", "macOS group name"],
    ...HOSTILE.map((v): BadCase => [v, "macOS group name"]),
  ],
  BACKUP_KEEP: [
    [0, "from 1 to 1000"],
    ["all", "from 1 to 1000"],
  ],
  VERSION_DENYLIST: [
    ["qemu", "must be formula@version of colima, lima, qemu or docker, separated by commas"],
    ["qemu@8.1.0;lima@1.0.0", "formula@version"],
    ["node@22.0.0", "of colima, lima, qemu or docker"],
    ["qemu@latest", "formula@version"],
    ...HOSTILE.map((v): BadCase => [`qemu@8.1.0,${v}`, "formula@version"]),
  ],
  DISK_WARN_PERCENT: [
    [101, "must be 0 (off) or a whole number of percent from 1 to 100 (write 80 for 80 %)"],
    [-1, "must be 0 (off) or a whole number of percent from 1 to 100"],
    ["80%", "must be 0 (off) or a whole number of percent from 1 to 100"],
  ],
  DISK_TRIM_AFTER_START: [
    ["sometimes", "must be true or false"],
    [2, "must be true or false"],
  ],
  POWER_AUTORESTART: [
    ["always", "must be true or false"],
    [2, "must be true or false"],
  ],
  POWER_NO_SLEEP: [
    ["never", "must be true or false"],
    [0.5, "must be true or false"],
  ],
  POWER_WAKE_ON_NETWORK: [
    ["$(reboot)", "must be true or false"],
    ["on", "must be true or false"],
  ],
};
