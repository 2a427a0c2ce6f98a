// Homebrew as the provider uses it (Homebrew/brew: bin/brew, Library/Homebrew/cmd/*, services/;
// README.md "Homebrew" cites each): refuses root, prints its prefix, lists versions, installs
// formulae (with their dependencies) into Cellar/ and links their binaries into bin/, lists and
// upgrades outdated formulae against what the tap offers (SimState.tap), and `brew services`
// writes and loads homebrew.mxcl.<formula> into the user's gui domain, or user domain without a
// GUI login (servicesDomain).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { build, type PlistObject } from "plist";
import { dockerCliFile } from "./docker";
import { installTool, realDockerCli } from "./install";
import { askLaunchd } from "./launchctl";
import { apfsDirectoryOrder, ToolExit, type World, writeAtomic } from "./world";

/** Formulae the simulated tap knows, their versions (until `SimState.tap` offers newer ones),
 *  binaries and dependencies. */
export const FORMULAE: Record<string, { version: string; bins: Record<string, string>; deps: string[] }> = {
  colima: { version: "0.10.3", bins: { colima: "colima" }, deps: ["lima"] },
  lima: { version: "1.2.1", bins: { lima: "lima", limactl: "limactl" }, deps: [] },
  qemu: { version: "10.1.0", bins: { "qemu-system-aarch64": "qemu", "qemu-system-x86_64": "qemu", "qemu-img": "qemu-img" }, deps: [] },
  docker: { version: "28.2.2", bins: { docker: "docker" }, deps: [] },
};

/** The version the tap offers for formula `name`: `SimState.tap` (a newer version published, as
 *  after `brew update`), else the formula's own. An unknown name fails like brew does. */
export function offered(world: World, name: string): string {
  const f = FORMULAE[name];
  if (!f) throw new ToolExit(1, `Error: No available formula with the name "${name}".\n`);
  return world.state().tap?.[name] ?? f.version;
}

/** Is version `a` older than `b`? Dotted numeric parts compared in turn (Homebrew's Version). */
export function older(a: string, b: string): boolean {
  const pa = a.split(/[._-]/);
  const pb = b.split(/[._-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    if (x === y) continue;
    const nx = Number(x);
    const ny = Number(y);
    return Number.isNaN(nx) || Number.isNaN(ny) ? x < y : nx < ny;
  }
  return false;
}

/** Installed and older than what the tap offers (formula.rb#outdated_kegs: a keg at or above the
 *  offered version is current). */
function isOutdated(world: World, name: string): boolean {
  const installed = world.state().brew[name];
  return installed !== undefined && older(installed, offered(world, name));
}

/** Dependencies first (colima after lima), as Homebrew orders installs and upgrades. */
function depsFirst(names: string[]): string[] {
  const order: string[] = [];
  const visit = (n: string) => {
    for (const d of FORMULAE[n]?.deps ?? []) visit(d);
    if (!order.includes(n)) order.push(n);
  };
  for (const n of names) visit(n);
  return order;
}

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
      // cmd/list.rb#filtered_list: the racks (`Cellar/<f>`) sorted, each with `rack.subdirs`, the
      // kegs in the order the file system lists them (apfsDirectoryOrder: not by version).
      const names = rest.filter((a) => !a.startsWith("-"));
      const cellar = join(prefix, "Cellar");
      const racks = names.length ? names : existsSync(cellar) ? readdirSync(cellar) : [];
      let missing = false;
      for (const name of [...new Set(racks)].sort()) {
        const versions = kegs(prefix, name);
        if (versions.length > 0) process.stdout.write(`${name} ${versions.join(" ")}\n`);
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
    case "outdated":
      return outdated(world, rest);
    case "info":
      return info(world, prefix, rest);
    case "upgrade":
      return upgrade(world, prefix, rest);
    case "services":
      return services(world, prefix, rest);
    default:
      throw new ToolExit(1, `Error: Unknown command: ${sub ?? ""}\n`);
  }
}

function install(world: World, prefix: string, names: string[]): number {
  for (const n of names) offered(world, n); // an unknown name fails before anything is fetched
  for (const name of depsFirst(names)) {
    const installed = world.state().brew[name];
    if (installed) {
      if (names.includes(name))
        process.stderr.write(
          `Warning: ${name} ${installed} is already installed and up-to-date.\nTo reinstall ${installed}, run:\n  brew reinstall ${name}\n`,
        );
      continue;
    }
    const version = offered(world, name);
    fetchBottle(world, name, version);
    pour(world, prefix, name, version);
  }
  return 0;
}

/** `==> Fetching <f>`, or the injected download failure (`brewInstallFails`), before anything on
 *  disk changes. */
function fetchBottle(world: World, name: string, version: string): void {
  const fails = world.faults().brewInstallFails;
  if (fails === true || fails?.includes(name)) {
    throw new ToolExit(
      1,
      `==> Fetching ${name}\nError: ${name}: Failed to download resource "${name}--${version}"\nDownload failed: https://ghcr.io/v2/homebrew/core/${name}/blobs/sha256:0\n`,
    );
  }
  process.stdout.write(`==> Fetching ${name}\n`);
}

/** The kegs of formula `name` (`Cellar/<name>/<version>` folders) as `Pathname#subdirs` lists
 *  them: in the file system's directory order, which on APFS is a hash order (apfsDirectoryOrder). */
export function kegs(prefix: string, name: string): string[] {
  const rack = join(prefix, "Cellar", name);
  if (!existsSync(rack)) return [];
  return apfsDirectoryOrder(readdirSync(rack).filter((v) => statSync(join(rack, v)).isDirectory()));
}

/** A link made as Homebrew makes it (Keg#make_relative_symlink → Pathname#make_relative_symlink):
 *  `opt/colima -> ../Cellar/colima/0.10.3`, `bin/colima -> ../Cellar/colima/0.10.3/bin/colima`. */
function relativeLink(target: string, link: string): void {
  rmSync(link, { force: true });
  symlinkSync(relative(join(link, ".."), target), link);
}

/** Pours `name` `version` into `Cellar/<name>/<version>`, links its binaries into `bin/` and
 *  `opt/<name>` to the new keg (Keg#link, Keg#optlink), and records it as installed (install and
 *  upgrade alike). */
function pour(world: World, prefix: string, name: string, version: string): void {
  const f = FORMULAE[name] as (typeof FORMULAE)[string];
  process.stdout.write(`==> Pouring ${name}--${version}.arm64_sequoia.bottle.tar.gz\n`);
  const cellar = join(prefix, "Cellar", name, version);
  mkdirSync(join(cellar, "bin"), { recursive: true });
  for (const [bin, tool] of Object.entries(f.bins)) {
    const target = join(cellar, "bin", bin);
    rmSync(target, { force: true });
    // docker: the real CLI behind connect(2)'s permission check (docker.ts)
    if (tool === "docker") writeFileSync(dockerCliFile(world), `${realDockerCli(world)}\n`);
    installTool(world, target, tool);
    mkdirSync(join(prefix, "bin"), { recursive: true });
    relativeLink(target, join(prefix, "bin", bin));
  }
  // formula_installer.rb#install_service: a formula with a `service do` block gets its generated
  // plist in the keg, `formula.launchd_service_path` = `<keg>/homebrew.mxcl.<name>.plist`.
  if (name === "colima") writeAtomic(join(cellar, `homebrew.mxcl.${name}.plist`), build(colimaService(world, prefix)), 0o644);
  mkdirSync(join(prefix, "opt"), { recursive: true });
  relativeLink(cellar, join(prefix, "opt", name));
  world.updateState((s) => {
    s.brew[name] = version;
  });
  process.stdout.write(`🍺  ${cellar}: ${kegSize(name)}\n`);
}

/** What Homebrew prints for a keg's size (`N files, 1MB`; the simulated kegs are all alike). */
function kegSize(name: string): string {
  return `${Object.keys((FORMULAE[name] as (typeof FORMULAE)[string]).bins).length + 8} files, 1MB`;
}

/** `brew outdated [--json[=v2]] [-v] [formula…]` (cmd/outdated.rb): installed formulae older than
 *  the tap's, by name; `-v` adds `(installed) < current`; `--json=v2` pretty-prints
 *  `{formulae, casks}`. Exit 1 only when formulae were named and one of them is outdated. */
function outdated(world: World, argv: string[]): number {
  const json = argv.find((a) => a === "--json" || a.startsWith("--json="));
  const version = json === undefined ? undefined : json === "--json" ? "v2" : json.slice("--json=".length);
  if (version === "v1")
    throw new ToolExit(1, "Error: `brew outdated --json=v1` is no longer supported. Use brew outdated --json=v2 instead.\n");
  if (version !== undefined && version !== "v2") throw new ToolExit(1, `Error: invalid JSON version: ${version}\n`);
  const quiet = argv.includes("-q") || argv.includes("--quiet");
  const verbose = (argv.includes("-v") || argv.includes("--verbose")) && !quiet;
  const casksOnly = argv.includes("--cask") || argv.includes("--casks");
  const names = [...new Set(argv.filter((a) => !a.startsWith("-")))];
  for (const n of names) offered(world, n); // unknown → No available formula; known but not installed → not outdated
  const installed = world.state().brew;
  const rows = casksOnly ? [] : (names.length ? names : Object.keys(installed)).filter((n) => isOutdated(world, n)).sort();
  // formula.rb#outdated_kegs: an outdated formula's kegs, every one (old ones too, where no
  // cleanup removed them), sorted by version.
  const outdatedKegs = (n: string) => kegs(world.brewPrefix(), n).sort((a, b) => (older(a, b) ? -1 : older(b, a) ? 1 : 0));
  if (version) {
    const formulae = rows.map((n) => ({
      name: n,
      installed_versions: outdatedKegs(n),
      current_version: offered(world, n),
      pinned: false,
      pinned_version: null,
    }));
    // JSON.pretty_generate, with `[]` for empty arrays (outdated.rb gsubs them into that form).
    process.stdout.write(`${JSON.stringify({ formulae, casks: [] }, null, 2)}\n`);
  } else {
    for (const n of rows) process.stdout.write(verbose ? `${n} (${outdatedKegs(n).join(", ")}) < ${offered(world, n)}\n` : `${n}\n`);
  }
  return names.length > 0 && rows.length > 0 ? 1 : 0;
}

/** `brew info --json=v2 <formula…>` (cmd/info.rb#print_json, formula.rb#to_hash): per named formula
 *  its name, `versions.stable` (what `brew install` would pour: the tap's), its kegs and the linked
 *  one; `{"formulae": […], "casks": []}`, pretty-printed. Without names (or `--installed`,
 *  `--eval-all`), without `--json=v2`, or with any other option: refused, `simulator:`. */
function info(world: World, prefix: string, argv: string[]): number {
  const names = [...new Set(argv.filter((a) => !a.startsWith("-")))];
  const options = argv.filter((a) => a.startsWith("-"));
  if (options.length !== 1 || options[0] !== "--json=v2" || names.length === 0)
    throw new ToolExit(1, "brew: simulator: only `brew info --json=v2 <formula>…` is simulated\n");
  for (const n of names) offered(world, n); // an unknown name: No available formula, nothing printed
  const formulae = names.map((n) => ({
    name: n,
    full_name: n,
    tap: "homebrew/core",
    versions: { stable: offered(world, n), head: null, bottle: true },
    revision: 0,
    installed: kegs(prefix, n).map((version) => ({ version })),
    linked_keg: world.state().brew[n] ?? null,
  }));
  process.stdout.write(`${JSON.stringify({ formulae, casks: [] }, null, 2)}\n`);
  return 0;
}

/** `brew upgrade [formula…]` (cmd/upgrade.rb, upgrade.rb, cleanup.rb): without names every outdated
 *  formula, dependencies first; a named one not installed fails (`Error: <f> not installed`), an
 *  up-to-date one warns (`Warning: <f> <v> already installed`). Each upgrade fetches, prints
 *  `print_upgrade_message`, pours and relinks; then the old kegs are removed unless
 *  HOMEBREW_NO_INSTALL_CLEANUP is set (Cleanup.install_clean!). */
function upgrade(world: World, prefix: string, argv: string[]): number {
  const names = [...new Set(argv.filter((a) => !a.startsWith("-")))];
  const installed = world.state().brew;
  let failed = false;
  const todo: string[] = [];
  const unavailable = names.filter((n) => !FORMULAE[n]); // reported last (upgrade.rb `unavailable_errors`)
  for (const n of names) {
    if (!FORMULAE[n]) continue;
    if (isOutdated(world, n)) todo.push(n);
    else if (!installed[n]) {
      process.stderr.write(`Error: ${n} not installed\n`);
      failed = true;
    } else process.stderr.write(`Warning: ${n} ${installed[n]} already installed\n`);
  }
  const upgrades = depsFirst(names.length ? todo : Object.keys(installed)).filter((n) => isOutdated(world, n));
  const replaced: [string, string][] = [];
  for (const name of upgrades) {
    const from = installed[name] as string;
    const to = offered(world, name);
    fetchBottle(world, name, to);
    // upgrade.rb#print_upgrade_message: the options joined by " " leave a trailing space.
    process.stdout.write(`==> Upgrading ${name}\n  ${from} -> ${to} \n`);
    pour(world, prefix, name, to);
    replaced.push([name, from]);
  }
  if (replaced.length && !process.env.HOMEBREW_NO_INSTALL_CLEANUP) {
    process.stdout.write("==> Cleanup\n");
    for (const [name, from] of replaced) {
      const keg = join(prefix, "Cellar", name, from);
      process.stdout.write(`==> ${name}\nRemoving: ${keg}... (${kegSize(name)})\n`);
      rmSync(keg, { recursive: true, force: true });
    }
    if (!process.env.HOMEBREW_NO_ENV_HINTS)
      process.stdout.write(
        "Disable this behaviour by setting `HOMEBREW_NO_INSTALL_CLEANUP=1`.\nHide these hints with `HOMEBREW_NO_ENV_HINTS=1` (see `man brew`).\n",
      );
  }
  for (const n of unavailable) process.stderr.write(`Error: No available formula with the name "${n}".\n`);
  return failed || unavailable.length > 0 ? 1 : 0;
}

/** The launchd domain `brew services` loads into (services/system.rb#domain_target): `system` as
 *  root; `user/<uid>` from a session that has no GUI login — over SSH (bin/brew passes SSH_TTY on
 *  as HOMEBREW_SSH_TTY) while /dev/console is not the user's, or through sudo (SUDO_USER) — with
 *  its warning; else `gui/<uid>`. /dev/console is the first GUI-logged-in user's (`loggedIn`),
 *  root's at the login window. */
export function servicesDomain(world: World): { domain: string; warning?: string } {
  const user = world.user;
  if (user === "root") return { domain: "system" };
  const uid = world.userInfo(user)?.uid ?? 0;
  const console = world.state().loggedIn[0] ?? "root";
  const why =
    process.env.SSH_TTY && console !== user
      ? "running over SSH without /dev/console ownership"
      : process.env.SUDO_USER
        ? "running through sudo"
        : undefined;
  if (!why) return { domain: `gui/${uid}` };
  const hints = process.env.HOMEBREW_NO_ENV_HINTS
    ? ""
    : "Hide this warning by setting `HOMEBREW_SERVICES_NO_DOMAIN_WARNING=1`.\nHide these hints with `HOMEBREW_NO_ENV_HINTS=1` (see `man brew`).\n";
  const warning = process.env.HOMEBREW_SERVICES_NO_DOMAIN_WARNING
    ? undefined
    : `Warning: ${why}, using user/* instead of gui/* domain!\n${hints}`;
  return { domain: `user/${uid}`, ...(warning ? { warning } : {}) };
}

/** The plist Homebrew generates from homebrew-core `Formula/c/colima.rb`'s `service do` block
 *  (`run [opt_bin/"colima", "start", "-f"]`, `keep_alive successful_exit: true`,
 *  `environment_variables PATH: std_service_path_env`, `error_log_path`/`log_path`
 *  `var/"log/colima.log"`, `working_dir Dir.home`) by service.rb#to_plist, in its key order. */
export function colimaService(world: World, prefix: string): PlistObject {
  return {
    Label: "homebrew.mxcl.colima",
    ProgramArguments: [join(prefix, "opt/colima/bin/colima"), "start", "-f"],
    RunAtLoad: true,
    // Dir.home of whoever installed it (the Homebrew user).
    WorkingDirectory: world.home(world.user),
    StandardOutPath: join(prefix, "var/log/colima.log"),
    StandardErrorPath: join(prefix, "var/log/colima.log"),
    EnvironmentVariables: { PATH: `${prefix}/bin:${prefix}/sbin:/usr/bin:/bin:/usr/sbin:/sbin` },
    KeepAlive: { SuccessfulExit: true },
    LimitLoadToSessionType: ["Aqua", "Background", "LoginWindow", "StandardIO", "System"],
  };
}

/** `brew services start|stop|list <formula>` (Library/Homebrew/services). */
async function services(world: World, prefix: string, argv: string[]): Promise<number> {
  const [action, name] = argv;
  const user = world.user;
  const { domain, warning } = servicesDomain(world);
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
    // services/cli.rb#install_service_file: the keg's generated plist (service.service_contents,
    // formula.launchd_service_path), as it is, into the domain's folder.
    const version = world.state().brew[name];
    const kegPlist = join(prefix, "Cellar", name, version ?? "", `${label}.plist`);
    if (!version) throw new ToolExit(1, `Error: Formula \`${name}\` is not installed.\n`);
    if (!existsSync(kegPlist))
      throw new ToolExit(1, `Error: Formula \`${name}\` has not implemented #plist, #service or provided a locatable service file.\n`);
    mkdirSync(join(prefix, "var/log"), { recursive: true });
    writeAtomic(plistPath, readFileSync(kegPlist, "utf8"), 0o644);
    if (warning) process.stderr.write(warning);
    // cli.rb#launchctl_load: `launchctl enable <domain>/<label>`, then `bootstrap <domain> <plist>`.
    await askLaunchd(world, { cmd: "enable", domain, label, user });
    const r = await askLaunchd(world, { cmd: "bootstrap", domain, paths: [plistPath], user });
    if (r.code !== 0)
      throw new ToolExit(1, `Error: Failure while executing; \`/bin/launchctl bootstrap ${domain} ${plistPath}\` exited with ${r.code}.\n`);
    process.stdout.write(`==> Successfully started \`${name}\` (label: ${label})\n`);
    return 0;
  }
  if (action === "stop") {
    // cli.rb#stop: bootout in every candidate domain (System.candidate_domain_targets).
    const uid = world.userInfo(user)?.uid ?? 0;
    for (const d of [...new Set(user === "root" ? [domain] : [domain, `user/${uid}`, `gui/${uid}`])])
      await askLaunchd(world, { cmd: "bootout", domain: d, label, user });
    rmSync(plistPath, { force: true });
    process.stdout.write(`Stopping \`${name}\`... (might take a while)\n==> Successfully stopped \`${name}\` (label: ${label})\n`);
    return 0;
  }
  throw new ToolExit(1, `Error: Unknown subcommand: ${action ?? ""}\n`);
}
