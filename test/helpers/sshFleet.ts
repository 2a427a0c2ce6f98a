// A fleet as `npm run fleet` drives it: simulated Macs behind one real OpenSSH server, each a stack
// of one project (the first made by TestStack, the others `stack init`ed with their own settings),
// and the runner told where each Mac's root is on this machine (a real fleet's are all "/").

import { MacSimulator } from "../simulator/simulator";
import { TestStack } from "./pulumiStack";
import { testServices } from "./services";
import { type Sshd, startSshd } from "./sshd";

export class SshFleet {
  private constructor(
    readonly sshd: Sshd,
    readonly stack: TestStack,
    readonly sims: Record<string, MacSimulator>,
    /** COLIMA_PULSE_FLEET_HOST_ROOTS: each simulated Mac's root, by stack. */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `macs` as stacks, each with the settings of a Mac reached over the sshd as `ops` (its Homebrew
   *  user) and whatever `more(mac, sshd)` adds or overrides. */
  static async create(
    macs: readonly string[],
    more: (mac: string, sshd: Sshd) => Record<string, string> = () => ({}),
    /** Added to every pulumi command's environment (a shared backend: test/helpers/postgres.ts). */
    backendEnv: NodeJS.ProcessEnv = {},
  ): Promise<SshFleet> {
    const services = testServices();
    const sshd = await startSshd({ keys: { ops: { env: { SIM_USER: "ops" } } } });
    const sims: Record<string, MacSimulator> = {};
    for (const mac of macs) sims[mac] = await MacSimulator.create({ dockerTarget: services.dockerHost.replace(/^unix:\/\//, "") });
    const settings = (mac: string): Record<string, string> => ({
      HOMEBREW_USER: "ops",
      COLIMA_DISK: "20",
      RESTART_THROTTLE_SECONDS: "2",
      smokeImage: services.smokeImage,
      SSH_HOST: `${sshd.loginUser}@127.0.0.1`,
      SSH_PORT: String(sshd.port),
      SSH_IDENTITY_FILE: sshd.keys.ops?.identityFile as string,
      SSH_KNOWN_HOSTS_FILE: sshd.knownHostsFile,
      ...more(mac, sshd),
    });
    const [first, ...rest] = macs;
    const stack = await TestStack.create(first as string, settings(first as string), { env: backendEnv });
    for (const mac of rest) {
      await stack.must(["stack", "init", mac]);
      for (const [key, value] of Object.entries(settings(mac))) await stack.must(["config", "set", "--stack", mac, key, value]);
    }
    const env = { COLIMA_PULSE_FLEET_HOST_ROOTS: JSON.stringify(Object.fromEntries(macs.map((m) => [m, sims[m]?.root]))) };
    return new SshFleet(sshd, stack, sims, env);
  }

  async dispose(): Promise<void> {
    await this.stack.dispose();
    for (const sim of Object.values(this.sims)) await sim.dispose();
    await this.sshd.dispose();
  }
}
