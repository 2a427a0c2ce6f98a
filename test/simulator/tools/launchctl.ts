// launchctl(1): the subcommands the provider and an operator use, sent to the simulated launchd
// (launchd.ts) over its socket. Usage errors follow launchctl's own wording.
import { connect } from "node:net";
import { join } from "node:path";
import type { LaunchdReply, LaunchdRequest } from "./launchd";
import { ToolExit, type World } from "./world";

/** Sends one request to the simulated launchd and returns its reply. */
export function askLaunchd(world: World, req: LaunchdRequest | { login: string; user: string }): Promise<LaunchdReply> {
  return new Promise((resolve, reject) => {
    const conn = connect(join(world.simDir, "launchd.sock"));
    let buf = "";
    conn.on("connect", () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on("data", (d) => {
      buf += d.toString();
    });
    conn.on("end", () => {
      try {
        resolve(JSON.parse(buf) as LaunchdReply);
      } catch (e) {
        reject(e);
      }
    });
    conn.on("error", reject);
  });
}

/** `system/<label>` or `gui/<uid>/<label>` → domain and label. */
function splitTarget(target: string): { domain: string; label?: string } {
  const m = /^(system|gui\/\d+|user\/\d+)(?:\/(.+))?$/.exec(target);
  if (!m) throw new ToolExit(64, `Unrecognized target specifier: ${target}\n`);
  return { domain: m[1] as string, label: m[2] };
}

export async function launchctl(world: World, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const user = world.user;
  let req: LaunchdRequest;
  switch (sub) {
    case "bootstrap": {
      const [domain, ...paths] = rest;
      if (!domain || paths.length === 0)
        throw new ToolExit(64, "Usage: launchctl bootstrap <domain-target> [service-path, service-path2, ...]\n");
      req = { cmd: "bootstrap", domain: splitTarget(domain).domain, paths, user };
      break;
    }
    case "bootout": {
      const [target, path] = rest;
      if (!target)
        throw new ToolExit(64, "Usage: launchctl bootout <domain-target> [service-path1, service-path2, ...] | <service-target>\n");
      const t = splitTarget(target);
      req = { cmd: "bootout", domain: t.domain, label: t.label, paths: path ? [path] : undefined, user };
      break;
    }
    case "enable":
    case "disable":
    case "print": {
      const [target] = rest;
      if (!target) throw new ToolExit(64, `Usage: launchctl ${sub} <service-target>\n`);
      req = { cmd: sub, ...splitTarget(target), user };
      break;
    }
    case "kickstart": {
      const flags = rest.filter((a) => a.startsWith("-"));
      const [target] = rest.filter((a) => !a.startsWith("-"));
      if (!target) throw new ToolExit(64, "Usage: launchctl kickstart [-kp] <service-target>\n");
      req = { cmd: "kickstart", ...splitTarget(target), kill: flags.some((f) => f.includes("k")), user };
      break;
    }
    case "print-disabled": {
      const [target] = rest;
      if (!target) throw new ToolExit(64, "Usage: launchctl print-disabled <domain-target>\n");
      req = { cmd: "print-disabled", domain: splitTarget(target).domain, user };
      break;
    }
    case "list":
      req = { cmd: "list", domain: user === "root" ? "system" : `gui/${world.userInfo(user)?.uid ?? 0}`, user };
      break;
    default:
      throw new ToolExit(64, `Unrecognized subcommand: ${sub ?? ""}\nUsage: launchctl <subcommand> ... | help [subcommand]\n`);
  }
  let reply: LaunchdReply;
  try {
    reply = await askLaunchd(world, req);
  } catch {
    throw new ToolExit(1, "Could not connect to launchd: the simulated Mac is not booted.\n");
  }
  if (reply.stdout) process.stdout.write(reply.stdout);
  if (reply.stderr) process.stderr.write(reply.stderr);
  return reply.code;
}
