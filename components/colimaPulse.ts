// ColimaPulse: Docker on one Mac as the seed's lifecycle, each stage a resource and the engine's
// dependency graph the order: pre-flight and packages → profile (launchd hygiene, process
// hygiene, stale-state sweep, provisioning, hand-over) → LaunchDaemon (supervision) → health
// gates → smoke test → optional container installers.
// Pulumi's SDK a module at a time, not its index: the index also loads the Automation API and the
// closure serializer (npm's arborist, the TypeScript compiler: ~600 more modules, half a second of
// every run; docs/ARCHITECTURE.md §4).
import type * as pulumi from "@pulumi/pulumi";
import { all, interpolate, output, secret } from "@pulumi/pulumi/output";
import { ComponentResource } from "@pulumi/pulumi/resource";
import { ColimaProfile } from "../provider/colimaProfile";
import { ContainerInstaller } from "../provider/containerInstaller";
import { DockerAccess } from "../provider/dockerAccess";
import { HealthGate } from "../provider/healthGate";
import { HomebrewPackages, type Upgrade } from "../provider/homebrewPackages";
import { LaunchDaemon } from "../provider/launchDaemon";
import type { ResetDecision, RestoreDecision } from "../provider/lib/adoption";
import type { OtherJob } from "../provider/lib/autostarts";
import { colimaPaths, HOST_SETTINGS, type Host, hostOf, hostPath } from "../provider/lib/host";
import type { SupervisorSeen } from "../provider/lib/supervisor";
import { LogRotation } from "../provider/logRotation";
import { PowerSettings, powerValuesOf } from "../provider/powerSettings";
import { SmokeContainer } from "../provider/smokeContainer";
import type { SettingKey, Settings } from "../stacks/config";

/** One folder of containers/ with an install.sh (stacks/index.ts finds them). */
export interface InstallerSpec {
  name: string;
  dir: string;
  filesHash: string;
}

export interface ColimaPulseArgs {
  /** The validated machine settings (stacks/config.ts). */
  settings: Settings;
  /** Settings given as secrets: every input, output and progress line made from them stays secret. */
  secrets?: SettingKey[];
  /** "/" on a Mac; the simulated Mac's root in tests. */
  hostRoot: string;
  /** A full reset decided on the command line for this run (stacks/commandLineDecisions.ts). */
  reset?: ResetDecision;
  /** A restore of a backup decided on the command line for this run (`npm run restore`). */
  restore?: RestoreDecision;
  /** An upgrade decided on the command line for this run (`npm run upgrade`). */
  upgrade?: Upgrade;
  /** The LaunchDaemon's supervisor as the program's survey saw it: one that is not running is
   *  started again by this `up` (provider/lib/supervisor.ts). */
  supervisor?: SupervisorSeen;
  /** Other launchd jobs that start the profile (and stale colima-pulse jobs, when the run decided
   *  so): the LaunchDaemon boots each out and removes it (provider/lib/autostarts.ts). */
  otherJobs?: OtherJob[];
  /** The smoke test's image and expected output. */
  smoke: { image: string; expectOutput: string };
  /** Local installers, run after the smoke test against the profile's socket. */
  installers?: InstallerSpec[];
  /** Environment per installer name (config `installerEnv`, kept secret). */
  installerEnv?: pulumi.Input<Record<string, Record<string, string>>>;
}

/** Milliseconds each health gate waited, in order (provider/healthGate.ts). */
export type GateTimings = { socket: number; qemu: number; api: number; stable: number };

export class ColimaPulse extends ComponentResource {
  /** unix:///Users/<user>/.colima/<profile>/docker.sock — the supervised instance's Docker. */
  declare readonly dockerHost: pulumi.Output<string>;
  declare readonly dockerVersion: pulumi.Output<string>;
  declare readonly colimaVersion: pulumi.Output<string>;
  /** Installed versions of colima, lima, qemu and docker. */
  declare readonly versions: pulumi.Output<Record<string, string>>;
  declare readonly driver: pulumi.Output<string>;
  /** This run's gate timings in ms; a text saying they did not run when this run had nothing new
   *  for them to prove (a converged run): the numbers are then lastGateTimings'. */
  declare readonly gateTimings: pulumi.Output<GateTimings | string>;
  /** The gates' timings the last time they ran, and when (`measuredAt`, ISO; "" when state of an
   *  earlier version did not record it): `npm run fleet -- status` shows them. */
  declare readonly lastGateTimings: pulumi.Output<GateTimings & { measuredAt: string }>;
  declare readonly fileVault: pulumi.Output<string>;
  declare readonly fileVaultNote: pulumi.Output<string>;
  declare readonly launchdLabel: pulumi.Output<string>;
  declare readonly smokeImageDigest: pulumi.Output<string>;
  /** The Homebrew user's Docker context for this profile (DockerAccess). */
  declare readonly dockerContext: pulumi.Output<string>;
  /** DOCKER_HOST for members of DOCKER_SOCKET_GROUP ("" without one). */
  declare readonly groupDockerHost: pulumi.Output<string>;
  /** The health gate's disk report, its last run (provider/lib/disk.ts): Docker's use of the VM's
   *  data disk, the disk's size, the Mac's free space; -1 where it could not be read. */
  declare readonly dockerDiskUsedBytes: pulumi.Output<number>;
  declare readonly diskSizeBytes: pulumi.Output<number>;
  declare readonly hostFreeBytes: pulumi.Output<number>;
  declare readonly diskWarnings: pulumi.Output<string[]>;
  /** The supervisor's times of the last start, as the health gate read them (README "Workloads
   *  after a reboot"): seconds from the Mac's boot to the Docker API and to the restart-policy
   *  containers running; -1 where it has not said. */
  declare readonly bootToDockerSeconds: pulumi.Output<number>;
  declare readonly bootToWorkloadsSeconds: pulumi.Output<number>;

  constructor(name: string, args: ColimaPulseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("colima-pulse:index:ColimaPulse", name, {}, opts);
    // Before any resource of this run: gates measured since then were measured by this run.
    const runStarted = Date.now();
    const s = args.settings;
    const host: Host = hostOf(args.hostRoot, s);
    const HOST_KEYS: SettingKey[] = [...HOST_SETTINGS];
    const parent = { parent: this };

    // Secret settings: a value made from one is passed as a secret (so the engine encrypts it in
    // state and shows [secret]); each resource is told which of its inputs are secret (its
    // progress lines and diffs never print them) and which outputs rendered from them to keep secret.
    const secretSettings = new Set(args.secrets ?? []);
    const isSecret = (keys: SettingKey[]) => keys.some((k) => secretSettings.has(k));
    const secretIf = <T>(keys: SettingKey[], value: T): pulumi.Input<T> =>
      isSecret(keys) ? (secret(value) as unknown as pulumi.Output<T>) : value;
    /** `secrets` (the inputs of `from` that are secret) and the outputs to keep secret with them. */
    const secrecy = (from: Record<string, SettingKey[]>, outputs: string[]) => {
      const secrets = Object.keys(from).filter((input) => isSecret(from[input] ?? []));
      return {
        inputs: secrets.length > 0 ? { secrets } : {},
        opts: secrets.length > 0 ? { additionalSecretOutputs: outputs } : {},
      };
    };
    const hostInput = secretIf(HOST_KEYS, host);

    // An upgrade's clone names the profile, its label and BACKUP_DIR_BASE (provider/lib/upgradeClone.ts).
    const cloneKeys: SettingKey[] = [...HOST_KEYS, "COLIMA_PROFILE", "LABEL", "BACKUP_DIR_BASE"];
    const packagesSecrecy = secrecy({ host: HOST_KEYS, ...(args.upgrade?.before ? { upgrade: cloneKeys } : {}) }, ["fileVaultNote"]);
    const packages = new HomebrewPackages(
      `${name}-packages`,
      { host: hostInput, upgrade: args.upgrade?.before ? secretIf(cloneKeys, args.upgrade) : args.upgrade, ...packagesSecrecy.inputs },
      { ...parent, ...packagesSecrecy.opts },
    );
    // What the VM runs under: a change (an upgrade) restarts it through the gates.
    const vmVersions = packages.versions.apply(({ colima, lima, qemu }) => ({ colima, lima, qemu }));
    const arch = packages.arch.apply((a) => (a === "arm64" ? "aarch64" : "x86_64"));
    const machine = {
      host: hostInput,
      prefix: packages.prefix,
      profile: secretIf(["COLIMA_PROFILE"], s.COLIMA_PROFILE),
      cpus: secretIf(["COLIMA_CPUS"], s.COLIMA_CPUS),
      memory: secretIf(["COLIMA_MEMORY"], s.COLIMA_MEMORY),
      disk: secretIf(["COLIMA_DISK"], s.COLIMA_DISK),
      arch,
    };
    const machineSecrets: Record<string, SettingKey[]> = {
      host: HOST_KEYS,
      profile: ["COLIMA_PROFILE"],
      cpus: ["COLIMA_CPUS"],
      memory: ["COLIMA_MEMORY"],
      disk: ["COLIMA_DISK"],
    };

    // Settings name macOS paths; on the simulated Mac they live under its root.
    const backupDirBase = hostPath(host, s.BACKUP_DIR_BASE);
    const logPath = hostPath(host, s.LOG_PATH);
    const profileSecrecy = secrecy({ ...machineSecrets, label: ["LABEL"], backupDirBase: ["BACKUP_DIR_BASE"] }, [
      "instanceId",
      "dockerSocket",
    ]);
    const profile = new ColimaProfile(
      `${name}-profile`,
      {
        ...machine,
        label: secretIf(["LABEL"], s.LABEL),
        backupDirBase: secretIf(["BACKUP_DIR_BASE"], backupDirBase),
        hostMemoryGiB: packages.hostMemoryGiB,
        reset: args.reset,
        restore: args.restore,
        ...(s.BACKUP_KEEP ? { backupKeep: s.BACKUP_KEEP } : {}),
        ...profileSecrecy.inputs,
      },
      // One profile of a name per Mac: the old one goes first, also for `pulumi up --replace`
      // (which follows this option, not the provider's diff).
      { ...parent, dependsOn: [packages], deleteBeforeReplace: true, ...profileSecrecy.opts },
    );
    const waits: SettingKey[] = ["WAIT_SOCKET_MAX", "WAIT_QEMU_MAX", "WAIT_DOCKER_API_MAX"];
    const daemonInputs: Record<string, SettingKey[]> = {
      ...machineSecrets,
      label: ["LABEL"],
      // Their labels and paths name the profile's instance and the Homebrew user's home.
      otherJobs: ["COLIMA_PROFILE", "LABEL", "HOMEBREW_USER"],
      logPath: ["LOG_PATH"],
      throttleInterval: ["RESTART_THROTTLE_SECONDS"],
      maxFailedStarts: ["MAX_FAILED_STARTS"],
      startupGrace: waits,
      pruneMode: ["PRUNE_DOCKER_AFTER_START", "PRUNE_MODE"],
      apiHangSeconds: ["API_HANG_SECONDS"],
      clockDriftMaxSeconds: ["CLOCK_DRIFT_MAX_SECONDS"],
      waitWorkloadsMax: ["WAIT_WORKLOADS_MAX"],
    };
    const daemonSecrecy = secrecy(daemonInputs, ["plistPath", "scriptPath"]);
    const daemon = new LaunchDaemon(
      `${name}-daemon`,
      {
        ...machine,
        label: secretIf(daemonInputs.label, s.LABEL),
        logPath: secretIf(daemonInputs.logPath, logPath),
        throttleInterval: secretIf(daemonInputs.throttleInterval, s.RESTART_THROTTLE_SECONDS),
        maxFailedStarts: secretIf(daemonInputs.maxFailedStarts, s.MAX_FAILED_STARTS),
        profileGeneration: profile.generation,
        startupGrace: secretIf(waits, Math.max(60, s.WAIT_SOCKET_MAX + s.WAIT_QEMU_MAX + s.WAIT_DOCKER_API_MAX)),
        pruneMode: secretIf(daemonInputs.pruneMode, s.PRUNE_DOCKER_AFTER_START ? s.PRUNE_MODE : ""),
        versions: vmVersions,
        apiHangSeconds: secretIf(daemonInputs.apiHangSeconds, s.API_HANG_SECONDS),
        clockDriftMaxSeconds: secretIf(daemonInputs.clockDriftMaxSeconds, s.CLOCK_DRIFT_MAX_SECONDS),
        waitWorkloadsMax: secretIf(daemonInputs.waitWorkloadsMax, s.WAIT_WORKLOADS_MAX),
        ...(args.supervisor ? { supervisor: args.supervisor } : {}),
        ...(args.otherJobs?.length ? { otherJobs: secretIf(daemonInputs.otherJobs ?? [], args.otherJobs) } : {}),
        ...daemonSecrecy.inputs,
      },
      { ...parent, dependsOn: [profile], ...daemonSecrecy.opts },
    );
    // POWER_*: pmset's settings that bring Docker back after a power cut; none on: the Mac's own
    // settings, and what an earlier run set is put back (PowerSettings' delete).
    const power = powerValuesOf(s);
    if (Object.keys(power).length > 0)
      new PowerSettings(
        `${name}-power`,
        { host: hostInput, settings: power, ...secrecy({ host: HOST_KEYS }, []).inputs },
        { ...parent, dependsOn: [packages] },
      );
    // LOG_ROTATE_COUNT=0: the operator rotates the log; a rule made before is removed.
    if (s.LOG_ROTATE_COUNT > 0) {
      const rotation: Record<string, SettingKey[]> = { host: HOST_KEYS, label: ["LABEL"], logPath: ["LOG_PATH"] };
      new LogRotation(
        `${name}-log-rotation`,
        {
          host: hostInput,
          label: secretIf(rotation.label, s.LABEL),
          logPath: secretIf(rotation.logPath, logPath),
          sizeMB: s.LOG_ROTATE_SIZE_MB,
          count: s.LOG_ROTATE_COUNT,
          ...secrecy(rotation, []).inputs,
        },
        { ...parent, dependsOn: [daemon] },
      );
    }
    const gateInputs: Record<string, SettingKey[]> = {
      host: HOST_KEYS,
      profile: ["COLIMA_PROFILE"],
      socketTimeout: ["WAIT_SOCKET_MAX"],
      qemuTimeout: ["WAIT_QEMU_MAX"],
      apiTimeout: ["WAIT_DOCKER_API_MAX"],
      stableRequired: ["WAIT_STABLE_REQUIRED"],
      logPath: ["LOG_PATH"],
      diskGiB: ["COLIMA_DISK"],
      diskWarnPercent: ["DISK_WARN_PERCENT"],
      diskTrim: ["DISK_TRIM_AFTER_START"],
      workloadsTimeout: ["WAIT_WORKLOADS_MAX"],
    };
    const gateSecrecy = secrecy(gateInputs, ["dockerHost", ...(isSecret(["COLIMA_DISK"]) ? ["diskSizeBytes"] : [])]);
    const gate = new HealthGate(
      `${name}-health`,
      {
        host: hostInput,
        prefix: packages.prefix,
        profile: machine.profile,
        socketTimeout: secretIf(["WAIT_SOCKET_MAX"], s.WAIT_SOCKET_MAX),
        qemuTimeout: secretIf(["WAIT_QEMU_MAX"], s.WAIT_QEMU_MAX),
        apiTimeout: secretIf(["WAIT_DOCKER_API_MAX"], s.WAIT_DOCKER_API_MAX),
        stableRequired: secretIf(["WAIT_STABLE_REQUIRED"], s.WAIT_STABLE_REQUIRED),
        // For a failure's message: what the VM runs under (and ran under before), the job's log.
        versions: vmVersions,
        logPath: secretIf(["LOG_PATH"], logPath),
        // The disk report and trim after the gates (provider/lib/disk.ts).
        diskGiB: secretIf(["COLIMA_DISK"], s.COLIMA_DISK),
        diskWarnPercent: secretIf(["DISK_WARN_PERCENT"], s.DISK_WARN_PERCENT),
        diskTrim: secretIf(["DISK_TRIM_AFTER_START"], s.DISK_TRIM_AFTER_START),
        // The workloads gate (provider/lib/workloads.ts).
        workloadsTimeout: secretIf(["WAIT_WORKLOADS_MAX"], s.WAIT_WORKLOADS_MAX),
        // Prove it again whenever the daemon, a start of its job, or the profile behind it is new.
        trigger: all([daemon.filesHash, profile.generation, daemon.started]).apply(([files, generation, started]) =>
          [files, generation, ...(started ? [started] : [])].join(" "),
        ),
        ...gateSecrecy.inputs,
      },
      { ...parent, dependsOn: [daemon], ...gateSecrecy.opts },
    );
    // The profile's socket, known before anything runs (secret when the user or profile is).
    const socketKeys: SettingKey[] = ["HOMEBREW_USER", "COLIMA_PROFILE"];
    const dockerHost = secretIf(socketKeys, `unix://${colimaPaths(host, s.COLIMA_PROFILE).dockerSocket}`);
    const smokeSecrecy = secrecy({ host: HOST_KEYS, dockerHost: socketKeys }, []);
    const smoke = new SmokeContainer(
      `${name}-smoke`,
      {
        host: hostInput,
        // A path known before anything runs: a preview of a gate re-run must not look like a
        // new endpoint (the gate's own output is unknown until it has run again).
        dockerHost,
        image: args.smoke.image,
        expectOutput: args.smoke.expectOutput,
        dockerPath: interpolate`${packages.prefix}/bin/docker`,
        // Proved again under new versions (an upgrade), through the gates before it.
        trigger: packages.versions.apply((v) => ["colima", "lima", "qemu", "docker"].map((f) => `${f} ${v[f] ?? ""}`).join(", ")),
        // And on a VM provisioned again (a full reset, a restore): the gates prove it answers, the
        // smoke test that it runs containers. The same VM (a converged run, a resize) is not run again.
        vm: profile.generation,
        ...(args.reset
          ? { vmDecision: `a full reset (npm run reset, decision ${args.reset.id})` }
          : args.restore
            ? { vmDecision: `a restore (npm run restore, decision ${args.restore.id})` }
            : {}),
        ...smokeSecrecy.inputs,
      },
      { ...parent, dependsOn: [gate] },
    );

    const accessKeys: Record<string, SettingKey[]> = { host: HOST_KEYS, profile: ["COLIMA_PROFILE"], socketGroup: ["DOCKER_SOCKET_GROUP"] };
    const accessSecrecy = secrecy(accessKeys, ["groupSocket"]);
    const access = new DockerAccess(
      `${name}-docker-access`,
      {
        host: hostInput,
        prefix: packages.prefix,
        profile: machine.profile,
        ...(s.DOCKER_SOCKET_GROUP ? { socketGroup: secretIf(accessKeys.socketGroup, s.DOCKER_SOCKET_GROUP) } : {}),
        ...accessSecrecy.inputs,
      },
      { ...parent, dependsOn: [gate], ...accessSecrecy.opts },
    );

    for (const installer of args.installers ?? []) {
      new ContainerInstaller(
        `${name}-install-${installer.name}`,
        {
          host: hostInput,
          dir: installer.dir,
          filesHash: installer.filesHash,
          dockerHost,
          prefix: packages.prefix,
          env: output(args.installerEnv ?? {}).apply((all) => all[installer.name] ?? {}),
          ...secrecy({ host: HOST_KEYS, dockerHost: socketKeys }, []).inputs,
        },
        { ...parent, dependsOn: [smoke] },
      );
    }

    this.dockerHost = gate.dockerHost;
    this.dockerVersion = gate.dockerVersion;
    this.colimaVersion = packages.versions.apply((v) => v.colima ?? "");
    this.versions = packages.versions;
    this.driver = gate.driver;
    this.lastGateTimings = all([gate.timings, gate.measuredAt]).apply(([t, at]) => ({ ...t, measuredAt: at ?? "" }));
    this.gateTimings = this.lastGateTimings.apply(({ measuredAt, ...timings }): GateTimings | string =>
      measuredAt && Date.parse(measuredAt) >= runStarted
        ? timings
        : `not run in this update: nothing they prove changed (lastGateTimings is their last run${measuredAt ? `, ${measuredAt}` : ""})`,
    );
    this.fileVault = packages.fileVault;
    this.fileVaultNote = packages.fileVaultNote;
    this.launchdLabel = output(secretIf(["LABEL"], s.LABEL));
    this.smokeImageDigest = smoke.imageDigest;
    this.dockerContext = access.contextName;
    this.groupDockerHost = access.groupSocket.apply((p) => (p ? `unix://${p}` : ""));
    this.dockerDiskUsedBytes = gate.dockerDiskUsedBytes.apply((n) => n ?? -1);
    this.diskSizeBytes = gate.diskSizeBytes.apply((n) => n ?? -1);
    this.hostFreeBytes = gate.hostFreeBytes.apply((n) => n ?? -1);
    this.diskWarnings = gate.diskWarnings.apply((w) => w ?? []);
    this.bootToDockerSeconds = gate.bootToDockerSeconds.apply((n) => n ?? -1);
    this.bootToWorkloadsSeconds = gate.bootToWorkloadsSeconds.apply((n) => n ?? -1);
    this.registerOutputs({
      dockerContext: this.dockerContext,
      groupDockerHost: this.groupDockerHost,
      dockerHost: this.dockerHost,
      dockerVersion: this.dockerVersion,
      colimaVersion: this.colimaVersion,
      versions: this.versions,
      driver: this.driver,
      gateTimings: this.gateTimings,
      lastGateTimings: this.lastGateTimings,
      fileVault: this.fileVault,
      fileVaultNote: this.fileVaultNote,
      launchdLabel: this.launchdLabel,
      smokeImageDigest: this.smokeImageDigest,
      dockerDiskUsedBytes: this.dockerDiskUsedBytes,
      diskSizeBytes: this.diskSizeBytes,
      hostFreeBytes: this.hostFreeBytes,
      diskWarnings: this.diskWarnings,
      bootToDockerSeconds: this.bootToDockerSeconds,
      bootToWorkloadsSeconds: this.bootToWorkloadsSeconds,
    });
  }
}
