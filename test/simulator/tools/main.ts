// Entry of every simulated tool: records the call, runs the tool, records how it ended.
import { brew } from "./brew";
import { colima } from "./colima";
import { cp } from "./cp";
import { df } from "./df";
import { docker } from "./docker";
import { launchctl } from "./launchctl";
import { runLaunchd } from "./launchd";
import { limactl, qemuVm } from "./lima";
import { newsyslog } from "./newsyslog";
import { pmset } from "./pmset";
import { READ_TOOLS, readTool } from "./read";
import { stat } from "./stat";
import { fdesetup, id, kill, route, su, sudo, swVers, sysctl, uname } from "./system";
import { ToolExit, World } from "./world";

type Tool = (world: World, argv: string[]) => Promise<number>;

const TOOLS: Record<string, Tool> = {
  brew,
  colima,
  cp,
  df,
  // `lima` is limactl shell's wrapper script (lima's cmd/lima): Colima only looks it up on PATH.
  lima: async () => {
    throw new ToolExit(1, "lima: simulator: the guest (`limactl shell`) is not simulated\n");
  },
  limactl,
  qemu: qemuVm,
  "qemu-img": async () => 0,
  launchctl,
  launchd: (world) => runLaunchd(world),
  sudo,
  su,
  sw_vers: swVers,
  uname,
  id,
  fdesetup,
  sysctl,
  newsyslog,
  pmset,
  route,
  docker,
  kill,
  stat,
  ...Object.fromEntries(READ_TOOLS.map((t) => [t, readTool(t)])),
};

/** Tools whose start is recorded too (they run for a long time or hand over to others). */
const LONG_RUNNING = new Set(["colima", "limactl", "qemu", "launchd", "sudo", "su"]);

export function main(tool: string, root: string): void {
  const world = new World(root, tool);
  const argv = process.argv.slice(2);
  const run = TOOLS[tool];
  if (!run) {
    process.stderr.write(`simulator: no tool ${tool}\n`);
    process.exit(127);
  }
  if (LONG_RUNNING.has(tool)) world.record({ tool, argv });
  const finish = (code: number) => {
    // The read tools stand for real ones that were never recorded: only the simulated tools are.
    if (!READ_TOOLS.includes(tool)) world.record({ tool, argv, exit: code });
    process.exitCode = code;
    // Long-running tools end on their own terms; short ones end now, even with handles open.
    setImmediate(() => process.exit(code));
  };
  run(world, argv).then(finish, (e: unknown) => {
    if (e instanceof ToolExit) {
      if (e.message) process.stderr.write(e.message);
      finish(e.code);
    } else {
      process.stderr.write(`${tool}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      finish(70);
    }
  });
}
