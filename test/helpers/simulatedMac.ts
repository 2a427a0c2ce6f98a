// A simulated Mac and a stack of the real program converging it, for the end-to-end tests.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MacSimulator, type SimOptions } from "../simulator/simulator";
import type { RecordEntry } from "../simulator/tools/world";
import { decisionFor, nextDecisionId } from "./decisionId";
import { repoRoot, TestStack } from "./pulumiStack";
import { testServices } from "./services";

export const LABEL = "com.colima-pulse.colima";
export { decisionFor, nextDecisionId };

/** A full-reset decision made now, as `npm run reset` passes it to the one `pulumi up` it runs
 *  (scripts/reset.sh; stacks/commandLineDecisions.ts reads it); a new decision each time, also
 *  within one second (test/helpers/decisionId.ts), for `stack` alone. */
export function fullReset(stack: TestStack, backup: "move" | "false" = "move", profile = "default"): NodeJS.ProcessEnv {
  return {
    COLIMA_PULSE_FULL_RESET: profile,
    COLIMA_PULSE_BACKUP: backup,
    COLIMA_PULSE_RESET_ID: nextDecisionId(),
    ...decisionFor(stack.stack),
  };
}

export interface SimulatedMac {
  sim: MacSimulator;
  stack: TestStack;
  /** The default profile's Docker socket on the simulated Mac. */
  socket: string;
  dispose(): Promise<void>;
}

/** A fresh simulated Mac (nothing installed but Homebrew) and a stack for it, run by
 *  `options.operator` (default ops); `config` adds to HOMEBREW_USER=ops, the local smoke image
 *  and quick restarts. */
export async function simulatedMac(
  name: string,
  config: Record<string, string> = {},
  options: Partial<SimOptions> = {},
  /** The project as it was at this commit (an upgrade test's "before"). */
  revision?: string,
): Promise<SimulatedMac> {
  const services = testServices();
  const sim = await MacSimulator.create({ dockerTarget: services.dockerHost.replace(/^unix:\/\//, ""), ...options });
  const stack = await TestStack.create(
    name,
    { HOMEBREW_USER: "ops", COLIMA_DISK: "20", RESTART_THROTTLE_SECONDS: "2", smokeImage: services.smokeImage, ...config },
    {
      env: {
        COLIMA_PULSE_HOST_ROOT: sim.root,
        SIM_USER: options.operator ?? "ops",
        // An operator who is not the Homebrew user: the providers' own connects to that user's
        // sockets are refused as connect(2) refuses them on a Mac (test/simulator/connectCheck.ts).
        ...(options.operator && options.operator !== (config.HOMEBREW_USER ?? "ops")
          ? { NODE_OPTIONS: `--require ${join(repoRoot, "test/simulator/connectCheckPreload.cjs")}` }
          : {}),
      },
      revision,
    },
  );
  return {
    sim,
    stack,
    socket: sim.path("/Users/ops/.colima/default/docker.sock"),
    async dispose() {
      // What the supervised job said, for whoever reads a failed run's log.
      const log = sim.path("/var/log/colima-pulse/colima.log");
      if (existsSync(log)) console.log(`--- ${name}: ${log} (last lines)\n${readFileSync(log, "utf8").split("\n").slice(-12).join("\n")}`);
      await stack.dispose();
      await sim.dispose();
    },
  };
}

/** Commands that change the machine (each once): what a converged `pulumi up` must not run. */
export function mutating(records: RecordEntry[]): string[] {
  const seen = new Set<string>();
  for (const r of records) {
    const command = `${r.tool} ${r.argv.join(" ")}`;
    if (
      /^(colima (start|stop|delete)|launchctl (bootstrap|bootout|kickstart|enable|disable)|brew install|limactl (start|stop))\b/.test(
        command,
      )
    ) {
      seen.add(`${r.pid} ${command}`);
    }
  }
  return [...seen];
}

export function dockerAnswers(socket: string): boolean {
  try {
    return /^\d+\./.test(
      execFileSync("docker", ["--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"], {
        encoding: "utf8",
        stdio: "pipe",
      }),
    );
  } catch {
    return false;
  }
}

/** Polls `probe` every 100 ms; fails with `what` after `ms`. Returns the time it took. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, ms = 60_000): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

/** Waits until the running supervisor is done with what it runs once the Docker API first answers after a
 *  start (provider/supervisor.sh: the workloads wait, beside it, and the guest clock's check), so
 *  that its `colima status` heartbeat is all an idle Mac runs: a test that asserts "nothing ran"
 *  clears the records after this. With the default settings (WAIT_WORKLOADS_MAX and
 *  CLOCK_DRIFT_MAX_SECONDS not 0: both say so in the log). */
export async function supervisorSettled(mac: SimulatedMac, log = "/var/log/colima-pulse/colima.log"): Promise<void> {
  const settled = () => {
    const text = existsSync(mac.sim.path(log)) ? readFileSync(mac.sim.path(log), "utf8") : "";
    const start = text.lastIndexOf("the Docker API answers at ");
    const after = start < 0 ? "" : text.slice(start);
    // Those lines must be the running supervisor's (`colima-pulse[$$]`, its shell's PID): one a
    // reload booted out leaves them behind while its successor is still starting Colima.
    const pid = /colima-pulse\[(\d+)\] the Docker API answers at [^\n]*$/m.exec(
      text.slice(Math.max(0, text.lastIndexOf("\n", start))),
    )?.[1];
    const running = mac.sim
      .processes()
      .some((p) => String(p.pid) === pid && /\/bin\/sh .*\/Library\/Application Support\/colima-pulse\//.test(p.command));
    return (
      running &&
      /workloads (back|not back within)/.test(after) &&
      /after this start: (the guest's clock|could not read the guest's clock)/.test(after)
    );
  };
  await waitFor(`the supervisor's work after its start (the workloads and the guest clock lines in ${log})`, settled, 120_000);
}

/** The JSON steps of `pulumi preview --refresh --json` that are not refreshes, as "op type::name". */
export function plannedSteps(previewJson: string): string[] {
  const steps = (JSON.parse(previewJson) as { steps?: { op: string; urn: string }[] }).steps ?? [];
  return steps
    .filter((s) => s.op !== "refresh" && s.op !== "same" && !s.urn.includes("::pulumi:pulumi:Stack::"))
    .map((s) => {
      const [, , type = "", name = ""] = s.urn.split("::");
      return `${s.op} ${type.split("$").pop()}::${name}`;
    });
}
