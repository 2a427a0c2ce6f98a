// A simulated Mac behind a real OpenSSH server, for the tests of one `describe`: made before them,
// disposed after them with every stack a test pushed to `stacks`. The sshd's key `ops` logs in as
// the Mac's Homebrew user (SIM_USER=ops), as a stack's SSH_IDENTITY_FILE would.
import { after, before } from "node:test";
import type { Host } from "../../provider/lib/host";
import { MacSimulator } from "../simulator/simulator";
import type { TestStack } from "./pulumiStack";
import { testServices } from "./services";
import { type Sshd, sshTarget, startSshd } from "./sshd";

export interface MacOverSsh {
  readonly sim: MacSimulator;
  readonly sshd: Sshd;
  /** Disposed after the tests. */
  readonly stacks: TestStack[];
  /** The host input of a resource that reaches the Mac over the sshd. */
  host(): Host;
}

export function macOverSsh(): MacOverSsh {
  let sim: MacSimulator | undefined;
  let sshd: Sshd | undefined;
  const stacks: TestStack[] = [];
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, "") });
    sshd = await startSshd({ keys: { ops: { env: { SIM_USER: "ops" } } } });
  });
  after(async () => {
    for (const s of stacks) await s.dispose();
    await sshd?.dispose();
    await sim?.dispose();
  });
  return {
    get sim() {
      return sim as MacSimulator;
    },
    get sshd() {
      return sshd as Sshd;
    },
    stacks,
    host() {
      return { root: (sim as MacSimulator).root, user: "ops", ssh: sshTarget(sshd as Sshd, "ops") };
    },
  };
}

/** A Pulumi program of one ContainerInstaller `name` whose inputs come from the stack's config
 *  (host as JSON, dir, filesHash, dockerHost, prefix) and whose environment is `env`'s keys, each
 *  read from the config key of the same name in lower case, as a secret where it says so. */
export function installerOnlyProgram(name: string, env: Record<string, "plain" | "secret">): string {
  const vars = Object.entries(env).map(
    ([k, kind]) => `${k}: config.${kind === "secret" ? "requireSecret" : "require"}(${JSON.stringify(k.toLowerCase())})`,
  );
  const secret = Object.values(env).includes("secret") ? `\n  secrets: ["env"],` : "";
  return `import * as pulumi from "@pulumi/pulumi";
import { ContainerInstaller } from "../provider/containerInstaller";
const config = new pulumi.Config();
new ContainerInstaller(${JSON.stringify(name)}, {
  host: JSON.parse(config.require("host")),
  dir: config.require("dir"),
  filesHash: config.require("filesHash"),
  dockerHost: config.require("dockerHost"),
  prefix: config.require("prefix"),
  env: { ${vars.join(", ")} },${secret}
});
`;
}
