// SmokeContainer: the end-to-end proof that a Docker endpoint really works (the seed's
// containers/hello-world): pull an image through the given socket, run it, check what it
// printed, and record the image digest. Delete removes only what this resource added.
import type * as pulumi from "@pulumi/pulumi";
import { ResourceByReference } from "./lib/byReference";
import {
  checkInputs,
  type DetailedDiff,
  diffOf,
  hostSchema,
  inputChanges,
  NOT_YET_KNOWN,
  onlyReachChanged,
  say,
  UNKNOWN,
  type Zod,
} from "./lib/checkInputs";
import { profileChange } from "./lib/generation";
import { type Host, homeOf, hostPath } from "./lib/host";
import { macOf } from "./lib/mac";
import { onMachine } from "./lib/machineLock";
import { type CommandResult, type RunOptions, run } from "./lib/process";

// ---- Args ---------------------------------------------------------------------------------

export interface SmokeContainerArgs {
  /** Which of these inputs hold secret settings (components/colimaPulse.ts): never printed. */
  secrets?: string[];
  /** The Mac whose Docker this is: create, update and delete then run under its lock. None for a
   *  plain Docker endpoint, which has no Mac to lock. */
  host?: pulumi.Input<Host>;
  /** Docker endpoint, e.g. `unix:///Users/ops/.colima/default/docker.sock`. */
  dockerHost: pulumi.Input<string>;
  /** Image to pull and run. Default `hello-world:latest` (the seed's smoke test). */
  image?: pulumi.Input<string>;
  /** Text the container must print for the test to pass. Default `Hello from Docker!`. */
  expectOutput?: pulumi.Input<string>;
  /** The docker CLI. Default `docker` from PATH (Homebrew's on a Mac). */
  dockerPath?: pulumi.Input<string>;
  /** Seconds each of pull and run may take. Default 120. */
  timeoutSeconds?: pulumi.Input<number>;
  /** Anything whose change means "run it again" (the installed versions after an upgrade). */
  trigger?: pulumi.Input<string>;
  /** The VM behind the endpoint, as its profile's generation (ColimaProfile): a VM provisioned
   *  again (a full reset, a restore) runs the smoke test again; the same VM does not. */
  vm?: pulumi.Input<string>;
  /** This run's command-line decision that makes a new VM (`npm run reset`, `npm run restore`), in
   *  words: while `vm` is not known yet (a preview), it says that the smoke test runs on that VM. */
  vmDecision?: pulumi.Input<string>;
}

// ---- schema and types ---------------------------------------------------------------------

// A Docker image reference: [host[:port]/]path[:tag][@sha256:…]; never starts with "-" (argv).
const IMAGE_REF =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function smokeContainerSchema(z: Zod) {
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z).optional(),
    dockerHost: z.string().regex(/^unix:\/\/\/[^\0\n]+$/, "must be unix:///<absolute path to docker.sock>"),
    image: z.string().regex(IMAGE_REF, "must be a Docker image reference such as hello-world:latest").default("hello-world:latest"),
    expectOutput: z.string().min(1, "must not be empty").default("Hello from Docker!"),
    dockerPath: z.string().min(1).default("docker"),
    timeoutSeconds: z.number().int().min(1).max(3600).default(120),
    trigger: z.string().optional(),
    vm: z.string().optional(),
    vmDecision: z.string().optional(),
  });
}

export type SmokeContainerInputs = {
  resourceName: string;
  /** Which inputs hold secret settings: never printed (provider/lib/checkInputs.ts, redact). */
  secrets?: string[];
  host?: Host;
  dockerHost: string;
  image: string;
  expectOutput: string;
  dockerPath: string;
  timeoutSeconds: number;
  trigger?: string;
  vm?: string;
  vmDecision?: string;
};

export interface SmokeContainerOutputs extends SmokeContainerInputs {
  /** Local image id (`sha256:…`); "" when `read` finds the image gone (drift: re-run). */
  imageId: string;
  /** The pulled repo digest, `repo@sha256:…`. */
  imageDigest: string;
  /** First line the container printed. */
  output: string;
  /** Docker Engine version that answered. */
  serverVersion: string;
  /** True when the image was not on the engine before: delete removes it again. */
  pulledByUs: boolean;
}

// ---- pure functions -----------------------------------------------------------------------

/** The docker CLI argv for one subcommand against `dockerHost`. */
export function dockerArgv(inputs: Pick<SmokeContainerInputs, "dockerPath" | "dockerHost">, ...args: string[]): string[] {
  return [inputs.dockerPath, "--host", inputs.dockerHost, ...args];
}

/** The digest recorded for `image`: the RepoDigest of the same repository, else the first. */
export function pickDigest(image: string, repoDigests: readonly string[]): string {
  const repo = image.replace(/@sha256:[a-f0-9]+$/, "").replace(/:[\w][\w.-]*$/, "");
  return repoDigests.find((d) => d.startsWith(`${repo}@`)) ?? repoDigests[0] ?? "";
}

/** Why the VM behind the endpoint is another one than the smoke test last ran on, or undefined.
 *  In a preview the profile's generation is not known while the profile has a change pending (the
 *  Node dynamic provider cannot preview an update): then only this run's decision (a full reset, a
 *  restore) says a new VM comes. A resize changes the profile too, and keeps its VM. */
export function vmChange(olds: Pick<SmokeContainerOutputs, "vm" | "vmDecision">, news: SmokeContainerInputs): string | undefined {
  const decided = news.vmDecision !== undefined && news.vmDecision !== olds.vmDecision ? news.vmDecision : undefined;
  if (news.vm === undefined) return undefined;
  // Unknown yet, or state written before the smoke test recorded its VM: the decision tells.
  if (news.vm === UNKNOWN || olds.vm === undefined) return decided && `${decided}: the smoke test runs on the new VM`;
  if (olds.vm === news.vm) return undefined;
  return `the profile was ${profileChange(news.vm)}: the smoke test runs on its VM`;
}

/** What changed, and what must re-run, between the stored state and the new inputs. */
export function diffSmokeContainer(olds: SmokeContainerOutputs, news: SmokeContainerInputs): DetailedDiff {
  // A new image or endpoint is a different smoke test; the old one's image is then removed.
  const changes = inputChanges(
    olds,
    news,
    ["dockerHost", "image"],
    () => "another smoke test: the old image goes if it was ours",
    "update-replace",
  );
  changes.push(...inputChanges(olds, news, ["host", "expectOutput", "dockerPath", "timeoutSeconds"], () => "the smoke test runs again"));
  if ((olds.trigger ?? "") !== (news.trigger ?? ""))
    changes.push({
      property: "trigger",
      kind: "update",
      old: olds.trigger,
      new: news.trigger === UNKNOWN ? `(${NOT_YET_KNOWN})` : news.trigger,
      why: news.trigger === UNKNOWN ? undefined : "the smoke test runs again under them",
    });
  const vm = vmChange(olds, news);
  if (vm) changes.push({ property: "vm", kind: "update", hidden: true, why: vm });
  if (olds.imageId === "") {
    // refresh found the image gone (or the engine silent): prove it again
    changes.push({
      property: "imageId",
      kind: "update",
      hidden: true,
      why: `image ${olds.image} is no longer on the engine: pulled and run again`,
      inputDiff: false,
    });
  }
  return diffOf(changes, false, news.secrets);
}

// ---- executor -----------------------------------------------------------------------------

/** The docker CLI's config folder the smoke test uses on a Mac: the Homebrew user's, of
 *  colima-pulse's own, holding a config.json with no credential helper. The user's ~/.docker may
 *  name one that cannot run where colima-pulse runs: Docker Desktop leaves `"credsStore":
 *  "desktop"` behind, whose `docker-credential-desktop` is not on the PATH of an SSH session or a
 *  LaunchDaemon, and from docker CLI 29 a `docker pull` stops at that helper's error even for a
 *  public image (docker/cli cli/command/image/pull.go, RetrieveAuthTokenFromImage; public reports:
 *  https://github.com/abiosoft/colima/issues/52, https://github.com/abiosoft/colima/issues/265).
 *  The endpoint is always given by `--host`, so no Docker context of the user's is needed here.
 *  A smoke image that needs a registry login is not supported. */
export function smokeDockerConfig(host: Host): string {
  return `${homeOf(host)}/.colima/.colima-pulse-docker`;
}

/** Runs the docker CLI against the endpoint: on the Mac, as the Homebrew user (whose socket it
 *  is), with smokeDockerConfig, through the Mac's seam; here, for a plain Docker endpoint without a Mac. */
function docker(inputs: SmokeContainerInputs, args: string[], options: RunOptions): Promise<CommandResult> {
  const argv = dockerArgv(inputs, ...args);
  if (!inputs.host) return run(argv, options);
  return macOf(inputs.host).asUser(argv, { ...options, env: { ...options.env, DOCKER_CONFIG: smokeDockerConfig(inputs.host) } });
}

/** Writes smokeDockerConfig's config.json (`{}`: no credential helper, no auths), as the Homebrew
 *  user, in a folder only that user reads. */
async function writeSmokeDockerConfig(host: Host): Promise<void> {
  const mac = macOf(host);
  const dir = smokeDockerConfig(host);
  await mac.asUser([hostPath(host, "/bin/mkdir"), "-p", "-m", "700", dir], { timeoutMs: 30_000 });
  await mac.writeFile(`${dir}/config.json`, "{}\n", { owner: "user", mode: "0600" });
}

/** The local image's id and repo digests, or undefined when the engine does not have it. */
async function inspectImage(inputs: SmokeContainerInputs): Promise<{ id: string; repoDigests: string[] } | undefined> {
  const r = await docker(inputs, ["image", "inspect", "--format", "{{json .}}", inputs.image], {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0) {
    if (/no such image/i.test(r.stderr)) return undefined;
    throw new Error(`docker image inspect failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  const parsed = JSON.parse(r.stdout) as { Id: string; RepoDigests?: string[] };
  return { id: parsed.Id, repoDigests: parsed.RepoDigests ?? [] };
}

async function smokeTest(inputs: SmokeContainerInputs, pulledBefore?: boolean): Promise<SmokeContainerOutputs> {
  const timeoutMs = inputs.timeoutSeconds * 1000;
  if (inputs.host) await writeSmokeDockerConfig(inputs.host);
  const version = await docker(inputs, ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 30_000 });
  const serverVersion = version.stdout.trim();
  const before = await inspectImage(inputs);
  say(inputs, `Docker Engine ${serverVersion} answers at ${inputs.dockerHost}; pulling ${inputs.image}`);
  await docker(inputs, ["pull", "--quiet", inputs.image], { timeoutMs });
  const ran = await docker(inputs, ["run", "--rm", "--label", `io.colima-pulse.smoke=${inputs.resourceName}`, inputs.image], { timeoutMs });
  if (!ran.stdout.includes(inputs.expectOutput)) {
    throw new Error(
      `smoke container ${inputs.image} ran but did not print ${JSON.stringify(inputs.expectOutput)}; it printed:\n${ran.stdout.trim()}`,
    );
  }
  const after = await inspectImage(inputs);
  if (!after) throw new Error(`image ${inputs.image} is missing right after a successful pull and run`);
  const imageDigest = pickDigest(inputs.image, after.repoDigests);
  say(inputs, `ran ${inputs.image} (${imageDigest || after.id}): output as expected`);
  return {
    ...inputs,
    imageId: after.id,
    imageDigest,
    output: ran.stdout.trim().split("\n")[0] ?? "",
    serverVersion,
    pulledByUs: pulledBefore ?? before === undefined,
  };
}

/** Runs a step that changes a Mac's Docker (a pull, a run, an image removal) under the Mac's lock,
 *  as every step of the providers before it does (provider/lib/machineLock.ts): another run may be
 *  stopping or resetting that VM. `read` only inspects, and does not wait for it. */
function locked<T>(target: SmokeContainerInputs, step: () => Promise<T>): Promise<T> {
  return target.host ? onMachine(target.host, (m) => say(target, m), step) : step();
}

// The engine hands these methods untyped values; check() is what makes them SmokeContainerInputs
// (and the stored outputs are what create/update returned), so the types below hold.
export const smokeContainerProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, smokeContainerSchema);
  },
  async diff(_id: string, olds: SmokeContainerOutputs, news: SmokeContainerInputs) {
    const { reasons, ...result } = diffSmokeContainer(olds, news);
    if (reasons.length > 0) say(news, `will run again: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: SmokeContainerInputs) {
    return { id: `smoke-${inputs.resourceName}`, outs: await locked(inputs, () => smokeTest(inputs)) };
  },
  async update(_id: string, olds: SmokeContainerOutputs, news: SmokeContainerInputs) {
    // Only the way to the Mac changed (a new SSH_HOST): record it, run nothing.
    if (onlyReachChanged(diffSmokeContainer(olds, news))) return { outs: { ...olds, host: news.host } };
    // Re-run the proof; an image that was ours stays ours until delete removes it.
    return { outs: await locked(news, () => smokeTest(news, olds.pulledByUs)) };
  },
  async read(id: string, stored: SmokeContainerOutputs) {
    // The engine being unreachable reads as "image gone": diff then asks for a re-run. The Mac out
    // of reach is not that: refresh fails, saying so.
    const found = await inspectImage(stored).catch((e: Error) => {
      if (e.name === "SshError") throw e;
      return undefined;
    });
    const imageDigest = found ? pickDigest(stored.image, found.repoDigests) : stored.imageDigest;
    return { id, props: { ...stored, imageId: found?.id ?? "", imageDigest } };
  },
  async delete(_id: string, stored: SmokeContainerOutputs) {
    if (!stored.pulledByUs) return; // the image was there before us: not ours to remove
    const r = await locked(stored, () => docker(stored, ["image", "rm", stored.image], { allowFailure: true, timeoutMs: 60_000 }));
    if (r.exitCode !== 0 && !/no such image/i.test(r.stderr)) {
      throw new Error(`[${stored.resourceName}] could not remove image ${stored.image}: ${r.stderr.trim()}`);
    }
    say(stored, `removed image ${stored.image}`);
  },
};

// ---- resource -----------------------------------------------------------------------------

export class SmokeContainer extends ResourceByReference {
  declare readonly image: pulumi.Output<string>;
  declare readonly imageId: pulumi.Output<string>;
  declare readonly imageDigest: pulumi.Output<string>;
  declare readonly output: pulumi.Output<string>;
  declare readonly serverVersion: pulumi.Output<string>;

  constructor(name: string, args: SmokeContainerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "smokeContainer",
      smokeContainerProvider,
      "SmokeContainer",
      name,
      { resourceName: name, ...args, imageId: undefined, imageDigest: undefined, output: undefined, serverVersion: undefined },
      opts,
    );
  }
}
