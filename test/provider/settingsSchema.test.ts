// One schema, two checks: for every setting, the program (stacks/config.ts) and every provider
// input it becomes (each provider's `check`) accept and refuse the same values — the boundaries
// of each number, and every bad value of the bad-input table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { colimaProfileSchema } from "../../provider/colimaProfile";
import { dockerAccessSchema } from "../../provider/dockerAccess";
import { healthGateSchema } from "../../provider/healthGate";
import { launchDaemonSchema } from "../../provider/launchDaemon";
import { hostSchema } from "../../provider/lib/checkInputs";
import { settingSchemas } from "../../provider/lib/settingsSchema";
import { logRotationSchema } from "../../provider/logRotation";
import { ConfigError, resolveSettings, SETTINGS, type SettingKey } from "../../stacks/config";
import { BAD } from "../helpers/badInput";

type Field = { safeParse(v: unknown): { success: boolean } };
const profile = colimaProfileSchema(z).shape;
const daemon = launchDaemonSchema(z).shape;
const gate = healthGateSchema(z).shape;
const ssh = hostSchema(z).shape.ssh.unwrap().shape;
const rotation = logRotationSchema(z).shape;
const access = dockerAccessSchema(z).shape;

/** The provider inputs each setting becomes (components/colimaPulse.ts). */
const INPUTS: Record<SettingKey, [string, Field][]> = {
  HOMEBREW_USER: [["host.user", hostSchema(z).shape.user]],
  COLIMA_PROFILE: [
    ["ColimaProfile.profile", profile.profile],
    ["LaunchDaemon.profile", daemon.profile],
    ["HealthGate.profile", gate.profile],
  ],
  COLIMA_CPUS: [
    ["ColimaProfile.cpus", profile.cpus],
    ["LaunchDaemon.cpus", daemon.cpus],
  ],
  COLIMA_MEMORY: [
    ["ColimaProfile.memory", profile.memory],
    ["LaunchDaemon.memory", daemon.memory],
  ],
  COLIMA_DISK: [
    ["ColimaProfile.disk", profile.disk],
    ["LaunchDaemon.disk", daemon.disk],
  ],
  LABEL: [
    ["ColimaProfile.label", profile.label],
    ["LaunchDaemon.label", daemon.label],
  ],
  LOG_PATH: [
    ["LaunchDaemon.logPath", daemon.logPath],
    ["HealthGate.logPath", gate.logPath],
    ["LogRotation.logPath", rotation.logPath],
  ],
  BACKUP_DIR_BASE: [["ColimaProfile.backupDirBase", profile.backupDirBase]],
  // The flag picks whether LaunchDaemon.pruneMode is "" or PRUNE_MODE; no input holds it.
  PRUNE_DOCKER_AFTER_START: [],
  PRUNE_MODE: [["LaunchDaemon.pruneMode", daemon.pruneMode]],
  WAIT_SOCKET_MAX: [["HealthGate.socketTimeout", gate.socketTimeout]],
  WAIT_DOCKER_API_MAX: [["HealthGate.apiTimeout", gate.apiTimeout]],
  WAIT_QEMU_MAX: [["HealthGate.qemuTimeout", gate.qemuTimeout]],
  WAIT_STABLE_REQUIRED: [["HealthGate.stableRequired", gate.stableRequired]],
  RESTART_THROTTLE_SECONDS: [["LaunchDaemon.throttleInterval", daemon.throttleInterval]],
  MAX_FAILED_STARTS: [["LaunchDaemon.maxFailedStarts", daemon.maxFailedStarts]],
  SSH_HOST: [["host.ssh.destination", ssh.destination]],
  SSH_PORT: [["host.ssh.port", ssh.port]],
  SSH_IDENTITY_FILE: [["host.ssh.identityFile", ssh.identityFile]],
  SSH_KNOWN_HOSTS_FILE: [["host.ssh.knownHostsFile", ssh.knownHostsFile]],
  API_HANG_SECONDS: [["LaunchDaemon.apiHangSeconds", daemon.apiHangSeconds]],
  CLOCK_DRIFT_MAX_SECONDS: [["LaunchDaemon.clockDriftMaxSeconds", daemon.clockDriftMaxSeconds]],
  WAIT_WORKLOADS_MAX: [
    ["LaunchDaemon.waitWorkloadsMax", daemon.waitWorkloadsMax],
    ["HealthGate.workloadsTimeout", gate.workloadsTimeout],
  ],
  LOG_ROTATE_SIZE_MB: [["LogRotation.sizeMB", rotation.sizeMB]],
  // 0 means no LogRotation at all (components/colimaPulse.ts); its input takes the setting's range.
  LOG_ROTATE_COUNT: [["LogRotation.count", rotation.count]],
  DOCKER_SOCKET_GROUP: [["DockerAccess.socketGroup", access.socketGroup]],
  BACKUP_KEEP: [["ColimaProfile.backupKeep", profile.backupKeep]],
  // The program checks upgrades against it (stacks/index.ts refuseVersions); no input holds it.
  VERSION_DENYLIST: [],
  DISK_WARN_PERCENT: [["HealthGate.diskWarnPercent", gate.diskWarnPercent]],
  DISK_TRIM_AFTER_START: [["HealthGate.diskTrim", gate.diskTrim]],
  // Each flag picks whether PowerSettings.settings holds its pmset value (powerValuesOf); no input holds the flag.
  POWER_AUTORESTART: [],
  POWER_NO_SLEEP: [],
  POWER_WAKE_ON_NETWORK: [],
};

/** Whether the program accepts `value` for `key` (with a valid HOMEBREW_USER beside it). */
function programAccepts(key: SettingKey, value: unknown): boolean {
  try {
    // The other SSH settings apply only beside SSH_HOST.
    const beside = key.startsWith("SSH_") && key !== "SSH_HOST" ? { SSH_HOST: "mac-07.local" } : {};
    resolveSettings([{ layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { HOMEBREW_USER: "ops", ...beside, [key]: value } }]);
    return true;
  } catch (e) {
    if (e instanceof ConfigError) return false;
    throw e;
  }
}

/** A good value (the default, or one of the README's), values on both sides of each bound, and
 *  every bad value of the table ("" is refused by the program before any schema). */
function probes(key: SettingKey): unknown[] {
  const base = settingSchemas(z)[key];
  const fallback: Partial<Record<SettingKey, unknown>> = {
    HOMEBREW_USER: "ops",
    BACKUP_DIR_BASE: "/Users/ops/backups",
    SSH_HOST: "ops@mac-07.local",
    SSH_PORT: 22,
    SSH_IDENTITY_FILE: "/Users/ops/.ssh/id_ed25519",
    SSH_KNOWN_HOSTS_FILE: "/etc/colima-pulse/known_hosts",
    LOG_PATH: "/var/log/colima-pulse/colima.log",
    DOCKER_SOCKET_GROUP: "docker",
    BACKUP_KEEP: 3,
  };
  const values: unknown[] = [SETTINGS[key].safeParse(undefined).data ?? fallback[key]];
  values.push(...(BAD[key] ?? []).map(([v]) => v).filter((v) => v !== ""));
  if (base instanceof z.ZodNumber) {
    const min = base.minValue as number;
    const max = base.maxValue as number;
    values.push(min - 1, min, min + 0.5, max, max + 1);
  }
  return values;
}

describe("one schema: the program and the providers agree on every setting", () => {
  it("maps every setting", () => assert.deepEqual(Object.keys(INPUTS).sort(), Object.keys(SETTINGS).sort()));

  for (const key of Object.keys(INPUTS) as SettingKey[]) {
    for (const [input, field] of INPUTS[key]) {
      it(`${key} → ${input}`, () => {
        const values = probes(key);
        assert.ok(values.length >= 2, `${key} has values to probe`);
        let accepted = 0;
        assert.notEqual(values[0], undefined, `${key} has a good value`);
        for (const value of values) {
          const program = programAccepts(key, value);
          assert.equal(field.safeParse(value).success, program, `${input} and the program disagree on ${JSON.stringify(value)}`);
          if (program) accepted++;
        }
        // Values on both sides, so agreement means something.
        assert.ok(accepted > 0 && accepted < values.length, `${key}: ${accepted}/${values.length} accepted`);
      });
    }
  }
});

describe("the schema's own edges (provider/lib/settingsSchema.ts)", () => {
  const s = settingSchemas(z);
  const message = (key: SettingKey, value: unknown) => s[key].safeParse(value).error?.issues[0]?.message;

  it("a launchd label is reverse-DNS from its first character to its last", () => {
    for (const label of ["com.example.colima", "a.b", "com.example-x.colima2"]) assert.equal(message("LABEL", label), undefined, label);
    for (const label of [" com.example.colima", "$(id).example.colima", "-com.example", "com.example.", "com..example", "com"])
      assert.equal(message("LABEL", label), "must be a reverse-DNS launchd label such as com.example.colima", label);
  });

  it("PRUNE_MODE: dangling, images or system", () => {
    for (const mode of ["dangling", "images", "system"]) assert.equal(message("PRUNE_MODE", mode), undefined, mode);
    for (const mode of ["", "all", "Images"]) assert.equal(message("PRUNE_MODE", mode), "must be one of dangling, images, system", mode);
  });

  it("API_HANG_SECONDS: 0 turns it off, else 10 seconds to a day", () => {
    for (const n of [0, 10, 11, 86400]) assert.equal(message("API_HANG_SECONDS", n), undefined, String(n));
    for (const n of [1, 9])
      assert.equal(
        message("API_HANG_SECONDS", n),
        "must be 0 (off) or a whole number of seconds from 10 to 86400 (write 120 for 2 minutes)",
        String(n),
      );
  });

  it("DOCKER_SOCKET_GROUP: never wheel or everyone", () => {
    for (const group of ["wheel", "everyone"])
      assert.equal(message("DOCKER_SOCKET_GROUP", group), "must not be wheel or everyone: name a group made for Docker's users", group);
    for (const group of ["docker", "_docker", "staff"]) assert.equal(message("DOCKER_SOCKET_GROUP", group), undefined, group);
  });

  it("HOMEBREW_USER: a short user name, never root", () => {
    assert.equal(message("HOMEBREW_USER", "root"), "must not be root: Homebrew refuses to run as root");
    assert.equal(message("HOMEBREW_USER", "_ops.a-1"), undefined);
    assert.equal(message("HOMEBREW_USER", `a${"b".repeat(31)}`), undefined);
    assert.equal(message("HOMEBREW_USER", `a${"b".repeat(32)}`), "must be a macOS short user name (lower-case letters, digits, _ . -)");
  });

  it("paths: absolute, spaces only where a shell is never involved, never ..", () => {
    assert.equal(message("LOG_PATH", "/var/log/my colima/x@y+z.log"), undefined);
    // LOG_PATH names a file (provider/lib/logPath.ts checks the folders it is in, on the Mac).
    assert.equal(message("LOG_PATH", "/"), "must name a file: no trailing / and no '.' parts");
    assert.equal(message("LOG_PATH", "/var/log/colima-pulse/"), "must name a file: no trailing / and no '.' parts");
    assert.equal(message("LOG_PATH", "/var/log/./x.log"), "must name a file: no trailing / and no '.' parts");
    assert.equal(message("LOG_PATH", "/var/log/a..b/c"), undefined);
    assert.equal(message("BACKUP_DIR_BASE", "/Users/ops/.."), "must not contain '..'");
    assert.equal(message("SSH_IDENTITY_FILE", "/Users/ops/.ssh/id_ed25519"), undefined);
    assert.equal(message("SSH_KNOWN_HOSTS_FILE", "/etc/ssh known"), "must be an absolute path of letters, digits and ._@+- (no spaces)");
  });
});
