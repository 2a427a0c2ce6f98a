// ColimaPulse: Docker on one Mac as the seed's lifecycle, each stage a resource and the engine's
// dependency graph the order: pre-flight and packages → profile (launchd hygiene, process
// hygiene, stale-state sweep, provisioning, hand-over) → LaunchDaemon (supervision) → health
// gates → smoke test → optional container installers.
import * as pulumi from "@pulumi/pulumi";
import { ColimaProfile } from "../provider/colimaProfile";
import { ContainerInstaller } from "../provider/containerInstaller";
import { HealthGate } from "../provider/healthGate";
import { HomebrewPackages, type Upgrade } from "../provider/homebrewPackages";
import { LaunchDaemon } from "../provider/launchDaemon";
import type { ResetDecision } from "../provider/lib/adoption";
import { colimaPaths, type Host, hostPath } from "../provider/lib/host";
import { SmokeContainer } from "../provider/smokeContainer";
import type { Settings } from "../stacks/config";

/** One folder of containers/ with an install.sh (stacks/index.ts finds them). */
export interface InstallerSpec {
  name: string;
  dir: string;
  filesHash: string;
}

export interface ColimaPulseArgs {
  /** The validated machine settings (stacks/config.ts). */
  settings: Settings;
  /** "/" on a Mac; the simulated Mac's root in tests. */
  hostRoot: string;
  /** A full reset decided on the command line for this run (stacks/commandLineDecisions.ts). */
  reset?: ResetDecision;
  /** An upgrade decided on the command line for this run (`npm run upgrade`). */
  upgrade?: Upgrade;
  /** The smoke test's image and expected output. */
  smoke: { image: string; expectOutput: string };
  /** Local installers, run after the smoke test against the profile's socket. */
  installers?: InstallerSpec[];
  /** Environment per installer name (config `installerEnv`, kept secret). */
  installerEnv?: pulumi.Input<Record<string, Record<string, string>>>;
}

export class ColimaPulse extends pulumi.ComponentResource {
  /** unix:///Users/<user>/.colima/<profile>/docker.sock — the supervised instance's Docker. */
  declare readonly dockerHost: pulumi.Output<string>;
  declare readonly dockerVersion: pulumi.Output<string>;
  declare readonly colimaVersion: pulumi.Output<string>;
  /** Installed versions of colima, lima, qemu and docker. */
  declare readonly versions: pulumi.Output<Record<string, string>>;
  declare readonly driver: pulumi.Output<string>;
  declare readonly gateTimings: pulumi.Output<{ socket: number; qemu: number; api: number; stable: number }>;
  declare readonly fileVault: pulumi.Output<string>;
  declare readonly fileVaultNote: pulumi.Output<string>;
  declare readonly launchdLabel: pulumi.Output<string>;
  declare readonly smokeImageDigest: pulumi.Output<string>;

  constructor(name: string, args: ColimaPulseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("colima-pulse:index:ColimaPulse", name, {}, opts);
    const s = args.settings;
    const host: Host = { root: args.hostRoot, user: s.HOMEBREW_USER };
    const parent = { parent: this };

    const packages = new HomebrewPackages(`${name}-packages`, { host, upgrade: args.upgrade }, parent);
    // What the VM runs under: a change (an upgrade) restarts it through the gates.
    const vmVersions = packages.versions.apply(({ colima, lima, qemu }) => ({ colima, lima, qemu }));
    const arch = packages.arch.apply((a) => (a === "arm64" ? "aarch64" : "x86_64"));
    const machine = {
      host,
      prefix: packages.prefix,
      profile: s.COLIMA_PROFILE,
      cpus: s.COLIMA_CPUS,
      memory: s.COLIMA_MEMORY,
      disk: s.COLIMA_DISK,
      arch,
    };

    // Settings name macOS paths; on the simulated Mac they live under its root.
    const backupDirBase = hostPath(host, s.BACKUP_DIR_BASE);
    const logPath = hostPath(host, s.LOG_PATH);
    const profile = new ColimaProfile(
      `${name}-profile`,
      { ...machine, label: s.LABEL, backupDirBase, hostMemoryGiB: packages.hostMemoryGiB, reset: args.reset },
      // One profile of a name per Mac: the old one goes first, also for `pulumi up --replace`
      // (which follows this option, not the provider's diff).
      { ...parent, dependsOn: [packages], deleteBeforeReplace: true },
    );
    const daemon = new LaunchDaemon(
      `${name}-daemon`,
      {
        ...machine,
        label: s.LABEL,
        logPath,
        throttleInterval: s.RESTART_THROTTLE_SECONDS,
        maxFailedStarts: s.MAX_FAILED_STARTS,
        profileGeneration: profile.generation,
        startupGrace: Math.max(60, s.WAIT_SOCKET_MAX + s.WAIT_QEMU_MAX + s.WAIT_DOCKER_API_MAX),
        pruneMode: s.PRUNE_DOCKER_AFTER_START ? s.PRUNE_MODE : "",
        versions: vmVersions,
      },
      { ...parent, dependsOn: [profile] },
    );
    const gate = new HealthGate(
      `${name}-health`,
      {
        host,
        prefix: packages.prefix,
        profile: s.COLIMA_PROFILE,
        socketTimeout: s.WAIT_SOCKET_MAX,
        qemuTimeout: s.WAIT_QEMU_MAX,
        apiTimeout: s.WAIT_DOCKER_API_MAX,
        stableRequired: s.WAIT_STABLE_REQUIRED,
        // For a failure's message: what the VM runs under (and ran under before), the job's log.
        versions: vmVersions,
        logPath,
        // Prove it again whenever the daemon or the profile behind it is new.
        trigger: pulumi.interpolate`${daemon.filesHash} ${profile.generation}`,
      },
      { ...parent, dependsOn: [daemon] },
    );
    const smoke = new SmokeContainer(
      `${name}-smoke`,
      {
        host,
        // A path known before anything runs: a preview of a gate re-run must not look like a
        // new endpoint (the gate's own output is unknown until it has run again).
        dockerHost: `unix://${colimaPaths(host, s.COLIMA_PROFILE).dockerSocket}`,
        image: args.smoke.image,
        expectOutput: args.smoke.expectOutput,
        dockerPath: pulumi.interpolate`${packages.prefix}/bin/docker`,
        // Proved again under new versions (an upgrade), through the gates before it.
        trigger: packages.versions.apply((v) => ["colima", "lima", "qemu", "docker"].map((f) => `${f} ${v[f] ?? ""}`).join(", ")),
      },
      { ...parent, dependsOn: [gate] },
    );

    for (const installer of args.installers ?? []) {
      new ContainerInstaller(
        `${name}-install-${installer.name}`,
        {
          host,
          dir: installer.dir,
          filesHash: installer.filesHash,
          dockerHost: `unix://${colimaPaths(host, s.COLIMA_PROFILE).dockerSocket}`,
          prefix: packages.prefix,
          env: pulumi.output(args.installerEnv ?? {}).apply((all) => all[installer.name] ?? {}),
        },
        { ...parent, dependsOn: [smoke] },
      );
    }

    this.dockerHost = gate.dockerHost;
    this.dockerVersion = gate.dockerVersion;
    this.colimaVersion = packages.versions.apply((v) => v.colima ?? "");
    this.versions = packages.versions;
    this.driver = gate.driver;
    this.gateTimings = gate.timings;
    this.fileVault = packages.fileVault;
    this.fileVaultNote = packages.fileVaultNote;
    this.launchdLabel = pulumi.output(s.LABEL);
    this.smokeImageDigest = smoke.imageDigest;
    this.registerOutputs({
      dockerHost: this.dockerHost,
      dockerVersion: this.dockerVersion,
      colimaVersion: this.colimaVersion,
      versions: this.versions,
      driver: this.driver,
      gateTimings: this.gateTimings,
      fileVault: this.fileVault,
      fileVaultNote: this.fileVaultNote,
      launchdLabel: this.launchdLabel,
      smokeImageDigest: this.smokeImageDigest,
    });
  }
}
