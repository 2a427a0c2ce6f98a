// The main job off a Mac (scripts/converge.sh): the same program, converging a simulated Mac
// that persists between runs (/tmp/cpulse-mac-<checkout>), whose VM exposes the test dockerd.
// Each run boots the simulated Mac, runs `pulumi up`, prints the outputs and shuts it down.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { testServices } from "../test/helpers/services";
import { MacSimulator } from "../test/simulator/simulator";

async function main(): Promise<number> {
  const repo = join(__dirname, "..");
  // Started by scripts/converge.sh (test/services/services.sh).
  const { dockerHost, smokeImage: image } = testServices();
  const key = spawnSync("sh", ["-c", `printf %s "$1" | cksum | cut -d' ' -f1`, "sh", repo], { encoding: "utf8" }).stdout.trim();
  const root = process.env.COLIMA_PULSE_SIM_ROOT ?? `/tmp/cpulse-mac-${key}`;
  console.error(`simulated Mac: ${root} (arm64, macOS 15.6, user ops)`);
  const sim = await MacSimulator.open(root, { dockerTarget: dockerHost.replace(/^unix:\/\//, "") });
  const env = { ...process.env, COLIMA_PULSE_HOST_ROOT: sim.root, SIM_USER: sim.operator };
  const pulumi = (...args: string[]) => spawnSync("pulumi", args, { cwd: repo, env, stdio: "inherit" }).status ?? 1;
  try {
    if (pulumi("stack", "select", "simulated") !== 0 && pulumi("stack", "init", "simulated") !== 0) return 1;
    pulumi("config", "set", "HOMEBREW_USER", sim.operator);
    pulumi("config", "set", "smokeImage", image);
    // A converge applies at once; a full reset or an upgrade (scripts/reset.sh, upgrade.sh) shows
    // its preview first, and goes on only with --yes (the scripts refuse to start without a
    // terminal or --yes).
    const decided = Boolean(process.env.COLIMA_PULSE_FULL_RESET || process.env.COLIMA_PULSE_UPGRADE_ID);
    const code = pulumi("up", ...(decided ? [] : ["--yes", "--skip-preview"]), ...process.argv.slice(2));
    if (code === 0) pulumi("stack", "output");
    return code;
  } finally {
    console.error("shutting the simulated Mac down (its state stays for the next run)");
    await sim.haltAll(10_000);
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`simulate: ${e.message}`);
    process.exit(1);
  },
);
