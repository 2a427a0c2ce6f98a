// Homebrew as the provider uses it (Homebrew/brew: bin/brew, Library/Homebrew/cmd/*, services/;
// README.md "Homebrew" cites each): refuses root, prints its prefix, lists versions, installs
// formulae (with their dependencies) into Cellar/ and links their binaries into bin/, and
// `brew services` writes and loads homebrew.mxcl.<formula> into the user's gui domain.
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { installTool, realDockerCli } from "./install";
import { askLaunchd } from "./launchctl";
import { ToolExit, type World, writeAtomic } from "./world";

/** Formulae the simulated tap knows, their versions, binaries and dependencies. */
export const FORMULAE: Record<string, { version: string; bins: Record<string, string>; deps: string[] }> = {
  colima: { version: "0.10.3", bins: { colima: "colima" }, deps: ["lima"] },
  lima: { version: "1.2.1", bins: { limactl: "limactl" }, deps: [] },
  qemu: { version: "10.1.0", bins: { "qemu-system-aarch64": "qemu", "qemu-system-x86_64": "qemu", "qemu-img": "qemu-img" }, deps: [] },
  docker: { version: "28.2.2", bins: { docker: "@docker" }, deps: [] },
};

const ROOT_REFUSAL =
  "Error: Running Homebrew as root is extremely dangerous and no longer supported.\nAs Homebrew does not drop privileges on installation you would be giving all\nbuild scripts full access to your system.\n";

export async function brew(world: World, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const prefix = world.brewPrefix();
  // bin/brew: only --prefix and services may run as root.
  if (world.user === "root" && sub !== "--prefix" && sub !== "services") throw new ToolExit(1, ROOT_REFUSAL);
  switch (sub) {
    case "--prefix":
      process.stdout.write(`${rest[0] ? join(prefix, "opt", rest[0]) : prefix}\n`);
      return 0;
    case "list": {
      const names = rest.filter((a) => !a.startsWith("-"));
      const installed = world.state().brew;
      let missing = false;
      for (const name of names.length ? names : Object.keys(installed).sort()) {
        if (installed[name]) process.stdout.write(`${name} ${installed[name]}\n`);
        else missing = true;
      }
      return missing ? 1 : 0;
    }
    case "install":
      return install(
        world,
        prefix,
        rest.filter((a) => !a.startsWith("-")),
      );
    case "services":
      return services(world, prefix, rest);
    default:
      throw new ToolExit(1, `Error: Unknown command: ${sub ?? ""}\n`);
  }
}

function install(world: World, prefix: string, names: string[]): number {
  const fails = world.faults().brewInstallFails;
  const order: string[] = [];
  const visit = (n: string) => {
    const f = FORMULAE[n];
    if (!f) throw new ToolExit(1, `Error: No available formula with the name "${n}".\n`);
    for (const d of f.deps) visit(d);
    if (!order.includes(n)) order.push(n);
  };
  for (const n of names) visit(n);
  for (const name of order) {
    const f = FORMULAE[name] as (typeof FORMULAE)[string];
    if (world.state().brew[name]) {
      if (names.includes(name))
        process.stderr.write(
          `Warning: ${name} ${f.version} is already installed and up-to-date.\nTo reinstall ${f.version}, run:\n  brew reinstall ${name}\n`,
        );
      continue;
    }
    if (fails === true || fails?.includes(name)) {
      throw new ToolExit(
        1,
        `==> Fetching ${name}\nError: ${name}: Failed to download resource "${name}--${f.version}"\nDownload failed: https://ghcr.io/v2/homebrew/core/${name}/blobs/sha256:0\n`,
      );
    }
    process.stdout.write(`==> Fetching ${name}\n==> Pouring ${name}--${f.version}.arm64_sequoia.bottle.tar.gz\n`);
    const cellar = join(prefix, "Cellar", name, f.version);
    mkdirSync(join(cellar, "bin"), { recursive: true });
    for (const [bin, tool] of Object.entries(f.bins)) {
      const target = join(cellar, "bin", bin);
      if (tool === "@docker") symlinkSync(realDockerCli(), target);
      else installTool(world, target, tool);
      mkdirSync(join(prefix, "bin"), { recursive: true });
      rmSync(join(prefix, "bin", bin), { force: true });
      symlinkSync(target, join(prefix, "bin", bin));
    }
    mkdirSync(join(prefix, "opt"), { recursive: true });
    rmSync(join(prefix, "opt", name), { force: true });
    symlinkSync(cellar, join(prefix, "opt", name));
    world.updateState((s) => {
      s.brew[name] = f.version;
    });
    process.stdout.write(`🍺  ${cellar}: ${Object.keys(f.bins).length + 8} files, 1MB\n`);
  }
  return 0;
}

/** `brew services start|stop|list <formula>` (Library/Homebrew/services). */
async function services(world: World, prefix: string, argv: string[]): Promise<number> {
  const [action, name] = argv;
  const user = world.user;
  const info = world.userInfo(user);
  const domain = user === "root" ? "system" : `gui/${info?.uid ?? 0}`;
  const dir = user === "root" ? world.path("/Library/LaunchDaemons") : join(world.home(user), "Library/LaunchAgents");
  if (action === "list") {
    process.stdout.write("Name   Status  User File\n");
    for (const f of Object.keys(world.state().brew)) {
      const plist = join(dir, `homebrew.mxcl.${f}.plist`);
      process.stdout.write(`${f} ${existsSync(plist) ? "started" : "none"} ${existsSync(plist) ? `${user} ${plist}` : ""}\n`);
    }
    return 0;
  }
  if (!name || name !== "colima")
    throw new ToolExit(1, `Error: Formula \`${name ?? ""}\` has not implemented #plist, #service or installed a locatable service file\n`);
  const label = `homebrew.mxcl.${name}`;
  const plistPath = join(dir, `${label}.plist`);
  if (action === "start") {
    // Formula/c/colima.rb `service do`: run colima start -f, keep_alive successful_exit: true.
    const def = {
      Label: label,
      ProgramArguments: [join(prefix, "opt/colima/bin/colima"), "start", "-f"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: true },
      EnvironmentVariables: { PATH: `${prefix}/bin:${prefix}/sbin:/usr/bin:/bin:/usr/sbin:/sbin` },
      StandardOutPath: join(prefix, "var/log/colima.log"),
      StandardErrorPath: join(prefix, "var/log/colima.log"),
    };
    mkdirSync(join(prefix, "var/log"), { recursive: true });
    const { build } = await import("plist"); // ESM-only; bundled by esbuild
    writeAtomic(plistPath, build(def), 0o644);
    const r = await askLaunchd(world, { cmd: "bootstrap", domain, paths: [plistPath], user });
    if (r.code !== 0)
      throw new ToolExit(1, `Error: Failure while executing; \`/bin/launchctl bootstrap ${domain} ${plistPath}\` exited with ${r.code}.\n`);
    process.stdout.write(`==> Successfully started \`${name}\` (label: ${label})\n`);
    return 0;
  }
  if (action === "stop") {
    await askLaunchd(world, { cmd: "bootout", domain, label, user });
    rmSync(plistPath, { force: true });
    process.stdout.write(`Stopping \`${name}\`... (might take a while)\n==> Successfully stopped \`${name}\` (label: ${label})\n`);
    return 0;
  }
  throw new ToolExit(1, `Error: Unknown subcommand: ${action ?? ""}\n`);
}
