// DockerAccess: Docker for the people on the Mac, not only for Pulumi.
// - A Docker context `colima-pulse-<profile>` for the Homebrew user, pointing at the profile's
//   socket. Colima makes its own context (`colima`, `colima-<profile>`) at each start and removes it
//   at each stop (colima environment/container/docker/docker.go, Stop → teardownContext), so a
//   shell that chose it breaks whenever the VM is down; this one stays. It is not made current:
//   `docker context use colima-pulse-<profile>`, or DOCKER_CONTEXT, chooses it.
// - With DOCKER_SOCKET_GROUP, a stable path `<prefix>/var/run/colima-pulse/<profile>.sock` (a
//   symlink to the profile's socket) that members of that group use as DOCKER_HOST. Lima makes the
//   socket anew at every VM start (`ssh -O forward -L`), owned by the user with mode 0600 (ssh binds
//   it under umask 0177: openssh readconf.c, channels.c), and connect(2) needs write permission on it; so the socket's group and mode 0660 are set here now,
//   and by the supervisor after every start (provider/supervisor.sh: give_socket reads the group from
//   the file this resource writes). macOS lets a file's owner chgrp it only to a group the owner is
//   in (chown(2)): the Homebrew user must be a member. Users outside the group are refused.
//   Reaching the socket also needs search permission on ~ (macOS: drwxr-x--- user:staff) and
//   ~/.colima: every local user is in staff.
// A change of group applies at once, restarting nothing.
import type * as pulumi from "@pulumi/pulumi";
import { ResourceByReference } from "./lib/byReference";
import { checkInputs, type DetailedDiff, diffOf, hostSchema, inputChanges, say, type Zod } from "./lib/checkInputs";
import { colimaPaths, type Host, hostPath } from "./lib/host";
import { type Mac, macOf } from "./lib/mac";
import { onTheMac } from "./lib/machineLock";
import { settingSchemas } from "./lib/settingsSchema";
import { supervisorFiles } from "./lib/supervisor";

export interface DockerAccessArgs {
  host: pulumi.Input<Host>;
  /** Homebrew's prefix: its docker CLI, and where the stable socket path lives. */
  prefix: pulumi.Input<string>;
  profile: pulumi.Input<string>;
  /** DOCKER_SOCKET_GROUP; absent: only the Homebrew user uses the socket. */
  socketGroup?: pulumi.Input<string>;
  secrets?: string[];
}

export function dockerAccessSchema(z: Zod) {
  const setting = settingSchemas(z);
  return z.strictObject({
    resourceName: z.string().min(1),
    host: hostSchema(z),
    prefix: z.string().startsWith("/"),
    profile: setting.COLIMA_PROFILE,
    socketGroup: setting.DOCKER_SOCKET_GROUP.optional(),
  });
}

export interface DockerAccessInputs {
  resourceName: string;
  host: Host;
  prefix: string;
  profile: string;
  socketGroup?: string;
  secrets?: string[];
}

export interface DockerAccessOutputs extends DockerAccessInputs {
  contextName: string;
  /** What the context points at on the Mac ("" when it is missing). */
  contextHost: string;
  /** The stable socket path for the group ("" without DOCKER_SOCKET_GROUP). */
  groupSocket: string;
  /** The group's id, as the supervisor applies it ("" without a group, or when it is not applied). */
  socketGid: string;
}

export function accessPaths(inputs: Pick<DockerAccessInputs, "host" | "prefix" | "profile">) {
  return {
    contextName: `colima-pulse-${inputs.profile}`,
    socket: colimaPaths(inputs.host, inputs.profile).dockerSocket,
    groupSocket: `${inputs.prefix}/var/run/colima-pulse/${inputs.profile}.sock`,
    groupFile: supervisorFiles(inputs.host, inputs.profile).socketGroup,
  };
}

export function diffDockerAccess(olds: DockerAccessOutputs, news: DockerAccessInputs): DetailedDiff {
  const p = accessPaths(news);
  const changes = inputChanges(olds, news, ["profile", "host"], () => "another profile's socket: the old context goes", "update-replace");
  changes.push(...inputChanges(olds, news, ["prefix"], () => "the docker CLI and the stable socket path move with Homebrew"));
  changes.push(
    ...inputChanges(olds, news, ["socketGroup"], () =>
      news.socketGroup
        ? `members of ${news.socketGroup} use Docker at ${p.groupSocket}: the socket's group changes now; nothing restarts`
        : "only the Homebrew user uses the socket again: nothing restarts",
    ),
  );
  if (changes.length === 0 && olds.contextHost !== `unix://${p.socket}`)
    changes.push({
      property: "contextHost",
      kind: "update",
      old: olds.contextHost || "(missing)",
      new: `unix://${p.socket}`,
      why: `the Docker context ${p.contextName} is ${olds.contextHost ? "pointing elsewhere" : "missing"}`,
      inputDiff: false,
    });
  if (changes.length === 0 && news.socketGroup && (olds.socketGid === "" || olds.groupSocket === ""))
    changes.push({
      property: "socketGid",
      kind: "update",
      why: `the group socket of ${news.socketGroup} is missing on the Mac`,
      inputDiff: false,
    });
  return diffOf(changes, true, news.secrets);
}

/** The gid of `group` when the Homebrew user is a member (`id -G` and `id -Gn` list the same groups in one order). */
async function memberGid(mac: Mac, host: Host, group: string): Promise<string | undefined> {
  const id = hostPath(host, "/usr/bin/id");
  const [ids, names] = await Promise.all([mac.run([id, "-G", host.user]), mac.run([id, "-Gn", host.user])]);
  const gids = ids.stdout.trim().split(/\s+/);
  return gids[names.stdout.trim().split(/\s+/).indexOf(group)];
}

async function contextHost(mac: Mac, inputs: DockerAccessInputs): Promise<string> {
  const { contextName } = accessPaths(inputs);
  const argv = [`${inputs.prefix}/bin/docker`, "context", "inspect", contextName, "--format", "{{.Endpoints.docker.Host}}"];
  const r = await mac.asUser(argv, { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : "";
}

async function converge(inputs: DockerAccessInputs): Promise<DockerAccessOutputs> {
  const mac = macOf(inputs.host);
  const p = accessPaths(inputs);
  const tool = (t: string) => hostPath(inputs.host, t);
  const docker = `${inputs.prefix}/bin/docker`;
  const want = `unix://${p.socket}`;
  const now = await contextHost(mac, inputs);
  if (now !== want) {
    const verb = now ? "update" : "create";
    const argv = [docker, "context", verb, p.contextName, "--docker", `host=${want}`];
    if (!now) argv.push("--description", `colima-pulse: Colima profile ${inputs.profile}`);
    await mac.asUser(argv);
    say(inputs, `Docker context ${p.contextName} ${now ? "points at" : "made for"} ${want} (docker context use ${p.contextName})`);
  }
  let gid = "";
  if (inputs.socketGroup) {
    const group = inputs.socketGroup;
    gid = (await memberGid(mac, inputs.host, group)) ?? "";
    if (!gid)
      throw new Error(
        `DOCKER_SOCKET_GROUP ${group}: ${inputs.host.user} is not a member of group ${group}, and macOS lets the socket's owner give it only to a group the owner is in. ` +
          `Add them (creating the group first if it does not exist): sudo dseditgroup -o create ${group}; sudo dseditgroup -o edit -a ${inputs.host.user} -t user ${group}. Nothing was changed.`,
      );
    await mac.writeFile(p.groupFile, `${gid} ${group}\n`, { owner: "user", mode: "0644" });
    await mac.asUser([tool("/bin/mkdir"), "-p", p.groupSocket.replace(/\/[^/]*$/, "")]);
    await mac.asUser([tool("/bin/ln"), "-sfn", p.socket, p.groupSocket]);
    if (await mac.isSocket(p.socket)) {
      await mac.asUser([tool("/usr/bin/chgrp"), gid, p.socket]);
      await mac.asUser([tool("/bin/chmod"), "0660", p.socket]);
    }
    say(inputs, `members of ${group} use Docker at unix://${p.groupSocket} (socket group ${group}, mode 0660)`);
  } else {
    await dropGroup(mac, inputs);
  }
  return { ...inputs, contextName: p.contextName, contextHost: want, groupSocket: inputs.socketGroup ? p.groupSocket : "", socketGid: gid };
}

/** Back to the socket as Lima makes it: the user's alone. */
async function dropGroup(mac: Mac, inputs: DockerAccessInputs): Promise<void> {
  const p = accessPaths(inputs);
  if (!(await mac.exists(p.groupFile)) && !(await mac.exists(p.groupSocket))) return;
  await mac.asUser([hostPath(inputs.host, "/bin/rm"), "-f", p.groupFile, p.groupSocket]);
  if (await mac.isSocket(p.socket)) await mac.asUser([hostPath(inputs.host, "/bin/chmod"), "0600", p.socket]);
  say(inputs, `${p.groupSocket} removed: only ${inputs.host.user} uses the Docker socket`);
}

// The engine hands these methods untyped values; check() is what makes them inputs.
export const dockerAccessProvider: pulumi.dynamic.ResourceProvider = onTheMac(diffDockerAccess, {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return checkInputs(news, dockerAccessSchema);
  },
  async diff(_id: string, olds: DockerAccessOutputs, news: DockerAccessInputs) {
    const { reasons, ...result } = diffDockerAccess(olds, news);
    if (reasons.length > 0) say(news, `will converge: ${reasons.join("; ")}`);
    return result;
  },
  async create(inputs: DockerAccessInputs) {
    return { id: accessPaths(inputs).contextName, outs: await converge(inputs) };
  },
  async update(_id: string, _olds: DockerAccessOutputs, news: DockerAccessInputs) {
    return { outs: await converge(news) };
  },
  async read(id: string, stored: DockerAccessOutputs) {
    const mac = macOf(stored.host);
    const p = accessPaths(stored);
    const [host, file, link] = await Promise.all([contextHost(mac, stored), mac.readFile(p.groupFile), mac.readLink(p.groupSocket)]);
    const grouped = stored.socketGroup !== undefined && link === p.socket && file?.trim() === `${stored.socketGid} ${stored.socketGroup}`;
    return {
      id,
      props: { ...stored, contextHost: host, groupSocket: grouped ? p.groupSocket : "", socketGid: grouped ? stored.socketGid : "" },
    };
  },
  async delete(_id: string, stored: DockerAccessOutputs) {
    const mac = macOf(stored.host);
    const p = accessPaths(stored);
    await dropGroup(mac, stored);
    await mac.asUser([`${stored.prefix}/bin/docker`, "context", "rm", "--force", p.contextName], { allowFailure: true });
  },
});

export class DockerAccess extends ResourceByReference {
  declare readonly contextName: pulumi.Output<string>;
  declare readonly groupSocket: pulumi.Output<string>;

  constructor(name: string, args: DockerAccessArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { contextName: undefined, contextHost: undefined, groupSocket: undefined, socketGid: undefined };
    super("dockerAccess", dockerAccessProvider, "DockerAccess", name, { resourceName: name, ...args, ...outputs }, opts);
  }
}
