// A LaunchDaemon's inputs as the component passes them, for the provider's unit tests.
import type { LaunchDaemonInputs } from "../../provider/launchDaemon";

export const DAEMON: LaunchDaemonInputs = {
  resourceName: "d",
  host: { root: "/", user: "ops" },
  label: "com.example.colima",
  prefix: "/opt/homebrew",
  profile: "default",
  cpus: 2,
  memory: 4,
  disk: 60,
  arch: "aarch64",
  logPath: "/var/log/colima-pulse/colima.log",
  throttleInterval: 10,
  exitTimeOut: 120,
  maxFailedStarts: 5,
  profileGeneration: "g1",
  startupGrace: 300,
  pruneMode: "",
  apiHangSeconds: 120,
  clockDriftMaxSeconds: 5,
  waitWorkloadsMax: 300,
  versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.1.0" },
};
